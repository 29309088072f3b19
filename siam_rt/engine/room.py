"""A preset's room: streaming, uniformly partitioned FFT convolution with constant work per block."""

from __future__ import annotations

import numpy as np


class Room:
    """Convolves a stream of blocks of ``block`` samples with ``ir``; ``wet`` is the preset's wet level (0..1).

    Overlap-save with a frequency-domain delay line: each block costs one FFT of 2*block, one multiply-add
    over the IR's partitions and one inverse FFT, whatever the input. The delay line is stored twice over so
    that the partitions of the current block are always one contiguous slice (no copy, no roll).
    """

    def __init__(self, ir: np.ndarray, wet: float, block: int) -> None:
        ir = np.asarray(ir, np.float32)
        self.block = block
        self.wet = float(wet)
        self.parts = max(1, -(-len(ir) // block))
        padded = np.zeros(self.parts * block, np.float32)
        padded[: len(ir)] = ir
        bins = block + 1
        self.spectra = np.fft.rfft(padded.reshape(self.parts, block), 2 * block, axis=1).astype(np.complex64)
        self._fdl = np.zeros((2 * self.parts, bins), np.complex64)
        self._prod = np.zeros((self.parts, bins), np.complex64)
        self._acc = np.zeros(bins, np.complex64)
        self._frame = np.zeros(2 * block, np.float32)
        self._head = 0
        self._silent_blocks = self.parts + 1  # nothing to ring out yet
        self._fading = 0  # blocks left of an all-sound-off: the first fades, the rest are silent

    @property
    def ringing(self) -> bool:
        """True while the last input can still be heard."""
        return self._silent_blocks <= self.parts

    def reset(self) -> None:
        """Silence the room at once (after a non-finite sample)."""
        self._fdl[:] = 0
        self._frame[:] = 0
        self._silent_blocks = self.parts + 1
        self._fading = 0

    def fade_out(self, mute: int = 0) -> None:
        """All-sound-off: fade the room out over its next block, then keep it silent (input dropped) for ``mute``
        more samples (the voices' own fades)."""
        self._fading = 1 + -(-mute // self.block)

    def process(self, x: np.ndarray | None) -> np.ndarray | None:
        """The wet signal of one block (``x`` of ``block`` samples, or None for silence); None when silent."""
        if self._fading and not self.ringing:
            self._fading -= 1
            return None
        if x is None:
            if not self.ringing:
                return None
            self._silent_blocks += 1
            x_block = None
        else:
            self._silent_blocks = 0
            x_block = x
        b = self.block
        self._frame[:b] = self._frame[b:]
        if x_block is None:
            self._frame[b:] = 0
        else:
            self._frame[b:] = x_block
        spec = np.fft.rfft(self._frame)
        self._head = (self._head - 1) % self.parts
        h = self._head
        self._fdl[h] = spec
        self._fdl[h + self.parts] = spec
        np.multiply(self._fdl[h: h + self.parts], self.spectra, out=self._prod)
        self._prod.sum(axis=0, out=self._acc)
        out = np.fft.irfft(self._acc, 2 * b)[b:].astype(np.float32, copy=False)
        if self._fading:
            out *= np.linspace(1.0, 0.0, b, dtype=np.float32)
            remaining = self._fading - 1
            self.reset()
            self._fading = remaining
        return out


class WetDry:
    """``(1 - wet) * dry + wet * (dry conv ir)`` over consecutive blocks of up to ``block`` samples (the last may
    be shorter): a ``Room`` with the dry signal mixed in. The one room convention of resynthesis, the reports and
    the engine (whose channels mix dry and wet the same way, then pan)."""

    def __init__(self, ir: np.ndarray, wet: float, block: int) -> None:
        self.room = Room(ir, wet, block)
        self.wet = float(wet)
        self._in = np.zeros(block, np.float32)

    def process(self, dry: np.ndarray) -> np.ndarray:
        n, b = len(dry), self.room.block
        if n > b:
            raise ValueError(f"a block of {n} samples is longer than the room's {b}")
        self._in[:n] = dry
        self._in[n:] = 0.0
        wet = self.room.process(self._in)
        out = (1 - self.wet) * np.asarray(dry, np.float32)
        if wet is not None:
            out += self.wet * wet[:n]
        return out.astype(np.float32, copy=False)


def convolve(dry: np.ndarray, ir: np.ndarray, wet: float, whole: bool = False, block: int = 4096) -> np.ndarray:
    """``(1 - wet) * dry + wet * (dry conv ir)`` of a whole signal, streamed through ``WetDry``: as long as
    ``dry``, or with ``whole`` its room's tail too (``len(dry) + len(ir) - 1`` samples)."""
    n = len(dry) + (len(ir) - 1 if whole else 0)
    padded = np.zeros(-(-max(n, 1) // block) * block, np.float32)
    padded[: len(dry)] = dry
    stream = WetDry(ir, wet, block)
    out = np.concatenate([stream.process(padded[i: i + block]) for i in range(0, len(padded), block)])
    return out[:n]


def synthetic_ir(rt60_s: float, rate: int, seed: int = 7, max_s: float = 2.0) -> np.ndarray:
    """A generated room response of unit energy: white noise decaying by 60 dB over ``rt60_s``, a little darker
    than white (a 3-tap average), with a 4 ms pre-delay; at most ``max_s`` long. Deterministic for a seed."""
    length = max(int(min(max_s, 1.2 * max(rt60_s, 0.05)) * rate), 16)
    t = np.arange(length) / rate
    noise = np.random.default_rng(seed).standard_normal(length)
    noise = np.convolve(noise, [0.25, 0.5, 0.25], mode="same")
    ir = np.zeros(length)
    pre = int(0.004 * rate)
    ir[pre:] = (noise * np.exp(-6.9 * t / max(rt60_s, 1e-3)))[: length - pre]
    return (ir / np.linalg.norm(ir)).astype(np.float32)
