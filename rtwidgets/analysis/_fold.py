"""The analysis tables' one pass over a call: the reducer (``SessionState``) fed from columns.

Why: the transcript, responses, tool calls, turns and errors are all views of one fold, and
it must be *the* fold — the live console reads the same ``SessionState``, so a live view
and a post-call table cannot disagree. This module holds no rules of its own: it chooses
which frames to give the reducer, parses them, and reads a few facts from the columns that
the reducer would otherwise need every streaming frame for.

The bulk fast path (the default): streaming deltas are most of a capture, and what they
carry is repeated by the ``*.done`` events, so only the frames the codec declares
meaningful (``Codec.meaningful_types``) plus our own and meta frames are parsed and fed.
Two facts come from the columns instead: a response's first text (the earliest agent text
delta carrying its ``response_id``), and the text of items cut short before any final text
(their own deltas are fed to the reducer afterwards). ``fold_of(src, full=True)`` feeds
every frame; a test proves both give the same tables on every shipped scenario and on a
hostile corpus.

Times fed to the reducer are the capture's monotonic ``m`` (seconds since the capture
began); ``Fold.wall(m)`` gives the wall time of the frame that arrived then.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from rtwidgets.protocol._text import displayable_tree
from rtwidgets.protocol.codecs import codec_for
from rtwidgets.protocol.realtime.codec import REALTIME
from rtwidgets.protocol.state import (
    ErrorRecord,
    GapRecord,
    ItemRecord,
    ResponseRecord,
    SessionState,
    ToolCallRecord,
    TranscriptionRecord,
    TurnRecord,
)

from ._source import FrameSource

__all__ = ["Fold", "fold_of"]

#: What the codec says a bulk reader may skip, and how to make up for it from the columns.
_BULK = REALTIME.bulk


@dataclass
class Fold:
    """The reducer's records of one call, with wall times for the table columns."""

    state: SessionState
    walls: dict[float, float] = field(default_factory=dict, repr=False)

    def wall(self, m: float | None) -> float | None:
        """The wall time of the frame that arrived at ``m`` (``None`` if none did)."""
        return None if m is None else self.walls.get(m)

    @property
    def items(self) -> dict[str, ItemRecord]:
        """Items reported by the server (items known from deltas alone are left out)."""
        return {k: v for k, v in self.state.items.items() if not v.streamed_only}

    @property
    def responses(self) -> dict[str, ResponseRecord]:
        """Responses whose start or end was seen (not those known from deltas alone)."""
        return {k: v for k, v in self.state.responses.items()
                if v.started_t is not None or v.done_t is not None}

    @property
    def tools(self) -> dict[str, ToolCallRecord]:
        return self.state.tool_calls

    @property
    def turns(self) -> list[TurnRecord]:
        return self.state.turns

    @property
    def errors(self) -> list[ErrorRecord]:
        return self.state.errors

    @property
    def gaps(self) -> list[GapRecord]:
        return self.state.gaps

    @property
    def models(self) -> list[str]:
        return self.state.models

    @property
    def statuses(self) -> list[dict[str, Any]]:
        return self.state.statuses

    @property
    def transcriptions(self) -> list[TranscriptionRecord]:
        return self.state.transcriptions


def _first_by(core: pa.Table, types: tuple[str, ...], key: str) -> dict[str, float]:
    # Select before filtering: filtering the whole core would copy the payload column.
    narrow = core.select(["type", key, "m", "direction"])
    mask = pc.and_(pc.is_in(narrow.column("type"), pa.array(types)),
                   pc.equal(narrow.column("direction"), "in"))
    sub = narrow.filter(pc.fill_null(mask, False))
    sub = sub.filter(pc.is_valid(sub.column(key)))
    if sub.num_rows == 0:
        return {}
    agg = sub.select([key, "m"]).group_by(key).aggregate([("m", "min")])
    return dict(zip(agg.column(key).to_pylist(), agg.column("m_min").to_pylist(), strict=True))


#: Server event types whose only field the reducer reads is one the core columns already
#: hold (``item_id`` or ``response_id``, as the codec declares): they are built from the
#: columns, not parsed, when the payload text shows the column cannot differ from the
#: frame's own field (no nested object that the column falls back to, no escapes, the key
#: once).
_COLUMN_ONLY: dict[str, str] = dict(_BULK.column_only)
#: The nested object each column falls back to (``item.id``, ``response.id``).
_FALLBACK_KEY = {"item_id": '"item"', "response_id": '"response"'}


def _from_columns(etype: str, payload: str, item_id: str | None, response_id: str | None
                  ) -> dict[str, Any] | None:
    """The event as the reducer would read it, from the columns; ``None`` to parse instead."""
    field_name = _COLUMN_ONLY.get(etype)
    if field_name is None or "\\" in payload or _FALLBACK_KEY[field_name] in payload:
        return None
    if payload.count(f'"{field_name}"') > 1:
        return None
    return {"type": etype,
            field_name: item_id if field_name == "item_id" else response_id}


#: The C scanner behind ``json.loads``, called directly: ``loads`` adds two regex passes
#: (leading and trailing whitespace) per call. A payload it does not take whole (leading
#: or trailing text) goes through ``loads``, so the result is always what ``loads`` gives.
_SCAN: Callable[[str, int], tuple[Any, int]] = vars(json.JSONDecoder())["scan_once"]


