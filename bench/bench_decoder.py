"""Per-event decoder of the default model: ONNX Runtime (1 thread) beside torch eager (1 thread).

Figures: one decode of B=1, of B=16, and of a whole preset cache (88 keys x the note map's velocity layers),
each the median of 5 consecutive calls of one engine (so neither engine is timed straight after the other).
Targets (issue 4): B=1 <= 1.0 ms, B=16 <= 8 ms, cache <= 300 ms.
"""

from __future__ import annotations

import statistics

import numpy as np

from bench.harness import timed_ms

WARMUP = 2
INNER = 5  # calls per engine and batch in one measurement; their median is the figure
_state: dict = {}


def setup() -> None:
    import torch

    from siam_rt.model.checkpoint import load_model
    from siam_rt.notes.note_map import NoteMap
    from siam_rt.resources import default_model_dir
    from siam_rt.runtime.onnx_model import OnnxModel

    torch.set_num_threads(1)
    folder = default_model_dir()
    rt = OnnxModel(folder, threads=1)
    note_map = NoteMap.load(folder / "note_map.npz", rt.model_id)
    rng = np.random.default_rng(0)
    _state.update(
        rt=rt,
        torch_decoder=load_model(folder / "model.safetensors").decoder.eval(),
        context=rng.standard_normal(rt.context_dim).astype(np.float32),
        b1=rng.standard_normal((1, rt.event_dim)).astype(np.float32),
        b16=rng.standard_normal((16, rt.event_dim)).astype(np.float32),
        cache=note_map.centre.reshape(-1, rt.event_dim).copy(),
    )


def measure() -> dict[str, float]:
    import torch

    s = _state
    rt, dec, ctx = s["rt"], s["torch_decoder"], s["context"]
    tctx = torch.from_numpy(ctx)
    out = {}
    for name in ("b1", "b16", "cache"):
        vec = s[name]
        # each engine in a short run of its own (steady state: one engine's buffers evict the other's)
        out[f"onnx_{name}_ms"] = statistics.median(timed_ms(rt.decode, vec, ctx) for _ in range(INNER))
        with torch.no_grad():
            out[f"torch_{name}_ms"] = statistics.median(timed_ms(dec, torch.from_numpy(vec), tctx)
                                                        for _ in range(INNER))
    out["cache_events"] = float(len(s["cache"]))
    return out


def derived(f: dict[str, float]) -> dict[str, float]:
    """torch time over ONNX Runtime time (above 1: ONNX Runtime is faster)."""
    return {f"torch_over_onnx_{n}": f[f"torch_{n}_ms"] / f[f"onnx_{n}_ms"] for n in ("b1", "b16", "cache")}
