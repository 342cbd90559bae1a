"""Many calls at once: the same tables concatenated with ``call_id`` and ``api`` columns, and
Parquet.

Why: questions across calls ("p90 latency this week", "which tool is slowest") need one
table over thousands of recordings, and a dataset other tools read as it is. ``to_parquet``
writes hive-style partitions ``api=…/date=YYYY-MM-DD/call_id=…/part-0.parquet`` (the API,
Realtime or GPT-Live, and the date of the call's start, UTC), which pandas, pyarrow,
DuckDB and Spark read with partition discovery::

    duckdb.sql("SELECT call_id, count(*) FROM read_parquet('calls/**/*.parquet',"
               " hive_partitioning=true) GROUP BY ALL")

Partition columns are not repeated inside the files (readers would see them twice).
Writing a call again replaces its file, so re-exporting is idempotent.

Never: hold more than one call's parsed frames at a time while writing Parquet, or read a
file it was not given.
"""

from __future__ import annotations

import glob as globmod
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ._cost import PricesArg, cost_frame
from ._source import FrameSource, ManySources, as_source
from ._summary import summary
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

__all__ = ["TABLES", "Many", "load_many", "to_parquet"]


def _usage(src: object) -> pd.DataFrame:
    return usage_frame(src, totals=False)


#: Table name -> function of one source, for ``Many`` and ``to_parquet(table=…)``.
TABLES: dict[str, Callable[[object], pd.DataFrame]] = {
    "events": events_frame,
    "transcript": transcript_frame,
    "responses": responses_frame,
    "tool_calls": tool_calls_frame,
    "turns": turns_frame,
    "usage": _usage,
    "gaps": gaps_frame,
    "errors": errors_frame,
}


def _expand(paths_or_glob: str | os.PathLike[str] | Iterable[Any]) -> list[object]:
    single = isinstance(paths_or_glob, str | os.PathLike)
    items: list[Any] = [paths_or_glob] if single else list(paths_or_glob)  # type: ignore[arg-type]
    out: list[object] = []
    for item in items:
        if isinstance(item, str | os.PathLike):
            text = os.fspath(item)
            if Path(text).is_dir():
                out.extend(sorted(str(p) for p in Path(text).rglob("*.jsonl")))
            elif globmod.has_magic(text):
                matches = sorted(globmod.glob(text, recursive=True))
                if not matches:
                    raise FileNotFoundError(
                        f"load_many: the pattern {text!r} matches no file. Fix: check the "
                        "folder, e.g. load_many('captures/*.jsonl')"
                    )
                out.extend(matches)
            else:
                out.append(text)
        else:
            out.append(item)
    return out


