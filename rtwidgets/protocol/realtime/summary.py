"""One-line summaries of GA Realtime frames, for the event log.

Why: the event log shows every frame as a row with a short human line ("resp_… completed
(turn_detected) 812 tokens"); writing that line needs the meaning of each wire type, which
is the codec's knowledge, not the view's. The view calls the codec's ``summary`` and shows
the wire type as data. Never raises on a malformed frame is the *caller's* guarantee
(``RealtimeCodec.summary`` catches); this module may assume nothing about field types.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._text import snippet
from .catalog import DELTA_EVENT_TYPES

__all__ = ["summarize"]


def _map(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def _text_of_item(item: Mapping[str, Any]) -> str:
    kind = item.get("type")
    if kind == "function_call":
        return f"{item.get('name', '?')}({item.get('arguments') or ''})"
    if kind == "function_call_output":
        out = item.get("output")
        return out if isinstance(out, str) else ""
    parts = item.get("content")
    texts: list[str] = []
    if isinstance(parts, list):
        for part in parts:
            if isinstance(part, Mapping):
                text = part.get("text") or part.get("transcript")
                if isinstance(text, str):
                    texts.append(text)
    return " ".join(texts)


def _item_summary(item: Any, *, redact: bool) -> str:
    if not isinstance(item, Mapping):
        return ""
    who = item.get("role") or item.get("type") or "item"
    bits = [str(item.get("id") or ""), str(who)]
    if item.get("type") == "function_call":
        name = item.get("name")
        bits.append(f"call {name}" if name else "call")
        args = item.get("arguments")
        if args:
            bits.append(snippet(str(args), 60, redact=redact))
    elif item.get("type") == "function_call_output":
        bits.append(f"output for {item.get('call_id')}")
        bits.append(snippet(_text_of_item(item), 60, redact=redact))
    else:
        bits.append(snippet(_text_of_item(item), 60, redact=redact))
    if item.get("status"):
        bits.append(f"[{item['status']}]")
    return " ".join(b for b in bits if b)


def summarize(
    ev: Mapping[str, Any],
    etype: str,
    count: int = 1,
    last: Mapping[str, Any] | None = None,
    *,
    redact: bool = False,
    item_text: Any = None,
) -> str:
    """A one-line summary of an event (or of ``count`` folded deltas)."""
    if etype in DELTA_EVENT_TYPES:
        item_id = ev.get("item_id") or ev.get("call_id") or "?"
        if etype == "response.output_audio.delta":
            return f"{item_id} ×{count} audio chunks"
        text = item_text(item_id) if item_text is not None else None
        if text is None:
            text = str((last or ev).get("delta") or "")
        return f"{item_id} ×{count} {snippet(text, 70, redact=redact)}".rstrip()
    if etype == "error":
        err = _map(ev, "error")
        code = err.get("code") or err.get("type") or "error"
        return f"{code}: {snippet(str(err.get('message') or ''), 90)}"
    if etype in ("session.created", "session.updated"):
        s = _map(ev, "session")
        audio = _map(s, "audio")
        out = _map(audio, "output")
        inp = _map(audio, "input")
        td = inp.get("turn_detection")
        td_type = td.get("type") if isinstance(td, Mapping) else "off"
        mods = ",".join(s.get("output_modalities") or [])
        instr = s.get("instructions")
        parts = [f"{s.get('model', '')}", f"voice={out.get('voice')}", f"out={mods}",
                 f"turns={td_type}", f"tools={len(s.get('tools') or [])}"]
        if isinstance(instr, str) and instr:
            parts.append(f"instructions: {snippet(instr, 40, redact=redact)}")
        return " ".join(p for p in parts if p)
    if etype == "session.update":
        s = _map(ev, "session")
        return "set " + ", ".join(_paths(s)) if s else "set (nothing)"
    if etype in ("conversation.item.added", "conversation.item.done",
                 "conversation.item.created", "conversation.item.retrieved",
                 "conversation.item.create", "response.output_item.added",
                 "response.output_item.done"):
        return _item_summary(ev.get("item"), redact=redact)
    if etype in ("response.created", "response.done"):
        r = _map(ev, "response")
        bits = [str(r.get("id") or ""), str(r.get("status") or "")]
        details = r.get("status_details")
        if isinstance(details, Mapping) and details.get("reason"):
            bits.append(f"({details['reason']})")
        usage = r.get("usage")
        if isinstance(usage, Mapping) and usage.get("total_tokens") is not None:
            bits.append(f"{usage['total_tokens']} tokens")
        return " ".join(b for b in bits if b)
    if etype in ("response.output_text.done", "response.output_audio_transcript.done",
                 "conversation.item.input_audio_transcription.completed"):
        text = ev.get("text") if etype.endswith("text.done") else ev.get("transcript")
        return f"{ev.get('item_id')} {snippet(str(text or ''), 70, redact=redact)}".rstrip()
    if etype == "response.function_call_arguments.done":
        return (f"{ev.get('call_id')} {ev.get('name')}"
                f"({snippet(str(ev.get('arguments') or ''), 50, redact=redact)})")
    if etype == "conversation.item.truncated":
        return f"{ev.get('item_id')} at {ev.get('audio_end_ms')} ms"
    if etype == "rate_limits.updated":
        limits = ev.get("rate_limits") or []
        return " ".join(
            f"{x.get('name')} {x.get('remaining')}/{x.get('limit')}"
            for x in limits if isinstance(x, Mapping)
        )
    if etype == "rtwidgets.status":
        return f"{ev.get('status')} {ev.get('reason') or ''}".rstrip()
    if etype == "rtwidgets.gap":
        return f"gap: {ev.get('reason')}"
    if etype == "rtwidgets.tool_answered":
        return f"{ev.get('call_id')} answered by {ev.get('by')}"
    if etype == "rtwidgets.bad_frame":
        return f"bad frame: {snippet(str(ev.get('error') or ''), 80)}"
    if etype == "input_audio_buffer.dtmf_event_received":
        return f"key {ev.get('event')}"
    bits = []
    for key in ("item_id", "response_id", "call_id", "audio_start_ms", "audio_end_ms"):
        if key in ev:
            bits.append(f"{key}={ev[key]}" if key.endswith("_ms") else str(ev[key]))
    if not bits:
        bits = [k for k in ev if k not in ("type", "event_id")]
    return " ".join(bits)


def _paths(obj: Mapping[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and key != "turn_detection":
            out.extend(_paths(value, path + "."))
        else:
            out.append(path)
    return out
