"""The note map: (MIDI pitch, velocity layer) -> event vector with its spread; velocity -> amplitude. No torch.

Stored as a versioned ``note_map.npz`` beside the exported model, carrying the model id it was fitted for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from siam_rt.errors import SiamError
from siam_rt.io.checksums import check_listed

SCHEMA_VERSION = 1
LOW, HIGH = 21, 108  # the playable range: the piano's
log = logging.getLogger(__name__)


@dataclass
class NoteMap:
    """Event vectors for pitches LOW..HIGH at a few velocity layers.

    ``centre`` and ``spread`` are [88, layers, D]; ``layer_velocities`` the velocity each layer was fitted at.
    Velocity -> amplitude follows ``amplitude(v) = (v / 127) ** gamma`` (gamma 1.7: about 36 dB from v=16 to 127).
    """

    model_id: str
    centre: np.ndarray
    spread: np.ndarray
    layer_velocities: np.ndarray
    gamma: float = 1.7
    _warned: bool = False

    @property
    def layers(self) -> int:
        return int(self.centre.shape[1])

    def layer_of(self, velocity: int) -> int:
        """The velocity layer nearest to a MIDI velocity (1..127)."""
        return int(np.argmin(np.abs(self.layer_velocities - velocity)))

    def amplitude(self, velocity: int) -> float:
        """Event amplitude of a MIDI velocity."""
        return float((np.clip(velocity, 0, 127) / 127.0) ** self.gamma)

    def fold(self, pitch: int) -> int:
        """A pitch inside LOW..HIGH: pitches outside are folded by octaves, with one warning."""
        if LOW <= pitch <= HIGH:
            return pitch
        folded = pitch
        while folded < LOW:
            folded += 12
        while folded > HIGH:
            folded -= 12
        if not self._warned:
            log.warning("MIDI pitch %d is outside the playable range %d-%d: folded by octaves to %d "
                        "(further pitches outside are folded silently)", pitch, LOW, HIGH, folded)
            self._warned = True
        return folded

    def vector(self, pitch: int, velocity: int) -> np.ndarray:
        """The centre vector of a note."""
        return self.centre[self.fold(pitch) - LOW, self.layer_of(velocity)]

    def humanized(self, pitch: int, velocity: int, rng: np.random.Generator, amount: float) -> np.ndarray:
        """A vector drawn around the centre with the map's spread scaled by ``amount`` (0 = the centre)."""
        p, layer = self.fold(pitch) - LOW, self.layer_of(velocity)
        noise = rng.standard_normal(self.centre.shape[-1]).astype(np.float32)
        return (self.centre[p, layer] + amount * self.spread[p, layer] * noise).astype(np.float32)

    def save(self, path: str | Path) -> None:
        """Write the versioned .npz file."""
        np.savez(path, schema_version=np.int64(SCHEMA_VERSION), model_id=np.array(self.model_id),
                 low=np.int64(LOW), centre=self.centre.astype(np.float32), spread=self.spread.astype(np.float32),
                 layer_velocities=self.layer_velocities.astype(np.int64), gamma=np.float64(self.gamma))

    @classmethod
    def load(cls, path: str | Path, model_id: str | None = None) -> NoteMap:
        """Read and validate a note map; with ``model_id``, it must have been fitted for that model."""
        path = Path(path)
        if not path.is_file():
            raise SiamError(f"{path}: no note map (fit one with the exporter)")
        check_listed(path)  # in an exported model's folder: as its manifest lists it
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except Exception as exc:
            raise SiamError(f"{path}: not a note map file ({exc})") from None
        for key in ("schema_version", "model_id", "centre", "spread", "layer_velocities"):
            if key not in data:
                raise SiamError(f"{path}: missing field '{key}'")
        if int(data["schema_version"]) != SCHEMA_VERSION:
            raise SiamError(f"{path}: schema_version {int(data['schema_version'])} is not {SCHEMA_VERSION}")
        centre, spread = data["centre"], data["spread"]
        if centre.ndim != 3 or centre.shape[0] != HIGH - LOW + 1 or spread.shape != centre.shape:
            raise SiamError(f"{path}: field 'centre' must be [88, layers, D], not {list(centre.shape)}")
        if not (np.all(np.isfinite(centre)) and np.all(np.isfinite(spread))):
            raise SiamError(f"{path}: field 'centre' or 'spread' holds NaN or infinity")
        mid = str(data["model_id"])
        if model_id is not None and mid != model_id:
            raise SiamError(f"{path}: fitted for model {mid[:12]}, not for this model {model_id[:12]}; refit it")
        return cls(mid, centre.astype(np.float32), spread.astype(np.float32),
                   data["layer_velocities"].astype(np.int64), float(data.get("gamma", 1.7)))
