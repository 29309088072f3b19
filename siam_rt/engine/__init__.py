"""The engine: MIDI to events, scheduling, voices, channels, rooms and mixing (no torch).

``Engine`` (engine.py) is the one entry point for live play and offline rendering; ``render`` (offline.py)
runs it on a sample clock. See config.py for every setting.
"""

from siam_rt.engine.config import EngineConfig, offline_config
from siam_rt.engine.engine import Engine, EngineStats, load_engine
from siam_rt.engine.offline import render

__all__ = ["Engine", "EngineConfig", "EngineStats", "load_engine", "offline_config", "render"]
