"""`siam-rt analyze`: segments streamed onto one timeline without doubled events, silence, any rate and channel
count, the .siam.json schema, and the streamed renderer against the whole-signal one."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from audio_helpers import plucks, write

from siam_rt.analysis.analyze import FileAnalysis, analyze_file
from siam_rt.analysis.encoding_file import from_json, load_encoding, save_encoding, to_json
from siam_rt.analysis.render import Score, render_blocks
from siam_rt.analysis.timeline import LEAD_FRAMES, apply_room, encode_audio, iter_segments, stream_segments
from siam_rt.engine.room import WetDry
from siam_rt.errors import SiamError
from siam_rt.runtime.onnx_model import OnnxModel


@pytest.fixture(scope="module")
def model() -> OnnxModel:
    return OnnxModel(threads=1)


class ClickCodec:
    """A model stand-in that reports one event exactly at each click (a sample above 0.5) in a segment: so the
    merge of overlapping segments can be checked against known onsets."""

    sample_rate, segment, hop, k, event_len = 1000, 400, 10, 16, 50
    model_id = "click"

    def encode(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        b = len(audio)
        out = {"frames": np.zeros((b, self.k), np.int64), "mask": np.zeros((b, self.k), np.float32),
               "amplitudes": np.zeros((b, self.k), np.float32), "vectors": np.zeros((b, self.k, 4), np.float32),
               "context": np.zeros((b, 2), np.float32)}
        for i, seg in enumerate(audio):
            clicks = np.flatnonzero(seg > 0.5)[: self.k]
            out["frames"][i, : len(clicks)] = clicks // self.hop
            out["mask"][i, : len(clicks)] = 1
            out["amplitudes"][i, : len(clicks)] = seg[clicks]
        return out


@pytest.mark.parametrize("n", [0, 1, 199, 200, 201, 399, 400, 401, 777, 4000, 4001])
@pytest.mark.parametrize("block", [1, 37, 400, 100000])
def test_stream_segments_match_the_whole_signal(n: int, block: int) -> None:
    """Streaming in blocks of any size gives exactly the segments of the in-memory split, last one flagged."""
    audio = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    ref = list(iter_segments(audio, 400, 10, 40))
    got = list(stream_segments((audio[i: i + block] for i in range(0, n, block)), 400, 10, 40))
    assert [g.start for g in got] == [s for s, _ in ref]
    assert all(np.array_equal(g.audio, a) for g, (_, a) in zip(got, ref, strict=True))
    assert [g.last for g in got] == [False] * (len(ref) - 1) + [True]
    assert got[0].start == -40 and got[-1].start + got[-1].valid == n


def test_seams_neither_double_nor_drop_known_onsets() -> None:
    """Every click is seen by two overlapping segments; the timeline has each exactly once, seams included."""
    codec = ClickCodec()
    n = 10_000
    # some right at seams; one at the first sample; none in the file's last END_FRAMES frames, which keep none
    onsets = np.concatenate([[0], np.arange(30, n, 97), [99, 100, 200, 300, 500, 600, 9970]])
    onsets = np.unique(onsets[onsets < n]) // 10 * 10  # on frame boundaries
    onsets = np.unique(onsets)
    audio = np.zeros(n, np.float32)
    audio[onsets] = 0.9
    enc = encode_audio(codec, audio)
    times = np.array([e.time * codec.sample_rate for e in enc.events]).round().astype(int)
    assert list(times) == list(onsets)
    assert len(enc.contexts) == len(list(iter_segments(audio, codec.segment, codec.hop, LEAD_FRAMES * codec.hop)))


def test_each_segment_is_encoded_at_its_own_level() -> None:
    """A quiet passage reaches the encoder at full scale, as training segments do, and its events come back at
    the file's level; a segment far below the file's peak is boosted by at most MAX_SEGMENT_GAIN, and one below
    QUIET_SEGMENT gets no events."""
    from siam_rt.analysis.timeline import MAX_SEGMENT_GAIN, QUIET_SEGMENT

    codec = ClickCodec()  # reports clicks above 0.5 of what it is given
    audio = np.zeros(6000, np.float32)
    audio[100:900:100] = 0.9
    audio[2100:2900:100] = 0.009  # -40 dB: boosted to full scale
    capped = 0.9 * 0.3 / MAX_SEGMENT_GAIN  # boosted to 0.3 of full scale: no click above 0.5
    audio[3700:4300:100] = capped
    audio[5000:5600:100] = 0.9 * QUIET_SEGMENT / 2
    enc = encode_audio(codec, audio)
    got = {round(e.time * codec.sample_rate): e.amplitude for e in enc.events}
    assert sorted(got) == list(range(100, 900, 100)) + list(range(2100, 2900, 100))
    assert all(abs(got[t] - (0.9 if t < 1000 else 0.009)) < 1e-6 for t in got)


def _write_plucks(path: Path, seconds: float, rate: int, channels: int = 1) -> tuple[Path, np.ndarray]:
    audio, onsets = plucks(seconds, rate, channels=channels)
    return write(path, audio, rate), onsets


def test_long_file_has_no_doubled_events_at_seams(model: OnnxModel, tmp_path: Path) -> None:
    """A 20 s file streamed in segments: each event lies in the part its segment owns, no two events from
    neighbouring segments sit within two frames of each other, and the result equals encoding it in memory."""
    path, _ = _write_plucks(tmp_path / "long.wav", 20.0, model.sample_rate)
    enc = analyze_file(model, path)
    seg, hop = model.segment, model.hop
    assert len(enc.contexts) == len(list(iter_segments(np.zeros(int(20.0 * model.sample_rate)), seg, model.hop,
                                                             LEAD_FRAMES * model.hop)))
    assert enc.events, "plucked tones should give events"
    last = len(enc.contexts) - 1
    for e in enc.events:
        t = e.frame * hop
        assert (0 if e.segment == 0 else seg // 4) <= t < (seg if e.segment == last else 3 * seg // 4)
        lead = LEAD_FRAMES * hop  # the silence put before the first sample
        assert abs(e.time - max(e.segment * seg // 2 - lead + t, 0) / model.sample_rate) < 1e-9
    for a, b in zip(enc.events, enc.events[1:], strict=False):
        if a.segment != b.segment:
            assert b.time - a.time > 2 * hop / model.sample_rate, f"doubled event at {a.time:.3f} s"
    import soundfile as sf

    memory = encode_audio(model, sf.read(str(path), dtype="float32")[0])
    assert [(e.time, e.frame) for e in memory.events] == [(e.time, e.frame) for e in enc.events]
    assert np.allclose(memory.contexts, enc.contexts, atol=1e-5)


def test_silence_encodes_to_no_events(model: OnnxModel, tmp_path: Path) -> None:
    """Digital silence and -90 dBFS noise both give zero events (but a context per segment)."""
    zeros = write(tmp_path / "zeros.wav", np.zeros(3 * 44100, np.float32), 44100)
    hiss = write(tmp_path / "hiss.flac", (np.random.default_rng(0).standard_normal(3 * 48000) * 3e-5), 48000)
    for path in (zeros, hiss):
        enc = analyze_file(model, path)
        assert enc.events == []
        assert len(enc.contexts) >= 1 and abs(enc.duration - 3.0) < 1e-3


@pytest.mark.parametrize("rate,channels,suffix", [(44100, 2, ".wav"), (48000, 1, ".flac"), (22050, 2, ".ogg"),
                                                   (44100, 1, ".mp3"), (8000, 1, ".wav")])
def test_any_rate_and_channel_count(model: OnnxModel, tmp_path: Path, rate: int, channels: int,
                                    suffix: str) -> None:
    """Files at any rate, mono or stereo, in every supported format analyse to the same timeline length."""
    path, _ = _write_plucks(tmp_path / f"in{suffix}", 4.0, rate, channels)
    enc = analyze_file(model, path)
    assert abs(enc.duration - 4.0) < 0.08  # mp3 adds a little padding
    assert enc.events and enc.sample_rate == model.sample_rate
    assert enc.source["sample_rate"] == rate and enc.source["channels"] == channels


def test_stereo_is_its_mono_mix(model: OnnxModel, tmp_path: Path) -> None:
    """A stereo file encodes like the mean of its channels."""
    audio, _ = plucks(3.0, model.sample_rate, channels=2)
    stereo = analyze_file(model, write(tmp_path / "s.wav", audio, model.sample_rate, subtype="FLOAT"))
    mono = analyze_file(model, write(tmp_path / "m.wav", audio.mean(axis=1), model.sample_rate, subtype="FLOAT"))
    assert [(e.time, e.frame) for e in stereo.events] == [(e.time, e.frame) for e in mono.events]


def test_encoding_file_schema_and_round_trip(model: OnnxModel, tmp_path: Path) -> None:
    """The file has the schema's fields; reading it back gives the same encoding."""
    path, _ = _write_plucks(tmp_path / "x.wav", 3.0, 44100, 2)
    enc = analyze_file(model, path)
    out = tmp_path / "x.siam.json"
    save_encoding(out, enc, model.segment, model.hop)
    raw = json.loads(out.read_text())
    assert raw["schema_version"] == 1 and raw["kind"] == "siam-rt encoding"
    assert raw["model_id"] == model.model_id and raw["sample_rate"] == model.sample_rate
    assert len(raw["contexts"]) == len(enc.contexts) and len(raw["context"]) == model.context_dim
    assert np.allclose(raw["context"], np.mean(raw["contexts"], axis=0), atol=1e-4)
    ev = raw["events"][0]
    assert set(ev) == {"time", "segment", "frame", "amplitude", "vector"} and len(ev["vector"]) == model.event_dim
    back = load_encoding(out)
    assert len(back.events) == len(enc.events)
    assert np.allclose([e.time for e in back.events], [e.time for e in enc.events], atol=1e-6)
    assert np.allclose(np.stack([e.vector for e in back.events]), np.stack([e.vector for e in enc.events]), rtol=1e-5)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary files left


