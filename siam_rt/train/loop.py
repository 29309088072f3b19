"""The training loop: resumable, seeded, logged to JSONL and a PNG of the loss curves; DDP under torchrun."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from siam_rt.data.corpus import work_list
from siam_rt.data.musicnet import load_split
from siam_rt.errors import SiamError
from siam_rt.io.atomic import atomic_path
from siam_rt.model.checkpoint import load_model, read_metadata, save_model
from siam_rt.model.config import ModelConfig
from siam_rt.model.loss import chroma_loss, hold_loss, onset_loss, pitch_loss, spectral_loss, spread_loss
from siam_rt.model.siam import SIAM
from siam_rt.model.torch_codec import TorchCodec
from siam_rt.train.segments import Batch, SegmentSampler
from siam_rt.train.validation import Validator

WEIGHTS = {"spectral": 1.0, "onset": 1.0, "pitch": 0.2, "spread": 0.01, "hold": 0.5, "chroma": 0.0}


@dataclass
class TrainSettings:
    """What a run needs beyond the model config."""

    data: Path
    out: Path
    steps: int = 20000
    batch: int = 8
    lr: float = 5e-4
    decay_from: int | None = None  # hold lr until this step, then a half cosine down to 0 at ``steps``
    seed: int = 0
    minutes: float | None = None  # stop (with a checkpoint) after this much wall time in this invocation
    checkpoint_every: int = 200
    log_every: int = 10
    threads: int | None = None
    valid_every: int = 500  # steps between validation scores (0: none); the best model is kept
    valid_seconds: float = 30.0
    valid_works: tuple[str, ...] | None = None  # recording name prefixes; default: the works of validation.txt
    loss_weights: dict[str, float] | None = None  # overrides of WEIGHTS
    init: Path | None = None  # a new run starts from these model weights (fine-tuning); its config comes with them


def losses(model: SIAM, batch: Batch, device: torch.device, weights: dict[str, float] = WEIGHTS
           ) -> dict[str, torch.Tensor]:
    """All loss terms for one batch and their weighted sum; the events sit on the labelled onset frames (teacher
    forcing)."""
    t = {k: torch.from_numpy(v).to(device) for k, v in vars(batch).items()}
    out = model(t["audio"], t["frames"], t["mask"])
    parts = {
        "spectral": spectral_loss(t["audio"], out["events"], out["batch_index"]),
        "onset": onset_loss(out["switch_logits"], t["onsets"]),
        "pitch": pitch_loss(out["pitch_logits"], t["pitch_target"][out["batch_index"], out["slot"]]),
        "spread": spread_loss(out["switch_logits"]),
    }
    if out["hold_logits"] is not None:
        parts["hold"] = hold_loss(out["hold_logits"], t["hold_target"][out["batch_index"], out["slot"]])
    if weights.get("chroma"):
        parts["chroma"] = chroma_loss(t["audio"], out["events"], out["batch_index"], model.cfg.sample_rate)
    parts["total"] = sum(weights[k] * v for k, v in parts.items())
    return parts


def learning_rate(s: TrainSettings, step: int) -> float:
    """The rate of the step after ``step``: constant, or on a half cosine from ``decay_from`` to ``steps``, where
    it ends near 0 (the weights settle instead of swinging between checkpoints)."""
    if s.decay_from is None or step < s.decay_from:
        return s.lr
    span = max(s.steps - s.decay_from, 1)
    return s.lr * 0.5 * (1 + math.cos(math.pi * min(step - s.decay_from, span) / span))


def train(s: TrainSettings, cfg: ModelConfig | None = None) -> Path:
    """Train (or resume) a model in ``s.out``; returns the path of the final model weights."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    unknown = set(s.loss_weights or {}) - set(WEIGHTS)
    if unknown:
        raise SiamError(f"unknown loss terms: {', '.join(sorted(unknown))} (known: {', '.join(WEIGHTS)})")
    weights = {**WEIGHTS, **(s.loss_weights or {})}
    rank, world = _ddp_setup()
    device = torch.device("cuda", rank % max(torch.cuda.device_count(), 1)) if torch.cuda.is_available() \
        else torch.device("cpu")
    if s.threads:
        torch.set_num_threads(s.threads)
    ckpt_path = s.out / "checkpoint.safetensors"
    step, elapsed_before, sampler_state = 0, 0.0, None
    if ckpt_path.is_file():
        meta = read_metadata(ckpt_path)
        cfg = ModelConfig.from_dict(json.loads(meta["config"]))
        step, elapsed_before = int(meta["step"]), float(meta["elapsed_s"])
        sampler_state = json.loads(meta["sampler"])
    torch.manual_seed(s.seed)
    if s.init is not None and sampler_state is None:
        model = load_model(s.init).to(device)
        cfg = model.cfg
    else:
        cfg = cfg or ModelConfig()
        model = SIAM(cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=s.lr, betas=(0.9, 0.99))
    if sampler_state is not None:
        _load_checkpoint(ckpt_path, model, opt)
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else None

    heldout = _slugs("heldout.txt")
    valid_works = set(s.valid_works) if s.valid_works is not None else _slugs("validation.txt")
    recs = [r for r in load_split(s.data, "train", cfg.sample_rate) if _work(r.name) not in heldout]
    validator = Validator([r for r in recs if _work(r.name) in valid_works], s.valid_seconds)
    recs = [r for r in recs if _work(r.name) not in valid_works]
    sampler = SegmentSampler(recs, cfg, seed=s.seed * 1000 + rank)
    if sampler_state is not None:
        sampler.rng.bit_generator.state = sampler_state[rank % len(sampler_state)] \
            if isinstance(sampler_state, list) else sampler_state

    s.out.mkdir(parents=True, exist_ok=True)  # only once the data and weights have loaded
    log_path = s.out / "train_log.jsonl"
    best = _best_score(log_path)
    log = log_path.open("a") if rank == 0 else None
    start = time.time()
    stop_at = start + 60 * s.minutes if s.minutes else math.inf
    window: list[float] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("{task.fields[info]}"), TimeRemainingColumn(), disable=rank != 0) as progress:
        task = progress.add_task("training", total=s.steps, completed=step, info="")
        while step < s.steps and time.time() < stop_at:
            t0 = time.time()
            batch = sampler.batch(s.batch)
            lr = learning_rate(s, step)
            for group in opt.param_groups:
                group["lr"] = lr
            parts = losses(_DDPView(net) if world > 1 else model, batch, device, weights)
            opt.zero_grad(set_to_none=True)
            parts["total"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            window.append(time.time() - t0)
            if rank == 0 and (step % s.log_every == 0 or step == 1):
                eps = s.batch * world * len(window) / sum(window)
                window.clear()
                rec = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "step": step,
                       "elapsed_s": round(elapsed_before + time.time() - start, 1), "examples_per_s": round(eps, 2),
                       "lr": round(lr, 8),
                       **{k: round(float(v.detach()), 5) for k, v in parts.items()}}
                log.write(json.dumps(rec) + "\n")
                log.flush()
                progress.update(task, completed=step,
                                info=f"loss {rec['total']:.3f} spec {rec['spectral']:.3f} {eps:.1f} ex/s")
            if rank == 0 and validator.recordings and s.valid_every and step % s.valid_every == 0:
                scores = validator.score(TorchCodec(model))
                model.train()
                log.write(json.dumps({"time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                      "step": step, **scores}) + "\n")
                log.flush()
                if scores["valid_score"] > best:
                    best = scores["valid_score"]
                    save_model(s.out / "best.safetensors", model, {"step": str(step), **{
                        k: str(v) for k, v in scores.items()}})
            if rank == 0 and step % s.checkpoint_every == 0:
                _save_checkpoint(ckpt_path, model, opt, step, elapsed_before + time.time() - start, sampler)
    if rank == 0:
        _save_checkpoint(ckpt_path, model, opt, step, elapsed_before + time.time() - start, sampler)
        save_model(s.out / "model.safetensors", model, {"step": str(step)})
        plot_losses(s.out / "train_log.jsonl", s.out / "loss.png")
        log.close()
    if world > 1:
        torch.distributed.destroy_process_group()
    return s.out / "model.safetensors"


class _DDPView:
    """Calls the DDP wrapper for the forward (so gradients sync) while exposing the model's attributes."""

    def __init__(self, ddp: torch.nn.parallel.DistributedDataParallel) -> None:
        self._ddp = ddp

    def __call__(self, *args, **kwargs):
        return self._ddp(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._ddp.module, name)


def _ddp_setup() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = torch.distributed.get_rank() if world > 1 else 0
    return rank, world


def _slugs(list_name: str) -> set[str]:
    """The works of a shipped list, spelled as the corpus's file names begin."""
    return {w.replace("/", "_") for w in work_list(list_name)}


def _work(recording_name: str) -> str:
    return recording_name.split("__")[0]


def _best_score(log_path: Path) -> float:
    """The best validation score a run has logged so far (so a resumed run keeps its best model)."""
    if not log_path.is_file():
        return -math.inf
    rows = [json.loads(line) for line in log_path.read_text().splitlines() if '"valid_score"' in line]
    return max((r["valid_score"] for r in rows), default=-math.inf)


def _save_checkpoint(path: Path, model: SIAM, opt: torch.optim.Optimizer, step: int, elapsed: float,
                     sampler: SegmentSampler) -> None:
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    names = {id(p): n for n, p in model.named_parameters()}
    for group in opt.param_groups:
        for p in group["params"]:
            for key, val in opt.state.get(p, {}).items():
                if torch.is_tensor(val):
                    tensors[f"optim.{names[id(p)]}.{key}"] = val.detach().cpu().reshape(val.shape).contiguous()
    meta = {"config": json.dumps(model.cfg.to_dict()), "step": str(step), "elapsed_s": f"{elapsed:.1f}",
            "sampler": json.dumps(sampler.rng.bit_generator.state)}
    with atomic_path(path, ".tmp") as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def _load_checkpoint(path: Path, model: SIAM, opt: torch.optim.Optimizer) -> None:
    tensors = load_file(str(path))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    by_name = dict(model.named_parameters())
    for key, val in tensors.items():
        if key.startswith("optim."):
            pname, field = key[6:].rsplit(".", 1)
            opt.state[by_name[pname]][field] = val.to(by_name[pname].device)


def plot_losses(log_path: Path, png: Path) -> None:
    """Draw the loss curves of a JSONL log to a PNG, with the validation scores beside them when logged."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    losses_rows = [r for r in rows if "total" in r]
    valid_rows = [r for r in rows if "valid_score" in r]
    if not losses_rows:
        return
    fig, axes = plt.subplots(1, 2 if valid_rows else 1, figsize=(12 if valid_rows else 8, 4.5), squeeze=False)
    ax = axes[0, 0]
    steps = np.array([r["step"] for r in losses_rows])
    for key in ("total", "spectral", "onset", "pitch", "hold", "chroma"):
        if any(key in r for r in losses_rows):  # a term not in every run (hold, chroma) is drawn where logged
            ax.plot(steps, [r.get(key, np.nan) for r in losses_rows], label=key, lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    if valid_rows:
        ax = axes[0, 1]
        vsteps = [r["step"] for r in valid_rows]
        for key in ("valid_chroma", "valid_timing", "valid_score"):
            ax.plot(vsteps, [r[key] for r in valid_rows], marker="o", ms=3, label=key.removeprefix("valid_"))
        ax.set_xlabel("step")
        ax.set_ylabel("validation (median over works)")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
