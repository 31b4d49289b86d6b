"""Frame sources: the drop-oldest queue, synthetic, replayed and OpenCV sources, the track."""

from __future__ import annotations

import asyncio
import threading
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from hardware.camera import (
    Frame,
    FrameSource,
    ImageReplaySource,
    OpenCVCamera,
    SourceTrack,
    SyntheticSource,
    start_source,
)
from hardware.emulators.camera import start_camera_emulator
from hardware.errors import (
    CameraBusy,
    CameraNotFound,
    DeviceAbsent,
    HardwareError,
    ImageUnreadable,
    SourceEnded,
)
from hardware.framequeue import DropOldestQueue

WAIT_S = 10.0  # generous: the machine is shared


def solid(value: int, w: int = 64, h: int = 48) -> np.ndarray:
    return np.full((h, w, 3), value, dtype=np.uint8)


# -- the queue ------------------------------------------------------------------------------


def test_queue_keeps_newest_and_counts_drops() -> None:
    q: DropOldestQueue[int] = DropOldestQueue(3)
    for i in range(10):
        q.put(i)
    assert len(q) == 3
    assert q.dropped == 7
    assert [q.get(0), q.get(0), q.get(0)] == [7, 8, 9]
    with pytest.raises(TimeoutError):
        q.get(0.01)


def test_queue_close_drains_then_ends() -> None:
    q: DropOldestQueue[str] = DropOldestQueue(2, name="cam")
    q.put("a")
    q.close("unplugged")
    q.put("late")  # ignored once closed
    assert q.get(0) == "a"
    with pytest.raises(SourceEnded, match="cam: unplugged"):
        q.get(1)


def test_queue_rejects_zero_size() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        DropOldestQueue(0)


async def test_queue_wakes_asyncio_reader_from_a_thread() -> None:
    q: DropOldestQueue[int] = DropOldestQueue(2)
    reader = asyncio.create_task(q.get_async())
    await asyncio.sleep(0)
    assert not reader.done()
    t = threading.Thread(target=q.put, args=(42,), name="test-producer")
    t.start()
    t.join()
    assert await asyncio.wait_for(reader, WAIT_S) == 42


async def test_queue_async_reader_cancellation_leaves_queue_usable() -> None:
    q: DropOldestQueue[int] = DropOldestQueue(2)
    reader = asyncio.create_task(q.get_async())
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    q.put(1)
    assert await asyncio.wait_for(q.get_async(), WAIT_S) == 1


# -- synthetic source -----------------------------------------------------------------------


def test_synthetic_source_renders_at_capture_time_in_a_named_thread() -> None:
    seen: list[float] = []

    def render(t: float) -> np.ndarray:
        seen.append(t)
        return solid(len(seen) % 256)

    source = SyntheticSource(render, fps=60, name="pattern")
    assert isinstance(source, FrameSource)
    with source:
        assert any(t.name == "camera:pattern" for t in threading.enumerate())
        frames = [source.read(WAIT_S) for _ in range(5)]
    assert not any(t.name == "camera:pattern" for t in threading.enumerate())
    for f in frames:
        assert isinstance(f, Frame)
        assert f.image.shape == (48, 64, 3)
        assert f.captured_at in seen  # stamped with the very t the picture was rendered for
    stamps = [f.captured_at for f in frames]
    assert stamps == sorted(stamps)
    assert [f.index for f in frames] == sorted(f.index for f in frames)
    with pytest.raises(SourceEnded):
        source.read(WAIT_S)


def test_synthetic_source_bad_render_ends_with_a_clear_reason() -> None:
    source = SyntheticSource(lambda t: np.zeros((4, 4, 5), np.uint8), fps=30, name="broken")
    with source, pytest.raises(SourceEnded, match=r"broken.*shape \(4, 4, 5\)"):
        source.read(WAIT_S)
    assert source.error is not None


def test_slow_reader_gets_recent_frames_and_drops_are_counted() -> None:
    source = SyntheticSource(lambda t: solid(0), fps=100, queue_size=2)
    with source:
        first = source.read(WAIT_S)
        # Do not read for a while: the producer must keep going without growing the queue.
        deadline = first.captured_at + WAIT_S
        while source.dropped < 5 and source.clock() < deadline:
            threading.Event().wait(0.02)
        assert len(source.queue) <= 2
        later = source.read(WAIT_S)
    assert source.dropped >= 5
    assert later.index - first.index > 5


def test_source_starts_only_once() -> None:
    source = SyntheticSource(lambda t: solid(0), fps=30)
    with source, pytest.raises(RuntimeError, match="already started"):
        source.start()


def test_fps_is_validated() -> None:
    with pytest.raises(ValueError, match="fps"):
        SyntheticSource(lambda t: solid(0), fps=0)


# -- replay and the emulator ------------------------------------------------------------------


