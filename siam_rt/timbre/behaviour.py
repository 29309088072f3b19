"""How a preset's instrument behaves when a key is held and let go, and how its room rings: measured, not named.

Per register (C2..C6) a preset stores the level of a held note after its peak at fixed times (so a struck string
decays and a bowed one sustains, each as its source does), how fast it keeps falling after the last of them, and
how long note-off takes to silence it. It also stores its room: the decay time and wet level of a generated room
response fitted to the tail of a staccato note in the source's room. Shipped presets measure these on their
FluidSynth source (``measure_fluidsynth``); a preset without a measurable source gets ``DEFAULT``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from siam_rt.errors import SiamError
from siam_rt.notes.measure import REGISTERS, STACCATO, level_db, tail_db

TIMES = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)  # seconds after a held note's peak
FLOOR_DB = -100.0
DECAY_DB = 15.0  # a held note that loses this much within 1.5 s of its peak decays (struck, plucked)
HOP = 256  # the level measure (notes.measure.level_db): RMS of 256-sample frames, smoothed over 4 frames


@dataclass
class Register:
    """A held note at one pitch: ``levels_db`` at ``TIMES`` after its peak (0 at the peak), then ``late_db_s``
    lost per second; note-off fades it by 60 dB over ``release_s``."""

    pitch: int
    levels_db: list[float]
    late_db_s: float
    release_s: float

    @property
    def decays(self) -> bool:
        return float(np.interp(1.5, TIMES, self.levels_db)) <= -DECAY_DB


@dataclass
class RoomSpec:
    """A generated room: exponentially decaying noise with ``rt60_s``, mixed in at ``wet`` (0..1)."""

    rt60_s: float
    wet: float


@dataclass
class Behaviour:
    """What a preset does when held and let go (see the module docstring)."""

    registers: list[Register]
    room: RoomSpec | None = None  # None: the context's own room
    source: str = "default"

    def at(self, pitch: float) -> tuple[np.ndarray, float, float]:
        """(levels_db at TIMES, late dB/s, release s) of a pitch, interpolated between registers."""
        pitches = [r.pitch for r in self.registers]
        levels = np.array([[np.interp(pitch, pitches, [r.levels_db[i] for r in self.registers])
                            for i in range(len(TIMES))]], np.float64)[0]
        late = float(np.interp(pitch, pitches, [r.late_db_s for r in self.registers]))
        release = float(np.interp(pitch, pitches, [r.release_s for r in self.registers]))
        return levels, late, release

    def summary(self) -> str:
        """One line for `preset list`: decays or sustains, by how much, the release and the room."""
        mid = min(self.registers, key=lambda r: abs(r.pitch - 60))
        kind = "decays" if mid.decays else "sustains"
        at15 = float(np.interp(1.5, TIMES, mid.levels_db))
        room = "the context's room" if self.room is None else \
            ("dry" if self.room.wet == 0 else f"room RT60 {self.room.rt60_s:.2f} s, wet {self.room.wet:.2f}")
        return (f"{kind} ({at15:+.0f} dB at 1.5 s, C4), release {mid.release_s:.2f} s, {room}; "
                f"from {self.source}")

    def to_json(self) -> dict:
        return {"source": self.source,
                "registers": [{"pitch": r.pitch, "levels_db": [round(x, 2) for x in r.levels_db],
                               "late_db_s": round(r.late_db_s, 3), "release_s": round(r.release_s, 4)}
                              for r in self.registers],
                "room": None if self.room is None else {"rt60_s": round(self.room.rt60_s, 4),
                                                        "wet": round(self.room.wet, 4)}}

    @classmethod
    def from_json(cls, raw: object, where: str) -> Behaviour:
        """Read and check the JSON form; errors name ``where`` (the file) and the field."""
        def num(value: object, name: str, lo: float, hi: float) -> float:
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
                    or not lo <= value <= hi:
                raise SiamError(f"{where}: field '{name}' must be a number in {lo:g}..{hi:g}")
            return float(value)

        if not isinstance(raw, dict) or not isinstance(raw.get("registers"), list) or not raw["registers"]:
            raise SiamError(f"{where}: field 'behaviour' must be an object with a list of registers")
        regs = []
        for i, r in enumerate(raw["registers"]):
            name = f"behaviour.registers[{i}]"
            if not isinstance(r, dict) or not isinstance(r.get("levels_db"), list) or \
                    len(r["levels_db"]) != len(TIMES):
                raise SiamError(f"{where}: field '{name}.levels_db' must be a list of {len(TIMES)} numbers")
            regs.append(Register(int(num(r.get("pitch"), f"{name}.pitch", 0, 127)),
                                 [num(x, f"{name}.levels_db", FLOOR_DB, 12.0) for x in r["levels_db"]],
                                 num(r.get("late_db_s"), f"{name}.late_db_s", 0.0, 200.0),
                                 num(r.get("release_s"), f"{name}.release_s", 0.005, 10.0)))
        if [r.pitch for r in regs] != sorted({r.pitch for r in regs}):
            raise SiamError(f"{where}: field 'behaviour.registers' must be in rising pitch order")
        room = raw.get("room")
        if room is not None:
            if not isinstance(room, dict):
                raise SiamError(f"{where}: field 'behaviour.room' must be an object or null")
            room = RoomSpec(num(room.get("rt60_s"), "behaviour.room.rt60_s", 0.0, 10.0),
                            num(room.get("wet"), "behaviour.room.wet", 0.0, 1.0))
        source = raw.get("source", "")
        return cls(regs, room, source if isinstance(source, str) else "")


def _default() -> Behaviour:
    """Between a struck and a bowed note: -10 dB 1.5 s after the peak, then 6 dB/s; a 0.3 s release."""
    levels = [0.0, -0.7, -1.7, -3.3, -5.0, -6.7, -10.0, -13.0, -19.0, -25.0]
    return Behaviour([Register(p, list(levels), 6.0, 0.3) for p in REGISTERS], None, "default")


#: What a preset without a measurable source does (a recording with no held note, or an old preset file).
DEFAULT = _default()
HOLD_S, GAP_S, RELEASE_HOLD_S, RELEASE_GAP_S = 4.6, 2.0, 0.5, 2.5


def measure_notes(held: np.ndarray, released: np.ndarray, rate: int) -> list[Register]:
    """Registers from two renders of REGISTERS at velocity 96: ``held`` (each note HOLD_S, then GAP_S) and
    ``released`` (each RELEASE_HOLD_S, then RELEASE_GAP_S); see ``note_plan``."""
    regs = []
    frame_s = HOP / rate
    for i, pitch in enumerate(REGISTERS):
        start = int(i * (HOLD_S + GAP_S) * rate)
        env = level_db(held[start: start + int(HOLD_S * rate)])
        peak = int(np.argmax(env[: int(0.6 / frame_s)]))
        rel = env - env[peak]
        at = [float(np.interp(peak + t / frame_s, np.arange(len(rel)), rel)) for t in TIMES]
        levels = np.minimum.accumulate(np.clip(at, FLOOR_DB, 0.0))  # the engine never re-raises a note
        late = max(0.0, float(levels[-2] - levels[-1]) / (TIMES[-1] - TIMES[-2]))
        if levels[TIMES.index(1.5)] > -DECAY_DB:  # it sustains: its trend, not its bow's or breath's ripple
            t = np.array(TIMES)
            slope, icpt = np.polyfit(t[t >= 0.25], np.clip(at, FLOOR_DB, 0.0)[t >= 0.25], 1)
            levels = np.minimum(0.0, icpt + slope * t)
            levels[0] = 0.0
            late = max(0.0, -float(slope))
        levels = [float(x) for x in levels]
        start = int(i * (RELEASE_HOLD_S + RELEASE_GAP_S) * rate)
        env = level_db(released[start: start + int((RELEASE_HOLD_S + RELEASE_GAP_S) * rate)])
        off = int(RELEASE_HOLD_S / frame_s)
        below = np.flatnonzero(env[off:] < env[off] - 40.0)
        release = 1.5 * below[0] * frame_s if len(below) else 3.0
        regs.append(Register(pitch, levels, late, float(np.clip(release, 0.02, 3.0))))
    return regs


def note_plan() -> tuple[list[tuple[int, int, float, float]], float, list[tuple[int, int, float, float]], float]:
    """The notes of the two renders ``measure_notes`` reads, with their lengths in seconds."""
    held = [(p, 96, i * (HOLD_S + GAP_S), HOLD_S) for i, p in enumerate(REGISTERS)]
    released = [(p, 96, i * (RELEASE_HOLD_S + RELEASE_GAP_S), RELEASE_HOLD_S) for i, p in enumerate(REGISTERS)]
    return held, len(REGISTERS) * (HOLD_S + GAP_S), released, len(REGISTERS) * (RELEASE_HOLD_S + RELEASE_GAP_S)


TAIL_TIMES = (0.5, 1.0)  # after note-off


def staccato_tail_db(audio: np.ndarray, rate: int) -> np.ndarray:
    """The level of the staccato note's tail at TAIL_TIMES after its note-off, relative to its peak."""
    return tail_db(audio, rate, STACCATO[3], TAIL_TIMES, FLOOR_DB)


