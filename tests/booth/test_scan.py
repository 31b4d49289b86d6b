"""The booth judges each frame as the kind asked for, captures at the camera's resolution,
and says at once when its camera cannot resolve a kind."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cv2
import numpy as np
import pytest

from bilik.documents import kind
from booth.scan import CameraCannotReach, DocumentScan
from hardware.camera import SyntheticSource
from hardware.quality.scenes import render


@pytest.fixture
def camera_of() -> Iterator[Callable[[np.ndarray], SyntheticSource]]:
    started: list[SyntheticSource] = []

    def make(image: np.ndarray) -> SyntheticSource:
        source = SyntheticSource(lambda t: image, 20.0, name="document-camera")
        source.start()
        started.append(source)
        return source

    yield make
    for source in started:
        source.stop()


async def test_a_page_is_captured_as_the_kind_asked_for(
    camera_of: Callable[[np.ndarray], SyntheticSource],
) -> None:
    page = render(kind("kk"), "1080p", "sharp", 0, np.random.default_rng(5))
    scan = DocumentScan(camera_of(page), frames_to_capture=2)
    data = await scan.capture("kk")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    # Straightened at the camera's own resolution: an A4 page ~4.5 px/mm across 297 mm.
    assert image.shape[1] > 297 * 4.0
    assert image.shape[1] / image.shape[0] == pytest.approx(297 / 210, rel=0.01)
    assert scan.guidance.key == "quality.captured"


async def test_a_720p_camera_says_it_cannot_read_a_page_instead_of_looping(
    camera_of: Callable[[np.ndarray], SyntheticSource],
) -> None:
    frame = np.full((720, 1280, 3), 60, np.uint8)
    scan = DocumentScan(camera_of(frame), frames_to_capture=2)
    with pytest.raises(CameraCannotReach, match=r"1280x720.*needs 4\.0 px/mm"):
        await scan.capture("termination")
    assert scan.guidance.key == "quality.camera_too_small"
    assert "surat keterangan berhenti" in scan.guidance.id.lower()
    assert "termination letter" in scan.guidance.en.lower()
    assert scan.frames_judged == 0
