"""The bundled-data resolver, from the checkout and from a built wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import mido
import pytest

from siam_rt import resources
from siam_rt.errors import SiamError

REPO = Path(__file__).resolve().parent.parent


def test_checkout_folders() -> None:
    """From a checkout every bundled folder resolves to the top-level folder of the repo."""
    for name in resources.BUNDLED:
        assert resources.bundled(name) == REPO / name
    assert resources.default_model_dir() == REPO / "export"
    assert resources.presets_dir() == REPO / "presets"


def test_unknown_name() -> None:
    """Only the known folders can be asked for."""
    with pytest.raises(ValueError, match="unknown bundled folder"):
        resources.bundled("secrets")


def test_missing_folder_names_the_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A missing folder is a SiamError that names where it looked."""
    (tmp_path / "siam_rt").mkdir()
    monkeypatch.setattr(resources, "files", lambda package: tmp_path / "siam_rt")
    with pytest.raises(SiamError, match=str(tmp_path / "siam_rt" / "_bundled" / "presets")):
        resources.bundled("presets")


def test_example_midi_is_a_chorale() -> None:
    """The bundled example is a four-voice MIDI file of about 23 s."""
    midi = mido.MidiFile(resources.example_midi())
    notes = sum(1 for track in midi.tracks for msg in track if msg.type == "note_on" and msg.velocity > 0)
    assert notes > 100 and 20 < midi.length < 30


@pytest.mark.slow
def test_wheel_carries_bundled_data(tmp_path: Path) -> None:
    """A built wheel holds siam_rt/_bundled/*, and the resolver picks them from an unpacked wheel."""
    pytest.importorskip("hatchling")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("siam_rt-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "site")
    for name in ("export/.gitkeep", "presets/.gitkeep", "host/.gitkeep", "examples/bach_bwv66.6.mid"):
        assert f"siam_rt/_bundled/{name}" in names
    assert "siam_rt/cli/__init__.py" in names
    code = (
        "from siam_rt import resources; print(resources.example_midi()); print(resources.default_model_dir())"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path / "site",
        timeout=60,
        check=True,
    )
    site = tmp_path / "site" / "siam_rt" / "_bundled"
    assert proc.stdout.splitlines() == [str(site / "examples" / "bach_bwv66.6.mid"), str(site / "export")]
