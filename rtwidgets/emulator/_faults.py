"""Fault injection: the misbehaviour a robust sideband client must survive, on demand.

Why: the toolkit promises that a dropped socket, a malformed frame or a caller hanging up
never loses data or crashes a view (issue #7). Those faults are rare against the real
server, so the emulator produces them on a schedule (``Emulator.start(faults=...)``, per
call with ``start_call(faults=...)``, or now with ``inject``). This module parses and
validates fault specs (``FaultSpec``, a pydantic-checked schema; a bad spec is refused with
the field and fix by the one translator of ``protocol.validation``) and is the fault layer:
``FaultLayer`` wraps a sans-I/O session core with the same ``receive`` / ``advance`` /
``next_deadline`` face, fires faults at their call times and rewrites the core's outputs
(an extra field, two events swapped, a frame that is not JSON, a drop, a hang-up). The core
knows nothing of faults, and a faulted seeded call is as reproducible as a clean one.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field, with_config
from typing_extensions import Required, TypedDict

from ..protocol.errors import ValidationError
from ..protocol.validation import Schema
from .core.outputs import Out

if TYPE_CHECKING:
    from .core.live import LiveSession
    from .core.realtime import RealtimeSession

__all__ = ["FAULT_KINDS", "Fault", "FaultError", "FaultLayer", "FaultSpec", "parse_faults"]

#: drop: close every sideband of the call (with or without a close frame); the call goes on.
#: malformed_json: a text frame that is not JSON. unknown_type: a well-formed event of a type
#: no catalog knows. unknown_field: the next real event carries an extra field.
#: huge_frame: a rate_limits.updated padded to ``size`` bytes. out_of_order: the next two real
#: events are sent swapped. caller_hangup: the caller hangs up (the call ends).
FAULT_KINDS = ("drop", "malformed_json", "unknown_type", "unknown_field", "huge_frame",
               "out_of_order", "caller_hangup")


class FaultError(ValueError):
    """A fault spec is not valid; ``field`` names the bad field."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.fix = fix
        super().__init__(f"{field}: {problem}. Fix: {fix}")


@dataclass(frozen=True)
class Fault:
    """One scheduled fault. Times are call milliseconds (divided by the emulator's speed),
    counted from when the caller starts (after any hold-until-attached)."""

    kind: str
    at_ms: int = 0
    every_ms: int | None = None     # repeat at this interval...
    count: int = 1                  # ...this many times in all
    close_frame: bool = True        # drop: send a close frame (code) or cut the TCP stream
    code: int = 1011                # drop: close code when close_frame is true
    size: int = 2_000_000           # huge_frame: frame size in bytes

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "at_ms": self.at_ms, "every_ms": self.every_ms,
                "count": self.count, "close_frame": self.close_frame, "code": self.code,
                "size": self.size}


@with_config(ConfigDict(extra="forbid", strict=True))
class FaultSpec(TypedDict, total=False):
    """A fault spec as data (a JSON object): the schema ``parse_fault`` validates."""

    kind: Required[Literal[FAULT_KINDS]]  # type: ignore[valid-type]
    at_ms: Annotated[int, Field(ge=0)]
    every_ms: Annotated[int, Field(ge=1)] | None
    count: Annotated[int, Field(ge=1)]
    close_frame: bool
    code: Annotated[int, Field(ge=1000, le=4999)]
    size: Annotated[int, Field(ge=1024)]


_SCHEMA = Schema(FaultSpec, fixes={
    "": 'pass an object like {"kind": "drop", "at_ms": 1000}',
    "kind": f"pick a fault kind from docs/emulator.md: {', '.join(FAULT_KINDS)}",
    "code": "use a WebSocket close code from 1000 to 4999, e.g. 1011 or 1012",
    "close_frame": "use a boolean: true or false",
})


def parse_fault(raw: Fault | Mapping[str, Any], path: str = "faults[0]") -> Fault:
    """One fault spec (a ``Fault`` or its dict form, ``FaultSpec``), checked."""
    if isinstance(raw, Fault):
        return raw
    try:
        spec = _SCHEMA.validate(raw, path)
    except ValidationError as err:
        raise FaultError(err.field, err.problem, err.fix) from None
    return Fault(**spec)


def parse_faults(raw: Iterable[Fault | Mapping[str, Any]] | None) -> list[Fault]:
    """Validate a list of fault specs (dicts or ``Fault``)."""
    if raw is None:
        return []
    if isinstance(raw, (str, bytes, Mapping)):
        raise FaultError("faults", "must be a list of fault objects",
                         'wrap it in a list: [{"kind": "drop", "at_ms": 1000}]')
    return [parse_fault(f, f"faults[{i}]") for i, f in enumerate(raw)]


