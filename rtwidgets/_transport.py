"""The one seam between rtwidgets and the network: live sockets, recorded replays, scripts.

Why: a ``Call`` must not care whether its frames come from ``wss://…/v1/realtime?call_id=…``
or from a capture file, so both sit behind ``Transport``: ``await send(text)``, ``async for
item in transport`` and ``await close()``. The iterator yields raw incoming frames (the wire
bytes, unparsed) and ``TransportNotice`` items that say when the socket went down, came back
(a gap) or ended; a replay yields ``RecordedFrame`` items (a whole capture line, any
direction). Keeping notices in the same stream as frames puts every gap at its exact place.
``MemoryTransport`` is the public test double (httpx's ``MockTransport`` lesson): scripted
frames and a handler of client events, no socket, so users test their own tool handlers and
notebooks with ``attach(call_id, transport=MemoryTransport(...))``.

``LiveTransport`` goes through the official SDK (``client.realtime.connect(call_id=…)``), which
knows the URL, auth and headers, and reads raw frames with ``recv_bytes()``;
``LiveSessionTransport`` is the same machinery (one shared base) on a GPT-Live session's
sideband (``client.live.sideband.connect(session_id=…)``), where the server's
``session.closed`` is final too. Reconnection is
ours, not the SDK's (``on_reconnecting`` is left unset), because the SDK's reconnect is
invisible from ``recv_bytes`` (no gap to record) and replays its send queue after a
reconnect, which could send a client event twice.

Ours reconnects only after a *drop*: a close code in ``DROP_CLOSE_CODES`` (1001, 1005,
1006, 1011, 1012, 1013, 1015 — the set the SDK itself reconnects on), a socket that died
without a close frame, or a network error at the handshake. Every other close ends the call
at once: 1000 (the server ended the session), the protocol errors 1002–1010, and the
3000–4999 ranges the real service uses to refuse a bad key (3000), model or API shape
(4000) after the upgrade (``rtwidgets.protocol.fatal``). So does an HTTP 404/410 (or
401/403, or another 4xx) at the handshake, and an ``error`` event whose code says the key,
model or call is not valid: the ``Call`` reports it through ``server_error(…, fatal=True)``
and the transport closes the socket and ends with that reason without waiting for the
server's close. The status reason carries the server's message and code (masked: the
service quotes part of a bad key), never key text.

The budget is a sliding window: at most ``max_attempts`` failures (failed handshakes and
drops) within any ``window`` seconds (default 8 in 60 s); one more and the call is given up.
A received frame never resets it: a proxy or server that accepts, sends one frame and drops
the socket would otherwise loop for ever (issue 10 measured 9 connections in 4 s). Old
failures age out of the window, so a long call that drops now and then keeps reconnecting.
The backoff delay grows with the number of failures in the window.
Nothing is queued while the socket is down: ``send`` raises ``TransportNotLive`` and sends
nothing, so no event can be sent twice.

Never: loop on a refused handshake, put an API key, header or query string (beyond the
call id) in a reason or error text, or use a thread. Importing this module installs a filter
on the ``websockets.client`` logger that blanks credential headers in its DEBUG records.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import logging
import math
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from rtwidgets._capture import Frame, FrameStore
from rtwidgets.protocol.fatal import is_drop, safe_text

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = [
    "LiveSessionTransport",
    "LiveTransport",
    "MemoryTransport",
    "ReconnectPolicy",
    "RecordedFrame",
    "ReplayReadOnlyError",
    "ReplayTransport",
    "Transport",
    "TransportItem",
    "TransportNotLive",
    "TransportNotice",
]

NoticeKind = Literal["live", "reconnecting", "gap", "ended", "reset"]


@dataclass(frozen=True, slots=True)
class TransportNotice:
    """A change of the connection, in stream order with the frames.

    ``live``: connected (first time or again). ``reconnecting``: the socket went down at
    ``since`` (``time.monotonic()``). ``gap``: the socket is back; frames between ``since`` and
    now were not seen. ``ended``: no more frames will come (``reason`` says why). ``reset``
    (replay only): a backward seek; the consumer should clear what it built.
    """

    kind: NoticeKind
    reason: str = ""
    since: float | None = None
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    """A frame replayed from a capture: its whole line, as stored, and its flag bits."""

    direction: str
    line: bytes
    flags: int
    m: float


TransportItem = bytes | str | TransportNotice | RecordedFrame


class TransportNotLive(RuntimeError):
    """``send`` while the socket is down or closed; nothing was sent."""


class ReplayReadOnlyError(RuntimeError, AttributeError):
    """A replay cannot send: it plays a recorded call back.

    Also an ``AttributeError``: a ``Replay`` has no live actions (``send``, ``update_session``,
    ``tool``, ``hangup``, …), so ``hasattr(replay, "send")`` is ``False``, while code written
    for a ``Call`` that reaches for one gets this error with the fix, as it always did.
    """


@runtime_checkable
class Transport(Protocol):
    """What a ``Call`` needs from a connection."""

    @property
    def closed_reason(self) -> str | None: ...

    async def send(self, text: str) -> None: ...

    def __aiter__(self) -> AsyncIterator[TransportItem]: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Backoff and budget for reconnecting after a drop.

    ``delay(n)`` = min(initial_delay * 2**(n-1), max_delay), times a jitter factor in
    [1 - jitter, 1], where ``n`` is the number of failures (failed handshakes and drops)
    within the last ``window`` seconds. When that number reaches ``max_attempts`` the call
    is given up (status ended). Received frames never reset the count; failures older than
    ``window`` seconds drop out of it.
    """

    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_attempts: int = 8
    jitter: float = 0.25
    handshake_timeout: float = 10.0
    window: float = 60.0

    def __post_init__(self) -> None:
        if not self.initial_delay >= 0:
            raise ValueError("reconnect.initial_delay: must be >= 0. Fix: use e.g. 0.5")
        if not self.max_delay >= self.initial_delay:
            raise ValueError("reconnect.max_delay: must be >= initial_delay. Fix: use e.g. 8.0")
        if self.max_attempts < 1:
            raise ValueError("reconnect.max_attempts: must be >= 1. Fix: use e.g. 8")
        if not 0 <= self.jitter <= 1:
            raise ValueError("reconnect.jitter: must be from 0 to 1. Fix: use e.g. 0.25")
        if not self.handshake_timeout > 0:
            raise ValueError("reconnect.handshake_timeout: must be > 0. Fix: use e.g. 10")
        if not self.window > 0:
            raise ValueError("reconnect.window: must be > 0 seconds. Fix: use e.g. 60")

    def delay(self, attempt: int) -> float:
        base: float = min(self.initial_delay * 2.0 ** max(attempt - 1, 0), self.max_delay)
        return base * (1.0 - self.jitter * random.random())


