"""rtwidgets.widgets: views over a ``Call``, a ``Recording`` or a ``Replay``.

Why a subpackage: the views are the only part of rtwidgets that needs a browser; keeping them
apart keeps the engine importable without ipywidgets' front end. Views hold no protocol logic
and never touch a socket (see ``_base.py`` for the contract every view follows).
"""

from __future__ import annotations

from ._base import SourceView, StreamView
from ._console import CallConsole, console_mimebundle
from ._event_log import EventLog
from ._incoming import IncomingCalls
from ._session_editor import SessionEditor
from ._status import StatusBar
from ._tool_calls import ToolCalls
from ._transcript import Transcript
from ._turns import Turns

__all__ = [
    "CallConsole",
    "EventLog",
    "IncomingCalls",
    "SessionEditor",
    "SourceView",
    "StatusBar",
    "StreamView",
    "ToolCalls",
    "Transcript",
    "Turns",
    "console_mimebundle",
]