class FaultLayer:
    """A session core with faults: same face as the core, faults fired in call time.

    Faults given at creation count from when the scripted caller starts (the core's
    ``caller_t0``); ``inject`` counts from now. Ties: what the core has due at a fault's
    time goes out first, then the fault.
    """

    def __init__(self, core: RealtimeSession | LiveSession,
                 faults: Iterable[Fault] = ()) -> None:
        self.core = core
        self._pending = list(faults)       # armed once the caller starts
        self._due: list[tuple[float, int, Fault]] = []
        self._seq = 0
        self._extra_field_next = False
        self._swap_next = False
        self._held: Out | None = None

    def __getattr__(self, name: str) -> Any:
        # Everything else (status, session, start, attach, ...) is the core's.
        return getattr(self.core, name)

    # ------------------------------------------------------------------ the core's face

    def next_deadline(self) -> float | None:
        core = self.core.next_deadline()
        if self.core.status == "ended" or not self._due:
            return core
        return self._due[0][0] if core is None else min(core, self._due[0][0])

    def advance(self, now: float) -> list[Out]:
        outs: list[Out] = []
        while self._due and self._due[0][0] <= now and self.core.status != "ended":
            at, _, fault = heapq.heappop(self._due)
            outs += self._rewrite(self.core.advance(at))
            outs += self._apply(fault)
        outs += self._rewrite(self.core.advance(now))
        self._arm()
        return outs

    def receive(self, frame: str | dict[str, Any], now: float, *, socket: str = "ws1",
                binary: bool = False) -> list[Out]:
        outs = self.advance(now)
        return outs + self._rewrite(self.core.receive(frame, now, socket=socket,
                                                      binary=binary))

    def start(self, now: float = 0.0) -> list[Out]:
        outs = self.advance(now) + self._rewrite(self.core.start(now))
        self._arm()
        return outs

    def announce(self, now: float = 0.0) -> list[Out]:
        return self.advance(now) + self._rewrite(self.core.announce(now))

    def attach(self, socket: str, now: float) -> list[Out]:
        outs = self.advance(now) + self._rewrite(self.core.attach(socket, now))
        self._arm()
        return outs

    def end(self, reason: str, now: float, *, close_frame: bool | None = None) -> list[Out]:
        return self.advance(now) + self._rewrite(
            self.core.end(reason, now, close_frame=close_frame))

    def refer(self, target_uri: str, now: float) -> list[Out]:
        self.core.refer_check(target_uri)          # a bad target changes nothing
        return self.advance(now) + self._rewrite(self.core.refer(target_uri, now))

    def inject(self, fault: Fault, now: float) -> list[Out]:
        """Apply ``fault`` now, or schedule it from now (``at_ms``/``every_ms``/``count``).

        An immediate fault applies right after the last event the call has sent (the core's
        time), before what has fallen due since: an operator's fault lands where the client
        is, even when the shell runs late (a big frame still draining).
        """
        if fault.count == 1 and fault.at_ms == 0:
            return self._apply(fault)
        outs = self.advance(now)
        self._schedule(fault, now)
        return outs

    # ------------------------------------------------------------------ internals

    def _arm(self) -> None:
        t0 = self.core.caller_t0
        if self._pending and t0 is not None:
            for fault in self._pending:
                self._schedule(fault, t0)
            self._pending = []

    def _schedule(self, fault: Fault, base: float) -> None:
        for k in range(fault.count):
            self._seq += 1
            heapq.heappush(self._due, (base + fault.at_ms + k * (fault.every_ms or 0),
                                       self._seq, fault))

    def _rewrite(self, outs: list[Out]) -> list[Out]:
        """unknown_field / out_of_order act on the core's next broadcast events."""
        if not (self._extra_field_next or self._swap_next or self._held):
            return outs
        result: list[Out] = []
        for out in outs:
            if out.kind != "event" or out.only is not None or out.event is None:
                result.append(out)
                continue
            if self._extra_field_next:
                self._extra_field_next = False
                out.event["x_emulator_unknown_field"] = {"injected": True}
                out.fault = "unknown_field"
                result.append(out)
                continue
            if self._swap_next and self._held is None:
                self._held = out
                continue
            result.append(out)
            if self._held is not None:
                held, self._held = self._held, None
                self._swap_next = False
                held.fault = "out_of_order"
                held.at = out.at
                result.append(held)
        return result

    def _apply(self, fault: Fault) -> list[Out]:
        core = self.core
        kind = fault.kind
        at = core.now
        outs = [Out("meta", at, meta={"type": "emulator.fault", "kind": kind,
                                      **({"close_frame": fault.close_frame}
                                         if kind == "drop" else {})})]
        if kind == "drop":
            outs.append(Out("close", at, reason="fault: drop", code=fault.code,
                            close_frame=fault.close_frame, fault=kind))
        elif kind == "caller_hangup":
            outs += core.end("caller_hangup", at, close_frame=fault.close_frame)
        elif kind == "malformed_json":
            text = ('{"type":"response.output_text.delta","event_id":"' + core.ids.event_id()
                    + '","delta":"unterminated')
            outs.append(Out("event", at, raw=text, fault=kind, timed=True))
        elif kind == "unknown_type":
            event = {"type": "emulator.unknown_event_type", "event_id": core.ids.event_id(),
                     "detail": "a type no catalog knows"}
            outs.append(Out("event", at, event=event, fault=kind, timed=True))
        elif kind == "unknown_field":
            self._extra_field_next = True
        elif kind == "out_of_order":
            self._swap_next = True
        elif kind == "huge_frame":
            huge: dict[str, Any] = {
                "type": "rate_limits.updated", "event_id": core.ids.event_id(),
                "rate_limits": [{"name": "tokens", "limit": 40000, "remaining": 40000,
                                 "reset_seconds": 0.0}],
                "x_emulator_padding": ""}
            overhead = len(json.dumps(huge, separators=(",", ":")))
            huge["x_emulator_padding"] = "x" * max(0, fault.size - overhead)
            outs.append(Out("event", at, event=huge, fault=kind, timed=True))
        return outs
