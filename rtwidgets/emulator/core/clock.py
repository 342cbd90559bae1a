"""The virtual clock: cooperative processes scheduled in call time, with no wall clock.

Why: "same seed, same call" (architecture rule 7) needs every scripted event to be computed
at the call time it was *meant* for, never at the moment a busy loop got round to it. So the
emulator's scripted parts (a response streaming words, the caller waiting for a pause, audio
draining) are plain Python generators run by this scheduler. A process yields what it waits
for and the scheduler resumes it when call time reaches it:

- ``yield 1234.0`` sleeps until call time 1234 ms (absolute);
- ``yield Until(predicate, deadline)`` waits until ``predicate()`` holds (checked after
  every step of any process and after every outside change) or ``deadline`` passes; the
  ``yield`` evaluates to True if the predicate held, False on the deadline.

Ties are broken by the order processes were scheduled, so a run is a pure function of its
inputs. The I/O shell asks ``next_deadline()`` and calls ``run_until(now)``; a virtual run
calls the same two in a loop without sleeping.

Never: reads a clock, touches asyncio, or raises out of ``run_until`` because one process
failed (the failure is handed to ``on_error`` and that process ends).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

__all__ = ["Process", "ProcessGen", "Scheduler", "Until"]


@dataclass(frozen=True)
class Until:
    """Wait until ``predicate()`` holds or call time reaches ``deadline`` (None: no limit)."""

    predicate: Callable[[], bool]
    deadline: float | None = None


#: What a process is: a generator that yields sleeps (a float, absolute call ms) or ``Until``.
ProcessGen = Generator["float | Until", Any, Any]


@dataclass(eq=False)
class Process:
    """One running generator; ``done`` once it returned, failed or was cancelled."""

    name: str
    gen: ProcessGen
    done: bool = False
    # What it is waiting on now: the heap entry's token (sleep or deadline) and the predicate.
    token: int = -1
    waiting: Until | None = None
    result: Any = None
    started: bool = False


class Scheduler:
    """Runs processes in call time (milliseconds, a float that only moves forward)."""

    def __init__(self, on_error: Callable[[Process, BaseException], None] | None = None) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, Process, bool]] = []
        self._seq = 0
        self._waiting: list[Process] = []
        self._on_error = on_error
        self.current: Process | None = None

    # ------------------------------------------------------------------ processes

    def spawn(self, name: str, gen: ProcessGen, at: float | None = None) -> Process:
        """Start ``gen`` at call time ``at`` (default: now, after what is already due now)."""
        proc = Process(name, gen)
        self._schedule(proc, self.now if at is None else max(at, self.now), value=True)
        return proc

    def cancel(self, proc: Process) -> None:
        """Stop ``proc`` where it waits (its generator is closed; nothing more runs)."""
        if proc.done or proc is self.current:
            return
        proc.done = True
        proc.token = -1
        proc.waiting = None
        if proc in self._waiting:
            self._waiting.remove(proc)
        proc.gen.close()

    def cancel_all(self, keep: Process | None = None) -> None:
        for _, _, proc, _ in list(self._heap):
            if proc is not keep:
                self.cancel(proc)
        for proc in list(self._waiting):
            if proc is not keep:
                self.cancel(proc)

    def wake(self, proc: Process) -> None:
        """Resume ``proc`` now if it waits on an ``Until`` (its predicate is re-checked)."""
        if not proc.done and proc.waiting is not None and proc.waiting.predicate():
            self._ready(proc, True)

    # ------------------------------------------------------------------ time

    def next_deadline(self) -> float | None:
        """The call time of the next thing due, or None when every process waits on others."""
        while self._heap and (self._heap[0][2].done or self._heap[0][1] != self._heap[0][2].token):
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def run_until(self, t: float) -> None:
        """Run everything due up to call time ``t``, each at its own time, then set now = t."""
        while True:
            due = self.next_deadline()
            if due is None or due > t:
                break
            at, _token, proc, value = heapq.heappop(self._heap)
            self.now = max(self.now, at)
            if proc.waiting is not None and not value:
                # A deadline: a last look at the predicate decides the outcome.
                value = proc.waiting.predicate()
            self._step(proc, value)
        self.now = max(self.now, t)

    def settle(self) -> None:
        """Re-check every waiting predicate (call after an outside change) and run what is due."""
        self._check_waiters()
        self.run_until(self.now)

    # ------------------------------------------------------------------ internals

    def _schedule(self, proc: Process, at: float, value: bool) -> None:
        self._seq += 1
        proc.token = self._seq
        heapq.heappush(self._heap, (at, self._seq, proc, value))

    def _ready(self, proc: Process, value: bool) -> None:
        if proc in self._waiting:
            self._waiting.remove(proc)
        proc.waiting = None
        self._schedule(proc, self.now, value)

    def _check_waiters(self) -> None:
        for proc in list(self._waiting):
            if proc.waiting is not None and proc.waiting.predicate():
                self._ready(proc, True)

    def _step(self, proc: Process, value: bool) -> None:
        if proc.done:
            return
        proc.waiting = None
        if proc in self._waiting:
            self._waiting.remove(proc)
        self.current = proc
        try:
            command = proc.gen.send(value if proc.started else None)
            proc.started = True
        except StopIteration as stop:
            self._finish(proc, stop.value)
            return
        except Exception as exc:
            self._finish(proc, None)
            if self._on_error is not None:
                self._on_error(proc, exc)
            return
        finally:
            self.current = None
        if isinstance(command, Until):
            if command.predicate():
                self._schedule(proc, self.now, True)
                return
            proc.waiting = command
            self._waiting.append(proc)
            if command.deadline is not None:
                self._schedule(proc, max(self.now, command.deadline), False)
            else:
                proc.token = -1
        else:
            self._schedule(proc, max(self.now, float(command)), True)
        self._check_waiters()

    def _finish(self, proc: Process, result: Any) -> None:
        proc.done = True
        proc.token = -1
        proc.result = result
        self._check_waiters()

