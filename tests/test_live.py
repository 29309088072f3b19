"""The live-play parts that need no JACK server: clock mapping, MIDI port choice, recorder, reloads, options."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from siam_rt.cli.common import parse_channels
from siam_rt.cli.play import format_summary
from siam_rt.engine import load_engine
from siam_rt.engine.channels import channel_preset
from siam_rt.errors import SiamError
from siam_rt.io.audio_out import resolve_device
from siam_rt.io.clock import STEP_COUNT, AudioClock, MidiStamps, MinOffset
from siam_rt.io.midi_in import API_ALIASES, open_api, resolve_port
from siam_rt.io.recorder import Recorder
from siam_rt.live.reload import Reloader
from siam_rt.live.session import group_channels
from siam_rt.resources import presets_dir
from siam_rt.timbre.bank import load_bank


def test_min_offset_ignores_late_stamps_and_follows_steps() -> None:
    """Late stamps (GIL waits) do not move the mapping; a lasting step (an xrun) is followed within STEP_COUNT."""
    rng = np.random.default_rng(0)
    m = MinOffset()
    for i in range(400):
        t = i * 0.005
        late = 0.02 if i % 7 == 0 else 0.0
        m.update(t + 3.0 + late + 0.0005 * rng.random(), t)
    assert abs(m.offset - 3.0) < 0.0006
    for i in range(400, 400 + STEP_COUNT + 1):
        t = i * 0.005
        m.update(t + 3.03 + 0.0005 * rng.random(), t)
    assert abs(m.offset - 3.03) < 0.0006


def test_audio_clock_maps_time_to_frames() -> None:
    """Monotonic time -> the frame being rendered then; 0 before the stream runs."""
    clock = AudioClock(48000)
    assert not clock.running and clock.frame_at(123.0) == 0
    for k in range(10):
        clock.stamp(100.0 + k * 256 / 48000 + (0.004 if k == 3 else 0.0), k * 256)
    assert clock.running
    assert clock.frame_at(100.0 + 0.5) == 24000


def test_midi_stamps_rebuild_arrival_times_from_deltas() -> None:
    """RtMidi deltas summed and anchored at the earliest poll: a late poll does not delay its message."""
    stamps = MidiStamps()
    arrivals = [stamps.arrival(d, p) for d, p in ((0.0, 10.0005), (0.1, 10.1004), (0.1, 10.2030), (0.05, 10.2505))]
    assert np.allclose(arrivals, [10.0005, 10.1004, 10.2004, 10.2504], atol=1e-6)


def test_resolve_port_by_index_name_or_part() -> None:
    ports = ["Midi Through:Port 0 14:0", "Keystation 49:MIDI 1 20:0", "loopMIDI Port 1"]
    assert resolve_port(ports, "1") == 1
    assert resolve_port(ports, "loopMIDI Port 1") == 2
    assert resolve_port(ports, "keystation") == 1
    with pytest.raises(SiamError, match=r"no MIDI input port 'nanoKEY'; ports: \[0\] Midi Through"):
        resolve_port(ports, "nanoKEY")
    with pytest.raises(SiamError, match="matches several ports"):
        resolve_port(ports, "port")


def test_midi_api_choice_names_what_exists() -> None:
    """Every documented API name maps to RtMidi's; one not compiled in is a clear error listing the others."""
    assert {API_ALIASES[a] for a in ("jack", "alsa", "coremidi", "winmm")} == {"jack", "alsa", "core", "winmm"}
    fake = types.SimpleNamespace(API_RTMIDI_DUMMY=99, get_compiled_api=lambda: [2, 99], get_api_name=lambda a: "alsa")
    with pytest.raises(SiamError, match="MIDI API 'coremidi' is not available.*available: alsa"):
        open_api(fake, "coremidi")


class FakeSd:
    """Just enough of sounddevice for device resolution."""

    default = types.SimpleNamespace(device=[-1, -1])

    @staticmethod
    def query_hostapis() -> list[dict]:
        return [{"name": "ALSA"}, {"name": "JACK Audio Connection Kit"}]

    @staticmethod
    def query_devices() -> list[dict]:
        return [{"name": "HDA Intel: mic", "hostapi": 0, "max_output_channels": 0},
                {"name": "HDA Intel: out", "hostapi": 0, "max_output_channels": 2},
                {"name": "system", "hostapi": 1, "max_output_channels": 2}]