class _RedactHandshakeHeaders(logging.Filter):
    """websockets logs every handshake header at DEBUG, ``Authorization: Bearer <key>``
    included; this filter blanks the values of credential headers in those records."""

    _SECRET_HEADERS = frozenset({"authorization", "cookie", "api-key", "openai-api-key",
                                 "proxy-authorization", "x-api-key"})

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (isinstance(args, tuple) and len(args) == 2 and isinstance(args[0], str)
                and args[0].lower() in self._SECRET_HEADERS):
            record.args = (args[0], "[redacted]")
        return True


def _install_log_redaction() -> None:
    logger = logging.getLogger("websockets.client")
    if not any(isinstance(f, _RedactHandshakeHeaders) for f in logger.filters):
        logger.addFilter(_RedactHandshakeHeaders())


_install_log_redaction()



def _frame_reader(conn: Any) -> Callable[[], Awaitable[bytes]]:
    """How the receive loop reads one raw frame from an SDK connection.

    The SDK's ``recv_bytes`` is its websockets socket's ``recv(decode=False)`` plus, per
    frame, a coroutine hop, a debug log call and a check of the SDK's own reconnect
    progress, which is always idle here (reconnection is ours, see the module docstring).
    So the loop reads the socket directly when the connection has one (a websockets
    connection) and the SDK is not reconnecting; otherwise (another SDK version, a test
    double) it takes ``recv_bytes``. The frames are the same bytes either way."""
    ws = getattr(conn, "_connection", None)
    recv = getattr(ws, "recv", None)
    if (recv is None or getattr(conn, "_reconnect_attempt", None)
            or not type(ws).__module__.startswith("websockets.")):
        return conn.recv_bytes  # type: ignore[no-any-return]
    return functools.partial(recv, False)


def _ended_reason(exc: BaseException, close_text: str) -> str:
    """One sentence for a call the server ended: its own words first, then how.

    The server's close reason often already says "call ended: …"; prefixing it again gave
    "call ended: socket closed … (call ended: caller_hangup)".
    """
    rcvd = getattr(exc, "rcvd", None)
    said = safe_text(str(getattr(rcvd, "reason", "") or "")).strip()
    while said.lower().startswith("call ended:"):
        said = said[len("call ended:"):].strip()
    if rcvd is None or not said:
        return f"call ended: {close_text}"
    return f"call ended: {said[:120]} (the server closed the socket with code {rcvd.code})"


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


