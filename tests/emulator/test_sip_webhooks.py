"""SIP calls: the signed realtime.call.incoming webhook (checked by the SDK's own unwrap and
by the protocol doc's test vector), retries on non-2xx, and accept/reject deciding the call."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from aiohttp import web

from rtwidgets.emulator import Emulator, sign_webhook

from .conftest import API_KEY, FAST, open_sideband, serve_webhook

SECRET = "whsec_" + base64.b64encode(b"emulator-test-secret-32-bytes!!!").decode()


def test_signature_matches_the_documented_test_vector() -> None:
    body = (b'{"id": "evt_685c059ae3a481909bdc86819b066fb6", "object": "event", '
            b'"created_at": 1750861210, "type": "response.completed", '
            b'"data": {"id": "resp_123"}}')
    sig = sign_webhook("whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c=",
                       "wh_685c059ae39c8190af8c71ed1022a24d", 1750861210, body)
    assert sig == "v1,gUAg4R2hWouRZqRQG4uJypNS8YK885G838+EHb4nKBY="


def test_non_whsec_secret_is_used_as_bytes() -> None:
    a = sign_webhook("plain-secret", "wh_1", 1, b"{}")
    b = sign_webhook("whsec_" + base64.b64encode(b"plain-secret").decode(), "wh_1", 1, b"{}")
    assert a == b


class Receiver:
    """A tiny webhook endpoint; answers with the queued statuses, then 200."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.got = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.deliveries.append(({k.lower(): v for k, v in request.headers.items()},
                                await request.read()))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.got.set()
        return web.Response(status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    rec = Receiver()
    async with serve_webhook(rec.handle) as url:
        yield rec, url


async def test_sip_call_webhook_unwraps_with_the_sdk_and_accept_runs_it(
        receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    rec.statuses = [500, 503]
    async with await Emulator.start(speed=FAST, seed=11, webhook_url=url,
                                    webhook_secret=SECRET,
                                    webhook_retry_delays=(0.01, 0.01, 0.01)) as emu:
        call_id = await emu.start_call(transport="sip", scenario="tools")
        await asyncio.wait_for(rec.got.wait(), 5)
        assert len(rec.deliveries) == 3                      # two retries after 500, 503
        ids = {h["webhook-id"] for h, _ in rec.deliveries}
        assert len(ids) == 1                                 # same delivery id on retries
        headers, body = rec.deliveries[-1]
        client = emu.client(api_key=API_KEY)
        event = client.webhooks.unwrap(body, headers)
        assert event.type == "realtime.call.incoming"
        assert event.data.call_id == call_id
        assert [h.name for h in event.data.sip_headers] == ["From", "To", "Call-ID"]
        assert event.object == "event"
        assert headers["user-agent"].startswith("OpenAI/1.0")
        # a wrong secret is refused by the SDK
        with pytest.raises(openai.InvalidWebhookSignatureError):
            client.webhooks.unwrap(body, headers, secret="whsec_" + base64.b64encode(
                b"another-secret-another-secret-xx").decode())
        delivery = emu.webhook_deliveries[-1]
        assert delivery.delivered
        assert [a.get("status") for a in delivery.attempts] == [500, 503, 200]
        # the call waits for accept, then runs with the accepted session
        await asyncio.sleep(0.1)
        assert emu.call(call_id).status == "incoming"
        assert not [r for r in emu.record(call_id) if r["direction"] == "sent"]
        await client.realtime.calls.accept(call_id, type="realtime", tools=[{
            "type": "function", "name": "get_weather", "description": "weather",
            "parameters": {"type": "object", "properties": {}}}])
        sb = await open_sideband(emu, call_id)
        done = await sb.until("response.function_call_arguments.done")
        assert done["name"] == "get_weather"
        await sb.close()
        await client.close()
        # no secret anywhere the emulator shows or keeps
        view = json.dumps([d.as_dict() for d in emu.webhook_deliveries]) + repr(emu)
        assert SECRET not in view
        assert SECRET.removeprefix("whsec_") not in view


async def test_sip_call_rejected_never_runs(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    async with await Emulator.start(speed=FAST, seed=12, webhook_url=url,
                                    webhook_secret=SECRET) as emu:
        call_id = await emu.start_call(transport="sip")
        await asyncio.wait_for(rec.got.wait(), 5)
        client = emu.client(api_key=API_KEY)
        await client.realtime.calls.reject(call_id)
        assert emu.call(call_id).end_reason == "rejected (603)"
        assert not [r for r in emu.record(call_id) if r["direction"] == "sent"]
        await client.close()


async def test_unreachable_webhook_is_retried_then_recorded(emu: Emulator) -> None:
    async with await Emulator.start(speed=FAST, webhook_url="http://127.0.0.1:9/none",
                                    webhook_retry_delays=(0.01, 0.01)) as emu2:
        call_id = await emu2.start_call(transport="sip")
        for _ in range(200):
            if len(emu2.webhook_deliveries[-1].attempts) == 3:
                break
            await asyncio.sleep(0.01)
        delivery = emu2.webhook_deliveries[-1]
        assert delivery.call_id == call_id
        assert not delivery.delivered
        assert all("error" in a for a in delivery.attempts)
        assert len(delivery.attempts) == 3


async def test_control_api_over_http(emu: Emulator) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emu.control_url}/calls",
                             json={"transport": "webrtc", "scenario": "barge_in"}) as r:
            assert r.status == 201
            call_id = (await r.json())["call_id"]
        async with http.post(f"{emu.control_url}/calls", json={"transport": "pigeon"}) as r:
            assert r.status == 400
            assert (await r.json())["error"]["param"] == "transport"
        async with http.post(f"{emu.control_url}/calls", json={"scenario": "nope"}) as r:
            assert r.status == 400
            assert (await r.json())["error"]["param"] == "scenario"
        async with http.post(f"{emu.control_url}/calls", json={"colour": 1}) as r:
            assert r.status == 400
            assert (await r.json())["error"]["param"] == "colour"
        sb = await open_sideband(emu, call_id)
        await sb.until("response.done")
        await sb.close()
        async with http.get(f"{emu.control_url}/calls/{call_id}") as r:
            view: dict[str, Any] = await r.json()
        assert view["scenario"] == "barge_in"
        assert view["status"] == "active"
        assert view["sockets"][0]["id"] == "ws1"
        sent = [rec for rec in view["records"] if rec["direction"] == "sent"]
        assert sent[0]["event"]["type"] == "session.created"
        assert all("t" in rec for rec in view["records"])
        async with http.get(f"{emu.control_url}/calls") as r:
            assert [c["call_id"] for c in (await r.json())["calls"]] == [call_id]
        async with http.get(f"{emu.control_url}/calls/rtc_u1_{'0' * 32}") as r:
            assert r.status == 404
