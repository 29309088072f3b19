"""Validation during training: the held-out figures (chroma, timing) on a few training-corpus works that the
run never trains on, so that the best checkpoint can be kept before the model overfits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siam_rt.analysis.codec import Codec
from siam_rt.data.musicnet import Recording
from siam_rt.evaluation.evaluate import reconstruct
from siam_rt.evaluation.metrics import chroma_cosine, timing_correlation


@dataclass
class Validator:
    """Scores a codec on the opening ``seconds`` of each validation recording."""

    recordings: list[Recording]
    seconds: float = 30.0

    def score(self, codec: Codec) -> dict[str, float]:
        """Median chroma cosine and timing correlation over the recordings, and their mean as one score."""
        chroma, timing = [], []
        for rec in self.recordings:
            ref = rec.audio[: int(self.seconds * rec.sample_rate)]
            est, _ = reconstruct(codec, ref)
            chroma.append(chroma_cosine(ref, est, rec.sample_rate))
            timing.append(timing_correlation(ref, est, rec.sample_rate))
        c, t = float(np.median(chroma)), float(np.median(timing))
        return {"valid_chroma": round(c, 4), "valid_timing": round(t, 4), "valid_score": round((c + t) / 2, 4)}
