"""The instrument host: SIAM as a pedalboard-style instrument, and effect chain files."""

from siam_rt.host.chain import load_chain, resolve_chain
from siam_rt.host.instrument import SiamInstrument

__all__ = ["SiamInstrument", "load_chain", "resolve_chain"]