class Many(ManySources):
    """Several calls analysed together. Every table has a leading ``call_id`` column.

    Tables are properties computed on first use and kept (``events``, ``transcript``,
    ``responses``, ``tool_calls``, ``turns``, ``usage``, ``gaps``, ``errors``);
    ``cost(prices=None)`` and ``summaries()`` (one row per call) are methods.
    """

    def __init__(self, sources: Sequence[object]):
        self.sources: list[FrameSource] = [as_source(s) for s in sources]
        self._tables: dict[str, pd.DataFrame] = {}

    def __len__(self) -> int:
        return len(self.sources)

    def __repr__(self) -> str:
        return f"Many({len(self.sources)} calls)"

    @property
    def call_ids(self) -> list[str]:
        return [s.call_id for s in self.sources]

    def table(self, name: str) -> pd.DataFrame:
        """The named table of every call, concatenated (see ``TABLES``)."""
        if name not in TABLES:
            raise ValueError(
                f"table {name!r} is unknown. Fix: use one of {', '.join(TABLES)}"
            )
        if name not in self._tables:
            self._tables[name] = self._concat(TABLES[name])
        return self._tables[name]

    def _concat(self, fn: Callable[[object], pd.DataFrame]) -> pd.DataFrame:
        frames = []
        for src in self.sources:
            df = fn(src)
            df.insert(0, "call_id", src.call_id)
            df["api"] = src.api  # last: the leading columns stay call_id, then the table's
            frames.append(df)
        if not frames:
            return pd.DataFrame({"call_id": pd.Series(dtype=object),
                             "api": pd.Series(dtype=object)})
        nonempty = [f for f in frames if len(f)] or frames[:1]
        out = pd.concat(nonempty, ignore_index=True)
        out["call_id"] = out["call_id"].astype("category")
        out["api"] = out["api"].astype("category")
        return out

    events = property(lambda self: self.table("events"), doc="events of every call")
    transcript = property(lambda self: self.table("transcript"), doc="transcripts")
    responses = property(lambda self: self.table("responses"), doc="responses")
    tool_calls = property(lambda self: self.table("tool_calls"), doc="tool calls")
    turns = property(lambda self: self.table("turns"), doc="turns with latencies")
    usage = property(lambda self: self.table("usage"), doc="usage per response")
    gaps = property(lambda self: self.table("gaps"), doc="reconnect gaps")
    errors = property(lambda self: self.table("errors"), doc="server errors")

    def cost(self, prices: PricesArg = None) -> pd.DataFrame:
        """Cost per response of every call (no total rows; ``.total_usd.sum()`` totals)."""
        return self._concat(lambda s: cost_frame(s, prices, totals=False))

    def summaries(self, prices: PricesArg = None) -> pd.DataFrame:
        """One row per call: the fields of :class:`Summary` (latency pairs split)."""
        rows = []
        for src in self.sources:
            d = summary(src, prices).as_dict()
            for key in ("latency_response_s", "latency_first_text_s", "latency_audio_s",
                        "tool_latency_s"):
                med, p90 = d.pop(key)
                d[key.replace("_s", "_median_s")] = med
                d[key.replace("_s", "_p90_s")] = p90
            d.pop("extra", None)
            rows.append(d)
        columns = ["call_id", *(k for k in (rows[0] if rows else {}) if k != "call_id")]
        return pd.DataFrame.from_records(rows, columns=columns)


def load_many(paths_or_glob: str | os.PathLike[str] | Iterable[Any]) -> Many:
    """Open several calls: a glob (``"captures/*.jsonl"``, ``**`` allowed), a folder (its
    ``*.jsonl``, recursively), or a list of paths/Calls/Recordings/FrameSources.
    Parsing is lazy: each table is built on first use.
    """
    return Many(_expand(paths_or_glob))


def _call_date(src: FrameSource) -> str:
    created = src.created_at
    if created is None:
        return "unknown"
    return datetime.fromtimestamp(created, tz=timezone.utc).strftime("%Y-%m-%d")


def _safe(value: str) -> str:
    if not value or any(c in value for c in "/\\=") or value in (".", ".."):
        raise ValueError(
            f"call_id {value!r} cannot name a partition folder. Fix: give the source a "
            "call id without '/', '\\' or '='"
        )
    return value


def to_parquet(src_or_many: object, folder: str | os.PathLike[str], *,
               table: str = "events") -> list[Path]:
    """Write one table of one or many calls as a hive-partitioned Parquet dataset.

    Layout: ``folder/api=<api>/date=YYYY-MM-DD/call_id=<id>/part-0.parquet`` (``api``:
    ``realtime`` or ``live``, so one dataset holds both and a query can keep them apart).
    Returns the files written. ``table`` is one of ``TABLES`` (default ``"events"``: every
    frame with its payload, the full record).
    """
    if table not in TABLES:
        raise ValueError(f"table {table!r} is unknown. Fix: use one of {', '.join(TABLES)}")
    if isinstance(src_or_many, Many):
        sources = src_or_many.sources
    elif isinstance(src_or_many, str | os.PathLike) and (
        Path(src_or_many).is_dir() or globmod.has_magic(os.fspath(src_or_many))
    ):
        sources = load_many(src_or_many).sources
    else:
        sources = [as_source(src_or_many)]
    root = Path(folder)
    written: list[Path] = []
    for src in sources:
        df = TABLES[table](src)
        for col in df.columns:
            # Parsed tool arguments are arbitrary JSON: store them as JSON text.
            if df[col].dtype == object and col == "arguments":
                import json

                df[col] = [None if v is None else json.dumps(v) for v in df[col]]
        target = (root / f"api={_safe(src.api)}" / f"date={_call_date(src)}"
                  / f"call_id={_safe(src.call_id)}")
        target.mkdir(parents=True, exist_ok=True)
        path = target / "part-0.parquet"
        arrow = pa.Table.from_pandas(df, preserve_index=False)
        pq.write_table(arrow, path)
        written.append(path)
    return written
