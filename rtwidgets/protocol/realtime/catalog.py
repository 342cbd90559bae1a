"""The catalog of GA Realtime event types, client and server, with a category for each.

Why: every layer needs the same vocabulary — the builders validate against it, the reducer
dispatches on it, the emulator emits only what is in it, the views filter by category and the
analysis marks unknown types. Keeping it as plain data in one place means a new event type is
one line here. Pure data, no I/O. Source: realtime-protocol.md §6.2, §6.3.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AUDIO_PAYLOAD_FIELDS",
    "CATEGORIES",
    "CLIENT_EVENT_TYPES",
    "DELTA_EVENT_TYPES",
    "SERVER_EVENT_TYPES",
    "SIDEBAND_CLIENT_EVENT_TYPES",
    "TEXT_DELTA_TYPES",
    "category_of",
    "is_known",
]

#: GA client events (SDK ``RealtimeClientEvent`` union) -> required fields besides ``type``.
CLIENT_EVENT_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "session.update": ("session",),
    "conversation.item.create": ("item",),
    "conversation.item.retrieve": ("item_id",),
    "conversation.item.truncate": ("item_id", "content_index", "audio_end_ms"),
    "conversation.item.delete": ("item_id",),
    "input_audio_buffer.append": ("audio",),
    "input_audio_buffer.commit": (),
    "input_audio_buffer.clear": (),
    "output_audio_buffer.clear": (),
    "response.create": (),
    "response.cancel": (),
}

#: Client events that make sense on a sideband (audio arrives over RTP, not the socket).
SIDEBAND_CLIENT_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    t for t in CLIENT_EVENT_TYPES if t != "input_audio_buffer.append"
)

#: GA server events -> required fields besides ``type``.
SERVER_EVENT_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "error": ("event_id", "error"),
    "session.created": ("event_id", "session"),
    "session.updated": ("event_id", "session"),
    "conversation.created": ("event_id", "conversation"),
    "conversation.item.created": ("event_id", "item"),
    "conversation.item.added": ("event_id", "item"),
    "conversation.item.done": ("event_id", "item"),
    "conversation.item.retrieved": ("event_id", "item"),
    "conversation.item.truncated": ("event_id", "item_id", "content_index", "audio_end_ms"),
    "conversation.item.deleted": ("event_id", "item_id"),
    "conversation.item.input_audio_transcription.delta": ("event_id", "item_id"),
    "conversation.item.input_audio_transcription.completed": (
        "event_id", "item_id", "content_index", "transcript", "usage",
    ),
    "conversation.item.input_audio_transcription.failed": (
        "event_id", "item_id", "content_index", "error",
    ),
    "conversation.item.input_audio_transcription.segment": (
        "event_id", "item_id", "content_index", "id", "text", "speaker", "start", "end",
    ),
    "input_audio_buffer.speech_started": ("event_id", "audio_start_ms", "item_id"),
    "input_audio_buffer.speech_stopped": ("event_id", "audio_end_ms", "item_id"),
    "input_audio_buffer.committed": ("event_id", "item_id"),
    "input_audio_buffer.cleared": ("event_id",),
    "input_audio_buffer.timeout_triggered": (
        "event_id", "audio_start_ms", "audio_end_ms", "item_id",
    ),
    "input_audio_buffer.dtmf_event_received": ("event", "received_at"),
    "output_audio_buffer.started": ("event_id", "response_id"),
    "output_audio_buffer.stopped": ("event_id", "response_id"),
    "output_audio_buffer.cleared": ("event_id", "response_id"),
    "response.created": ("event_id", "response"),
    "response.done": ("event_id", "response"),
    "response.output_item.added": ("event_id", "response_id", "output_index", "item"),
    "response.output_item.done": ("event_id", "response_id", "output_index", "item"),
    "response.content_part.added": (
        "event_id", "response_id", "item_id", "output_index", "content_index", "part",
    ),
    "response.content_part.done": (
        "event_id", "response_id", "item_id", "output_index", "content_index", "part",
    ),
    "response.output_text.delta": (
        "event_id", "response_id", "item_id", "output_index", "content_index", "delta",
    ),
    "response.output_text.done": (
        "event_id", "response_id", "item_id", "output_index", "content_index", "text",
    ),
    "response.output_audio.delta": (
        "event_id", "response_id", "item_id", "output_index", "content_index", "delta",
    ),
    "response.output_audio.done": (
        "event_id", "response_id", "item_id", "output_index", "content_index",
    ),
    "response.output_audio_transcript.delta": (
        "event_id", "response_id", "item_id", "output_index", "content_index", "delta",
    ),
    "response.output_audio_transcript.done": (
        "event_id", "response_id", "item_id", "output_index", "content_index", "transcript",
    ),
    "response.function_call_arguments.delta": (
        "event_id", "response_id", "item_id", "output_index", "call_id", "delta",
    ),
    "response.function_call_arguments.done": (
        "event_id", "response_id", "item_id", "output_index", "call_id", "name", "arguments",
    ),
    "rate_limits.updated": ("event_id", "rate_limits"),
    "mcp_list_tools.in_progress": ("event_id", "item_id"),
    "mcp_list_tools.completed": ("event_id", "item_id"),
    "mcp_list_tools.failed": ("event_id", "item_id"),
    "response.mcp_call_arguments.delta": (
        "event_id", "response_id", "item_id", "output_index", "delta",
    ),
    "response.mcp_call_arguments.done": (
        "event_id", "response_id", "item_id", "output_index", "arguments",
    ),
    "response.mcp_call.in_progress": ("event_id", "item_id", "output_index"),
    "response.mcp_call.completed": ("event_id", "item_id", "output_index"),
    "response.mcp_call.failed": ("event_id", "item_id", "output_index"),
}

#: Streaming events that views coalesce into their item's row.
DELTA_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    t for t in SERVER_EVENT_TYPES if t.endswith(".delta")
)

#: Delta events whose ``delta`` is text (redaction hides it; audio deltas are dropped by the
#: capture anyway).
TEXT_DELTA_TYPES: Final[frozenset[str]] = frozenset(
    {
        "response.output_text.delta",
        "response.output_audio_transcript.delta",
        "conversation.item.input_audio_transcription.delta",
        "response.function_call_arguments.delta",
        "response.mcp_call_arguments.delta",
    }
)

#: Where audio travels inside a frame: event type -> dotted path of the base64 payload.
#: The capture drops these by default and keeps their length.
AUDIO_PAYLOAD_FIELDS: Final[dict[str, str]] = {
    "response.output_audio.delta": "delta",
    "input_audio_buffer.append": "audio",
}

#: Category names, in the order the views list them.
CATEGORIES: Final[tuple[str, ...]] = (
    "session", "conversation", "input_audio", "output_audio", "response", "transcript",
    "tool", "rate_limits", "error", "mcp", "meta", "unknown",
)

_SPECIFIC: Final[dict[str, str]] = {
    "error": "error",
    "rate_limits.updated": "rate_limits",
    "response.output_audio_transcript.delta": "transcript",
    "response.output_audio_transcript.done": "transcript",
    "response.output_text.delta": "transcript",
    "response.output_text.done": "transcript",
    "conversation.item.input_audio_transcription.delta": "transcript",
    "conversation.item.input_audio_transcription.completed": "transcript",
    "conversation.item.input_audio_transcription.failed": "transcript",
    "conversation.item.input_audio_transcription.segment": "transcript",
    "response.function_call_arguments.delta": "tool",
    "response.function_call_arguments.done": "tool",
    "response.output_audio.delta": "output_audio",
    "response.output_audio.done": "output_audio",
}

_PREFIXES: Final[tuple[tuple[str, str], ...]] = (
    ("session.", "session"),
    ("conversation.", "conversation"),
    ("input_audio_buffer.", "input_audio"),
    ("output_audio_buffer.", "output_audio"),
    ("response.mcp", "mcp"),
    ("mcp_", "mcp"),
    ("response.", "response"),
    ("rtwidgets.", "meta"),
)


def category_of(event_type: str) -> str:
    """The view category of an event type; ``"unknown"`` for types not in the catalog.

    ``rtwidgets.*`` types are the capture's own meta frames (gaps, status changes).
    """
    specific = _SPECIFIC.get(event_type)
    if specific is not None:
        return specific
    known = event_type in SERVER_EVENT_TYPES or event_type in CLIENT_EVENT_TYPES
    for prefix, name in _PREFIXES:
        if event_type.startswith(prefix) and (known or name == "meta"):
            return name
    return "unknown"


def is_known(event_type: str) -> bool:
    """Whether ``event_type`` is a GA client or server event type."""
    return event_type in SERVER_EVENT_TYPES or event_type in CLIENT_EVENT_TYPES
