"""The event bus of a call: who hears of its frames, and who waits for one.

Why a module of its own: the ``Call`` (``_call``) reads frames; the bus is the other half, the
listeners those frames go to — ``subscribe(cb)`` (every frame, as a ``Frame``), ``on(key, cb)``
(incoming and meta events of a wire type or prefix, given by the user as data), ``events()``
(bounded async streams), ``wait_for(type, …)`` and the engine's own waits for a normalized event
class (``_add_event_waiter``: they name no wire event, so they work for every codec). It is a
mixin of ``_TransportSource`` (a ``Call`` and a ``Replay``): the receive path in ``_call``
fans each frame out to these lists in ``_dispatch``, and the lifetime there ends the waiters
and streams when the call ends.

Decisions:
- ``events()`` streams are bounded (``maxsize``, default 10 000): a slow reader loses the
  *oldest* events, counted in ``stream.dropped`` and ``call.stats.dropped_events``; the
  capture and ``frames()`` always keep everything.
- Subscribers and ``on()`` callbacks run synchronously on the loop; one that raises is logged
  (once, with its traceback) and kept, further failures only counted. A coroutine returned by
  an ``on()`` callback runs as a task.
- The waiters' list is replaced, never mutated in place (``_set_waiters``), together with what
  they wait for, so the receive path can skip the dispatch when nobody wants a frame.

Never: read the transport, the capture or the wire format, or let a listener's failure reach
the receive loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rtwidgets._call_types import CallEndedError
from rtwidgets.protocol.errors import ValidationError

if TYPE_CHECKING:
    from rtwidgets._call_types import CallStats, CallStatus
    from rtwidgets._capture import Frame

__all__ = ["EventBus", "EventStream"]

log = logging.getLogger("rtwidgets.call")


def _matches(key: str, etype: str) -> bool:
    if key == "*" or etype == key:
        return True
    prefix = key if key.endswith(".") else key + "."
    return etype.startswith(prefix)


class EventStream:
    """``async for event in call.events()``: a bounded stream of incoming event dicts.

    Registered when created (nothing between ``call.events()`` and the first ``anext`` is
    missed). Holds at most ``maxsize`` events; when full the oldest is dropped and counted in
    ``dropped``. Ends when the call ends or ``aclose()`` is called.
    """

    def __init__(self, call: EventBus, maxsize: int, key: str | None) -> None:
        if not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"maxsize: {maxsize!r} is not a positive int. Fix: use e.g. 10000")
        self._call = call
        self._buf: deque[dict[str, Any]] = deque(maxlen=maxsize)
        self._ready = asyncio.Event()
        self._closed = False
        self.key = key
        self.dropped = 0

    def put(self, event: dict[str, Any]) -> None:
        buf = self._buf
        if len(buf) == buf.maxlen:
            self.dropped += 1
            self._call.stats.dropped_events += 1
        buf.append(event)
        self._ready.set()

    def end(self) -> None:
        self._closed = True
        self._ready.set()

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while True:
            if self._buf:
                return self._buf.popleft()
            if self._closed:
                self._call._streams.discard(self)
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()

    async def aclose(self) -> None:
        self.end()
        self._buf.clear()
        self._call._streams.discard(self)


class _Waiter:
    """Someone awaiting a frame: of a wire ``type`` (``wait_for``, the public API: the
    predicate and the result are the event dict) or, inside the engine, of a normalized
    event class ``cls`` (the predicate and the result are the normalized event)."""

    __slots__ = ("cls", "directions", "future", "predicate", "type")

    def __init__(self, etype: str | None, predicate: Callable[[Any], bool] | None,
                 future: asyncio.Future[Any], directions: str,
                 cls: type | None = None) -> None:
        self.type = etype
        self.cls = cls
        self.predicate = predicate
        self.future = future
        self.directions = directions


class EventBus:
    """The listeners of a call's frames and their registration (a mixin of the ``Call``'s
    base, ``_TransportSource``, which creates these lists in its ``__init__``)."""

    # Provided by the source this is mixed into.
    call_id: str
    stats: CallStats
    events_maxsize: int
    _status: CallStatus
    _closed: bool
    _recv_task: asyncio.Task[None] | None
    # The bus's own state.
    _subscribers: list[Callable[[Frame], Any]]
    _callbacks: list[tuple[str, Callable[[dict[str, Any]], Any]]]
    _streams: set[EventStream]
    _waiters: list[_Waiter]
    _wanted_types: frozenset[str | None]
    _wanted_events: bool
    _failed_callbacks: set[int]

    def subscribe(self, callback: Callable[[Frame], Any]) -> Callable[[], None]:
        """Call ``callback(frame)`` for every new frame; returns the unsubscribe function."""
        if not callable(callback):
            raise TypeError("callback: not callable. Fix: pass a function taking a Frame")
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def on(self, type_or_prefix: str, callback: Callable[[dict[str, Any]], Any]
           ) -> Callable[[], None]:
        """Call ``callback(event)`` for incoming and meta events of a type or prefix.

        ``"response.done"`` matches that type; ``"response"`` (or ``"response."``) every
        ``response.*`` type; ``"*"`` everything. Returns the function that removes it.
        """
        if not isinstance(type_or_prefix, str) or not type_or_prefix:
            raise ValueError("type_or_prefix: expected a non-empty string. Fix: use e.g. "
                             "'response.done' or 'response'")
        if not callable(callback):
            raise TypeError("callback: not callable. Fix: pass a function taking an event dict")
        entry = (type_or_prefix, callback)
        self._callbacks.append(entry)

        def off() -> None:
            with contextlib.suppress(ValueError):
                self._callbacks.remove(entry)

        return off

    def events(self, type_or_prefix: str | None = None, *, maxsize: int | None = None
               ) -> EventStream:
        """A bounded async stream of incoming server events (optionally of a type/prefix)."""
        stream = EventStream(self, self.events_maxsize if maxsize is None else maxsize,
                             type_or_prefix)
        task = self._recv_task
        if self._closed or (task is not None and task.done()) or (
                task is None and self._status.state == "ended"):
            stream.end()
        self._streams.add(stream)
        return stream

    async def wait_for(
        self, type: str, predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float | None = 30.0,
    ) -> dict[str, Any]:
        """The next incoming (or meta) event of ``type`` for which ``predicate`` holds.

        Raises ``TimeoutError`` after ``timeout`` s and ``CallEndedError`` if the call ends first.
        """
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(
                timeout, int | float) or not timeout > 0):
            raise ValidationError("timeout", "expected a positive number of seconds or None",
                                  "use e.g. timeout=30")
        if predicate is not None and not callable(predicate):
            raise ValidationError("predicate", "not callable",
                                  "pass a function taking the event dict and returning a bool")
        fut = self._add_waiter(type, predicate)
        event: dict[str, Any] = await self._await_waiter(fut, timeout, f"waiting for {type!r}")
        return event

    def _add_waiter(self, etype: str, predicate: Callable[[dict[str, Any]], bool] | None,
                    directions: str = "in meta") -> asyncio.Future[dict[str, Any]]:
        if not isinstance(etype, str) or not etype:
            raise ValueError("type: expected an event type string. Fix: e.g. 'response.done'")
        if self._status.state == "ended" and not etype.startswith("rtwidgets."):
            raise CallEndedError(f"call {self.call_id} has ended ({self._status.reason})")
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._set_waiters([*self._waiters, _Waiter(etype, predicate, fut, directions)])
        return fut

    def _set_waiters(self, waiters: list[_Waiter]) -> None:
        self._waiters = waiters
        self._wanted_types = frozenset(w.type for w in waiters if w.cls is None)
        self._wanted_events = any(w.cls is not None for w in waiters)

    def _add_event_waiter(self, cls: type, predicate: Callable[[Any], bool] | None = None
                          ) -> asyncio.Future[Any]:
        """A future for the next incoming normalized event of ``cls`` (the engine's own
        waits: it names no wire event, so it works for every codec)."""
        if self._status.state == "ended":
            raise CallEndedError(f"call {self.call_id} has ended ({self._status.reason})")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._set_waiters([*self._waiters, _Waiter(None, predicate, fut, "in", cls)])
        return fut

    async def _await_waiter(self, fut: asyncio.Future[Any], timeout: float | None,
                            what: str) -> Any:
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"call {self.call_id}: {what} timed out after {timeout} s"
                               ) from None
        finally:
            self._set_waiters([w for w in self._waiters if w.future is not fut])

    @staticmethod
    def _try_waiter(w: _Waiter, value: Any) -> None:
        try:
            ok = w.predicate is None or w.predicate(value)
        except Exception as exc:
            w.future.set_exception(exc)
            return
        if ok:
            w.future.set_result(value)

    def _callback_failed(self, cb: Callable[..., Any], what: str) -> None:
        # Log each failing callback once with its traceback; later failures are only counted.
        self.stats.callback_errors += 1
        key = id(cb)
        if key not in self._failed_callbacks:
            self._failed_callbacks.add(key)
            log.exception("call %s: %s failed (kept; further failures are only counted in "
                          "call.stats.callback_errors)", self.call_id, what)