def _feed_all(fold: Fold, sub: pa.Table, column_only: dict[str, str]) -> None:
    """Feed the selected rows (no bad rows, no missing payloads) to the reducer in order."""
    feed = fold.state.feed
    feed_in = fold.state.feed_in
    walls = fold.walls
    loads = json.loads
    scan = _SCAN
    for direction, etype, m, t, payload, item_id, response_id in zip(
        sub.column("direction").to_pylist(), sub.column("type").to_pylist(),
        pc.fill_null(sub.column("m"), 0.0).to_pylist(),
        pc.fill_null(sub.column("t"), 0.0).to_pylist(),
        sub.column("payload").to_pylist(), sub.column("item_id").to_pylist(),
        sub.column("response_id").to_pylist(), strict=True,
    ):
        ev: Any = None
        if etype in column_only and direction == "in":
            ev = _from_columns(etype, payload, item_id, response_id)
        if ev is None:
            try:
                ev, end = scan(payload, 0)
                if end != len(payload):
                    ev = loads(payload)
            except (StopIteration, ValueError):
                try:
                    ev = loads(payload)
                except ValueError:
                    continue
        if isinstance(ev, dict):
            if "\\u" in payload and ("\\ud" in payload or "\\uD" in payload):
                # a lone surrogate escape (valid JSON) cannot go into a table: U+FFFD
                ev = displayable_tree(ev)
            walls[m] = t
            if direction == "in" or not direction:
                etype_of = ev.get("type")
                if type(etype_of) is str:  # the usual case: the positional fast entry
                    feed_in(ev, etype_of, m)
                    continue
            feed(ev, direction=direction or "in", t=m)


def fold_of(src: FrameSource, *, shortcuts: bool = True, full: bool = False) -> Fold:
    """The reducer's fold of a source's current frames (cached on the source until it grows).

    ``shortcuts=False`` parses every fed frame (no event built from the columns);
    ``full=True`` feeds every frame, deltas included (the reference the fast path is
    tested against). Neither is cached.
    """
    cacheable = shortcuts and not full
    if cacheable:
        hit = src.cached("fold")
        if isinstance(hit, Fold):
            return hit
    core = src.core()
    codec = codec_for(src.api)
    narrow = core.select(["direction", "type", "m", "t", "payload", "bad", "item_id",
                          "response_id"])
    # Bad frames and frames without a payload are never fed.
    keep = pc.and_(pc.invert(pc.fill_null(narrow.column("bad"), False)),
                   pc.is_valid(narrow.column("payload")))
    if not full:
        # Our own frames and meta frames are few and all matter (error links, tool
        # answers, gaps); of the server's, only the types the codec says matter.
        wanted = pc.or_(pc.not_equal(narrow.column("direction"), "in"),
                        pc.is_in(narrow.column("type"),
                                 pa.array(sorted(codec.bulk.meaningful_types))))
        keep = pc.and_(keep, pc.fill_null(wanted, True))
    sub = narrow.filter(keep)
    fold = Fold(SessionState(codec))
    # The fold makes a few objects per folded frame and frees none: with the cyclic
    # collector on, its passes over them grow with the call (measured: a fifth of the
    # fold's time on a 1M-frame capture). Nothing made here forms a cycle.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        _feed_all(fold, sub, _COLUMN_ONLY if shortcuts and codec is REALTIME else {})
        if not full and codec is REALTIME:
            _from_deltas(core, fold)  # Live feeds its transcript fragments: nothing skipped
    finally:
        _settle()
        if gc_was_on:
            gc.enable()
    if cacheable:
        src.store("fold", fold)
    return fold


def _settle() -> None:
    """Hand the fold's records to the collector's oldest generation, as a long-lived cache.

    Made with the collector off, they all sit in the youngest generation: once it is back
    on, the next young collections walk every one of them (twice: into the middle
    generation, then the oldest), and their arrival in the oldest counts towards a full
    collection of the whole heap — about a tenth of ``analyze`` on a 1M-frame capture
    (measured with ``gc.callbacks``). They live as long as the source that caches them
    and form no cycles, so they go straight to the oldest generation (``gc.freeze`` then
    ``gc.unfreeze``: a move, no walk), where only the full collections the rest of the
    process earns will visit them. Young garbage of the process moves too: it is collected
    by the next full collection instead of a young one. A process that froze objects itself
    (``gc.freeze``, as the emulator command does) is left as it is: unfreezing would thaw
    its objects.
    """
    if gc.get_freeze_count():
        return
    gc.freeze()
    gc.unfreeze()


def _from_deltas(core: pa.Table, fold: Fold) -> None:
    """What the skipped deltas would have told the reducer, from the columns."""
    state = fold.state
    for rid, first in _first_by(core, _BULK.first_text_types, "response_id").items():
        resp = state.responses.get(rid)
        if resp is not None and (resp.first_text_t is None or first < resp.first_text_t):
            resp.first_text_t = first
    # Items cut short before any final text: their own deltas, fed in order.
    missing = [rec.id for rec in state.items.values() if not rec.text and not rec.parts]
    if not missing:
        return
    narrow = core.select(["type", "item_id", "direction", "bad"])
    mask = pc.and_(
        pc.and_(pc.is_in(narrow.column("type"), pa.array(_BULK.text_delta_types)),
                pc.is_in(narrow.column("item_id"), pa.array(missing, pa.string()))),
        pc.and_(pc.equal(narrow.column("direction"), "in"),
                pc.invert(pc.fill_null(narrow.column("bad"), False))))
    sub = core.select(["direction", "type", "m", "t", "payload", "bad", "item_id",
                       "response_id"]).filter(pc.fill_null(mask, False))
    _feed_all(fold, sub, {})
