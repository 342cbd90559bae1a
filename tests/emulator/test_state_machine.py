"""The session state machine: bad client input of every kind gets the server's error event
(with the client's event_id) and the session goes on; items honour previous_item_id; one
active response; cancel, delete, retrieve, truncate, the voice lock, the output buffer."""

from __future__ import annotations

from typing import Any

import pytest

from rtwidgets.emulator import Emulator, VirtualCall

from .conftest import (
    FAST,
    Sideband,
    VirtualSideband,
    open_sideband,
    types_of,
    validate_server_event,
)


def user_text(text: str, item_id: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "message", "role": "user",
                            "content": [{"type": "input_text", "text": text}]}
    if item_id:
        item["id"] = item_id
    return item


async def still_alive(sb: Sideband | VirtualSideband) -> None:
    """The session answers a good event after the bad one."""
    await sb.send({"type": "session.update", "session": {"type": "realtime",
                                                         "instructions": "still here"}})
    updated = await sb.until("session.updated")
    assert updated["session"]["instructions"] == "still here"


async def session(emu: Emulator) -> Sideband:
    sb = await open_sideband(emu, model="gpt-realtime")
    assert (await sb.next())["type"] == "session.created"
    return sb


BAD_INPUT = [
    # (frame, code, param)
    # Real traffic: text that is not JSON is invalid_json, an unknown type invalid_value.
    ("{not json", "invalid_json", None),
    ('{"event_id": "e1"}', "invalid_event", "type"),
    ('["a list"]', "invalid_event", "type"),
    ('{"type": "response.explode", "event_id": "e1"}', "invalid_value", "type"),
    ('{"type": "session.update", "event_id": "e1"}', "missing_required_parameter", "session"),
    ('{"type": "session.update", "event_id": "e1", "session": {"type": "realtime", '
     '"audio": {"output": {"speed": 3}}}}', "invalid_value", "session.audio.output.speed"),
    ('{"type": "session.update", "event_id": "e1", "session": {"type": "realtime", '
     '"model": "gpt-4o"}}', "invalid_value", "session.model"),
    ('{"type": "session.update", "event_id": "e1", "session": {"type": "realtime", '
     '"bogus": 1}}', "unknown_parameter", "session.bogus"),
    ('{"type": "conversation.item.create", "event_id": "e1", "item": {"type": "message", '
     '"role": "user", "content": []}, "previous_item_id": "item_nope"}', "invalid_value",
     "previous_item_id"),
    ('{"type": "conversation.item.delete", "event_id": "e1", "item_id": "item_nope"}',
     "item_delete_invalid_item_id", "item_id"),
    ('{"type": "conversation.item.retrieve", "event_id": "e1", "item_id": "item_nope"}',
     "item_retrieve_invalid_item_id", "item_id"),
    ('{"type": "conversation.item.truncate", "event_id": "e1", "item_id": "item_nope", '
     '"content_index": 0, "audio_end_ms": 10}', "item_truncate_invalid_item_id", "item_id"),
    ('{"type": "response.cancel", "event_id": "e1"}', "response_cancel_not_active", None),
    ('{"type": "input_audio_buffer.commit", "event_id": "e1"}',
     "input_audio_buffer_commit_empty", None),
    ('{"type": "output_audio_buffer.clear", "event_id": "e1"}',
     "invalid_event_for_transport", "type"),
]


@pytest.mark.parametrize(("frame", "code", "param"), BAD_INPUT,
                         ids=[f"{c}-{i}" for i, (_, c, _p) in enumerate(BAD_INPUT)])
async def test_bad_input_gets_error_event_and_session_goes_on(
        emu: Emulator, frame: str, code: str, param: str | None) -> None:
    sb = await session(emu)
    await sb.send(frame)
    err = await sb.until("error")
    validate_server_event(err)
    assert err["error"]["code"] == code
    assert err["error"]["param"] == param
    assert err["error"]["type"] == "invalid_request_error"
    assert err["error"]["message"]
    expected_id = "e1" if '"event_id": "e1"' in frame else None
    assert err["error"]["event_id"] == expected_id
    await still_alive(sb)
    await sb.close()


async def test_binary_garbage_is_invalid_event_and_session_goes_on(emu: Emulator) -> None:
    sb = await session(emu)
    await sb.ws.send_bytes(b"\x00" * 64)
    err = await sb.until("error")
    validate_server_event(err)
    assert err["error"]["code"] == "invalid_event"
    await still_alive(sb)
    await sb.close()


