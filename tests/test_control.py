"""Call control: the requests sent through the SDK, refusals that send nothing, server errors.

Two servers stand behind the SDK here: a recording HTTP double on the SDK's own transport
seam (``httpx2.MockTransport``: it sees exactly the requests the SDK would put on the wire,
and answers with any status), and a small aiohttp server on 127.0.0.1 for the default client
read from the environment. The end-to-end flow against the emulator lives in
``test_control_emulator``-style tests at the bottom.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx2
import openai
import pytest
from aiohttp import web

from rtwidgets._control import (
    CallControlError,
    CallNotFoundError,
    CreatedCall,
    accept,
    create_call,
    hangup,
    refer,
    reject,
)
from rtwidgets.emulator import Emulator
from rtwidgets.protocol.errors import ValidationError

KEY = "sk-test-not-a-real-key"
SIP_CALL = "rtc_u0_479a275623b54bdb9b6fbae2f7cbd408"
WEBRTC_CALL = "rtc_u1_9c6574da8b8a41a18da9308f4ad974ce"
SDP_OFFER = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
SDP_ANSWER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=OpenAI\r\nt=0 0\r\n"

Handler = Callable[[httpx2.Request], httpx2.Response]


class Server:
    """Records every request the SDK makes and answers with ``respond`` (default: 200)."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []
        self.respond: Handler = lambda request: httpx2.Response(200)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        self.requests.append(request)
        return self.respond(request)

    def json_bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
async def client(server: Server) -> AsyncIterator[openai.AsyncOpenAI]:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(server))
    async with openai.AsyncOpenAI(
        api_key=KEY, base_url="http://127.0.0.1:9/v1", max_retries=0, http_client=http
    ) as c:
        yield c


