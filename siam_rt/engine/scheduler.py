"""Timestamped MIDI in: any thread appends, the engine takes what falls inside each block, in time order.

The inbox is a deque (append and popleft are atomic in CPython, so a MIDI thread never waits on the audio
thread); the engine moves it into a heap ordered by (sample time, arrival), so that events that arrive out of
order still play at their own sample, and events at one sample keep their order.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator

from siam_rt.engine.midi import Raw, parse_message  # noqa: F401  (re-exported)


class Scheduler:
    """Events keyed by absolute sample time at the engine's mix rate."""

    def __init__(self) -> None:
        self._inbox: deque[tuple[int, Raw]] = deque()
        self._heap: list[tuple[int, int, Raw]] = []
        self._seq = 0

    def push(self, t: int, raw: Raw) -> None:
        """Add an event for sample ``t`` (any thread)."""
        self._inbox.append((t, raw))

    def __len__(self) -> int:
        return len(self._inbox) + len(self._heap)

    def due(self, until: int) -> Iterator[tuple[int, Raw]]:
        """Events before sample ``until``, earliest first (the audio thread)."""
        inbox, heap = self._inbox, self._heap
        while inbox:
            t, raw = inbox.popleft()
            heapq.heappush(heap, (t, self._seq, raw))
            self._seq += 1
        while heap and heap[0][0] < until:
            t, _, raw = heapq.heappop(heap)
            yield t, raw

    def clear(self) -> None:
        self._inbox.clear()
        self._heap.clear()
