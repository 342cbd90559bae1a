"""Shared helpers for the emulator tests: a fast emulator, raw sidebands, SDK validation,
a local webhook endpoint, a write counter, and a driver for a session core of either API.

Tests run the emulator at speed 50 so a scripted call lasts well under a second or two.
Raw sidebands (aiohttp's client) keep the exact frames; the official SDK is used where the
point is that the SDK can drive the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import typing
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pydantic
import pytest
from aiohttp import web
from openai.types.live import ConnectServerEvent
from openai.types.realtime import RealtimeServerEvent
from openai.types.responses import ResponseStreamEvent

from rtwidgets.emulator import Emulator, VirtualCall
from rtwidgets.emulator.core import LiveSession, RealtimeSession
from rtwidgets.emulator.core.outputs import Out

API_KEY = "sk-test-not-a-real-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
FAST = 50.0


def _union_classes(alias: Any) -> dict[str, type[pydantic.BaseModel]]:
    """The classes of an SDK event union (``Annotated[Union[...], ...]``) by their ``type``."""
    union = typing.get_args(alias)[0]
    out: dict[str, type[pydantic.BaseModel]] = {}
    for cls in typing.get_args(union):
        (literal,) = typing.get_args(cls.model_fields["type"].annotation)
        out[literal] = cls
    return out


SERVER_EVENT_CLASSES = _union_classes(RealtimeServerEvent)

# The SDK types session.created/updated's session as the *request* shape, so the response
# shape's id/object/expires_at land in extras (realtime-protocol.md §9.4 caveat 3).
_SESSION_EXTRAS = {"id", "object", "expires_at"}


def _extras(model: Any, path: str, allowed_top: set[str]) -> list[str]:
    bad: list[str] = []
    if isinstance(model, pydantic.BaseModel):
        allowed = allowed_top
        for key in (model.model_extra or {}):
            if key not in allowed:
                bad.append(f"{path}.{key}" if path else key)
        for name in type(model).model_fields:
            value = getattr(model, name)
            sub_allowed = _SESSION_EXTRAS if name == "session" and path == "" else set()
            bad.extend(_extras(value, f"{path}.{name}" if path else name, sub_allowed))
    elif isinstance(model, list):
        for i, value in enumerate(model):
            bad.extend(_extras(value, f"{path}[{i}]", set()))
    return bad


def validate_server_event(event: dict[str, Any]) -> None:
    """Validate against the event type's own SDK class; no extra field but ``obfuscation``."""
    cls = SERVER_EVENT_CLASSES.get(event["type"])
    assert cls is not None, f"{event['type']} is not a server event type of the SDK"
    model = cls.model_validate(event)
    bad = _extras(model, "", {"obfuscation"})
    assert not bad, f"{event['type']}: fields the SDK does not know: {bad}"


LIVE_EVENT_CLASSES = _union_classes(ConnectServerEvent)
RESPONSE_STREAM_EVENT_CLASSES = _union_classes(ResponseStreamEvent)


def validate_live_event(event: dict[str, Any]) -> None:
    """Validate a GPT-Live sideband event against its own class in ``openai.types.live``
    (``ConnectServerEvent``), with no field the SDK does not know; the Responses event that
    ``response.event`` wraps against ``openai.types.responses.ResponseStreamEvent``."""
    cls = LIVE_EVENT_CLASSES.get(event["type"])
    assert cls is not None, f"{event['type']} is not a Live server event type of the SDK"
    model = cls.model_validate(event)
    bad = _extras(model, "", set())
    assert not bad, f"{event['type']}: fields the SDK does not know: {bad}"
    if event["type"] == "response.event":
        inner_cls = RESPONSE_STREAM_EVENT_CLASSES.get(event["event"]["type"])
        assert inner_cls is not None, f"{event['event']['type']} is no Responses stream event"
        inner_cls.model_validate(event["event"])


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with await Emulator.start(speed=FAST, seed=7, caller_patience_s=5.0) as e:
        yield e


