"""The encoder: audio segment -> per-frame event vectors, switch and amplitude, and a context vector."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from siam_rt.model.config import ModelConfig


class GatedBlock(nn.Module):
    """A gated, dilated, anti-causal convolution: each frame sees itself and the frames after it."""

    def __init__(self, channels: int, dilation: int, kernel: int = 3) -> None:
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.conv = nn.Conv1d(channels, 2 * channels, kernel, dilation=dilation)
        self.out = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(F.pad(x, (0, self.pad)))  # pad on the right only: anti-causal
        a, b = h.chunk(2, dim=1)
        return x + self.out(torch.tanh(a) * torch.sigmoid(b))


class Encoder(nn.Module):
    """Log-magnitude STFT -> gated anti-causal conv stack -> heads read per frame."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        bins = cfg.n_fft // 2 + 1
        # the STFT as a strided convolution with a fixed windowed DFT basis: the same numbers in torch and in
        # ONNX Runtime (whose DFT op differs by up to 1e-3 after the log), and no FFT in the exported graph
        n = torch.arange(cfg.n_fft, dtype=torch.float64)
        f = torch.arange(bins, dtype=torch.float64)
        window = torch.hann_window(cfg.n_fft, dtype=torch.float64)
        angle = 2 * math.pi * f[:, None] * n[None, :] / cfg.n_fft
        basis = torch.cat([torch.cos(angle), -torch.sin(angle)]) * window
        self.register_buffer("dft", basis[:, None, :].float(), persistent=False)  # [2*bins, 1, n_fft]
        self.inp = nn.Conv1d(bins, cfg.channels, 1)
        self.blocks = nn.ModuleList(GatedBlock(cfg.channels, d) for d in cfg.dilations)
        self.vectors = nn.Conv1d(cfg.channels, cfg.event_dim, 1)
        self.switch = nn.Conv1d(cfg.channels, 1, 1)
        self.amplitude = nn.Conv1d(cfg.channels, 1, 1)
        self.context = nn.Linear(cfg.channels, cfg.context_dim)
        nn.init.constant_(self.switch.bias, -2.0)

    def spectrogram(self, audio: torch.Tensor) -> torch.Tensor:
        """Log-magnitude STFT [B, bins, frames]; frame f is centred on sample hop * f."""
        half = self.cfg.n_fft // 2
        padded = F.pad(audio[:, None, :], (half, half), mode="reflect")
        spec = F.conv1d(padded, self.dft, stride=self.cfg.hop)[..., : self.cfg.frames]
        re, im = spec.chunk(2, dim=1)
        return torch.log(torch.sqrt(re * re + im * im + 1e-12) + 1e-2)  # floor -88 dB re full scale

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        x = self.inp(self.spectrogram(audio))
        for block in self.blocks:
            x = block(x)
        return x

    def forward(self, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-frame heads: vectors [B,frames,D], switch logits, amplitudes and level [B,frames]; context [B,C]."""
        x = self.features(audio)
        # the level of each frame and the 8 after it: frames in digital silence (< -80 dBFS) hold no event
        power = F.avg_pool1d(audio[:, None, : self.cfg.frames * self.cfg.hop] ** 2, self.cfg.hop)
        level = F.max_pool1d(F.pad(power, (0, 7)), 8, stride=1)[:, 0].sqrt()
        return {
            "level": level,
            "vectors": self.vectors(x).transpose(1, 2),
            "switch_logits": self.switch(x)[:, 0],
            "amplitudes": F.softplus(self.amplitude(x)[:, 0]),
            "context": self.context(x.mean(dim=2)),
        }


#: Switch logits above this are events (p > 0.27): chosen on the validation works, where the trained switch's
#: logit-0 threshold missed soft bowed and blown attacks.
SWITCH_THRESHOLD = -1.0


def select_events(switch_logits: torch.Tensor, level: torch.Tensor, k: int, threshold: float = SWITCH_THRESHOLD,
                  silence: float = 1e-4) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k frames by the ReLU switch ``relu(logit - threshold)``, taken only where the switch peaks (a local
    maximum over +/-1 frame: one note's attack spreads over neighbouring frames and must not strike twice) and
    the level is above ``silence`` (-80 dB). Returns frames [B,k] (long) and a float mask [B,k]."""
    switch = torch.relu(switch_logits - threshold) * (level > silence).to(switch_logits.dtype)
    peak = F.max_pool1d(switch[:, None], 3, stride=1, padding=1)[:, 0]
    switch = switch * (switch >= peak).to(switch.dtype)
    values, frames = torch.topk(switch, k, dim=1)
    return frames, (values > 0).to(switch.dtype)
