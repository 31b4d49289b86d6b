"""Instructions read out at the booth: mixed into the loudspeaker, paused while the officer
speaks, repeated on the repeat key, off by a setting.

The pure parts with a hand-driven clock; the loudspeaker's real outputs (the PortAudio
pull, driven by hand; the recording); and the booth agent against the real branch server,
recording what its loudspeaker plays: the welcome instruction is heard in the Indonesian
voice, the repeat key says it again, a refused booking is read out too.
"""

from __future__ import annotations

import fractions
import math
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from bilik.catalogue import text
from booth import limits
from booth.agent import REPEAT_KEYS, BoothAgent
from booth.config import BoothConfig
from booth.narration import Narration, level_dbfs, resample
from booth.speaker import DeviceSpeaker
from hardware.emulators.scanner import ScannerEmulator
from tests.booth.branch import Branch
from tests.helpers import until

RATE = limits.SPEAKER_RATE


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def voice_frame(level: int) -> av.AudioFrame:
    """20 ms of the officer's audio as aiortc gives it (stereo s16, 48 kHz): a 300 Hz tone."""
    t = np.arange(960) / RATE
    mono = (level * np.sin(2 * math.pi * 300 * t)).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(np.repeat(mono, 2).reshape(1, -1), format="s16",
                                       layout="stereo")
    frame.sample_rate = RATE
    frame.pts = 0
    frame.time_base = fractions.Fraction(1, RATE)
    return frame


def test_resampling_and_levels() -> None:
    ramp = np.arange(0, 22050, dtype=np.int16)
    up = resample(ramp, 22050, RATE)
    assert up.size == RATE and up[0] == 0 and abs(int(up[-1]) - 22049) <= 1
    assert (np.diff(up.astype(np.int32)) >= 0).all()  # still a ramp
    assert resample(ramp, RATE, RATE).size == ramp.size
    with pytest.raises(ValueError, match="positive"):
        resample(ramp, 0, RATE)
    assert level_dbfs(np.zeros(10, np.int16)) == -math.inf
    assert level_dbfs(np.full(10, 16384, np.int16)) == pytest.approx(-6.02, abs=0.01)


def test_the_officers_voice_pauses_the_narration_which_then_goes_on_where_it_was() -> None:
    clock = Clock()
    narration = Narration(clock)
    narration.say(np.arange(1000, dtype=np.int16))
    first = narration.take(100)
    assert first is not None and first[0] == 0 and first[-1] == 99
    narration.heard(np.full(960, 3, np.int16))  # background hiss: not a voice
    assert not narration.officer_speaking()
    narration.heard(np.full(960, 8000, np.int16))  # the officer speaks
    assert narration.officer_speaking() and narration.take(100) is None
    clock.now += limits.OFFICER_VOICE_HOLD_S / 2
    narration.heard(np.full(960, 8000, np.int16))  # still speaking: the hold starts again
    clock.now += limits.OFFICER_VOICE_HOLD_S - 0.01
    assert narration.take(100) is None
    clock.now += 0.02  # quiet long enough
    again = narration.take(100)
    assert again is not None and again[0] == 100  # not a sample lost
    assert narration.pauses == 1 and narration.played == 200
    out = np.full(50, 32700, np.int16)  # plus the ramp at 200..249
    assert narration.mix_into(out, 50) == 50
    assert (out == 32767).all()  # saturated, not wrapped around


def test_the_loudspeaker_mixes_the_narration_under_silence_and_stops_it_for_the_voice() -> None:
    clock = Clock()
    speaker = DeviceSpeaker("unused")  # never opened: PortAudio's pull driven by hand
    speaker.narration = Narration(clock)
    speaker.narration.say(np.full(RATE, 1000, np.int16))
    out = np.zeros(960, np.int16)
    speaker.pull(out, 960)
    assert (out == 1000).all()  # nothing from the officer: the narration alone
    for _ in range(3):
        speaker.play(voice_frame(12000))  # the officer speaks
    speaker.pull(out, 960)
    officer_only = out.copy()
    assert level_dbfs(officer_only) > -20 and speaker.narration.played == 960
    clock.now += limits.OFFICER_VOICE_HOLD_S + 0.01
    speaker.pull(out, 960)  # the officer's last block, and the narration again under it
    assert speaker.narration.played == 2 * 960
    speaker.close()


async def test_the_booth_reads_its_instructions_aloud_and_repeats_them_on_the_key(
    branch: Branch, tmp_path: Path,
) -> None:
    recording = tmp_path / "played.wav"
    reader = ScannerEmulator()
    config = BoothConfig(server=branch.url, id="booth-01", flow="ticket", reader=reader.path,
                         speaker=f"wav:{recording}", data_dir=tmp_path / "booth")
    agent = BoothAgent(config, branch.token("booth-01", "booth"))
    welcome = text("booth.welcome").id
    try:
        await agent.start()
        await agent.wait_connected(60)
        narrator, narration = agent.narrator, agent.speaker.narration
        # (Offline for a moment at start, the booth may first read out "reconnecting".)
        await until(lambda: narrator.spoken[-1:] == [welcome], "the welcome read out")
        await until(lambda: narration.played > 0 and narration.remaining == 0,
                    "the whole sentence played", timeout=30)
        before = narration.played
        said = len(narrator.spoken)

        agent.press(REPEAT_KEYS[0])  # the participant did not catch it
        await until(lambda: len(narrator.spoken) == said + 1, "read out again")
        assert narrator.spoken[-1] == welcome
        await until(lambda: narration.played > before and narration.remaining == 0,
                    "played again in full", timeout=30)
        once = narration.played - before
        assert once > RATE  # a sentence lasts seconds, not a click

        reader.scan("BK-0000")  # no such booking: the refusal is on the screen and read out
        refusal = text("queue.booking_unknown").id
        await until(lambda: narrator.spoken[-1:] == [refusal], "the refusal read out")
    finally:
        await agent.stop()
        reader.close()
    with wave.open(str(recording), "rb") as w:
        assert (w.getnchannels(), w.getframerate()) == (1, RATE)
        heard = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    assert heard.size >= 2 * once - 2000  # both readings reached the loudspeaker
    assert level_dbfs(heard[-once:]) > -35  # and were loud enough to hear


async def test_reading_aloud_can_be_turned_off(branch: Branch, tmp_path: Path) -> None:
    agent = branch.booth(tmp_path, flow="ticket", read_aloud=False)
    try:
        await agent.start()
        await agent.wait_connected(60)
        await until(lambda: agent.narrator.current is not None, "the welcome on screen")
        agent.press(REPEAT_KEYS[0])
        assert agent.narrator.spoken == [] and agent.speaker.narration.remaining == 0
    finally:
        await agent.stop()
