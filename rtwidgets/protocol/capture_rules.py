"""The capture's questions about a wire protocol, answered per API.

Why: ``_capture.py`` records frames of either API (the capture header names it) and must
not know any wire event type. Each codec package has a ``capture`` module with the same
names (known types, audio types and where the audio is, redactable types and how, the
order check); this picks the one for an API. Old captures without ``api`` are Realtime.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .live import capture as _live
from .realtime import capture as _realtime

__all__ = ["CaptureRules", "OrderChecker", "capture_rules"]


class OrderChecker(Protocol):
    def check(self, etype: str, event: Mapping[str, Any]) -> bool: ...


@dataclass(frozen=True, slots=True)
class CaptureRules:
    """What one API's frames mean to the capture."""

    api: str
    known_types: frozenset[str]
    audio_types: frozenset[str]
    redactable_types: frozenset[str]
    audio_holders: Callable[[dict[str, Any], str], list[tuple[dict[str, Any], str, str]]]
    redact_transcripts: Callable[[dict[str, Any], str], int]
    order_check: Callable[[], OrderChecker]


_RULES: dict[str, CaptureRules] = {
    "realtime": CaptureRules(
        "realtime", _realtime.KNOWN_TYPES, _realtime.AUDIO_TYPES, _realtime.REDACTABLE_TYPES,
        _realtime.audio_holders, _realtime.redact_transcripts, _realtime.OrderCheck),
    "live": CaptureRules(
        "live", _live.KNOWN_TYPES, _live.AUDIO_TYPES, _live.REDACTABLE_TYPES,
        _live.audio_holders, _live.redact_transcripts, _live.OrderCheck),
}


def capture_rules(api: str | None) -> CaptureRules:
    """The rules for ``api`` (``"realtime"`` or ``"live"``; ``None``/absent: Realtime)."""
    return _RULES["live" if api == "live" else "realtime"]
