"""Live play: the session that wires the engine to MIDI input, audio output, recording and preset reloads."""
