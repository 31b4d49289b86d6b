"""Root of the errors of the evidence package."""

from __future__ import annotations

from bilik.errors import BilikError


class EvidenceError(BilikError):
    """Base of every error the evidence package raises on purpose."""


class KeyFileError(EvidenceError):
    """The signing key or a public key file cannot be used (missing, unreadable, too open)."""


class BundleInvalid(EvidenceError):
    """A bundle failed verification; ``problems`` says each thing that is wrong, in order."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
