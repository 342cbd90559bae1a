"""EventLog: one row per event of a call, streamed to the browser in bounded, batched messages.

Why: watching the wire is the first thing a person does with a call, and the wire is loud —
hundreds of ``*.delta`` events a second. This view keeps every row in Python, folds the deltas
of one item/content part into that item's row, and sends the browser at most one message per
``interval`` holding only what changed, with at most ``max_rows`` rows kept there.

Memory: the full record is the source's capture (``source.frames()``, lines kept compactly).
A row keeps only the ``seq`` of its frames (to re-read them from ``frames()`` when a row's
detail is asked for) and the few summary fields it shows — never the parsed event, which for
an hour-long call would hold every event dict alive a second time. Rows are stored by column
(``_RowStore``: ~30 bytes a row plus its summary line), not as an object each.

Rows: direction, type, ms since the capture began, a one-line summary, a fold count. Errors
are highlighted and linked to the row of the client event they answer (by the client
``event_id`` echoed in ``error.event_id``). Clicking a row asks Python for its JSON by row id
(``detail_request``), so the browser never holds the JSON of thousands of rows.

Filters (categories and types to include or exclude, and a case-insensitive search over type,
summary and ids) run in Python over every row, so "N of M events shown" is exact even when
the browser holds only the last window. The toolbar shows ONE count, in events (frames, as
the capture counts them): "28 events", or "5 of 28 events shown" while a filter is on — the
``label`` of every snapshot/batch/counts message. A chip cycles off → include → exclude → off;
its state shows (filled / struck through) and its tooltip says what the next click does; a
"Clear" button drops every filter and the search. Binding a source (a new call) starts with
no filter and no search; a replay's seek keeps them. Pause stops batches (counts still flow);
resume sends a fresh snapshot.

Event names longer than the type column are cut in the middle, keeping the last segment
(``short_name``: ``response.function_call_arguments.delta`` → ``response.func…arguments.delta``)
so ``.delta`` and ``.done`` rows stay apart; the full name is the cell's tooltip.

Front-end protocol (custom messages; nothing of the content goes in synced traits):
  JS → Py: snapshot_request; detail_request {row}; filter {include, exclude, include_types,
           exclude_types, search}; pause {paused}
  Py → JS: snapshot {rows, shown, total, events, label, types, categories, filter, paused};
           batch {rows, updates, shown, total, events, label, types?}; counts {...};
           detail {row, seq, json, count, last_json?}; error {message}

Both APIs: wire types are data. What a type *is* (its category, whether it streams, whether
it reports an error and which client event it answers, its one-line summary) is asked of
the bound source's codec (``codec_of``), never decided here, so a GPT-Live session shows its
own types with the Live codec's categories and summaries (DTMF and transport events under
"transport"). Live transcript fragments name no item: consecutive fragments of one type
fold into the newest row, whose summary follows the text folded so far.

It must never: send one message per event, put event content in a trait, keep JSON of
frames in the browser beyond the expanded rows, or keep parsed frames in its rows.
"""

from __future__ import annotations

import json
import pathlib
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rtwidgets.protocol import codec as ce
from rtwidgets.protocol.catalog import CATEGORIES as _REALTIME_CATEGORIES
from rtwidgets.protocol.live.catalog import CATEGORIES as _LIVE_CATEGORIES
from rtwidgets.protocol.realtime.summary import summarize

from ._base import StreamView, codec_of, redact_event

__all__ = ["EventFilter", "EventLog", "make_filter", "short_name", "summarize"]

#: The event log's categories, by API (the order the chips show them).
_CATEGORIES_BY_API: dict[str, tuple[str, ...]] = {
    "realtime": tuple(_REALTIME_CATEGORIES), "live": tuple(_LIVE_CATEGORIES)}
#: Every category a filter may name (a filter outlives the source it was made for).
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(
    c for cats in _CATEGORIES_BY_API.values() for c in cats))
