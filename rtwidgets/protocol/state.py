"""``SessionState``: the one reducer that folds a call's events into what views and analysis read.

Why: a live ``Call`` and a loaded ``Recording`` must answer the same questions (what was said,
in what order; which response is active and what it cost; which tool calls are waiting and who
answered them; which of *our* events the server refused) from the same frames. Folding them
in one pure reducer makes that answer identical for both and testable without sockets.

It folds *normalized call events* (``protocol/codec.py``), never wire events: ``feed(frame)``
asks the call's codec (GA Realtime by default) to decode the frame, then ``apply`` folds the
events. So the same rules serve every API, and the live console, ``Call``, ``Recording``
and the analysis tables cannot disagree. Besides the conversation it keeps the timings
analysis needs: per caller turn (``TurnRecord``: speech start/stop, the anchor the
latencies are measured from, its responses) and per response (first event, first text,
audio start/stop/clear, done).

It must never raise from ``feed``: frames come from the wire and from old captures, and a
malformed one (the codec flags it) is counted in ``malformed``, not fatal. It must never
read a clock (times are passed in), never copy events deeply, and stay fast (the ingest
benchmark wants ≥ 100k events/s): dispatch is one dict lookup of a bound method per event
class.
"""

from __future__ import annotations

import collections
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from . import codec as ce
from .codec import Codec

__all__ = [
    "DelegationRecord",
    "ErrorRecord",
    "GapRecord",
    "ItemRecord",
    "ResponseRecord",
    "SessionState",
    "ToolCallRecord",
    "TranscriptionRecord",
    "TurnRecord",
    "TurnTimings",
    "turn_timings",
]

Direction = Literal["in", "out", "meta"]

_INTERRUPTED_STATUSES: Final = frozenset({"cancelled", "incomplete"})
#: usage_total keys, flattened from response.done usage.
USAGE_KEYS: Final[tuple[str, ...]] = (
    "input_tokens", "output_tokens", "total_tokens",
    "input_text_tokens", "input_audio_tokens", "input_image_tokens", "input_cached_tokens",
    "output_text_tokens", "output_audio_tokens",
)
#: A ``Usage``'s ``USAGE_KEYS`` fields in one call (one per response.done).
_usage_values: Final = operator.attrgetter(*USAGE_KEYS)


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
    transcription_failed: bool = False
    reported_t: float | None = None
    """Arrival of the first report that the item was added (``None``: only other events
    named it, e.g. attached late)."""
    streamed_only: bool = False
    """Known only from streaming deltas so far (no report of the item itself): tables
    leave such items out, as they do in a bulk read that skips deltas."""
    fragment_end_t: float | None = None
    """Arrival of the item's last *timed* transcript fragment (one carrying ``end_ms``:
    GPT-Live's segments, which have no done event of their own; Realtime deltas carry no
    timeline and leave it ``None``). Where the spoken text ended, as far as we know."""
    content_types: list[str] = field(default_factory=list)
    """The ``type`` of each content part as last reported (``input_audio``, ``text``…)."""
    parts: dict[int, str] = field(default_factory=dict, repr=False)
    """Text by content index (the pieces ``text`` is joined from)."""
    final: set[int] | None = field(default=None, repr=False, compare=False)
    """Content indexes whose final text arrived: a later delta for them is ignored."""


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
    started_t: float | None = None
    """Arrival of the response's start (``None``: its start was not seen)."""
    model: str | None = None
    """The session's model when the response was first seen."""
    kind: str = "response"
    """``"response"`` or ``"delegation"`` (a GPT-Live delegation's backend response)."""
    reason: str | None = None
    error_code: str | None = None
    conversation_id: str | None = None
    first_text_t: float | None = None
    """Time of the first text or transcript delta of the agent."""
    audio_started_t: float | None = None
    audio_stopped_t: float | None = None
    audio_cleared_t: float | None = None
    turn: int | None = None
    """Index of the caller turn it answers (``None``: before any turn, e.g. a greeting)."""


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
    request_t: float | None = field(default=None, compare=False)
    """Arrival of the request itself (``None``: only its answer was seen);
    ``requested_t`` is when the record began."""
    delegation_id: str | None = None
    """GPT-Live: the delegation that asked (``None`` on Realtime, or when the server could
    not correlate the backend's event)."""

    @property
    def latency(self) -> float | None:
        """Seconds from the request to the answer (``None`` while pending)."""
        if self.answered_t is None:
            return None
        return self.answered_t - self.requested_t


