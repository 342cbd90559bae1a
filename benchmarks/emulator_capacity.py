"""Emulator capacity: N concurrent scripted calls at real-time speed, each with a sideband.

Why: notebooks, demos and the soak test run many calls at once against one emulator; a
scripted event that goes out late distorts every latency a user measures. The target on a
2-core machine (issue 12) is 1,000 concurrent calls at speed 1, a sideband each, with p99 send
jitter under 50 ms.

How: the emulator runs as its own process (``python -m rtwidgets emulator``), as a user runs
it. This script starts N calls through the control API, attaches one raw sideband (aiohttp)
to each, and records when every frame arrives (time.monotonic, one clock for both processes
on Linux). At the end it reads the emulator's own record (``GET /_emulator/calls/{id}``):
each paced event carries ``scheduled_t`` (when the script meant to send it) and ``t`` (when
the emulator started sending it). "probe" is a control: how late a bare 10 ms asyncio sleep
wakes in this process during the run, i.e. what the machine's load alone costs.
Jitter at the emulator = t - scheduled_t; at the receiver =
arrival - scheduled_t. CPU comes from /proc/<pid>/stat (emulator) and time.process_time
(this process). A baseline run with one call is printed side by side, with ratios.

The client opens every sideband at once on one aiohttp session with no connection limit
(aiohttp's default of 100 would queue the rest: until 2026-12 this script silently measured
at most 100 attached calls) and reads event ids without decoding JSON, so its own CPU stays
small next to the emulator's.

The emulator runs from the checkout this script is in (its root goes first on the
subprocess's PYTHONPATH). ``--compare DIR`` also runs it from another checkout (e.g. main,
unpacked with ``git archive main | tar -x -C DIR``), interleaved run by run with this one
(1 call, 1 call, N calls, N calls), so a change is measured side by side with what it changes,
under the same machine load.

Usage: .venv/bin/python benchmarks/emulator_capacity.py [--calls 1000] [--duration 20]
           [--compare DIR [--compare-label before]]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

AUTH = {"Authorization": "Bearer sk-bench-not-a-real-key"}
_EVENT_ID = '"event_id":"'
URL = re.compile(r"base_url=(http://\S+/v1) websocket_base_url=(ws://\S+)")


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[k]


@dataclass
class Result:
    calls: int
    held: int = 0
    events: int = 0
    emu_jitter_ms: list[float] = field(default_factory=list)
    recv_jitter_ms: list[float] = field(default_factory=list)
    probe_ms: list[float] = field(default_factory=list)
    emu_cpu_pct: float = 0.0
    client_cpu_pct: float = 0.0
    duration_s: float = 0.0


async def _reader(http: aiohttp.ClientSession, url: str, arrivals: dict[str, float],
                  status: dict[str, Any]) -> None:
    import json

    try:
        async with http.ws_connect(url, headers=AUTH, max_msg_size=0) as ws:
            status["attached"] = True
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                now = time.monotonic()
                # The emulator writes compact JSON; find the id without decoding the frame.
                data = msg.data
                i = data.find(_EVENT_ID)
                if i >= 0:
                    start = i + len(_EVENT_ID)
                    arrivals[data[start:data.index('"', start)]] = now
                else:
                    event_id = json.loads(data).get("event_id")
                    if event_id:
                        arrivals[event_id] = now
            status["close_code"] = ws.close_code
    except (aiohttp.ClientError, asyncio.CancelledError) as exc:
        status["error"] = type(exc).__name__
        if isinstance(exc, asyncio.CancelledError):
            raise


async def _probe(lateness_ms: list[float]) -> None:
    """Control: how late a bare 10 ms asyncio sleep wakes in this process (machine load)."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + 0.01
        await asyncio.sleep(0.01)
        lateness_ms.append(1000 * (loop.time() - due))


async def _staggered(delay: float, coro: Any) -> None:
    await asyncio.sleep(delay)
    await coro


