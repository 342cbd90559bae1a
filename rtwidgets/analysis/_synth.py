"""The synthetic-capture generator's old import path (tests, notebooks and the benchmarks
import it from here). It names GA wire events, so it lives with the GA codec now:
``rtwidgets.protocol.realtime._synth``. Nothing is defined here.
"""

from __future__ import annotations

from rtwidgets.protocol.realtime._synth import SyntheticCall, TurnIds, usage_block

__all__ = ["SyntheticCall", "TurnIds", "usage_block"]
