"""Pure readers of GPT-Live frames: what the Live codec and the ``Call`` need to know.

Why: a Live call's meaning hides in places a Realtime reader would not look
(live-protocol.md §4, §7.3): backend tool calls sit inside ``response.event`` wrappers
(read them from the inner ``response.output_item.done``, never from the ``output`` of a
lifecycle snapshot, which is always empty), usage is *cumulative* seconds, and the call ends
with ``session.closed`` and its reason. These small functions read those places from plain
dicts, never raise on a malformed frame (they return ``None``), and keep no state (the
per-delegation bookkeeping lives in the reducer, ``SessionState.delegations``, which folds
the Live codec's events).

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "CLOSE_REASONS",
    "FunctionCall",
    "close_reason",
    "context_ratio",
    "delegation_of",
    "function_call",
    "unwrap",
    "usage_seconds",
]

#: ``session.closed.reason`` values of SDK 3.57 (live-protocol.md §4.2).
CLOSE_REASONS: Final = frozenset({"close_requested", "expired", "content", "remote_hangup",
                                  "connection_lost"})


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A backend tool call, from a ``response.event`` wrapping ``response.output_item.done``."""

    call_id: str
    name: str
    arguments: str
    delegation_id: str | None
    item_id: str | None = None


def unwrap(frame: Any) -> tuple[str | None, dict[str, Any]] | None:
    """``(delegation_id, inner event)`` of a ``response.event`` frame, else ``None``.

    ``delegation_id`` is ``None`` when the server could not correlate the event.
    """
    if not isinstance(frame, Mapping) or frame.get("type") != "response.event":
        return None
    inner = frame.get("event")
    if not isinstance(inner, dict) or not isinstance(inner.get("type"), str):
        return None
    did = frame.get("delegation_id")
    return (did if isinstance(did, str) and did else None), inner


def function_call(frame: Any) -> FunctionCall | None:
    """The finished function call a ``response.event`` frame carries, else ``None``."""
    got = unwrap(frame)
    if got is None or got[1].get("type") != "response.output_item.done":
        return None
    item = got[1].get("item")
    if not isinstance(item, Mapping) or item.get("type") != "function_call":
        return None
    call_id, name, args = item.get("call_id"), item.get("name"), item.get("arguments")
    if not isinstance(call_id, str) or not call_id or not isinstance(name, str):
        return None
    iid = item.get("id")
    return FunctionCall(call_id, name, args if isinstance(args, str) else "", got[0],
                        iid if isinstance(iid, str) else None)


def delegation_of(frame: Any) -> dict[str, Any] | None:
    """The ``delegation`` object of a ``session.delegation.created`` frame, else ``None``."""
    if not isinstance(frame, Mapping) or frame.get("type") != "session.delegation.created":
        return None
    d = frame.get("delegation")
    return d if isinstance(d, dict) and isinstance(d.get("id"), str) else None


def usage_seconds(frame: Any) -> float | None:
    """Cumulative billed seconds of ``session.usage.updated`` / ``session.closed``.

    Cumulative: the latest value replaces the previous one; never add them up.
    """
    if not isinstance(frame, Mapping) or frame.get("type") not in (
            "session.usage.updated", "session.closed"):
        return None
    usage = frame.get("usage")
    secs = usage.get("seconds") if isinstance(usage, Mapping) else None
    if isinstance(secs, bool) or not isinstance(secs, int | float):
        return None
    return float(secs)


def context_ratio(frame: Any) -> float | None:
    """``context_window.usage_ratio`` of ``session.usage.updated`` (``None`` when absent)."""
    if not isinstance(frame, Mapping) or frame.get("type") != "session.usage.updated":
        return None
    cw = frame.get("context_window")
    ratio = cw.get("usage_ratio") if isinstance(cw, Mapping) else None
    if isinstance(ratio, bool) or not isinstance(ratio, int | float):
        return None
    return float(ratio)


def close_reason(frame: Any) -> str | None:
    """The reason of a ``session.closed`` frame (``"unknown"`` when missing), else ``None``.

    Reasons outside ``CLOSE_REASONS`` are returned as sent: the server may add new ones.
    """
    if not isinstance(frame, Mapping) or frame.get("type") != "session.closed":
        return None
    reason = frame.get("reason")
    return reason if isinstance(reason, str) and reason else "unknown"
