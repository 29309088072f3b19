"""Offline rendering: the live engine's own code on a sample clock, from a list of timed MIDI messages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from siam_rt.engine.engine import Engine


def blocks(engine: Engine, events: Iterable[tuple[float, Any]], duration: float, block: int = 8192,
           progress: Callable[[int, int], None] | None = None) -> Iterator[np.ndarray]:
    """Render ``events`` ((seconds from now, message) pairs) for ``duration`` seconds, block by block: float32
    [<= block, 2] each, so that a long render can be written as it goes, in bounded memory.

    Every message is scheduled before the first block, so each plays at its own sample; ``progress(done,
    total)`` is called after each block (frames)."""
    start = engine.time
    for seconds, message in events:
        engine.schedule(message, start + seconds * engine.rate)
    total = int(round(duration * engine.rate))
    done = 0
    while done < total:
        n = min(block, total - done)
        yield engine.process(n)
        done += n
        if progress is not None:
            progress(done, total)


def render(engine: Engine, events: Iterable[tuple[float, Any]], duration: float, block: int = 8192,
           progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """``blocks`` gathered into one signal: float32 [frames, 2]."""
    out = np.empty((int(round(duration * engine.rate)), 2), np.float32)
    done = 0
    for part in blocks(engine, events, duration, block, progress):
        out[done: done + len(part)] = part
        done += len(part)
    return out
