"""Recording the live output to a file without touching the disk from the audio thread.

The audio callback copies each block into a preallocated ring (one slice assignment, constant work); a writer
thread drains the ring into ``.NAME.part`` beside the target and, on ``close``, renames it into place, so an
interrupted session never leaves a half-written file under the real name. A ring that fills (the disk stalled
for seconds) drops frames and counts them rather than blocking the audio. A write that fails (the disk is full)
ends the recording there: the file is closed as a valid file with what was written and put in place, ``failed``
says why, and the frames pushed after it are counted as dropped while the audio plays on.
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
        self.failed: str | None = None  # why the recording stopped early (a failed write)
        self._closed: Path | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="siam-rt recorder", daemon=True)
        self._thread.start()

    def push(self, block: np.ndarray) -> None:
        """Audio thread: queue a [frames, channels] block (dropped and counted when the ring is full)."""
        n, size = len(block), len(self._ring)
        w = self._write
        if self.failed is not None or w + n - self._read > size:
            self.dropped += n
            return
        i = w % size
        first = min(n, size - i)
        self._ring[i: i + first] = block[:first]
        if first < n:
            self._ring[: n - first] = block[first:]
        self._write = w + n

    def _drain(self) -> None:
        if self.failed is not None:
            return
        w, r, size = self._write, self._read, len(self._ring)
        try:
            while r < w:
                i = r % size
                n = min(w - r, size - i)
                self._file.write(self._ring[i: i + n])
                r += n
                self._read = r
        except Exception as exc:  # a full disk, a vanished folder: end the take as a valid file
            import soundfile as sf

            self.failed = f"{type(exc).__name__}: {exc}"
            self._finish()
            try:  # what reached the file, a partial last write included
                r = int(sf.info(str(self._closed)).frames)
            except Exception:  # an unreadable remainder: count what was written whole
                pass
            self.dropped += w - r
        self.frames = r

    def _finish(self) -> None:
        """Close the file (libsndfile writes its header) and put it in place under its real name."""
        try:
            self._file.close()
        except Exception as exc:  # the header could not be written either: say so, keep what there is
            self.failed = f"{self.failed or ''}; closing: {exc}".lstrip("; ")
        self._closed = commit(self.part, self.path)

    def _run(self) -> None:
        while not self._stop.wait(DRAIN_S):
            self._drain()

    def close(self, keep: bool = True) -> Path | None:
        """Write what is left and rename the file into place (``keep=False``: delete it); returns the path. A
        second close returns the same."""
        self._stop.set()
        self._thread.join(timeout=10)
        if self._closed is not None:  # ended early by a failed write: already in place
            return self._closed
        self._drain()
        if self._closed is not None:
            return self._closed
        self._file.close()
        if not keep:
            self.part.unlink(missing_ok=True)
            self._closed = self.path  # nothing kept; a second close does nothing
            return None
        self._closed = commit(self.part, self.path)
        return self._closed
