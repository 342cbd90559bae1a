"""Identifier shapes: the one place that says what an id may look like, and mints ids.

Why: ids enter rtwidgets from people (a pasted call id, a form field), from the wire (a
``Location`` header, a webhook) and from files (a capture's header), and the emulator must
mint ids a client cannot tell from the real server's. Both sides used to trust the shape of
the documentation's examples (``rtc_u1_`` + 32 hex), which real traffic does not keep: real
call ids are mixed-case base62 of varying length (``rtc_u0_E7JGG7YLOPmJfNx4alnIn``, 21
characters; ``rtc_u0_ERgXRp3oMMnXYswMZiboahqXEVDezFD9``, 32; realtime-protocol.md §1, issue
10). So every id is **opaque**: a check looks at the prefix and at a safe character set, never
at a length or an alphabet copied from an example.

The rules, each as lenient as the service and as strict as safety needs:

- **Realtime call id** (``check_call_id``, ``is_call_id``): ``rtc_`` + 1 to 124 characters of
  ``[A-Za-z0-9_-]``. The character set keeps what reaches a URL path (``/calls/{id}/hangup``),
  a query string (``?call_id=``), a file name (``captures/<call_id>-….jsonl``) and a log line
  inert: no ``/``, ``.``, ``?``, ``%``, whitespace or control characters. The cap (128 in all)
  is about four times the longest id seen (39) and keeps a capture's file name far below the
  255-byte limit of common file systems; it bounds what a paste can push through, not what
  the service may mint. Anything secret-shaped (``sk-…``, ``sk-proj-…``, ``rk-…``, ``ek_…``,
  ``whsec_…``, a bearer token), even after an ``rtc_`` prefix, is refused, and the value is
  never echoed in an error: people paste keys into the call-id box.
- **Live session id** (``check_live_session_id``, ``is_live_session_id``): ``live_`` + 1 to 123
  characters of the same safe set, the same 128 cap and the same refusal of secrets. Real ids
  are ``live_u0_`` / ``live_u1_`` + 32 base62 (``live_u0_EUrPjp3oMERblJsADSyL1hZGfCQubB3V``,
  ``live_u1_EUrRCp3oNAW04iwqigqdEYngTq5KnmX7``: the GPT-Live traces in tests/reality, both seen
  on WebRTC), and the SDK says to "preserve the returned value unchanged, including its
  prefix" (live-protocol.md §2.4): so only the prefix is checked, and the ``u`` digit means
  nothing here (``transport_kind`` answers ``None`` for a Live id).
- **Which API** (``api_of_id``): ``"realtime"`` for ``rtc_…``, ``"live"`` for ``live_…``,
  ``None`` for anything else. Control functions take an ``api=`` override for an id whose
  prefix says nothing (``check_opaque_id`` then only checks that the id is safe to send).
- **Transport kind** (``transport_kind``): ``rtc_u0_…`` is SIP and ``rtc_u1_…`` WebRTC in every
  id seen so far; an id without that marker is still a call id, its kind is just unknown.
- **Server-made ids** (``event_``, ``item_``, ``resp_``, ``conv_``, ``sess_``, function
  ``call_``): never checked by shape anywhere; they are data to show and to link by.
- **Client-supplied ids** (protocol/builders.py): an item id is a non-empty string of at most 32
  characters (the service documents that limit); a client ``event_id`` a non-empty string of at
  most 512 (the service accepts any string); a tool ``call_id`` in ``send_tool_output`` must be
  a pending tool call of the call (stronger than any shape). Secret-shaped values are refused
  in all of them, because client ids are sent, captured and echoed back by the server.
- **Webhook ids** (``evt_…`` body id, ``wh_…`` ``webhook-id`` header): not checked by shape;
  the signature vouches for them and the inbox only uses them as de-duplication keys.
- **Transfer targets** (``TEL_URI_RE``, ``SIP_URI_RE``): RFC 3966 ``tel:`` and RFC 3261
  ``sip:``/``sips:`` URIs, checked lightly (scheme, a number or a host, no whitespace), because
  the service passes them to a SIP REFER it does not document further.

Minting (``IdFactory``) is pure: no clock, no I/O; a seeded factory is deterministic.
"""

from __future__ import annotations

import random
import re
import secrets
import string
from typing import Final, Literal

from .errors import ValidationError, mask_secrets

