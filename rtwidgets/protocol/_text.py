"""Two text helpers every codec's one-line summaries and every view share.

Why: a summary shows a snippet of conversation text, or only its length when the user asked
for redaction; the event log, the transcript and the codecs must hide text the same way.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_SHOWN_DEPTH", "clip_depth", "displayable", "displayable_tree", "hidden",
           "snippet"]

#: How deep a value a view copies, compares or prints (a session, a tool's arguments).
#: JSON allows any depth and the parser takes about 900 levels; a recursive walk (deepcopy,
#: an indented dump) needs several Python frames a level and would hit the recursion limit.
MAX_SHOWN_DEPTH = 64


def displayable(text: str) -> str:
    """``text`` with lone surrogates (a frame may carry ``"\\ud800"``, valid JSON) replaced
    by U+FFFD: such a string cannot be encoded as UTF-8, so the kernel cannot send it."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def displayable_tree(value: Any, *, finite: bool = False) -> Any:
    """``value`` (parsed JSON) with every string ``displayable``; with ``finite``, ``NaN`` and
    ``±Infinity`` (which Python's parser takes) become ``None``, as a JSON message needs.

    Returns ``value`` itself when nothing needs a change (the usual case: no copy). A value
    too deep to walk is first clipped (``clip_depth``).
    """
    try:
        return _displayable_tree(value, finite)
    except RecursionError:
        return _displayable_tree(clip_depth(value), finite)


def _displayable_tree(value: Any, finite: bool) -> Any:
    if type(value) is str:
        return displayable(value)
    if type(value) is float:
        return value if not finite or value - value == 0.0 else None
    if isinstance(value, dict):
        out: dict[Any, Any] | None = None
        for key, item in value.items():
            safe = _displayable_tree(item, finite)
            skey = displayable(key) if type(key) is str else key
            if safe is not item or skey is not key:
                if out is None:
                    out = dict(value)
                if skey is not key:
                    del out[key]
                out[skey] = safe
        return value if out is None else out
    if isinstance(value, list | tuple):
        items = [_displayable_tree(v, finite) for v in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return items
        return value
    return value


def clip_depth(value: Any, limit: int = MAX_SHOWN_DEPTH) -> Any:
    """``value`` with what lies deeper than ``limit`` levels replaced by a note saying so.

    Returns ``value`` itself when it is not that deep (the usual case: no copy). Recurses at
    most ``limit`` levels, so any parsed value can be clipped.
    """
    if not isinstance(value, dict | list):
        return value
    if limit <= 0:
        return f"… (nested deeper than {MAX_SHOWN_DEPTH} levels: not shown)"
    if isinstance(value, dict):
        out: dict[Any, Any] | None = None
        for key, item in value.items():
            clipped = clip_depth(item, limit - 1)
            if clipped is not item:
                if out is None:
                    out = dict(value)
                out[key] = clipped
        return value if out is None else out
    items = [clip_depth(v, limit - 1) for v in value]
    if any(a is not b for a, b in zip(items, value, strict=True)):
        return items
    return value


def hidden(text: str) -> str:
    """What a redacted string shows instead of itself: its length only."""
    return f"‹{len(text)} chars hidden›"


def snippet(text: str | None, limit: int = 80, *, redact: bool = False) -> str:
    """One line of ``text``, shortened to ``limit`` characters (or hidden when redacting)."""
    if not text:
        return ""
    if redact:
        return hidden(text)
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
