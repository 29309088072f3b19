"""`siam-rt play` on a real JACK dummy server: RtMidi sends a scripted phrase into its virtual port, jack_capture
records its output ports, and the recording is checked for pitch, timing, program change, release, sustain and
all-notes-off. One session per JACK period (256 and 128) plays the whole script; each test checks one part.

Sent times are monotonic seconds; the first note's onset in the recording anchors them (JACK MIDI moves every
message to a period boundary, so each mapped time is good to one period). Where timing is judged, each note is
placed to the sample by fitting its offline render (the engine is linear and deterministic), in the capture and
in the play process's own recording.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from bench.jack_harness import (
    Capture,
    MidiSender,
    Placement,
    PlayProcess,
    envelope_db,
    first_above,
    place_sounds,
)
from siam_rt.notes.measure import cents, median_f0
from siam_rt.resources import presets_dir

DRY, PC_PRESET = "piano_norev", "flute_norev"  # shipped presets with the room mixed out: the voices alone
RELEASE_S = 0.35  # piano's release
PC_PROGRAM = 73  # the test bank maps it to PC_PRESET
SPACING = (0.0, 0.7, 1.45, 2.15, 2.9)  # note 67 on channel 2, held 0.2 s: irregular on purpose
PITCHES = ((3.7, 48), (4.5, 60), (5.3, 67), (6.1, 72))  # channel 2, held 0.5 s
PEDAL_DOWN, PEDAL_NOTE, PEDAL_NOTE_OFF, PEDAL_UP = 7.1, 7.2, 7.4, 8.7  # channel 2, note 64
PHRASE = (9.3, 9.45, 9.6, 9.75, 9.9, 10.05, 10.2, 10.35)  # channel 1, held 0.2 s (legato); program change before #5
PHRASE_NOTES = (60, 62, 64, 65, 67, 65, 64, 62)
PC_AT = 9.89
CHORD = (48, 55, 60, 64)
ALL_OFF = {"dry": (11.4, 11.7, 12.2), "room": (13.7, 14.0, 14.5)}  # chord, keys up (pedal down), all-notes-off
ALL_OFF_CHANNEL = {"dry": 2, "room": 3}  # channel 3: the default preset; channel 4 pinned to piano (with room)
FOUR = ((16.0, 57), (16.6, 69), (17.2, 72), (17.8, 76))  # channel 5 (the default preset), each held 0.4 s
SECONDS = 19.0  # recording length
MATCH = 0.99  # a note placed in a recording that holds the engine's output matches its offline render this well
NOTE_LABELS = ("space", "pitch", "pedal_note", "phrase", "dry_chord48", "room_chord48", "four")  # onsets found

pytestmark = pytest.mark.jack  # under CI these must run, not skip (see conftest)


@dataclass
class Session:
    """What one scripted session produced."""

    period: int
    rate: int = 0
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sent: dict[str, float] = field(default_factory=dict)  # label -> monotonic send time
    summary: dict = field(default_factory=dict)
    reload_lines: list[str] = field(default_factory=list)
    onsets: dict[str, int] = field(default_factory=dict)  # note-on label -> frame of its onset
    presets: Path = Path()
    engine_audio: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the play process's own recording
    engine_offset: int = 0  # its frame of a capture frame, roughly: where each recording first sounds

    def find_onsets(self) -> None:
        """Each note's onset, searched near the previous onset plus the send-time difference: a chain of short
        spans, so that a stall of the JACK clock somewhere does not shift every later note."""
        first = first_above(self.audio, 1e-3)
        assert first is not None, "the recording is silent"
        labels = sorted((k for k in self.sent if k.startswith(NOTE_LABELS) and not k.endswith("_off")),
                        key=self.sent.get)
        prev = labels[0]
        self.onsets[prev] = note_onset(self.audio, first + int(0.02 * self.rate), self.rate)
        for label in labels[1:]:
            expected = self.onsets[prev] + int(round((self.sent[label] - self.sent[prev]) * self.rate))
            self.onsets[label] = note_onset(self.audio, expected, self.rate)
            prev = label

    def place(self, labels: list[str], sounds: list[np.ndarray]) -> tuple[list[Placement], list[Placement]]:
        """Where each labelled note starts, to the sample, in the capture and in the engine's own recording
        (``place_sounds``: each note's offline render fitted to the recording). The first is searched near its
        onset, each next one near the previous plus the send-time difference."""
        def after(i: int):
            return lambda found: found[-1].frame + round((self.sent[labels[i]] - self.sent[labels[i - 1]]) * self.rate)

        rest = [after(i) for i in range(1, len(labels))]
        first = self.onsets[labels[0]]
        return (place_sounds(self.audio, sounds, [first, *rest], self.rate),
                place_sounds(self.engine_audio, sounds, [first + self.engine_offset, *rest], self.rate, search_s=0.1))

    def frame(self, label: str, ref: str) -> int:
        """Where message ``label`` lands in the recording, from the onset of note ``ref`` (within a period)."""
        return self.onsets[ref] + int(round((self.sent[label] - self.sent[ref]) * self.rate))


def make_presets(folder: Path) -> Path:
    """The shipped presets plus piano and flute without their rooms; the dry piano is the default and program
    PC_PROGRAM plays the dry flute."""
    for path in presets_dir().glob("*.json"):
        shutil.copy(path, folder / path.name)
    for source, name in (("piano", DRY), ("flute", PC_PRESET)):
        raw = json.loads((folder / f"{source}.json").read_text())
        raw.update(name=name, description=f"{source} without room (tests)")
        raw["engine"]["reverb_mix"] = 0.0
        (folder / f"{name}.json").write_text(json.dumps(raw))
    bank = json.loads((folder / "bank.json").read_text())
    bank["default"] = DRY
    bank["programs"][str(PC_PROGRAM)] = PC_PRESET
    (folder / "bank.json").write_text(json.dumps(bank))
    return folder


def script(midi: MidiSender, t0: float) -> dict[str, float]:
    """Send the whole phrase; returns the send time of each labelled message."""
    events: list[tuple[float, str, list[int]]] = []
    for i, t in enumerate(SPACING):
        events += [(t, f"space{i}", [0x91, 67, 100]), (t + 0.2, f"space{i}_off", [0x81, 67, 0])]
    for t, note in PITCHES:
        events += [(t, f"pitch{note}", [0x91, note, 100]), (t + 0.5, f"pitch{note}_off", [0x81, note, 0])]
    events += [(PEDAL_DOWN, "pedal_down", [0xB1, 64, 127]), (PEDAL_NOTE, "pedal_note", [0x91, 64, 100]),
               (PEDAL_NOTE_OFF, "pedal_note_off", [0x81, 64, 0]), (PEDAL_UP, "pedal_up", [0xB1, 64, 0])]
    for i, (t, n) in enumerate(zip(PHRASE, PHRASE_NOTES, strict=True)):
        events += [(t, f"phrase{i}", [0x90, n, 100]), (t + 0.2, f"phrase{i}_off", [0x80, n, 0])]
    events.append((PC_AT, "program", [0xC0, PC_PROGRAM]))
    for kind, (on, keys_up, all_off) in ALL_OFF.items():
        ch = ALL_OFF_CHANNEL[kind]
        events += [(on - 0.05, f"{kind}_pedal", [0xB0 | ch, 64, 127])]
        events += [(on, f"{kind}_chord{n}", [0x90 | ch, n, 110]) for n in CHORD]
        events += [(keys_up, f"{kind}_chord{n}_off", [0x80 | ch, n, 0]) for n in CHORD]
        events += [(all_off, f"{kind}_all_off", [0xB0 | ch, 123, 0]), (all_off + 1.1, f"{kind}_up", [0xB0 | ch, 64, 0])]
    for t, note in FOUR:
        events += [(t, f"four{note}", [0x94, note, 100]), (t + 0.4, f"four{note}_off", [0x84, note, 0])]
    sent = {}
    for t, label, message in sorted(events, key=lambda e: e[0]):
        sent[label] = midi.at(t0 + t, message)
    return sent


def wait_line(play: PlayProcess, text: str, start: int, timeout: float = 15) -> str:
    """The first output line after line ``start`` that contains ``text``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in play.lines[start:]:
            if text in line:
                return line
        time.sleep(0.1)
    raise AssertionError(f"no line with {text!r} after line {start}:\n{''.join(play.lines)}")


@pytest.fixture(scope="module", params=[256, 128], ids=lambda p: f"period{p}")
def session(request: pytest.FixtureRequest, jack_manager, tmp_path_factory: pytest.TempPathFactory) -> Session:
    """Run the scripted session once per JACK period."""
    if shutil.which("jack_capture") is None:
        pytest.skip("jack_capture not found; install with: apt-get install jack-capture")
    server = jack_manager.ensure(request.param)
    tmp = tmp_path_factory.mktemp(f"play{request.param}")
    (tmp / "presets").mkdir()
    folder = make_presets(tmp / "presets")
    play = PlayProcess("--virtual", "siam", "--presets", str(folder), "--preset-map", "4=piano",
                       "--prepare", PC_PRESET, "--samplerate", str(server.rate), "--record", str(tmp / "rec.wav"),
                       stats=tmp / "stats.json")
    capture = midi = None
    out = Session(request.param, rate=server.rate, presets=folder)
    try:
        play.start()
        capture = Capture(play.out_ports, tmp / "out.wav", SECONDS).start()
        midi = MidiSender("siam-rt:siam")
        play.arm()
        time.sleep(0.3)
        out.sent = script(midi, time.monotonic() + 0.2)
        audio, rate = capture.wait()
        out.audio, out.rate = audio.mean(axis=1), rate
        # Reloads: a broken preset file is reported and the old presets keep playing; fixing it reloads.
        mark = len(play.lines)
        good = (folder / "piano.json").read_text()
        (folder / "piano.json").write_text(good[: len(good) // 2])
        out.reload_lines.append(wait_line(play, "presets not reloaded", mark))
        mark = len(play.lines)
        (folder / "piano.json").write_text(good)
        out.reload_lines.append(wait_line(play, "presets reloaded", mark))
    finally:
        if midi is not None:
            midi.close()
        if capture is not None:
            capture.kill()
        out.summary = play.stop()
    assert out.summary["exit_code"] == 0, out.summary["output"]
    import soundfile as sf

    out.engine_audio = sf.read(out.summary["recorded"], dtype="float64", always_2d=True)[0].mean(axis=1)
    out.engine_offset = first_above(out.engine_audio, 1e-3) - first_above(out.audio, 1e-3)
    out.find_onsets()
    return out


def note_onset(x: np.ndarray, around: int, rate: int, before_s: float = 0.03, after_s: float = 0.04,
               window_s: float = 0.01) -> int:
    """The attack of the note expected near ``around`` (from ``before_s`` before to ``after_s`` after): the first
    sample where the peak envelope of the differentiated signal has risen above its lowest level so far by half of
    its largest such rise in the window. Differentiated, because attacks are broadband and the tails of held notes
    are not; a rise, not a level, because legato notes still sound at full level when the next one starts. The
    envelope is the max over the ``window_s`` up to each sample, so it rises with the attack's first samples."""
    from numpy.lib.stride_tricks import sliding_window_view

    w = int(window_s * rate)
    a = max(around - int(before_s * rate), w)
    env = sliding_window_view(np.abs(np.diff(x[a - w: around + int(after_s * rate)])), w).max(axis=1)
    rise = env - np.minimum.accumulate(env)
    assert rise.max() > 0, f"no attack near frame {around}"
    return a + int(np.flatnonzero(rise > 0.5 * rise.max())[0])


def offline(presets: Path, rate: int, events: list[tuple[int, list[int]]], frames: int) -> np.ndarray:
    """The first ``frames`` samples (mono) of MIDI ``events`` (sample, message) through the offline engine, with
    the dry piano as the default preset."""
    from siam_rt.engine import EngineConfig, load_engine

    with load_engine(None, presets, EngineConfig(sample_rate=rate, block=256), realtime=False, preset=DRY) as engine:
        for when, message in events:
            engine.schedule(message, when)
        audio = np.concatenate([engine.process(256) for _ in range(frames // 256 + 1)]).mean(axis=1)
    return audio[:frames]


def alone(presets: Path, rate: int, status: int, note: int, hold_s: float, program: int | None = None,
          seconds: float = 0.6) -> np.ndarray:
    """One note (after a program change, if given) through the offline engine, from its first sample."""
    start, n = rate // 10, int(seconds * rate)
    events = [] if program is None else [(start - rate // 100, [0xC0 | (status & 0x0F), program])]
    events += [(start, [status, note, 100]), (start + round(hold_s * rate), [status & 0x0F | 0x80, note, 0])]
    return offline(presets, rate, events, start + n)[start:]


def fall_time(x: np.ndarray, start: int, rate: int, floor_db: float, limit_s: float) -> float:
    """Seconds from ``start`` until the 2 ms envelope stays below ``floor_db`` (dBFS) for good (within limit_s)."""
    env = envelope_db(x[start: start + int(limit_s * rate)], rate)
    above = np.flatnonzero(env >= floor_db)
    return 0.0 if above.size == 0 else (above[-1] + 1) / rate


def test_started_and_stopped_cleanly(session: Session) -> None:
    """Ctrl-C ends the session with exit code 0, a summary that counted every note, and a finished recording of
    what JACK received (same peak)."""
    import soundfile as sf

    s = session.summary
    rec, rate = sf.read(s["recorded"], dtype="float64", always_2d=True)
    assert rate == session.rate and len(rec) >= len(session.audio) and s["recorder_dropped_frames"] == 0
    peaks_db = [20 * math.log10(float(np.abs(a).max())) for a in (rec.mean(axis=1), session.audio)]
    assert abs(peaks_db[0] - peaks_db[1]) < 0.5, peaks_db
    assert s["notes_played"] == len(SPACING) + len(PITCHES) + 1 + len(PHRASE) + 2 * len(CHORD) + len(FOUR), s
    assert s["active_voices"] == 0 and s["callback_errors"] == 0 and s["nonfinite_samples"] == 0, s
    assert "played " in s["output"] and "underruns" in s["output"]
    print(f"period {session.period}: underruns {s['underruns']}, CPU mean {s['cpu_load_mean']:.3f} max "
          f"{s['cpu_load_max']:.3f}, late events {s['late_events']}")


def test_onsets_keep_the_sent_spacing(session: Session) -> None:
    """Onset differences equal the send-time differences within one JACK period + 2 ms. Each onset is found to
    the sample by fitting the note's offline render to the recording."""
    rate = session.rate
    labels = [f"space{i}" for i in range(len(SPACING))]
    sound = alone(session.presets, rate, 0x91, 67, 0.2)
    placed = session.place(labels, [sound] * len(labels))
    errors_ms = []
    for i in range(1, len(SPACING)):
        sent = session.sent[labels[i]] - session.sent[labels[i - 1]]
        heard = (placed[0][i].frame - placed[0][i - 1].frame) / rate
        errors_ms.append(1e3 * (heard - sent))
    limit_ms = 1e3 * session.period / rate + 2
    print(f"period {session.period}: spacing errors (ms) {np.round(errors_ms, 2).tolist()}, limit {limit_ms:.2f}; "
          f"matches {[round(p.match, 4) for p in placed[0]]}")
    judge(max(abs(e) for e in errors_ms) <= limit_ms, f"spacing errors {errors_ms} ms", session, placed)


def attacks(x: np.ndarray, start: int, stop: int, rate: int, rise_db: float = 5.0) -> list[int]:
    """Every attack between frames ``start`` and ``stop``: where the 10 ms RMS level rises by ``rise_db`` or more
    above its lowest level in the 100 ms before (a new strike, or a re-strike of a held note, raises the level; a
    held or decaying tone does not: the previous engine's re-strike of a 0.4 s piano note rose 7 dB), one per
    rise, at least 100 ms apart."""
    hop = int(0.01 * rate)
    seg = np.asarray(x[start: stop], np.float64)
    frames = seg[: len(seg) // hop * hop].reshape(-1, hop)
    level = 10 * np.log10((frames ** 2).mean(axis=1) + 1e-12)
    found: list[int] = []
    rising = False
    for i in range(1, len(level)):
        up = level[i] - level[max(0, i - 10): i].min() >= rise_db
        if up and not rising and (not found or i - found[-1] >= 10):
            found.append(i)
        rising = up
    return [start + i * hop for i in found]


def test_four_notes_are_four_onsets_in_tune_and_in_time(session: Session) -> None:
    """MIDI 57, 69, 72 and 76, 0.6 s apart and 0.4 s long on the default preset's piano: four attacks (a held note
    is never struck again), each within 25 cents, spaced within one period + 2 ms of 0.6 s."""
    x, rate = session.audio, session.rate
    labels = [f"four{n}" for _, n in FOUR]
    first = session.onsets[labels[0]]
    found = attacks(x, first - int(0.05 * rate), first + int(2.4 * rate), rate)
    assert len(found) == len(FOUR), f"{len(found)} attacks at {[(f - first) / rate for f in found]} s"
    for (_, note), label in zip(FOUR, labels, strict=True):
        on = session.onsets[label]
        off = cents(median_f0(x[on + int(0.05 * rate): on + int(0.35 * rate)], rate), note)
        assert abs(off) < 25, f"MIDI {note} is {off:.1f} cents off"
    sounds = [alone(session.presets, rate, 0x94, n, 0.4) for _, n in FOUR]
    placed = session.place(labels, sounds)
    sent = [session.sent[label] for label in labels]  # 0.6 s apart, as sent
    errors_ms = [1e3 * ((placed[0][i].frame - placed[0][i - 1].frame) / rate - (sent[i] - sent[i - 1]))
                 for i in range(1, len(FOUR))]
    limit_ms = 1e3 * session.period / rate + 2
    print(f"period {session.period}: four notes, spacing errors (ms) {np.round(errors_ms, 2).tolist()}")
    judge(max(abs(e) for e in errors_ms) <= limit_ms, f"spacing errors {errors_ms} ms", session, placed)


def test_pitch_of_each_note(session: Session) -> None:
    """Each note's pitch is within 25 cents; where the bundled model itself is out of tune (decoded directly,
    no engine), the live pitch must match the model's and the test is an expected failure naming the figures."""
    from siam_rt.notes.note_map import NoteMap
    from siam_rt.resources import default_model_dir
    from siam_rt.runtime.onnx_model import OnnxModel
    from siam_rt.timbre.bank import load_bank

    x, rate = session.audio, session.rate
    live = {}
    for _, note in PITCHES:
        on = session.onsets[f"pitch{note}"]
        live[note] = median_f0(x[on + int(0.05 * rate): on + int(0.45 * rate)], rate)
    model = OnnxModel(threads=1)
    note_map = NoteMap.load(default_model_dir() / "note_map.npz", model.model_id)
    preset = load_bank(session.presets, model.model_id).get(DRY)
    offset = 0 if preset.note_offset is None else preset.note_offset
    vectors = np.stack([note_map.vector(n, 100) + offset for _, n in PITCHES]).astype(np.float32)
    decoded = model.decode(vectors, preset.context)
    sr = model.sample_rate
    direct = {n: median_f0(y[int(0.05 * sr): int(0.45 * sr)], sr) for (_, n), y in zip(PITCHES, decoded, strict=True)}
    figures = {n: {"live": _round(cents(live[n], n)), "model": _round(cents(direct[n], n))} for _, n in PITCHES}
    print(f"period {session.period}: cents off per note {figures}")
    for _, n in PITCHES:
        if direct[n] > 0:
            assert live[n] > 0 and abs(1200 * math.log2(live[n] / direct[n])) < 25, figures
    in_tune = [n for _, n in PITCHES if abs(cents(direct[n], n)) < 25]
    for n in in_tune:
        assert abs(cents(live[n], n)) < 25, figures
    if len(in_tune) < len(PITCHES):
        pytest.xfail(f"the bundled model alone plays {len(PITCHES) - len(in_tune)} of {len(PITCHES)} notes out of "
                     f"tune; cents off (live, model): {figures}")


def test_release_after_note_off(session: Session) -> None:
    """After note-off the voice falls below -60 dB (from its peak) within its release time + 50 ms."""
    x, rate = session.audio, session.rate
    times = []
    for i in range(len(SPACING)):
        on = session.onsets[f"space{i}"]
        off = session.frame(f"space{i}_off", f"space{i}")
        peak_db = 20 * math.log10(float(np.abs(x[on:off]).max()))
        gap = 0.5 if i + 1 == len(SPACING) else SPACING[i + 1] - SPACING[i] - 0.2 - 0.02  # before the next note
        times.append(fall_time(x, off, rate, peak_db - 60, gap))
    print(f"period {session.period}: release to -60 dB (s) {np.round(times, 3).tolist()}")
    judge(max(times) <= RELEASE_S + 0.05, f"release times {times} s", session)


def test_sustain_pedal_holds_notes(session: Session) -> None:
    """A note released with the pedal down sounds on (re-excited) until the pedal lifts, where a released note is
    digital silence within its release time; then it falls below -60 dB within release time + 50 ms."""
    x, rate = session.audio, session.rate
    on = session.onsets["pedal_note"]
    key_up, up = session.frame("pedal_note_off", "pedal_note"), session.frame("pedal_up", "pedal_note")
    peak_db = 20 * math.log10(float(np.abs(x[on: key_up]).max()))
    held = envelope_db(x[key_up + int((RELEASE_S + 0.05) * rate): up - 2 * session.period], rate, window_s=0.02)
    last = held[-int(0.3 * rate):]
    fall = fall_time(x, up, rate, peak_db - 60, 0.5)  # the phrase starts 0.6 s after
    print(f"period {session.period}: while held, {held.min() - peak_db:.1f} dB from peak at least, "
          f"{last.max() - peak_db:.1f} dB in the last 0.3 s; below -60 dB {fall:.3f} s after the pedal lifted")
    judge(held.min() > peak_db - 75 and last.max() > peak_db - 50, "the note died with the pedal still down",
          session)
    judge(fall <= RELEASE_S + 0.05, f"after the pedal lifted, below -60 dB only after {fall:.3f} s", session)


def band_profile(x: np.ndarray, rate: int, n: int = 24) -> np.ndarray:
    """Log energy in ``n`` log-spaced bands (60 Hz-12 kHz), relative to the loudest band."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / rate)
    edges = np.geomspace(60, 12000, n + 1)
    pairs = zip(edges[:-1], edges[1:], strict=True)
    bands = np.array([10 * np.log10(spec[(f >= a) & (f < b)].sum() + 1e-12) for a, b in pairs])
    return bands - bands.max()


def phrase_renders(presets: Path, rate: int, starts: list[int]) -> list[np.ndarray]:
    """The phrase (note i at sample ``starts[i]``) through the offline engine with the program change just before
    note k, for each k from 0 to len(PHRASE) (never): how each possible switching point sounds, held-over notes
    included."""
    notes = [e for start, note in zip(starts, PHRASE_NOTES, strict=True)
             for e in ((start, [0x90, note, 100]), (start + round(0.2 * rate), [0x80, note, 0]))]
    change = [[(start - rate // 100, [0xC0, PC_PROGRAM])] for start in starts] + [[]]
    return [offline(presets, rate, notes + c, starts[-1] + rate) for c in change]


def test_program_change_mid_phrase(session: Session) -> None:
    """After a program change the next note has the new timbre, on time (within two periods of the previous note
    plus the send-time difference; both placed to the sample by fitting their offline renders), and the phrase
    has no silent gap longer than one period. The timbre: the recorded phrase (each note's first 0.1 s) is
    compared with offline renders that switch before each note in turn, and must match the switch before the
    note that followed the program change: notes now overlap (held, then released), so a note alone would not
    do as a reference."""
    x, rate, period = session.audio, session.rate, session.period
    window = int(0.1 * rate)
    onsets = [session.onsets[f"phrase{i}"] for i in range(len(PHRASE))]
    # the timbre is judged on the engine's own recording: xruns of the JACK graph (dropped cycles) alter the capture
    # and, with notes that now ring into each other, could tip the comparison; the capture is judged for gaps below
    own = session.engine_audio
    live = [band_profile(own[on + session.engine_offset: on + session.engine_offset + window], rate) for on in onsets]
    starts = [window + round((t - PHRASE[0]) * rate) for t in PHRASE]
    renders = phrase_renders(session.presets, rate, starts)
    distances = []
    for audio in renders:
        ref = [band_profile(audio[on: on + window], rate) for on in starts]
        distances.append(sum(float(np.sqrt(np.mean((a - b) ** 2))) for a, b in zip(live, ref, strict=True)))
    switched = int(np.argmin(distances))
    first_new = 4
    labels = [f"phrase{i}" for i in range(len(PHRASE))]
    sounds = [alone(session.presets, rate, 0x90, n, 0.2, PC_PROGRAM if i >= first_new else None)
              for i, n in enumerate(PHRASE_NOTES)]
    placed = session.place(labels, sounds)
    capture = placed[0]
    late = (capture[first_new].frame - capture[first_new - 1].frame
            - round((session.sent[labels[first_new]] - session.sent[labels[first_new - 1]]) * rate)) / period
    print(f"period {period}: the timbre changed before note {switched} (distances "
          f"{[round(d, 1) for d in distances]}); first new note {late:+.2f} periods from its mapped time; matches "
          f"{[round(p.match, 4) for p in capture]}")
    assert switched == first_new, distances
    pair = tuple(p[first_new - 1: first_new + 1] for p in placed)
    judge(abs(late) <= 2, f"the first new note came {late:+.2f} periods from its time", session, pair)
    phrase = x[onsets[0]: session.frame(f"phrase{len(PHRASE) - 1}_off", f"phrase{len(PHRASE) - 1}")]
    peak_db = 20 * math.log10(float(np.abs(phrase).max()))
    quiet = envelope_db(phrase, rate, window_s=0.0005) < peak_db - 60
    longest = _longest_run(quiet)
    assert longest <= period, f"a silent gap of {longest} samples"


def test_all_notes_off_silences_within_a_second(session: Session) -> None:
    """After all-notes-off (CC123, sustain pedal still down) the output is below -80 dBFS within 1 s: for voices
    alone (a preset without room), and with the room (the engine fades a channel's room once its releases end)."""
    x, rate = session.audio, session.rate
    limits = {"dry": ALL_OFF["room"][0] - ALL_OFF["dry"][2] - 0.1, "room": FOUR[0][0] - ALL_OFF["room"][2] - 0.1}
    falls = {kind: fall_time(x, session.frame(f"{kind}_all_off", f"{kind}_chord48"), rate, -80.0, limits[kind])
             for kind in ALL_OFF}
    print(f"period {session.period}: below -80 dBFS after all-notes-off (s) {falls}")
    assert falls["dry"] <= 1.0, falls
    assert falls["room"] <= 1.0, falls


def test_reload_rejects_a_bad_file_and_takes_a_good_one(session: Session) -> None:
    """A broken preset file is reported and the old presets keep playing; the fixed file is reloaded."""
    bad, good = session.reload_lines
    assert "presets not reloaded" in bad and "piano.json" in bad and "old presets keep playing" in bad
    assert "presets reloaded" in good
    assert session.summary["reloads"] >= 1 and session.summary["reload_failures"] >= 1


def judge(ok: bool, failure: str, session: Session,
          placed: tuple[list[Placement], list[Placement]] | None = None) -> None:
    """Fail a timing check; or, where the JACK graph had xruns, mark it an expected failure that states the figures.

    With xruns the graph has dropped cycles, so its frames no longer follow the monotonic clock the messages were
    sent on (at period 128 on a 2-core VM, the engine's own recording has shown a note 13 ms early against the
    sent spacing, every note intact); bench/bench_live_latency.py measures on one clock instead. Where notes were
    placed (``placed``: capture, engine's own recording), the engine's own output must match them whatever the
    xruns: a wrong sound is never excused.
    """
    if ok:
        return
    n = session.summary.get("underruns", 0)
    matches = ""
    if placed is not None:
        capture, engine = (min(p.match for p in found) for found in placed)
        assert engine >= MATCH, f"{failure}, and the engine's own recording does not match the notes ({engine:.4f})"
        matches = f"; capture match {capture:.4f}, the engine's own recording {engine:.4f}"
    if n:
        pytest.xfail(f"{failure}, with {n} xruns: the JACK graph dropped cycles{matches}")
    pytest.fail(f"{failure}; no xruns{matches}")


def _longest_run(mask: np.ndarray) -> int:
    """Length of the longest run of True."""
    if not mask.any():
        return 0
    padded = np.concatenate([[0], mask.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())


def _round(x: float) -> int | None:
    return round(x) if math.isfinite(x) else None


def test_missing_port_and_device_are_clear_errors(jack_server, cli) -> None:
    """A missing MIDI port or audio device fails at once (before the model loads), listing what exists."""
    proc = cli("play", "--midi-in", "no-such-keyboard", "--midi-api", "jack", timeout=60)
    assert proc.returncode == 2 and "siam-rt: error: no MIDI input port 'no-such-keyboard'; ports:" in proc.stderr
    proc = cli("play", "--device", "no-such-card", timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "is not an audio output device; devices: [" in proc.stderr and "JACK" in proc.stderr


def test_named_port_that_disappears_is_reconnected(jack_server, tmp_path: Path) -> None:
    """--midi-in follows a port that goes away and comes back: notes from before and after both play."""
    import rtmidi

    def keyboard() -> rtmidi.MidiOut:
        out = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="siam-test-kbd")
        out.open_virtual_port("keys")
        return out

    kbd = keyboard()
    play = PlayProcess("--midi-in", "siam-test-kbd:keys", "--no-room", stats=tmp_path / "stats.json")
    try:
        play.start()
        kbd.send_message([0x90, 60, 100])
        time.sleep(0.3)
        kbd.send_message([0x80, 60, 0])
        mark = len(play.lines)
        kbd.close_port()
        kbd.delete()
        wait_line(play, "lost: waiting", mark)
        mark = len(play.lines)
        kbd = keyboard()
        wait_line(play, "reconnected", mark)
        kbd.send_message([0x90, 64, 100])
        time.sleep(0.3)
        kbd.send_message([0x80, 64, 0])
        time.sleep(0.5)
    finally:
        kbd.delete()
        summary = play.stop()
    assert summary["exit_code"] == 0, summary["output"]
    assert summary["midi_reconnects"] == 1 and summary["notes_played"] == 2, summary["output"]