__all__ = [
    "CALL_ID_MAX_LENGTH",
    "CALL_ID_PREFIX",
    "CALL_ID_RE",
    "CALL_ID_TAIL_LENGTHS",
    "LIVE_SESSION_ID_PREFIX",
    "LIVE_SESSION_ID_RE",
    "SIP_URI_RE",
    "TEL_URI_RE",
    "ApiName",
    "IdFactory",
    "api_of_id",
    "call_id_from_location",
    "check_call_id",
    "check_live_session_id",
    "check_opaque_id",
    "is_call_id",
    "is_live_session_id",
    "looks_secret",
    "refuse_secret",
    "shown_id",
    "transport_kind",
]

_BASE62: Final = string.digits + string.ascii_uppercase + string.ascii_lowercase

#: Every Realtime call id starts with this.
CALL_ID_PREFIX: Final = "rtc_"
#: The longest call id accepted (see the module docstring for why 128).
CALL_ID_MAX_LENGTH: Final = 128
#: A Realtime call id: the prefix and a safe, bounded tail. Use ``is_call_id`` (it also
#: refuses secret-shaped values); the pattern is anchored at both ends (``\Z``, not ``$``,
#: which would let a trailing newline through).
CALL_ID_RE: Final = re.compile(rf"^rtc_[A-Za-z0-9_-]{{1,{CALL_ID_MAX_LENGTH - 4}}}\Z")
_SAFE_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
#: Every GPT-Live session id starts with this (live-protocol.md §2.4).
LIVE_SESSION_ID_PREFIX: Final = "live_"
#: A Live session id: the prefix and a safe, bounded tail (same rules as ``CALL_ID_RE``).
LIVE_SESSION_ID_RE: Final = re.compile(
    rf"^live_[A-Za-z0-9_-]{{1,{CALL_ID_MAX_LENGTH - 5}}}\Z"
)
#: The two voice APIs an id can belong to.
ApiName = Literal["realtime", "live"]
_TRANSPORT_RE: Final = re.compile(r"rtc_u(\d)_")

# tel: URIs (RFC 3966): a global "+digits" or local number with visual separators, then params.
TEL_URI_RE: Final = re.compile(r"tel:\+?[0-9A-Fa-f*#][0-9A-Fa-f*#\-.()]*(;[^\s;]+)*")
# sip:/sips: URIs (RFC 3261), checked lightly: optional userinfo, a host, optional port,
# then parameters and headers. Whitespace and control characters are never allowed.
SIP_URI_RE: Final = re.compile(
    r"sips?:(?:[^\s@:;?]+(?::[^\s@;?]*)?@)?"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
    r"(?::[0-9]{1,5})?(?:;[^\s;?]+)*(?:\?[^\s]+)?"
)

_CALL_ID_FIX: Final = (
    "pass the call id exactly as the server gave it: 'rtc_u0_…' from data.call_id of the "
    "realtime.call.incoming webhook (SIP), or 'rtc_u1_…', the last path segment of the "
    "WebRTC Location header; only letters, digits, '_' and '-' follow 'rtc_'"
)


def looks_secret(value: str) -> bool:
    """Whether ``value`` contains anything shaped like an API key, client or webhook secret."""
    return mask_secrets(value) != value


def refuse_secret(value: str, field: str) -> None:
    """``ValidationError`` naming ``field`` when ``value`` is shaped like a key or secret.

    For free-form client ids (item ids, ``event_id``, ``response_id``, a tool ``call_id``):
    the service accepts any string there, but a pasted key would be sent, captured and echoed
    back in the server's ``error`` events.
    """
    if looks_secret(value):
        raise ValidationError(
            field, "looks like an API key or secret, not an id (not shown)",
            "pass the id itself, never a key; if a key was pasted where others can see it, "
            "rotate it",
        )


def is_call_id(value: object) -> bool:
    """Whether ``value`` is acceptable as a Realtime call id (``rtc_`` + a safe tail)."""
    return (
        isinstance(value, str)
        and CALL_ID_RE.fullmatch(value) is not None
        and not looks_secret(value)
    )


