"""The `.siam.json` file: one recording's encoding, written atomically, read back with every field checked.

Layout (schema_version 1)::

    {"schema_version": 1, "kind": "siam-rt encoding", "model_id": "<sha256>", "sample_rate": 22050,
     "segment": 32768, "hop": 256, "duration": 12.5,
     "source": {"file": "x.wav", "sample_rate": 44100, "channels": 2, "duration": 12.5, "start": 0, "peak": 0.8},
     "context": [16 numbers: the mean of "contexts"],
     "contexts": [[16 numbers], ...one per segment],
     "events": [{"time": 0.51, "segment": 0, "frame": 44, "amplitude": 0.3, "vector": [16 numbers]}, ...]}

Times are seconds from the start of the analysed audio; each event's sound is decoded in its segment's
context, and the mean context gives the room.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from siam_rt.analysis.timeline import Encoding, Event
from siam_rt.errors import SiamError
from siam_rt.io.atomic import atomic_path

SCHEMA_VERSION = 1
KIND = "siam-rt encoding"
SUFFIX = ".siam.json"


def _num(x: float, digits: int = 7) -> float:
    return float(f"{float(x):.{digits}g}")


def to_json(enc: Encoding, segment: int, hop: int) -> dict[str, Any]:
    """The encoding as the JSON object of a `.siam.json` file."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "model_id": enc.model_id,
        "sample_rate": enc.sample_rate,
        "segment": segment,
        "hop": hop,
        "duration": _num(enc.duration, 10),
        "source": enc.source,
        "context": [_num(x) for x in enc.context],
        "contexts": [[_num(x) for x in c] for c in enc.contexts],
        "events": [{"time": _num(e.time, 10), "segment": e.segment, "frame": e.frame, "amplitude": _num(e.amplitude),
                    "vector": [_num(x) for x in e.vector]} for e in enc.events],
    }


def save_encoding(path: str | os.PathLike, enc: Encoding, segment: int, hop: int) -> None:
    """Write ``path`` atomically: a temporary file in the same folder, renamed into place when complete."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(to_json(enc, segment, hop), separators=(",", ":")) + "\n")


class _Checker:
    """Field checks that name the file and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field: str, problem: str) -> SiamError:
        return SiamError(f"{self.path}: field '{field}' {problem}")

    def number(self, field: str, v: object, low: float | None = None) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise self.fail(field, f"must be a finite number, not {v!r}"[:120])
        if low is not None and v < low:
            raise self.fail(field, f"must be at least {low}, not {v!r}")
        return float(v)

    def integer(self, field: str, v: object, low: int, high: int | None = None) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < low or (high is not None and v > high):
            span = f"{low}..{high}" if high is not None else f">= {low}"
            raise self.fail(field, f"must be an integer {span}, not {v!r}"[:120])
        return v

    def vector(self, field: str, v: object, dim: int | None) -> np.ndarray:
        if not isinstance(v, list) or (dim is not None and len(v) != dim) or not v:
            n = len(v) if isinstance(v, list) else type(v).__name__
            raise self.fail(field, f"must be a list of {dim or 'some'} numbers, not {n}")
        for x in v:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise self.fail(field, f"must hold finite numbers only, not {x!r}"[:120])
        return np.array(v, np.float32)


def from_json(raw: object, path: Path) -> Encoding:
    """Validate a `.siam.json` object and build the Encoding; every problem names the file and the field."""
    c = _Checker(path)
    if not isinstance(raw, dict):
        raise SiamError(f"{path}: expected a JSON object (a siam-rt encoding), not {type(raw).__name__}")
    if raw.get("kind") != KIND:
        raise c.fail("kind", f"must be {KIND!r}: is this a file written by `siam-rt analyze`?")
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise c.fail("schema_version", f"is {raw.get('schema_version')!r}; this siam-rt reads {SCHEMA_VERSION}")
    mid = raw.get("model_id")
    if not isinstance(mid, str) or not mid:
        raise c.fail("model_id", "must be a non-empty string")
    rate = c.integer("sample_rate", raw.get("sample_rate"), 1)
    segment = c.integer("segment", raw.get("segment"), 2)
    hop = c.integer("hop", raw.get("hop"), 1)
    duration = c.number("duration", raw.get("duration"), 0.0)
    source = raw.get("source", {})
    if not isinstance(source, dict):
        raise c.fail("source", "must be an object")
    contexts_raw = raw.get("contexts")
    if not isinstance(contexts_raw, list) or not contexts_raw:
        raise c.fail("contexts", "must be a non-empty list of context vectors (one per segment)")
    first = contexts_raw[0]
    dim = len(first) if isinstance(first, list) else None
    contexts = np.stack([c.vector(f"contexts[{i}]", v, dim) for i, v in enumerate(contexts_raw)])
    c.vector("context", raw.get("context"), contexts.shape[1])
    events_raw = raw.get("events")
    if not isinstance(events_raw, list):
        raise c.fail("events", "must be a list")
    events, edim = [], None
    frames = segment // hop
    for i, ev in enumerate(events_raw):
        name = f"events[{i}]"
        if not isinstance(ev, dict):
            raise c.fail(name, "must be an object with time, segment, frame, amplitude and vector")
        vec = c.vector(f"{name}.vector", ev.get("vector"), edim)
        edim = len(vec)
        events.append(Event(
            time=c.number(f"{name}.time", ev.get("time"), 0.0),
            segment=c.integer(f"{name}.segment", ev.get("segment"), 0, len(contexts) - 1),
            frame=c.integer(f"{name}.frame", ev.get("frame"), 0, frames - 1),
            amplitude=c.number(f"{name}.amplitude", ev.get("amplitude"), 0.0),
            vector=vec,
        ))
        if events[-1].time > duration + 1e-3:
            raise c.fail(f"{name}.time", f"is {events[-1].time} s, after the end ({duration} s)")
    events.sort(key=lambda e: e.time)
    return Encoding(rate, duration, contexts, events, mid, source)


def load_encoding(path: str | os.PathLike) -> Encoding:
    """Read and validate a `.siam.json` file."""
    path = Path(path)
    if not path.exists():
        raise SiamError(f"{path}: no such file")
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise SiamError(f"{path}: cannot read the encoding ({exc})") from None
    except json.JSONDecodeError as exc:
        raise SiamError(f"{path}: not a siam-rt encoding: malformed JSON ({exc})") from None
    return from_json(raw, path)


def check_model(enc: Encoding, path: Path, model_id: str, event_dim: int, context_dim: int, rate: int) -> None:
    """The encoding must come from this model: its vectors mean nothing to another one."""
    if enc.model_id != model_id:
        raise SiamError(f"{path}: field 'model_id' {enc.model_id[:12]} is not the model's {model_id[:12]}: the "
                        f"encoding was made with another model; analyse the recording again with this one")
    if enc.contexts.shape[1] != context_dim:
        raise SiamError(f"{path}: field 'contexts' has {enc.contexts.shape[1]} numbers per vector; the model "
                        f"expects {context_dim}")
    if enc.events and len(enc.events[0].vector) != event_dim:
        raise SiamError(f"{path}: field 'events[0].vector' has {len(enc.events[0].vector)} numbers; the model "
                        f"expects {event_dim}")
    if enc.sample_rate != rate:
        raise SiamError(f"{path}: field 'sample_rate' is {enc.sample_rate}; the model runs at {rate}")
