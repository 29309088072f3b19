"""The 16 MIDI channels: each one's preset and controller state, and its gain, pan and rate over a block.

Controllers, as a musician would expect them:

- CC7 volume and CC11 expression: gain (v/127)^2 each (GM's 40 log10 curve); CC10 pan: constant power.
- CC64 sustain, CC66 sostenuto (holds the notes that were down when it was pressed), CC67 soft pedal (new notes
  one velocity layer lower, and ``soft_gain_db`` quieter).
- Pitch bend: +/- ``bend_range`` semitones (default 2; RPN 0 sets it per channel), played as a playback rate.
- Channel pressure: swells the channel by up to ``pressure_gain_db`` (like expression, upward).
- CC1 mod wheel: moves new notes' event vectors from their velocity layer toward the next
  layer up (a brighter, more excited sound), decoded live off the audio thread.
- CC120 all sound off (voices cut in 2 ms, the channel's room faded out over one block), CC121 reset
  controllers, CC123 all notes off (releases every note, pedal-held ones too, then fades the channel's room once the
  releases are over, unless a new note comes first; CC124-127 do the same, as the
  MIDI spec asks).

A change inside a block takes effect at its sample: gain and pan ramp over RAMP samples from there (no zipper
noise), the rate steps there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from siam_rt.engine.cache import PresetCache
from siam_rt.timbre.bank import DRUM_CHANNEL, Bank
from siam_rt.timbre.preset import Preset

RAMP = 64  # samples over which a gain or pan change glides


def channel_preset(bank: Bank, channel: int, preset: str | None, preset_map: dict[int, str],
                   program: int | None) -> tuple[Preset | None, bool]:
    """What ``channel`` (0-based) plays under ``bank``, and whether it is pinned (program changes ignored).

    The one preset rule: a channel of ``preset_map`` plays its preset; the drum channel plays the bank's drums
    (None: muted); any other plays its last ``program`` change, else ``preset``, else the bank's default."""
    if channel in preset_map:
        return bank.get(preset_map[channel]), True
    if channel == DRUM_CHANNEL:
        return (bank.get(bank.drums) if bank.drums is not None else None), True
    if program is not None:
        return bank.for_program(program), False
    return (bank.get(preset) if preset else bank.default_preset), False


@dataclass
class Channel:
    """One MIDI channel's state."""

    index: int
    preset: Preset | None = None
    cache: PresetCache | None = None
    pending: Preset | None = None  # a program change waiting for its cache (live only)
    fixed: bool = False  # preset pinned (--preset-map, drum channel): program changes are ignored
    program: int = 0
    volume: int = 100
    expression: int = 127
    pan: int = 64
    pressure: int = 0
    mod: int = 0
    bend: int = 0  # -8192..8191
    bend_range: float = 2.0
    sustain: bool = False
    sostenuto: bool = False
    soft: bool = False
    rpn: tuple[int, int] = (127, 127)
    pressure_gain_db: float = 6.0
    gain_points: list[tuple[int, float]] = field(default_factory=list)
    pan_points: list[tuple[int, float]] = field(default_factory=list)
    rate_points: list[tuple[int, float]] = field(default_factory=list)
    gain_now: float = 0.0
    pan_now: float = 0.0
    bend_rate_now: float = 1.0

    def __post_init__(self) -> None:
        self.gain_now = self.target_gain()
        self.pan_now = self.target_pan()

    @property
    def muted(self) -> bool:
        return self.cache is None and self.pending is None and self.preset is None

    def target_gain(self) -> float:
        swell = 10 ** (self.pressure_gain_db * self.pressure / 127 / 20)
        return (self.volume / 127) ** 2 * (self.expression / 127) ** 2 * swell

    def target_pan(self) -> float:
        """Pan angle 0 (left) .. pi/2 (right); 64 is the centre."""
        x = min(max((self.pan - 64) / 63, -1.0), 1.0)
        return (x + 1) * math.pi / 4

    def bend_rate(self) -> float:
        return 2 ** (self.bend / 8192 * self.bend_range / 12)

    # -- changes at an offset inside the current block ---------------------------------------------------------

    def gain_changed(self, offset: int) -> None:
        self.gain_points.append((offset, self.target_gain()))

    def pan_changed(self, offset: int) -> None:
        self.pan_points.append((offset, self.target_pan()))

    def bend_changed(self, offset: int) -> None:
        self.rate_points.append((offset, self.bend_rate()))

    def reset_controllers(self) -> None:
        """CC121 (RP-015): modulation, bend, expression, pressure, pedals and RPN; volume and pan stay."""
        self.mod, self.bend, self.expression, self.pressure = 0, 0, 127, 0
        self.sustain = self.sostenuto = self.soft = False
        self.rpn = (127, 127)

    # -- curves over one block -----------------------------------------------------------------------------

    def gain_curve(self, n: int) -> float | np.ndarray:
        value, self.gain_now, self.gain_points = _glide(self.gain_now, self.gain_points, n)
        return value

    def pan_curves(self, n: int) -> tuple[float | np.ndarray, float | np.ndarray]:
        angle, self.pan_now, self.pan_points = _glide(self.pan_now, self.pan_points, n)
        if isinstance(angle, float):
            return math.cos(angle), math.sin(angle)
        return np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)

    def rate_curve(self, n: int, tuning: float) -> float | np.ndarray:
        """Playback rate over the block: master tuning times the bend, stepping at each bend message."""
        if not self.rate_points:
            return tuning * self.bend_rate_now
        arr = np.full(n, self.bend_rate_now, np.float64)
        for offset, rate in self.rate_points:
            arr[offset:] = rate
        self.bend_rate_now = self.rate_points[-1][1]
        self.rate_points.clear()
        return arr * tuning


def _glide(now: float, points: list[tuple[int, float]],
           n: int) -> tuple[float | np.ndarray, float, list[tuple[int, float]]]:
    """A value over n samples from ``now`` through ramps of RAMP samples to each point; its value at the end of
    the block, and what is left for the next block (a ramp that runs past the end continues there)."""
    if not points:
        return now, now, []
    xs, ys = [0.0], [now]
    value = now
    for offset, target in points:
        xs += [float(offset), float(offset + RAMP)]
        ys += [value, target]
        value = target
    curve = np.interp(np.arange(n, dtype=np.float64), np.maximum.accumulate(xs), ys).astype(np.float32)
    if xs[-1] > n:  # the last ramp runs into the next block: continue it from where it got
        return curve, float(curve[-1]), [(0, value)]
    return curve, value, []
