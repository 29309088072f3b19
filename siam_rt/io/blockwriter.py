"""Writing long audio that arrives block by block: bounded memory, never clipped, atomic.

The blocks go to a temporary float file first (so the peak is known before anything is quantised), then are
scaled down if they would clip, written in the output format and renamed into place. A failure or Ctrl-C
leaves no half-written output.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from siam_rt.io.atomic import commit, temporary_beside
from siam_rt.io.audiofile import format_for

#: The highest peak written; louder audio is scaled down to it rather than clipped.
CEILING = 0.98
_CHUNK = 1 << 16


def write_blocks(path: str | os.PathLike, blocks: Iterable[np.ndarray], sample_rate: int) -> float:
    """Write mono float blocks to ``path`` (wav, flac, ogg or mp3 by its suffix); returns the gain applied
    (1.0 unless the audio would have clipped)."""
    import soundfile as sf

    path = Path(path)
    fmt = format_for(path)
    raw = temporary_beside(path, ".f32")
    part = temporary_beside(path)
    try:
        peak, frames = 0.0, 0
        with open(raw, "wb") as fh:
            for block in blocks:
                b = np.asarray(block, "<f4").reshape(-1)
                if len(b):
                    peak = max(peak, float(np.abs(b).max()))
                    frames += len(b)
                    fh.write(b.tobytes())
        gain = CEILING / peak if peak > CEILING else 1.0
        with sf.SoundFile(part, "w", sample_rate, 1, format=fmt) as out, open(raw, "rb") as fh:
            while chunk := fh.read(4 * _CHUNK):  # plain reads: a memory map would count the whole file as resident
                out.write(np.frombuffer(chunk, "<f4") * np.float32(gain))
        commit(part, path)
        return gain
    finally:
        Path(raw).unlink(missing_ok=True)
        Path(part).unlink(missing_ok=True)
