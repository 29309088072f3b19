"""Writing long audio that arrives block by block: bounded memory, never clipped, atomic.

The blocks go to a temporary float file first (so the peak is known before anything is quantised), then are
scaled down if they would clip, written in the output format and renamed into place. A failure or Ctrl-C
leaves no half-written output.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from siam_rt.io.audiofile import format_for

#: The highest peak written; louder audio is scaled down to it rather than clipped.
CEILING = 0.98
_CHUNK = 1 << 16


def file_mode() -> int:
    """The mode a plain new file gets under the current umask (temporary files are made private: 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_blocks(path: str | os.PathLike, blocks: Iterable[np.ndarray], sample_rate: int) -> float:
    """Write mono float blocks to ``path`` (wav, flac, ogg or mp3 by its suffix); returns the gain applied
    (1.0 unless the audio would have clipped)."""
    import soundfile as sf

    path = Path(path)
    fmt = format_for(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, raw = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".f32", dir=path.parent)
    fd2, part = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd2)
    try:
        peak, frames = 0.0, 0
        with os.fdopen(fd, "wb") as fh:
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
        os.chmod(part, file_mode())
        os.replace(part, path)
        return gain
    finally:
        Path(raw).unlink(missing_ok=True)
        Path(part).unlink(missing_ok=True)
