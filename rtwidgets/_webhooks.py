"""The SIP webhook inbox: receive incoming-call webhooks of both voice APIs inside the kernel.

Why: a SIP call reaches your code only as a signed webhook (realtime-protocol.md §3). A
notebook user wants those calls as Python objects, on the kernel's own event loop, without a
separate web server: ``async for incoming in inbox: await incoming.accept(...)``. The inbox is
a small aiohttp server on the *running* loop that verifies every delivery with the SDK's
``client.webhooks.unwrap`` (Standard Webhooks signature, 300 s replay window), answers 2xx
at once (before any work on the call, so OpenAI never retries a delivery we have), drops
duplicates by ``webhook-id`` (and by event ``id``) in a bounded LRU, and queues each
incoming call exactly once.

Both APIs: a SIP call to the project can be announced as ``realtime.call.incoming`` (an
``rtc_…`` call id), as ``live.transport.incoming`` (a ``live_…`` session id; the deprecated
``live.call.incoming`` carries the same data), or both ways for one pending call; "the first
successful Realtime or Live accept endpoint selects the runtime surface" (SDK docstrings,
live-protocol.md §3). The inbox verifies all of them the same way and folds the announcements
of one call into **one** ``IncomingCall`` with both ids, so a person sees one ringing call and
chooses: accept as Realtime or as Live. The first accept decides here too: once one accept is
under way or done, an accept through the other API is refused with ``AlreadyAcceptedError``
before any request is sent.

How the two announcements are matched: no field links the ``rtc_`` and the ``live_`` id
(live-protocol.md §3, §9.8). Both webhooks carry the headers "from the SIP INVITE" of "the same
pending session" (SDK), and a SIP INVITE's ``Call-ID`` is unique to its dialog (RFC 3261 §8.1.1.4),
so an announcement joins an existing call when its ``Call-ID`` (or the compact ``i``), ``From``
and ``To`` headers are all equal and that call lacks an id of this API. That both webhooks carry
the same header values is an inference from the SDK's wording, not observed traffic
(**unconfirmed**); without a ``Call-ID`` nothing is joined and the person sees two rows.
SIP headers are caller-controlled: a join only ever pairs one ``rtc_`` id with one ``live_`` id,
and each id still goes only to its own API's endpoints.

``live.transport.connected`` ("a direct Live WebRTC session is created or an Instant Connect
session activates", SDK) marks a known session ``connected``; for a session the inbox has not
seen it queues a ``webrtc`` entry with status ``connected``, ready to attach to. Another
announcement of an id already known (``live.call.incoming`` after ``live.transport.incoming``,
say) updates that entry and is not queued again (``stats.merged``).

Payloads are checked after the signature, by the SDK's own event models
(``openai.types.webhooks``) with the id rules of ``protocol/ids.py`` added, through the one
translator of ``protocol.validation``: a bad payload is refused (400 ``malformed``) naming the
field (``data.call_id``) in the answer and the log, never quoting a value that could be the
secret.

What it must never do: queue a delivery that failed any check (forged or wrong-secret
signature, stale or future timestamp, missing headers, non-UTF-8 or non-JSON body, body over
``max_body``, wrong method or path); put the webhook secret, or a body, into a repr, a log
line or an exception text; listen beyond 127.0.0.1 unless told to.

Exposing it safely: OpenAI must reach the inbox over HTTPS. Keep it on 127.0.0.1 and put a
TLS tunnel or reverse proxy in front (e.g. ``cloudflared tunnel --url http://127.0.0.1:PORT``
or ``ngrok http PORT``, or nginx/Caddy terminating TLS and proxying to 127.0.0.1), then set
the public ``https://…/webhook`` URL in the project's webhook settings. Do not bind
``0.0.0.0`` on a shared network unless you need to: anyone who can reach the port can load
the server, even though forged deliveries are refused.

Status codes: 200 for a delivery taken (queued, duplicate, or an event type the inbox does
not handle, which is counted and ignored); 400 for a refused delivery; 413 for a body over
``max_body``; 404 for another path; 405 for another method; 503 when the queue is full (the
sender retries later).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import openai
from aiohttp import web
from openai.types.webhooks import live_call_incoming_webhook_event as _lci
from openai.types.webhooks import live_transport_connected_webhook_event as _ltc
from openai.types.webhooks import live_transport_incoming_webhook_event as _lti
from openai.types.webhooks import realtime_call_incoming_webhook_event as _rci
from pydantic import AfterValidator

from rtwidgets import _control
from rtwidgets.protocol.errors import ValidationError, mask_secrets
from rtwidgets.protocol.ids import (
    ApiName,
    check_call_id,
    check_live_session_id,
    is_call_id,
    is_live_session_id,
)
from rtwidgets.protocol.validation import Schema, rule

if TYPE_CHECKING:
    from openai.types.webhooks import UnwrapWebhookEvent

__all__ = [
    "InboxClosedError",
    "InboxStats",
    "IncomingCall",
    "WebhookInbox",
]

log = logging.getLogger("rtwidgets.webhooks")

_MIB: Final = 1024 * 1024
_SDK_TOLERANCE: Final = 300  # what webhooks.unwrap enforces; the inbox may only tighten it
_INCOMING: Final = "realtime.call.incoming"
_LIVE_INCOMING: Final = ("live.transport.incoming", "live.call.incoming")
_LIVE_CONNECTED: Final = "live.transport.connected"
_HANDLED: Final = (_INCOMING, *_LIVE_INCOMING, _LIVE_CONNECTED)
_INDEX_MAX: Final = 4000
_SIG_HEADERS: Final = ("webhook-id", "webhook-timestamp", "webhook-signature")


# -- the payloads: the SDK's webhook event models, plus the id rules of protocol/ids.py ------


def _rtc_id(value: str) -> str:
    # Opaque: 'rtc_' and a safe tail, never the docs' 32-hex example, which real SIP calls do
    # not keep (rtc_u0_E7JGG7YLOPmJfNx4alnIn). The error never quotes the value.
    if not is_call_id(value):
        try:
            check_call_id(value, "call_id")
        except ValidationError as err:
            raise rule(err.problem, err.fix) from None
        raise rule("is not a Realtime call id", "a realtime.call.incoming names an rtc_… id")
    return value


def _live_id(value: str) -> str:
    if not is_live_session_id(value):
        try:
            check_live_session_id(value, "session_id")
        except ValidationError as err:
            raise rule(err.problem, err.fix) from None
        raise rule("is not a Live session id", "a live.* webhook names a live_… session id")
    return value


class _RealtimeData(_rci.Data):
    call_id: Annotated[str, AfterValidator(_rtc_id)]
    sip_headers: list[_rci.DataSipHeader] = []  # noqa: RUF012 (pydantic copies defaults)


class _RealtimeIncoming(_rci.RealtimeCallIncomingWebhookEvent):
    data: _RealtimeData


class _LiveData(_lti.Data):
    session_id: Annotated[str, AfterValidator(_live_id)]
    # The SDK says always "sip"; "webrtc" was accepted before and still is.
    type: Literal["sip", "webrtc"] = "sip"  # type: ignore[assignment]
    sip_headers: list[_lti.DataSipHeader] = []  # noqa: RUF012


class _LiveIncoming(_lti.LiveTransportIncomingWebhookEvent):
    data: _LiveData


class _LiveCallIncoming(_lci.LiveCallIncomingWebhookEvent):  # the deprecated name
    data: _LiveData  # type: ignore[assignment]


class _ConnectedData(_ltc.Data):
    session_id: Annotated[str, AfterValidator(_live_id)]
    type: Literal["sip", "webrtc"] = "webrtc"  # type: ignore[assignment]
    sip_headers: list[_lti.DataSipHeader] = []  # noqa: RUF012
    sip_media_security: str | None = None


class _LiveConnected(_ltc.LiveTransportConnectedWebhookEvent):
    data: _ConnectedData


#: Event type → its checked payload (``Schema``: errors through the one translator).
_PAYLOADS: Final[dict[str, Schema]] = {
    _INCOMING: Schema(_RealtimeIncoming),
    "live.transport.incoming": Schema(_LiveIncoming),
    "live.call.incoming": Schema(_LiveCallIncoming),
    _LIVE_CONNECTED: Schema(_LiveConnected),
}


class InboxClosedError(RuntimeError):
    """``get()`` on an inbox that is closed (or was never started)."""


class _Secret:
    """Holds the webhook secret so that no repr, ``vars()`` or traceback local shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


