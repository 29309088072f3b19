"""The engine on a stub model whose every event is known: timing, pitch, voices, pedals, controllers, rooms."""

from __future__ import annotations

import math
import time

import mido
import numpy as np
import pytest
from engine_stub import RATE, StubModel, stub_bank, stub_note_map

from siam_rt.engine import Engine, EngineConfig, render
from siam_rt.engine.room import Room
from siam_rt.engine.voice import INF
from siam_rt.notes.measure import cents as measure_cents
from siam_rt.notes.measure import median_f0
from siam_rt.timbre.behaviour import level_db


def make_engine(realtime: bool = False, model: StubModel | None = None, preset: str | None = None,
                **settings) -> Engine:
    cfg = EngineConfig(**{"sample_rate": RATE, "block": 256, **settings})
    return Engine(model or StubModel(), stub_bank(settings.pop("drums", None)), stub_note_map(), cfg, realtime,
                  preset)


def on(note: int, velocity: int = 100, channel: int = 0) -> mido.Message:
    return mido.Message("note_on", note=note, velocity=velocity, channel=channel)


def off(note: int, channel: int = 0) -> mido.Message:
    return mido.Message("note_off", note=note, channel=channel)


def cc(control: int, value: int, channel: int = 0) -> mido.Message:
    return mido.Message("control_change", control=control, value=value, channel=channel)


def pitch_hz(audio: np.ndarray, rate: int, start: float, length: float = 0.25) -> float:
    """Median pitch of a mono window (``notes.measure.median_f0``)."""
    return median_f0(audio[int(start * rate): int((start + length) * rate)], rate)


def cents(f: float, ref: float) -> float:
    """Cents between ``f`` and ``ref`` (both Hz)."""
    return measure_cents(f, 69 + 12 * math.log2(ref / 440.0))


def mono(out: np.ndarray) -> np.ndarray:
    return out.mean(axis=1)


def db(x: np.ndarray) -> float:
    return 20 * math.log10(max(float(np.abs(x).max()), 1e-12))


