"""The GA event catalog's old import path, kept so nothing public breaks.

Why: the catalog is part of the GA codec (``rtwidgets.protocol.realtime.catalog``) since the
codec seam; code and notebooks written against ``rtwidgets.protocol.catalog`` keep working.
Nothing is defined here.
"""

from __future__ import annotations

from .realtime.catalog import (
    AUDIO_PAYLOAD_FIELDS,
    CATEGORIES,
    CLIENT_EVENT_TYPES,
    DELTA_EVENT_TYPES,
    SERVER_EVENT_TYPES,
    SIDEBAND_CLIENT_EVENT_TYPES,
    category_of,
    is_known,
)

__all__ = [
    "AUDIO_PAYLOAD_FIELDS",
    "CATEGORIES",
    "CLIENT_EVENT_TYPES",
    "DELTA_EVENT_TYPES",
    "SERVER_EVENT_TYPES",
    "SIDEBAND_CLIENT_EVENT_TYPES",
    "category_of",
    "is_known",
]
