"""Faults on the client side (issue #7): drops, a killed kernel, malformed and odd frames.

Every check compares the capture with the emulator's own record of what it sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rtwidgets._call import attach
from rtwidgets._capture import read_capture
from rtwidgets._recording import load
from rtwidgets._transport import ReconnectPolicy

FAKE_API_KEY = "sk-test-not-a-real-key"
REPO = Path(__file__).resolve().parents[1]
# Received frames never reset the reconnect budget (a sliding window does): ~20 drops a
# second here, so allow 50 within any 1 s. The delay grows with the failures in the window,
# so it is capped at the initial 5 ms: a drop every 50 ms must find a socket to drop.
QUICK = ReconnectPolicy(initial_delay=0.005, max_delay=0.005, max_attempts=50, window=1.0)


def long_scenario(turns: int) -> dict[str, Any]:
    return {
        "format": "rtwidgets.scenario", "version": 1, "name": "long",
        "description": "many short turns, for fault tests",
        "session": {"type": "realtime"},
        "turns": [{"caller": f"Question number {i}, tell me something.",
                   "reply": f"Answer number {i}, here is something."} for i in range(turns)],
        "end": {"by": "caller_hangup", "after_ms": 300},
    }


def sent_to_sockets(emu: Any, call_id: str, before: float | None = None) -> list[str]:
    """event_id (or raw text) of every frame the emulator delivered to a socket, in order."""
    out = []
    for r in emu.record(call_id):
        if r["direction"] != "sent" or not r.get("sockets"):
            continue
        if before is not None and r["t"] > before:
            continue
        ev = r.get("event")
        out.append(ev.get("event_id") or json.dumps(ev) if ev is not None else r["raw"])
    return out


def drops_of(emu: Any, call_id: str) -> list[dict[str, Any]]:
    """The sockets the emulator's drop faults actually closed (a drop may find none)."""
    return [s for s in emu.sockets(call_id) if s["close_reason"] == "fault: drop"]


def captured_in(frames: Any) -> list[str]:
    out = []
    for f in frames:
        if f.direction != "in":
            continue
        if "bad" in f.flags and "raw" in f.event:
            out.append(f.event["raw"])
        else:
            out.append(f.event.get("event_id") or json.dumps(f.event))
    return out


@pytest.mark.emulator(speed=20.0, scenario=long_scenario(150))
async def test_one_hundred_drops_lose_and_duplicate_nothing(emulator: Any, tmp_path: Path) -> None:
    faults = [
        {"kind": "drop", "at_ms": 500, "every_ms": 2000, "count": 60, "close_frame": True},
        {"kind": "drop", "at_ms": 1500, "every_ms": 2000, "count": 60, "close_frame": False},
    ]
    call_id = await emulator.start_call(transport="webrtc", faults=faults)
    client = emulator.client(api_key=FAKE_API_KEY)
    try:
        call = await attach(call_id, client=client, capture=tmp_path / "c.jsonl", reconnect=QUICK)
        deadline = time.monotonic() + 60
        while len(drops_of(emulator, call_id)) < 100:
            assert time.monotonic() < deadline, "the emulator stopped dropping"
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        await emulator.hangup(call_id, close_frame=False)
        status = await call.wait_ended(60)
        await call.close()
    finally:
        await client.close()
    dropped = len(drops_of(emulator, call_id))
    assert dropped >= 100
    assert "404" in status.reason
    _header, frames = read_capture(tmp_path / "c.jsonl")
    gaps = [f for f in frames if f.type == "rtwidgets.gap"]
    # every drop gives a gap once the socket is back (the last one may meet the hangup)
    assert dropped - 1 <= len(gaps) <= dropped
    assert len(gaps) >= 99
    assert call.stats.reconnects == len(gaps) + 1  # each went back up, but the final one
    for gap in gaps:
        assert gap.event["since_m"] < gap.m
    reasons = Counter("without a close frame" in g.event["reason"] for g in gaps)
    assert reasons[True] > 10
    assert reasons[False] > 10
    # every frame the emulator delivered to our sockets is in the capture, once, in order
    got = captured_in(frames)
    assert len(got) == len(set(got))
    assert got == sent_to_sockets(emulator, call_id)
    # a gap never sits inside a response it did not see end: the state stays consistent
    assert call.state.events_in == len(got)