def check_call_id(value: object, field: str = "call_id") -> str:
    """``value`` if it is a Realtime call id, else ``ValidationError`` naming ``field``.

    The error says what is wrong and how to fix it, and never quotes the value: what people
    paste into a call-id box by mistake is often an API key.
    """
    if not isinstance(value, str):
        raise ValidationError(
            field, f"expected a string, got {type(value).__name__}", _CALL_ID_FIX,
            code="invalid_type",
        )
    if is_call_id(value):
        return value
    fix = _CALL_ID_FIX
    if not value.strip():
        problem = "is empty"
    elif looks_secret(value):
        problem = "looks like an API key or secret, not a call id (not shown)"
        fix = ("paste the call id (it starts with 'rtc_'), never a key, into this field; if a "
               "key was pasted where others can see it, rotate it")
    elif any(c.isspace() for c in value):
        problem = "contains spaces or line breaks, which a call id never has"
    elif "://" in value or "/" in value or "?" in value:
        problem = "is a URL or a path, not a call id"
    elif not value.startswith(CALL_ID_PREFIX):
        problem = "does not start with 'rtc_', so it is not a Realtime call id"
    elif len(value) > CALL_ID_MAX_LENGTH:
        problem = f"is {len(value)} characters long, above the limit of {CALL_ID_MAX_LENGTH}"
    else:
        problem = ("contains characters a call id never has (only letters, digits, '_' and "
                   "'-' follow 'rtc_')")
    raise ValidationError(field, problem, fix)


_LIVE_ID_FIX: Final = (
    "pass the session id exactly as the server gave it: 'live_…' from data.session_id of the "
    "live.transport.incoming webhook (SIP), or session.id of the Live create or fork answer "
    "(WebRTC); only letters, digits, '_' and '-' follow 'live_'"
)


def is_live_session_id(value: object) -> bool:
    """Whether ``value`` is acceptable as a GPT-Live session id (``live_`` + a safe tail)."""
    return (
        isinstance(value, str)
        and LIVE_SESSION_ID_RE.fullmatch(value) is not None
        and not looks_secret(value)
    )


def _id_problem(value: str, prefix: str, what: str) -> tuple[str, bool]:
    """What is wrong with ``value`` as an id with ``prefix``; ``True`` when it is secret-like."""
    if not value.strip():
        return "is empty", False
    if looks_secret(value):
        return f"looks like an API key or secret, not {what} (not shown)", True
    if any(c.isspace() for c in value):
        return f"contains spaces or line breaks, which {what} never has", False
    if "://" in value or "/" in value or "?" in value:
        return f"is a URL or a path, not {what}", False
    if not value.startswith(prefix):
        return f"does not start with {prefix!r}, so it is not {what}", False
    if len(value) > CALL_ID_MAX_LENGTH:
        return f"is {len(value)} characters long, above the limit of {CALL_ID_MAX_LENGTH}", False
    return (f"contains characters {what} never has (only letters, digits, '_' and '-' "
            f"follow {prefix!r})"), False


_SECRET_FIX: Final = ("paste the id itself, never a key, into this field; if a key was pasted "
                      "where others can see it, rotate it")


def check_live_session_id(value: object, field: str = "session_id") -> str:
    """``value`` if it is a GPT-Live session id, else ``ValidationError`` naming ``field``.

    Like ``check_call_id``: the value is never quoted in the error.
    """
    if not isinstance(value, str):
        raise ValidationError(
            field, f"expected a string, got {type(value).__name__}", _LIVE_ID_FIX,
            code="invalid_type",
        )
    if is_live_session_id(value):
        return value
    problem, secret = _id_problem(value, LIVE_SESSION_ID_PREFIX, "a Live session id")
    raise ValidationError(field, problem, _SECRET_FIX if secret else _LIVE_ID_FIX)


def api_of_id(value: object) -> ApiName | None:
    """``"realtime"`` for a Realtime call id, ``"live"`` for a Live session id, else ``None``.

    Decided by the prefix alone (``rtc_`` / ``live_``) and only for ids that pass their check:
    a pasted key or a path is ``None``, never an API.
    """
    if is_call_id(value):
        return "realtime"
    if is_live_session_id(value):
        return "live"
    return None


def check_opaque_id(value: object, field: str) -> str:
    """``value`` if it is safe to send as an id whose API the caller named (``api=``).

    For ids whose prefix says nothing: the same safe character set and 128 cap as every id,
    secrets refused, the value never quoted.
    """
    if not isinstance(value, str):
        raise ValidationError(
            field, f"expected a string, got {type(value).__name__}",
            "pass the id exactly as the server gave it", code="invalid_type",
        )
    if _SAFE_ID_RE.fullmatch(value) and not looks_secret(value):
        return value
    problem, secret = _id_problem(value, "", "an id")
    raise ValidationError(
        field, problem,
        _SECRET_FIX if secret else "pass the id exactly as the server gave it: letters, digits, "
        "'_' and '-' only, at most 128 characters",
    )


