"""The catalog of GPT-Live sideband event types, client and server, with a category for each.

Why: the Live codec, its builders, the event log and the emulator need one vocabulary for
the sideband (``client.live.sideband.connect``): the 30 server types of the SDK's
``ConnectServerEvent`` union and the 14 client types of ``ConnectClientEvent``
(live-protocol.md §4, §5). It is plain data, checked against the SDK unions by
``tests/protocol/live/test_catalog.py`` so a new SDK type cannot slip by unnoticed.

Also here: what Live refuses and why — the primary-only client events (``session.start``,
``session.input_audio.append``) and the Realtime actions that have no Live counterpart
(``response.cancel``, ``conversation.item.*``, ``output_audio_buffer.clear``, …), each with
the reason the builders quote in their ``UnsupportedLiveAction`` error.

Pure data, no I/O. Never: list a type here that the SDK unions do not have.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AUDIO_PAYLOAD_FIELDS",
    "CATEGORIES",
    "CLIENT_EVENT_TYPES",
    "DELTA_EVENT_TYPES",
    "NOT_ON_SIDEBAND",
    "REALTIME_ONLY",
    "SERVER_EVENT_TYPES",
    "SIDEBAND_ONLY_SERVER_TYPES",
    "category_of",
    "is_known",
]

#: Live sideband client events (SDK ``ConnectClientEvent``) -> required fields besides
#: ``type``. ``delegation_id`` of the three appends is required *and* nullable (the SDK's
#: ``Required[Optional[str]]``); ``decision.create`` requires ``event_id``.
CLIENT_EVENT_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "session.update": ("session",),
    "session.input_audio.mute": (),
    "session.input_audio.unmute": (),
    "session.output_audio.fixture.play": ("audio",),
    "transport.dtmf.send": ("event",),
    "session.instructions.append": ("content", "delegation_id"),
    "session.thinking.append": ("content", "delegation_id"),
    "session.commentary.append": ("content", "delegation_id"),
    "decision.create": ("event_id",),
    "decision.item.create": ("item",),
    "decision.item.delete": ("item_id",),
    "response.item.create": ("item",),
    "response.create": (),
    "session.close": (),
}

#: Live sideband server events (SDK ``ConnectServerEvent``) -> required fields besides
#: ``type`` (as the SDK models declare them).
SERVER_EVENT_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "session.started": ("event_id", "session"),
    "session.updated": ("event_id", "session"),
    "session.resumed": ("event_id",),
    "session.paused": ("event_id",),
    "session.input_audio.muted": ("event_id",),
    "session.input_audio.unmuted": ("event_id",),
    "session.output_audio.fixture.playing": ("event_id",),
    "session.output_audio.fixture.played": ("event_id",),
    "session.instructions.appended": ("end_ms", "event_id", "start_ms"),
    "session.thinking.appended": ("end_ms", "event_id", "start_ms"),
    "session.commentary.appended": ("end_ms", "event_id", "start_ms"),
    "session.input_transcript.delta": ("delta", "end_ms", "event_id", "start_ms"),
    "session.output_transcript.delta": ("delta", "end_ms", "event_id", "start_ms"),
    "session.delegation.created": ("delegation", "event_id", "offset_ms"),
    "decision.event": ("event", "event_id"),
    "decision.item.created": ("event_id", "item"),
    "decision.item.deleted": ("event_id", "item_id"),
    "response.event": ("event", "event_id"),
    "session.usage.updated": ("event_id", "usage"),
    "session.closed": ("event_id", "reason", "session", "usage"),
    "error": ("error", "event_id"),
    "info": ("code", "event_id", "message"),
    "session.input_audio.append": ("audio",),
    "session.output_audio.delta": ("delta",),
    "transport.dtmf.received": ("event", "event_id"),
    "transport.dtmf.send": ("event", "event_id"),
    "transport.dtmf.sent": ("event", "event_id"),
    "transport.ringing": ("event_id", "session_id"),
    "transport.answered": ("event_id", "session_id"),
    "transport.failed": ("error", "event_id", "session_id"),
}

#: Server types the primary ``ServerEvent`` union lacks (live-protocol.md §4: 30 vs 28).
SIDEBAND_ONLY_SERVER_TYPES: Final = frozenset({"session.paused", "session.resumed"})

#: Client events of the primary socket that a sideband must not send, with the reason.
NOT_ON_SIDEBAND: Final[dict[str, str]] = {
    "session.start": ("a sideband attaches to a session that is already running; "
                      "session.start belongs to the primary connection"),
    "session.input_audio.append": ("audio is sent over the primary connection (WebRTC, SIP "
                                   "or the primary WebSocket), never over the sideband"),
}

#: Realtime actions GPT-Live does not have (no member of any Live client union), with why.
REALTIME_ONLY: Final[dict[str, str]] = {
    "response.cancel": ("GPT-Live is full duplex and decides itself when to speak; there is "
                        "no voice response to cancel (session.close ends the session)"),
    "conversation.item.truncate": ("the Live context is append-only: nothing can be "
                                   "truncated"),
    "conversation.item.create": ("the Live context is append-only and has no items; append "
                                 "text with session.instructions/thinking/commentary.append, "
                                 "or give the Responses backend an item with "
                                 "response.item.create"),
    "conversation.item.delete": "the Live context is append-only: nothing can be deleted",
    "conversation.item.retrieve": "the Live context has no items to retrieve",
    "output_audio_buffer.clear": ("GPT-Live has no output audio buffer to clear; the model "
                                  "decides when to stop speaking"),
    "input_audio_buffer.append": ("audio is sent over the primary connection, never over the "
                                  "sideband"),
    "input_audio_buffer.commit": "GPT-Live has no turns and no input buffer to commit",
    "input_audio_buffer.clear": ("GPT-Live has no input buffer to clear; use "
                                 "session.input_audio.mute to give the model silence"),
}

#: Server event types whose frames stream many per second into one row of the event log.
DELTA_EVENT_TYPES: Final = frozenset({
    "session.input_transcript.delta", "session.output_transcript.delta",
    "session.input_audio.append", "session.output_audio.delta",
})

#: Base64 audio payload field, by event type (both directions): what a capture blanks.
AUDIO_PAYLOAD_FIELDS: Final[dict[str, str]] = {
    "session.input_audio.append": "audio",
    "session.output_audio.delta": "delta",
    "session.output_audio.fixture.play": "audio",
}

#: Category names, in the order the views list them.
CATEGORIES: Final[tuple[str, ...]] = (
    "session", "input_audio", "output_audio", "transcript", "delegation", "response",
    "decision", "usage", "transport", "error", "meta", "unknown",
)

_SPECIFIC: Final[dict[str, str]] = {
    "error": "error",
    "info": "error",
    "session.usage.updated": "usage",
    "session.input_transcript.delta": "transcript",
    "session.output_transcript.delta": "transcript",
    "session.delegation.created": "delegation",
    "session.instructions.append": "delegation",
    "session.thinking.append": "delegation",
    "session.commentary.append": "delegation",
    "session.instructions.appended": "delegation",
    "session.thinking.appended": "delegation",
    "session.commentary.appended": "delegation",
    "response.event": "response",
    "response.item.create": "response",
    "response.create": "response",
}
_PREFIXES: Final[tuple[tuple[str, str], ...]] = (
    ("session.input_audio.", "input_audio"),
    ("session.output_audio.", "output_audio"),
    ("session.", "session"),
    ("decision.", "decision"),
    ("transport.", "transport"),
    ("rtwidgets.", "meta"),
)


def category_of(event_type: str) -> str:
    """The view category of a Live event type; ``"unknown"`` for types not in the catalog."""
    specific = _SPECIFIC.get(event_type)
    if specific is not None:
        return specific
    if not (event_type in SERVER_EVENT_TYPES or event_type in CLIENT_EVENT_TYPES
            or event_type.startswith("rtwidgets.")):
        return "unknown"
    for prefix, category in _PREFIXES:
        if event_type.startswith(prefix):
            return category
    return "unknown"  # pragma: no cover - every catalogued type has a prefix above


def is_known(event_type: str) -> bool:
    """Whether ``event_type`` is a Live sideband client or server event type."""
    return event_type in SERVER_EVENT_TYPES or event_type in CLIENT_EVENT_TYPES
