"""The GPT-Live codec: Live sideband frames to normalized call events, intents to Live events.

Why: the reducer, the views and the analysis read the normalized events of
``protocol/codec.py``; this is the one place outside the emulator that knows what a Live
event *means* (live-protocol.md §4, §5, §7), so a Live session folds into the same
``SessionState`` as a Realtime call. It is a thin adapter over the rest of
``protocol/live`` (catalog, builders, summary, fold readers).

What Live lacks, and what this codec decides instead (docs/internals.md, "The Live codec"):

* **Transcript segments.** Live sends transcript fragments (``session.input_transcript.delta``
  / ``session.output_transcript.delta``) on a 200 ms timeline, with no item, no turn and no
  done event. The codec groups them, in delivery order, into *segments*: a run of fragments
  of one speaker. A segment is **final** (a ``TranscriptDone`` with its joined text) when
  the other speaker's fragment arrives, when a fragment of the same speaker starts
  ``SEGMENT_GAP_MS`` or more after the segment's last ``end_ms`` (a missing 200 ms window is
  not silence, live-protocol.md §7.2, so short gaps never split), or at ``session.closed``.
  Segment ids are made from the timeline: ``seg_in_<start_ms>`` / ``seg_out_<start_ms>``
  (a replayed fragment, same ``event_id``, is dropped). A segment opens with an
  ``ItemReported`` (a message of role user/assistant, ``in_progress``) so views and tables
  list it, and is reported done (``completed``) when final. The final text is stripped
  (the wire's first fragment starts with a space); the deltas stay as sent.
* **Caller turns.** A caller segment is a turn: ``SpeechStarted`` at its first fragment and
  ``SpeechStopped`` at each fragment, so the turn's anchor is the arrival of the caller's
  last fragment so far (Live has no end-of-speech event).
* **Voice responses.** Live's voice has no response lifecycle; each agent segment is a
  ``ResponseStarted``/``ResponseDone`` of kind ``"response"`` named ``voice_<start_ms>``,
  so a turn's latency is caller's last fragment → agent's first fragment. The agent
  segment is that response's output item (its text is the response's characters). It ends
  only when the segment is final: no frame marks the end of an utterance sooner.
* **Delegations.** Each backend Responses response is a ``ResponseStarted``/``ResponseDone``
  of kind ``"delegation"``: started at ``session.delegation.created`` (its ``response_id``)
  or at the wrapped ``response.created`` (later rounds: ``resp_2`` after tool results), done
  at the wrapped ``response.completed|failed|incomplete`` with its token usage. A client or
  decisions delegation (no backend response) is started under the delegation id, and done
  when we answer it with ``session.commentary.append`` naming it. Delegations do not answer
  caller turns (the voice does). Backend text is never transcript: "store exactly what was
  spoken" (§7.2). Every one of these events names its ``delegation_id``. The start at
  the announcement has ``status`` ``None`` (the backend has not reported the response);
  when the backend then reports it running (the wrapped ``response.created``), the same
  response is started once more with ``status`` ``"in_progress"`` — what the ``Call``
  waits on before it continues a delegation with ``response.create`` (§7.3), and what a
  trace without the wrapped lifecycle never shows.
* **Tool calls** come from the wrapped ``response.output_item.done`` (never from the empty
  ``output`` of a lifecycle snapshot), with their delegation; our ``response.item.create``
  with a ``function_call_output`` answers them (``by="code"``). The function call is also an
  item of its backend response (added at the wrapped ``output_item.added``, else at
  ``.done``).
* **Usage** is ``session.usage.updated``: cumulative seconds (``UsageReported``) and the
  context window's ``usage_ratio``; ``session.closed`` carries the final usage and the
  reason (``CallEnded``).

The codec keeps that segment and delegation state per call: ``LIVE`` is a template and
``SessionState`` takes ``LIVE.fresh()`` (a codec with ``fresh`` gets one per reducer).
Decoding never raises: a field of the wrong type flags the frame (``Unknown``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

from ..codec import (
    AgentAudio,
    AnswerToolCall,
    BulkHints,
    CallEnded,
    CallEvent,
    CancelResponse,
    ClearInputAudio,
    ClearOutputAudio,
    CommitInputAudio,
    CreateItem,
    CreateResponse,
    Decoded,
    DeleteItem,
    Direction,
    ErrorReported,
    Gap,
    HangUp,
    Intent,
    ItemReported,
    ResponseDone,
    ResponseStarted,
    RetrieveItem,
    SendText,
    SessionApplied,
    SessionReported,
    SessionRequested,
    SpeechStarted,
    SpeechStopped,
    StatusChanged,
    ToolAnsweredBy,
    ToolArgumentsDelta,
    ToolCallAnswered,
    ToolCallRequested,
    TranscriptDelta,
    TranscriptDone,
    TruncateItem,
    Unknown,
    UnsupportedIntent,
    UpdateSession,
    Usage,
    UsageReported,
)
from ..errors import ValidationError
from ..fatal import FATAL_ERROR_CODES
from ..ids import check_live_session_id
from ..realtime.codec import decode_meta
from . import builders
from .catalog import CLIENT_EVENT_TYPES, DELTA_EVENT_TYPES, SERVER_EVENT_TYPES, category_of
from .summary import summary as _summary

__all__ = ["BULK", "LANDMARKS", "LIVE", "MEANINGFUL_TYPES", "PRODUCES", "SEGMENT_GAP_MS",
           "LiveCodec", "live_usage"]

_Ev = dict[str, Any]
_Out = tuple[CallEvent, ...]

#: A same-speaker fragment starting this long (timeline ms) after the segment's last
#: ``end_ms`` opens a new segment. Live leaves single 200 ms windows empty mid-sentence
#: (OBS: 3400→4000 ms inside one caller question), so the gap must be well above that;
#: the spoken trace's two agent utterances are 12 s apart.
SEGMENT_GAP_MS: Final = 2000


class _Bad(Exception):
    """A field of the wrong type: the frame decodes to a flagged ``Unknown``."""


def _str(ev: Mapping[str, Any], key: str) -> str:
    value = ev.get(key)
    if type(value) is not str:
        raise _Bad(f"{key} must be a string")
    return value


def _ostr(value: Any) -> str | None:
    return value if type(value) is str and value else None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _ms(ev: Mapping[str, Any], key: str) -> int:
    value = ev.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(f"{key} must be a number (timeline ms)")
    return int(value)


def _obj(ev: Mapping[str, Any], key: str) -> _Ev:
    value = ev.get(key)
    if not isinstance(value, dict):
        raise _Bad(f"{key} must be an object")
    return value


def live_usage(usage: Any) -> Usage | None:
    """A Live ``SessionUsage`` (cumulative seconds) as a ``Usage``; ``None`` if absent."""
    if not isinstance(usage, dict):
        return None
    seconds = _num(usage.get("seconds"))
    if seconds is None:
        return None
    return Usage(seconds=seconds, active_seconds=_num(usage.get("active_seconds")),
                 paused_seconds=_num(usage.get("paused_seconds")), cumulative=True,
                 raw=usage)


def _tokens(usage: Any) -> Usage | None:
    """A backend Responses usage (tokens; live-protocol.md §4.1) as a ``Usage``."""
    if not isinstance(usage, dict):
        return None
    inp = usage.get("input_tokens_details")
    inp = inp if isinstance(inp, dict) else {}

    def i(v: Any) -> int | None:
        return v if type(v) is int else None

    return Usage(input_tokens=i(usage.get("input_tokens")),
                 output_tokens=i(usage.get("output_tokens")),
                 total_tokens=i(usage.get("total_tokens")),
                 input_cached_tokens=i(inp.get("cached_tokens")), raw=usage)


_E = frozenset
#: What each wire type can decode to (views ask ``codec.produces(type)``).
PRODUCES: Final[dict[str, frozenset[type]]] = {
    "session.started": _E({SessionReported}),
    "session.updated": _E({SessionApplied}),
    "session.input_transcript.delta": _E({TranscriptDelta, TranscriptDone, ItemReported,
                                          SpeechStarted, SpeechStopped, ResponseDone}),
    "session.output_transcript.delta": _E({TranscriptDelta, TranscriptDone, ItemReported,
                                           ResponseStarted, ResponseDone}),
    "session.delegation.created": _E({ResponseStarted}),
    "response.event": _E({ResponseStarted, ResponseDone, ItemReported, ToolCallRequested,
                          ToolArgumentsDelta, ErrorReported}),
    "session.usage.updated": _E({UsageReported}),
    "session.closed": _E({SessionReported, TranscriptDone, ResponseDone, ItemReported,
                          UsageReported, CallEnded}),
    "session.output_audio.delta": _E({AgentAudio}),
    "error": _E({ErrorReported}),
    "transport.failed": _E({ErrorReported}),
    # our own client events
    "session.update": _E({SessionRequested}),
    "response.item.create": _E({ToolCallAnswered}),
    "session.commentary.append": _E({ResponseDone}),
    # our own meta frames
    "rtwidgets.status": _E({StatusChanged, CallEnded}),
    "rtwidgets.gap": _E({Gap}),
    "rtwidgets.tool_answered": _E({ToolAnsweredBy}),
}
_NOTHING: Final[frozenset[type]] = frozenset()

#: The wire events that mark the analysis timings (labels for plots and docs).
LANDMARKS: Final[dict[str, str]] = {
    "speech_stopped": "session.input_transcript.delta",
    "response_started": "session.output_transcript.delta",
    "first_text": "session.output_transcript.delta",
    "delegation_started": "session.delegation.created",
    "response_done": "response.event",
    "usage": "session.usage.updated",
    "call_ended": "session.closed",
}

#: Every server type but the reflected audio is fed by a bulk reader: transcript fragments
#: carry the segments (no done event repeats them), everything else is rare.
MEANINGFUL_TYPES: Final[frozenset[str]] = frozenset(SERVER_EVENT_TYPES) - frozenset({
    "session.input_audio.append", "session.output_audio.delta"})

BULK: Final = BulkHints(meaningful_types=MEANINGFUL_TYPES, first_text_types=(),
                        text_delta_types=(), column_only={})

_REFUSED: Final[dict[type, str]] = {
    CancelResponse: "cancel_response",
    TruncateItem: "truncate",
    ClearOutputAudio: "clear_output_audio",
    CommitInputAudio: "commit_input_audio",
    ClearInputAudio: "clear_input_audio",
    CreateItem: "create_item",
    DeleteItem: "delete_item",
    RetrieveItem: "retrieve_item",
}


class LiveCodec:
    """GPT-Live's sideband (live-protocol.md), as a ``protocol.codec.Codec``.

    Holds the per-call segment and delegation state; use ``fresh()`` for each call (the
    reducer does)."""

    api: str = "live"
    meaningful_types: frozenset[str] = MEANINGFUL_TYPES
    client_event_types: frozenset[str] = frozenset(CLIENT_EVENT_TYPES)
    server_event_types: frozenset[str] = frozenset(SERVER_EVENT_TYPES)
    bulk: BulkHints = BULK
    landmarks: Mapping[str, str] = LANDMARKS
    #: Transcript fragments: the reducer folds an agent fragment that continues the open
    #: segment from ``stream_fields`` (no events made); any other fragment (one that opens
    #: or closes a segment, a caller fragment, a replay, a malformed one) is decoded, which
    #: ``stream_decodes_misses`` tells the reducer.
    stream_types: frozenset[str] = frozenset({
        "session.input_transcript.delta", "session.output_transcript.delta"})
    #: ``stream_fields`` returning ``None`` means "decode this frame", not "malformed".
    stream_decodes_misses: bool = True
    #: The fragments carry a timeline (``end_ms``): the reducer notes the item's
    #: ``fragment_end_t`` as it does for a decoded ``TranscriptDelta`` with ``end_ms``.
    stream_timed: bool = True

    def __init__(self) -> None:
        # The open segment: (speaker, segment id, voice response id, last end_ms, text).
        self._seg: list[Any] | None = None
        self._seen: set[str] = set()
        # delegation id -> current backend response id; response ids already started.
        self._deleg_resp: dict[str | None, str] = {}
        self._started: set[str] = set()
        # Backend responses the backend itself reported (started or ended): a later
        # report never starts them again.
        self._reported: set[str] = set()
        self._client_delegations: set[str] = set()
        # function_call item ids already reported added (from output_item.added or .done).
        self._tool_items: set[str] = set()
        self._in: dict[str, Callable[[_Ev], _Out]] = {
            "session.started": self._session_started,
            "session.updated": self._session_updated,
            "session.input_transcript.delta": self._caller_delta,
            "session.output_transcript.delta": self._agent_delta,
            "session.delegation.created": self._delegation,
            "response.event": self._response_event,
            "session.usage.updated": self._usage,
            "session.closed": self._closed,
            "session.output_audio.delta": self._audio,
            "error": self._error,
            "transport.failed": self._transport_failed,
        }
        self._out: dict[str, Callable[[_Ev], _Out]] = {
            "session.update": self._out_update,
            "response.item.create": self._out_item,
            "session.commentary.append": self._out_commentary,
        }

    def fresh(self) -> LiveCodec:
        """A codec with no segment or delegation state (one per call)."""
        return LiveCodec()

    # ------------------------------------------------------------------ segments

    def _close_segment(self) -> tuple[list[CallEvent], list[CallEvent]]:
        """The events that make the open segment final, in two lists: its final text (and
        its voice response's end), then the report that its item is done. A frame that
        opens the next segment puts its own opening between the two (the new segment's
        start is what the final text is about; the item report only sets status and times).
        """
        seg = self._seg
        if seg is None:
            return [], []
        self._seg = None
        speaker, sid, voice, _end, text = seg
        # The final text is the spoken words without the wire's padding: Live's first
        # fragment of an utterance starts with a space (OBS: " What", " I'm checking"),
        # and a segment may end on a lone " " window. The deltas keep it (event log, raw).
        out: list[CallEvent] = [TranscriptDone(speaker, sid, text.strip(), voice)]
        if voice is not None:
            out.append(ResponseDone(voice, "response", "completed"))
        role = "user" if speaker == "caller" else "assistant"
        done = ItemReported({"id": sid, "type": "message", "role": role,
                             "status": "completed"}, "done", None, voice, voice is not None)
        return out, [done]

    def _fragment(self, ev: _Ev, speaker: Literal["caller", "agent"]) -> _Out:
        delta = _str(ev, "delta")
        start, end = _ms(ev, "start_ms"), _ms(ev, "end_ms")
        eid = ev.get("event_id")
        if type(eid) is str:
            if eid in self._seen:
                return ()  # a replayed fragment (live-protocol.md §7.2: de-duplicate)
            self._seen.add(eid)
        seg = self._seg
        out: list[CallEvent] = []
        closed: list[CallEvent] = []
        if seg is None or seg[0] != speaker or start - seg[3] >= SEGMENT_GAP_MS:
            final, closed = self._close_segment()
            out.extend(final)
            tag = "in" if speaker == "caller" else "out"
            sid = f"seg_{tag}_{start}"
            voice = f"voice_{start}" if speaker == "agent" else None
            seg = self._seg = [speaker, sid, voice, end, ""]
            if speaker == "caller":
                out.append(SpeechStarted(sid, start))
                out.append(ItemReported({"id": sid, "type": "message", "role": "user",
                                         "status": "in_progress",
                                         "content": [{"type": "input_audio"}]}, "added"))
            else:
                out.append(ResponseStarted(f"voice_{start}", "response", "in_progress",
                                           ("audio",)))
                # The segment is the voice response's output: its text counts as the
                # response's (and so the turn's) characters.
                out.append(ItemReported({"id": sid, "type": "message", "role": "assistant",
                                         "status": "in_progress",
                                         "content": [{"type": "output_audio"}]}, "added",
                                        None, voice, True))
        seg[3] = max(seg[3], end)
        seg[4] += delta
        sid, voice = seg[1], seg[2]
        out.append(TranscriptDelta(speaker, sid, delta, voice, 0, start, end))
        if speaker == "caller":
            out.append(SpeechStopped(sid, "vad", None, end))
        out.extend(closed)
        return tuple(out)

    def _caller_delta(self, ev: _Ev) -> _Out:
        return self._fragment(ev, "caller")

    def _agent_delta(self, ev: _Ev) -> _Out:
        return self._fragment(ev, "agent")

    # ------------------------------------------------------------------ session

    def _session_started(self, ev: _Ev) -> _Out:
        return (SessionReported(_obj(ev, "session")),)

    def _session_updated(self, ev: _Ev) -> _Out:
        return (SessionApplied(_obj(ev, "session"), _ostr(ev.get("client_event_id"))),)

    def _usage(self, ev: _Ev) -> _Out:
        usage = live_usage(_obj(ev, "usage"))
        if usage is None:
            raise _Bad("usage.seconds must be a number")
        cw = ev.get("context_window")
        ratio = _num(cw.get("usage_ratio")) if isinstance(cw, dict) else None
        return (UsageReported(usage, ratio),)

    def _closed(self, ev: _Ev) -> _Out:
        reason = _ostr(ev.get("reason")) or "unknown"
        out: list[CallEvent] = []
        session = ev.get("session")
        if isinstance(session, dict):
            out.append(SessionReported(session))
        final, closed = self._close_segment()
        out.extend(final)
        out.extend(closed)
        usage = live_usage(ev.get("usage"))
        if usage is not None:
            out.append(UsageReported(usage))
        out.append(CallEnded(reason, usage))
        return tuple(out)

    def _audio(self, ev: _Ev) -> _Out:
        seg = self._seg
        return (AgentAudio("delta", seg[2] if seg is not None else None),)

    def _error(self, ev: _Ev) -> _Out:
        err = _obj(ev, "error")
        code = _ostr(err.get("code"))
        cid = _ostr(err.get("client_event_id")) or _ostr(ev.get("client_event_id"))
        return (ErrorReported(code, _ostr(err.get("type")) or "error",
                              _ostr(err.get("message")) or "", _ostr(err.get("param")), cid,
                              code in FATAL_ERROR_CODES),)

    def _transport_failed(self, ev: _Ev) -> _Out:
        err = _obj(ev, "error")
        cid = _ostr(err.get("client_event_id")) or _ostr(ev.get("client_event_id"))
        return (ErrorReported(_ostr(err.get("code")), _ostr(err.get("type")) or "call_error",
                              _ostr(err.get("message")) or "", _ostr(err.get("param")), cid),)

    # ------------------------------------------------------------------ delegations

    def _start(self, rid: str, target: str | None, did: str | None,
               running: bool) -> _Out:
        # At most two starts per response: the delegation's announcement (status None:
        # the backend has not reported it) and the backend's own report that it runs
        # (the wrapped response.created). The Call continues a delegation only after a
        # response it saw running has finished (live-protocol.md §7.3).
        if rid in self._started and (not running or rid in self._reported):
            return ()
        self._started.add(rid)
        if running:
            self._reported.add(rid)
        return (ResponseStarted(rid, "delegation", "in_progress" if running else None, None,
                                None, target, did),)

    def _delegation(self, ev: _Ev) -> _Out:
        d = _obj(ev, "delegation")
        did = _str(d, "id")
        target = _ostr(d.get("target"))
        rid = _ostr(d.get("response_id"))
        if rid is not None:
            self._deleg_resp[did] = rid
            return self._start(rid, target, did, False)
        if target == "client":
            self._client_delegations.add(did)
        return self._start(did, target, did, False)

    def _response_event(self, ev: _Ev) -> _Out:
        inner = _obj(ev, "event")
        itype = _str(inner, "type")
        did = ev.get("delegation_id")
        if did is not None and type(did) is not str:
            raise _Bad("delegation_id must be a string or null")
        if itype in ("response.created", "response.in_progress", "response.queued"):
            resp = _obj(inner, "response")
            rid = _str(resp, "id")
            self._deleg_resp[did] = rid
            return self._start(rid, "responses", did, True)
        if itype in ("response.completed", "response.failed", "response.incomplete"):
            resp = _obj(inner, "response")
            rid = _str(resp, "id")
            status = _ostr(resp.get("status")) or itype.removeprefix("response.")
            details = resp.get("incomplete_details")
            reason = _ostr(details.get("reason")) if isinstance(details, dict) else None
            err = resp.get("error")
            code = _ostr(err.get("code")) if isinstance(err, dict) else None
            self._started.add(rid)
            self._reported.add(rid)
            return (ResponseDone(rid, "delegation", status, reason, code, None,
                                 _tokens(resp.get("usage")), delegation_id=did),)
        if itype in ("response.output_item.added", "response.output_item.done"):
            item = _obj(inner, "item")
            if item.get("type") != "function_call":
                return ()  # backend text is never transcript (§7.2)
            backend = self._deleg_resp.get(did)
            done = itype == "response.output_item.done"
            tool_call_id: str | None = _str(item, "call_id") if done else None
            item_id = _ostr(item.get("id"))
            out: list[CallEvent] = []
            if item_id is not None:
                # The function call as an item of its backend response, so the transcript
                # lists it at the time it was asked for. A data-channel allow-list may
                # withhold output_item.added (OBS: live_spike_allow), so the done reports
                # the item added too when nothing did.
                if item_id not in self._tool_items:
                    self._tool_items.add(item_id)
                    out.append(ItemReported(item, "added", None, backend, backend is not None))
                if done:
                    out.append(ItemReported(item, "done", None, backend, backend is not None))
            if tool_call_id is not None:
                out.append(ToolCallRequested(tool_call_id, _ostr(item.get("name")),
                                             _ostr(item.get("arguments")) or "", item_id,
                                             backend, did))
            return tuple(out)
        if itype == "response.function_call_arguments.delta":
            return (ToolArgumentsDelta(_str(inner, "item_id"), _str(inner, "delta"), None,
                                       self._deleg_resp.get(did)),)
        if itype == "error":
            code = _ostr(inner.get("code"))
            return (ErrorReported(code, "response_error", _ostr(inner.get("message")) or "",
                                  _ostr(inner.get("param")),
                                  _ostr(ev.get("client_event_id"))),)
        return ()

    # ------------------------------------------------------------------ our frames

    def _out_update(self, ev: _Ev) -> _Out:
        return (SessionRequested(_obj(ev, "session"), _ostr(ev.get("event_id"))),)

    def _out_item(self, ev: _Ev) -> _Out:
        item = _obj(ev, "item")
        if item.get("type") == "function_call_output":
            call_id = _ostr(item.get("call_id"))
            if call_id is not None:
                out = item.get("output")
                return (ToolCallAnswered(call_id, out if isinstance(out, str) else None,
                                         "code"),)
        return ()

    def _out_commentary(self, ev: _Ev) -> _Out:
        did = _ostr(ev.get("delegation_id"))
        if did is not None and did in self._client_delegations:
            self._client_delegations.discard(did)
            return (ResponseDone(did, "delegation", "completed", delegation_id=did),)
        return ()

    # ------------------------------------------------------------------ the Codec API

    def produces(self, wire_type: str) -> frozenset[type]:
        """The normalized event classes a frame of ``wire_type`` can decode to."""
        return PRODUCES.get(wire_type, _NOTHING)

    def stream_fields(
        self, frame: dict[str, Any]
    ) -> tuple[Literal["caller", "agent"], str, str, str | None, int] | None:
        """The ``TranscriptDelta`` fields of an agent fragment that continues the open
        segment, with the segment state advanced as ``decode`` advances it; ``None`` (and
        no state touched) for every other frame, which the reducer then decodes.

        Only the agent's: a caller fragment also moves its turn's end (``SpeechStopped``),
        which the fields cannot carry. Equal to ``decode`` by test (real traces and the
        emulator's Live scenarios, tests/protocol/live/test_codec_stream.py)."""
        if frame.get("type") != "session.output_transcript.delta":
            return None
        seg = self._seg
        if seg is None or seg[0] != "agent":
            return None
        delta = frame.get("delta")
        start = frame.get("start_ms")
        end = frame.get("end_ms")
        if (type(delta) is not str or type(start) is not int
                or type(end) is not int or start - seg[3] >= SEGMENT_GAP_MS):
            return None  # a float time, a bad field or a new segment: decode decides
        eid = frame.get("event_id")
        if type(eid) is str:
            seen = self._seen
            if eid in seen:
                return None  # a replay: decode drops it
            seen.add(eid)
        if end > seg[3]:
            seg[3] = end
        seg[4] += delta
        return "agent", seg[1], delta, seg[2], 0

    def decode(self, frame: Any, direction: Direction = "in") -> Decoded:
        """The frame's wire type and its normalized events. Never raises."""
        if direction == "meta":
            return decode_meta(frame)
        if type(frame) is not dict:
            return Decoded(None, (Unknown(None, "a frame must be a JSON object", True),), True)
        etype = frame.get("type")
        if type(etype) is not str:
            return Decoded(None, (Unknown(None, "type must be a string", True),), True)
        if direction == "in":
            fn = self._in.get(etype)
            if fn is None:
                if etype in SERVER_EVENT_TYPES:
                    return Decoded(etype)
                return Decoded(etype, (Unknown(etype, "not a GPT-Live server event type"),))
        else:
            fn = self._out.get(etype)
            if fn is None:
                if etype in CLIENT_EVENT_TYPES:
                    return Decoded(etype)
                return Decoded(etype, (Unknown(etype, "not a GPT-Live client event type"),))
        try:
            return Decoded(etype, fn(frame))
        except _Bad as bad:
            return Decoded(etype, (Unknown(etype, f"{etype}: {bad}", True),), True)
        except Exception as err:  # a shape no check foresaw: flagged, never raised
            return Decoded(etype, (Unknown(etype, f"{etype}: {type(err).__name__}", True),),
                           True)

    def encode(self, intent: Intent) -> dict[str, Any]:
        """The Live client event for ``intent`` (validated by ``protocol.live.builders``).

        Intents Live has no way to express raise ``UnsupportedIntent`` (nothing is built,
        so nothing can be sent), with the reason and what to do instead."""
        if isinstance(intent, UpdateSession):
            return builders.session_update(dict(intent.session))
        if isinstance(intent, AnswerToolCall):
            return builders.function_call_output(intent.call_id, intent.output)
        if isinstance(intent, CreateResponse):
            if intent.response:
                raise UnsupportedIntent(
                    "create_response", self.api, "Live's response.create takes no "
                    "parameters: it only continues the Responses backend after tool results",
                    "call it without parameters; change backend settings with "
                    "update_session(delegation={'type': 'responses', 'responses': {...}})")
            return builders.response_create()
        if isinstance(intent, SendText):
            if intent.role == "system":
                return builders.instructions_append(intent.text)
            return builders.response_item_create(
                {"type": "message", "role": "user",
                 "content": [{"type": "input_text", "text": intent.text}]})
        if isinstance(intent, HangUp):
            raise UnsupportedIntent(
                "hang_up", self.api, "ending a session from the sideband is session.close, "
                "and a SIP hang-up is call control (a REST request)",
                "use await call.close_session() (session.close) or await call.hangup() (POST "
                "/v1/live/sessions/{id}/hangup)")
        action = _REFUSED.get(type(intent))
        if action is not None:
            refused = builders.refuse_action(action)
            raise UnsupportedIntent(action, self.api,
                                    refused.problem.removeprefix("GPT-Live has no such "
                                                                 "action: "), refused.fix)
        raise UnsupportedIntent(
            type(intent).__name__, self.api, "the codec knows no such intent",
            "use one of the intents of rtwidgets.protocol.codec")

    def validate(self, event: Any) -> None:
        builders.validate_client_event(event)

    def summary(self, frame: Any, *, redact: bool = False) -> str:
        """One line for the event log. Never raises."""
        return _summary(frame, redact=redact)

    def category(self, wire_type: str) -> str:
        return category_of(wire_type)

    def is_delta(self, wire_type: str) -> bool:
        return wire_type in DELTA_EVENT_TYPES

    def check_id(self, kind: str, value: Any, field: str) -> str:
        """Ids by kind: the session id (``call``) has a checked prefix; others are opaque."""
        if kind == "call":
            return check_live_session_id(value, field)
        if not isinstance(value, str) or not value:
            raise ValidationError(field, f"{value!r} is not an id", "pass the id as a "
                                  "non-empty string, as the server reported it",
                                  code="invalid_type")
        return value


#: The Live codec template (``SessionState(codec=LIVE)`` takes a ``fresh()`` copy).
LIVE: Final = LiveCodec()
