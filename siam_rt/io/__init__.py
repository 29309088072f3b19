"""Audio and MIDI input/output."""
