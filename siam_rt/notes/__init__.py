"""From MIDI notes to events: the note map (pitch, velocity layer) -> event vector, and the velocity curve."""
