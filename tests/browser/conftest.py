"""The browser tests run against the same real branch as the hub's tests."""

from tests.officer.conftest import branch, loop_file

__all__ = ["branch", "loop_file"]
