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


def small_capture(path: Path, n: int = 5) -> None:
    writer = CaptureWriter(path, make_header("rtc_u1_" + "c" * 32, transport="webrtc",
                                             source="live"))
    enc = FrameEncoder()
    for i in range(n):
        line, *_ = enc.encode("in", f'{{"type":"input_audio_buffer.cleared","event_id":"e{i}"}}',
                              1000.0 + i * 0.2, i * 0.2)
        writer.write(line)
    writer.close()


def test_load_reads_the_header_only_and_folds_once_on_first_need(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rtwidgets._recording as recording_module
    from rtwidgets.protocol.state import SessionState

    path = tmp_path / "r.jsonl"
    small_capture(path)
    reads: list[Path] = []
    feeds: list[str] = []
    real_read = recording_module.read_capture
    real_feed = SessionState.feed

    def counting_read(p: Any) -> Any:
        reads.append(Path(p))
        return real_read(p)

    def counting_feed(self: SessionState, event: Any, **kw: Any) -> Any:
        feeds.append(event["type"])
        return real_feed(self, event, **kw)

    monkeypatch.setattr(recording_module, "read_capture", counting_read)
    monkeypatch.setattr(SessionState, "feed", counting_feed)
    rec = load(path)
    assert reads == []
    assert feeds == []
    assert rec.call_id == "rtc_u1_" + "c" * 32
    assert rec.transport_kind == "webrtc"
    assert "not read yet" in repr(rec)
    assert len(rec.frames()) == 5
    assert reads == [path]
    assert feeds == []
    assert rec.header["skipped_lines"] == 0
    state = rec.state
    assert len(feeds) == 5
    assert rec.state is state
    assert rec.status.state == "ended"
    assert len(rec.frames()) == 5
    assert reads == [path]
    assert len(feeds) == 5


def test_analysis_of_a_loaded_recording_needs_no_fold(tmp_path: Path) -> None:
    from rtwidgets.analysis import analyze

    path = tmp_path / "r.jsonl"
    small_capture(path)
    rec = load(path)
    assert len(analyze(rec).events) == 5
    assert "_folded" not in rec.__dict__  # the table read the file, not the state


def test_load_still_refuses_a_missing_file_at_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no capture"):
        load(tmp_path / "missing.jsonl")


async def test_call_recording_and_replay_share_one_read_only_base(tmp_path: Path) -> None:
    from rtwidgets._call import Call, CallSource
    from rtwidgets._transport import MemoryTransport

    path = tmp_path / "r.jsonl"
    small_capture(path)
    rec = load(path)
    replay = rec.replay(speed=math.inf)
    call = await attach("rtc_u1_" + "d" * 24, transport=MemoryTransport(), capture=False)
    try:
        for source in (rec, replay, call):
            assert isinstance(source, CallSource)
        live_actions = ("send", "update_session", "send_tool_output", "cancel_response",
                        "tool", "hangup")
        # the capability the views check, and live actions only where it says so
        assert (rec.read_only, replay.read_only, call.read_only) == (True, True, False)
        assert not isinstance(replay, Call)
        for name in live_actions:
            assert callable(getattr(call, name))
            assert not hasattr(rec, name), name
            assert not hasattr(replay, name), name
        with pytest.raises(ReplayReadOnlyError, match="update_session is a live action"):
            _ = replay.update_session
        with pytest.raises(AttributeError, match="no_such_thing"):
            _ = replay.no_such_thing  # type: ignore[attr-defined]
        assert [e["event_id"] for e in rec.iter_events()] == [f"e{i}" for i in range(5)]
        from rtwidgets._call import CallEndedError

        with pytest.raises(CallEndedError):
            await rec.wait_for("response.done")
    finally:
        await call.close()
        await replay.close()
