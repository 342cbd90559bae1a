"""The webhook inbox: every refusal, duplicates, the queue, and the secret kept out of sight.

Deliveries are signed here with the Standard Webhooks algorithm of realtime-protocol.md §3.5
(checked against the SDK's own test vector) and POSTed with aiohttp to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import openai
import openai.lib._webhooks as sdk_webhooks
import pytest

from rtwidgets._control import CallNotFoundError
from rtwidgets._webhooks import InboxClosedError, IncomingCall, WebhookInbox
from rtwidgets.emulator import Emulator
from rtwidgets.protocol.errors import ValidationError

SECRET = "whsec_" + base64.b64encode(b"rtwidgets-test-webhook-key-32byt").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-key-that-is-not-the-one!").decode()
CALL_ID = "rtc_u0_479a275623b54bdb9b6fbae2f7cbd408"


def sign(secret: str, webhook_id: str, timestamp: int | str, body: bytes) -> str:
    key = (
        base64.b64decode(secret.removeprefix("whsec_"))
        if secret.startswith("whsec_")
        else secret.encode()
    )
    msg = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def incoming_body(
    call_id: str = CALL_ID,
    event_id: str = "evt_685343a1381c819085d44c354e1b330e",
    sip_headers: list[dict[str, str]] | None = None,
    **extra: Any,
) -> bytes:
    if sip_headers is None:
        sip_headers = [
            {"name": "From", "value": "sip:+142555512112@sip.example.com"},
            {"name": "To", "value": "sip:+18005551212@sip.example.com"},
            {"name": "Call-ID", "value": "03782086-4ce9-44bf-8b0d-4e303d2cc590"},
        ]
    event = {
        "object": "event",
        "id": event_id,
        "type": "realtime.call.incoming",
        "created_at": int(time.time()),
        "data": {"call_id": call_id, "sip_headers": sip_headers, **extra},
    }
    return json.dumps(event).encode()


def signed_headers(
    body: bytes,
    *,
    secret: str = SECRET,
    webhook_id: str = "wh_685342e6c53c8190a1be43f081506c52",
    timestamp: int | str | None = None,
) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, webhook_id, ts, body),
        "content-type": "application/json",
    }


async def eventually(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait until ``predicate()`` holds (for effects seen on the other side of a socket)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if predicate():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.fixture
async def inbox() -> AsyncIterator[WebhookInbox]:
    async with WebhookInbox(secret=SECRET) as box:
        yield box


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> int:
    async with http.post(url, data=body, headers=headers) as resp:
        await resp.read()
        return resp.status


# --------------------------------------------------------------------------- the signer


def test_signer_reproduces_the_sdk_test_vector() -> None:
    body = (
        b'{"id": "evt_685c059ae3a481909bdc86819b066fb6", "object": "event", '
        b'"created_at": 1750861210, "type": "response.completed", "data": {"id": "resp_123"}}'
    )
    assert (
        sign(
            "whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c=",
            "wh_685c059ae39c8190af8c71ed1022a24d",
            1750861210,
            body,
        )
        == "v1,gUAg4R2hWouRZqRQG4uJypNS8YK885G838+EHb4nKBY="
    )


async def test_the_test_vector_is_taken_by_the_inbox_and_a_mutation_is_not(
    monkeypatch: pytest.MonkeyPatch, http: aiohttp.ClientSession
) -> None:
    # The vector is from 2025: move the SDK's clock (only its own) to the vector's time.
    monkeypatch.setattr(sdk_webhooks, "time", SimpleNamespace(time=lambda: 1750861210.0))
    body = (
        b'{"id": "evt_685c059ae3a481909bdc86819b066fb6", "object": "event", '
        b'"created_at": 1750861210, "type": "response.completed", "data": {"id": "resp_123"}}'
    )
    headers = {
        "webhook-id": "wh_685c059ae39c8190af8c71ed1022a24d",
        "webhook-timestamp": "1750861210",
        "webhook-signature": "v1,gUAg4R2hWouRZqRQG4uJypNS8YK885G838+EHb4nKBY=",
    }
    async with WebhookInbox(secret="whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c=") as box:
        assert box.url is not None
        assert await post(http, box.url, body.replace(b"123", b"124"), headers) == 400
        assert await post(http, box.url, body, headers) == 200
        stats = box.stats
        assert stats.ignored == {"response.completed": 1}
        assert stats.refused == {"bad_signature": 1}
        assert stats.accepted == 0
        assert box.pending == 0


# --------------------------------------------------------------------------- accepted


async def test_a_valid_delivery_is_queued_once_with_its_sip_headers(
    inbox: WebhookInbox, http: aiohttp.ClientSession
) -> None:
    assert inbox.url is not None
    body = incoming_body(
        sip_headers=[
            {"name": "From", "value": "sip:+1425@example.com"},
            {"name": "to", "value": "sip:+1800@example.com"},
            {"name": "X-Tag", "value": "a"},
            {"name": "x-tag", "value": "b"},
        ],
        sip_media_security="srtp",
    )
    before = time.time()
    assert await post(http, inbox.url, body, signed_headers(body)) == 200
    incoming = await inbox.get(timeout=2)
    assert isinstance(incoming, IncomingCall)
    assert incoming.call_id == CALL_ID
    assert incoming.sip_headers == [
        ("From", "sip:+1425@example.com"),
        ("to", "sip:+1800@example.com"),
        ("X-Tag", "a"),
        ("x-tag", "b"),
    ]
    assert incoming.header("FROM") == "sip:+1425@example.com"
    assert incoming.from_ == "sip:+1425@example.com"
    assert incoming.to == "sip:+1800@example.com"
    assert incoming.header("x-TAG") == "a"
    assert incoming.headers("X-Tag") == ["a", "b"]
    assert incoming.header("Contact") is None
    assert incoming.webhook_id == "wh_685342e6c53c8190a1be43f081506c52"
    assert incoming.event_id == "evt_685343a1381c819085d44c354e1b330e"
    assert incoming.sip_media_security == "srtp"
    assert incoming.status == "ringing"
    assert before <= incoming.received_at <= time.time()
    assert incoming.event is not None
    assert incoming.event.type == "realtime.call.incoming"
    assert inbox.seen == [incoming]
    assert inbox.stats.accepted == 1
    assert inbox.pending == 0
    with pytest.raises(TimeoutError):
        await inbox.get(timeout=0.05)


async def test_duplicates_by_webhook_id_or_event_id_are_answered_200_and_dropped(
    inbox: WebhookInbox, http: aiohttp.ClientSession
) -> None:
    assert inbox.url is not None
    body = incoming_body()
    assert await post(http, inbox.url, body, signed_headers(body)) == 200
    # The same delivery again (a replay), then a retry with a fresh timestamp and signature.
    assert await post(http, inbox.url, body, signed_headers(body)) == 200
    retry = signed_headers(body, timestamp=int(time.time()) + 1)
    assert await post(http, inbox.url, body, retry) == 200
    # A new webhook-id carrying the same event id.
    assert await post(http, inbox.url, body, signed_headers(body, webhook_id="wh_other")) == 200
    assert inbox.stats.accepted == 1
    assert inbox.stats.duplicates == 3
    assert inbox.pending == 1
    assert (await inbox.get(timeout=1)).call_id == CALL_ID
    with pytest.raises(TimeoutError):
        await inbox.get(timeout=0.05)


async def test_other_event_types_are_acknowledged_counted_and_not_queued(
    inbox: WebhookInbox, http: aiohttp.ClientSession
) -> None:
    assert inbox.url is not None
    # (This used live.transport.incoming, which the inbox now queues: a batch event instead.)
    body = json.dumps(
        {"id": "evt_1", "object": "event", "type": "batch.completed",
         "created_at": int(time.time()), "data": {"id": "batch_1"}}
    ).encode()
    assert await post(http, inbox.url, body, signed_headers(body, webhook_id="wh_a")) == 200
    assert inbox.stats.ignored == {"batch.completed": 1}
    assert inbox.pending == 0
    assert inbox.seen == []


async def test_async_for_yields_calls_in_order_and_ends_on_close(
    http: aiohttp.ClientSession,
) -> None:
    box = await WebhookInbox(secret=SECRET).start()
    assert box.url is not None
    ids = [f"rtc_u0_{i:032x}" for i in range(3)]
    for i, call_id in enumerate(ids):
        body = incoming_body(call_id=call_id, event_id=f"evt_{i}")
        assert await post(http, box.url, body, signed_headers(body, webhook_id=f"wh_{i}")) == 200

    got: list[str] = []
    three = asyncio.Event()

    async def consume() -> None:
        async for incoming in box:
            got.append(incoming.call_id)
            if len(got) == 3:
                three.set()

    consumer = asyncio.create_task(consume())
    await asyncio.wait_for(three.wait(), 2)
    await box.close()
    await asyncio.wait_for(consumer, 2)
    assert got == ids
    with pytest.raises(InboxClosedError):
        await box.get()
    await box.close()  # idempotent


async def test_a_full_queue_answers_503_and_the_retry_is_taken(
    http: aiohttp.ClientSession,
) -> None:
    async with WebhookInbox(secret=SECRET, max_queue=1) as box:
        assert box.url is not None
        first = incoming_body(call_id="rtc_u0_" + "1" * 32, event_id="evt_a")
        second = incoming_body(call_id="rtc_u0_" + "2" * 32, event_id="evt_b")
        assert await post(http, box.url, first, signed_headers(first, webhook_id="wh_a")) == 200
        assert await post(http, box.url, second, signed_headers(second, webhook_id="wh_b")) == 503
        assert box.stats.refused == {"queue_full": 1}
        assert (await box.get(timeout=1)).call_id == "rtc_u0_" + "1" * 32
        assert await post(http, box.url, second, signed_headers(second, webhook_id="wh_b")) == 200
        assert (await box.get(timeout=1)).call_id == "rtc_u0_" + "2" * 32


async def test_subscribers_see_each_call_and_a_failing_one_is_kept(
    inbox: WebhookInbox, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    assert inbox.url is not None
    seen: list[str] = []
    calls = 0

    def broken(_: IncomingCall) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("view failed")

    unsubscribe = inbox.subscribe(lambda incoming: seen.append(incoming.call_id))
    inbox.subscribe(broken)
    for i in range(2):
        body = incoming_body(call_id=f"rtc_u0_{i:032x}", event_id=f"evt_{i}")
        with caplog.at_level(logging.ERROR, logger="rtwidgets.webhooks"):
            status = await post(http, inbox.url, body, signed_headers(body, webhook_id=f"w{i}"))
        assert status == 200
        if i == 0:
            unsubscribe()
    assert seen == [f"rtc_u0_{0:032x}"]
    assert calls == 2
    assert inbox.stats.accepted == 2
    assert any("subscriber" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- refused


def _now() -> int:
    return int(time.time())


RefusalCase = Callable[[], tuple[bytes, dict[str, str]]]


def _forged() -> tuple[bytes, dict[str, str]]:
    body = incoming_body()
    headers = signed_headers(body)
    headers["webhook-signature"] = "v1," + base64.b64encode(b"x" * 32).decode()
    return body, headers


def _wrong_secret() -> tuple[bytes, dict[str, str]]:
    body = incoming_body()
    return body, signed_headers(body, secret=OTHER_SECRET)


def _stale() -> tuple[bytes, dict[str, str]]:
    body = incoming_body()
    return body, signed_headers(body, timestamp=_now() - 3600)  # far outside the 300 s window


def _future() -> tuple[bytes, dict[str, str]]:
    body = incoming_body()
    return body, signed_headers(body, timestamp=_now() + 3600)


def _bad_timestamp() -> tuple[bytes, dict[str, str]]:
    body = incoming_body()
    return body, signed_headers(body, timestamp="soon")


def _missing(name: str) -> RefusalCase:
    def case() -> tuple[bytes, dict[str, str]]:
        body = incoming_body()
        headers = signed_headers(body)
        del headers[name]
        return body, headers

    return case


def _empty_signature() -> tuple[bytes, dict[str, str]]:
    body = incoming_body()
    headers = signed_headers(body)
    headers["webhook-signature"] = ""
    return body, headers


def _signed(body: bytes) -> RefusalCase:
    return lambda: (body, signed_headers(body))


def _body_signed_then_changed() -> tuple[bytes, dict[str, str]]:
    body = incoming_body()
    headers = signed_headers(body)
    return body.replace(b"+1425", b"+1426"), headers


def _id_changed_after_signing() -> tuple[bytes, dict[str, str]]:
    body = incoming_body()
    headers = signed_headers(body)
    headers["webhook-id"] = "wh_swapped"
    return body, headers


REFUSALS: dict[str, tuple[RefusalCase, int, str]] = {
    "forged signature": (_forged, 400, "bad_signature"),
    "wrong secret": (_wrong_secret, 400, "bad_signature"),
    "body changed after signing": (_body_signed_then_changed, 400, "bad_signature"),
    "webhook-id changed after signing": (_id_changed_after_signing, 400, "bad_signature"),
    "stale timestamp": (_stale, 400, "stale"),
    "future timestamp": (_future, 400, "future"),
    "timestamp not a number": (_bad_timestamp, 400, "bad_timestamp"),
    "no webhook-id": (_missing("webhook-id"), 400, "missing_headers"),
    "no webhook-timestamp": (_missing("webhook-timestamp"), 400, "missing_headers"),
    "no webhook-signature": (_missing("webhook-signature"), 400, "missing_headers"),
    "empty webhook-signature": (_empty_signature, 400, "missing_headers"),
    "signed non-JSON body": (_signed(b"call me maybe"), 400, "not_json"),
    "signed non-UTF-8 body": (_signed(b'{"type": "\xff\xfe"}'), 400, "not_utf8"),
    "signed JSON array": (_signed(b"[1, 2]"), 400, "malformed"),
    "signed event without data": (
        _signed(b'{"id": "evt_x", "type": "realtime.call.incoming"}'), 400, "malformed"
    ),
    "signed event with a bad call id": (
        _signed(incoming_body(call_id="rtc_u0_../nope")), 400, "malformed"
    ),
    "signed event with bad sip headers": (
        _signed(incoming_body(sip_headers=[{"name": "From"}])),
        400,
        "malformed",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
async def test_refused_deliveries_are_never_queued(
    case: str, inbox: WebhookInbox, http: aiohttp.ClientSession
) -> None:
    make, status, reason = REFUSALS[case]
    body, headers = make()
    assert inbox.url is not None
    assert await post(http, inbox.url, body, headers) == status
    assert inbox.stats.refused == {reason: 1}
    assert inbox.stats.accepted == 0
    assert inbox.pending == 0
    assert inbox.seen == []
    with pytest.raises(TimeoutError):
        await inbox.get(timeout=0.02)


async def test_a_tighter_tolerance_refuses_what_300_s_would_take(
    http: aiohttp.ClientSession,
) -> None:
    async with WebhookInbox(secret=SECRET, tolerance=60) as box:
        assert box.url is not None
        body = incoming_body()
        assert await post(http, box.url, body, signed_headers(body, timestamp=_now() - 120)) == 400
        assert box.stats.refused == {"stale": 1}
        assert await post(http, box.url, body, signed_headers(body, timestamp=_now() - 30)) == 200
        assert box.stats.accepted == 1


async def test_oversized_bodies_are_refused_by_length_and_by_bytes_read(
    http: aiohttp.ClientSession,
) -> None:
    async with WebhookInbox(secret=SECRET, max_body=2048) as box:
        assert box.url is not None
        body = incoming_body(sip_headers=[{"name": "X-Pad", "value": "p" * 4096}])
        headers = signed_headers(body)
        assert await post(http, box.url, body, headers) == 413

        async def chunks() -> AsyncIterator[bytes]:
            # No Content-Length: the body is streamed chunked, so only counting catches it.
            for i in range(0, len(body), 512):
                yield body[i : i + 512]

        async with http.post(box.url, data=chunks(), headers=headers) as resp:
            assert "Content-Length" not in resp.request_info.headers
            assert resp.status == 413
        assert box.stats.refused == {"too_large": 2}
        assert box.pending == 0
        # A body just under the limit is taken.
        small = incoming_body()
        assert len(small) < 2048
        assert await post(http, box.url, small, signed_headers(small)) == 200


async def test_wrong_method_and_path(inbox: WebhookInbox, http: aiohttp.ClientSession) -> None:
    assert inbox.url is not None
    body = incoming_body()
    headers = signed_headers(body)
    async with http.get(inbox.url, headers=headers) as resp:
        assert resp.status == 405
        assert resp.headers["Allow"] == "POST"
    async with http.put(inbox.url, data=body, headers=headers) as resp:
        assert resp.status == 405
    other = inbox.url.replace("/webhook", "/hooks")
    assert await post(http, other, body, headers) == 404
    assert await post(http, inbox.url + "/extra", body, headers) == 404
    assert inbox.stats.refused == {"wrong_method": 2, "wrong_path": 2}
    assert inbox.pending == 0


# --------------------------------------------------------------------------- lifetime


async def test_binds_loopback_by_default_and_reports_its_url() -> None:
    async with WebhookInbox(secret=SECRET, path="/sip") as box:
        assert box.url is not None
        assert box.url.startswith("http://127.0.0.1:")
        assert box.url.endswith("/sip")
        assert box.port != 0
        assert f":{box.port}/" in box.url
        assert await box.start() is box  # idempotent
    assert "closed" in repr(box)


async def test_get_before_start_says_how_to_start() -> None:
    box = WebhookInbox(secret=SECRET)
    with pytest.raises(InboxClosedError, match="not started"):
        await box.get(timeout=0.01)
    assert box.url is None
    await box.close()
    with pytest.raises(InboxClosedError):
        await box.start()


async def test_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, http: aiohttp.ClientSession
) -> None:
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET)
    async with WebhookInbox() as box:
        assert box.url is not None
        body = incoming_body()
        assert await post(http, box.url, body, signed_headers(body)) == 200
        assert box.stats.accepted == 1


async def test_secret_from_the_client(http: aiohttp.ClientSession) -> None:
    client = openai.AsyncOpenAI(
        api_key="sk-test-not-a-real-key", base_url="http://127.0.0.1:9/v1", webhook_secret=SECRET
    )
    async with client, WebhookInbox(client=client) as box:
        assert box.url is not None
        body = incoming_body()
        assert await post(http, box.url, body, signed_headers(body)) == 200
        assert (await box.get(timeout=1)).call_id == CALL_ID


async def test_a_missing_secret_is_a_clear_error_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET", raising=False)
    box = WebhookInbox()
    with pytest.raises(ValidationError) as err:
        await box.start()
    assert err.value.field == "secret"
    assert "OPENAI_WEBHOOK_SECRET" in str(err.value)
    assert box.url is None


async def test_a_cut_whsec_secret_is_refused_without_echoing_it() -> None:
    cut = SECRET[:-3]
    with pytest.raises(ValidationError) as err:
        await WebhookInbox(secret=cut).start()
    assert err.value.field == "secret"
    assert cut[6:] not in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tolerance": 301}, "tolerance"),
        ({"tolerance": 0}, "tolerance"),
        ({"max_body": 0}, "max_body"),
        ({"port": 70000}, "port"),
        ({"port": True}, "port"),
        ({"path": "webhook"}, "path"),
        ({"secret": ""}, "secret"),
        ({"client": "sk-test-not-a-real-key"}, "client"),
        ({"max_queue": 0}, "max_queue"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        WebhookInbox(**kwargs)
    assert err.value.field == field
    assert "sk-test-not-a-real-key" not in str(err.value)


# --------------------------------------------------------------------------- secrets


async def test_the_secret_appears_in_no_repr_log_or_error(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    key = "sk-test-not-a-real-key"
    client = openai.AsyncOpenAI(api_key=key, base_url="http://127.0.0.1:9/v1")
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="rtwidgets"):
        async with client, WebhookInbox(secret=SECRET, client=client) as box:
            assert box.url is not None
            body = incoming_body()
            for make, _, _ in REFUSALS.values():
                bad_body, headers = make()
                await post(http, box.url, bad_body, headers)
            assert await post(http, box.url, body, signed_headers(body)) == 200
            incoming = await box.get(timeout=1)
            texts += [repr(box), str(box), repr(incoming), str(incoming), repr(box.stats)]
            texts += [repr(vars(incoming)) if hasattr(incoming, "__dict__") else ""]
            for bad in ({"status_code": 99}, {"status_code": "486"}):
                with pytest.raises(ValidationError) as err:
                    await incoming.reject(**bad)
                texts.append(str(err.value))
            with pytest.raises(ValidationError) as err2:
                await incoming.refer("http://example.com")
            texts.append(str(err2.value))
        texts.append(repr(box))
    texts += [r.getMessage() for r in caplog.records]
    assert any("refused" in t for t in texts)
    blob = "\n".join(texts)
    assert SECRET not in blob
    assert SECRET[6:] not in blob
    assert key not in blob
    assert "+1425" not in "\n".join(r.getMessage() for r in caplog.records)  # no bodies


# --------------------------------------------------------------------------- end to end


async def _first(box: WebhookInbox) -> AsyncIterator[IncomingCall]:
    """The first call ``async for`` yields, as a user's loop that breaks after one would."""
    async for incoming in box:
        yield incoming
        return


