"""Reading and writing audio files: one place that turns any file into mono float32 at the rate we need."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from siam_rt.errors import SiamError
from siam_rt.io.atomic import atomic_path


def read_audio(path: str | os.PathLike, sample_rate: int | None = None, mono: bool = True) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 (mono: [n], else [n, channels]), resampled with soxr when asked.

    Any format libsndfile knows (wav, flac, ogg, mp3, ...) is accepted; a file that is missing, empty,
    not audio or corrupt raises SiamError naming the file.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise SiamError(f"{path}: no such file")
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile reports every kind of bad file as a RuntimeError/LibsndfileError
        raise SiamError(f"{path}: not a readable audio file ({exc})") from None
    if audio.shape[0] == 0:
        raise SiamError(f"{path}: the audio file holds no samples")
    if not np.all(np.isfinite(audio)):
        raise SiamError(f"{path}: the audio holds NaN or infinite samples")
    if mono:
        audio = audio.mean(axis=1)
    if sample_rate is not None and rate != sample_rate:
        audio = resample(audio, rate, sample_rate)
        rate = sample_rate
    return np.ascontiguousarray(audio, dtype=np.float32), int(rate)


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample with soxr (high quality); audio is [n] or [n, channels]."""
    import soxr

    if from_rate == to_rate:
        return audio
    return soxr.resample(audio, from_rate, to_rate, quality="HQ").astype(np.float32, copy=False)


def write_audio(path: str | os.PathLike, audio: np.ndarray, sample_rate: int, subtype: str | None = None) -> None:
    """Write audio atomically: a temporary file in the same folder is renamed into place when complete.

    So a failed or interrupted write never leaves a half-written output file behind.
    """
    import soundfile as sf

    path = Path(path)
    fmt = format_for(path)
    with atomic_path(path) as tmp:
        sf.write(tmp, audio, sample_rate, format=fmt, subtype=subtype)


_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3"}


def format_for(path: Path) -> str:
    """The libsndfile format of an output path, by its suffix; SiamError for suffixes we do not write."""
    try:
        return _FORMATS[path.suffix.lower()]
    except KeyError:
        raise SiamError(f"{path}: unsupported output format; use one of {', '.join(_FORMATS)}") from None