@dataclass(slots=True)
class DelegationRecord:
    """A GPT-Live delegation as folded so far: who handles it and where its backend is.

    ``id`` is ``None`` for backend events the server could not correlate. ``running``: its
    backend response was reported running (the wrapped ``response.created``) and has not
    finished; only then does continuing it with ``response.create`` wait for the finish
    (live-protocol.md §7.3). Its tool calls are the ``tool_calls`` whose
    ``delegation_id`` is ``id`` (``SessionState.tool_calls_of``)."""

    id: str | None
    target: str | None = None
    """``"responses"``, ``"client"`` or ``"decisions"`` (``None``: not reported)."""
    response_id: str | None = None
    """Its latest backend response (``None``: none; a client delegation has none)."""
    response_ids: list[str] = field(default_factory=list)
    running: bool = False
    started_t: float = 0.0
    """When it was first seen (its announcement, or its first backend event)."""


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


@dataclass(slots=True)
class TurnRecord:
    """One caller turn: an audio turn (VAD or a manual commit) or a typed message.

    ``anchor_t`` is what latencies are measured from: the end of speech (VAD's
    speech-stopped), else the commit, else the typed message's arrival."""

    index: int
    kind: str
    """``"audio"`` or ``"text"``."""
    item_id: str | None
    speech_start_t: float | None = None
    speech_stop_t: float | None = None
    committed_t: float | None = None
    anchor_t: float | None = None
    audio_start_ms: int | None = None
    audio_end_ms: int | None = None
    response_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class TranscriptionRecord:
    """What transcribing one caller item cost, and the model that billed it."""

    item_id: str
    model: str | None
    usage: dict[str, Any]
    t: float


@dataclass(slots=True)
class GapRecord:
    """A reconnect: the socket was down from ``since`` (``None``: unknown) to ``t``."""

    since: float | None
    t: float
    reason: str | None


@dataclass(frozen=True, slots=True)
class TurnTimings:
    """What a caller turn's row shows, live (the console's Turns) and after the call (the
    analysis turns table): one computation, so the two cannot disagree.

    Latencies are seconds from the turn's anchor to its first response's start, first
    text and audio start (``None`` until they happen). ``interrupted``: a response of the
    turn ended cancelled/incomplete, had its audio cleared, or an item truncated."""

    turn: int
    kind: str
    item_id: str | None
    response_id: str | None
    n_responses: int
    status: str | None
    latency_response: float | None
    latency_first_text: float | None
    latency_audio: float | None
    interrupted: bool


def _since(t: float | None, anchor: float | None) -> float | None:
    return None if t is None or anchor is None else t - anchor


def turn_timings(state: SessionState, turn: TurnRecord) -> TurnTimings:
    """The row of ``turn`` as the reducer knows it now (see ``TurnTimings``)."""
    responses = state.responses
    resps = [responses[r] for r in turn.response_ids if r in responses]
    first = resps[0] if resps else None
    items = state.items
    interrupted = any(
        r.status in _INTERRUPTED_STATUSES or r.audio_cleared_t is not None
        or any(items[i].truncated_ms is not None for i in r.output_item_ids if i in items)
        for r in resps
    )
    anchor = turn.anchor_t
    return TurnTimings(
        turn=turn.index, kind=turn.kind, item_id=turn.item_id,
        response_id=first.id if first else None, n_responses=len(resps),
        status=first.status if first else None,
        latency_response=_since(first.started_t, anchor) if first else None,
        latency_first_text=_since(first.first_text_t, anchor) if first else None,
        latency_audio=_since(first.audio_started_t, anchor) if first else None,
        interrupted=interrupted,
    )


