"""In-between presets (preset morph) and the user's presets folder."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest

from siam_rt.engine import Engine, offline_config
from siam_rt.engine.offline import render
from siam_rt.errors import SiamError
from siam_rt.evaluation.notes import mfcc_mean
from siam_rt.notes.measure import cents, median_f0
from siam_rt.notes.note_map import NoteMap
from siam_rt.resources import default_model_dir, presets_dir
from siam_rt.runtime.onnx_model import OnnxModel
from siam_rt.timbre.bank import Bank, load_bank
from siam_rt.timbre.morph import morph
from siam_rt.timbre.preset import load_preset

RATE = 22050
POSITIONS = (0.0, 0.25, 0.5, 0.75, 1.0)


@pytest.fixture(scope="module")
def parts() -> tuple[OnnxModel, NoteMap, Bank]:
    model = OnnxModel(default_model_dir())
    return model, NoteMap.load(default_model_dir() / "note_map.npz", model.model_id), load_bank(presets_dir())


def _note(parts, preset, pitch: int = 60, seconds: float = 1.0) -> np.ndarray:
    """A dry note of ``preset`` through the offline engine, mono."""
    model, note_map, _ = parts
    bank = Bank({preset.name: preset}, preset.name, {}, {}, None)
    with Engine(model, bank, note_map, offline_config(RATE, room=False), realtime=False) as eng:
        msgs = [(0.0, mido.Message("note_on", note=pitch, velocity=96)),
                (seconds * 0.8, mido.Message("note_off", note=pitch))]
        return render(eng, msgs, seconds).mean(axis=1)


@pytest.mark.parametrize("a, b", [("piano", "strings"), ("flute", "horn"), ("piano", "flute")])
def test_in_between_presets_move_steadily_from_a_to_b(parts, a: str, b: str) -> None:
    """The mean MFCCs of a dry C4: the distance from A rises, and to B falls, at every step. (Not every pair:
    between guitar and harpsichord the line passes timbres far from both.)"""
    bank = parts[2]
    ends = [mfcc_mean(_note(parts, bank.get(n)), RATE) for n in (a, b)]
    steps = [mfcc_mean(_note(parts, morph(bank.get(a), bank.get(b), at, "m")), RATE) for at in POSITIONS]
    from_a = [float(np.linalg.norm(s - ends[0])) for s in steps]
    to_b = [float(np.linalg.norm(s - ends[1])) for s in steps]
    assert all(x < y for x, y in zip(from_a, from_a[1:], strict=False)), from_a
    assert all(x > y for x, y in zip(to_b, to_b[1:], strict=False)), to_b


def test_every_position_plays_in_tune(parts) -> None:
    bank = parts[2]
    for at in POSITIONS[1:-1]:
        preset = morph(bank.get("piano"), bank.get("strings"), at, "m")
        for pitch in range(36, 97, 12):
            note = _note(parts, preset, pitch, 0.6)
            assert abs(cents(median_f0(note[int(0.03 * RATE): int(0.45 * RATE)], RATE), pitch)) <= 25, (at, pitch)


def test_the_ends_are_the_presets_and_the_middle_lies_between(parts) -> None:
    bank = parts[2]
    a, b = bank.get("piano"), bank.get("strings")
    assert np.allclose(morph(a, b, 0.0, "m").context, a.context)
    assert np.allclose(morph(a, b, 1.0, "m").context, b.context)
    mid = morph(a, b, 0.5, "m")
    la, lb, lm = (p.behaviour.at(60)[0] for p in (a, b, mid))
    assert np.allclose(lm, (la + lb) / 2, atol=0.01)
    assert mid.source == {"morph": {"a": "piano", "b": "strings", "at": 0.5, "model_id": a.model_id}}
    with pytest.raises(SiamError, match="between 0"):
        morph(a, b, 1.5, "m")


def test_a_preset_of_another_model_is_refused(parts, tmp_path: Path) -> None:
    raw = json.loads((presets_dir() / "strings.json").read_text())
    raw["model_id"] = "0" * 64
    (tmp_path / "strings.json").write_text(json.dumps(raw))
    other = load_preset(tmp_path / "strings.json")
    with pytest.raises(SiamError, match="strings.json"):
        morph(parts[2].get("piano"), other, 0.5, "m")


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "siam_rt", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_the_user_folder_wins_and_the_shipped_one_is_never_written(tmp_path: Path) -> None:
    user = tmp_path / "mine"
    env = {"SIAM_RT_PRESETS": str(user)}
    shipped = _hashes(presets_dir())
    done = _run("preset", "morph", "piano", "strings", "--at", "0.3", "--name", "piano", env=env)
    assert done.returncode == 0, done.stderr
    done = _run("preset", "morph", "flute", "horn", "--at", "0.5", "--name", "flute_horn", env=env)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in user.iterdir()) == ["flute_horn.json", "piano.json"]
    listed = _run("preset", "list", env={**env, "COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.strip("│ ").startswith("piano "))
    assert "over the shipped one" in line
    assert "flute_horn" in listed.stdout
    bank = _bank_with(env)
    assert bank.get("piano").source["morph"]["at"] == 0.3 and "piano" in bank.shadowed
    assert _hashes(presets_dir()) == shipped


def _bank_with(env: dict) -> Bank:
    old = os.environ.get("SIAM_RT_PRESETS")
    os.environ.update(env)
    try:
        return load_bank()
    finally:
        os.environ["SIAM_RT_PRESETS"] = old or ""


def test_the_recipe_rebuilds(tmp_path: Path) -> None:
    """`preset extract --rebuild` makes a morph again from its ends (found among the shipped presets)."""
    env = {"SIAM_RT_PRESETS": str(tmp_path)}
    assert _run("preset", "morph", "guitar", "marimba", "--at", "0.4", "--name", "gm", env=env).returncode == 0
    before = load_preset(tmp_path / "gm.json")
    raw = json.loads((tmp_path / "gm.json").read_text())
    raw["context"] = [0.0] * len(raw["context"])  # spoil it: the rebuild must make it from the recipe
    (tmp_path / "gm.json").write_text(json.dumps(raw))
    done = _run("preset", "extract", "--rebuild", str(tmp_path / "gm.json"), env=env)
    assert done.returncode == 0, done.stderr
    after = load_preset(tmp_path / "gm.json")
    assert np.allclose(after.context, before.context, atol=1e-6)
    assert after.behaviour.to_json() == before.behaviour.to_json()
