"""The emulator's load mode: N SIP calls at R calls/s against a user's own webhook app.

Why: people who build a server-side controls app (a webhook that accepts
``realtime.call.incoming`` and attaches a sideband) need to know how it behaves when calls
arrive together: how long it takes to accept, how long from accept to its sideband, which
calls it refuses and which it drops. The emulator already plays the SIP side of one call
(a signed webhook, then waiting for ``accept``/``reject`` and the sideband); this module
places many such calls on a schedule and reads the emulator's own observations (its
``call_observers`` hook, its webhook delivery records) into a table. It sends nothing the
emulator's SIP flow does not send, and it never sees or keeps the webhook secret.

Timing (all ``time.monotonic()``, taken inside the emulator):
- accept latency: from the start of the webhook POST the accept answered (the latest
  attempt begun before the accept; retries count from their own start) to the moment the
  emulator accepted the call;
- sideband attach latency: from that accept to the first sideband socket on the call.
A call is answered when its sideband attaches or it is rejected; one not answered within
``timeout`` seconds of being placed is a timeout (and is hung up).
"""

from __future__ import annotations

import asyncio
import math
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ._server import Emulator, ScenarioSpec

__all__ = ["LoadCall", "LoadResult", "run_load"]

Outcome = Literal["attached", "refused", "ended", "timeout", "pending"]


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of ``values``; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


