"""Fault injection: the misbehaviour a robust sideband client must survive, on demand.

Why: the toolkit promises that a dropped socket, a malformed frame or a caller hanging up
never loses data or crashes a view (issue #7). Those faults are rare against the real
server, so the emulator produces them on a schedule (``Emulator.start(faults=...)``, per
call with ``start_call(faults=...)``, or now with ``inject``). This module only parses and
validates fault specs; the call applies them. A bad spec is refused with the field and fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FAULT_KINDS", "Fault", "FaultError", "parse_faults"]

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


def _nonneg_int(raw: Mapping[str, Any], key: str, path: str, default: int,
                minimum: int = 0) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FaultError(f"{path}.{key}", f"must be an integer >= {minimum}, got {value!r}",
                         f"give a whole number >= {minimum}")
    return value


def parse_fault(raw: Fault | Mapping[str, Any], path: str = "faults[0]") -> Fault:
    if isinstance(raw, Fault):
        return raw
    if not isinstance(raw, Mapping):
        raise FaultError(path, f"must be an object, got {type(raw).__name__}",
                         '{"kind": "drop", "at_ms": 1000}')
    allowed = {"kind", "at_ms", "every_ms", "count", "close_frame", "code", "size"}
    extra = set(raw) - allowed
    if extra:
        raise FaultError(f"{path}.{sorted(extra)[0]}", "is not a known field",
                         f"use only {', '.join(sorted(allowed))}")
    kind = raw.get("kind")
    if kind not in FAULT_KINDS:
        raise FaultError(f"{path}.kind", f"must be one of {', '.join(FAULT_KINDS)}, got {kind!r}",
                         "pick a fault kind from docs/emulator.md")
    every = raw.get("every_ms")
    if every is not None:
        every = _nonneg_int(raw, "every_ms", path, 0, minimum=1)
    close_frame = raw.get("close_frame", True)
    if not isinstance(close_frame, bool):
        raise FaultError(f"{path}.close_frame", f"must be true or false, got {close_frame!r}",
                         "use a boolean")
    code = _nonneg_int(raw, "code", path, 1011, minimum=1000)
    if code > 4999:
        raise FaultError(f"{path}.code", f"must be a WebSocket close code 1000-4999, got {code}",
                         "use e.g. 1011 or 1012")
    return Fault(
        kind=str(kind),
        at_ms=_nonneg_int(raw, "at_ms", path, 0),
        every_ms=every,
        count=_nonneg_int(raw, "count", path, 1, minimum=1),
        close_frame=close_frame,
        code=code,
        size=_nonneg_int(raw, "size", path, 2_000_000, minimum=1024),
    )


def parse_faults(raw: Iterable[Fault | Mapping[str, Any]] | None) -> list[Fault]:
    """Validate a list of fault specs (dicts or ``Fault``)."""
    if raw is None:
        return []
    if isinstance(raw, (str, bytes, Mapping)):
        raise FaultError("faults", "must be a list of fault objects",
                         'wrap it in a list: [{"kind": "drop", "at_ms": 1000}]')
    return [parse_fault(f, f"faults[{i}]") for i, f in enumerate(raw)]
