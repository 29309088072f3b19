"""Bad input to `siam-rt render`: a clear error (no traceback, exit 2) and never a (half-written) output file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mido
import pytest
import soundfile as sf

from siam_rt.resources import example_midi


def assert_clean_error(proc: subprocess.CompletedProcess[str], out: Path, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("siam-rt: error: "), proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if p.name.endswith(".part")] == []


@pytest.mark.parametrize("kind", ["corrupt", "truncated", "empty", "no notes"])
def test_bad_midi_files(cli, tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind.replace(' ', '_')}.mid"
    if kind == "corrupt":
        path.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x00\x08\xff\xff\xff\xff\xff\xff")
    elif kind == "truncated":
        path.write_bytes(example_midi().read_bytes()[:300])
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        mid = mido.MidiFile()
        mid.tracks.append(mido.MidiTrack([mido.Message("program_change", program=3)]))
        mid.save(path)
    out = tmp_path / "out.wav"
    assert_clean_error(cli("render", str(path), "-o", str(out)), out, str(path))


def test_ten_thousand_note_ons_in_one_second_render_with_stealing(cli, tmp_path: Path) -> None:
    """The flood renders; voices are stolen; the output is finite and not silent."""
    mid = mido.MidiFile(ticks_per_beat=10000)  # 120 bpm: 20,000 ticks a second, a note-on every 2 ticks
    track = mido.MidiTrack()
    for i in range(10000):
        track.append(mido.Message("note_on", note=21 + (i * 7) % 88, velocity=1 + i % 127, time=0 if i == 0 else 2))
    track.append(mido.Message("control_change", control=123, value=0, time=2))
    mid.tracks.append(track)
    path = tmp_path / "flood.mid"
    mid.save(path)
    out = tmp_path / "flood.wav"
    proc = cli("render", str(path), "-o", str(out), "--bit-depth", "32f", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "10000 notes" in proc.stdout
    stolen = int(proc.stdout.split(" stolen")[0].rsplit(", ", 1)[1])
    assert stolen > 5000
    audio, _ = sf.read(out, dtype="float32")
    assert audio.shape[1] == 2 and (audio != 0).any()
    import numpy as np

    assert np.isfinite(audio).all()


def _chain(tmp_path: Path, effects: list) -> Path:
    path = tmp_path / "chain.json"
    path.write_text(json.dumps({"schema_version": 1, "effects": effects}))
    return path


@pytest.mark.parametrize(("effects", "words"), [
    ([{"effect": "Reverb"}, {"effect": "Flanger", "rate": 1}], ["effects[1].effect", "Flanger"]),
    ([{"effect": "Reverb", "room_size": 0.5, "colour": 2}], ["effects[0].colour", "room_size"]),
    ([{"plugin": "/no/such/Synth.vst3"}], ["effects[0].plugin", "/no/such/Synth.vst3"]),
    ([{"effect": "Gain", "gain_db": "loud"}], ["effects[0]", "Gain"]),
])
def test_bad_chains(cli, tmp_path: Path, effects: list, words: list[str]) -> None:
    chain = _chain(tmp_path, effects)
    out = tmp_path / "out.wav"
    proc = cli("render", "--example", "-o", str(out), "--chain", str(chain))
    assert_clean_error(proc, out, str(chain), *words)


def test_bad_options(cli, tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    cases = [(["--preset", "kazoo"], ["kazoo", "piano"]), (["--preset-map", "17=piano"], ["--preset-map"]),
             (["--preset-map", "2=kazoo"], ["kazoo"]), (["--chain", str(tmp_path / "none.json")], ["none.json"])]
    for args, words in cases:
        assert_clean_error(cli("render", "--example", "-o", str(out), *args), out, *words)
    bad_format = tmp_path / "out.aiff"
    assert_clean_error(cli("render", "--example", "-o", str(bad_format)), bad_format, "unsupported output format")
    flac = tmp_path / "out.flac"
    assert_clean_error(cli("render", "--example", "-o", str(flac), "--bit-depth", "32f"), flac, "FLAC")
    missing = tmp_path / "missing.mid"
    assert_clean_error(cli("render", str(missing), "-o", str(out)), out, str(missing))


@pytest.mark.slow
def test_ctrl_c_leaves_no_file(cli, tmp_path: Path) -> None:
    """Interrupted mid-render: exit 130, no output file, no temporary file."""
    out = tmp_path / "long.wav"
    proc = subprocess.Popen([sys.executable, "-m", "siam_rt", "render", "--example", "-o", str(out), "--tail",
                             "3000"], env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3.0)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
