"""An exported SIAM model run by ONNX Runtime: decoder, room and encoder behind the Codec interface.

It validates the files against the manifest, picks execution providers explicitly (CPU for the real-time
path; CUDA only when a session really runs there), keeps onnxruntime-gpu's CUDA-missing noise away from the
user, warms up, and never lets NaN or infinity reach an output buffer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from siam_rt.errors import SiamError
from siam_rt.io.checksums import check_listed
from siam_rt.runtime.manifest import FILES, Manifest, read_manifest

NOISE_SPAN = 8192  # the decoder's noise offsets are 0..NOISE_SPAN-1 (siam_rt.model.decoder.NOISE_SPAN)
_CUDA = "CUDAExecutionProvider"
_CPU = "CPUExecutionProvider"


def _quiet_ort():
    import onnxruntime as ort

    ort.set_default_logger_severity(4)  # CUDA-missing errors of onnxruntime-gpu on machines without a GPU
    return ort


class OnnxModel:
    """The exported model in ``folder`` (default: the bundled model).

    ``device``: "cpu" (default), "cuda" (falls back to CPU, and says so in ``providers``) or "auto".
    ``threads``: intra-op threads per session (1 suits the real-time path).
    """

    def __init__(self, folder: str | Path | None = None, device: str = "cpu", threads: int = 1,
                 warmup: bool = True, verify: bool = True) -> None:
        if folder is None:
            from siam_rt.resources import default_model_dir

            folder = default_model_dir()
        self.manifest: Manifest = read_manifest(folder)
        m = self.manifest
        self.sample_rate, self.segment, self.hop, self.k = m.sample_rate, m.segment, m.hop, m.k
        self.event_len, self.event_dim, self.context_dim = m.event_len, m.event_dim, m.context_dim
        self.model_id = m.model_id
        self.threads = threads
        self.nonfinite_outputs = 0
        ort = _quiet_ort()
        wanted = {"cpu": [_CPU], "cuda": [_CUDA, _CPU], "auto": [_CUDA, _CPU]}.get(device)
        if wanted is None:
            raise SiamError(f"unknown device {device!r}; use cpu, cuda or auto")
        self._wanted = [p for p in wanted if p in ort.get_available_providers()] or [_CPU]
        for name in FILES:
            path = Path(m.folder) / name
            if not path.is_file():
                raise SiamError(f"{path}: missing ONNX file (listed by {m.folder / 'manifest.json'})")
            if verify:
                self._verify(path)
        # the encoder is loaded on first use: playing and rendering never need it
        self.sessions = {name: self._load(name) for name in ("decoder.onnx", "room.onnx")}
        self.providers = self.sessions["decoder.onnx"].get_providers()
        self.device = "cuda" if self.providers[0] == _CUDA else "cpu"
        self._check_io()
        if warmup:
            self.decode(np.zeros((1, self.event_dim), np.float32), np.zeros(self.context_dim, np.float32))

    def _load(self, name: str):
        ort = _quiet_ort()
        path = Path(self.manifest.folder) / name
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 4
        try:
            return ort.InferenceSession(str(path), opts, providers=self._wanted)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise SiamError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0][:200]})") from None

    def _encoder(self):
        if "encoder.onnx" not in self.sessions:
            session = self._load("encoder.onnx")
            shape = session.get_inputs()[0].shape
            if shape[-1] != self.segment:
                raise SiamError(f"{self.manifest.folder / 'encoder.onnx'}: input {shape} does not match segment "
                                f"{self.segment}")
            self.sessions["encoder.onnx"] = session
        return self.sessions["encoder.onnx"]

    def describe(self) -> str:
        """One line on what the model runs on."""
        import onnxruntime as ort

        return (f"model {self.model_id[:12]} on {self.device.upper()} ({', '.join(self.providers)}), "
                f"{self.threads} thread(s), onnxruntime {ort.__version__}")

    def _verify(self, path: Path) -> None:
        check_listed(path)

    def _check_io(self) -> None:
        m = self.manifest
        dec = self.sessions["decoder.onnx"]
        shapes = {i.name: i.shape for i in dec.get_inputs()}
        self.takes_hold = "hold" in shapes and "noise" in shapes
        out = dec.get_outputs()[0].shape
        if shapes.get("vectors", [None, None])[-1] != m.event_dim or shapes.get("context") != [m.context_dim] \
                or out[-1] != m.event_len:
            raise SiamError(f"{m.folder / 'decoder.onnx'}: its inputs/outputs {shapes} -> {out} do not match the "
                            f"manifest (event_dim {m.event_dim}, context_dim {m.context_dim}, "
                            f"event_len {m.event_len})")

    def _vectors(self, vectors: np.ndarray, context: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        context = np.ascontiguousarray(context, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.event_dim:
            raise SiamError(f"event vectors must have shape [N, {self.event_dim}], not {list(vectors.shape)}")
        if context.shape != (self.context_dim,):
            raise SiamError(f"context must have shape [{self.context_dim}], not {list(context.shape)}")
        if not (np.all(np.isfinite(vectors)) and np.all(np.isfinite(context))):
            raise SiamError("event vectors or context hold NaN or infinity")
        return vectors, context

    def _finite(self, out: np.ndarray) -> np.ndarray:
        if np.isfinite(out.sum(dtype=np.float64)):  # one pass: a NaN or inf anywhere makes the sum non-finite
            return out
        bad = ~np.isfinite(out)
        if bad.any():
            self.nonfinite_outputs += int(bad.sum())
            out = np.where(bad, np.float32(0), out)
        return out

    def decode(self, vectors: np.ndarray, context: np.ndarray, hold: np.ndarray | None = None,
               noise: np.ndarray | None = None) -> np.ndarray:
        """Event vectors [N, D] in context [C] -> unit-norm event audio [N, event_len] at the model rate.

        ``hold`` [N]: seconds each event's envelope holds (negative or None: the vector's own); ``noise`` [N]:
        each event's offset into the fixed noise (0..8191; None: 0, the training noise). A decoder exported
        before these inputs existed plays every event with its own hold and the training noise."""
        vectors, context = self._vectors(vectors, context)
        if len(vectors) == 0:
            return np.zeros((0, self.event_len), np.float32)
        feed = {"vectors": vectors, "context": context}
        if self.takes_hold:
            n = len(vectors)
            feed["hold"] = np.full(n, -1.0, np.float32) if hold is None else \
                np.ascontiguousarray(np.broadcast_to(hold, (n,)), np.float32)
            feed["noise"] = np.zeros(n, np.int64) if noise is None else \
                np.ascontiguousarray(np.broadcast_to(noise, (n,)), np.int64)
        out = self.sessions["decoder.onnx"].run(None, feed)[0]
        return self._finite(out)

    def room(self, context: np.ndarray) -> tuple[np.ndarray, float]:
        """Context [C] -> the room's impulse response [L] and wet level in 0..1."""
        _, context = self._vectors(np.zeros((1, self.event_dim), np.float32), context)
        ir, wet = self.sessions["room.onnx"].run(None, {"context": context})
        return self._finite(ir), float(np.clip(np.nan_to_num(wet), 0.0, 1.0))

    def encode(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        """Segments [B, segment] -> frames, mask, amplitudes, vectors and context (see Codec)."""
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        if audio.ndim != 2 or audio.shape[1] != self.segment:
            raise SiamError(f"audio segments must have shape [B, {self.segment}], not {list(audio.shape)}")
        if not np.all(np.isfinite(audio)):
            raise SiamError("audio holds NaN or infinity")
        names = ("frames", "mask", "amplitudes", "vectors", "context")
        outs = self._encoder().run(None, {"audio": audio})
        return {n: (o if n == "frames" else self._finite(o)) for n, o in zip(names, outs, strict=True)}