async def test_sip_call_end_to_end_through_the_emulator(tmp_path: Path) -> None:
    key = "sk-test-not-a-real-key"
    async with WebhookInbox(secret=SECRET) as box:
        assert box.url is not None
        emu = await Emulator.start(speed=50.0, seed=3, webhook_url=box.url,
                                   webhook_secret=SECRET)
        async with emu, emu.client(api_key=key, max_retries=0) as client:
            box.client = client  # the calls below go to the emulator
            call_id = await emu.start_call(transport="sip")
            taken = [incoming async for incoming in _first(box)]
            (incoming,) = taken
            assert incoming.call_id == call_id
            assert incoming.from_ is not None
            assert incoming.sip_headers == [
                (h["name"], h["value"]) for h in emu.scenario.sip_headers
            ]
            # The call was queued before the 200 went out; the sender sees it just after.
            await eventually(lambda: emu.webhook_deliveries[0].delivered)
            assert emu.webhook_deliveries[0].webhook_id == incoming.webhook_id
            session = {"instructions": "Answer as the front desk.",
                       "audio": {"output": {"voice": "cedar"}}}
            await incoming.accept(session)
            assert incoming.status == "accepted"
            accept_request = emu.requests[-1]
            assert accept_request["path"] == f"/v1/realtime/calls/{call_id}/accept"
            assert accept_request["body"] == {"type": "realtime", **session}
            assert emu.calls[call_id].status == "active"
            call = await incoming.attach(capture=tmp_path / "sip.jsonl")
            try:
                assert call.call_id == call_id
                assert call.status.state == "live"
                await emu.wait_attached(call_id, timeout=5)
                await incoming.hangup()
                assert incoming.status == "ended"
                assert await emu.wait_ended(call_id, timeout=5) == "hangup"
                ended = await call.wait_ended(timeout=5)
                assert ended.state == "ended"
            finally:
                await call.close()
            capture = (tmp_path / "sip.jsonl").read_text()
            assert call_id in capture
            assert key not in capture
            assert SECRET not in capture
            assert [r["path"].rsplit("/", 1)[-1] for r in emu.requests] == ["accept", "hangup"]
        assert box.stats.accepted == 1
        assert box.stats.refused == {}