class Sideband:
    """A raw sideband socket that keeps every frame it received."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse):
        self.http = http
        self.ws = ws
        self.frames: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.closed_code: int | None = None

    async def send(self, event: dict[str, Any] | str) -> None:
        await self.ws.send_str(event if isinstance(event, str) else json.dumps(event))

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket closed: {msg.type!r} {msg.data!r}")
        self.frames.append(msg.data)
        try:
            event = json.loads(msg.data)
        except json.JSONDecodeError:
            event = {"type": "<bad frame>", "raw": msg.data}
        self.events.append(event)
        return typing.cast(dict[str, Any], event)

    async def until(self, type_: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = await self.next(max(0.01, deadline - loop.time()))
            if event.get("type") == type_ and all(event.get(k) == v for k, v in match.items()):
                return event

    async def drain(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Read until the server closes the socket; returns everything received."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            msg = await self.ws.receive(timeout=max(0.01, deadline - loop.time()))
            if msg.type != aiohttp.WSMsgType.TEXT:
                self.closed_code = self.ws.close_code
                return self.events
            self.frames.append(msg.data)
            try:
                self.events.append(json.loads(msg.data))
            except json.JSONDecodeError:
                self.events.append({"type": "<bad frame>", "raw": msg.data})

    async def close(self) -> None:
        await self.ws.close()
        await self.http.close()


class VirtualSideband:
    """A ``Sideband`` over a ``VirtualCall``: the same test body, in virtual time.

    The client reacts instantly (its events arrive at the call time of the last event it
    read), so a test that needs "the response is still running" cannot race.
    """

    def __init__(self, call: VirtualCall) -> None:
        self.call = call
        self.events: list[dict[str, Any]] = []

    async def send(self, event: dict[str, Any] | str) -> None:
        self.call.send(event)

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        event = self.call.next()
        if event is None:
            raise ConnectionError(f"nothing more comes: {self.call!r}")
        self.events.append(event)
        return event

    async def until(self, type_: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        while True:
            event = await self.next()
            if event.get("type") == type_ and all(event.get(k) == v for k, v in match.items()):
                return event

    async def close(self) -> None:
        pass


async def open_sideband(emu: Emulator, call_id: str | None = None, *, model: str | None = None,
                        headers: dict[str, str] | None = None) -> Sideband:
    http = aiohttp.ClientSession()
    query = f"call_id={call_id}" if call_id else f"model={model}"
    try:
        ws = await http.ws_connect(f"{emu.websocket_base_url}/realtime?{query}",
                                   headers=AUTH if headers is None else headers,
                                   max_msg_size=0)
    except BaseException:
        await http.close()
        raise
    return Sideband(http, ws)


def types_of(events: list[dict[str, Any]]) -> list[str]:
    return [e.get("type", "") for e in events]


@contextlib.asynccontextmanager
async def serve_webhook(
        handle: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> AsyncIterator[str]:
    """A local webhook endpoint (127.0.0.1, a free port) answered by ``handle``; its URL."""
    app = web.Application()
    app.router.add_post("/webhook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        await runner.cleanup()


def count_writes(transport: Any, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every write on a sideband's transport from now on (``monkeypatch.undo()`` stops it)."""
    writes: list[bytes] = []
    real_write = transport.write

    def counting_write(data: bytes) -> None:
        writes.append(bytes(data))
        real_write(data)

    monkeypatch.setattr(transport, "write", counting_write)
    return writes


def events_of(outs: list[Out]) -> list[dict[str, Any]]:
    """The events among a session core's outputs."""
    return [o.event for o in outs if o.kind == "event" and o.event is not None]


def drive(core: RealtimeSession | LiveSession, step_ms: float | None, *,
          announce: bool = False) -> list[dict[str, Any]]:
    """Drive a session core to its end with a sideband attached at 0 (after ``announce``,
    as a WebRTC call's data channel gets it): at each deadline (``step_ms`` None), or in
    coarse steps (a late shell). Returns the events."""
    out = events_of((core.announce(0) if announce else []) + core.start(0)
                    + core.attach("ws1", 0))
    t = 0.0
    while core.status != "ended":
        deadline = core.next_deadline()
        assert deadline is not None
        t = deadline if step_ms is None else max(t + step_ms, deadline)
        out += events_of(core.advance(t))
    return out
