"""The pedalboard host: SiamInstrument called like pedalboard's instrument plugins, and chain files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pedalboard
import pytest
import soundfile as sf

from siam_rt.errors import SiamError
from siam_rt.host import SiamInstrument, load_chain, resolve_chain
from siam_rt.host.chain import effect_names

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def instrument() -> SiamInstrument:
    return SiamInstrument(preset="piano")


def notes() -> list[mido.Message]:
    return [mido.Message("note_on", note=60, velocity=90, time=0.1), mido.Message("note_off", note=60, time=0.6),
            mido.Message("note_on", note=67, velocity=70, time=0.4), mido.Message("note_off", note=67, time=0.9)]


def test_called_like_a_pedalboard_instrument(instrument: SiamInstrument) -> None:
    audio = instrument(notes(), duration=1.5, sample_rate=44100)
    assert audio.shape == (2, 66150) and audio.dtype == np.float32
    assert np.abs(audio).max() > 0.01
    pairs = [(m.bytes(), m.time) for m in notes()]  # pedalboard's other form: (bytes, seconds)
    assert np.array_equal(instrument(pairs, duration=1.5, sample_rate=44100), audio)
    mono = instrument(notes(), duration=1.5, sample_rate=48000, num_channels=1, buffer_size=512)
    assert mono.shape == (1, 72000)
    assert instrument.is_instrument and not instrument.is_effect


def test_reset_false_keeps_notes_sounding(instrument: SiamInstrument) -> None:
    """reset=False continues the previous call (held notes, tails); reset=True starts from silence."""
    held = [mido.Message("note_on", note=64, velocity=100, time=0.0)]
    first = instrument(held, duration=0.5, sample_rate=44100)
    later = instrument([], duration=0.5, sample_rate=44100, reset=False)
    assert np.sqrt((later ** 2).mean()) > 0.05 * np.sqrt((first ** 2).mean())
    fresh = instrument([], duration=0.5, sample_rate=44100, reset=True)
    assert np.abs(fresh).max() == 0
    whole = instrument(held, duration=1.0, sample_rate=44100)
    np.testing.assert_allclose(np.concatenate([first, later], axis=1), whole, atol=1e-6)


def test_in_a_pedalboard_script(instrument: SiamInstrument) -> None:
    """The instrument's output goes straight into a Pedalboard, as a VST3 instrument's would."""
    audio = instrument(notes(), duration=1.5, sample_rate=44100)
    board = pedalboard.Pedalboard([pedalboard.Gain(gain_db=-6.0206)])
    np.testing.assert_allclose(board(audio, 44100), audio * 0.5, atol=1e-6)


def test_bad_messages(instrument: SiamInstrument) -> None:
    with pytest.raises(SiamError, match="MIDI message 0"):
        instrument(["note_on"], duration=1.0, sample_rate=44100)
    with pytest.raises(SiamError, match="num_channels"):
        instrument([], duration=1.0, sample_rate=44100, num_channels=6)


def test_example_script_runs(tmp_path: Path) -> None:
    out = tmp_path / "example.wav"
    env = {"PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "pedalboard_chain.py"), str(out)],
                          capture_output=True, text=True, timeout=120, env={**__import__("os").environ, **env})
    assert proc.returncode == 0, proc.stderr
    audio, rate = sf.read(out, dtype="float32")
    assert rate == 44100 and audio.shape == (6 * 44100, 2) and np.abs(audio).max() > 0.01


@pytest.mark.parametrize("name", ["hall", "tape", "bright"])
def test_shipped_chains(name: str) -> None:
    board = load_chain(resolve_chain(name))
    assert len(board) >= 3
    rng = np.random.default_rng(0)
    out = board(rng.standard_normal((2, 44100)).astype(np.float32) * 0.1, 44100)
    assert out.shape == (2, 44100) and np.isfinite(out).all()


def _write(tmp_path: Path, raw: object) -> Path:
    path = tmp_path / "c.json"
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw))
    return path


@pytest.mark.parametrize(("raw", "words"), [
    ("{not json", ["malformed JSON"]),
    ({"schema_version": 2, "effects": []}, ["schema_version"]),
    ({"schema_version": 1, "effects": [], "extra": 1}, ["extra"]),
    ({"schema_version": 1, "effects": {}}, ["'effects'"]),
    ({"schema_version": 1, "effects": [{"effect": "Reverb", "plugin": "x.vst3"}]}, ["effects[0]", "exactly one"]),
    ({"schema_version": 1, "effects": [{"effect": "Pedalboard"}]}, ["effects[0].effect"]),
    ({"schema_version": 1, "effects": [{"effect": "Delay", "mix": [1]}]}, ["effects[0].mix"]),
    ({"schema_version": 1, "effects": [{"plugin": "p.vst3", "gain": 1}]}, ["effects[0]", "gain"]),
])
def test_chain_errors_name_file_and_field(tmp_path: Path, raw: object, words: list[str]) -> None:
    path = _write(tmp_path, raw)
    with pytest.raises(SiamError) as err:
        load_chain(path)
    message = str(err.value)
    assert message.startswith(str(path))
    for word in words:
        assert word in message


def test_a_file_that_is_no_plugin(tmp_path: Path) -> None:
    fake = tmp_path / "Fake.vst3"
    fake.write_text("not a plugin")
    path = _write(tmp_path, {"schema_version": 1, "effects": [{"plugin": "Fake.vst3"}]})  # relative to the chain
    with pytest.raises(SiamError, match=r"effects\[0\]\.plugin': cannot load"):
        load_chain(path)


def test_effects_are_pedalboards() -> None:
    names = effect_names()
    for name in ("Reverb", "Compressor", "Chorus", "Delay", "Gain", "Limiter", "HighpassFilter", "LowpassFilter"):
        assert name in names
    assert "Pedalboard" not in names and "VST3Plugin" not in names


def test_readme_example_runs() -> None:
    """The README's SiamInstrument example runs as written."""
    import re

    text = (REPO / "README.md").read_text()
    section = text.split("### In a pedalboard script", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["audio"].shape == (2, 88200) and scope["wet"].shape == (2, 88200)


def test_reset_false_plays_new_events_on_time(instrument: SiamInstrument) -> None:
    """A continuation call's events land within one engine block of where a single long call puts them."""
    first = [mido.Message("note_on", note=60, velocity=90, time=0.0), mido.Message("note_off", note=60, time=0.3)]
    second = [mido.Message("note_on", note=67, velocity=90, time=0.25), mido.Message("note_off", note=67, time=0.5)]
    a = instrument(first, duration=0.4, sample_rate=44100)
    b = instrument(second, duration=0.6, sample_rate=44100, reset=False)
    whole = instrument(first + [m.copy(time=m.time + 0.4) for m in second], duration=1.0, sample_rate=44100)
    np.testing.assert_allclose(np.concatenate([a, b], axis=1), whole, atol=1e-6)
