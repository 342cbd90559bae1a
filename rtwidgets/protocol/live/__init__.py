"""GPT-Live's sideband protocol, pure: its event catalog, builders, summaries and readers.

Why a package of its own: GPT-Live (``client.live``, live-protocol.md) is a second wire
protocol beside Realtime GA, with other event names, an append-only context and no
cancel or truncate. Everything here is what a Live codec needs that does not depend on the
codec interface (``protocol/codec.py``), so the codec is a thin adapter over it:

- ``catalog``: every client and server type of the SDK's ``ConnectClientEvent`` /
  ``ConnectServerEvent`` unions, what Live refuses and why, categories, audio fields;
- ``builders``: one builder per sideband client event, ``validate_client_event``, and
  ``UnsupportedLiveAction`` for actions Live does not have;
- ``summary``: one line per frame for the event log;
- ``fold``: pure readers (tool calls inside ``response.event``, cumulative usage seconds,
  the close reason).

Nothing in this package opens a socket, touches asyncio or reads a clock.
"""

from __future__ import annotations

from .builders import (
    UnsupportedLiveAction,
    commentary_append,
    dtmf_send,
    function_call_output,
    input_audio_mute,
    input_audio_unmute,
    instructions_append,
    refuse_action,
    response_create,
    response_item_create,
    session_close,
    session_update,
    thinking_append,
    validate_client_event,
    validate_session_update,
)
from .catalog import CLIENT_EVENT_TYPES, SERVER_EVENT_TYPES, category_of, is_known
from .fold import (
    FunctionCall,
    close_reason,
    context_ratio,
    function_call,
    unwrap,
    usage_seconds,
)
from .summary import summary

__all__ = [
    "CLIENT_EVENT_TYPES",
    "SERVER_EVENT_TYPES",
    "FunctionCall",
    "UnsupportedLiveAction",
    "category_of",
    "close_reason",
    "commentary_append",
    "context_ratio",
    "dtmf_send",
    "function_call",
    "function_call_output",
    "input_audio_mute",
    "input_audio_unmute",
    "instructions_append",
    "is_known",
    "refuse_action",
    "response_create",
    "response_item_create",
    "session_close",
    "session_update",
    "summary",
    "thinking_append",
    "unwrap",
    "usage_seconds",
    "validate_client_event",
    "validate_session_update",
]
