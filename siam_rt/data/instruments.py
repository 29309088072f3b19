"""The acoustic GM programs and rooms the corpus is rendered with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    """A GM program (0-based) of an acoustic family, with the MIDI range it plays well."""

    program: int
    name: str
    family: str
    low: int
    high: int


INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument(0, "acoustic grand piano", "keyboards", 21, 108),
    Instrument(6, "harpsichord", "keyboards", 29, 89),
    Instrument(24, "nylon guitar", "plucked", 40, 84),
    Instrument(46, "harp", "plucked", 24, 103),
    Instrument(40, "violin", "bowed", 55, 100),
    Instrument(42, "cello", "bowed", 36, 76),
    Instrument(48, "string ensemble", "bowed", 28, 96),
    Instrument(73, "flute", "woodwind", 60, 96),
    Instrument(71, "clarinet", "woodwind", 50, 91),
    Instrument(68, "oboe", "woodwind", 58, 91),
    Instrument(70, "bassoon", "woodwind", 34, 75),
    Instrument(56, "trumpet", "brass", 54, 86),
    Instrument(60, "french horn", "brass", 34, 77),
    Instrument(57, "trombone", "brass", 40, 72),
    Instrument(12, "marimba", "mallets", 45, 96),
    Instrument(11, "vibraphone", "mallets", 53, 89),
)


@dataclass(frozen=True)
class Room:
    """FluidSynth reverb settings that stand for one room."""

    name: str
    size: float
    damp: float
    level: float

    def fluidsynth_options(self) -> list[str]:
        if self.level <= 0:
            return ["-o", "synth.reverb.active=0"]
        return ["-o", "synth.reverb.active=1", "-o", f"synth.reverb.room-size={self.size}",
                "-o", f"synth.reverb.damp={self.damp}", "-o", f"synth.reverb.level={self.level}",
                "-o", "synth.reverb.width=1.0"]


ROOMS: tuple[Room, ...] = (
    Room("dry", 0.0, 0.0, 0.0),
    Room("studio", 0.3, 0.4, 0.35),
    Room("chamber", 0.6, 0.3, 0.6),
    Room("hall", 0.9, 0.2, 0.9),
)

VELOCITIES: tuple[int, ...] = (32, 64, 96, 127)


def instrument(program: int) -> Instrument:
    """The instrument entry of a GM program."""
    for inst in INSTRUMENTS:
        if inst.program == program:
            return inst
    raise KeyError(program)
