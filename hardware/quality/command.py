"""``bilik hw quality IMAGE... [--json]``: judge image files with the document quality gate.

Exit status: 0 when every image passes, 1 when any is rejected, 2 when any file cannot be
read as an image (the others are still judged and reported).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any, TextIO

from hardware.errors import ImageUnreadable
from hardware.picture import load_image
from hardware.quality.gate import judge

EXIT_PASS = 0
EXIT_REJECTED = 1
EXIT_UNREADABLE = 2

_SHOWN_SCORES = ("ppi", "tilt_deg", "keystone", "sharpness", "glare", "p95", "p50", "margin")


def judge_file(path: str) -> dict[str, Any]:
    """One file's result as a JSON-ready dict: the verdict, or ``error`` when unreadable."""
    try:
        image = load_image(path)
    except ImageUnreadable as exc:
        return {"path": path, "verdict": "unreadable", "error": str(exc)}
    return {"path": path, **judge(image).to_json()}


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


def run(paths: Sequence[str], as_json: bool, out: TextIO) -> int:
    """Judge ``paths``, write a report to ``out`` (text, or one JSON document), return the
    exit status."""
    results = [judge_file(p) for p in paths]
    counts = {
        "pass": sum(r["verdict"] == "pass" for r in results),
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
            f"{counts['pass']} passed, {counts['reject']} rejected, "
            f"{counts['unreadable']} unreadable\n"
        )
    if counts["unreadable"]:
        return EXIT_UNREADABLE
    return EXIT_REJECTED if counts["reject"] else EXIT_PASS


def configure(parser: argparse.ArgumentParser) -> None:
    """Add this command's arguments to ``parser`` (for :mod:`hardware.cli`); the parsed
    namespace's ``func(args)`` runs it on stdout."""
    import sys

    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files to judge")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(func=lambda args: run(args.images, args.json, sys.stdout))
