"""SoundFont and SFZ export: the writer's chunks, FluidSynth playing the file, independent readers, clean errors."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from siam_rt.io.sf2 import (
    CONCAVE,
    INITIAL_ATTENUATION,
    INSTRUMENT,
    KEY_RANGE,
    NOTE_ON_VELOCITY,
    SAMPLE_ID,
    SAMPLE_MODES,
    VEL_RANGE,
    Instrument,
    Modulator,
    Preset,
    Sample,
    Zone,
    sf2_bytes,
    source,
)
from siam_rt.notes.measure import cents, median_f0

RATE = 22050


def _chunks(raw: bytes, at: int = 0, end: int | None = None) -> dict[str, bytes]:
    """The sub-chunks of a RIFF list body, by id (LISTs by their type)."""
    out, end = {}, len(raw) if end is None else end
    while at < end:
        tag, size = raw[at: at + 4].decode(), struct.unpack("<I", raw[at + 4: at + 8])[0]
        body = raw[at + 8: at + 8 + size]
        out[body[:4].decode() if tag == "LIST" else tag] = body[4:] if tag == "LIST" else body
        at += 8 + size + size % 2
    return out


def _sine_font(loop: bool = True) -> bytes:
    t = np.arange(RATE) / RATE
    pcm = np.rint(0.5 * np.sin(2 * np.pi * 261.63 * t) * 32767).astype(np.int16)
    sample = Sample("sine", pcm, RATE, 60, (11025, 11025 + round(100 * RATE / 261.63)) if loop else None)
    zone = Zone({SAMPLE_ID: 0, SAMPLE_MODES: 1 if loop else 0, VEL_RANGE: (1, 127), KEY_RANGE: (0, 127)},
                [Modulator(source(NOTE_ON_VELOCITY, negative=True, curve=CONCAVE), INITIAL_ATTENUATION, 816)])
    return sf2_bytes({"INAM": "test font", "ICMT": "odd"}, [sample], [Instrument("sine", [zone])],
                     [Preset("sine", 0, 0, [Zone({INSTRUMENT: 0})])])


def test_every_chunk_is_where_the_specification_puts_it() -> None:
    raw = _sine_font()
    assert raw[:4] == b"RIFF" and raw[8:12] == b"sfbk" and struct.unpack("<I", raw[4:8])[0] == len(raw) - 8
    top = _chunks(raw, 12)
    assert list(top) == ["INFO", "sdta", "pdta"]
    info = _chunks(top["INFO"])
    assert struct.unpack("<HH", info["ifil"]) == (2, 1) and info["INAM"] == b"test font\0"
    assert all(len(v) % 2 == 0 for v in info.values())  # FluidSynth refuses odd-length strings
    smpl = _chunks(top["sdta"])["smpl"]
    assert len(smpl) == 2 * (RATE + 46)  # each sample is followed by 46 zero points
    hydra = _chunks(top["pdta"])
    assert list(hydra) == ["phdr", "pbag", "pmod", "pgen", "inst", "ibag", "imod", "igen", "shdr"]
    sizes = {"phdr": 38, "pbag": 4, "pmod": 10, "pgen": 4, "inst": 22, "ibag": 4, "imod": 10, "igen": 4, "shdr": 46}
    counts = {k: len(hydra[k]) // n for k, n in sizes.items()}
    assert all(len(hydra[k]) % n == 0 for k, n in sizes.items())
    assert counts == {"phdr": 2, "pbag": 2, "pmod": 1, "pgen": 2, "inst": 2, "ibag": 2, "imod": 2, "igen": 5,
                      "shdr": 2}  # each list ends in its terminal record
    gens = [struct.unpack("<H", hydra["igen"][i: i + 2])[0] for i in range(0, 16, 4)]
    assert gens[:2] == [KEY_RANGE, VEL_RANGE] and gens[-1] == SAMPLE_ID  # the order the spec asks
    start, end, loop_start, loop_end = struct.unpack("<IIII", hydra["shdr"][20:36])
    assert (start, end, loop_start, loop_end) == (0, RATE, 11025, 11025 + round(100 * RATE / 261.63))


def test_fluidsynth_plays_a_written_font_and_sf2utils_reads_it(tmp_path: Path) -> None:
    if shutil.which("fluidsynth") is None:
        pytest.skip("fluidsynth is not installed")
    from sf2utils.sf2parse import Sf2File

    font = tmp_path / "t.sf2"
    font.write_bytes(_sine_font())
    with open(font, "rb") as fh:
        parsed = Sf2File(fh)
        assert [p.name for p in parsed.presets][:1] == ["sine"] and parsed.samples[0].sample_rate == RATE
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([mido.Message("note_on", note=60, velocity=100),
                            mido.Message("note_off", note=60, time=1920)])
    mid.tracks.append(track)
    mid.save(tmp_path / "t.mid")
    subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-F", str(tmp_path / "t.wav"), "-r", str(RATE),
                    str(font), str(tmp_path / "t.mid")], check=True, capture_output=True)
    audio = sf.read(tmp_path / "t.wav")[0].mean(axis=1)
    held = audio[int(1.5 * RATE): int(1.9 * RATE)]  # past the 1 s sample: the loop holds it
    assert np.sqrt(np.mean(held ** 2)) > 0.5 * np.sqrt(np.mean(audio[int(0.1 * RATE): int(0.5 * RATE)] ** 2))
    assert abs(cents(median_f0(held, RATE), 60)) < 5


@pytest.fixture(scope="module")
def piano_exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`siam-rt preset export` of the piano, every 6th key, as SF2 and SFZ."""
    out = tmp_path_factory.mktemp("exports")
    for name in ("piano.sf2", "piano.sfz"):
        done = subprocess.run([sys.executable, "-m", "siam_rt", "preset", "export", "piano", "-o", str(out / name),
                               "--keys", "6", "--no-room"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "wrote" in done.stdout and "MB" in done.stdout
    return out


def test_the_exported_piano_plays_in_fluidsynth_at_siam_rts_pitch(piano_exports: Path, tmp_path: Path) -> None:
    if shutil.which("fluidsynth") is None:
        pytest.skip("fluidsynth is not installed")
    from sf2utils.sf2parse import Sf2File

    with open(piano_exports / "piano.sf2", "rb") as fh:
        parsed = Sf2File(fh)
        samples = [s for s in parsed.samples if s.name != "EOS"]  # sf2utils keeps the terminal record
        assert len(samples) == 16 * 4  # 15 keys every 6th, and the top one, in 4 layers
        assert parsed.info.bank_name == "piano"
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    for pitch in (48, 55, 67):  # between sampled keys too: the player transposes
        track += [mido.Message("note_on", note=pitch, velocity=90), mido.Message("note_off", note=pitch, time=480)]
    mid.tracks.append(track)
    mid.save(tmp_path / "t.mid")
    subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-F", str(tmp_path / "t.wav"), "-r", str(RATE),
                    str(piano_exports / "piano.sf2"), str(tmp_path / "t.mid")], check=True, capture_output=True)
    audio = sf.read(tmp_path / "t.wav")[0].mean(axis=1)
    for i, pitch in enumerate((48, 55, 67)):
        note = audio[int((0.5 * i + 0.03) * RATE): int((0.5 * i + 0.45) * RATE)]
        assert abs(cents(median_f0(note, RATE), pitch)) < 25


