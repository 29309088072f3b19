"""A whole recording as one timeline of events: overlapping segments encoded and merged, and placed back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from siam_rt.analysis.codec import Codec


@dataclass
class Event:
    """One event on a recording's timeline."""

    time: float  # seconds from the start of the file
    segment: int
    frame: int
    amplitude: float
    vector: np.ndarray


@dataclass
class Encoding:
    """Contexts per segment, their mean, and the merged events of a whole recording."""

    sample_rate: int
    duration: float
    contexts: np.ndarray  # [S, C]
    events: list[Event] = field(default_factory=list)

    @property
    def context(self) -> np.ndarray:
        return self.contexts.mean(axis=0) if len(self.contexts) else np.zeros(0, np.float32)


def segment_starts(n: int, segment: int) -> list[int]:
    """Segment starts at half-segment hops, covering n samples."""
    hop = segment // 2
    return list(range(0, max(n - hop, 1), hop)) or [0]


def iter_segments(audio: np.ndarray, segment: int) -> Iterator[tuple[int, np.ndarray]]:
    """(start, segment audio) over half-overlapping segments, the last one zero-padded."""
    for start in segment_starts(len(audio), segment):
        chunk = audio[start: start + segment]
        yield start, np.pad(chunk, (0, segment - len(chunk))).astype(np.float32)


def encode_audio(codec: Codec, audio: np.ndarray, batch: int = 8, progress=None) -> Encoding:
    """Encode mono audio at the codec's rate. Segments overlap by half; each segment keeps only the events in
    its middle half (the first segment from its start, the last to its end), so seams neither double events
    nor invent onsets. The whole file is normalised by one peak, like the training examples."""
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    scaled = audio / peak if peak > 1e-6 else audio * 0.0
    seg, hop = codec.segment, codec.hop
    starts = segment_starts(len(audio), seg)
    contexts, events = [], []
    chunks = list(iter_segments(scaled, seg))
    for i in range(0, len(chunks), batch):
        part = chunks[i: i + batch]
        out = codec.encode(np.stack([c for _, c in part]))
        for j, (start, _) in enumerate(part):
            s = i + j
            contexts.append(out["context"][j])
            lo = 0 if s == 0 else seg // 4
            hi = seg if s == len(starts) - 1 else 3 * seg // 4
            slots = zip(out["mask"][j], out["frames"][j], out["amplitudes"][j], out["vectors"][j], strict=True)
            for m, f, a, v in slots:
                t = int(f) * hop
                if m > 0 and a > 1e-3 and lo <= t < hi and start + t < len(audio):
                    events.append(Event((start + t) / codec.sample_rate, s, int(f), float(a) * peak,
                                        np.asarray(v, np.float32)))
        if progress is not None:
            progress(len(part))
    events.sort(key=lambda e: e.time)
    return Encoding(codec.sample_rate, len(audio) / codec.sample_rate, np.array(contexts, np.float32), events)


def render_events(codec: Codec, times: np.ndarray, amplitudes: np.ndarray, vectors: np.ndarray,
                  context: np.ndarray, length: int, room: bool = True, batch: int = 64) -> np.ndarray:
    """Decode events in one context and place them at their times (seconds); the room goes on the bus once."""
    out = np.zeros(length + codec.event_len, np.float32)
    for i in range(0, len(times), batch):
        audio = codec.decode(vectors[i: i + batch].astype(np.float32), context.astype(np.float32))
        for t, a, ev in zip(times[i: i + batch], amplitudes[i: i + batch], audio, strict=True):
            start = int(round(t * codec.sample_rate))
            out[start: start + codec.event_len] += a * ev
    out = out[:length]
    if room:
        out = apply_room(out, *codec.room(context.astype(np.float32)))
    return out


def apply_room(dry: np.ndarray, ir: np.ndarray, wet: float) -> np.ndarray:
    """(1 - wet) * dry + wet * (dry conv ir), by FFT, truncated to the dry length."""
    n = len(dry) + len(ir) - 1
    size = 1 << (n - 1).bit_length()
    rev = np.fft.irfft(np.fft.rfft(dry, size) * np.fft.rfft(ir, size), size)[: len(dry)]
    return ((1 - wet) * dry + wet * rev).astype(np.float32)
