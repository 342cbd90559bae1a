"""The GA Realtime codec: GA wire frames to normalized call events, intents to GA events.

Why: this is the one place outside the emulator that knows what a GA event *means*
(``realtime-protocol.md`` §6). The reducer, the views and the analysis read the normalized
events of ``protocol/codec.py``; a second API (GPT-Live) is a second codec, not a rewrite.

Decoding is on the hot path of every call (a response streams dozens of deltas), so it is
one dict lookup of a function per wire type, each building only the events its frame
carries, with no copies of the frame's parts. A frame whose fields have the wrong types
(an id that is a list, a delta that is a number, a non-object frame) decodes to an
``Unknown`` flagged event with the reason: it never raises (issue 11 item 8).

Encoding goes through ``protocol.builders`` (validation that names the field and the fix);
an intent the GA API lacks (hang-up is call control, not a wire event) raises
``UnsupportedIntent``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

from .. import builders
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
    ItemDeleted,
    ItemReported,
    ItemTruncated,
    RateLimits,
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
    TranscriptFailed,
    TranscriptionUsage,
    TruncateItem,
    Unknown,
    UnsupportedIntent,
    UpdateSession,
    Usage,
)
from ..errors import ValidationError
from ..fatal import FATAL_ERROR_CODES
from ..ids import check_call_id
from .catalog import (
    CLIENT_EVENT_TYPES,
    DELTA_EVENT_TYPES,
    SERVER_EVENT_TYPES,
    category_of,
)
from .summary import summarize

__all__ = ["BULK", "LANDMARKS", "MEANINGFUL_TYPES", "PRODUCES", "REALTIME", "RealtimeCodec",
           "decode_meta", "usage_of"]

_Ev = dict[str, Any]
_Out = tuple[CallEvent, ...]


class _Bad(Exception):
    """A field of the wrong type: the frame decodes to a flagged ``Unknown``."""


def _str(ev: _Ev, key: str) -> str:
    value = ev.get(key)
    if type(value) is not str:
        raise _Bad(f"{key} must be a string")
    return value


def _ostr(value: Any) -> str | None:
    return value if type(value) is str else None


def _oint(value: Any) -> int | None:
    return value if type(value) is int else None


def _obj(ev: Mapping[str, Any], key: str) -> _Ev:
    value = ev.get(key)
    if not isinstance(value, dict):
        raise _Bad(f"{key} must be an object")
    return value


def _index(value: Any) -> int:
    return value if type(value) is int else 0


def _mods(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(v for v in value if isinstance(v, str))


def usage_of(usage: Any) -> Usage | None:
    """A GA ``usage`` object (response or transcription) as a ``Usage``; ``None`` if absent."""
    if not isinstance(usage, dict):
        return None
    # One per response.done and per transcription: the nine counts read through one
    # helper, passed by position (what the keyword call costs, measured, is a third).
    get = usage.get
    inp = get("input_token_details")
    out = get("output_token_details")
    iget = inp.get if isinstance(inp, dict) else _EMPTY.get
    oget = out.get if isinstance(out, dict) else _EMPTY.get
    seconds = get("seconds")
    return Usage(
        _oint(get("input_tokens")), _oint(get("output_tokens")), _oint(get("total_tokens")),
        _oint(iget("text_tokens")), _oint(iget("audio_tokens")), _oint(iget("image_tokens")),
        _oint(iget("cached_tokens")), _oint(oget("text_tokens")), _oint(oget("audio_tokens")),
        float(seconds) if isinstance(seconds, int | float)
        and not isinstance(seconds, bool) else None,
        None, None, False, usage,
    )


_EMPTY: Final[dict[str, Any]] = {}


# ---------------------------------------------------------------------- server frames (in)


def _session_created(ev: _Ev) -> _Out:
    return (SessionReported(_obj(ev, "session")),)


def _session_updated(ev: _Ev) -> _Out:
    return (SessionApplied(_obj(ev, "session")),)


def _item(ev: _Ev) -> _Ev:
    item = _obj(ev, "item")
    if type(item.get("id")) is not str:
        raise _Bad("item.id must be a string")
    return item


def _answers(item: _Ev) -> _Out:
    """A ``function_call_output`` item the server reports: the call was answered."""
    if item.get("type") == "function_call_output":
        call_id = _ostr(item.get("call_id"))
        if call_id is not None:
            return (ToolCallAnswered(call_id, _ostr(item.get("output")), "peer"),)
    return ()


def _requests(item: _Ev, response_id: str | None) -> _Out:
    """A completed ``function_call`` item: the model asks for the call."""
    if item.get("type") == "function_call" and item.get("status") == "completed":
        call_id = _ostr(item.get("call_id"))
        if call_id is not None:
            return (ToolCallRequested(call_id, _ostr(item.get("name")),
                                      _ostr(item.get("arguments")) or "", item["id"],
                                      response_id),)
    return ()


def _item_added(ev: _Ev) -> _Out:
    item = _item(ev)
    prev = ev.get("previous_item_id")
    return (ItemReported(item, "added", _ostr(prev)), *_answers(item))


def _item_done(ev: _Ev) -> _Out:
    item = _item(ev)
    prev = ev.get("previous_item_id")
    return (ItemReported(item, "done", _ostr(prev)), *_answers(item), *_requests(item, None))


def _item_retrieved(ev: _Ev) -> _Out:
    return (ItemReported(_item(ev), "retrieved"),)


def _truncated(ev: _Ev) -> _Out:
    end = ev.get("audio_end_ms")
    if type(end) is not int:
        raise _Bad("audio_end_ms must be an integer")
    return (ItemTruncated(_str(ev, "item_id"), end),)


def _deleted(ev: _Ev) -> _Out:
    return (ItemDeleted(_str(ev, "item_id")),)


def _input_delta(ev: _Ev) -> _Out:
    return (TranscriptDelta("caller", _str(ev, "item_id"), _str(ev, "delta"),
                            None, _index(ev.get("content_index"))),)


def _input_done(ev: _Ev) -> _Out:
    item_id = _str(ev, "item_id")
    out: list[CallEvent] = [
        TranscriptDone("caller", item_id, _str(ev, "transcript"), None,
                       _index(ev.get("content_index")))
    ]
    usage = usage_of(ev.get("usage"))
    if usage is not None:
        out.append(TranscriptionUsage(item_id, usage))
    return tuple(out)


def _input_failed(ev: _Ev) -> _Out:
    err = ev.get("error")
    message = err.get("message") if isinstance(err, dict) else None
    return (TranscriptFailed(_str(ev, "item_id"), _ostr(message)),)


def _speech_started(ev: _Ev) -> _Out:
    return (SpeechStarted(_ostr(ev.get("item_id")), _oint(ev.get("audio_start_ms"))),)


def _speech_stopped(ev: _Ev) -> _Out:
    return (SpeechStopped(_ostr(ev.get("item_id")), "vad", None,
                          _oint(ev.get("audio_end_ms"))),)


def _committed(ev: _Ev) -> _Out:
    return (SpeechStopped(_ostr(ev.get("item_id")), "commit"),)


def _timeout(ev: _Ev) -> _Out:
    return (SpeechStopped(_ostr(ev.get("item_id")), "timeout",
                          _oint(ev.get("audio_start_ms")), _oint(ev.get("audio_end_ms"))),)


def _response_created(ev: _Ev) -> _Out:
    resp = _obj(ev, "response")
    return (ResponseStarted(_str(resp, "id"), "response", _ostr(resp.get("status")),
                            _mods(resp.get("output_modalities")),
                            _ostr(resp.get("conversation_id"))),)


def _response_done(ev: _Ev) -> _Out:
    resp = _obj(ev, "response")
    details = resp.get("status_details")
    details = details if isinstance(details, dict) else None
    reason = error_code = None
    if details is not None:
        reason = _ostr(details.get("reason"))
        err = details.get("error")
        error_code = _ostr(err.get("code")) if isinstance(err, dict) else None
    output = resp.get("output")
    items = tuple(o for o in output if isinstance(o, dict)) if isinstance(output, list) else ()
    status = _ostr(resp.get("status"))
    return (ResponseDone(
        _str(resp, "id"), "response", status if status is not None else "completed", reason,
        error_code, details, usage_of(resp.get("usage")),
        _mods(resp.get("output_modalities")), _ostr(resp.get("conversation_id")), items,
    ),)


def _output_item_added(ev: _Ev) -> _Out:
    response_id = _str(ev, "response_id")
    return (ItemReported(_item(ev), "added", None, response_id, True),)


def _output_item_done(ev: _Ev) -> _Out:
    response_id = _str(ev, "response_id")
    item = _item(ev)
    return (ItemReported(item, "done", None, response_id, True), *_requests(item, response_id))


def _part_added(ev: _Ev) -> _Out:
    part = ev.get("part")
    if isinstance(part, dict) and part.get("type") == "audio":
        return (AgentAudio("part", _ostr(ev.get("response_id"))),)
    return ()


def _part_done(ev: _Ev) -> _Out:
    # The final text of a part arrives in several events (the transcript's own .done,
    # this one, the item's .done); whichever arrives wins over the deltas.
    part = _obj(ev, "part")
    text = part.get("text")
    if not isinstance(text, str):
        text = part.get("transcript")
    if not isinstance(text, str) or not text:
        return ()
    ci = ev.get("content_index")
    return (TranscriptDone("agent", _str(ev, "item_id"), text,
                           _ostr(ev.get("response_id")), ci if type(ci) is int else None),)


def _agent_delta(ev: _Ev) -> _Out:
    # The hottest frame of a call (a response streams dozens): the checks written out.
    get = ev.get
    item_id, delta, rid, ci = get("item_id"), get("delta"), get("response_id"), get(
        "content_index")
    if type(item_id) is not str:
        raise _Bad("item_id must be a string")
    if type(delta) is not str:
        raise _Bad("delta must be a string")
    return (TranscriptDelta("agent", item_id, delta, rid if type(rid) is str else None,
                            ci if type(ci) is int else 0),)


def _agent_done_key(key: str) -> Callable[[_Ev], _Out]:
    def done(ev: _Ev) -> _Out:
        ci = ev.get("content_index")
        return (TranscriptDone("agent", _str(ev, "item_id"), _str(ev, key),
                               _ostr(ev.get("response_id")), ci if type(ci) is int else None),)
    return done


def _audio_delta(ev: _Ev) -> _Out:
    return (AgentAudio("delta", _ostr(ev.get("response_id"))),)


def _buffer(phase: Any) -> Callable[[_Ev], _Out]:
    def event(ev: _Ev) -> _Out:
        return (AgentAudio(phase, _ostr(ev.get("response_id"))),)
    return event


def _args_delta(ev: _Ev) -> _Out:
    return (ToolArgumentsDelta(_str(ev, "item_id"), _str(ev, "delta"),
                               _ostr(ev.get("call_id")), _ostr(ev.get("response_id"))),)


def _args_done(ev: _Ev) -> _Out:
    return (ToolCallRequested(_str(ev, "call_id"), _ostr(ev.get("name")),
                              _str(ev, "arguments"), _str(ev, "item_id"),
                              _ostr(ev.get("response_id"))),)


def _error(ev: _Ev) -> _Out:
    err = _obj(ev, "error")
    code = _ostr(err.get("code"))
    return (ErrorReported(code, _ostr(err.get("type")) or "error",
                          _ostr(err.get("message")) or "", _ostr(err.get("param")),
                          _ostr(err.get("event_id")), code in FATAL_ERROR_CODES),)


def _rate_limits(ev: _Ev) -> _Out:
    limits = ev.get("rate_limits")
    if not isinstance(limits, list):
        raise _Bad("rate_limits must be a list")
    return (RateLimits(tuple(x for x in limits if isinstance(x, dict))),)


_IN: Final[dict[str, Callable[[_Ev], _Out]]] = {
    "session.created": _session_created,
    "session.updated": _session_updated,
    "conversation.item.added": _item_added,
    "conversation.item.created": _item_added,
    "conversation.item.done": _item_done,
    "conversation.item.retrieved": _item_retrieved,
    "conversation.item.truncated": _truncated,
    "conversation.item.deleted": _deleted,
    "conversation.item.input_audio_transcription.delta": _input_delta,
    "conversation.item.input_audio_transcription.completed": _input_done,
    "conversation.item.input_audio_transcription.failed": _input_failed,
    "input_audio_buffer.speech_started": _speech_started,
    "input_audio_buffer.speech_stopped": _speech_stopped,
    "input_audio_buffer.committed": _committed,
    "input_audio_buffer.timeout_triggered": _timeout,
    "response.created": _response_created,
    "response.done": _response_done,
    "response.output_item.added": _output_item_added,
    "response.output_item.done": _output_item_done,
    "response.content_part.added": _part_added,
    "response.content_part.done": _part_done,
    "response.output_text.delta": _agent_delta,
    "response.output_text.done": _agent_done_key("text"),
    "response.output_audio_transcript.delta": _agent_delta,
    "response.output_audio_transcript.done": _agent_done_key("transcript"),
    "response.output_audio.delta": _audio_delta,
    "output_audio_buffer.started": _buffer("started"),
    "output_audio_buffer.stopped": _buffer("stopped"),
    "output_audio_buffer.cleared": _buffer("cleared"),
    "response.function_call_arguments.delta": _args_delta,
    "response.function_call_arguments.done": _args_done,
    "error": _error,
    "rate_limits.updated": _rate_limits,
}

_new_decoded: Final = tuple.__new__

_E = frozenset
#: What each wire type (server, client and our meta types) can decode to: views ask
#: ``codec.produces(frame.type)`` to decide cheaply whether a frame concerns them.
PRODUCES: Final[dict[str, frozenset[type]]] = {
    "session.created": _E({SessionReported}),
    "session.updated": _E({SessionApplied}),
    "conversation.item.added": _E({ItemReported, ToolCallAnswered}),
    "conversation.item.created": _E({ItemReported, ToolCallAnswered}),
    "conversation.item.done": _E({ItemReported, ToolCallAnswered, ToolCallRequested}),
    "conversation.item.retrieved": _E({ItemReported}),
    "conversation.item.truncated": _E({ItemTruncated}),
    "conversation.item.deleted": _E({ItemDeleted}),
    "conversation.item.input_audio_transcription.delta": _E({TranscriptDelta}),
    "conversation.item.input_audio_transcription.completed": _E({TranscriptDone,
                                                                 TranscriptionUsage}),
    "conversation.item.input_audio_transcription.failed": _E({TranscriptFailed}),
    "input_audio_buffer.speech_started": _E({SpeechStarted}),
    "input_audio_buffer.speech_stopped": _E({SpeechStopped}),
    "input_audio_buffer.committed": _E({SpeechStopped}),
    "input_audio_buffer.timeout_triggered": _E({SpeechStopped}),
    "response.created": _E({ResponseStarted}),
    "response.done": _E({ResponseDone}),
    "response.output_item.added": _E({ItemReported}),
    "response.output_item.done": _E({ItemReported, ToolCallRequested}),
    "response.content_part.added": _E({AgentAudio}),
    "response.content_part.done": _E({TranscriptDone}),
    "response.output_text.delta": _E({TranscriptDelta}),
    "response.output_text.done": _E({TranscriptDone}),
    "response.output_audio_transcript.delta": _E({TranscriptDelta}),
    "response.output_audio_transcript.done": _E({TranscriptDone}),
    "response.output_audio.delta": _E({AgentAudio}),
    "output_audio_buffer.started": _E({AgentAudio}),
    "output_audio_buffer.stopped": _E({AgentAudio}),
    "output_audio_buffer.cleared": _E({AgentAudio}),
    "response.function_call_arguments.delta": _E({ToolArgumentsDelta}),
    "response.function_call_arguments.done": _E({ToolCallRequested}),
    "error": _E({ErrorReported}),
    "rate_limits.updated": _E({RateLimits}),
    # our own client events
    "session.update": _E({SessionRequested}),
    "conversation.item.create": _E({ToolCallAnswered}),
    # our own meta frames
    "rtwidgets.status": _E({StatusChanged, CallEnded}),
    "rtwidgets.gap": _E({Gap}),
    "rtwidgets.tool_answered": _E({ToolAnsweredBy}),
}
_NOTHING: Final[frozenset[type]] = frozenset()

#: The wire events that mark the timings the analysis reports (for labels and docs).
LANDMARKS: Final[dict[str, str]] = {
    "speech_stopped": "input_audio_buffer.speech_stopped",
    "response_started": "response.created",
    "first_text": "response.output_audio_transcript.delta",
    "audio_started": "output_audio_buffer.started",
    "response_done": "response.done",
}

#: Server types whose events the analysis tables need; a bulk reader may skip the others
#: (pure audio deltas, which are most of a call, and streaming text the ``.done`` repeats
#: are read from columns). See ``RealtimeCodec.meaningful_types``.
MEANINGFUL_TYPES: Final[frozenset[str]] = frozenset(_IN) - frozenset({
    "response.output_audio.delta",
    "conversation.item.input_audio_transcription.delta", "response.content_part.added",
    "response.output_text.delta", "response.output_audio_transcript.delta",
    "rate_limits.updated",
})

#: How a bulk reader reproduces what the skipped types tell the reducer (``analysis``).
BULK: Final = BulkHints(
    meaningful_types=MEANINGFUL_TYPES,
    first_text_types=("response.output_audio_transcript.delta", "response.output_text.delta"),
    text_delta_types=("response.output_audio_transcript.delta", "response.output_text.delta",
                      "conversation.item.input_audio_transcription.delta"),
    column_only={
        "input_audio_buffer.committed": "item_id",
        "conversation.item.deleted": "item_id",
        "output_audio_buffer.started": "response_id",
        "output_audio_buffer.stopped": "response_id",
        "output_audio_buffer.cleared": "response_id",
    },
)


# ----------------------------------------------------------------------- our frames (out)


def _out_session_update(ev: _Ev) -> _Out:
    return (SessionRequested(_obj(ev, "session"), _ostr(ev.get("event_id"))),)


def _out_item_create(ev: _Ev) -> _Out:
    item = _obj(ev, "item")
    if item.get("type") == "function_call_output":
        call_id = _ostr(item.get("call_id"))
        if call_id is not None:
            return (ToolCallAnswered(call_id, _ostr(item.get("output")), "code"),)
    return ()


_OUT: Final[dict[str, Callable[[_Ev], _Out]]] = {
    "session.update": _out_session_update,
    "conversation.item.create": _out_item_create,
}


# ------------------------------------------------------------------- meta frames (ours)


def decode_meta(frame: Any) -> Decoded:
    """Our own capture's meta frames (``rtwidgets.*``), the same for every API."""
    if not isinstance(frame, dict):
        return Decoded(None, (Unknown(None, "a frame must be a JSON object", True),), True)
    etype = frame.get("type")
    if type(etype) is not str:
        return Decoded(None, (Unknown(None, "type must be a string", True),), True)
    if etype == "rtwidgets.status":
        status = _ostr(frame.get("status"))
        reason = _ostr(frame.get("reason"))
        if status == "ended":
            return Decoded(etype, (StatusChanged(status, reason), CallEnded(reason)))
        return Decoded(etype, (StatusChanged(status, reason),))
    if etype == "rtwidgets.gap":
        since = frame.get("since_m")
        since_m = float(since) if isinstance(since, int | float) and not isinstance(
            since, bool) else None
        return Decoded(etype, (Gap(since_m, _ostr(frame.get("reason"))),))
    if etype == "rtwidgets.tool_answered":
        call_id = frame.get("call_id")
        if type(call_id) is not str:
            return Decoded(etype, (Unknown(etype, "call_id must be a string", True),), True)
        return Decoded(etype, (ToolAnsweredBy(call_id, _ostr(frame.get("by"))),))
    if etype.startswith("rtwidgets."):
        return Decoded(etype)
    return Decoded(etype, (Unknown(etype, "not a meta frame type"),))


