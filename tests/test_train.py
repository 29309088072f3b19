"""Training: it runs, logs, checkpoints as safetensors, and a resumed run equals an uninterrupted one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from safetensors.torch import load_file  # noqa: E402
from test_data import make_fixture  # noqa: E402

from siam_rt.errors import SiamError  # noqa: E402
from siam_rt.model.checkpoint import read_metadata  # noqa: E402
from siam_rt.model.config import ModelConfig  # noqa: E402
from siam_rt.train.loop import TrainSettings, learning_rate, train  # noqa: E402

SMALL = ModelConfig(channels=16, hidden=16, dilations=(1, 2), rooms=2)


def _run(data: Path, out: Path, steps: int) -> dict[str, torch.Tensor]:
    train(TrainSettings(data=data, out=out, steps=steps, batch=2, checkpoint_every=1, log_every=1, threads=1),
          cfg=SMALL)
    return load_file(str(out / "model.safetensors"))


def test_resumed_run_equals_uninterrupted_run(tmp_path: Path) -> None:
    make_fixture(tmp_path / "data", seconds=2.0)
    straight = _run(tmp_path / "data", tmp_path / "a", 4)
    _run(tmp_path / "data", tmp_path / "b", 2)
    resumed = _run(tmp_path / "data", tmp_path / "b", 4)
    assert set(straight) == set(resumed)
    for name in straight:
        assert torch.equal(straight[name], resumed[name]), name
    log = [json.loads(line) for line in (tmp_path / "b" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4] and all("time" in r and "examples_per_s" in r for r in log)
    assert (tmp_path / "b" / "loss.png").stat().st_size > 1000
    first = load_file(str(tmp_path / "a" / "checkpoint.safetensors"))
    assert any(k.startswith("optim.") for k in first)  # the optimiser state resumes too


def test_learning_rate_holds_then_falls_along_a_half_cosine() -> None:
    s = TrainSettings(data=Path("."), out=Path("."), steps=1000, lr=1e-3, decay_from=600)
    rates = [learning_rate(s, step) for step in range(1001)]
    assert rates[0] == rates[600] == 1e-3
    assert abs(rates[800] - 5e-4) < 1e-9 and rates[1000] < 1e-12
    assert (np.diff(rates) <= 0).all()
    assert learning_rate(TrainSettings(data=Path("."), out=Path("."), steps=10), 9) == 5e-4  # constant by default


def test_validation_keeps_best_model(tmp_path: Path) -> None:
    """Validation works are scored every few steps, never trained on, and the best-scoring weights are kept."""
    make_fixture(tmp_path / "data", seconds=2.0)
    out = tmp_path / "run"
    train(TrainSettings(data=tmp_path / "data", out=out, steps=4, batch=2, log_every=1, threads=1, valid_every=2,
                        valid_works=("1001",), valid_seconds=2.0), cfg=SMALL)
    rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    valid = [r for r in rows if "valid_score" in r]
    assert [r["step"] for r in valid] == [2, 4]
    assert all(-1 <= r["valid_chroma"] <= 1 and -1 <= r["valid_timing"] <= 1 for r in valid)
    best = max(valid, key=lambda r: r["valid_score"])
    meta = read_metadata(out / "best.safetensors")
    assert int(meta["step"]) == best["step"] and float(meta["valid_score"]) == best["valid_score"]
    assert (out / "loss.png").stat().st_size > 1000


def test_validation_recordings_are_not_trained_on(tmp_path: Path) -> None:
    make_fixture(tmp_path / "data", seconds=2.0)
    with pytest.raises(SiamError, match="no recording"):  # the only other recording is too short to sample
        make_fixture(tmp_path / "short", seconds=1.0)
        shutil.copy(tmp_path / "data" / "train_data" / "1000.wav", tmp_path / "short" / "train_data" / "1000.wav")
        train(TrainSettings(data=tmp_path / "short", out=tmp_path / "run", steps=1, batch=1, threads=1,
                            valid_works=("1000",)), cfg=SMALL)


@pytest.mark.slow
def test_ddp_under_torchrun(tmp_path: Path) -> None:
    """Two CPU processes (gloo) train data-parallel through the CLI entry point."""
    if shutil.which("torchrun") is None:
        pytest.skip("torchrun not on PATH")
    make_fixture(tmp_path / "data", seconds=2.0)
    code = ("from pathlib import Path\nfrom siam_rt.train.loop import TrainSettings, train\n"
            "from siam_rt.model.config import ModelConfig\n"
            "SMALL = ModelConfig(channels=16, hidden=16, dilations=(1, 2), rooms=2)\n"
            f"train(TrainSettings(data=Path({str(tmp_path / 'data')!r}), out=Path({str(tmp_path / 'ddp')!r}), "
            "steps=2, batch=2, threads=1), cfg=SMALL)\n")
    script = tmp_path / "ddp.py"
    script.write_text(code)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.run(["torchrun", "--standalone", "--nproc_per_node", "2", str(script)], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    weights = load_file(str(tmp_path / "ddp" / "model.safetensors"))
    assert all(np.all(np.isfinite(w.numpy())) for w in weights.values())


def test_loss_weights_are_set_by_name_and_unknown_terms_refused(tmp_path: Path) -> None:
    import argparse

    from siam_rt.cli import train as train_cli

    parser = argparse.ArgumentParser()
    train_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["train", "--data", "d", "--loss-weight", "pitch=0.5", "--loss-weight", "hold=1"])
    assert dict(args.loss_weight) == {"pitch": 0.5, "hold": 1.0}
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--data", "d", "--loss-weight", "pitch"])
    with pytest.raises(SiamError, match="unknown loss terms: pich"):
        train(TrainSettings(data=tmp_path, out=tmp_path / "run", loss_weights={"pich": 0.5}), cfg=SMALL)
    assert not (tmp_path / "run").exists()  # refused before anything is written


def test_total_loss_is_the_weighted_sum_of_its_terms(tmp_path: Path) -> None:
    from siam_rt.data.musicnet import load_split
    from siam_rt.model.siam import SIAM
    from siam_rt.train.loop import WEIGHTS, losses
    from siam_rt.train.segments import SegmentSampler

    make_fixture(tmp_path / "data", seconds=2.0)
    batch = SegmentSampler(load_split(tmp_path / "data", "train", SMALL.sample_rate), SMALL, seed=1).batch(2)
    torch.manual_seed(0)
    model = SIAM(SMALL)
    only_pitch = {**{k: 0.0 for k in WEIGHTS}, "pitch": 2.0}
    parts = losses(model, batch, torch.device("cpu"), only_pitch)
    assert float(parts["pitch"]) > 0 and float(parts["total"]) == pytest.approx(2.0 * float(parts["pitch"]))
    default = losses(model, batch, torch.device("cpu"))
    assert "chroma" not in default  # off by default: the base recipe does not pay for it
    assert float(default["total"]) == pytest.approx(sum(WEIGHTS[k] * float(v) for k, v in default.items()
                                                        if k != "total"))
    with_chroma = losses(model, batch, torch.device("cpu"), {**WEIGHTS, "chroma": 3.0})
    assert 0 < float(with_chroma["chroma"]) <= 2
    assert float(with_chroma["total"]) == pytest.approx(float(default["total"]) + 3.0 * float(with_chroma["chroma"]))


def test_a_new_run_starts_from_given_weights(tmp_path: Path) -> None:
    """--init: fine-tuning starts from a model's weights and config; resuming the new run ignores it."""
    make_fixture(tmp_path / "data", seconds=2.0)
    base = _run(tmp_path / "data", tmp_path / "base", 2)
    init = tmp_path / "base" / "model.safetensors"
    train(TrainSettings(data=tmp_path / "data", out=tmp_path / "ft", steps=0, init=init, threads=1))
    assert all(torch.equal(base[k], v) for k, v in load_file(str(tmp_path / "ft" / "model.safetensors")).items())
    train(TrainSettings(data=tmp_path / "data", out=tmp_path / "ft", steps=2, batch=2, init=init, threads=1,
                        log_every=1, loss_weights={"chroma": 1.0}))
    tuned = load_file(str(tmp_path / "ft" / "model.safetensors"))
    assert set(tuned) == set(base) and any(not torch.equal(base[k], tuned[k]) for k in base)
    rows = [json.loads(line) for line in (tmp_path / "ft" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and all(r["chroma"] > 0 for r in rows)
    with pytest.raises(SiamError, match="nothing.safetensors: no such checkpoint"):
        train(TrainSettings(data=tmp_path / "data", out=tmp_path / "none", init=tmp_path / "nothing.safetensors"))
    assert not (tmp_path / "none").exists()
