"""Root of every error the officer hub raises on purpose."""

from __future__ import annotations

from bilik.errors import BilikError


class OfficerError(BilikError):
    """The officer hub could not do what was asked; the message says what and why."""

