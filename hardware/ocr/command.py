"""``bilik hw ocr [--document KIND] IMAGE... [--json]``: read the NIK and names from images of
documents of KIND (default the ID-1 card, ``ktp``).

An image may be a camera frame (the document is found and straightened by the quality
gate first) or a document already straightened (the booth's captured JPEG). Exit status: 0
when every image was read, 1 when any was not, 2 when any file cannot be read as an image.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

from bilik import documents
from bilik.documents import DocumentKind
from hardware.errors import ImageUnreadable
from hardware.ocr.reader import Reader
from hardware.picture import load_image
from hardware.quality.gate import Reason as GateReason
from hardware.quality.gate import judge

EXIT_READ = 0
EXIT_NOT_READ = 1
EXIT_UNREADABLE = 2


def straightened(image: np.ndarray, kind: DocumentKind) -> tuple[np.ndarray, str]:
    """The document in ``image``: found and straightened when ``image`` is a frame with the
    document in it, else ``image`` itself (taken as already straightened)."""
    verdict = judge(image, kind)
    if verdict.corners is not None and GateReason.CUT_OFF not in verdict.reasons:
        return verdict.capture_image(), "frame"
    return image, "document"


def read_file(reader: Reader, path: str, kind: DocumentKind) -> dict[str, Any]:
    try:
        image = load_image(path)
    except ImageUnreadable as exc:
        return {"path": path, "verdict": "unreadable", "error": str(exc)}
    document, source = straightened(image, kind)
    return {"path": path, "source": source, **reader.read(document, kind).to_json()}


def _line(r: dict[str, Any]) -> str:
    if r["verdict"] == "unreadable":
        return f"{r['path']}: UNREADABLE  {r['error']}"
    fields = "  ".join(
        f"{k}={v['value']!r} ({v['confidence']:.0f})" for k, v in r["fields"].items()
    )
    head = f"{r['path']}: {r['verdict'].upper()}  {fields}"
    rows = [f"    row: {p['nik']} {p['name']} ({p['confidence']:.0f})" for p in r["people"]]
    why = [f"    {reason}" for reason in r["reasons"]]
    return "\n".join([head, *rows, *why])


def run(
    paths: Sequence[str], as_json: bool, out: TextIO, kind: str = documents.DEFAULT_KIND,
    reader: Reader | None = None,
) -> int:
    k = documents.kind(kind)
    own = reader is None
    reader = reader or Reader()
    try:
        results = [read_file(reader, p, k) for p in paths]
    finally:
        if own:
            reader.close()
    counts = {v: sum(r["verdict"] == v for r in results) for v in ("accept", "reject",
                                                                    "unreadable")}
    if as_json:
        json.dump({"results": results, "counts": counts}, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        for r in results:
            out.write(_line(r) + "\n")
        out.write(f"{counts['accept']} read, {counts['reject']} not read, "
                  f"{counts['unreadable']} unreadable ({kind})\n")
    if counts["unreadable"]:
        return EXIT_UNREADABLE
    return EXIT_NOT_READ if counts["reject"] else EXIT_READ


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--document", default=documents.DEFAULT_KIND, choices=list(documents.kinds()),
        metavar="KIND", help=f"kind of document: {', '.join(documents.kinds())}",
    )
    parser.set_defaults(func=lambda args: run(args.images, args.json, sys.stdout, args.document))