async def test_append_refused_on_a_call_sideband(emu: Emulator) -> None:
    call_id = await emu.start_call()
    sb = await open_sideband(emu, call_id)
    await sb.send({"type": "input_audio_buffer.append", "event_id": "a1", "audio": "AAAA"})
    err = await sb.until("error")
    assert err["error"]["code"] == "invalid_event_for_transport"
    assert err["error"]["event_id"] == "a1"
    await sb.close()


async def test_one_active_response_and_cancel() -> None:
    # The response must still be running when the cancel arrives. Through a socket at
    # speed=1 that was a race with the machine's load; in virtual time the client's events
    # arrive at the call time of the event it just read, so it is certain.
    sb = VirtualSideband(VirtualCall(transport="websocket", seed=4))
    assert (await sb.next())["type"] == "session.created"
    await _active_response_and_cancel(sb)


async def _active_response_and_cancel(sb: Sideband | VirtualSideband) -> None:
    await sb.send({"type": "response.create", "event_id": "r1"})
    created = await sb.until("response.created")
    await sb.send({"type": "response.create", "event_id": "r2"})
    err = await sb.until("error")
    assert err["error"]["code"] == "conversation_already_has_active_response"
    assert err["error"]["event_id"] == "r2"
    assert created["response"]["id"] in err["error"]["message"]
    # an out-of-band response may run in parallel
    await sb.send({"type": "response.create", "response": {"conversation": "none"}})
    await sb.send({"type": "response.cancel", "event_id": "c1",
                   "response_id": created["response"]["id"]})
    done = await sb.until("response.done")
    while done["response"]["id"] != created["response"]["id"]:
        done = await sb.until("response.done")
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"]["reason"] == "client_cancelled"
    await sb.send({"type": "response.cancel", "event_id": "c2"})
    err = await sb.until("error")
    assert err["error"]["code"] == "response_cancel_not_active"
    assert err["error"]["event_id"] == "c2"
    await still_alive(sb)
    await sb.close()


async def test_items_previous_item_id_delete_retrieve(emu: Emulator) -> None:
    sb = await session(emu)
    await sb.send({"type": "conversation.item.create", "item": user_text("one", "item_a")})
    added = await sb.until("conversation.item.added")
    assert added["previous_item_id"] is None
    await sb.send({"type": "conversation.item.create", "item": user_text("two", "item_b")})
    assert (await sb.until("conversation.item.added"))["previous_item_id"] == "item_a"
    await sb.send({"type": "conversation.item.create", "item": user_text("zero", "item_0"),
                   "previous_item_id": "root"})
    assert (await sb.until("conversation.item.added"))["previous_item_id"] is None
    await sb.send({"type": "conversation.item.create", "item": user_text("mid", "item_m"),
                   "previous_item_id": "item_a"})
    assert (await sb.until("conversation.item.added"))["previous_item_id"] == "item_a"
    sid = next(iter(emu.calls))
    assert emu.call(sid).order == ["item_0", "item_a", "item_m", "item_b"]
    # duplicate id refused
    await sb.send({"type": "conversation.item.create", "event_id": "dup",
                   "item": user_text("again", "item_a")})
    err = await sb.until("error")
    assert err["error"]["param"] == "item.id"
    assert err["error"]["event_id"] == "dup"
    await sb.send({"type": "conversation.item.retrieve", "item_id": "item_m"})
    got = await sb.until("conversation.item.retrieved")
    validate_server_event(got)
    assert got["item"]["content"][0]["text"] == "mid"
    await sb.send({"type": "conversation.item.delete", "item_id": "item_m"})
    assert (await sb.until("conversation.item.deleted"))["item_id"] == "item_m"
    assert emu.call(sid).order == ["item_0", "item_a", "item_b"]
    await sb.close()


async def test_truncate_and_voice_lock_on_a_call(emu: Emulator) -> None:
    call_id = await emu.start_call()
    sb = await open_sideband(emu, call_id)
    first = await sb.until("response.output_item.done")
    item_id = first["item"]["id"]
    await sb.send({"type": "session.update", "event_id": "v1",
                   "session": {"type": "realtime", "audio": {"output": {"voice": "ash"}}}})
    err = await sb.until("error")
    assert err["error"]["param"] == "session.audio.output.voice"
    assert err["error"]["event_id"] == "v1"
    await sb.send({"type": "conversation.item.truncate", "event_id": "t1", "item_id": item_id,
                   "content_index": 0, "audio_end_ms": 10_000_000})
    err = await sb.until("error")
    assert err["error"]["param"] == "audio_end_ms"
    await sb.send({"type": "conversation.item.truncate", "item_id": item_id,
                   "content_index": 0, "audio_end_ms": 500})
    truncated = await sb.until("conversation.item.truncated")
    validate_server_event(truncated)
    assert truncated["audio_end_ms"] == 500
    await sb.close()


