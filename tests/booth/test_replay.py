"""The pre-encoded replay loop: built, checked on load, and sent in wall-clock slots."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from aiortc.codecs.vpx import Vp8Decoder
from aiortc.jitterbuffer import JitterFrame

from bilik.webrtc import limits as media
from bilik.webrtc.meter import capture_time_ms
from booth.errors import BoothError, ReplayError
from booth.replay import ReplayLoop, ReplayTrack, encode_loop, loop_frames
from hardware.testpattern import read_frame_timecode


@pytest.fixture(scope="module")
def loop_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "loop.ivf"
    encode_loop(path)
    return path


def test_loop_is_vp8_of_the_right_length_with_a_keyframe_every_second(loop_file: Path) -> None:
    loop = ReplayLoop.load(loop_file)
    assert len(loop.frames) == media.REPLAY_LOOP_MS * 15 // 1000
    assert sorted(loop.keyframes) == list(range(0, len(loop.frames), 15))


def test_every_frame_of_the_loop_decodes_to_its_position(loop_file: Path) -> None:
    loop = ReplayLoop.load(loop_file)
    decoder = Vp8Decoder()
    positions = []
    for k, data in enumerate(loop.frames):
        for frame in decoder.decode(JitterFrame(data=data, timestamp=k)):
            assert isinstance(frame, av.VideoFrame)
            positions.append(read_frame_timecode(frame))
    assert positions == [round(k * 1000 / 15) for k in range(len(loop.frames))]


def test_missing_garbage_and_wrong_rate_files_are_refused(tmp_path: Path, loop_file: Path) -> None:
    with pytest.raises(ReplayError, match="does not exist"):
        ReplayLoop.load(tmp_path / "nope.ivf")
    garbage = tmp_path / "garbage.ivf"
    garbage.write_bytes(b"\x00not a video at all" * 100)
    with pytest.raises(ReplayError, match="not a readable VP8 video"):
        ReplayLoop.load(garbage)
    with pytest.raises(ReplayError, match="has 120 frames; 10 fps needs 80"):
        ReplayLoop.load(loop_file, fps=10)
    assert loop_frames(7) == 56
    assert issubclass(ReplayError, BoothError)


async def test_track_starts_on_a_keyframe_and_sends_each_frame_at_its_slot(
    loop_file: Path,
) -> None:
    loop = ReplayLoop.load(loop_file)
    slot = media.REPLAY_LOOP_MS
    base_s = 1_760_000_000.0 // (slot / 1000) * (slot / 1000)  # start of an 8 s slot
    now = [base_s + 0.5]  # half a second in: next keyframe is frame 15 at 1000 ms
    track = ReplayTrack(loop, clock=lambda: now[0])
    sent = []
    for _ in range(3):
        packet = await track.recv()
        sent.append(packet)
        now[0] += 1 / 15
    assert bytes(sent[0]) == loop.frames[15]
    assert bytes(sent[1]) == loop.frames[16]
    # The hub's reading of frame 15's timecode (1000 ms) resolves to the instant it was due.
    due_ms = int(base_s * 1000) + 1000
    assert capture_time_ms(1000, due_ms + 12) == due_ms
    assert sent[0].pts is not None and sent[1].pts is not None
    assert sent[1].pts - sent[0].pts == 6000  # 90 kHz ticks per frame at 15 fps
    track.stop()
