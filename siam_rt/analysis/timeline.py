"""A whole recording as one timeline of events: overlapping segments encoded and merged, and placed back."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from siam_rt.analysis.codec import Codec
from siam_rt.engine.room import convolve


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
    model_id: str = ""
    source: dict = field(default_factory=dict)  # what was analysed: file, its rate and channels, the window

    @property
    def context(self) -> np.ndarray:
        return self.contexts.mean(axis=0) if len(self.contexts) else np.zeros(0, np.float32)


#: A file whose peak is below this (-66 dBFS, 16 steps of 16-bit audio: hiss or dither) is silence: no events.
SILENT_PEAK = 5e-4
#: A segment whose peak is this far below the file's peak (-60 dB) gets no events.
QUIET_SEGMENT = 1e-3
#: The most a segment is boosted over the file's peak before encoding (40 dB).
MAX_SEGMENT_GAIN = 100.0


#: Frames of silence put before a file's first sample: an attack at sample 0 then looks, as in training, like a
#: note after silence (the STFT's reflect padding would otherwise mirror the note into the past, a note in progress).
LEAD_FRAMES = 4
#: Frames at a file's very end where no event is kept: an onset there could not be heard, and what the encoder sees
#: there is mostly the padding past the end.
END_FRAMES = 2


@dataclass
class Segment:
    """One analysis segment of a recording: ``valid`` real samples from ``start`` (a file sample, negative for the
    lead of silence before the first), the rest padded as ``pad_tail`` does."""

    index: int
    start: int
    audio: np.ndarray
    last: bool
    valid: int


def segment_starts(n: int, segment: int, lead: int = 0) -> list[int]:
    """Segment starts at half-segment hops, covering n samples after ``lead`` samples of silence."""
    hop = segment // 2
    return [s - lead for s in range(0, max(n + lead - hop, 1), hop)] or [-lead]


def pad_tail(chunk: np.ndarray, segment: int, hop: int) -> np.ndarray:
    """The last segment's audio to full length. Past the file's end its last 8 frames repeat, each copy crossfaded
    into the next over the last ``END_FRAMES`` frames (which keep no events), the whole fading out like a released
    note: a cut to zeros is a sudden change that the encoder reads as an event."""
    chunk = np.asarray(chunk, np.float32)
    out = np.zeros(segment, np.float32)
    out[: len(chunk)] = chunk
    piece, half = 8 * hop, END_FRAMES * hop
    if len(chunk) < piece or len(chunk) >= segment:
        return out
    tail = chunk[-piece:]
    rise = np.sin(np.linspace(0.0, np.pi / 2, half, dtype=np.float32)) ** 2
    at = len(chunk) - half
    for _ in range(4):
        n = min(piece, segment - at)
        k = min(half, n)
        out[at: at + k] *= 1 - rise[:k]
        out[at: at + k] += tail[:k] * rise[:k]
        out[at + k: at + n] = tail[k:n]
        at += piece - half
        if at >= segment:
            break
    m = min(segment - len(chunk), 3 * (piece - half))
    out[len(chunk): len(chunk) + m] *= np.geomspace(1.0, 1e-3, m, dtype=np.float32)
    out[len(chunk) + m:] = 0.0
    return out


def iter_segments(audio: np.ndarray, segment: int, hop: int, lead: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """(start, segment audio) over half-overlapping segments after ``lead`` samples of silence, the last one
    padded by ``pad_tail``."""
    audio = np.concatenate([np.zeros(lead, np.float32), np.asarray(audio, np.float32)])
    for start in segment_starts(len(audio) - lead, segment, lead):
        chunk = audio[start + lead: start + lead + segment]
        yield start, chunk if len(chunk) == segment else pad_tail(chunk, segment, hop)


def stream_segments(blocks: Iterable[np.ndarray], segment: int, hop: int, lead: int = 0) -> Iterator[Segment]:
    """The segments of ``segment_starts`` over a stream of mono blocks of any sizes, holding at most one
    segment plus one block in memory. A segment is yielded once the stream shows whether it is the last."""
    half = segment // 2
    buf = np.zeros(lead, np.float32)
    buf_start = start = -lead
    total = index = 0
    for block in blocks:
        buf = np.concatenate([buf, np.asarray(block, np.float32).reshape(-1)])
        total += len(block)
        while total >= start + segment + 1:  # more audio follows this segment: it is not the last
            yield Segment(index, start, buf[start - buf_start: start - buf_start + segment].copy(), False, segment)
            index, start = index + 1, start + half
            buf, buf_start = buf[start - buf_start:], start
    chunk = buf[start - buf_start: start - buf_start + segment]
    yield Segment(index, start, chunk.copy() if len(chunk) == segment else pad_tail(chunk, segment, hop), True,
                  max(total - start, 0))


def codec_segments(codec: Codec, blocks: Iterable[np.ndarray]) -> Iterator[Segment]:
    """The segments a codec encodes of a stream of blocks: after the lead of silence, the last one padded."""
    return stream_segments(blocks, codec.segment, codec.hop, LEAD_FRAMES * codec.hop)


def encode_segments(codec: Codec, segments: Iterable[Segment], peak: float, batch: int = 8,
                    progress: Callable[[int], object] | None = None) -> tuple[np.ndarray, list[Event], int]:
    """Encode segments (as read; ``peak`` is the file's peak) into per-segment contexts, merged events and the
    audio length. Each segment is normalised by its own peak, as the training examples are (a quiet passage
    scaled by the file's peak looks to the encoder like nothing it was trained on), but boosted by at most
    ``MAX_SEGMENT_GAIN`` over the file's peak, so a fading tail does not become loud noise. Event amplitudes are
    scaled back to the file's level. Segments overlap by half; each keeps only the events in its middle half
    (the first from its start, the last to its end), so seams neither double events nor invent onsets."""
    silent = peak < SILENT_PEAK
    contexts: list[np.ndarray] = []
    events: list[Event] = []
    length = 0
    pending: list[Segment] = []

    def flush() -> None:
        peaks = [np.abs(sg.audio).max(initial=0.0) for sg in pending]
        gains = [0.0 if silent else 1.0 / max(p, peak / MAX_SEGMENT_GAIN) for p in peaks]
        out = codec.encode(np.stack([sg.audio * np.float32(g) for sg, g in zip(pending, gains, strict=True)]))
        for j, sg in enumerate(pending):
            contexts.append(out["context"][j])
            if silent or peaks[j] < QUIET_SEGMENT * peak:
                continue
            seg, hop = codec.segment, codec.hop
            lo = 0 if sg.index == 0 else seg // 4
            hi = seg if sg.last else 3 * seg // 4
            valid = sg.valid - END_FRAMES * hop if sg.last else sg.valid
            slots = zip(out["mask"][j], out["frames"][j], out["amplitudes"][j], out["vectors"][j], strict=True)
            for m, f, a, v in slots:
                t = int(f) * hop
                if m > 0 and a > 1e-3 and lo <= t < hi and t < valid:
                    events.append(Event(max(sg.start + t, 0) / codec.sample_rate, sg.index, int(f),
                                        float(a) / gains[j], np.asarray(v, np.float32)))
        if progress is not None:
            progress(len(pending))
        pending.clear()

    for sg in segments:
        length = max(sg.start + sg.valid, 0)
        pending.append(sg)
        if len(pending) == batch:
            flush()
    if pending:
        flush()
    events.sort(key=lambda e: e.time)
    return np.array(contexts, np.float32).reshape(len(contexts), -1), events, length


def encode_audio(codec: Codec, audio: np.ndarray, batch: int = 8, progress=None) -> Encoding:
    """Encode mono audio at the codec's rate (see ``encode_segments``)."""
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    contexts, events, n = encode_segments(codec, codec_segments(codec, [audio]), peak, batch, progress)
    return Encoding(codec.sample_rate, n / codec.sample_rate, contexts, events)


def apply_room(dry: np.ndarray, ir: np.ndarray, wet: float) -> np.ndarray:
    """(1 - wet) * dry + wet * (dry conv ir), truncated to the dry length (``engine.room.convolve``)."""
    return convolve(dry, ir, wet)