async def test_a_delivery_signed_with_another_secret_never_reaches_the_queue() -> None:
    async with WebhookInbox(secret=SECRET) as box:
        assert box.url is not None
        emu = await Emulator.start(speed=50.0, webhook_url=box.url, webhook_secret=OTHER_SECRET,
                                   webhook_retry_delays=(0.01, 0.01))
        async with emu:
            call_id = await emu.start_call(transport="sip")
            await eventually(
                lambda: bool(emu.webhook_deliveries)
                and len(emu.webhook_deliveries[0].attempts) == 3
            )
            delivery = emu.webhook_deliveries[0]
            assert delivery.call_id == call_id
            assert not delivery.delivered
        assert box.stats.refused == {"bad_signature": 3}
        assert box.pending == 0
        with pytest.raises(TimeoutError):
            await box.get(timeout=0.02)


async def test_the_inbox_takes_its_secret_from_the_emulator_client() -> None:
    emu = await Emulator.start(speed=50.0, webhook_secret=SECRET)
    async with (
        emu,
        emu.client(api_key="sk-test-not-a-real-key") as client,
        WebhookInbox(client=client) as box,
    ):
        assert box.url is not None
        assert box.client is client
        body = incoming_body()
        async with aiohttp.ClientSession() as http:
            assert await post(http, box.url, body, signed_headers(body)) == 200
        incoming = await box.get(timeout=1)
        # The call's control goes through the inbox's client: the emulator answers 404
        # for a call it never made, and the error names the call.
        with pytest.raises(CallNotFoundError) as err:
            await incoming.reject(486)
        assert CALL_ID in str(err.value)
        assert "sk-test-not-a-real-key" not in str(err.value)
        assert SECRET not in str(err.value)
        assert incoming.status == "ringing"


