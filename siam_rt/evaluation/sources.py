"""What `eval model` runs on: a MusicNet-layout folder's test split, or any folder of audio files."""

from __future__ import annotations

from pathlib import Path

from siam_rt.data.musicnet import Recording, load_split
from siam_rt.errors import SiamError
from siam_rt.io.audiofile import read_audio

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def load_eval_recordings(folder: Path, sample_rate: int) -> list[Recording]:
    """The held-out (test) split of a MusicNet-layout folder, else every audio file in the folder (no labels)."""
    folder = Path(folder)
    if (folder / "test_data").is_dir():
        return load_split(folder, "test", sample_rate)
    if not folder.is_dir():
        raise SiamError(f"{folder}: no such folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise SiamError(f"{folder}: no test_data/ folder and no audio files")
    return [Recording(p.stem, read_audio(p, sample_rate)[0], sample_rate, []) for p in files]
