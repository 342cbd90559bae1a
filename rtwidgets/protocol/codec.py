"""The codec seam: one wire protocol in, normalized call events out; intents in, wire events out.

Why: rtwidgets watches calls of more than one voice API (the Realtime GA API today, GPT-Live
next; ``live-protocol.md`` §8 sets them side by side). Their wire events differ in name and
in shape — GPT-Live has delegations instead of responses, usage in cumulative seconds,
transcript deltas without response or item ids and no done events, no cancel or truncate.
Everything above ``protocol/`` (the reducer's consumers, the views, the analysis) must not
care which: it reads the *normalized call events* defined here and the ``SessionState`` that
folds them. A codec is the one place that knows a wire protocol: it decodes a frame into
events, encodes intents into frames, validates, and summarises a frame in one line.

The shapes were fixed against both protocols:

* a response and a GPT-Live delegation are both ``ResponseStarted``/``ResponseDone`` with a
  ``kind`` (``"response"`` / ``"delegation"``);
* ``Usage`` holds tokens by modality *and* seconds; ``cumulative`` says whether a value
  replaces the previous one (GPT-Live's ``session.usage.updated``) or adds to it (GA);
* a transcript fragment names a ``segment``: the GA item id, or for GPT-Live a segment id the
  codec makes from the timeline (there are no item ids); ``response_id`` may be ``None``;
* speech start/stop, items, truncation and audio-buffer events exist only where the API
  has them — a codec simply never emits them.

What this module must never do: import a socket, asyncio or a clock; raise from ``decode``
(that is each codec's contract, tested on hostile frames); hold secrets in an event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol, runtime_checkable

from .errors import ValidationError

__all__ = [
    "AgentAudio",
    "AnswerToolCall",
    "BulkHints",
    "CallEnded",
    "CallEvent",
    "CancelResponse",
    "ClearInputAudio",
    "ClearOutputAudio",
    "Codec",
    "CommitInputAudio",
    "CreateItem",
    "CreateResponse",
    "Decoded",
    "DeleteItem",
    "ErrorReported",
    "Gap",
    "HangUp",
    "Intent",
    "ItemDeleted",
    "ItemReported",
    "ItemTruncated",
    "RateLimits",
    "ResponseDone",
    "ResponseStarted",
    "RetrieveItem",
    "SendText",
    "SessionApplied",
    "SessionReported",
    "SessionRequested",
    "SpeechStarted",
    "SpeechStopped",
    "StatusChanged",
    "ToolAnsweredBy",
    "ToolArgumentsDelta",
    "ToolCallAnswered",
    "ToolCallRequested",
    "TranscriptDelta",
    "TranscriptDone",
    "TranscriptFailed",
    "TranscriptionUsage",
    "TruncateItem",
    "Unknown",
    "UnsupportedIntent",
    "UpdateSession",
    "Usage",
    "UsageReported",
]

Speaker = Literal["caller", "agent"]
Direction = Literal["in", "out", "meta"]


# ---------------------------------------------------------------------------------- usage


@dataclass(frozen=True, slots=True)
class Usage:
    """What a response (or the session so far) cost, by modality.

    Token fields are ``None`` when the API did not report them (GPT-Live's voice has no
    tokens); ``seconds`` is billed audio time (GPT-Live; a per-minute transcription model).
    ``cumulative``: the value is the total so far and replaces the previous one (GPT-Live's
    ``session.usage.updated``); otherwise values add up (GA ``response.done``).
    ``raw`` is the wire object as given (for tables that show every field).
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_text_tokens: int | None = None
    input_audio_tokens: int | None = None
    input_image_tokens: int | None = None
    input_cached_tokens: int | None = None
    output_text_tokens: int | None = None
    output_audio_tokens: int | None = None
    seconds: float | None = None
    active_seconds: float | None = None
    paused_seconds: float | None = None
    cumulative: bool = False
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


# ------------------------------------------------------------------- normalized call events
# Frozen and slotted: cheap to make on the hot path, safe to hand to every view.


