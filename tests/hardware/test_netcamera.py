"""The network camera emulator, read by the production OpenCV capture code from another thread."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from hardware.camera import OpenCVCamera
from hardware.emulators.netcamera import NetCameraEmulator
from hardware.quality import judge

CORPUS = Path(__file__).parent.parent / "data" / "quality"


def test_opencv_camera_reads_the_replayed_document_stream() -> None:
    sharp = sorted(CORPUS.glob("sharp*.jpg"))[:1] or sorted(CORPUS.glob("*.jpg"))[:1]
    with NetCameraEmulator(sharp, fps=10) as emulator:
        camera = OpenCVCamera(emulator.url, width=1280, height=720, fps=10)
        camera.start()
        try:
            frame = camera.read(timeout=20)
        finally:
            camera.stop()
    assert frame.image.ndim == 3 and frame.image.shape[2] == 3
    # The picture survives the stream well enough for the booth's quality gate.
    assert np.asarray(frame.image).std() > 10
    judge(frame.image)  # any verdict, but no error on a streamed frame


def test_bilik_hw_emulate_camera_prints_its_url() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bilik.cli", "hw", "emulate", "camera", "--fps", "5", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert '"port": "http://127.0.0.1:' in line and "video.mjpg" in line
    finally:
        proc.terminate()
        proc.wait(timeout=20)
