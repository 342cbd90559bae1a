"""What the capture needs to know about GA frames: where audio and transcripts travel, and
which server events arrive out of the documented order.

Why: the capture records every frame as it crossed the wire; it drops audio payloads (keeping
their length), can redact transcripts, and flags frames that reference a response or item the
stream has not seen start. Each of these needs the *meaning* of a wire type, which is the
codec's knowledge: ``_capture.py`` does the byte work and asks here.

Never raises on a hostile frame (an id that is a list, a missing object): the order check
treats a field of the wrong type as absent (issue 11: ``{"type": "conversation.created",
"response_id": []}`` used to end the receive loop here).
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

#: Types whose frames may carry an audio payload (the capture blanks it by default).
AUDIO_TYPES: Final = frozenset((*AUDIO_PAYLOAD_FIELDS, "conversation.item.retrieved"))

# Transcript-bearing string fields blanked by redaction, by event type.
_REDACT_TOP: Final[dict[str, tuple[str, ...]]] = {
    "response.output_audio_transcript.delta": ("delta",),
    "response.output_audio_transcript.done": ("transcript",),
    "response.output_text.delta": ("delta",),
    "response.output_text.done": ("text",),
    "conversation.item.input_audio_transcription.delta": ("delta",),
    "conversation.item.input_audio_transcription.completed": ("transcript",),
    "conversation.item.input_audio_transcription.segment": ("text",),
}
_REDACT_KEYS: Final = frozenset({"transcript", "text"})
_ITEM_PREFIXES: Final = ("conversation.item.", "response.output_item.")
_RESPONSE_SNAPSHOTS: Final = ("response.done", "response.created")

#: Types whose frames may carry conversation text (redaction looks only at these).
REDACTABLE_TYPES: Final = frozenset(
    t for t in KNOWN_TYPES
    if t in _REDACT_TOP or t.startswith((*_ITEM_PREFIXES, "response.content_part."))
    or t in _RESPONSE_SNAPSHOTS
)

_ITEM_EVENTS: Final = frozenset({
    "response.output_item.added", "response.output_item.done", "conversation.item.added",
    "conversation.item.created", "conversation.item.done", "conversation.item.retrieved"})


#: Known types checked only by their ``response_id`` and ``item_id`` (the fast path).
_PLAIN: Final = frozenset(
    t for t in KNOWN_TYPES
    if t not in _RESPONSE_SNAPSHOTS and t not in _ITEM_EVENTS
    and not t.startswith("output_audio_buffer."))


class OrderCheck:
    """Flags server events that reference a response or item this stream has not seen start.

    State: the response ids seen in ``response.created``, those already done, and the item
    ids seen in item events. Pure and deterministic, so a loaded capture reproduces the
    live flags.
    """

    __slots__ = ("done", "items", "started")

    def __init__(self) -> None:
        self.started: set[str] = set()
        self.done: set[str] = set()
        self.items: set[str] = set()

    def check(self, etype: str, event: Mapping[str, Any]) -> bool:
        """True when ``event`` is out of the documented order."""
        if etype in _PLAIN:
            # Most frames of a call (deltas, parts, dones of an item): one set lookup to
            # get here, then the response and item checks below.
            rid = event.get("response_id")
            if type(rid) is not str:
                return False
            if rid not in self.started or rid in self.done:
                return True
            iid = event.get("item_id")
            return type(iid) is str and iid not in self.items
        if etype in _RESPONSE_SNAPSHOTS:
            resp = event.get("response")
            rid = resp.get("id") if isinstance(resp, dict) else None
            if not isinstance(rid, str):
                return False
            if etype == "response.created":
                ooo = rid in self.started
                self.started.add(rid)
                return ooo
            ooo = rid not in self.started or rid in self.done
            self.done.add(rid)
            return ooo
        if etype in _ITEM_EVENTS:
            item = event.get("item")
            iid = item.get("id") if isinstance(item, dict) else None
            if isinstance(iid, str):
                self.items.add(iid)
        rid = event.get("response_id")
        if not isinstance(rid, str) or etype.startswith("output_audio_buffer."):
            return False
        if rid not in self.started or rid in self.done:
            return True
        # a part, delta or done of an item whose output_item.added was not seen
        iid = event.get("item_id")
        return isinstance(iid, str) and iid not in self.items


def audio_holders(event: dict[str, Any], etype: str) -> list[tuple[dict[str, Any], str, str]]:
    """Where ``event`` carries audio: ``(holder, key, dotted path)`` for each payload."""
    field = AUDIO_PAYLOAD_FIELDS.get(etype)
    if field is not None:
        return [(event, field, field)]
    holders: list[tuple[dict[str, Any], str, str]] = []
    if etype == "conversation.item.retrieved":
        item = event.get("item")
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(content, list):
            for i, part in enumerate(content):
                if isinstance(part, dict):
                    holders.append((part, "audio", f"item.content.{i}.audio"))
    return holders


def redact_transcripts(event: dict[str, Any], etype: str) -> int:
    """Replace transcript strings in ``event`` in place; returns how many were replaced."""
    n = 0

    def mark(holder: dict[str, Any], key: str) -> None:
        nonlocal n
        value = holder.get(key)
        if isinstance(value, str) and value and not value.startswith("[redacted "):
            holder[key] = f"[redacted {len(value)} chars]"
            n += 1

    for key in _REDACT_TOP.get(etype, ()):
        mark(event, key)

    def walk_item(item: Any) -> None:
        if isinstance(item, dict):
            content = item.get("content")
            if isinstance(content, list):
                for part in content:
                    if isinstance(part, dict):
                        for key in _REDACT_KEYS:
                            mark(part, key)

    if etype.startswith(_ITEM_PREFIXES):
        walk_item(event.get("item"))
    elif etype.startswith("response.content_part."):
        part = event.get("part")
        if isinstance(part, dict):
            for key in _REDACT_KEYS:
                mark(part, key)
    elif etype in _RESPONSE_SNAPSHOTS:
        resp = event.get("response")
        if isinstance(resp, dict) and isinstance(resp.get("output"), list):
            for item in resp["output"]:
                walk_item(item)
    return n