def _check_api(api: object) -> ApiName | None:
    if api is None:
        return None
    if api == "realtime":
        return "realtime"
    if api == "live":
        return "live"
    raise ValidationError("api", f"{api!r:.40} is not an API",
                          "pass api='realtime' or api='live'")


_API_NAMES: Final = {"realtime": "Realtime", "live": "Live"}


class IncomingCall:
    """One incoming call, as announced by verified webhooks (one or both APIs).

    Attributes:
        call_id: the id this call is known by in the inbox and its views: the id of the first
            announcement (``rtc_u0_…`` or ``live_…``); it never changes.
        realtime_id: the ``rtc_…`` id of ``realtime.call.incoming``, else ``None``.
        live_id: the ``live_…`` session id of ``live.transport.incoming`` (or the deprecated
            ``live.call.incoming``, or ``live.transport.connected``), else ``None``.
        transport: ``"sip"``, or ``"webrtc"`` for a session known only from
            ``live.transport.connected``.
        sip_headers: the SIP headers in the order sent, as ``(name, value)`` pairs, duplicates
            kept (of the first announcement). Untrusted: the caller controls most of them.
        sip_media_security: ``"rtp"``, ``"srtp"``, … when the server said, else ``None``.
        received_at: wall time (unix seconds) the first announcement was taken.
        webhook_id: the first delivery's ``webhook-id`` header; ``webhook_ids`` all of them.
        event_id: the first event's ``id`` (``evt_…``).
        event: the SDK's parsed first event; ``events`` all of them, in arrival order.
        announcements: the webhook types taken for this call, in arrival order.
        accepted_as: ``"realtime"`` or ``"live"`` once an accept succeeded, else ``None``.
        connected: ``live.transport.connected`` was seen for the Live session.
        status: ``"ringing"``, then ``"accepted"``, ``"rejected"``, ``"referred"`` or
            ``"ended"`` once one of the methods below succeeded; ``"connected"`` for a Live
            WebRTC session known only from ``live.transport.connected``.
    """

    __slots__ = (
        "_accepting",
        "_client",
        "accepted_as",
        "announcements",
        "call_id",
        "connected",
        "event",
        "event_id",
        "events",
        "live_id",
        "realtime_id",
        "received_at",
        "sip_headers",
        "sip_media_security",
        "status",
        "transport",
        "webhook_id",
        "webhook_ids",
    )

    def __init__(
        self,
        *,
        call_id: str,
        sip_headers: Sequence[tuple[str, str]],
        received_at: float,
        webhook_id: str,
        event_id: str,
        sip_media_security: str | None = None,
        event: UnwrapWebhookEvent | None = None,
        client: openai.AsyncOpenAI | None = None,
        transport: str = "sip",
        announcement: str | None = None,
    ) -> None:
        self.call_id = call_id
        self.realtime_id: str | None = call_id if is_call_id(call_id) else None
        self.live_id: str | None = call_id if is_live_session_id(call_id) else None
        self.transport = transport
        self.sip_headers: list[tuple[str, str]] = list(sip_headers)
        self.received_at = received_at
        self.webhook_id = webhook_id
        self.webhook_ids: list[str] = [webhook_id]
        self.event_id = event_id
        self.sip_media_security = sip_media_security
        self.event = event
        self.events: list[Any] = [] if event is None else [event]
        self.announcements: list[str] = [] if announcement is None else [announcement]
        self.accepted_as: ApiName | None = None
        self.connected = False
        self.status = "ringing" if transport == "sip" else "connected"
        self._accepting: ApiName | None = None
        self._client = client

    # -- ids and APIs

    @property
    def apis(self) -> tuple[ApiName, ...]:
        """The APIs this call was offered to: ``("realtime",)``, ``("live",)`` or both."""
        out: list[ApiName] = []
        if self.realtime_id is not None:
            out.append("realtime")
        if self.live_id is not None:
            out.append("live")
        return tuple(out)

    def id_for(self, api: ApiName) -> str:
        """The id of this call in ``api``; ``ValidationError`` when it was not offered there."""
        value = self.realtime_id if api == "realtime" else self.live_id
        if value is None:
            other = [a for a in self.apis if a != api]
            raise ValidationError(
                "api",
                f"this call was not offered to {_API_NAMES.get(api, api)} (no "
                f"{'rtc_' if api == 'realtime' else 'live_'}… id was announced)",
                f"use api={other[0]!r}" if other else "use the API the call was offered to",
            )
        return value

    def _choose(self, api: object, session: object, action: str) -> ApiName:
        """The API ``action`` goes to: ``api``, else what the call's state makes obvious."""
        wanted = _check_api(api)
        if wanted is not None:
            self.id_for(wanted)
            return wanted
        if action == "accept" and isinstance(session, Mapping):
            kind = session.get("type")
            if kind in ("realtime", "live"):
                if kind in self.apis:
                    return kind  # type: ignore[no-any-return]
                self.id_for(kind)  # raises: not offered there
        if action != "accept" and self.accepted_as is not None:
            return self.accepted_as
        if len(self.apis) == 1:
            return self.apis[0]
        if action == "reject":
            # One SIP INVITE behind both offers: either endpoint turns it away
            # (unconfirmed which the platform prefers); the Realtime one is the long-known path.
            return "realtime"
        raise ValidationError(
            "api",
            f"this call was offered both to Realtime ({self.realtime_id}) and to Live "
            f"({self.live_id})",
            "pass api='realtime' or api='live'"
            + (" (or a session with type 'realtime' or 'live')" if action == "accept" else ""),
        )

    def header(self, name: str) -> str | None:
        """The first SIP header called ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        for key, value in self.sip_headers:
            if key.lower() == wanted:
                return value
        return None

    def headers(self, name: str) -> list[str]:
        """Every value of the SIP header ``name`` (case-insensitive), in order."""
        wanted = name.lower()
        return [value for key, value in self.sip_headers if key.lower() == wanted]

    @property
    def from_(self) -> str | None:
        """The SIP ``From`` header (the caller)."""
        return self.header("From")

    @property
    def to(self) -> str | None:
        """The SIP ``To`` header (the number or address that was dialled)."""
        return self.header("To")

    @property
    def sip_call_id(self) -> str | None:
        """The SIP ``Call-ID`` header (or its compact form ``i``), or ``None``."""
        return self.header("Call-ID") or self.header("i")

    # -- control

    async def accept(
        self, session: Mapping[str, Any] | None = None, *, api: ApiName | None = None,
        **fields: Any,
    ) -> None:
        """Accept the call with a session, as Realtime or as Live.

        ``api`` picks the API; without it the session's ``type`` does (``"realtime"`` /
        ``"live"``), else the only API the call was offered to. The first accept decides: a
        second one, through either API, raises ``AlreadyAcceptedError`` and sends nothing.
        See ``rtwidgets._control.accept`` for the session of each API.
        """
        which = self._choose(api, session, "accept")
        taken = self._accepting or self.accepted_as
        if taken is not None:
            first = _API_NAMES[taken]
            raise _control.AlreadyAcceptedError(
                f"accept as {_API_NAMES[which]} {self.id_for(which)}: this call "
                f"{'is being' if self.accepted_as is None else 'was'} accepted as {first} "
                f"({self.id_for(taken)}); the first accept decides, as on the platform, so "
                "nothing was sent. Fix: control the call through its "
                f"{first} id, or hang up and let the caller call again",
                call_id=self.id_for(which), action="accept", accepted_as=taken,
            )
        self._accepting = which
        try:
            await _control.accept(self.id_for(which), session, client=self._client, **fields)
        finally:
            self._accepting = None
        self.accepted_as = which
        self.status = "accepted"

    async def reject(self, status_code: int | None = None, *, api: ApiName | None = None
                     ) -> None:
        """Reject the call with a SIP status (Realtime 400–699, Live 300–699; default 603)."""
        which = self._choose(api, None, "reject")
        await _control.reject(self.id_for(which), status_code, client=self._client)
        self.status = "rejected"

    async def refer(self, target_uri: str, *, api: ApiName | None = None) -> None:
        """Transfer the call to a ``tel:`` or ``sip:`` URI (through the API that accepted it)."""
        which = self._choose(api, None, "refer")
        await _control.refer(self.id_for(which), target_uri, client=self._client)
        self.status = "referred"

    async def hangup(self, *, api: ApiName | None = None) -> None:
        """End the call (through the API that accepted it)."""
        which = self._choose(api, None, "hangup")
        await _control.hangup(self.id_for(which), client=self._client)
        self.status = "ended"

    async def attach(self, **kw: Any) -> Any:
        """Attach the sideband: ``rtwidgets.attach(<id of the accepting API>, client=…, **kw)``."""
        from rtwidgets._call import attach  # the call layer sits above control

        which = self._choose(kw.pop("api", None), None, "attach")
        kw.setdefault("client", self._client)
        return await attach(self.id_for(which), **kw)

    def __repr__(self) -> str:
        ids = ", ".join(f"{name}={value!r}" for name, value in
                        (("realtime_id", self.realtime_id), ("live_id", self.live_id)) if value)
        return (
            f"IncomingCall(call_id={self.call_id!r}, {ids}, from_={self.from_!r}, "
            f"to={self.to!r}, status={self.status!r}, received_at={self.received_at:.3f})"
        )


@dataclass(frozen=True, slots=True)
class InboxStats:
    """What the inbox did with the deliveries it received.

    Attributes:
        accepted: incoming calls queued (each exactly once, however many APIs announced it).
        duplicates: verified deliveries dropped because their ``webhook-id`` or event ``id``
            was already taken.
        ignored: verified deliveries of other event types, by type (answered 200).
        refused: refused requests, by reason (``bad_signature``, ``stale``, ``future``,
            ``bad_timestamp``, ``missing_headers``, ``not_utf8``, ``not_json``, ``malformed``,
            ``too_large``, ``wrong_path``, ``wrong_method``, ``queue_full``).
        merged: verified announcements folded into a call already taken (the other API's
            offer of the same SIP call, another announcement of a known id, or
            ``live.transport.connected`` for a known session).
    """

    accepted: int = 0
    duplicates: int = 0
    ignored: Mapping[str, int] = field(default_factory=dict)
    refused: Mapping[str, int] = field(default_factory=dict)
    merged: int = 0

    @property
    def refused_total(self) -> int:
        """All refused requests."""
        return sum(self.refused.values())


class _Refusal(Exception):
    """Internal: a request is refused with ``status`` for ``reason``."""

    def __init__(self, status: int, reason: str, *, field: str | None = None,
                 detail: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.field = field  # the payload field at fault (a checked, refused body)
        self.detail = detail  # what is wrong and the fix, secrets hidden


class _LRU:
    """A bounded set of recently taken ids (oldest evicted first)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._ids: collections.OrderedDict[str, None] = collections.OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._ids

    def add(self, key: str) -> None:
        self._ids[key] = None
        self._ids.move_to_end(key)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)


