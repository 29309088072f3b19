"""The seed's resynthesis variants of an encoding, as scores: the reconstruction, random event vectors, random
timings, a random context, one event alone, and the same events in another context (timbre transfer)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siam_rt.analysis.render import Score
from siam_rt.analysis.timeline import Encoding
from siam_rt.errors import SiamError


@dataclass
class Variation:
    """Which parts of an encoding to replace; the draws come from one seeded generator, in a fixed order."""

    random_events: bool = False
    random_timings: bool = False
    random_context: bool = False
    context: np.ndarray | None = None  # a preset's context in place of the encoding's (timbre transfer)
    wet: float | None = None  # the preset's reverb mix, in place of the model's
    seed: int = 0
    context_name: str = "another context"

    def describe(self) -> str:
        parts = [n for n, on in (("random event vectors", self.random_events), ("random timings",
                 self.random_timings), ("a random context", self.random_context)) if on]
        if self.context is not None:
            parts.append(f"in {self.context_name}")
        return ", ".join(parts) or "reconstruction"


def reconstruction(enc: Encoding, sample_rate: int) -> Score:
    """Every event at its time and amplitude, decoded in its own segment's context; the mean context's room."""
    e = len(enc.events)
    dim = len(enc.events[0].vector) if e else 16
    return Score(
        times=np.array([ev.time for ev in enc.events], np.float64),
        amplitudes=np.array([ev.amplitude for ev in enc.events], np.float32),
        vectors=np.stack([ev.vector for ev in enc.events]).astype(np.float32) if e else np.zeros((0, dim), np.float32),
        context_index=np.array([ev.segment for ev in enc.events], np.int64),
        contexts=enc.contexts.astype(np.float32),
        room_context=enc.context.astype(np.float32),
        length=int(round(enc.duration * sample_rate)),
    )


def vary(enc: Encoding, sample_rate: int, v: Variation) -> Score:
    """The reconstruction's score with the parts that ``v`` asks for replaced:

    - random events: each vector drawn per dimension from a normal with this encoding's mean and variance of
      event vectors; times, amplitudes and contexts kept;
    - random timings: times uniform over the duration; amplitudes, vectors and contexts kept;
    - random context: one context drawn from a normal with the mean and standard deviation of all the
      encoding's context values, for every event and the room;
    - context: one given context for every event and the room.
    """
    score = reconstruction(enc, sample_rate)
    rng = np.random.default_rng(v.seed)
    n = len(score)
    if v.random_events and n:
        mean, std = score.vectors.mean(axis=0), score.vectors.std(axis=0)
        score.vectors = rng.normal(mean, std, score.vectors.shape).astype(np.float32)
    if v.random_timings and n:
        score.times = rng.uniform(0.0, enc.duration, n)
    if v.random_context:
        values = enc.contexts.reshape(-1)
        ctx = rng.normal(values.mean(), values.std(), enc.contexts.shape[1]).astype(np.float32)
        _one_context(score, ctx)
    if v.context is not None:
        if v.context.shape != (enc.contexts.shape[1],):
            raise SiamError(f"the context has {v.context.size} numbers; the encoding's have {enc.contexts.shape[1]}")
        _one_context(score, v.context.astype(np.float32))
        score.wet = v.wet
    return score


def _one_context(score: Score, ctx: np.ndarray) -> None:
    score.contexts = ctx[None, :]
    score.context_index = np.zeros(len(score), np.int64)
    score.room_context = ctx


def single_event(enc: Encoding, sample_rate: int, index: int, event_len: int,
                 context: np.ndarray | None = None) -> Score:
    """Event ``index`` alone at time 0 with its amplitude, dry, in its segment's context (or ``context``)."""
    if not 0 <= index < len(enc.events):
        last = f"0..{len(enc.events) - 1}" if enc.events else "none: the encoding has no events"
        raise SiamError(f"--event {index}: no such event; the encoding has {len(enc.events)} (indices {last})")
    ev = enc.events[index]
    ctx = enc.contexts[ev.segment] if context is None else context
    return Score(np.zeros(1), np.array([ev.amplitude], np.float32), ev.vector[None, :].astype(np.float32),
                 np.zeros(1, np.int64), ctx[None, :].astype(np.float32), None, event_len)
