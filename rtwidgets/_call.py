"""``attach`` and ``Call``: one attached call (Realtime or GPT-Live) as an async Python object.

Why: every widget, analysis and script needs the same engine under it — one sideband
transport, one ``SessionState``, one durable capture — and everything a form can do must be
doable from code (``await call.update_session(...)``, ``await call.send_tool_output(...)``).

How it runs: one receive task per ``Call`` (strong reference on the object) reads the
transport; each frame is parsed and encoded into its capture line once (``FrameEncoder``),
written to the capture and kept in the lean ``FrameStore``, then folded by the state, which
decodes it once with the call's codec (``call.codec``) and hands back the normalized events
(a streaming delta is folded from its fields and makes none). The engine reacts to those,
never to wire type names: ``ErrorReported`` (counted, routed to the transport, linked to the
client event it answers), ``ToolCallRequested`` (the tool runtime); then the frame goes to
waiters, ``events()`` streams, ``on()`` callbacks and subscribers, in that order (those
public hooks take wire types from the user, as data). Outgoing events are built by the codec
(``codec.encode(UpdateSession(...))``, ``AnswerToolCall``, ``CreateResponse``,
``CancelResponse``) or validated by it (``send``: a bad event raises ``ValidationError`` and
nothing is sent or captured), sent, then captured. Meta frames record attach, status
changes, gaps and who answered a tool call.

Where the rest lives: the listeners (``subscribe``, ``on``, ``events()``, ``wait_for`` and
the engine's own waits) are the event bus, ``rtwidgets._bus`` (a mixin of the source below);
``@call.tool`` handlers and ``send_tool_output`` are the tool runtime, ``rtwidgets._tools``
(a mixin of ``Call``); the errors and ``CallStatus`` / ``CallStats`` are in
``rtwidgets._call_types``. Every public name is still importable from here.

Decisions:
- Attaching again to a call id in the same process closes the earlier ``Call`` first.
- A refused handshake (404/410) or a hangup ends the call; the status says why.
- Final is final (issue 10): a server ``error`` whose code says the key, the model or the
  call is not valid (``rtwidgets.protocol.fatal.FATAL_ERROR_CODES``) ends the call at once,
  with the server's message and code (secret-shaped text masked) as the status reason; so
  does a close in the 3000/4000 ranges. This is the one exception to "no frame ends a call":
  the real service closes the socket right after such an error anyway, and reconnecting
  would only meet the same refusal. Every other error is shown and the call goes on.

- GPT-Live (``attach("live_…")`` or ``api="live"``, ``call.api == "live"``): the sideband is
  ``LiveSessionTransport``, client events are checked by ``protocol.live`` (Realtime-only
  actions raise ``UnsupportedLiveAction`` before anything is sent; ``update_session`` takes
  only ``delegation`` of the session's type and ``triggers``), and the steering methods are
  ``append_instructions/thinking/commentary``, ``mute``, ``unmute`` and ``close_session``
  (``session.close``; ``close()`` stays "detach this observer", so ``async with`` and a
  re-attach never end somebody's session). Like a Realtime call, it reads only the
  codec's normalized events (``protocol.codecs.codec_for``): the session as reported is
  ``state.session`` (``live_session``); ``CallEnded`` (``session.closed``) ends the call
  with its reason, and nothing reconnects after it; a delegation's backend tool call is a
  ``ToolCallRequested`` naming its delegation, answered by the tool runtime (``_tools``).

Never: send a client event that failed validation, send while not live (raises, nothing
sent), put the API key into a repr, a capture line, a log line or an exception, or let a
handler, subscriber or malformed frame stop the receive loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

from rtwidgets._bus import EventBus, EventStream, _matches, _Waiter
from rtwidgets._call_types import (
    CallEndedError,
    CallError,
    CallNotLiveError,
    CallStats,
    CallStatus,
    SessionUpdateError,
    StatusState,
    ToolCallError,
)
from rtwidgets._capture import (
    BAD_FRAME_TYPE,
    F_BAD,
    CaptureWriter,
    Frame,
    FrameEncoder,
    FrameStore,
    flags_of,
    make_header,
)
from rtwidgets._tools import ToolRuntime
from rtwidgets._transport import (
    LiveSessionTransport,
    LiveTransport,
    ReconnectPolicy,
    RecordedFrame,
    Transport,
    TransportNotice,
    TransportNotLive,
)
from rtwidgets.protocol.codec import (
    CallEnded,
    CallEvent,
    CancelResponse,
    Codec,
    ErrorReported,
    SessionApplied,
    ToolCallRequested,
    Unknown,
    UpdateSession,
)
from rtwidgets.protocol.codecs import codec_for
from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.fatal import describe_reported_error
from rtwidgets.protocol.ids import (
    ApiName,
    IdFactory,
    api_of_id,
    check_call_id,
    check_live_session_id,
    check_opaque_id,
    shown_id,
    transport_kind,
)
from rtwidgets.protocol.live import builders as live_builders
from rtwidgets.protocol.session import SessionDiff, session_diff
from rtwidgets.protocol.state import SessionState

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = [
    "Call",
    "CallEndedError",
    "CallError",
    "CallNotLiveError",
    "CallSource",
    "CallStats",
    "CallStatus",
    "EventStream",
    "SessionUpdateError",
    "SessionUpdateResult",
    "ToolCallError",
    "attach",
]

log = logging.getLogger("rtwidgets.call")

_IDS: Final = IdFactory()
_monotonic = time.monotonic
_MAX_EVENT_BYTES: Final = 16 * 1024 * 1024

#: Live attachments of this process, by call id (re-attaching replaces the earlier one).
_ATTACHED: dict[str, Call] = {}


@dataclass(frozen=True, slots=True)
class SessionUpdateResult:
    """What ``update_session`` got: the session the server applied and what differs."""

    session: dict[str, Any]
    diff: list[SessionDiff]
    requested: dict[str, Any] = field(default_factory=dict)

    @property
    def applied_as_requested(self) -> bool:
        return not self.diff


def _transport_kind(call_id: str) -> str | None:
    # From the 'rtc_u0_'/'rtc_u1_' marker when present; an id without it is still a call id.
    return transport_kind(call_id)



class CallSource:
    """The read API that a ``Call``, a ``Replay`` and a ``Recording`` share, and nothing else.

    ``call_id``, ``transport_kind``, ``state`` (the ``SessionState``), ``status``,
    ``frames()`` (the capture's ``FrameStore``), ``capture_path``, ``iter_events()``,
    ``duration``, ``subscribe(cb)``, ``on(key, cb)``, ``wait_for(type, …)``. Analysis reads a
    source through ``frames()`` / ``capture_path``; views through ``state``, ``subscribe`` and
    the ``read_only`` capability. Live actions (send, update the session, answer a tool call,
    hang up) exist only on ``Call``, whose ``read_only`` is ``False``.

    The defaults here are those of a finished source that never gets a new frame (a
    ``Recording``): ``subscribe`` and ``on`` accept and never call back, ``wait_for`` raises
    ``CallEndedError``. ``events()`` is not part of it: a ``Call``'s streams what arrives,
    a ``Recording``'s yields what was recorded.
    """

    #: Views offer live-only actions (send, apply, hang up) only when this is ``False``.
    read_only: bool = True
    call_id: str
    transport_kind: str | None
    state: SessionState

    @property
    def status(self) -> CallStatus:
        raise NotImplementedError

    @property
    def capture_path(self) -> Path | None:
        return None

    def frames(self) -> FrameStore:
        raise NotImplementedError

    @property
    def duration(self) -> float:
        """Call time (``m`` seconds) of the last frame so far."""
        store = self.frames()
        return store[-1].m if len(store) else 0.0

    def iter_events(self, directions: tuple[str, ...] = ("in",)) -> Iterator[dict[str, Any]]:
        """The events so far of the given directions (``in``, ``out``, ``meta``), in order."""
        store = self.frames()
        for i in range(len(store)):
            rec = json.loads(store.line(i))
            if rec["dir"] in directions:
                yield event_of_record(rec, store.flag_bits(i))

    def subscribe(self, callback: Callable[[Frame], Any]) -> Callable[[], None]:
        """Call ``callback(frame)`` for every new frame; returns the unsubscribe function."""
        if not callable(callback):
            raise TypeError("callback: not callable. Fix: pass a function taking a Frame")
        return lambda: None

    def on(self, type_or_prefix: str, callback: Callable[[dict[str, Any]], Any]
           ) -> Callable[[], None]:
        """Call ``callback(event)`` for new events of a type or prefix; returns the remover."""
        if not callable(callback):
            raise TypeError("callback: not callable. Fix: pass a function taking an event")
        return lambda: None

    async def wait_for(
        self, type: str, predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float | None = 30.0,
    ) -> dict[str, Any]:
        """The next event of ``type``: a finished source has none (``CallEndedError``)."""
        raise CallEndedError(f"call {self.call_id} has ended ({self.status.reason}); "
                             "a recording gets no new events")


def event_of_record(rec: dict[str, Any], flags: int) -> dict[str, Any]:
    """The event of a capture line's record (a bad frame as a ``rtwidgets.bad_frame`` event)."""
    if "bad" in rec or flags & F_BAD:
        raw = rec.get("bad")
        if raw is None:
            raw = json.dumps(rec.get("frame"))
        return {"type": BAD_FRAME_TYPE, "raw": raw, "error": rec.get("error", "")}
    event: dict[str, Any] = rec["frame"]
    return event


class _TransportSource(EventBus, CallSource):
    """A source fed by a transport: the receive task, the capture, the state, the streams.

    ``Call`` (live) and ``Replay`` (a recording played back) are both one; only ``Call``
    adds the send path and the tool runtime.
    """

    _source = "live"

    def __init__(
        self, call_id: str, transport: Transport, *,
        capture: str | Path | None = None,
        audio: str = "dropped",
        redact_transcripts: bool = False,
        handler_timeout: float = 30.0,
        events_maxsize: int = 10_000,
        client: AsyncOpenAI | None = None,
        owns_client: bool = False,
        api: str = "realtime",
    ) -> None:
        self.call_id = call_id
        #: ``"realtime"`` or ``"live"`` (GPT-Live): which wire protocol this call speaks.
        self.api = api
        self._live = api == "live"
        self.transport_kind = None if self._live else _transport_kind(call_id)
        #: The call's wire protocol: decodes every frame (once, in the reducer's ``feed``)
        #: and builds every client event (``codec.encode(intent)``).
        self.codec: Codec = codec_for(api)
        self.state = SessionState(self.codec)
        self.stats = CallStats()
        self.handler_timeout = handler_timeout
        self.events_maxsize = events_maxsize
        self._transport = transport
        self._client = client
        self._owns_client = owns_client
        self._encoder = FrameEncoder(audio=audio, redact_transcripts=redact_transcripts,
                                     api=api)
        self._store = FrameStore()
        self._m0 = time.monotonic()
        self._t0 = time.time()
        self._writer: CaptureWriter | None = None
        if capture is not None:
            self._writer = CaptureWriter(capture, make_header(
                call_id, transport=self.transport_kind, source=self._source, audio=audio,
                redact_transcripts=redact_transcripts, created_at=self._t0, api=api))
        self._status = CallStatus("connecting")
        self._status_event = asyncio.Event()
        self._ended_event = asyncio.Event()
        self._subscribers: list[Callable[[Frame], Any]] = []
        self._callbacks: list[tuple[str, Callable[[dict[str, Any]], Any]]] = []
        self._streams: set[EventStream] = set()
        self._waiters: list[_Waiter] = []
        # What the waiters wait for (kept with the list by _set_waiters): the receive path
        # dispatches a frame to them only when one may want it.
        self._wanted_types: frozenset[str | None] = frozenset()
        self._wanted_events = False
        self._tool_handlers: dict[str, Callable[..., Any]] = {}
        self._tool_dispatched: set[str] = set()
        self._answered: set[str] = set()
        self._responded: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._failed_callbacks: set[int] = set()
        self._recv_task: asyncio.Task[None] | None = None
        self._closed = False
        self._close_reason: str | None = None
        self._attached_written = False

    # ------------------------------------------------------------------ read API

    @property
    def status(self) -> CallStatus:
        return self._status

    @property
    def capture_path(self) -> Path | None:
        return self._writer.path if self._writer is not None else None

    @property
    def tool_handlers(self) -> Mapping[str, Callable[..., Any]]:
        return MappingProxyType(self._tool_handlers)

    def frames(self) -> FrameStore:
        """Every frame so far, both directions and meta (a lazy, memory-lean sequence)."""
        return self._store

    # ------------------------------------------------------------------ lifetime

    def start(self) -> None:
        """Start the receive task (and the capture's flush task). Idempotent."""
        if self._recv_task is None:
            if self._writer is not None:
                self._writer.start()
            self._recv_task = asyncio.get_running_loop().create_task(
                self._run(), name=f"rtwidgets-call:{self.call_id}")

    async def wait_connected(self, timeout: float | None = 30.0) -> CallStatus:
        """Wait until the status leaves ``connecting`` (live, or ended with the reason)."""
        if self._status.state == "connecting":
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._status_event.wait(), timeout)
        return self._status

    async def wait_ended(self, timeout: float | None = None) -> CallStatus:
        """Wait until the status is ``ended`` (raises ``TimeoutError`` after ``timeout`` s)."""
        if self._status.state != "ended":
            try:
                await asyncio.wait_for(self._ended_event.wait(), timeout)
            except asyncio.TimeoutError:
                raise TimeoutError(f"call {self.call_id}: still {self._status.state} after "
                                   f"{timeout} s") from None
        return self._status

    async def close(self, reason: str = "closed by this client") -> None:
        """Stop reading, end the status, flush and close the capture. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._close_reason = reason
        with contextlib.suppress(Exception):
            await self._transport.close()
        task = self._recv_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for t in list(self._tasks):
            t.cancel()
        if self._status.state != "ended":
            self._set_status("ended", reason)
        self._finish()
        if self._owns_client and self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()
        if _ATTACHED.get(self.call_id) is self:
            del _ATTACHED[self.call_id]

    def _finish(self) -> None:
        ended = CallEndedError(f"call {self.call_id} has ended ({self._status.reason})")
        for w in self._waiters:
            if not w.future.done():
                w.future.set_exception(ended)
        self._set_waiters([])
        for s in list(self._streams):
            s.end()
        if self._writer is not None:
            self._writer.close()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    def __repr__(self) -> str:
        reason = f" ({self._status.reason})" if self._status.reason else ""
        return (f"<{type(self).__name__} {self.call_id} {self._status.state}{reason}, "
                f"{len(self._store)} frames>")

    # ------------------------------------------------------------------ receive path

    async def _run(self) -> None:
        try:
            pump = getattr(self._transport, "pump", None)
            if pump is not None:
                # fast path: the transport calls us per frame, no iterator hop
                await pump(self._ingest_in, self._on_notice)
            else:
                await self._iterate_transport()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("call %s: receive loop failed", self.call_id)
            self._set_status("ended", f"receive loop failed: {type(exc).__name__}")
        if self._status.state != "ended":
            self._set_status("ended", self._close_reason or self._transport.closed_reason
                             or "transport closed")
        self._finish()

    async def _iterate_transport(self) -> None:
        ingest = self._ingest
        async for item in self._transport:
            if type(item) is bytes or type(item) is str:
                ingest("in", item)
            elif type(item) is RecordedFrame:
                self._ingest_recorded(item)
            elif type(item) is TransportNotice:
                self._on_notice(item)

    def _now(self) -> tuple[float, float]:
        m = time.monotonic() - self._m0
        return self._t0 + m, m

    def _ingest_in(self, raw: bytes | str) -> None:
        # The receive hot path, for incoming frames: one parse (the capture's), one buffered
        # write, one store append, one decode (inside the reducer's feed, which hands back
        # the normalized events; a streaming delta is folded from its fields and makes
        # none); the dispatch is skipped when nothing listens. Same steps and order as
        # _ingest (which the other directions take).
        now = _monotonic()
        m = now - self._m0
        t = self._t0 + m
        line, event, etype, flags = self._encoder.encode("in", raw, t, m)
        writer = self._writer
        if writer is not None:
            writer.write(line, now)
        self._store.append(line, flags)
        stats = self.stats
        stats.events_in += 1
        if flags & F_BAD:
            stats.bad_frames += 1
        try:
            events = self.state.feed_in(event, etype, t)
        except Exception:
            log.exception("call %s: state could not fold a %s frame", self.call_id, etype)
            events = ()
        if events:
            events = self._react(events, flags, etype)
        if (etype in self._wanted_types or (events and self._wanted_events) or self._streams
                or self._callbacks or self._subscribers or self._tool_handlers):
            self._dispatch("in", event, etype, flags, self._encoder.seq - 1, t, m, events)

    def _ingest(self, direction: str, raw: bytes | str) -> None:
        # The other directions (out, meta) and the iterator path: the same steps.
        now = _monotonic()
        m = now - self._m0
        t = self._t0 + m
        line, event, etype, flags = self._encoder.encode(direction, raw, t, m)
        writer = self._writer
        if writer is not None:
            writer.write(line, now)
        self._store.append(line, flags)
        stats = self.stats
        if direction == "in":
            stats.events_in += 1
            if flags & F_BAD:
                stats.bad_frames += 1
        elif direction == "out":
            stats.events_out += 1
        else:
            stats.meta_frames += 1
        try:
            events = self.state.feed(event, direction=direction, t=t)  # type: ignore[arg-type]
        except Exception:
            log.exception("call %s: state could not fold a %s frame", self.call_id, etype)
            events = ()
        if direction == "in" and events:
            events = self._react(events, flags, etype)
        self._dispatch(direction, event, etype, flags, self._encoder.seq - 1, t, m, events)

    def _ingest_recorded(self, item: RecordedFrame) -> None:
        rec = json.loads(item.line)
        event = event_of_record(rec, item.flags)
        etype = event["type"]
        self._store.append(item.line, item.flags)
        direction = rec["dir"]
        if direction == "in":
            self.stats.events_in += 1
        elif direction == "out":
            self.stats.events_out += 1
        else:
            self.stats.meta_frames += 1
        try:
            events = self.state.feed(event, direction=direction, t=rec["t"])
        except Exception:
            log.exception("replay %s: state could not fold a %s frame", self.call_id, etype)
            events = ()
        if direction == "in" and events:
            events = self._react(events, item.flags, etype)
        self._dispatch(direction, event, etype, item.flags, rec["seq"], rec["t"], rec["m"],
                       events)

    def _react(self, events: tuple[CallEvent, ...], flags: int, etype: str
               ) -> tuple[CallEvent, ...]:
        """What the engine itself does about an incoming frame's normalized events: count
        and route server errors (a fatal one ends the call), and end the call when the
        server says it ended (GPT-Live's ``session.closed``: a closed session never
        resumes). Off the streaming path. Returns the events as the dispatch sees them."""
        for ev in events:
            if type(ev) is ErrorReported:
                self.stats.errors += 1
                self._server_error(ev)
            elif type(ev) is CallEnded:
                note = getattr(self._transport, "session_ended", None)
                if note is not None:
                    note(f"call ended: the session was closed ({ev.reason or 'unknown'})")
            elif type(ev) is Unknown and ev.flagged and not flags & F_BAD and (
                    ErrorReported in self.codec.produces(etype)):
                self.stats.errors += 1  # a malformed error frame is still an error
        return events

    @property
    def live_session(self) -> dict[str, Any] | None:
        """GPT-Live: the session as the server last reported it (``None`` before any
        ``session.started``/``session.updated``, and on a Realtime call): the reducer's
        ``state.session``, which the Live codec's ``SessionReported``/``SessionApplied``
        set."""
        return self.state.session if self._live else None

    def _server_error(self, error: ErrorReported) -> None:
        # Tell a live transport about the error: a fatal code ends the call after this frame
        # (the transport closes the socket and ends with the reason), any other one explains
        # a close that may follow. A replay has no such hook: it plays what was recorded.
        note = getattr(self._transport, "server_error", None)
        if note is None:
            return
        text, fatal = describe_reported_error(error)
        note(text, fatal=fatal)

    def _dispatch(self, direction: str, event: dict[str, Any], etype: str, flags: int,
                  seq: int, t: float, m: float, events: tuple[CallEvent, ...] = ()) -> None:
        if direction != "out":
            if self._waiters:
                for w in self._waiters:
                    if w.future.done() or direction not in w.directions:
                        continue
                    if w.cls is None:
                        if w.type == etype:
                            self._try_waiter(w, event)
                    else:
                        for ev in events:
                            if type(ev) is w.cls and not w.future.done():
                                self._try_waiter(w, ev)
            if direction == "in" and self._streams:
                for s in self._streams:
                    if s.key is None or _matches(s.key, etype):
                        s.put(event)
            if self._callbacks:
                for key, cb in list(self._callbacks):
                    if _matches(key, etype):
                        try:
                            res = cb(event)
                            if inspect.isawaitable(res):
                                self._spawn(res)
                        except Exception:
                            self._callback_failed(cb, f"on({key!r}) callback")
            if self._tool_handlers and direction == "in":
                for ev in events:
                    if type(ev) is ToolCallRequested:
                        self._tool_requested(ev)
        if self._subscribers:
            frame = Frame(seq, direction, t, m, etype, event, flags_of(flags))
            for sub in list(self._subscribers):
                try:
                    sub(frame)
                except Exception:
                    self._callback_failed(sub, "subscriber")

    def _on_notice(self, notice: TransportNotice) -> None:
        kind = notice.kind
        if kind == "live":
            if not self._attached_written:
                self._attached_written = True
                path = (f"/v1/live/sessions/{self.call_id}/attach" if self._live
                        else f"/v1/realtime?call_id={self.call_id}")
                self._meta("rtwidgets.attached", url_path=path)
            self._set_status("live", notice.reason if notice.reason == "replay" else "")
        elif kind == "reconnecting":
            self.stats.reconnects += 1
            self._set_status("reconnecting", notice.reason)
        elif kind == "gap":
            since = (notice.since - self._m0) if notice.since is not None else None
            self._meta("rtwidgets.gap", reason=notice.reason,
                       since_m=round(since, 6) if since is not None else None)
        elif kind == "ended":
            self._set_status("ended", notice.reason)
        elif kind == "reset":
            self._reset()

    def _reset(self) -> None:
        self.state = SessionState(self.codec)
        self._store.clear()
        self.stats = CallStats()

    def _meta(self, etype: str, **fields: Any) -> None:
        self._ingest("meta", json.dumps({"type": etype, **fields}, separators=(",", ":")))

    def _set_status(self, state: StatusState, reason: str = "") -> None:
        _, m = self._now()
        self._status = CallStatus(state, reason, m)
        self._status_event.set()
        if state == "ended":
            self._ended_event.set()
        else:
            self._ended_event.clear()
        if self._writer is not None and self._writer.closed:
            return
        self._meta("rtwidgets.status", status=state, reason=reason)

    def _spawn(self, aw: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(aw)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.stats.callback_errors += 1
            log.error("call %s: background task failed: %r", self.call_id, task.exception())

    def _tool_requested(self, request: ToolCallRequested) -> None:
        """Tool handlers run only on a ``Call`` (``_tools.ToolRuntime``; a source without
        them registers none)."""


class Call(ToolRuntime, _TransportSource):
    """One attached call. Create with ``await rtwidgets.attach(call_id, ...)``.

    Read API (``CallSource``, shared with ``Recording`` and ``Replay``): ``call_id``,
    ``transport_kind``, ``state``, ``status``, ``stats``, ``frames()``, ``subscribe(cb)``,
    ``events()``, ``on(key, cb)``, ``wait_for(type, ...)``. Write API (only here):
    ``send``, ``update_session``, ``send_tool_output``, ``tool``, ``cancel_response``,
    ``hangup``; GPT-Live only: ``append_instructions``, ``append_thinking``,
    ``append_commentary``, ``mute``, ``unmute``, ``close_session``; lifetime: ``close()`` /
    ``async with`` (detach only).
    """

    read_only = False

    # ------------------------------------------------------------------ send path

    def _check_live(self) -> None:
        if self._status.state != "live" or self._closed:
            raise CallNotLiveError(
                f"call {self.call_id} is {self._status.state}"
                f"{' (' + self._status.reason + ')' if self._status.reason else ''}; nothing was "
                "sent. Fix: wait until call.status.state == 'live' (or attach again)")

    async def _send_event(self, event: dict[str, Any]) -> None:
        try:
            text = json.dumps(event, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValidationError("event", f"not JSON-serialisable ({exc})",
                                  "use plain str/number/bool/list/dict values, without NaN "
                                  "or Infinity", code="invalid_value") from None
        if len(text) > _MAX_EVENT_BYTES:
            raise ValidationError("event", f"the event is {len(text)} bytes, above the "
                                  f"{_MAX_EVENT_BYTES}-byte limit", "send a smaller payload")
        self._check_live()
        try:
            await self._transport.send(text)
        except TransportNotLive as exc:
            raise CallNotLiveError(str(exc)) from None
        self._ingest("out", text)

    def _prepare(self, event: Any) -> dict[str, Any]:
        if isinstance(event, str | bytes):
            try:
                event = json.loads(event)
            except ValueError as exc:
                raise ValidationError("event", f"not valid JSON ({exc})",
                                      "pass a dict or the text of a JSON object",
                                      code="invalid_event") from None
        if isinstance(event, Mapping) and "event_id" not in event:
            event = {**event, "event_id": _IDS.client_event_id()}
        self.codec.validate(event)
        return dict(event)

    async def send(self, event: Mapping[str, Any] | str) -> str:
        """Validate and send one client event; returns its ``event_id`` (added if missing).

        Raises ``ValidationError`` (names the field; nothing sent) or ``CallNotLiveError``.
        """
        ev = self._prepare(event)
        await self._send_event(ev)
        return str(ev["event_id"])

    async def update_session(self, *, timeout: float = 30.0, **fields: Any
                             ) -> SessionUpdateResult:
        """Send ``session.update`` with ``fields`` and return what the server applied.

        Raises ``ValidationError`` before sending, ``SessionUpdateError`` with the server's
        message when an ``error`` answers this event, ``TimeoutError`` without an answer.

        On a GPT-Live call only ``delegation`` (settings of the session's own delegation
        type) and ``triggers`` can change; any other field is refused, named, before
        anything is sent.
        """
        # Built (and validated) by the protocol's builder; the mapping form keeps a field
        # named like a builder keyword (event_id, ids) a session field.
        if self._live:
            ev = live_builders.session_update(fields, current_delegation=self._delegation_type(),
                                              ids=_IDS)
        else:
            ev = self.codec.encode(UpdateSession(fields))
        session = ev["session"]
        eid = ev["event_id"]
        self._check_live()
        fut = self._add_event_waiter(SessionApplied)
        # The codec links an error to the client event it answers (ErrorReported).
        err = self._add_event_waiter(ErrorReported, lambda e: e.client_event_id == eid)
        try:
            await self._send_event(ev)
            done, _ = await asyncio.wait({fut, err}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._set_waiters([w for w in self._waiters if w.future not in (fut, err)])
            for f in (fut, err):
                if not f.done():
                    f.cancel()
        if not done:
            raise TimeoutError(f"call {self.call_id}: no answer to session.update within "
                               f"{timeout} s")
        if err in done and not err.cancelled():
            e: ErrorReported = err.result()
            raise SessionUpdateError(e.message, code=e.code, param=e.param, event_id=eid)
        applied = dict(fut.result().session)
        requested = {k: v for k, v in session.items() if k != "type"}
        return SessionUpdateResult(applied, session_diff(requested, applied), session)

    async def cancel_response(self) -> str:
        """Send ``response.cancel`` (for the active response when known); returns its event id.

        A GPT-Live call has no response to cancel: ``UnsupportedLiveAction``, nothing sent.
        """
        if self._live:
            raise live_builders.refuse_action("cancel_response")
        return await self.send(
            self.codec.encode(CancelResponse(self.state.active_response_id or None)))

    async def hangup(self) -> None:
        """End the call for everybody (``POST /v1/realtime/calls/{id}/hangup``), then close."""
        if self._client is None:
            raise CallError(f"call {self.call_id}: no client to hang up with. Fix: attach with "
                            "client=...")
        from rtwidgets._control import hangup as control_hangup

        api: ApiName = "live" if self._live else "realtime"
        await control_hangup(self.call_id, client=self._client, api=api)
        await self.close("hung up by this client")

    # ------------------------------------------------------------------ GPT-Live steering

    def _delegation_type(self) -> str | None:
        session = self.live_session
        if session is None:
            return None  # not reported yet: the server decides
        deleg = session.get("delegation")
        kind = deleg.get("type") if isinstance(deleg, dict) else None
        return kind if isinstance(kind, str) else "client"

    def _live_only(self, method: str) -> None:
        if not self._live:
            raise ValidationError(method, "the Realtime API has no such action (it is a "
                                  "GPT-Live one)", "on a Realtime call use "
                                  "update_session(instructions=...) or send(...)",
                                  code="invalid_event")

    async def _append(self, kind: str, text: str, delegation_id: str | None) -> str:
        self._live_only(f"append_{kind}")
        ev = live_builders.append(kind, text, delegation_id, ids=_IDS)
        if delegation_id is not None:
            known = self.state.delegations.get(delegation_id)
            target = known.target if known is not None else None
            if target is None and self._delegation_type() == "responses":
                # "Non-null IDs are not accepted with Responses delegation" (SDK)
                raise ValidationError(
                    "delegation_id", f"{shown_id(delegation_id)} is not a client delegation: "
                    "this session delegates to 'responses', whose appends take none",
                    "pass delegation_id=None for general context; answer a Responses tool "
                    "call with send_tool_output(...)")
            if target is not None and target != "client":
                raise ValidationError(
                    "delegation_id", f"{delegation_id!r} is a {target!r} delegation; only a "
                    "client delegation takes appends", "pass delegation_id=None for general "
                    "context; answer a Responses tool call with send_tool_output(...)")
        await self._send_event(ev)
        return str(ev["event_id"])

    async def append_instructions(self, text: str, delegation_id: str | None = None) -> str:
        """GPT-Live: ``session.instructions.append`` (developer instructions, kept through
        compaction); ``delegation_id`` answers a client delegation. Returns the event id."""
        return await self._append("instructions", text, delegation_id)

    async def append_thinking(self, text: str, delegation_id: str | None = None) -> str:
        """GPT-Live: ``session.thinking.append`` (silent context). Returns the event id."""
        return await self._append("thinking", text, delegation_id)

    async def append_commentary(self, text: str, delegation_id: str | None = None) -> str:
        """GPT-Live: ``session.commentary.append`` (context the model says aloud)."""
        return await self._append("commentary", text, delegation_id)

    async def mute(self) -> str:
        """GPT-Live: ``session.input_audio.mute`` (the model hears silence)."""
        self._live_only("mute")
        return await self.send(live_builders.input_audio_mute(ids=_IDS))

    async def unmute(self) -> str:
        """GPT-Live: ``session.input_audio.unmute``."""
        self._live_only("unmute")
        return await self.send(live_builders.input_audio_unmute(ids=_IDS))

    async def close_session(self, *, timeout: float | None = 30.0) -> CallStatus:
        """GPT-Live: ``session.close`` ends the session for every connection; waits for the
        server's ``session.closed`` (which ends this call) and returns the final status.

        ``close()`` only detaches this observer; this ends the session itself.
        """
        self._live_only("close_session")
        await self.send(live_builders.session_close(ids=_IDS))
        return await self.wait_ended(timeout)


def _default_capture_path(call_id: str) -> Path:
    folder = Path("captures")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{call_id}-{stamp}.jsonl"
    n = 1
    while path.exists():
        path = folder / f"{call_id}-{stamp}-{n}.jsonl"
        n += 1
    return path


async def attach(
    call_id: str, *,
    client: AsyncOpenAI | None = None,
    capture: str | Path | bool | None = None,
    audio: str = "dropped",
    redact_transcripts: bool = False,
    reconnect: bool | ReconnectPolicy = True,
    handler_timeout: float = 30.0,
    connect_timeout: float = 30.0,
    events_maxsize: int = 10_000,
    transport: Transport | None = None,
    api: str | None = None,
) -> Call:
    """Attach to a live call's sideband and return the ``Call`` (live, or ended with a reason).

    Args:
        call_id: the call (``rtc_…`` from a ``Location`` header or a SIP webhook).
        client: an ``openai.AsyncOpenAI`` (default: one from the environment, which follows
            ``OPENAI_BASE_URL`` and ``OPENAI_WEBSOCKET_BASE_URL``).
        capture: the JSONL path; ``None`` for ``captures/<call_id>-<UTC time>.jsonl``;
            ``False`` to keep the record in memory only.
        audio: ``"dropped"`` (default: blank audio payloads, keep their length) or ``"kept"``.
        redact_transcripts: write transcripts to the capture as ``[redacted N chars]``.
        reconnect: ``True`` (default backoff), ``False`` (end at the first drop) or a policy.
        handler_timeout: seconds a tool handler may run before an error output is sent.
        connect_timeout: seconds to wait for the first connection before returning.
        events_maxsize: bound of each ``events()`` stream.
        transport: where the frames come from instead of the sideband socket, e.g. a
            ``rtwidgets.MemoryTransport`` to test your handlers with scripted frames; no
            client is made then (``reconnect`` does not apply). One transport per call.
        api: ``"realtime"`` or ``"live"``; by default the id decides (``rtc_…`` Realtime,
            ``live_…`` GPT-Live, whose sideband is ``client.live.sideband.connect``).
    """
    # 'rtc_'/'live_' and a safe tail (protocol/ids.py); the value is never echoed: people
    # paste API keys here, and errors get saved in notebooks.
    which = _api_for(call_id, api)
    if audio not in ("dropped", "kept"):
        raise ValidationError("audio", f"{audio!r} is not an option", "use 'dropped' or 'kept'")
    if not isinstance(redact_transcripts, bool):
        raise ValidationError("redact_transcripts", "expected True or False",
                              "pass a bool", code="invalid_type")
    if isinstance(reconnect, bool):
        policy: ReconnectPolicy | None = ReconnectPolicy() if reconnect else None
    elif isinstance(reconnect, ReconnectPolicy):
        policy = reconnect
    else:
        raise ValidationError("reconnect", f"expected a bool or ReconnectPolicy, got "
                              f"{type(reconnect).__name__}", "pass True, False or "
                              "ReconnectPolicy(...)", code="invalid_type")
    for name, value in (("handler_timeout", handler_timeout),
                        ("connect_timeout", connect_timeout)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValidationError(name, "expected a positive number of seconds", "use e.g. 30",
                                  code="invalid_type" if not isinstance(value, int | float)
                                  else "invalid_value")
    if isinstance(events_maxsize, bool) or not isinstance(events_maxsize, int) or (
            events_maxsize < 1):
        raise ValidationError("events_maxsize", "expected a positive whole number",
                              "use e.g. 10000")
    if capture is not None and not isinstance(capture, str | bool | os.PathLike):
        raise ValidationError("capture", f"expected a path, True/False or None, got "
                              f"{type(capture).__name__}", "pass a file path, or False for "
                              "no file", code="invalid_type")
    if client is not None and not hasattr(client, "realtime"):
        # never echo the value: it may be a key passed in the wrong place
        raise ValidationError("client", f"expected an openai.AsyncOpenAI, got "
                              f"{type(client).__name__}", "pass client=openai.AsyncOpenAI(...) "
                              "(or emu.client()); the key goes into the client",
                              code="invalid_type")
    if transport is not None and not isinstance(transport, Transport):
        raise ValidationError("transport", f"expected a transport (send, async iteration, "
                              f"close), got {type(transport).__name__}", "pass e.g. "
                              "rtwidgets.MemoryTransport([...]), or leave it out to use the "
                              "sideband socket", code="invalid_type")
    owns = False
    if client is None and transport is None:
        import openai

        from rtwidgets._control import default_client

        try:
            client = default_client()
        except openai.OpenAIError:
            raise CallError("client: no API key in the environment. Fix: set OPENAI_API_KEY "
                            "or pass client=openai.AsyncOpenAI(...) (or emu.client())") from None
        owns = True
    if capture is True or capture is None:
        path: Path | None = _default_capture_path(call_id)
    elif capture is False:
        path = None
    else:
        path = Path(capture)
    previous = _ATTACHED.get(call_id)
    if previous is not None:
        await previous.close("replaced by a new attachment to the same call")
    if transport is None:
        assert client is not None
        transport = (LiveSessionTransport(client, call_id, reconnect=policy) if which == "live"
                     else LiveTransport(client, call_id, reconnect=policy))
    call = Call(call_id, transport, capture=path, audio=audio,
                redact_transcripts=redact_transcripts, handler_timeout=float(handler_timeout),
                events_maxsize=events_maxsize, client=client, owns_client=owns, api=which)
    _ATTACHED[call_id] = call
    call.start()
    await call.wait_connected(connect_timeout)
    return call


def _api_for(call_id: object, api: object) -> ApiName:
    """Which API ``call_id`` is attached with: ``api`` when given, else the id's prefix."""
    if api is None:
        which = api_of_id(call_id)
        if which is not None:
            return which
        if isinstance(call_id, str) and call_id.startswith("live_"):
            check_live_session_id(call_id, "call_id")
        check_call_id(call_id, "call_id")  # raises: the id is neither
        return "realtime"  # pragma: no cover - check_call_id raised
    if api not in ("realtime", "live"):
        raise ValidationError("api", "expected 'realtime' or 'live'",
                              "pass api='live' for a GPT-Live session, api='realtime' for a "
                              "Realtime call, or leave it out to decide by the id",
                              code="invalid_value" if isinstance(api, str) else "invalid_type")
    check_opaque_id(call_id, "call_id")
    return "live" if api == "live" else "realtime"
