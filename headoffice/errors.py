"""Root of the errors the head office raises on purpose."""

from __future__ import annotations

from bilik.errors import BilikError


class HeadOfficeError(BilikError):
    """Base of the head office's errors."""


class DatabaseUnavailable(HeadOfficeError):
    """PostgreSQL cannot be reached or used; the message says which and why."""


class BadInput(HeadOfficeError, ValueError):
    """A command-line or imported value is not acceptable; the message names it."""
