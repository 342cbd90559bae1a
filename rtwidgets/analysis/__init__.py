"""Post-call analysis: DataFrames, latency, usage and cost, plots, many calls, Parquet.

Why: a capture holds every frame of a call; this package turns it into the answers people
want in the next cell. Every function takes one *source* — a capture path, a live ``Call``,
a ``Recording`` or a :class:`FrameSource` — and returns pandas objects or matplotlib
figures. ``analyze(src)`` bundles them on one object (``rtwidgets.analyze(call).turns``)
and parses the capture once; so does passing one ``FrameSource`` to several functions.

It only reads: it never sends, never writes a capture, never reaches the network.
Time columns ending in ``_s`` are seconds since the capture began; the latency definitions
are in ``rtwidgets.analysis._tables``.
"""

from __future__ import annotations

from ._analysis import Analysis, analyze
from ._cost import cost_frame, load_prices
from ._many import Many, load_many, to_parquet
from ._plots import latency_plot, timeline_plot
from ._sequence import EventSequence, event_sequence
from ._source import FrameSource, as_source
from ._summary import Summary, summary
from ._tables import (
    errors_frame,
    events_frame,
    gaps_frame,
    responses_frame,
    tool_calls_frame,
    transcript_frame,
    turns_frame,
    usage_frame,
)

__all__ = [
    "Analysis",
    "EventSequence",
    "FrameSource",
    "Many",
    "Summary",
    "analyze",
    "as_source",
    "cost_frame",
    "errors_frame",
    "event_sequence",
    "events_frame",
    "gaps_frame",
    "latency_plot",
    "load_many",
    "load_prices",
    "responses_frame",
    "summary",
    "timeline_plot",
    "to_parquet",
    "tool_calls_frame",
    "transcript_frame",
    "turns_frame",
    "usage_frame",
]
