"""MusicNet-layout loaders on fixture data, label validation, and the FluidSynth corpus builder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from siam_rt.data.labels import Note, read_labels, write_labels
from siam_rt.data.musicnet import list_pairs, load_split
from siam_rt.errors import SiamError

HEADER = "start_time,end_time,instrument,note,start_beat,end_beat,note_value\n"


def make_fixture(root: Path, seconds: float = 1.0) -> None:
    """Two short recordings in MusicNet's layout, at 44.1 kHz like the real data."""
    (root / "train_data").mkdir(parents=True)
    (root / "train_labels").mkdir()
    t = np.arange(int(seconds * 44100)) / 44100
    for i, (pitch, inst) in enumerate(((69, 1), (60, 41))):
        f = 440 * 2 ** ((pitch - 69) / 12)
        sf.write(root / "train_data" / f"{1000 + i}.wav", 0.3 * np.sin(2 * np.pi * f * t), 44100)
        write_labels(root / "train_labels" / f"{1000 + i}.csv",
                     [Note(4410, 30000, inst, pitch, 0.0, 1.0, "Quarter"), Note(22050, 44000, inst, pitch + 7, 1.0,
                                                                                2.0, "Quarter")])


def test_loader_reads_musicnet_layout(tmp_path: Path) -> None:
    make_fixture(tmp_path)
    recs = load_split(tmp_path, "train", sample_rate=22050)
    assert [r.name for r in recs] == ["1000", "1001"]
    assert len(recs[0].audio) == 22050 and recs[0].sample_rate == 22050
    assert recs[1].notes[0].instrument == 41 and recs[1].notes[1].note == 67
    assert recs[0].onsets().tolist() == [[2205, 69], [11025, 76]]  # 44.1 kHz label times at 22050 Hz


def test_bad_label_rows_name_file_and_row(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text(HEADER + "0,100,1,60,0,1,Quarter\n10,abc,1,60,0,1,Quarter\n")
    with pytest.raises(SiamError, match=r"x\.csv, row 3: malformed"):
        read_labels(bad)
    bad.write_text(HEADER + "500,100,1,60,0,1,Quarter\n")
    with pytest.raises(SiamError, match=r"row 2: start_time/end_time out of order"):
        read_labels(bad)
    bad.write_text(HEADER + "0,100,1,130,0,1,Quarter\n")
    with pytest.raises(SiamError, match=r"row 2: note 130"):
        read_labels(bad)
    bad.write_text(HEADER + "99999999,99999999,1,60,0,1,Quarter\n")
    with pytest.raises(SiamError, match=r"row 2: start_time 99999999 lies past the end"):
        read_labels(bad, max_time=44100)
    bad.write_text("start,end\n")
    with pytest.raises(SiamError, match="missing columns"):
        read_labels(bad)


def test_corrupt_and_truncated_audio_name_the_file(tmp_path: Path) -> None:
    make_fixture(tmp_path)
    wav = tmp_path / "train_data" / "1000.wav"
    wav.write_bytes(b"RIFF\x00\x00not really a wave file")
    with pytest.raises(SiamError, match=r"1000\.wav: not a readable audio file"):
        load_split(tmp_path)
    (tmp_path / "train_data" / "1001.wav").write_bytes(wav.read_bytes()[:10])
    (tmp_path / "train_labels" / "1000.csv").unlink()
    with pytest.raises(SiamError, match=r"1000\.wav: no label file"):
        list_pairs(tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth not installed")
def test_data_build_renders_a_labelled_corpus(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    cmd = [sys.executable, "-m", "siam_rt", "data", "build", "-o", str(out), "--max-works", "1", "--crop", "10"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    first = subprocess.run(["sha256sum", *sorted(map(str, (out / "train_labels").glob("*.csv")))],
                           capture_output=True, text=True).stdout
    recs = load_split(out, "train")
    names = {r.name for r in recs}
    assert any(n.startswith("bach_bwv1.6__") for n in names)
    assert sum(n.startswith("notes__") for n in names) == 16
    piece = next(r for r in recs if r.name.startswith("bach"))
    assert abs(len(piece.audio) / 22050 - 10.0) < 0.05 and piece.notes
    assert np.abs(piece.audio).max() > 0.01
    # deterministic: a rebuild from scratch gives the same labels
    shutil.rmtree(out)
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    again = subprocess.run(["sha256sum", *sorted(map(str, (out / "train_labels").glob("*.csv")))],
                           capture_output=True, text=True).stdout
    assert first == again
