"""``rtwidgets.analyze(src)``: one call's tables, cost, summary and plots behind one object.

Why: ``rtwidgets.analyze(call).turns`` reads better in a notebook than importing eight
functions, and one object keeps one parsed ``FrameSource``, so asking for several tables
parses the capture once. On a live ``Call`` every property reflects the frames so far
(the source reads only what is new).

Never: copy frames it does not need, or show transcript text in its repr.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ._cost import PricesArg, cost_frame
from ._many import to_parquet
from ._plots import CallFigure, latency_plot, timeline_plot
from ._source import FrameSource
from ._summary import Summary, summary
from ._tables import (
    _single,
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
    """The analysis of one call. Tables are properties (recomputed when the call grew)."""

    def __init__(self, src: object) -> None:
        self.source: FrameSource = _single(src)

    @property
    def call_id(self) -> str:
        return self.source.call_id

    def __repr__(self) -> str:
        return f"<Analysis of {self.call_id}: {self.source.core().num_rows} frames>"

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    @property
    def events(self) -> pd.DataFrame:
        """One row per frame (see ``events_frame``)."""
        return events_frame(self.source)

    @property
    def transcript(self) -> pd.DataFrame:
        """What was said (see ``transcript_frame``)."""
        return transcript_frame(self.source)

    @property
    def responses(self) -> pd.DataFrame:
        """One row per response with usage (see ``responses_frame``)."""
        return responses_frame(self.source)

    @property
    def tool_calls(self) -> pd.DataFrame:
        """Function calls, who answered, latency (see ``tool_calls_frame``)."""
        return tool_calls_frame(self.source)

    @property
    def turns(self) -> pd.DataFrame:
        """One row per caller turn with latencies (see ``turns_frame``)."""
        return turns_frame(self.source)

    @property
    def usage(self) -> pd.DataFrame:
        """Tokens per response plus a total row (see ``usage_frame``)."""
        return usage_frame(self.source)

    @property
    def gaps(self) -> pd.DataFrame:
        """Reconnect gaps (see ``gaps_frame``)."""
        return gaps_frame(self.source)

    @property
    def errors(self) -> pd.DataFrame:
        """Server errors linked to the client event that caused them."""
        return errors_frame(self.source)

    def cost(self, prices: PricesArg = None, *, model: str | None = None) -> pd.DataFrame:
        """Cost per response and in total, USD (see ``cost_frame``)."""
        return cost_frame(self.source, prices, model=model)

    def summary(self, prices: PricesArg = None, *, model: str | None = None) -> Summary:
        """The one-screen overview."""
        return summary(self.source, prices, model=model)

    def timeline_plot(self) -> CallFigure:
        """Who did what when (a ``Figure`` that renders as a picture in Jupyter by itself)."""
        return timeline_plot(self.source)

    def latency_plot(self) -> CallFigure:
        """Per-turn latencies in ms (a ``Figure`` that renders as a picture by itself)."""
        return latency_plot(self.source)

    def to_parquet(self, folder: str | os.PathLike[str], *, table: str = "events") -> list[Path]:
        """Write one table as ``folder/date=…/call_id=…/part-0.parquet``."""
        return to_parquet(self.source, folder, table=table)


def analyze(src: object) -> Analysis:
    """Analyse one call: a capture path, a live ``Call``, a ``Recording`` or a FrameSource."""
    return Analysis(src)
