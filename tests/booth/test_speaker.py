"""The officer's voice is played at the booth.

A real branch server, a real hub-side aiortc peer whose microphone is a 440 Hz tone that the
test switches on and off, and the real booth agent: what the booth played is captured (a
WAV recording, or PortAudio playing into ALSA's ``file`` plugin through a test ALSA
configuration) and looked at with an FFT: the tone while the officer speaks, nothing while
they are silent. Plus the bounded queue, the PortAudio pull, and a speaker that cannot open.
"""

from __future__ import annotations

import fractions
import os
import select
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from booth import limits
from booth.agent import BoothAgent
from booth.speaker import DeviceSpeaker, Speaker, SpeakerKind, WavSpeaker, parse_speaker
from booth.state import BoothState
from tests.booth.branch import Branch
from tests.booth.tone import RATE, TONE_HZ, ToneTrack, dominant_hz, rms
from tests.helpers import until

SILENT_RMS = 0.002  # of full scale: far below the tone's ~0.2, above rounding noise
MARGIN_S = 0.5  # skip this much after each switch: Opus, the jitter buffer, the device


# -- pure parts ---------------------------------------------------------------------------


def test_speaker_settings_are_parsed_or_refused_by_name() -> None:
    assert parse_speaker("null") == (SpeakerKind.NULL, "")
    assert parse_speaker("default") == (SpeakerKind.DEVICE, "")
    assert parse_speaker("device:hw:1,0") == (SpeakerKind.DEVICE, "hw:1,0")
    assert parse_speaker("wav:/tmp/out.wav") == (SpeakerKind.WAV, "/tmp/out.wav")
    for bad in ("", "loud", "wav:", "device: ", "alsa:hw:0"):
        with pytest.raises(ValueError, match="speaker must be"):
            parse_speaker(bad)


def tone_frames(count: int) -> list[av.AudioFrame]:
    frames = []
    for i in range(count):
        # stereo s16 at 48 kHz, as aiortc's Opus decoder gives; each frame's value is its index
        data = np.full((1, 960 * 2), i, np.int16)
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout="stereo")
        frame.sample_rate = RATE
        frame.pts = i * 960
        frame.time_base = fractions.Fraction(1, RATE)
        frames.append(frame)
    return frames


def test_a_stalled_output_keeps_only_the_newest_audio_and_counts_the_rest(
    tmp_path: Path,
) -> None:
    speaker = WavSpeaker(tmp_path / "never-opened.wav")  # nobody takes from the queue
    for frame in tone_frames(100):
        speaker.play(frame)
    assert len(speaker.queue) == limits.SPEAKER_BUFFER_BLOCKS
    assert speaker.dropped == 100 - limits.SPEAKER_BUFFER_BLOCKS
    kept = [speaker.queue.get_nowait() for _ in range(limits.SPEAKER_BUFFER_BLOCKS)]
    # The newest blocks stay (the resampler may hold back a few samples of the last one).
    assert kept[-1] is not None and int(kept[-1][0]) == 99
    assert kept[0] is not None and int(kept[0][0]) == 100 - limits.SPEAKER_BUFFER_BLOCKS
    speaker.close()


def test_the_device_pull_plays_what_came_then_silence_and_waits_to_refill() -> None:
    speaker = DeviceSpeaker("unused")  # never opened: pull is driven by hand here
    out = np.full(2000, 7, np.int16)
    assert speaker.pull(out, 2000) == 0  # nothing yet: silence
    assert not out.any()
    speaker.queue.put(np.full(960, 1, np.int16))
    assert speaker.pull(out, 500) == 0  # one block is not enough after running dry
    speaker.queue.put(np.full(960, 2, np.int16))
    assert speaker.pull(out, 500) == 500 and (out[:500] == 1).all()
    assert speaker.pull(out, 2000) == 1420  # the rest of both blocks, then silence
    assert (out[:460] == 1).all() and (out[460:1420] == 2).all() and not out[1420:].any()
    speaker.close()


