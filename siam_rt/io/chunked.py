"""Writing rendered audio in chunks: no whole-size temporaries, atomic, with the usual file mode."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from siam_rt.io.atomic import atomic_path
from siam_rt.io.audiofile import format_for

CHUNK = 1 << 16  # frames per write


def write_blocks(path: str | os.PathLike, blocks: Iterable[np.ndarray], sample_rate: int, channels: int,
                 subtype: str | None = None) -> tuple[int, float]:
    """Write float audio blocks [frames, channels] to ``path`` (format by suffix) as they come; returns the
    number of samples clipped to -1..1 (none for 32-bit float) and the peak. Integer formats are clipped, 16-bit
    converted here (faster than libsndfile's float conversion). A temporary file in the same folder is renamed
    into place when complete: a failure or Ctrl-C leaves no half-written output."""
    import soundfile as sf

    path = Path(path)
    fmt = format_for(path)
    clipped, peak = 0, 0.0
    with atomic_path(path) as tmp:
        with sf.SoundFile(tmp, "w", sample_rate, channels, format=fmt, subtype=subtype) as out:
            for block in blocks:
                if not len(block):
                    continue
                peak = max(peak, float(block.max()), -float(block.min()))
                if subtype != "FLOAT" and peak > 1.0:
                    over = (block > 1.0) | (block < -1.0)
                    if over.any():
                        clipped += int(over.sum())
                        block = np.clip(block, -1.0, 1.0)
                if subtype == "PCM_16":
                    block = np.rint(block * 32767.0).astype(np.int16)
                out.write(block)
    return clipped, peak


def write_chunked(path: str | os.PathLike, audio: np.ndarray, sample_rate: int, subtype: str | None = None) -> int:
    """``write_blocks`` of a whole signal [frames, channels], CHUNK frames at a time; returns the clipped count."""
    chunks = (audio[i: i + CHUNK] for i in range(0, len(audio), CHUNK))
    return write_blocks(path, chunks, sample_rate, audio.shape[1], subtype)[0]