def test_replay_loops_images_in_order() -> None:
    with ImageReplaySource([solid(10), solid(20), np.full((48, 64), 30, np.uint8)], fps=60) as s:
        frames = [s.read(WAIT_S) for _ in range(5)]
    # Drop-oldest may skip frames under load, but frame N is always image N of the cycle, and
    # five distinct frames reach past the third image: the replay went round.
    cycle = [10, 20, 30]
    indices = [f.index for f in frames]
    assert indices == sorted(set(indices)) and indices[-1] >= len(cycle)
    assert [int(f.image[0, 0, 0]) for f in frames] == [cycle[i % len(cycle)] for i in indices]


def test_replay_once_ends() -> None:
    with ImageReplaySource([solid(1)], fps=60, loop=False, queue_size=4) as s:
        assert s.read(WAIT_S).image[0, 0, 0] == 1
        with pytest.raises(SourceEnded, match="end of images"):
            s.read(WAIT_S)


def test_replay_frames_are_copies() -> None:
    with ImageReplaySource([solid(5)], fps=60) as s:
        f = s.read(WAIT_S)
        f.image[:] = 255  # a reader drawing an overlay must not change the next frames
        assert s.read(WAIT_S).image.max() == 5


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (np.zeros((4, 4, 3), np.float32), "uint8"),
        (np.zeros((4, 4, 7), np.uint8), "shape"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        ("/nonexistent/card.jpg", "no such file"),
    ],
)
def test_replay_rejects_bad_images(item: object, message: str) -> None:
    with pytest.raises(ImageUnreadable, match=message):
        ImageReplaySource([item], fps=10)  # type: ignore[list-item]


def test_replay_rejects_undecodable_file(tmp_path: Path) -> None:
    bad = tmp_path / "card.jpg"
    bad.write_bytes(b"\xff\xd8 this is not a jpeg")
    with pytest.raises(ImageUnreadable, match=r"card\.jpg: not an image"):
        ImageReplaySource([bad], fps=10)


def test_camera_emulator_replays_a_directory(tmp_path: Path) -> None:
    for i, value in enumerate((40, 80)):
        cv2.imwrite(str(tmp_path / f"{i}.png"), solid(value))
    (tmp_path / "notes.txt").write_text("not an image")
    camera = start_camera_emulator(tmp_path, fps=60, loop=False)
    try:
        values = []
        while True:
            try:
                values.append(int(camera.read(WAIT_S).image[0, 0, 0]))
            except SourceEnded:
                break
    finally:
        camera.stop()
    assert values and set(values) <= {40, 80}
    assert values == sorted(values)


def test_camera_emulator_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageUnreadable, match="no images"):
        start_camera_emulator(tmp_path)


# -- OpenCV capture ----------------------------------------------------------------------------


def test_missing_camera_is_a_clear_error() -> None:
    index = next(i for i in range(60, 100) if not Path(f"/dev/video{i}").exists())
    camera = OpenCVCamera(index)
    with pytest.raises(CameraNotFound, match=f"/dev/video{index} does not exist") as err:
        camera.start()
    assert isinstance(err.value, DeviceAbsent) and isinstance(err.value, HardwareError)
    camera.stop()  # harmless after a failed start


def test_unopenable_camera_is_busy(tmp_path: Path) -> None:
    junk = tmp_path / "video.avi"
    junk.write_bytes(b"garbage" * 100)
    with pytest.raises(CameraBusy, match="could not be opened"):
        OpenCVCamera(str(junk)).start()


def _write_video(path: Path, values: list[int]) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30, (160, 120))
    assert writer.isOpened()
    for v in values:
        img = np.zeros((120, 160, 3), np.uint8)
        img[:, :] = (v, 255 - v, 128)
        writer.write(img)
    writer.release()


