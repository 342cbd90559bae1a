"""Shared rig of the Call tests (test_call, test_bus, test_tools): an emulator client per test,
a call started and attached with a capture, what the emulator received.

Why: the Call's responsibilities live in three modules (_call, _bus, _tools) and their tests
mirror them; they start calls the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rtwidgets._call import Call, attach
from rtwidgets._transport import ReconnectPolicy

WEATHER = {
    "type": "function", "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"]},
}
FAKE_API_KEY = "sk-test-not-a-real-key"
FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=5)


_CLIENTS: list[Any] = []


async def close_clients() -> None:
    """Close every client ``new_client`` made (an autouse fixture of each test module)."""
    while _CLIENTS:
        await _CLIENTS.pop().close()


def track_client(client: Any) -> Any:
    """Close ``client`` after the test (with the clients ``new_client`` made)."""
    _CLIENTS.append(client)
    return client


def new_client(emu: Any, api_key: str = FAKE_API_KEY) -> Any:
    client = emu.client(api_key=api_key)
    _CLIENTS.append(client)
    return client


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
