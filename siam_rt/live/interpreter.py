"""Python interpreter settings for a live session.

Everything loaded at start (model, caches, modules: hundreds of thousands of objects) is frozen out of the
garbage collector's generations, so that a full collection, which can fall inside the audio callback, only walks
what was allocated since. (The GIL switch interval stays at CPython's 5 ms: a shorter one let the MIDI thread cut
into the callback more often, and measured more slow callbacks, not fewer.)
"""

from __future__ import annotations

import gc


def tune_for_realtime() -> None:
    """Apply the settings above; call once, after loading and before the audio stream starts."""
    gc.collect()
    gc.freeze()