ROOT = Path(__file__).resolve().parents[1]


async def run(calls: int, duration: float, scenario: str, stagger: float,
              source: Path = ROOT) -> Result:
    # The emulator's code comes from ``source`` (a checkout's root), whatever is installed;
    # run there too, as ``-m`` puts the working directory first on sys.path.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(source), *filter(None, [env.get("PYTHONPATH")])])
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rtwidgets", "emulator", "--port", "0", "--speed", "1",
        "--scenario", scenario, stdout=asyncio.subprocess.PIPE, env=env, cwd=source)
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    match = URL.search(line)
    if not match:
        raise RuntimeError(f"emulator did not start: {line!r}")
    base, ws_base = match.group(1), match.group(2)
    control = base.removesuffix("/v1") + "/_emulator/calls"
    result = Result(calls=calls)
    arrivals: dict[str, float] = {}
    statuses: dict[str, dict[str, Any]] = {}
    # limit=0: every sideband at once (aiohttp's default pool caps a session at 100).
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        call_ids = []
        for _ in range(calls):
            async with http.post(control, json={"transport": "webrtc"}) as r:
                call_ids.append((await r.json())["call_id"])
        emu_cpu0, cpu0, t0 = _proc_cpu_s(proc.pid), time.process_time(), time.monotonic()
        readers = []
        for i, call_id in enumerate(call_ids):
            # Each call starts when its sideband attaches: spread the starts over `stagger`
            # seconds, as calls arrive in life (0 = all at once, the worst burst).
            statuses[call_id] = {}
            readers.append(asyncio.ensure_future(_staggered(i * stagger / calls, _reader(
                http, f"{ws_base}/realtime?call_id={call_id}", arrivals, statuses[call_id]))))
        probe = asyncio.ensure_future(_probe(result.probe_ms))
        await asyncio.sleep(duration)
        probe.cancel()
        elapsed = time.monotonic() - t0
        result.duration_s = elapsed
        result.emu_cpu_pct = 100 * (_proc_cpu_s(proc.pid) - emu_cpu0) / elapsed
        result.client_cpu_pct = 100 * (time.process_time() - cpu0) / elapsed
        for call_id in call_ids:
            async with http.get(f"{control}/{call_id}") as r:
                view = await r.json()
            sent = [rec for rec in view["records"] if rec["direction"] == "sent"]
            errors = [rec for rec in view["records"] if rec["direction"] == "meta"
                      and rec["event"]["type"] == "emulator.emulator_error"]
            status = statuses[call_id]
            if status.get("attached") and "error" not in status and not errors and (
                    view["status"] == "active" or view["end_reason"] == "caller_hangup"):
                result.held += 1
            for rec in sent:
                if not rec["sockets"]:
                    continue
                result.events += 1
                scheduled = rec.get("scheduled_t")
                if scheduled is None:
                    continue
                result.emu_jitter_ms.append(1000 * (rec["t"] - scheduled))
                arrived = arrivals.get(rec["event"]["event_id"])
                if arrived is not None:
                    result.recv_jitter_ms.append(1000 * (arrived - scheduled))
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    proc.send_signal(signal.SIGTERM)
    await asyncio.wait_for(proc.wait(), 30)
    return result


