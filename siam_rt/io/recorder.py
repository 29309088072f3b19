"""Recording the live output to a file without touching the disk from the audio thread.

The audio callback copies each block into a preallocated ring (one slice assignment, constant work); a writer
thread drains the ring into ``.NAME.part`` beside the target and, on ``close``, renames it into place, so an
interrupted session never leaves a half-written file under the real name. A ring that fills (the disk stalled
for seconds) drops frames and counts them rather than blocking the audio.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from siam_rt.errors import SiamError
from siam_rt.io.atomic import commit

#: Seconds of audio the ring holds.
RING_S = 8.0
DRAIN_S = 0.05
FORMATS = {".wav": ("WAV", "FLOAT"), ".flac": ("FLAC", "PCM_24"), ".aiff": ("AIFF", "FLOAT"), ".aif": ("AIFF", "FLOAT")}


class Recorder:
    """Writes blocks pushed by the audio thread to ``path`` (wav or aiff as 32-bit float, flac as 24-bit)."""

    def __init__(self, path: str | os.PathLike, sample_rate: int, channels: int = 2) -> None:
        import soundfile as sf

        self.path = Path(path)
        fmt = FORMATS.get(self.path.suffix.lower())
        if fmt is None:
            raise SiamError(f"{self.path}: --record writes .wav, .flac or .aiff, not {self.path.suffix or 'no suffix'}")
        if not self.path.parent.is_dir():
            raise SiamError(f"{self.path}: the folder {self.path.parent} does not exist")
        self.part = self.path.with_name(f".{self.path.name}.part")
        try:
            self._file = sf.SoundFile(str(self.part), "w", sample_rate, channels, subtype=fmt[1], format=fmt[0])
        except Exception as exc:  # libsndfile errors, permissions
            raise SiamError(f"{self.path}: cannot write ({exc})") from None
        self.sample_rate, self.channels = sample_rate, channels
        self._ring = np.zeros((int(RING_S * sample_rate), channels), np.float32)
        self._write = 0  # frames pushed; only the audio thread changes it
        self._read = 0  # frames written to disk; only the writer thread changes it
        self.dropped = 0
        self.frames = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="siam-rt recorder", daemon=True)
        self._thread.start()

    def push(self, block: np.ndarray) -> None:
        """Audio thread: queue a [frames, channels] block (dropped and counted when the ring is full)."""
        n, size = len(block), len(self._ring)
        w = self._write
        if w + n - self._read > size:
            self.dropped += n
            return
        i = w % size
        first = min(n, size - i)
        self._ring[i: i + first] = block[:first]
        if first < n:
            self._ring[: n - first] = block[first:]
        self._write = w + n

    def _drain(self) -> None:
        w, r, size = self._write, self._read, len(self._ring)
        while r < w:
            i = r % size
            n = min(w - r, size - i)
            self._file.write(self._ring[i: i + n])
            r += n
            self._read = r
        self.frames = r

    def _run(self) -> None:
        while not self._stop.wait(DRAIN_S):
            self._drain()

    def close(self, keep: bool = True) -> Path | None:
        """Write what is left and rename the file into place (``keep=False``: delete it); returns the path."""
        self._stop.set()
        self._thread.join(timeout=10)
        self._drain()
        self._file.close()
        if not keep:
            self.part.unlink(missing_ok=True)
            return None
        return commit(self.part, self.path)