class _Failures:
    """The failures within the policy's sliding window (monotonic times)."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._times: deque[float] = deque()

    def add(self, now: float) -> int:
        """Record a failure at ``now``; the number of failures within the window."""
        times = self._times
        times.append(now)
        while times and times[0] <= now - self.window:
            times.popleft()
        return len(times)


class _Refused(Exception):
    """The handshake was refused for good (reason in args[0])."""


class _SdkSideband:
    """What both APIs' sideband sockets share: the SDK handshake's refusals, our reconnect
    policy, final-is-final (fatal errors, refusing closes, the server ending the session),
    sending while down refused. A subclass says only how to open the socket (``_manager``)
    and what it attaches to (``target``, shown in reprs and reasons).
    """

    _kind = "sideband"

    def __init__(
        self, client: AsyncOpenAI, target: str, *, reconnect: ReconnectPolicy | None = None,
        websocket_options: dict[str, Any] | None = None,
    ) -> None:
        self._client = client
        self.call_id = target
        self.reconnect = reconnect
        self._ws_options = dict(websocket_options or {})
        self._conn: Any = None
        self._closing = False
        self._closed_reason: str | None = None
        self._secrets = tuple(s for s in (getattr(client, "api_key", None),) if isinstance(s, str))
        self.connects = 0
        # The last server error seen on the current socket (masked text) and, when its code
        # says the call cannot go on, the reason the transport ends with.
        self._last_error: str | None = None
        self._fatal: str | None = None
        # Set when a frame said the session is over (GPT-Live's session.closed): the
        # transport ends after that frame, whatever close follows, and never reconnects.
        self._final: str | None = None

    def _manager(self) -> Any:
        raise NotImplementedError

    @property
    def closed_reason(self) -> str | None:
        return self._closed_reason

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def __repr__(self) -> str:
        state = "connected" if self._conn is not None else (self._closed_reason or "idle")
        return f"<{type(self).__name__} {self.call_id} {state}>"

    async def send(self, text: str) -> None:
        conn = self._conn
        if conn is None:
            why = self._closed_reason or "the sideband is reconnecting"
            raise TransportNotLive(
                f"call: not connected ({why}); nothing was sent. "
                "Fix: wait until call.status is 'live' and send again")
        from websockets.exceptions import ConnectionClosed

        try:
            await conn.send_raw(text)
        except ConnectionClosed as exc:
            raise TransportNotLive(
                f"call: the socket closed while sending ({self._close_text(exc)}); the event may "
                "not have reached the server. Fix: wait until call.status is 'live'") from None

    def server_error(self, text: str, *, fatal: bool) -> None:
        """The ``Call`` saw a server ``error`` event (``text``: message and code, masked).

        ``fatal``: its code says the key, model or call is not valid; the transport closes
        the socket after the current frame and ends with ``text`` as the reason, whatever
        close code follows. Otherwise ``text`` is kept to explain a close that follows.
        """
        text = _scrub(safe_text(text), self._secrets)
        self._last_error = text
        if fatal and self._fatal is None:
            self._fatal = text

    def session_ended(self, reason: str) -> None:
        """The ``Call`` saw the server end the session (GPT-Live ``session.closed``): the
        transport stops after the current frame and ends with ``reason``; no reconnect."""
        if self._final is None:
            self._final = _scrub(safe_text(reason), self._secrets)

    async def close(self) -> None:
        self._closing = True
        if self._closed_reason is None:
            self._closed_reason = "closed by this client"
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2.0)

    async def _connect(self) -> Any:
        from websockets.exceptions import InvalidStatus

        policy = self.reconnect or ReconnectPolicy()
        manager = self._manager()
        try:
            return await asyncio.wait_for(manager.enter(), policy.handshake_timeout)
        except InvalidStatus as exc:
            code = exc.response.status_code
            if code in (404, 410):
                raise _Refused(f"the call is not found or has ended (HTTP {code} at the "
                               "handshake)") from None
            if code in (401, 403):
                raise _Refused(f"the API key was refused (HTTP {code} at the handshake). "
                               "Fix: use a standard API key of the project that owns the call"
                               ) from None
            if 400 <= code < 500 and code not in (408, 429):
                raise _Refused(f"the handshake was refused (HTTP {code})") from None
            raise ConnectionError(f"handshake failed (HTTP {code})") from None

    def _close_text(self, exc: BaseException) -> str:
        rcvd = getattr(exc, "rcvd", None)
        if rcvd is None:
            return "socket dropped without a close frame"
        text = f"socket closed by the server with code {rcvd.code}"
        if rcvd.reason:
            text += f" ({safe_text(rcvd.reason, 120)})"
        return _scrub(text, self._secrets)

    def _error_text(self, exc: BaseException) -> str:
        if isinstance(exc, asyncio.TimeoutError | TimeoutError):
            return "handshake timed out"
        detail = str(exc)[:200]
        return _scrub(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__,
                      self._secrets)

    def _end_refused(self, close_text: str, on_notice: Callable[[TransportNotice], Any]
                     ) -> None:
        from rtwidgets.protocol.fatal import REFUSED_PREFIX

        reason = f"{REFUSED_PREFIX}{self._fatal}"
        if close_text:
            reason += f"; {close_text}"
        self._closed_reason = reason
        on_notice(TransportNotice("ended", reason, time.monotonic()))

    def __aiter__(self) -> AsyncIterator[TransportItem]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[TransportItem]:
        # The iterator form of pump(): items go through a queue filled by a pump task.
        queue: asyncio.Queue[TransportItem | None] = asyncio.Queue()
        put = queue.put_nowait

        async def run() -> None:
            try:
                await self.pump(put, put)
            finally:
                put(None)

        task = asyncio.get_running_loop().create_task(run())
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                yield item
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def pump(self, on_frame: Callable[[bytes], Any],
                   on_notice: Callable[[TransportNotice], Any]) -> None:
        """Read until the transport ends: ``on_frame(raw)`` for each frame, ``on_notice`` for
        each change. The fast path a ``Call`` uses (no iterator hop per frame)."""
        from websockets.exceptions import ConnectionClosed

        policy = self.reconnect
        failures = _Failures(policy.window if policy is not None else 60.0)
        attempt = 0
        down_since: float | None = None
        down_reason = ""
        try:
            while not self._closing:
                try:
                    conn = await self._connect()
                except _Refused as exc:
                    refused = str(exc)
                    if down_reason:
                        refused = f"{refused}, after the {down_reason}"
                    self._closed_reason = _scrub(refused, self._secrets)
                    on_notice(TransportNotice("ended", self._closed_reason, down_since))
                    return
                except Exception as exc:
                    attempt = failures.add(time.monotonic())
                    last = self._error_text(exc)
                    if policy is None or attempt >= policy.max_attempts:
                        tries = f" after {attempt} attempts" if attempt > 1 else ""
                        self._closed_reason = f"could not connect{tries}: {last}"
                        on_notice(TransportNotice("ended", self._closed_reason, down_since))
                        return
                    if down_since is None:
                        down_since = time.monotonic()
                        on_notice(TransportNotice("reconnecting", last, down_since, attempt))
                    await asyncio.sleep(policy.delay(attempt))
                    continue
                if self._closing:
                    await conn.close()
                    return
                self._conn = conn
                self.connects += 1
                self._last_error = None
                if down_since is not None:
                    on_notice(TransportNotice("gap", down_reason, down_since, attempt))
                    down_since = None
                on_notice(TransportNotice("live"))
                try:
                    recv = _frame_reader(conn)
                    # A fatal server error (reported by the Call from inside on_frame) ends
                    # the loop after its frame: no need to wait for the server's close.
                    while self._fatal is None and self._final is None:
                        on_frame(await recv())
                except ConnectionClosed as exc:
                    self._conn = None
                    if self._closing:
                        return
                    down_reason = self._close_text(exc)
                    code = exc.rcvd.code if exc.rcvd is not None else None
                    if self._fatal is not None:
                        self._end_refused(down_reason, on_notice)
                        return
                    if policy is None or not is_drop(code):
                        ended = _ended_reason(exc, down_reason)
                        if self._last_error and not is_drop(code):
                            # the server's error says why better than the close does
                            ended = (f"call ended: {self._last_error}; "
                                     f"{ended.removeprefix('call ended: ')}")
                        self._closed_reason = _scrub(ended, self._secrets)
                        on_notice(TransportNotice("ended", self._closed_reason, time.monotonic()))
                        return
                    down_since = time.monotonic()
                    attempt = failures.add(down_since)
                    on_notice(TransportNotice("reconnecting", down_reason, down_since, attempt))
                    if attempt >= policy.max_attempts:
                        window = f"{policy.window:g}"
                        self._closed_reason = (f"gave up after {attempt} attempts within "
                                               f"{window} s: {down_reason}")
                        on_notice(TransportNotice("ended", self._closed_reason, down_since))
                        return
                    await asyncio.sleep(policy.delay(attempt))
                else:
                    self._conn = None
                    if self._fatal is not None:
                        self._end_refused("", on_notice)
                    else:
                        self._closed_reason = self._final
                        on_notice(TransportNotice("ended", self._final or "", time.monotonic()))
                    with contextlib.suppress(BaseException):
                        await asyncio.wait_for(conn.close(), 2.0)
                    return
        finally:
            conn, self._conn = self._conn, None
            if conn is not None:
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(conn.close(), 2.0)


class LiveTransport(_SdkSideband):
    """The Realtime sideband of one call, through the openai SDK, with our own reconnection.

    Args:
        client: an ``openai.AsyncOpenAI``; its ``base_url``/``websocket_base_url`` decide where
            to connect (the real API or the emulator).
        call_id: the call to attach to.
        reconnect: a ``ReconnectPolicy``, or ``None`` to end at the first drop.
    """

    def __init__(
        self, client: AsyncOpenAI, call_id: str, *, reconnect: ReconnectPolicy | None = None,
        websocket_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(client, call_id, reconnect=reconnect,
                         websocket_options=websocket_options)

    def _manager(self) -> Any:
        return self._client.realtime.connect(
            call_id=self.call_id, max_retries=0,
            websocket_connection_options=self._ws_options,  # type: ignore[arg-type]
        )


class LiveSessionTransport(_SdkSideband):
    """The GPT-Live sideband of one session (``/v1/live/sessions/{id}/attach``), through the
    SDK's ``client.live.sideband.connect(session_id=…)``, with the same reconnection,
    refusals and final-is-final as ``LiveTransport`` (live-protocol.md §2.2-2.3).

    The SDK's own reconnect stays off (``on_reconnecting`` unset): ours records the gap.
    ``session.closed`` ends the transport (the ``Call`` reports it through
    ``session_ended``): a closed Live session never comes back, so there is no reconnect
    after it, whatever close code follows.

    Args:
        client: an ``openai.AsyncOpenAI``.
        session_id: the ``live_…`` session to attach to (percent-encoded by the SDK).
        reconnect: a ``ReconnectPolicy``, or ``None`` to end at the first drop.
        graceful_close: sent as the ``graceful_close`` query when given (the SDK omits it
            when ``None``): opt in to the server's graceful closing handshake.
    """

    _kind = "live sideband"

    def __init__(
        self, client: AsyncOpenAI, session_id: str, *,
        reconnect: ReconnectPolicy | None = None, graceful_close: bool | None = None,
        websocket_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(client, session_id, reconnect=reconnect,
                         websocket_options=websocket_options)
        self.graceful_close = graceful_close

    @property
    def session_id(self) -> str:
        return self.call_id

    def _manager(self) -> Any:
        extra: dict[str, Any] = {}
        if self.graceful_close is not None:
            extra["graceful_close"] = self.graceful_close
        return self._client.live.sideband.connect(
            session_id=self.call_id, max_retries=0,
            websocket_connection_options=self._ws_options,  # type: ignore[arg-type]
            **extra,
        )


class ReplayTransport:
    """Feeds a capture's frames back in their recorded rhythm, at any speed.

    Yields ``RecordedFrame`` items (every direction, so a consumer rebuilds the same state),
    waiting ``Δm / speed`` between frames; ``speed=math.inf`` plays instantly. ``pause()``,
    ``resume()``, ``seek(m)`` and setting ``speed`` take effect at once, even mid-wait. A
    backward seek yields ``TransportNotice("reset")`` and then the frames up to ``m`` without
    waiting. At the end it yields ``TransportNotice("ended", "end of recording")`` and waits
    for a seek or ``close()``. ``send`` always raises ``ReplayReadOnlyError``.
    """

    def __init__(
        self, frames: FrameStore | Sequence[Frame], *, speed: float = 1.0, paused: bool = False,
    ) -> None:
        if isinstance(frames, FrameStore):
            self._store = frames
        else:
            import json

            from rtwidgets._capture import F_AUDIO, F_BAD, F_HUGE, F_OOO, F_UNKNOWN

            bits = {"bad": F_BAD, "unknown_type": F_UNKNOWN, "audio_dropped": F_AUDIO,
                    "huge": F_HUGE, "out_of_order": F_OOO}
            store = FrameStore()
            for f in frames:
                rec = {"seq": f.seq, "dir": f.direction, "t": f.t, "m": f.m, "frame": f.event}
                store.append((json.dumps(rec, separators=(",", ":")) + "\n").encode(),
                             sum(bits.get(name, 0) for name in f.flags))
            self._store = store
        self._ms = [self._m_of(i) for i in range(len(self._store))]
        self.speed = speed
        self._running = asyncio.Event()
        if not paused:
            self._running.set()
        self._wake = asyncio.Event()
        self._seek_to: float | None = None
        self._index = 0
        self._position = self._ms[0] if self._ms else 0.0
        # While the run loop waits for the next frame with the clock running: (loop, wall
        # anchor, m anchor, m of the next frame, speed), so ``position`` moves between frames.
        self._clock: tuple[asyncio.AbstractEventLoop, float, float, float, float] | None = None
        self._closed = False

    def _m_of(self, index: int) -> float:
        line = self._store.line(index)
        # "m" sits before any frame text; parse only the head of the line.
        start = line.index(b'"m":') + 4
        end = line.index(b",", start)
        return float(line[start:end].decode())

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if not isinstance(value, int | float) or not value > 0:
            raise ValueError(
                f"speed: {value!r} is not a positive number. Fix: use e.g. 1.0, 4.0 or math.inf")
        self._stop_clock()
        self._speed = float(value)
        if hasattr(self, "_wake"):
            self._wake.set()

    @property
    def closed_reason(self) -> str | None:
        return "closed" if self._closed else None

    @property
    def position(self) -> float:
        """The recording time (``m`` seconds) reached so far.

        It advances with the wall clock × ``speed`` between frames too (never past the next
        frame, which is handed out when its time comes), so a replay clock ticks through a
        silence instead of freezing on the last event.
        """
        clock = self._clock
        if clock is None:
            return self._position
        loop, anchor_wall, anchor_m, due_m, speed = clock
        now_m = anchor_m + max(0.0, loop.time() - anchor_wall) * speed
        return min(max(now_m, self._position), due_m)

    @property
    def duration(self) -> float:
        """The recording time of the last frame."""
        return self._ms[-1] if self._ms else 0.0

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def _stop_clock(self) -> None:
        """Fix ``position`` where the clock is now (before a pause or a speed change)."""
        if getattr(self, "_clock", None) is not None:
            self._position = self.position
            self._clock = None

    def pause(self) -> None:
        self._stop_clock()
        self._running.clear()
        self._wake.set()

    def resume(self) -> None:
        self._running.set()
        self._wake.set()

    def seek(self, m: float) -> None:
        if not isinstance(m, int | float) or math.isnan(m):
            raise ValueError(f"m: {m!r} is not a time. Fix: use seconds from 0 to {self.duration}")
        self._seek_to = min(max(float(m), 0.0), self.duration)
        self._wake.set()

    async def send(self, text: str) -> None:
        raise ReplayReadOnlyError(
            "replay: a replay is read-only; nothing was sent. Fix: attach to a live call to send")

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._running.set()

    def __aiter__(self) -> AsyncIterator[TransportItem]:
        return self._run()

    async def _wait(self, timeout: float | None) -> None:
        # _wake is cleared at the top of each loop turn, before the state is looked at, so a
        # change made while a frame was being handed out is never lost.
        if timeout is not None and timeout <= 0:
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _run(self) -> AsyncIterator[TransportItem]:
        loop = asyncio.get_running_loop()
        n = len(self._ms)
        yield TransportNotice("live", "replay")
        anchor_wall = loop.time()
        anchor_m = self._position
        ended_sent = False
        while not self._closed:
            self._wake.clear()
            if self._seek_to is not None:
                target, self._seek_to = self._seek_to, None
                if target < self._position or (self._index and target < self._ms[self._index - 1]):
                    yield TransportNotice("reset", f"seek to {target:.3f}")
                    self._index = 0
                while self._index < n and self._ms[self._index] <= target:
                    yield self._item(self._index)
                    self._index += 1
                self._position = target
                anchor_wall, anchor_m = loop.time(), target
                if ended_sent and self._index < n:
                    ended_sent = False
                    yield TransportNotice("live", "replay")
                continue
            if not self._running.is_set():
                await self._wait(None)  # a seek while paused still applies
                anchor_wall, anchor_m = loop.time(), self._position
                continue
            if self._index >= n:
                self._position = self.duration
                if not ended_sent:
                    ended_sent = True
                    yield TransportNotice("ended", "end of recording")
                await self._wait(None)
                continue
            due_m = self._ms[self._index]
            speed = self._speed
            wait = 0.0 if math.isinf(speed) else (due_m - anchor_m) / speed - (
                loop.time() - anchor_wall)
            if wait > 0.0005:
                self._clock = (loop, anchor_wall, anchor_m, due_m, speed)
                try:
                    await self._wait(wait)
                finally:
                    clock, self._clock = self._clock, None
                if self._wake.is_set() or self._seek_to is not None or not self._running.is_set():
                    # speed/pause/seek changed: re-anchor where we are (pause and a speed
                    # change already stopped the clock at the moment they were asked for)
                    if clock is not None:
                        now_m = anchor_m + (loop.time() - anchor_wall) * (
                            speed if not math.isinf(speed) else 0)
                        self._position = min(max(now_m, self._position), due_m)
                    anchor_wall, anchor_m = loop.time(), self._position
                continue
            yield self._item(self._index)
            self._position = due_m
            self._index += 1

    def _item(self, index: int) -> RecordedFrame:
        line = self._store.line(index)
        d0 = line.index(b'"dir":"') + 7
        direction = line[d0:line.index(b'"', d0)].decode()
        return RecordedFrame(direction, line, self._store.flag_bits(index), self._ms[index])


#: What a script may hold: an event dict (sent as compact JSON), or the wire text as is (so a
#: test can script a malformed frame too).
ScriptFrame = Mapping[str, Any] | str | bytes
#: What a handler may return for one client event: nothing, one frame, frames, an async
#: iterator of frames, or an awaitable of any of these.
HandlerResult = ScriptFrame | Iterable[ScriptFrame] | AsyncIterator[ScriptFrame] | None
Handler = Callable[[dict[str, Any]], HandlerResult | Awaitable[HandlerResult]]

_END = object()


class MemoryTransport:
    """A scripted sideband with no socket, for testing your tool handlers and notebooks.

    The test double is part of the product, as httpx ships ``MockTransport``: hand it to
    ``rtwidgets.attach(call_id, transport=MemoryTransport(...), capture=False)`` and the
    ``Call`` runs exactly as on a live socket — capture, state, ``wait_for``, ``@call.tool``
    handlers, views — while the frames come from your script.

    Args:
        script: the server frames, delivered in order as soon as the call attaches: a list
            (event dicts, or wire text as ``str``/``bytes``), or an async iterator that
            yields them when it likes. A callable is taken as ``handler``.
        handler: ``handler(client_event) -> frames`` (sync or async), called with each event
            the call sends (a parsed dict); the frames it returns (one, a list, an async
            iterator, or ``None``) are delivered after the send, as a server's answer would
            be. An exception it raises reaches the sender (nothing else is delivered).

    The call stays live when the script runs out; ``end(reason)`` ends it as a server close
    would, ``await drop()`` simulates a dropped socket (reconnecting, then a gap, then live
    again, or ended with ``reconnect=False``), ``await push(frame)`` delivers one more frame.
    ``sent`` lists the client events the call sent, parsed, in order. A server ``error``
    whose code says the key, model or call is not valid ends the call, as the live
    transport does. One ``MemoryTransport`` serves one call.
    """

    def __init__(self, script: Iterable[ScriptFrame] | AsyncIterator[ScriptFrame] | Handler
                 | None = None, *, handler: Handler | None = None) -> None:
        if callable(script) and not isinstance(script, Mapping | str | bytes) and not hasattr(
                script, "__aiter__"):
            if handler is not None:
                raise ValueError("script: a handler was given twice. Fix: pass frames as "
                                 "script and the function as handler=")
            script, handler = None, script
        if handler is not None and not callable(handler):
            raise TypeError("handler: not callable. Fix: pass a function taking the client "
                            "event dict and returning frames")
        if isinstance(script, Mapping | str | bytes):
            raise TypeError("script: expected a list of frames or an async iterator, got one "
                            "frame. Fix: wrap it in a list")
        if script is not None and not hasattr(script, "__aiter__") and not isinstance(
                script, Iterable):
            raise TypeError(f"script: expected a list of frames, an async iterator or a "
                            f"handler, got {type(script).__name__}. Fix: e.g. "
                            "MemoryTransport([{'type': 'session.created', ...}])")
        self._script = script
        self._handler = handler
        #: The client events the call sent, parsed, in order.
        self.sent: list[dict[str, Any]] = []
        self._queue: asyncio.Queue[Any] | None = None
        self._pending: list[Any] = []  # items queued before the call started reading
        self._live = False
        self._started = False
        self._closed_reason: str | None = None
        self._fatal: str | None = None
        self._final: str | None = None
        self._feeder: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        state = "live" if self._live else (self._closed_reason or "idle")
        return f"<MemoryTransport {len(self.sent)} sent, {state}>"

    @property
    def closed_reason(self) -> str | None:
        return self._closed_reason

    @property
    def connected(self) -> bool:
        return self._live

    # ------------------------------------------------------------------ test controls

    @staticmethod
    def _wire(frame: Any) -> bytes | str:
        if isinstance(frame, bytes | str):
            return frame
        if isinstance(frame, Mapping):
            return json.dumps(dict(frame), separators=(",", ":"))
        raise TypeError(f"frame: expected an event dict or wire text, got "
                        f"{type(frame).__name__}. Fix: pass e.g. {{'type': 'session.created'}}")

    def _put(self, item: Any) -> None:
        if self._queue is None:
            self._pending.append(item)
        else:
            self._queue.put_nowait(item)

    async def _delivered(self, item: Any) -> None:
        # Resolved by the reader once the call has taken the item in (state, capture, views).
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._put((item, done))
        if self._started and self._closed_reason is None:
            await done

    async def push(self, frame: ScriptFrame) -> None:
        """Deliver one server frame; returns once the call has taken it in (before the call
        reads at all, the frame is queued behind the script and this returns at once)."""
        await self._delivered(self._wire(frame))

    async def drop(self, reason: str = "socket closed (1006)", *, reconnect: bool = True
                   ) -> None:
        """Simulate a dropped socket: ``reconnecting``, then a gap and ``live`` again (sends
        in between raise ``TransportNotLive``); with ``reconnect=False`` the call ends."""
        if not reconnect:
            self.end(f"gave up: {reason}")
            return
        await self._delivered(TransportNotice("reconnecting", reason, time.monotonic(), 1))
        await self._delivered(("gap", reason))

    def end(self, reason: str = "call ended: the server closed the socket") -> None:
        """End the call as a server close would; frames pushed earlier are delivered first."""
        self._put((_END, reason))

    def server_error(self, text: str, *, fatal: bool) -> None:
        """Same hook as the live transport: a fatal server error ends the call after it."""
        if fatal and self._fatal is None:
            self._fatal = safe_text(text)

    def session_ended(self, reason: str) -> None:
        """Same hook as the live transports: the server ended the session (GPT-Live
        ``session.closed``); the call ends after that frame."""
        if self._final is None:
            self._final = safe_text(reason)

    # ------------------------------------------------------------------ Transport

    async def send(self, text: str) -> None:
        if not self._live:
            raise TransportNotLive(
                f"memory transport: {self._closed_reason or 'not live'}; nothing was sent")
        event = json.loads(text)
        self.sent.append(event)
        if self._handler is None:
            return
        result = self._handler(event)
        if inspect.isawaitable(result):
            result = await result
        if result is None:
            return
        if isinstance(result, Mapping | str | bytes):
            self._put(self._wire(result))
        elif hasattr(result, "__aiter__"):
            self._spawn_feed(result)
        else:
            for frame in result:
                self._put(self._wire(frame))

    async def close(self) -> None:
        if self._closed_reason is None:
            self._closed_reason = "closed by this client"
        self._live = False
        self._put((_END, self._closed_reason))
        feeder = self._feeder
        if feeder is not None and not feeder.done():
            feeder.cancel()

    def _spawn_feed(self, frames: Any) -> None:
        async def feed() -> None:
            async for frame in frames:
                self._put(self._wire(frame))

        previous = self._feeder

        async def chained() -> None:
            if previous is not None:
                with contextlib.suppress(Exception):
                    await previous
            await feed()

        self._feeder = asyncio.get_running_loop().create_task(chained())

    def __aiter__(self) -> AsyncIterator[TransportItem]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[TransportItem]:
        queue: asyncio.Queue[TransportItem | None] = asyncio.Queue()

        async def run() -> None:
            try:
                await self.pump(queue.put_nowait, queue.put_nowait)
            finally:
                queue.put_nowait(None)

        task = asyncio.get_running_loop().create_task(run())
        try:
            while (item := await queue.get()) is not None:
                yield item
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _end(self, reason: str, on_notice: Callable[[TransportNotice], Any]) -> None:
        self._live = False
        if self._closed_reason is None:
            self._closed_reason = reason
        on_notice(TransportNotice("ended", self._closed_reason, time.monotonic()))

    async def pump(self, on_frame: Callable[[bytes | str], Any],
                   on_notice: Callable[[TransportNotice], Any]) -> None:
        """Deliver the script and every pushed item until ``end``/``close``."""
        if self._started:
            raise RuntimeError("memory transport: already used by a call. Fix: make one "
                               "MemoryTransport per attach")
        self._started = True
        self._queue = queue = asyncio.Queue[Any]()
        if self._closed_reason is not None:
            on_notice(TransportNotice("ended", self._closed_reason, time.monotonic()))
            return
        self._live = True
        on_notice(TransportNotice("live"))
        script = self._script
        if script is not None and hasattr(script, "__aiter__"):
            self._spawn_feed(script)
        elif script is not None:
            for frame in script:
                queue.put_nowait(self._wire(frame))
        for item in self._pending:
            queue.put_nowait(item)
        self._pending = []
        try:
            while True:
                entry = await queue.get()
                item, done = entry if isinstance(entry, tuple) and len(entry) == 2 and (
                    isinstance(entry[1], asyncio.Future)) else (entry, None)
                try:
                    if isinstance(item, tuple) and item[0] is _END:
                        self._end(str(item[1]), on_notice)
                        return
                    if isinstance(item, TransportNotice):
                        self._live = False
                        on_notice(item)
                    elif isinstance(item, tuple) and item[0] == "gap":
                        self._live = True
                        on_notice(TransportNotice("gap", str(item[1]), time.monotonic(), 1))
                        on_notice(TransportNotice("live"))
                    else:
                        on_frame(item)
                        if self._fatal is not None:
                            # as the live transport: a fatal error ends the call after its
                            # frame, before anything queued behind it
                            from rtwidgets.protocol.fatal import REFUSED_PREFIX

                            self._end(f"{REFUSED_PREFIX}{self._fatal}", on_notice)
                            return
                        if self._final is not None:
                            self._end(self._final, on_notice)
                            return
                finally:
                    if done is not None and not done.done():
                        done.set_result(None)
        finally:
            self._live = False
            while not queue.empty():  # release whoever awaits a push that never came in
                entry = queue.get_nowait()
                if isinstance(entry, tuple) and len(entry) == 2 and isinstance(
                        entry[1], asyncio.Future) and not entry[1].done():
                    entry[1].set_result(None)
            feeder = self._feeder
            if feeder is not None and not feeder.done():
                feeder.cancel()