@pytest.mark.emulator(speed=10.0, scenario=long_scenario(12))
async def test_sigkill_keeps_every_frame_older_than_200_ms(emulator: Any, tmp_path: Path) -> None:
    call_id = await emulator.start_call(transport="webrtc")
    path = tmp_path / "killed.jsonl"
    script = textwrap.dedent(f"""
        import asyncio, sys, openai
        from rtwidgets._call import attach
        async def main():
            client = openai.AsyncOpenAI(api_key={FAKE_API_KEY!r},
                                        base_url={emulator.base_url!r},
                                        websocket_base_url={emulator.websocket_base_url!r})
            call = await attach({call_id!r}, client=client, capture={str(path)!r})
            print("live", call.status.state, flush=True)
            await asyncio.sleep(120)
        asyncio.run(main())
    """)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.strip() == b"live live"
        await asyncio.sleep(1.5)  # let the call flow for a while
        kill_t = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    expected = sent_to_sockets(emulator, call_id, before=kill_t - 0.2)
    assert len(expected) > 20
    rec = load(path)
    got = captured_in(rec.frames())
    assert got[:len(expected)] == expected
    assert rec.status.state == "ended"
    assert "without a final status" in rec.status.reason


@pytest.mark.emulator(speed=20.0, scenario=long_scenario(3))
async def test_malformed_unknown_huge_and_out_of_order_frames_are_kept_and_flagged(
        emulator: Any, tmp_path: Path) -> None:
    faults = [
        {"kind": "malformed_json", "at_ms": 200},
        {"kind": "unknown_type", "at_ms": 400},
        {"kind": "unknown_field", "at_ms": 600},
        {"kind": "huge_frame", "at_ms": 800, "size": 1_500_000},
        {"kind": "out_of_order", "at_ms": 2500},
    ]
    call_id = await emulator.start_call(transport="webrtc", faults=faults)
    client = emulator.client(api_key=FAKE_API_KEY)
    views: list[str] = []
    try:
        call = await attach(call_id, client=client, capture=tmp_path / "c.jsonl")
        n0 = len(call.frames())
        call.subscribe(lambda f: views.append(f.type))
        await call.wait_ended(30)
        await call.close()
    finally:
        await client.close()
    _header, frames = read_capture(tmp_path / "c.jsonl")
    by_flag: dict[str, list[Any]] = {}
    for f in frames:
        for flag in f.flags:
            by_flag.setdefault(flag, []).append(f)
    assert len(by_flag["bad"]) == 1
    assert "unterminated" in by_flag["bad"][0].event["raw"]
    assert [f.type for f in by_flag["unknown_type"]] == ["emulator.unknown_event_type"]
    assert len(by_flag["huge"]) == 1
    assert by_flag["huge"][0].type == "rate_limits.updated"
    swapped = [r for r in emulator.record(call_id) if r["direction"] == "meta"
               and r["event"].get("kind") == "out_of_order"]
    assert swapped  # the emulator swapped two events; the capture keeps the wire order
    assert call.stats.bad_frames == 1
    # nothing crashed: the call ran to its scripted end, and views saw every frame
    assert "caller_hangup" in call.status.reason
    assert len(views) == len(call.frames()) - n0
    assert call.state.unknown_types["emulator.unknown_event_type"] == 1
    # the capture still matches what the emulator delivered
    assert captured_in(frames) == sent_to_sockets(emulator, call_id)


async def test_slow_subscriber_keeps_memory_bounded(emulator: Any, tmp_path: Path) -> None:
    call_id = await emulator.start_call(transport="webrtc")
    client = emulator.client(api_key=FAKE_API_KEY)
    try:
        call = await attach(call_id, client=client, capture=False, events_maxsize=3)
        never_read = call.events()
        n0 = call.stats.events_in
        await call.wait_ended(30)
        await call.close()
    finally:
        await client.close()
    assert len(never_read._buf) <= 3
    assert never_read.dropped == call.stats.events_in - n0 - 3
