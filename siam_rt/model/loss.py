"""Training losses: multi-resolution magnitude STFT against the sum of per-event magnitudes, and friends."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch.nn import functional as F

from siam_rt.notes.measure import CHROMA_FFT, CHROMA_HOP, SOUNDING_DB

RESOLUTIONS = (256, 1024)


def _mag(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    win = torch.hann_window(n_fft, device=x.device)
    return torch.stft(x, n_fft, n_fft // 2, window=win, return_complex=True).abs()


def spectral_loss(target: torch.Tensor, events: torch.Tensor, batch_index: torch.Tensor,
                  resolutions: tuple[int, ...] = RESOLUTIONS) -> torch.Tensor:
    """L1 between |STFT(target)| and sum_k |STFT(event_k)|, linear and log, at several resolutions.

    Summing magnitudes (not audio) means events cannot cancel each other by phase, and overlap costs, which
    keeps events sparse and separate. target [B,N]; events [E,N] belong to segments ``batch_index`` [E].
    """
    total = target.new_zeros(())
    for n_fft in resolutions:
        t = _mag(target, n_fft)
        e = t.new_zeros(t.shape).index_add(0, batch_index, _mag(events, n_fft))
        scale = t.mean(dim=(-2, -1), keepdim=True) + 1e-5
        total = total + (t - e).abs().div(scale).mean()
        total = total + (torch.log(t + 1e-4) - torch.log(e + 1e-4)).abs().mean()
    return total / len(resolutions)


@lru_cache(maxsize=4)
def _chroma_filters(sample_rate: int) -> np.ndarray:
    import librosa

    return librosa.filters.chroma(sr=sample_rate, n_fft=CHROMA_FFT).astype(np.float32)


def chroma_loss(target: torch.Tensor, events: torch.Tensor, batch_index: torch.Tensor,
                sample_rate: int) -> torch.Tensor:
    """1 - the frame-wise cosine between the chromagrams of the target and of the mix of its events, over frames
    where the target sounds: what the evaluation's pitch-content figure (`metrics.chroma_cosine`) measures.

    The magnitude losses weigh every bin alike, so a voice too loud or a partial folding onto another pitch class
    costs them little; this term sees exactly those. target [B,N]; events [E,N] of segments ``batch_index``."""
    mix = target.new_zeros(target.shape).index_add(0, batch_index, events)
    fb = torch.from_numpy(_chroma_filters(sample_rate)).to(target.device)
    win = torch.hann_window(CHROMA_FFT, device=target.device)
    a, b = (fb @ torch.stft(x, CHROMA_FFT, CHROMA_HOP, window=win, return_complex=True).abs().square()
            for x in (target, mix))
    cos = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + 1e-8)
    energy = a.sum(1)
    keep = (energy > energy.amax(1, keepdim=True) * 10 ** (-SOUNDING_DB / 10)).float()  # power
    return 1 - (cos * keep).sum() / keep.sum().clamp_min(1.0)


def onset_loss(switch_logits: torch.Tensor, onset_target: torch.Tensor) -> torch.Tensor:
    """The switch is supervised by labelled note onsets (per frame, 0/1), weighted for their sparsity."""
    return F.binary_cross_entropy_with_logits(switch_logits, onset_target, pos_weight=torch.tensor(4.0))


def pitch_loss(pitch_logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Pitch activations of each event against the pitches that start at its onset: a note still sounding from
    before is held by its own event, so a later event must not strike it again."""
    loss = F.binary_cross_entropy_with_logits(pitch_logits, target, reduction="sum", pos_weight=torch.tensor(3.0))
    return loss / max(pitch_logits.shape[0], 1)  # per event, summed over pitches: the few notes count


def hold_loss(hold_logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Each event's hold against how long its notes are labelled to last (a fraction of the longest hold).

    Without it the hold collapses to zero early in training, when sustaining a wrong pitch costs more than
    cutting it, and never recovers (its sigmoid saturates); on the logit scale the supervision cannot vanish."""
    return F.binary_cross_entropy_with_logits(hold_logits, target)


def spread_loss(switch_logits: torch.Tensor) -> torch.Tensor:
    """The seed's frame-spreading term: the negative entropy of the switch over frames, so that events do not
    pile onto a few frames."""
    p = torch.softmax(switch_logits, dim=1)
    return (p * torch.log(p + 1e-8)).sum(dim=1).mean() / torch.log(torch.tensor(float(p.shape[1])))
