"""The pre-encoded replay loops: made by ``bilik booth make-replay``, checked on load, sent
in wall-clock slots, the small loop out of the officer's focus and the full one in it."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import pytest
from aiortc.codecs.vpx import Vp8Decoder
from aiortc.jitterbuffer import JitterFrame

from bilik.cli import main
from bilik.webrtc import limits as media
from bilik.webrtc.meter import capture_time_ms
from booth import limits
from booth.errors import BoothError, ReplayError
from booth.replay import (
    EncodedLoop,
    ReplayLoop,
    ReplayTrack,
    keyframe_interval,
    loop_frames,
    small_loop_path,
)
from hardware.testpattern import read_frame_timecode
from signaling import protocol as p
from tests.booth.branch import Branch
from tests.helpers import until

FULL = (media.VIDEO_WIDTH, media.VIDEO_HEIGHT)
TILE = limits.UNFOCUSED_VIDEO_SIZE
SLOT_S = media.REPLAY_LOOP_MS / 1000
BASE_S = 1_760_000_000.0 // SLOT_S * SLOT_S  # the start of an 8 s slot of the epoch


@pytest.fixture(scope="module")
def loop_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Made as the benchmarks make it: ``bilik booth make-replay PATH``, nothing else."""
    path = tmp_path_factory.mktemp("replay") / "loop.ivf"
    assert main(["booth", "make-replay", str(path)]) == 0
    return path


def positions(frames: list[bytes]) -> list[tuple[int, tuple[int, int]]]:
    """Decode ``frames`` in order with one VP8 decoder: each one's timecode and size."""
    decoder = Vp8Decoder()
    out = []
    for k, data in enumerate(frames):
        for frame in decoder.decode(JitterFrame(data=data, timestamp=k)):
            assert isinstance(frame, av.VideoFrame)
            out.append((read_frame_timecode(frame), (frame.width, frame.height)))
    return out


def test_make_replay_writes_a_full_and_a_small_loop_keyed_every_half_second(
    loop_file: Path,
) -> None:
    assert small_loop_path(loop_file) == loop_file.with_name("loop.small.ivf")
    assert small_loop_path(loop_file).is_file()
    loop = ReplayLoop.load(loop_file)
    count = media.REPLAY_LOOP_MS * 15 // 1000
    assert len(loop.full.frames) == len(loop.small.frames) == count
    assert (loop.full.width, loop.full.height) == FULL
    assert (loop.small.width, loop.small.height) == TILE
    assert keyframe_interval(15) == 8  # 533 ms
    assert sorted(loop.full.keyframes) == sorted(loop.small.keyframes) == list(
        range(0, count, 8))
    # The small loop is the cheaper one to send and to decode.
    assert sum(map(len, loop.small.frames)) < 0.75 * sum(map(len, loop.full.frames))


def test_every_frame_of_both_loops_decodes_to_its_position(loop_file: Path) -> None:
    loop = ReplayLoop.load(loop_file)
    expected = [round(k * 1000 / 15) for k in range(len(loop.full.frames))]
    assert positions(loop.full.frames) == [(ms, FULL) for ms in expected]
    assert positions(loop.small.frames) == [(ms, TILE) for ms in expected]


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


def test_a_missing_or_broken_small_loop_is_refused_and_says_how_to_make_it(
    tmp_path: Path, loop_file: Path,
) -> None:
    alone = tmp_path / "alone.ivf"  # a loop made before there were two, or copied alone
    shutil.copy(loop_file, alone)
    with pytest.raises(ReplayError, match=r"out-of-focus replay file .*alone\.small\.ivf does "
                       r"not exist; write both loops again with `bilik booth make-replay "):
        ReplayLoop.load(alone)
    small_loop_path(alone).write_bytes(b"\x00not a video at all" * 100)
    with pytest.raises(ReplayError, match=r"alone\.small\.ivf is not a readable VP8 video"):
        ReplayLoop.load(alone)
    shutil.copy(loop_file, small_loop_path(alone))  # the full loop twice
    with pytest.raises(ReplayError, match="is 640x480; the 640x480 loop needs 320x240"):
        ReplayLoop.load(alone)
    loop = ReplayLoop.load(loop_file)
    offset = EncodedLoop(loop.small.frames, frozenset({0, 5}), *TILE)
    with pytest.raises(ReplayError, match="keyframes are not at the full loop's frames"):
        ReplayLoop(loop.full, offset, 15)


