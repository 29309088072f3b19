"""Held-note behaviour: the figures that judge it, its measurement on a source, its file form and migration."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from siam_rt.errors import SiamError
from siam_rt.evaluation.held import held_figures
from siam_rt.resources import presets_dir
from siam_rt.timbre.behaviour import DEFAULT, Behaviour
from siam_rt.timbre.preset import load_preset

RATE = 22050


def _tone(seconds: float, level_db: np.ndarray) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * 220 * t) * 10 ** (level_db / 20)).astype(np.float32)


def test_held_figures_read_a_decay_a_pulse_and_a_hole() -> None:
    t = np.arange(int(4.0 * RATE)) / RATE
    gate = np.where(t < 2.5, 0.0, -200.0 * (t - 2.5))  # note-off at 2.5 s: -40 dB in 0.2 s
    decay = held_figures(_tone(4.0, -20.0 * t + gate))
    assert abs(decay.at_1_5 + 30.0) < 1.0 and decay.rerise < 0.5 and abs(decay.release_s - 0.2) < 0.03
    pulse = held_figures(_tone(4.0, -20.0 * (t % 0.4) + gate))  # re-struck every 0.4 s
    assert pulse.rerise > 7.0
    hole = held_figures(_tone(4.0, np.where((t > 1.0) & (t < 1.1), -95.0, 0.0) + gate))
    assert hole.hole > 20.0 and hole.rerise > 20.0


def test_behaviour_round_trips_and_bad_fields_are_named(tmp_path) -> None:
    again = Behaviour.from_json(json.loads(json.dumps(DEFAULT.to_json())), "x.json")
    assert again.to_json() == DEFAULT.to_json()
    bad = DEFAULT.to_json()
    bad["registers"][1]["release_s"] = -1
    with pytest.raises(SiamError, match=r"x.json: field 'behaviour.registers\[1\].release_s'"):
        Behaviour.from_json(bad, "x.json")


def test_shipped_presets_carry_measured_behaviour_and_old_files_migrate(tmp_path) -> None:
    """Every shipped preset's behaviour comes from its FluidSynth source; a schema 1 file (hand-set release and
    re-excitation) loads with the documented default."""
    for path in sorted(presets_dir().glob("*.json")):
        if path.name == "bank.json":
            continue
        preset = load_preset(path)
        assert preset.behaviour.source.startswith("FluidSynth program"), path
    piano = load_preset(presets_dir() / "piano.json")
    strings = load_preset(presets_dir() / "strings.json")
    assert piano.behaviour.at(60)[0][6] < -15 and strings.behaviour.at(60)[0][6] > -15  # at 1.5 s after the peak
    raw = json.loads((presets_dir() / "piano.json").read_text())
    raw.update(schema_version=1, engine={"gain_db": 0.0, "release_s": 0.35, "reexcite_s": 1.2, "reverb_mix": None})
    del raw["behaviour"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(raw))
    assert load_preset(old).behaviour is DEFAULT


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth not installed")
def test_measured_on_fluidsynth_a_piano_decays_and_strings_sustain() -> None:
    from siam_rt.timbre.behaviour import measure_fluidsynth

    piano, strings = measure_fluidsynth(0, "dry"), measure_fluidsynth(48, "chamber")
    assert piano.registers[2].decays and not strings.registers[2].decays
    assert piano.room == piano.room.__class__(0.0, 0.0) and strings.room.wet > 0
