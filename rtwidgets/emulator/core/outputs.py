"""What a session core hands its shell: events to send, frames, closes, the end, notes.

Why: a sans-I/O core cannot send; it returns what should happen, in order, each stamped with
the call time it belongs to. The aiohttp shell turns them into socket writes and records; a
virtual run just collects them. Every protocol's core returns the same kinds.

Never: holds a socket, a key or a wall-clock time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Out", "dumps"]


def dumps(event: dict[str, Any]) -> str:
    """The wire text of an event (compact JSON, as the server sends it)."""
    return json.dumps(event, separators=(",", ":"))


@dataclass
class Out:
    """One thing for the shell to do.

    kind:
        ``"event"`` send ``event`` (or ``raw``, a text frame that is not JSON) to every
        attached socket, or only to socket ``only``; ``"close"`` close every socket (``code``,
        ``reason``; ``close_frame`` False cuts the stream), the call goes on; ``"end"`` the
        call ended (``reason``), close every socket; ``"meta"`` a note for the record;
        ``"received"`` a client frame arrived on socket ``only`` (``event``, or ``raw`` when
        it was not JSON), for the record.
    """

    kind: Literal["event", "received", "close", "end", "meta"]
    at: float                                  # call milliseconds
    event: dict[str, Any] | None = None
    raw: str | None = None
    only: str | None = None
    timed: bool = False                        # due by the clock, not caused by a client
    fault: str | None = None
    reason: str = ""
    code: int = 1000
    close_frame: bool | None = None           # None on an end: the emulator's default
    meta: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """The frame's wire text (``event`` serialised, or ``raw``)."""
        if self.raw is not None:
            return self.raw
        assert self.event is not None
        return dumps(self.event)