def fit_room(dry: np.ndarray, wet: np.ndarray, rate: int) -> RoomSpec:
    """The generated room (RT60, wet level) whose tail on ``dry`` (the staccato note without reverb) matches the
    tail of ``wet`` (the same note in the source's room), at TAIL_TIMES after note-off."""
    from siam_rt.engine.room import synthetic_ir

    target = staccato_tail_db(wet, rate)
    if np.all(target <= staccato_tail_db(dry, rate) + 1.0):
        return RoomSpec(0.0, 0.0)  # no audible room: a dry preset
    best = (math.inf, RoomSpec(0.0, 0.0))
    n = len(dry)
    size = 1 << (2 * n).bit_length()
    spec = np.fft.rfft(dry, size)
    for rt60 in np.geomspace(0.1, 4.0, 40):
        ir = synthetic_ir(float(rt60), rate)
        rev = np.fft.irfft(spec * np.fft.rfft(ir, size), size)[:n]
        for mix in np.linspace(0.02, 1.0, 50):
            err = float(np.abs(staccato_tail_db((1 - mix) * dry + mix * rev, rate) - target).sum())
            if err < best[0]:
                best = (err, RoomSpec(float(rt60), float(mix)))
    return best[1]


@dataclass
class SourceRenders:
    """The FluidSynth renders a preset's behaviour is measured on."""

    held: np.ndarray
    released: np.ndarray
    staccato_dry: np.ndarray
    staccato_room: np.ndarray
    rate: int = 22050


def render_fluidsynth(program: int, room: str) -> SourceRenders:
    """The renders of ``measure_fluidsynth`` (needs fluidsynth and its soundfont)."""
    from siam_rt.data.note_renders import render_notes

    held, held_s, released, released_s = note_plan()
    return SourceRenders(render_notes(program, held, held_s), render_notes(program, released, released_s),
                         render_notes(program, [STACCATO], 3.0), render_notes(program, [STACCATO], 3.0, room))


def held_behaviour(r: SourceRenders, program: int, room: str) -> Behaviour:
    """The held notes and releases measured on ``r``, with no room yet (the caller fits it)."""
    return Behaviour(measure_notes(r.held, r.released, r.rate), None, f"FluidSynth program {program} ({room} room)")


def measure_fluidsynth(program: int, room: str) -> Behaviour:
    """The behaviour of GM ``program`` in corpus room ``room``, measured on FluidSynth's renders of it, the room
    fitted on the source's own dry staccato (``shipped.room_as_played`` fits it on the preset's instead)."""
    r = render_fluidsynth(program, room)
    behaviour = held_behaviour(r, program, room)
    behaviour.room = fit_room(r.staccato_dry, r.staccato_room, r.rate)
    return behaviour