@pytest.mark.parametrize("edit,field", [
    (lambda r: r.update(kind="other"), "'kind'"),
    (lambda r: r.update(schema_version=9), "'schema_version'"),
    (lambda r: r["events"][1].update(vector=[0.0] * 3), "'events[1].vector'"),
    (lambda r: r["events"][0].update(time="soon"), "'events[0].time'"),
    (lambda r: r["events"][0].update(segment=999), "'events[0].segment'"),
    (lambda r: r["contexts"][0].__setitem__(2, None), "'contexts[0]'"),
    (lambda r: r.pop("events"), "'events'"),
    (lambda r: r["events"][0].update(amplitude=-1), "'events[0].amplitude'"),
])
def test_bad_encoding_fields_are_named(model: OnnxModel, tmp_path: Path, edit, field: str) -> None:
    """A damaged .siam.json is refused with the file and the field in the message."""
    path, _ = _write_plucks(tmp_path / "x.wav", 2.0, 22050)
    raw = to_json(analyze_file(model, path), model.segment, model.hop)
    assert len(raw["events"]) >= 2
    edit(raw)
    with pytest.raises(SiamError, match=re.escape(f"bad.siam.json: field {field}")):
        from_json(raw, tmp_path / "bad.siam.json")


def test_room_stream_equals_one_convolution() -> None:
    """The streaming room over blocks (the last one shorter) gives the whole-signal room, as does apply_room."""
    rng = np.random.default_rng(1)
    dry = rng.standard_normal(5000).astype(np.float32)
    ir = (rng.standard_normal(1700) * np.exp(-np.arange(1700) / 300)).astype(np.float32)
    want = 0.6 * dry + 0.4 * np.convolve(dry.astype(np.float64), ir)[: len(dry)]
    room = WetDry(ir, 0.4, 512)
    got = np.concatenate([room.process(dry[i: i + 512]) for i in range(0, len(dry), 512)])
    assert np.abs(got - want).max() < 1e-5 * np.abs(want).max()
    assert np.abs(apply_room(dry, ir, 0.4) - want).max() < 1e-5 * np.abs(want).max()


