"""Bad input to analyze and resynth: a clear one-line error (exit 2, no traceback) and no output, half-written
or whole. A file is decoded by its content: an extension that lies about a real audio format still works."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from audio_helpers import plucks, write


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good and bad inputs, made once."""
    d = tmp_path_factory.mktemp("inputs")
    audio, _ = plucks(3.0, 44100, channels=2)
    good = {
        "wav": write(d / "good.wav", audio, 44100),
        "ogg": write(d / "good.ogg", audio, 44100),
        "flac": write(d / "good.flac", audio, 44100),
        "mp3": write(d / "good.mp3", audio, 44100),
    }
    text = d / "text.wav"
    text.write_text("this is not audio\n" * 100)
    garbage = d / "noise.flac"
    garbage.write_bytes(np.random.default_rng(0).bytes(20000))
    header = d / "header.wav"
    header.write_bytes(good["wav"].read_bytes()[:4] + np.random.default_rng(1).bytes(4000))
    damaged = d / "damaged.flac"
    raw = bytearray(good["flac"].read_bytes())
    raw[len(raw) // 3: len(raw) // 3 + 4000] = np.random.default_rng(2).bytes(4000)
    damaged.write_bytes(bytes(raw))
    (d / "empty.wav").write_bytes(b"")
    shutil.copy(good["ogg"], d / "ogg-named.mp3")
    shutil.copy(good["flac"], d / "flac-named.wav")
    shutil.copy(text, d / "text-named.ogg")
    return {**good, "text": text, "garbage": garbage, "header": header, "damaged": damaged,
            "empty": d / "empty.wav", "ogg_as_mp3": d / "ogg-named.mp3", "flac_as_wav": d / "flac-named.wav",
            "text_as_ogg": d / "text-named.ogg", "missing": d / "missing.wav", "folder": d}


def _clear_error(proc, *words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    line = [x for x in proc.stderr.splitlines() if x.startswith("siam-rt: error:")]
    assert line, proc.stderr
    for word in words:
        assert word in line[0], line[0]


@pytest.mark.parametrize("name,words", [
    ("text", ("text.wav", "not an audio file", "looks like text")),
    ("text_as_ogg", ("text-named.ogg", "not an audio file")),
    ("garbage", ("noise.flac", "not an audio file")),
    ("header", ("header.wav", "corrupt", "WAV")),
    ("damaged", ("damaged.flac", "corrupt")),
    ("empty", ("empty.wav", "empty")),
    ("missing", ("missing.wav", "no such file")),
    ("folder", ("not a file",)),
])
def test_analyze_refuses_bad_input_cleanly(cli, files, tmp_path: Path, name: str, words: tuple[str, ...]) -> None:
    out = tmp_path / "out.siam.json"
    proc = cli("analyze", str(files[name]), "-o", str(out))
    _clear_error(proc, *words)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file


@pytest.mark.parametrize("name", ["wav", "ogg", "flac", "mp3", "ogg_as_mp3", "flac_as_wav"])
def test_content_decides_not_the_extension(cli, files, tmp_path: Path, name: str) -> None:
    """Real audio analyses whatever its name claims."""
    out = tmp_path / "out.siam.json"
    proc = cli("analyze", str(files[name]), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["events"]


def test_resynth_refuses_bad_encodings(cli, files, tmp_path: Path) -> None:
    enc = tmp_path / "good.siam.json"
    assert cli("analyze", str(files["wav"]), "-o", str(enc)).returncode == 0
    raw = json.loads(enc.read_text())
    cases = {
        "missing.siam.json": None,
        "audio.siam.json": files["wav"].read_bytes(),
        "broken.siam.json": enc.read_text()[:-200].encode(),
        "other-model.siam.json": json.dumps({**raw, "model_id": "0" * 64}).encode(),
        "bad-field.siam.json": json.dumps({**raw, "events": [{**raw["events"][0], "frame": -3}]}).encode(),
    }
    words = {"missing.siam.json": "no such file", "audio.siam.json": "cannot read",
             "broken.siam.json": "malformed JSON", "other-model.siam.json": "another model",
             "bad-field.siam.json": "field 'events[0].frame'"}
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        proc = cli("resynth", str(path), "-o", str(out_dir / "x.wav"))
        _clear_error(proc, name, words[name])
    assert list(out_dir.iterdir()) == []


def test_interrupted_write_leaves_nothing(files, tmp_path: Path) -> None:
    """A render that fails half-way leaves neither the output nor a temporary file."""
    from siam_rt.io.blockwriter import write_blocks

    def blocks():
        yield np.zeros(1000, np.float32)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_blocks(tmp_path / "x.wav", blocks(), 22050)
    assert list(tmp_path.iterdir()) == []


def test_loud_output_is_scaled_not_clipped(tmp_path: Path) -> None:
    import soundfile as sf

    from siam_rt.io.blockwriter import CEILING, write_blocks

    gain = write_blocks(tmp_path / "x.flac", [np.full(100, 0.5, np.float32), np.full(100, -3.0, np.float32)], 22050)
    audio, _ = sf.read(str(tmp_path / "x.flac"))
    assert gain == pytest.approx(CEILING / 3.0)
    assert abs(audio.min() + CEILING) < 1e-3 and len(audio) == 200
    assert sorted(os.listdir(tmp_path)) == ["x.flac"]
