"""The emulator's GPT-Live routes (_live.py), driven by the official SDK's ``client.live.*``:
create, the sideband, the session controls, SIP announced both ways (first accept wins), the
control API; a seeded session is byte-identical at two speeds and equal to its virtual run."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openai
import pytest
from aiohttp import web

from rtwidgets.emulator import Emulator, run_scenario
from rtwidgets.emulator.core.outputs import dumps
from rtwidgets.protocol.ids import is_call_id, is_live_session_id

from .conftest import API_KEY, AUTH, FAST, count_writes, serve_webhook, validate_live_event

SECRET = "whsec_cnR3aWRnZXRzLWxpdmUtZW11bGF0b3Ita2V5LTMyYg=="
OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"], "additionalProperties": False}}
RESPONSES = {"type": "responses", "responses": {"model": "gpt-5.5", "tools": [WEATHER]}}


async def raw_sideband(emu: Emulator, session_id: str) -> tuple[aiohttp.ClientSession,
                                                                  aiohttp.ClientWebSocketResponse]:
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(f"{emu.websocket_base_url}/live/sessions/{session_id}/attach",
                               headers=AUTH, max_msg_size=0)
    return http, ws


async def drain(ws: aiohttp.ClientWebSocketResponse) -> list[str]:
    frames: list[str] = []
    while True:
        msg = await ws.receive(timeout=60)
        if msg.type != aiohttp.WSMsgType.TEXT:
            return frames
        frames.append(msg.data)


async def socket_run(speed: float) -> list[str]:
    async with await Emulator.start(speed=speed, seed=7, scenario="conversation") as emu:
        session_id = await emu.start_call(api="live")
        http, ws = await raw_sideband(emu, session_id)
        frames = await drain(ws)
        await http.close()
        assert emu.call(session_id).status == "ended"
        return frames


async def test_a_seeded_live_session_is_byte_identical_at_two_speeds_and_virtually() -> None:
    slow = await socket_run(20)
    fast = await socket_run(60)
    assert slow == fast
    assert fast == [dumps(e) for e in run_scenario("conversation", 7, api="live")]
    assert json.loads(fast[-1])["type"] == "session.closed"


async def test_the_sdk_creates_attaches_and_answers_a_delegated_tool() -> None:
    async with await Emulator.start(speed=FAST, seed=3, scenario="tools",
                                    caller_patience_s=10) as emu:
        client = emu.client(api_key=API_KEY)
        raw = await client.live.with_raw_response.create(
            session={"model": "gpt-live-1", "delegation": RESPONSES},  # type: ignore[typeddict-item]
            transport={"type": "webrtc", "sdp": OFFER})
        assert raw.status_code == 201
        created = raw.parse()
        session_id = created.session.id
        assert is_live_session_id(session_id)
        assert created.transport.sdp.startswith("v=0")
        seen: list[dict[str, Any]] = []
        async with client.live.sideband.connect(session_id=session_id,
                                                graceful_close=True) as conn:
            async for event in conn:
                data = event.model_dump(exclude_unset=True)
                seen.append(data)
                validate_live_event(data)
                inner = data.get("event") or {}
                if data["type"] == "response.event" and \
                        inner.get("type") == "response.output_item.done" and \
                        inner["item"]["type"] == "function_call":
                    await conn.response.item.create(item={
                        "type": "function_call_output", "call_id": inner["item"]["call_id"],
                        "output": json.dumps({"temperature": 19, "conditions": "cloudy"})})
                    await conn.response.create()
                if data["type"] == "session.output_transcript.delta" and \
                        "cloudy" in data["delta"]:
                    await conn.session.close(event_id="bye")
        closed = seen[-1]
        assert closed["type"] == "session.closed"
        assert closed["reason"] == "close_requested"
        assert closed["client_event_id"] == "bye"
        completed = [e["event"]["response"] for e in seen if e["type"] == "response.event"
                     and e["event"]["type"] == "response.completed"]
        assert len(completed) == 2
        assert completed[1]["previous_response_id"] == completed[0]["id"]
        # the request carried the session; the create was JSON, not SDP text
        assert emu.requests[0]["path"] == "/v1/live/sessions"
        assert emu.requests[0]["body"]["transport"]["type"] == "webrtc"
        await client.close()


async def test_create_refuses_bad_input_with_field_and_fix(emu: Emulator) -> None:
    client = emu.client(api_key=API_KEY)
    with pytest.raises(openai.BadRequestError) as err:
        await client.live.create(session={"instructions": "no model"},  # type: ignore[typeddict-item]
                                 transport={"type": "webrtc", "sdp": OFFER})
    assert err.value.body["param"] == "session.model"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as err:
        await client.live.create(session={"model": "gpt-live-1", "voice": "marin"},  # type: ignore[typeddict-unknown-key]
                                 transport={"type": "webrtc", "sdp": OFFER})
    assert err.value.body["code"] == "unknown_parameter"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as err:
        await client.live.create(session={"model": "gpt-live-1"},
                                 transport={"type": "webrtc", "sdp": "not sdp"})
    assert err.value.body["param"] == "transport.sdp"  # type: ignore[index]
    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"{emu.base_url}/live/sessions", json={
            "session": {"model": "gpt-live-1"}, "transport": {"type": "webrtc", "sdp": OFFER}})
        assert resp.status == 401
    assert not emu.calls
    await client.close()


async def test_sideband_handshake_refusals(emu: Emulator) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{emu.websocket_base_url}/live/sessions/live_u0_nope/attach"
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await http.ws_connect(url, headers=AUTH)
        assert err.value.status == 404
        session_id = await emu.start_call(api="live")
        rtc = await emu.start_call()
        # a Realtime sideband cannot attach to a Live session, nor a Live one to a call
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(f"{emu.websocket_base_url}/realtime?call_id={session_id}",
                                  headers=AUTH)
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(f"{emu.websocket_base_url}/live/sessions/{rtc}/attach",
                                  headers=AUTH)
        ws = await http.ws_connect(
            f"{emu.websocket_base_url}/live/sessions/{session_id}/attach",
            headers={"Authorization": "Bearer sk-wrong"})
        emu._valid_keys = frozenset({"0" * 64})   # only one key is valid now
        ws2 = await http.ws_connect(
            f"{emu.websocket_base_url}/live/sessions/{session_id}/attach",
            headers={"Authorization": "Bearer sk-wrong"})
        msg = await ws2.receive(timeout=5)
        error = json.loads(msg.data)
        validate_live_event(error)
        assert error["error"]["code"] == "invalid_api_key"
        assert "sk-wrong" not in msg.data
        await ws2.receive(timeout=5)
        assert ws2.close_code == 3000
        await ws.close()


async def test_live_session_controls_through_the_sdk(emu: Emulator) -> None:
    client = emu.client(api_key=API_KEY)
    stored = await emu.start_call(api="live", session={"store": True})
    plain = await emu.start_call(api="live")
    fork = await client.live.sessions.fork(stored, transport={"type": "webrtc", "sdp": OFFER})
    assert is_live_session_id(fork.session.id)
    assert fork.session.id not in (stored, plain)
    assert emu.call(fork.session.id).session["store"] is True
    with pytest.raises(openai.BadRequestError) as err:
        await client.live.sessions.fork(plain, transport={"type": "webrtc", "sdp": OFFER})
    assert err.value.body["code"] == "session_not_stored"  # type: ignore[index]
    recording = await client.live.sessions.download_recording(stored)
    assert recording.content[:4] == b"RIFF"
    with pytest.raises(openai.NotFoundError):
        await client.live.sessions.download_recording(plain)
    await client.live.sessions.refer(stored, target_uri="tel:+14155550123")
    assert emu.call(stored).end_reason == "referred"
    await client.live.sessions.hangup(plain)
    assert emu.call(plain).end_reason == "hangup"
    closed = [r["event"] for r in emu.record(plain) if r["direction"] == "sent"][-1]
    assert closed["type"] == "session.closed"
    assert closed["reason"] == "close_requested"
    with pytest.raises(openai.NotFoundError):
        await client.live.sessions.hangup(plain)
    await client.close()


class Receiver:
    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.got = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.deliveries.append(({k.lower(): v for k, v in request.headers.items()},
                                await request.read()))
        if len(self.deliveries) >= 2:
            self.got.set()
        return web.Response(status=200)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    rec = Receiver()
    async with serve_webhook(rec.handle) as url:
        yield rec, url


@pytest.mark.parametrize("first", ["live", "realtime"])
async def test_a_sip_call_is_announced_both_ways_and_the_first_accept_wins(
        receiver: tuple[Receiver, str], first: str) -> None:
    rec, url = receiver
    async with await Emulator.start(speed=FAST, seed=5, webhook_url=url,
                                    webhook_secret=SECRET, scenario="conversation") as emu:
        async with aiohttp.ClientSession() as http:
            resp = await http.post(f"{emu.control_url}/calls",
                                   json={"api": "live", "transport": "sip"})
            assert resp.status == 201
            answer = await resp.json()
        session_id, call_id = answer["session_id"], answer["call_id"]
        assert is_live_session_id(session_id)
        assert is_call_id(call_id)
        await asyncio.wait_for(rec.got.wait(), 5)
        client = emu.client(api_key=API_KEY)
        events = [client.webhooks.unwrap(body, headers) for headers, body in rec.deliveries]
        by_type = {e.type: e for e in events}
        live_event = by_type["live.transport.incoming"]
        rtc_event = by_type["realtime.call.incoming"]
        assert live_event.data.session_id == session_id  # type: ignore[union-attr]
        assert live_event.data.type == "sip"  # type: ignore[union-attr]
        assert rtc_event.data.call_id == call_id  # type: ignore[union-attr]
        assert [h.model_dump() for h in live_event.data.sip_headers] == [  # type: ignore[union-attr]
            h.model_dump() for h in rtc_event.data.sip_headers]  # type: ignore[union-attr]
        if first == "live":
            await client.live.sessions.accept(session_id, session={"type": "live",
                                                                   "model": "gpt-live-1"})
            with pytest.raises(openai.ConflictError) as err:
                await client.realtime.calls.accept(call_id, type="realtime")
            assert emu.call(session_id).status == "active"
            http2, ws = await raw_sideband(emu, session_id)
            msg = await ws.receive(timeout=10)
            validate_live_event(json.loads(msg.data))
            await ws.close()
            await http2.close()
        else:
            await client.realtime.calls.accept(call_id, type="realtime")
            with pytest.raises(openai.ConflictError) as err:
                await client.live.sessions.accept(session_id, session={"type": "live",
                                                                       "model": "gpt-live-1"})
            assert emu.call(call_id).status == "active"
        assert err.value.body["code"] == "call_already_accepted"  # type: ignore[index]
        assert SECRET not in repr(emu)
        await client.close()


async def test_a_live_sip_call_can_be_rejected_and_both_ids_end(emu: Emulator) -> None:
    session_id = await emu.start_call(api="live", transport="sip")
    twin = emu.live.twins[session_id]
    client = emu.client(api_key=API_KEY)
    with pytest.raises(openai.BadRequestError):
        await client.live.sessions.reject(session_id, status_code=200)
    await client.live.sessions.reject(session_id, status_code=486)
    assert emu.call(session_id).end_reason == "rejected (486)"
    assert emu.call(twin).status == "ended"
    assert not [r for r in emu.record(session_id) if r["direction"] == "sent"]
    await client.close()


async def test_control_api_refuses_an_unknown_api(emu: Emulator) -> None:
    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"{emu.control_url}/calls", json={"api": "gpt-live"})
        assert resp.status == 400
        assert (await resp.json())["error"]["param"] == "api"
        resp = await http.post(f"{emu.control_url}/calls", json={"api": "live"})
        assert resp.status == 201
        body = await resp.json()
        assert list(body) == ["session_id"]
        listed = await (await http.get(f"{emu.control_url}/calls/{body['session_id']}")).json()
        assert listed["api"] == "live"


async def test_a_live_sideband_gets_batched_writes_and_a_compact_record(
        emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell's capacity work holds for Live too: the frames of one step go out in one
    transport write, the record keeps untracked tuples read back as the wire text, and a
    closed sideband lets go of its aiohttp objects."""
    session_id = await emu.start_call(api="live", scenario="tools",
                                      session={"model": "gpt-live-1", "delegation": RESPONSES})
    http, ws = await raw_sideband(emu, session_id)
    call = emu.call(session_id)
    sock = call.sockets["ws1"]
    writes = count_writes(sock.request.transport, monkeypatch)
    frames = await drain(ws)            # nobody answers the tool: the caller gives up, ends
    monkeypatch.undo()
    await http.close()
    # the delegation and the backend's first events are due at one call time: one write
    step = [w for w in writes if b'"session.delegation.created"' in w]
    assert len(step) == 1
    assert b'"response.created"' in step[0]
    assert b'"response.in_progress"' in step[0]
    assert sum(w.count(b'"session.delegation.created"') for w in writes) == 1
    gc.collect()
    assert not [rec for rec in call.records if rec[0] != "meta" and gc.is_tracked(rec)]
    sent = [r for r in emu.record(session_id) if r["direction"] == "sent"
            and "ws1" in r["sockets"]]          # not the data channel's session.started
    assert [dumps(r["event"]) for r in sent] == frames
    await call.wait_closed()
    assert sock.finished.is_set()
    assert (sock.ws, sock.request) == (None, None)
