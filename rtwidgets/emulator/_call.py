"""One emulated call's I/O shell: its sockets, its clock mapping and its record.

Why: the behaviour of a call lives in a sans-I/O core (``core/realtime.py``, wrapped by the
fault layer ``_faults.FaultLayer``); this thin shell does only what needs a loop. It maps wall
time to call time (``call_ms = (loop time - origin) * 1000 * speed``; the origin is when the
scripted caller starts, and call time stands at 0 until then), stamps every client frame
with the call time it arrived at, asks the core for what is due and sleeps until its next
deadline (one task per call), and fans every output out to the attached sockets. It keeps
the ground truth other layers test against: a record of every event sent (with the ids of
the sockets it reached, its call time ``call_ms`` and, for timed events, ``scheduled_t``, the
wall time it was due) and received.

The record is compact because it lives as long as the emulator: a sent event is kept as the
wire text that went out (what the socket got, byte for byte, even if the core later changes a
dict it shared) and parsed only when someone reads the record (``record()``, the control
API). Each entry is a plain tuple of strings, numbers and ``None``: CPython's cyclic GC stops
tracking such tuples after their first young collection, so a million records add nothing to
a full collection. Kept as nested dicts they did: at 1,000 concurrent calls the gen-2
collections walking them paused the loop 100-900 ms and every event due meanwhile went out
that late (benchmarks/emulator_capacity.py). When a call ends, its sockets drop their aiohttp
objects, and the call keeps only what the control API and ``emu.call()`` read.

A late loop (a loaded machine) sends the same events, later: the core computes each one at
the call time it was due. So the output of a seeded call does not depend on speed or load,
only on the client events and the call time they arrive at (architecture rule 7).

Never: imports from rtwidgets outside ``rtwidgets.protocol`` and ``rtwidgets.emulator``;
blocks the loop; keeps a reference to an API key (sockets are recorded by id only).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from rtwidgets.protocol.ids import IdFactory

from ._faults import Fault, FaultLayer
from ._scenario import Scenario
from .core.live import LiveSession
from .core.outputs import Out
from .core.realtime import CallStatus, CoreOptions, RealtimeSession

__all__ = ["CallStatus", "EmulatedCall", "EmulatorOptions"]

# One record entry, as a plain tuple (see the module docstring for why), by direction:
#   ("sent", seq, t, call_ms, text, sockets, sent_t, scheduled_t, fault, is_raw)
#     text: the wire text; is_raw: it was a ``raw`` frame (not JSON: ``event`` is None);
#     sockets: the ids of the sockets it reached, joined by "," (a string, not a tuple:
#     an inner tuple can keep the outer one tracked); sent_t: None while the send is under way.
#   ("received", seq, t, call_ms, socket, text, raw)
#     text: the event as compact JSON (None when the frame was not JSON; then ``raw``).
#   ("meta", seq, t, call_ms, event)      call_ms None for a note of the shell's own
#     (meta events are few and small: the dict is kept as is).
Record = tuple[Any, ...]


def _text_frame(text: str) -> bytes:
    """One final, unmasked WebSocket text frame (RFC 6455 §5.2), as a server sends it."""
    payload = text.encode("utf-8")
    n = len(payload)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    return header + payload


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def decode_record(rec: Record) -> dict[str, Any]:
    """One record entry in the documented shape (``Emulator.record``): a fresh dict."""
    direction, seq, t, call_ms = rec[0], rec[1], rec[2], rec[3]
    entry: dict[str, Any] = {"direction": direction, "t": t}
    if direction == "sent":
        _, _, _, _, text, sockets, sent_t, scheduled_t, fault, is_raw = rec
        entry["call_ms"] = call_ms
        entry["event"] = None if is_raw else json.loads(text)
        entry["sockets"] = sockets.split(",") if sockets else []
        if scheduled_t is not None:
            entry["scheduled_t"] = scheduled_t
        if fault is not None:
            entry["fault"] = fault
        if is_raw:
            entry["raw"] = text
        entry["seq"] = seq
        if sent_t is not None:
            entry["sent_t"] = sent_t
        return entry
    if direction == "received":
        _, _, _, _, socket, text, raw = rec
        entry["call_ms"] = call_ms
        entry["socket"] = socket
        entry["event"] = _loads(text)
        if raw is not None:
            entry["raw"] = raw
    else:
        if call_ms is not None:
            entry["call_ms"] = call_ms
        entry["event"] = rec[4]
    entry["seq"] = seq
    return entry


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


@dataclass
class EmulatorOptions:
    """Behaviour switches shared by every call of one emulator (see core/realtime.py)."""

    speed: float = 1.0
    model: str = "gpt-realtime"
    session_created_on_attach: bool = False
    rate_limits_position: Literal["after_done", "end", "start"] = "after_done"
    audio_deltas: bool = False
    close_frame_on_end: bool = True
    hold_until_attached: bool = True
    caller_patience_s: float = 30.0

    def core(self) -> CoreOptions:
        """What the session core reads. The caller's patience is a real-time guard (a client
        that never answers), so it becomes call time at this emulator's speed."""
        return CoreOptions(session_created_on_attach=self.session_created_on_attach,
                           rate_limits_position=self.rate_limits_position,
                           audio_deltas=self.audio_deltas,
                           patience_ms=self.caller_patience_s * 1000.0 * self.speed)


