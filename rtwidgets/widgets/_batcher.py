"""Rate limiter between a high-rate event stream and the browser: at most one flush per interval.

Why: Realtime emits hundreds of events a second, and kernel → browser widget traffic is not
throttled (jupyter-notes.md §4). A view marks itself dirty on every frame and pokes its
``Batcher``; the batcher calls the view's flush at most once per ``interval`` (default
100 ms, i.e. ≤ 10 messages/s per view), flushing the first poke after an idle period at once
so a quiet call feels instant, and gathering everything after it into the next timer tick.

It uses ``loop.call_later`` on the running loop (a timer handle held strongly here, no
thread, no task left running while idle). With no running loop (plain Python, no kernel) it
flushes synchronously on every poke: there is no browser to flood there.

It must never: sleep, start a thread, or flush more often than ``interval``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

__all__ = ["Batcher"]


def _now() -> float:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()

_log = logging.getLogger("rtwidgets.widgets")


class Batcher:
    """Calls ``flush()`` at most once per ``interval`` seconds after ``poke()``."""

    __slots__ = ("_again", "_closed", "_flush", "_flushing", "_handle", "_last", "flushes",
                 "interval")

    def __init__(self, flush: Callable[[], None], *, interval: float = 0.1) -> None:
        if not interval > 0:
            raise ValueError(f"interval: {interval!r} is not positive. Fix: use e.g. 0.1 (s)")
        self._flush = flush
        self.interval = float(interval)
        # loop time of the last flush; -inf means "idle since forever": next poke flushes now
        self._last = float("-inf")
        self._handle: asyncio.TimerHandle | None = None
        self._closed = False
        # a poke during a flush (the flush itself asked to come back) waits a full interval
        self._flushing = False
        self._again = False
        self.flushes = 0

    @property
    def pending(self) -> bool:
        """Whether a flush is scheduled."""
        return self._handle is not None

    def poke(self) -> None:
        """Something changed: flush now if idle long enough, else make sure a flush is due."""
        if self._closed or self._handle is not None:
            return
        if self._flushing:
            self._again = True
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._run(time.monotonic())
            return
        now = loop.time()
        wait = self._last + self.interval - now
        if wait <= 0:
            self._run(now)
        else:
            self._handle = loop.call_later(wait, self._fire)

    def flush_now(self) -> None:
        """Flush at once (e.g. answering a snapshot request), cancelling a scheduled flush."""
        self.cancel()
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:
            now = time.monotonic()
        self._run(now)

    def cancel(self) -> None:
        """Drop a scheduled flush (the view's dirty state is kept for the next poke)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def close(self) -> None:
        self.cancel()
        self._closed = True

    def _fire(self) -> None:
        self._handle = None
        if self._closed:
            return
        self._run(asyncio.get_running_loop().time())

    def _run(self, now: float) -> None:
        self.flushes += 1
        self._flushing = True
        try:
            self._flush()
        except Exception:  # a failed flush must not kill the loop's timer machinery
            _log.exception("view flush failed")
        finally:
            self._flushing = False
        # The interval counts from the end of the flush (when its message left), so messages
        # are spaced by at least ``interval`` however long building one took.
        self._last = max(now, _now())
        if self._again:
            self._again = False
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop, no timer: the next poke flushes
            if not self._closed and self._handle is None:
                self._handle = loop.call_later(self.interval, self._fire)
