"""Root of every error the booth agent raises on purpose."""

from __future__ import annotations

from bilik.errors import BilikError


class BoothError(BilikError):
    """The booth agent could not do what was asked; the message says what and why."""


class ReplayError(BoothError, ValueError):
    """A pre-encoded replay loop is missing, unreadable or not shaped as expected."""

