"""Presets, the bank and the note map: validation with errors that name the file and the field."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from siam_rt.errors import SiamError
from siam_rt.notes.note_map import NoteMap
from siam_rt.timbre.bank import load_bank
from siam_rt.timbre.preset import EngineDefaults, Preset, load_preset

MID = "ab" * 32


def preset_json(**changes: object) -> dict:
    data = Preset("piano", "a piano", MID, np.arange(16, dtype=np.float32) / 10, {"audio": "x.wav"},
                  EngineDefaults()).to_json()
    data.update(changes)
    return data


def write(path: Path, data: object) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_preset_round_trip(tmp_path: Path) -> None:
    p = Preset("piano", "a piano", MID, np.linspace(-1, 1, 16).astype(np.float32), {"audio": "a.wav"},
               EngineDefaults(gain_db=-2.0), np.ones(16, np.float32))
    p.save(tmp_path / "piano.json")
    q = load_preset(tmp_path / "piano.json", MID)
    assert np.allclose(q.context, p.context, atol=1e-6) and q.engine.gain_db == -2.0
    assert q.behaviour.to_json() == p.behaviour.to_json()
    assert np.allclose(q.note_offset, 1.0)


@pytest.mark.parametrize(("data", "match"), [
    ("{not json", r"piano\.json: malformed JSON"),
    (preset_json(context=[0.0] * 15), r"piano\.json: field 'context' must be a list of 16 numbers, not 15"),
    (preset_json(context=[0.0] * 15 + ["x"]), r"field 'context' must hold numbers only"),
    (preset_json(schema_version=0), r"field 'schema_version'"),
    (preset_json(name=""), r"field 'name'"),
    (preset_json(engine={"reverb_mix": 2}), r"field .engine.reverb_mix. out of range"),
    (preset_json(engine={"attack": 1}), r"field 'engine' has unknown settings attack"),
    (preset_json(note_offset=[1.0] * 3), r"field 'note_offset'"),
])
def test_bad_presets_name_file_and_field(tmp_path: Path, data: object, match: str) -> None:
    with pytest.raises(SiamError, match=match):
        load_preset(write(tmp_path / "piano.json", data))


def test_nan_context_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "piano.json"
    path.write_text(json.dumps(preset_json()).replace('"context": [0.0', '"context": [NaN'))
    with pytest.raises(SiamError, match=r"piano\.json: field 'context' holds NaN"):
        load_preset(path)


def test_old_model_id_points_at_rebuild(tmp_path: Path) -> None:
    path = write(tmp_path / "piano.json", preset_json(model_id="cd" * 32))
    with pytest.raises(SiamError, match=r"model_id.*preset extract --rebuild"):
        load_preset(path, MID)


def test_bank_resolves_programs_families_and_default(tmp_path: Path) -> None:
    for name in ("piano", "strings"):
        write(tmp_path / f"{name}.json", preset_json(name=name))
    write(tmp_path / "bank.json", {"schema_version": 1, "default": "piano", "programs": {"40": "strings"},
                                   "families": {"ensemble": "strings"}, "drums": {"mode": "mute"}})
    bank = load_bank(tmp_path, MID)
    assert bank.for_program(40).name == "strings"  # own entry
    assert bank.for_program(49).name == "strings"  # ensemble family
    assert bank.for_program(0).name == "piano" and bank.for_program(80).name == "piano"  # default
    assert bank.drums is None


def test_bank_pointing_at_a_missing_preset(tmp_path: Path) -> None:
    write(tmp_path / "piano.json", preset_json())
    write(tmp_path / "bank.json", {"schema_version": 1, "default": "piano", "programs": {"40": "violin"}})
    with pytest.raises(SiamError, match=r"bank\.json: field 'programs\.40' points at a missing preset 'violin'"):
        load_bank(tmp_path)


def test_shipped_bank_loads() -> None:
    from siam_rt.resources import presets_dir

    if not any(presets_dir().glob("piano.json")):
        pytest.skip("presets not built yet")
    bank = load_bank()
    assert len(bank.presets) >= 9 and bank.default_preset.name == "piano"


def test_note_map_folds_with_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    centre = np.random.default_rng(0).standard_normal((88, 4, 16)).astype(np.float32)
    nm = NoteMap(MID, centre, np.ones_like(centre) * 0.1, np.array([32, 64, 96, 127]))
    nm.save(tmp_path / "nm.npz")
    nm = NoteMap.load(tmp_path / "nm.npz", MID)
    with caplog.at_level(logging.WARNING):
        assert np.array_equal(nm.vector(127, 100), centre[103 - 21, 2])  # 127 folds to 103; 100 is nearest 96
        assert np.array_equal(nm.vector(5, 10), centre[29 - 21, 0])
    assert sum("outside the playable range" in r.message for r in caplog.records) == 1
    assert nm.layer_of(1) == 0 and nm.layer_of(127) == 3
    assert nm.amplitude(127) == pytest.approx(1.0) and nm.amplitude(64) < nm.amplitude(100)
    with pytest.raises(SiamError, match="fitted for model"):
        NoteMap.load(tmp_path / "nm.npz", "cd" * 32)
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(SiamError, match=r"bad\.npz: not a note map"):
        NoteMap.load(tmp_path / "bad.npz")


def test_preset_extract_from_a_recording(tmp_path: Path) -> None:
    """`preset extract` through the CLI on a real recording, with the bundled model."""
    import subprocess
    import sys

    import soundfile as sf

    from siam_rt.resources import default_model_dir

    if not (default_model_dir() / "manifest.json").is_file():
        pytest.skip("no default model yet")
    t = np.arange(3 * 22050) / 22050
    tone = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 6)) * np.exp(-2 * (t % 0.5))
    sf.write(tmp_path / "rec.wav", (0.3 * tone).astype(np.float32), 22050)
    shutil.copytree(default_model_dir().parent / "presets", tmp_path / "presets")
    proc = subprocess.run([sys.executable, "-m", "siam_rt", "preset", "extract", str(tmp_path / "rec.wav"),
                           "--name", "mine", "--presets", str(tmp_path / "presets"), "--adjust-notes"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    preset = load_preset(tmp_path / "presets" / "mine.json")
    assert preset.context.shape == (16,) and np.all(np.isfinite(preset.context))
    bad = subprocess.run([sys.executable, "-m", "siam_rt", "preset", "extract", str(tmp_path / "missing.wav"),
                          "--name", "x", "--presets", str(tmp_path / "presets")], capture_output=True, text=True)
    assert bad.returncode == 2 and "missing.wav: no such file" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth not installed")
def test_shipped_sources_render_every_recipe() -> None:
    """The shipped presets' sources (which the note map's brightness is fitted in at export) render again with
    FluidSynth: one recording per preset at the asked rate, as long as its recipe, each a different sound."""
    pytest.importorskip("music21")
    from siam_rt.timbre.shipped import SECONDS, SHIPPED, shipped_sources

    def rms(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean(x ** 2)))

    audio = dict(zip(SHIPPED, shipped_sources(16000), strict=True))
    for name, a in audio.items():
        assert a.ndim == 1 and len(a) >= 0.95 * SECONDS * 16000, (name, a.shape)
        assert rms(a) > 1e-3, name
    n = min(len(a) for a in audio.values())
    for a, b in (("piano", "flute"), ("piano", "piano_hall")):  # another instrument; another room
        assert rms(audio[a][:n] - audio[b][:n]) > 0.1 * rms(audio[a][:n]), (a, b)
