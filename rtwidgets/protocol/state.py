"""``SessionState``: the reducer that folds a call's events into what the views and analysis read.

Why: a live ``Call`` and a loaded ``Recording`` must answer the same questions (what was said,
in what order; which response is active and what it cost; which tool calls are waiting and who
answered them; which of *our* events the server refused) from the same frames. Folding them
in one pure reducer makes that answer identical for both and testable without sockets.

It must never raise from ``feed``: frames come from the wire and from old captures, and a
malformed one is counted in ``malformed``, not fatal. It must never read a clock (times are
passed in), never copy events deeply, and stay fast (the ingest benchmark wants ≥ 100k
events/s): dispatch is one dict lookup of a bound method per event type.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from .catalog import CLIENT_EVENT_TYPES, SERVER_EVENT_TYPES

__all__ = [
    "ErrorRecord",
    "ItemRecord",
    "ResponseRecord",
    "SessionState",
    "ToolCallRecord",
]

Direction = Literal["in", "out", "meta"]

_INTERRUPTED_STATUSES: Final = frozenset({"cancelled", "incomplete"})
#: usage_total keys, flattened from response.done usage.
USAGE_KEYS: Final[tuple[str, ...]] = (
    "input_tokens", "output_tokens", "total_tokens",
    "input_text_tokens", "input_audio_tokens", "input_image_tokens", "input_cached_tokens",
    "output_text_tokens", "output_audio_tokens",
)


@dataclass(slots=True)
class ItemRecord:
    """One conversation item as folded so far."""

    id: str
    type: str
    role: str | None = None
    status: str | None = None
    text: str = ""
    """Transcript/text of the item with deltas folded in (content parts joined by newlines)."""
    previous_item_id: str | None = None
    response_id: str | None = None
    added_t: float = 0.0
    done_t: float | None = None
    interrupted: bool = False
    """Its response ended cancelled/incomplete before the item completed."""
    truncated_ms: int | None = None
    """``audio_end_ms`` of ``conversation.item.truncated``."""
    deleted: bool = False
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None
    parts: dict[int, str] = field(default_factory=dict, repr=False)
    """Text by content index (the pieces ``text`` is joined from)."""


@dataclass(slots=True)
class ResponseRecord:
    """One response, from ``response.created`` to ``response.done``."""

    id: str
    status: str = "in_progress"
    status_details: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    created_t: float = 0.0
    done_t: float | None = None
    output_item_ids: list[str] = field(default_factory=list)
    output_modalities: list[str] | None = None
    first_delta_t: float | None = None
    """Time of the first transcript/text/audio/arguments delta."""


@dataclass(slots=True)
class ToolCallRecord:
    """A function call the model made, and its answer."""

    call_id: str
    name: str
    arguments: str
    item_id: str | None
    response_id: str | None
    requested_t: float
    answered_t: float | None = None
    output: str | None = None
    answered_by: str | None = None
    """``"handler"``, ``"form"``, ``"code"`` or ``"peer"`` (another socket)."""
    status: str = "pending"
    """``"pending"``, ``"answered"``, or ``"unanswered"``: the call ended while it was
    pending (nobody can answer it any more; ``ended_t`` says when)."""
    ended_t: float | None = None
    """When the call ended with this tool call still pending (``None`` otherwise)."""

    @property
    def latency(self) -> float | None:
        """Seconds from the request to the answer (``None`` while pending)."""
        if self.answered_t is None:
            return None
        return self.answered_t - self.requested_t


@dataclass(slots=True)
class ErrorRecord:
    """A server ``error`` event, linked to the client event it answers when we sent it."""

    t: float
    code: str | None
    type: str
    message: str
    param: str | None
    client_event_id: str | None
    client_event_type: str | None


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class SessionState:
    """Folds server events (and our own outgoing and meta frames) into the call's state.

    Use ``feed(event, direction=..., t=...)`` for each frame in order; read the attributes.
    """

    def __init__(self) -> None:
        self.session: dict[str, Any] | None = None
        self.items: dict[str, ItemRecord] = {}
        self.item_order: list[str] = []
        self.responses: dict[str, ResponseRecord] = {}
        self.active_response_id: str | None = None
        self.tool_calls: dict[str, ToolCallRecord] = {}
        self.errors: list[ErrorRecord] = []
        self.audio_started: bool = False
        self.events_in: int = 0
        self.events_out: int = 0
        self.unknown_types: collections.Counter[str] = collections.Counter()
        self.malformed: int = 0
        self.usage_total: dict[str, int] = dict.fromkeys(USAGE_KEYS, 0)
        self.last_t: float | None = None
        # event_id -> type of every client event we sent: links errors to their cause.
        self._sent: dict[str, str] = {}
        h = self
        self._in: dict[str, Callable[[dict[str, Any], float], None]] = {
            "session.created": h._on_session,
            "session.updated": h._on_session,
            "conversation.item.added": h._on_item_added,
            "conversation.item.created": h._on_item_added,
            "conversation.item.done": h._on_item_done,
            "conversation.item.retrieved": h._on_item_retrieved,
            "conversation.item.truncated": h._on_truncated,
            "conversation.item.deleted": h._on_deleted,
            "conversation.item.input_audio_transcription.delta": h._on_input_tr_delta,
            "conversation.item.input_audio_transcription.completed": h._on_input_tr_done,
            "response.created": h._on_response_created,
            "response.done": h._on_response_done,
            "response.output_item.added": h._on_output_item_added,
            "response.output_item.done": h._on_output_item_done,
            "response.content_part.added": h._on_content_part_added,
            "response.content_part.done": h._on_content_part_done,
            "response.output_text.delta": h._on_text_delta,
            "response.output_text.done": h._on_text_done,
            "response.output_audio_transcript.delta": h._on_text_delta,
            "response.output_audio_transcript.done": h._on_transcript_done,
            "response.output_audio.delta": h._on_audio_delta,
            "output_audio_buffer.started": h._on_audio_buffer_started,
            "response.function_call_arguments.delta": h._on_args_delta,
            "response.function_call_arguments.done": h._on_args_done,
            "error": h._on_error,
        }
        self._out: dict[str, Callable[[dict[str, Any], float], None]] = {
            "conversation.item.create": h._on_out_item_create,
        }
        self._meta: dict[str, Callable[[dict[str, Any], float], None]] = {
            "rtwidgets.tool_answered": h._on_meta_tool_answered,
            "rtwidgets.status": h._on_meta_status,
        }

    # ------------------------------------------------------------------ public methods

    @classmethod
    def from_frames(cls, frames: Iterable[tuple[dict[str, Any], str, float]]) -> SessionState:
        """A state folded from ``(event, direction, t)`` triples, in order.

        ``direction`` is ``"in"``, ``"out"`` or ``"meta"`` (anything else is read as meta).
        """
        state = cls()
        feed = state.feed
        for event, direction, t in frames:
            feed(event, direction=direction, t=t)  # type: ignore[arg-type]
        return state

    def feed(self, event: dict[str, Any], *, direction: Direction, t: float) -> None:
        """Fold one frame. Never raises: malformed frames are counted in ``malformed``."""
        if direction == "in":
            self.events_in += 1
            table = self._in
        elif direction == "out":
            self.events_out += 1
            table = self._out
        else:
            table = self._meta
        try:
            event_type = event["type"]
            if type(event_type) is not str:
                self.malformed += 1
                return
            self.last_t = t
            if direction == "out":
                event_id = event.get("event_id")
                if type(event_id) is str:
                    self._sent[event_id] = event_type
            handler = table.get(event_type)
            if handler is None:
                if direction == "in":
                    known = event_type in SERVER_EVENT_TYPES
                elif direction == "out":
                    known = event_type in CLIENT_EVENT_TYPES
                else:
                    known = event_type.startswith("rtwidgets.")
                if not known:
                    self.unknown_types[event_type] += 1
                return
            handler(event, t)
        except Exception:
            # Wire data is untrusted: a frame with missing/mistyped fields must not stop the
            # receive loop. It is counted so views and tests can see it happened.
            self.malformed += 1

    def transcript(self) -> list[ItemRecord]:
        """Message items that have text, in conversation order (deleted ones left out)."""
        items = self.items
        return [
            rec
            for rec in (items[i] for i in self.item_order)
            if rec.type == "message" and rec.text and not rec.deleted
        ]

    def pending_tool_calls(self) -> list[ToolCallRecord]:
        """Tool calls whose arguments are done and that nobody has answered yet."""
        return [tc for tc in self.tool_calls.values() if tc.status == "pending"]

    def snapshot(self) -> dict[str, Any]:
        """A small plain-dict summary (counts and status) for views and reprs."""
        session = self.session or {}
        audio = session.get("audio") if isinstance(session, dict) else None
        output = audio.get("output") if isinstance(audio, dict) else None
        return {
            "events_in": self.events_in,
            "events_out": self.events_out,
            "items": len(self.item_order),
            "messages": len(self.transcript()),
            "responses": len(self.responses),
            "active_response_id": self.active_response_id,
            "tool_calls": len(self.tool_calls),
            "pending_tool_calls": len(self.pending_tool_calls()),
            "errors": len(self.errors),
            "audio_started": self.audio_started,
            "model": session.get("model") if isinstance(session, dict) else None,
            "voice": output.get("voice") if isinstance(output, dict) else None,
            "unknown_types": sum(self.unknown_types.values()),
            "malformed": self.malformed,
            "usage_total": dict(self.usage_total),
            "last_t": self.last_t,
        }

    def __repr__(self) -> str:
        return (
            f"SessionState(events_in={self.events_in}, events_out={self.events_out}, "
            f"items={len(self.item_order)}, responses={len(self.responses)}, "
            f"active_response_id={self.active_response_id!r}, errors={len(self.errors)})"
        )

    # ------------------------------------------------------------------ items and order

    def _item(self, item_id: str, t: float, item_type: str = "message") -> ItemRecord:
        """The record of ``item_id``, created (appended to the order) if first seen."""
        rec = self.items.get(item_id)
        if rec is None:
            if not isinstance(item_id, str):
                raise TypeError("item id must be a string")
            rec = ItemRecord(id=item_id, type=item_type, added_t=t)
            self.items[item_id] = rec
            self.item_order.append(item_id)
        return rec

    def _place(self, item_id: str, prev: Any) -> None:
        """Move a known item to just after ``prev`` ("root": the front; unknown id: stay)."""
        order = self.item_order
        if prev is None or (prev != "root" and prev not in self.items) or prev == item_id:
            return
        # Fast path, the usual case: the item was just appended right after ``prev``.
        if len(order) > 1 and order[-1] == item_id and order[-2] == prev:
            return
        idx = order.index(item_id)
        if prev == "root":
            if idx == 0:
                return
        elif idx > 0 and order[idx - 1] == prev:
            return
        del order[idx]
        target = 0 if prev == "root" else order.index(prev) + 1
        order.insert(target, item_id)
        # Keep the dict's insertion order equal to the conversation order.
        items = self.items
        self.items = {k: items[k] for k in order}

    def _apply_item(self, item: dict[str, Any], t: float) -> ItemRecord:
        item_id = item["id"]
        item_type = item.get("type")
        rec = self._item(item_id, t, item_type if isinstance(item_type, str) else "message")
        if isinstance(item_type, str):
            rec.type = item_type
        role = item.get("role")
        if isinstance(role, str):
            rec.role = role
        status = item.get("status")
        if isinstance(status, str):
            rec.status = status
        if item_type == "message":
            content = item.get("content")
            if isinstance(content, list):
                changed = False
                parts = rec.parts
                for index, part in enumerate(content):
                    if not isinstance(part, dict):
                        continue
                    text = part.get("text")
                    if not isinstance(text, str):
                        text = part.get("transcript")
                    # A full text from the server replaces the folded deltas; an empty one
                    # (a placeholder in *.added) never erases what deltas already gave.
                    if (
                        isinstance(text, str)
                        and (text or index not in parts)
                        and parts.get(index) != text
                    ):
                        parts[index] = text
                        changed = True
                if changed:
                    self._join_text(rec)
        elif item_type == "function_call":
            for key in ("call_id", "name", "arguments"):
                value = item.get(key)
                if isinstance(value, str) and (value or getattr(rec, key) is None):
                    setattr(rec, key, value)
        elif item_type == "function_call_output":
            call_id, output = item.get("call_id"), item.get("output")
            if isinstance(call_id, str):
                rec.call_id = call_id
            if isinstance(output, str):
                rec.output = output
        return rec

    @staticmethod
    def _join_text(rec: ItemRecord) -> None:
        parts = rec.parts
        if len(parts) == 1:
            rec.text = next(iter(parts.values()))
        else:
            rec.text = "\n".join(parts[i] for i in sorted(parts) if parts[i])

    def _append_text(self, item_id: str, index: Any, delta: Any, t: float) -> ItemRecord:
        if not isinstance(delta, str):
            raise TypeError("delta must be a string")
        rec = self._item(item_id, t)
        if not isinstance(index, int):
            index = 0
        parts = rec.parts
        parts[index] = parts.get(index, "") + delta
        if len(parts) == 1:
            rec.text = parts[index]
        else:
            self._join_text(rec)
        return rec

    def _set_text(self, item_id: str, index: Any, text: Any, t: float) -> ItemRecord:
        if not isinstance(text, str):
            raise TypeError("text must be a string")
        rec = self._item(item_id, t)
        if not isinstance(index, int):
            index = 0
        rec.parts[index] = text
        self._join_text(rec)
        return rec

    # ------------------------------------------------------------------ server events

    def _on_session(self, event: dict[str, Any], t: float) -> None:
        session = event["session"]
        if not isinstance(session, dict):
            raise TypeError("session must be an object")
        self.session = session

    def _on_item_added(self, event: dict[str, Any], t: float) -> None:
        item = event["item"]
        rec = self._apply_item(item, t)
        # Contract (docs/internals.md): a null or missing previous_item_id appends, "root"
        # puts the item first, a known id places it right after that item.
        prev = event.get("previous_item_id")
        if isinstance(prev, str):
            rec.previous_item_id = prev
            self._place(rec.id, prev)
        if rec.type == "function_call_output":
            self._answer(rec.call_id, rec.output, t, "peer", peer=True)

    def _on_item_done(self, event: dict[str, Any], t: float) -> None:
        self._on_item_added(event, t)
        rec = self.items[event["item"]["id"]]
        if rec.done_t is None:
            rec.done_t = t
        if rec.type == "function_call" and rec.status == "completed":
            self._request_tool(rec, t)

    def _on_item_retrieved(self, event: dict[str, Any], t: float) -> None:
        self._apply_item(event["item"], t)

    def _on_truncated(self, event: dict[str, Any], t: float) -> None:
        audio_end_ms = event["audio_end_ms"]
        if not isinstance(audio_end_ms, int):
            raise TypeError("audio_end_ms must be an integer")
        self._item(event["item_id"], t).truncated_ms = audio_end_ms

    def _on_deleted(self, event: dict[str, Any], t: float) -> None:
        rec = self.items.get(event["item_id"])
        if rec is not None:
            rec.deleted = True

    def _on_input_tr_delta(self, event: dict[str, Any], t: float) -> None:
        self._append_text(event["item_id"], event.get("content_index", 0), event["delta"], t)

    def _on_input_tr_done(self, event: dict[str, Any], t: float) -> None:
        self._set_text(event["item_id"], event.get("content_index", 0), event["transcript"], t)

    def _response(self, response_id: Any, t: float) -> ResponseRecord:
        rec = self.responses.get(response_id)
        if rec is None:
            if not isinstance(response_id, str):
                raise TypeError("response id must be a string")
            rec = ResponseRecord(id=response_id, created_t=t)
            self.responses[response_id] = rec
        return rec

    def _on_response_created(self, event: dict[str, Any], t: float) -> None:
        response = event["response"]
        rec = self._response(response["id"], t)
        status = response.get("status")
        if isinstance(status, str):
            rec.status = status
        modalities = response.get("output_modalities")
        if isinstance(modalities, list):
            rec.output_modalities = modalities
        self.active_response_id = rec.id

    def _on_response_done(self, event: dict[str, Any], t: float) -> None:
        response = event["response"]
        rec = self._response(response["id"], t)
        status = response.get("status")
        rec.status = status if isinstance(status, str) else "completed"
        details = response.get("status_details")
        rec.status_details = details if isinstance(details, dict) else None
        usage = response.get("usage")
        rec.usage = usage if isinstance(usage, dict) else None
        modalities = response.get("output_modalities")
        if isinstance(modalities, list):
            rec.output_modalities = modalities
        rec.done_t = t
        if self.active_response_id == rec.id:
            self.active_response_id = None
        final_status: dict[str, Any] = {}
        output = response.get("output")
        if isinstance(output, list):
            for item in output:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    item_id = item["id"]
                    if item_id not in rec.output_item_ids:
                        rec.output_item_ids.append(item_id)
                    final_status[item_id] = item.get("status")
        if rec.status in _INTERRUPTED_STATUSES:
            for item_id in rec.output_item_ids:
                item_rec = self.items.get(item_id)
                if item_rec is None:
                    continue
                item_status = final_status.get(item_id) or item_rec.status
                if item_status != "completed":
                    item_rec.interrupted = True
                    if isinstance(item_status, str):
                        item_rec.status = item_status
        if rec.usage is not None:
            self._add_usage(rec.usage)

    def _add_usage(self, usage: dict[str, Any]) -> None:
        total = self.usage_total
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            value = usage.get(key)
            if isinstance(value, int):
                total[key] += value
        for side in ("input", "output"):
            details = usage.get(f"{side}_token_details")
            if not isinstance(details, dict):
                continue
            for kind in ("text", "audio", "image", "cached"):
                value = details.get(f"{kind}_tokens")
                key = f"{side}_{kind}_tokens"
                if isinstance(value, int) and key in total:
                    total[key] += value

    def _on_output_item_added(self, event: dict[str, Any], t: float) -> None:
        response_id = event["response_id"]
        resp = self._response(response_id, t)
        item = event["item"]
        rec = self._apply_item(item, t)
        rec.response_id = response_id
        if rec.id not in resp.output_item_ids:
            resp.output_item_ids.append(rec.id)

    def _on_output_item_done(self, event: dict[str, Any], t: float) -> None:
        self._on_output_item_added(event, t)
        rec = self.items[event["item"]["id"]]
        if rec.done_t is None:
            rec.done_t = t
        if rec.type == "function_call" and rec.status == "completed":
            self._request_tool(rec, t)

    def _on_content_part_added(self, event: dict[str, Any], t: float) -> None:
        part = event["part"]
        if isinstance(part, dict) and part.get("type") == "audio":
            self.audio_started = True

    def _on_content_part_done(self, event: dict[str, Any], t: float) -> None:
        # The final text of a part arrives in several events (the transcript's own .done,
        # this one, response.output_item.done, conversation.item.done); whichever arrives
        # wins over the deltas, so a gap or a missed .done cannot leave the first word only.
        part = event["part"]
        if not isinstance(part, dict):
            raise TypeError("part must be an object")
        text = part.get("text")
        if not isinstance(text, str):
            text = part.get("transcript")
        if not isinstance(text, str) or not text:
            return  # an empty final text never erases what the deltas gave
        rec = self._set_text(event["item_id"], event.get("content_index"), text, t)
        if rec.role is None:
            rec.role = "assistant"  # only a response has content parts
        self._bind_response(rec, event)

    def _first_delta(self, event: dict[str, Any], t: float) -> None:
        response_id = event.get("response_id")
        if isinstance(response_id, str):
            resp = self._response(response_id, t)
            if resp.first_delta_t is None:
                resp.first_delta_t = t

    def _bind_response(self, rec: ItemRecord, event: dict[str, Any]) -> None:
        if rec.response_id is None:
            response_id = event.get("response_id")
            if isinstance(response_id, str):
                rec.response_id = response_id

    def _on_text_delta(self, event: dict[str, Any], t: float) -> None:
        # The hottest event of a call (a response streams dozens): _append_text,
        # _bind_response and _first_delta inlined, same checks in the same order.
        delta = event["delta"]
        if not isinstance(delta, str):
            raise TypeError("delta must be a string")
        item_id = event["item_id"]
        rec = self.items.get(item_id)
        if rec is None:
            rec = self._item(item_id, t)
        index = event.get("content_index")
        if not isinstance(index, int):
            index = 0
        parts = rec.parts
        text = parts.get(index, "") + delta
        parts[index] = text
        if len(parts) == 1:
            rec.text = text
        else:
            self._join_text(rec)
        response_id = event.get("response_id")
        if isinstance(response_id, str):
            if rec.response_id is None:
                rec.response_id = response_id
            resp = self.responses.get(response_id)
            if resp is None:
                resp = self._response(response_id, t)
            if resp.first_delta_t is None:
                resp.first_delta_t = t

    def _on_text_done(self, event: dict[str, Any], t: float) -> None:
        rec = self._set_text(event["item_id"], event.get("content_index"), event["text"], t)
        self._bind_response(rec, event)

    def _on_transcript_done(self, event: dict[str, Any], t: float) -> None:
        rec = self._set_text(event["item_id"], event.get("content_index"), event["transcript"], t)
        self._bind_response(rec, event)

    def _on_audio_delta(self, event: dict[str, Any], t: float) -> None:
        self.audio_started = True
        self._first_delta(event, t)

    def _on_audio_buffer_started(self, event: dict[str, Any], t: float) -> None:
        self.audio_started = True

    def _on_args_delta(self, event: dict[str, Any], t: float) -> None:
        delta = event["delta"]
        if not isinstance(delta, str):
            raise TypeError("delta must be a string")
        rec = self._item(event["item_id"], t, "function_call")
        rec.arguments = (rec.arguments or "") + delta
        call_id = event.get("call_id")
        if isinstance(call_id, str) and rec.call_id is None:
            rec.call_id = call_id
        self._bind_response(rec, event)
        self._first_delta(event, t)

    def _on_args_done(self, event: dict[str, Any], t: float) -> None:
        arguments, call_id = event["arguments"], event["call_id"]
        if not isinstance(arguments, str) or not isinstance(call_id, str):
            raise TypeError("arguments and call_id must be strings")
        rec = self._item(event["item_id"], t, "function_call")
        rec.type = "function_call"
        rec.arguments = arguments
        rec.call_id = call_id
        name = event.get("name")
        if isinstance(name, str):
            rec.name = name
        self._bind_response(rec, event)
        self._request_tool(rec, t)

    def _request_tool(self, rec: ItemRecord, t: float) -> None:
        call_id = rec.call_id
        if call_id is None:
            return
        tc = self.tool_calls.get(call_id)
        if tc is None:
            self.tool_calls[call_id] = ToolCallRecord(
                call_id=call_id, name=rec.name or "", arguments=rec.arguments or "",
                item_id=rec.id, response_id=rec.response_id, requested_t=t,
            )
            return
        # Seen before (answered early, or .done after arguments.done): fill what was missing.
        if not tc.name and rec.name:
            tc.name = rec.name
        if rec.arguments and tc.arguments != rec.arguments:
            tc.arguments = rec.arguments
        if tc.item_id is None:
            tc.item_id = rec.id
        if tc.response_id is None:
            tc.response_id = rec.response_id

    def _answer(
        self, call_id: Any, output: str | None, t: float, by: str, *, peer: bool = False
    ) -> None:
        if not isinstance(call_id, str):
            return
        tc = self.tool_calls.get(call_id)
        if tc is None:
            # An answer to a call we never saw requested (attached late): keep it visible.
            tc = ToolCallRecord(
                call_id=call_id, name="", arguments="", item_id=None, response_id=None,
                requested_t=t,
            )
            self.tool_calls[call_id] = tc
        if tc.status == "answered":
            return
        tc.status = "answered"
        tc.answered_t = t
        tc.output = output
        if not peer or tc.answered_by is None:
            tc.answered_by = tc.answered_by or by

    def _on_error(self, event: dict[str, Any], t: float) -> None:
        err = event["error"]
        if not isinstance(err, dict):
            raise TypeError("error must be an object")
        client_event_id = _s(err.get("event_id"))
        message = err.get("message")
        self.errors.append(
            ErrorRecord(
                t=t,
                code=_s(err.get("code")),
                type=_s(err.get("type")) or "error",
                message=message if isinstance(message, str) else "",
                param=_s(err.get("param")),
                client_event_id=client_event_id,
                client_event_type=self._sent.get(client_event_id) if client_event_id else None,
            )
        )

    # ------------------------------------------------------------------ our own frames

    def _on_out_item_create(self, event: dict[str, Any], t: float) -> None:
        item = event["item"]
        if isinstance(item, dict) and item.get("type") == "function_call_output":
            output = item.get("output")
            self._answer(item.get("call_id"), output if isinstance(output, str) else None, t,
                         "code")

    def _on_meta_status(self, event: dict[str, Any], t: float) -> None:
        # The call ended (hang-up, caller gone, socket end): a tool call still pending can
        # never be answered now. Marked here, once, so every view and the analysis agree.
        if event.get("status") != "ended":
            return
        for tc in self.tool_calls.values():
            if tc.status == "pending":
                tc.status = "unanswered"
                tc.ended_t = t

    def _on_meta_tool_answered(self, event: dict[str, Any], t: float) -> None:
        call_id, by = event["call_id"], event.get("by")
        if not isinstance(call_id, str):
            raise TypeError("call_id must be a string")
        tc = self.tool_calls.get(call_id)
        if tc is None:
            tc = ToolCallRecord(
                call_id=call_id, name="", arguments="", item_id=None, response_id=None,
                requested_t=t,
            )
            self.tool_calls[call_id] = tc
        if isinstance(by, str):
            tc.answered_by = by