# ----------------------------------------------------------------------------- the codec


class RealtimeCodec:
    """The GA Realtime API (``realtime-protocol.md``), as a ``protocol.codec.Codec``."""

    api: str = "realtime"
    meaningful_types: frozenset[str] = MEANINGFUL_TYPES
    client_event_types: frozenset[str] = frozenset(CLIENT_EVENT_TYPES)
    server_event_types: frozenset[str] = frozenset(SERVER_EVENT_TYPES)
    bulk: BulkHints = BULK
    landmarks: Mapping[str, str] = LANDMARKS

    def produces(self, wire_type: str) -> frozenset[type]:
        """The normalized event classes a frame of ``wire_type`` can decode to."""
        return PRODUCES.get(wire_type, _NOTHING)

    #: The decoder of each server event type, for a caller that has already read a
    #: frame's string ``type``: ``in_decoders[t](frame)`` is ``decode(frame).events``
    #: whenever it returns; when it raises, ``decode`` gives the flagged ``Unknown``. The
    #: reducer's per-frame entry (``SessionState.feed_in``) skips the checks it has done.
    in_decoders: Mapping[str, Callable[[dict[str, Any]], tuple[CallEvent, ...]]] = _IN

    stream_types: frozenset[str] = frozenset({
        "response.output_audio_transcript.delta", "response.output_text.delta"})

    def stream_fields(
        self, frame: dict[str, Any]
    ) -> tuple[Literal["caller", "agent"], str, str, str | None, int] | None:
        """``_agent_delta``'s fields without the event (see ``Codec.stream_fields``)."""
        get = frame.get
        item_id, delta = get("item_id"), get("delta")
        if type(item_id) is not str or type(delta) is not str:
            return None
        rid, ci = get("response_id"), get("content_index")
        return ("agent", item_id, delta, rid if type(rid) is str else None,
                ci if type(ci) is int else 0)

    def decode(self, frame: Any, direction: Direction = "in") -> Decoded:
        """The frame's wire type and its normalized events. Never raises."""
        if type(frame) is not dict:
            if direction == "meta":
                return decode_meta(frame)
            return Decoded(None, (Unknown(None, "a frame must be a JSON object", True),), True)
        etype = frame.get("type")
        if type(etype) is not str:
            return Decoded(None, (Unknown(None, "type must be a string", True),), True)
        if direction == "in":
            fn = _IN.get(etype)
            if fn is not None:  # the usual case first
                try:
                    # tuple.__new__ directly: the named tuple's own __new__ is a Python
                    # frame, on the path of every frame of a call
                    return _new_decoded(Decoded, (etype, fn(frame), False))
                except _Bad as bad:
                    return Decoded(etype, (Unknown(etype, f"{etype}: {bad}", True),), True)
                except Exception as err:  # a shape no check foresaw: flagged, never raised
                    return Decoded(etype, (Unknown(etype, f"{etype}: {type(err).__name__}",
                                                   True),), True)
            if fn is None:
                if etype in SERVER_EVENT_TYPES:
                    return Decoded(etype)
                return Decoded(etype, (Unknown(etype, "not a GA server event type"),))
        elif direction == "meta":
            return decode_meta(frame)
        else:
            fn = _OUT.get(etype)
            if fn is None:
                if etype in CLIENT_EVENT_TYPES:
                    return Decoded(etype)
                return Decoded(etype, (Unknown(etype, "not a GA client event type"),))
        try:
            return Decoded(etype, fn(frame))
        except _Bad as bad:
            return Decoded(etype, (Unknown(etype, f"{etype}: {bad}", True),), True)
        except Exception as err:  # a frame shape no check foresaw: flagged, never raised
            return Decoded(etype, (Unknown(etype, f"{etype}: {type(err).__name__}", True),),
                           True)

    def encode(self, intent: Intent) -> dict[str, Any]:
        """The GA client event for ``intent`` (validated by ``protocol.builders``)."""
        if isinstance(intent, UpdateSession):
            return builders.session_update(dict(intent.session))
        if isinstance(intent, AnswerToolCall):
            return builders.function_call_output(intent.call_id, intent.output)
        if isinstance(intent, CreateResponse):
            if intent.response is None:
                return builders.response_create()
            return builders.response_create(dict(intent.response))
        if isinstance(intent, CancelResponse):
            return builders.response_cancel(intent.response_id)
        if isinstance(intent, TruncateItem):
            return builders.conversation_item_truncate(
                intent.item_id, intent.audio_end_ms, intent.content_index)
        if isinstance(intent, ClearOutputAudio):
            return builders.output_audio_buffer_clear()
        if isinstance(intent, CommitInputAudio):
            return builders.input_audio_buffer_commit()
        if isinstance(intent, ClearInputAudio):
            return builders.input_audio_buffer_clear()
        if isinstance(intent, CreateItem):
            return builders.conversation_item_create(dict(intent.item), intent.previous_item_id)
        if isinstance(intent, DeleteItem):
            return builders.conversation_item_delete(intent.item_id)
        if isinstance(intent, RetrieveItem):
            return builders.conversation_item_retrieve(intent.item_id)
        if isinstance(intent, SendText):
            if intent.role == "system":
                return builders.system_message(intent.text)
            return builders.user_message(intent.text)
        if isinstance(intent, HangUp):
            raise UnsupportedIntent(
                "hang_up", self.api, "ending a call is call control (a REST request), not "
                "an event on the socket", "use await call.hangup() (or rtwidgets' control "
                "API), which sends POST /v1/realtime/calls/{call_id}/hangup")
        raise UnsupportedIntent(
            type(intent).__name__, self.api, "the codec knows no such intent",
            "use one of the intents of rtwidgets.protocol.codec")

    def validate(self, event: Any) -> None:
        builders.validate_client_event(event)

    def summary(self, frame: Any, *, redact: bool = False) -> str:
        """One line for the event log. Never raises."""
        if not isinstance(frame, dict):
            return f"not an object: {type(frame).__name__}"
        etype = frame.get("type")
        try:
            return summarize(frame, etype if isinstance(etype, str) else "", redact=redact)
        except Exception as err:
            return f"(no summary: {type(err).__name__})"

    def category(self, wire_type: str) -> str:
        return category_of(wire_type)

    def is_delta(self, wire_type: str) -> bool:
        return wire_type in DELTA_EVENT_TYPES

    def check_id(self, kind: str, value: Any, field: str) -> str:
        """Ids by kind; only the call id has a checked shape (the others are opaque)."""
        if kind == "call":
            return check_call_id(value, field)
        if not isinstance(value, str) or not value:
            raise ValidationError(field, f"{value!r} is not an id", "pass the id as a "
                                  "non-empty string, as the server reported it",
                                  code="invalid_type")
        return value


#: The one GA codec (it holds no state).
REALTIME: Final = RealtimeCodec()
