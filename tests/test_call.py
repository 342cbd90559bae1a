"""Integration tests of attach/Call against the emulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from _call_rig import (
    FAKE_API_KEY,
    FAST,
    MEMORY_CALL,
    assert_secret_absent,
    close_clients,
    memory_session,
    new_client,
    received,
    start,
    track_client,
)
from _refusing_server import (
    BAD_KEY_FRAME,
    BAD_MODEL_FRAME,
    HELLO_FRAME,
    Refusing,
    refusing_server,
)

from rtwidgets._call import (
    _ATTACHED,
    CallEndedError,
    CallNotLiveError,
    SessionUpdateError,
    ToolCallError,
    attach,
)
from rtwidgets._capture import read_capture
from rtwidgets._transport import ReconnectPolicy
from rtwidgets.protocol.errors import ValidationError


@pytest.fixture(autouse=True)
async def _close_clients() -> Any:
    yield
    await close_clients()


@pytest.mark.emulator(session_created_on_attach=True)
async def test_update_session_applied_with_diff(emulator: Any, tmp_path: Path) -> None:
    _, call = await start(emulator, tmp_path)
    async with call:
        result = await call.update_session(instructions="Be brief.",
                                           audio={"output": {"speed": 1.2}})
    assert result.session["instructions"] == "Be brief."
    assert result.session["audio"]["output"]["speed"] == 1.2
    assert result.diff == []
    assert call.state.session is not None
    assert call.state.session["instructions"] == "Be brief."


@pytest.mark.emulator(session_created_on_attach=True)
async def test_update_session_rejected_raises_with_the_server_message(
        emulator: Any, tmp_path: Path) -> None:
    call_id, call = await start(emulator, tmp_path)
    async with call:
        with pytest.raises(SessionUpdateError) as info:
            await call.update_session(model="gpt-other-model")
    assert info.value.message
    assert "model" in str(info.value)
    assert any(e["type"] == "session.update" for e in received(emulator, call_id))
    assert call.state.errors[-1].client_event_type == "session.update"


BAD_EVENTS: list[Any] = [
    {"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"speed": 9}}}},
    {"type": "response.create", "bogus": 1},
    {"type": "not.a.type"},
    {"session": {}},
    "{not json",
    '["a list"]',
    {"type": "conversation.item.create"},
    {"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0,
     "audio_end_ms": -5},
    {"type": "response.cancel", "response_id": 5},
]


@pytest.mark.parametrize("bad", BAD_EVENTS)
async def test_bad_input_is_refused_and_nothing_is_sent(
        emulator: Any, tmp_path: Path, bad: Any) -> None:
    call_id, call = await start(emulator, tmp_path)
    async with call:
        n = len(call.frames())
        with pytest.raises(ValidationError) as info:
            await call.send(bad)
        assert info.value.field
        assert "Fix:" in str(info.value)
        assert len(call.frames()) == n  # nothing captured
        await call.send({"type": "input_audio_buffer.clear"})  # a good one goes through
    sent = received(emulator, call_id)
    assert [e["type"] for e in sent] == ["input_audio_buffer.clear"]


async def test_bad_tool_output_and_session_fields_send_nothing(
        emulator: Any, tmp_path: Path) -> None:
    call_id, call = await start(emulator, tmp_path)
    async with call:
        with pytest.raises(ValidationError, match="speed"):
            await call.update_session(audio={"output": {"speed": "fast"}})
        with pytest.raises(ValidationError):
            await call.update_session(unknown_field=1)
        with pytest.raises(ToolCallError, match="call_id"):
            await call.send_tool_output("", "x")
        with pytest.raises(ToolCallError, match="by"):
            await call.send_tool_output("call_x", "x", by="robot")
    assert received(emulator, call_id) == []


async def test_capture_holds_both_directions_and_meta(emulator: Any, tmp_path: Path) -> None:
    call_id, call = await start(emulator, tmp_path)
    async with call:
        eid = await call.send({"type": "input_audio_buffer.clear"})
        await call.wait_for("input_audio_buffer.cleared", timeout=10)
    header, frames = read_capture(tmp_path / "c.jsonl")
    assert header["call_id"] == call_id
    assert header["transport"] == "webrtc"
    assert frames[0].type == "rtwidgets.attached"
    assert frames[0].event["url_path"] == f"/v1/realtime?call_id={call_id}"
    outs = [f for f in frames if f.direction == "out"]
    assert [f.event for f in outs] == [{"type": "input_audio_buffer.clear", "event_id": eid}]
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert frames[-1].event == {"type": "rtwidgets.status", "status": "ended",
                                "reason": "closed by this client"}
    assert len(frames) == len(call.frames())


async def test_handshake_404_ends_without_a_loop(emulator: Any, tmp_path: Path) -> None:
    missing = "rtc_u1_" + "0" * 32
    t0 = time.monotonic()
    call = await attach(missing, client=new_client(emulator),
                        capture=tmp_path / "c.jsonl", reconnect=FAST)
    assert call.status.state == "ended"
    assert "404" in call.status.reason
    assert time.monotonic() - t0 < 5
    with pytest.raises(CallNotLiveError, match="nothing was sent"):
        await call.send({"type": "response.create"})
    with pytest.raises(CallEndedError):
        await call.wait_for("response.done", timeout=1)
    await call.close()
    assert call.stats.reconnects == 0


async def test_hangup_ends_the_call_with_the_reason(emulator: Any, tmp_path: Path) -> None:
    call_id, call = await start(emulator, tmp_path)
    await call.hangup()
    assert call.status.state == "ended"
    assert call.status.reason == "hung up by this client"
    assert await emulator.wait_ended(call_id, 5) == "hangup"
    assert call_id not in _ATTACHED


async def test_caller_hangup_ends_with_the_reason(emulator: Any, tmp_path: Path) -> None:
    call_id, call = await start(emulator, tmp_path)
    await emulator.hangup(call_id)
    status = await call.wait_ended(10)
    # the server closes with 1000: the call ended, so no reconnect and no 404 in the reason
    assert status.reason.startswith("call ended")
    assert "hangup" in status.reason
    assert "404" not in status.reason
    assert call.stats.reconnects == 0
    await call.close()


async def test_attaching_again_replaces_the_first(emulator: Any, tmp_path: Path) -> None:
    call_id = await emulator.start_call(transport="webrtc")
    client = new_client(emulator)
    first = await attach(call_id, client=client, capture=tmp_path / "a.jsonl")
    second = await attach(call_id, client=client, capture=tmp_path / "b.jsonl")
    try:
        assert first.status.state == "ended"
        assert "replaced" in first.status.reason
        assert second.status.state == "live"
        assert _ATTACHED[call_id] is second
    finally:
        await second.close()


async def test_default_capture_path(emulator: Any, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    call_id = await emulator.start_call(transport="webrtc")
    async with await attach(call_id, client=new_client(emulator)) as call:
        path = call.capture_path
    assert path is not None
    assert path.parent == Path("captures")
    assert path.name.startswith(call_id + "-")
    assert path.name.endswith("Z.jsonl")
    assert (tmp_path / path).exists()


async def test_secrets_never_appear(emulator: Any, tmp_path: Path) -> None:
    secret = "sk-test-not-a-real-key-SECRETSECRET"
    call_id = await emulator.start_call(transport="webrtc")
    client = new_client(emulator, secret)
    texts: list[str] = []
    async with await attach(call_id, client=client, capture=tmp_path / "c.jsonl") as call:
        texts += [repr(call), str(call.status), repr(call.stats), repr(call.frames()),
                  repr(call._transport)]
        for bad in BAD_EVENTS:
            try:
                await call.send(bad)
            except Exception as exc:
                texts.append(str(exc))
        await call.wait_for("response.done", timeout=15)
    missing = await attach("rtc_u1_" + "1" * 32, client=client, capture=tmp_path / "m.jsonl")
    texts += [repr(missing), missing.status.reason]
    await missing.close()
    for text in texts:
        assert secret not in text
    assert_secret_absent(tmp_path, secret)


@pytest.mark.parametrize("kwargs", [
    {"connect_timeout": 0}, {"events_maxsize": 0}, {"events_maxsize": "big"},
    {"client": FAKE_API_KEY}, {"capture": 5}, {"handler_timeout": -1},
])
async def test_attach_refuses_bad_options_before_connecting(
        emulator: Any, kwargs: dict[str, Any]) -> None:
    field = next(iter(kwargs))
    opts = {"client": new_client(emulator), "capture": False, **kwargs}
    with pytest.raises(ValidationError) as info:
        await attach("rtc_u1_" + "a" * 32, **opts)
    assert info.value.field == field
    assert FAKE_API_KEY not in str(info.value)
    assert emulator.requests == []


@pytest.mark.parametrize("pasted", [FAKE_API_KEY, f"rtc_u1_{FAKE_API_KEY}", "rtc_u1_../x"])
async def test_a_key_pasted_as_call_id_is_refused_and_not_echoed(
        emulator: Any, pasted: str) -> None:
    with pytest.raises(ValidationError, match="call_id") as info:
        await attach(pasted, client=new_client(emulator), capture=False)
    assert FAKE_API_KEY not in str(info.value)
    assert emulator.requests == []


async def test_wait_for_and_tool_outputs_refuse_bad_values(
        emulator: Any, tmp_path: Path) -> None:
    call_id, call = await start(emulator, tmp_path)
    async with call:
        with pytest.raises(ValidationError, match="timeout"):
            await call.wait_for("response.done", timeout=-1)
        with pytest.raises(ValidationError, match="predicate"):
            await call.wait_for("response.done", "yes", timeout=1)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="nan"):
            await call.send({"type": "response.create",
                             "response": {"metadata": {"x": float("nan")}}})
    assert received(emulator, call_id) == []


async def test_attach_refuses_bad_arguments(emulator: Any) -> None:
    client = new_client(emulator)
    with pytest.raises(ValidationError, match="call_id"):
        await attach("rtc?x=1", client=client, capture=False)
    with pytest.raises(ValidationError, match="audio"):
        await attach("rtc_u1_" + "a" * 32, client=client, capture=False, audio="raw")
    with pytest.raises(ValidationError, match="reconnect"):
        await attach("rtc_u1_" + "a" * 32, client=client, capture=False,
                     reconnect="yes")  # type: ignore[arg-type]
    assert emulator.requests == []


# ---------------------------------------------------------------- final is final (issue 10)

REFUSALS = [
    # (frames before the close, close code, close reason, texts the status reason must hold)
    pytest.param([BAD_KEY_FRAME], 3000, "invalid_request_error.invalid_api_key",
                 ["the server refused the call", "Incorrect API key provided", "invalid_api_key"],
                 id="bad-key-3000"),
    pytest.param([BAD_MODEL_FRAME], 4000, "invalid_request_error.invalid_model",
                 ["the server refused the call", "is not supported", "invalid_model"],
                 id="bad-model-4000"),
    pytest.param([], 4000, "invalid_request_error.beta_api_shape_disabled",
                 ["code 4000", "beta_api_shape_disabled"], id="close-4000-alone"),
    pytest.param([{"type": "error", "error": {"type": "invalid_request_error",
                                              "code": "some_new_code", "message": "No."}}],
                 3001, "", ["No. (some_new_code)", "code 3001"], id="unlisted-error-then-3001"),
]


@pytest.mark.parametrize(("frames", "code", "close_reason", "expected"), REFUSALS)
async def test_a_refusal_after_the_upgrade_ends_the_call_after_one_connection(
        tmp_path: Path, frames: list[dict[str, Any]], code: int, close_reason: str,
        expected: list[str]) -> None:
    behaviour = Refusing(frames=frames, close_code=code, close_reason=close_reason)
    async with refusing_server(behaviour):
        client = behaviour.client(FAKE_API_KEY)
        track_client(client)
        call = await attach("rtc_u1_" + "a" * 32, client=client, capture=tmp_path / "c.jsonl",
                            reconnect=FAST)
        status = await call.wait_ended(10)
        await call.close()
    assert behaviour.connections == 1
    assert status.state == "ended"
    for text in expected:
        assert text in status.reason
    assert "sk-abc" not in status.reason
    assert "***" not in status.reason
    assert FAKE_API_KEY not in status.reason
    assert FAKE_API_KEY not in repr(call)
    assert call.stats.reconnects == 0
    _header, captured = read_capture(tmp_path / "c.jsonl")
    statuses = [f.event["status"] for f in captured if f.type == "rtwidgets.status"]
    assert "reconnecting" not in statuses
    assert statuses[-1] == "ended"


async def test_a_bad_key_reason_reaches_the_status_bar_masked(tmp_path: Path) -> None:
    from rtwidgets.widgets._status import StatusBar

    behaviour = Refusing(frames=[BAD_KEY_FRAME], close_code=3000,
                         close_reason="invalid_request_error.invalid_api_key")
    async with refusing_server(behaviour):
        client = behaviour.client(FAKE_API_KEY)
        track_client(client)
        call = await attach("rtc_u1_" + "b" * 32, client=client, capture=False, reconnect=FAST)
        await call.wait_ended(10)
        bar = StatusBar(call, cost=False)
        try:
            bar.refresh()
            shown = bar.summary()
            html_value = bar.value
        finally:
            bar.close()
            await call.close()
    assert shown["status"] == "ended"
    assert "Incorrect API key provided" in shown["reason"]
    assert "invalid_api_key" in html_value
    assert "Incorrect API key provided" in html_value
    assert "sk-abc" not in html_value
    assert FAKE_API_KEY not in html_value


@pytest.mark.parametrize("close_code", [None, 1011], ids=["no-close-frame", "1011"])
async def test_a_server_that_sends_one_frame_then_drops_is_given_up(
        close_code: int | None) -> None:
    # Each socket carries a frame before it drops: that must not reset the budget, or
    # the call reconnects for ever.
    policy = ReconnectPolicy(initial_delay=0.001, max_delay=0.002, max_attempts=4)
    behaviour = Refusing(frames=[HELLO_FRAME], close_code=close_code)
    async with refusing_server(behaviour):
        client = behaviour.client(FAKE_API_KEY)
        track_client(client)
        call = await attach("rtc_u1_" + "c" * 32, client=client, capture=False,
                            reconnect=policy)
        status = await call.wait_ended(20)
        await call.close()
    assert behaviour.connections == policy.max_attempts
    assert status.state == "ended"
    assert status.reason.startswith("gave up after 4 attempts within 60 s")
    assert call.stats.reconnects == policy.max_attempts


# ---------------------------------------------------------------- the MemoryTransport seam
# A user's own tests: the same Call, scripted frames, no socket (and no API key).

async def test_session_update_requested_and_applied_through_a_memory_transport() -> None:
    from rtwidgets import MemoryTransport

    def server(event: dict[str, Any]) -> list[dict[str, Any]]:
        if event["type"] != "session.update":
            return []
        asked = event["session"]
        if asked.get("instructions") == "refuse me":
            return [{"type": "error", "event_id": "event_srv0000000009", "error": {
                "type": "invalid_request_error", "code": "invalid_value",
                "message": "Invalid instructions.", "param": "session.instructions",
                "event_id": event["event_id"]}}]
        # this server applies the instructions but keeps its own speed
        applied = memory_session(instructions=asked.get("instructions", ""),
                                 audio={"output": {"speed": 1.0}})
        return [{"type": "session.updated", "event_id": "event_srv0000000003",
                 "session": applied}]

    t = MemoryTransport(server)  # a callable alone is the handler
    call = await attach(MEMORY_CALL, transport=t, capture=False)
    try:
        result = await call.update_session(instructions="Be brief.",
                                           audio={"output": {"speed": 1.5}}, timeout=10)
        assert t.sent[0]["type"] == "session.update"
        assert t.sent[0]["session"]["instructions"] == "Be brief."
        assert result.session["instructions"] == "Be brief."
        assert not result.applied_as_requested
        assert [(d.path, d.requested, d.applied) for d in result.diff] == [
            ("audio.output.speed", 1.5, 1.0)]
        assert call.state.session is not None
        assert call.state.session["instructions"] == "Be brief."
        with pytest.raises(SessionUpdateError, match="Invalid instructions"):
            await call.update_session(instructions="refuse me", timeout=10)
    finally:
        await call.close()


async def test_a_memory_transport_ends_and_drops_the_call(tmp_path: Path) -> None:
    from rtwidgets import MemoryTransport

    go = asyncio.Event()

    async def script() -> Any:  # an async generator script: frames when it likes
        await go.wait()
        yield {"type": "session.created", "event_id": "event_mem00000000002",
               "session": memory_session()}

    t = MemoryTransport(script())
    call = await attach(MEMORY_CALL, transport=t, capture=tmp_path / "m.jsonl")
    try:
        go.set()
        await call.wait_for("session.created", timeout=10)
        await t.drop("socket closed (1006)")
        assert call.stats.reconnects == 1
        assert call.status.state == "live"
        assert [f.type for f in call.frames() if f.type == "rtwidgets.gap"] == ["rtwidgets.gap"]
        await call.send({"type": "response.create"})
        t.end("call ended: caller_hangup")
        status = await call.wait_ended(10)
        assert status.reason == "call ended: caller_hangup"
        with pytest.raises(CallNotLiveError):
            await call.send({"type": "response.create"})
        assert [e["type"] for e in t.sent] == ["response.create"]
    finally:
        await call.close()
    _, store = read_capture(tmp_path / "m.jsonl")
    kinds = [(f.direction, f.type) for f in store]
    assert ("in", "session.created") in kinds
    assert ("out", "response.create") in kinds


async def test_attach_refuses_what_is_not_a_transport() -> None:
    with pytest.raises(ValidationError, match="transport") as info:
        await attach(MEMORY_CALL, transport="wss://example", capture=False)  # type: ignore[arg-type]
    assert info.value.field == "transport"
    assert MEMORY_CALL not in _ATTACHED


@pytest.mark.emulator(scenario="tools", session_created_on_attach=True)
async def test_the_default_client_follows_openai_websocket_base_url(
        emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The REST base points nowhere: the sideband only works if the WebSocket URL from the
    # environment is used (the SDK alone derives it from the REST base).
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_WEBSOCKET_BASE_URL", emulator.websocket_base_url)
    call_id = await emulator.start_call(transport="webrtc")
    call = await attach(call_id, capture=tmp_path / "c.jsonl", reconnect=False,
                        connect_timeout=10)
    try:
        assert call.status.state == "live", call.status
    finally:
        await call.close()


