"""The branch overview page: every booth's screen live, the queue, and the way in to the rest.

Served by the demo process on 127.0.0.1 (aiohttp):

* ``GET /`` the page (``overview.html``, plain HTML and JavaScript, polls once a second);
* ``GET /api/overview`` JSON: booths (screen URL, the lines drawn on it), the queue as the
  branch server reports it (``/api/queue``, read with an admin token by the demo), the
  demo's progress, and the links (officer consoles with their sign-in, the TV page);
* ``GET /screens/{booth}.png`` the booth's newest complete screen snapshot.

The booths draw their screens off-screen into ``--screen DIR`` (a PNG per change of
screen, with a ``.txt`` of the lines drawn beside it). A booth may be writing the newest
file while it is read, so the newest *complete* PNG is served (one that ends with its
IEND chunk); older snapshots are deleted as new ones come (:func:`prune_screens`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from demo import limits

PAGE = Path(__file__).with_name("overview.html")
PNG_END = b"IEND\xaeB`\x82"  # the last chunk of every complete PNG
SOURCE: web.AppKey[Callable[[], dict[str, Any]]] = web.AppKey("bilik_demo_overview")
SCREENS: web.AppKey[dict[str, Path]] = web.AppKey("bilik_demo_screens")


def _snapshots(directory: Path) -> list[Path]:
    """Snapshots newest first (the booth numbers them in order)."""
    try:
        return sorted(directory.glob("booth-*.png"), reverse=True)
    except OSError:
        return []


def latest_screen(directory: Path) -> Path | None:
    """The newest snapshot whose PNG is complete, or None while there is none."""
    for path in _snapshots(directory):
        try:
            with path.open("rb") as f:
                f.seek(-len(PNG_END), 2)
                if f.read() == PNG_END:
                    return path
        except OSError:
            continue
    return None


def screen_lines(png: Path | None) -> list[str]:
    """What the booth drew on that screen (the ``.txt`` beside the snapshot)."""
    if png is None:
        return []
    try:
        return png.with_suffix(".txt").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []


def prune_screens(directory: Path, keep: int = limits.SCREENS_KEPT) -> int:
    """Delete all but the ``keep`` newest snapshots (and their text); returns how many went."""
    removed = 0
    for old in _snapshots(directory)[keep:]:
        for path in (old, old.with_suffix(".txt")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        removed += 1
    return removed


async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(PAGE, headers={"Cache-Control": "no-cache"})


async def overview(request: web.Request) -> web.Response:
    data = request.app[SOURCE]()
    screens = request.app[SCREENS]
    data["booths"] = [
        {"booth": booth, "screen": f"screens/{booth}.png",
         "lines": screen_lines(latest_screen(directory))}
        for booth, directory in sorted(screens.items())
    ]
    return web.json_response(data)


async def screen(request: web.Request) -> web.StreamResponse:
    directory = request.app[SCREENS].get(request.match_info["booth"])
    if directory is None:
        return web.json_response({"error": "not_found", "detail": "no such booth"}, status=404)
    png = latest_screen(directory)
    if png is None:
        return web.json_response({"error": "no_picture", "detail": "no screen drawn yet"},
                                 status=404)
    try:
        body = png.read_bytes()
    except OSError:  # deleted by the pruning between the look and the read
        return web.json_response({"error": "no_picture", "detail": "try again"}, status=503)
    return web.Response(body=body, content_type="image/png",
                        headers={"Cache-Control": "no-store"})


def make_app(screens: dict[str, Path], source: Callable[[], dict[str, Any]]) -> web.Application:
    """``screens``: booth id -> its snapshot directory; ``source``: queue, progress, links."""
    app = web.Application()
    app[SOURCE] = source
    app[SCREENS] = screens
    app.router.add_get("/", index)
    app.router.add_get("/api/overview", overview)
    app.router.add_get("/screens/{booth}.png", screen)
    return app
