"""Branch server feature: branchqueue (being built; see docs/architecture.md)."""

from __future__ import annotations

from typing import Any

from aiohttp import web


def setup(app: web.Application, server: Any) -> None:
    """Add this feature's handlers, hooks and routes to the branch server."""
