"""Events that are not MIDI notes: a SIAM event (vector, amplitude, time) decoded on the worker and played.

``Engine.play_event`` hands one to the decode worker; the worker decodes it with the model's own envelope (as
resynthesis does: the event sounds as long as it was encoded), resamples it to the mix rate and queues it for
its sample. Played in the channel's preset, it goes through the channel's room; given a context of its own, it
is decoded in that context and that context's room is applied on the worker (``bake_room``), so the event
bypasses the channel's room. A decode that is ready after its sample plays at once and counts as late.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siam_rt.engine.cache import PAD, context_room, level_table, resample_rows
from siam_rt.engine.room import convolve
from siam_rt.runtime.onnx_model import OnnxModel


@dataclass(frozen=True)
class DecodedEvent:
    """A decoded event waiting in the scheduler for its sample: what the audio thread needs to start it."""

    channel: int
    amplitude: float
    samples: np.ndarray  # the event at the mix rate, with PAD zeros after it
    level: np.ndarray  # its level table (voice stealing)
    own_room: bool  # its context's room is in ``samples``: the channel's room is bypassed

    @property
    def length(self) -> int:
        return len(self.samples) - PAD


def decode_event(model: OnnxModel, vector: np.ndarray, context: np.ndarray, own_room: bool, rate: int,
                 channel: int, amplitude: float, noise: int = 0) -> DecodedEvent:
    """Decode one event in ``context`` with its own envelope, at ``rate``; with ``own_room``, in the context's
    room (``(1 - wet) * dry + wet * (dry conv room)``, the engine's convention, tail included)."""
    audio = model.decode(vector[None].astype(np.float32), context, np.array([-1.0]), np.array([noise]))
    row = resample_rows(audio, model.sample_rate, rate, int(round(model.event_len * rate / model.sample_rate)))[0]
    if own_room:
        ir, wet = context_room(model, context, rate)
        row = convolve(row, ir, wet, whole=True)
    samples = np.zeros(len(row) + PAD, np.float32)
    samples[: len(row)] = row
    return DecodedEvent(channel, amplitude, samples, level_table(samples[None, : len(row)])[0], own_room)
