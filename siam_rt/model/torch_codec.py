"""A Codec backed by the torch model (training side: evaluation before export, parity tests)."""

from __future__ import annotations

import numpy as np
import torch

from siam_rt.model.siam import SIAM


class TorchCodec:
    """Runs a SIAM model in torch behind the Codec interface."""

    def __init__(self, model: SIAM) -> None:
        self.model = model.eval()
        cfg = model.cfg
        self.sample_rate, self.segment, self.hop, self.k, self.event_len = (
            cfg.sample_rate, cfg.segment, cfg.hop, cfg.k, cfg.event_len)

    @torch.no_grad()
    def encode(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        out = self.model.encode(torch.from_numpy(audio))
        return {k: out[k].numpy() for k in ("frames", "mask", "amplitudes", "vectors", "context")}

    @torch.no_grad()
    def decode(self, vectors: np.ndarray, context: np.ndarray) -> np.ndarray:
        return self.model.decoder(torch.from_numpy(vectors), torch.from_numpy(context)).numpy()

    @torch.no_grad()
    def room(self, context: np.ndarray) -> tuple[np.ndarray, float]:
        ir, wet = self.model.room(torch.from_numpy(context)[None])
        return ir[0].numpy(), float(wet[0])
