"""The tool runtime (rtwidgets/_tools.py): @call.tool handlers, the declared schema, timeouts,
send_tool_output — against the emulator and through a MemoryTransport.

Why here: the tests mirror the modules; these moved from test_call.py with _call.py's split.
"""

from __future__ import annotations

import asyncio
import json
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from _call_rig import (
    MEMORY_CALL,
    WEATHER,
    close_clients,
    memory_session,
    new_client,
    received,
    start,
    tool_turn,
)

from rtwidgets._call import (
    ToolCallError,
    attach,
)


@pytest.fixture(autouse=True)
async def _close_clients() -> Any:
    yield
    await close_clients()


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

