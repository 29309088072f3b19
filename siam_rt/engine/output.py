"""Output framing: device-rate blocks of any size from the engine's fixed mix-rate quanta.

A quantum is made in two stages, ``mix()`` (events, voices, channels) and ``finish(*mixed)`` (rooms, master).
``Output.pull(frames)`` returns a quantum as it is when the sizes and rates agree (the live common case), and
otherwise runs quanta through a soxr stream resampler into a FIFO. Offline, ``pipeline`` runs the finishing
stage and the resampling of quantum k on a second thread while quantum k + 1 is mixed: the same samples, sooner
on two cores.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np


class Output:
    """The FIFO, the resampler and the offline pipeline between the mix and the device."""

    def __init__(self, block: int, mix_rate: int, rate: int, pipeline: bool, mix: Callable[[], tuple],
                 finish: Callable[..., np.ndarray]) -> None:
        self.block, self.mix_rate, self.rate = block, mix_rate, rate
        self._mix, self._finish = mix, finish
        self._executor: Any = None
        self._in_flight: Any = None
        if pipeline:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="siam-rt-rooms")
        self._fifo = np.zeros((4 * block * max(1, -(-rate // mix_rate)) + 8192, 2), np.float32)
        self._head = self._fill = 0  # the buffered samples are _fifo[_head:_fill]
        self._resampler = self._new_resampler()

    def _new_resampler(self) -> Any:
        if self.mix_rate == self.rate:
            return None
        import soxr

        return soxr.ResampleStream(self.mix_rate, self.rate, 2, dtype="float32", quality="HQ")

    def pull(self, frames: int) -> np.ndarray:
        """The next ``frames`` samples at the device rate, [frames, 2]: bounded work (quanta, at most the
        resampler's and the FIFO's share of one block more)."""
        if self._fill == self._head and self._resampler is None and frames == self.block:
            return self._finish(*self._mix())  # the common case: no FIFO
        while self._fill - self._head < frames:
            self._push(self._pipelined() if self._executor is not None else self._resampled(*self._mix()))
        out = self._fifo[self._head: self._head + frames].copy()
        self._head += frames
        return out

    def _resampled(self, *mixed: Any) -> np.ndarray:
        """A quantum's finishing stage, resampled to the device rate (soxr releases the GIL: on the pipeline's
        thread it runs beside the next quantum's mix)."""
        block = self._finish(*mixed)
        return block if self._resampler is None else self._resampler.resample_chunk(block)

    def _pipelined(self) -> np.ndarray:
        if self._in_flight is None:
            self._in_flight = self._executor.submit(self._resampled, *self._mix())
        following = self._mix()
        block = self._in_flight.result()
        self._in_flight = self._executor.submit(self._resampled, *following)
        return block

    def _push(self, block: np.ndarray) -> None:
        n = len(block)
        if self._fill + n > len(self._fifo):  # move what is buffered to the front (grown if it must be)
            kept = self._fill - self._head
            if kept + n > len(self._fifo):
                grown = np.zeros((2 * (kept + n), 2), np.float32)
                grown[:kept] = self._fifo[self._head: self._fill]
                self._fifo = grown
            else:
                self._fifo[:kept] = self._fifo[self._head: self._fill]
            self._head, self._fill = 0, kept
        self._fifo[self._fill: self._fill + n] = block
        self._fill += n

    def drain(self) -> None:
        """Wait for the quantum in flight (before anything else touches the rooms) and drop it."""
        if self._in_flight is not None:
            self._in_flight.result()
            self._in_flight = None

    def reset(self) -> None:
        """Empty: no quantum in flight, nothing buffered, a fresh resampler."""
        self.drain()
        self._head = self._fill = 0
        self._resampler = self._new_resampler()

    def close(self) -> None:
        """Stop the pipeline's thread."""
        self.drain()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def guard(out: np.ndarray) -> int:
    """Replace any NaN or infinity in ``out`` with 0, in place; returns how many there were."""
    if math.isfinite(float(out.sum())):  # any NaN or infinity makes the sum non-finite
        return 0
    bad = ~np.isfinite(out)
    count = int(bad.sum())  # 0 when only a huge sum overflowed
    out[bad] = 0.0
    return count
