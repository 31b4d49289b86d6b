"""Fixtures for every hardware test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """``bilik.cli.main`` run in-process sets up the root logger on the test's captured stderr,
    as a process would; put it back, or every later log line (an emulator thread's) goes to a
    closed stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