def test_the_null_speaker_takes_frames_and_keeps_nothing() -> None:
    speaker = Speaker()
    for frame in tone_frames(50):
        speaker.play(frame)
    assert speaker.frames == 50 and len(speaker.queue) == 0


# -- a real call --------------------------------------------------------------------------


class DeviceClock:
    """The far end of ALSA's ``file`` plugin: a FIFO read at the sound card's pace.

    ALSA's ``null`` PCM (the only output that needs no hardware) has no clock: it takes
    samples as fast as they come, so PortAudio's thread would spin and play silence at
    hundreds of times real time. The ``file`` plugin writes each period into this FIFO
    with a blocking write; reading it at 48 000 samples a second, as a card would, paces
    PortAudio exactly like a real device. What was read is what was played.
    """

    def __init__(self, fifo: Path) -> None:
        self.fifo = fifo
        self.data = bytearray()
        self._stop = threading.Event()
        os.mkfifo(fifo)
        # Opened before ALSA opens it for writing (non-blocking, so this does not wait).
        self._fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(self._fd, True)
        self._thread = threading.Thread(target=self._read, name="test-sound-card-clock")
        self._thread.start()

    def _read(self) -> None:
        chunk = 2 * RATE // 100  # 10 ms of mono s16
        started = time.monotonic()
        while not self._stop.is_set():
            # The card's clock: never more than real time since the first byte.
            due = started + len(self.data) / (2 * RATE)
            time.sleep(max(0.0, due - time.monotonic()))
            ready, _, _ = select.select([self._fd], [], [], 0.1)
            if ready:
                got = os.read(self._fd, chunk)
                if not got:  # no writer at the moment (between PortAudio's opens)
                    self._stop.wait(0.02)
                    continue
                if not self.data:
                    started = time.monotonic()
                self.data += got
        while True:  # stopping: take what is left, at any pace, so the writer never blocks
            ready, _, _ = select.select([self._fd], [], [], 0.2)
            if not ready:
                break
            got = os.read(self._fd, 65536)
            if not got:
                break
            self.data += got

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(10)
        os.close(self._fd)


@pytest.fixture
def alsa_file_output(tmp_path: Path) -> Iterator[DeviceClock]:
    """ALSA's default output replaced by its ``file`` plugin writing into a FIFO that a
    thread reads at a sound card's pace. The system's alsa.conf is included, so everything
    else stays as it was."""
    import sounddevice as sd

    card = DeviceClock(tmp_path / "played.fifo")
    conf = tmp_path / "asound.conf"
    conf.write_text(
        "</usr/share/alsa/alsa.conf>\n"
        "pcm.!default {\n  type file\n  slave.pcm \"null\"\n"
        f"  file \"{card.fifo}\"\n  format \"raw\"\n}}\n"
    )
    before = os.environ.get("ALSA_CONFIG_PATH")
    os.environ["ALSA_CONFIG_PATH"] = str(conf)
    # PortAudio reads the ALSA configuration when it initialises: initialise it again
    # (sounddevice's documented way to refresh its device list).
    sd._terminate()
    sd._initialize()
    try:
        yield card
    finally:
        card.close()
        if before is None:
            del os.environ["ALSA_CONFIG_PATH"]
        else:
            os.environ["ALSA_CONFIG_PATH"] = before
        sd._terminate()
        sd._initialize()


def output_position(agent: BoothAgent) -> int:
    """Samples the output has consumed so far (played, or silence while nothing came)."""
    speaker = agent.speaker
    if isinstance(speaker, DeviceSpeaker):
        return speaker.played + speaker.silent
    return speaker.samples_queued


