"""`siam-rt render` and `siam-rt note` with the bundled model, through the CLI in a subprocess."""

from __future__ import annotations

import json
import math
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from siam_rt.notes.measure import cents, median_f0
from siam_rt.notes.note_map import NoteMap
from siam_rt.resources import default_model_dir
from siam_rt.runtime.onnx_model import OnnxModel
from siam_rt.timbre.bank import load_bank

RATE = 44100
PITCHES = (48, 55, 60, 64, 67, 72, 79)  # C3..G5, inside Praat's range as set below


def write_midi(path: Path, notes: list[tuple[float, float, int]], tempo_changes: list[tuple[float, int]] = (),
               programs: list[tuple[float, int]] = (), tpb: int = 480, velocity: int = 96) -> Path:
    """A type-1 file: track 0 holds tempo changes (at beats), track 1 the notes (start beat, beats, pitch)."""
    mid = mido.MidiFile(ticks_per_beat=tpb)
    meta = [(0, mido.MetaMessage("set_tempo", tempo=500000))]
    meta += [(round(b * tpb), mido.MetaMessage("set_tempo", tempo=t)) for b, t in tempo_changes]
    body = [(round(b * tpb), mido.Message("program_change", program=p)) for b, p in programs]
    for start, length, pitch in notes:
        body.append((round(start * tpb), mido.Message("note_on", note=pitch, velocity=velocity)))
        body.append((round((start + length) * tpb), mido.Message("note_off", note=pitch)))
    for events in (meta, body):
        events.sort(key=lambda e: e[0])
        track, last = mido.MidiTrack(), 0
        for tick, msg in events:
            track.append(msg.copy(time=tick - last))
            last = tick
        mid.tracks.append(track)
    mid.save(path)
    return path


