"""SIAM as an instrument plugin with pedalboard's calling convention, for scripts that render VST3 instruments.

```python
from pedalboard import Pedalboard, Reverb
from mido import Message
from siam_rt.host import SiamInstrument

instrument = SiamInstrument(preset="piano")            # in place of pedalboard.load_plugin("Synth.vst3")
notes = [Message("note_on", note=60, velocity=90, time=0.0), Message("note_off", note=60, time=1.0)]
audio = instrument(notes, duration=2.0, sample_rate=44100)   # [2, 88200] float32
wet = Pedalboard([Reverb()])(audio, 44100)
```
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from siam_rt.engine import EngineConfig, load_engine, render
from siam_rt.engine.engine import Engine
from siam_rt.errors import SiamError

BLOCK = 512  # the engine's block at the output rate: how far it may run ahead of what it returned


def timed_messages(midi_messages: Iterable[Any]) -> list[tuple[float, Any]]:
    """pedalboard's MIDI input -> sorted (seconds, message): mido messages whose ``.time`` is in absolute
    seconds, or (bytes, seconds) pairs."""
    out: list[tuple[float, Any]] = []
    for i, item in enumerate(midi_messages):
        if hasattr(item, "bytes") and hasattr(item, "time"):
            out.append((float(item.time), item))
        elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], (bytes, bytearray, list)):
            out.append((float(item[1]), bytes(item[0])))
        else:
            raise SiamError(f"MIDI message {i}: expected a mido Message or a (bytes, seconds) pair, not {item!r}")
        if not np.isfinite(out[-1][0]) or out[-1][0] < 0:
            raise SiamError(f"MIDI message {i}: time {out[-1][0]!r} must be a finite number of seconds >= 0")
    out.sort(key=lambda x: x[0])
    return out


class SiamInstrument:
    """Called like pedalboard's instrument plugins: ``instrument(midi_messages, duration, sample_rate,
    num_channels=2, buffer_size=8192, reset=True) -> ndarray [num_channels, samples]``.

    ``reset=False`` keeps playing notes and the rooms' tails from the previous call; message times are then
    relative to the start of this call, as in pedalboard. The engine mixes at the output rate in blocks of 512
    (``config`` changes that), so it never runs more than 511 samples ahead of what it has returned: only an
    event in the first 511 samples of a ``reset=False`` call can sound late, by at most that. For long one-shot
    renders ``config=offline_config(sample_rate)`` is about twice as fast. The model, bank and decoded events
    are loaded once.
    """

    is_instrument = True
    is_effect = False

    def __init__(self, model: str | os.PathLike | None = None, presets: str | os.PathLike | None = None,
                 preset: str | None = None, preset_map: dict[int, str] | None = None,
                 config: EngineConfig | None = None) -> None:
        self._model, self._presets = model, presets
        self.preset, self.preset_map = preset, preset_map
        self.config = config or EngineConfig()
        self._engine: Engine | None = None

    def _engine_for(self, sample_rate: int) -> Engine:
        if self._engine is None or self._engine.rate != sample_rate:
            if self._engine is not None:
                self._engine.close()
            settings = {**self.config.__dict__, "sample_rate": int(sample_rate)}
            if self.config.block == EngineConfig().block:
                settings["block"] = BLOCK
            self._engine = load_engine(self._model, self._presets, EngineConfig(**settings), realtime=False,
                                       preset=self.preset, preset_map=self.preset_map)
        return self._engine

    def __call__(self, midi_messages: Iterable[Any], duration: float, sample_rate: float, num_channels: int = 2,
                 buffer_size: int = 8192, reset: bool = True) -> np.ndarray:
        if num_channels not in (1, 2):
            raise SiamError(f"num_channels must be 1 or 2, not {num_channels}")
        if not duration >= 0:
            raise SiamError(f"duration must be >= 0 seconds, not {duration}")
        engine = self._engine_for(int(sample_rate))
        if reset:
            engine.reset()
        events = timed_messages(midi_messages)
        engine.prefetch(events)
        out = render(engine, events, duration, block=engine.block * max(1, int(buffer_size) // engine.block))
        if num_channels == 1:
            return out.mean(axis=1)[None, :]
        return np.ascontiguousarray(out.T)

    process = __call__

    def reset(self) -> None:
        """Forget playing notes and tails."""
        if self._engine is not None:
            self._engine.reset()

    @property
    def stats(self) -> Any:
        """The engine's figures after the last call (None before the first)."""
        return None if self._engine is None else self._engine.stats()