def _shown_url(url: str) -> str:
    """The webhook URL without credentials, query or fragment (they may hold a token)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(webhook)"
    return f"{parts.scheme}://{host}{port}{parts.path}"


@dataclass
class LoadCall:
    """What happened to one placed call (times are ``time.monotonic()``)."""

    call_id: str
    placed_t: float
    accepted_t: float | None = None
    rejected_t: float | None = None
    sideband_t: float | None = None
    ended_t: float | None = None
    end_reason: str | None = None
    outcome: Outcome = "pending"
    #: Start of the webhook attempt the accept answered (None: no attempt recorded).
    webhook_t: float | None = None
    webhook_attempts: int = 0
    #: Attempts answered with a non-2xx status or failed (connection error, timeout).
    webhook_failures: int = 0
    webhook_delivered: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False, compare=False)

    @property
    def accept_latency_s(self) -> float | None:
        if self.accepted_t is None:
            return None
        return self.accepted_t - (self.webhook_t if self.webhook_t is not None
                                  else self.placed_t)

    @property
    def sideband_latency_s(self) -> float | None:
        if self.accepted_t is None or self.sideband_t is None:
            return None
        return self.sideband_t - self.accepted_t

    def as_dict(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "outcome": self.outcome,
                "placed_t": self.placed_t, "webhook_t": self.webhook_t,
                "accepted_t": self.accepted_t, "rejected_t": self.rejected_t,
                "sideband_t": self.sideband_t, "end_reason": self.end_reason,
                "webhook_attempts": self.webhook_attempts,
                "webhook_failures": self.webhook_failures,
                "webhook_delivered": self.webhook_delivered}


@dataclass
class LoadResult:
    """The figures of one load run; ``table()`` renders them, ``ok`` says no call timed out."""

    requested: int
    rate: float
    timeout: float
    webhook: str                 # shown without credentials or query
    calls: list[LoadCall]
    duration_s: float

    @property
    def placed(self) -> int:
        return len(self.calls)

    @property
    def accepted(self) -> int:
        return sum(1 for c in self.calls if c.accepted_t is not None)

    @property
    def attached(self) -> int:
        return sum(1 for c in self.calls if c.outcome == "attached")

    @property
    def refused(self) -> int:
        return sum(1 for c in self.calls if c.outcome == "refused")

    @property
    def timeouts(self) -> int:
        return sum(1 for c in self.calls if c.outcome == "timeout")

    @property
    def ended_early(self) -> int:
        """Calls that ended before an answer other than by reject (e.g. a hangup)."""
        return sum(1 for c in self.calls if c.outcome == "ended")

    @property
    def webhook_errors(self) -> int:
        """Calls whose webhook got a non-2xx answer or failed at least once."""
        return sum(1 for c in self.calls if c.webhook_failures)

    @property
    def errors(self) -> int:
        """Calls with any problem: a webhook non-2xx/failure, a timeout, an early end."""
        return sum(1 for c in self.calls if c.webhook_failures or c.outcome in (
            "timeout", "ended"))

    @property
    def accept_latency_ms(self) -> list[float]:
        return [1000 * v for c in self.calls if (v := c.accept_latency_s) is not None]

    @property
    def sideband_latency_ms(self) -> list[float]:
        return [1000 * v for c in self.calls if (v := c.sideband_latency_s) is not None]

    @property
    def ok(self) -> bool:
        """True when every placed call was answered (attached or refused) in time."""
        return self.timeouts == 0 and self.placed == self.requested

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def as_dict(self) -> dict[str, Any]:
        acc, sb = self.accept_latency_ms, self.sideband_latency_ms
        return {
            "placed": self.placed, "accepted": self.accepted, "attached": self.attached,
            "refused": self.refused, "errors": self.errors, "timeouts": self.timeouts,
            "webhook_errors": self.webhook_errors, "ended_early": self.ended_early,
            "accept_latency_ms": {"p50": _percentile(acc, 50), "p99": _percentile(acc, 99)},
            "sideband_latency_ms": {"p50": _percentile(sb, 50), "p99": _percentile(sb, 99)},
            "duration_s": self.duration_s, "ok": self.ok,
        }

    def table(self) -> str:
        def ms(values: list[float]) -> str:
            if not values:
                return "-"
            return f"{_percentile(values, 50):.1f} / {_percentile(values, 99):.1f} ms"

        rows = [
            ("calls placed", str(self.placed)),
            ("accepted", str(self.accepted)),
            ("accept latency p50 / p99", ms(self.accept_latency_ms)),
            ("sideband attached", str(self.attached)),
            ("sideband attach latency p50 / p99", ms(self.sideband_latency_ms)),
            ("refused (reject)", str(self.refused)),
            ("errors", f"{self.errors} (webhook non-2xx or failed: {self.webhook_errors}, "
                       f"timeouts: {self.timeouts}, ended before an answer: "
                       f"{self.ended_early})"),
        ]
        width = max(len(name) for name, _ in rows)
        head = (f"load: {self.requested} SIP calls at {self.rate:g}/s against {self.webhook} "
                f"(timeout {self.timeout:g} s, {self.duration_s:.1f} s in all)")
        lines = [head] + [f"  {name:<{width}}  {value}" for name, value in rows]
        if not self.ok:
            lines.append(f"  FAILED: {self.timeouts} call(s) got no answer within "
                         f"{self.timeout:g} s")
        return "\n".join(lines)


def _check(n: Any, rate: Any, timeout: Any) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100_000:
        raise ValueError(f"n: must be an integer from 1 to 100000, got {n!r}. "
                         "Fix: e.g. n=20 calls")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (
            0 < rate <= 100_000) or not math.isfinite(rate):
        raise ValueError(f"rate: must be a number of calls per second > 0 and <= 100000, "
                         f"got {rate!r}. Fix: e.g. rate=10")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not (
            0 < timeout <= 3600):
        raise ValueError(f"timeout: must be a number of seconds > 0 and <= 3600, got "
                         f"{timeout!r}. Fix: e.g. timeout=10")


async def run_load(emu: Emulator, n: int, rate: float, *, webhook_url: str | None = None,
                   webhook_secret: str | None = None, timeout: float = 10.0,
                   scenario: ScenarioSpec | None = None) -> LoadResult:
    """Place ``n`` SIP calls at ``rate`` calls/s and wait for each to be answered.

    ``webhook_url`` defaults to the emulator's; ``webhook_secret`` to the emulator's secret.
    Returns when every call is answered (sideband attached or rejected), ended, or timed out;
    calls that were accepted keep running their scenario, timed-out ones are hung up.
    """
    _check(n, rate, timeout)
    url = webhook_url if webhook_url is not None else emu.webhook_url
    if url is None:
        raise ValueError("webhook_url: the load needs the webhook of the app under test. "
                         "Fix: emu.load(n, rate, webhook_url='http://127.0.0.1:8000/webhook') "
                         "or Emulator.start(webhook_url=...)")
    calls: dict[str, LoadCall] = {}
    early: dict[str, list[tuple[str, float]]] = {}

    def apply(lc: LoadCall, kind: str, t: float) -> None:
        if lc.done.is_set():
            return
        if kind == "accepted":
            lc.accepted_t = t
        elif kind == "rejected":
            lc.rejected_t, lc.outcome = t, "refused"
            lc.done.set()
        elif kind == "sideband":
            lc.sideband_t, lc.outcome = t, "attached"
            lc.done.set()
        elif kind == "ended":
            lc.ended_t, lc.outcome = t, "ended"
            lc.done.set()

    def observe(kind: str, call_id: str, t: float) -> None:
        lc = calls.get(call_id)
        if lc is not None:
            apply(lc, kind, t)
        elif pending:
            # An event for a call being placed right now (before its id is known here).
            early.setdefault(call_id, []).append((kind, t))

    async def watch(lc: LoadCall) -> None:
        remaining = lc.placed_t + timeout - time.monotonic()
        try:
            await asyncio.wait_for(lc.done.wait(), max(0.0, remaining))
        except asyncio.TimeoutError:
            lc.outcome = "timeout"
            lc.done.set()
            call = emu.calls.get(lc.call_id)
            if call is not None and call.status != "ended":
                await emu.hangup(lc.call_id)

    pending = True
    loop = asyncio.get_running_loop()
    watchers: list[asyncio.Task[None]] = []
    emu.call_observers.append(observe)
    t0 = time.monotonic()
    start = loop.time()
    try:
        for i in range(n):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            placed_t = time.monotonic()
            call_id = await emu.start_call(transport="sip", scenario=scenario,
                                           webhook_url=url, webhook_secret=webhook_secret)
            lc = LoadCall(call_id=call_id, placed_t=placed_t)
            calls[call_id] = lc
            for kind, t in early.pop(call_id, []):
                apply(lc, kind, t)
            watchers.append(loop.create_task(watch(lc)))
        pending = False
        await asyncio.gather(*watchers)
    finally:
        emu.call_observers.remove(observe)
        for task in watchers:
            task.cancel()
    duration = time.monotonic() - t0
    deliveries = {d.call_id: d for d in emu.webhook_deliveries if d.call_id in calls}
    for lc in calls.values():
        delivery = deliveries.get(lc.call_id)
        if lc.end_reason is None and lc.call_id in emu.calls:
            lc.end_reason = emu.calls[lc.call_id].end_reason
        if delivery is None:
            continue
        lc.webhook_attempts = len(delivery.attempts)
        lc.webhook_delivered = delivery.delivered
        lc.webhook_failures = sum(1 for a in delivery.attempts
                                  if not 200 <= a.get("status", 0) < 300)
        if lc.accepted_t is not None:
            starts = [a["t"] for a in delivery.attempts if a["t"] <= lc.accepted_t]
            lc.webhook_t = max(starts) if starts else None
    return LoadResult(requested=n, rate=float(rate), timeout=float(timeout),
                      webhook=_shown_url(url), calls=list(calls.values()),
                      duration_s=duration)
