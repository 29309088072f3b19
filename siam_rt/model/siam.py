"""The whole SIAM model: encode a segment into context + sparse events, decode events back to audio."""

from __future__ import annotations

import torch
from torch import nn

from siam_rt.model.config import ModelConfig
from siam_rt.model.decoder import EventDecoder
from siam_rt.model.encoder import Encoder, select_events
from siam_rt.model.room import Room, apply_room


class SIAM(nn.Module):
    """Encoder, per-event decoder and room of one model."""

    def __init__(self, cfg: ModelConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or ModelConfig()
        self.encoder = Encoder(self.cfg)
        self.decoder = EventDecoder(self.cfg)
        self.room = Room(self.cfg)

    def encode(self, audio: torch.Tensor, frames: torch.Tensor | None = None,
               mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Encode segments [B, segment]: events read at ``frames`` (given, e.g. labelled onsets) or chosen by
        the switch. Returns frames [B,K], mask [B,K], amplitudes [B,K], vectors [B,K,D], context [B,C] and the
        per-frame switch logits."""
        heads = self.encoder(audio)
        if frames is None:
            frames, mask = select_events(heads["switch_logits"], heads["level"], self.cfg.k)
        amps = torch.gather(heads["amplitudes"], 1, frames) * mask
        vecs = torch.gather(heads["vectors"], 1, frames[:, :, None].expand(-1, -1, self.cfg.event_dim))
        return {"frames": frames, "mask": mask, "amplitudes": amps, "vectors": vecs,
                "context": heads["context"], "switch_logits": heads["switch_logits"]}

    def place(self, events: torch.Tensor, frames: torch.Tensor, amplitudes: torch.Tensor) -> torch.Tensor:
        """Events [E,N] scaled by amplitude [E] and placed to start at sample hop * frame [E]: [E,segment]."""
        t = torch.arange(self.cfg.segment, device=events.device)
        idx = t[None, :] - (frames * self.cfg.hop)[:, None]
        valid = (idx >= 0) & (idx < events.shape[-1])
        placed = torch.gather(events, 1, idx.clamp(0, events.shape[-1] - 1)) * valid
        return placed * amplitudes[:, None]

    def forward(self, audio: torch.Tensor, frames: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Encode and decode the real events only (sparse): ``events`` [E,segment] is each event's wet audio,
        placed; ``batch_index`` [E] says which segment it belongs to; ``slot`` [E] its index among the K."""
        enc = self.encode(audio, frames, mask)
        bi, ki = enc["mask"].nonzero(as_tuple=True)
        ctx = enc["context"][bi]
        events, logits, hold = self.decoder.synthesise(enc["vectors"][bi, ki], ctx)
        placed = self.place(events, enc["frames"][bi, ki], enc["amplitudes"][bi, ki])
        ir, wet = self.room(enc["context"])
        enc.update(events=apply_room(placed, ir[bi], wet[bi]), batch_index=bi, slot=ki, pitch_logits=logits,
                   hold_logits=hold)
        return enc

    @torch.no_grad()
    def reconstruct(self, audio: torch.Tensor) -> torch.Tensor:
        """The reconstruction [B, segment] of segments, events chosen by the switch."""
        out = self.forward(audio)
        return audio.new_zeros(audio.shape).index_add_(0, out["batch_index"], out["events"])