#: Text kept of a folded run of item-less fragments (its summary shows the end of it).
_RUN_TEXT = 240

_HERE = pathlib.Path(__file__).parent
_DETAIL_LIMIT = 200_000  # characters of pretty JSON sent for one expanded row
#: Characters the type column shows (widgets.css: ``.rtw-type { flex: 0 0 29ch }``).
TYPE_WIDTH = 29


def short_name(name: str, limit: int = TYPE_WIDTH) -> str:
    """``name`` in at most ``limit`` characters, cut in the middle, its last segment kept.

    The end of an event name tells rows apart (``….delta`` vs ``….done``), so the cut
    leaves the last dotted segment whole and gives the rest ~60/40 to head and tail:
    ``response.function_call_arguments.delta`` → ``response.func…arguments.delta``.
    """
    if len(name) <= limit:
        return name
    avail = limit - 1  # one character for the ellipsis
    _, dot, last = name.rpartition(".")
    keep = len(dot) + len(last)
    if keep >= avail:  # a last segment too long by itself: keep its end
        return "…" + name[-avail:]
    rest = avail - keep
    head = round(rest * 0.6)
    return name[:head] + "…" + name[-(rest - head + keep):]


@dataclass(slots=True)
class _Row:
    """One row: what it shows, and where its frames are in ``source.frames()`` (by seq).

    Strings are shared between rows (``type``/``direction`` through ``EventLog._name``), so
    a row costs its slots plus its summary line, whatever the size of its events.
    """

    rid: int
    seq: int            # seq of the first frame of the row
    direction: str
    type: str
    m: float            # capture clock of the first frame
    cat: str
    error: bool
    link: int | None    # rid of the client event an error answers
    # Non-delta rows: the summary, made once from the event (it never changes).
    # Delta rows: None — their summary follows the folded text, from item_id/last_delta.
    summary: str | None
    item_id: str = ""
    last_delta: str = ""
    count: int = 1
    last_seq: int = -1  # seq and m of the last frame folded in (count > 1)
    last_m: float = 0.0


