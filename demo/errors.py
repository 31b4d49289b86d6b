"""Errors of ``bilik demo``."""

from __future__ import annotations

from pathlib import Path

from bilik.errors import BilikError


class DemoError(BilikError):
    """The simulated branch could not start or run."""


class ProcessDied(DemoError):
    """A process of the branch stopped on its own; its log says why."""

    def __init__(self, name: str, code: int, log: Path) -> None:
        super().__init__(f"demo process {name} stopped (exit code {code}); its log: {log}")
        self.name = name
        self.code = code
        self.log = log
