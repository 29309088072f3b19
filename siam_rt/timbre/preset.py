"""A context preset: one timbre (instrument and room) as a 16-d context vector plus engine defaults.

Stored as ``presets/NAME.json`` with a schema version; validated on load, every problem naming file and field.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from siam_rt.errors import SiamError
from siam_rt.io.atomic import atomic_path
from siam_rt.io.jsonfile import read_json_object
from siam_rt.timbre.behaviour import DEFAULT, Behaviour

SCHEMA_VERSION = 2  # 2: held-note behaviour and room measured per preset (1: hand-set release and re-excitation)


@dataclass
class EngineDefaults:
    """How the engine plays a preset beyond what its behaviour measured: output gain and an optional room mix."""

    gain_db: float = 0.0
    reverb_mix: float | None = None  # None: the behaviour's measured room (or the context's own wet level)


@dataclass
class Preset:
    """One timbre."""

    name: str
    description: str
    model_id: str
    context: np.ndarray
    source: dict = field(default_factory=dict)
    engine: EngineDefaults = field(default_factory=EngineDefaults)
    note_offset: np.ndarray | None = None  # optional note-map adjustment, added to every note's vector
    path: Path | None = None
    behaviour: Behaviour = field(default_factory=lambda: DEFAULT)  # held notes, release and room, measured

    def to_json(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "description": self.description,
            "model_id": self.model_id,
            "context": [round(float(x), 6) for x in self.context],
            "source": self.source,
            "engine": asdict(self.engine),
            "note_offset": None if self.note_offset is None else [round(float(x), 6) for x in self.note_offset],
            "behaviour": self.behaviour.to_json(),
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write atomically (a temporary file renamed into place)."""
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_json(), indent=1) + "\n")


def _vector(path: Path, name: str, value: object, dim: int) -> np.ndarray:
    if not isinstance(value, list) or len(value) != dim:
        n = len(value) if isinstance(value, list) else type(value).__name__
        raise SiamError(f"{path}: field '{name}' must be a list of {dim} numbers, not {n}")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        raise SiamError(f"{path}: field '{name}' must hold numbers only")
    arr = np.array(value, dtype=np.float32)
    if not np.all(np.isfinite(arr)) or any(isinstance(x, float) and math.isnan(x) for x in value):
        raise SiamError(f"{path}: field '{name}' holds NaN or infinity")
    return arr


def _from_v1(raw: dict) -> dict:
    """A schema 1 preset: its hand-set release and re-excitation are dropped; it plays with the DEFAULT behaviour
    until `siam-rt preset extract --rebuild` measures its source."""
    engine = {k: v for k, v in (raw.get("engine") or {}).items() if k not in ("release_s", "reexcite_s")}
    return {**raw, "schema_version": SCHEMA_VERSION, "engine": engine, "behaviour": None}


def load_preset(path: str | os.PathLike, model_id: str | None = None, context_dim: int = 16) -> Preset:
    """Read and validate a preset; with ``model_id``, it must have been extracted with that model."""
    path = Path(path)
    raw = read_json_object(path, "preset", SCHEMA_VERSION, migrate={1: _from_v1})
    for key in ("name", "description", "model_id"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise SiamError(f"{path}: field '{key}' must be a non-empty string")
    context = _vector(path, "context", raw.get("context"), context_dim)
    engine_raw = raw.get("engine", {})
    if not isinstance(engine_raw, dict):
        raise SiamError(f"{path}: field 'engine' must be an object")
    known = set(EngineDefaults.__dataclass_fields__)
    unknown = set(engine_raw) - known
    if unknown:
        raise SiamError(f"{path}: field 'engine' has unknown settings {', '.join(sorted(unknown))}")
    for key, value in engine_raw.items():
        if value is None and key == "reverb_mix":
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise SiamError(f"{path}: field 'engine.{key}' must be a finite number")
    engine = EngineDefaults(**engine_raw)
    if not (engine.reverb_mix is None or 0 <= engine.reverb_mix <= 1):
        raise SiamError(f"{path}: field 'engine.reverb_mix' out of range (0..1, or null)")
    behaviour = Behaviour.from_json(raw["behaviour"], str(path)) if raw.get("behaviour") is not None else DEFAULT
    offset = raw.get("note_offset")
    offset = None if offset is None else _vector(path, "note_offset", offset, context_dim)
    preset = Preset(raw["name"], raw["description"], raw["model_id"], context, raw.get("source") or {}, engine,
                    offset, path, behaviour)
    if model_id is not None and preset.model_id != model_id:
        raise SiamError(f"{path}: field 'model_id' {preset.model_id[:12]} is not the model's {model_id[:12]}: the "
                        f"preset was made with another model; run `siam-rt preset extract --rebuild {path}`")
    return preset