def call_id_from_location(location: str) -> str | None:
    """The call id a ``Location`` header ends in, or ``None``.

    Takes the last path segment and ignores a query string or fragment, so
    ``/v1/realtime/calls/rtc_u0_E52x…`` and ``https://…/calls/rtc_u1_…?x=1`` both work.
    """
    path = re.split(r"[?#]", location, maxsplit=1)[0].strip().rstrip("/")
    segment = path.rsplit("/", 1)[-1]
    return segment if is_call_id(segment) else None


def transport_kind(call_id: str) -> Literal["sip", "webrtc"] | None:
    """``"sip"`` for ``rtc_u0_…``, ``"webrtc"`` for ``rtc_u1_…``, else ``None`` (unknown).

    Derived from the prefix when present, never required: the marker is what every id seen so
    far carries, not a documented rule.
    """
    m = _TRANSPORT_RE.match(call_id) if isinstance(call_id, str) else None
    if m is None:
        return None
    return {"0": "sip", "1": "webrtc"}.get(m.group(1))  # type: ignore[return-value]


def shown_id(value: object) -> str:
    """``repr(value)`` when it is a safe id-shaped string, else a placeholder.

    For messages that name an id the user gave (an unknown tool call, a call not found):
    a safe id is worth showing, anything else (a pasted key, a payload) is not echoed.
    """
    if isinstance(value, str) and _SAFE_ID_RE.fullmatch(value) and not looks_secret(value):
        return repr(value)
    return "(a value that is not an id; not shown)"


#: Width of the time stem at the start of server-made ids. Real ids of one session share
#: their first characters, and ids made in the same second share the first five: ``item_``,
#: ``event_`` and ``resp_`` ``C1PSb…`` of one response, its ``conv_C1PSN…`` made earlier
#: (public log of a real session, liusida/dictionary Server2/OpenAI-Realtime-API-responses-
#: example.md); ``event_Ct1OV…`` / ``item_Ct1OX…`` (realtime-protocol.md §1). Base62 digits in
#: ASCII order (0-9, A-Z, a-z) make the fixed-width stem sort as its number does.
_STEM_WIDTH: Final = 5
_STEM_SPACE: Final = 62**_STEM_WIDTH
#: Observed lengths of the base62 tail of real call ids (realtime-protocol.md §1).
CALL_ID_TAIL_LENGTHS: Final = (21, 32)


#: Every pair of base62 digits, by value (0 to 62**2 - 1): ids are written two digits a step.
_BASE62_PAIRS: Final = tuple(a + b for a in _BASE62 for b in _BASE62)
_POWERS62: dict[int, int] = {}


def _power62(n: int) -> int:
    power = _POWERS62.get(n)
    if power is None:
        power = _POWERS62[n] = 62**n
    return power


