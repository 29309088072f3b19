"""Checkpoints as safetensors (never pickles), and the model id: a sha256 over the tensors."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from siam_rt.errors import SiamError
from siam_rt.io.atomic import atomic_path
from siam_rt.io.checksums import check_listed
from siam_rt.model.config import ModelConfig
from siam_rt.model.siam import SIAM


def model_id(state: dict[str, torch.Tensor]) -> str:
    """sha256 over the model's tensors: names, shapes and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(json.dumps(list(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def save_model(path: str | os.PathLike, model: SIAM, extra: dict[str, str] | None = None) -> str:
    """Write the model's weights and config to one safetensors file (atomically); returns the model id."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"config": json.dumps(model.cfg.to_dict()), "model_id": model_id(state), **(extra or {})}
    with atomic_path(path, ".tmp") as tmp:
        save_file(state, str(tmp), metadata=meta)
    return meta["model_id"]


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The metadata block of a safetensors file."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            return dict(fh.metadata() or {})
    except (OSError, SafetensorError) as exc:
        raise SiamError(f"{path}: not a safetensors file ({exc})") from None


def load_model(path: str | os.PathLike) -> SIAM:
    """Load a model written by ``save_model`` (or the model part of a training checkpoint)."""
    path = Path(path)
    if not path.is_file():
        raise SiamError(f"{path}: no such checkpoint")
    check_listed(path)  # an exported model's weights: as its manifest lists them
    try:
        meta = read_metadata(path)
        cfg = ModelConfig.from_dict(json.loads(meta["config"]))
        tensors = load_file(str(path))
    except (KeyError, ValueError, OSError, RuntimeError, SafetensorError) as exc:
        raise SiamError(f"{path}: not a SIAM checkpoint ({exc})") from None
    model = SIAM(cfg)
    state = {k[len("model."):] if k.startswith("model.") else k: v for k, v in tensors.items()
             if not k.startswith("optim.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SiamError(f"{path}: checkpoint does not match the model (missing {missing[:3]}, "
                        f"unexpected {unexpected[:3]})")
    return model.eval()
