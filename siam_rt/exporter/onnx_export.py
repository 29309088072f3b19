"""`siam-rt export`: the per-event decoder, the room and the encoder as ONNX files, checked against torch.

Export doubles as validation: every file is reloaded in ONNX Runtime and compared with torch on random inputs;
the figures go into the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from siam_rt.io.atomic import atomic_path, commit
from siam_rt.model.checkpoint import load_model, model_id, read_metadata, save_model
from siam_rt.model.decoder import NOISE_SPAN
from siam_rt.model.siam import SIAM
from siam_rt.runtime.manifest import MANIFEST, SCHEMA_VERSION

OPSET = 18


class _Decoder(nn.Module):
    def __init__(self, model: SIAM) -> None:
        super().__init__()
        self.decoder = model.decoder

    def forward(self, vectors: torch.Tensor, context: torch.Tensor, hold: torch.Tensor,
                noise: torch.Tensor) -> torch.Tensor:
        return self.decoder.synthesise(vectors, context, hold_s=hold, noise_offset=noise)[0]


class _Room(nn.Module):
    def __init__(self, model: SIAM) -> None:
        super().__init__()
        self.room = model.room

    def forward(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ir, wet = self.room(context[None])
        return ir[0], wet[0]


class _Encoder(nn.Module):
    def __init__(self, model: SIAM) -> None:
        super().__init__()
        self.model = model

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, ...]:
        e = self.model.encode(audio)
        return e["frames"], e["mask"], e["amplitudes"], e["vectors"], e["context"]


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str],
            dynamic: dict) -> None:
    import logging

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    prog = torch.onnx.export(module.eval(), args, dynamo=True, opset_version=OPSET, external_data=False,
                             input_names=inputs, output_names=outputs, dynamic_shapes=dynamic, verbose=False)
    prog.save(str(path))


def export_model(checkpoint: str | os.PathLike, out: str | os.PathLike, notes_data: Path | None = None) -> dict:
    """Write decoder.onnx, room.onnx, encoder.onnx, model.safetensors and manifest.json into ``out``; with
    ``notes_data`` (a corpus with isolated notes), also the note map fitted for this model (its brightness ordered
    in the shipped presets' timbres too, rendered again from their FluidSynth recipes).

    The folder is assembled in a temporary folder and moved into place, so a failed export leaves nothing.
    """
    import onnx
    import onnxruntime
    import onnxscript

    checkpoint, out = Path(checkpoint), Path(out)
    model = load_model(checkpoint)
    cfg = model.cfg
    mid = model_id(model.state_dict())
    batch = torch.export.Dim("batch", min=1, max=4096)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=out.parent if out.parent.exists() else None))
    try:
        with torch.no_grad():
            _export(_Decoder(model), (torch.randn(4, cfg.event_dim), torch.randn(cfg.context_dim),
                                      torch.full((4,), -1.0), torch.zeros(4, dtype=torch.int64)),
                    tmp / "decoder.onnx", ["vectors", "context", "hold", "noise"], ["audio"],
                    {"vectors": {0: batch}, "context": None, "hold": {0: batch}, "noise": {0: batch}})
            _export(_Room(model), (torch.randn(cfg.context_dim),), tmp / "room.onnx", ["context"], ["ir", "wet"],
                    {"context": None})
            _export(_Encoder(model), (torch.randn(2, cfg.segment),), tmp / "encoder.onnx", ["audio"],
                    ["frames", "mask", "amplitudes", "vectors", "context"], {"audio": {0: batch}})
        save_model(tmp / "model.safetensors", model, {k: v for k, v in read_metadata(checkpoint).items()
                                                        if k == "step"})
        if notes_data is not None:
            from siam_rt.data.musicnet import load_split
            from siam_rt.notes.fit import fit_note_map
            from siam_rt.timbre.shipped import shipped_sources

            recs = [r for r in load_split(notes_data, "train", cfg.sample_rate, names=None)
                    if r.name.startswith("notes__")]
            fit_note_map(model, mid, recs, timbres=shipped_sources(cfg.sample_rate)).save(tmp / "note_map.npz")
        elif _note_map_for(out / "note_map.npz", mid):  # a re-export of the same model keeps its fitted note map
            shutil.copy2(out / "note_map.npz", tmp / "note_map.npz")
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "model_id": mid,
            "sample_rate": cfg.sample_rate,
            "segment": cfg.segment,
            "hop": cfg.hop,
            "k": cfg.k,
            "event_dim": cfg.event_dim,
            "context_dim": cfg.context_dim,
            "event_len": cfg.event_len,
            "ir_len": cfg.ir_len,
            "low_pitch": cfg.low_pitch,
            "n_pitches": cfg.n_pitches,
            "opset": OPSET,
            "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxscript": onnxscript.__version__,
                         "onnxruntime": onnxruntime.__version__},
            "training": {k: v for k, v in read_metadata(checkpoint).items() if k in ("step",)},
            "files": {p.name: _sha256(p) for p in sorted(tmp.iterdir())},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        manifest["parity"] = check_parity(model, tmp)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        out.mkdir(parents=True, exist_ok=True)
        for p in tmp.iterdir():
            commit(p, out / p.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def _note_map_for(path: Path, mid: str) -> bool:
    """True when ``path`` is a note map fitted for the model ``mid``."""
    if not path.is_file():
        return False
    with np.load(path, allow_pickle=False) as data:
        return "model_id" in data and str(data["model_id"]) == mid


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_parity(model: SIAM, folder: Path, seed: int = 0) -> dict[str, float]:
    """Largest differences between torch and ONNX Runtime (1 thread) on random inputs at batch 1 and 16."""
    from siam_rt.runtime.onnx_model import OnnxModel

    rt = OnnxModel(folder, threads=1, verify=False)
    rng = np.random.default_rng(seed)
    cfg = model.cfg
    result: dict[str, float] = {}
    with torch.no_grad():
        for b in (1, 16):
            vec = rng.standard_normal((b, cfg.event_dim)).astype(np.float32)
            ctx = rng.standard_normal(cfg.context_dim).astype(np.float32)
            hold = np.where(rng.random(b) < 0.5, -1.0, rng.uniform(0, 1.6, b)).astype(np.float32)
            noise = rng.integers(0, NOISE_SPAN, b)
            ref = model.decoder.synthesise(torch.from_numpy(vec), torch.from_numpy(ctx), hold_s=torch.from_numpy(hold),
                                           noise_offset=torch.from_numpy(noise))[0].numpy()
            got = rt.decode(vec, ctx, hold, noise)
            result[f"decoder_b{b}_err_of_peak"] = float(np.max(np.abs(got - ref).max(1) / np.abs(ref).max(1)))
        ctx = rng.standard_normal(cfg.context_dim).astype(np.float32)
        ir, wet = model.room(torch.from_numpy(ctx)[None])
        ir2, wet2 = rt.room(ctx)
        result["room_err_of_peak"] = float(np.abs(ir2 - ir[0].numpy()).max() / np.abs(ir[0].numpy()).max())
        result["wet_err"] = float(abs(wet2 - float(wet[0])))
    return result


def fit_notes_as_played(folder: Path, presets_dir: Path) -> int:
    """Order the note map in ``folder`` for brightness as the engine plays it in the presets of ``presets_dir``
    (``siam_rt.notes.fit.order_brightness_as_played``), then take the stretch out of its low keys in those presets
    (``reduce_stretch``: the pianos' low register read sharp); rewrite it and its checksum in the manifest; returns
    how many (preset, key) pairs were still flat for brightness."""
    from siam_rt.engine.room import synthetic_ir
    from siam_rt.notes.fit import order_brightness_as_played, played_timbre, reduce_stretch
    from siam_rt.notes.note_map import NoteMap
    from siam_rt.runtime.onnx_model import OnnxModel
    from siam_rt.timbre.bank import load_bank

    model = load_model(folder / "model.safetensors").eval()
    runtime = OnnxModel(folder, threads=1)
    note_map = NoteMap.load(folder / "note_map.npz", runtime.model_id)
    bank = load_bank(presets_dir, runtime.model_id)
    timbres = []
    for name in sorted(bank.presets):
        preset = bank.get(name)
        room = preset.behaviour.room
        ir, wet = runtime.room(preset.context) if room is None else \
            (synthetic_ir(room.rt60_s, runtime.sample_rate), room.wet)
        if preset.engine.reverb_mix is not None:
            wet = preset.engine.reverb_mix
        timbres.append(played_timbre(model, preset.context, preset.behaviour, ir, wet, note_map.layers))
    centre, flat = order_brightness_as_played(model, note_map.centre, timbres)
    note_map.centre = reduce_stretch(model, centre, torch.stack([t["context"] for t in timbres]))
    with atomic_path(folder / "note_map.npz", ".npz") as tmp:
        note_map.save(tmp)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"]["note_map.npz"] = _sha256(folder / "note_map.npz")
    with atomic_path(folder / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    return flat
