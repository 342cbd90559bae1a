"""Two text helpers every codec's one-line summaries and every view share.

Why: a summary shows a snippet of conversation text, or only its length when the user asked
for redaction; the event log, the transcript and the codecs must hide text the same way.
"""

from __future__ import annotations

__all__ = ["hidden", "snippet"]


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
