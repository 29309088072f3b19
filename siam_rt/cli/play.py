"""`siam-rt play`: the live instrument, MIDI in (a port, or a virtual port a DAW sends to) and sound out.

Signals: Ctrl-C (SIGINT) or SIGTERM ends the session with a summary; SIGHUP reloads the presets and the bank
(a changed preset file is picked up by itself within a second); SIGUSR1 restarts the underrun and peak-load
count (send it after connecting further clients to a JACK graph: PortAudio flags an underrun at each join).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from siam_rt.cli.common import add_engine_options, add_model_option, engine_settings

SERVER_LOST = 3  # the exit status of --exit-on-server-loss
STATUS_HZ = 5.0
LOG_EVERY_S = 5.0


def add_parser(subparsers: Any) -> None:
    """Register `siam-rt play`."""
    from siam_rt.io.midi_in import API_CHOICES

    p = subparsers.add_parser(
        "play", help="play live: MIDI in, sound out (sound card, JACK, or a DAW through a virtual port)",
        description="Play SIAM live. MIDI comes from a port (--midi-in) or from a virtual port other programs "
        "send to (--virtual, default 'siam'); sound goes to an audio device through PortAudio. A status line shows "
        "presets, voices, CPU load, underruns and latency; Ctrl-C ends with a summary. SIGHUP (or editing a preset "
        "file) reloads the presets; a bad file is reported and the old presets keep playing.")
    add_model_option(p)
    p.add_argument("--presets", type=Path, default=None, metavar="DIR",
                   help="presets folder with bank.json (default: the shipped presets)")
    p.add_argument("--preset", default=None, help="preset of channels without a program change (default: the bank's)")
    p.add_argument("--preset-map", action="append", default=[], metavar="CH=PRESET",
                   help="pin MIDI channel CH (1-16) to PRESET, over program changes (repeatable)")
    p.add_argument("--prepare", default="", metavar="NAMES",
                   help="presets to decode before playing besides those in use, comma-separated, or 'all': program "
                   "changes to them are instant (others are decoded on first use; the old preset plays meanwhile)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--midi-in", default=None, metavar="PORT",
                     help="MIDI input port: index, name, or a unique part of the name (see `siam-rt devices`)")
    src.add_argument("--virtual", default=None, metavar="NAME",
                     help="open a virtual MIDI input port NAME that other programs connect to (default: 'siam' "
                     "when no --midi-in is given; not on Windows: use loopMIDI and --midi-in)")
    p.add_argument("--midi-api", choices=API_CHOICES, default="auto",
                   help="MIDI API (default auto: JACK if a server runs, else ALSA on Linux; CoreMIDI on macOS; WinMM "
                   "on Windows)")
    p.add_argument("--device", default=None, help="audio output: index, name or part of it (see `siam-rt devices`)")
    p.add_argument("--samplerate", type=int, default=48000, help="output sample rate in Hz (default 48000)")
    p.add_argument("--blocksize", type=int, default=None,
                   help="frames per audio block (default: the JACK period on JACK, else 256)")
    p.add_argument("--chain", default=None, metavar="CHAIN",
                   help="effect chain on the output: a chain file (JSON) or a shipped chain: hall, tape, bright")
    p.add_argument("--record", type=Path, default=None, metavar="OUT.wav",
                   help="also record the output (.wav/.aiff 32-bit float, .flac 24-bit), finished on exit")
    add_engine_options(p)
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds (default: never)")
    p.add_argument("--settle", type=float, default=1.0, metavar="S",
                   help="count underruns from S seconds after the start (default 1)")
    p.add_argument("--status", choices=("auto", "line", "log", "off"), default="auto",
                   help="status display: one updating line (terminal), a log line every 5 s, or none "
                   "(default auto: line on a terminal, else log)")
    p.add_argument("--stats-json", type=Path, default=None, metavar="PATH", help="write the summary as JSON on exit")
    p.add_argument("--exit-on-server-loss", action="store_true",
                   help="exit with status 3 when the audio server goes away (default: say so and go on)")
    p.set_defaults(func=run)


def options(args: argparse.Namespace) -> Any:
    """PlayOptions from the command line, checked."""
    from siam_rt.cli.render import parse_preset_map
    from siam_rt.engine.config import EngineConfig
    from siam_rt.errors import SiamError
    from siam_rt.live.session import PlayOptions

    if not 8000 <= args.samplerate <= 192000:
        raise SiamError(f"--samplerate {args.samplerate}: expected 8000-192000 Hz")
    if args.blocksize is not None and not 16 <= args.blocksize <= 8192:
        raise SiamError(f"--blocksize {args.blocksize}: expected 16-8192 frames")
    if args.duration is not None and args.duration <= 0:
        raise SiamError("--duration must be more than 0 seconds")
    prepare = [n.strip() for n in args.prepare.split(",") if n.strip()]
    return PlayOptions(
        model=args.model, presets=args.presets, preset=args.preset, preset_map=parse_preset_map(args.preset_map),
        prepare=prepare, midi_in=args.midi_in, virtual=args.virtual, midi_api=args.midi_api, device=args.device,
        samplerate=args.samplerate, blocksize=args.blocksize, chain=args.chain, record=args.record,
        engine=EngineConfig(**engine_settings(args)).validate(), settle_s=max(args.settle, 0.0))


class StatusLine:
    """The live status: one line rewritten in place on a terminal, or a log line every few seconds."""

    def __init__(self, mode: str) -> None:
        self.mode = ("line" if sys.stdout.isatty() else "log") if mode == "auto" else mode
        self._last_log = time.monotonic()
        self._width = 0

    def show(self, text: str) -> None:
        if self.mode == "line":
            pad = max(self._width - len(text), 0)
            self._width = len(text)
            sys.stdout.write("\r" + text + " " * pad)
            sys.stdout.flush()
        elif self.mode == "log" and time.monotonic() - self._last_log >= LOG_EVERY_S:
            self._last_log = time.monotonic()
            print(text, flush=True)

    def message(self, text: str) -> None:
        """A line of its own (reloads, lost ports) without breaking the status line."""
        if self.mode == "line":
            sys.stdout.write("\r" + " " * self._width + "\r")
            self._width = 0
        print(f"siam-rt play: {text}", flush=True)


def run(args: argparse.Namespace) -> int:
    from siam_rt.live.session import LiveSession, write_json

    opts = options(args)
    status = StatusLine(args.status)
    session = LiveSession(opts, report=status.message)
    stop = threading.Event()
    handlers = {signal.SIGINT: lambda *_: stop.set(), signal.SIGTERM: lambda *_: stop.set()}
    if hasattr(signal, "SIGHUP"):
        handlers[signal.SIGHUP] = lambda *_: session.reloader and session.reloader.request()
    if hasattr(signal, "SIGUSR1"):
        handlers[signal.SIGUSR1] = lambda *_: session.arm()
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    ok, code = False, 0
    try:
        session.start()
        out, midi = session.output, session.midi
        assert out is not None and midi is not None
        status.message(f"ready: MIDI in {midi.port_name} ({midi.api}), audio out [{out.device}] {out.device_name} "
                       f"({out.host_api}), {out.samplerate} Hz, block {out.blocksize}, "
                       f"latency {out.stats.latency_ms:.1f} ms; Ctrl-C to stop")
        lost = False
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while not stop.wait(1.0 / STATUS_HZ):
            if deadline is not None and time.monotonic() >= deadline:
                break
            if session.check_server():  # just lost: said, the take closed as a valid file
                status.message("audio server lost: no audio callback for 1 s (did JACK stop?); "
                               + ("exiting (--exit-on-server-loss)" if args.exit_on_server_loss else
                                  "the recording so far is kept; Ctrl-C to stop"))
                if args.exit_on_server_loss:
                    code = SERVER_LOST
                    break
            if midi.stats.connected == lost:
                lost = not lost
                status.message(f"MIDI input {midi.port_name} " + ("lost: waiting for it to come back" if lost
                                                                    else "reconnected"))
            status.show(session.status())
        ok = True
    finally:
        summary = session.close(keep_recording=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if status.mode == "line":
        sys.stdout.write("\n")
    print(format_summary(summary), flush=True)
    if args.stats_json is not None:
        write_json(args.stats_json, summary)
    code = code if ok else 1
    if summary.get("server_losses"):  # PortAudio's exit handler would wait on the dead server for ever
        sys.stderr.flush()
        os._exit(code)
    return code


def format_summary(s: dict[str, Any]) -> str:
    """The end-of-session summary, a few lines."""
    lines = [f"played {s.get('seconds', 0):.1f} s: {s.get('notes_played', 0)} notes from "
             f"{s.get('midi_received', 0)} MIDI messages, peak {s.get('peak_voices', 0)} voices "
             f"({s.get('stolen_voices', 0)} stolen), {s.get('late_events', 0)} late events"]
    if "underruns" in s:
        lines.append(f"audio: {s['underruns']} underruns, CPU load mean {100 * s['cpu_load_mean']:.0f}% max "
                     f"{100 * s['cpu_load_max']:.0f}%, latency {s['latency_ms']:.1f} ms, block {s['blocksize']} at "
                     f"{s['samplerate']} Hz on {s['device']}")
    if s.get("recording_failed"):
        lost = s.get("recorder_dropped_frames", 0) / max(s.get("samplerate", 1), 1)
        lines.append(f"recording stopped early ({s['recording_failed']}): {lost:.1f} s not recorded")
    if s.get("server_losses"):
        lines.append(f"audio server lost {s['server_losses']} time(s): {s['seconds_without_sound']:.1f} s without "
                     f"sound; takes: {', '.join(s.get('takes', [])) or 'none'}")
    if s.get("xrun_storms"):
        lines.append(f"xrun storms: {s['xrun_storms']} (more than 10 underruns within a second; try a larger period)")
    if s.get("chain_error"):
        lines.append(f"effect chain bypassed after an error: {s['chain_error']}")
    if s.get("callback_errors"):
        lines.append(f"audio callback errors: {s['callback_errors']} (last: {s['last_callback_error']})")
    if s.get("recorded"):
        dropped = s.get("recorder_dropped_frames")
        lines.append(f"recorded {s['recorded_frames'] / s['samplerate']:.1f} s to {s['recorded']}"
                     + (f" ({dropped} frames dropped)" if dropped else ""))
    if s.get("reloads") or s.get("reload_failures"):
        lines.append(f"presets reloaded {s['reloads']} time(s), {s['reload_failures']} bad file(s) rejected")
    return "\n".join(lines)
