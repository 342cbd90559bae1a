"""Which codec speaks which API: ``codec_for(api)``.

Why: a call, a loaded capture and the analysis know their API by name (``call.api``, the
capture header's ``api``, a source's ``api``); each needs the codec for it without naming a
codec module. Old captures without ``api`` are Realtime. Unknown names are refused with
the names that exist (a typo must not silently fold Live frames as Realtime).
"""

from __future__ import annotations

from .codec import Codec
from .errors import ValidationError
from .live.codec import LIVE
from .realtime.codec import REALTIME

__all__ = ["API_NAMES", "codec_for"]

_CODECS: dict[str, Codec] = {"realtime": REALTIME, "live": LIVE}
#: The API names a codec exists for.
API_NAMES = tuple(_CODECS)


def codec_for(api: str | None) -> Codec:
    """The codec of ``api`` (``"realtime"`` or ``"live"``; ``None``: Realtime).

    A codec that keeps per-call state (Live) is returned as its template: ``SessionState``
    takes its own copy."""
    if api is None:
        return REALTIME
    codec = _CODECS.get(api)
    if codec is None:
        raise ValidationError("api", f"{api!r} is not an API rtwidgets speaks",
                              f"use one of {', '.join(repr(a) for a in API_NAMES)}")
    return codec
