"""Benchmark: a CallConsole fed 5,000 events/s, measured on the kernel side.

Why: the views must keep up with the loudest call without flooding the browser or starving
the kernel. This feeds a realistic event mix (VAD turns with transcription deltas, folded
assistant transcript and audio deltas, response lifecycle) at ``--rate`` events/s for
``--seconds`` through a source that behaves like a live ``Call`` (real ``SessionState`` fed
first, then subscribers, on one running loop), with the widget comm swapped for one that
records (and JSON-encodes, as the kernel would) every message.

It runs the same stream twice, side by side: without views (state only) and with a
CallConsole bound, and prints:
- kernel-side cost per event of the views (µs): CPU with the console minus CPU without,
  divided by the events; and the time spent inside the views' frame callbacks alone;
- messages per second sent to the front end, per view (target ≤ 10);
- lag from an event's arrival to the message that carries it, p50 / p95 (target p95 ≤ 200 ms)
  for the EventLog (every event) and the Transcript (events that change an item).

Usage: ``.venv/bin/python benchmarks/widgets.py [--seconds 20] [--rate 5000]``.
No timed asserts: it reports; people judge.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import sys
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import comm
from comm.base_comm import BaseComm

from rtwidgets._capture import Frame
from rtwidgets.protocol.state import SessionState

SLICE = 0.005  # seconds between feeding bursts (the loop gets control in between)


class TimedComm(BaseComm):
    """Records (loop time, kind) of every message and JSON-encodes it like the kernel."""

    log: ClassVar[list[tuple[float, str, str]]] = []  # (t, comm_id, kind)

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        json.dumps(data, default=str)
        kind = msg_type
        if msg_type == "comm_msg" and isinstance(data, dict):
            kind = data.get("method", "?")
            if kind == "custom":
                kind = "custom:" + str(data.get("content", {}).get("kind"))
        try:
            t = asyncio.get_running_loop().time()
        except RuntimeError:
            t = time.monotonic()
        TimedComm.log.append((t, self.comm_id, kind))


class BenchSource:
    """Call-like source: stores the frame, feeds the state, then calls subscribers."""

    def __init__(self) -> None:
        self.call_id = "rtc_u1_benchmark000000000000000000"
        self.transport_kind = "webrtc"
        self.state = SessionState()
        from types import SimpleNamespace
        self.status = SimpleNamespace(state="live", reason="")
        self.stats = SimpleNamespace(events_in=0, events_out=0, reconnects=0, errors=0,
                                     started_m=0.0)
        self._frames: list[Frame] = []
        self._subs: list[Callable[[Frame], Any]] = []
        self.callback_s = 0.0

    def frames(self) -> list[Frame]:
        return self._frames

    def subscribe(self, cb: Callable[[Frame], Any]) -> Callable[[], None]:
        self._subs.append(cb)
        return lambda: self._subs.remove(cb) if cb in self._subs else None

    def feed(self, event: dict[str, Any], m: float) -> None:
        frame = Frame(len(self._frames), "in", 1_764_170_000.0 + m, m, event["type"], event,
                      frozenset())
        self._frames.append(frame)
        self.stats.events_in += 1
        self.state.feed(event, direction="in", t=frame.t)
        if self._subs:
            t0 = time.perf_counter()
            for cb in self._subs:
                cb(frame)
            self.callback_s += time.perf_counter() - t0


def event_stream() -> Iterator[dict[str, Any]]:
    """An endless GA-shaped stream: VAD turn, transcription, assistant audio turn."""
    words = ["Of", "course,", "a", "table", "for", "four", "at", "eight", "tonight,",
             "under", "which", "name", "please?"]
    for n in itertools.count():
        user, item, resp = f"item_u{n}", f"item_a{n}", f"resp_{n}"
        eid = (f"event_{n}_{i}" for i in itertools.count())
        yield {"type": "input_audio_buffer.speech_started", "event_id": next(eid),
               "audio_start_ms": 0, "item_id": user}
        yield {"type": "input_audio_buffer.speech_stopped", "event_id": next(eid),
               "audio_end_ms": 900, "item_id": user}
        yield {"type": "input_audio_buffer.committed", "event_id": next(eid), "item_id": user,
               "previous_item_id": f"item_a{n - 1}" if n else None}
        yield {"type": "conversation.item.added", "event_id": next(eid),
               "previous_item_id": f"item_a{n - 1}" if n else None,
               "item": {"id": user, "object": "realtime.item", "type": "message",
                        "status": "completed", "role": "user",
                        "content": [{"type": "input_audio", "transcript": None}]}}
        for w in words[:10]:
            yield {"type": "conversation.item.input_audio_transcription.delta",
                   "event_id": next(eid), "item_id": user, "content_index": 0, "delta": w + " "}
        yield {"type": "conversation.item.input_audio_transcription.completed",
               "event_id": next(eid), "item_id": user, "content_index": 0,
               "transcript": " ".join(words[:10]), "usage": {"type": "duration", "seconds": 1}}
        yield {"type": "response.created", "event_id": next(eid), "response": {
            "id": resp, "object": "realtime.response", "status": "in_progress", "output": [],
            "usage": None}}
        a_item = {"id": item, "object": "realtime.item", "type": "message",
                  "status": "in_progress", "role": "assistant", "content": []}
        yield {"type": "response.output_item.added", "event_id": next(eid),
               "response_id": resp, "output_index": 0, "item": a_item}
        yield {"type": "conversation.item.added", "event_id": next(eid),
               "previous_item_id": user, "item": a_item}
        yield {"type": "response.content_part.added", "event_id": next(eid),
               "response_id": resp, "item_id": item, "output_index": 0, "content_index": 0,
               "part": {"type": "audio", "transcript": ""}}
        for i in range(200):
            yield {"type": "response.output_audio_transcript.delta", "event_id": next(eid),
                   "response_id": resp, "item_id": item, "output_index": 0, "content_index": 0,
                   "delta": words[i % len(words)] + " ", "obfuscation": "abc"}
            yield {"type": "response.output_audio.delta", "event_id": next(eid),
                   "response_id": resp, "item_id": item, "output_index": 0, "content_index": 0,
                   "delta": ""}
        text = " ".join(words[i % len(words)] for i in range(200))
        yield {"type": "response.output_audio.done", "event_id": next(eid),
               "response_id": resp, "item_id": item, "output_index": 0, "content_index": 0}
        yield {"type": "response.output_audio_transcript.done", "event_id": next(eid),
               "response_id": resp, "item_id": item, "output_index": 0, "content_index": 0,
               "transcript": text}
        done_item = dict(a_item, status="completed",
                         content=[{"type": "output_audio", "transcript": text}])
        yield {"type": "response.content_part.done", "event_id": next(eid),
               "response_id": resp, "item_id": item, "output_index": 0, "content_index": 0,
               "part": {"type": "audio", "transcript": text}}
        yield {"type": "response.output_item.done", "event_id": next(eid),
               "response_id": resp, "output_index": 0, "item": done_item}
        yield {"type": "conversation.item.done", "event_id": next(eid), "item": done_item}
        yield {"type": "rate_limits.updated", "event_id": next(eid), "rate_limits": [
            {"name": "tokens", "limit": 40000, "remaining": 38000, "reset_seconds": 2.0}]}
        yield {"type": "response.done", "event_id": next(eid), "response": {
            "id": resp, "object": "realtime.response", "status": "completed",
            "output": [done_item], "usage": {
                "total_tokens": 320, "input_tokens": 132, "output_tokens": 188,
                "input_token_details": {"text_tokens": 59, "audio_tokens": 73,
                                        "image_tokens": 0, "cached_tokens": 0},
                "output_token_details": {"text_tokens": 41, "audio_tokens": 147}}}}


ITEM_EVENT = ("conversation.item.", "response.output_item.", "response.output_audio_transcript",
              "response.done")


async def run(seconds: float, rate: int, with_console: bool) -> dict[str, Any]:
    TimedComm.log = []
    source = BenchSource()
    console = None
    if with_console:
        from rtwidgets.widgets._console import CallConsole

        console = CallConsole(source)
    loop = asyncio.get_running_loop()
    stream = event_stream()
    per_slice = max(1, round(rate * SLICE))
    arrivals: list[float] = []
    item_arrivals: list[float] = []
    gc.collect()
    cpu0 = time.process_time()
    start = loop.time()
    next_at = start
    fed = 0
    while True:
        now = loop.time()
        if now - start >= seconds:
            break
        due = int((now - start) * rate) + per_slice
        while fed < due:
            ev = next(stream)
            t = loop.time()
            source.feed(ev, t - start)
            arrivals.append(t)
            if ev["type"].startswith(ITEM_EVENT):
                item_arrivals.append(t)
            fed += 1
        next_at += SLICE
        await asyncio.sleep(max(0.0, next_at - loop.time()))
    await asyncio.sleep(0.3)  # let the last batches go out
    cpu = time.process_time() - cpu0
    elapsed = loop.time() - start
    out: dict[str, Any] = {"events": fed, "elapsed": elapsed, "cpu": cpu,
                           "callback_s": source.callback_s, "achieved_rate": fed / seconds}
    if console is not None:
        views = {"EventLog": console.event_log, "Transcript": console.transcript,
                 "StatusBar": console.status, "SessionEditor": console.session_editor,
                 "ToolCalls": console.tool_calls}
        by_comm: dict[str, list[float]] = {}
        for t, cid, kind in TimedComm.log:
            if kind != "comm_open" and t >= start:
                by_comm.setdefault(cid, []).append(t)
        out["msgs_per_s"] = {name: (len(by_comm.get(v.model_id, [])) / elapsed,
                                    _max_in_window(by_comm.get(v.model_id, []), 1.0))
                             for name, v in views.items()}
        out["lag_eventlog"] = _lags(arrivals, by_comm.get(console.event_log.model_id, []))
        out["lag_transcript"] = _lags(item_arrivals,
                                      by_comm.get(console.transcript.model_id, []))
        console.close()
    return out


def _max_in_window(times: list[float], window: float) -> int:
    """The most messages sent within any ``window`` seconds (sliding)."""
    times = sorted(times)
    best = 0
    lo = 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def _lags(arrivals: list[float], sends: list[float]) -> list[float]:
    """For each arrival, the time until the first message sent at or after it."""
    sends = sorted(sends)
    lags = []
    for t in arrivals:
        i = bisect_left(sends, t)
        if i < len(sends):
            lags.append(sends[i] - t)
    return lags


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main_async(seconds: float, rate: int) -> None:
    comm.create_comm = lambda *a, **k: TimedComm(*a, **k)
    base = await run(seconds, rate, with_console=False)
    views = await run(seconds, rate, with_console=True)
    n = views["events"]
    cost_us = (views["cpu"] - base["cpu"]) / n * 1e6
    cb_us = views["callback_s"] / n * 1e6
    print(f"\nrtwidgets widgets benchmark: {rate} events/s for {seconds:g} s "
          f"({n} events; python {sys.version.split()[0]})\n")
    rows = [
        ("metric", "without views", "with CallConsole", "ratio / target"),
        ("events fed per second", f"{base['achieved_rate']:.0f}",
         f"{views['achieved_rate']:.0f}", f"{views['achieved_rate'] / rate:.2f} of {rate}"),
        ("kernel CPU per event (µs)", f"{base['cpu'] / base['events'] * 1e6:.1f}",
         f"{views['cpu'] / n * 1e6:.1f}", f"×{views['cpu'] / max(base['cpu'], 1e-9):.2f}"),
        ("views' cost per event (µs)", "-", f"{cost_us:.1f}", "CPU difference"),
        ("  of which frame callbacks (µs)", "-", f"{cb_us:.1f}", "in subscribers"),
        ("kernel CPU load", f"{base['cpu'] / base['elapsed']:.0%}",
         f"{views['cpu'] / views['elapsed']:.0%}", "of one core"),
    ]
    for name, (mean, peak) in views["msgs_per_s"].items():
        rows.append((f"messages/s {name} (mean, max in 1 s)", "-", f"{mean:.1f}, {peak}",
                     f"{'ok' if peak <= 10 else 'OVER'} (≤ 10)"))
    for label, key in (("EventLog", "lag_eventlog"), ("Transcript", "lag_transcript")):
        lags = views[key]
        p50, p95 = pct(lags, 0.5) * 1000, pct(lags, 0.95) * 1000
        rows.append((f"lag {label} p50 / p95 (ms)", "-", f"{p50:.0f} / {p95:.0f}",
                     f"{'ok' if p95 <= 200 else 'OVER'} (p95 ≤ 200)"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(widths[j]) for j, c in enumerate(r)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="duration (default 20)")
    parser.add_argument("--rate", type=int, default=5000, help="events per second")
    args = parser.parse_args()
    if args.seconds <= 0 or args.rate <= 0:
        parser.error("--seconds and --rate must be positive")
    asyncio.run(main_async(args.seconds, args.rate))


if __name__ == "__main__":
    main()
