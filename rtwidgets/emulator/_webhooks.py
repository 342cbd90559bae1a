"""The emulator's side of SIP webhooks: Standard Webhooks signing and a retrying sender.

Why: a SIP call announces itself with a signed ``realtime.call.incoming`` POST; the toolkit's
webhook inbox verifies it with the official SDK, so the signature must be byte-exact
(realtime-protocol.md §3.5) over the very bytes sent. This module never logs or records the
secret or the signature key; records of deliveries hold only ids, status codes and times.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

__all__ = ["WebhookDelivery", "WebhookSender", "sign_webhook"]


def sign_webhook(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value (``v1,<base64>``) for ``body``.

    ``whsec_`` secrets are base64 keys; any other string is used as UTF-8 bytes, as the SDK
    does.
    """
    key = (base64.b64decode(secret.removeprefix("whsec_"))
           if secret.startswith("whsec_") else secret.encode())
    msg = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


@dataclass
class WebhookDelivery:
    """What happened to one webhook event: every attempt's status (or error) and time."""

    webhook_id: str
    event_id: str
    call_id: str
    url: str
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"webhook_id": self.webhook_id, "event_id": self.event_id,
                "call_id": self.call_id, "url": self.url, "attempts": list(self.attempts),
                "delivered": self.delivered}


class WebhookSender:
    """POSTs signed webhook events, retrying non-2xx answers and connection errors.

    The same ``webhook-id`` is kept across retries (it is the idempotency key); each attempt
    carries its own ``webhook-timestamp`` and signature.
    """

    def __init__(self, url: str, secret: str | None,
                 retry_delays: Sequence[float] = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)) -> None:
        self.url = url
        self._secret = secret
        self._retry_delays = tuple(retry_delays)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"<WebhookSender url={self.url!r} signed={self._secret is not None}>"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def deliver(self, delivery: WebhookDelivery, payload: dict[str, Any]) -> bool:
        """Send until a 2xx answer or the retries run out; ``delivery`` records each try."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        body = json.dumps(payload, separators=(", ", ": ")).encode()
        delays = (0.0, *self._retry_delays)
        for attempt, delay in enumerate(delays):
            if delay:
                await asyncio.sleep(delay)
            timestamp = int(time.time())
            headers = {
                "user-agent": "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)",
                "content-type": "application/json",
                "webhook-id": delivery.webhook_id,
                "webhook-timestamp": str(timestamp),
            }
            if self._secret is not None:
                headers["webhook-signature"] = sign_webhook(
                    self._secret, delivery.webhook_id, timestamp, body)
            record: dict[str, Any] = {"attempt": attempt, "t": time.monotonic(),
                                      "timestamp": timestamp}
            try:
                async with self._session.post(self.url, data=body, headers=headers) as resp:
                    await resp.read()
                    record["status"] = resp.status
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                record["error"] = type(exc).__name__
            delivery.attempts.append(record)
            if 200 <= record.get("status", 0) < 300:
                delivery.delivered = True
                return True
        return False
