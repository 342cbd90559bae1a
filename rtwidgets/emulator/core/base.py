"""What every session core shares: the sans-I/O face, the output buffer, the end of a call.

Why: the Realtime core (``realtime.py``) and the GPT-Live core (``live.py``) speak different
wires but are driven alike: a shell calls ``advance`` / ``receive`` / ``start`` /
``announce`` / ``attach`` / ``end`` / ``refer`` with a call time and gets ``Out`` back, and
both host the same scripted caller and model. This base holds that face and the
bookkeeping behind it (the scheduler, the buffered outputs, event stamping, notes, how a
call ends) once, so a fix to how call time or ids advance reaches both protocols. What a
protocol says differently is left to its core: the snapshot event it announces
(``SNAPSHOT``), when a sideband gets it on attach, what it sends as it ends (``_last_words``),
when the caller starts, and what a refer target must be.

Never: imports from rtwidgets outside ``rtwidgets.protocol`` and ``rtwidgets.emulator``;
reads a clock or does I/O; keeps a reference to an API key.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from rtwidgets.protocol.ids import IdFactory

from .._scenario import Scenario
from .caller import ScriptedCaller
from .clock import Process, Scheduler
from .model import ScriptedModel
from .outputs import Out

__all__ = ["CallStatus", "CoreOptions", "SessionCore"]

CallStatus = Literal["incoming", "active", "ended"]


@dataclass(frozen=True)
class CoreOptions:
    """The behaviour switches a session core reads (see ``realtime.py``'s docstring)."""

    session_created_on_attach: bool = False
    rate_limits_position: Literal["after_done", "end", "start"] = "after_done"
    audio_deltas: bool = False
    #: How long the caller waits for the model, in call milliseconds.
    patience_ms: float = 30_000.0


class SessionCore:
    """The server side of one call, sans-I/O: the part every protocol's core shares."""

    #: The server event that carries the session snapshot (``announce``, ``attach``).
    SNAPSHOT: ClassVar[str]

    def __init__(
        self,
        *,
        call_id: str,
        incoming: bool,
        scenario: Scenario,
        session: dict[str, Any],
        options: CoreOptions,
        ids: IdFactory,
        rng: random.Random,
        hold_until_attached: bool,
    ) -> None:
        self.call_id = call_id
        self.scenario = scenario
        self.session = session
        self.options = options
        self.ids = ids
        self.status: CallStatus = "incoming" if incoming else "active"
        self.end_reason: str | None = None
        #: Conversation items by id and their order (a Live session keeps none).
        self.items: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        #: Call time the scripted caller started (None: not yet, or a ``?model=`` session).
        self.caller_t0: float | None = None
        self.model = ScriptedModel(scenario, rng, ids)
        self.caller = ScriptedCaller(scenario, options.patience_ms)
        self.sched = Scheduler(on_error=self._process_failed)
        self._hold = hold_until_attached
        self._attached = False
        self._out: list[Out] = []
        self._timed = False

    # ------------------------------------------------------------------ the sans-I/O API

    @property
    def now(self) -> float:
        """The call time (milliseconds) the session has reached."""
        return self.sched.now

    def next_deadline(self) -> float | None:
        """Call time of the next timed event, or None."""
        return None if self.status == "ended" else self.sched.next_deadline()

    def advance(self, now: float) -> list[Out]:
        """Everything due up to call time ``now``, each at its own call time."""
        self._timed = True
        try:
            self.sched.run_until(now)
        finally:
            self._timed = False
        return self._take()

    def announce(self, now: float = 0.0) -> list[Out]:
        """The session snapshot to every socket (a WebRTC call's first event, before start)."""
        outs = self.advance(now)
        self.emit(self.SNAPSHOT, session=self.session)
        return outs + self._take()

    def attach(self, socket: str, now: float) -> list[Out]:
        """A sideband attached: the snapshot to it if so configured; a held caller starts."""
        outs = self.advance(now)
        self._attached = True
        if self._snapshot_on_attach():
            self._out.append(Out("event", self.now, event=self._event(
                self.SNAPSHOT, session=self.session), only=socket))
        self._maybe_start_caller()
        self.sched.settle()
        return outs + self._take()

    def end(self, reason: str, now: float, *, close_frame: bool | None = None) -> list[Out]:
        """End the call now (hangup, reject, refer, a closed session, the emulator closing)."""
        outs = self.advance(now)
        self._end(reason, close_frame)
        return outs + self._take()

    def refer(self, target_uri: str, now: float) -> list[Out]:
        """The app transfers the call (SIP ``refer``): noted (``emulator.call_transferred``),
        then the call ends ``referred``.

        ``ValueError`` naming ``target_uri`` for a target that is not a ``tel:``/``sip:`` URI
        or a call that is not connected; nothing changes then.
        """
        self.refer_check(target_uri)
        outs = self.advance(now)
        self.meta("call_transferred", {"target_uri": target_uri})
        self._end("referred", None)
        return outs + self._take()

    def refer_check(self, target_uri: str) -> None:
        """``ValueError`` naming ``target_uri`` if a refer to it cannot go ahead now."""
        raise NotImplementedError

    # ------------------------------------------------------------------ outputs

    def _take(self) -> list[Out]:
        out, self._out = self._out, []
        return out

    def meta(self, kind: str, data: dict[str, Any]) -> None:
        self._out.append(Out("meta", self.now, meta={"type": f"emulator.{kind}", **data}))

    def _event(self, type_: str, **fields: Any) -> dict[str, Any]:
        # Real ids of one session share a time-ordered stem: it follows call time, so a
        # seeded call mints the same ids at any speed or load.
        self.ids.advance_to(self.now / 1000.0)
        return {"type": type_, "event_id": self.ids.event_id(), **fields}

    def emit(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Build a server event for every attached socket, stamped with the call time."""
        event = self._event(type_, **fields)
        self._out.append(Out("event", self.now, event=event, timed=self._timed))
        return event

    def _process_failed(self, proc: Process, exc: BaseException) -> None:
        # A bug in the script must not pass silently: leave it in the record.
        self.meta("emulator_error", {"error": f"{type(exc).__name__}: {exc}"})

    def _end(self, reason: str, close_frame: bool | None, *, eid: str | None = None) -> None:
        """The call ends (once): the protocol's last words, then the end for the shell.
        ``eid``: the client event that asked for it, if one did."""
        if self.status == "ended":
            return
        self._last_words(reason, eid)
        self.status = "ended"
        self.end_reason = reason
        self.sched.cancel_all(keep=self.sched.current)
        self.meta("call_ended", {"reason": reason})
        self._out.append(Out("end", self.now, reason=reason, close_frame=close_frame))

    # ------------------------------------------------------------------ what each protocol says

    def _snapshot_on_attach(self) -> bool:
        """Whether a sideband that attaches gets the snapshot (``SNAPSHOT``) first."""
        raise NotImplementedError

    def _last_words(self, reason: str, eid: str | None) -> None:
        """What the call sends as it ends (nothing by default)."""

    def _maybe_start_caller(self) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ the caller's host

    def caller_expected_transfer(self, waited_ms: float) -> None:
        self.meta("transfer_expected", {"waited_ms": waited_ms})