SECRET_KEY_PART = SECRET.removeprefix("whsec_")
PAYLOAD_FIELDS: dict[str, tuple[bytes, str]] = {
    # kind of field → (a signed body bad in it, the dotted field the refusal names)
    "id rule": (incoming_body(call_id="rtc_u0_../nope"), "data.call_id"),
    "type": (incoming_body(call_id=5), "data.call_id"),  # type: ignore[arg-type]
    "missing": (json.dumps({"object": "event", "id": "evt_1", "type": "realtime.call.incoming",
                            "created_at": 1, "data": {"sip_headers": []}}).encode(),
                "data.call_id"),
    "list item": (incoming_body(sip_headers=[{"name": "From"}]), "data.sip_headers[0].value"),
    "secret as the id": (incoming_body(call_id=SECRET), "data.call_id"),
    "key part after the prefix": (incoming_body(call_id="rtc_" + SECRET_KEY_PART),
                                  "data.call_id"),
}


@pytest.mark.parametrize("case", list(PAYLOAD_FIELDS), ids=list(PAYLOAD_FIELDS))
async def test_a_bad_payload_names_its_field_and_never_echoes_the_secret(
    case: str, inbox: WebhookInbox, http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body, field = PAYLOAD_FIELDS[case]
    assert inbox.url is not None
    caplog.set_level(logging.INFO, logger="rtwidgets.webhooks")
    async with http.post(inbox.url, data=body, headers=signed_headers(body)) as resp:
        text = await resp.text()
        assert resp.status == 400
    assert text == f"refused: malformed ({field})\n"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"malformed ({field}): " in logged  # the problem and the fix follow
    for shown in (text, logged, repr(inbox)):
        assert SECRET not in shown
        assert SECRET_KEY_PART not in shown
    assert inbox.stats.refused == {"malformed": 1}
    assert inbox.pending == 0
