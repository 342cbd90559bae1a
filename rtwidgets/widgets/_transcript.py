"""Transcript: the conversation of a call, both sides, by item, growing live as deltas arrive.

Why: the event log shows the wire; people also need to read the call. This view renders the
items of the source's ``SessionState`` (the reducer already folds deltas into
``ItemRecord.text``, marks interruption and truncation, and pairs tool calls with their
outputs), so it holds no protocol logic of its own: a frame only tells it *which* items to
re-read. Changed items are sent at most once per ``interval`` as upserts; the browser keeps
at most ``max_rows`` items.

Text travels only in custom messages (never saved into the notebook); with ``redact=True``
it is not sent at all, only its length.

Front-end protocol: JS → Py ``snapshot_request``; Py → JS ``snapshot {items, total}``,
``batch {items, total}`` (upserts: JS updates in place or inserts after ``prev``).

Both APIs: a Realtime frame names its item (``item_id``, ``item.id``, a response's output);
a GPT-Live transcript fragment names none (the Live codec groups fragments into segments
that the reducer keeps as items). For a frame that names no item but whose type can add or
grow one (the bound source's codec says so: ``produces``), the newest items are re-read —
a fragment grows the open segment, and opening a segment closes the one before it.

It must never: parse deltas itself, send per delta, or put text in a trait.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

from rtwidgets.protocol import codec as ce

from ._base import StreamView, codec_of, hidden

__all__ = ["Transcript"]

_HERE = pathlib.Path(__file__).parent


#: Normalized events that add an item or change its text or status.
_ITEM_EVENTS: frozenset[type] = frozenset({
    ce.TranscriptDelta, ce.TranscriptDone, ce.TranscriptFailed, ce.ItemReported,
    ce.ToolCallRequested, ce.ToolCallAnswered, ce.CallEnded,
})
#: How many of the newest items a frame naming no item may have changed.
_NEWEST = 2


def _item_ids(frame: Any, state: Any) -> list[str]:
    """The ids of the items a frame may have changed."""
    ev = frame.event
    ids: list[str] = []
    if isinstance(ev.get("item_id"), str):
        ids.append(ev["item_id"])
    item = ev.get("item")
    if isinstance(item, Mapping):
        if isinstance(item.get("id"), str):
            ids.append(item["id"])
        call_id = item.get("call_id")
        if item.get("type") == "function_call_output" and isinstance(call_id, str):
            ids.extend(_call_item(state, call_id))
    response = ev.get("response")
    if isinstance(response, Mapping):
        for out in response.get("output") or ():
            if isinstance(out, Mapping) and isinstance(out.get("id"), str):
                ids.append(out["id"])
        rid = response.get("id")  # a hostile frame's id may be a list: not a key
        rec = getattr(state, "responses", {}).get(rid) if isinstance(rid, str) else None
        ids.extend(getattr(rec, "output_item_ids", None) or ())
    call_id = ev.get("call_id")
    if isinstance(call_id, str):
        ids.extend(_call_item(state, call_id))
    return ids


def _call_item(state: Any, call_id: str) -> list[str]:
    tools = getattr(state, "tool_calls", None)
    rec = tools.get(call_id) if isinstance(tools, Mapping) else None
    item_id = getattr(rec, "item_id", None)
    return [item_id] if isinstance(item_id, str) else []


class Transcript(StreamView):
    """Both sides of the conversation, by item; interruption, truncation and tools inline.

    ``Transcript(source=None, *, redact=False, interval=0.1, max_rows=2000)``.
    """

    _esm = _HERE / "transcript.js"
    _css = _HERE / "widgets.css"

    #: What a wire type of the bound source's API decodes to (its codec's ``produces``).
    _produces: Any = staticmethod(codec_of(None).produces)

    def __init__(self, source: Any = None, **options: Any) -> None:
        self._dirty: dict[str, None] = {}  # insertion-ordered set of item ids to resend
        super().__init__(source, **options)

    # -- public API ------------------------------------------------------------------------

    def items(self) -> list[dict[str, Any]]:
        """Every item as the browser would get it, in conversation order."""
        state = self._state()
        if state is None:
            return []
        order = list(getattr(state, "item_order", None) or state.items.keys())
        return [self._item_json(state, i) for i in order if i in state.items]

    def resync(self) -> None:
        """Resend everything (after a replay seek rebuilt the state)."""
        self._dirty.clear()
        self.send_snapshot()

    # -- hooks -----------------------------------------------------------------------------

    def _state(self) -> Any:
        state = getattr(self.source, "state", None)
        return state if isinstance(getattr(state, "items", None), Mapping) else None

    def _on_bind(self, source: Any) -> None:
        self._produces = codec_of(source).produces  # the API the source speaks
        self._dirty.clear()
        self.send_snapshot()

    def _on_unbind(self) -> None:
        self._dirty.clear()
        self.send_snapshot()

    def _on_rewind(self, frame: Any) -> None:
        self.resync()

    def _on_frame(self, frame: Any) -> None:
        state = self._state()
        if state is None:
            return
        found = False
        if frame.type == "rtwidgets.status":
            # The call ended: the reducer marked tool calls still pending as unanswered, and
            # their badges must stop saying "pending".
            for rec in getattr(state, "tool_calls", {}).values():
                if getattr(rec, "status", None) == "unanswered" and rec.item_id in state.items:
                    self._dirty[rec.item_id] = None
                    found = True
        named = False
        for item_id in _item_ids(frame, state):
            named = True
            if item_id in state.items:
                self._dirty[item_id] = None
                found = True
        if not named and self._produces(frame.type) & _ITEM_EVENTS:
            order = getattr(state, "item_order", None) or list(state.items)
            for item_id in list(order[-_NEWEST:]):
                if item_id in state.items:
                    self._dirty[item_id] = None
                    found = True
        if found:
            self._mark_dirty()

    def _snapshot(self) -> dict[str, Any]:
        self._dirty.clear()
        items = self.items()
        return {
            "kind": "snapshot",
            "call_id": getattr(self.source, "call_id", None),
            "items": items[-self.max_rows:],
            "total": len(items),
        }

    def _drain(self) -> dict[str, Any] | None:
        state = self._state()
        if not self._dirty or state is None:
            self._dirty.clear()
            return None
        ids = list(self._dirty)[-self.max_rows:]
        self._dirty.clear()
        return {
            "kind": "batch",
            "items": [self._item_json(state, i) for i in ids if i in state.items],
            "total": len(state.items),
        }

    # -- one item --------------------------------------------------------------------------

    def _text(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        return hidden(value) if self.redact and value else value

    def _item_json(self, state: Any, item_id: str) -> dict[str, Any]:
        rec = state.items[item_id]
        kind = getattr(rec, "type", "message")
        out: dict[str, Any] = {
            "id": item_id,
            "kind": kind,
            "role": getattr(rec, "role", None),
            "status": getattr(rec, "status", None),
            "prev": getattr(rec, "previous_item_id", None),
            "text": self._text(getattr(rec, "text", "")) or "",
        }
        if getattr(rec, "interrupted", False):
            out["interrupted"] = True
        truncated = getattr(rec, "truncated_ms", None)
        if truncated is not None:
            out["truncated_ms"] = truncated
        if getattr(rec, "deleted", False):
            out["deleted"] = True
        if kind in ("function_call", "function_call_output"):
            call_id = getattr(rec, "call_id", None)
            out["call_id"] = call_id
            out["name"] = getattr(rec, "name", None)
            out["arguments"] = self._text(getattr(rec, "arguments", None))
            output = getattr(rec, "output", None)
            tools = getattr(state, "tool_calls", None)
            call = (tools.get(call_id) if isinstance(tools, Mapping) and isinstance(call_id, str)
                    else None)
            if call is not None:
                if kind == "function_call_output" and getattr(call, "item_id", None) in (
                    state.items
                ):
                    out["inline"] = True  # the front end shows it under its call
                out["name"] = out["name"] or getattr(call, "name", None)
                out["tool_status"] = getattr(call, "status", None)
                out["answered_by"] = getattr(call, "answered_by", None)
                if output is None and kind == "function_call":
                    output = getattr(call, "output", None)
            out["output"] = self._text(output)
        return out
