"""The room: the context picks a mixture of a bank of room responses and a dry/wet mix, applied on the bus."""

from __future__ import annotations

import torch
from torch import nn

from siam_rt.model.buffers import room_bank
from siam_rt.model.config import ModelConfig


class Room(nn.Module):
    """Context [B,C] -> impulse response [B, ir_len] (unit energy mixture) and wet level [B] in 0..1."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("bank", torch.from_numpy(room_bank(cfg.rooms, cfg.ir_len, cfg.sample_rate, cfg.seed)),
                             persistent=False)
        self.head = nn.Linear(cfg.context_dim, cfg.rooms + 1)

    def forward(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.head(context)
        weights = torch.softmax(h[:, :-1], dim=-1)
        ir = weights @ self.bank
        return ir / (ir.norm(dim=-1, keepdim=True) + 1e-8), torch.sigmoid(h[:, -1])


def apply_room(dry: torch.Tensor, ir: torch.Tensor, wet: torch.Tensor) -> torch.Tensor:
    """(1 - wet) * dry + wet * (dry conv ir), truncated to the dry length. dry [B,N], ir [B,L], wet [B]."""
    n = dry.shape[-1]
    size = 1 << (n + ir.shape[-1] - 2).bit_length()
    reverb = torch.fft.irfft(torch.fft.rfft(dry, size) * torch.fft.rfft(ir, size), size)[:, :n]
    return (1 - wet[:, None]) * dry + wet[:, None] * reverb
