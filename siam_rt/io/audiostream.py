"""Reading long audio files in blocks: any format libsndfile knows, mixed to mono and resampled as a stream.

Memory stays bounded by the block size whatever the file's length. A file is decoded by its content, not its
extension (an Ogg file named .mp3 plays); a file that is not audio, or breaks off mid-stream, raises SiamError
naming the file and, where it can tell, what the file really holds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from siam_rt.errors import SiamError

#: Frames read per block at the file's rate (about 3 s at 44.1 kHz).
BLOCK = 1 << 17

_MAGIC = (
    (b"RIFF", "WAV"), (b"RIFX", "WAV"), (b"RF64", "WAV"), (b"fLaC", "FLAC"), (b"OggS", "Ogg"), (b"ID3", "MP3"),
    (b"FORM", "AIFF"), (b"\xff\xfb", "MP3"), (b"\xff\xf3", "MP3"), (b"\xff\xf2", "MP3"), (b"\xff\xfa", "MP3"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a zip archive"), (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"), (b"{", "JSON or text"), (b"<", "HTML/XML or text"),
)


def sniff(path: Path) -> str:
    """What the first bytes of a file say it is: an audio format name, or a description of what it is not."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if not head:
        return "an empty file"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp":
        return "MP4/M4A (not supported: convert it to wav, flac, ogg or mp3)"
    try:
        head.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "unknown binary data"


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, as libsndfile reports it (frames may be an estimate for mp3)."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    format: str

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def _detail(exc: Exception) -> str:
    """libsndfile's own words, unless they mislead (it blames the path for undecodable mp3 data)."""
    detail = str(exc).split(":")[-1].strip().rstrip(".")
    return "" if not detail or "does not exist" in detail else f" ({detail})"


def _not_audio(path: Path, exc: Exception) -> SiamError:
    kind = sniff(path)
    if kind in ("WAV", "FLAC", "Ogg", "MP3", "AIFF"):
        return SiamError(f"{path}: a corrupt or unsupported {kind} file{_detail(exc)}")
    return SiamError(f"{path}: not an audio file (its content looks like {kind}; "
                     f"expected wav, flac, ogg or mp3)")


def open_info(path: str | os.PathLike) -> AudioInfo:
    """Check that ``path`` is a readable audio file and describe it; SiamError otherwise."""
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise SiamError(f"{path}: no such file")
    if not path.is_file():
        raise SiamError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise SiamError(f"{path}: the file is empty")
    try:
        with sf.SoundFile(str(path)) as f:
            info = AudioInfo(path, int(f.samplerate), int(f.channels), int(f.frames), str(f.format))
    except Exception as exc:  # libsndfile raises LibsndfileError/RuntimeError for every kind of bad file
        raise _not_audio(path, exc) from None
    if info.sample_rate <= 0 or info.channels <= 0:
        raise SiamError(f"{path}: the audio header is invalid (rate {info.sample_rate}, {info.channels} channels)")
    return info


def read_blocks(info: AudioInfo, sample_rate: int | None = None, start: float = 0.0,
                seconds: float | None = None, block: int = BLOCK) -> Iterator[np.ndarray]:
    """Mono float32 blocks of the file from ``start`` for at most ``seconds``, resampled to ``sample_rate``
    (default: the file's rate) with a soxr stream. Raises SiamError when the file breaks off or holds NaN."""
    import soundfile as sf
    import soxr

    path = info.path
    rate = sample_rate or info.sample_rate
    stream = None if rate == info.sample_rate else soxr.ResampleStream(info.sample_rate, rate, 1, dtype="float32",
                                                                      quality="HQ")
    left = None if seconds is None else max(int(round(seconds * info.sample_rate)), 0)
    done = 0
    try:
        with sf.SoundFile(str(path)) as f:
            if start > 0:
                f.seek(min(int(round(start * info.sample_rate)), max(info.frames, 0)))
            while left is None or left > 0:
                want = block if left is None else min(block, left)
                data = f.read(want, dtype="float32", always_2d=True)
                if len(data) == 0:
                    break
                done += len(data)
                if left is not None:
                    left -= len(data)
                mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
                if not np.all(np.isfinite(mono)):
                    raise SiamError(f"{path}: the audio holds NaN or infinite samples "
                                    f"(near {start + done / info.sample_rate:.1f} s)")
                out = mono if stream is None else stream.resample_chunk(np.ascontiguousarray(mono))
                if len(out):
                    yield out
    except SiamError:
        raise
    except Exception as exc:  # a decoder error mid-stream: a truncated or damaged file
        at = f" after {start + done / info.sample_rate:.1f} s" if done else ""
        raise SiamError(f"{path}: the audio data is corrupt or breaks off{at}{_detail(exc)}") from None
    if stream is not None:
        tail = stream.resample_chunk(np.zeros(0, np.float32), last=True)
        if len(tail):
            yield tail


def scan(info: AudioInfo, start: float = 0.0, seconds: float | None = None,
         progress: Callable[[int], object] | None = None) -> tuple[float, int]:
    """One cheap pass at the file's own rate: its mono peak and its true length in frames (mp3 headers only
    estimate it). Decodes the whole stream, so a file that breaks off fails here, before any output.
    ``progress(n)`` after every n frames."""
    peak, frames = 0.0, 0
    for block in read_blocks(info, None, start, seconds):
        peak = max(peak, float(np.abs(block).max()))
        frames += len(block)
        if progress is not None:
            progress(len(block))
    return peak, frames
