"""The /v1/realtime WebSocket: SDK attach by call id, handshake refusals, fan-out, holding
the caller until a sideband attaches, the session.created switch, plain ?model sessions and
the way an ending call closes its sockets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
import websockets

from rtwidgets.emulator import Emulator

from .conftest import API_KEY, FAST, open_sideband, types_of, validate_server_event


async def test_sdk_connect_by_call_id_receives_events_and_updates_session(
        emu: Emulator) -> None:
    call_id = await emu.start_call()
    client = emu.client(api_key=API_KEY)
    async with client.realtime.connect(call_id=call_id) as conn:
        await conn.session.update(session={"type": "realtime",
                                           "instructions": "Talk like a pirate.",
                                           "audio": {"output": {"speed": 1.2}}})
        seen = []
        async for event in conn:
            seen.append(event.type)
            if event.type == "session.updated":
                session = event.session.model_dump()
                break
    await client.close()
    assert session["instructions"] == "Talk like a pirate."
    assert session["audio"]["output"]["speed"] == 1.2
    # the full effective session, not just the change
    assert session["audio"]["output"]["voice"] == "marin"
    assert session["model"] == "gpt-realtime"
    assert session["tools"] == []
    assert emu.call(call_id).session["instructions"] == "Talk like a pirate."
    received = [r for r in emu.record(call_id) if r["direction"] == "received"]
    assert received[0]["event"]["type"] == "session.update"
    assert "session.created" not in seen   # the sideband default (switch below)


async def test_handshake_404_for_unknown_ended_or_ringing_call(emu: Emulator) -> None:
    # Real traffic: an unknown or ended call id is refused at the handshake with HTTP 404.
    call_id = await emu.start_call()
    async with aiohttp.ClientSession() as http:
        url = f"{emu.websocket_base_url}/realtime?call_id={call_id}"
        unknown = f"{emu.websocket_base_url}/realtime?call_id=rtc_u1_{'a' * 32}"
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await http.ws_connect(unknown, headers={"Authorization": f"Bearer {API_KEY}"})
        assert err.value.status == 404
        await emu.hangup(call_id)
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await http.ws_connect(url, headers={"Authorization": f"Bearer {API_KEY}"})
        assert err.value.status == 404
        # a SIP call cannot be attached before it is accepted
        sip = await emu.start_call(transport="sip")
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await http.ws_connect(f"{emu.websocket_base_url}/realtime?call_id={sip}",
                                  headers={"Authorization": f"Bearer {API_KEY}"})
        assert err.value.status == 404


async def _refused(url: str, headers: dict[str, str]) -> tuple[dict[str, Any], int | None]:
    """Connect raw: the upgrade succeeds; return the one error frame and the close code."""
    async with aiohttp.ClientSession() as http, http.ws_connect(url, headers=headers) as ws:
        first = await ws.receive(timeout=5)
        assert first.type == aiohttp.WSMsgType.TEXT, first
        closing = await ws.receive(timeout=5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), closing
        return json.loads(first.data), ws.close_code


async def test_bad_key_is_refused_after_the_upgrade_with_close_3000() -> None:
    # Real traffic: 101, then error invalid_api_key, then close 3000 (no HTTP 401).
    async with await Emulator.start(speed=FAST, seed=1, valid_keys=[API_KEY]) as emu:
        call_id = await emu.start_call()
        url = f"{emu.websocket_base_url}/realtime?call_id={call_id}"
        wrong = "sk-proj-wrongwrongwrong1234"
        # A missing key has no code (probe report in tests/reality: probe_close_missing_auth);
        # a wrong one is invalid_api_key.
        for headers, expected in (({}, None), ({"Authorization": "Bearer "}, None),
                                  ({"Authorization": f"Bearer {wrong}"}, "invalid_api_key")):
            event, code = await _refused(url, headers)
            validate_server_event(event)
            assert code == 3000
            assert event["type"] == "error"
            assert event["event_id"].startswith("event_")
            assert event["error"]["type"] == "invalid_request_error"
            assert event["error"]["code"] == expected
            assert event["error"]["param"] is None
            assert event["error"]["event_id"] is None
        assert event["error"]["message"].startswith("Incorrect API key provided: sk-proj-*")
        assert "platform.openai.com/account/api-keys" in event["error"]["message"]
        assert wrong[8:] not in event["error"]["message"]
        assert wrong[8:] not in json.dumps(emu.refused_sockets)
        assert [r["close_code"] for r in emu.refused_sockets] == [3000, 3000, 3000]
        # nothing attached: the call never saw those sockets, and the right key works
        assert emu.sockets(call_id) == []
        sb = await open_sideband(emu, call_id)
        assert (await sb.next())["type"] == "response.created"
        await sb.close()
        # the REST endpoints still answer a wrong key with HTTP 401 and the envelope
        async with aiohttp.ClientSession() as http, http.post(
                f"{emu.base_url}/realtime/calls/{call_id}/hangup",
                headers={"Authorization": f"Bearer {wrong}"}) as r:
            assert r.status == 401
            body = await r.json()
        assert body["error"]["code"] == "invalid_api_key"
        assert wrong[8:] not in json.dumps(body)
        assert emu.call(call_id).status == "active"


async def test_default_accepts_any_non_empty_key() -> None:
    async with await Emulator.start(speed=FAST, seed=1) as emu:
        call_id = await emu.start_call()
        sb = await open_sideband(emu, call_id,
                                 headers={"Authorization": "Bearer anything-at-all"})
        assert (await sb.next())["type"] == "response.created"
        await sb.close()
    with pytest.raises(ValueError, match="valid_keys"):
        await Emulator.start(valid_keys="sk-one-string")
    with pytest.raises(ValueError, match="valid_keys"):
        await Emulator.start(valid_keys=["sk-ok", ""])


@pytest.mark.parametrize(("query", "headers", "code"), [
    ("", {}, "missing_model"),
    ("?model=gpt-nope", {}, "invalid_model"),
    ("?model=gpt-realtime", {"OpenAI-Beta": "realtime=v1"}, "beta_api_shape_disabled"),
    ("?call_id=CALL", {"OpenAI-Beta": "realtime=v1"}, "beta_api_shape_disabled"),
])
async def test_model_and_beta_header_failures_close_4000(
        emu: Emulator, query: str, headers: dict[str, str], code: str) -> None:
    # Real traffic: each upgrades, then gets an error event and close 4000.
    call_id = await emu.start_call()
    url = f"{emu.websocket_base_url}/realtime{query.replace('CALL', call_id)}"
    event, close = await _refused(url, {"Authorization": f"Bearer {API_KEY}", **headers})
    validate_server_event(event)
    assert event["error"]["code"] == code
    assert close == 4000
    assert not [c for c in emu.calls.values() if c.transport == "websocket"]


async def _read_all(client: Any, kwargs: dict[str, Any], seen: list[Any]) -> None:
    async with client.realtime.connect(**kwargs) as conn:
        async for event in conn:
            seen.append(event)


async def test_sdk_client_sees_the_error_then_the_close(emu: Emulator) -> None:
    call_id = await emu.start_call()
    async with await Emulator.start(speed=FAST, seed=1, valid_keys=[API_KEY]) as strict:
        strict_call = await strict.start_call()
        for client, kwargs, code, close in [
            (strict.client(api_key="sk-not-the-right-one"), {"call_id": strict_call},
             "invalid_api_key", 3000),
            (emu.client(api_key=API_KEY), {"model": "gpt-nope"}, "invalid_model", 4000),
            (emu.client(api_key=API_KEY, default_headers={"OpenAI-Beta": "realtime=v1"}),
             {"call_id": call_id}, "beta_api_shape_disabled", 4000),
        ]:
            seen: list[Any] = []
            with pytest.raises(websockets.exceptions.ConnectionClosedError) as err:
                await _read_all(client, kwargs, seen)
            await client.close()
            assert [e.type for e in seen] == ["error"]
            assert seen[0].error.code == code
            assert err.value.rcvd is not None
            assert err.value.rcvd.code == close
        assert strict.sockets(strict_call) == []


async def test_sdk_sees_404_as_an_error(emu: Emulator) -> None:
    client = emu.client(api_key=API_KEY)
    with pytest.raises(Exception, match="404"):
        async with client.realtime.connect(call_id="rtc_u1_" + "b" * 32):
            pass
    await client.close()


async def test_fan_out_to_two_sockets(emu: Emulator) -> None:
    call_id = await emu.start_call(scenario="conversation")
    a = await open_sideband(emu, call_id)
    b = await open_sideband(emu, call_id)
    await a.send({"type": "session.update", "session": {"type": "realtime",
                                                        "instructions": "x"}})
    await a.drain()
    await b.drain()
    await a.close()
    await b.close()
    record = emu.record(call_id)
    both = [r["event"] for r in record if r["direction"] == "sent"
            and {"ws1", "ws2"} <= set(r["sockets"])]
    assert len(both) > 50
    assert [e for e in b.events if e in both] == both
    assert [e for e in a.events if e in both] == both
    # b attached after a: it saw a's session.update answered too (every server event fans out)
    assert "session.updated" in types_of(b.events)


async def test_hold_until_attached_then_nothing_missed(emu: Emulator) -> None:
    call_id = await emu.start_call()
    await asyncio.sleep(0.3)    # at speed 50 that is 15 s of call time
    sent = [r for r in emu.record(call_id) if r["direction"] == "sent"]
    assert [r["event"]["type"] for r in sent] == ["session.created"]   # the data channel's
    assert sent[0]["sockets"] == []
    sb = await open_sideband(emu, call_id)
    events = await sb.drain()
    await sb.close()
    assert events[0]["type"] == "response.created"      # the greeting, from its first event


async def test_without_hold_the_call_runs_unwatched() -> None:
    async with await Emulator.start(speed=FAST, seed=1) as emu:
        call_id = await emu.start_call(hold_until_attached=False)
        assert await emu.wait_ended(call_id, 20) == "caller_hangup"
        sent = [r for r in emu.record(call_id) if r["direction"] == "sent"]
        assert len(sent) > 50
        assert all(r["sockets"] == [] for r in sent)


async def test_session_created_on_attach_switch() -> None:
    async with await Emulator.start(speed=FAST, seed=1, session_created_on_attach=True) as emu:
        call_id = await emu.start_call()
        sb = await open_sideband(emu, call_id)
        first = await sb.next()
        assert first["type"] == "session.created"
        validate_server_event(first)
        assert first["session"]["object"] == "realtime.session"
        await sb.close()


async def test_rate_limits_position_switch() -> None:
    async with await Emulator.start(speed=FAST, seed=1, rate_limits_position="start") as emu:
        call_id = await emu.start_call()
        sb = await open_sideband(emu, call_id)
        kinds = types_of([await sb.next() for _ in range(2)])
        assert kinds == ["response.created", "rate_limits.updated"]
        await sb.close()
    async with await Emulator.start(speed=FAST, seed=1, rate_limits_position="end") as emu:
        call_id = await emu.start_call()
        sb = await open_sideband(emu, call_id)
        await sb.until("response.done")
        assert types_of(sb.events)[-2] == "rate_limits.updated"
        await sb.close()
    with pytest.raises(ValueError, match="rate_limits_position"):
        await Emulator.start(rate_limits_position="middle")  # type: ignore[arg-type]


async def test_model_session_text_turn_and_audio_deltas(emu: Emulator) -> None:
    sb = await open_sideband(emu, model="gpt-realtime-2.1")
    created = await sb.next()
    assert created["type"] == "session.created"
    assert created["session"]["model"] == "gpt-realtime-2.1"
    await sb.send({"type": "session.update", "session": {"type": "realtime",
                                                         "output_modalities": ["text"]}})
    await sb.until("session.updated")
    await sb.send({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}})
    await sb.send({"type": "response.create"})
    done = await sb.until("response.done")
    events = sb.events[2:]
    for e in events:
        validate_server_event(e)
    kinds = types_of(events)
    expected = ["conversation.item.added", "conversation.item.done", "response.created",
                "response.output_item.added", "conversation.item.added",
                "response.content_part.added"]
    assert kinds[:6] == expected
    # Real traffic: conversation.item.done before response.output_item.done, and
    # rate_limits.updated after response.done.
    tail = ["response.output_text.done", "response.content_part.done",
            "conversation.item.done", "response.output_item.done", "response.done"]
    assert kinds[-5:] == tail
    assert set(kinds[6:-5]) == {"response.output_text.delta"}
    limits = await sb.next()
    validate_server_event(limits)
    assert limits["type"] == "rate_limits.updated"
    assert [r["name"] for r in limits["rate_limits"]] == ["tokens"]
    assert done["response"]["output"][0]["content"][0]["type"] == "output_text"
    assert "output_audio_buffer.started" not in kinds       # plain WebSocket: no RTP buffer
    # audio: a plain session streams audio deltas
    await sb.send({"type": "response.create", "response": {"output_modalities": ["audio"]}})
    await sb.until("response.done")
    assert "response.output_audio.delta" in types_of(sb.events)
    await sb.close()
    session_id = created["session"]["id"]
    assert await emu.wait_ended(session_id, 5) == "client_closed"


async def test_audio_deltas_switch_on_sideband() -> None:
    async with await Emulator.start(speed=FAST, seed=1, audio_deltas=True) as emu:
        call_id = await emu.start_call()
        sb = await open_sideband(emu, call_id)
        delta = await sb.until("response.output_audio.delta")
        validate_server_event(delta)
        await sb.close()


async def test_ending_closes_sockets_with_and_without_close_frame() -> None:
    async with await Emulator.start(speed=FAST, seed=1) as emu:
        call_id = await emu.start_call()
        sb = await open_sideband(emu, call_id)
        await sb.next()
        await emu.hangup(call_id)
        await sb.drain(5)
        assert sb.closed_code == 1000
        await sb.close()
    async with await Emulator.start(speed=FAST, seed=1, close_frame_on_end=False) as emu:
        call_id = await emu.start_call()
        sb = await open_sideband(emu, call_id)
        await sb.drain(20)
        assert sb.closed_code == 1006          # no close frame: abnormal closure
        assert emu.call(call_id).end_reason == "caller_hangup"
        await sb.close()