_SIGNATURE_REASONS: Final = (
    ("too old", "stale"),
    ("too new", "future"),
    ("timestamp format", "bad_timestamp"),
)


class WebhookInbox:
    """An HTTP endpoint on the running loop that turns signed SIP webhooks into calls.

    Args:
        secret: the webhook signing secret (``whsec_…``); default: the client's
            ``webhook_secret``, else ``OPENAI_WEBHOOK_SECRET``. Missing: ``start()`` raises.
        host: the address to bind; keep ``127.0.0.1`` and expose it through a TLS tunnel or
            reverse proxy (see the module docstring).
        port: the port to bind; ``0`` picks a free one (read ``inbox.url``).
        path: the only path that takes deliveries.
        client: the ``openai.AsyncOpenAI`` passed to each ``IncomingCall`` for
            accept/reject/refer/hangup/attach (default: one from the environment at the time
            of each call); its ``webhook_secret`` is used when ``secret`` is not given.
        tolerance: the replay window in seconds, 1–300 (the SDK's ``unwrap`` enforces 300;
            a smaller value tightens it).
        max_body: the largest body taken, in bytes (default 1 MiB).
        max_queue: how many incoming calls may wait in the queue; beyond it deliveries get
            503 and are retried by the sender.
        dedupe_size: how many recent ``webhook-id``/event ids are remembered.

    Use ``async with WebhookInbox() as inbox:`` or ``await inbox.start()`` / ``await
    inbox.close()``; then ``async for incoming in inbox`` or ``await inbox.get(timeout=…)``.
    """

    def __init__(
        self,
        secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/webhook",
        client: openai.AsyncOpenAI | None = None,
        tolerance: int = _SDK_TOLERANCE,
        max_body: int = _MIB,
        *,
        max_queue: int = 1000,
        dedupe_size: int = 10_000,
    ) -> None:
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise ValidationError(
                "secret",
                "expected a non-empty string",
                "pass the whsec_… signing secret of the project's webhook, or leave it out "
                "to read OPENAI_WEBHOOK_SECRET",
                code="invalid_type",
            )
        if client is not None and not isinstance(client, openai.AsyncOpenAI):
            raise ValidationError(
                "client",
                f"expected an openai.AsyncOpenAI, got {type(client).__name__}",
                "pass client=openai.AsyncOpenAI(...) (or emu.client()), or leave it out",
                code="invalid_type",
            )
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValidationError("path", "must start with '/'", "pass e.g. path='/webhook'")
        for name, value, low, high in (
            ("port", port, 0, 65535),
            ("tolerance", tolerance, 1, _SDK_TOLERANCE),
            ("max_body", max_body, 1, 64 * _MIB),
            ("max_queue", max_queue, 1, 1_000_000),
            ("dedupe_size", dedupe_size, 1, 10_000_000),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValidationError(
                    name, f"{value!r} is not an integer from {low} to {high}",
                    f"pass {name}= as an integer from {low} to {high}",
                )
        self._secret_arg = None if secret is None else _Secret(secret)
        self._secret: _Secret | None = None
        self.host = host
        self.port = port
        self.path = path
        self._client = client
        self._verifier: openai.AsyncOpenAI | None = None  # the inbox's own, never sends
        self.tolerance = tolerance
        self.max_body = max_body
        self._queue: asyncio.Queue[IncomingCall | None] = asyncio.Queue()
        self._max_queue = max_queue
        self._taken = _LRU(dedupe_size)
        self._seen: collections.deque[IncomingCall] = collections.deque(maxlen=1000)
        # id -> call, and SIP (Call-ID, From, To) -> call, for folding announcements of one
        # call into one entry; bounded, oldest first out.
        self._by_id: collections.OrderedDict[str, IncomingCall] = collections.OrderedDict()
        self._by_sip: collections.OrderedDict[tuple[str, str, str], IncomingCall] = (
            collections.OrderedDict())
        self._merged = 0
        self._subscribers: list[Callable[[IncomingCall], None]] = []
        self._accepted = 0
        self._duplicates = 0
        self._ignored: collections.Counter[str] = collections.Counter()
        self._refused: collections.Counter[str] = collections.Counter()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._closed = False

    # ------------------------------------------------------------------ lifetime

    def _resolve_secret(self) -> _Secret:
        if self._secret_arg is not None:
            secret = self._secret_arg
        elif self._client is not None and self._client.webhook_secret:
            secret = _Secret(self._client.webhook_secret)
        elif os.environ.get("OPENAI_WEBHOOK_SECRET"):
            secret = _Secret(os.environ["OPENAI_WEBHOOK_SECRET"])
        else:
            raise ValidationError(
                "secret",
                "no webhook secret was given and OPENAI_WEBHOOK_SECRET is not set",
                "pass WebhookInbox(secret=…) or set OPENAI_WEBHOOK_SECRET to the whsec_… "
                "signing secret shown when the project's webhook was created",
                code="missing_required_parameter",
            )
        value = secret.reveal()
        if value.startswith("whsec_"):
            try:
                base64.b64decode(value[6:], validate=True)
            except (binascii.Error, ValueError):
                raise ValidationError(
                    "secret",
                    "the whsec_ secret is not valid base64 (was it cut when copied?)",
                    "copy the whole whsec_… value again from the webhook settings",
                ) from None
        return secret

    async def start(self) -> WebhookInbox:
        """Bind and start serving on the running loop; returns the inbox. Idempotent."""
        if self._runner is not None:
            return self
        if self._closed:
            raise InboxClosedError("this WebhookInbox was closed; create a new one")
        self._secret = self._resolve_secret()
        # Verification needs only the SDK's webhook code, never a request: this client
        # points at a closed local port so that nothing could leave even by mistake, and it
        # stays the same when ``inbox.client`` is swapped later.
        self._verifier = openai.AsyncOpenAI(
            api_key="unused-webhook-verification-only", base_url="http://127.0.0.1:9/v1"
        )
        app = web.Application(client_max_size=self.max_body)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        addresses = runner.addresses
        bound_port = int(addresses[0][1]) if addresses else self.port
        self.port = bound_port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._url = f"http://{host}:{bound_port}{self.path}"
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            log.warning(
                "webhook inbox listening on %s: reachable beyond this machine; prefer "
                "127.0.0.1 behind a TLS tunnel or reverse proxy",
                self.host,
            )
        log.info("webhook inbox listening at %s", self._url)
        return self

    async def close(self) -> None:
        """Stop serving; iterators end and waiting ``get()`` calls raise. Idempotent."""
        if self._closed:
            return
        self._closed = True
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        verifier, self._verifier = self._verifier, None
        if verifier is not None:
            await verifier.close()
        self._queue.put_nowait(None)  # wakes every consumer; each puts it back for the next

    async def __aenter__(self) -> WebhookInbox:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ reading

    @property
    def client(self) -> openai.AsyncOpenAI | None:
        """The client each new ``IncomingCall`` controls its call with (``None``: default).

        Settable, e.g. to an emulator's client once the emulator knows ``inbox.url``.
        """
        return self._client

    @client.setter
    def client(self, client: openai.AsyncOpenAI | None) -> None:
        if client is not None and not isinstance(client, openai.AsyncOpenAI):
            raise ValidationError(
                "client",
                f"expected an openai.AsyncOpenAI, got {type(client).__name__}",
                "pass client=openai.AsyncOpenAI(...) (or emu.client()), or None",
                code="invalid_type",
            )
        self._client = client

    @property
    def url(self) -> str | None:
        """``http://127.0.0.1:<port><path>`` once started, else ``None``."""
        return self._url

    @property
    def seen(self) -> list[IncomingCall]:
        """Incoming calls taken so far (the last 1000), oldest first; for pickers."""
        return list(self._seen)

    @property
    def stats(self) -> InboxStats:
        """A snapshot of the counts."""
        return InboxStats(
            accepted=self._accepted,
            duplicates=self._duplicates,
            ignored=dict(self._ignored),
            refused=dict(self._refused),
            merged=self._merged,
        )

    @property
    def pending(self) -> int:
        """Incoming calls queued and not yet taken by ``get`` or ``async for``."""
        # After close() the queue always holds the one end-of-stream marker.
        return max(0, self._queue.qsize() - (1 if self._closed else 0))

    def subscribe(self, callback: Callable[[IncomingCall], None]) -> Callable[[], None]:
        """Call ``callback(incoming)`` on the loop for each call taken; returns unsubscribe.

        Subscribers see every call without consuming the queue (views use this). One that
        raises is logged and kept.
        """
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    async def get(self, timeout: float | None = None) -> IncomingCall:
        """The next incoming call.

        Raises:
            TimeoutError: none arrived within ``timeout`` seconds.
            InboxClosedError: the inbox is closed, or was never started.
        """
        if self._runner is None and self._queue.empty():
            raise InboxClosedError(
                "the WebhookInbox is closed" if self._closed
                else "the WebhookInbox is not started; use 'await inbox.start()' or "
                "'async with WebhookInbox() as inbox'"
            )
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is None:
            self._queue.put_nowait(None)
            raise InboxClosedError("the WebhookInbox is closed")
        return item

    def __aiter__(self) -> AsyncIterator[IncomingCall]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[IncomingCall]:
        while True:
            try:
                yield await self.get()
            except InboxClosedError:
                return

    # ------------------------------------------------------------------ serving

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            taken = await self._take(request)
        except _Refusal as refusal:
            self._refused[refusal.reason] += 1
            where = f" ({refusal.field})" if refusal.field else ""
            log.info(
                "refused webhook %s %s from %s: %s%s%s",
                request.method,
                request.path,
                request.remote,
                refusal.reason,
                where,
                f": {refusal.detail}" if refusal.detail else "",
            )
            headers = {"Allow": "POST"} if refusal.status == 405 else None
            return web.Response(
                status=refusal.status, text=f"refused: {refusal.reason}{where}\n",
                headers=headers,
            )
        if taken is not None:
            incoming, new = taken
            # The answer goes out before anyone looks at the call (OpenAI wants 2xx fast).
            # A call already taken (another API's offer of it) is updated, not queued again;
            # subscribers hear of both, so views show the second id at once.
            if new:
                self._queue.put_nowait(incoming)
                self._seen.append(incoming)
            for callback in list(self._subscribers):
                try:
                    callback(incoming)
                except Exception:
                    log.exception("webhook inbox subscriber %r failed", callback)
        return web.Response(status=200, text="ok\n")

    async def _read_body(self, request: web.Request) -> bytes:
        declared = request.content_length
        if declared is not None and declared > self.max_body:
            raise _Refusal(413, "too_large")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > self.max_body:
                raise _Refusal(413, "too_large")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _take(self, request: web.Request) -> tuple[IncomingCall, bool] | None:
        """Check one request: ``(call, is new)`` to queue or update, ``None`` if not a call."""
        if request.path != self.path:
            raise _Refusal(404, "wrong_path")
        if request.method != "POST":
            raise _Refusal(405, "wrong_method")
        headers = {name: request.headers.get(name) for name in _SIG_HEADERS}
        if any(not value for value in headers.values()):
            raise _Refusal(400, "missing_headers")
        body = await self._read_body(request)
        event = self._unwrap(body, {k: v for k, v in headers.items() if v is not None})
        try:
            raw = json.loads(body)
        except ValueError:  # unwrap parsed it already; kept for a clear path
            raise _Refusal(400, "not_json") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise _Refusal(400, "malformed")
        webhook_id = headers["webhook-id"] or ""
        event_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        if webhook_id in self._taken or (event_id is not None and event_id in self._taken):
            self._duplicates += 1
            return None
        if raw["type"] not in _HANDLED:
            self._remember(webhook_id, event_id)
            self._ignored[raw["type"]] += 1
            return None
        incoming = self._incoming(raw, webhook_id=webhook_id, event=event)
        known = self._join(incoming)
        if known is not None:
            self._remember(webhook_id, event_id)
            self._merged += 1
            return known, False
        if self._queue.qsize() >= self._max_queue:
            raise _Refusal(503, "queue_full")  # not remembered: the retry may be taken
        self._remember(webhook_id, event_id)
        self._index(incoming)
        self._accepted += 1
        return incoming, True

    @staticmethod
    def _sip_key(incoming: IncomingCall) -> tuple[str, str, str] | None:
        sip_call_id = incoming.sip_call_id
        if incoming.transport != "sip" or not sip_call_id:
            return None
        return sip_call_id, incoming.from_ or "", incoming.to or ""

    def _index(self, incoming: IncomingCall) -> None:
        for value in (incoming.realtime_id, incoming.live_id):
            if value is not None:
                self._by_id[value] = incoming
                self._by_id.move_to_end(value)
        key = self._sip_key(incoming)
        if key is not None:
            held = self._by_sip.get(key)
            if held is None or not self._pending(held):
                self._by_sip[key] = incoming  # a call that no longer rings gives way
        for index in (self._by_id, self._by_sip):
            while len(index) > _INDEX_MAX:
                index.popitem(last=False)

    @staticmethod
    def _pending(incoming: IncomingCall) -> bool:
        """Still ringing and not being accepted: another announcement may join it."""
        return (incoming.status == "ringing" and incoming.accepted_as is None
                and incoming._accepting is None)

    def _join(self, new: IncomingCall) -> IncomingCall | None:
        """The call ``new`` announces again (folded into it), or ``None`` for a new call."""
        kind = new.announcements[0]
        new_id = new.realtime_id or new.live_id
        assert new_id is not None  # _incoming checked it
        known = self._by_id.get(new_id)
        if known is None and kind != _LIVE_CONNECTED:
            key = self._sip_key(new)
            candidate = self._by_sip.get(key) if key is not None else None
            # One rtc_ id and one live_ id per call, never more: a second offer to the same
            # API with the same headers is a call of its own. Only a call still ringing can
            # be offered again: one accepted, rejected or ended is over (same headers or not).
            if candidate is not None and self._pending(candidate) and (
                (new.realtime_id is not None and candidate.realtime_id is None)
                or (new.live_id is not None and candidate.live_id is None)
            ):
                known = candidate
                if new.realtime_id is not None:
                    known.realtime_id = new.realtime_id
                if new.live_id is not None:
                    known.live_id = new.live_id
                self._index(known)
        if known is None:
            return None
        if kind == _LIVE_CONNECTED:
            known.connected = True
        known.announcements.append(kind)
        known.webhook_ids.append(new.webhook_id)
        known.events.extend(new.events)
        if known.sip_media_security is None:
            known.sip_media_security = new.sip_media_security
        return known

    def _remember(self, webhook_id: str, event_id: str | None) -> None:
        self._taken.add(webhook_id)
        if event_id is not None:
            self._taken.add(event_id)

    def _unwrap(self, body: bytes, headers: dict[str, str]) -> UnwrapWebhookEvent:
        client = self._verifier
        # Both are set by start(), and requests arrive only after it.
        assert client is not None
        assert self._secret is not None
        secret = self._secret.reveal()
        try:
            if self.tolerance < _SDK_TOLERANCE:
                client.webhooks.verify_signature(
                    body, headers, secret=secret, tolerance=self.tolerance
                )
            return client.webhooks.unwrap(body, headers, secret=secret)
        except openai.InvalidWebhookSignatureError as exc:
            text = str(exc)
            reason = next((r for key, r in _SIGNATURE_REASONS if key in text), "bad_signature")
            raise _Refusal(400, reason) from None
        except UnicodeDecodeError:
            raise _Refusal(400, "not_utf8") from None
        except json.JSONDecodeError:
            raise _Refusal(400, "not_json") from None
        except Exception:  # a verified body the SDK cannot parse: never queued
            raise _Refusal(400, "malformed") from None

    def _incoming(
        self, raw: dict[str, Any], *, webhook_id: str, event: UnwrapWebhookEvent
    ) -> IncomingCall:
        kind = raw["type"]
        # The SDK's event model for this type (with the id rules of protocol/ids.py), through
        # the one translator: a bad payload is refused naming the field, never quoting it.
        try:
            checked = _PAYLOADS[kind].validate(raw)
        except ValidationError as err:
            raise _Refusal(400, "malformed", field=err.field,
                           detail=self._hide(f"{err.problem}; {err.fix}")) from None
        data = checked.data
        call_id = data.call_id if kind == _INCOMING else data.session_id
        transport = getattr(data, "type", "sip")
        incoming = IncomingCall(
            call_id=call_id,
            sip_headers=[(h.name, h.value) for h in data.sip_headers],
            received_at=time.time(),
            webhook_id=webhook_id,
            event_id=checked.id,
            sip_media_security=data.sip_media_security,
            event=event,
            client=self._client,
            transport=transport,
            announcement=kind,
        )
        incoming.connected = kind == _LIVE_CONNECTED
        return incoming

    def _hide(self, text: str) -> str:
        """``text`` without this inbox's secret (or its key part) in any form."""
        if self._secret is not None:
            secret = self._secret.reveal()
            for part in (secret, secret.removeprefix("whsec_")):
                if len(part) >= 8:
                    text = text.replace(part, "…(hidden)")
        return mask_secrets(text)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("listening" if self._runner else "not started")
        return (
            f"WebhookInbox(url={self._url!r}, {state}, accepted={self._accepted}, "
            f"pending={self.pending}, duplicates={self._duplicates}, "
            f"ignored={sum(self._ignored.values())}, refused={sum(self._refused.values())})"
        )
