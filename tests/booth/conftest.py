"""Fixtures of the booth tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from signaling.officers import add_officer_offline
from tests.booth.branch import Branch


@pytest.fixture
async def branch(tmp_path: Path) -> AsyncIterator[Branch]:
    b = Branch(tmp_path)
    await b.start()
    add_officer_offline(b.data_dir, "o-01", "2468")
    try:
        yield b
    finally:
        await b.stop()


