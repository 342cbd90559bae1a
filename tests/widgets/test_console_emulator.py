"""End to end: the console attaches to an emulated call on 127.0.0.1, streams it, detaches,
re-attaches, and replays the capture it wrote."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from rtwidgets._recording import load
from rtwidgets._transport import ReconnectPolicy
from rtwidgets.widgets._console import CallConsole

from .conftest import custom_messages

FAKE_API_KEY = "sk-test-not-a-real-key"

FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=3)


def sent_rows(view: Any) -> dict[int, dict[str, Any]]:
    """Every row the browser holds after replaying the EventLog's messages in order."""
    rows: dict[int, dict[str, Any]] = {}
    for msg in custom_messages(view):
        if msg["kind"] == "snapshot":
            rows = {r["id"]: r for r in msg["rows"]}
        elif msg["kind"] == "batch":
            rows.update({r["id"]: r for r in msg["rows"]})
            rows.update({r["id"]: r for r in msg["updates"] if r["id"] in rows})
    return rows


def sent_items(view: Any) -> dict[str, dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    for msg in custom_messages(view):
        if msg["kind"] == "snapshot":
            items = {i["id"]: i for i in msg["items"]}
        elif msg["kind"] == "batch":
            items.update({i["id"]: i for i in msg["items"]})
    return items


async def wait_until(predicate: Any, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.mark.emulator(session_created_on_attach=True)
async def test_console_attaches_streams_detaches_and_replays(
    emulator: Any, tmp_path: Path,
) -> None:
    call_id = await emulator.start_call(transport="webrtc")
    capture = tmp_path / "call.jsonl"
    console = CallConsole(
        client=emulator.client(api_key=FAKE_API_KEY),
        attach_options={"capture": capture, "reconnect": FAST},
    )
    console.call_id_field.value = call_id
    console.attach_button.click()
    await console.wait_actions()
    assert console.last_error is None, console.message.value
    call = console.source
    assert call is not None
    assert call.call_id == call_id
    assert all(part.source is call for part in console.parts)

    # the scripted conversation streams into the views
    await call.wait_ended(timeout=30)
    await asyncio.sleep(0.2)  # the last batch
    rows = sent_rows(console.event_log)
    assert sum(r["n"] for r in rows.values()) == len(call.frames())
    assert console.event_log.counts["events"] == len(call.frames())
    assert len(rows) < len(call.frames())  # deltas were folded into their items' rows
    assert {"session.created", "response.done"} <= {r["type"] for r in rows.values()}
    items = sent_items(console.transcript)
    assert any(i["role"] == "assistant" and "Chez Emulator" in i["text"]
               for i in items.values())
    assert any(i["role"] == "user" and i["text"] for i in items.values())
    assert call.call_id in console.status.value

    # detach closes the call the console attached; attach again from the same console
    console.detach_button.click()
    await console.wait_actions()
    assert console.source is None
    assert call.status.state == "ended"
    assert all(part.source is None for part in console.parts)
    second_id = await emulator.start_call(transport="webrtc")
    console.attach_options["capture"] = tmp_path / "second.jsonl"  # captures never overwrite
    console.call_id_field.value = second_id
    console.attach_button.click()
    await console.wait_actions()
    assert console.last_error is None, console.message.value
    second = console.source
    assert second is not None
    assert second.call_id == second_id
    assert console.event_log.counts["events"] == len(second.frames())
    await console.detach()
    assert second.status.state == "ended"

    # the capture it wrote replays in the same console, paused until Play
    recording = load(capture)
    console.bind(recording)
    replay = console.replay
    assert replay is not None
    assert console.replay_bar.layout.display == "flex"
    assert console.play_button.value is False
    await asyncio.sleep(0.1)
    assert console.event_log.counts["events"] <= 2  # paused: at most the attach meta frames
    console.set_speed(10.0)
    console.play()
    await wait_until(lambda: replay.status.state == "ended")
    await asyncio.sleep(0.2)
    assert console.event_log.counts["events"] == len(replay.frames())
    assert any(i["role"] == "assistant" for i in console.transcript.items())

    # jump back (paused, so it stays there): the views rebuild from the replay's frames
    console.pause()
    await console.wait_actions()
    middle = recording.frames()[len(recording.frames()) // 2].m
    await console.seek(middle)
    assert console.event_log.counts["events"] == len(replay.frames())
    assert 0 < len(replay.frames()) < len(recording.frames())
    assert replay.position == pytest.approx(middle)
    await console.seek(0.0)  # before the first frame: nothing arrives, the views still empty
    assert console.event_log.counts["events"] == len(replay.frames()) == 0
    assert console.transcript.items() == []
    await console.detach()
    console.close()


@pytest.mark.emulator(session_created_on_attach=True, speed=20, scenario="tools")
async def test_hang_up_from_the_console_ends_the_call_and_the_console_says_so(
    emulator: Any,
) -> None:
    weather = {"type": "function", "name": "get_weather", "description": "Weather of a city",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
    call_id = await emulator.start_call(transport="webrtc", scenario="tools",
                                        session={"tools": [weather]})
    client = emulator.client(api_key=FAKE_API_KEY)
    console = CallConsole(client=client, attach_options={"capture": False, "reconnect": FAST})
    try:
        await console.attach(call_id)
        call = console.source
        assert console.hangup_button.layout.display == ""
        # wait for the model's tool call: it stays pending (nobody answers it)
        await wait_until(lambda: bool(call.state.pending_tool_calls()))
        [pending] = console.tool_calls.pending
        console.hangup_button.click()
        assert console.confirming_hangup
        console.hangup_button.click()
        await console.wait_actions()
        assert console.last_error is None, console.message.value
        assert call.status.state == "ended"
        assert "you hung up from this console" in console.message.value
        assert console.hangup_button.layout.display == "none"
        hangups = [r for r in emulator.requests
                   if r.get("call_id") == call_id and str(r["path"]).endswith("/hangup")]
        assert len(hangups) == 1
        assert await emulator.wait_ended(call_id, timeout=5)
        # the pending tool call is unanswered now, in the reducer and in the form
        assert call.state.tool_calls[pending].status == "unanswered"
        assert console.tool_calls.pending == []
        assert console.tool_calls.unanswered == [pending]
        assert "no pending tool call" in console.tool_calls.pending_title.value
    finally:
        await console.detach()
        console.close()
        await client.close()  # its REST pool holds the hangup's socket


@pytest.mark.emulator(session_created_on_attach=True)
async def test_a_key_typed_into_the_console_attaches(emulator: Any) -> None:
    from .conftest import browser_says

    call_id = await emulator.start_call(transport="webrtc")
    console = CallConsole(attach_options={"capture": False, "reconnect": FAST})
    try:
        console.base_url.value = emulator.base_url
        browser_says(console.api_key, {"kind": "secret", "text": FAKE_API_KEY})
        console.call_id_field.value = call_id
        console.attach_button.click()
        await console.wait_actions()
        assert console.last_error is None, console.message.value
        assert console.source is not None
        assert console.source.call_id == call_id
    finally:
        await console.detach()
        client = console._client
        console.close()
        if client is not None:
            await client.close()
