"""Soak: a long scripted call with a CallConsole attached; memory, browser rows, completeness.

Why: a console left open on a live call for an hour must not grow the kernel without bound,
must not grow the browser's DOM, and must not lose an event (issue #7, "Soak"). This script
plays a generated scenario of ``--minutes`` call-minutes (default 60) at ``--speed``
(default 20×, so 3 real minutes) on an emulator in a *child process* (so the emulator's own
record does not count against the kernel), attaches a ``CallConsole`` in this process (the
"kernel") with a stand-in comm that plays the browser: it applies every snapshot/batch
message the way event_log.js and transcript.js do (upsert, then trim to ``max_rows``) and
counts what the browser holds.

Every ``--sample`` seconds it records RSS (/proc/self/statm), tracemalloc's traced bytes,
the number of frames and the bytes the call's ``FrameStore`` holds (the capture kept in
memory by design: one copy of the call's JSON), and the browser's row/item counts. After
warm-up it fits a line to each series and prints the slopes side by side, in KB per
call-minute: RSS, traced, the FrameStore, and RSS minus the FrameStore (what grows that is
not the record itself). At the end the capture file is compared with the emulator's record
of what it sent to the sideband: missing and duplicated events.

    .venv/bin/python benchmarks/soak.py                  # 60 call-minutes at 20x (3 min)
    .venv/bin/python benchmarks/soak.py --minutes 10     # 10 call-minutes (30 s)
    .venv/bin/python benchmarks/soak.py --minutes 200 --speed 40 --no-tracemalloc

Never: talk to anything but 127.0.0.1, or use a real key.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

API_KEY = "sk-test-not-a-real-key"

CALLER = [
    "Hi, I would like to check the status of my order please.",
    "It was placed last Tuesday under the name Rivera.",
    "Can you tell me when it will arrive at my address?",
    "Great, and can I change the delivery time to the evening?",
    "What about the weather for the delivery day, will it rain?",
    "Thanks, could you also add a note for the courier?",
    "Please ring the bell twice and leave it at the door.",
    "Perfect, is there anything else I need to do on my side?",
]
REPLIES = [
    "Of course, let me look that up for you right away, it will only take a moment.",
    "Thank you, I found the order placed last Tuesday under the name Rivera.",
    "It is scheduled to arrive on Friday between nine in the morning and noon.",
    "Yes, I have moved the delivery to Friday evening between six and nine.",
    "I added the note for the courier, it will be printed on the label.",
    "Nothing else is needed, you will get a text message when the courier is close.",
]
TOOL_TURN_EVERY = 10
WEATHER_TOOL = {
    "type": "function", "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]},
}


def scenario(call_minutes: float) -> dict[str, Any]:
    """A scenario lasting about ``call_minutes`` (estimated from the default timing)."""
    speech, playback, silence, pause = 330, 380, 200, 600
    turns: list[dict[str, Any]] = []
    total_ms = 0.0
    i = 0
    # The estimate leaves out the model's transcript pace and the response set-up; measured
    # calls run about 1.2x longer than it, so aim short by that much.
    while total_ms * 1.2 < call_minutes * 60_000:
        caller = CALLER[i % len(CALLER)]
        reply: Any = REPLIES[i % len(REPLIES)]
        if i % TOOL_TURN_EVERY == TOOL_TURN_EVERY - 1:
            reply = {"tool": {"name": "get_weather", "arguments": {"city": "Paris"},
                              "say": "It is {temperature} degrees in {city} on Friday.",
                              "otherwise": "I cannot look up the weather."}}
            reply_words = 10
        else:
            reply_words = len(reply.split())
        turns.append({"caller": caller, "reply": reply, "pause_ms": pause})
        total_ms += len(caller.split()) * speech + silence + reply_words * playback + pause
        i += 1
    return {"format": "rtwidgets.scenario", "version": 1, "name": "soak",
            "description": f"about {call_minutes:g} call-minutes of order questions",
            "session": {"type": "realtime", "tools": [WEATHER_TOOL],
                        "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}}},
            "greeting": "Hello, thanks for calling, how can I help?",
            "turns": turns, "end": {"by": "caller_hangup", "after_ms": 600}}


# The emulator runs in a child process: it prints {"base_url", "ws_url", "call_id"} once the
# call waits for a sideband, then the call's end reason, then writes its record of what it
# sent to the sideband to argv[3] and exits when stdin closes.
CHILD = r"""
import asyncio, json, sys
from rtwidgets.emulator import Emulator

