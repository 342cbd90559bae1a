"""Every public entry point takes the call ids the real service hands out (issue 10).

Why: rtwidgets used to accept only the documentation's example shape (``rtc_u1_`` + 32
lowercase hex), so it refused every real call: attach, create_call (Location), accept,
reject, refer, hangup, the webhook inbox (400 "malformed"), the attach form. Every test
before met only our own emulator, which minted the same wrong shape. Here each entry point is
run with ids copied from real traffic.

Sources (realtime-protocol.md §1, issue 10): call ids published in public projects' logs and
notes: ``rtc_u0_E7JGG7YLOPmJfNx4alnIn`` and ``rtc_u0_EHdCXnMcBqtS5NScMWyvY`` (21 base62),
``rtc_u0_ERgXRp3oMMnXYswMZiboahqXEVDezFD9`` (32), ``rtc_u0_E52xSxAjvyO0yAcpamyDl`` (from a
``Location: /v1/realtime/calls/rtc_u0_E52xSxAjvyO0yAcpamyDl`` header),
``rtc_u0_EPvuUp3oMjxHm4KyxnDpSQVfbHbOEtbS``. The webhook signing vector is the SDK's
(openai/openai-python ``tests/lib/test_webhooks.py``, realtime-protocol.md §3.5). Everything
runs on 127.0.0.1: the emulator (told to use the real id), a request-recording HTTP double on
the SDK's transport seam, and the inbox.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import comm
import httpx2
import openai
import pytest
from comm.base_comm import BaseComm

import rtwidgets
from rtwidgets._capture import CaptureWriter, FrameEncoder, make_header
from rtwidgets._transport import ReconnectPolicy
from rtwidgets.emulator import Emulator
from rtwidgets.widgets._incoming import IncomingCalls

REAL_IDS = (
    "rtc_u0_E7JGG7YLOPmJfNx4alnIn",
    "rtc_u0_EHdCXnMcBqtS5NScMWyvY",
    "rtc_u0_ERgXRp3oMMnXYswMZiboahqXEVDezFD9",
    "rtc_u0_E52xSxAjvyO0yAcpamyDl",
    "rtc_u0_EPvuUp3oMjxHm4KyxnDpSQVfbHbOEtbS",
)
REAL_LOCATION = "/v1/realtime/calls/rtc_u0_E52xSxAjvyO0yAcpamyDl"
API_KEY = "sk-test-not-a-real-key"
FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=3)
SDP_OFFER = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
SDP_ANSWER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=OpenAI\r\nt=0 0\r\n"

# The SDK's own webhook test vector (realtime-protocol.md §3.5).
VECTOR_SECRET = "whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c="
VECTOR_ID = "wh_685c059ae39c8190af8c71ed1022a24d"
VECTOR_TS = 1750861210
VECTOR_BODY = (b'{"id": "evt_685c059ae3a481909bdc86819b066fb6", "object": "event", "created_at": '
               b'1750861210, "type": "response.completed", "data": {"id": "resp_123"}}')
VECTOR_SIGNATURE = "v1,gUAg4R2hWouRZqRQG4uJypNS8YK885G838+EHb4nKBY="


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks, as realtime-protocol.md §3.5 states it."""
    key = (base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_")
           else secret.encode())
    msg = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


class QuietComm(BaseComm):
    """Stands in for the kernel comm: widgets work, nothing leaves the process."""

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        pass


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with await Emulator.start(speed=50, seed=7, host="127.0.0.1") as e:
        yield e


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[openai.AsyncOpenAI]:
    async with emu.client(api_key=API_KEY) as c:
        yield c


