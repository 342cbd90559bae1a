"""A small stand-in for the OpenAI REST API on 127.0.0.1, for the call-control tests.

Why: the emulator speaks Realtime only (its Live side comes later), and the Live control
endpoints must be driven through the SDK's own ``client.live.sessions.*`` and
``client.realtime.calls.*`` to show what really goes on the wire. This aiohttp server records
every request (method, path, query, JSON body or raw bytes, the Authorization header) and
answers as live-protocol.md §2.1 and realtime-protocol.md §2 say the service does:

- ``POST /v1/realtime/calls`` → 201, ``Location: /v1/realtime/calls/<rtc id>``, SDP text;
- ``POST /v1/live/sessions`` and ``POST /v1/live/sessions/{id}/fork`` → 201 / 200 with
  ``{"session": {"id": "live_…"}, "transport": {"type": "webrtc", "sdp": …}}``;
- ``POST …/{id}/accept|reject|refer|hangup`` → 200, empty;
- ``GET /v1/live/sessions/{id}/content`` → the bytes in ``recording``;
- an id in ``gone`` → 404 with an OpenAI-style error body; ``fail`` maps a path to a status.

Use: ``async with LiveApiStub() as stub: client = stub.client()``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai
from aiohttp import web

API_KEY = "sk-test-not-a-real-key"
#: Real Live session ids (tests/reality/ids.json: the GPT-Live traces of spideryarn/reading2).
REAL_LIVE_IDS = (
    "live_u0_EUrPjp3oMERblJsADSyL1hZGfCQubB3V",
    "live_u1_EUrRCp3oNAW04iwqigqdEYngTq5KnmX7",
    "live_u0_EUrS6p3oNSKDVSSEcRtQA055m5YPZns6",
)
#: A real SIP call id (tests/reality/ids.json).
REAL_RTC_ID = "rtc_u0_EPvuUp3oMjxHm4KyxnDpSQVfbHbOEtbS"
SDP_OFFER = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
SDP_ANSWER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=OpenAI\r\nt=0 0\r\n"
RECORDING = b"RIFF\x24\x00\x00\x00WAVEfmt "  # a stand-in; the real format is unconfirmed


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str | None
    accept: str | None


@dataclass
class LiveApiStub:
    """The stub server; ``requests`` is what the SDK sent, in order."""

    requests: list[Request] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    fail: dict[str, tuple[int, str]] = field(default_factory=dict)
    created_id: str = "live_u1_StubCreatedSession0000000000000"
    forked_id: str = "live_u1_StubForkedSession00000000000000"
    rtc_created_id: str = "rtc_u1_StubCreatedCall00000000000000000"
    recording: bytes = RECORDING
    #: Replaces the body of create/fork answers when set (for bad-answer tests).
    answer_body: Callable[[], Any] | None = None
    #: When set, every answer waits for it (to hold a request in flight without a timer).
    gate: asyncio.Event | None = None
    #: Set whenever a request has been recorded.
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def client(self, **kw: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(api_key=API_KEY, base_url=self.base_url, max_retries=0, **kw)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    async def __aenter__(self) -> LiveApiStub:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        self.requests.append(Request(
            request.method, request.path, dict(request.query), body,
            request.headers.get("Authorization"), request.headers.get("Accept"),
        ))
        self.arrived.set()
        parts = request.path.strip("/").split("/")
        if self.gate is not None:
            await self.gate.wait()
        if request.path in self.fail:
            status, message = self.fail[request.path]
            return _error(status, message)
        if any(part in self.gone for part in parts):
            return _error(404, "Session not found")
        if parts[:3] == ["v1", "live", "sessions"]:
            if len(parts) == 3 and request.method == "POST":
                return self._answer(201, self.created_id)
            if len(parts) == 5 and parts[4] == "fork" and request.method == "POST":
                return self._answer(200, self.forked_id)
            if len(parts) == 5 and parts[4] == "content" and request.method == "GET":
                return web.Response(body=self.recording,
                                    content_type="application/octet-stream")
            if len(parts) == 5 and request.method == "POST":
                return web.Response(status=200)
        if parts[:3] == ["v1", "realtime", "calls"]:
            if len(parts) == 3 and request.method == "POST":
                return web.Response(
                    status=201, text=SDP_ANSWER, content_type="application/sdp",
                    headers={"Location": f"/v1/realtime/calls/{self.rtc_created_id}"},
                )
            if len(parts) == 5 and request.method == "POST":
                return web.Response(status=200)
        return _error(404, f"no route {request.method} {request.path}")

    def _answer(self, status: int, session_id: str) -> web.Response:
        body = (self.answer_body() if self.answer_body is not None else
                {"session": {"id": session_id}, "transport": {"type": "webrtc",
                                                              "sdp": SDP_ANSWER}})
        return web.json_response(body, status=status)


def _error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "invalid_request_error", "param": None,
                   "code": None}},
        status=status,
    )
