"""Identifier generators in the shapes the Realtime server uses.

Why: the emulator must mint ids a client cannot tell from the real server's, and tests and
notebooks need them *reproducible* (nbval compares outputs), so every generator draws from an
``IdFactory`` that can be seeded. Pure: no clock, no I/O; a seeded factory is deterministic.

Shapes (realtime-protocol.md §1):
``rtc_u1_<32 hex>`` (WebRTC call), ``rtc_u0_<32 hex>`` (SIP call), ``event_``/``item_``/
``resp_``/``conv_``/``sess_`` + 21 base62, ``call_`` + 16 base62 (function call id),
``ek_`` + 32 hex (client secret), ``evt_`` + 32 hex (webhook event), ``wh_`` + 32 hex
(webhook delivery).
"""

from __future__ import annotations

import random
import re
import secrets
import string

__all__ = [
    "CALL_ID_RE",
    "IdFactory",
    "is_call_id",
]

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_HEX = "0123456789abcdef"

#: A Realtime call id: WebRTC ``rtc_u1_…``, SIP ``rtc_u0_…`` or the older ``rtc_<hex>``.
CALL_ID_RE = re.compile(r"^rtc_(?:u\d_)?[0-9a-f]{32}$")


def is_call_id(value: str) -> bool:
    """Whether ``value`` has the shape of a Realtime call id."""
    return bool(CALL_ID_RE.match(value))


class IdFactory:
    """Mints ids in the server's formats.

    Args:
        seed: ``None`` draws from the OS's CSPRNG (ids are unpredictable, as on the real
            server); an int gives a deterministic sequence for tests, docs and notebooks.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._rng: random.Random | None = None if seed is None else random.Random(seed)

    def _pick(self, alphabet: str, n: int) -> str:
        if self._rng is None:
            return "".join(secrets.choice(alphabet) for _ in range(n))
        rng = self._rng
        return "".join(rng.choice(alphabet) for _ in range(n))

    def hex32(self) -> str:
        """32 lowercase hex digits."""
        return self._pick(_HEX, 32)

    def base62(self, n: int = 21) -> str:
        """``n`` base62 characters."""
        return self._pick(_BASE62, n)

    def webrtc_call_id(self) -> str:
        """``rtc_u1_<32 hex>``: the id read from a WebRTC ``Location`` header."""
        return f"rtc_u1_{self.hex32()}"

    def sip_call_id(self) -> str:
        """``rtc_u0_<32 hex>``: the id carried by ``realtime.call.incoming``."""
        return f"rtc_u0_{self.hex32()}"

    def event_id(self) -> str:
        """A server ``event_id``."""
        return f"event_{self.base62()}"

    def client_event_id(self) -> str:
        """A client ``event_id`` (any string is allowed; we use the server's shape)."""
        return f"event_{self.base62()}"

    def item_id(self) -> str:
        """A server-made conversation item id."""
        return f"item_{self.base62()}"

    def response_id(self) -> str:
        """A response id."""
        return f"resp_{self.base62()}"

    def conversation_id(self) -> str:
        """A conversation id."""
        return f"conv_{self.base62()}"

    def session_id(self) -> str:
        """A session id."""
        return f"sess_{self.base62()}"

    def function_call_id(self) -> str:
        """A function ``call_id`` (``call_`` + 16 base62)."""
        return f"call_{self.base62(16)}"

    def client_secret(self) -> str:
        """An ephemeral client secret ``ek_…``."""
        return f"ek_{self.hex32()}"

    def webhook_event_id(self) -> str:
        """A webhook body ``id`` (``evt_…``)."""
        return f"evt_{self.hex32()}"

    def webhook_delivery_id(self) -> str:
        """A ``webhook-id`` header value (``wh_…``)."""
        return f"wh_{self.hex32()}"