def test_opencv_capture_reads_a_video_in_its_thread(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    _write_video(video, [20, 60, 100, 140, 180])
    camera = OpenCVCamera(str(video), fps=60, queue_size=8)
    with camera:
        assert camera.actual[:2] == (160, 120)
        frames = []
        with pytest.raises(SourceEnded, match="end of video file"):
            while True:
                frames.append(camera.read(WAIT_S))
    assert not camera.running
    blues = [int(f.image[60, 80, 0]) for f in frames]
    assert len(frames) == 5
    assert all(abs(b - v) < 12 for b, v in zip(blues, [20, 60, 100, 140, 180], strict=True))


# -- the aiortc track ----------------------------------------------------------------------------


async def test_track_stamps_frames_with_capture_time() -> None:
    seen: list[float] = []

    def render(t: float) -> np.ndarray:
        seen.append(t)
        return solid(77, 32, 16)

    source = SyntheticSource(render, fps=50)
    track = SourceTrack(source, owns_source=True)
    source.start()
    try:
        frames = [await asyncio.wait_for(track.recv(), WAIT_S) for _ in range(4)]
    finally:
        track.stop()
    assert not source.running
    assert all(f.time_base == Fraction(1, 90000) for f in frames)
    pts = [int(f.pts or 0) for f in frames]
    assert pts[0] == 0 and pts == sorted(set(pts))
    # Each pts is its frame's capture time (the very t it was rendered for) after the first
    # frame's, in 90 kHz ticks; however fast the machine, drops only skip stamps. (Gaps of a
    # whole frame period are not promised: a capture thread that wakes late catches up.)
    def ticks_after(first: float) -> set[int]:
        return {round((t - first) * 90000) for t in seen if t >= first}

    assert any(set(pts) <= ticks_after(first) for first in seen)
    assert frames[0].to_ndarray(format="bgr24")[0, 0].tolist() == [77, 77, 77]


async def test_track_ends_when_source_ends() -> None:
    from aiortc.mediastreams import MediaStreamError

    source = ImageReplaySource([solid(1)], fps=60, loop=False)
    track = SourceTrack(source)
    source.start()
    try:
        await asyncio.wait_for(track.recv(), WAIT_S)
        with pytest.raises(MediaStreamError):
            await asyncio.wait_for(track.recv(), WAIT_S)
        assert track.readyState == "ended"
    finally:
        source.stop()


@pytest.mark.slow
async def test_track_over_a_real_peer_connection() -> None:
    from aiortc import RTCPeerConnection

    def render(t: float) -> np.ndarray:
        img = np.zeros((240, 320, 3), np.uint8)
        img[:, :] = (200, 40, 40)  # blue in BGR
        return img

    source = SyntheticSource(render, fps=15, name="booth-cam")
    booth, officer = RTCPeerConnection(), RTCPeerConnection()
    received: asyncio.Future = asyncio.get_running_loop().create_future()

    @officer.on("track")
    def on_track(track: object) -> None:
        if not received.done():
            received.set_result(track)

    track = SourceTrack(source, owns_source=True)
    source.start()
    try:
        booth.addTrack(track)
        await booth.setLocalDescription(await booth.createOffer())
        await officer.setRemoteDescription(booth.localDescription)
        await officer.setLocalDescription(await officer.createAnswer())
        await booth.setRemoteDescription(officer.localDescription)
        remote = await asyncio.wait_for(received, WAIT_S)
        frame = await asyncio.wait_for(remote.recv(), 30)
        for _ in range(3):  # let the encoder settle past its first keyframe
            frame = await asyncio.wait_for(remote.recv(), 30)
        image = frame.to_ndarray(format="bgr24")
        assert image.shape == (240, 320, 3)
        b, g, r = image[100:140, 140:180].reshape(-1, 3).mean(axis=0)
        assert b > 150 and g < 90 and r < 90
    finally:
        track.stop()
        await booth.close()
        await officer.close()


async def test_test_pattern_through_the_track_carries_its_capture_time() -> None:
    from hardware.testpattern import TestPattern, read_frame_timecode

    pattern = TestPattern()
    source = SyntheticSource(pattern.render_bgr, fps=30, name="pattern")
    track = SourceTrack(source, owns_source=True)
    source.start()
    try:
        first = await asyncio.wait_for(track.recv(), WAIT_S)
        second = await asyncio.wait_for(track.recv(), WAIT_S)
    finally:
        track.stop()
    # The timecode drawn in the picture and the pts agree on how far apart the captures were.
    elapsed_ms = read_frame_timecode(second) - read_frame_timecode(first)
    elapsed_pts_ms = (int(second.pts or 0) - int(first.pts or 0)) / 90
    assert elapsed_ms > 0
    assert abs(elapsed_ms - elapsed_pts_ms) <= 1.0


class _SlowToOpen(SyntheticSource):
    """A real source whose device takes its time to open (a USB camera waking up)."""

    def __init__(self) -> None:
        super().__init__(lambda t: np.zeros((48, 64, 3), np.uint8), 10, name="slow-camera")
        self.opening = threading.Event()
        self.may_open = threading.Event()

    def start(self) -> None:
        self.opening.set()
        self.may_open.wait(10)
        super().start()


async def test_a_start_cancelled_midway_leaves_no_capture_thread_behind() -> None:
    source = _SlowToOpen()
    starting = asyncio.ensure_future(start_source(source))
    await asyncio.to_thread(source.opening.wait, 10)
    starting.cancel()  # the owner stops while the device is opening
    await asyncio.sleep(0)
    source.may_open.set()
    with pytest.raises(asyncio.CancelledError):
        await starting
    # The start ran to its end in its thread, and what it started was stopped again.
    assert not source.running
    assert not any(t.name == "camera:slow-camera" and t.is_alive()
                   for t in threading.enumerate())