async def test_track_starts_on_a_keyframe_and_sends_each_frame_at_its_slot(
    loop_file: Path,
) -> None:
    loop = ReplayLoop.load(loop_file)
    now = [BASE_S + 0.5]  # half a second in: the next keyframe is frame 8 at 533 ms
    track = ReplayTrack(loop, clock=lambda: now[0])
    sent = []
    for _ in range(3):
        packet = await track.recv()
        sent.append(packet)
        now[0] += 1 / 15
    assert bytes(sent[0]) == loop.full.frames[8]
    assert bytes(sent[1]) == loop.full.frames[9]
    # The hub's reading of frame 8's timecode (533 ms) resolves to the instant it was due.
    due_ms = int(BASE_S * 1000) + 533
    assert capture_time_ms(533, due_ms + 12) == due_ms
    assert sent[0].pts is not None and sent[1].pts is not None
    assert sent[1].pts - sent[0].pts == 6000  # 90 kHz ticks per frame at 15 fps
    track.stop()


async def test_track_moves_to_the_other_loop_only_at_its_keyframe(loop_file: Path) -> None:
    """Out of focus from the start, focused at frame 11, a tile again at frame 27: one
    decoder takes the whole sequence, sizes change at keyframes 16 and 32, and every frame
    reads its position."""
    loop = ReplayLoop.load(loop_file)
    small = [True]
    now = [BASE_S - 0.01]  # just before the loop's frame 0
    track = ReplayTrack(loop, clock=lambda: now[0], small=lambda: small[0])
    sent: list[bytes] = []
    for _ in range(40):
        packet = await track.recv()
        sent.append(bytes(packet))
        assert packet.pts is not None
        now[0] = BASE_S + packet.pts / 90_000 + 1 / 15  # the next frame's slot: no waiting
        position = len(sent)  # of the next frame (the track started at frame 0)
        if position == 11:
            small[0] = False
        elif position == 27:
            small[0] = True
    track.stop()
    expected_sizes = [TILE] * 16 + [FULL] * 16 + [TILE] * 8
    assert sent == [(loop.small if size == TILE else loop.full).frames[k]
                    for k, size in enumerate(expected_sizes)]
    assert positions(sent) == [(round(k * 1000 / 15), size)
                               for k, size in enumerate(expected_sizes)]
    assert track.switches == 2


@pytest.mark.slow
async def test_a_replayed_booths_picture_follows_the_officers_attention(
    branch: Branch, tmp_path: Path, loop_file: Path,
) -> None:
    """The real agent with ``source = replay`` and a real hub peer: 320x240 until focused,
    640x480 while focused, 320x240 again after; the hub reads every frame's timecode."""
    hub = branch.hub()
    agent = branch.booth(tmp_path, source="replay", replay_file=loop_file)
    try:
        await hub.open()
        await agent.start()
        await until(lambda: agent.state.value == "in_call", "the call")
        pairing = hub.pairings["booth-01"].pairing
        track = agent.peer.track if agent.peer is not None else None
        assert isinstance(track, ReplayTrack)

        def decoded_for_a_while(size: tuple[int, int]) -> bool:
            return hub.booth_video_sizes[-1:] == [size] and hub.timecodes_by_size[size] >= 30

        await until(lambda: decoded_for_a_while(TILE), "the small loop at the hub")
        await hub.send(p.Attention(peer="booth-01", pairing=pairing, focused=True))
        await until(lambda: decoded_for_a_while(FULL), "the full loop at the hub")
        seen = hub.timecodes_by_size[TILE]
        await hub.send(p.Attention(peer="booth-01", pairing=pairing, focused=False))
        await until(lambda: hub.timecodes_by_size[TILE] >= seen + 30, "the small loop again")

        assert hub.booth_video_sizes == [TILE, FULL, TILE]
        assert track.switches == 2
        assert hub.unreadable == 0
    finally:
        await agent.stop()
        await hub.close()
