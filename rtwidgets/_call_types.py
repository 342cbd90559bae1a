"""The call layer's shared vocabulary: its errors and the ``CallStatus`` / ``CallStats`` values.

Why a module of its own: the ``Call`` (``_call``), its event bus (``_bus``) and its tool runtime
(``_tools``) all raise these errors or count in these stats. Kept below all three, each can
import them without importing another (no import circle, ``tests/test_import_graph.py``).
The public names are re-exported by ``rtwidgets._call`` and the package root.

Never: import anything of the call layer above it, or hold state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CallEndedError",
    "CallError",
    "CallNotLiveError",
    "CallStats",
    "CallStatus",
    "SessionUpdateError",
    "StatusState",
    "ToolCallError",
]

StatusState = Literal["connecting", "live", "reconnecting", "ended"]


class CallError(RuntimeError):
    """Base of the errors a ``Call`` raises for things the server or the call state refused."""


class CallEndedError(CallError):
    """The call has ended (or was closed) while something waited on it."""


class CallNotLiveError(CallError):
    """A send while the sideband is not connected; nothing was sent."""


class SessionUpdateError(CallError):
    """The server answered a ``session.update`` with an ``error`` event.

    Attributes: ``message``, ``code``, ``param`` (as the server sent them), ``event_id`` (ours).
    """

    def __init__(self, message: str, *, code: str | None, param: str | None,
                 event_id: str) -> None:
        self.message = message
        self.code = code
        self.param = param
        self.event_id = event_id
        where = f" (param {param})" if param else ""
        super().__init__(f"session.update refused by the server: {message}{where}"
                         f" [code {code}]" if code else
                         f"session.update refused by the server: {message}{where}")


class ToolCallError(ValueError):
    """An unknown or already answered tool call id, or a bad output; nothing was sent."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}. Fix: {fix}")


@dataclass(frozen=True, slots=True)
class CallStatus:
    """Where the call is: ``state`` in connecting/live/reconnecting/ended, and why."""

    state: StatusState
    reason: str = ""
    since_m: float = 0.0

    def __str__(self) -> str:
        return f"{self.state}: {self.reason}" if self.reason else self.state


@dataclass(slots=True)
class CallStats:
    """Running counters of one call (updated in place)."""

    events_in: int = 0
    events_out: int = 0
    meta_frames: int = 0
    reconnects: int = 0
    errors: int = 0
    bad_frames: int = 0
    dropped_events: int = 0
    handler_errors: int = 0
    callback_errors: int = 0
    started_m: float = 0.0