def _row(name: str, r: Result) -> list[str]:
    return [name, f"{r.held}/{r.calls}", f"{r.events}", f"{len(r.emu_jitter_ms)}",
            f"{_pct(r.emu_jitter_ms, 50):.2f}", f"{_pct(r.emu_jitter_ms, 99):.2f}",
            f"{_pct(r.recv_jitter_ms, 50):.2f}", f"{_pct(r.recv_jitter_ms, 99):.2f}",
            f"{max(r.recv_jitter_ms, default=float('nan')):.1f}",
            f"{_pct(r.probe_ms, 50):.2f}", f"{_pct(r.probe_ms, 99):.2f}",
            f"{r.emu_cpu_pct:.1f}", f"{r.client_cpu_pct:.1f}"]


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def _ratio_row(name: str, one: Result, many: Result) -> list[str]:
    return [name, "", _ratio(many.events, one.events), "",
            _ratio(_pct(many.emu_jitter_ms, 50), _pct(one.emu_jitter_ms, 50)),
            _ratio(_pct(many.emu_jitter_ms, 99), _pct(one.emu_jitter_ms, 99)),
            _ratio(_pct(many.recv_jitter_ms, 50), _pct(one.recv_jitter_ms, 50)),
            _ratio(_pct(many.recv_jitter_ms, 99), _pct(one.recv_jitter_ms, 99)),
            "", _ratio(_pct(many.probe_ms, 50), _pct(one.probe_ms, 50)),
            _ratio(_pct(many.probe_ms, 99), _pct(one.probe_ms, 99)),
            _ratio(many.emu_cpu_pct, one.emu_cpu_pct),
            _ratio(many.client_cpu_pct, one.client_cpu_pct)]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--scenario", default="conversation")
    parser.add_argument("--stagger", type=float, default=5.0,
                        help="spread call starts over this many seconds (0 = all at once)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--compare", type=Path, metavar="DIR",
                        help="also run the emulator from this checkout, side by side")
    parser.add_argument("--compare-label", default="before")
    args = parser.parse_args()
    if args.compare is not None and not (args.compare / "rtwidgets" / "__init__.py").is_file():
        parser.error(f"--compare: {args.compare} has no rtwidgets/ package. Fix: give the "
                     "root of a checkout, e.g. one made with git archive main | tar -x -C DIR")
    sources: list[tuple[str, Path]] = [("", ROOT)]
    if args.compare is not None:
        sources = [(f"{args.compare_label}: ", args.compare.resolve()), ("this: ", ROOT)]
    ones: dict[str, Result] = {}
    manys: dict[str, Result] = {}
    if not args.no_baseline:
        for label, source in sources:
            ones[label] = await run(1, args.duration, args.scenario, 0.0, source)
    for label, source in sources:
        manys[label] = await run(args.calls, args.duration, args.scenario, args.stagger,
                                 source)
    header = ["run", "held", "events", "paced", "emu p50 ms", "emu p99 ms", "recv p50 ms",
              "recv p99 ms", "recv max ms", "probe p50 ms", "probe p99 ms", "emu CPU %",
              "client CPU %"]
    rows = [header]
    for label, _ in sources:
        if label in ones:
            rows.append(_row(f"{label}1 call", ones[label]))
        rows.append(_row(f"{label}{args.calls} calls", manys[label]))
        if label in ones:
            rows.append(_ratio_row(f"{label}ratio", ones[label], manys[label]))
    if args.compare is not None:
        (old, _), (new, _) = sources
        rows.append(_ratio_row(f"{args.calls} calls, this / {args.compare_label}",
                               manys[old], manys[new]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    load = os.getloadavg()
    print(f"emulator capacity: speed 1, scenario {args.scenario!r}, "
          f"{args.duration:g} s per run, starts spread over {args.stagger:g} s, "
          f"{os.cpu_count()} CPUs, load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (other processes compete for the CPUs "
          "when it is above the CPU count; jitter then measures the machine, not the emulator)")
    if args.compare is not None:
        print(f"  {args.compare_label}: {args.compare.resolve()}   this: {ROOT}")
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
    for label, _ in sources:
        many = manys[label]
        p99 = _pct(many.recv_jitter_ms, 99)
        verdict = "PASS" if many.held == many.calls and p99 < 50 else "MISS"
        print(f"{label}target: {args.calls} calls held with receiver p99 jitter < 50 ms -> "
              f"{verdict} ({many.held}/{many.calls} held, p99 {p99:.1f} ms); median of "
              f"per-event jitter is {statistics.median(many.recv_jitter_ms or [0]):.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
