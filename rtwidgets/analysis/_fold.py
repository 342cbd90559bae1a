"""One pass over the meaningful frames of a call, folding them into records for the tables.

Why: the transcript, responses, tool calls, turns and errors are all views of the same fold.
Streaming deltas are most of a capture, and their content is repeated in the ``*.done``
events, so the fold parses only our own and meta frames and the server event types it
reads (``_FOLD_TYPES``); deltas are never parsed (their first arrival times come from the
columns; their text is read only for items cut short before a ``done``). This mirrors
``rtwidgets.protocol.state.SessionState``'s rules but keeps the arrival time of every
step, which the latency tables need and the live reducer does not keep.

Times are the capture's monotonic ``m`` (seconds since the capture began); wall times are
kept beside them for display. The fold never raises on a malformed event: fields of the
wrong type are treated as absent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ._source import FrameSource

__all__ = ["Fold", "fold_of"]

_TEXT_DELTAS = ("response.output_audio_transcript.delta", "response.output_text.delta")
_ITEM_EVENTS = frozenset(
    {"conversation.item.added", "conversation.item.created", "conversation.item.done",
     "conversation.item.retrieved", "response.output_item.added", "response.output_item.done"}
)
_DONE_ITEM_EVENTS = frozenset({"conversation.item.done", "response.output_item.done"})
#: Server event types the fold reads; every other incoming frame is left unparsed.
_FOLD_TYPES = _ITEM_EVENTS | {
    "session.created", "session.updated", "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped", "input_audio_buffer.committed",
    "input_audio_buffer.timeout_triggered",
    "conversation.item.input_audio_transcription.completed",
    "conversation.item.input_audio_transcription.failed",
    "response.output_audio_transcript.done", "response.output_text.done",
    "conversation.item.truncated", "conversation.item.deleted",
    "response.function_call_arguments.done", "response.created", "response.done",
    "output_audio_buffer.started", "output_audio_buffer.stopped",
    "output_audio_buffer.cleared", "error",
}


def _d(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _s(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _i(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


@dataclass
class ItemRec:
    id: str
    type: str | None = None
    role: str | None = None
    status: str | None = None
    text: str | None = None
    content_types: list[str] = field(default_factory=list)
    response_id: str | None = None
    added_m: float | None = None
    added_t: float | None = None
    done_m: float | None = None
    done_t: float | None = None
    truncated_ms: int | None = None
    deleted: bool = False
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None
    transcription_failed: bool = False


@dataclass
class ResponseRec:
    id: str
    status: str = "in_progress"
    reason: str | None = None
    error_code: str | None = None
    modalities: list[str] | None = None
    conversation_id: str | None = None
    model: str | None = None
    usage: dict[str, Any] | None = None
    created_m: float | None = None
    created_t: float | None = None
    done_m: float | None = None
    done_t: float | None = None
    first_text_m: float | None = None
    audio_started_m: float | None = None
    audio_stopped_m: float | None = None
    audio_cleared_m: float | None = None
    item_ids: list[str] = field(default_factory=list)
    turn: int | None = None


@dataclass
class ToolRec:
    call_id: str
    name: str | None = None
    arguments: str | None = None
    item_id: str | None = None
    response_id: str | None = None
    requested_m: float | None = None
    requested_t: float | None = None
    answered_m: float | None = None
    answered_t: float | None = None
    output: str | None = None
    answered_by: str | None = None
    ours: bool = False


@dataclass
class TurnRec:
    index: int
    kind: str                       # "audio" | "text"
    item_id: str | None
    speech_start_m: float | None = None
    speech_start_t: float | None = None
    speech_stop_m: float | None = None
    audio_start_ms: int | None = None
    audio_end_ms: int | None = None
    committed_m: float | None = None
    anchor_m: float | None = None   # speech_stopped (audio) or user item added (text)
    response_ids: list[str] = field(default_factory=list)


@dataclass
class Fold:
    items: dict[str, ItemRec] = field(default_factory=dict)
    responses: dict[str, ResponseRec] = field(default_factory=dict)
    tools: dict[str, ToolRec] = field(default_factory=dict)
    turns: list[TurnRec] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)

    def item(self, item_id: str) -> ItemRec:
        rec = self.items.get(item_id)
        if rec is None:
            rec = self.items[item_id] = ItemRec(item_id)
        return rec

    def tool(self, call_id: str) -> ToolRec:
        rec = self.tools.get(call_id)
        if rec is None:
            rec = self.tools[call_id] = ToolRec(call_id)
        return rec


def _content_text(item: dict[str, Any]) -> tuple[str | None, list[str]]:
    texts: list[str] = []
    kinds: list[str] = []
    found = False
    for part in item.get("content") or []:
        p = _d(part)
        kind = _s(p.get("type"))
        if kind:
            kinds.append(kind)
        for key in ("text", "transcript"):
            val = _s(p.get(key))
            if val is not None:
                texts.append(val)
                found = True
    return ("".join(texts) if found else None), kinds


class _Folder:
    def __init__(self) -> None:
        self.f = Fold()
        self.model: str | None = None
        self.sent_types: dict[str, str] = {}      # client event_id -> type
        self.answered_by: dict[str, str] = {}     # meta tool_answered
        self.speech_turn: dict[str, TurnRec] = {}  # audio item id -> turn
        self.text_items: set[str] = set()

    def _new_turn(self, kind: str, item_id: str | None) -> TurnRec:
        turn = TurnRec(len(self.f.turns), kind, item_id)
        self.f.turns.append(turn)
        return turn

    def _item_event(self, ev: dict[str, Any], etype: str, m: float, t: float) -> None:
        item = _d(ev.get("item"))
        item_id = _s(item.get("id"))
        if item_id is None:
            return
        rec = self.f.item(item_id)
        rec.type = _s(item.get("type")) or rec.type
        rec.role = _s(item.get("role")) or rec.role
        rec.status = _s(item.get("status")) or rec.status
        text, kinds = _content_text(item)
        if kinds:
            rec.content_types = kinds
        if text and (rec.text is None or etype in _DONE_ITEM_EVENTS):
            rec.text = text
        if rec.type == "function_call":
            rec.call_id = _s(item.get("call_id")) or rec.call_id
            rec.name = _s(item.get("name")) or rec.name
            args = _s(item.get("arguments"))
            rec.arguments = args if args else rec.arguments
        elif rec.type == "function_call_output":
            rec.call_id = _s(item.get("call_id")) or rec.call_id
            rec.output = _s(item.get("output")) or rec.output
        resp_id = _s(ev.get("response_id"))
        if resp_id:
            rec.response_id = resp_id
            resp = self.f.responses.get(resp_id)
            if resp is not None and item_id not in resp.item_ids:
                resp.item_ids.append(item_id)
        if etype in _DONE_ITEM_EVENTS:
            rec.done_m, rec.done_t = m, t
        elif rec.added_m is None:
            rec.added_m, rec.added_t = m, t
        if rec.type == "function_call" and rec.call_id:
            tool = self.f.tool(rec.call_id)
            tool.name = rec.name or tool.name
            tool.item_id = item_id
            tool.response_id = rec.response_id or tool.response_id
            if rec.arguments:
                tool.arguments = rec.arguments
            if etype == "response.output_item.done" and tool.requested_m is None and (
                rec.status == "completed"
            ):
                tool.requested_m, tool.requested_t = m, t
        elif rec.type == "function_call_output" and rec.call_id:
            tool = self.f.tool(rec.call_id)
            tool.output = rec.output if tool.output is None else tool.output
            if tool.answered_m is None:
                # Only the server told us: another socket (the caller's client, another
                # sideband) answered the call.
                tool.answered_m, tool.answered_t = m, t
                tool.answered_by = tool.answered_by or "peer"
        if (
            etype in ("conversation.item.added", "conversation.item.created")
            and rec.role == "user" and rec.type == "message"
            and "input_audio" not in rec.content_types
            and item_id not in self.speech_turn and item_id not in self.text_items
        ):
            self.text_items.add(item_id)
            turn = self._new_turn("text", item_id)
            turn.anchor_m = m
            turn.speech_start_t = t

    def feed(self, direction: str, etype: str, m: float, t: float, ev: dict[str, Any]) -> None:
        f = self.f
        if direction == "out":
            eid = _s(ev.get("event_id"))
            if eid:
                self.sent_types[eid] = etype
            if etype == "conversation.item.create":
                item = _d(ev.get("item"))
                call_id = _s(item.get("call_id"))
                if item.get("type") == "function_call_output" and call_id:
                    tool = f.tool(call_id)
                    tool.ours = True
                    tool.answered_m, tool.answered_t = m, t
                    tool.output = _s(item.get("output"))
                    tool.answered_by = self.answered_by.get(call_id, tool.answered_by or "code")
            return
        if direction == "meta":
            if etype == "rtwidgets.gap":
                since = ev.get("since_m")
                start = float(since) if isinstance(since, int | float) else m
                f.gaps.append({"start_m": start, "end_m": m, "t": t,
                               "reason": _s(ev.get("reason"))})
            elif etype == "rtwidgets.tool_answered":
                call_id, by = _s(ev.get("call_id")), _s(ev.get("by"))
                if call_id and by:
                    self.answered_by[call_id] = by
                    if call_id in f.tools:
                        f.tools[call_id].answered_by = by
            elif etype == "rtwidgets.status":
                f.statuses.append({"m": m, "t": t, "status": _s(ev.get("status")),
                                   "reason": _s(ev.get("reason"))})
            return
        if etype in ("session.created", "session.updated"):
            model = _s(_d(ev.get("session")).get("model"))
            if model:
                self.model = model
                if model not in f.models:
                    f.models.append(model)
        elif etype == "input_audio_buffer.speech_started":
            item_id = _s(ev.get("item_id"))
            turn = self._new_turn("audio", item_id)
            turn.speech_start_m, turn.speech_start_t = m, t
            turn.audio_start_ms = _i(ev.get("audio_start_ms"))
            if item_id:
                self.speech_turn[item_id] = turn
        elif etype in ("input_audio_buffer.speech_stopped", "input_audio_buffer.committed",
                       "input_audio_buffer.timeout_triggered"):
            item_id = _s(ev.get("item_id"))
            turn_or_none = self.speech_turn.get(item_id) if item_id else None
            if turn_or_none is None:
                if etype == "input_audio_buffer.committed":
                    return          # a manual commit of a turn we did not see start
                turn_or_none = self._new_turn("audio", item_id)
                if item_id:
                    self.speech_turn[item_id] = turn_or_none
            turn = turn_or_none
            if etype == "input_audio_buffer.committed":
                turn.committed_m = m
                if turn.anchor_m is None:
                    turn.anchor_m = m
            else:
                turn.speech_stop_m = m
                turn.anchor_m = m
                turn.audio_end_ms = _i(ev.get("audio_end_ms"))
                if etype == "input_audio_buffer.timeout_triggered":
                    turn.audio_start_ms = _i(ev.get("audio_start_ms"))
        elif etype in _ITEM_EVENTS:
            self._item_event(ev, etype, m, t)
        elif etype == "conversation.item.input_audio_transcription.completed":
            item_id = _s(ev.get("item_id"))
            if item_id:
                f.item(item_id).text = _s(ev.get("transcript"))
        elif etype == "conversation.item.input_audio_transcription.failed":
            item_id = _s(ev.get("item_id"))
            if item_id:
                f.item(item_id).transcription_failed = True
        elif etype in ("response.output_audio_transcript.done", "response.output_text.done"):
            item_id = _s(ev.get("item_id"))
            text = _s(ev.get("transcript") if "transcript" in ev else ev.get("text"))
            if item_id and text is not None:
                f.item(item_id).text = text
        elif etype == "conversation.item.truncated":
            item_id = _s(ev.get("item_id"))
            if item_id:
                f.item(item_id).truncated_ms = _i(ev.get("audio_end_ms"))
        elif etype == "conversation.item.deleted":
            item_id = _s(ev.get("item_id"))
            if item_id:
                f.item(item_id).deleted = True
        elif etype == "response.function_call_arguments.done":
            call_id = _s(ev.get("call_id"))
            if call_id:
                tool = f.tool(call_id)
                tool.name = _s(ev.get("name")) or tool.name
                tool.arguments = _s(ev.get("arguments"))
                tool.item_id = _s(ev.get("item_id")) or tool.item_id
                tool.response_id = _s(ev.get("response_id")) or tool.response_id
                tool.requested_m, tool.requested_t = m, t
        elif etype in ("response.created", "response.done"):
            self._response(ev, etype, m, t)
        elif etype.startswith("output_audio_buffer."):
            resp_id = _s(ev.get("response_id"))
            resp = f.responses.get(resp_id) if resp_id else None
            if resp is not None:
                if etype.endswith(".started") and resp.audio_started_m is None:
                    resp.audio_started_m = m
                elif etype.endswith(".stopped"):
                    resp.audio_stopped_m = m
                elif etype.endswith(".cleared"):
                    resp.audio_cleared_m = m
        elif etype == "error":
            err = _d(ev.get("error"))
            client_eid = _s(err.get("event_id"))
            f.errors.append({
                "m": m, "t": t, "code": _s(err.get("code")), "type": _s(err.get("type")),
                "message": _s(err.get("message")), "param": _s(err.get("param")),
                "client_event_id": client_eid,
                "client_event_type": self.sent_types.get(client_eid) if client_eid else None,
            })

    def _response(self, ev: dict[str, Any], etype: str, m: float, t: float) -> None:
        f = self.f
        resp = _d(ev.get("response"))
        rid = _s(resp.get("id"))
        if rid is None:
            return
        rec = f.responses.get(rid)
        if rec is None:
            rec = f.responses[rid] = ResponseRec(rid, model=self.model)
        rec.status = _s(resp.get("status")) or rec.status
        mods = resp.get("output_modalities")
        if isinstance(mods, list):
            rec.modalities = [x for x in mods if isinstance(x, str)]
        rec.conversation_id = _s(resp.get("conversation_id")) or rec.conversation_id
        if etype == "response.created":
            rec.created_m, rec.created_t = m, t
            for turn in reversed(f.turns):
                if turn.anchor_m is not None and turn.anchor_m <= m:
                    turn.response_ids.append(rid)
                    rec.turn = turn.index
                    break
            return
        rec.done_m, rec.done_t = m, t
        details = _d(resp.get("status_details"))
        rec.reason = _s(details.get("reason"))
        rec.error_code = _s(_d(details.get("error")).get("code"))
        usage = resp.get("usage")
        rec.usage = usage if isinstance(usage, dict) else None
        for out in resp.get("output") or []:
            item = _d(out)
            item_id = _s(item.get("id"))
            if item_id is None:
                continue
            if item_id not in rec.item_ids:
                rec.item_ids.append(item_id)
            irec = f.item(item_id)
            irec.response_id = rid
            irec.type = irec.type or _s(item.get("type"))
            irec.role = irec.role or _s(item.get("role"))
            irec.status = _s(item.get("status")) or irec.status
            if irec.text is None:
                irec.text = _content_text(item)[0]


def _first_by(core: pa.Table, types: tuple[str, ...], key: str) -> dict[str, float]:
    mask = pc.is_in(core.column("type"), pa.array(types))
    sub = core.filter(mask).select([key, "m"]).filter(pc.is_valid(core.filter(mask)[key]))
    if sub.num_rows == 0:
        return {}
    agg = sub.group_by(key).aggregate([("m", "min")])
    return dict(zip(agg.column(key).to_pylist(), agg.column("m_min").to_pylist(), strict=True))


def fold_of(src: FrameSource) -> Fold:
    """The fold of a source's current frames (cached on the source until it grows)."""
    hit = src.cached("fold")
    if isinstance(hit, Fold):
        return hit
    core = src.core()
    # Our own frames and meta frames are few and all matter (error links, tool answers,
    # gaps); of the server's, only the types the fold reads are parsed.
    keep = pc.or_(pc.not_equal(core.column("direction"), "in"),
                  pc.is_in(core.column("type"), pa.array(sorted(_FOLD_TYPES))))
    keep = pc.fill_null(keep, True)
    sub = core.filter(keep).select(["direction", "type", "m", "t", "payload", "bad"])
    folder = _Folder()
    loads = json.loads
    for direction, etype, m, t, payload, bad in zip(
        sub.column("direction").to_pylist(), sub.column("type").to_pylist(),
        sub.column("m").to_pylist(), sub.column("t").to_pylist(),
        sub.column("payload").to_pylist(), sub.column("bad").to_pylist(), strict=True,
    ):
        if bad or payload is None:
            continue
        try:
            ev = loads(payload)
        except ValueError:
            continue
        if isinstance(ev, dict):
            folder.feed(direction or "in", etype, m if m is not None else 0.0,
                        t if t is not None else 0.0, ev)
    fold = folder.f
    for rid, first in _first_by(core, _TEXT_DELTAS, "response_id").items():
        if rid in fold.responses:
            fold.responses[rid].first_text_m = first
    _fill_text_from_deltas(core, fold)
    src.store("fold", fold)
    return fold


def _fill_text_from_deltas(core: pa.Table, fold: Fold) -> None:
    """Items cut short before their ``done`` get their text from the deltas that arrived."""
    missing = [
        i.id for i in fold.items.values()
        if i.text is None and i.type == "message" and i.role == "assistant"
    ]
    if not missing:
        return
    mask = pc.and_(
        pc.is_in(core.column("type"), pa.array(_TEXT_DELTAS)),
        pc.is_in(core.column("item_id"), pa.array(missing, pa.string())),
    )
    sub = core.filter(mask)
    parts: dict[str, list[str]] = {}
    for item_id, payload in zip(sub.column("item_id").to_pylist(),
                                sub.column("payload").to_pylist(), strict=True):
        try:
            delta = json.loads(payload).get("delta")
        except (ValueError, AttributeError):
            continue
        if isinstance(delta, str):
            parts.setdefault(item_id, []).append(delta)
    for item_id, chunks in parts.items():
        fold.items[item_id].text = "".join(chunks)
