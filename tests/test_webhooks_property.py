"""Property tests for the inbox's signature check, over real HTTP on 127.0.0.1.

Properties: every correctly signed delivery inside the replay window is queued exactly once
with its SIP headers intact; any single mutation of the body, the ``webhook-id``, the
``webhook-timestamp`` text or the signature after signing is refused and never queued; and
arbitrary garbage gets a 4xx, never a 5xx or a queued call.

One inbox serves all the examples of a test (starting one per example would dominate the
run time), hence the suppressed function-scoped-fixture health check; every example uses
fresh ids so the duplicate filter never hides a result.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtwidgets._webhooks import WebhookInbox

SECRET = "whsec_" + base64.b64encode(b"rtwidgets-property-webhook-key!!").decode()
_counter = itertools.count()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks v1 signature (realtime-protocol.md §3.5), independent of the SDK."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> int:
    async with http.post(url, data=body, headers=headers) as resp:
        await resp.read()
        return resp.status

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=0, max_size=40
)
sip_headers = st.lists(
    st.tuples(
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-", min_size=1,
                max_size=20),
        st.text(max_size=60),  # any unicode: the caller controls these
    ),
    max_size=8,
)
id_alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_"


@pytest.fixture
async def inbox() -> AsyncIterator[WebhookInbox]:
    async with WebhookInbox(secret=SECRET) as box:
        yield box


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _delivery(
    headers_list: list[tuple[str, str]], wid_suffix: str, offset: int
) -> tuple[str, bytes, dict[str, str]]:
    n = next(_counter)
    call_id = f"rtc_u0_{n:032x}"
    body = json.dumps(
        {
            "object": "event",
            "id": f"evt_{n}_{wid_suffix}",
            "type": "realtime.call.incoming",
            "created_at": int(time.time()),
            "data": {
                "call_id": call_id,
                "sip_headers": [{"name": k, "value": v} for k, v in headers_list],
            },
        }
    ).encode()
    webhook_id = f"wh_{n}_{wid_suffix}"
    ts = int(time.time()) + offset
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(SECRET, webhook_id, ts, body),
    }
    return call_id, body, headers


@PROPERTY_SETTINGS
@given(
    headers_list=sip_headers,
    wid_suffix=st.text(alphabet=id_alphabet, max_size=20),
    offset=st.integers(min_value=-280, max_value=280),
)
async def test_valid_deliveries_are_queued_exactly_once(
    inbox: WebhookInbox,
    http: aiohttp.ClientSession,
    headers_list: list[tuple[str, str]],
    wid_suffix: str,
    offset: int,
) -> None:
    assert inbox.url is not None
    call_id, body, headers = _delivery(headers_list, wid_suffix, offset)
    accepted = inbox.stats.accepted
    assert await post(http, inbox.url, body, headers) == 200
    assert await post(http, inbox.url, body, headers) == 200  # the replay is dropped
    assert inbox.stats.accepted == accepted + 1
    assert inbox.pending == 1
    incoming = await inbox.get(timeout=1)
    assert incoming.call_id == call_id
    assert incoming.sip_headers == headers_list
    assert inbox.pending == 0


def _mutate_text(draw: Callable[[st.SearchStrategy[Any]], Any], text: str, alphabet: str) -> str:
    """``text`` with one character replaced, inserted or removed (never equal to ``text``)."""
    kind: str = draw(st.sampled_from(["replace", "insert", "delete"] if text else ["insert"]))
    i: int = draw(st.integers(min_value=0, max_value=max(len(text) - 1, 0)))
    if kind == "insert":
        extra: str = draw(st.sampled_from(alphabet))
        return text[:i] + extra + text[i:]
    if kind == "delete":
        return text[:i] + text[i + 1 :]
    new: str = draw(st.sampled_from(alphabet).filter(lambda c: c != text[i]))
    return text[:i] + new + text[i + 1 :]


B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


@st.composite
def mutation(draw: Any) -> tuple[str, Any]:
    target = draw(st.sampled_from(["body", "webhook-id", "webhook-timestamp", "signature"]))
    if target == "body":
        return target, (draw(st.integers(min_value=0)), draw(st.integers(1, 255)))
    if target == "webhook-timestamp":
        # Another value inside the window, or the same value written differently.
        return target, draw(
            st.one_of(
                st.integers(-250, 250).filter(lambda d: d != 0).map(lambda d: ("add", d)),
                st.sampled_from([("text", "0{}"), ("text", "+{}"), ("text", "{}.0")]),
            )
        )
    return target, draw(st.randoms(use_true_random=False))


@PROPERTY_SETTINGS
@given(headers_list=sip_headers, change=mutation(), data=st.data())
async def test_any_mutation_after_signing_is_refused(
    inbox: WebhookInbox,
    http: aiohttp.ClientSession,
    headers_list: list[tuple[str, str]],
    change: tuple[str, Any],
    data: st.DataObject,
) -> None:
    assert inbox.url is not None
    _, body, headers = _delivery(headers_list, "m", 0)
    target, how = change
    if target == "body":
        index, xor = how
        index %= len(body)
        body = body[:index] + bytes([body[index] ^ xor]) + body[index + 1 :]
    elif target == "webhook-timestamp":
        op, arg = how
        ts = int(headers["webhook-timestamp"])
        headers["webhook-timestamp"] = str(ts + arg) if op == "add" else arg.format(ts)
    elif target == "webhook-id":
        headers["webhook-id"] = _mutate_text(data.draw, headers["webhook-id"], id_alphabet)
    else:
        prefix, sig = headers["webhook-signature"].split(",", 1)
        headers["webhook-signature"] = prefix + "," + _mutate_text(data.draw, sig, B64)
    refused = inbox.stats.refused_total
    status = await post(http, inbox.url, body, headers)
    assert status == 400
    assert inbox.stats.refused_total == refused + 1
    assert inbox.stats.accepted == 0
    assert inbox.pending == 0


@PROPERTY_SETTINGS
@given(
    body=st.binary(max_size=300),
    headers=st.dictionaries(
        st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature", "x-other"]),
        header_text,
    ),
)
async def test_garbage_gets_4xx_and_is_never_queued(
    inbox: WebhookInbox,
    http: aiohttp.ClientSession,
    body: bytes,
    headers: dict[str, str],
) -> None:
    assert inbox.url is not None
    status = await post(http, inbox.url, body, headers)
    assert 400 <= status < 500
    assert inbox.stats.accepted == 0
    assert inbox.pending == 0