async def main():
    emu = await Emulator.start(host="127.0.0.1", speed=float(sys.argv[2]), seed=7,
                               scenario=sys.argv[1], session_created_on_attach=True)
    call_id = await emu.start_call(transport="webrtc")
    print(json.dumps({"base_url": emu.base_url, "ws_url": emu.websocket_base_url,
                      "call_id": call_id}), flush=True)
    reason = await emu.wait_ended(call_id, timeout=1e6)
    sent = [r["event"].get("event_id") for r in emu.record(call_id)
            if r["direction"] == "sent" and r.get("sockets") and r["event"] is not None]
    with open(sys.argv[3], "w") as f:
        json.dump({"reason": reason, "sent": sent}, f)
    print(json.dumps({"ended": reason}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await emu.close()

asyncio.run(main())
"""


class BrowserComm:
    """Plays the front end of the EventLog/Transcript: applies snapshot/batch messages like
    event_log.js / transcript.js (upsert, then drop the oldest past ``max_rows``)."""

    max_held = 0
    messages = 0

    def __init__(self, widget_name: str, max_rows: int) -> None:
        self.widget_name = widget_name
        self.max_rows = max_rows
        self.held: dict[Any, None] = {}
        self.per_second: Counter[int] = Counter()

    def receive(self, content: dict[str, Any]) -> None:
        kind = content.get("kind")
        key = "rows" if "rows" in content else "items"
        if kind == "snapshot":
            self.held = {r["id"]: None for r in content.get(key, [])}
        elif kind == "batch":
            for r in content.get(key, []):
                self.held[r["id"]] = None
        else:
            return
        BrowserComm.messages += 1
        self.per_second[int(time.monotonic())] += 1
        while len(self.held) > self.max_rows:
            del self.held[next(iter(self.held))]
        BrowserComm.max_held = max(BrowserComm.max_held, len(self.held))


def install_comm(browsers: dict[str, BrowserComm]) -> None:
    """Swap the kernel comm for one that feeds custom messages to ``browsers`` by model."""
    import comm
    from comm.base_comm import BaseComm

    class SoakComm(BaseComm):
        def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                        buffers: Any = None, **keys: Any) -> None:
            if msg_type == "comm_msg" and data and data.get("method") == "custom":
                target = browsers.get(self.comm_id)
                if target is not None:
                    target.receive(data["content"])

    comm.create_comm = lambda *a, **k: SoakComm(*a, **k)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Sample:
    real_s: float
    call_min: float
    rss: int
    traced: int
    frames: int
    store: int
    rows: int
    items: int


def slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    if n < 2:
        return float("nan")
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


async def run(args: argparse.Namespace) -> int:
    import openai

    from rtwidgets._capture import read_capture
    from rtwidgets._transport import ReconnectPolicy
    from rtwidgets.widgets._console import CallConsole

    tmp = Path(tempfile.mkdtemp(prefix="rtw-soak-"))
    scen = tmp / "soak.json"
    scen.write_text(json.dumps(scenario(args.minutes)))
    record_path = tmp / "record.json"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(scen), str(args.speed), str(record_path),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        cwd=str(ROOT))
    assert child.stdout is not None
    assert child.stdin is not None
    info = json.loads(await child.stdout.readline())
    ended_line = asyncio.ensure_future(child.stdout.readline())

    browsers: dict[str, BrowserComm] = {}
    install_comm(browsers)
    if args.tracemalloc:
        tracemalloc.start(args.depth)
    client = openai.AsyncOpenAI(api_key=API_KEY, base_url=info["base_url"],
                                websocket_base_url=info["ws_url"])
    capture = tmp / "soak.jsonl"
    console = CallConsole(client=client, max_rows=args.max_rows, attach_options={
        "capture": capture,
        "reconnect": ReconnectPolicy(initial_delay=0.05, max_delay=0.5, max_attempts=5)})
    browsers[console.event_log.comm.comm_id] = BrowserComm("event_log", args.max_rows)
    browsers[console.transcript.comm.comm_id] = BrowserComm("transcript", args.max_rows)
    console.call_id_field.value = info["call_id"]
    console.attach_button.click()
    await console.wait_actions()
    call = console.source
    if call is None:
        print("attach failed:", console.message.value)
        return 1
    call.tool("get_weather")(lambda city: {"temperature": 21, "city": city})
    # A rendered view asks for a snapshot first (event_log.js/transcript.js render()).
    for widget in (console.event_log, console.transcript):
        widget.send_snapshot()

    t0 = time.monotonic()
    samples: list[Sample] = []
    first_snap: tracemalloc.Snapshot | None = None
    log = browsers[console.event_log.comm.comm_id]
    tx = browsers[console.transcript.comm.comm_id]
    print(f"soak: {args.minutes:g} call-minutes at {args.speed:g}x "
          f"(~{args.minutes * 60 / args.speed:.0f} s), sampling every {args.sample:g} s")
    while not ended_line.done():
        await asyncio.wait({ended_line}, timeout=args.sample)
        gc.collect()
        real = time.monotonic() - t0
        samples.append(Sample(
            real, real * args.speed / 60, rss_bytes(),
            tracemalloc.get_traced_memory()[0] if args.tracemalloc else 0,
            len(call.frames()), call.frames().nbytes(), len(log.held), len(tx.held)))
        s = samples[-1]
        if args.tracemalloc and first_snap is None and s.call_min >= args.warmup:
            first_snap = tracemalloc.take_snapshot()
        print(f"  {s.real_s:6.0f} s  call {s.call_min:5.1f} min  RSS {s.rss / 2**20:7.1f} MiB"
              f"  traced {s.traced / 2**20:6.1f} MiB  frames {s.frames:7d}"
              f"  store {s.store / 2**20:6.1f} MiB  browser rows {s.rows:5d} items {s.items:5d}",
              flush=True)
    reason = json.loads(ended_line.result())["ended"]
    await call.wait_ended(60)
    await asyncio.sleep(0.5)
    wall = time.monotonic() - t0
    rows_held, items_held = len(log.held), len(tx.held)  # before detach clears the views
    growth: list[tuple[str, float]] = []
    by_trace: list[tuple[str, str, float]] = []
    if first_snap is not None:
        # Where the traced memory grew after warm-up, by file (the attached call still live).
        last_snap = tracemalloc.take_snapshot()
        diff = last_snap.compare_to(first_snap, "filename")
        growth = [(str(d.traceback[0].filename).split("site-packages/")[-1]
                   .replace(str(ROOT) + "/", ""), d.size_diff / 1024) for d in diff[:8]]
        if args.depth > 1:
            # By traceback: which rtwidgets line leads to the allocation (e.g. in traitlets),
            # summed over the tracebacks that share (allocating file, innermost own line).
            sums: Counter[tuple[str, str]] = Counter()
            for d in last_snap.compare_to(first_snap, "traceback"):
                frames_ = list(d.traceback)  # most recent call last
                own = next((f for f in reversed(frames_)
                            if "/rtwidgets/" in f.filename), None)
                where = frames_[-1].filename.split("/")[-1]
                why = (f"{own.filename.split('/rtwidgets/')[-1]}:{own.lineno}"
                       if own is not None else "-")
                sums[(where, why)] += d.size_diff
            by_trace = [(w, y, n / 1024) for (w, y), n in sums.most_common(14)]
    await console.detach()
    console.close()
    await client.close()
    child.stdin.close()
    await child.wait()

    record = json.loads(record_path.read_text())
    _header, frames = read_capture(capture)
    captured = [f.event.get("event_id") for f in frames if f.direction == "in"]
    counts = Counter(captured)
    missing = len(set(record["sent"]) - set(counts))
    dupes = sum(n - 1 for n in counts.values() if n > 1)
    in_order = [e for e in captured if e in set(record["sent"])] == record["sent"]

    warm = [s for s in samples if s.call_min >= args.warmup]
    xs = [s.call_min for s in warm]
    kb = 1024.0
    rss_s = slope(xs, [s.rss / kb for s in warm])
    traced_s = slope(xs, [s.traced / kb for s in warm])
    store_s = slope(xs, [s.store / kb for s in warm])
    other_s = slope(xs, [(s.rss - s.store) / kb for s in warm])
    frames_per_min = slope(xs, [float(s.frames) for s in warm])
    peak_rate = max(log.per_second.values(), default=0)
    print()
    print(f"call ended: {reason}; {len(frames)} frames captured in {wall:.0f} s real "
          f"({len(frames) / max(wall, 1e-9):.0f} frames/s); samples after warm-up "
          f"({args.warmup:g} call-min): {len(warm)}")
    print()
    print("| series (after warm-up)              | slope, KB per call-minute |")
    print("|-------------------------------------|---------------------------|")
    print(f"| kernel RSS                          | {rss_s:25.1f} |")
    print(f"| tracemalloc traced                  | {traced_s:25.1f} |")
    print(f"| FrameStore (the record, by design)  | {store_s:25.1f} |")
    print(f"| RSS minus FrameStore                | {other_s:25.1f} |")
    print(f"| frames per call-minute              | {frames_per_min:25.0f} |")
    if growth:
        print()
        print("| traced growth after warm-up, by file            |      KB |")
        print("|-------------------------------------------------|---------|")
        for name, size in growth:
            print(f"| {name[-47:]:47} | {size:7.0f} |")
    if by_trace:
        print()
        print("| traced growth: allocated in | via rtwidgets line (innermost)  |      KB |")
        print("|-----------------------------|---------------------------------|---------|")
        for where, why, size in by_trace:
            print(f"| {where[-27:]:27} | {why[-31:]:31} | {size:7.0f} |")
    print()
    print("| browser side                         | value |")
    print("|--------------------------------------|-------|")
    print(f"| EventLog rows held (max_rows {args.max_rows:5d}) | {rows_held:5d} |")
    print(f"| Transcript items held                | {items_held:5d} |")
    print(f"| most rows/items ever held            | {BrowserComm.max_held:5d} |")
    print(f"| EventLog messages in the busiest second | {peak_rate:2d} |")
    print()
    print("| capture vs the emulator's record | value |")
    print("|----------------------------------|-------|")
    print(f"| events the emulator sent          | {len(record['sent']):5d} |")
    print(f"| missing from the capture          | {missing:5d} |")
    print(f"| duplicated in the capture         | {dupes:5d} |")
    print(f"| same order                        | {in_order!s:>5} |")
    print(f"| reconnects / bad frames           | {call.stats.reconnects} / "
          f"{call.stats.bad_frames} |")
    ok = missing == 0 and dupes == 0 and in_order and BrowserComm.max_held <= args.max_rows
    return 0 if ok else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--minutes", type=float, default=60.0, help="call-minutes (default 60)")
    p.add_argument("--speed", type=float, default=20.0, help="time scale (default 20x)")
    p.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    p.add_argument("--warmup", type=float, default=None,
                   help="call-minutes ignored by the slopes (default: a fifth of the call)")
    p.add_argument("--max-rows", type=int, default=2000, help="the console's max_rows")
    p.add_argument("--no-tracemalloc", dest="tracemalloc", action="store_false")
    p.add_argument("--depth", type=int, default=1,
                   help="tracemalloc frames kept; >1 also prints growth by traceback")
    args = p.parse_args()
    if args.warmup is None:
        args.warmup = args.minutes / 5
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