def test_resolve_device() -> None:
    """--device by index or name part; the default prefers JACK when PortAudio has no default; errors list all."""
    assert resolve_device(FakeSd, None) == 2
    assert resolve_device(FakeSd, "1") == 1
    assert resolve_device(FakeSd, "hda") == 1
    assert resolve_device(FakeSd, "jack") == 2
    with pytest.raises(SiamError, match=r"devices: \[1\] HDA Intel: out \(ALSA\); \[2\] system \(JACK"):
        resolve_device(FakeSd, "usb")
    with pytest.raises(SiamError, match="no audio output device 0"):
        resolve_device(FakeSd, "0")


def test_recorder_writes_whole_blocks_and_finishes_atomically(tmp_path: Path) -> None:
    """Blocks pushed from another thread land in order; the file appears under its name only at close."""
    out = tmp_path / "take.wav"
    rec = Recorder(out, 48000)
    blocks = [np.full((256, 2), i / 1000, np.float32) for i in range(300)]
    pusher = threading.Thread(target=lambda: [rec.push(b) for b in blocks])
    pusher.start()
    pusher.join()
    assert not out.exists()
    assert rec.close() == out and not rec.part.exists()
    audio, rate = sf.read(out, dtype="float32")
    assert rate == 48000 and audio.shape == (300 * 256, 2) and rec.dropped == 0
    assert np.array_equal(audio[::256, 0], np.arange(300, dtype=np.float32) / 1000)


def test_recorder_rejects_what_it_cannot_write(tmp_path: Path) -> None:
    with pytest.raises(SiamError, match="writes .wav, .flac or .aiff"):
        Recorder(tmp_path / "take.mp3", 48000)
    with pytest.raises(SiamError, match="does not exist"):
        Recorder(tmp_path / "missing" / "take.wav", 48000)


def test_options() -> None:
    assert parse_channels("1,2,10") == frozenset({0, 1, 9})
    assert parse_channels("1-3,16") == frozenset({0, 1, 2, 15})
    assert parse_channels(None) is None
    for bad in ("0", "17", "a", "3-1"):
        with pytest.raises(SiamError, match="--channels"):
            parse_channels(bad)
    assert group_channels(["piano"] * 9 + [None] + ["piano"] * 6, set(range(16))) == "piano 1-9,11-16 | - 10"
    text = format_summary({"seconds": 2.0, "notes_played": 3, "midi_received": 6, "underruns": 0,
                           "cpu_load_mean": 0.1, "cpu_load_max": 0.2, "latency_ms": 10.7, "blocksize": 256,
                           "samplerate": 48000, "device": "[0] system (JACK)"})
    assert "3 notes from 6 MIDI messages" in text and "0 underruns" in text


def test_the_preset_rule_follows_its_precedence() -> None:
    bank = load_bank()
    pinned = {3: "strings"}
    assert channel_preset(bank, 0, None, pinned, 73) == (bank.for_program(73), False)
    assert channel_preset(bank, 1, None, pinned, None) == (bank.default_preset, False)
    assert channel_preset(bank, 1, "guitar", pinned, None) == (bank.get("guitar"), False)
    preset, fixed = channel_preset(bank, 3, None, pinned, 0)
    assert preset.name == "strings" and fixed  # pinned beats program change
    assert channel_preset(bank, 9, None, pinned, 0) == (None, True)  # the shipped bank mutes channel 10