@dataclass(frozen=True, slots=True)
class SessionReported:
    """The server's first snapshot of the session config (GA ``session.created``,
    GPT-Live ``session.started``)."""

    session: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SessionApplied:
    """The server reports the config after a change (``session.updated``).

    ``client_event_id``: the request it answers when the API says so (GPT-Live echoes it;
    GA does not, so it is ``None`` there and the reducer links it to the last request)."""

    session: Mapping[str, Any]
    client_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class SessionRequested:
    """We asked for a config change (our own ``session.update``)."""

    session: Mapping[str, Any]
    client_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The caller began speaking (server VAD). GPT-Live has no such event."""

    item_id: str | None
    audio_start_ms: int | None = None


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    """The caller's turn ended: ``how`` is ``"vad"`` (speech stopped), ``"commit"`` (the
    buffer was committed, by VAD or by hand) or ``"timeout"`` (idle timeout)."""

    item_id: str | None
    how: Literal["vad", "commit", "timeout"] = "vad"
    audio_start_ms: int | None = None
    audio_end_ms: int | None = None


@dataclass(frozen=True, slots=True)
class TranscriptDelta:
    """A fragment of what someone said (or the model wrote).

    ``segment``: what the fragments join into — the GA item id, or for GPT-Live the codec's
    segment id. ``response_id`` is ``None`` where the API gives none (GPT-Live, caller).
    ``start_ms``/``end_ms``: the API's timeline when it has one (GPT-Live)."""

    speaker: Speaker
    segment: str
    delta: str
    response_id: str | None = None
    content_index: int = 0
    start_ms: int | None = None
    end_ms: int | None = None


@dataclass(frozen=True, slots=True)
class TranscriptDone:
    """The final text of a segment's part: it replaces the folded deltas (an empty text
    never erases them)."""

    speaker: Speaker | None
    segment: str
    text: str
    response_id: str | None = None
    content_index: int | None = 0


@dataclass(frozen=True, slots=True)
class TranscriptFailed:
    """The caller's speech could not be transcribed."""

    segment: str
    message: str | None = None


@dataclass(frozen=True, slots=True)
class TranscriptionUsage:
    """What transcribing one caller segment cost (billed by the transcription model)."""

    segment: str
    usage: Usage


@dataclass(frozen=True, slots=True)
class ItemReported:
    """A conversation item as the server reports it (APIs with items only).

    ``stage``: ``"added"`` (appears in the conversation), ``"done"`` (final),
    ``"retrieved"`` (a snapshot we asked for). ``previous_item_id`` places it
    (``"root"``: first). ``response_id``: the response that made it, when given."""

    item: Mapping[str, Any]
    stage: Literal["added", "done", "retrieved"]
    previous_item_id: str | None = None
    response_id: str | None = None
    in_response: bool = False
    """Reported as part of a response's output (vs the conversation's own events)."""


@dataclass(frozen=True, slots=True)
class ItemTruncated:
    item_id: str
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class ItemDeleted:
    item_id: str


@dataclass(frozen=True, slots=True)
class ResponseStarted:
    """The agent began a response (GA) or a delegation's backend began (GPT-Live)."""

    id: str
    kind: Literal["response", "delegation"] = "response"
    status: str | None = None
    modalities: tuple[str, ...] | None = None
    conversation_id: str | None = None
    target: str | None = None
    """GPT-Live delegation target (``responses``/``client``/``decisions``)."""
    delegation_id: str | None = None
    """GPT-Live: the delegation this backend response belongs to (``None``: not a
    delegation, or one the server could not correlate). A delegation's response is
    started twice at most: when the delegation announces it (``status`` ``None``: the
    backend has not reported it yet) and when the backend reports it running."""


@dataclass(frozen=True, slots=True)
class ResponseDone:
    """A response (or delegation backend response) ended: status, reason and usage."""

    id: str
    kind: Literal["response", "delegation"] = "response"
    status: str = "completed"
    reason: str | None = None
    error_code: str | None = None
    status_details: Mapping[str, Any] | None = None
    usage: Usage | None = None
    modalities: tuple[str, ...] | None = None
    conversation_id: str | None = None
    output: tuple[Mapping[str, Any], ...] = ()
    """The output items as the final snapshot lists them (may be empty on GPT-Live)."""
    delegation_id: str | None = None
    """GPT-Live: the delegation whose backend response ended (see ``ResponseStarted``)."""


@dataclass(frozen=True, slots=True)
class AgentAudio:
    """The agent's audio: ``"part"`` (an audio part opened), ``"delta"`` (a chunk),
    ``"started"``/``"stopped"``/``"cleared"`` (the output buffer, WebRTC/SIP)."""

    phase: Literal["part", "delta", "started", "stopped", "cleared"]
    response_id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolArgumentsDelta:
    """A fragment of a function call's arguments."""

    item_id: str
    delta: str
    call_id: str | None = None
    response_id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallRequested:
    """The model asks for a function call (complete arguments).

    ``item_id`` is the call's item (GA) or ``None``; ``response_id`` the response or the
    delegation's backend response; ``delegation_id`` the GPT-Live delegation that asks
    (``None`` on Realtime, or when the server could not correlate it)."""

    call_id: str
    name: str | None
    arguments: str
    item_id: str | None = None
    response_id: str | None = None
    delegation_id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallAnswered:
    """A function call got its output. ``by``: ``"code"`` (we sent it), ``"peer"`` (only
    the server told us: another socket answered)."""

    call_id: str
    output: str | None
    by: Literal["code", "peer"]


