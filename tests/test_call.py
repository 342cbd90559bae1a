"""Integration tests of attach/Call against the emulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from _refusing_server import (
    BAD_KEY_FRAME,
    BAD_MODEL_FRAME,
    HELLO_FRAME,
    Refusing,
    refusing_server,
)

from rtwidgets._call import (
    _ATTACHED,
    Call,
    CallEndedError,
    CallNotLiveError,
    SessionUpdateError,
    ToolCallError,
    attach,
)
from rtwidgets._capture import read_capture
from rtwidgets._transport import ReconnectPolicy
from rtwidgets.protocol.errors import ValidationError

WEATHER = {
    "type": "function", "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"]},
}
FAKE_API_KEY = "sk-test-not-a-real-key"
FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=5)


_CLIENTS: list[Any] = []


def new_client(emu: Any, api_key: str = FAKE_API_KEY) -> Any:
    client = emu.client(api_key=api_key)
    _CLIENTS.append(client)
    return client


@pytest.fixture(autouse=True)
async def _close_clients() -> Any:
    yield
    while _CLIENTS:
        await _CLIENTS.pop().close()


def assert_secret_absent(folder: Path, secret: str) -> None:
    files = list(folder.rglob("*.jsonl"))
    assert files
    for p in files:
        assert secret.encode() not in p.read_bytes()


def received(emu: Any, call_id: str) -> list[dict[str, Any]]:
    return [r["event"] for r in emu.record(call_id) if r["direction"] == "received"]


async def start(emu: Any, tmp_path: Path, *, tools: bool = False, **kw: Any) -> tuple[str, Call]:
    session = {"tools": [WEATHER]} if tools else None
    call_id = await emu.start_call(transport="webrtc", session=session)
    call = await attach(call_id, client=new_client(emu),
                        capture=tmp_path / "c.jsonl", reconnect=FAST, **kw)
    return call_id, call


@pytest.mark.emulator(scenario="tools", session_created_on_attach=True)
async def test_tool_loop_by_decorated_sync_handler(emulator: Any, tmp_path: Path) -> None:
    call_id, call = await start(emulator, tmp_path, tools=True)
    seen: list[dict[str, Any]] = []
    threads: list[str] = []

    @call.tool("get_weather")
    def get_weather(city: str, unit: str = "celsius") -> dict[str, Any]:
        seen.append({"city": city, "unit": unit})
        threads.append(threading.current_thread().name)
        return {"temperature": 21, "conditions": "sunny"}

    async with call:
        follow = await call.wait_for(
            "response.output_audio_transcript.done",
            lambda e: "21 degrees" in e.get("transcript", ""), timeout=15)
    assert seen == [{"city": "Paris", "unit": "celsius"}]
    assert threads[0] != threading.main_thread().name  # ran in the executor
    assert "sunny" in follow["transcript"]
    sent = received(emulator, call_id)
    outputs = [e for e in sent if e["type"] == "conversation.item.create"]
    assert len(outputs) == 1
    assert json.loads(outputs[0]["item"]["output"]) == {"temperature": 21, "conditions": "sunny"}
    assert [e["type"] for e in sent].count("response.create") == 1
    rec = next(iter(call.state.tool_calls.values()))
    assert rec.status == "answered"
    assert rec.answered_by == "handler"
    metas = [f.event for f in call.frames() if f.type == "rtwidgets.tool_answered"]
    assert metas == [{"type": "rtwidgets.tool_answered", "call_id": rec.call_id, "by": "handler"}]


@pytest.mark.emulator(scenario="tools", session_created_on_attach=True)
async def test_tool_loop_by_send_tool_output(emulator: Any, tmp_path: Path) -> None:
    call_id, call = await start(emulator, tmp_path, tools=True)
    async with call:
        done = await call.wait_for("response.function_call_arguments.done", timeout=15)
        fc_id = done["call_id"]
        with pytest.raises(ToolCallError, match="call_id: 'call_nope' is not a tool call"):
            await call.send_tool_output("call_nope", "x")
        with pytest.raises(ToolCallError, match="output"):
            await call.send_tool_output(fc_id, {"temperature": float("nan")})
        await call.send_tool_output(fc_id, {"temperature": 5, "conditions": "rainy"})
        with pytest.raises(ToolCallError, match="already answered"):
            await call.send_tool_output(fc_id, "again")
        follow = await call.wait_for(
            "response.output_audio_transcript.done",
            lambda e: "5 degrees" in e.get("transcript", ""), timeout=15)
    assert "rainy" in follow["transcript"]
    sent = received(emulator, call_id)
    types = [e["type"] for e in sent]
    assert types == ["conversation.item.create", "response.create"]
    assert sent[0]["item"]["call_id"] == fc_id


@pytest.mark.emulator(scenario="tools", session_created_on_attach=True)
async def test_handler_failures_become_error_outputs(emulator: Any, tmp_path: Path) -> None:
    call_id, call = await start(emulator, tmp_path, tools=True)

    @call.tool("get_weather")
    async def broken(city: str, unit: str) -> str:
        raise RuntimeError("weather service down")

    async with call:
        await call.wait_for("rtwidgets.tool_answered", timeout=15)
        await call.wait_for("response.done", timeout=15)
    outputs = [e for e in received(emulator, call_id) if e["type"] == "conversation.item.create"]
    assert len(outputs) == 1
    assert json.loads(outputs[0]["item"]["output"]) == {
        "error": "RuntimeError: weather service down"}
    assert call.stats.handler_errors == 1


@pytest.mark.emulator(scenario="tools", session_created_on_attach=True)
async def test_invalid_arguments_are_refused_by_the_declared_schema(
        emulator: Any, tmp_path: Path) -> None:
    strict = {**WEATHER, "parameters": {**WEATHER["parameters"],
                                         "properties": {"city": {"type": "integer"}}}}
    # The scripted model fills the declared schema; ask for the scenario's arguments
    # verbatim so that they miss it, as a real model's arguments sometimes do.
    scenario = json.loads(
        (resources.files("rtwidgets.emulator") / "scenarios" / "tools.json").read_text())
    scenario["turns"][0]["reply"]["tool"]["arguments_as_written"] = True
    call_id = await emulator.start_call(transport="webrtc", scenario=scenario,
                                        session={"tools": [strict]})
    called: list[Any] = []
    async with await attach(call_id, client=new_client(emulator),
                            capture=False) as call:
        call.tool("get_weather")(lambda **kw: called.append(kw))
        await call.wait_for("rtwidgets.tool_answered", timeout=15)
    assert called == []
    out = next(e for e in received(emulator, call_id) if e["type"] == "conversation.item.create")
    error = json.loads(out["item"]["output"])["error"]
    assert error.startswith("invalid arguments for 'get_weather': city:")


@pytest.mark.emulator(scenario="tools", session_created_on_attach=True)
async def test_a_blocking_handler_does_not_stop_the_receive_loop(
        emulator: Any, tmp_path: Path) -> None:
    call_id, call = await start(emulator, tmp_path, tools=True)
    release = threading.Event()

    @call.tool("get_weather")
    def slow(city: str, unit: str) -> str:
        release.wait(10)
        return "late"

    async with call:
        await call.wait_for("response.function_call_arguments.done", timeout=15)
        await asyncio.sleep(0.05)
        # the handler is blocked in its thread; the loop still sends and receives
        await call.send({"type": "input_audio_buffer.clear"})
        await call.wait_for("input_audio_buffer.cleared", timeout=5)
        assert not release.is_set()
        answered = asyncio.ensure_future(call.wait_for("rtwidgets.tool_answered", timeout=5))
        release.set()
        await answered
    out = next(e for e in received(emulator, call_id) if e["type"] == "conversation.item.create")
    assert out["item"]["output"] == "late"


@pytest.mark.emulator(scenario="tools", session_created_on_attach=True)
async def test_a_handler_past_its_timeout_gets_an_error_output(
        emulator: Any, tmp_path: Path) -> None:
    call_id, call = await start(emulator, tmp_path, tools=True, handler_timeout=0.2)

    @call.tool("get_weather")
    async def hangs(city: str, unit: str) -> str:
        await asyncio.sleep(30)
        return "never"

    async with call:
        await call.wait_for("rtwidgets.tool_answered", timeout=15)
    out = next(e for e in received(emulator, call_id) if e["type"] == "conversation.item.create")
    assert json.loads(out["item"]["output"]) == {
        "error": "tool 'get_weather' timed out after 0.2 s"}
    assert call.stats.handler_errors == 1


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
        _CLIENTS.append(client)
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
        _CLIENTS.append(client)
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
        _CLIENTS.append(client)
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

MEMORY_CALL = "rtc_u1_" + "m" * 24


def memory_session(**fields: Any) -> dict[str, Any]:
    return {"type": "realtime", "model": "gpt-realtime", "instructions": "", "tools": [WEATHER],
            **fields}


def tool_turn(response_id: str, call_id: str, arguments: str) -> list[dict[str, Any]]:
    """The frames of a response that asks for get_weather (GA shapes)."""
    item = {"id": "item_" + call_id[5:], "type": "function_call", "status": "in_progress",
            "name": "get_weather", "call_id": call_id, "arguments": ""}
    done_item = {**item, "status": "completed", "arguments": arguments}
    return [
        {"type": "response.created", "event_id": f"event_{response_id}a",
         "response": {"id": response_id, "object": "realtime.response",
                      "status": "in_progress", "output": []}},
        {"type": "response.output_item.added", "event_id": f"event_{response_id}b",
         "response_id": response_id, "output_index": 0, "item": item},
        {"type": "response.function_call_arguments.done", "event_id": f"event_{response_id}c",
         "response_id": response_id, "item_id": item["id"], "output_index": 0,
         "call_id": call_id, "name": "get_weather", "arguments": arguments},
        {"type": "response.output_item.done", "event_id": f"event_{response_id}d",
         "response_id": response_id, "output_index": 0, "item": done_item},
        {"type": "response.done", "event_id": f"event_{response_id}e",
         "response": {"id": response_id, "object": "realtime.response", "status": "completed",
                      "output": [done_item]}},
    ]


async def test_a_tool_handler_is_answered_through_a_memory_transport() -> None:
    from rtwidgets import MemoryTransport

    def server(event: dict[str, Any]) -> list[dict[str, Any]]:
        # what the server says back to each client event
        if event["type"] == "conversation.item.create":
            return [{"type": "conversation.item.created", "event_id": "event_srv0000000001",
                     "item": {"id": "item_srv0000000001", **event["item"]}}]
        if event["type"] == "response.create":
            return [{"type": "response.created", "event_id": "event_srv0000000002",
                     "response": {"id": "resp_answer0000001", "status": "in_progress",
                                  "output": []}}]
        return []

    t = MemoryTransport([{"type": "session.created", "event_id": "event_mem00000000001",
                          "session": memory_session()}], handler=server)
    call = await attach(MEMORY_CALL, transport=t, capture=False)
    try:
        assert call.status.state == "live"
        seen: list[dict[str, Any]] = []

        @call.tool("get_weather")
        def weather(city: str, unit: str = "celsius") -> dict[str, Any]:
            seen.append({"city": city, "unit": unit})
            return {"temperature": 3, "conditions": "windy"}

        for frame in tool_turn("resp_ask0000000001", "call_weather000001",
                               '{"city": "Oslo"}'):
            await t.push(frame)
        created = await call.wait_for("response.created", lambda e: e["response"]["id"]
                                      == "resp_answer0000001", timeout=10)
        assert created["response"]["status"] == "in_progress"
        assert seen == [{"city": "Oslo", "unit": "celsius"}]
        # exactly one answer, then exactly one response.create, in that order
        assert [e["type"] for e in t.sent] == ["conversation.item.create", "response.create"]
        output = t.sent[0]["item"]
        assert output["type"] == "function_call_output"
        assert output["call_id"] == "call_weather000001"
        assert json.loads(output["output"]) == {"temperature": 3, "conditions": "windy"}
        rec = call.state.tool_calls["call_weather000001"]
        assert rec.status != "pending"
        assert rec.answered_by == "handler"
        assert [f.direction for f in call.frames()].count("out") == 2
    finally:
        await call.close()


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
