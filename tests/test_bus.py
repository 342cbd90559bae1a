"""The Call's event bus (rtwidgets/_bus.py): events(), on, subscribe, wait_for and the
bounded stream.

Why here: the tests mirror the modules; these moved from test_call.py with _call.py's split.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from _call_rig import (
    MEMORY_CALL,
    close_clients,
    start,
    tool_turn,
)

from rtwidgets._call import attach


@pytest.fixture(autouse=True)
async def _close_clients() -> Any:
    yield
    await close_clients()


async def test_events_on_and_subscribe_see_the_stream(emulator: Any, tmp_path: Path) -> None:
    _, call = await start(emulator, tmp_path)
    got_on: list[str] = []
    got_sub: list[str] = []

    def bad_subscriber(frame: Any) -> None:
        raise ValueError("a broken view")

    async with call:
        stream = call.events()
        call.on("response", lambda e: got_on.append(e["type"]))
        call.subscribe(lambda f: got_sub.append(f.direction))
        call.subscribe(bad_subscriber)
        first: list[str] = []
        types: list[str] = []
        async for event in stream:
            first.append(event["event_id"])
            types.append(event["type"])
            if event["type"] == "response.done":
                break
    ins = [f.event["event_id"] for f in call.frames() if f.direction == "in"]
    k = ins.index(first[0])
    assert first == ins[k:k + len(first)]  # every incoming event, in order, none skipped
    assert all(t.startswith("response.") for t in got_on)
    assert "response.done" in got_on
    assert "in" in got_sub
    assert call.stats.callback_errors > 0  # the broken subscriber was logged and kept


async def test_events_stream_is_bounded_and_counts_drops(emulator: Any, tmp_path: Path) -> None:
    _, call = await start(emulator, tmp_path)
    async with call:
        stream = call.events(maxsize=5)
        await call.wait_for("response.done", timeout=15)
        assert stream.dropped > 0
        assert call.stats.dropped_events >= stream.dropped
        events = []
        while len(events) < 5:
            events.append(await stream.__anext__())
    assert events[-1]["type"] == "response.done" or len(events) == 5


async def test_waiters_get_their_frames_while_other_frames_skip_the_dispatch() -> None:
    # The receive path hands a frame to the waiters only when one waits for its type (or
    # for a normalized event): a waiter still gets its frame among many others, and once
    # it is answered nothing is left wanted.
    from rtwidgets import MemoryTransport

    t = MemoryTransport([])
    call = await attach(MEMORY_CALL, transport=t, capture=False)
    try:
        first = asyncio.ensure_future(call.wait_for(
            "response.done", lambda e: e["response"]["id"] == "resp_two00000000001",
            timeout=10))
        await asyncio.sleep(0)
        assert call._wanted_types == {"response.done"}
        for rid in ("resp_one00000000001", "resp_two00000000001"):
            for frame in tool_turn(rid, "call_" + rid[5:], "{}"):
                await t.push(frame)
        done = await first
        assert done["response"]["id"] == "resp_two00000000001"
        assert call._wanted_types == frozenset()
        assert not call._wanted_events
        assert call.stats.events_in == 10
    finally:
        await call.close()

