"""Tests of the transports: the live sideband through the SDK, and the replay."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import pytest
from _refusing_server import BAD_KEY_FRAME, Refusing, refusing_server

from rtwidgets._capture import FrameEncoder, FrameStore
from rtwidgets._transport import (
    LiveTransport,
    ReconnectPolicy,
    RecordedFrame,
    ReplayReadOnlyError,
    ReplayTransport,
    Transport,
    TransportNotice,
    TransportNotLive,
    _Failures,
    _scrub,
)
from rtwidgets.protocol.fatal import describe_error, is_drop

FAKE_API_KEY = "sk-test-not-a-real-key"
QUICK = ReconnectPolicy(initial_delay=0.01, max_delay=0.02, max_attempts=3)


async def collect(transport: Any, until: Any, timeout: float = 10.0) -> list[Any]:
    items: list[Any] = []

    async def run() -> None:
        async for item in transport:
            items.append(item)
            if until(item):
                return

    await asyncio.wait_for(run(), timeout)
    return items


def test_both_transports_satisfy_the_protocol() -> None:
    assert isinstance(ReplayTransport(FrameStore()), Transport)
    assert issubclass(LiveTransport, object)
    assert hasattr(LiveTransport, "pump")


def test_reconnect_policy_backs_off_and_validates() -> None:
    p = ReconnectPolicy(initial_delay=0.5, max_delay=8.0, jitter=0.0)
    assert [p.delay(n) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    j = ReconnectPolicy(initial_delay=1.0, max_delay=1.0, jitter=0.25)
    assert all(0.75 <= j.delay(1) <= 1.0 for _ in range(50))
    with pytest.raises(ValueError, match="max_attempts"):
        ReconnectPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="max_delay"):
        ReconnectPolicy(initial_delay=2, max_delay=1)


def test_websockets_handshake_debug_log_never_holds_the_key() -> None:
    import logging

    logger = logging.getLogger("websockets.client")
    record = logger.makeRecord("websockets.client", logging.DEBUG, __file__, 1, "> %s: %s",
                               ("Authorization", f"Bearer {FAKE_API_KEY}"), None)
    assert logger.filter(record)
    assert FAKE_API_KEY not in record.getMessage()
    other = logger.makeRecord("websockets.client", logging.DEBUG, __file__, 1, "> %s: %s",
                              ("Host", "127.0.0.1"), None)
    assert logger.filter(other)
    assert other.getMessage() == "> Host: 127.0.0.1"


def test_scrub_removes_the_key() -> None:
    assert _scrub(f"bad key {FAKE_API_KEY}!", [FAKE_API_KEY]) == "bad key [redacted]!"


async def test_live_reads_raw_frames_and_sends(emulator: Any) -> None:
    call_id = await emulator.start_call(transport="webrtc")
    client = emulator.client(api_key=FAKE_API_KEY)
    transport = LiveTransport(client, call_id, reconnect=QUICK)
    try:
        with pytest.raises(TransportNotLive, match="nothing was sent"):
            await transport.send('{"type":"response.create"}')
        items: list[Any] = []
        cleared = asyncio.Event()

        async def reader() -> None:
            async for item in transport:
                items.append(item)
                if isinstance(item, TransportNotice) and item.kind == "live":
                    await transport.send('{"type":"input_audio_buffer.clear"}')
                if isinstance(item, bytes) and b"input_audio_buffer.cleared" in item:
                    cleared.set()
                    return

        await asyncio.wait_for(reader(), 10)
        assert cleared.is_set()
        assert items[0] == TransportNotice("live")
        assert all(isinstance(i, bytes) for i in items[1:])
        assert json.loads(items[-1])["type"] == "input_audio_buffer.cleared"
        received = [r["event"] for r in emulator.record(call_id) if r["direction"] == "received"]
        assert received == [{"type": "input_audio_buffer.clear"}]
    finally:
        await transport.close()
        await client.close()
    assert transport.closed_reason == "closed by this client"


async def test_live_404_ends_at_once(emulator: Any) -> None:
    client = emulator.client(api_key=FAKE_API_KEY)
    transport = LiveTransport(client, "rtc_u1_" + "9" * 32, reconnect=QUICK)
    try:
        items = await collect(transport, lambda i: False)
    finally:
        await client.close()
    assert len(items) == 1
    assert items[0].kind == "ended"
    assert "HTTP 404" in items[0].reason
    assert transport.connects == 0


async def test_live_unreachable_server_gives_up_after_the_budget() -> None:
    import openai

    client = openai.AsyncOpenAI(api_key=FAKE_API_KEY, base_url="http://127.0.0.1:9/v1",
                                websocket_base_url="ws://127.0.0.1:9/v1")
    transport = LiveTransport(client, "rtc_u1_" + "9" * 32, reconnect=QUICK)
    try:
        items = await collect(transport, lambda i: False)
    finally:
        await client.close()
    assert [i.kind for i in items] == ["reconnecting", "ended"]
    assert "after 3 attempts" in items[-1].reason
    assert FAKE_API_KEY not in items[-1].reason


async def test_live_drop_gives_reconnecting_then_gap_then_live(emulator: Any) -> None:
    call_id = await emulator.start_call(transport="webrtc")
    client = emulator.client(api_key=FAKE_API_KEY)
    transport = LiveTransport(client, call_id, reconnect=QUICK)
    notices: list[TransportNotice] = []

    def on_notice(n: TransportNotice) -> None:
        notices.append(n)
        if n.kind == "live" and len(notices) == 1:
            asyncio.get_running_loop().create_task(
                emulator.inject(call_id, {"kind": "drop", "close_frame": False}))

    try:
        task = asyncio.ensure_future(transport.pump(lambda raw: None, on_notice))
        for _ in range(200):
            if [n.kind for n in notices][:4] == ["live", "reconnecting", "gap", "live"]:
                break
            await asyncio.sleep(0.02)
        await transport.close()
        await asyncio.wait_for(task, 5)
    finally:
        await client.close()
    kinds = [n.kind for n in notices]
    assert kinds[:4] == ["live", "reconnecting", "gap", "live"]
    assert notices[1].reason == "socket dropped without a close frame"
    assert notices[2].since == notices[1].since
    assert transport.connects == 2


def test_ended_reason_says_call_ended_once() -> None:
    from types import SimpleNamespace

    from rtwidgets._transport import _ended_reason

    said = SimpleNamespace(rcvd=SimpleNamespace(code=1000, reason="call ended: caller_hangup"))
    text = _ended_reason(said, "socket closed by the server with code 1000 "
                               "(call ended: caller_hangup)")
    assert text == "call ended: caller_hangup (the server closed the socket with code 1000)"
    assert text.count("call ended") == 1
    silent = SimpleNamespace(rcvd=SimpleNamespace(code=1000, reason=""))
    assert _ended_reason(silent, "socket closed by the server with code 1000") == (
        "call ended: socket closed by the server with code 1000")
    dropped = SimpleNamespace(rcvd=None)
    assert _ended_reason(dropped, "socket dropped without a close frame") == (
        "call ended: socket dropped without a close frame")


def store_of(*events: tuple[str, float]) -> FrameStore:
    enc = FrameEncoder()
    store = FrameStore()
    for i, (etype, m) in enumerate(events):
        line, _, _, flags = enc.encode("in", json.dumps({"type": etype, "event_id": f"e{i}"}),
                                       1000 + m, m)
        store.append(line, flags)
    return store


async def test_replay_yields_recorded_frames_and_ends() -> None:
    store = store_of(("a.b", 0.0), ("c.d", 0.01), ("e.f", 0.02))
    replay = ReplayTransport(store, speed=math.inf)
    items = await collect(replay, lambda i: isinstance(i, TransportNotice) and i.kind == "ended")
    assert items[0] == TransportNotice("live", "replay")
    frames = [i for i in items if isinstance(i, RecordedFrame)]
    assert [f.line for f in frames] == [store.line(i) for i in range(3)]
    assert [f.m for f in frames] == [0.0, 0.01, 0.02]
    assert items[-1] == TransportNotice("ended", "end of recording")
    assert replay.duration == 0.02
    with pytest.raises(ReplayReadOnlyError):
        await replay.send("{}")
    await replay.close()


async def test_replay_backward_seek_resets_then_replays() -> None:
    store = store_of(("a.b", 0.0), ("c.d", 0.1), ("e.f", 0.2))
    replay = ReplayTransport(store, speed=math.inf)
    seen: list[Any] = []

    async def run() -> None:
        async for item in replay:
            seen.append(item)
            if isinstance(item, TransportNotice) and item.kind == "ended":
                if any(isinstance(s, TransportNotice) and s.kind == "reset" for s in seen):
                    return
                replay.seek(0.1)

    await asyncio.wait_for(run(), 5)
    kinds = [i.kind if isinstance(i, TransportNotice) else i.m for i in seen]
    assert kinds == ["live", 0.0, 0.1, 0.2, "ended", "reset", 0.0, 0.1, "live", 0.2, "ended"]
    with pytest.raises(ValueError, match="m:"):
        replay.seek(float("nan"))


async def test_replay_position_ticks_between_frames() -> None:
    # Two frames 100 s apart at 100×: the wait between them lasts 1 s of loop time.
    # The position moves through it with the loop's clock (never past the next frame),
    # instead of freezing on the first frame's time until the second arrives.
    store = store_of(("a.b", 0.0), ("c.d", 100.0))
    replay = ReplayTransport(store, speed=100.0)
    loop = asyncio.get_running_loop()
    items: list[Any] = []

    async def run() -> None:
        async for item in replay:
            items.append(item)

    task = loop.create_task(run())
    while not any(isinstance(i, RecordedFrame) for i in items):  # noqa: ASYNC110
        await asyncio.sleep(0)
    first = replay.position
    t0 = loop.time()
    await asyncio.sleep(0.02)
    later = replay.position
    elapsed = loop.time() - t0
    frames = [i for i in items if isinstance(i, RecordedFrame)]
    assert len(frames) == 1 or elapsed >= 1.0  # (a stalled machine may deliver the 2nd)
    assert later >= min(first + elapsed * 100.0 * 0.99, 100.0)
    assert first < later <= 100.0
    replay.pause()
    paused_at = replay.position
    await asyncio.sleep(0.01)
    assert replay.position == paused_at  # a paused clock stands still
    assert 0.0 < paused_at <= 100.0
    await replay.close()
    await asyncio.wait_for(task, 5)


def test_reconnect_window_validates_and_counts_only_recent_failures() -> None:
    with pytest.raises(ValueError, match="window"):
        ReconnectPolicy(window=0)
    failures = _Failures(window=10.0)
    assert [failures.add(t) for t in (0.0, 1.0, 2.0)] == [1, 2, 3]
    # frames in between change nothing; only age does: at 10.5 the failure at 0.0 is out
    assert failures.add(10.5) == 3
    assert failures.add(100.0) == 1


@pytest.mark.parametrize(("code", "drop"), [
    (None, True), (1001, True), (1005, True), (1006, True), (1011, True), (1012, True),
    (1013, True), (1015, True), (1000, False), (1008, False), (3000, False), (4000, False),
    (4999, False)])
def test_only_drops_are_worth_a_reconnect(code: int | None, drop: bool) -> None:
    assert is_drop(code) is drop


async def test_live_fatal_server_error_ends_at_once_without_waiting_for_the_close() -> None:
    # The server sends the error and keeps the socket open: the transport must not wait.
    behaviour = Refusing(frames=[BAD_KEY_FRAME], hold_open=True)
    notices: list[TransportNotice] = []
    async with refusing_server(behaviour):
        client = behaviour.client(FAKE_API_KEY)
        transport = LiveTransport(client, "rtc_u1_" + "9" * 32, reconnect=QUICK)

        def on_frame(raw: bytes) -> None:
            info = describe_error(json.loads(raw))
            assert info is not None
            transport.server_error(info[0], fatal=info[1])

        try:
            await asyncio.wait_for(transport.pump(on_frame, notices.append), 10)
        finally:
            await client.close()
    assert behaviour.connections == 1
    assert [n.kind for n in notices] == ["live", "ended"]
    reason = notices[-1].reason
    assert reason == transport.closed_reason
    assert reason.startswith("the server refused the call: Incorrect API key provided: sk-")
    assert reason.endswith("(invalid_api_key)")
    assert "abc" not in reason
    assert "***" not in reason
    assert not transport.connected


async def test_live_close_reason_is_masked_and_a_nonfatal_error_explains_the_close() -> None:
    behaviour = Refusing(
        frames=[{"type": "error", "error": {"code": "odd", "message": f"bad {FAKE_API_KEY}"}}],
        close_code=4000, close_reason="key sk-proj-abcdefgh refused")
    notices: list[TransportNotice] = []
    async with refusing_server(behaviour):
        client = behaviour.client("sk-another-fake-key")
        transport = LiveTransport(client, "rtc_u1_" + "9" * 32, reconnect=QUICK)

        def on_frame(raw: bytes) -> None:
            info = describe_error(json.loads(raw))
            assert info is not None
            assert info[1] is False
            transport.server_error(info[0], fatal=info[1])

        try:
            await asyncio.wait_for(transport.pump(on_frame, notices.append), 10)
        finally:
            await client.close()
    assert behaviour.connections == 1
    reason = notices[-1].reason
    assert notices[-1].kind == "ended"
    assert reason.startswith("call ended: bad sk-")
    assert "(odd)" in reason
    assert "code 4000" in reason
    assert FAKE_API_KEY not in reason
    assert "abcdefgh" not in reason


# ---------------------------------------------------------------- MemoryTransport


def test_memory_transport_satisfies_the_protocol_and_checks_its_script() -> None:
    from rtwidgets._transport import MemoryTransport

    assert isinstance(MemoryTransport(), Transport)
    with pytest.raises(TypeError, match=r"script: .*one frame"):
        MemoryTransport({"type": "session.created"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="script"):
        MemoryTransport(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="handler"):
        MemoryTransport([], handler="not callable")  # type: ignore[arg-type]


async def test_memory_transport_plays_the_script_answers_sends_and_ends() -> None:
    from rtwidgets._transport import MemoryTransport

    t = MemoryTransport(['{"type":"a"}', {"type": "b"}, b"not json"],
                        handler=lambda ev: [{"type": "reply", "to": ev["type"]}])
    with pytest.raises(TransportNotLive):
        await t.send('{"type":"too.early"}')  # nothing attached yet: nothing recorded
    assert t.sent == []
    items: list[Any] = []
    reading = asyncio.Event()

    async def read() -> None:
        async for item in t:
            items.append(item)
            reading.set()

    reader = asyncio.get_running_loop().create_task(read())
    await reading.wait()  # (a push before the reader starts is queued, not awaited)
    await t.push({"type": "c"})  # returns once the reader has it
    assert items[0] == TransportNotice("live")
    assert items[1:] == ['{"type":"a"}', '{"type":"b"}', b"not json", '{"type":"c"}']
    await t.send('{"type":"response.create"}')
    assert t.sent == [{"type": "response.create"}]
    t.end("call ended: scripted")
    await asyncio.wait_for(reader, 5)
    assert items[-2] == '{"type":"reply","to":"response.create"}'
    assert items[-1].kind == "ended"
    assert items[-1].reason == "call ended: scripted"
    assert t.closed_reason == "call ended: scripted"
    with pytest.raises(TransportNotLive):
        await t.send('{"type":"response.create"}')
    with pytest.raises(RuntimeError, match="one MemoryTransport per attach"):
        await t.pump(lambda f: None, lambda n: None)


async def test_memory_transport_drop_refuses_sends_until_the_gap() -> None:
    from rtwidgets._transport import MemoryTransport

    t = MemoryTransport()
    notices: list[TransportNotice] = []
    states: list[bool] = []

    def on_notice(n: TransportNotice) -> None:
        notices.append(n)
        states.append(t.connected)

    pump = asyncio.get_running_loop().create_task(t.pump(lambda f: None, on_notice))
    await asyncio.sleep(0)
    await t.push({"type": "x"})
    await t.drop("socket closed (1006)")
    assert [n.kind for n in notices] == ["live", "reconnecting", "gap", "live"]
    assert states == [True, False, True, True]
    await t.drop("socket closed (1006)", reconnect=False)
    await asyncio.wait_for(pump, 5)
    assert notices[-1].kind == "ended"
    assert "gave up" in notices[-1].reason


async def test_memory_transport_a_fatal_server_error_ends_after_its_frame() -> None:
    from rtwidgets._transport import MemoryTransport

    t = MemoryTransport([{"type": "error"}, {"type": "never.delivered"}])
    frames: list[Any] = []

    def on_frame(raw: Any) -> None:
        frames.append(raw)
        if len(frames) == 1:  # what a Call does on an invalid_api_key error
            t.server_error("Incorrect API key provided [code invalid_api_key]", fatal=True)

    notices: list[TransportNotice] = []
    await asyncio.wait_for(t.pump(on_frame, notices.append), 5)
    assert frames == ['{"type":"error"}']
    assert notices[-1].kind == "ended"
    assert notices[-1].reason.startswith("the server refused the call: Incorrect API key")


async def test_the_receive_loop_reads_the_sdk_socket_directly_with_the_same_bytes() -> None:
    from rtwidgets._transport import _frame_reader

    # The pump skips the SDK's recv_bytes (a coroutine hop and a debug log per frame) when
    # the connection has a websockets socket and the SDK is not reconnecting; the frames
    # are the very bytes recv_bytes gives (bytes, not text; non-ASCII kept).
    hello = {"type": "rate_limits.updated", "event_id": "event_Hello1", "note": "café\n"}
    behaviour = Refusing(frames=[hello, hello, hello], close_code=1000)
    async with refusing_server(behaviour):
        client = behaviour.client(FAKE_API_KEY)
        try:
            async with client.realtime.connect(call_id="rtc_u1_" + "9" * 32) as conn:
                recv = _frame_reader(conn)
                assert recv != conn.recv_bytes
                first = await recv()
                assert type(first) is bytes
                assert first == await conn.recv_bytes()
                conn._reconnect_attempt = 1  # the SDK's own reconnect under way
                assert _frame_reader(conn) == conn.recv_bytes
                conn._reconnect_attempt = 0
                assert json.loads(first) == hello
        finally:
            await client.close()

    class Double:  # a connection without a websockets socket (another SDK, a test double)
        async def recv_bytes(self) -> bytes:
            return b"{}"

    double = Double()
    assert _frame_reader(double) == double.recv_bytes
