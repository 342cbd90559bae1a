"""The calls REST API, driven by the official openai SDK: create (raw and multipart), accept,
reject, refer, hangup, their 404s and 400 envelopes, and the 401 without a key; a refer over
HTTP ends the call as the core's refer does in virtual mode (both APIs)."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
import openai
import pytest

from rtwidgets.emulator import Emulator, VirtualCall
from rtwidgets.emulator.core.outputs import dumps

from .conftest import API_KEY, AUTH


def _as_any(value: Any) -> Any:
    """Send a value the SDK's types forbid (the point is the server's answer)."""
    return value


OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
# The shape real WebRTC call ids have (base62 of varying length, issue 10), not the docs' hex.
CALL_ID = re.compile(r"^rtc_u1_[0-9A-Za-z]{21,32}$")


async def test_create_raw_sdp_returns_201_answer_and_location(emu: Emulator) -> None:
    client = emu.client(api_key=API_KEY)
    raw = await client.realtime.calls.with_raw_response.create(sdp=OFFER)
    assert raw.status_code == 201
    assert raw.headers["content-type"].startswith("application/sdp")
    location = raw.headers["location"]
    call_id = location.rsplit("/", 1)[-1]
    assert location == f"/v1/realtime/calls/{call_id}"
    assert CALL_ID.match(call_id)
    answer = raw.content.decode()
    assert answer.startswith("v=0\r\n")
    assert "a=fingerprint:sha-256" in answer
    assert "m=application 9 UDP/DTLS/SCTP webrtc-datachannel" in answer
    assert emu.requests[-1]["body"]["sdp"] == OFFER
    assert emu.requests[-1]["call_id"] == call_id
    assert emu.call(call_id).status == "active"
    await client.close()


async def test_raw_application_sdp_body_is_accepted(emu: Emulator) -> None:
    async with aiohttp.ClientSession() as http, http.post(
            f"{emu.base_url}/realtime/calls", data=OFFER,
            headers={**AUTH, "Content-Type": "application/sdp"}) as resp:
        assert resp.status == 201
        assert resp.headers["Location"].startswith("/v1/realtime/calls/rtc_u1_")
    assert emu.requests[-1]["content_type"] == "application/sdp"


async def test_create_multipart_with_session_applies_it(emu: Emulator) -> None:
    client = emu.client(api_key=API_KEY)
    raw = await client.realtime.calls.with_raw_response.create(
        sdp=OFFER, session={"type": "realtime", "model": "gpt-realtime-2.1",
                            "instructions": "Be brief.",
                            "audio": {"output": {"voice": "marin"}}})
    assert raw.status_code == 201
    call_id = raw.headers["location"].rsplit("/", 1)[-1]
    assert emu.requests[-1]["content_type"] == "multipart/form-data"
    assert emu.requests[-1]["body"]["session"]["instructions"] == "Be brief."
    session = emu.call(call_id).session
    assert session["instructions"] == "Be brief."
    assert session["model"] == "gpt-realtime-2.1"
    assert session["audio"]["output"]["voice"] == "marin"
    assert session["audio"]["output"]["speed"] == 1.0   # merged onto the defaults
    await client.close()


async def test_create_with_bad_session_is_400_envelope_and_no_call(emu: Emulator) -> None:
    client = emu.client(api_key=API_KEY)
    with pytest.raises(openai.BadRequestError) as err:
        await client.realtime.calls.create(
            sdp=OFFER, session={"type": "realtime",
                                "audio": {"output": {"speed": 7}}})
    assert err.value.status_code == 400
    body = err.value.body
    assert isinstance(body, dict)
    assert body["param"] == "session.audio.output.speed"
    assert body["type"] == "invalid_request_error"
    assert "Fix:" in body["message"]
    assert emu.calls == {}
    with pytest.raises(openai.BadRequestError) as err:
        await client.realtime.calls.create(sdp="not an offer")
    assert isinstance(err.value.body, dict)
    assert err.value.body["param"] == "sdp"
    await client.close()


async def test_missing_key_is_401(emu: Emulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emu.base_url}/realtime/calls", data=OFFER,
                             headers={"Content-Type": "application/sdp"}) as resp:
            assert resp.status == 401
            body = await resp.json()
            assert set(body["error"]) == {"message", "type", "param", "code"}
        async with http.post(f"{emu.base_url}/realtime/calls/rtc_u1_{'0' * 32}/hangup") as resp:
            assert resp.status == 401
    assert emu.calls == {}


async def test_sip_accept_reject_refer_hangup_and_404s() -> None:
    async with await Emulator.start(speed=50, seed=3) as emu:
        client = emu.client(api_key=API_KEY)
        # accept: 200, empty body; the call runs with the accepted session.
        call_id = await emu.start_call(transport="sip")
        assert call_id.startswith("rtc_u0_")
        assert emu.call(call_id).status == "incoming"
        raw = await client.realtime.calls.with_raw_response.accept(
            call_id, type="realtime", model="gpt-realtime-2.1", instructions="Hello there.",
            audio={"output": {"voice": "cedar"}})
        assert raw.status_code == 200
        assert raw.content == b""
        call = emu.call(call_id)
        assert call.status == "active"
        assert call.session["instructions"] == "Hello there."
        assert call.session["audio"]["output"]["voice"] == "cedar"
        assert emu.requests[-1]["body"]["type"] == "realtime"
        # accepting twice is refused with the envelope
        with pytest.raises(openai.BadRequestError):
            await client.realtime.calls.accept(call_id, type="realtime")
        # refer needs target_uri
        async with aiohttp.ClientSession() as http, http.post(
                f"{emu.base_url}/realtime/calls/{call_id}/refer", json={}, headers=AUTH) as r:
            assert r.status == 400
            assert (await r.json())["error"]["param"] == "target_uri"
        await client.realtime.calls.refer(call_id, target_uri="tel:+14155550123")
        assert emu.requests[-1]["body"] == {"target_uri": "tel:+14155550123"}
        assert (call.status, call.end_reason) == ("ended", "referred")
        with pytest.raises(openai.NotFoundError):
            await client.realtime.calls.hangup(call_id)

        # reject with a status code; then it is gone
        rejected = await emu.start_call(transport="sip")
        await client.realtime.calls.reject(rejected, status_code=486)
        assert emu.call(rejected).end_reason == "rejected (486)"
        assert emu.requests[-1]["body"] == {"status_code": 486}
        with pytest.raises(openai.NotFoundError):
            await client.realtime.calls.accept(rejected, type="realtime")
        bad = await emu.start_call(transport="sip")
        with pytest.raises(openai.BadRequestError) as err:
            await client.realtime.calls.reject(bad, status_code=200)
        assert isinstance(err.value.body, dict)
        assert err.value.body["param"] == "status_code"
        with pytest.raises(openai.BadRequestError) as err:
            await client.realtime.calls.accept(bad, type=_as_any("transcription"))
        assert isinstance(err.value.body, dict)
        assert err.value.body["param"] == "type"
        with pytest.raises(openai.BadRequestError) as err:
            await client.realtime.calls.accept(bad, type="realtime",
                                               output_modalities=_as_any(["video"]))
        assert isinstance(err.value.body, dict)
        assert err.value.body["param"].startswith("output_modalities")
        assert emu.call(bad).status == "incoming"   # a bad accept changes nothing

        # hangup of a WebRTC call
        webrtc = await emu.start_call()
        raw_h = await client.realtime.calls.with_raw_response.hangup(webrtc)
        assert raw_h.status_code == 200
        assert raw_h.content == b""
        assert emu.call(webrtc).end_reason == "hangup"
        with pytest.raises(openai.NotFoundError) as nf:
            await client.realtime.calls.hangup(webrtc)
        assert isinstance(nf.value.body, dict)
        assert nf.value.body["code"] == "call_not_found"
        with pytest.raises(openai.NotFoundError):
            await client.realtime.calls.hangup("rtc_u1_" + "f" * 32)
        # a non-JSON body gets the envelope
        async with aiohttp.ClientSession() as http, http.post(
                f"{emu.base_url}/realtime/calls/{bad}/accept", data="{nope",
                headers={**AUTH, "Content-Type": "application/json"}) as r:
            assert r.status == 400
            assert json.loads(await r.text())["error"]["code"] == "invalid_json"
        await client.close()


async def test_requests_never_hold_the_api_key(emu: Emulator) -> None:
    client = emu.client(api_key=API_KEY)
    await client.realtime.calls.create(sdp=OFFER)
    await client.close()
    assert API_KEY not in json.dumps(emu.requests)
    assert API_KEY not in repr(emu)


async def test_a_key_used_as_a_call_id_is_never_echoed(emu: Emulator) -> None:
    pasted = "sk-proj-pasted-by-mistake-0123456789"
    async with aiohttp.ClientSession() as http, http.post(
            f"{emu.base_url}/realtime/calls/{pasted}/hangup", headers=AUTH) as r:
        assert r.status == 404
        assert pasted not in await r.text()
    with pytest.raises(KeyError) as err:
        emu.record(pasted)
    assert pasted not in str(err.value)


def _said_transfer(event: dict[str, Any]) -> bool:
    if event.get("type") == "response.output_audio_transcript.done":           # Realtime
        return "transferring" in event["transcript"]
    return (event.get("type") == "session.output_transcript.delta"             # GPT-Live
            and "transferring" in event["delta"])


@pytest.mark.parametrize("api", ["realtime", "live"])
async def test_a_refer_over_http_is_the_core_refer_as_in_virtual_mode(api: str) -> None:
    """Issue 12: ``POST …/refer`` goes through the session core's ``refer``, so the call ends
    as ``VirtualCall.refer`` ends it: the same note, the same end, byte-identical frames when
    the refer comes at the same call time."""
    async with await Emulator.start(speed=50, seed=5) as emu:
        client = emu.client(api_key=API_KEY)
        call_id = await emu.start_call(api=api, transport="sip", scenario="sip_transfer")
        path = (f"realtime?call_id={call_id}" if api == "realtime"
                else f"live/sessions/{call_id}/attach")
        if api == "realtime":
            await client.realtime.calls.accept(call_id, type="realtime")
        else:
            await client.live.sessions.accept(call_id, session={"type": "live",
                                                                "model": "gpt-live-1"})
        frames: list[str] = []
        async with aiohttp.ClientSession() as http, http.ws_connect(
                f"{emu.websocket_base_url}/{path}", headers=AUTH, max_msg_size=0) as ws:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                frames.append(msg.data)
                if _said_transfer(json.loads(msg.data)):
                    # a bad target changes nothing; then the transfer
                    with pytest.raises(openai.BadRequestError):
                        await (client.realtime.calls if api == "realtime" else
                               client.live.sessions).refer(call_id, target_uri="+1415555")
                    assert emu.call(call_id).status == "active"
                    await (client.realtime.calls if api == "realtime" else
                           client.live.sessions).refer(call_id, target_uri="tel:+14155550123")
        assert await emu.wait_ended(call_id, 10) == "referred"
        assert emu.requests[-1]["body"] == {"target_uri": "tel:+14155550123"}
        notes = [r for r in emu.record(call_id) if r["direction"] == "meta"
                 and r["event"]["type"] == "emulator.call_transferred"]
        assert [n["event"]["target_uri"] for n in notes] == ["tel:+14155550123"]
        at = notes[0]["call_ms"]
        await client.close()

    # The same call in virtual mode, transferred at the call time the HTTP refer arrived.
    call = VirtualCall("sip_transfer", 5, transport="sip", call_id=call_id,
                       api=api,  # type: ignore[arg-type]
                       session={"model": "gpt-live-1"} if api == "live" else None)
    while (deadline := call.next_deadline()) is not None and deadline <= at:
        call.step()
    call.refer("tel:+14155550123", at=at)
    assert (call.status, call.end_reason) == ("ended", "referred")
    assert [n for n in call.notes if n["type"] == "emulator.call_transferred"] == [
        {"type": "emulator.call_transferred", "target_uri": "tel:+14155550123", "call_ms": at}]
    assert frames == [dumps(e) for e in call.events]
    if api == "live":
        assert json.loads(frames[-1])["type"] == "session.closed"
        assert json.loads(frames[-1])["reason"] == "close_requested"
