"""The session's recording file: both sides' VP8 and Opus muxed into WebM as they were
encoded (real libvpx and libopus packets), its tags, its length, and what a killed writer
leaves behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import pytest

from officer import limits
from officer.recording import (
    RecordingInfo,
    RecordingWriter,
    SessionRecording,
    Track,
    probe,
    vp8_size,
)
from tests.officer.recordmedia import Packets

START = 1_796_000_000.0  # 2026-11-30, a fixed wall clock for the file's start
INFO = RecordingInfo("booth-01", "siti", "A001", "p-7f3a", START)


def decoded(path: Path, index: int) -> int:
    """Frames decoded from one track of the file, without an error."""
    with av.open(str(path)) as container:
        stream = container.streams[index]
        return sum(1 for _ in container.decode(stream))


def test_a_session_recording_holds_both_sides_audio_and_video_with_its_tags(
        tmp_path: Path) -> None:
    now = [START]
    recording = SessionRecording(tmp_path, INFO, wall=lambda: now[0])
    recording.start()
    for ms, track, data, keyframe in Packets().take(4.0):
        now[0] = START + ms / 1000
        rate = 90_000 if track.kind == "video" else 48_000
        recording.add(track, data, 12345 + ms * rate // 1000, keyframe)  # RTP-like stamps
    result = recording.stop()

    assert result.path == tmp_path / "A001_booth-01_20261130T005320Z.webm"
    assert result.dropped == 0
    info = probe(result.path)
    assert info["format"].startswith("matroska")
    assert [(t["kind"], t["codec"], t["title"]) for t in info["tracks"]] == [
        ("video", "vp8", "booth-video"), ("audio", "opus", "booth-audio"),
        ("video", "vp8", "officer-video"), ("audio", "opus", "officer-audio")]
    assert info["duration_s"] == pytest.approx(4.0, abs=0.1)
    for track in info["tracks"]:
        assert track["first_s"] <= 0.01 and track["last_s"] == pytest.approx(4.0, abs=0.1)
    tags = info["tags"]
    assert (tags["booth"], tags["officer"], tags["ticket"], tags["pairing"]) == (
        "booth-01", "siti", "A001", "p-7f3a")
    assert tags["creation_time"].startswith("2026-11-30T00:53:20")
    # Every frame plays: 61 pictures a side (15 fps for 4 s), and the 20 ms audio frames
    # (libopus holds back the first two).
    assert decoded(result.path, 0) == decoded(result.path, 2) == 61
    assert decoded(result.path, 1) == decoded(result.path, 3) == 199


def test_a_video_track_starts_at_a_keyframe_and_the_header_has_each_pictures_size(
        tmp_path: Path) -> None:
    packets = Packets().take(1.0)
    path = tmp_path / "r.webm"
    writer = RecordingWriter(path, INFO)
    booth_key = next(p for p in packets if p[1] is Track.BOOTH_VIDEO)
    assert vp8_size(booth_key[2]) == (160, 120)
    # The booth's first keyframe is lost: its delta frames cannot be decoded and are not
    # written; the other tracks are.
    for ms, track, data, keyframe in packets:
        if track is not Track.BOOTH_VIDEO:
            writer.write(track, data, ms, keyframe)
    writer.close()
    with av.open(str(path)) as container:
        sizes = [(s.codec_context.width, s.codec_context.height)
                 for s in container.streams.video]
    assert sizes == [limits.RECORDING_DEFAULT_SIZE, (176, 144)]
    assert probe(path)["tracks"][0]["packets"] == 0


def test_a_killed_writer_leaves_a_file_that_plays_up_to_its_last_seconds(
        tmp_path: Path) -> None:
    """The hub crashes mid-session: what it wrote plays, up to about a cluster before."""
    path = tmp_path / "crash.webm"
    child = subprocess.Popen([sys.executable, "-m", "tests.officer.recordchild", str(path)],
                             stdout=subprocess.PIPE, text=True)
    written = 0
    try:
        assert child.stdout is not None
        for line in child.stdout:
            written = int(line.split()[1])
            if written >= 6000:
                break
    finally:
        child.kill()  # SIGKILL: no close, no index, no duration written
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -9 and written >= 6000

    info = probe(path)
    lost_at_most = (limits.RECORDING_CLUSTER_MS / 1000 + limits.RECORDING_INTERLEAVE_S
                    + 1.0)  # a cluster, the interleaving window, and a frame or so
    assert [t["title"] for t in info["tracks"]] == [t.title for t in Track]
    for track in info["tracks"]:
        assert track["last_s"] >= written / 1000 - lost_at_most, track
    assert decoded(path, 0) >= (written / 1000 - lost_at_most) * 15
    assert decoded(path, 1) >= (written / 1000 - lost_at_most) * 50