@dataclass
class _Socket:
    id: str
    ws: web.WebSocketResponse | None      # None once the socket's handler is done
    request: web.Request | None
    opened_t: float
    closed_t: float | None = None
    close_reason: str | None = None
    # Set by the call to ask the socket's handler for a close handshake (code, reason); the
    # handler sets ``finished`` when its connection is over.
    close_request: asyncio.Future[tuple[int, str]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "opened_t": self.opened_t, "closed_t": self.closed_t,
                "close_reason": self.close_reason}


class EmulatedCall:
    """The aiohttp side of one call (or one ``?model=`` session) around its core."""

    def __init__(
        self,
        *,
        call_id: str,
        transport: Literal["webrtc", "sip", "websocket"],
        scenario: Scenario,
        session: dict[str, Any],
        options: EmulatorOptions,
        ids: IdFactory,
        rng: random.Random,
        faults: list[Fault],
        hold_until_attached: bool,
        on_end: Callable[[EmulatedCall], None],
        core: LiveSession | None = None,
    ) -> None:
        self.call_id = call_id
        self.transport = transport
        self.scenario = scenario
        self.options = options
        #: Which API the call speaks: a GPT-Live session brings its own core (``core``).
        self.api: Literal["realtime", "live"] = "realtime" if core is None else "live"
        self.core = FaultLayer(core if core is not None else RealtimeSession(
            call_id=call_id, transport=transport, scenario=scenario, session=session,
            options=options.core(), ids=ids, rng=rng, hold_until_attached=hold_until_attached,
        ), faults)
        #: The record, as compact tuples (``decode_record``; read it with ``record()``).
        self.records: list[Record] = []
        self.sockets: dict[str, _Socket] = {}
        self.socket_log: list[_Socket] = []
        self.created_t = time.monotonic()
        self.ended = asyncio.Event()
        self.attached = asyncio.Event()
        self._on_end = on_end
        self._lock = asyncio.Lock()
        self._origin: float | None = None     # loop time of call time 0
        self._socket_seq = 0
        self._seq = 0
        self._pump_task: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return (f"<EmulatedCall {self.call_id} {self.transport} {self.status}"
                f" sockets={len(self.sockets)} records={len(self.records)}>")

    # ------------------------------------------------------------------ the core's state

    @property
    def status(self) -> CallStatus:
        return self.core.core.status

    @property
    def end_reason(self) -> str | None:
        return self.core.core.end_reason

    @property
    def session(self) -> dict[str, Any]:
        return self.core.core.session

    @session.setter
    def session(self, value: dict[str, Any]) -> None:
        self.core.core.session = value

    @property
    def items(self) -> dict[str, dict[str, Any]]:
        """The conversation's items by id (the core's)."""
        return self.core.core.items

    @property
    def order(self) -> list[str]:
        """The conversation's item ids in order (the core's)."""
        return self.core.core.order

    # ------------------------------------------------------------------ the clock

    def call_ms(self) -> float:
        """Call time now: 0 until the caller starts, then wall time scaled by ``speed``."""
        if self._origin is None:
            return 0.0
        return (asyncio.get_running_loop().time() - self._origin) * 1000.0 * self.options.speed

    def _wall(self, call_ms: float) -> float:
        assert self._origin is not None
        return self._origin + call_ms / 1000.0 / self.options.speed

    async def _drive(self, step: Callable[[float], list[Out]]) -> None:
        """Run one step of the core at the current call time and carry out its outputs."""
        async with self._lock:
            outs = step(self.call_ms())
            if self._origin is None and self.core.core.clock_running:
                self._origin = asyncio.get_running_loop().time()
            await self._dispatch(outs)
        self._kick()

    def _kick(self) -> None:
        """The core's next deadline may have moved: wake (or start) the pump."""
        if self.status == "ended":
            return
        if self._pump_task is None:
            self._pump_task = asyncio.get_running_loop().create_task(self._pump())
        elif self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        while self.status != "ended":
            deadline = self.core.next_deadline()
            if deadline is not None and self._origin is not None:
                when = self._wall(deadline)
                if when <= loop.time():
                    await self._drive(self.core.advance)
                    continue
            else:
                when = None
            wake: asyncio.Future[None] = loop.create_future()
            self._wake = wake
            handle = None if when is None else loop.call_at(when, _resolve, wake)
            try:
                await wake
            finally:
                if handle is not None:
                    handle.cancel()
                self._wake = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Run the call (after the SIP accept, or at once for WebRTC)."""
        await self._drive(self.core.start)

    async def announce(self) -> None:
        """``session.created`` to every socket (a WebRTC call's first event)."""
        await self._drive(self.core.announce)

    async def end(self, reason: str, *, close_frame: bool | None = None) -> None:
        """End the call: stop the script and responses, close every socket."""
        if self.status == "ended":
            return
        await self._drive(lambda now: self.core.end(reason, now, close_frame=close_frame))

    async def refer(self, target_uri: str) -> None:
        """Transfer the call (``POST …/refer``) through the core's ``refer``: noted
        (``emulator.call_transferred``) and ended ``referred``, exactly as ``VirtualCall.refer``
        does, so a transfer is the same call in virtual mode and over HTTP.

        ``ValueError`` naming ``target_uri`` for a bad target or a call not connected
        (nothing changes then).
        """
        await self._drive(lambda now: self.core.refer(target_uri, now))

    async def inject(self, fault: Fault) -> None:
        """Apply a fault now (``at_ms``/``every_ms``/``count`` count from now)."""
        await self._drive(lambda now: self.core.inject(fault, now))

    apply_fault = inject

    async def receive(self, sock: _Socket, text: str, *, binary: bool = False) -> None:
        """Handle one frame from a client socket, stamped with the call time it arrived."""
        await self._drive(lambda now: self.core.receive(text, now, socket=sock.id,
                                                        binary=binary))

    def _close_sockets(self, reason: str, *, close_frame: bool, code: int) -> None:
        socks = list(self.sockets.values())
        for sock in socks:
            self._detach(sock, reason)
        if close_frame:
            # The socket's own handler performs the close handshake (it waits for the
            # client's reply), so ending a call never waits on a client that is not reading.
            for sock in socks:
                if not sock.close_request.done():
                    sock.close_request.set_result((code, reason[:120]))
        else:
            for sock in socks:
                transport = sock.request.transport if sock.request is not None else None
                if transport is not None:
                    transport.abort()

    async def wait_closed(self, timeout: float = 3.0) -> None:
        """Wait for the handlers of closed sockets to finish their close handshakes."""
        pending = [s.finished.wait() for s in self.socket_log if not s.finished.is_set()]
        if pending:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*pending), timeout)

    # ------------------------------------------------------------------ sockets

    async def attach(self, ws: web.WebSocketResponse, request: web.Request) -> _Socket:
        self._socket_seq += 1
        sock = _Socket(id=f"ws{self._socket_seq}", ws=ws, request=request,
                       opened_t=time.monotonic())
        self.sockets[sock.id] = sock
        self.socket_log.append(sock)
        self._record_meta("socket_attached", {"socket": sock.id})
        self.attached.set()
        await self._drive(lambda now: self.core.attach(sock.id, now))
        return sock

    def _detach(self, sock: _Socket, reason: str) -> None:
        if self.sockets.pop(sock.id, None) is not None:
            sock.closed_t = time.monotonic()
            sock.close_reason = reason
            self._record_meta("socket_closed", {"socket": sock.id, "reason": reason})

    def detach(self, sock: _Socket, reason: str = "client closed") -> None:
        """The socket's handler is done with it: detach it (if still attached) and let go of
        its aiohttp request and response, which the socket log has no use for."""
        self._detach(sock, reason)
        sock.ws = None
        sock.request = None

    # ------------------------------------------------------------------ record + send

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq += 1
        return seq

    def _record_meta(self, kind: str, data: dict[str, Any]) -> None:
        self.records.append(("meta", self._next_seq(), time.monotonic(), None,
                             {"type": f"emulator.{kind}", **data}))

    async def _dispatch(self, outs: list[Out]) -> None:
        i = 0
        while i < len(outs):
            out = outs[i]
            if out.kind == "event":
                # Events that follow one another in one step go out together.
                j = i + 1
                while j < len(outs) and outs[j].kind == "event":
                    j += 1
                await self._send(outs[i:j])
                i = j
                continue
            i += 1
            if out.kind == "received":
                # any JSON value a client sent (parsed by the core), as compact JSON
                text = json.dumps(out.event, separators=(",", ":")) if out.raw is None \
                    else None
                self.records.append(("received", self._next_seq(), time.monotonic(), out.at,
                                     out.only, text, out.raw))
            elif out.kind == "meta":
                self.records.append(("meta", self._next_seq(), time.monotonic(), out.at,
                                     out.meta))
            elif out.kind == "close":
                self._close_sockets(out.reason, close_frame=out.close_frame is not False,
                                    code=out.code)
            elif out.kind == "end":
                frame = self.options.close_frame_on_end if out.close_frame is None \
                    else out.close_frame
                self._close_sockets(f"call ended: {out.reason}", close_frame=frame, code=1000)
                self.ended.set()
                if self._wake is not None and not self._wake.done():
                    self._wake.set_result(None)
                self._on_end(self)

    async def _send(self, events: list[Out]) -> None:
        """Send events that are due together: record each, then write each socket's frames.

        Several frames for one socket go out in one write (one syscall instead of one per
        frame) when the socket is idle and uncompressed; otherwise, and for a single frame,
        aiohttp's own ``send_str`` (which compresses and waits for a slow reader).
        """
        t = time.monotonic()
        pending: list[tuple[int, Out, str, float | None]] = []
        per_socket: dict[str, list[int]] = {}
        for k, out in enumerate(events):
            text = out.text()
            scheduled = self._wall(out.at) if out.timed and self._origin is not None else None
            seq = self._next_seq()
            # In the record from now (sockets still empty): a reader during a slow send sees it.
            self.records.append(("sent", seq, t, out.at, text, "", None, scheduled, out.fault,
                                 out.raw is not None))
            pending.append((len(self.records) - 1, out, text, scheduled))
            if out.only is None:
                for sock_id in self.sockets:
                    per_socket.setdefault(sock_id, []).append(k)
            elif out.only in self.sockets:
                per_socket.setdefault(out.only, []).append(k)
        reached: list[list[str]] = [[] for _ in events]
        for sock_id, ks in per_socket.items():
            sock = self.sockets.get(sock_id)
            ws = sock.ws if sock is not None else None
            if sock is None or ws is None or ws.closed:
                continue
            transport = sock.request.transport if sock.request is not None else None
            if (len(ks) > 1 and not ws.compress and transport is not None
                    and not transport.is_closing()
                    and transport.get_write_buffer_size() == 0):
                transport.write(b"".join(_text_frame(pending[k][2]) for k in ks))
                for k in ks:
                    reached[k].append(sock_id)
                continue
            for k in ks:
                if ws.closed or sock_id not in self.sockets:
                    break
                try:
                    await ws.send_str(pending[k][2])
                except (ConnectionError, RuntimeError):
                    self._detach(sock, "send failed")
                    break
                reached[k].append(sock_id)
        for (index, out, text, scheduled), sockets in zip(pending, reached, strict=True):
            seq = self.records[index][1]
            self.records[index] = ("sent", seq, t, out.at, text, ",".join(sockets),
                                   time.monotonic(), scheduled, out.fault, out.raw is not None)

    # ------------------------------------------------------------------ reporting

    def record(self) -> list[dict[str, Any]]:
        """The record in its documented shape (``Emulator.record``), parsed now."""
        return [decode_record(rec) for rec in self.records]

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able view of the call: status, sockets, the full record."""
        return {
            "call_id": self.call_id, "api": self.api, "transport": self.transport,
            "status": self.status, "end_reason": self.end_reason, "scenario": self.scenario.name,
            "created_t": self.created_t,
            "sockets": [s.as_dict() for s in self.socket_log],
            "records": self.record(),
        }
