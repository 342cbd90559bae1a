"""A GPT-Live sideband stand-in on 127.0.0.1: ``/v1/live/sessions/{id}/attach``.

Why: the emulator speaks Realtime only for now, and the Live transport must be shown to go
through the SDK's own ``client.live.sideband.connect`` (path, auth, query exactly as
live-protocol.md §2.2 records SDK 3.57.0 sending them) and to honour final-is-final. This
websockets server records each handshake (path, query, which headers came — never their
values) and every client frame, sends a script on connect, answers ``session.close`` with
``session.closed`` (then closes or drops, as configured), refuses ids in ``gone`` with HTTP
404 at the handshake, and can drop the first connections without a close frame.

Use: ``async with live_sideband(LiveSideband(frames=[...])) as sb: client = sb.client()``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

API_KEY = "sk-test-not-a-real-key"


def closed_frame(reason: str = "close_requested", client_event_id: str | None = None
                 ) -> dict[str, Any]:
    """A ``session.closed`` shaped as the real traces' (tests/reality/frames/live_*)."""
    frame: dict[str, Any] = {
        "type": "session.closed", "event_id": "event_EUrRJ6b2YlUuIzeVYbGnX", "reason": reason,
        "session": {"id": "live_u1_EUrRCp3oNAW04iwqigqdEYngTq5KnmX7", "model": "gpt-live-1",
                    "status": "active", "expires_at": 1791031162, "input": [],
                    "delegation": {"type": "responses"}},
        "usage": {"seconds": 15}}
    if client_event_id is not None:
        frame["client_event_id"] = client_event_id
    return frame


@dataclass
class LiveSideband:
    frames: list[dict[str, Any]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    drop_first: int = 0            # drop this many connections (no close frame) after frames
    after_closed: str = "close"    # after session.closed: "close" (1000), "drop" or "hold"
    connections: int = 0
    handshakes: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    def client(self, **kw: Any) -> Any:
        import openai

        return openai.AsyncOpenAI(api_key=API_KEY, base_url=f"http://127.0.0.1:{self.port}/v1",
                                  **kw)


@asynccontextmanager
async def live_sideband(sb: LiveSideband) -> AsyncIterator[LiveSideband]:
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.http11 import Request, Response

    def process_request(conn: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        auth = request.headers.get("Authorization", "")
        sb.handshakes.append({
            "raw_path": url.path, "query": parse_qs(url.query),
            "bearer_ok": auth == f"Bearer {API_KEY}",
            "headers": sorted(k.lower() for k in request.headers)})
        parts = url.path.split("/")
        if (len(parts) != 6 or parts[1:4] != ["v1", "live", "sessions"]
                or parts[5] != "attach"):
            return conn.respond(HTTPStatus.NOT_FOUND, "no such path\n")
        if unquote(parts[4]) in sb.gone:
            return conn.respond(HTTPStatus.NOT_FOUND, "session not found\n")
        return None

    async def handler(ws: ServerConnection) -> None:
        sb.connections += 1
        for frame in sb.frames:
            await ws.send(json.dumps(frame))
        if sb.connections <= sb.drop_first:
            ws.transport.abort()
            return
        async for message in ws:
            event = json.loads(message)
            sb.received.append(event)
            if event.get("type") == "session.close":
                await ws.send(json.dumps(closed_frame(client_event_id=event.get("event_id"))))
                if sb.after_closed == "drop":
                    ws.transport.abort()
                    return
                if sb.after_closed == "close":
                    await ws.close(1000)
                    return

    async with serve(handler, "127.0.0.1", 0, process_request=process_request) as server:
        sb.port = next(iter(server.sockets)).getsockname()[1]
        yield sb
