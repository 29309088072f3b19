"""The SIAM model in torch: encoder, per-event decoder, room, losses and checkpoints (training side only)."""
