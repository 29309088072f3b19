"""A tiny stand-in for the exported model, so engine tests know exactly what each event should sound like.

``StubModel.decode`` plays the pitch written in an event vector's first number (a MIDI pitch, fractional
allowed) as a decaying harmonic tone, unit-norm like the real decoder; the context's first number sets the
brightness, so two presets differ measurably. ``room`` is a short decaying noise burst.
"""

from __future__ import annotations

import numpy as np

from siam_rt.notes.note_map import HIGH, LOW, NoteMap
from siam_rt.timbre.bank import Bank
from siam_rt.timbre.behaviour import REGISTERS, TIMES, Behaviour, Register
from siam_rt.timbre.preset import EngineDefaults, Preset

RATE = 22050
EVENT_LEN = 8192
MODEL_ID = "0" * 64


class StubModel:
    """Duck-typed OnnxModel: sample_rate, event_len, event_dim, context_dim, model_id, decode, room."""

    def __init__(self, event_len: int = EVENT_LEN, nan: bool = False) -> None:
        self.sample_rate, self.event_len, self.event_dim, self.context_dim = RATE, event_len, 16, 16
        self.model_id = MODEL_ID
        self.decodes = 0
        self.nan = nan

    def decode(self, vectors: np.ndarray, context: np.ndarray, hold=None, noise=None) -> np.ndarray:
        self.decodes += len(vectors)
        t = np.arange(self.event_len) / RATE
        out = np.zeros((len(vectors), self.event_len), np.float32)
        bright = float(context[0])
        for i, v in enumerate(vectors):
            f0 = 440.0 * 2 ** ((float(v[0]) - 69) / 12)
            y = np.zeros(self.event_len)
            for k in range(1, 6):
                if k * f0 < RATE / 2:
                    y += (bright ** (k - 1)) * np.sin(2 * np.pi * k * f0 * t)
            y *= np.exp(-t / 0.4)
            out[i] = y / np.sqrt((y ** 2).sum())
        if self.nan:
            out[:, 100] = np.nan
        return out

    def room(self, context: np.ndarray) -> tuple[np.ndarray, float]:
        rng = np.random.default_rng(0)
        n = 2048
        ir = rng.standard_normal(n) * np.exp(-np.arange(n) / 400)
        ir[0] = 1.0
        return (ir / np.abs(ir).sum()).astype(np.float32), 0.3


def stub_note_map(layers: tuple[int, ...] = (32, 64, 96, 127)) -> NoteMap:
    """Vectors whose first number is the pitch; the second marks the layer (it does not change the sound)."""
    keys = HIGH - LOW + 1
    centre = np.zeros((keys, len(layers), 16), np.float32)
    centre[:, :, 0] = np.arange(LOW, HIGH + 1)[:, None]
    centre[:, :, 1] = np.arange(len(layers))[None, :]
    spread = np.full_like(centre, 0.05)
    spread[:, :, 0] = 0.0  # humanize never detunes the stub
    return NoteMap(MODEL_ID, centre, spread, np.array(layers))


def stub_behaviour(release_s: float = 0.1, decays: bool = False) -> Behaviour:
    """Sustained (flat) or struck (-30 dB at 1.5 s, then 20 dB/s) held notes, with ``release_s``."""
    levels = list(-20.0 * np.array(TIMES)) if decays else [0.0] * len(TIMES)
    return Behaviour([Register(p, levels, 20.0 if decays else 0.0, release_s) for p in REGISTERS], None, "stub")


def stub_preset(name: str, bright: float, behaviour: Behaviour | None = None, **engine: float) -> Preset:
    context = np.zeros(16, np.float32)
    context[0] = bright
    return Preset(name, f"stub {name}", MODEL_ID, context, engine=EngineDefaults(**engine),
                  behaviour=behaviour or stub_behaviour())


def stub_bank(drums: str | None = None) -> Bank:
    """"dull" (the default, program 0) and "bright" (program 40), both sustained; "struck" (program 8)."""
    presets = {"dull": stub_preset("dull", 0.1), "bright": stub_preset("bright", 0.9),
               "struck": stub_preset("struck", 0.5, stub_behaviour(decays=True))}
    return Bank(presets, "dull", {40: "bright", 8: "struck"}, {}, drums)
