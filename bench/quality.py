"""Time the document quality gate per frame (per kind and frame size) and OCR per
captured document, on one core.

    .venv/bin/python bench/quality.py [--corpus DIR] [--rounds N] [--variants N]
                                      [--kinds ktp,kk,...] [--sizes 1080p,8mp] [--no-ocr]

Gate: the committed 1280x720 ID-card corpus, and frames rendered as a document camera sees
them (:mod:`hardware.quality.scenes`) for every kind at 1920x1080 and 8 MP. Targets: 720p
no slower than before (mean 12 ms), 8 MP at most 40 ms mean. OCR: each kind's captured
document (straightened at the camera's resolution) read once per round; target 1.5 s for a
card. OpenCV is held to one thread so the figures are per core. Prints one JSON summary with
the machine it ran on. Measure alone: the figures mean nothing on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2
import numpy as np

from bilik.documents import kind
from hardware.picture import load_image
from hardware.quality import judge
from hardware.quality.scenes import CASES, FRAME_SIZES, KINDS, generate

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "quality"
TARGET_720P_MEAN_MS = 12.0  # the gate's mean before per-kind judging: unchanged or better
TARGET_8MP_MEAN_MS = 40.0
TARGET_OCR_CARD_S = 1.5
BENCH_SEED = 4242
FRAME_720P = (1280, 720)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "opencv_threads": cv2.getNumThreads(),
    }


def _stats(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(times),
        "mean_ms": round(statistics.fmean(times), 2),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(ordered[-1], 2),
    }


def _time(frames: list[tuple[str, str, np.ndarray]], rounds: int) -> dict[str, list[float]]:
    """Milliseconds per frame, by group (first item of each frame tuple)."""
    for _, k, image in frames:  # warm caches and lazy initialisation
        judge(image, k)
    out: dict[str, list[float]] = {}
    for _ in range(rounds):
        for group, k, image in frames:
            start = time.perf_counter()
            judge(image, k)
            out.setdefault(group, []).append((time.perf_counter() - start) * 1000)
    return out


def bench_720p(corpus: Path, rounds: int) -> dict[str, Any]:
    manifest = json.loads((corpus / "manifest.json").read_text())
    frames = []
    for s in manifest["samples"]:
        image = load_image(corpus / s["file"])
        if (image.shape[1], image.shape[0]) == FRAME_720P:
            frames.append((s["category"], "ktp", image))
    by_case = _time(frames, rounds)
    every = [t for ts in by_case.values() for t in ts]
    result: dict[str, Any] = {"frame": "1280x720", "kind": "ktp", **_stats(every)}
    result["by_case_mean_ms"] = {c: round(statistics.fmean(v), 2) for c, v in by_case.items()}
    result["target_mean_ms"] = TARGET_720P_MEAN_MS
    result["meets_target"] = result["mean_ms"] <= TARGET_720P_MEAN_MS
    return result


def bench_kinds(kinds: Sequence[str], sizes: Sequence[str], rounds: int,
                variants: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size in sizes:
        frames = [(s.kind, s.kind, s.image)
                  for s in generate(BENCH_SEED, kinds=kinds, sizes=(size,), cases=tuple(CASES),
                                    variants=variants)]
        by_kind = _time(frames, rounds)
        every = [t for ts in by_kind.values() for t in ts]
        w, h = FRAME_SIZES[size]
        entry: dict[str, Any] = {"frame": f"{w}x{h}", **_stats(every)}
        entry["by_kind"] = {k: _stats(v) for k, v in by_kind.items()}
        if size == "8mp":
            entry["target_mean_ms"] = TARGET_8MP_MEAN_MS
            entry["meets_target"] = entry["mean_ms"] <= TARGET_8MP_MEAN_MS
        out[size] = entry
    return out


def bench_ocr(kinds: Sequence[str], rounds: int) -> dict[str, Any]:
    from hardware.ocr import Reader

    reader = Reader()
    out: dict[str, Any] = {}
    try:
        for name in kinds:
            (scene,) = generate(BENCH_SEED, kinds=(name,), sizes=("1080p",), cases=("sharp",))
            verdict = judge(scene.image, name)
            document = verdict.capture_image()
            reader.read(document, kind(name))  # loads the engine once
            times, ok = [], True
            for _ in range(rounds):
                start = time.perf_counter()
                ok = reader.read(document, kind(name)).ok and ok
                times.append(time.perf_counter() - start)
            out[name] = {"document_px": f"{document.shape[1]}x{document.shape[0]}",
                         "mean_s": round(statistics.fmean(times), 3),
                         "max_s": round(max(times), 3), "read": ok}
            if kind(name).material.value == "card":
                out[name]["target_s"] = TARGET_OCR_CARD_S
                out[name]["meets_target"] = out[name]["mean_s"] <= TARGET_OCR_CARD_S
    finally:
        reader.close()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--rounds", type=int, default=5, help="passes over each set")
    parser.add_argument("--variants", type=int, default=1, help="rendered frames per case")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--sizes", default=",".join(FRAME_SIZES))
    parser.add_argument("--no-ocr", action="store_true")
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    sizes = [s for s in args.sizes.split(",") if s]
    for s in sizes:
        if s not in FRAME_SIZES:
            parser.error(f"unknown size {s!r}; sizes: {', '.join(FRAME_SIZES)}")
    for k in kinds:
        kind(k)
    cv2.setNumThreads(1)
    summary: dict[str, Any] = {
        "benchmark": "quality_gate_and_ocr",
        "rounds": args.rounds,
        "gate_720p_id_card": bench_720p(args.corpus, args.rounds),
        "gate_by_size": bench_kinds(kinds, sizes, args.rounds, args.variants),
    }
    if not args.no_ocr:
        summary["ocr_per_document"] = bench_ocr(kinds, args.rounds)
    summary["machine"] = machine()
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
