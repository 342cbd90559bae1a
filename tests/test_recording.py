"""Tests of load()/Recording/Replay: a recorded call reads like the live one."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest

from rtwidgets._call import attach
from rtwidgets._capture import CaptureWriter, FrameEncoder, make_header
from rtwidgets._recording import Recording, load
from rtwidgets._transport import ReplayReadOnlyError

FAKE_API_KEY = "sk-test-not-a-real-key"
WEATHER = {
    "type": "function", "name": "get_weather", "description": "weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "unit": {"type": "string"}}},
}


async def record_call(emulator: Any, path: Path) -> Any:
    call_id = await emulator.start_call(transport="webrtc", session={"tools": [WEATHER]})
    client = emulator.client(api_key=FAKE_API_KEY)
    try:
        call = await attach(call_id, client=client, capture=path)
        call.tool("get_weather")(lambda city, unit="celsius": {"temperature": 3,
                                                                 "conditions": "windy"})
        await call.update_session(instructions="Short answers.")
        await call.wait_ended(30)
        await call.close()
    finally:
        await client.close()
    return call


@pytest.mark.emulator(scenario="tools", session_created_on_attach=True)
async def test_load_rebuilds_the_same_state(emulator: Any, tmp_path: Path) -> None:
    call = await record_call(emulator, tmp_path / "c.jsonl")
    rec = load(tmp_path / "c.jsonl")
    assert isinstance(rec, Recording)
    assert rec.call_id == call.call_id
    assert rec.capture_path == call.capture_path
    assert rec.transport_kind == "webrtc"
    assert rec.state.snapshot() == call.state.snapshot()
    assert len(rec.frames()) == len(call.frames())
    assert [f.event for f in rec.frames()] == [f.event for f in call.frames()]
    assert [f.flags for f in rec.frames()] == [f.flags for f in call.frames()]
    assert rec.status.state == "ended"
    assert rec.status.reason == call.status.reason
    tool = next(iter(rec.state.tool_calls.values()))
    assert tool.answered_by == "handler"
    events = [e async for e in rec.events()]
    assert [e["type"] for e in events] == [
        f.type for f in call.frames() if f.direction == "in"]
    assert rec.subscribe(lambda f: None)() is None
    assert "ended" in repr(rec)


@pytest.mark.emulator(scenario="tools", session_created_on_attach=True)
async def test_replay_rebuilds_the_same_state_and_refuses_sends(
        emulator: Any, tmp_path: Path) -> None:
    await record_call(emulator, tmp_path / "c.jsonl")
    rec = load(tmp_path / "c.jsonl")
    seen: list[str] = []
    async with rec.replay(speed=math.inf) as replay:
        replay.subscribe(lambda f: seen.append(f.type))
        status = await replay.wait_ended(10)
        assert status.reason == "end of recording"
        assert replay.state.snapshot() == rec.state.snapshot()
        assert len(replay.frames()) == len(rec.frames())
        with pytest.raises(ReplayReadOnlyError, match="nothing was sent"):
            await replay.send({"type": "response.create"})
        with pytest.raises(ReplayReadOnlyError):
            await replay.update_session(instructions="x")
        with pytest.raises(ReplayReadOnlyError):
            await replay.hangup()
        with pytest.raises(ReplayReadOnlyError):
            replay.tool("get_weather")
    assert seen == [f.type for f in rec.frames()]


async def test_replay_keeps_the_rhythm_pauses_and_seeks(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    writer = CaptureWriter(path, make_header("rtc_u1_" + "c" * 32, transport="webrtc",
                                             source="live"))
    enc = FrameEncoder()
    for i in range(5):
        line, *_ = enc.encode("in", f'{{"type":"input_audio_buffer.cleared","event_id":"e{i}"}}',
                              1000.0 + i * 0.2, i * 0.2)
        writer.write(line)
    writer.close()
    rec = load(path)
    assert rec.duration == pytest.approx(0.8)
    replay = rec.replay(speed=4.0)
    async with replay:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await replay.wait_ended(5)
        elapsed = loop.time() - t0
        assert 0.15 <= elapsed < 1.0  # 0.8 s of call at 4x
        assert [f.event["event_id"] for f in replay.frames()] == [f"e{i}" for i in range(5)]
        replay.seek(0.3)  # backward: state and frames rebuilt up to 0.3 s
        await asyncio.sleep(0.05)
        replay.pause()
        assert replay.paused
        await asyncio.sleep(0.05)
        n = len(replay.frames())
        assert 2 <= n < 5
        await asyncio.sleep(0.2)
        assert len(replay.frames()) == n  # nothing while paused
        replay.speed = math.inf
        replay.resume()
        await replay.wait_ended(5)
        assert [f.event["event_id"] for f in replay.frames()] == [f"e{i}" for i in range(5)]
        assert replay.position == pytest.approx(0.8)
        with pytest.raises(ValueError, match="speed"):
            replay.speed = 0


def test_load_refuses_a_non_capture(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_text("hello\n")
    with pytest.raises(ValueError, match="not an rtwidgets capture"):
        load(p)
