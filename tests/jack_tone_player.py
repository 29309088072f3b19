"""Helper process for test_jack_smoke: plays a sine tone through a sounddevice OutputStream on JACK.

It opens the stream (silent), prints READY, waits for a line on stdin, plays the tone for exactly
SECONDS * RATE samples, lets half a second of silence follow, and prints DONE with the underflow count.
It runs as its own process because PortAudio lists host APIs once, when it initialises.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import sounddevice as sd


def jack_output_device() -> int:
    """Index of the first output device of the JACK host API."""
    for api in sd.query_hostapis():
        if "JACK" in api["name"]:
            for index in api["devices"]:
                if sd.query_devices(index)["max_output_channels"] > 0:
                    return index
    raise SystemExit("no JACK output device: is the JACK server running?")


def main() -> None:
    """Play the tone when told to."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--freq", type=float, default=440.0)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rate", type=int, default=48000)
    parser.add_argument("--amplitude", type=float, default=0.5)
    args = parser.parse_args()

    total = int(round(args.seconds * args.rate))
    state = {"n": 0, "play": False, "underflows": 0}
    step = 2 * np.pi * args.freq / args.rate

    def callback(out: np.ndarray, frames: int, _time: object, status: sd.CallbackFlags) -> None:
        if status.output_underflow and state["play"]:
            state["underflows"] += 1
        out.fill(0.0)
        if not state["play"]:
            return
        n0 = state["n"]
        n = np.arange(n0, n0 + frames)
        out[:, 0] = np.where(n < total, args.amplitude * np.sin(step * n), 0.0)
        state["n"] = n0 + frames

    device = jack_output_device()
    with sd.OutputStream(device=device, samplerate=args.rate, channels=1, dtype="float32", callback=callback):
        print("READY", flush=True)
        sys.stdin.readline()
        state["play"] = True
        while state["n"] < total + args.rate // 2:
            time.sleep(0.02)
    print(f"DONE underflows={state['underflows']}", flush=True)


if __name__ == "__main__":
    main()
