"""Signed webhook deliveries for the inbox tests: the Standard Webhooks v1 algorithm.

The same algorithm as tests/test_webhooks.py (checked there against the SDK's own test
vector), with bodies for the three incoming-call event types: ``realtime.call.incoming``,
``live.transport.incoming`` (and the deprecated ``live.call.incoming``) and
``live.transport.connected`` (field sets of openai.types.webhooks, SDK 3.57.0).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from typing import Any

import aiohttp

SECRET = "whsec_" + base64.b64encode(b"rtwidgets-live-webhook-key-32byt").decode()
_ids = itertools.count()

#: The docs' SIP headers (tests/reality/webhooks/realtime_call_incoming.json).
SIP_HEADERS = [
    {"name": "From", "value": "sip:+142555512112@sip.example.com"},
    {"name": "To", "value": "sip:+18005551212@sip.example.com"},
    {"name": "Call-ID", "value": "03782086-4ce9-44bf-8b0d-4e303d2cc590"},
]


def sign(secret: str, webhook_id: str, timestamp: int | str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def signed_headers(body: bytes, *, secret: str = SECRET, webhook_id: str | None = None,
                   timestamp: int | str | None = None) -> dict[str, str]:
    wid = webhook_id if webhook_id is not None else f"wh_{next(_ids):032x}"
    ts = int(time.time()) if timestamp is None else timestamp
    return {"webhook-id": wid, "webhook-timestamp": str(ts),
            "webhook-signature": sign(secret, wid, ts, body),
            "content-type": "application/json"}


def event_body(kind: str, the_id: str, *, sip_headers: list[dict[str, str]] | None = None,
               event_id: str | None = None, **data: Any) -> bytes:
    """A webhook body of ``kind`` for the call or session ``the_id``."""
    payload: dict[str, Any]
    if kind == "realtime.call.incoming":
        payload = {"call_id": the_id, "sip_headers": SIP_HEADERS if sip_headers is None
                   else sip_headers}
    elif kind == "live.transport.incoming":
        payload = {"session_id": the_id, "type": "sip",
                   "sip_headers": SIP_HEADERS if sip_headers is None else sip_headers}
    elif kind == "live.call.incoming":
        payload = {"session_id": the_id,
                   "sip_headers": SIP_HEADERS if sip_headers is None else sip_headers}
    elif kind == "live.transport.connected":
        payload = {"session_id": the_id, "type": "webrtc"}
    else:
        raise ValueError(kind)
    payload.update(data)
    event = {"object": "event", "id": event_id or f"evt_{next(_ids):032x}", "type": kind,
             "created_at": int(time.time()), "data": payload}
    return json.dumps(event).encode()


async def post(http: aiohttp.ClientSession, url: str, body: bytes,
               headers: dict[str, str] | None = None) -> int:
    async with http.post(url, data=body, headers=headers or signed_headers(body)) as resp:
        await resp.read()
        return resp.status
