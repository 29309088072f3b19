"""SIAM in place of a VST3 instrument in a pedalboard script, its output fed through a Pedalboard.

A script that renders a VST3 instrument with pedalboard reads

    instrument = pedalboard.load_plugin("/Library/Audio/Plug-Ins/VST3/Synth.vst3")
    audio = instrument(midi_messages, duration=6.0, sample_rate=44100)

Here ``SiamInstrument`` takes the plugin's place; the call and everything after it stay the same.
Run: python examples/pedalboard_chain.py [OUT.wav]
"""

from __future__ import annotations

import sys

import mido
from pedalboard import Chorus, Compressor, Pedalboard, Reverb
from pedalboard.io import AudioFile

from siam_rt.host import SiamInstrument

SAMPLE_RATE = 44100


def melody() -> list[mido.Message]:
    """A scale up and down; as in pedalboard, each message's .time is in seconds from the start."""
    messages, t = [], 0.0
    for pitch in (60, 62, 64, 65, 67, 65, 64, 62, 60):
        messages.append(mido.Message("note_on", note=pitch, velocity=90, time=t))
        messages.append(mido.Message("note_off", note=pitch, time=t + 0.4))
        t += 0.5
    return messages


def main(out: str = "siam_pedalboard.wav") -> None:
    instrument = SiamInstrument(preset="piano")  # was: pedalboard.load_plugin("Synth.vst3")
    audio = instrument(melody(), duration=6.0, sample_rate=SAMPLE_RATE)  # [2, samples] float32
    effects = Pedalboard([Compressor(threshold_db=-20, ratio=3), Chorus(mix=0.2), Reverb(room_size=0.6)])
    processed = effects(audio, SAMPLE_RATE)
    with AudioFile(out, "w", SAMPLE_RATE, num_channels=processed.shape[0]) as f:
        f.write(processed)
    print(f"wrote {out}: {processed.shape[1] / SAMPLE_RATE:.1f} s, {processed.shape[0]} channels")


if __name__ == "__main__":
    main(*sys.argv[1:2])