async def officer_speaks_then_stops(branch: Branch, agent: BoothAgent) -> tuple[int, int, int]:
    """Silence, then the tone, then silence; returns the output positions of the switches."""
    tone = ToneTrack()
    hub = branch.hub(microphone=lambda: tone)
    try:
        await hub.open()
        await agent.start()
        await until(lambda: agent.state.value == "in_call", "the call")
        start = agent.speaker.frames
        await until(lambda: agent.speaker.frames >= start + 60, "1.2 s of the officer's silence")
        on_at = output_position(agent)
        tone.speaking = True
        frames = agent.speaker.frames
        await until(lambda: agent.speaker.frames >= frames + 100, "2 s of the officer's tone")
        off_at = output_position(agent)
        tone.speaking = False
        frames = agent.speaker.frames
        await until(lambda: agent.speaker.frames >= frames + 75, "1.5 s of silence again")
        end = output_position(agent)
    finally:
        await agent.stop()
        await hub.close()
    return on_at, off_at, end


def assert_tone_only_while_spoken(played: np.ndarray, on_at: int, off_at: int, end: int) -> None:
    margin = int(MARGIN_S * RATE)
    assert len(played) >= end - margin, (len(played), end)
    before = played[margin // 2:on_at]
    during = played[on_at + margin:off_at]
    after = played[off_at + margin:end]
    assert len(before) > RATE // 2 and len(during) > RATE and len(after) > RATE // 2
    assert abs(dominant_hz(during) - TONE_HZ) < 5, dominant_hz(during)
    assert rms(during) > 0.1  # the tone at its level (0.3 peak: 0.21 rms), not a whisper
    assert rms(before) < SILENT_RMS, rms(before)
    assert rms(after) < SILENT_RMS, rms(after)


@pytest.mark.slow
async def test_the_officers_voice_is_played_into_a_recording(
    branch: Branch, tmp_path: Path,
) -> None:
    wav = tmp_path / "played.wav"
    agent = branch.booth(tmp_path, speaker=f"wav:{wav}")
    on_at, off_at, end = await officer_speaks_then_stops(branch, agent)
    with wave.open(str(wav), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        played = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    assert_tone_only_while_spoken(played, on_at, off_at, end)
    assert agent.speaker.dropped == 0  # a file keeps up: nothing lost



@pytest.mark.slow
async def test_the_officers_voice_is_played_through_portaudio(
    branch: Branch, tmp_path: Path, alsa_file_output: DeviceClock,
) -> None:
    agent = branch.booth(tmp_path, speaker="default", speaker_required=True)
    on_at, off_at, end = await officer_speaks_then_stops(branch, agent)
    assert agent.health.get("speaker") == "ok"
    alsa_file_output.close()  # the stream is closed: take the rest
    played = np.frombuffer(bytes(alsa_file_output.data), np.int16)
    assert_tone_only_while_spoken(played, on_at, off_at, end)


@pytest.mark.slow
async def test_a_missing_speaker_is_reported_and_the_booth_serves_without_sound(
    branch: Branch, tmp_path: Path,
) -> None:
    agent = branch.booth(tmp_path, speaker="device:no-such-sound-card")
    try:
        await agent.start()
        await until(lambda: any("speaker unavailable" in s.detail for s in branch.statuses),
                    "the missing speaker reported to the server")
        assert "speaker" not in agent.health  # not required: the queue keeps using the booth
        assert agent.booth.state is not BoothState.OUT_OF_SERVICE
        assert agent.speaker.kind is SpeakerKind.NULL  # the officer's audio is still taken
    finally:
        await agent.stop()


@pytest.mark.slow
async def test_a_required_speaker_that_fails_takes_the_booth_out_of_service(
    branch: Branch, tmp_path: Path,
) -> None:
    agent = branch.booth(tmp_path, speaker="device:no-such-sound-card", speaker_required=True,
                         flow="ticket")
    try:
        await agent.start()
        await until(lambda: any(s.state == BoothState.OUT_OF_SERVICE.value
                                and s.health.get("speaker", "").startswith("error")
                                for s in branch.statuses),
                    "out of service with the speaker's error reported")
        assert "no-such-sound-card" in agent.health["speaker"]
        assert agent.booth.faults == ("speaker",)
    finally:
        await agent.stop()
