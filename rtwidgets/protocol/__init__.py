"""The sans-I/O protocol core: event catalog, ids, client-event builders, the state reducer.

Nothing in this package opens a socket, touches asyncio or reads a clock.
"""

from __future__ import annotations

from .builders import (
    conversation_item_create,
    conversation_item_delete,
    conversation_item_retrieve,
    conversation_item_truncate,
    function_call_output,
    input_audio_buffer_append,
    input_audio_buffer_clear,
    input_audio_buffer_commit,
    output_audio_buffer_clear,
    response_cancel,
    response_create,
    seed_event_ids,
    session_update,
    system_message,
    user_message,
    validate_client_event,
    validate_item,
)
from .catalog import (
    CLIENT_EVENT_TYPES,
    SERVER_EVENT_TYPES,
    category_of,
    is_known,
)
from .errors import ValidationError
from .ids import IdFactory, is_call_id
from .session import (
    BUILTIN_VOICES,
    SessionDiff,
    default_session,
    merge_session,
    session_diff,
    validate_session,
)
from .state import ErrorRecord, ItemRecord, ResponseRecord, SessionState, ToolCallRecord

__all__ = [
    "BUILTIN_VOICES",
    "CLIENT_EVENT_TYPES",
    "SERVER_EVENT_TYPES",
    "ErrorRecord",
    "IdFactory",
    "ItemRecord",
    "ResponseRecord",
    "SessionDiff",
    "SessionState",
    "ToolCallRecord",
    "ValidationError",
    "category_of",
    "conversation_item_create",
    "conversation_item_delete",
    "conversation_item_retrieve",
    "conversation_item_truncate",
    "default_session",
    "function_call_output",
    "input_audio_buffer_append",
    "input_audio_buffer_clear",
    "input_audio_buffer_commit",
    "is_call_id",
    "is_known",
    "merge_session",
    "output_audio_buffer_clear",
    "response_cancel",
    "response_create",
    "seed_event_ids",
    "session_diff",
    "session_update",
    "system_message",
    "user_message",
    "validate_client_event",
    "validate_item",
    "validate_session",
]