class Recorder:
    """The SDK's HTTP seam: records every request, answers with ``respond``."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []
        self.location = REAL_LOCATION

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        self.requests.append(request)
        if request.url.path == "/v1/realtime/calls":
            return httpx2.Response(201, content=SDP_ANSWER.encode(), headers={
                "Location": self.location, "Content-Type": "application/sdp"})
        return httpx2.Response(200)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def stub_client(recorder: Recorder) -> AsyncIterator[openai.AsyncOpenAI]:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(recorder))
    async with openai.AsyncOpenAI(api_key=API_KEY, base_url="http://127.0.0.1:9/v1",
                                  max_retries=0, http_client=http) as c:
        yield c


# -- create_call: the id from a real Location header --------------------------------------------


@pytest.mark.parametrize("location", [
    REAL_LOCATION,
    "https://api.openai.com" + REAL_LOCATION,
    REAL_LOCATION + "?trace=abc",
    REAL_LOCATION + "/",
])
async def test_create_call_reads_a_real_location_header(
        recorder: Recorder, stub_client: openai.AsyncOpenAI, location: str) -> None:
    recorder.location = location
    created = await rtwidgets.create_call(SDP_OFFER, client=stub_client)
    assert created.call_id == "rtc_u0_E52xSxAjvyO0yAcpamyDl"
    assert created.sdp_answer == SDP_ANSWER


async def test_create_call_against_the_emulator_returns_its_real_shaped_id(
        emu: Emulator, client: openai.AsyncOpenAI) -> None:
    created = await rtwidgets.create_call(SDP_OFFER, client=client)
    assert len(created.call_id) - len("rtc_u1_") in range(21, 33)
    assert emu.call(created.call_id).status == "active"
    await rtwidgets.hangup(created.call_id, client=client)


# -- call control: the requests carry the real id ----------------------------------------------


@pytest.mark.parametrize("call_id", REAL_IDS)
async def test_control_actions_send_the_real_id(
        recorder: Recorder, stub_client: openai.AsyncOpenAI, call_id: str) -> None:
    await rtwidgets.accept(call_id, instructions="Be brief.", client=stub_client)
    await rtwidgets.reject(call_id, 486, client=stub_client)
    await rtwidgets.refer(call_id, "tel:+14155550123", client=stub_client)
    await rtwidgets.hangup(call_id, client=stub_client)
    assert [r.url.path for r in recorder.requests] == [
        f"/v1/realtime/calls/{call_id}/{action}"
        for action in ("accept", "reject", "refer", "hangup")]


async def test_accept_attach_refer_on_the_emulator_with_a_real_id(
        emu: Emulator, client: openai.AsyncOpenAI, tmp_path: Path) -> None:
    call_id = REAL_IDS[2]  # the 32-character one
    assert await emu.start_call(transport="sip", call_id=call_id) == call_id
    await rtwidgets.accept(call_id, instructions="Answer as the front desk.", client=client)
    call = await rtwidgets.attach(call_id, client=client, capture=tmp_path / "c.jsonl",
                                  reconnect=FAST)
    try:
        assert call.status.state == "live", call.status
        assert call.call_id == call_id
        assert call.transport_kind == "sip"
        await emu.wait_attached(call_id, timeout=10)
        await rtwidgets.refer(call_id, "sip:agent@example.com", client=client)
        assert await emu.wait_ended(call_id, timeout=10) == "referred"
    finally:
        await call.close()
    assert [r["path"].rsplit("/", 1)[-1] for r in emu.requests if r["call_id"] == call_id] \
        == ["accept", "refer"]
    rec = rtwidgets.load(tmp_path / "c.jsonl")
    assert rec.call_id == call_id


async def test_reject_and_hangup_on_the_emulator_with_real_ids(
        emu: Emulator, client: openai.AsyncOpenAI) -> None:
    ringing = await emu.start_call(transport="sip", call_id=REAL_IDS[0])
    await rtwidgets.reject(ringing, 486, client=client)
    assert await emu.wait_ended(ringing, timeout=10) == "rejected (486)"
    live = await emu.start_call(transport="webrtc", call_id=REAL_IDS[1])
    await rtwidgets.hangup(live, client=client)
    assert await emu.wait_ended(live, timeout=10) == "hangup"


async def test_the_emulator_answers_404_for_a_real_shaped_id_it_never_minted(
        emu: Emulator, client: openai.AsyncOpenAI, tmp_path: Path) -> None:
    unknown = REAL_IDS[4]
    for action in (rtwidgets.hangup(unknown, client=client),
                   rtwidgets.accept(unknown, client=client),
                   rtwidgets.reject(unknown, client=client),
                   rtwidgets.refer(unknown, "tel:+14155550123", client=client)):
        with pytest.raises(rtwidgets.CallNotFoundError) as info:
            await action
        assert unknown in str(info.value)  # an id-shaped value is named, not hidden
    # The requests did go out (the id was not refused before sending).
    assert [r["call_id"] for r in emu.requests] == [unknown] * 4
    call = await rtwidgets.attach(unknown, client=client, capture=False, reconnect=False,
                                  connect_timeout=10)
    assert call.status.state == "ended"
    assert "404" in call.status.reason
    await call.close()


async def test_the_control_api_starts_a_call_under_a_caller_chosen_real_id(
        emu: Emulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emu.control_url}/calls",
                             json={"transport": "webrtc", "call_id": REAL_IDS[3]}) as r:
            assert r.status == 201
            assert await r.json() == {"call_id": REAL_IDS[3]}
        async with http.post(f"{emu.control_url}/calls",
                             json={"transport": "webrtc", "call_id": REAL_IDS[3]}) as r:
            assert r.status == 400                      # already in use
            assert (await r.json())["error"]["param"] == "call_id"
        async with http.post(f"{emu.control_url}/calls",
                             json={"call_id": "rtc_u1_sk-proj-NotARealKey0123456789"}) as r:
            assert r.status == 400
            text = await r.text()
            assert "NotARealKey" not in text
            assert "call_id" in text
        async with http.get(f"{emu.control_url}/calls/{REAL_IDS[3]}") as r:
            assert r.status == 200
    assert emu.call(REAL_IDS[3]).status == "active"


# -- the webhook inbox -------------------------------------------------------------------------


def test_the_signing_helper_reproduces_the_sdk_test_vector() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE


async def test_the_inbox_queues_a_signed_delivery_with_a_real_call_id() -> None:
    body = json.dumps({
        "object": "event", "id": "evt_685343a1381c819085d44c354e1b330e",
        "type": "realtime.call.incoming", "created_at": int(time.time()),
        "data": {"call_id": REAL_IDS[0], "sip_media_security": "srtp", "sip_headers": [
            {"name": "From", "value": "sip:+142555512112@sip.example.com"},
            {"name": "To", "value": "sip:+18005551212@sip.example.com"}]},
    }).encode()
    ts = int(time.time())
    headers = {"webhook-id": VECTOR_ID, "webhook-timestamp": str(ts),
               "webhook-signature": sign(VECTOR_SECRET, VECTOR_ID, ts, body),
               "content-type": "application/json"}
    async with rtwidgets.WebhookInbox(secret=VECTOR_SECRET) as inbox, \
            aiohttp.ClientSession() as http:
        assert inbox.url is not None
        async with http.post(inbox.url, data=body, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
        incoming = await inbox.get(timeout=5)
    assert incoming.call_id == REAL_IDS[0]
    assert incoming.webhook_id == VECTOR_ID


async def test_the_incoming_calls_form_accepts_and_attaches_a_real_id(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: QuietComm(*a, **k))
    secret = "whsec_" + base64.b64encode(b"real-ids-test-secret-not-a-real").decode()
    client = openai.AsyncOpenAI(api_key=API_KEY, base_url="http://127.0.0.1:9/v1")
    inbox = await rtwidgets.WebhookInbox(secret=secret, client=client).start()
    assert inbox.url is not None
    emu = await Emulator.start(speed=50, seed=7, webhook_url=inbox.url, webhook_secret=secret)
    client.base_url = emu.base_url
    client.websocket_base_url = emu.websocket_base_url
    view = IncomingCalls(inbox)
    try:
        call_id = await emu.start_call(transport="sip", call_id=REAL_IDS[1])
        for _ in range(500):
            if call_id in view.calls:
                break
            await asyncio.sleep(0.01)
        assert call_id in view.row(call_id).header.value
        await view.accept(call_id)
        view.attach_options = {"capture": tmp_path / "in.jsonl", "reconnect": FAST}
        await view.attach(call_id)
        assert view.attached[call_id].call_id == call_id
        assert view.attached[call_id].status.state == "live"
    finally:
        for call in view.attached.values():
            await call.close()
        view.close()
        await inbox.close()
        await emu.close()
        await client.close()


# -- attach and the attach form ----------------------------------------------------------------


@pytest.mark.parametrize("call_id", REAL_IDS)
async def test_attach_to_each_real_id(
        emu: Emulator, client: openai.AsyncOpenAI, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, call_id: str) -> None:
    monkeypatch.chdir(tmp_path)  # the default capture goes to ./captures
    await emu.start_call(transport="webrtc", call_id=call_id)
    call = await rtwidgets.attach(call_id, client=client, capture=None, reconnect=FAST)
    try:
        assert call.status.state == "live", call.status
        await call.wait_for("response.done", timeout=10)
        # The default capture file is named after the id: a safe file name.
        assert call.capture_path is not None
        assert call.capture_path.name.startswith(call_id + "-")
        assert call.capture_path.parent.name == "captures"
    finally:
        await call.close()
    assert rtwidgets.load(call.capture_path).call_id == call_id


async def test_the_attach_form_attaches_to_a_pasted_real_id(
        emu: Emulator, client: openai.AsyncOpenAI, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: QuietComm(*a, **k))
    call_id = await emu.start_call(transport="webrtc", call_id=REAL_IDS[3])
    console = rtwidgets.CallConsole(client=client, attach_options={
        "capture": tmp_path / "console.jsonl", "reconnect": FAST})
    console.call_id_field.value = f"  {call_id}\n"   # pasted with the line around it
    console.attach_button.click()
    await console.wait_actions()
    try:
        assert console.last_error is None, console.message.value
        assert console.source is not None
        assert console.source.call_id == call_id
        assert console.call_id_field.value == call_id
    finally:
        await console.detach()
        console.close()


# -- load: a capture whose header names a real id ----------------------------------------------


@pytest.mark.parametrize("transport", [None, "sip"])
def test_load_a_capture_with_a_real_id(tmp_path: Path, transport: str | None) -> None:
    path = tmp_path / "real.jsonl"
    writer = CaptureWriter(path, make_header(REAL_IDS[2], transport=transport, source="live"))
    enc = FrameEncoder()
    line, *_ = enc.encode(
        "in", '{"type":"input_audio_buffer.cleared","event_id":"event_Ct1OVqJmiaDhg4nkh3JWr"}',
        1000.0, 0.0)
    writer.write(line)
    writer.close()
    rec = rtwidgets.load(path)
    assert rec.call_id == REAL_IDS[2]
    assert rec.transport_kind == "sip"   # from the header, else from the u0_ marker
    assert [f.type for f in rec.frames()] == ["input_audio_buffer.cleared"]
    assert REAL_IDS[2] in repr(rec)
