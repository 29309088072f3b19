"""A MusicNet folder as users have it: ``train_data/*.wav`` + ``train_labels/*.csv`` (and test_*)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from siam_rt.data.labels import LABEL_RATE, Note, read_labels
from siam_rt.errors import SiamError
from siam_rt.io.audiofile import read_audio


@dataclass
class Recording:
    """One recording: mono audio at the model rate and its notes (times still at 44.1 kHz)."""

    name: str
    audio: np.ndarray
    sample_rate: int
    notes: list[Note]

    def onsets(self) -> np.ndarray:
        """Note onsets in samples at the recording's rate, with their MIDI pitches: [n, 2] int."""
        if not self.notes:
            return np.zeros((0, 2), dtype=np.int64)
        scale = self.sample_rate / LABEL_RATE
        return np.array([[round(n.start_time * scale), n.note] for n in self.notes], dtype=np.int64)


def list_pairs(root: str | os.PathLike, split: str = "train") -> list[tuple[Path, Path]]:
    """The (audio, labels) file pairs of one split; an audio file without labels is an error."""
    root = Path(root)
    data_dir, label_dir = root / f"{split}_data", root / f"{split}_labels"
    if not data_dir.is_dir():
        raise SiamError(f"{root}: no {split}_data/ folder (expected MusicNet's layout)")
    pairs = []
    for wav in sorted(data_dir.iterdir()):
        if wav.suffix.lower() not in (".wav", ".flac"):
            continue
        csv_path = label_dir / f"{wav.stem}.csv"
        if not csv_path.is_file():
            raise SiamError(f"{wav}: no label file {csv_path}")
        pairs.append((wav, csv_path))
    return pairs


def load_recording(audio_path: Path, label_path: Path, sample_rate: int = 22050) -> Recording:
    """Load one recording at the model rate and check its labels against its length."""
    import soundfile as sf

    try:
        info = sf.info(str(audio_path))
    except Exception as exc:
        raise SiamError(f"{audio_path}: not a readable audio file ({exc})") from None
    max_time = int(info.frames * LABEL_RATE / info.samplerate) + 1
    notes = read_labels(label_path, max_time=max_time)
    audio, rate = read_audio(audio_path, sample_rate)
    return Recording(audio_path.stem, audio, rate, notes)


def load_split(root: str | os.PathLike, split: str = "train", sample_rate: int = 22050,
               names: set[str] | None = None) -> list[Recording]:
    """Load every recording of a split (optionally only those whose name is in ``names``)."""
    return [load_recording(a, lab, sample_rate) for a, lab in list_pairs(root, split)
            if names is None or a.stem in names]
