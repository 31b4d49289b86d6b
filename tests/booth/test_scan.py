"""The booth judges each frame as the kind asked for, captures at the camera's resolution,
and says at once when its camera cannot resolve a kind."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterator

import cv2
import numpy as np
import pytest

from bilik.documents import kind
from booth import limits
from booth.scan import CameraCannotReach, DocumentScan
from hardware.camera import SyntheticSource
from hardware.ocr import Reader
from hardware.quality.drawing import Person
from hardware.quality.scenes import render
from tests.helpers import until


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


async def test_a_card_whose_nik_cannot_be_right_is_asked_for_again_with_the_reason(
    camera_of: Callable[[np.ndarray], SyntheticSource],
) -> None:
    forged = Person("3171237206780001", "SITI RAHAYU")  # day 72 - 40 = 32: no birth date
    good = Person("3171234506780001", "SITI RAHAYU")
    shown = {"card": render(kind("ktp"), "1080p", "sharp", 0, np.random.default_rng(6), [forged])}
    second = render(kind("ktp"), "1080p", "sharp", 0, np.random.default_rng(6), [good])
    source = SyntheticSource(lambda t: shown["card"], 20.0, name="document-camera")
    source.start()
    reader = Reader(today=lambda: dt.date(2026, 12, 7))
    try:
        scan = DocumentScan(source, frames_to_capture=2, reader=reader)
        task = asyncio.create_task(scan.capture("ktp"))
        # The first capture is refused at the booth, with the reason, in seconds.
        await until(lambda: scan.ocr_refusals >= 1, "the card asked for again")
        assert scan.guidance.key == "quality.nik_invalid"
        assert scan.reading is not None and scan.reading.value("nik") == forged.nik
        shown["card"] = second  # the participant places the right card
        await asyncio.wait_for(task, 60)
        assert scan.reading is not None and scan.reading.ok
        assert scan.reading.value("nik") == good.nik
        assert scan.reading.value("name") == "SITI RAHAYU"
    finally:
        source.stop()
        await asyncio.to_thread(reader.close)


async def test_a_card_read_wrong_every_time_is_sent_after_the_last_attempt(
    camera_of: Callable[[np.ndarray], SyntheticSource],
) -> None:
    forged = Person("3171237206780001", "SITI RAHAYU")
    card = render(kind("ktp"), "1080p", "sharp", 0, np.random.default_rng(6), [forged])
    reader = Reader(today=lambda: dt.date(2026, 12, 7))
    try:
        scan = DocumentScan(camera_of(card), frames_to_capture=1, reader=reader)
        data = await asyncio.wait_for(scan.capture("ktp"), 120)
        assert data and scan.ocr_refusals == limits.OCR_ATTEMPTS
        assert scan.reading is not None and not scan.reading.ok  # the officer will see why
    finally:
        await asyncio.to_thread(reader.close)


@pytest.mark.parametrize(("size", "expected"), [(None, (1920, 1080)),
                                                ("3264x2448", (3264, 2448))])
def test_a_document_camera_device_is_asked_for_a_size_that_reads_pages(
        size: str | None, expected: tuple[int, int]) -> None:
    from booth.config import BoothConfig
    from booth.devices import document_camera

    settings = {} if size is None else {"document_camera_size": size}
    factory = document_camera(BoothConfig(document_camera="7", **settings))
    assert factory is not None
    camera = factory()  # not opened until started
    assert (camera.width, camera.height) == expected  # type: ignore[attr-defined]
