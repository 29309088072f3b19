"""Training throughput (examples/s, torch, 2 threads) and analysis/resynthesis speed of the default model.

Figures: one training step of 16 segments on synthetic labelled audio; encoding 16 segments (ONNX Runtime,
2 threads); decoding the events of one segment (ONNX Runtime, 1 thread). Never run beside a training job.
"""

from __future__ import annotations

import time

import numpy as np

from bench.harness import timed_ms

WARMUP = 1
BATCH = 16
_state: dict = {}


def setup() -> None:
    import torch

    from siam_rt.model.checkpoint import load_model
    from siam_rt.resources import default_model_dir
    from siam_rt.runtime.onnx_model import OnnxModel
    from siam_rt.train.segments import SegmentSampler

    torch.set_num_threads(2)
    folder = default_model_dir()
    model = load_model(folder / "model.safetensors").train()
    cfg = model.cfg
    rng = np.random.default_rng(0)
    sampler = SegmentSampler([], cfg, seed=0)
    t = np.arange(cfg.segment) / cfg.sample_rate
    items = []
    for _ in range(BATCH):
        onsets = np.sort(rng.integers(0, cfg.segment - 4096, 8))
        pitches = rng.integers(40, 90, 8)
        audio = np.zeros(cfg.segment, np.float32)
        for o, p in zip(onsets, pitches, strict=True):
            f = 440 * 2 ** ((p - 69) / 12)
            tt = t[o:] - t[o]
            audio[o:] += np.sin(2 * np.pi * f * tt) * np.exp(-3 * tt)
        items.append(sampler.targets(audio, np.stack([onsets, pitches], 1), onsets + 20000, 0))
    from siam_rt.train.segments import Batch

    _state.update(model=model, opt=torch.optim.Adam(model.parameters(), 1e-5),
                  batch=Batch(*(np.stack(x) for x in zip(*items, strict=True))),
                  rt=OnnxModel(folder, threads=2), rt1=OnnxModel(folder, threads=1),
                  audio=np.stack([b for b in (items[i][0] for i in range(BATCH))]))


def _train_step() -> None:
    import torch

    from siam_rt.train.loop import losses

    s = _state
    parts = losses(s["model"], s["batch"], torch.device("cpu"))
    s["opt"].zero_grad()
    parts["total"].backward()
    s["opt"].step()


def measure() -> dict[str, float]:
    s = _state
    step_ms = timed_ms(_train_step)
    enc = s["rt"].encode(s["audio"])
    t0 = time.perf_counter()
    s["rt"].encode(s["audio"])
    encode_ms = 1000 * (time.perf_counter() - t0)
    vecs = enc["vectors"][0][enc["mask"][0] > 0]
    if len(vecs) == 0:
        vecs = enc["vectors"][0][:8]
    decode_ms = timed_ms(s["rt1"].decode, vecs, enc["context"][0])
    return {"train_step_ms": step_ms, "train_examples_per_s": 1000 * BATCH / step_ms,
            "encode_16_segments_ms": encode_ms, "encode_segments_per_s": 1000 * BATCH / encode_ms,
            "decode_one_segment_events_ms": decode_ms, "events_decoded": float(len(vecs))}
