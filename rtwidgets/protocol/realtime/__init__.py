"""The GA Realtime codec: its event catalog, decoding, encoding and one-line summaries.

Why a subpackage: everything that knows a GA wire event by name lives here (and in the
emulator), so that a second API is a sibling package, not edits all over the house.
``REALTIME`` is the codec instance the rest of rtwidgets uses by default.
"""

from __future__ import annotations

from .catalog import CLIENT_EVENT_TYPES, SERVER_EVENT_TYPES, category_of, is_known
from .codec import MEANINGFUL_TYPES, REALTIME, RealtimeCodec, decode_meta, usage_of
from .summary import summarize

__all__ = [
    "CLIENT_EVENT_TYPES",
    "MEANINGFUL_TYPES",
    "REALTIME",
    "SERVER_EVENT_TYPES",
    "RealtimeCodec",
    "category_of",
    "decode_meta",
    "is_known",
    "summarize",
    "usage_of",
]