def test_the_sfz_is_read_back_by_an_sfz_parser(piano_exports: Path) -> None:
    from sfzlint.parser import validate

    parsed = validate(str(piano_exports / "piano.sfz"))
    regions = [h for h in parsed.headers if h.token == "region"]
    assert len(regions) == 16 * 4 + 16 * 3  # every layer, and the mod wheel's crossfade zones of all but the top
    for region in regions:
        ops = {str(k): v for k, v in region.items()}
        wav = piano_exports / str(ops["sample"])
        assert wav.is_file() and int(ops["loop_end"]) < sf.info(wav).frames
        assert int(ops["lokey"]) <= int(ops["pitch_keycenter"]) <= int(ops["hikey"])
    assert sum("xfin_locc1" in {str(k) for k in r} for r in regions) == 16 * 3


@pytest.mark.parametrize("args, words", [(["nosuch", "-o", "x.sf2"], ["nosuch"]),
                                         (["piano", "-o", "x.wav"], ["x.wav", ".sf2"]),
                                         (["piano", "-o", "x.sf2", "--keys", "0"], ["--keys"]),
                                         (["piano", "-o", "x.sf2", "--program", "128"], ["--program"]),
                                         (["piano", "-o", "/proc/x.sf2"], ["/proc"])])
def test_bad_export_requests_are_clean_errors(args: list[str], words: list[str], tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "siam_rt", "preset", "export", *args], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert all(w in done.stderr for w in words), done.stderr
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_the_mod_wheel_crossfades_toward_the_next_layer(piano_exports: Path, tmp_path: Path) -> None:
    """CC1 at 127 plays the next layer up (brighter, as the engine's mod wheel), at about the same level."""
    if shutil.which("fluidsynth") is None:
        pytest.skip("fluidsynth is not installed")
    from siam_rt.evaluation.notes import centroid_hz

    heard = {}
    for wheel in (0, 127):
        mid = mido.MidiFile(ticks_per_beat=480)
        mid.tracks.append(mido.MidiTrack([mido.Message("control_change", control=1, value=wheel),
                                          mido.Message("note_on", note=60, velocity=70),
                                          mido.Message("note_off", note=60, time=960)]))
        mid.save(tmp_path / "w.mid")
        subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-F", str(tmp_path / "w.wav"), "-r",
                        str(RATE), str(piano_exports / "piano.sf2"), str(tmp_path / "w.mid")], check=True,
                       capture_output=True)
        heard[wheel] = sf.read(tmp_path / "w.wav")[0].mean(axis=1)[int(0.05 * RATE): int(0.9 * RATE)]
    assert centroid_hz(heard[127], RATE) > 1.05 * centroid_hz(heard[0], RATE)
    level = [20 * np.log10(np.sqrt(np.mean(heard[w] ** 2))) for w in (0, 127)]
    assert abs(level[1] - level[0]) < 3.0