@dataclass(frozen=True, slots=True)
class ToolAnsweredBy:
    """Who in this kernel answered (``handler``/``form``/``code``): our own meta frame."""

    call_id: str
    by: str | None


@dataclass(frozen=True, slots=True)
class ErrorReported:
    """A server error, linked to the client event that caused it when the server says so.

    ``fatal``: the code is one after which the call cannot go on (``protocol/fatal.py``)."""

    code: str | None
    type: str
    message: str
    param: str | None = None
    client_event_id: str | None = None
    fatal: bool = False


@dataclass(frozen=True, slots=True)
class RateLimits:
    limits: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """The call's connection status changed (our own meta frame)."""

    status: str | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The call ended: the server said so (GPT-Live ``session.closed``) or we saw it end
    (a hang-up, the socket's end). ``usage``: final usage when reported."""

    reason: str | None = None
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class UsageReported:
    """The session's usage so far, outside any response (GPT-Live's
    ``session.usage.updated``: cumulative billed seconds). ``context_ratio``: the share of
    the model's context window in use, when the API reports it."""

    usage: Usage
    context_ratio: float | None = None


@dataclass(frozen=True, slots=True)
class Gap:
    """The socket was down between ``since_m`` and this frame (a reconnect)."""

    since_m: float | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Unknown:
    """A frame the codec does not understand. ``flagged``: the frame is malformed (not an
    object, no string ``type``, a field of the wrong type); otherwise its type is simply
    not one the codec knows. ``why`` says which."""

    wire_type: str | None
    why: str
    flagged: bool = False


CallEvent = (
    SessionReported | SessionApplied | SessionRequested | SpeechStarted | SpeechStopped
    | TranscriptDelta | TranscriptDone | TranscriptFailed | TranscriptionUsage
    | ItemReported | ItemTruncated | ItemDeleted | ResponseStarted | ResponseDone
    | AgentAudio | ToolArgumentsDelta | ToolCallRequested | ToolCallAnswered | ToolAnsweredBy
    | ErrorReported | RateLimits | StatusChanged | CallEnded | UsageReported | Gap | Unknown
)


class Decoded(NamedTuple):
    """One decoded frame: its wire type (shown as data by the event log) and its events.

    ``wire_type`` is the frame's ``type`` when it is a string, else ``None``. ``flagged``
    is set when the frame is malformed (then ``events`` holds an ``Unknown`` saying why,
    plus whatever could still be read). A named tuple, not a dataclass: one is made per
    frame on the receive path, and a tuple is the cheapest immutable record."""

    wire_type: str | None
    events: tuple[CallEvent, ...] = ()
    flagged: bool = False


def _fast_init(cls: type) -> None:
    """Give a frozen slotted dataclass an ``__init__`` that sets its slots directly.

    A frozen dataclass's generated ``__init__`` goes through ``object.__setattr__`` once per
    field; decoding makes one event per frame of a call (and the analysis one per folded
    frame), and measured, that was a third of the decode. This one calls each slot's own
    setter: same fields, same defaults, same frozenness afterwards (``__setattr__`` still
    refuses)."""
    params, body, env = [], [], {}
    for f in dataclasses.fields(cls):
        env[f"_set_{f.name}"] = vars(cls)[f.name].__set__
        if f.default is not dataclasses.MISSING:
            env[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        else:
            params.append(f.name)
        body.append(f"    _set_{f.name}(self, {f.name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["    pass"])
    exec(source, env)  # the source is built from the class's own field names only
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[misc]


for _cls in (SessionReported, SessionApplied, SessionRequested, SpeechStarted, SpeechStopped,
             TranscriptDelta, TranscriptDone, TranscriptFailed, TranscriptionUsage,
             ItemReported, ItemTruncated, ItemDeleted, ResponseStarted, ResponseDone,
             AgentAudio, ToolArgumentsDelta, ToolCallRequested, ToolCallAnswered,
             ToolAnsweredBy, ErrorReported, RateLimits, StatusChanged, CallEnded, Gap, Unknown,
             Usage, UsageReported):
    _fast_init(_cls)


# ------------------------------------------------------------------------------- intents


@dataclass(frozen=True, slots=True)
class UpdateSession:
    session: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AnswerToolCall:
    call_id: str
    output: Any


@dataclass(frozen=True, slots=True)
class CreateResponse:
    response: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CancelResponse:
    response_id: str | None = None


@dataclass(frozen=True, slots=True)
class TruncateItem:
    item_id: str
    audio_end_ms: int
    content_index: int = 0


@dataclass(frozen=True, slots=True)
class ClearOutputAudio:
    pass


@dataclass(frozen=True, slots=True)
class CommitInputAudio:
    pass


@dataclass(frozen=True, slots=True)
class ClearInputAudio:
    pass


@dataclass(frozen=True, slots=True)
class CreateItem:
    item: Mapping[str, Any]
    previous_item_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteItem:
    item_id: str


@dataclass(frozen=True, slots=True)
class RetrieveItem:
    item_id: str


@dataclass(frozen=True, slots=True)
class SendText:
    """Put a typed message into the conversation (``role``: user or system)."""

    text: str
    role: Literal["user", "system"] = "user"


@dataclass(frozen=True, slots=True)
class HangUp:
    """End the call. This is call *control* (a REST request), never a wire event: every
    codec refuses to encode it, and ``Call.hangup()`` goes through ``_control``."""


Intent = (
    UpdateSession | AnswerToolCall | CreateResponse | CancelResponse | TruncateItem
    | ClearOutputAudio | CommitInputAudio | ClearInputAudio | CreateItem | DeleteItem
    | RetrieveItem | SendText | HangUp
)


class UnsupportedIntent(ValidationError):
    """An intent the codec's API cannot express (a ``ValidationError`` naming the action)."""

    def __init__(self, action: str, api: str, why: str, fix: str) -> None:
        super().__init__(action, f"the {api} API has no way to do this: {why}", fix,
                         code="invalid_event")


# --------------------------------------------------------------------------------- codec


@dataclass(frozen=True, slots=True)
class BulkHints:
    """How a bulk reader (the analysis over a capture's columns) may skip frames.

    ``meaningful_types``: server types to parse and feed to the reducer; the others are
    streaming frames whose content a later event repeats. ``first_text_types``: agent text
    deltas — a response's first text is the earliest of these carrying its
    ``response_id`` (read from the columns). ``text_delta_types``: deltas whose text an
    item cut short before any final text keeps (fed for such items only).
    ``column_only``: types whose only field the reducer reads is the ``item_id`` or
    ``response_id`` column, so they can be built from the columns without a parse."""

    meaningful_types: frozenset[str]
    first_text_types: tuple[str, ...]
    text_delta_types: tuple[str, ...]
    column_only: Mapping[str, str]


@runtime_checkable
class Codec(Protocol):
    """What a wire protocol must provide. ``protocol/realtime`` is the GA implementation."""

    #: The API's name (``"realtime"``, ``"live"``).
    api: str
    #: Server event types (in the frame's ``type``) that produce events the tables need;
    #: a bulk reader may skip every other incoming frame (e.g. pure audio deltas).
    meaningful_types: frozenset[str]
    #: Every client and server event type of the API (the layering test scans for these).
    client_event_types: frozenset[str]
    server_event_types: frozenset[str]
    #: How a bulk reader may skip frames (see ``BulkHints``).
    bulk: BulkHints
    #: The wire events that mark the analysis timings, by name (``response_started``,
    #: ``first_text``, ``audio_started``, …): labels for plots and docs.
    landmarks: Mapping[str, str]

    def produces(self, wire_type: str) -> frozenset[type]:
        """The normalized event classes a frame of ``wire_type`` can decode to (cheap)."""
        ...

    #: Wire types of streaming text (``TranscriptDelta`` frames): most frames of a call.
    stream_types: frozenset[str]

    def stream_fields(
        self, frame: dict[str, Any]
    ) -> tuple[Speaker, str, str, str | None, int] | None:
        """The fields of the ``TranscriptDelta`` a ``stream_types`` frame decodes to
        (speaker, segment, delta, response_id, content_index), without making the event;
        ``None`` if the frame is malformed. The reducer's hot path: equal, by test, to
        ``decode``."""
        ...

    def decode(self, frame: Any, direction: Direction = "in") -> Decoded:
        """The frame's wire type and its normalized events. Never raises."""
        ...

    def encode(self, intent: Intent) -> dict[str, Any]:
        """The wire event for ``intent``; ``UnsupportedIntent`` if the API lacks it,
        ``ValidationError`` naming the field if an argument is bad."""
        ...

    def validate(self, event: Any) -> None:
        """Raise ``ValidationError`` if ``event`` is not a client event the API accepts."""
        ...

    def summary(self, frame: Any, *, redact: bool = False) -> str:
        """One line for the event log. Never raises."""
        ...

    def category(self, wire_type: str) -> str:
        """The event log's category of a wire type (``"unknown"`` if not known)."""
        ...

    def is_delta(self, wire_type: str) -> bool:
        """Whether frames of this type stream into one row (coalesced by views)."""
        ...

    def check_id(self, kind: str, value: Any, field: str) -> str:
        """``value`` if it is a well-formed id of ``kind``, else ``ValidationError``."""
        ...
