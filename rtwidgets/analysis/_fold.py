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

import gc
import json
from collections.abc import Callable
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
    "response.content_part.done", "conversation.item.truncated", "conversation.item.deleted",
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
class TranscriptionRec:
    """One input transcription's billing: its ``usage`` and the model that made it."""

    item_id: str
    model: str | None
    usage: dict[str, Any]
    m: float
    t: float


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
    transcriptions: list[TranscriptionRec] = field(default_factory=list)
    transcription_models: list[str] = field(default_factory=list)

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
    for part in item.get("content") or []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if isinstance(kind, str) and kind:
            kinds.append(kind)
        # Runs for every item event of a call: two lookups, not a loop over the keys.
        val = part.get("text")
        if isinstance(val, str):
            texts.append(val)
        val = part.get("transcript")
        if isinstance(val, str):
            texts.append(val)
    return ("".join(texts) if texts else None), kinds


class _Folder:
    def __init__(self) -> None:
        self.f = Fold()
        self.model: str | None = None
        # session.audio.input.transcription.model as last reported (None: off or not seen)
        self.transcription_model: str | None = None
        self.sent_types: dict[str, str] = {}      # client event_id -> type
        self.answered_by: dict[str, str] = {}     # meta tool_answered
        self.speech_turn: dict[str, TurnRec] = {}  # audio item id -> turn
        self.text_items: set[str] = set()

    def _new_turn(self, kind: str, item_id: str | None) -> TurnRec:
        turn = TurnRec(len(self.f.turns), kind, item_id)
        self.f.turns.append(turn)
        return turn

    def _item_event(self, ev: dict[str, Any], etype: str, m: float, t: float) -> None:
        # The hottest path of the fold (every item event of the call): the ``_s``/``_d``
        # checks are written out inline; "a non-empty string, else keep" is ``v if
        # isinstance(v, str) and v else old``.
        item = ev.get("item")
        if not isinstance(item, dict):
            return
        item_id = item.get("id")
        if not isinstance(item_id, str):
            return
        f = self.f
        rec = f.items.get(item_id)
        if rec is None:
            rec = f.items[item_id] = ItemRec(item_id)
        v = item.get("type")
        if isinstance(v, str) and v:
            rec.type = v
        v = item.get("role")
        if isinstance(v, str) and v:
            rec.role = v
        v = item.get("status")
        if isinstance(v, str) and v:
            rec.status = v
        text, kinds = _content_text(item)
        if kinds:
            rec.content_types = kinds
        is_done = etype in _DONE_ITEM_EVENTS
        if text and (rec.text is None or is_done):
            rec.text = text
        rtype = rec.type
        if rtype == "function_call":
            v = item.get("call_id")
            if isinstance(v, str) and v:
                rec.call_id = v
            v = item.get("name")
            if isinstance(v, str) and v:
                rec.name = v
            v = item.get("arguments")
            if isinstance(v, str) and v:
                rec.arguments = v
        elif rtype == "function_call_output":
            v = item.get("call_id")
            if isinstance(v, str) and v:
                rec.call_id = v
            v = item.get("output")
            if isinstance(v, str) and v:
                rec.output = v
        resp_id = ev.get("response_id")
        if isinstance(resp_id, str) and resp_id:
            rec.response_id = resp_id
            resp = f.responses.get(resp_id)
            if resp is not None and item_id not in resp.item_ids:
                resp.item_ids.append(item_id)
        if is_done:
            rec.done_m, rec.done_t = m, t
        elif rec.added_m is None:
            rec.added_m, rec.added_t = m, t
        if rtype == "function_call" and rec.call_id:
            tool = f.tool(rec.call_id)
            tool.name = rec.name or tool.name
            tool.item_id = item_id
            tool.response_id = rec.response_id or tool.response_id
            if rec.arguments:
                tool.arguments = rec.arguments
            if etype == "response.output_item.done" and tool.requested_m is None and (
                rec.status == "completed"
            ):
                tool.requested_m, tool.requested_t = m, t
        elif rtype == "function_call_output" and rec.call_id:
            tool = f.tool(rec.call_id)
            tool.output = rec.output if tool.output is None else tool.output
            if tool.answered_m is None:
                # Only the server told us: another socket (the caller's client, another
                # sideband) answered the call.
                tool.answered_m, tool.answered_t = m, t
                tool.answered_by = tool.answered_by or "peer"
        if (
            (etype == "conversation.item.added" or etype == "conversation.item.created")
            and rec.role == "user" and rtype == "message"
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
            session = _d(ev.get("session"))
            model = _s(session.get("model"))
            if model:
                self.model = model
                if model not in f.models:
                    f.models.append(model)
            audio_in = _d(_d(session.get("audio")).get("input"))
            if "transcription" in audio_in:  # null turns it off; absent leaves it as it was
                tmodel = _s(_d(audio_in.get("transcription")).get("model")) or None
                self.transcription_model = tmodel
                if tmodel and tmodel not in f.transcription_models:
                    f.transcription_models.append(tmodel)
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
                usage = ev.get("usage")
                if isinstance(usage, dict):
                    # billed by the transcription model, not the realtime one
                    f.transcriptions.append(
                        TranscriptionRec(item_id, self.transcription_model, usage, m, t))
        elif etype == "conversation.item.input_audio_transcription.failed":
            item_id = _s(ev.get("item_id"))
            if item_id:
                f.item(item_id).transcription_failed = True
        elif etype in ("response.output_audio_transcript.done", "response.output_text.done"):
            item_id = _s(ev.get("item_id"))
            text = _s(ev.get("transcript") if "transcript" in ev else ev.get("text"))
            if item_id and text is not None:
                f.item(item_id).text = text
        elif etype == "response.content_part.done":
            # The part's final text: used when the transcript's own .done is missing (late
            # attach, a gap), as SessionState does. Empty never erases what is there.
            item_id = _s(ev.get("item_id"))
            part = _d(ev.get("part"))
            text = _s(part.get("text"))
            if text is None:
                text = _s(part.get("transcript"))
            if item_id and text:
                rec = f.item(item_id)
                rec.text = text
                rec.type = rec.type or "message"
                rec.role = rec.role or "assistant"
                rec.response_id = rec.response_id or _s(ev.get("response_id"))
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
    # Select before filtering: filtering the whole core would copy the payload column.
    narrow = core.select(["type", key, "m"])
    sub = narrow.filter(pc.is_in(narrow.column("type"), pa.array(types)))
    sub = sub.filter(pc.is_valid(sub.column(key)))
    if sub.num_rows == 0:
        return {}
    agg = sub.select([key, "m"]).group_by(key).aggregate([("m", "min")])
    return dict(zip(agg.column(key).to_pylist(), agg.column("m_min").to_pylist(), strict=True))


#: Server event types whose only field the fold reads is one the core columns already
#: hold (``item_id`` or ``response_id``): they are fed from the columns, not parsed, when
#: the payload text shows the column cannot differ from the frame's own field (no nested
#: object that the column falls back to, no escapes, the key once).
_COLUMN_ONLY: dict[str, str] = {
    "input_audio_buffer.committed": "item_id",
    "conversation.item.deleted": "item_id",
    "output_audio_buffer.started": "response_id",
    "output_audio_buffer.stopped": "response_id",
    "output_audio_buffer.cleared": "response_id",
}
#: The nested object each column falls back to (``item.id``, ``response.id``).
_FALLBACK_KEY = {"item_id": '"item"', "response_id": '"response"'}


def _from_columns(etype: str, payload: str, item_id: str | None, response_id: str | None
                  ) -> dict[str, Any] | None:
    """The event as the fold would read it, from the columns; ``None`` to parse instead."""
    field_name = _COLUMN_ONLY.get(etype)
    if field_name is None or "\\" in payload or _FALLBACK_KEY[field_name] in payload:
        return None
    if payload.count(f'"{field_name}"') > 1:
        return None
    return {field_name: item_id if field_name == "item_id" else response_id}


#: The C scanner behind ``json.loads``, called directly: ``loads`` adds two regex passes
#: (leading and trailing whitespace) per call. A payload it does not take whole (leading
#: or trailing text) goes through ``loads``, so the result is always what ``loads`` gives.
_SCAN: Callable[[str, int], tuple[Any, int]] = vars(json.JSONDecoder())["scan_once"]


def _feed_all(folder: _Folder, sub: pa.Table, column_only: dict[str, str]) -> None:
    """Feed the folded rows (no bad rows, no missing payloads) to ``folder`` in order."""
    feed = folder.feed
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
            feed(direction or "in", etype, m, t, ev)


def fold_of(src: FrameSource, *, shortcuts: bool = True) -> Fold:
    """The fold of a source's current frames (cached on the source until it grows).

    ``shortcuts=False`` parses every folded frame (the reference the tests compare the
    column shortcuts against); it is never cached.
    """
    if shortcuts:
        hit = src.cached("fold")
        if isinstance(hit, Fold):
            return hit
    core = src.core()
    # Our own frames and meta frames are few and all matter (error links, tool answers,
    # gaps); of the server's, only the types the fold reads are parsed. Only the columns
    # the loop reads are filtered (the payload column is most of the core's bytes).
    narrow = core.select(["direction", "type", "m", "t", "payload", "bad", "item_id",
                          "response_id"])
    keep = pc.or_(pc.not_equal(narrow.column("direction"), "in"),
                  pc.is_in(narrow.column("type"), pa.array(sorted(_FOLD_TYPES))))
    keep = pc.fill_null(keep, True)
    # Bad frames and frames without a payload are never fed.
    keep = pc.and_(keep, pc.and_(pc.invert(pc.fill_null(narrow.column("bad"), False)),
                                 pc.is_valid(narrow.column("payload"))))
    sub = narrow.filter(keep)
    folder = _Folder()
    # The fold makes a few objects per folded frame and frees none: with the cyclic
    # collector on, its passes over them grow with the call (measured: a fifth of the
    # fold's time on a 1M-frame capture). Nothing made here forms a cycle.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        _feed_all(folder, sub, _COLUMN_ONLY if shortcuts else {})
    finally:
        if gc_was_on:
            gc.enable()
    fold = folder.f
    for rid, first in _first_by(core, _TEXT_DELTAS, "response_id").items():
        if rid in fold.responses:
            fold.responses[rid].first_text_m = first
    _fill_text_from_deltas(core, fold)
    if shortcuts:
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
    narrow = core.select(["type", "item_id"])
    mask = pc.and_(
        pc.is_in(narrow.column("type"), pa.array(_TEXT_DELTAS)),
        pc.is_in(narrow.column("item_id"), pa.array(missing, pa.string())),
    )
    sub = core.select(["item_id", "payload"]).filter(mask)
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
