"""The interface between the timeline code and a model: torch (training side) or ONNX Runtime (runtime)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Codec(Protocol):
    """What analysis and resynthesis need from a model; all arrays are numpy float32 / int64."""

    sample_rate: int
    segment: int
    hop: int
    k: int
    event_len: int

    def encode(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        """Segments [B, segment] -> frames [B,K], mask [B,K], amplitudes [B,K], vectors [B,K,D], context [B,C]."""
        ...

    def decode(self, vectors: np.ndarray, context: np.ndarray) -> np.ndarray:
        """Event vectors [E,D] in one context [C] -> unit-norm event audio [E, event_len]."""
        ...

    def room(self, context: np.ndarray) -> tuple[np.ndarray, float]:
        """Context [C] -> impulse response [L] and wet level."""
        ...
