"""Engine settings, declared once, like FluidSynth's: each field of ``EngineConfig`` carries its type, default,
range, whether it may change live, its help and (for the ones a user sets) its command-line flag. From that one
declaration come ``EngineConfig.validate``, the settings table (``settings_table``, also EngineConfig's docstring)
and the engine options of `play`, `render` and `note` (``siam_rt.cli.common.add_engine_options``).

Live settings may be assigned on ``engine.config`` while it plays; the others are read once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from siam_rt.errors import SiamError


def setting(default: Any, help: str, lo: float | None = None, hi: float | None = None, live: bool = False,
            flag: str | None = None, metavar: str | None = None) -> Any:
    """A dataclass field with the setting's description in its metadata."""
    return field(default=default, metadata={"help": help, "lo": lo, "hi": hi, "live": live, "flag": flag,
                                            "metavar": metavar})


@dataclass
class EngineConfig:
    sample_rate: int = setting(48000, "the rate process() returns (the device's rate)", 8000, 192000)
    mix_rate: int | str | None = setting(
        None, "where voices are mixed and the rooms run: None, the device rate (lowest latency); 'model', the "
        "model's rate with the bus resampled once by soxr (about twice as fast, ~35 ms of resampler latency; the "
        "offline render's choice); or a rate in Hz")
    block: int = setting(256, "the engine's quantum at the mix rate, and the rooms' partition size", 16, 65536)
    polyphony: int = setting(64, "sounding voices at most; a note beyond steals the quietest voice (released "
                             "voices first)", 1, 1024, flag="--polyphony")
    bend_range: float = setting(2.0, "pitch-bend range in semitones (RPN 0 changes it per channel)", 0, 48)
    transpose: int = setting(0, "semitones added to every new note (not on the drum channel)", -48, 48, live=True,
                             flag="--transpose")
    a4_hz: float = setting(440.0, "master tuning (A4), applied as a playback rate", 220, 880, live=True,
                           flag="--tuning", metavar="HZ")
    channels: frozenset[int] | None = setting(None, "the MIDI channels listened to (0-based); None: all",
                                              live=True, flag="--channels", metavar="LIST")
    master_gain_db: float = setting(12.0, "output gain in dB; decoded events are unit-norm (L2), so one note is "
                                    "quiet without it", -60, 24, live=True, flag="--gain-db")
    humanize: float = setting(0.0, "spread of per-note vectors around the note map's centre; 0: off", 0, 2,
                              flag="--humanize", metavar="AMOUNT")
    humanize_variants: int = setting(4, "humanized variants decoded per (pitch, layer)", 1, 64)
    seed: int = setting(0, "seed of every random choice, so renders repeat exactly", flag="--seed")
    soft_gain_db: float = setting(-6.0, "soft pedal (CC67): gain of new notes, one layer lower too", -24, 0,
                                  live=True)
    pressure_gain_db: float = setting(6.0, "channel pressure swells a channel by up to this much", 0, 12)
    room: bool = setting(True, "apply each preset's room", live=True, flag="--no-room")
    pipeline: bool = setting(False, "offline only: run each block's rooms on a second thread while the next block "
                             "is mixed (the same samples, sooner on two cores); offline_config turns it on")

    def validate(self) -> EngineConfig:
        """Raise SiamError naming the first setting out of range; return self."""
        for f in fields(self):
            value, lo, hi = getattr(self, f.name), f.metadata["lo"], f.metadata["hi"]
            ok = (lo is None or value >= lo) and (hi is None or value <= hi)
            if f.name == "mix_rate":
                ok = value in (None, "model") or (isinstance(value, int) and 8000 <= value <= 192000)
            elif f.name == "channels":
                ok = value is None or all(0 <= c <= 15 for c in value)
            if not ok:
                raise SiamError(f"engine setting {f.name}={value!r} is out of range (see siam_rt.engine.config)")
        return self

    def internal_rate(self, model_rate: int) -> int:
        """The rate voices are mixed at."""
        if self.mix_rate == "model":
            return model_rate
        return int(self.mix_rate or self.sample_rate)


def settings_table() -> str:
    """Every setting as one line: name (type, default, range, live or fixed): help; and its flag."""
    lines = []
    for f in fields(EngineConfig):
        m = f.metadata
        rng = "" if m["lo"] is None else f", {m['lo']:g}..{m['hi']:g}"
        flag = f"; `{m['flag']}`" if m["flag"] else ""
        lines.append(f"- ``{f.name}`` ({f.type}, {f.default!r}{rng}, {'live' if m['live'] else 'fixed'}): "
                     f"{m['help']}{flag}")
    return "\n".join(lines)


EngineConfig.__doc__ = "The engine's settings:\n\n" + settings_table()


def offline_config(sample_rate: int, **settings: object) -> EngineConfig:
    """Settings for rendering to a file: mixed at the model's rate in blocks of 8192, resampled once, with the
    rooms pipelined on a second thread."""
    base: dict[str, object] = {"sample_rate": sample_rate, "mix_rate": "model", "block": 8192, "pipeline": True}
    return EngineConfig(**{**base, **settings})  # type: ignore[arg-type]