def multipart(request: httpx2.Request) -> dict[str, tuple[str, bytes]]:
    """The parts of a multipart/form-data request: name -> (content type, payload)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        head + request.content
    )
    parts: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str)
        assert isinstance(payload, bytes)
        parts[name] = (part.get_content_type(), payload)
    return parts


# --------------------------------------------------------------------------- create_call


async def test_create_call_reads_the_call_id_from_location(
    server: Server, client: openai.AsyncOpenAI
) -> None:
    server.respond = lambda r: httpx2.Response(
        201,
        headers={
            "Location": f"/v1/realtime/calls/{WEBRTC_CALL}",
            "Content-Type": "application/sdp",
        },
        content=SDP_ANSWER.encode(),
    )
    created = await create_call(SDP_OFFER, {"instructions": "Be brief."}, client=client)
    assert created == CreatedCall(call_id=WEBRTC_CALL, sdp_answer=SDP_ANSWER)
    (request,) = server.requests
    assert request.method == "POST"
    assert request.url.path == "/v1/realtime/calls"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    parts = multipart(request)
    assert parts["sdp"] == ("application/sdp", SDP_OFFER.encode())
    content_type, session = parts["session"]
    assert content_type == "application/json"
    assert json.loads(session) == {"type": "realtime", "instructions": "Be brief."}


async def test_create_call_with_an_absolute_location(
    server: Server, client: openai.AsyncOpenAI
) -> None:
    server.respond = lambda r: httpx2.Response(
        201,
        headers={"Location": f"https://api.openai.com/v1/realtime/calls/{WEBRTC_CALL}/"},
        content=SDP_ANSWER.encode(),
    )
    created = await create_call(SDP_OFFER, client=client)
    assert created.call_id == WEBRTC_CALL
    assert "session" not in multipart(server.requests[0])


@pytest.mark.parametrize("location", [None, "/v1/realtime/calls/", "/v1/realtime/calls/abc"])
async def test_create_call_without_a_usable_location_says_so(
    server: Server, client: openai.AsyncOpenAI, location: str | None
) -> None:
    headers = {} if location is None else {"Location": location}
    server.respond = lambda r: httpx2.Response(201, headers=headers, content=b"v=0\r\n")
    with pytest.raises(CallControlError) as err:
        await create_call(SDP_OFFER, client=client)
    assert err.value.action == "create_call"
    assert err.value.status_code == 201
    assert "Location" in str(err.value)
    assert "Fix:" in str(err.value)


@pytest.mark.parametrize(
    ("sdp", "session", "field"),
    [
        (None, None, "sdp"),
        (b"v=0", None, "sdp"),
        ("hello", None, "sdp"),
        ("", None, "sdp"),
        (SDP_OFFER, {"type": "transcription"}, "session.type"),
        (SDP_OFFER, {"voice": "marin"}, "session.voice"),
        (SDP_OFFER, ["instructions"], "session"),
        (SDP_OFFER, {"audio": {"output": {"speed": 9}}}, "session.audio.output.speed"),
    ],
)
async def test_create_call_refuses_bad_input_and_sends_nothing(
    server: Server, client: openai.AsyncOpenAI, sdp: Any, session: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        await create_call(sdp, session, client=client)
    assert err.value.field == field
    assert server.requests == []


# --------------------------------------------------------------------------- accept


async def test_accept_sends_the_session_with_type_realtime(
    server: Server, client: openai.AsyncOpenAI
) -> None:
    session = {
        "model": "gpt-realtime-2.1",
        "instructions": "Greet the caller.",
        "audio": {"output": {"voice": "marin"}},
    }
    await accept(SIP_CALL, session, client=client, output_modalities=["audio"])
    (request,) = server.requests
    assert request.url.path == f"/v1/realtime/calls/{SIP_CALL}/accept"
    assert json.loads(request.content) == {"type": "realtime", **session,
                                           "output_modalities": ["audio"]}
    assert session == {  # the caller's mapping is left alone
        "model": "gpt-realtime-2.1",
        "instructions": "Greet the caller.",
        "audio": {"output": {"voice": "marin"}},
    }


async def test_accept_with_keywords_only(server: Server, client: openai.AsyncOpenAI) -> None:
    await accept(SIP_CALL, client=client, instructions="Hi")
    assert server.json_bodies() == [{"type": "realtime", "instructions": "Hi"}]


@pytest.mark.parametrize(
    ("call_id", "session", "fields", "field"),
    [
        ("rtc_", None, {}, "call_id"),
        ("", None, {}, "call_id"),
        (42, None, {}, "call_id"),
        (f"{SIP_CALL}/../x", None, {}, "call_id"),
        (SIP_CALL, {"type": "transcription"}, {}, "session.type"),
        (SIP_CALL, {"instructions": "a"}, {"instructions": "b"}, "session.instructions"),
        (SIP_CALL, {"instructionz": "a"}, {}, "session.instructionz"),
        (SIP_CALL, None, {"max_output_tokens": 0}, "session.max_output_tokens"),
        (SIP_CALL, None, {"audio": {"output": {"voice": "robot"}}}, "session.audio.output.voice"),
        (SIP_CALL, None, {"id": "sess_x"}, "session.id"),
        (SIP_CALL, "be nice", {}, "session"),
    ],
)
async def test_accept_refuses_bad_input_and_sends_nothing(
    server: Server,
    client: openai.AsyncOpenAI,
    call_id: Any,
    session: Any,
    fields: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(ValidationError) as err:
        await accept(call_id, session, client=client, **fields)
    assert err.value.field == field
    assert "Fix:" in str(err.value)
    assert server.requests == []


# --------------------------------------------------------------------------- reject/refer/hangup


async def test_reject_sends_the_status_code_or_nothing(
    server: Server, client: openai.AsyncOpenAI
) -> None:
    await reject(SIP_CALL, 486, client=client)
    await reject(SIP_CALL, client=client)
    assert [r.url.path for r in server.requests] == [f"/v1/realtime/calls/{SIP_CALL}/reject"] * 2
    assert server.json_bodies() == [{"status_code": 486}, {}]


@pytest.mark.parametrize("code", [399, 700, 200, 0, True, "486", 486.0])
async def test_reject_refuses_a_bad_status_code(
    server: Server, client: openai.AsyncOpenAI, code: Any
) -> None:
    with pytest.raises(ValidationError) as err:
        await reject(SIP_CALL, code, client=client)
    assert err.value.field == "status_code"
    assert "400" in str(err.value)
    assert server.requests == []


@pytest.mark.parametrize(
    "target",
    [
        "tel:+14155550123",
        "tel:+1-415-555-0123",
        "tel:911;phone-context=+1",
        "sip:agent@example.com",
        "sips:agent@example.com:5061;transport=tls",
        "sip:+14155550123@sip.example.com;user=phone",
        "sip:example.com",
        "sip:agent@[2001:db8::1]",
    ],
)
async def test_refer_sends_a_valid_target(
    server: Server, client: openai.AsyncOpenAI, target: str
) -> None:
    await refer(SIP_CALL, target, client=client)
    (request,) = server.requests
    assert request.url.path == f"/v1/realtime/calls/{SIP_CALL}/refer"
    assert json.loads(request.content) == {"target_uri": target}


@pytest.mark.parametrize(
    "target",
    [
        "https://example.com",
        "+14155550123",
        "tel:",
        "tel:call me",
        "sip:",
        "sip:agent@",
        "sip:agent @example.com",
        "sip:agent@example.com\r\nX-Injected: 1",
        "mailto:agent@example.com",
        "sip:" + "a" * 3000 + "@example.com",
        None,
        42,
    ],
)
async def test_refer_refuses_a_bad_target(
    server: Server, client: openai.AsyncOpenAI, target: Any
) -> None:
    with pytest.raises(ValidationError) as err:
        await refer(SIP_CALL, target, client=client)
    assert err.value.field == "target_uri"
    assert server.requests == []


async def test_hangup_posts_to_the_call(server: Server, client: openai.AsyncOpenAI) -> None:
    await hangup(WEBRTC_CALL, client=client)
    await hangup(SIP_CALL, client=client)
    assert [r.url.path for r in server.requests] == [
        f"/v1/realtime/calls/{WEBRTC_CALL}/hangup",
        f"/v1/realtime/calls/{SIP_CALL}/hangup",
    ]
    assert all(r.method == "POST" for r in server.requests)


async def test_every_action_refuses_a_bad_call_id(
    server: Server, client: openai.AsyncOpenAI
) -> None:
    actions: list[Callable[[], Awaitable[None]]] = [
        lambda: accept("call_123", client=client),
        lambda: reject("call_123", client=client),
        lambda: refer("call_123", "tel:+1", client=client),
        lambda: hangup("call_123", client=client),
    ]
    for action in actions:
        with pytest.raises(ValidationError) as err:
            await action()
        assert err.value.field == "call_id"
        assert "rtc_u0_" in str(err.value)
    assert server.requests == []


async def test_a_client_that_is_not_an_async_openai_is_refused(server: Server) -> None:
    with pytest.raises(ValidationError) as err:
        await hangup(SIP_CALL, client=KEY)  # type: ignore[arg-type]
    assert err.value.field == "client"
    assert KEY not in str(err.value)


# --------------------------------------------------------------------------- server errors


def _error(status: int, message: str) -> Handler:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None,
                      "code": None}}
    return lambda request: httpx2.Response(status, json=body)


async def test_an_unknown_call_is_a_call_not_found_error_naming_it(
    server: Server, client: openai.AsyncOpenAI
) -> None:
    server.respond = _error(404, "Call not found")
    with pytest.raises(CallNotFoundError) as err:
        await accept(SIP_CALL, client=client, instructions="Hi")
    assert err.value.call_id == SIP_CALL
    assert err.value.action == "accept"
    assert err.value.status_code == 404
    assert isinstance(err.value.sdk_error, openai.NotFoundError)
    assert SIP_CALL in str(err.value)
    assert "ringing" in str(err.value) or "ended" in str(err.value)
    assert err.value.__cause__ is None


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, f"Incorrect API key provided: {KEY}."),
        (400, f"Invalid session; you sent key {KEY} and sk-proj-abcdefghijklmnop"),
        (500, "The server had an error " + "x" * 1000),
        (409, "Call already accepted"),
    ],
)
async def test_server_errors_are_wrapped_without_the_key(
    server: Server, client: openai.AsyncOpenAI, status: int, message: str
) -> None:
    server.respond = _error(status, message)
    with pytest.raises(CallControlError) as err:
        await hangup(SIP_CALL, client=client)
    text = str(err.value)
    assert err.value.status_code == status
    assert SIP_CALL in text
    assert f"HTTP {status}" in text
    assert KEY not in text
    assert "sk-proj-abcdefghijklmnop" not in text
    assert len(text) < 700
    assert KEY not in repr(err.value)


async def test_an_unreachable_server_is_a_clear_error() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(refuse))
    async with openai.AsyncOpenAI(
        api_key=KEY, base_url="http://127.0.0.1:9/v1", max_retries=0, http_client=http
    ) as c:
        with pytest.raises(CallControlError) as err:
            await reject(SIP_CALL, 603, client=c)
    assert "could not reach http://127.0.0.1:9/v1" in str(err.value)
    assert err.value.status_code is None
    assert KEY not in str(err.value)


# --------------------------------------------------------------------------- default client


async def test_no_client_and_no_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    with pytest.raises(ValidationError) as err:
        await hangup(SIP_CALL)
    assert err.value.field == "client"
    assert "OPENAI_API_KEY" in str(err.value)


async def test_bad_input_is_refused_before_looking_for_a_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValidationError) as err:
        await reject(SIP_CALL, 99)
    assert err.value.field == "status_code"


async def test_the_default_client_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, str, str | None]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append((request.method, request.path, request.headers.get("Authorization")))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/v1/realtime/calls/{call_id}/{action}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
        await hangup(SIP_CALL)
        await refer(SIP_CALL, "tel:+14155550123")
    finally:
        await runner.cleanup()
    assert seen == [
        ("POST", f"/v1/realtime/calls/{SIP_CALL}/hangup", f"Bearer {KEY}"),
        ("POST", f"/v1/realtime/calls/{SIP_CALL}/refer", f"Bearer {KEY}"),
    ]


# --------------------------------------------------------------------------- the emulator


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = await Emulator.start(speed=50.0, seed=7)
    async with emulator:
        yield emulator


@pytest.fixture
async def emu_client(emu: Emulator) -> AsyncIterator[openai.AsyncOpenAI]:
    async with emu.client(api_key=KEY, max_retries=0) as c:
        yield c


async def test_create_call_against_the_emulator(
    emu: Emulator, emu_client: openai.AsyncOpenAI
) -> None:
    created = await create_call(SDP_OFFER, {"instructions": "Be brief."}, client=emu_client)
    assert created.call_id in emu.calls
    assert created.call_id.startswith("rtc_u1_")
    assert created.sdp_answer.startswith("v=0")
    (request,) = emu.requests
    assert request["path"] == "/v1/realtime/calls"
    assert request["body"]["session"] == {"type": "realtime", "instructions": "Be brief."}
    assert emu.calls[created.call_id].session["instructions"] == "Be brief."
    await hangup(created.call_id, client=emu_client)
    assert await emu.wait_ended(created.call_id, timeout=5) == "hangup"


async def test_accept_then_refer_a_sip_call_on_the_emulator(
    emu: Emulator, emu_client: openai.AsyncOpenAI
) -> None:
    call_id = await emu.start_call(transport="sip")
    session = {"instructions": "You are the front desk.", "audio": {"output": {"voice": "marin"}}}
    await accept(call_id, session, client=emu_client)
    assert emu.requests[-1]["path"] == f"/v1/realtime/calls/{call_id}/accept"
    assert emu.requests[-1]["body"] == {"type": "realtime", **session}
    assert emu.calls[call_id].session["audio"]["output"]["voice"] == "marin"
    # Accepting twice: the server refuses and the error names the call and the status.
    with pytest.raises(CallControlError) as err:
        await accept(call_id, client=emu_client, instructions="again")
    assert err.value.status_code == 400
    assert call_id in str(err.value)
    await refer(call_id, "tel:+14155550123", client=emu_client)
    assert emu.requests[-1]["body"] == {"target_uri": "tel:+14155550123"}
    assert await emu.wait_ended(call_id, timeout=5) == "referred"
    with pytest.raises(CallNotFoundError):
        await hangup(call_id, client=emu_client)


async def test_reject_a_ringing_sip_call_on_the_emulator(
    emu: Emulator, emu_client: openai.AsyncOpenAI
) -> None:
    call_id = await emu.start_call(transport="sip")
    await reject(call_id, 486, client=emu_client)
    assert emu.requests[-1]["body"] == {"status_code": 486}
    assert await emu.wait_ended(call_id, timeout=5) == "rejected (486)"


async def test_an_unknown_call_on_the_emulator_is_not_found(
    emu_client: openai.AsyncOpenAI,
) -> None:
    with pytest.raises(CallNotFoundError) as err:
        await hangup("rtc_u0_" + "0" * 32, client=emu_client)
    assert "rtc_u0_" + "0" * 32 in str(err.value)
    assert KEY not in str(err.value)


async def test_refusals_reach_nothing_on_the_emulator(
    emu: Emulator, emu_client: openai.AsyncOpenAI
) -> None:
    call_id = await emu.start_call(transport="sip")
    refusals: list[Callable[[], Awaitable[Any]]] = [
        lambda: accept(call_id, {"type": "transcription"}, client=emu_client),
        lambda: accept(call_id, client=emu_client, speed=2),
        lambda: accept(call_id, client=emu_client, audio={"output": {"speed": 3.0}}),
        lambda: reject(call_id, 302, client=emu_client),
        lambda: refer(call_id, "agent@example.com", client=emu_client),
        lambda: hangup(call_id.upper(), client=emu_client),
        lambda: create_call("not sdp", client=emu_client),
    ]
    for refusal in refusals:
        with pytest.raises(ValidationError):
            await refusal()
    assert emu.requests == []
    assert emu.calls[call_id].status == "incoming"


def test_the_default_client_follows_openai_websocket_base_url(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Call control's default client and attach's are the same one (_control.default_client).
    from rtwidgets._control import default_client

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("OPENAI_WEBSOCKET_BASE_URL", "ws://127.0.0.1:8123/v1")
    assert str(default_client().websocket_base_url) == "ws://127.0.0.1:8123/v1"
    monkeypatch.setenv("OPENAI_WEBSOCKET_BASE_URL", "")  # empty means unset, as for the doctor
    assert default_client().websocket_base_url is None


NOWHERE = "http://127.0.0.1:9/v1"  # nothing listens: a request would fail, not validate
LIVE_ID = "live_u0_479a275623b54bdb9b6fbae2f7cbd408"


def _offline() -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=KEY, base_url=NOWHERE, max_retries=0)


@pytest.mark.parametrize(("call", "field", "fix"), [
    # status codes over the SDK's CallRejectParams / SessionRejectParams: type, range, Live range
    (lambda c: reject(SIP_CALL, "486", client=c), "status_code", "from 400 to 699"),
    (lambda c: reject(SIP_CALL, 302, client=c), "status_code", "from 400 to 699"),
    (lambda c: reject(LIVE_ID, 299, client=c), "status_code", "from 300 to 699"),
    (lambda c: reject(LIVE_ID, 4.5, client=c), "status_code", "from 300 to 699"),
    # refer targets over CallReferParams / SessionReferParams: type, scheme, shape, length
    (lambda c: refer(SIP_CALL, None, client=c), "target_uri", "'tel:+14155550123'"),
    (lambda c: refer(SIP_CALL, "mailto:a@b", client=c), "target_uri", "Refer-To target"),
    (lambda c: refer(LIVE_ID, "tel:+1 415", client=c), "target_uri", "with no spaces"),
    (lambda c: refer(SIP_CALL, "tel:+1" + "5" * 3000, client=c), "target_uri", "short"),
    # the SDP offer of CallCreateParams: type and content
    (lambda c: create_call(b"v=0", client=c), "sdp", "pc.localDescription.sdp"),
    (lambda c: create_call("o=- 0 0", client=c), "sdp", "starts with 'v=0'"),
])
async def test_control_arguments_name_the_field_and_the_fix(
    call: Callable[[openai.AsyncOpenAI], Awaitable[Any]], field: str, fix: str
) -> None:
    client = _offline()
    with pytest.raises(ValidationError) as err:
        await call(client)
    assert err.value.field == field
    assert fix in err.value.fix
    assert str(err.value).startswith(f"{field}: ")
    assert KEY not in str(err.value)
    await client.close()