def test_reload_keeps_the_old_bank_on_a_bad_file_and_takes_a_good_one(tmp_path: Path) -> None:
    folder = tmp_path / "presets"
    shutil.copytree(presets_dir(), folder)
    engine = load_engine(None, folder, realtime=False, preset_map={2: "strings"})
    bank = engine.bank
    posted: list = []
    messages: list[str] = []
    reloader = Reloader(engine, folder, bank.default_preset.model_id, {1: 24}, posted.append, messages.append)
    good = (folder / "piano.json").read_text()
    (folder / "piano.json").write_text(good[:40])
    assert not reloader.reload("test") and not posted
    assert "piano.json" in messages[-1] and "old presets keep playing" in messages[-1]
    raw = json.loads(good)
    raw["engine"]["gain_db"] = -3.0
    (folder / "piano.json").write_text(json.dumps(raw))
    assert reloader.reload("test") and len(posted) == 1
    posted[0]()  # what the audio callback runs
    assert engine.bank is not bank and engine.channels[0].preset.engine.gain_db == -3.0
    assert engine.channels[1].preset is engine.bank.for_program(24)  # the channel's program change, kept
    assert engine.channels[2].preset is engine.bank.get("strings")  # still pinned
    assert engine.channels[9].preset is None
    engine.close()


def test_place_sounds_finds_overlapping_notes_to_the_sample() -> None:
    """Notes summed with overlaps are each found at their own start with a match of 1; a recording with a dropped
    block in the middle of one note matches it poorly there."""
    from bench.jack_harness import place_sounds

    rate = 8000
    rng = np.random.default_rng(3)
    decay = np.exp(-np.arange(2000) / 400.0)
    sounds = [rng.standard_normal(2000) * decay for _ in range(3)]
    starts = [500, 1300, 2111]
    x = np.zeros(5000)
    for s, sound in zip(starts, sounds, strict=True):
        x[s: s + len(sound)] += sound
    guesses = [starts[0] + 37, lambda found: found[-1].frame + 800, lambda found: found[-1].frame + 800]
    placed = place_sounds(x, sounds, guesses, rate, search_s=0.02, window_s=0.05)
    assert [p.frame for p in placed] == starts
    assert min(p.match for p in placed) > 0.9999
    broken = np.delete(x, slice(1400, 1464))  # one block of 64 frames lost inside the second note's window
    assert place_sounds(broken, sounds, guesses, rate, search_s=0.02, window_s=0.05)[1].match < 0.99


def test_a_full_disk_ends_the_take_as_a_valid_file(tmp_path: Path) -> None:
    """Writes beyond a file size limit fail as on a full disk: the take ends there as a valid file in place,
    the failure is said, later blocks are counted as dropped, and pushing never blocks."""
    code = f"""
import resource, signal, time, numpy as np
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))
from siam_rt.io.recorder import Recorder
rec = Recorder({str(tmp_path / 'take.wav')!r}, 8000)
block = np.full((800, 2), 0.25, np.float32)
for _ in range(100):  # 10 s at 8 kHz, 640 kB of float: past the limit
    start = time.perf_counter()
    rec.push(block)
    assert time.perf_counter() - start < 0.01
    time.sleep(0.005)
time.sleep(0.3)
path = rec.close()
print(path, rec.frames, rec.dropped, rec.failed is not None)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    path, frames, dropped, failed = done.stdout.split()
    assert failed == "True" and int(dropped) > 0 and int(frames) + int(dropped) == 80_000
    audio, rate = sf.read(path)
    assert rate == 8000 and 0 < len(audio) <= int(frames) and np.allclose(audio[:100], 0.25)
    assert not list(tmp_path.glob(".*.part"))


def test_a_presets_folder_that_vanishes_keeps_the_old_presets_until_it_is_back(tmp_path: Path) -> None:
    folder = tmp_path / "presets"
    shutil.copytree(presets_dir(), folder)
    engine = load_engine(None, folder, realtime=False)
    posted: list = []
    messages: list[str] = []
    reloader = Reloader(engine, folder, engine.bank.default_preset.model_id, {}, posted.append, messages.append)
    old_bank = engine.bank
    shutil.move(folder, tmp_path / "away")
    assert not reloader.reload("test") and not posted
    assert "bank.json" in messages[-1] and "old presets keep playing" in messages[-1]
    assert engine.bank is old_bank
    shutil.move(tmp_path / "away", folder)
    assert reloader.reload("test") and len(posted) == 1
    posted[0]()
    assert engine.bank is not old_bank and engine.channels[0].preset is not None
    engine.close()
