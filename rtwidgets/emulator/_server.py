"""The emulator's HTTP + WebSocket server: the Realtime calls API, the sideband, the control API.

Why: everything in rtwidgets (attach, widgets, analysis, notebooks, tests) must run offline
against something the official ``openai`` SDK cannot tell from api.openai.com at the level it
uses: ``POST /v1/realtime/calls`` (+ accept/reject/refer/hangup), the ``/v1/realtime``
WebSocket (``?call_id=`` sideband or ``?model=`` session) and signed SIP webhooks. One aiohttp
server on one port serves all of it, plus a small control API under ``/_emulator`` to start
calls, inject faults and read the emulator's own record of what it sent and received.

Handshake failures follow public real traffic: an unknown or ended ``call_id`` is an HTTP
404 before the upgrade; a missing or wrong key is refused after the upgrade (``error``
``invalid_api_key``, close 3000), and so are a missing or unknown model and the beta header
(``missing_model`` / ``invalid_model`` / ``beta_api_shape_disabled``, close 4000). The calls
API answers a wrong key with HTTP 401 and the error envelope.

Never: reaches beyond the configured host (it binds 127.0.0.1 unless told otherwise); keeps
or prints an API key (bearer tokens are checked and dropped; ``valid_keys`` are kept as
SHA-256 digests; a refused key is named by its public prefix only; ``requests`` holds no
``Authorization`` header); shows the webhook secret in a repr; imports rtwidgets code other
than ``rtwidgets.protocol``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import random
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import WSMsgType, web

from rtwidgets.protocol.errors import ValidationError, short
from rtwidgets.protocol.ids import IdFactory, check_call_id, is_call_id
from rtwidgets.protocol.session import default_session, merge_session

from ._call import EmulatedCall, EmulatorOptions
from ._faults import Fault, FaultError, parse_fault, parse_faults
from ._live import LiveApi
from ._scenario import Scenario, ScenarioError, load_scenario
from ._webhooks import WebhookDelivery, WebhookSender
from .core.live import LiveSession
from .core.realtime import SEEDED_EPOCH, call_streams, initial_session

if TYPE_CHECKING:
    import openai

    from ._call import _Socket
    from ._load import LoadResult

__all__ = ["Emulator", "tune_gc_for_serving"]


def tune_gc_for_serving() -> bool:
    """Keep the cyclic GC's full collections short in a process that only runs the emulator.

    Why: a full (gen-2) collection walks every tracked object and holds the loop meanwhile,
    so every event due then goes out that late. Right after start-up most tracked objects
    are import-time ones that live forever: modules, classes, functions and the grammar
    jsonschema's format checker builds (rfc3987-syntax's lark tables, ~100k objects). Frozen
    (``gc.freeze()``: moved to a generation no collection visits), full collections walk
    only what the calls made; at 1,000 concurrent calls this took the longest pauses from
    100-120 ms to 50-60 ms, and the p99 send jitter from ~70 to ~20 ms (with the compact
    record; benchmarks/emulator_capacity.py). Thresholds stay at CPython's defaults: young
    collections cost ~0.1 ms, and a full one runs only once the tracked objects grew by a
    quarter, which a steady load of calls seldom does. Only for a process of its own (the
    ``rtwidgets emulator`` command): in a kernel the GC is the user's, so ``Emulator.start``
    leaves it alone. Call it after the imports, before calls arrive.

    Returns True if it froze (nothing was frozen before): then ``gc.unfreeze()`` when the
    emulator is done, so a process that runs the command in-process (a test calling
    ``rtwidgets.cli.main``) gets its GC back as it was.
    """
    if gc.get_freeze_count():
        return False        # someone else manages this process's GC
    gc.collect()     # garbage from start-up first, so none of it is frozen for good
    gc.freeze()
    return True


ScenarioSpec = str | Path | Mapping[str, Any] | Scenario

_NO_KEY = ("You didn't provide an API key. You need to provide your API key in an "
           "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")


def _error_body(message: str, *, param: str | None = None, code: str | None = None,
                type_: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _json_error(status: int, message: str, *, param: str | None = None,
                code: str | None = None) -> web.Response:
    return web.json_response(_error_body(message, param=param, code=code), status=status)


def _shown(call_id: str) -> str:
    """A call id for a message; anything else (a pasted key?) is not echoed."""
    return repr(call_id) if is_call_id(call_id) else "(not a call id)"


def _bearer(request: web.Request) -> str:
    """The bearer token of ``request`` ("" if none); never stored or shown."""
    value = request.headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _key_digest(key: str) -> str:
    # The emulator keeps digests of the valid keys, never the keys themselves.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _masked(key: str) -> str:
    """A refused key as the error names it: its public prefix only, the rest starred."""
    match = re.match(r"(?:sk|rk)-(?:(?:proj|svcacct|admin)-)?|ek_", key)
    return (match.group(0) if match else "") + "*" * 20


def _bad_key_message(key: str) -> str:
    return (f"Incorrect API key provided: {_masked(key)}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.")


#: Models a ``?model=`` session accepts: the Realtime families and their dated or sized
#: variants (``gpt-realtime``, ``gpt-realtime-mini``, ``gpt-realtime-2025-08-28``,
#: ``gpt-4o-realtime-preview``, ``gpt-4o-mini-realtime-preview-2024-12-17`` ...). Anything
#: else is ``invalid_model`` (close 4000), as the real service answers.
_REALTIME_MODEL_RE = re.compile(
    r"^(?:gpt-realtime|gpt-4o-realtime-preview|gpt-4o-mini-realtime-preview)"
    r"(?:-[A-Za-z0-9][A-Za-z0-9.-]{0,40})?$")


def _sdp_answer(ids: IdFactory) -> str:
    ufrag = ids.base62(8)
    pwd = ids.base62(22)
    session_no = int(ids.hex32()[:15], 16)
    hexes = ids.hex32() + ids.hex32()
    fingerprint = ":".join(hexes[i:i + 2].upper() for i in range(0, 64, 2))
    lines = [
        "v=0", f"o=- {session_no} 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
        "a=group:BUNDLE 0 1", "a=msid-semantic:WMS *",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
        f"a=ice-ufrag:{ufrag}", f"a=ice-pwd:{pwd}", f"a=fingerprint:sha-256 {fingerprint}",
        "a=setup:active", "a=mid:0", "a=sendrecv", "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0",
        f"a=ice-ufrag:{ufrag}", f"a=ice-pwd:{pwd}", f"a=fingerprint:sha-256 {fingerprint}",
        "a=setup:active", "a=mid:1", "a=sctp-port:5000",
        "a=candidate:1 1 udp 2130706431 127.0.0.1 3478 typ host",
    ]
    return "\r\n".join(lines) + "\r\n"


class Emulator:
    """A local Realtime server. Create with ``await Emulator.start(...)``; close with
    ``await emu.close()`` or ``async with``.

    Attributes:
        base_url: ``http://HOST:PORT/v1`` (give it to ``openai.AsyncOpenAI(base_url=...)``).
        websocket_base_url: ``ws://HOST:PORT/v1``.
        requests: every calls-API request (method, path, call id, content type, body), in
            order; no headers that carry credentials.
        calls: every call and ``?model=`` session by id, ended ones included.
        webhook_deliveries: every SIP webhook and its attempts.
    """

    def __init__(self, *, host: str, port: int, options: EmulatorOptions, scenario: Scenario,
                 webhook_url: str | None, webhook_secret: str | None, seed: int | None,
                 faults: list[Fault], webhook_retry_delays: Iterable[float],
                 valid_keys: frozenset[str] | None = None) -> None:
        self.host = host
        # Digests of the keys that authenticate (None: any non-empty key); never the keys.
        self._valid_keys = valid_keys
        #: Sockets refused after the upgrade (bad key, beta header, model): what and when.
        self.refused_sockets: list[dict[str, Any]] = []
        self.port = port
        self.options = options
        self.scenario = scenario
        self.webhook_url = webhook_url
        self._webhook_secret = webhook_secret
        self.seed = seed
        self._faults = faults
        # Unseeded runs seed a fast generator from OS entropy: ids stay unpredictable, and
        # minting ~30 of them per event no longer costs a urandom call per character.
        self._ids = IdFactory(seed if seed is not None else secrets.randbits(64))
        self.requests: list[dict[str, Any]] = []
        self.calls: dict[str, EmulatedCall] = {}
        self.webhook_deliveries: list[WebhookDelivery] = []
        self._sender = (WebhookSender(webhook_url, webhook_secret, tuple(webhook_retry_delays))
                        if webhook_url else None)
        self._retry_delays = tuple(webhook_retry_delays)
        # Senders for SIP calls announced to another webhook (start_call(webhook_url=...)),
        # one per (url, secret digest); the secret itself is only inside the sender.
        self._other_senders: dict[tuple[str, str], WebhookSender] = {}
        #: Observers of call progress, e.g. the load generator (``_load.py``): each is called
        #: as ``fn(kind, call_id, t)`` (``t``: time.monotonic()) with ``kind`` "accepted" (a
        #: SIP accept succeeded), "rejected" (a SIP reject succeeded), "sideband" (a socket
        #: attached to a call) or "ended". They run on the loop and must not block or raise.
        self.call_observers: list[Callable[[str, str, float], None]] = []
        self._runner: web.AppRunner | None = None
        #: The GPT-Live routes and SIP twins (``_live.py``).
        self.live = LiveApi(self, _sdp_answer)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def start(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        scenario: ScenarioSpec = "conversation",
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        seed: int | None = None,
        faults: Iterable[Fault | Mapping[str, Any]] | None = None,
        *,
        model: str = "gpt-realtime",
        session_created_on_attach: bool = False,
        rate_limits_position: Literal["after_done", "end", "start"] = "after_done",
        audio_deltas: bool = False,
        close_frame_on_end: bool = True,
        hold_until_attached: bool = True,
        caller_patience_s: float = 30.0,
        webhook_retry_delays: Iterable[float] = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2),
        valid_keys: Iterable[str] | None = None,
    ) -> Emulator:
        """Validate the options, bind ``host:port`` (0 picks a free port) and serve.

        Raises ``ValueError`` (naming the option and the fix) before binding anything.
        """
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not (
                0 < speed <= 1000):
            raise ValueError(f"speed: must be a number > 0 and <= 1000, got {speed!r}. "
                             "Fix: use 1.0 for real time, e.g. 20 to run 20x faster")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port: must be an integer from 0 to 65535, got {port!r}. "
                             "Fix: use 0 to pick any free port")
        if rate_limits_position not in ("after_done", "end", "start"):
            raise ValueError(f"rate_limits_position: must be 'after_done', 'end' or 'start', "
                             f"got {rate_limits_position!r}. Fix: use 'after_done' (as the "
                             "real service does)")
        digests: frozenset[str] | None = None
        if valid_keys is not None:
            if isinstance(valid_keys, (str, bytes)):
                raise ValueError("valid_keys: must be a list of keys, not one string. "
                                 "Fix: valid_keys=['sk-test-1']")
            keys = list(valid_keys)
            if not keys or not all(isinstance(k, str) and k.strip() for k in keys):
                raise ValueError("valid_keys: must be a non-empty list of non-empty strings. "
                                 "Fix: e.g. valid_keys=['sk-test-1'], or leave it out to "
                                 "accept any non-empty key")
            digests = frozenset(_key_digest(k.strip()) for k in keys)
        if webhook_secret is not None and (not isinstance(webhook_secret, str)
                                           or not webhook_secret):
            raise ValueError("webhook_secret: must be a non-empty string (e.g. 'whsec_…'). "
                             "Fix: pass the secret your webhook receiver verifies with")
        if webhook_url is not None and not str(webhook_url).startswith(("http://", "https://")):
            raise ValueError("webhook_url: must start with http:// or https://. "
                             "Fix: e.g. 'http://127.0.0.1:8000/webhook'")
        options = EmulatorOptions(
            speed=float(speed), model=model, session_created_on_attach=session_created_on_attach,
            rate_limits_position=rate_limits_position, audio_deltas=audio_deltas,
            close_frame_on_end=close_frame_on_end, hold_until_attached=hold_until_attached,
            caller_patience_s=caller_patience_s,
        )
        emu = cls(host=host, port=port, options=options, scenario=load_scenario(scenario),
                  webhook_url=webhook_url, webhook_secret=webhook_secret, seed=seed,
                  faults=parse_faults(faults), webhook_retry_delays=webhook_retry_delays,
                  valid_keys=digests)
        emu._session_for(emu.scenario, IdFactory(0))   # a bad scenario session fails here
        await emu._serve()
        return emu

    async def _serve(self) -> None:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/v1/realtime/calls", self._create_call)
        app.router.add_post("/v1/realtime/calls/{call_id}/{action}", self._call_action)
        app.router.add_get("/v1/realtime", self._websocket)
        app.router.add_get("/v1/models", self._models_list)
        app.router.add_get("/v1/models/{model_id}", self._models_get)
        self.live.add_routes(app)
        app.router.add_post("/_emulator/calls", self._control_start)
        app.router.add_get("/_emulator/calls", self._control_list)
        app.router.add_get("/_emulator/calls/{call_id}", self._control_get)
        app.router.add_post("/_emulator/calls/{call_id}/faults", self._control_faults)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

    async def close(self) -> None:
        """End every live call (closing its sockets), stop serving, release the port."""
        if self._closed:
            return
        self._closed = True
        for call in list(self.calls.values()):
            await call.end("emulator_closed")
        for call in list(self.calls.values()):
            await call.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sender is not None:
            await self._sender.close()
        for sender in self._other_senders.values():
            await sender.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Emulator:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    def __repr__(self) -> str:
        live = sum(1 for c in self.calls.values() if c.status != "ended")
        return (f"<Emulator {self.base_url} speed={self.options.speed:g} "
                f"scenario={self.scenario.name!r} calls={len(self.calls)} live={live}"
                f"{' webhook_url=' + repr(self.webhook_url) if self.webhook_url else ''}"
                f"{' signed' if self._webhook_secret else ''}>")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def websocket_base_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v1"

    @property
    def control_url(self) -> str:
        return f"http://{self.host}:{self.port}/_emulator"

    def client(self, api_key: str = "sk-emulator", **kwargs: Any) -> openai.AsyncOpenAI:
        """An ``openai.AsyncOpenAI`` pointed at this emulator (and its webhook secret)."""
        import openai

        kwargs.setdefault("webhook_secret", self._webhook_secret)
        return openai.AsyncOpenAI(api_key=api_key, base_url=self.base_url,
                                  websocket_base_url=self.websocket_base_url, **kwargs)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ calls (Python API)

    def _created_at(self) -> int:
        # Seeded: a fixed epoch (the call's clock starts at 0), so a seeded call's
        # session.created is the same bytes on any day.
        return SEEDED_EPOCH if self.seed is not None else int(time.time())

    def _session_for(self, scenario: Scenario, ids: IdFactory) -> dict[str, Any]:
        return initial_session(scenario, self.options.model, ids, self._created_at())

    def _hold(self, hold_until_attached: bool | None) -> bool:
        """Whether a new call's caller waits for a sideband (None: the emulator's option)."""
        return self.options.hold_until_attached if hold_until_attached is None \
            else hold_until_attached

    def _new_call(self, *, call_id: str, transport: Literal["webrtc", "sip", "websocket"],
                  scenario: Scenario, session: dict[str, Any],
                  streams: tuple[IdFactory, random.Random],
                  faults: list[Fault] | None = None,
                  hold_until_attached: bool | None = None,
                  core: LiveSession | None = None) -> EmulatedCall:
        """A call of this emulator, kept in ``calls``: a Realtime one, or the GPT-Live
        session whose ``core`` is given (``_live.py``)."""
        ids, rng = streams
        call = EmulatedCall(
            call_id=call_id, transport=transport, scenario=scenario, session=session,
            options=self.options, ids=ids, rng=rng,
            faults=[*self._faults, *(faults or [])],
            hold_until_attached=self._hold(hold_until_attached),
            on_end=lambda c: self._observe("ended", c.call_id), core=core,
        )
        self.calls[call_id] = call
        return call

    async def start_call(
        self,
        transport: Literal["webrtc", "sip"] = "webrtc",
        scenario: ScenarioSpec | None = None,
        *,
        faults: Iterable[Fault | Mapping[str, Any]] | None = None,
        hold_until_attached: bool = True,
        session: Mapping[str, Any] | None = None,
        call_id: str | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        api: Literal["realtime", "live"] = "realtime",
    ) -> str:
        """Start a scripted call and return its id.

        ``api="live"``: a GPT-Live session (``live_…``; ``session`` is then a Live session
        config, e.g. ``{"delegation": …, "store": True}``). A Live SIP call is announced both
        ways, ``live.transport.incoming`` and ``realtime.call.incoming`` of a twin
        ``rtc_u0_…`` id (``emu.live.twins`` maps each to the other); the first accept wins.

        ``webrtc``: as if a browser posted an offer (the caller waits for a sideband when
        ``hold_until_attached``). ``sip``: sends ``realtime.call.incoming`` to
        ``webhook_url`` and waits for ``accept``/``reject``. ``call_id``: use this id instead
        of a minted one (any id the real service could hand out, e.g. one copied from real
        traffic, for tests); it must not be in use. ``webhook_url`` (SIP only): announce this
        call there instead of the emulator's ``webhook_url``, signed with ``webhook_secret``
        (default: the emulator's secret).
        """
        if api == "live":
            return await self.live.start_call(
                transport, scenario, faults=faults, hold_until_attached=hold_until_attached,
                session=session, call_id=call_id, webhook_url=webhook_url,
                webhook_secret=webhook_secret)
        if api != "realtime":
            raise ValueError(f"api: must be 'realtime' or 'live', got {api!r}. "
                             "Fix: pick one of the two")
        sender = self._check_start(transport, call_id, check_call_id, webhook_url,
                                   webhook_secret)
        sc = self.scenario if scenario is None else load_scenario(scenario)
        parsed_faults = parse_faults(faults)
        sess = self._session_for(sc, IdFactory(0))
        if session is not None:
            try:
                merge_session(sess, {"type": "realtime", **session}, audio_started=False)
            except ValidationError as err:
                raise ValueError(str(err)) from None
        if call_id is None:
            call_id = self._ids.webrtc_call_id() if transport == "webrtc" else \
                self._ids.sip_call_id()
        # The call's ids and randomness derive from (seed, call id) alone.
        streams = call_streams(self.seed, call_id)
        sess = self._session_for(sc, streams[0])
        if session is not None:
            sess = merge_session(sess, {"type": "realtime", **session}, audio_started=False)
        call = self._new_call(call_id=call_id, transport=transport, scenario=sc, session=sess,
                              streams=streams, faults=parsed_faults,
                              hold_until_attached=hold_until_attached)
        if transport == "webrtc":
            await call.announce()
            await call.start()
        else:
            self._announce(call, sender)
        return call_id

    def _check_start(self, transport: str, call_id: str | None,
                     check_id: Callable[[str, str], object], webhook_url: str | None,
                     webhook_secret: str | None) -> WebhookSender | None:
        """``start_call``'s checks common to both APIs (``ValueError`` naming the argument):
        the transport, the webhook, a given ``call_id`` (``check_id``: the API's id check)
        not in use. Returns the sender the call would be announced with."""
        if transport not in ("webrtc", "sip"):
            raise ValueError(f"transport: must be 'webrtc' or 'sip', got {transport!r}. "
                             "Fix: pick one of the two")
        sender = self._sender_for(transport, webhook_url, webhook_secret)
        if call_id is not None:
            check_id(call_id, "call_id")
            if call_id in self.calls:
                raise ValueError(f"call_id: {call_id!r} is already a call of this emulator. "
                                 "Fix: leave call_id out to get a fresh id, or pick another")
        return sender

    def _sender_for(self, transport: str, url: str | None,
                    secret: str | None) -> WebhookSender | None:
        """The sender a SIP call is announced with: the emulator's, or one for ``url``."""
        if url is None:
            if secret is not None:
                raise ValueError("webhook_secret: only applies with webhook_url. Fix: pass "
                                 "webhook_url too, or set the secret in Emulator.start()")
            return self._sender
        if transport != "sip":
            raise ValueError("webhook_url: only SIP calls announce themselves to a webhook. "
                             "Fix: use transport='sip', or leave webhook_url out")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError("webhook_url: must start with http:// or https://. "
                             "Fix: e.g. 'http://127.0.0.1:8000/webhook'")
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise ValueError("webhook_secret: must be a non-empty string (e.g. 'whsec_…'). "
                             "Fix: pass the secret your webhook receiver verifies with")
        secret = self._webhook_secret if secret is None else secret
        key = (url, _key_digest(secret) if secret is not None else "")
        if key not in self._other_senders:
            self._other_senders[key] = WebhookSender(url, secret, self._retry_delays)
        return self._other_senders[key]

    def _observe(self, kind: str, call_id: str, t: float | None = None) -> None:
        """Tell the ``call_observers`` (the load generator) what just happened to a call."""
        now = time.monotonic() if t is None else t
        for observer in list(self.call_observers):
            observer(kind, call_id, now)

    def _announce(self, call: EmulatedCall, sender: WebhookSender | None = None) -> None:
        """Record the ``realtime.call.incoming`` delivery now; POST it in the background."""
        self._webhook(call, sender, "realtime.call.incoming", {
            "call_id": call.call_id, "sip_media_security": "srtp",
            "sip_headers": [dict(h) for h in call.scenario.sip_headers]})

    def _webhook(self, call: EmulatedCall, sender: WebhookSender | None, type_: str,
                 data: dict[str, Any]) -> None:
        """Record a webhook event about ``call`` now; POST it in the background with
        ``sender`` (None: the emulator's own, if it has a ``webhook_url``)."""
        sender = sender if sender is not None else self._sender
        event_id = self._ids.webhook_event_id()
        payload: dict[str, Any] = {
            "object": "event",
            "id": event_id,
            "type": type_,
            "created_at": int(time.time()),
            "data": data,
        }
        delivery = WebhookDelivery(webhook_id=self._ids.webhook_delivery_id(),
                                   event_id=event_id, call_id=call.call_id,
                                   url=sender.url if sender is not None else "")
        self.webhook_deliveries.append(delivery)
        if sender is not None:
            self._spawn(sender.deliver(delivery, payload))

    def call(self, call_id: str) -> EmulatedCall:
        """The emulated call ``call_id`` (``KeyError`` naming the id if unknown)."""
        try:
            return self.calls[call_id]
        except KeyError:
            raise KeyError(f"call_id: no call {_shown(call_id)} in this emulator. Fix: use an id "
                           "returned by start_call() or a Location header") from None

    def record(self, call_id: str) -> list[dict[str, Any]]:
        """What the emulator sent and received on ``call_id``, in order.

        Each record: ``direction`` ("sent" | "received" | "meta"), ``t`` (time.monotonic),
        ``event`` (the dict; ``None`` with ``raw`` for a frame that was not JSON), and for
        sent events ``sockets`` (ids of the sockets it reached), for received ``socket``.
        """
        return self.call(call_id).record()

    def sockets(self, call_id: str) -> list[dict[str, Any]]:
        """Every socket that attached to ``call_id``: id, opened/closed times, reason."""
        return [s.as_dict() for s in self.call(call_id).socket_log]

    async def inject(self, call_id: str, fault: Fault | Mapping[str, Any]) -> None:
        """Apply a fault now (``at_ms``/``every_ms``/``count`` count from now)."""
        call = self.call(call_id)
        parsed = parse_fault(fault, "fault")
        await call.inject(parsed)

    async def hangup(self, call_id: str, *, close_frame: bool | None = None) -> None:
        """End a call from the server side (as ``POST .../hangup`` does)."""
        await self.call(call_id).end("hangup", close_frame=close_frame)

    async def wait_attached(self, call_id: str, timeout: float = 30.0) -> None:
        await asyncio.wait_for(self.call(call_id).attached.wait(), timeout)

    async def wait_ended(self, call_id: str, timeout: float = 60.0) -> str:
        """Wait for the call to end; returns the end reason."""
        call = self.call(call_id)
        await asyncio.wait_for(call.ended.wait(), timeout)
        return call.end_reason or ""

    # ------------------------------------------------------------------ load mode (_load.py)

    async def load(self, n: int, rate: float, *, webhook_url: str | None = None,
                   webhook_secret: str | None = None, timeout: float = 10.0,
                   scenario: ScenarioSpec | None = None) -> LoadResult:
        """Place ``n`` SIP calls at ``rate`` calls/s against a webhook app; see ``_load``.

        Returns a ``LoadResult`` (``.table()``, ``.ok``, the latencies); ``ValueError``
        naming the argument for bad input, before any call is placed.
        """
        from ._load import run_load

        return await run_load(self, n, rate, webhook_url=webhook_url,
                              webhook_secret=webhook_secret, timeout=timeout,
                              scenario=scenario)

    # ------------------------------------------------------------------ HTTP: calls API

    def _log_request(self, request: web.Request, call_id: str | None, body: Any) -> None:
        self.requests.append({
            "t": time.monotonic(), "method": request.method, "path": request.path,
            "call_id": call_id, "content_type": request.content_type, "body": body,
        })

    async def _json_body(self, request: web.Request,
                         call_id: str | None) -> tuple[Any, web.Response | None]:
        """A call-control request's JSON body (None if empty), logged; or the HTTP 400 for
        a body that is not JSON."""
        raw = await request.read()
        if not raw.strip():
            self._log_request(request, call_id, None)
            return None, None
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self._log_request(request, call_id, raw.decode("utf-8", "replace"))
            return None, _json_error(400, "We could not parse the JSON body of your request.",
                                     code="invalid_json")
        self._log_request(request, call_id, body)
        return body, None

    def _accept_session(self, body: Any, base: dict[str, Any], field: str) -> dict[str, Any]:
        """Validate a full session object (accept body / multipart ``session``) and apply it."""
        if not isinstance(body, dict):
            raise ValidationError(field, "must be a JSON object (the session)",
                                  'send {"type": "realtime", ...}', code="invalid_type")
        if body.get("type") != "realtime":
            raise ValidationError(f"{field}.type" if field else "type",
                                  f"must be 'realtime', got {body.get('type')!r}",
                                  "add \"type\": \"realtime\"",
                                  code="missing_required_parameter" if "type" not in body
                                  else "invalid_value")
        start = dict(base)
        if isinstance(body.get("model"), str):
            start["model"] = body["model"]
        try:
            return merge_session(start, body, audio_started=False)
        except ValidationError as err:
            param = err.field.removeprefix("session.")
            raise ValidationError(f"{field}.{param}" if field else param, err.problem, err.fix,
                                  code=err.code) from None   # type: ignore[arg-type]

    async def _create_call(self, request: web.Request) -> web.Response:
        refused = self._refuse_key(request)
        if refused is not None:
            return refused
        session_body: Any = None
        if request.content_type == "multipart/form-data":
            sdp = None
            reader = await request.multipart()
            async for part in reader:
                name = getattr(part, "name", None)
                data = await part.read(decode=True)  # type: ignore[union-attr]
                if name == "sdp":
                    sdp = data.decode("utf-8", "replace")
                elif name == "session":
                    try:
                        session_body = json.loads(data)
                    except json.JSONDecodeError:
                        self._log_request(request, None, {"sdp": sdp, "session": None})
                        return _json_error(400, "The 'session' part is not valid JSON.",
                                           param="session", code="invalid_json")
                else:
                    return _json_error(400, f"Unknown parameter: '{name}'.", param=str(name),
                                       code="unknown_parameter")
        else:
            sdp = await request.text()
        self._log_request(request, None, {"sdp": sdp, "session": session_body})
        if not sdp or not sdp.lstrip().startswith("v=0"):
            return _json_error(400, "Invalid SDP offer: it must start with 'v=0'.",
                               param="sdp", code="invalid_offer")
        if session_body is not None:
            try:
                self._accept_session(session_body, self._session_for(self.scenario,
                                                                     IdFactory(0)), "session")
            except ValidationError as err:
                return _json_error(400, str(err), param=err.param, code=err.code)
        call_id = self._ids.webrtc_call_id()
        self.requests[-1]["call_id"] = call_id
        streams = call_streams(self.seed, call_id)
        session = self._session_for(self.scenario, streams[0])
        if session_body is not None:
            session = self._accept_session(session_body, session, "session")
        call = self._new_call(call_id=call_id, transport="webrtc", scenario=self.scenario,
                              session=session, streams=streams)
        await call.announce()
        await call.start()
        return web.Response(status=201, text=_sdp_answer(self._ids),
                            content_type="application/sdp",
                            headers={"Location": f"/v1/realtime/calls/{call_id}"})

    async def _call_action(self, request: web.Request) -> web.Response:
        refused = self._refuse_key(request)
        if refused is not None:
            return refused
        call_id = request.match_info["call_id"]
        action = request.match_info["action"]
        body, bad = await self._json_body(request, call_id)
        if bad is not None:
            return bad
        if action not in ("accept", "reject", "refer", "hangup"):
            return _json_error(404, f"Unknown action '{action}'.", code="not_found")
        if action == "accept" and (refusal := self.live.twin_refusal(call_id)) is not None:
            return refusal   # a SIP call announced both ways: the Live accept came first
        call = self.calls.get(call_id)
        if call is None or call.status == "ended" or call.transport == "websocket" or \
                call.api != "realtime":
            return _json_error(404, f"Call {_shown(call_id)} not found.", param="call_id",
                               code="call_not_found")
        if action == "hangup":
            await call.end("hangup")
            await self.live.settle_twin(call_id, "hangup")
            return web.Response(status=200)
        if action == "accept":
            if call.status != "incoming":
                return _json_error(400, f"Call {_shown(call_id)} is not waiting to be accepted.",
                                   code="call_not_ringing")
            try:
                call.session = self._accept_session(body, call.session, "")
            except ValidationError as err:
                return _json_error(400, str(err), param=err.param, code=err.code)
            await call.start()
            await self.live.settle_twin(call_id, "accept")
            self._observe("accepted", call_id)
            return web.Response(status=200)
        if action == "reject":
            if call.status != "incoming":
                return _json_error(400, f"Call {_shown(call_id)} is not waiting to be accepted.",
                                   code="call_not_ringing")
            body = body if body is not None else {}
            code = body.get("status_code", 603) if isinstance(body, dict) else None
            if not isinstance(body, dict) or isinstance(code, bool) or not isinstance(
                    code, int) or not 400 <= code <= 699:
                return _json_error(400, "status_code: must be a SIP final status code from 400 "
                                   "to 699. Fix: e.g. 486 (busy) or 603 (decline)",
                                   param="status_code", code="invalid_value")
            self._observe("rejected", call_id)
            await call.end(f"rejected ({code})")
            await self.live.settle_twin(call_id, "reject")
            return web.Response(status=200)
        return await self._refer(call, body, f"Call {_shown(call_id)}")

    async def _refer(self, call: EmulatedCall, body: Any, what: str, *,
                     strip: bool = False) -> web.Response:
        """``POST …/refer`` of a Realtime call or a GPT-Live session (``what`` names it in
        a message): the body's ``target_uri`` checked, then the core's refer, as in virtual
        mode. ``strip``: surrounding blanks of the target are dropped (Live), not refused."""
        target = body.get("target_uri") if isinstance(body, dict) else None
        uri = target.strip() if strip and isinstance(target, str) else target
        if not isinstance(uri, str) or not uri.startswith(("tel:", "sip:", "sips:")):
            return _json_error(400, "target_uri: is required and must be a tel: or sip: URI. "
                               "Fix: e.g. 'tel:+14155550123' or 'sip:agent@example.com'",
                               param="target_uri",
                               code="missing_required_parameter" if target is None
                               else "invalid_value")
        if call.status != "active":
            return _json_error(400, f"{what} is not connected.", code="call_not_active")
        try:
            await call.refer(uri)
        except ValueError as err:
            return _json_error(400, str(err), param="target_uri", code="invalid_value")
        return web.Response(status=200)

    # ------------------------------------------------------------------ HTTP: models

    # ``GET /v1/models`` and ``/v1/models/{id}``: the cheap read-only request that
    # ``rtwidgets doctor`` makes to check a key, answered in the OpenAI list/model shapes.
    # The ids are the Realtime models named in realtime-protocol.md §0.1 (plus the emulator's
    # own default model); ``created`` is one fixed date (2025-08-28, the GA snapshot's), as
    # the emulator has no source for the real ones and the answer must not vary between runs.

    _MODEL_IDS = ("gpt-realtime", "gpt-realtime-2025-08-28", "gpt-realtime-mini",
                  "gpt-realtime-mini-2025-12-15", "gpt-realtime-1.5", "gpt-realtime-2",
                  "gpt-realtime-2.1", "gpt-realtime-2.1-mini")
    _MODEL_CREATED = 1756339200

    def _model_objects(self) -> list[dict[str, Any]]:
        ids = list(dict.fromkeys((*self._MODEL_IDS, self.options.model)))
        return [{"id": m, "object": "model", "created": self._MODEL_CREATED,
                 "owned_by": "openai"} for m in ids]

    async def _models_list(self, request: web.Request) -> web.Response:
        if (refused := self._refuse_key(request)) is not None:
            return refused
        return web.json_response({"object": "list", "data": self._model_objects()})

    async def _models_get(self, request: web.Request) -> web.Response:
        if (refused := self._refuse_key(request)) is not None:
            return refused
        model_id = request.match_info["model_id"]
        for model in self._model_objects():
            if model["id"] == model_id:
                return web.json_response(model)
        # the id is not echoed: it is whatever the client sent (a pasted key?)
        return _json_error(404, "The model does not exist or you do not have access to it.",
                           param="model", code="model_not_found")

    # ------------------------------------------------------------------ the WebSocket

    def _key_ok(self, key: str) -> bool:
        if not key:
            return False
        return self._valid_keys is None or _key_digest(key) in self._valid_keys

    def _refuse_key(self, request: web.Request) -> web.Response | None:
        """The calls API's answer to a missing or wrong key (401 + error envelope), or None."""
        key = _bearer(request)
        if not key:
            return _json_error(401, _NO_KEY)
        if not self._key_ok(key):
            return _json_error(401, _bad_key_message(key), code="invalid_api_key")
        return None

    def _handshake_failure(self, request: web.Request, call_id: str | None,
                           model: str | None) -> tuple[str | None, int, str] | None:
        """(error code, close code, message) for a socket refused after the upgrade."""
        key = _bearer(request)
        if not key:
            # Observed (probe report, 2026-09-18): no code, this message, close reason
            # "invalid_request_error".
            return (None, 3000, "Missing bearer or basic authentication in header")
        if not self._key_ok(key):
            return ("invalid_api_key", 3000, _bad_key_message(key))
        if request.headers.get("OpenAI-Beta", "").replace(" ", "").lower() == "realtime=v1":
            return ("beta_api_shape_disabled", 4000,
                    "The beta Realtime API shape is no longer available. Remove the "
                    "'OpenAI-Beta: realtime=v1' header to use the GA Realtime API.")
        if call_id:
            return None
        if not model:
            return ("missing_model", 4000,
                    "You must provide a model parameter (e.g. ?model=gpt-realtime).")
        if not (_REALTIME_MODEL_RE.match(model) or model == self.options.model):
            return ("invalid_model", 4000,
                    f"Invalid model: {short(model)}. Use a Realtime model, e.g. gpt-realtime.")
        return None

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        call_id = request.query.get("call_id")
        model = request.query.get("model")
        if call_id and model:
            return _json_error(400, "Give exactly one of 'call_id' (attach to a call) or "
                               "'model' (a new session).", param="call_id", code="invalid_value")
        call: EmulatedCall | None = None
        if call_id:
            # Observed in real traffic: an unknown or ended call is refused at the handshake
            # (HTTP 404), before any key is looked at.
            call = self.calls.get(call_id)
            if call is None or call.status != "active" or call.transport == "websocket" or \
                    call.api != "realtime":
                return web.Response(status=404)
        ws, accepted = await self._upgrade(request, call_id, model, {"event_id": None})
        if not accepted:
            return ws
        if call is None:
            assert model is not None
            session = default_session(model, self._ids, created_at=self._created_at())
            call = self._new_call(call_id=session["id"], transport="websocket",
                                  scenario=Scenario.idle(), session=session,
                                  streams=call_streams(self.seed, session["id"]))
            await call.start()
        sock = await call.attach(ws, request)
        if call.transport != "websocket":
            self._observe("sideband", call.call_id, sock.opened_t)
        try:
            await self._serve_socket(call, ws, sock)
        finally:
            if call.transport == "websocket" and not call.sockets:
                await call.end("client_closed")
        return ws

    async def _upgrade(self, request: web.Request, call_id: str | None, model: str | None,
                       error_extra: dict[str, Any]) -> tuple[web.WebSocketResponse, bool]:
        """Upgrade to a WebSocket; (the socket, False) if it was then refused.

        Observed in real traffic: key, header and model are refused after the upgrade, by an
        ``error`` event (its ``error`` object with the protocol's ``error_extra`` fields) and
        a close code (3000 for the key, 4000 for the rest); noted in ``refused_sockets``.
        """
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024, timeout=2.0)
        await ws.prepare(request)
        failure = self._handshake_failure(request, call_id, model)
        if failure is None:
            return ws, True
        err_code, close, message = failure
        error = {"type": "invalid_request_error", "code": err_code, "message": message,
                 "param": None, **error_extra}
        frame = {"type": "error", "event_id": self._ids.event_id(), "error": error}
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(json.dumps(frame, separators=(",", ":")))
        self.refused_sockets.append({"t": time.monotonic(), "call_id": call_id,
                                     "model": model, "code": err_code, "close_code": close})
        # The close reason is "<error type>.<code>" ("invalid_request_error.invalid_model"),
        # or the type alone when there is no code: as observed in real traffic.
        reason = "invalid_request_error" + (f".{err_code}" if err_code else "")
        await ws.close(code=close, message=reason.encode())
        return ws, False

    async def _serve_socket(self, call: EmulatedCall, ws: web.WebSocketResponse,
                            sock: _Socket) -> None:
        """Feed ``ws``'s frames to ``call`` until the client or the call closes it; then
        the socket is detached (the call goes on, unless its shell ends it)."""
        try:
            while True:
                recv = asyncio.ensure_future(ws.receive())
                waiters: set[asyncio.Future[Any]] = {recv, sock.close_request}
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                if not recv.done():
                    # The call asked for a close handshake (hangup, end, drop fault).
                    recv.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await recv
                    code, reason = sock.close_request.result()
                    await ws.close(code=code, message=reason.encode())
                    break
                msg = recv.result()
                if msg.type == WSMsgType.TEXT:
                    await call.receive(sock, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await call.receive(sock, msg.data.decode("utf-8", "replace"), binary=True)
                else:
                    break
        finally:
            call.detach(sock)
            sock.finished.set()

    # ------------------------------------------------------------------ control API

    async def _control_start(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _json_error(400, "The body is not valid JSON. Fix: send "
                               '{"transport": "webrtc", "scenario": "conversation"}',
                               code="invalid_json")
        if not isinstance(body, dict):
            return _json_error(400, "The body must be a JSON object.", code="invalid_type")
        unknown = set(body) - {"transport", "scenario", "faults", "hold_until_attached",
                               "session", "call_id", "api"}
        if unknown:
            name = sorted(unknown)[0]
            return _json_error(400, f"{name}: is not a known field. Fix: use api, transport, "
                               "scenario, faults, hold_until_attached, session, call_id",
                               param=name, code="unknown_parameter")
        hold = body.get("hold_until_attached", self.options.hold_until_attached)
        if not isinstance(hold, bool):
            return _json_error(400, "hold_until_attached: must be true or false.",
                               param="hold_until_attached", code="invalid_type")
        api = body.get("api", "realtime")
        if api not in ("realtime", "live"):
            return _json_error(400, "api: must be 'realtime' or 'live'. Fix: leave it out for "
                               "a Realtime call", param="api", code="invalid_value")
        try:
            call_id = await self.start_call(
                transport=body.get("transport", "webrtc"),
                scenario=body.get("scenario"), faults=body.get("faults"),
                hold_until_attached=hold, session=body.get("session"),
                call_id=body.get("call_id"), api=api)
        except (ScenarioError, FaultError) as err:
            return _json_error(400, str(err), param=err.field, code="invalid_value")
        except ValueError as err:
            param = str(err).split(":", 1)[0]
            return _json_error(400, str(err), param=param, code="invalid_value")
        if api == "live":
            answer = {"session_id": call_id}
            if call_id in self.live.twins:
                answer["call_id"] = self.live.twins[call_id]
            return web.json_response(answer, status=201)
        return web.json_response({"call_id": call_id}, status=201)

    def _call_view(self, call: EmulatedCall) -> dict[str, Any]:
        view = call.snapshot()
        view["requests"] = [r for r in self.requests if r["call_id"] == call.call_id]
        view["webhooks"] = [d.as_dict() for d in self.webhook_deliveries
                            if d.call_id == call.call_id]
        return view

    async def _control_list(self, request: web.Request) -> web.Response:
        return web.json_response({"calls": [
            {"call_id": c.call_id, "transport": c.transport, "status": c.status,
             "end_reason": c.end_reason, "scenario": c.scenario.name}
            for c in self.calls.values()]})

    async def _control_get(self, request: web.Request) -> web.Response:
        call = self.calls.get(request.match_info["call_id"])
        if call is None:
            return _json_error(404, "No such call.", param="call_id", code="call_not_found")
        return web.json_response(self._call_view(call))

    async def _control_faults(self, request: web.Request) -> web.Response:
        call = self.calls.get(request.match_info["call_id"])
        if call is None or call.status == "ended":
            return _json_error(404, "No such live call.", param="call_id", code="call_not_found")
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _json_error(400, 'The body is not valid JSON. Fix: send {"kind": "drop"} '
                               "or a list of faults", code="invalid_json")
        try:
            faults = parse_faults(body if isinstance(body, list) else [body])
        except FaultError as err:
            return _json_error(400, str(err), param=err.field, code="invalid_value")
        for fault in faults:
            await self.inject(call.call_id, fault)
        return web.json_response({"applied": [f.as_dict() for f in faults]})
