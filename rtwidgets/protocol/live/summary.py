"""One-line summaries of GPT-Live sideband frames, for the event log.

Why: the event log shows every frame as a row with a short human line; writing it needs the
meaning of each Live wire type (a delegation's target, a ``response.event``'s inner type, the
close reason, cumulative usage seconds), which is the Live codec's knowledge, not the view's.
``summary(frame)`` covers every type of the catalog, client and server, and anything else
(an unknown type, a malformed field) as data. It never raises and never shows audio payloads;
with ``redact=True`` it shows no spoken or typed text, only its length.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["summary"]

_MAX: Final = 120


def _map(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _text(value: Any, redact: bool, limit: int = 60) -> str:
    text = _s(value)
    if redact:
        return f"[{len(text)} chars]"
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)


def _span(ev: Mapping[str, Any]) -> str:
    start, end = ev.get("start_ms"), ev.get("end_ms")
    if isinstance(start, int | float) and isinstance(end, int | float):
        return f" @{start:g}–{end:g} ms"
    return ""


def _ack(ev: Mapping[str, Any]) -> str:
    cid = ev.get("client_event_id")
    return f" (for {cid})" if isinstance(cid, str) and cid else ""


def _usage(usage: Mapping[str, Any]) -> str:
    secs = usage.get("seconds")
    bits = [f"{secs:g} s" if isinstance(secs, int | float) else "? s"]
    for key in ("active_seconds", "paused_seconds"):
        value = usage.get(key)
        if isinstance(value, int | float):
            bits.append(f"{key.removesuffix('_seconds')} {value:g} s")
    return ", ".join(bits)


def _session(ev: Mapping[str, Any]) -> str:
    s = _map(ev, "session")
    deleg = s.get("delegation")
    kind = _s(deleg.get("type")) if isinstance(deleg, Mapping) else "client"
    bits = [b for b in (_s(s.get("id")), _s(s.get("model"))) if b]
    bits.append(f"delegation {kind}")
    return " ".join(bits)


def _inner(ev: Mapping[str, Any], redact: bool) -> str:
    # The wrapped type first: the delegation id (26+ characters, the same on every row of a
    # delegation) went first once and pushed what differs off the event log's column.
    inner = _map(ev, "event")
    itype = _s(inner.get("type")) or "?"
    did = _s(ev.get("delegation_id"))
    tail = f" · {did}" if did else ""
    item = _map(inner, "item")
    resp = _map(inner, "response")
    if item:
        if item.get("type") == "function_call":
            call = f"{_s(item.get('name')) or '?'} {_s(item.get('call_id'))}".strip()
            args = item.get("arguments")
            shown = f" {_text(args, redact, 50)}" if args else ""
            return f"{itype} call {call}{shown}{tail}"
        return f"{itype} {_s(item.get('type'))} {_s(item.get('id'))}".rstrip() + tail
    if resp:
        bits = [itype, _s(resp.get("id")), _s(resp.get("status"))]
        usage = _map(resp, "usage")
        if isinstance(usage.get("total_tokens"), int):
            bits.append(f"{usage['total_tokens']} tokens")
        return " ".join(b for b in bits if b) + tail
    if "delta" in inner:
        return f"{itype} {_text(inner.get('delta'), redact, 40)}{tail}"
    if itype == "error" or "message" in inner:
        return f"{itype} {_s(inner.get('code'))} {_text(inner.get('message'), False, 60)}{tail}"
    return itype + tail


def _error(ev: Mapping[str, Any]) -> str:
    err = _map(ev, "error")
    code = _s(err.get("code")) or _s(err.get("type")) or "error"
    param = _s(err.get("param"))
    where = f" [{param}]" if param else ""
    cid = _s(err.get("client_event_id")) or _s(ev.get("client_event_id"))
    for_ = f" (for {cid})" if cid else ""
    return f"{code}{where}: {_text(err.get('message'), False, 80)}{for_}"


def _delegation(ev: Mapping[str, Any]) -> str:
    d = _map(ev, "delegation")
    bits = [_s(d.get("id")) or "?", f"→ {_s(d.get('target')) or '?'}"]
    if d.get("response_id"):
        bits.append(_s(d.get("response_id")))
    off = ev.get("offset_ms")
    if isinstance(off, int | float):
        bits.append(f"@{off:g} ms")
    return " ".join(bits)


def _decision(ev: Mapping[str, Any]) -> str:
    inner = _map(ev, "event")
    decision = _map(inner, "decision")
    answers = decision.get("answers")
    n = len(answers) if isinstance(answers, list) else 0
    who = _s(ev.get("delegation_id")) or _s(ev.get("trigger_id")) or "?"
    return f"{_s(inner.get('type')) or '?'} for {who}: {n} answer(s)"


def _append(ev: Mapping[str, Any], redact: bool) -> str:
    did = ev.get("delegation_id")
    for_ = f" for {did}" if isinstance(did, str) and did else ""
    return f"{_text(ev.get('content'), redact)}{for_}"


def _closed(ev: Mapping[str, Any]) -> str:
    return f"{_s(ev.get('reason')) or '?'}, {_usage(_map(ev, 'usage'))}"


def _usage_updated(ev: Mapping[str, Any]) -> str:
    text = _usage(_map(ev, "usage"))
    ratio = _map(ev, "context_window").get("usage_ratio")
    if isinstance(ratio, int | float):
        text += f", context {ratio:.0%}"
    return text


def _audio(ev: Mapping[str, Any], key: str) -> str:
    data = ev.get(key)
    n = len(data) if isinstance(data, str) else 0
    return f"{n} b64 chars{_span(ev)}" if n else f"audio{_span(ev)}"


def _item_create(ev: Mapping[str, Any], redact: bool) -> str:
    item = _map(ev, "item")
    if item.get("type") == "function_call_output":
        return f"output for {_s(item.get('call_id'))} {_text(item.get('output'), redact, 50)}"
    content = item.get("content")
    if isinstance(content, list):
        texts = [_s(p.get("text")) for p in content if isinstance(p, Mapping)]
        return f"{_s(item.get('role')) or _s(item.get('type'))} {_text(' '.join(texts), redact)}"
    return f"{_s(item.get('type')) or _s(item.get('role')) or 'item'}"


def _update(ev: Mapping[str, Any]) -> str:
    s = _map(ev, "session")
    return "changes " + (", ".join(str(k) for k in s) or "nothing")


_Fn = Callable[[Mapping[str, Any], bool], str]
_BY_TYPE: Final[dict[str, _Fn]] = {
    "session.started": lambda e, r: _session(e),
    "session.updated": lambda e, r: _session(e) + _ack(e),
    "session.closed": lambda e, r: _closed(e),
    "session.usage.updated": lambda e, r: _usage_updated(e),
    "session.input_transcript.delta": lambda e, r: f"caller {_text(e.get('delta'), r)}{_span(e)}",
    "session.output_transcript.delta": lambda e, r: f"agent {_text(e.get('delta'), r)}{_span(e)}",
    "session.delegation.created": lambda e, r: _delegation(e),
    "response.event": _inner,
    "decision.event": lambda e, r: _decision(e),
    "decision.item.created": lambda e, r: f"{_s(_map(e, 'item').get('id'))} "
                                          f"{_s(_map(e, 'item').get('type'))}".strip() + _ack(e),
    "decision.item.deleted": lambda e, r: _s(e.get("item_id")) + _ack(e),
    "error": lambda e, r: _error(e),
    "info": lambda e, r: f"{_s(e.get('code'))}: {_text(e.get('message'), False, 80)}",
    "session.input_audio.append": lambda e, r: "caller " + _audio(e, "audio"),
    "session.output_audio.delta": lambda e, r: "agent " + _audio(e, "delta"),
    "session.output_audio.fixture.play": lambda e, r: _audio(e, "audio"),
    "transport.dtmf.received": lambda e, r: f"key {_s(e.get('event'))!r}",
    "transport.dtmf.send": lambda e, r: f"key {_s(e.get('event'))!r}{_ack(e)}",
    "transport.dtmf.sent": lambda e, r: f"key {_s(e.get('event'))!r}{_ack(e)}",
    "transport.ringing": lambda e, r: _s(e.get("session_id")),
    "transport.answered": lambda e, r: _s(e.get("session_id")),
    "transport.failed": lambda e, r: f"{_s(e.get('session_id'))} {_error(e)}",
    "session.instructions.append": _append,
    "session.thinking.append": _append,
    "session.commentary.append": _append,
    "session.instructions.appended": lambda e, r: f"on the timeline{_span(e)}{_ack(e)}",
    "session.thinking.appended": lambda e, r: f"on the timeline{_span(e)}{_ack(e)}",
    "session.commentary.appended": lambda e, r: f"on the timeline{_span(e)}{_ack(e)}",
    "session.update": lambda e, r: _update(e),
    "response.item.create": _item_create,
    "decision.item.create": lambda e, r: _s(_map(e, "item").get("type")) or "item",
    "decision.item.delete": lambda e, r: _s(e.get("item_id")),
}
_PLAIN: Final[dict[str, str]] = {
    "session.resumed": "inference resumed",
    "session.paused": "inference paused (idle)",
    "session.input_audio.muted": "caller muted (the model hears silence)",
    "session.input_audio.unmuted": "caller unmuted",
    "session.output_audio.fixture.playing": "fixture playing",
    "session.output_audio.fixture.played": "fixture played",
    "session.input_audio.mute": "mute the caller",
    "session.input_audio.unmute": "unmute the caller",
    "session.close": "close the session",
    "response.create": "continue the backend response",
    "decision.create": "evaluate the decision questions",
}


def summary(frame: Any, *, redact: bool = False) -> str:
    """One line (at most 120 characters) describing a Live frame. Never raises."""
    if not isinstance(frame, Mapping):
        return f"not an object: {type(frame).__name__}"
    etype = frame.get("type")
    if not isinstance(etype, str):
        return "no string 'type'"
    try:
        fn = _BY_TYPE.get(etype)
        if fn is not None:
            line = fn(frame, redact)
        else:
            line = _PLAIN.get(etype, "")
            if not line:
                line = "" if etype.startswith("rtwidgets.") else "unknown type"
            line += _ack(frame)
    except Exception:  # a hostile frame: the log still gets a row
        line = "malformed"
    line = " ".join(line.split())
    return line if len(line) <= _MAX else line[: _MAX - 1] + "…"
