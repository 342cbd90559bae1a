"""The inbox and GPT-Live: the Live webhooks verified and queued, one call offered both ways
as one entry, the first accept wins, and the attack catalogue for every event type.

Deliveries are signed with the Standard Webhooks algorithm (``_webhook_signing``) and POSTed
to the inbox on 127.0.0.1; the calls' control requests go through the SDK to a recording stub
API (``_live_api_stub``).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import openai
import pytest
from _live_api_stub import REAL_LIVE_IDS, REAL_RTC_ID, LiveApiStub
from _webhook_signing import SECRET, SIP_HEADERS, event_body, post, signed_headers

from rtwidgets._control import AlreadyAcceptedError, CallNotFoundError
from rtwidgets._webhooks import IncomingCall, WebhookInbox
from rtwidgets.protocol.errors import ValidationError

LIVE = REAL_LIVE_IDS[0]
LIVE_2 = REAL_LIVE_IDS[2]
RTC = REAL_RTC_ID
RTC_2 = "rtc_u0_" + "A1b2C3d4" * 4  # made up: another call, same shape
MODEL = "gpt-live-1"
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-key-that-is-not-the-one!").decode()
KINDS = ("realtime.call.incoming", "live.transport.incoming", "live.call.incoming",
         "live.transport.connected")


def id_for(kind: str) -> str:
    return RTC if kind == "realtime.call.incoming" else LIVE


@pytest.fixture
async def stub() -> AsyncIterator[LiveApiStub]:
    async with LiveApiStub() as s:
        yield s


@pytest.fixture
async def client(stub: LiveApiStub) -> AsyncIterator[openai.AsyncOpenAI]:
    async with stub.client() as c:
        yield c


@pytest.fixture
async def inbox(client: openai.AsyncOpenAI) -> AsyncIterator[WebhookInbox]:
    async with WebhookInbox(secret=SECRET, client=client) as box:
        yield box


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def deliver(http: aiohttp.ClientSession, inbox: WebhookInbox, body: bytes) -> int:
    assert inbox.url is not None
    return await post(http, inbox.url, body)


async def both_ways(http: aiohttp.ClientSession, inbox: WebhookInbox,
                    first: str = "realtime") -> IncomingCall:
    """One SIP call announced to Realtime and to Live (in the order ``first`` says)."""
    bodies = [event_body("realtime.call.incoming", RTC),
              event_body("live.transport.incoming", LIVE)]
    for body in bodies if first == "realtime" else bodies[::-1]:
        assert await deliver(http, inbox, body) == 200
    incoming = await inbox.get(timeout=2)
    assert inbox.pending == 0
    return incoming


# --------------------------------------------------------------------------- queued


@pytest.mark.parametrize("kind", ["live.transport.incoming", "live.call.incoming"])
async def test_a_live_sip_announcement_is_queued_with_its_session_id(
    inbox: WebhookInbox, http: aiohttp.ClientSession, kind: str
) -> None:
    body = event_body(kind, LIVE, sip_media_security="srtp")
    assert await deliver(http, inbox, body) == 200
    incoming = await inbox.get(timeout=2)
    assert incoming.call_id == LIVE
    assert incoming.live_id == LIVE
    assert incoming.realtime_id is None
    assert incoming.apis == ("live",)
    assert incoming.transport == "sip"
    assert incoming.status == "ringing"
    assert incoming.sip_media_security == "srtp"
    assert incoming.sip_headers == [(h["name"], h["value"]) for h in SIP_HEADERS]
    assert incoming.sip_call_id == "03782086-4ce9-44bf-8b0d-4e303d2cc590"
    assert incoming.announcements == [kind]
    assert incoming.event is not None
    assert incoming.event.type == kind
    assert inbox.stats.accepted == 1
    assert LIVE in repr(incoming)


async def test_connected_for_an_unknown_session_queues_a_webrtc_entry(
    inbox: WebhookInbox, http: aiohttp.ClientSession
) -> None:
    assert await deliver(http, inbox, event_body("live.transport.connected", LIVE_2)) == 200
    incoming = await inbox.get(timeout=2)
    assert incoming.live_id == LIVE_2
    assert incoming.transport == "webrtc"
    assert incoming.status == "connected"
    assert incoming.connected
    assert incoming.sip_headers == []


async def test_connected_for_a_known_session_updates_it(
    inbox: WebhookInbox, http: aiohttp.ClientSession
) -> None:
    seen: list[IncomingCall] = []
    inbox.subscribe(seen.append)
    assert await deliver(http, inbox, event_body("live.transport.incoming", LIVE)) == 200
    incoming = await inbox.get(timeout=2)
    assert not incoming.connected
    assert await deliver(http, inbox, event_body("live.transport.connected", LIVE)) == 200
    assert incoming.connected
    assert incoming.announcements == ["live.transport.incoming", "live.transport.connected"]
    assert len(incoming.webhook_ids) == 2
    assert inbox.pending == 0
    assert inbox.stats.accepted == 1
    assert inbox.stats.merged == 1
    assert seen == [incoming, incoming]


async def test_the_deprecated_and_the_new_announcement_of_one_session_are_one_entry(
    inbox: WebhookInbox, http: aiohttp.ClientSession
) -> None:
    assert await deliver(http, inbox, event_body("live.transport.incoming", LIVE)) == 200
    assert await deliver(http, inbox, event_body("live.call.incoming", LIVE)) == 200
    incoming = await inbox.get(timeout=2)
    assert incoming.announcements == ["live.transport.incoming", "live.call.incoming"]
    assert inbox.pending == 0
    assert inbox.seen == [incoming]


# --------------------------------------------------------------------------- both ways


@pytest.mark.parametrize("first", ["realtime", "live"])
async def test_a_call_announced_both_ways_is_one_entry_with_both_ids(
    inbox: WebhookInbox, http: aiohttp.ClientSession, first: str
) -> None:
    seen: list[IncomingCall] = []
    inbox.subscribe(seen.append)
    incoming = await both_ways(http, inbox, first)
    assert incoming.realtime_id == RTC
    assert incoming.live_id == LIVE
    assert incoming.call_id == (RTC if first == "realtime" else LIVE)  # the first id, kept
    assert incoming.apis == ("realtime", "live")
    assert seen == [incoming, incoming]
    assert inbox.seen == [incoming]
    assert inbox.stats.accepted == 1
    assert inbox.stats.merged == 1
    with pytest.raises(TimeoutError):
        await inbox.get(timeout=0.02)


def _headers(call_id: str | None = "abc@10.0.0.1", from_: str = "sip:+1425@x.example",
             name: str = "Call-ID") -> list[dict[str, str]]:
    out = [{"name": "From", "value": from_}, {"name": "To", "value": "sip:+1800@x.example"}]
    if call_id is not None:
        out.append({"name": name, "value": call_id})
    return out


@pytest.mark.parametrize(
    ("rtc_headers", "live_headers", "joined"),
    [
        (_headers(), _headers(), True),
        (_headers(name="call-id"), _headers(name="i"), True),  # compact form, any case
        (_headers("a@h"), _headers("b@h"), False),
        (_headers(None), _headers(None), False),
        (_headers(from_="sip:+1"), _headers(from_="sip:+2"), False),
    ],
)
async def test_calls_are_joined_only_on_equal_call_id_from_and_to(
    inbox: WebhookInbox, http: aiohttp.ClientSession,
    rtc_headers: list[dict[str, str]], live_headers: list[dict[str, str]], joined: bool,
) -> None:
    await deliver(http, inbox, event_body("realtime.call.incoming", RTC, sip_headers=rtc_headers))
    await deliver(http, inbox, event_body("live.transport.incoming", LIVE,
                                          sip_headers=live_headers))
    first = await inbox.get(timeout=2)
    if joined:
        assert first.apis == ("realtime", "live")
        assert inbox.pending == 0
    else:
        second = await inbox.get(timeout=2)
        assert first.apis == ("realtime",)
        assert second.apis == ("live",)
        assert inbox.stats.merged == 0


async def test_a_second_live_offer_with_the_same_headers_is_its_own_call(
    inbox: WebhookInbox, http: aiohttp.ClientSession
) -> None:
    incoming = await both_ways(http, inbox)
    assert await deliver(http, inbox, event_body("live.transport.incoming", LIVE_2)) == 200
    other = await inbox.get(timeout=2)
    assert other is not incoming
    assert other.live_id == LIVE_2
    assert incoming.live_id == LIVE


@pytest.mark.parametrize("ended_by", ["accept", "reject"])
async def test_an_offer_never_joins_a_call_that_no_longer_rings(
    inbox: WebhookInbox, http: aiohttp.ClientSession, ended_by: str
) -> None:
    # Found with notebook 04: the emulator announces every call of a scenario with the same
    # SIP headers (Call-ID too), so a Live offer joined the earlier, already answered call.
    await deliver(http, inbox, event_body("realtime.call.incoming", RTC))
    old = await inbox.get(timeout=2)
    if ended_by == "accept":
        await old.accept({"instructions": "x"})
    else:
        await old.reject(486)
    await deliver(http, inbox, event_body("live.transport.incoming", LIVE))
    await deliver(http, inbox, event_body("realtime.call.incoming", RTC_2))
    new = await inbox.get(timeout=2)
    assert new is not old
    assert (new.live_id, new.realtime_id) == (LIVE, RTC_2)
    assert new.status == "ringing"
    assert old.apis == ("realtime",)
    assert inbox.pending == 0
    assert inbox.stats.merged == 1


# --------------------------------------------------------------------------- first accept wins


async def test_accept_as_live_then_realtime_is_refused_before_sending(
    inbox: WebhookInbox, http: aiohttp.ClientSession, stub: LiveApiStub
) -> None:
    incoming = await both_ways(http, inbox)
    await incoming.accept({"model": MODEL, "instructions": "Front desk."}, api="live")
    assert incoming.accepted_as == "live"
    assert incoming.status == "accepted"
    with pytest.raises(AlreadyAcceptedError) as err:
        await incoming.accept({"instructions": "x"}, api="realtime")
    assert err.value.accepted_as == "live"
    assert "nothing was sent" in str(err.value)
    assert LIVE in str(err.value)
    assert "Fix:" in str(err.value)
    with pytest.raises(AlreadyAcceptedError):
        await incoming.accept({"model": MODEL}, api="live")  # not twice through one API either
    assert [(r.path, r.body) for r in stub.requests] == [
        (f"/v1/live/sessions/{LIVE}/accept",
         {"session": {"type": "live", "model": MODEL, "instructions": "Front desk."}}),
    ]
    # Later control goes to the API that accepted it.
    await incoming.refer("tel:+14155550123")
    await incoming.hangup()
    assert stub.paths()[1:] == [f"/v1/live/sessions/{LIVE}/refer",
                                f"/v1/live/sessions/{LIVE}/hangup"]


async def test_accept_as_realtime_then_live_is_refused_before_sending(
    inbox: WebhookInbox, http: aiohttp.ClientSession, stub: LiveApiStub
) -> None:
    incoming = await both_ways(http, inbox, first="live")
    await incoming.accept({"type": "realtime", "instructions": "Hi"})  # the type decides
    assert incoming.accepted_as == "realtime"
    with pytest.raises(AlreadyAcceptedError) as err:
        await incoming.accept({"type": "live", "model": MODEL})
    assert err.value.accepted_as == "realtime"
    assert stub.paths() == [f"/v1/realtime/calls/{RTC}/accept"]
    await incoming.hangup()
    assert stub.paths()[-1] == f"/v1/realtime/calls/{RTC}/hangup"


async def test_an_accept_in_flight_refuses_the_other_one(
    inbox: WebhookInbox, http: aiohttp.ClientSession, stub: LiveApiStub
) -> None:
    incoming = await both_ways(http, inbox)
    stub.gate = asyncio.Event()
    first = asyncio.ensure_future(incoming.accept({"model": MODEL}, api="live"))
    await stub.arrived.wait()  # the live accept is on the wire, its answer held
    with pytest.raises(AlreadyAcceptedError, match="is being accepted as Live"):
        await incoming.accept(api="realtime")
    stub.gate.set()
    await first
    assert stub.paths() == [f"/v1/live/sessions/{LIVE}/accept"]


async def test_a_failed_accept_leaves_the_choice_open(
    inbox: WebhookInbox, http: aiohttp.ClientSession, stub: LiveApiStub
) -> None:
    incoming = await both_ways(http, inbox)
    stub.gone.add(LIVE)
    with pytest.raises(CallNotFoundError):
        await incoming.accept({"model": MODEL}, api="live")
    assert incoming.accepted_as is None
    assert incoming.status == "ringing"
    await incoming.accept(api="realtime")
    assert incoming.accepted_as == "realtime"


async def test_bad_input_for_the_chosen_api_sends_nothing_and_keeps_the_choice(
    inbox: WebhookInbox, http: aiohttp.ClientSession, stub: LiveApiStub
) -> None:
    incoming = await both_ways(http, inbox)
    with pytest.raises(ValidationError) as err:
        await incoming.accept({"instructions": "x"}, api="live")  # no model
    assert err.value.field == "session.model"
    with pytest.raises(ValidationError) as err:
        await incoming.accept({"instructions": "x"})  # both offered: which?
    assert err.value.field == "api"
    assert "api='live'" in str(err.value)
    with pytest.raises(ValidationError) as err:
        await incoming.accept(api="beta")  # type: ignore[arg-type]
    assert err.value.field == "api"
    with pytest.raises(ValidationError):
        await incoming.refer("tel:+1")  # not accepted: which API?
    assert stub.requests == []
    assert incoming.accepted_as is None
    await incoming.accept({"model": MODEL}, api="live")
    assert incoming.accepted_as == "live"


async def test_an_api_the_call_was_not_offered_to_is_refused(
    inbox: WebhookInbox, http: aiohttp.ClientSession, stub: LiveApiStub
) -> None:
    await deliver(http, inbox, event_body("realtime.call.incoming", RTC))
    incoming = await inbox.get(timeout=2)
    with pytest.raises(ValidationError) as err:
        await incoming.accept({"model": MODEL}, api="live")
    assert err.value.field == "api"
    assert "not offered to Live" in str(err.value)
    with pytest.raises(ValidationError):
        await incoming.accept({"type": "live", "model": MODEL})
    assert stub.requests == []
    await incoming.accept({"instructions": "Hi"})  # the only API: as before
    assert stub.paths() == [f"/v1/realtime/calls/{RTC}/accept"]


async def test_reject_of_a_call_offered_both_ways(
    inbox: WebhookInbox, http: aiohttp.ClientSession, stub: LiveApiStub
) -> None:
    incoming = await both_ways(http, inbox)
    await incoming.reject(486, api="live")
    assert incoming.status == "rejected"
    assert stub.requests[0].path == f"/v1/live/sessions/{LIVE}/reject"
    assert stub.requests[0].body == {"status_code": 486}


# --------------------------------------------------------------------------- attacks


def _forged(kind: str) -> tuple[bytes, dict[str, str]]:
    body = event_body(kind, id_for(kind))
    headers = signed_headers(body)
    headers["webhook-signature"] = "v1," + base64.b64encode(b"x" * 32).decode()
    return body, headers


def _wrong_secret(kind: str) -> tuple[bytes, dict[str, str]]:
    body = event_body(kind, id_for(kind))
    return body, signed_headers(body, secret=OTHER_SECRET)


def _changed(kind: str) -> tuple[bytes, dict[str, str]]:
    body = event_body(kind, id_for(kind))
    headers = signed_headers(body)
    return body.replace(id_for(kind).encode(), (id_for(kind)[:-1] + "Q").encode()), headers


def _timestamp(offset: int) -> Callable[[str], tuple[bytes, dict[str, str]]]:
    def case(kind: str) -> tuple[bytes, dict[str, str]]:
        import time

        body = event_body(kind, id_for(kind))
        return body, signed_headers(body, timestamp=int(time.time()) + offset)
    return case


def _missing(name: str) -> Callable[[str], tuple[bytes, dict[str, str]]]:
    def case(kind: str) -> tuple[bytes, dict[str, str]]:
        body = event_body(kind, id_for(kind))
        headers = signed_headers(body)
        del headers[name]
        return body, headers
    return case


def _signed_with(**data: Any) -> Callable[[str], tuple[bytes, dict[str, str]]]:
    def case(kind: str) -> tuple[bytes, dict[str, str]]:
        body = json.loads(event_body(kind, id_for(kind)))
        body["data"].update(data)
        raw = json.dumps(body).encode()
        return raw, signed_headers(raw)
    return case


def _id_field(value: Any) -> Callable[[str], tuple[bytes, dict[str, str]]]:
    def case(kind: str) -> tuple[bytes, dict[str, str]]:
        field = "call_id" if kind == "realtime.call.incoming" else "session_id"
        return _signed_with(**{field: value})(kind)
    return case


def _other_api_id(kind: str) -> tuple[bytes, dict[str, str]]:
    # A Live event carrying an rtc_ id (or the reverse): ids are not interchangeable.
    field = "call_id" if kind == "realtime.call.incoming" else "session_id"
    return _signed_with(**{field: LIVE if field == "call_id" else RTC})(kind)


ATTACKS: dict[str, tuple[Callable[[str], tuple[bytes, dict[str, str]]], int, str]] = {
    "forged signature": (_forged, 400, "bad_signature"),
    "wrong secret": (_wrong_secret, 400, "bad_signature"),
    "body changed after signing": (_changed, 400, "bad_signature"),
    "stale timestamp": (_timestamp(-3600), 400, "stale"),  # far past the 300 s tolerance:
    "future timestamp": (_timestamp(3600), 400, "future"),  # a slow run cannot bring it in
    "no webhook-id": (_missing("webhook-id"), 400, "missing_headers"),
    "no webhook-signature": (_missing("webhook-signature"), 400, "missing_headers"),
    "id with a path": (_id_field("live_u0_../../v1/x"), 400, "malformed"),
    "id not a string": (_id_field(5), 400, "malformed"),
    "id secret-shaped": (_id_field("live_sk-proj-" + "a" * 30), 400, "malformed"),
    "id of the other API": (_other_api_id, 400, "malformed"),
    "bad sip headers": (_signed_with(sip_headers=[{"name": "From"}]), 400, "malformed"),
    "sip headers not a list": (_signed_with(sip_headers="From: x"), 400, "malformed"),
    "oversized": (_signed_with(sip_headers=[{"name": "X-Pad", "value": "p" * 4096}]), 413,
                  "too_large"),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_attacks_on_every_event_type_are_refused_and_never_queued(
    http: aiohttp.ClientSession, client: openai.AsyncOpenAI, kind: str, attack: str
) -> None:
    make, status, reason = ATTACKS[attack]
    body, headers = make(kind)
    async with WebhookInbox(secret=SECRET, client=client, max_body=2048) as box:
        assert box.url is not None
        assert await post(http, box.url, body, headers) == status
        assert box.stats.refused == {reason: 1}
        assert box.stats.accepted == 0
        assert box.pending == 0
        assert box.seen == []


@pytest.mark.parametrize("kind", ["live.transport.incoming", "live.transport.connected"])
async def test_a_bad_transport_type_is_refused(
    inbox: WebhookInbox, http: aiohttp.ClientSession, kind: str
) -> None:
    body, headers = _signed_with(type="carrier-pigeon")(kind)
    assert inbox.url is not None
    assert await post(http, inbox.url, body, headers) == 400
    assert inbox.stats.refused == {"malformed": 1}


@pytest.mark.parametrize("kind", KINDS[1:])
async def test_live_duplicates_by_webhook_id_or_event_id_are_dropped(
    inbox: WebhookInbox, http: aiohttp.ClientSession, kind: str
) -> None:
    assert inbox.url is not None
    body = event_body(kind, LIVE, event_id="evt_same")
    headers = signed_headers(body, webhook_id="wh_same")
    assert await post(http, inbox.url, body, headers) == 200
    assert await post(http, inbox.url, body, headers) == 200  # a replay
    assert await post(http, inbox.url, body, signed_headers(body, webhook_id="wh_new")) == 200
    assert inbox.stats.accepted == 1
    assert inbox.stats.duplicates == 2
    assert inbox.stats.merged == 0
    assert inbox.pending == 1


async def test_the_secret_is_in_no_repr_of_a_live_call(
    inbox: WebhookInbox, http: aiohttp.ClientSession
) -> None:
    incoming = await both_ways(http, inbox)
    blob = "\n".join([repr(inbox), repr(incoming), repr(inbox.stats)])
    assert SECRET not in blob
    assert SECRET[6:] not in blob
    assert RTC in blob
    assert LIVE in blob
