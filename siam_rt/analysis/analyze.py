"""A recording file into an Encoding, streamed: bounded memory whatever the file's length. No torch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from siam_rt.analysis.codec import Codec
from siam_rt.analysis.timeline import LEAD_FRAMES, Encoding, codec_segments, encode_segments, segment_starts
from siam_rt.errors import SiamError
from siam_rt.io.audiostream import AudioInfo, open_info, read_blocks, scan


class FileAnalysis:
    """Two passes over one file: ``scan`` finds its peak and length (the file's peak decides silence and bounds
    each segment's gain); ``encode`` streams it through the encoder segment by segment."""

    def __init__(self, codec: Codec, path: str | Path, start: float = 0.0, seconds: float | None = None) -> None:
        if start < 0 or (seconds is not None and seconds <= 0):
            raise SiamError(f"the window must start at 0 s or later and be longer than 0 s (start {start}, "
                            f"length {seconds})")
        self.codec = codec
        self.info: AudioInfo = open_info(path)
        if start and start >= self.info.duration:
            raise SiamError(f"{path}: the window starts at {start:.1f} s, after the end "
                            f"({self.info.duration:.1f} s)")
        self.start, self.seconds = start, seconds
        self.peak = 0.0
        self.frames = 0
        self.warnings: list[str] = []

    @property
    def expected_frames(self) -> int:
        """Frames the scan will read, as the header tells (an estimate for mp3)."""
        left = max(self.info.frames - int(self.start * self.info.sample_rate), 0)
        return left if self.seconds is None else min(left, int(self.seconds * self.info.sample_rate))

    def scan(self, progress: Callable[[int], object] | None = None) -> int:
        """Peak and true length of the window; returns the number of segments ``encode`` will run.
        ``progress(n)`` after every n frames read."""
        self.peak, self.frames = scan(self.info, self.start, self.seconds, progress)
        if self.frames == 0:
            raise SiamError(f"{self.info.path}: the audio file holds no samples")
        expected = self.expected_frames
        if "MP3" not in self.info.format and self.frames < expected - self.info.sample_rate // 10:
            rate = self.info.sample_rate
            self.warnings.append(f"{self.info.path}: the file holds {self.frames / rate:.1f} s of audio where its "
                                 f"header promises {expected / rate:.1f} s (a truncated file?); analysing what is "
                                 f"there")
        n = int(round(self.frames * self.codec.sample_rate / self.info.sample_rate))
        return len(segment_starts(n, self.codec.segment, LEAD_FRAMES * self.codec.hop))

    def encode(self, progress: Callable[[int], object] | None = None, batch: int = 8) -> Encoding:
        """The encoding of the window; ``progress(n)`` after every n segments."""
        if not self.frames:
            self.scan()
        blocks = read_blocks(self.info, self.codec.sample_rate, self.start, self.seconds)
        segments = codec_segments(self.codec, blocks)
        contexts, events, n = encode_segments(self.codec, segments, self.peak, batch, progress)
        source = {
            "file": self.info.path.name,
            "sample_rate": self.info.sample_rate,
            "channels": self.info.channels,
            "duration": round(self.info.duration, 6),
            "start": self.start,
            "peak": round(self.peak, 6),
        }
        return Encoding(self.codec.sample_rate, n / self.codec.sample_rate, contexts, events,
                        getattr(self.codec, "model_id", ""), source)


def analyze_file(codec: Codec, path: str | Path, start: float = 0.0, seconds: float | None = None) -> Encoding:
    """The encoding of a file (or of a window of it), without a progress display."""
    job = FileAnalysis(codec, path, start, seconds)
    job.scan()
    return job.encode()
