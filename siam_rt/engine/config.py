"""Engine settings, documented like FluidSynth's: type, default, range, and whether it may change live.

Live settings may be assigned on ``engine.config`` while it plays; the others are read once.

- ``sample_rate`` (int, 48000, 8000-192000, fixed): the rate ``process`` returns (the device's rate).
- ``mix_rate`` (int, "model" or None; None; fixed): where voices are mixed and the rooms run. None: the device
  rate (lowest latency). "model": the model's rate, the bus resampled once with soxr: about twice as fast,
  with ~35 ms of resampler latency; the offline render's choice (``offline_config``).
- ``block`` (int, 256, 16-65536, fixed): the engine's quantum at the mix rate, and the rooms' partition size.
- ``polyphony`` (int, 64, 1-1024, fixed): sounding voices at most; a note beyond steals the quietest voice
  (released voices first).
- ``bend_range`` (float, 2.0, 0-48, fixed; RPN 0 changes it per channel): pitch-bend range in semitones.
- ``transpose`` (int, 0, -48..48, live): semitones added to every new note (not on the drum channel).
- ``a4_hz`` (float, 440.0, 220-880, live): master tuning, applied as a playback rate.
- ``channels`` (set of 0-based channels or None, None, live): the MIDI channels listened to; None: all.
- ``master_gain_db`` (float, 12.0, -60..24, live): output gain; decoded events are unit-norm (L2), so one
  note is quiet without it.
- ``humanize`` (float, 0.0, 0-2, fixed): spread of per-note vectors around the note map's centre; 0: off.
- ``humanize_variants`` (int, 4, 1-64, fixed): humanized variants decoded per (pitch, layer).
- ``seed`` (int, 0, fixed): seed of every random choice, so renders repeat exactly.
- ``soft_gain_db`` (float, -6.0, -24..0, live): soft pedal (CC67): gain of new notes, one layer lower too.
- ``pressure_gain_db`` (float, 6.0, 0-12, fixed): channel pressure swells a channel by up to this much.
- ``room`` (bool, True, live): apply each preset's room.
- ``pipeline`` (bool, False, fixed; offline only): run each block's rooms on a second thread while the next block
  is mixed (the same samples, sooner on two cores); ``offline_config`` turns it on.
"""

from __future__ import annotations

from dataclasses import dataclass

from siam_rt.errors import SiamError


@dataclass
class EngineConfig:
    """The engine's settings (see the module docstring for ranges)."""

    sample_rate: int = 48000
    mix_rate: int | str | None = None
    block: int = 256
    polyphony: int = 64
    bend_range: float = 2.0
    transpose: int = 0
    a4_hz: float = 440.0
    channels: frozenset[int] | None = None
    master_gain_db: float = 12.0
    humanize: float = 0.0
    humanize_variants: int = 4
    seed: int = 0
    soft_gain_db: float = -6.0
    pressure_gain_db: float = 6.0
    room: bool = True
    pipeline: bool = False

    def validate(self) -> EngineConfig:
        """Raise SiamError naming the first setting out of range; return self."""
        checks = [
            ("sample_rate", 8000 <= self.sample_rate <= 192000),
            ("mix_rate", self.mix_rate in (None, "model") or (isinstance(self.mix_rate, int)
                                                               and 8000 <= self.mix_rate <= 192000)),
            ("block", 16 <= self.block <= 65536),
            ("polyphony", 1 <= self.polyphony <= 1024),
            ("bend_range", 0 <= self.bend_range <= 48),
            ("transpose", -48 <= self.transpose <= 48),
            ("a4_hz", 220 <= self.a4_hz <= 880),
            ("channels", self.channels is None or all(0 <= c <= 15 for c in self.channels)),
            ("master_gain_db", -60 <= self.master_gain_db <= 24),
            ("humanize", 0 <= self.humanize <= 2),
            ("humanize_variants", 1 <= self.humanize_variants <= 64),
            ("soft_gain_db", -24 <= self.soft_gain_db <= 0),
            ("pressure_gain_db", 0 <= self.pressure_gain_db <= 12),
        ]
        for name, ok in checks:
            if not ok:
                raise SiamError(f"engine setting {name}={getattr(self, name)!r} is out of range "
                                "(see siam_rt.engine.config)")
        return self

    def internal_rate(self, model_rate: int) -> int:
        """The rate voices are mixed at."""
        if self.mix_rate == "model":
            return model_rate
        return int(self.mix_rate or self.sample_rate)


def offline_config(sample_rate: int, **settings: object) -> EngineConfig:
    """Settings for rendering to a file: mixed at the model's rate in blocks of 8192, resampled once, with the
    rooms pipelined on a second thread."""
    base: dict[str, object] = {"sample_rate": sample_rate, "mix_rate": "model", "block": 8192, "pipeline": True}
    return EngineConfig(**{**base, **settings})  # type: ignore[arg-type]
