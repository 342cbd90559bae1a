"""A tiny WebSocket server on 127.0.0.1 that answers a sideband the way the real service
refuses one, or drops it; it counts the connections it accepted.

Why: the emulator answers a bad key with HTTP 401 at the handshake; the real service
upgrades (101), sends one ``error`` event and closes with 3000 (bad key) or 4000 (bad
model, beta header). Tests of "final is final" need that exact behaviour. Frames are the
published ones (source in ``rtwidgets.protocol.fatal``), the key text in them fake.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

# The error frame the real service sends before closing with 3000 (shape and message as
# published; alfred-KE/openai-realtime-twilio-demo ERREUR-OPENAI.md, issue 10). The message
# quotes part of the key: "sk-abc***…" stands for that part here.
BAD_KEY_FRAME: dict[str, Any] = {
    "type": "error", "event_id": "event_ChHoYgjNyV77BzP1pTFWV",
    "error": {"type": "invalid_request_error", "code": "invalid_api_key",
              "message": "Incorrect API key provided: sk-abc***…. You can find your API key "
                         "at https://platform.openai.com/account/api-keys.",
              "param": None, "event_id": None},
}
BAD_MODEL_FRAME: dict[str, Any] = {
    "type": "error", "event_id": "event_ChHoYgjNyV77BzP1pTFWW",
    "error": {"type": "invalid_request_error", "code": "invalid_model",
              "message": "Model \"gpt-nope\" is not supported in realtime mode.",
              "param": None, "event_id": None},
}
# A harmless first frame for the flapping server.
HELLO_FRAME: dict[str, Any] = {"type": "rate_limits.updated", "event_id": "event_Hello1",
                               "rate_limits": []}


@dataclass
class Refusing:
    """What the server does on each connection, and how many it accepted."""

    frames: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = 3000     # None: drop without a close frame (1006 at the client)
    close_reason: str = ""
    hold_open: bool = False           # after the frames, wait for the client to close
    connections: int = 0
    port: int = 0

    def client(self, api_key: str) -> Any:
        import openai

        return openai.AsyncOpenAI(api_key=api_key, base_url=f"http://127.0.0.1:{self.port}/v1",
                                  websocket_base_url=f"ws://127.0.0.1:{self.port}/v1")


@asynccontextmanager
async def refusing_server(behaviour: Refusing) -> AsyncIterator[Refusing]:
    """Serve ``behaviour`` on 127.0.0.1 (a free port) for the ``async with`` block."""
    from websockets.asyncio.server import ServerConnection, serve

    async def handler(ws: ServerConnection) -> None:
        behaviour.connections += 1
        for frame in behaviour.frames:
            await ws.send(json.dumps(frame, ensure_ascii=False))
        if behaviour.hold_open:
            await ws.wait_closed()
            return
        if behaviour.close_code is None:
            ws.transport.abort()
            return
        await ws.close(code=behaviour.close_code, reason=behaviour.close_reason)

    async with serve(handler, "127.0.0.1", 0) as server:
        behaviour.port = next(iter(server.sockets)).getsockname()[1]
        yield behaviour
