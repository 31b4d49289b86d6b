"""Speech made by the real espeak-ng (Debian package) with its Indonesian voice: the files exist,
are loud enough, and last as long as a spoken sentence should."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from frontdesk.spoken_calls import call_phrase
from hardware import limits
from hardware.speech import (
    SAMPLE_RATE,
    Announcements,
    EspeakVoice,
    SpeechError,
    chime,
    measure,
    read_wav,
    wav_bytes,
)


def test_the_chime_is_two_audible_tones_below_full_scale() -> None:
    samples = chime()
    loud = measure(wav_bytes(samples))
    assert loud.duration_s == pytest.approx(2 * limits.CHIME_TONE_S, abs=0.01)
    assert 0.2 < loud.peak <= limits.CHIME_LEVEL and loud.rms_dbfs > -30
    half = samples.size // 2
    for part, freq in zip((samples[:half], samples[half:]), limits.CHIME_TONES_HZ, strict=True):
        spectrum = np.abs(np.fft.rfft(part))
        peak_hz = np.argmax(spectrum) * SAMPLE_RATE / part.size
        assert peak_hz == pytest.approx(freq, abs=5)


def test_an_announcement_is_chime_pause_and_words_cached_per_phrase(tmp_path: Path) -> None:
    voice = EspeakVoice("id")
    voice.check()
    sounds = Announcements(tmp_path / "speech", voice)
    phrase = call_phrase("A012", "3")
    name = sounds.wav(phrase)
    data = (tmp_path / "speech" / name).read_bytes()
    rate, samples = read_wav(data)
    whole = measure(data)
    # Eight words at 140 a minute, after a 1.2 s chime and a pause: a few seconds, not 0 or 30.
    assert rate == SAMPLE_RATE and 3.0 < whole.duration_s < 12.0, whole
    speech = samples[int(SAMPLE_RATE * (2 * limits.CHIME_TONE_S + limits.CHIME_PAUSE_S)):]
    spoken = measure(wav_bytes(speech))
    assert spoken.duration_s > 2.0 and spoken.rms_dbfs > -35 and spoken.peak > 0.2, spoken
    # Silence between words, as speech has: not one long tone.
    frames = speech[: speech.size // 441 * 441].reshape(-1, 441).astype(float)
    frame_db = 20 * np.log10(np.sqrt(np.mean((frames / 32768) ** 2, axis=1)) + 1e-9)
    assert (frame_db < -45).sum() > 5 and (frame_db > -30).sum() > 50

    assert sounds.wav(phrase) == name and sounds.made == 1  # cached: not made again
    other = sounds.wav(call_phrase("A012", "3", recall=True))
    assert other != name and sounds.made == 2
    assert measure((tmp_path / "speech" / other).read_bytes()).duration_s > whole.duration_s
    assert sounds.path(name) is not None
    for bad in ("../etc/passwd", "x.wav", name.replace(".wav", ".mp3"), "A" * 24 + ".wav"):
        assert sounds.path(bad) is None


def test_missing_program_voice_or_phrase_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match="not installed"):
        EspeakVoice(program=str(tmp_path / "no-espeak")).check()
    with pytest.raises(SpeechError, match="not installed"):
        EspeakVoice(program=str(tmp_path / "no-espeak")).synthesize("satu")
    with pytest.raises(SpeechError, match="no voice 'xx-nope'"):
        EspeakVoice("xx-nope").check()
    for phrase in ("", "  ", "a" * (limits.SPEECH_MAX_CHARS + 1), "a\0b"):
        with pytest.raises(SpeechError, match="cannot speak"):
            EspeakVoice().synthesize(phrase)
    with pytest.raises(ValueError, match="words a minute"):
        EspeakVoice(words_per_minute=10)
    with pytest.raises(SpeechError, match="not a WAV"):
        read_wav(b"RIFF nonsense")
    assert measure(wav_bytes(np.zeros(0, np.int16))).rms_dbfs == -math.inf