def render(cli, *args: str, timeout: float = 120) -> None:
    proc = cli("render", *args, "--quiet", timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def pitch_hz(audio: np.ndarray, rate: int, start: float, length: float) -> float:
    """Median pitch of a window (``notes.measure.median_f0``)."""
    return median_f0(audio[int(start * rate): int((start + length) * rate)], rate)


def decode_notes(pitches: tuple[int, ...], velocity: int = 96) -> tuple[np.ndarray, int]:
    """Each pitch's note-map vector in the default preset, decoded alone by the bundled model (dry)."""
    model = OnnxModel(threads=1)
    note_map = NoteMap.load(default_model_dir() / "note_map.npz", model.model_id)
    preset = load_bank(model_id=model.model_id).default_preset
    offset = 0 if preset.note_offset is None else preset.note_offset
    vectors = np.stack([note_map.vector(p, velocity) + offset for p in pitches]).astype(np.float32)
    return model.decode(vectors, preset.context), model.sample_rate


def onset_near(audio: np.ndarray, t: float, rate: int = RATE) -> float:
    """The onset near t (from 20 ms before to 50 ms after): the first place where the 2 ms energy envelope of
    the differentiated signal (attacks are broadband; the ringing of earlier notes is not) rises by 30% of its
    largest 2 ms rise. The first such rise, not the largest: the model's attacks grow over up to 25 ms, and the
    room's early reflections rise too, later."""
    x = np.diff(audio, prepend=0.0)
    a, b = int((t - 0.02) * rate), int((t + 0.05) * rate)
    w = k = int(0.002 * rate)
    env = np.sqrt(np.convolve(x[a:b] ** 2, np.ones(w) / w, "same"))
    rise = env[k:] - env[:-k]
    return (a + int(np.flatnonzero(rise > 0.3 * rise.max())[0]) + k // 2) / rate


def test_onsets_within_5_ms_across_a_tempo_change(cli, tmp_path: Path) -> None:
    """Notes on beats 1-8, 120 bpm then 80 bpm from beat 5: each onset within 5 ms of its MIDI time.

    Measured on a dry render against each note's own attack (its vector decoded alone, where the same detector
    finds its onset), so that the figure is the engine's placement, not how slowly the model's attack rises."""
    pitches = (60, 64, 67, 72, 62, 65, 69, 74)
    notes = [(b + 1, 0.25, p) for b, p in enumerate(pitches)]
    mid = write_midi(tmp_path / "tempo.mid", notes, tempo_changes=[(5, 750000)])
    render(cli, str(mid), "-o", str(tmp_path / "tempo.wav"), "--bit-depth", "32f", "--no-room")
    audio, rate = sf.read(tmp_path / "tempo.wav", dtype="float32")
    mono = audio.mean(axis=1)
    decoded, sr = decode_notes(pitches)
    attack = [onset_near(np.concatenate([np.zeros(sr // 10, np.float32), y]), 0.1, sr) - 0.1 for y in decoded]
    expected = [0.5 * b for b in range(1, 5)] + [2.5 + 0.75 * (b - 5) for b in range(5, 9)]
    errors_ms = [1e3 * (onset_near(mono, t) - t - a) for t, a in zip(expected, attack, strict=True)]
    assert max(abs(e) for e in errors_ms) < 5.0, (errors_ms, [1e3 * a for a in attack])


def test_pitch_of_each_note(cli, tmp_path: Path) -> None:
    """Each rendered note against its MIDI pitch (25 cents).

    Two parts. The engine must reproduce the model's own pitch: a dry render (--no-room) against the note-map
    vector decoded directly (strict). And each note of the full render (room on) must be within 25 cents of
    its MIDI pitch wherever the model alone plays it in tune; where the model itself is out of tune (a barely
    trained model), that part is an expected failure carrying the figures, never a silent pass."""
    # one note every 2 s, half a second long: far enough apart that the room's tail of one note is not measured
    # with the next (two notes a fourth or fifth apart share a subharmonic, which Praat can take for the pitch)
    notes = [(4 * i, 1.0, p) for i, p in enumerate(PITCHES)]
    mid = write_midi(tmp_path / "pitch.mid", notes)
    measured = {}
    for name, extra in (("room", []), ("dry", ["--no-room"])):
        render(cli, str(mid), "-o", str(tmp_path / f"{name}.wav"), "--bit-depth", "32f", *extra)
        audio, rate = sf.read(tmp_path / f"{name}.wav", dtype="float32")
        measured[name] = {p: pitch_hz(audio.mean(axis=1), rate, 2 * i + 0.02, 0.3) for i, p in enumerate(PITCHES)}

    decoded, sr = decode_notes(PITCHES)
    direct = {p: pitch_hz(y, sr, 0.02, 0.3) for p, y in zip(PITCHES, decoded, strict=True)}
    figures = {p: {k: _round(cents(v[p], p)) for k, v in (("render", measured["room"]), ("dry", measured["dry"]),
                                                           ("model", direct))} for p in PITCHES}
    for p in PITCHES:
        if math.isfinite(direct[p]):
            assert abs(1200 * math.log2(measured["dry"][p] / direct[p])) < 25, f"pitch {p}: {figures}"
    in_tune_model = [p for p in PITCHES if abs(cents(direct[p], p)) < 25]  # False for NaN (no pitch found)
    for p in in_tune_model:
        assert abs(cents(measured["room"][p], p)) < 25, f"pitch {p}: {figures}"
    if len(in_tune_model) < len(PITCHES):
        pytest.xfail(f"the bundled model alone plays {len(PITCHES) - len(in_tune_model)} of {len(PITCHES)} test "
                     f"notes out of tune; cents off per pitch: {figures}")


def _round(x: float) -> int | None:
    return round(x) if math.isfinite(x) else None


def spectrum_db(audio: np.ndarray, rate: int, start: float, end: float) -> np.ndarray:
    """Mean log-magnitude spectrum (2048-point frames) of a section, 50 Hz - 8 kHz."""
    x = audio[int(start * rate): int(end * rate)]
    frames = np.lib.stride_tricks.sliding_window_view(x, 2048)[::512] * np.hanning(2048)
    mag = np.abs(np.fft.rfft(frames, axis=1)).mean(axis=0)
    freqs = np.fft.rfftfreq(2048, 1 / rate)
    sel = (freqs > 50) & (freqs < 8000)
    spec = 20 * np.log10(mag[sel] + 1e-9)
    return spec - spec.max()


def test_program_change_switches_preset(cli, tmp_path: Path) -> None:
    """A program change mid-file switches the channel to the bank's preset for that program: the second section
    sounds like --preset flute, not like the first preset; --preset-map overrides the program change."""
    phrase = [(i * 0.5, 0.45, p) for i, p in enumerate((60, 64, 67, 72, 67, 64))]
    notes = phrase + [(8 + s, d, p) for s, d, p in phrase]
    switched = write_midi(tmp_path / "switch.mid", notes, programs=[(0, 0), (7, 73)])  # piano, then flute
    plain = write_midi(tmp_path / "plain.mid", notes)
    render(cli, str(switched), "-o", str(tmp_path / "a.wav"), "--bit-depth", "32f")
    render(cli, str(switched), "-o", str(tmp_path / "pinned.wav"), "--bit-depth", "32f", "--preset-map", "1=piano")
    render(cli, str(plain), "-o", str(tmp_path / "flute.wav"), "--bit-depth", "32f", "--preset", "flute")
    render(cli, str(plain), "-o", str(tmp_path / "piano.wav"), "--bit-depth", "32f")
    a, pinned, flute, piano = (sf.read(tmp_path / f"{n}.wav", dtype="float32")[0].mean(axis=1)
                               for n in ("a", "pinned", "flute", "piano"))
    first = int(3.5 * RATE)  # program change at 3.5 s (beat 7 at 120 bpm)
    assert np.array_equal(a[:first], piano[:first])
    assert np.array_equal(pinned, piano)
    sec2 = (4.0, 7.5)
    to_flute = np.abs(spectrum_db(a, RATE, *sec2) - spectrum_db(flute, RATE, *sec2)).mean()
    to_piano = np.abs(spectrum_db(a, RATE, *sec2) - spectrum_db(piano, RATE, *sec2)).mean()
    assert to_flute < 0.5 * to_piano, (to_flute, to_piano)


def test_chain_gain_minus_6_db_halves_the_amplitude(cli, tmp_path: Path) -> None:
    mid = write_midi(tmp_path / "g.mid", [(0, 1, 60), (1, 1, 67)])
    chain = tmp_path / "gain.json"
    chain.write_text(json.dumps({"schema_version": 1, "effects": [{"effect": "Gain", "gain_db": -6.0206}]}))
    render(cli, str(mid), "-o", str(tmp_path / "dry.wav"), "--bit-depth", "32f")
    render(cli, str(mid), "-o", str(tmp_path / "half.wav"), "--bit-depth", "32f", "--chain", str(chain))
    dry, _ = sf.read(tmp_path / "dry.wav", dtype="float32")
    half, _ = sf.read(tmp_path / "half.wav", dtype="float32")
    assert np.sqrt((half ** 2).mean()) / np.sqrt((dry ** 2).mean()) == pytest.approx(0.5, abs=0.002)
    np.testing.assert_allclose(half, dry * 0.5, atol=1e-5)


@pytest.mark.parametrize("suffix", [".wav", ".ogg"])
def test_two_renders_decode_to_identical_samples(cli, tmp_path: Path, suffix: str) -> None:
    mid = write_midi(tmp_path / "d.mid", [(i * 0.5, 0.7, 55 + 3 * i) for i in range(8)])
    for name in ("one", "two"):
        render(cli, str(mid), "-o", str(tmp_path / f"{name}{suffix}"), "--humanize", "0.5", "--seed", "3")
    one, _ = sf.read(tmp_path / f"one{suffix}", dtype="float32")
    two, _ = sf.read(tmp_path / f"two{suffix}", dtype="float32")
    assert np.array_equal(one, two)


@pytest.mark.parametrize(("suffix", "depth", "subtype"), [(".wav", "16", "PCM_16"), (".wav", "24", "PCM_24"),
                                                          (".wav", "32f", "FLOAT"), (".flac", "24", "PCM_24"),
                                                          (".ogg", None, "VORBIS"), (".mp3", None, "MPEG_LAYER_III")])
def test_every_output_format_reads_back(cli, tmp_path: Path, suffix: str, depth: str | None, subtype: str) -> None:
    mid = write_midi(tmp_path / "f.mid", [(0, 1, 60), (1, 1, 64)])
    out = tmp_path / f"out{suffix}"
    render(cli, str(mid), "-o", str(out), "--samplerate", "48000", "--tail", "1",
           *(["--bit-depth", depth] if depth else []))
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (48000, 2, subtype)
    audio, _ = sf.read(out, dtype="float32")
    assert abs(len(audio) / 48000 - 2.0) < 0.1  # 1 s of notes after 1 s... two beats at 120 bpm + 1 s tail
    assert np.sqrt((audio ** 2).mean()) > 1e-3
    assert list(tmp_path.glob("*.part")) == []


def test_example_note_and_normalize(cli, tmp_path: Path) -> None:
    render(cli, "--example", "-o", str(tmp_path / "bach.wav"), "--normalize")
    audio, rate = sf.read(tmp_path / "bach.wav", dtype="float32")
    assert rate == RATE and len(audio) > 20 * RATE
    assert 20 * np.log10(np.abs(audio).max()) == pytest.approx(-1.0, abs=0.05)
    proc = cli("note", "A4", "--velocity", "100", "--preset", "strings", "-o", str(tmp_path / "a4.flac"),
               "--duration", "2", "--tail", "1")
    assert proc.returncode == 0, proc.stderr
    assert "strings" in proc.stdout
    note, rate = sf.read(tmp_path / "a4.flac", dtype="float32")
    assert len(note) == 3 * RATE
    held = note[int(1.7 * RATE): int(1.95 * RATE)]  # held: still sounding near the note-off
    assert np.sqrt((held ** 2).mean()) > 0.05 * np.sqrt((note[: RATE // 2] ** 2).mean())


def test_render_never_imports_torch(cli, tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (f"from siam_rt.cli import main\nmain(['render', '--example', '-o', {str(tmp_path / 'x.wav')!r}, "
            "'--quiet'])\nimport sys\nprint('TORCH', 'torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=cli.env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "TORCH False" in proc.stdout


def test_note_names() -> None:
    from siam_rt.cli.note import parse_pitch
    from siam_rt.errors import SiamError

    assert [parse_pitch(p) for p in ("60", "C4", "A4", "F#3", "Bb2", "c-1", "G9")] == [60, 60, 69, 54, 46, 0, 127]
    for bad in ("H2", "C10", "128", "C#"):
        with pytest.raises(SiamError):
            parse_pitch(bad)
