"""Resynthesis as a stream: events decoded in batches, added into a block accumulator, the room applied on the
bus by the engine's streaming convolution (``engine.room.WetDry``), and the output handed on block by block.
Memory is bounded by the block and event lengths, not by the output's length. No torch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from siam_rt.analysis.codec import Codec
from siam_rt.engine.room import WetDry

#: Output samples per block (about 3 s at 22050 Hz).
BLOCK = 1 << 16


@dataclass
class Score:
    """What one resynthesis plays: each event's time (s), amplitude, vector and context (an index into
    ``contexts``); the context of the room (None: dry) and an optional wet level in place of the model's."""

    times: np.ndarray  # [E]
    amplitudes: np.ndarray  # [E]
    vectors: np.ndarray  # [E, D]
    context_index: np.ndarray  # [E] int
    contexts: np.ndarray  # [M, C]
    room_context: np.ndarray | None
    length: int  # output samples
    wet: float | None = None

    def __len__(self) -> int:
        return len(self.times)


def render_blocks(codec: Codec, score: Score, block: int = BLOCK, batch: int = 32,
                  on_event: Callable[[int, np.ndarray], object] | None = None,
                  progress: Callable[[int], object] | None = None) -> Iterator[np.ndarray]:
    """The score's audio at the codec's rate, in consecutive blocks of ``block`` samples (the last shorter).

    Events are decoded just before the block where they start; events that share a context are decoded
    together. ``on_event(i, audio)`` sees each event's unit-norm audio (dry, before its amplitude);
    ``progress(n)`` counts decoded events.
    """
    sr, ev_len = codec.sample_rate, codec.event_len
    starts = np.round(np.asarray(score.times, np.float64) * sr).astype(np.int64)
    order = np.argsort(starts, kind="stable")
    acc = np.zeros(block + ev_len, np.float32)
    room = None
    if score.room_context is not None:
        ir, wet = codec.room(score.room_context.astype(np.float32))
        room = WetDry(ir, wet if score.wet is None else score.wet, block)
    pos, nxt = 0, 0
    while pos < score.length:
        end = min(pos + block, score.length)
        first = nxt
        while nxt < len(order) and starts[order[nxt]] < end:
            nxt += 1
        todo = order[first:nxt]
        for ci in np.unique(score.context_index[todo]):
            group = todo[score.context_index[todo] == ci]
            for g in range(0, len(group), batch):
                idx = group[g: g + batch]
                audio = codec.decode(score.vectors[idx].astype(np.float32), score.contexts[ci].astype(np.float32))
                for i, ev in zip(idx, audio, strict=True):
                    if on_event is not None:
                        on_event(int(i), ev)
                    off = max(int(starts[i]) - pos, 0)
                    seg = ev[: len(acc) - off]
                    acc[off: off + len(seg)] += np.float32(score.amplitudes[i]) * seg
                if progress is not None:
                    progress(len(idx))
        n = end - pos
        out = acc[:n].copy()
        acc[:-n] = acc[n:]
        acc[-n:] = 0.0
        yield out if room is None else room.process(out)
        pos = end