async def test_output_audio_buffer_clear_on_a_call() -> None:
    # The audio generated so far must still be playing when cleared: a race at speed=1
    # through a socket, certain in virtual time (the client reacts at once).
    await _clear_while_playing(VirtualSideband(VirtualCall("conversation", seed=5)))


async def _clear_while_playing(sb: Sideband | VirtualSideband) -> None:
    started = await sb.until("output_audio_buffer.started")
    await sb.until("response.output_audio_transcript.delta")
    await sb.until("response.output_audio_transcript.delta")
    await sb.send({"type": "response.cancel"})
    done = await sb.until("response.done")
    assert done["response"]["status_details"]["reason"] == "client_cancelled"
    await sb.send({"type": "output_audio_buffer.clear"})
    cleared = await sb.until("output_audio_buffer.cleared")
    validate_server_event(cleared)
    assert cleared["response_id"] == started["response_id"]
    kinds = types_of(sb.events)
    assert kinds.index("response.done") < kinds.index("output_audio_buffer.cleared")
    assert "output_audio_buffer.stopped" not in kinds
    await sb.close()


async def test_input_audio_on_a_plain_session(emu: Emulator) -> None:
    sb = await session(emu)
    await sb.send({"type": "input_audio_buffer.append", "audio": "A" * 9600})  # 150 ms
    await sb.send({"type": "input_audio_buffer.commit"})
    committed = await sb.until("input_audio_buffer.committed")
    added = await sb.until("conversation.item.added")
    assert added["item"]["id"] == committed["item_id"]
    await sb.send({"type": "input_audio_buffer.clear"})
    await sb.until("input_audio_buffer.cleared")
    await sb.close()


async def test_the_record_holds_received_events_with_the_socket(emu: Emulator) -> None:
    sb = await session(emu)
    await sb.send("{broken")
    await sb.until("error")
    await sb.close()
    record = emu.record(next(iter(emu.calls)))
    received = [r for r in record if r["direction"] == "received"]
    assert received[0]["event"] is None
    assert received[0]["raw"] == "{broken"
    assert received[0]["socket"] == "ws1"


async def test_speed_and_option_errors_name_the_option() -> None:
    with pytest.raises(ValueError, match="speed"):
        await Emulator.start(speed=0)
    with pytest.raises(ValueError, match="webhook_url"):
        await Emulator.start(webhook_url="ftp://x")
    with pytest.raises(ValueError, match="faults"):
        await Emulator.start(speed=FAST, faults=[{"kind": "explode"}])


def _fuzz_events(n: int, seed: int) -> list[Any]:
    """Client events with random fields and values: most invalid, some valid."""
    import random

    from rtwidgets.protocol.catalog import CLIENT_EVENT_TYPES

    rng = random.Random(seed)
    values: list[Any] = [None, True, 0, -1, 1.5, 10**12, "", "x" * 300, "root", [], [1, "a"],
                         {}, {"type": "message"}, {"type": "realtime"}, "item_nope"]
    keys = ["session", "item", "item_id", "content_index", "audio_end_ms", "audio",
            "response", "response_id", "previous_item_id", "event_id", "bogus"]
    events: list[Any] = []
    for _ in range(n):
        event: dict[str, Any] = {"type": rng.choice([*CLIENT_EVENT_TYPES, "nope", 3, None])}
        for key in rng.sample(keys, rng.randint(0, 4)):
            event[key] = rng.choice(values)
        if rng.random() < 0.1:
            del event["type"]
        events.append(event)
    return events


SEED = 20261126


async def test_fuzzed_client_events_never_break_the_session(emu: Emulator) -> None:
    import json

    sb = await session(emu)
    events = _fuzz_events(300, seed=SEED)
    for event in events:
        await sb.send(json.dumps(event))
    await still_alive(sb)
    await sb.close()
    record = emu.record(next(iter(emu.calls)))
    crashes = [r for r in record if r["direction"] == "meta"
               and r["event"]["type"] == "emulator.emulator_error"]
    assert crashes == []
    received = [r for r in record if r["direction"] == "received"]
    assert len(received) == 301
