"""``rtwidgets.analyze(call)``: every table of one call behind one object.

Why: a person in the next cell wants ``a.turns``, ``a.cost``, ``a.summary()`` without
remembering which function takes what, and without parsing a long capture once per table.
``Analysis`` holds one ``FrameSource`` (which reads only what is new since it last looked), so
each property is cheap to ask again during a live call, and always current. It is a thin
facade: every property is the module function of the same name, on the same source.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ._cost import PricesArg, cost_frame
from ._many import to_parquet
from ._plots import latency_plot, timeline_plot
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

__all__ = ["Analysis", "analyze"]


class Analysis:
    """The tables and plots of one call (a live ``Call``, a ``Recording`` or a capture path).

    Args:
        source: what to read; see ``rtwidgets.analysis`` for the kinds.
        prices: price table override for ``cost`` and ``summary()`` (see ``cost_frame``).
    """

    def __init__(self, source: object, *, prices: PricesArg = None) -> None:
        self._source: FrameSource = as_source(source)
        self._prices = prices

    def __repr__(self) -> str:
        return f"<rtwidgets.Analysis of {self._source!r}>"

    @property
    def source(self) -> FrameSource:
        """The parsed frames all tables derive from."""
        return self._source

    @property
    def events(self) -> pd.DataFrame:
        """One row per frame (``events_frame``)."""
        return events_frame(self._source)

    @property
    def transcript(self) -> pd.DataFrame:
        """Who said what, by item (``transcript_frame``)."""
        return transcript_frame(self._source)

    @property
    def responses(self) -> pd.DataFrame:
        """One row per response with status and usage (``responses_frame``)."""
        return responses_frame(self._source)

    @property
    def tool_calls(self) -> pd.DataFrame:
        """One row per function call with its answer and latency (``tool_calls_frame``)."""
        return tool_calls_frame(self._source)

    @property
    def turns(self) -> pd.DataFrame:
        """One row per caller turn with its latencies (``turns_frame``)."""
        return turns_frame(self._source)

    @property
    def usage(self) -> pd.DataFrame:
        """Token usage per response and in total (``usage_frame``)."""
        return usage_frame(self._source)

    @property
    def cost(self) -> pd.DataFrame:
        """Cost per response and in total (``cost_frame``)."""
        return cost_frame(self._source, self._prices)

    @property
    def gaps(self) -> pd.DataFrame:
        """Reconnect gaps in the record (``gaps_frame``)."""
        return gaps_frame(self._source)

    @property
    def errors(self) -> pd.DataFrame:
        """Server errors with the client event they answer (``errors_frame``)."""
        return errors_frame(self._source)

    def summary(self) -> Summary:
        """A one-screen overview of the call."""
        return summary(self._source, self._prices)

    def timeline(self, **kwargs: Any) -> Figure:
        """Caller speech, responses, tool calls and errors on one time axis."""
        return timeline_plot(self._source, **kwargs)

    def latency_plot(self, **kwargs: Any) -> Figure:
        """Per-turn latencies."""
        return latency_plot(self._source, **kwargs)

    def to_parquet(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write this call as a Parquet dataset partitioned by date and call id."""
        return to_parquet(self._source, folder)


def analyze(source: object, *, prices: PricesArg = None) -> Analysis:
    """The tables and plots of one call: ``rtwidgets.analyze(call).turns``."""
    return Analysis(source, prices=prices)