@pytest.mark.parametrize("frames", [256, 100, 1000])
def test_event_starts_at_its_sample(frames: int) -> None:
    """A note scheduled at sample 1000 sounds from sample 1000 whatever the block size (not at a block edge)."""
    eng = make_engine(room=False)
    eng.schedule(on(69), 1000)
    out = np.concatenate([eng.process(frames) for _ in range(3000 // frames + 1)])
    first = int(np.flatnonzero(np.abs(out[:, 0]) > 1e-6)[0])
    assert 1000 <= first <= 1001  # the stub's tone starts at sin(0) = 0


def test_event_timing_through_the_resampler() -> None:
    """Mixing at the model's rate and resampling the bus keeps onsets on time (to a sample of the model rate)."""
    eng = Engine(StubModel(), stub_bank(), stub_note_map(),
                 EngineConfig(sample_rate=44100, mix_rate="model", block=1024, room=False), realtime=False)
    out = render(eng, [(0.5, on(69)), (0.6, off(69)), (1.0, on(72))], 1.5, block=777)
    env = np.abs(out[:, 0])
    for t in (0.5, 1.0):
        seg = env[int((t - 0.05) * 44100): int((t + 0.05) * 44100)]
        first = np.flatnonzero(seg > 0.05 * seg.max())[0] / 44100 + t - 0.05
        assert abs(first - t) < 0.001


def test_pitch_bend_tuning_and_transpose() -> None:
    """Bend +2 semitones, A4 = 442 Hz and transpose +12 move the measured pitch by exactly that much."""
    cases = [({}, [], 440.0), ({"a4_hz": 442.0}, [], 442.0), ({"transpose": 12}, [], 880.0),
             ({}, [mido.Message("pitchwheel", pitch=8191)], 440.0 * 2 ** (2 * 8191 / 8192 / 12)),
             ({"bend_range": 12.0}, [mido.Message("pitchwheel", pitch=-8192)], 220.0)]
    for settings, before, expected in cases:
        eng = make_engine(room=False, **settings)
        out = render(eng, [(0.0, m) for m in before] + [(0.0, on(69))], 0.4)
        assert abs(cents(pitch_hz(mono(out), RATE, 0.05), expected)) < 5, (settings, before)


def test_rpn_sets_bend_range() -> None:
    """RPN 0 (CC101/100 = 0, CC6 = 7) makes a full bend up a fifth."""
    eng = make_engine(room=False)
    msgs = [cc(101, 0), cc(100, 0), cc(6, 7), mido.Message("pitchwheel", pitch=8191), on(57)]
    out = render(eng, [(0.0, m) for m in msgs], 0.4)
    assert abs(cents(pitch_hz(mono(out), RATE, 0.05), 220 * 2 ** (7 * 8191 / 8192 / 12))) < 5


def test_release_falls_60_db_within_release_time() -> None:
    """After note-off the voice is below -60 dB (of its peak) within release_s + 50 ms, and then silent."""
    eng = make_engine(room=False)
    out = mono(render(eng, [(0.0, on(60)), (0.2, off(60))], 0.6))
    peak = np.abs(out).max()
    after = out[int((0.2 + 0.1 + 0.05) * RATE):]  # stub presets release in 0.1 s
    assert np.abs(after).max() < peak * 1e-3
    assert eng.stats().active_voices == 0


def test_sustain_pedal_holds_until_lifted() -> None:
    eng = make_engine(room=False)
    msgs = [(0.0, cc(64, 127)), (0.0, on(60)), (0.1, off(60)), (0.8, cc(64, 0))]
    out = mono(render(eng, msgs, 1.2))
    held = out[int(0.6 * RATE): int(0.75 * RATE)]
    gone = out[int(0.8 * RATE + 0.15 * RATE):]
    assert np.abs(held).max() > 0.01  # still sounding while the pedal holds it
    assert np.abs(gone).max() < 1e-4


def test_sostenuto_holds_only_the_notes_down_when_pressed() -> None:
    eng = make_engine(room=False)
    msgs = [(0.0, on(60)), (0.05, cc(66, 127)), (0.1, on(64)), (0.2, off(60)), (0.2, off(64)),
            (0.9, cc(66, 0))]
    render(eng, msgs, 0.6)
    notes = sorted(v.note for v in eng.pool if not v.released)
    assert notes == [60]  # 64 was pressed after the pedal: released
    render(eng, [], 0.6)
    assert len(eng.pool) == 0


def test_all_notes_off_silences_within_a_second() -> None:
    """CC123 releases every note, pedal-held ones too: below -80 dBFS within 1 s (room on)."""
    eng = make_engine()
    msgs = [(0.0, cc(64, 127))] + [(0.0, on(n)) for n in (48, 55, 60, 64, 67)] + [(0.5, cc(123, 0))]
    out = render(eng, msgs, 1.6)
    assert db(out[: int(0.5 * RATE)]) > -30
    assert db(out[int(1.5 * RATE):]) < -80


def test_all_sound_off_cuts_at_once() -> None:
    """CC120: voices cut in 2 ms; with the room on, its tail fades within the next block too."""
    eng = make_engine(room=False)
    out = mono(render(eng, [(0.0, on(60)), (0.3, cc(120, 0))], 0.5))
    assert np.abs(out[int(0.31 * RATE):]).max() == 0.0
    eng = make_engine()
    out = mono(render(eng, [(0.0, on(60)), (0.3, cc(120, 0))], 0.5))
    assert np.abs(out[int(0.3 * RATE) + 2 * 256:]).max() == 0.0


def test_reset_controllers() -> None:
    eng = make_engine(room=False)
    render(eng, [(0.0, cc(64, 127)), (0.0, mido.Message("pitchwheel", pitch=4000)), (0.0, cc(11, 20)),
                 (0.0, on(60)), (0.05, off(60)), (0.1, cc(121, 0))], 0.2)
    ch = eng.channels[0]
    assert (ch.sustain, ch.bend, ch.expression) == (False, 0, 127)
    assert all(v.released for v in eng.pool)


def test_polyphony_limit_steals_the_quietest() -> None:
    """Beyond the limit a new note steals (a released voice first); the pool never holds more than 2x."""
    eng = make_engine(polyphony=4, room=False)
    msgs = [(0.0, on(60)), (0.01, off(60))] + [(0.02 + 0.01 * i, on(62 + i)) for i in range(8)]
    render(eng, msgs, 0.2)
    stats = eng.stats()
    assert stats.stolen_voices == 5
    sounding = sorted(v.note for v in eng.pool if not v.killed)
    assert sounding == [66, 67, 68, 69]  # 60 (released) went first, then the oldest held ones


def test_flood_stays_bounded() -> None:
    """10,000 note-ons in one second: it plays, steals, and the work per block stays bounded."""
    eng = make_engine(polyphony=64)
    rng = np.random.default_rng(0)
    msgs = [(i / 10000, on(int(rng.integers(21, 109)), int(rng.integers(1, 128)))) for i in range(10000)]
    sizes = []
    eng.prefetch(msgs)
    for t, m in msgs:
        eng.schedule(m, t * RATE)
    for _ in range(int(1.5 * RATE / 256)):
        eng.process(256)
        sizes.append(len(eng.pool))
    assert max(sizes) <= 128
    stats = eng.stats()
    assert stats.notes_played == 10000 and stats.stolen_voices > 1000
    assert np.isfinite(eng.process(256)).all()


def test_note_on_a_sounding_key_restarts_it() -> None:
    eng = make_engine(room=False)
    render(eng, [(0.0, on(60)), (0.1, on(60, 50))], 0.2)
    live = [v for v in eng.pool if not v.killed]
    assert len(live) == 1 and live[0].t_on == int(0.1 * RATE)


def _level(out: np.ndarray) -> np.ndarray:
    """The measure of issue 19: RMS of 256-sample frames in dB, smoothed over 4 frames."""
    return level_db(out)


def _rerise(level: np.ndarray, until: int) -> float:
    """The largest rise of the level above the lowest level reached since the peak, up to frame ``until``."""
    peak = int(np.argmax(level[:until]))
    seg = level[peak:until]
    return float(np.max(seg - np.minimum.accumulate(seg)))


@pytest.mark.parametrize("seconds", [2.5, 10.0])
def test_a_held_struck_note_is_one_strike_that_decays_as_its_source(seconds: float) -> None:
    """A struck preset's held note decays along its curve (-20 dB/s in the stub) for as long as it is held,
    with no re-strike (no re-rise), past the 0.37 s decoded event, and then ends by itself."""
    eng = make_engine(room=False, preset="struck")
    out = mono(render(eng, [(0.0, on(57, 100))], seconds))
    level = _level(out)
    assert _rerise(level, len(level)) < 1.0
    peak = int(np.argmax(level))
    at = peak + int(1.5 * RATE / 256)
    assert abs(level[at] - level[peak] - (-30.0)) < 3.0, level[at] - level[peak]
    if seconds > 5:
        assert len(eng.pool) == 0, "a decayed note must end while held"


@pytest.mark.parametrize("seconds", [10.0, 60.0])
def test_a_held_sustained_note_sounds_without_holes_and_in_tune(seconds: float) -> None:
    """A sustained preset's note held 10 s or 60 s: no hole and no pulse (the level stays within 3 dB of its
    median after the attack) and still in tune at the end: its loop is whole periods of the note."""
    eng = make_engine(room=False)
    out = mono(render(eng, [(0.0, on(57, 100))], seconds))
    level = _level(out)[int(0.1 * RATE / 256):]
    med = float(np.median(level))
    assert level.min() > med - 3.0 and level.max() < med + 3.0, (level.min() - med, level.max() - med)
    assert abs(cents(pitch_hz(out, RATE, seconds - 0.6, 0.5), 220.0)) < 5


def test_the_pedal_lets_a_struck_note_ring_on_its_decay() -> None:
    """Note-off with the pedal down: the note rings on its own decay exactly as if the key were held; lifting
    the pedal releases it."""
    held = mono(render(make_engine(room=False, preset="struck"), [(0.0, on(60))], 1.5))
    eng = make_engine(room=False, preset="struck")
    msgs = [(0.0, cc(64, 127)), (0.0, on(60)), (0.1, off(60)), (1.2, cc(64, 0))]
    out = mono(render(eng, msgs, 1.5))
    n = int(1.2 * RATE)
    assert np.array_equal(out[:n], held[:n])
    assert np.abs(out[int(1.35 * RATE):]).max() < 1e-3 * np.abs(out).max()


def test_a_ringing_key_struck_again_restarts_without_a_click() -> None:
    """Striking a ringing key again damps the old note as the new one starts: one new attack (the level rises
    once), and no sample-to-sample step larger than the attacks' own."""
    eng = make_engine(room=False, preset="struck")
    out = mono(render(eng, [(0.0, on(60)), (0.7, on(60))], 1.5))
    first = mono(render(make_engine(room=False, preset="struck"), [(0.0, on(60))], 0.7))
    steps = np.abs(np.diff(out))
    assert steps.max() <= 1.05 * np.abs(np.diff(first)).max()
    level = _level(out)
    assert _rerise(level, int(0.69 * RATE / 256)) < 1.0
    assert level[int(0.75 * RATE / 256)] > level[int(0.68 * RATE / 256)] + 6.0


def test_program_change_switches_preset_and_old_voices_keep_theirs() -> None:
    eng = make_engine(room=False)
    render(eng, [(0.0, on(60)), (0.05, mido.Message("program_change", program=40)), (0.1, on(64))], 0.2)
    caches = {v.note: v.cache.name for v in eng.pool}
    assert caches == {60: "dull", 64: "bright"}


def test_preset_map_beats_program_change_and_preset_beats_default() -> None:
    eng = Engine(StubModel(), stub_bank(), stub_note_map(), EngineConfig(sample_rate=RATE), realtime=False,
                 preset="bright", preset_map={1: "dull"})
    render(eng, [(0.0, mido.Message("program_change", program=40, channel=1)), (0.0, on(60, channel=1)),
                 (0.0, on(62, channel=2))], 0.05)
    assert {v.note: v.cache.name for v in eng.pool} == {60: "dull", 62: "bright"}


def test_drum_channel_is_muted_unless_the_bank_plays_it() -> None:
    eng = make_engine(room=False)
    out = render(eng, [(0.0, on(60, channel=9))], 0.1)
    assert np.abs(out).max() == 0 and eng.stats().notes_muted == 1
    eng = Engine(StubModel(), stub_bank(drums="bright"), stub_note_map(), EngineConfig(sample_rate=RATE),
                 realtime=False)
    out = render(eng, [(0.0, on(60, channel=9))], 0.1)
    assert np.abs(out).max() > 0


def test_channel_filter() -> None:
    eng = make_engine(room=False, channels=frozenset({0}))
    out = render(eng, [(0.0, on(60, channel=1))], 0.1)
    assert np.abs(out).max() == 0


def test_volume_expression_and_pan() -> None:
    def level(*msgs: mido.Message) -> np.ndarray:
        eng = make_engine(room=False)
        out = render(eng, [(0.0, m) for m in msgs] + [(0.0, on(60))], 0.2)
        return np.sqrt((out[int(0.05 * RATE):] ** 2).mean(axis=0))

    base = level()
    assert abs(base[0] - base[1]) < 1e-6
    right = level(cc(10, 127))
    assert right[0] < 1e-6 * right[1]
    half = level(cc(7, round(100 / math.sqrt(2))))
    assert abs(half[0] / base[0] - 0.5) < 0.01
    quiet = level(cc(11, 0))
    assert quiet.max() == 0


def test_soft_pedal_lowers_layer_and_level() -> None:
    eng = make_engine(room=False)
    render(eng, [(0.0, cc(67, 127)), (0.0, on(60, 127)), (0.0, cc(67, 0)), (0.0, on(64, 127))], 0.05)
    soft, loud = sorted(eng.pool, key=lambda v: v.note)
    assert soft.layer == loud.layer - 1
    assert abs(20 * math.log10(soft.amp / loud.amp) + 6) < 1e-6


def test_mod_wheel_decodes_a_brighter_vector_live() -> None:
    """CC1 moves the vector toward the next layer; that event is decoded (not taken from the cache)."""
    model = StubModel()
    eng = make_engine(room=False, model=model)
    render(eng, [(0.0, on(60, 64))], 0.05)
    plain = next(iter(eng.pool)).root
    before = model.decodes
    render(eng, [(0.0, cc(1, 127)), (0.0, on(62, 64))], 0.05)
    assert model.decodes == before + 1  # the mod-wheel variant of 62 (its plain row is not needed yet)
    voice = next(v for v in eng.pool if v.note == 62)
    cache = voice.cache
    assert not np.shares_memory(voice.root, cache.data)
    assert np.shares_memory(plain, cache.data[60 - 21, voice.layer])
    np.testing.assert_allclose(cache.morph_vector(41, 1, 1.0), cache.vectors[41, 2])


def test_humanize_is_reproducible_by_seed() -> None:
    def run(seed: int) -> np.ndarray:
        model = StubModel()
        eng = make_engine(room=False, humanize=1.0, seed=seed, model=model)
        eng.note_map.spread[:, :, 0] = 0.1  # let humanize detune the stub a little
        return render(eng, [(0.05 * i, on(60 + i)) for i in range(6)], 0.5)

    a, b, c = run(1), run(1), run(2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_nonfinite_samples_never_leave_the_engine() -> None:
    calls = []

    def bad_chain(audio: np.ndarray, sample_rate: int, reset: bool = True) -> np.ndarray:
        calls.append(reset)
        audio = audio.copy()
        audio[0, 10] = np.nan
        audio[1, 20] = np.inf
        return audio

    eng = make_engine()
    eng.chain = bad_chain
    out = render(eng, [(0.0, on(60))], 0.1)
    assert np.isfinite(out).all()
    assert eng.stats().nonfinite_samples > 0
    assert calls and not any(calls)  # the chain runs with reset=False


def test_offline_renders_are_identical() -> None:
    msgs = [(0.0, on(60)), (0.1, mido.Message("pitchwheel", pitch=3000)), (0.3, off(60)), (0.2, on(67, 40))]
    a = render(make_engine(), msgs, 1.0)
    b = render(make_engine(), msgs, 1.0)
    assert np.array_equal(a, b)


def test_live_engine_builds_caches_off_thread_and_swaps_without_gap() -> None:
    """Live: caches are built by the worker; a program change to a preset not built yet keeps the old preset
    until the new one is published, so the channel never goes silent."""
    eng = make_engine(realtime=True)
    try:
        assert eng.prepare(timeout=30)
        assert eng.channels[0].cache is not None and eng.channels[0].cache.complete
        eng.schedule(mido.Message("program_change", program=40), 0)
        eng.schedule(on(60), 0)
        out = eng.process(256)
        assert np.abs(out).max() > 0  # played at once, by the old preset
        assert eng.channels[0].pending is not None
        assert eng.worker.wait_idle(30)
        eng.process(256)
        assert eng.channels[0].cache.name == "bright"
        eng.schedule(on(64), eng.time)
        eng.process(256)
        assert {v.note: v.cache.name for v in eng.pool} == {60: "dull", 64: "bright"}
        assert eng.stats().notes_dropped == 0
    finally:
        eng.close()


def test_room_is_the_convolution_with_its_ir() -> None:
    """The partitioned room equals a direct convolution, block by block."""
    rng = np.random.default_rng(1)
    ir = rng.standard_normal(1000).astype(np.float32)
    x = rng.standard_normal(64 * 40).astype(np.float32)
    room = Room(ir, 0.5, 64)
    got = np.concatenate([room.process(x[i: i + 64]) for i in range(0, len(x), 64)])
    want = np.convolve(x, ir)[: len(x)]
    np.testing.assert_allclose(got, want, atol=1e-3)
    assert room.ringing
    for _ in range(room.parts + 1):
        room.process(None)
    assert not room.ringing and room.process(None) is None


def test_voice_end_is_inf_while_held() -> None:
    eng = make_engine(room=False)
    render(eng, [(0.0, on(60))], 0.05)
    assert next(iter(eng.pool)).end == INF


def test_live_mod_wheel_rows_come_from_the_worker() -> None:
    """Live, the mod wheel's event is decoded on the worker: the first note plays the cached row at once, a
    note after the worker is done plays the decoded one."""
    model = StubModel()
    eng = make_engine(realtime=True, model=model)
    try:
        assert eng.prepare(timeout=30)
        eng.schedule(cc(1, 127), 0)
        eng.schedule(on(60, 64), 0)
        eng.process(256)
        first = next(iter(eng.pool))
        assert np.shares_memory(first.root, first.cache.data)  # not waiting for the decoder
        deadline = time.monotonic() + 30
        while not eng.worker.live and time.monotonic() < deadline:
            time.sleep(0.01)
        eng.schedule(on(62, 64), eng.time)
        eng.process(256)
        eng.schedule(on(60, 64), eng.time)  # 60's variant was requested by the first note
        eng.process(256)
        voice = next(v for v in eng.pool if v.note == 60 and not v.killed)
        assert not np.shares_memory(voice.root, voice.cache.data)
    finally:
        eng.close()


def test_pipelined_rooms_give_the_same_samples() -> None:
    """Offline, the rooms run on a second thread while the next block is mixed: the output is the same."""
    msgs = [(0.0, on(60)), (0.2, on(64, channel=1)), (0.25, mido.Message("program_change", program=40)),
            (0.3, on(67)), (0.5, cc(120, 0, channel=1)), (0.6, off(60)), (0.7, off(67))]

    def run(pipeline: bool) -> np.ndarray:
        cfg = EngineConfig(sample_rate=44100, mix_rate="model", block=512, pipeline=pipeline)
        eng = Engine(StubModel(), stub_bank(), stub_note_map(), cfg, realtime=False)
        try:
            return render(eng, msgs, 1.5, block=1000)
        finally:
            eng.close()

    piped, plain = run(True), run(False)
    assert np.abs(plain).max() > 0.01
    assert np.array_equal(piped, plain)


def test_a_held_voice_plays_its_row_as_cache_played_says() -> None:
    """The engine's voice (block by block, through the mixer) and ``cache.played`` (the whole note at once, for
    the evaluations) give the same held note: the row, its loop repeated, the curve's fall."""
    from siam_rt.engine.cache import played

    for preset in ("struck", "dull"):
        eng = make_engine(room=False, preset=preset, master_gain_db=0.0)
        out = render(eng, [(0.0, on(57, 100))], 3.0)[:, 0]
        voice = next(iter(eng.pool), None)
        cache = eng.channels[0].cache
        key, layer = 57 - 21, eng.note_map.layer_of(100)
        data, _, meta = cache.row(key, layer)
        ref = played(data, meta, len(out), RATE, cache.curve[key], float(cache.late[key]))
        n = int(2.5 * RATE) if voice is None else len(out)  # a decayed voice ends at -90 dB
        scale = float(out[:n] @ ref[:n]) / float(ref[:n] @ ref[:n])  # the channel's fixed gains and pan
        # the engine ramps the curve's gain across the block where the loop starts: within 5e-3 of the peak there
        np.testing.assert_allclose(out[:n], scale * ref[:n], atol=5e-3 * np.abs(out).max())


def test_an_effect_that_raises_is_bypassed_and_the_clock_keeps_step() -> None:
    """The chain fails on its third block: it is reported once and bypassed, time goes on, and a note scheduled
    after the failure sounds at its own sample."""
    import mido

    from siam_rt.engine import load_engine, offline_config

    calls = []

    def chain(audio, rate, reset=False):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("plugin crashed")
        return audio * 0.5

    eng = load_engine(None, None, offline_config(22050, block=1024, pipeline=False), realtime=False, chain=chain)
    eng.schedule(mido.Message("note_on", note=60, velocity=100), 10_000)
    out = np.concatenate([eng.process(1024) for _ in range(20)])
    stats = eng.stats()
    eng.close()
    assert stats.chain_error == "RuntimeError: plugin crashed" and len(calls) == 3
    assert eng.time == 20 * 1024
    onset = int(np.argmax(np.abs(out[:, 0]) > 1e-4))
    assert 10_000 <= onset < 10_000 + 64