def _rindex(seq: list[str], value: str) -> int:
    """The last index of ``value`` in ``seq``, scanning from the end (``ValueError`` if
    absent)."""
    for i in range(len(seq) - 1, -1, -1):
        if seq[i] == value:
            return i
    raise ValueError(value)


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class SessionState:
    """Folds a call's frames (server, our own and meta) into the call's state.

    Use ``feed(frame, direction=..., t=...)`` for each frame in order (the codec decodes
    it), or ``apply(events, t=...)`` with normalized events; read the attributes.
    """

    def __init__(self, codec: Codec | None = None) -> None:
        if codec is None:
            from .realtime.codec import REALTIME

            self.codec: Codec = REALTIME
        else:
            # A codec that keeps per-call decoding state (GPT-Live groups transcript
            # fragments into segments) gives each reducer its own instance.
            fresh = getattr(codec, "fresh", None)
            self.codec = fresh() if callable(fresh) else codec
        self._decode = self.codec.decode
        # A stateless codec's decoder per server type (``RealtimeCodec.in_decoders``):
        # ``feed_in`` calls it directly and falls back to ``decode`` when it raises.
        self._in_decoders: dict[str, Callable[[dict[str, Any]], tuple[ce.CallEvent, ...]]] = (
            dict(getattr(self.codec, "in_decoders", None) or {}))
        self._stream_types = self.codec.stream_types
        self._stream_fields = self.codec.stream_fields
        # A codec whose fast path covers only some of its stream frames (GPT-Live: an agent
        # fragment inside the open segment) says so: its ``None`` means "decode this one".
        self._stream_misses: bool = getattr(self.codec, "stream_decodes_misses", False)
        # A codec whose stream frames carry a timeline (GPT-Live's end_ms) folds them as a
        # TranscriptDelta with end_ms is applied: the item's fragment_end_t is noted too.
        self._stream_fold: Callable[[str, str, str, str | None, int, float], None] = (
            self._fold_timed_delta if getattr(self.codec, "stream_timed", False)
            else self._fold_delta)
        self.session: dict[str, Any] | None = None
        self.requested_session: dict[str, Any] | None = None
        """The session config of our last ``session.update`` (``None``: none sent)."""
        self.applied_request_id: str | None = None
        """The client event id of the request the last reported session answered."""
        self.items: dict[str, ItemRecord] = {}
        self.item_order: list[str] = []
        self.responses: dict[str, ResponseRecord] = {}
        self.active_response_id: str | None = None
        self.tool_calls: dict[str, ToolCallRecord] = {}
        self.delegations: dict[str | None, DelegationRecord] = {}
        """GPT-Live delegations by id (``None``: events the server did not correlate)."""
        self.errors: list[ErrorRecord] = []
        self.turns: list[TurnRecord] = []
        self.transcriptions: list[TranscriptionRecord] = []
        self.gaps: list[GapRecord] = []
        self.rate_limits: list[dict[str, Any]] = []
        self.models: list[str] = []
        """Every model the session reported, in order of first report."""
        self.transcription_model: str | None = None
        self.statuses: list[dict[str, Any]] = []
        """Connection status changes (our meta frames): ``{"t", "status", "reason"}``."""
        self.ended: bool = False
        self.end_reason: str | None = None
        self.audio_started: bool = False
        self.events_in: int = 0
        self.events_out: int = 0
        self.unknown_types: collections.Counter[str] = collections.Counter()
        self.malformed: int = 0
        self.usage_total: dict[str, int] = dict.fromkeys(USAGE_KEYS, 0)
        self.usage_seconds: float | None = None
        """Billed seconds so far when the API bills by time (GPT-Live; cumulative)."""
        self.context_ratio: float | None = None
        """Share of the model's context window in use, as last reported (GPT-Live)."""
        self.last_t: float | None = None
        # event_id -> type of every client event we sent: links errors to their cause.
        self._sent: dict[str, str] = {}
        self._pending_request: str | None = None
        self._speech_turn: dict[str, TurnRecord] = {}
        self._text_turn_items: set[str] = set()
        h = self
        self._apply: dict[type, Callable[[Any, float], None]] = {
            ce.SessionReported: h._on_session,
            ce.SessionApplied: h._on_session_applied,
            ce.SessionRequested: h._on_session_requested,
            ce.ItemReported: h._on_item,
            ce.ItemTruncated: h._on_truncated,
            ce.ItemDeleted: h._on_deleted,
            ce.TranscriptDelta: h._on_transcript_delta,
            ce.TranscriptDone: h._on_transcript_done,
            ce.TranscriptFailed: h._on_transcript_failed,
            ce.TranscriptionUsage: h._on_transcription_usage,
            ce.SpeechStarted: h._on_speech_started,
            ce.SpeechStopped: h._on_speech_stopped,
            ce.ResponseStarted: h._on_response_started,
            ce.ResponseDone: h._on_response_done,
            ce.AgentAudio: h._on_agent_audio,
            ce.ToolArgumentsDelta: h._on_args_delta,
            ce.ToolCallRequested: h._on_tool_requested,
            ce.ToolCallAnswered: h._on_tool_answered,
            ce.ToolAnsweredBy: h._on_tool_answered_by,
            ce.ErrorReported: h._on_error,
            ce.RateLimits: h._on_rate_limits,
            ce.CallEnded: h._on_call_ended,
            ce.UsageReported: h._on_usage_reported,
            ce.Gap: h._on_gap,
            ce.StatusChanged: h._on_status,
            ce.Unknown: h._on_unknown,
        }

    # ------------------------------------------------------------------ public methods

    @classmethod
    def from_frames(cls, frames: Iterable[tuple[dict[str, Any], str, float]],
                    codec: Codec | None = None) -> SessionState:
        """A state folded from ``(event, direction, t)`` triples, in order.

        ``direction`` is ``"in"``, ``"out"`` or ``"meta"`` (anything else is read as meta).
        """
        state = cls(codec)
        feed = state.feed
        for event, direction, t in frames:
            feed(event, direction=direction, t=t)  # type: ignore[arg-type]
        return state

    def feed(self, event: Any, *, direction: Direction, t: float) -> tuple[ce.CallEvent, ...]:
        """Decode one frame with the codec and fold its events. Never raises: malformed
        frames are counted in ``malformed``.

        Returns the normalized events the frame decoded to, so the caller (the ``Call``'s
        receive path) reacts to them without a second decode; streaming text frames
        (``codec.stream_types``) are folded from their fields and return ``()``."""
        if direction == "in":
            self.events_in += 1
            etype = event.get("type") if type(event) is dict else None
            if type(etype) is str and etype in self._stream_types:
                # Streaming text, most frames of a call: folded from the codec's fields
                # without making the event (the same fields decode() would give it).
                fields = self._stream_fields(event)
                if fields is not None or not self._stream_misses:
                    self.last_t = t
                    if fields is None:
                        self.malformed += 1
                    else:
                        try:
                            self._stream_fold(*fields, t)
                        except Exception:
                            self.malformed += 1
                    return ()
        elif direction == "out":
            self.events_out += 1
        elif direction != "meta":
            direction = "meta"
        decoded = self._decode(event, direction)
        wire_type, events, _flagged = decoded
        if wire_type is not None:
            self.last_t = t
            if direction == "out" and type(event) is dict:
                event_id = event.get("event_id")
                if type(event_id) is str:
                    self._sent[event_id] = wire_type
        table = self._apply
        for ev in events:  # apply(), inlined: this runs for every frame of a call
            try:
                table[type(ev)](ev, t)
            except Exception:
                self.malformed += 1
        return events

    def feed_in(self, event: dict[str, Any], etype: str, t: float) -> tuple[ce.CallEvent, ...]:
        """``feed(event, direction="in", t=t)`` for a parsed frame (a dict) whose string
        ``type`` the caller has already read: the ``Call``'s receive path, where every
        frame comes through here once. The same fold and result, minus the re-checks."""
        self.events_in += 1
        if etype in self._stream_types:
            fields = self._stream_fields(event)
            if fields is not None:
                self.last_t = t
                try:
                    self._stream_fold(*fields, t)
                except Exception:
                    self.malformed += 1
                return ()
            if not self._stream_misses:
                self.last_t = t
                self.malformed += 1
                return ()
        fn = self._in_decoders.get(etype)
        if fn is None:
            events = self._decode(event, "in")[1]
        else:
            try:
                events = fn(event)
            except Exception:  # decode says how it is malformed (a flagged Unknown)
                events = self._decode(event, "in")[1]
        self.last_t = t
        table = self._apply
        for ev in events:
            try:
                table[type(ev)](ev, t)
            except Exception:
                self.malformed += 1
        return events

    def apply(self, events: Iterable[ce.CallEvent], t: float) -> None:
        """Fold normalized events that happened at ``t``. Never raises."""
        table = self._apply
        for event in events:
            try:
                table[type(event)](event, t)
            except Exception:
                # Untrusted data in a well-typed event (an id no record can take): counted
                # so views and tests see it happened; the receive loop goes on.
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

    def tool_calls_of(self, delegation_id: str | None) -> list[ToolCallRecord]:
        """GPT-Live: the tool calls a delegation asked for, in arrival order (``None``: the
        calls the server did not correlate)."""
        return [tc for tc in self.tool_calls.values() if tc.delegation_id == delegation_id]

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
            "usage_seconds": self.usage_seconds,
            "context_ratio": self.context_ratio,
            "last_t": self.last_t,
        }

    def __repr__(self) -> str:
        return (
            f"SessionState(events_in={self.events_in}, events_out={self.events_out}, "
            f"items={len(self.item_order)}, responses={len(self.responses)}, "
            f"active_response_id={self.active_response_id!r}, errors={len(self.errors)})"
        )

    # ------------------------------------------------------------------ items and order

    def _item(self, item_id: str, t: float, item_type: str = "message",
              streamed: bool = False) -> ItemRecord:
        """The record of ``item_id``, created (appended to the order) if first seen.

        ``streamed``: the caller is a streaming delta (the item stays ``streamed_only``
        until any other event names it)."""
        rec = self.items.get(item_id)
        if rec is None:
            if not isinstance(item_id, str):
                raise TypeError("item id must be a string")
            rec = ItemRecord(id=item_id, type=item_type, added_t=t, streamed_only=streamed)
            self.items[item_id] = rec
            self.item_order.append(item_id)
        elif not streamed and rec.streamed_only:
            rec.streamed_only = False
        return rec

    def _place(self, item_id: str, prev: Any) -> None:
        """Move a known item to just after ``prev`` ("root": the front; unknown id: stay).

        Moves are of recent items (an item reported before the one it follows), so both
        lookups scan from the end and only the dict's tail after the move is re-inserted:
        a long call never pays for its whole conversation (measured: a full rebuild per
        move made the analysis of a 1M-frame capture quadratic)."""
        order = self.item_order
        if prev is None or (prev != "root" and prev not in self.items) or prev == item_id:
            return
        # Fast path, the usual case: the item was just appended right after ``prev``.
        if len(order) > 1 and order[-1] == item_id and order[-2] == prev:
            return
        idx = _rindex(order, item_id)
        if prev == "root":
            if idx == 0:
                return
        elif idx > 0 and order[idx - 1] == prev:
            return
        del order[idx]
        target = 0 if prev == "root" else _rindex(order, prev) + 1
        order.insert(target, item_id)
        # Keep the dict's insertion order equal to the conversation order.
        items = self.items
        tail = order[min(idx, target):]
        records = [items.pop(k) for k in tail]
        for key, rec in zip(tail, records, strict=True):
            items[key] = rec

    def _apply_item(self, item: Any, t: float) -> ItemRecord:
        # Every report of an item comes through here (four per item in GA order): the
        # lookups written out, the record fetched without _item's call when it is known.
        get = item.get
        item_id = item["id"]
        item_type = get("type")
        typed = isinstance(item_type, str)
        rec = self.items.get(item_id)
        if rec is None or rec.streamed_only:
            rec = self._item(item_id, t, item_type if typed else "message")
        if typed:
            rec.type = item_type
        role = get("role")
        if isinstance(role, str):
            rec.role = role
        status = get("status")
        if isinstance(status, str):
            rec.status = status
        if item_type == "message":
            content = get("content")
            if isinstance(content, list):
                if not content:
                    return rec  # nothing to join, no kinds to report (the usual .added)
                changed = False
                parts = rec.parts
                kinds: list[str] = []
                for index, part in enumerate(content):
                    if not isinstance(part, dict):
                        continue
                    pget = part.get
                    kind = pget("type")
                    if isinstance(kind, str) and kind:
                        kinds.append(kind)
                    text = pget("text")
                    if not isinstance(text, str):
                        text = pget("transcript")
                    # A full text from the server replaces the folded deltas; an empty one
                    # (a placeholder in *.added) never erases what deltas already gave.
                    if (
                        isinstance(text, str)
                        and (text or index not in parts)
                        and parts.get(index) != text
                    ):
                        parts[index] = text
                        changed = True
                if kinds:
                    rec.content_types = kinds
                if changed:
                    self._join_text(rec)
        elif item_type == "function_call":
            value = get("call_id")
            if isinstance(value, str) and (value or rec.call_id is None):
                rec.call_id = value
            value = get("name")
            if isinstance(value, str) and (value or rec.name is None):
                rec.name = value
            value = get("arguments")
            if isinstance(value, str) and (value or rec.arguments is None):
                rec.arguments = value
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

    def _set_text(self, item_id: str, index: int | None, text: str, t: float) -> ItemRecord:
        rec = self._item(item_id, t)
        index = index if index is not None else 0
        rec.parts[index] = text
        if rec.final is None:
            rec.final = {index}
        else:
            rec.final.add(index)
        self._join_text(rec)
        return rec

    # ------------------------------------------------------------------ session

    def _note_model(self, session: Any) -> None:
        model = session.get("model")
        if isinstance(model, str) and model and model not in self.models:
            self.models.append(model)
        audio = session.get("audio")
        audio_in = audio.get("input") if isinstance(audio, dict) else None
        if isinstance(audio_in, dict) and "transcription" in audio_in:
            # null turns transcription off; absent leaves it as it was
            tr = audio_in.get("transcription")
            tmodel = tr.get("model") if isinstance(tr, dict) else None
            self.transcription_model = tmodel if isinstance(tmodel, str) and tmodel else None

    def _on_session(self, event: ce.SessionReported, t: float) -> None:
        self.session = event.session  # type: ignore[assignment]
        self._note_model(event.session)

    def _on_session_applied(self, event: ce.SessionApplied, t: float) -> None:
        self.session = event.session  # type: ignore[assignment]
        self._note_model(event.session)
        self.applied_request_id = event.client_event_id or self._pending_request
        self._pending_request = None

    def _on_session_requested(self, event: ce.SessionRequested, t: float) -> None:
        self.requested_session = event.session  # type: ignore[assignment]
        self._pending_request = event.client_event_id

    # ------------------------------------------------------------------ conversation

    def _on_item(self, event: ce.ItemReported, t: float) -> None:
        item = event.item
        if event.in_response:
            response_id = event.response_id
            assert response_id is not None
            resp = self._response(response_id, t)
            rec = self._apply_item(item, t)
            rec.response_id = response_id
            if rec.id not in resp.output_item_ids:
                resp.output_item_ids.append(rec.id)
        elif event.stage == "retrieved":
            self._apply_item(item, t)
            return
        else:
            rec = self._apply_item(item, t)
            # Contract (docs/internals.md): a null or missing previous_item_id appends,
            # "root" puts the item first, a known id places it right after that item.
            prev = event.previous_item_id
            if prev is not None:
                rec.previous_item_id = prev
                self._place(rec.id, prev)
            if (event.stage == "added" and rec.role == "user" and rec.type == "message"
                    and "input_audio" not in rec.content_types
                    and rec.id not in self._speech_turn
                    and rec.id not in self._text_turn_items):
                # A typed caller message is a turn of its own, anchored at its arrival.
                self._text_turn_items.add(rec.id)
                turn = self._new_turn("text", rec.id)
                turn.anchor_t = t
        if event.stage == "done":
            rec.done_t = t  # the last report of the item done (the response's, in GA order)
        elif event.stage == "added" and rec.reported_t is None:
            rec.reported_t = t

    def _on_truncated(self, event: ce.ItemTruncated, t: float) -> None:
        self._item(event.item_id, t).truncated_ms = event.audio_end_ms

    def _on_deleted(self, event: ce.ItemDeleted, t: float) -> None:
        # An item we never saw is recorded too: the server says it existed.
        self._item(event.item_id, t).deleted = True

    def _on_transcript_delta(self, event: ce.TranscriptDelta, t: float) -> None:
        self._fold_delta(event.speaker, event.segment, event.delta, event.response_id,
                         event.content_index, t)
        if event.end_ms is not None:
            rec = self.items.get(event.segment)
            if rec is not None and (rec.final is None or event.content_index not in rec.final):
                rec.fragment_end_t = t

    def _fold_timed_delta(self, speaker: str, item_id: str, delta: str,
                          response_id: str | None, index: int, t: float) -> None:
        # A timed stream frame from the fast path: what _on_transcript_delta does for a
        # TranscriptDelta that has an end_ms (equal by test, tests/protocol/live).
        self._fold_delta(speaker, item_id, delta, response_id, index, t)
        rec = self.items.get(item_id)
        if rec is not None and (rec.final is None or index not in rec.final):
            rec.fragment_end_t = t

    def _fold_delta(self, speaker: str, item_id: str, delta: str, response_id: str | None,
                    index: int, t: float) -> None:
        # The hottest event of a call (a response streams dozens): the text append and the
        # response binding inlined.
        rec = self.items.get(item_id)
        if rec is None:
            rec = self._item(item_id, t, streamed=True)
        if rec.final is not None and index in rec.final:
            return  # the final text is final; a late or replayed delta does not change it
        parts = rec.parts
        text = parts.get(index, "") + delta
        parts[index] = text
        if len(parts) == 1:
            rec.text = text
        else:
            self._join_text(rec)
        if response_id is not None:
            if rec.response_id is None:
                rec.response_id = response_id
            resp = self.responses.get(response_id)
            if resp is None:
                resp = self._response(response_id, t)
            if resp.first_delta_t is None:
                resp.first_delta_t = t
            if resp.first_text_t is None and speaker == "agent":
                resp.first_text_t = t

    def _on_transcript_done(self, event: ce.TranscriptDone, t: float) -> None:
        rec = self._set_text(event.segment, event.content_index, event.text, t)
        if event.speaker == "agent":
            if rec.role is None:
                rec.role = "assistant"  # only the agent's items have agent transcripts
            if rec.response_id is None and event.response_id is not None:
                rec.response_id = event.response_id

    def _on_transcript_failed(self, event: ce.TranscriptFailed, t: float) -> None:
        self._item(event.segment, t).transcription_failed = True

    def _on_transcription_usage(self, event: ce.TranscriptionUsage, t: float) -> None:
        raw = event.usage.raw
        self.transcriptions.append(TranscriptionRecord(
            event.segment, self.transcription_model, dict(raw) if raw is not None else {}, t))

    # ------------------------------------------------------------------ caller turns

    def _new_turn(self, kind: str, item_id: str | None) -> TurnRecord:
        turn = TurnRecord(len(self.turns), kind, item_id)
        self.turns.append(turn)
        return turn

    def _on_speech_started(self, event: ce.SpeechStarted, t: float) -> None:
        turn = self._new_turn("audio", event.item_id)
        turn.speech_start_t = t
        turn.audio_start_ms = event.audio_start_ms
        if event.item_id is not None:
            self._speech_turn[event.item_id] = turn

    def _on_speech_stopped(self, event: ce.SpeechStopped, t: float) -> None:
        item_id = event.item_id
        turn = self._speech_turn.get(item_id) if item_id is not None else None
        if turn is None:
            if event.how == "commit":
                return  # a manual commit of a turn we did not see start
            turn = self._new_turn("audio", item_id)
            if item_id is not None:
                self._speech_turn[item_id] = turn
        if event.how == "commit":
            turn.committed_t = t
            if turn.anchor_t is None:
                turn.anchor_t = t
            return
        turn.speech_stop_t = t
        turn.anchor_t = t
        turn.audio_end_ms = event.audio_end_ms
        if event.how == "timeout":
            turn.audio_start_ms = event.audio_start_ms

    # ------------------------------------------------------------------ responses

    def _response(self, response_id: Any, t: float) -> ResponseRecord:
        rec = self.responses.get(response_id)
        if rec is None:
            if not isinstance(response_id, str):
                raise TypeError("response id must be a string")
            session = self.session
            model = session.get("model") if isinstance(session, dict) else None
            rec = ResponseRecord(id=response_id, created_t=t,
                                 model=model if isinstance(model, str) and model else None)
            self.responses[response_id] = rec
        return rec

    def _delegation(self, delegation_id: str | None, t: float) -> DelegationRecord:
        rec = self.delegations.get(delegation_id)
        if rec is None:
            if delegation_id is not None and not isinstance(delegation_id, str):
                raise TypeError("delegation id must be a string or None")
            rec = self.delegations[delegation_id] = DelegationRecord(delegation_id,
                                                                     started_t=t)
        return rec

    def _on_delegation_started(self, event: ce.ResponseStarted, t: float) -> None:
        deleg = self._delegation(event.delegation_id, t)
        if event.target is not None:
            deleg.target = event.target
        if event.id != event.delegation_id:  # a backend response (not the delegation itself)
            deleg.response_id = event.id
            if event.id not in deleg.response_ids:
                deleg.response_ids.append(event.id)
        if event.status is not None:
            deleg.running = True

    def _on_response_started(self, event: ce.ResponseStarted, t: float) -> None:
        if event.kind == "delegation":
            self._on_delegation_started(event, t)
            known = self.responses.get(event.id)
            if known is not None and known.started_t is not None:
                # The backend reports a response its delegation announced: it runs now.
                # The response keeps the announcement's times (the codec's contract).
                if event.status is not None:
                    known.status = event.status
                return
        rec = self._response(event.id, t)
        rec.created_t = t
        rec.started_t = t
        rec.kind = event.kind
        if event.status is not None:
            rec.status = event.status
        if event.modalities is not None:
            rec.output_modalities = list(event.modalities)
        if event.conversation_id is not None:
            rec.conversation_id = event.conversation_id
        self.active_response_id = rec.id
        if event.kind != "response":
            return  # a GPT-Live delegation's backend work: the voice answers the turn
        # It answers the latest caller turn that ended before it began.
        for turn in reversed(self.turns):
            if turn.anchor_t is not None and turn.anchor_t <= t:
                turn.response_ids.append(rec.id)
                rec.turn = turn.index
                break

    def _on_response_done(self, event: ce.ResponseDone, t: float) -> None:
        rec = self._response(event.id, t)
        rec.kind = event.kind
        rec.status = event.status
        rec.reason = event.reason
        rec.error_code = event.error_code
        rec.status_details = event.status_details  # type: ignore[assignment]
        usage = event.usage
        rec.usage = dict(usage.raw) if usage is not None and usage.raw is not None else None
        if event.modalities is not None:
            rec.output_modalities = list(event.modalities)
        if event.conversation_id is not None:
            rec.conversation_id = event.conversation_id
        rec.done_t = t
        if self.active_response_id == rec.id:
            self.active_response_id = None
        if event.kind == "delegation":
            self._delegation(event.delegation_id, t).running = False
        final_status: dict[str, Any] = {}
        for item in event.output:
            item_id = item.get("id")
            if isinstance(item_id, str):
                if item_id not in rec.output_item_ids:
                    rec.output_item_ids.append(item_id)
                final_status[item_id] = item.get("status")
                item_rec = self.items.get(item_id)
                if item_rec is None:
                    # Known only from the final snapshot (attached late, a gap).
                    item_rec = self._apply_item(item, t)
                if item_rec.response_id is None:
                    item_rec.response_id = rec.id
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
        if usage is not None:
            self._add_usage(usage)

    def _add_usage(self, usage: ce.Usage) -> None:
        if usage.seconds is not None:
            self.usage_seconds = (usage.seconds if usage.cumulative or self.usage_seconds is None
                                  else self.usage_seconds + usage.seconds)
        total = self.usage_total
        cumulative = usage.cumulative
        for key, value in zip(USAGE_KEYS, _usage_values(usage), strict=True):
            if value is not None:
                total[key] = value if cumulative else total[key] + value

    def _on_agent_audio(self, event: ce.AgentAudio, t: float) -> None:
        self.audio_started = True
        phase = event.phase
        response_id = event.response_id
        if phase == "part":
            return
        if phase == "delta":
            if response_id is not None:
                resp = self._response(response_id, t)
                if resp.first_delta_t is None:
                    resp.first_delta_t = t
            return
        resp_or_none = self.responses.get(response_id) if response_id is not None else None
        if resp_or_none is None:
            return
        if phase == "started":
            if resp_or_none.audio_started_t is None:
                resp_or_none.audio_started_t = t
        elif phase == "stopped":
            resp_or_none.audio_stopped_t = t
        else:
            resp_or_none.audio_cleared_t = t

    # ------------------------------------------------------------------ tool calls

    def _on_args_delta(self, event: ce.ToolArgumentsDelta, t: float) -> None:
        rec = self._item(event.item_id, t, "function_call", streamed=True)
        rec.arguments = (rec.arguments or "") + event.delta
        if event.call_id is not None and rec.call_id is None:
            rec.call_id = event.call_id
        response_id = event.response_id
        if response_id is not None:
            if rec.response_id is None:
                rec.response_id = response_id
            resp = self._response(response_id, t)
            if resp.first_delta_t is None:
                resp.first_delta_t = t

    def _on_tool_requested(self, event: ce.ToolCallRequested, t: float) -> None:
        if event.delegation_id is not None:
            self._delegation(event.delegation_id, t)
        if event.item_id is None:
            self._request(event.call_id, event.name, event.arguments, None, event.response_id,
                          t, event.delegation_id)
            return
        rec = self._item(event.item_id, t, "function_call")
        rec.type = "function_call"
        if event.arguments or rec.arguments is None:
            rec.arguments = event.arguments
        rec.call_id = event.call_id
        if event.name is not None:
            rec.name = event.name
        if rec.response_id is None and event.response_id is not None:
            rec.response_id = event.response_id
        self._request(event.call_id, rec.name, rec.arguments, rec.id, rec.response_id, t,
                      event.delegation_id)

    def _request(self, call_id: str, name: str | None, arguments: str | None,
                 item_id: str | None, response_id: str | None, t: float,
                 delegation_id: str | None = None) -> None:
        tc = self.tool_calls.get(call_id)
        if tc is None:
            self.tool_calls[call_id] = ToolCallRecord(
                call_id=call_id, name=name or "", arguments=arguments or "",
                item_id=item_id, response_id=response_id, requested_t=t, request_t=t,
                delegation_id=delegation_id,
            )
            return
        if tc.delegation_id is None:
            tc.delegation_id = delegation_id
        if tc.request_t is None:
            tc.request_t = t
        # Seen before (answered early, or .done after arguments.done): fill what was missing.
        if not tc.name and name:
            tc.name = name
        if arguments and tc.arguments != arguments:
            tc.arguments = arguments
        if tc.item_id is None:
            tc.item_id = item_id
        if tc.response_id is None:
            tc.response_id = response_id

    def _on_tool_answered(self, event: ce.ToolCallAnswered, t: float) -> None:
        peer = event.by == "peer"
        tc = self.tool_calls.get(event.call_id)
        if tc is None:
            # An answer to a call we never saw requested (attached late): keep it visible.
            tc = ToolCallRecord(
                call_id=event.call_id, name="", arguments="", item_id=None, response_id=None,
                requested_t=t,
            )
            self.tool_calls[event.call_id] = tc
        if tc.status == "answered":
            return
        tc.status = "answered"
        tc.answered_t = t
        tc.output = event.output
        if not peer or tc.answered_by is None:
            tc.answered_by = tc.answered_by or event.by

    def _on_tool_answered_by(self, event: ce.ToolAnsweredBy, t: float) -> None:
        tc = self.tool_calls.get(event.call_id)
        if tc is None:
            tc = ToolCallRecord(
                call_id=event.call_id, name="", arguments="", item_id=None, response_id=None,
                requested_t=t,
            )
            self.tool_calls[event.call_id] = tc
        if event.by is not None:
            tc.answered_by = event.by

    # ------------------------------------------------------------------ errors and the rest

    def _on_error(self, event: ce.ErrorReported, t: float) -> None:
        client_event_id = event.client_event_id
        self.errors.append(
            ErrorRecord(
                t=t,
                code=event.code,
                type=event.type,
                message=event.message,
                param=event.param,
                client_event_id=client_event_id,
                client_event_type=self._sent.get(client_event_id) if client_event_id else None,
            )
        )

    def _on_rate_limits(self, event: ce.RateLimits, t: float) -> None:
        self.rate_limits = [dict(x) for x in event.limits]

    def _on_call_ended(self, event: ce.CallEnded, t: float) -> None:
        # The call ended (hang-up, caller gone, socket end): a tool call still pending can
        # never be answered now. Marked here, once, so every view and the analysis agree.
        self.ended = True
        self.end_reason = event.reason
        for tc in self.tool_calls.values():
            if tc.status == "pending":
                tc.status = "unanswered"
                tc.ended_t = t
        if event.usage is not None:
            self._add_usage(event.usage)

    def _on_usage_reported(self, event: ce.UsageReported, t: float) -> None:
        self._add_usage(event.usage)
        if event.context_ratio is not None:
            self.context_ratio = event.context_ratio

    def _on_gap(self, event: ce.Gap, t: float) -> None:
        self.gaps.append(GapRecord(event.since_m, t, event.reason))

    def _on_unknown(self, event: ce.Unknown, t: float) -> None:
        if event.flagged:
            self.malformed += 1
        elif event.wire_type is not None:
            self.unknown_types[event.wire_type] += 1

    def _on_status(self, event: ce.StatusChanged, t: float) -> None:
        self.statuses.append({"t": t, "status": event.status, "reason": event.reason})