class _RowStore:
    """Every row of the log, by column: what ``_Row`` holds, at ~30 bytes plus the summary.

    A long call makes hundreds of rows a minute and filters need every one of them, so a row
    is not kept as an object (an object, its ints and its float cost ~200 bytes a row and
    grew the kernel ~1.5 MB an hour): seq and clock in arrays, (direction, type, category)
    as an index into a small table, the error flag in a byte, the summaries as UTF-8 in one
    buffer.
    Links and the fold state of delta rows are sparse dicts. ``store[rid]`` builds a
    ``_Row`` (a copy: change a row with ``fold``).
    """

    __slots__ = (
        "_delta",
        "_ends",
        "_err",
        "_kind",
        "_kind_of",
        "_kinds",
        "_link",
        "_m",
        "_seq",
        "_text",
    )

    def __init__(self) -> None:
        self._seq = array("q")
        self._m = array("d")
        self._kind = array("I")
        self._kinds: list[tuple[str, str, str]] = []  # (direction, type, category)
        self._kind_of: dict[tuple[str, str, str], int] = {}
        self._err = bytearray()
        # summaries, UTF-8, end to end (a str each would add ~50 bytes of header a row);
        # row rid's is _text[_ends[rid - 1]:_ends[rid]] (delta rows have none: see _delta)
        self._text = bytearray()
        self._ends = array("Q")
        self._link: dict[int, int] = {}
        # delta rows: [item_id, last_delta, count, last_seq, last_m]
        self._delta: dict[int, list[Any]] = {}

    def __len__(self) -> int:
        return len(self._seq)

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

    def append(self, row: _Row) -> None:
        key = (row.direction, row.type, row.cat)
        kind = self._kind_of.get(key)
        if kind is None:
            kind = self._kind_of[key] = len(self._kinds)
            self._kinds.append(key)
        rid = len(self._seq)
        self._seq.append(row.seq)
        self._m.append(row.m)
        self._kind.append(kind)
        self._err.append(1 if row.error else 0)
        if row.summary is not None:
            # surrogatepass: a lone surrogate escape in a frame ("\\ud800") is kept as is
            self._text += row.summary.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._text))
        if row.link is not None:
            self._link[rid] = row.link
        if row.summary is None:
            self._delta[rid] = [row.item_id, row.last_delta, row.count, row.last_seq,
                                row.last_m]

    def last_delta(self, rid: int) -> str:
        """The delta text delta row ``rid`` holds."""
        return str(self._delta[rid][1])

    def fold(self, rid: int, seq: int, m: float, delta: str) -> None:
        """One more delta folded into delta row ``rid``."""
        state = self._delta[rid]
        state[1] = delta
        state[2] += 1
        state[3] = seq
        state[4] = m

    def type_of(self, rid: int) -> str:
        return self._kinds[self._kind[rid]][1]

    def _row(self, rid: int) -> _Row:
        direction, ftype, cat = self._kinds[self._kind[rid]]
        row = _Row(rid, self._seq[rid], direction, ftype, self._m[rid], cat,
                   bool(self._err[rid]), self._link.get(rid), None)
        state = self._delta.get(rid)
        if state is None:
            start = self._ends[rid - 1] if rid else 0
            row.summary = self._text[start:self._ends[rid]].decode("utf-8", "surrogatepass")
        else:
            row.item_id, row.last_delta, row.count, row.last_seq, row.last_m = state
        return row

    def __getitem__(self, rid: int) -> _Row:
        if rid < 0:
            rid += len(self._seq)
        if not 0 <= rid < len(self._seq):
            raise IndexError(rid)
        return self._row(rid)

    def window(self, limit: int) -> list[_Row]:
        """The last ``limit`` rows."""
        n = len(self._seq)
        return [self._row(rid) for rid in range(max(0, n - limit), n)]

    def __iter__(self) -> Iterator[_Row]:
        return (self._row(rid) for rid in range(len(self._seq)))

    def __reversed__(self) -> Iterator[_Row]:
        return (self._row(rid) for rid in range(len(self._seq) - 1, -1, -1))


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which rows are shown. Empty ``include*`` means "all"; excludes win over includes."""

    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    include_types: frozenset[str] = frozenset()
    exclude_types: frozenset[str] = frozenset()
    search: str = ""

    @property
    def is_all(self) -> bool:
        return not (
            self.include or self.exclude or self.include_types or self.exclude_types
            or self.search
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "include": sorted(self.include),
            "exclude": sorted(self.exclude),
            "include_types": sorted(self.include_types),
            "exclude_types": sorted(self.exclude_types),
            "search": self.search,
        }


def _names(value: Any, field: str, *, allowed: Iterable[str] | None = None) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(
        isinstance(v, str) for v in value
    ):
        raise TypeError(f"{field}: expected a list of strings. Fix: e.g. {field}=['response']")
    names = frozenset(value)
    if allowed is not None:
        unknown = sorted(names - set(allowed))
        if unknown:
            raise ValueError(
                f"{field}: unknown categor{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(unknown)}. Fix: use any of {', '.join(CATEGORIES)}"
            )
    return names


def make_filter(
    *,
    include: Any = None,
    exclude: Any = None,
    include_types: Any = None,
    exclude_types: Any = None,
    search: Any = "",
) -> EventFilter:
    """Build a validated ``EventFilter`` (bad input raises naming the field)."""
    if search is None:
        search = ""
    if not isinstance(search, str):
        raise TypeError("search: expected a string. Fix: e.g. search='resp_'")
    return EventFilter(
        include=_names(include, "include", allowed=CATEGORIES),
        exclude=_names(exclude, "exclude", allowed=CATEGORIES),
        include_types=_names(include_types, "include_types"),
        exclude_types=_names(exclude_types, "exclude_types"),
        search=search.strip().lower(),
    )


def _seq_of(frame: Any) -> int:
    return int(frame.seq)


def _fold_key(frame: Any, is_delta: Any) -> tuple[str, str, Any] | None:
    """Rows that deltas of one item/content part fold into share this key; deltas naming
    no item (GPT-Live's transcript fragments) get ``(type, "", direction)``, folded only
    into the newest row."""
    if not is_delta(frame.type):
        return None
    ev = frame.event
    item_id = ev.get("item_id") or ev.get("call_id")
    if not isinstance(item_id, str):
        return (frame.type, "", frame.direction)
    # A hostile content_index (a list, an object) is not a key: fold by the item alone.
    index = ev.get("content_index")
    return (frame.type, item_id, index if type(index) is int else None)


class EventLog(StreamView):
    """Every event of the bound source as rows: folded deltas, errors linked, filters, search.

    ``EventLog(source=None, *, redact=False, interval=0.1, max_rows=2000)``.
    """

    _esm = _HERE / "event_log.js"
    _css = _HERE / "widgets.css"

    def __init__(self, source: Any = None, **options: Any) -> None:
        self._codec: ce.Codec = codec_of(None)
        # Decodes error frames only (to link them): its own copy of a stateful codec, so
        # neither the template nor the reducer's codec sees a frame twice.
        self._decoder: ce.Codec = self._codec
        self._rows = _RowStore()
        # one shared str per event type / direction, so rows do not each hold a copy
        self._names: dict[str, str] = {}
        self._fold: dict[tuple[str, str, Any], int] = {}
        self._out_by_event_id: dict[str, int] = {}
        self._types: dict[str, int] = {}
        self._types_changed = False
        self._filter = EventFilter()
        self._shown = 0
        self._events = 0
        # events (frames) in rows that match the filter, and per row whether it matched
        self._shown_events = 0
        self._match = bytearray()
        self._short: dict[str, str] = {}
        self._paused = False
        # rows matched but not yet sent / sent rows changed since the last flush
        self._pending_new: list[int] = []
        self._pending_upd: set[int] = set()
        # the row ids the browser holds (last max_rows sent), to skip updates it cannot show
        self._browser: deque[int] = deque()
        self._browser_set: set[int] = set()
        super().__init__(source, **options)

    # -- public API ------------------------------------------------------------------------

    @property
    def filter(self) -> EventFilter:
        return self._filter

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def counts(self) -> dict[str, int]:
        """``shown`` rows match the filter, of ``total`` rows, made of ``events`` frames."""
        return {"shown": self._shown, "total": len(self._rows), "events": self._events}

    def set_filter(
        self,
        *,
        include: Any = None,
        exclude: Any = None,
        include_types: Any = None,
        exclude_types: Any = None,
        search: Any = "",
    ) -> None:
        """Replace the filter (categories from ``CATEGORIES``) and resend the window."""
        self._filter = make_filter(
            include=include, exclude=exclude, include_types=include_types,
            exclude_types=exclude_types, search=search,
        )
        self._recount()
        self.send_snapshot()

    def clear_filter(self) -> None:
        """No filter and no search (what the toolbar's "Clear" does)."""
        self.set_filter()

    @property
    def count_label(self) -> str:
        """The one event count the toolbar shows: "28 events" or "5 of 28 events shown"."""
        if self._filter.is_all:
            return f"{self._events} event{'' if self._events == 1 else 's'}"
        return f"{self._shown_events} of {self._events} events shown"

    def _recount(self) -> None:
        self._shown = 0
        self._shown_events = 0
        self._match = bytearray(len(self._rows))
        for row in self._rows:
            if self._matches(row):
                self._match[row.rid] = 1
                self._shown += 1
                self._shown_events += row.count

    def pause(self) -> None:
        """Stop streaming rows to the browser (counts keep flowing)."""
        self._paused = True

    def resume(self) -> None:
        """Stream again, starting with a fresh snapshot of the current window."""
        self._paused = False
        self.send_snapshot()

    def resync(self) -> None:
        """Rebuild every row from ``source.frames()`` (after a replay seek) and resend."""
        self._reset()
        src = self.source
        if src is not None:
            for frame in src.frames():
                self._add(frame)
        self.send_snapshot()

    def rows(self) -> list[dict[str, Any]]:
        """Every row as the browser would get it (matching the filter or not)."""
        return [self._row_json(row) for row in self._rows]

    def detail(self, rid: int) -> dict[str, Any]:
        """The detail message for row ``rid`` (what a click shows)."""
        if not isinstance(rid, int) or isinstance(rid, bool) or not 0 <= rid < len(self._rows):
            raise ValueError(f"row: {rid!r} is not a row id. Fix: use an id from a row message")
        row = self._rows[rid]
        first = self._frame_at(row.seq)
        out: dict[str, Any] = {
            "kind": "detail", "row": rid, "seq": row.seq, "count": row.count,
            "flags": sorted(first.flags), "json": self._json(first.event),
        }
        if row.count > 1:
            out["last_seq"] = row.last_seq
            out["last_json"] = self._json(self._frame_at(row.last_seq).event)
        return out

    def _frame_at(self, seq: int) -> Any:
        """The frame ``seq`` of the bound source, re-read from its ``frames()``."""
        src = self.source
        frames = src.frames() if src is not None else ()
        # A capture's seq is its index; a source that skips numbers is searched (in order).
        if 0 <= seq < len(frames):
            frame = frames[seq]
            if frame.seq == seq:
                return frame
        i = bisect_left(frames, seq, key=_seq_of)
        if i < len(frames) and frames[i].seq == seq:
            return frames[i]
        raise ValueError(
            f"row: frame {seq} is no longer held by the source. Fix: call resync() "
            "(after a replay seek) and ask again"
        )

    # -- source hooks ----------------------------------------------------------------------

    def _on_bind(self, source: Any) -> None:
        # A new source (a new call) starts unfiltered: a filter or search kept from the last
        # call would hide its rows without saying why.
        self._filter = EventFilter()
        self._use_codec(codec_of(source))
        self._reset()
        for frame in source.frames():
            self._add(frame)
        self.send_snapshot()

    def _use_codec(self, codec: ce.Codec) -> None:
        self._codec = codec
        fresh = getattr(codec, "fresh", None)
        self._decoder = fresh() if callable(fresh) else codec

    @property
    def categories(self) -> tuple[str, ...]:
        """The categories of the bound source's API, in the order the chips show them."""
        return _CATEGORIES_BY_API.get(self._codec.api, CATEGORIES)

    def _on_reset(self) -> None:
        # The same replay seeked back: rows rebuild, the person's filter stays.
        self.resync()

    def _on_unbind(self) -> None:
        self._reset()
        self.send_snapshot()

    def _on_frame(self, frame: Any) -> None:
        self._add(frame)
        self._mark_dirty()

    def _on_rewind(self, frame: Any) -> None:
        # frames() already holds this frame (the source stores before it notifies)
        self.resync()

    def _on_message(self, content: dict[str, Any]) -> None:
        kind = content.get("kind")
        if kind == "detail_request":
            self._emit(self.detail(content.get("row")))  # type: ignore[arg-type]
        elif kind == "filter":
            self.set_filter(
                include=content.get("include"), exclude=content.get("exclude"),
                include_types=content.get("include_types"),
                exclude_types=content.get("exclude_types"), search=content.get("search", ""),
            )
        elif kind == "pause":
            if content.get("paused"):
                self.pause()
            else:
                self.resume()

    # -- rows ------------------------------------------------------------------------------

    def _reset(self) -> None:
        self._rows.clear()
        self._names.clear()
        self._fold.clear()
        self._out_by_event_id.clear()
        self._types.clear()
        self._types_changed = True
        self._shown = 0
        self._events = 0
        self._shown_events = 0
        self._match = bytearray()
        self._pending_new.clear()
        self._pending_upd.clear()
        self._browser.clear()
        self._browser_set.clear()

    def _name(self, text: str) -> str:
        return self._names.setdefault(text, text)

    def _add(self, frame: Any) -> None:
        self._events += 1
        ev = frame.event
        codec = self._codec
        key = _fold_key(frame, codec.is_delta)
        if key is not None:
            rid = self._fold.get(key)
            if rid is not None and not key[1] and rid != len(self._rows) - 1:
                rid = None  # an item-less run folds only while it is the newest row
            if rid is not None:
                delta = _delta_text(ev)
                if not key[1]:
                    delta = (self._rows.last_delta(rid) + delta)[-_RUN_TEXT:]
                self._rows.fold(rid, frame.seq, frame.m, delta)
                if self._match[rid]:
                    self._shown_events += 1
                if rid in self._browser_set:
                    self._pending_upd.add(rid)
                return
        ftype = self._name(frame.type)
        if ftype not in self._types:
            self._types[ftype] = 0
            self._types_changed = True
        self._types[ftype] += 1
        rid = len(self._rows)
        link: int | None = None
        produces = codec.produces(ftype)
        server_error = ce.ErrorReported in produces
        if server_error:
            # The codec reads which of our events the error answers; the row links to it.
            errors = [d for d in self._decoder.decode(ev).events
                      if isinstance(d, ce.ErrorReported)]
            if len(produces) > 1:
                # A frame that only may carry an error (a Live backend event) is an error
                # row only when it does.
                server_error = bool(errors)
            for decoded in errors:
                if decoded.client_event_id:
                    link = self._out_by_event_id.get(decoded.client_event_id)
        is_error = server_error or "bad" in frame.flags
        if not server_error and frame.direction == "out":
            event_id = ev.get("event_id")
            if isinstance(event_id, str):
                self._out_by_event_id[event_id] = rid
        row = _Row(rid, frame.seq, self._name(frame.direction), ftype, frame.m,
                   codec.category(ftype), is_error, link, None)
        if key is not None:
            row.item_id = key[1] and str(ev.get("item_id") or ev.get("call_id") or "?")
            row.last_delta = _delta_text(ev)
        else:
            row.summary = self._summarize_event(ev, ftype)
        self._rows.append(row)
        if key is not None:
            self._fold[key] = rid
        if self._matches(row):
            self._shown += 1
            self._shown_events += 1
            self._match.append(1)
            self._pending_new.append(rid)
        else:
            self._match.append(0)

    def _matches(self, row: _Row) -> bool:
        f = self._filter
        if f.is_all:
            return True
        ftype = row.type
        if row.cat in f.exclude or ftype in f.exclude_types:
            return False
        if (f.include or f.include_types) and not (
            row.cat in f.include or ftype in f.include_types
        ):
            return False
        if f.search:
            hay = f"{ftype} {self._summary(row)} {row.seq}".lower()
            return f.search in hay
        return True

    # -- messages --------------------------------------------------------------------------

    def _remember_sent(self, rids: Iterable[int]) -> None:
        limit = self.max_rows
        for rid in rids:
            self._browser.append(rid)
            self._browser_set.add(rid)
        while len(self._browser) > limit:
            self._browser_set.discard(self._browser.popleft())

    def _counts_json(self) -> dict[str, Any]:
        return {"shown": self._shown, "total": len(self._rows), "events": self._events,
                "label": self.count_label}

    def _snapshot(self) -> dict[str, Any]:
        self._pending_new.clear()
        self._pending_upd.clear()
        self._browser.clear()
        self._browser_set.clear()
        self._types_changed = False
        limit = self.max_rows
        if self._paused:
            window: list[_Row] = []
        elif self._filter.is_all:
            window = self._rows.window(limit)
        else:
            picked: list[_Row] = []
            for row in reversed(self._rows):
                if self._matches(row):
                    picked.append(row)
                    if len(picked) >= limit:
                        break
            window = picked[::-1]
        self._remember_sent(r.rid for r in window)
        return {
            "kind": "snapshot",
            "call_id": getattr(self.source, "call_id", None),
            "rows": [self._row_json(r) for r in window],
            "types": sorted(self._types),
            "categories": list(self.categories),
            "filter": self._filter.as_json(),
            "paused": self._paused,
            **self._counts_json(),
        }

    def _drain(self) -> dict[str, Any] | None:
        if self._paused:
            self._pending_new.clear()
            self._pending_upd.clear()
            return {"kind": "counts", **self._counts_json()}
        if not self._pending_new and not self._pending_upd and not self._types_changed:
            return None
        new = self._pending_new[-self.max_rows:]
        self._pending_new = []
        new_set = set(new)
        upd = sorted(r for r in self._pending_upd if r not in new_set)
        self._pending_upd = set()
        self._remember_sent(new)
        msg: dict[str, Any] = {
            "kind": "batch",
            "rows": [self._row_json(self._rows[r]) for r in new],
            "updates": [self._row_json(self._rows[r]) for r in upd if r in self._browser_set],
            **self._counts_json(),
        }
        if self._types_changed:
            msg["types"] = sorted(self._types)
            self._types_changed = False
        return msg

    def _row_json(self, row: _Row) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": row.rid,
            "seq": row.seq,
            "dir": row.direction,
            "type": row.type,
            "cat": row.cat,
            "ms": round(row.m * 1000),
            "n": row.count,
            "sum": self._summary(row),
        }
        short = self._short_name(row.type)
        if short != row.type:
            out["short"] = short  # only for names cut to fit the column
        if row.error:
            out["err"] = True
        if row.link is not None:
            out["link"] = row.link
            out["link_type"] = self._rows.type_of(row.link)
        if row.count > 1:
            out["last_ms"] = round(row.last_m * 1000)
        return out

    def _short_name(self, name: str) -> str:
        short = self._short.get(name)
        if short is None:
            cut = short_name(name)
            short = self._short[name] = name if cut == name else cut
        return short

    def _json(self, event: Any) -> str:
        if self.redact:
            event = redact_event(event)
        text = json.dumps(event, indent=2, ensure_ascii=False, default=str)
        if len(text) > _DETAIL_LIMIT:
            text = text[:_DETAIL_LIMIT] + f"\n… ({len(text) - _DETAIL_LIMIT} more characters)"
        return text

    # -- summaries -------------------------------------------------------------------------

    def _item_text(self, item_id: str) -> str | None:
        state = getattr(self.source, "state", None)
        items = getattr(state, "items", None)
        record = items.get(item_id) if isinstance(items, Mapping) else None
        if record is None:
            return None
        text = getattr(record, "text", None)
        if not text:
            text = getattr(record, "arguments", None)
        return text if isinstance(text, str) else None

    def _summarize_event(self, ev: Mapping[str, Any], etype: str) -> str:
        try:  # the codec's line for the frame, under the type the capture gave it
            frame = ev if ev.get("type") == etype else {**ev, "type": etype}
            return self._codec.summary(frame, redact=self.redact)
        except Exception as err:  # a summary must never break the log
            return f"(no summary: {type(err).__name__})"

    def _summary(self, row: _Row) -> str:
        if row.summary is not None:
            return row.summary
        if not row.item_id:  # a run of item-less fragments: the codec's line for its text
            try:
                line = self._codec.summary({"type": row.type, "delta": row.last_delta},
                                           redact=self.redact)
            except Exception as err:
                return f"(no summary: {type(err).__name__})"
            return f"×{row.count} {line}" if row.count > 1 else line
        try:  # a delta row: the item's text so far, else the last delta
            return summarize({"item_id": row.item_id, "delta": row.last_delta}, row.type,
                             row.count, redact=self.redact, item_text=self._item_text)
        except Exception as err:
            return f"(no summary: {type(err).__name__})"


def _delta_text(ev: Mapping[str, Any]) -> str:
    delta = ev.get("delta")
    return delta if isinstance(delta, str) else ""
