"""rtwidgets: Jupyter-native widgets, capture and analysis for OpenAI Realtime calls.

This module only names the public surface (pinned by ``tests/test_public_api.py``). Names are
imported lazily (PEP 562) so that ``import rtwidgets`` stays cheap — the emulator CLI and the
capture reader must not pay for pandas, pyarrow and the widget front end they never use.
Importing a name loads only the layer that defines it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._call import (
        Call,
        CallEndedError,
        CallError,
        CallNotLiveError,
        CallStats,
        CallStatus,
        SessionUpdateError,
        SessionUpdateResult,
        ToolCallError,
        attach,
    )
    from ._control import (
        AlreadyAcceptedError,
        CallControlError,
        CallNotFoundError,
        CreatedCall,
        accept,
        create_call,
        download_recording,
        fork,
        hangup,
        refer,
        reject,
    )
    from ._recording import Recording, Replay, load
    from ._transport import MemoryTransport
    from ._webhooks import IncomingCall, WebhookInbox
    from .analysis import (
        Analysis,
        Many,
        Summary,
        analyze,
        event_sequence,
        load_many,
        to_parquet,
    )
    from .emulator import Emulator
    from .protocol.errors import ValidationError
    from .protocol.state import SessionState
    from .widgets import (
        CallConsole,
        EventLog,
        IncomingCalls,
        SessionEditor,
        StatusBar,
        ToolCalls,
        Transcript,
        Turns,
    )

#: public name -> the module that defines it
_WHERE: dict[str, str] = {
    # attach and the Call
    "attach": "._call",
    "Call": "._call",
    "CallStatus": "._call",
    "CallStats": "._call",
    "SessionUpdateResult": "._call",
    "CallError": "._call",
    "CallEndedError": "._call",
    "CallNotLiveError": "._call",
    "SessionUpdateError": "._call",
    "ToolCallError": "._call",
    # recordings
    "load": "._recording",
    "Recording": "._recording",
    "Replay": "._recording",
    # the transport seam's test double
    "MemoryTransport": "._transport",
    # call control and the SIP inbox
    "create_call": "._control",
    "accept": "._control",
    "reject": "._control",
    "refer": "._control",
    "hangup": "._control",
    "fork": "._control",
    "download_recording": "._control",
    "AlreadyAcceptedError": "._control",
    "CreatedCall": "._control",
    "CallControlError": "._control",
    "CallNotFoundError": "._control",
    "WebhookInbox": "._webhooks",
    "IncomingCall": "._webhooks",
    # protocol
    "ValidationError": ".protocol.errors",
    "SessionState": ".protocol.state",
    # analysis
    "analyze": ".analysis",
    "event_sequence": ".analysis",
    "Analysis": ".analysis",
    "Summary": ".analysis",
    "Many": ".analysis",
    "load_many": ".analysis",
    "to_parquet": ".analysis",
    # widgets
    "CallConsole": ".widgets",
    "StatusBar": ".widgets",
    "EventLog": ".widgets",
    "Transcript": ".widgets",
    "SessionEditor": ".widgets",
    "ToolCalls": ".widgets",
    "IncomingCalls": ".widgets",
    "Turns": ".widgets",
    # the emulator
    "Emulator": ".emulator",
}

__all__ = [
    "AlreadyAcceptedError",
    "Analysis",
    "Call",
    "CallConsole",
    "CallControlError",
    "CallEndedError",
    "CallError",
    "CallNotFoundError",
    "CallNotLiveError",
    "CallStats",
    "CallStatus",
    "CreatedCall",
    "Emulator",
    "EventLog",
    "IncomingCall",
    "IncomingCalls",
    "Many",
    "MemoryTransport",
    "Recording",
    "Replay",
    "SessionEditor",
    "SessionState",
    "SessionUpdateError",
    "SessionUpdateResult",
    "StatusBar",
    "Summary",
    "ToolCallError",
    "ToolCalls",
    "Transcript",
    "Turns",
    "ValidationError",
    "WebhookInbox",
    "__version__",
    "accept",
    "analyze",
    "attach",
    "create_call",
    "download_recording",
    "event_sequence",
    "fork",
    "hangup",
    "load",
    "load_many",
    "refer",
    "reject",
    "to_parquet",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'rtwidgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


def _bind_display() -> None:
    from ._display import register_display

    register_display()


_bind_display()