def _base62_fixed(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        out.append(_BASE62[digit])
    return "".join(reversed(out))


def _base62_pairs(value: int, n: int) -> str:
    """``n`` base62 digits of ``value`` (below ``62**n``), written two digits a step."""
    out = []
    for _ in range(n >> 1):
        value, pair = divmod(value, 3844)
        out.append(_BASE62_PAIRS[pair])
    if n & 1:
        out.append(_BASE62[value])
    return "".join(out)


class IdFactory:
    """Mints ids in the server's formats.

    Server-made ids (``event_``, ``item_``, ``resp_``, ``conv_``, ``sess_`` + 21 base62) start
    with a five-character stem that encodes a virtual time in seconds, as real ones do: ids made
    at the same virtual time share it, later ones sort after. The time only moves when told
    (``advance_to``), from the caller's (virtual) clock, never from the wall clock; the stem's
    starting point is drawn from the factory's generator, so a seeded factory repeats itself.

    Args:
        seed: ``None`` draws from the OS's CSPRNG (ids are unpredictable, as on the real
            server); an int gives a deterministic sequence for tests, docs and notebooks.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._rng: random.Random | None = None if seed is None else random.Random(seed)
        # In the lower half of the stem space: ~450 million seconds before it could wrap.
        self._stem_base = _STEM_SPACE // 4 + self._below(_STEM_SPACE // 4)
        self._time = 0
        self._stem_at = -1
        self._stem = ""

    def _below(self, n: int) -> int:
        return secrets.randbelow(n) if self._rng is None else self._rng.randrange(n)

    def _random_base62(self, n: int) -> str:
        # One draw per id, not one per character: a number below 62**n, written in base62
        # two digits at a time. Its digits are uniform and independent as n separate draws
        # would be; the emulator mints ~30 ids a second per call, and drawing each character
        # with its own ``choice`` was the largest cost of a busy emulator after the GC.
        return _base62_pairs(self._below(_power62(n)), n)

    def _random_hex(self, n: int) -> str:
        bits = self._rng.getrandbits(4 * n) if self._rng is not None else \
            secrets.randbits(4 * n)
        return f"{bits:0{n}x}"

    # -- the clock behind the stem

    @property
    def time(self) -> int:
        """The virtual time (whole seconds since the factory was made) the stem encodes."""
        return self._time

    def advance_to(self, seconds: float) -> None:
        """Move the stem's virtual time to ``seconds`` (never backwards: ids stay ordered)."""
        self._time = max(self._time, int(seconds))

    def stem(self) -> str:
        """The current time stem (five base62 characters)."""
        if self._stem_at != self._time:     # written once per virtual second, not per id
            self._stem_at = self._time
            self._stem = _base62_fixed((self._stem_base + self._time) % _STEM_SPACE,
                                       _STEM_WIDTH)
        return self._stem

    def _stemmed(self, prefix: str, n: int = 21) -> str:
        return f"{prefix}{self.stem()}{self.base62(n - _STEM_WIDTH)}"

    # -- raw material

    def hex32(self) -> str:
        """32 lowercase hex digits."""
        return self._random_hex(32)

    def base62(self, n: int = 21) -> str:
        """``n`` base62 characters."""
        return self._random_base62(n)

    def obfuscation(self, n: int) -> str:
        """An ``obfuscation`` value of ``n`` characters: mixed-case base62, as real ones are."""
        return self.base62(n)

    # -- ids

    def _call_tail(self) -> str:
        low, high = CALL_ID_TAIL_LENGTHS
        return self.base62(low + self._below(high - low + 1))

    def webrtc_call_id(self) -> str:
        """``rtc_u1_`` + 21 to 32 base62: the id read from a WebRTC ``Location`` header."""
        return f"rtc_u1_{self._call_tail()}"

    def sip_call_id(self) -> str:
        """``rtc_u0_`` + 21 to 32 base62: the id carried by ``realtime.call.incoming``."""
        return f"rtc_u0_{self._call_tail()}"

    def live_session_id(self) -> str:
        """``live_u0_`` / ``live_u1_`` + 32 base62: a GPT-Live session id.

        Both markers were seen on real WebRTC sessions (tests/reality/ids.json) and what the
        digit means is unknown (live-protocol.md §2.4), so it is drawn with the tail: one draw
        per id, as every other id (the lowest bit is the marker, the rest the 32 digits).
        """
        value = self._below(2 * _power62(32))
        return f"live_u{value & 1}_{_base62_pairs(value >> 1, 32)}"

    def event_id(self) -> str:
        """A server ``event_id``."""
        return self._stemmed("event_")

    def client_event_id(self) -> str:
        """A client ``event_id`` (any string is allowed; we use the server's shape)."""
        return self._stemmed("event_")

    def item_id(self) -> str:
        """A server-made conversation item id."""
        return self._stemmed("item_")

    def response_id(self) -> str:
        """A response id."""
        return self._stemmed("resp_")

    def conversation_id(self) -> str:
        """A conversation id."""
        return self._stemmed("conv_")

    def session_id(self) -> str:
        """A session id."""
        return self._stemmed("sess_")

    def function_call_id(self) -> str:
        """A function ``call_id`` (``call_`` + 16 base62, e.g. ``call_9Q9eysr6LstYMEx6``)."""
        return f"call_{self.base62(16)}"

    def client_secret(self) -> str:
        """An ephemeral client secret ``ek_…``."""
        return f"ek_{self.hex32()}"

    def webhook_event_id(self) -> str:
        """A webhook body ``id`` (``evt_`` + 32 hex, as the docs show it)."""
        return f"evt_{self.hex32()}"

    def webhook_delivery_id(self) -> str:
        """A ``webhook-id`` header value (``wh_`` + 32 hex, as the docs show it)."""
        return f"wh_{self.hex32()}"
