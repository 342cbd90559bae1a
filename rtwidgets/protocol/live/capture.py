"""What the capture needs to know about GPT-Live frames: where audio and transcripts travel.

Why: the capture (``_capture.py``) does the byte work — blank audio payloads keeping their
length, redact transcripts, flag out-of-order frames — and asks the API's codec package what
each wire type means. This is the GPT-Live side of that contract (the GA side is
``protocol/realtime/capture.py``); both are reached through ``protocol.capture_rules``.

GPT-Live reflects the caller's audio to the sideband (``session.input_audio.append``) and
streams the agent's (``session.output_audio.delta``), about 64 kB/s each: blanked by default.
Transcripts are deltas only (no done events); the text we append is redactable too.
There is no response/item order to check on a Live sideband (delegations carry their own
ids and the wrapped Responses events are not ordered against the session's), so the order
check never flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .catalog import AUDIO_PAYLOAD_FIELDS, CLIENT_EVENT_TYPES, SERVER_EVENT_TYPES

__all__ = [
    "AUDIO_TYPES",
    "KNOWN_TYPES",
    "REDACTABLE_TYPES",
    "OrderCheck",
    "audio_holders",
    "redact_transcripts",
]

KNOWN_TYPES: Final = frozenset((*SERVER_EVENT_TYPES, *CLIENT_EVENT_TYPES))

#: Types whose frames carry an audio payload (the capture blanks it by default).
AUDIO_TYPES: Final = frozenset(AUDIO_PAYLOAD_FIELDS)

# The caller's and the agent's spoken text, and the text we append.
_REDACT_TOP: Final[dict[str, tuple[str, ...]]] = {
    "session.input_transcript.delta": ("delta",),
    "session.output_transcript.delta": ("delta",),
    "session.instructions.append": ("content",),
    "session.thinking.append": ("content",),
    "session.commentary.append": ("content",),
}

#: Types whose frames may carry conversation text (redaction looks only at these).
REDACTABLE_TYPES: Final = frozenset(_REDACT_TOP)


class OrderCheck:
    """GPT-Live has no documented response/item order on the sideband: never flags."""

    __slots__ = ()
    #: Tells the capture's encoder it may skip the call per frame (the result is the same).
    never_flags: Final = True

    def check(self, etype: str, event: Mapping[str, Any]) -> bool:
        """Always False (see the module docstring)."""
        return False


def audio_holders(event: dict[str, Any], etype: str) -> list[tuple[dict[str, Any], str, str]]:
    """Where ``event`` carries audio: ``(holder, key, dotted path)`` for each payload."""
    field = AUDIO_PAYLOAD_FIELDS.get(etype)
    return [] if field is None else [(event, field, field)]


def redact_transcripts(event: dict[str, Any], etype: str) -> int:
    """Replace transcript strings in ``event`` in place; returns how many were replaced."""
    n = 0
    for key in _REDACT_TOP.get(etype, ()):
        value = event.get(key)
        if isinstance(value, str) and value and not value.startswith("[redacted "):
            event[key] = f"[redacted {len(value)} chars]"
            n += 1
    return n