def _whole_render(codec: OnnxModel, times: np.ndarray, amplitudes: np.ndarray, vectors: np.ndarray,
                  context: np.ndarray, length: int) -> np.ndarray:
    """The plain reference: every event decoded and added in, then the room over the whole signal."""
    out = np.zeros(length + codec.event_len, np.float32)
    audio = codec.decode(vectors, context)
    for t, a, ev in zip(times, amplitudes, audio, strict=True):
        start = int(round(t * codec.sample_rate))
        out[start: start + codec.event_len] += a * ev
    return apply_room(out[:length], *codec.room(context))


def test_streamed_render_equals_whole_render(model: OnnxModel) -> None:
    """render_blocks (blocks, batches grouped by context) equals a whole-signal render in one context."""
    rng = np.random.default_rng(2)
    e, length = 40, 5 * model.sample_rate
    times = np.sort(rng.uniform(0, 5, e))
    amps = rng.uniform(0.1, 1, e).astype(np.float32)
    vecs = rng.standard_normal((e, model.event_dim)).astype(np.float32)
    ctx = rng.standard_normal(model.context_dim).astype(np.float32)
    ref = _whole_render(model, times, amps, vecs, ctx, length)
    score = Score(times, amps, vecs, np.zeros(e, np.int64), ctx[None], ctx, length)
    got = np.concatenate(list(render_blocks(model, score, block=20000, batch=7)))
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < 1e-4 * max(np.abs(ref).max(), 1e-3)


def test_analyze_cli_runs_without_torch(tmp_path: Path) -> None:
    """`siam-rt analyze` writes the encoding and never imports torch."""
    path, _ = _write_plucks(tmp_path / "in.wav", 2.0, 44100, 2)
    out = tmp_path / "out.siam.json"
    code = ("import sys; from siam_rt.cli import main; rc = main(['analyze', sys.argv[1], '-o', sys.argv[2]]); "
            "assert 'torch' not in sys.modules, 'torch imported'; raise SystemExit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, str(path), str(out)], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 0, proc.stderr
    assert "events in 2.0 s" in proc.stdout
    assert load_encoding(out).model_id


def test_window_of_a_file(model: OnnxModel, tmp_path: Path) -> None:
    """A window (as the report uses) starts where asked and lasts as long as asked."""
    path, _ = _write_plucks(tmp_path / "in.wav", 6.0, 44100)
    job = FileAnalysis(model, path, start=2.0, seconds=3.0)
    job.scan()
    enc = job.encode()
    assert abs(enc.duration - 3.0) < 1e-3 and enc.source["start"] == 2.0
    with pytest.raises(SiamError, match="after the end"):
        FileAnalysis(model, path, start=7.0)
