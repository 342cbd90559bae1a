"""``rtwidgets.analyze(src)``: one call's tables, cost, summary and plots behind one object.

Why: ``rtwidgets.analyze(call).turns`` reads better in a notebook than importing eight
functions, and one object keeps one parsed ``FrameSource``, so asking for several tables
parses the capture once. On a live ``Call`` every property reflects the frames so far
(the source reads only what is new).

``.turns`` is the first table a person reads, so it DISPLAYS short: turn, kind, what the
caller said, the three latencies in whole milliseconds, the response status and whether it
was interrupted (8 columns, no six-decimal floats), with a note naming the rest. The data
is still the complete ``turns_frame`` (24 columns, times in seconds: code that reads
``a.turns["latency_response_s"]`` keeps working; anything computed from it is a plain
DataFrame). ``.turns_short`` is the short view as data, ``.turns_full`` the full table as
a plain DataFrame.

Cost and summary price responses whose model the capture does not show (seen before the
first session event) with the model the capture names (``capture_model``).

Never: copy frames it does not need, or show transcript text in its repr.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import pandas as pd

from ._cost import PricesArg, cost_frame
from ._many import to_parquet
from ._plots import CallFigure, latency_plot, timeline_plot
from ._source import FrameSource
from ._summary import Summary, capture_model, summary
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
    def turns(self) -> TurnsFrame:
        """One row per caller turn with latencies (``turns_frame``), shown short."""
        return TurnsFrame(turns_frame(self.source))

    @property
    def turns_short(self) -> pd.DataFrame:
        """The short view of the turns as data: who said what, latencies in whole ms."""
        return short_turns(turns_frame(self.source))

    @property
    def turns_full(self) -> pd.DataFrame:
        """One row per caller turn, every column (see ``turns_frame``; times in seconds)."""
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
        """Cost per response and in total, USD (see ``cost_frame``); responses without a
        model are priced with ``model``, else the one the capture names."""
        return cost_frame(self.source, prices,
                          model=model if model is not None else capture_model(self.source))

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


#: The short turns view: source column → shown column (latencies become whole ms).
_SHORT_TURNS = {
    "turn": "turn",
    "kind": "kind",
    "user_text": "user_text",
    "latency_response_s": "to_response_ms",
    "latency_first_text_s": "to_first_text_ms",
    "latency_audio_s": "to_audio_ms",
    "response_status": "response_status",
    "interrupted": "interrupted",
}


def short_turns(turns: pd.DataFrame) -> pd.DataFrame:
    """The first view of ``turns_frame``: 8 columns, latencies as integer milliseconds
    (``<NA>`` where a turn has none)."""
    out = turns[list(_SHORT_TURNS)].rename(columns=_SHORT_TURNS)
    for col in ("to_response_ms", "to_first_text_ms", "to_audio_ms"):
        out[col] = (out[col].astype("float64") * 1000).round().astype("Int64")
    return out


class TurnsFrame(pd.DataFrame):
    """``turns_frame``'s data, displayed as ``short_turns`` plus a note on the other columns.

    Anything computed from it (a column pick, a filter) is a plain ``DataFrame`` again.
    """

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def _note(self) -> str:
        hidden = len(self.columns) - len(_SHORT_TURNS)
        return (f"{len(self)} turns · latencies in ms · {hidden} more columns (times in "
                "seconds): .turns_full or .turns[[...]]")

    def _repr_html_(self) -> str | None:
        table = short_turns(self).to_html(max_rows=60, notebook=True)
        return f"{table}<p style='margin:2px 0;opacity:.7'>{html.escape(self._note())}</p>"

    def __repr__(self) -> str:
        # every short column, however narrow the terminal (long texts are cut instead)
        table = short_turns(self).to_string(max_colwidth=40, max_rows=60)
        return f"{table}\n{self._note()}"


def analyze(src: object) -> Analysis:
    """Analyse one call: a capture path, a live ``Call``, a ``Recording`` or a FrameSource."""
    return Analysis(src)
