"""``bilik hw quality [--document KIND] IMAGE... [--json]``: judge image files with the
document quality gate, as documents of KIND (default the ID-1 card, ``ktp``).

Exit status: 0 when every image passes, 1 when any is rejected, 2 when any file cannot be
read as an image (the others are still judged and reported).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any, TextIO

from bilik import documents
from hardware.errors import ImageUnreadable
from hardware.picture import load_image
from hardware.quality.gate import judge

EXIT_PASS = 0
EXIT_REJECTED = 1
EXIT_UNREADABLE = 2

_SHOWN_SCORES = (
    "px_per_mm", "needed_px_per_mm", "tilt_deg", "keystone", "sharpness", "glare", "cover_mm",
    "p95", "p50", "margin",
)


def judge_file(path: str, kind: str = documents.DEFAULT_KIND) -> dict[str, Any]:
    """One file's result as a JSON-ready dict: the verdict, or ``error`` when unreadable."""
    try:
        image = load_image(path)
    except ImageUnreadable as exc:
        return {"path": path, "verdict": "unreadable", "error": str(exc)}
    return {"path": path, **judge(image, kind).to_json()}


def _line(result: dict[str, Any]) -> str:
    if result["verdict"] == "unreadable":
        return f"{result['path']}: UNREADABLE  {result['error']}"
    guidance = f"{result['guidance']['id']} / {result['guidance']['en']}"
    head = f"{result['path']}: {result['verdict'].upper()}"
    if result["reasons"]:
        head += f" ({', '.join(result['reasons'])})"
    scores = result["scores"]
    shown = "  ".join(f"{k}={scores[k]:.3g}" for k in _SHOWN_SCORES if k in scores)
    return f"{head}  {guidance}\n    {shown}" if shown else f"{head}  {guidance}"


def run(
    paths: Sequence[str], as_json: bool, out: TextIO, kind: str = documents.DEFAULT_KIND
) -> int:
    """Judge ``paths`` as documents of ``kind``, write a report to ``out`` (text, or one JSON
    document), return the exit status."""
    documents.kind(kind)  # an unknown kind is an error before any file is read
    results = [judge_file(p, kind) for p in paths]
    counts = {
        "accept": sum(r["verdict"] == "accept" for r in results),
        "reject": sum(r["verdict"] == "reject" for r in results),
        "unreadable": sum(r["verdict"] == "unreadable" for r in results),
    }
    if as_json:
        json.dump({"results": results, "counts": counts}, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        for r in results:
            out.write(_line(r) + "\n")
        out.write(
            f"{counts['accept']} accepted, {counts['reject']} rejected, "
            f"{counts['unreadable']} unreadable ({kind})\n"
        )
    if counts["unreadable"]:
        return EXIT_UNREADABLE
    return EXIT_REJECTED if counts["reject"] else EXIT_PASS


def configure(parser: argparse.ArgumentParser) -> None:
    """Add this command's arguments to ``parser`` (for :mod:`hardware.cli`); the parsed
    namespace's ``func(args)`` runs it on stdout."""
    import sys

    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files to judge")
    add_document_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(func=lambda args: run(args.images, args.json, sys.stdout, args.document))


def add_document_argument(parser: argparse.ArgumentParser) -> None:
    """``--document KIND``, one of the kinds of :mod:`bilik.documents`."""
    parser.add_argument(
        "--document", default=documents.DEFAULT_KIND, choices=list(documents.kinds()),
        metavar="KIND",
        help=f"the kind of document ({', '.join(documents.kinds())}; "
        f"default {documents.DEFAULT_KIND})",
    )
