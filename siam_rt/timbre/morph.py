"""In-between presets: the preset the fraction ``at`` of the way from preset A to preset B.

The path is a straight line in context space. The decoder is smooth in its context, and along the line the
timbre measured by `eval notes`' MFCC distance moves steadily for most pairs (its distance from A rises and to B
falls at every step: piano to strings, flute to horn, piano to flute, guitar to strings, marimba to horn;
``tests/test_morph.py``); between guitar and harpsichord the line passes timbres far from both.

The held-note behaviour is interpolated per register (levels in dB, the late fall, the release), the room's decay
time geometrically and its wet level linearly; where either end plays its context's own room, so does the morph
(the interpolated context brings an in-between room of its own). The output gain is interpolated in dB; a room mix
(``reverb_mix``) of null means the context's own mix, at both ends or (read from the model) at the one end that
has it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from siam_rt.errors import SiamError
from siam_rt.timbre.behaviour import Behaviour, Register, RoomSpec
from siam_rt.timbre.preset import EngineDefaults, Preset


def _lerp(a: float, b: float, at: float) -> float:
    return (1 - at) * a + at * b


def morph_behaviour(a: Behaviour, b: Behaviour, at: float) -> Behaviour:
    """Held notes per register (at the pitches of both), and the room, ``at`` of the way from a to b."""
    pitches = sorted({r.pitch for r in a.registers} | {r.pitch for r in b.registers})
    registers = []
    for pitch in pitches:
        (la, ta, ra), (lb, tb, rb) = a.at(pitch), b.at(pitch)
        registers.append(Register(pitch, [round(_lerp(x, y, at), 2) for x, y in zip(la, lb, strict=True)],
                                  round(_lerp(ta, tb, at), 3), round(_lerp(ra, rb, at), 3)))
    room = None
    if a.room is not None and b.room is not None:
        room = RoomSpec(round(math.exp(_lerp(math.log(a.room.rt60_s), math.log(b.room.rt60_s), at)), 4),
                        round(_lerp(a.room.wet, b.room.wet, at), 4))
    return Behaviour(registers, room, f"morph of {a.source} and {b.source}")


def morph(a: Preset, b: Preset, at: float, name: str, description: str = "",
          context_wet: Callable[[np.ndarray], float] | None = None) -> Preset:
    """The preset ``at`` (0-1) of the way from ``a`` to ``b``, its recipe in ``source`` (see the module
    docstring). ``context_wet(context)``: a context's own room mix, needed when only one end has a reverb_mix."""
    if not 0.0 <= at <= 1.0:
        raise SiamError(f"--at {at}: a position between 0 (preset {a.name}) and 1 (preset {b.name})")
    if a.model_id != b.model_id:
        raise SiamError(f"{b.path or b.name}: made for model {b.model_id[:12]}, but {a.path or a.name} is for "
                        f"{a.model_id[:12]}; rebuild it (siam-rt preset extract --rebuild)")
    ma, mb = a.engine.reverb_mix, b.engine.reverb_mix
    if (ma is None) != (mb is None):
        if context_wet is None:
            raise SiamError("a morph between a preset with a room mix and one without needs the model")
        ma = context_wet(a.context) if ma is None else ma
        mb = context_wet(b.context) if mb is None else mb
    mix = None if ma is None else round(_lerp(ma, mb, at), 4)
    offsets = [p.note_offset for p in (a, b)]
    if any(o is not None for o in offsets):
        oa, ob = (np.zeros_like(a.context) if o is None else o for o in offsets)
        offset = ((1 - at) * oa + at * ob).astype(np.float32)
    else:
        offset = None
    context = ((1 - at) * a.context + at * b.context).astype(np.float32)
    return Preset(name, description or f"{round(100 * (1 - at))}% {a.name}, {round(100 * at)}% {b.name}",
                  a.model_id, context, {"morph": {"a": a.name, "b": b.name, "at": at, "model_id": a.model_id}},
                  EngineDefaults(round(_lerp(a.engine.gain_db, b.engine.gain_db, at), 3), mix), offset,
                  behaviour=morph_behaviour(a.behaviour, b.behaviour, at))
