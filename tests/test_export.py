"""ONNX export: parity with torch, the manifest, the committed default, and bad input at the runtime."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from siam_rt.errors import SiamError  # noqa: E402
from siam_rt.exporter.onnx_export import export_model  # noqa: E402
from siam_rt.model.checkpoint import load_model, model_id, save_model  # noqa: E402
from siam_rt.model.config import ModelConfig  # noqa: E402
from siam_rt.model.siam import SIAM  # noqa: E402
from siam_rt.resources import default_model_dir  # noqa: E402
from siam_rt.runtime.onnx_model import OnnxModel  # noqa: E402

SMALL = ModelConfig(channels=32, hidden=32, dilations=(1, 2, 4), rooms=3)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[SIAM, Path]:
    torch.manual_seed(0)
    model = SIAM(SMALL)
    for layer in model.decoder.body:  # make the context matter, as after training
        torch.nn.init.normal_(layer.film.weight, std=0.3)
    torch.nn.init.normal_(model.encoder.switch.weight, std=0.3)
    torch.nn.init.constant_(model.encoder.switch.bias, 1.0)  # an untrained switch that fires
    tmp = tmp_path_factory.mktemp("export")
    save_model(tmp / "ckpt.safetensors", model)
    export_model(tmp / "ckpt.safetensors", tmp / "model")
    return load_model(tmp / "ckpt.safetensors"), tmp / "model"


def _real_audio(n: int, segment: int) -> np.ndarray:
    """Plucked-string-like tones with onsets: 'real' input with events for the encoder."""
    rng = np.random.default_rng(3)
    t = np.arange(segment) / 22050
    out = np.zeros((n, segment), np.float32)
    for i in range(n):
        for start in rng.uniform(0, 1.2, 4):
            f = 110 * 2 ** rng.uniform(0, 3)
            on = t >= start
            out[i, on] += np.sin(2 * np.pi * f * (t[on] - start)) * np.exp(-4 * (t[on] - start))
    return out / np.abs(out).max(axis=1, keepdims=True)


def test_manifest_holds_what_the_runtime_needs(exported: tuple[SIAM, Path]) -> None:
    model, folder = exported
    m = json.loads((folder / "manifest.json").read_text())
    assert m["model_id"] == model_id(model.state_dict())
    assert m["opset"] >= 18 and m["sample_rate"] == 22050 and m["event_len"] == SMALL.event_len
    assert {"torch", "onnx", "onnxruntime"} <= set(m["versions"])
    assert set(m["files"]) >= {"decoder.onnx", "room.onnx", "encoder.onnx", "model.safetensors"}


@pytest.mark.parametrize("batch", [1, 16])
def test_decoder_and_room_parity(exported: tuple[SIAM, Path], batch: int) -> None:
    model, folder = exported
    rt = OnnxModel(folder)
    rng = np.random.default_rng(batch)
    vec = rng.standard_normal((batch, SMALL.event_dim)).astype(np.float32)
    ctx = rng.standard_normal(SMALL.context_dim).astype(np.float32)
    with torch.no_grad():
        ref = model.decoder(torch.from_numpy(vec), torch.from_numpy(ctx)).numpy()
        ir, wet = model.room(torch.from_numpy(ctx)[None])
    got = rt.decode(vec, ctx)
    assert got.shape == ref.shape
    assert np.max(np.abs(got - ref).max(axis=1) / np.abs(ref).max(axis=1)) < 1e-4
    ir2, wet2 = rt.room(ctx)
    assert np.abs(ir2 - ir[0].numpy()).max() < 1e-4 * np.abs(ir[0].numpy()).max()
    assert abs(wet2 - float(wet[0])) < 1e-5


@pytest.mark.parametrize("batch", [1, 16])
def test_encoder_parity_on_random_and_real_audio(exported: tuple[SIAM, Path], batch: int) -> None:
    model, folder = exported
    rt = OnnxModel(folder)
    rng = np.random.default_rng(0)
    for audio in (0.3 * rng.standard_normal((batch, SMALL.segment)).astype(np.float32),
                  _real_audio(batch, SMALL.segment)):
        with torch.no_grad():
            ref = {k: v.numpy() for k, v in model.encode(torch.from_numpy(audio)).items()}
        got = rt.encode(audio)
        live = ref["mask"] > 0
        assert live.any()
        assert np.array_equal(np.sort(got["frames"][got["mask"] > 0]), np.sort(ref["frames"][live]))
        for row in range(batch):  # the live events of each segment, in frame order (masked slots may differ)
            r_live, g_live = live[row], got["mask"][row] > 0
            order_r, order_g = np.argsort(ref["frames"][row][r_live]), np.argsort(got["frames"][row][g_live])
            for key in ("amplitudes", "vectors"):
                r, g = ref[key][row][r_live][order_r], got[key][row][g_live][order_g]
                assert np.abs(r - g).max(initial=0.0) < 1e-4
        assert np.abs(got["context"] - ref["context"]).max() < 1e-4


def test_committed_default_matches_its_checkpoint() -> None:
    """The committed ONNX files and the committed checkpoint cannot drift apart."""
    folder = default_model_dir()
    if not (folder / "manifest.json").is_file():
        pytest.skip("no default model exported yet")
    model = load_model(folder / "model.safetensors")
    rt = OnnxModel(folder)
    assert rt.model_id == model_id(model.state_dict())
    rng = np.random.default_rng(7)
    vec = rng.standard_normal((16, model.cfg.event_dim)).astype(np.float32)
    ctx = rng.standard_normal(model.cfg.context_dim).astype(np.float32)
    with torch.no_grad():
        ref = model.decoder(torch.from_numpy(vec), torch.from_numpy(ctx)).numpy()
    assert np.max(np.abs(rt.decode(vec, ctx) - ref).max(axis=1) / np.abs(ref).max(axis=1)) < 1e-4
    audio = _real_audio(2, model.cfg.segment)
    with torch.no_grad():
        enc = model.encode(torch.from_numpy(audio))
    got = rt.encode(audio)
    assert np.array_equal(np.sort(got["frames"][got["mask"] > 0]), np.sort(enc["frames"].numpy()[enc["mask"] > 0]))


def test_bad_model_folders_give_clear_errors(exported: tuple[SIAM, Path], tmp_path: Path) -> None:
    _, folder = exported
    copy = tmp_path / "m"
    shutil.copytree(folder, copy)
    (copy / "room.onnx").unlink()
    with pytest.raises(SiamError, match=r"room\.onnx: missing ONNX file"):
        OnnxModel(copy)
    shutil.copyfile(folder / "room.onnx", copy / "room.onnx")
    (copy / "decoder.onnx").write_bytes(b"garbage")
    with pytest.raises(SiamError, match=r"decoder\.onnx: does not match the manifest"):
        OnnxModel(copy)
    with pytest.raises(SiamError, match=r"decoder\.onnx: not a loadable ONNX model"):
        OnnxModel(copy, verify=False)
    shutil.copyfile(folder / "decoder.onnx", copy / "decoder.onnx")
    manifest = json.loads((folder / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "event_dim": 12}))
    with pytest.raises(SiamError, match=r"decoder\.onnx: its inputs/outputs .* do not match the manifest"):
        OnnxModel(copy)
    (copy / "manifest.json").write_text("{not json")
    with pytest.raises(SiamError, match=r"manifest\.json: malformed JSON"):
        OnnxModel(copy)
    (copy / "manifest.json").write_text(json.dumps({**manifest, "hop": "256"}))
    with pytest.raises(SiamError, match=r"manifest\.json: field 'hop'"):
        OnnxModel(copy)
    with pytest.raises(SiamError, match="no manifest"):
        OnnxModel(tmp_path)


def test_bad_inputs_never_reach_the_output(exported: tuple[SIAM, Path]) -> None:
    _, folder = exported
    rt = OnnxModel(folder)
    ctx = np.zeros(SMALL.context_dim, np.float32)
    with pytest.raises(SiamError, match=r"shape \[N, 16\]"):
        rt.decode(np.zeros((2, 15), np.float32), ctx)
    with pytest.raises(SiamError, match=r"context must have shape"):
        rt.decode(np.zeros((2, 16), np.float32), np.zeros(3, np.float32))
    bad = np.zeros((2, 16), np.float32)
    bad[1, 3] = np.nan
    with pytest.raises(SiamError, match="NaN or infinity"):
        rt.decode(bad, ctx)
    bad[1, 3] = np.inf
    with pytest.raises(SiamError, match="NaN or infinity"):
        rt.decode(bad, ctx)
    with pytest.raises(SiamError, match=r"audio segments must have shape"):
        rt.encode(np.zeros((1, 100), np.float32))
    huge = np.full((4, 16), 1e30, np.float32)  # finite but absurd: the output still holds only finite samples
    assert np.all(np.isfinite(rt.decode(huge, ctx)))


def test_runtime_needs_no_torch_and_stays_quiet(exported: tuple[SIAM, Path]) -> None:
    _, folder = exported
    code = (
        "import sys, numpy as np\n"
        "from siam_rt.runtime.onnx_model import OnnxModel\n"
        f"m = OnnxModel({str(folder)!r}, device='auto')\n"
        "m.decode(np.zeros((3, 16), np.float32), np.zeros(16, np.float32))\n"
        "print(m.describe())\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "on CPU" in proc.stdout or "on CUDA" in proc.stdout
    assert "CUDA" not in proc.stderr and "error" not in proc.stderr.lower(), proc.stderr


def test_the_note_map_and_the_weights_are_checked_against_the_manifest(tmp_path: Path) -> None:
    """A changed note_map.npz or model.safetensors in an exported folder is refused, naming the file."""
    import shutil

    from siam_rt.errors import SiamError
    from siam_rt.model.checkpoint import load_model
    from siam_rt.notes.note_map import NoteMap
    from siam_rt.resources import default_model_dir

    folder = tmp_path / "export"
    shutil.copytree(default_model_dir(), folder, ignore=shutil.ignore_patterns("heldout", "training", "*.png"))
    NoteMap.load(folder / "note_map.npz")  # as exported: fine
    for name, load in (("note_map.npz", NoteMap.load), ("model.safetensors", load_model)):
        raw = bytearray((folder / name).read_bytes())
        raw[-1] ^= 0xFF
        (folder / name).write_bytes(bytes(raw))
        with pytest.raises(SiamError, match=f"{name}: does not match the manifest"):
            load(folder / name)
