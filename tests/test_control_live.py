"""Call control for GPT-Live ids, driven through the SDK against a stub API on 127.0.0.1.

The stub (``_live_api_stub``) records every request the SDK's ``client.live.sessions.*`` and
``client.realtime.calls.*`` put on the wire. The ids are the real ones of tests/reality.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest
from _live_api_stub import (
    API_KEY,
    REAL_LIVE_IDS,
    REAL_RTC_ID,
    RECORDING,
    SDP_ANSWER,
    SDP_OFFER,
    LiveApiStub,
)

from rtwidgets._control import (
    AlreadyAcceptedError,
    CallControlError,
    CallNotFoundError,
    CreatedCall,
    accept,
    create_call,
    download_recording,
    fork,
    hangup,
    refer,
    reject,
    resolve_api,
)
from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.ids import api_of_id, check_live_session_id, is_live_session_id

LIVE = REAL_LIVE_IDS[0]
MODEL = "gpt-live-1"


@pytest.fixture
async def stub() -> AsyncIterator[LiveApiStub]:
    async with LiveApiStub() as s:
        yield s


@pytest.fixture
async def client(stub: LiveApiStub) -> AsyncIterator[openai.AsyncOpenAI]:
    async with stub.client() as c:
        yield c


# --------------------------------------------------------------------------- ids


@pytest.mark.parametrize("live_id", REAL_LIVE_IDS)
def test_real_live_ids_are_live(live_id: str) -> None:
    assert is_live_session_id(live_id)
    assert api_of_id(live_id) == "live"
    assert check_live_session_id(live_id) == live_id


@pytest.mark.parametrize(
    ("value", "api"),
    [
        (REAL_RTC_ID, "realtime"),
        ("live_x", "live"),  # opaque: any safe tail, no length copied from an example
        ("live_" + "a" * 123, "live"),
        ("live_" + "a" * 124, None),  # 129 characters: above the cap
        ("live_u0_../x", None),
        ("live_u0_a\n", None),
        ("live_sk-proj-abcdefghijklmnopqrstuvwxyz", None),  # secret-shaped
        ("sess_123", None),
        ("LIVE_u0_abc", None),
        ("", None),
        (5, None),
    ],
)
def test_api_of_id(value: Any, api: str | None) -> None:
    assert api_of_id(value) == api


def test_a_pasted_key_is_never_echoed() -> None:
    key = "sk-proj-" + "Z" * 40
    with pytest.raises(ValidationError) as err:
        check_live_session_id("live_" + key)
    assert key not in str(err.value)
    assert "rotate" in str(err.value)


# --------------------------------------------------------------------------- accept


@pytest.mark.parametrize("live_id", REAL_LIVE_IDS)
async def test_accept_a_live_id_wraps_the_session(
    stub: LiveApiStub, client: openai.AsyncOpenAI, live_id: str
) -> None:
    session = {"model": MODEL, "instructions": "Greet the caller.",
               "audio": {"output": {"voice": "marin"}}}
    await accept(live_id, session, client=client, store=True)
    (request,) = stub.requests
    assert request.method == "POST"
    assert request.path == f"/v1/live/sessions/{live_id}/accept"
    assert request.body == {"session": {"type": "live", **session, "store": True}}
    assert request.authorization == f"Bearer {API_KEY}"
    assert request.accept == "*/*"
    assert session == {"model": MODEL, "instructions": "Greet the caller.",
                       "audio": {"output": {"voice": "marin"}}}  # left alone


async def test_accept_a_live_id_with_every_accept_field(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    session = {
        "type": "live",
        "model": "gpt-live-1.1",
        "audio": {"output": {"voice": {"id": "voice_123"}}},
        "delegation": {"type": "responses", "acknowledgement_delay_ms": 0,
                       "responses": {"model": "gpt-5.5", "tools": [{"type": "web_search"}]}},
        "input": [
            {"role": "developer", "content": [{"type": "input_text", "text": "Be brief."}]},
            {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
            {"role": "assistant", "type": "message",
             "content": [{"type": "output_text", "text": "Hello!"}]},
        ],
        "instructions": None,
        "safety_identifier": "user-7f3a",
        "store": False,
        "triggers": [{"type": "decisions", "event_type": "session.input_transcript.delta",
                      "decisions": {"questions": []}}],
    }
    await accept(LIVE, session, client=client)
    assert stub.requests[0].body == {"session": session}


async def test_backend_settings_the_sdk_types_under_describe_pass_to_the_server(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    # The SDK's backend tool types carry only "type" (a real file_search has its vector
    # stores), so a tool's and a tool choice's settings are the server's to judge.
    session = {"model": MODEL, "delegation": {"type": "responses", "responses": {
        "model": "gpt-5.5", "tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}],
        "tool_choice": {"type": "function", "name": "lookup"}}},
        "triggers": [{"type": "decisions", "event_type": "session.output_transcript.delta",
                      "decisions": {"questions": [{"type": "predicate", "instructions": "x",
                                                   "name": "escalate"}]}}]}
    await accept(LIVE, session, client=client)
    assert stub.requests[0].body == {"session": {"type": "live", **session}}


async def test_the_realtime_path_is_unchanged(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    await accept(REAL_RTC_ID, {"instructions": "Hi"}, client=client)
    await reject(REAL_RTC_ID, client=client)
    await refer(REAL_RTC_ID, "tel:+14155550123", client=client)
    await hangup(REAL_RTC_ID, client=client)
    assert [(r.path, r.body) for r in stub.requests] == [
        (f"/v1/realtime/calls/{REAL_RTC_ID}/accept", {"type": "realtime", "instructions": "Hi"}),
        (f"/v1/realtime/calls/{REAL_RTC_ID}/reject", {}),
        (f"/v1/realtime/calls/{REAL_RTC_ID}/refer", {"target_uri": "tel:+14155550123"}),
        (f"/v1/realtime/calls/{REAL_RTC_ID}/hangup", None),
    ]


# --------------------------------------------------------------------------- reject/refer/hangup


async def test_reject_refer_hangup_a_live_id(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    await reject(LIVE, 486, client=client)
    await reject(LIVE, client=client)  # the SDK requires a status: 603 is sent
    await reject(LIVE, 302, client=client)  # Live takes 300-699
    await refer(LIVE, "sip:agent@example.com", client=client)
    await hangup(LIVE, client=client)
    base = f"/v1/live/sessions/{LIVE}"
    assert [(r.path, r.body) for r in stub.requests] == [
        (f"{base}/reject", {"status_code": 486}),
        (f"{base}/reject", {"status_code": 603}),
        (f"{base}/reject", {"status_code": 302}),
        (f"{base}/refer", {"target_uri": "sip:agent@example.com"}),
        (f"{base}/hangup", None),
    ]


@pytest.mark.parametrize("code", [299, 700, 0, True, "486", 486.0])
async def test_live_reject_refuses_a_bad_status(
    stub: LiveApiStub, client: openai.AsyncOpenAI, code: Any
) -> None:
    with pytest.raises(ValidationError) as err:
        await reject(LIVE, code, client=client)
    assert err.value.field == "status_code"
    assert "300" in str(err.value)
    assert stub.requests == []


async def test_realtime_reject_still_refuses_302(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    with pytest.raises(ValidationError, match="400"):
        await reject(REAL_RTC_ID, 302, client=client)
    assert stub.requests == []


# --------------------------------------------------------------------------- api=


async def test_api_names_the_api_of_an_id_without_a_known_prefix(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    await hangup("sess_123", client=client, api="live")
    await hangup("sess_123", client=client, api="realtime")
    assert stub.paths() == ["/v1/live/sessions/sess_123/hangup",
                            "/v1/realtime/calls/sess_123/hangup"]


async def test_an_unknown_prefix_without_api_says_how_to_name_it(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    with pytest.raises(ValidationError) as err:
        await hangup("sess_123", client=client)
    assert err.value.field == "call_id"
    assert "api='live'" in str(err.value)
    assert "live_" in str(err.value)
    assert stub.requests == []


@pytest.mark.parametrize(
    ("call_id", "api", "field"),
    [
        (REAL_RTC_ID, "live", "api"),
        (LIVE, "realtime", "api"),
        (LIVE, "Live", "api"),
        (LIVE, 1, "api"),
        ("sess/../x", "live", "call_id"),
        ("sk-proj-" + "a" * 30, "live", "call_id"),
        ("live_a b", None, "call_id"),
        ("", None, "call_id"),
    ],
)
async def test_bad_ids_and_apis_send_nothing(
    stub: LiveApiStub, client: openai.AsyncOpenAI, call_id: str, api: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        await hangup(call_id, client=client, api=api)
    assert err.value.field == field
    assert "Fix:" in str(err.value)
    assert "sk-proj-" not in str(err.value)
    assert stub.requests == []


def test_resolve_api() -> None:
    assert resolve_api(LIVE) == ("live", LIVE)
    assert resolve_api(REAL_RTC_ID) == ("realtime", REAL_RTC_ID)
    assert resolve_api("x_1", "live") == ("live", "x_1")


# --------------------------------------------------------------------------- create_call


async def test_create_call_live_sends_json_and_reads_the_id_from_the_body(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    created = await create_call(SDP_OFFER, {"model": MODEL, "idle_timeout_s": 30,
                                            "wake_policy": {"type": "speech"}},
                                client=client, api="live")
    assert created == CreatedCall(call_id=stub.created_id, sdp_answer=SDP_ANSWER, api="live")
    (request,) = stub.requests
    assert request.path == "/v1/live/sessions"
    assert request.body == {
        "session": {"model": MODEL, "idle_timeout_s": 30, "wake_policy": {"type": "speech"}},
        "transport": {"type": "webrtc", "sdp": SDP_OFFER},
    }


async def test_create_call_picks_live_from_the_session_type(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    created = await create_call(SDP_OFFER, {"type": "live", "model": MODEL}, client=client)
    assert created.api == "live"
    assert stub.requests[0].body["session"] == {"model": MODEL}  # type names the API only


async def test_create_call_realtime_is_unchanged(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    created = await create_call(SDP_OFFER, client=client)
    assert created == CreatedCall(call_id=stub.rtc_created_id, sdp_answer=SDP_ANSWER)
    assert created.api == "realtime"
    assert stub.paths() == ["/v1/realtime/calls"]


@pytest.mark.parametrize(
    "body",
    [
        {"transport": {"type": "webrtc", "sdp": SDP_ANSWER}},
        {"session": {"id": 5}, "transport": {"type": "webrtc", "sdp": SDP_ANSWER}},
        {"session": {"id": "live_../../x"}, "transport": {"type": "webrtc", "sdp": "v=0"}},
        {"session": {"id": "live_ok"}},
        [],
    ],
)
async def test_create_call_live_without_a_usable_session_id_says_so(
    stub: LiveApiStub, client: openai.AsyncOpenAI, body: Any
) -> None:
    stub.answer_body = lambda: body
    with pytest.raises(CallControlError) as err:
        await create_call(SDP_OFFER, {"model": MODEL}, client=client, api="live")
    assert err.value.action == "create_call"
    assert err.value.status_code == 201
    assert "Fix:" in str(err.value)
    assert "../" not in str(err.value)


# --------------------------------------------------------------------------- fork, recording


async def test_fork_sends_the_offer_and_returns_the_new_id(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    created = await fork(LIVE, SDP_OFFER, client=client)
    assert created == CreatedCall(call_id=stub.forked_id, sdp_answer=SDP_ANSWER, api="live")
    overrides = {"store": True, "delegation": {"type": "responses",
                                               "responses": {"reasoning": {"effort": "low"}}}}
    await fork(LIVE, SDP_OFFER, overrides, client=client)
    assert [(r.path, r.body) for r in stub.requests] == [
        (f"/v1/live/sessions/{LIVE}/fork", {"transport": {"type": "webrtc", "sdp": SDP_OFFER}}),
        (f"/v1/live/sessions/{LIVE}/fork",
         {"transport": {"type": "webrtc", "sdp": SDP_OFFER}, "session": overrides}),
    ]


async def test_download_recording_returns_and_writes_the_bytes(
    stub: LiveApiStub, client: openai.AsyncOpenAI, tmp_path: Path
) -> None:
    assert await download_recording(LIVE, client=client) == RECORDING
    target = tmp_path / "call.wav"
    assert await download_recording(LIVE, target, client=client) == RECORDING
    assert target.read_bytes() == RECORDING
    assert [r.path for r in stub.requests] == [f"/v1/live/sessions/{LIVE}/content"] * 2
    assert all(r.method == "GET" and r.accept == "application/binary" for r in stub.requests)


async def test_a_session_that_was_not_stored_is_not_found_with_the_fix(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    stub.gone.add(LIVE)
    with pytest.raises(CallNotFoundError) as err:
        await download_recording(LIVE, client=client)
    assert LIVE in str(err.value)
    assert "store=True" in str(err.value)
    with pytest.raises(CallNotFoundError) as err2:
        await fork(LIVE, SDP_OFFER, client=client)
    assert "store=True" in str(err2.value)
    with pytest.raises(CallNotFoundError):
        await accept(LIVE, model=MODEL, client=client)


async def test_live_server_errors_are_wrapped_without_the_key(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    stub.fail[f"/v1/live/sessions/{LIVE}/accept"] = (
        409, f"Session already accepted; key {API_KEY}")
    with pytest.raises(CallControlError) as err:
        await accept(LIVE, model=MODEL, client=client)
    assert err.value.status_code == 409
    assert LIVE in str(err.value)
    assert API_KEY not in str(err.value)



@pytest.mark.parametrize("call_id", [LIVE, REAL_RTC_ID])
async def test_a_409_on_accept_is_already_accepted_with_one_fix(
    stub: LiveApiStub, client: openai.AsyncOpenAI, call_id: str
) -> None:
    # The twin of a SIP call offered both ways was accepted first (the emulator's 409;
    # the platform's answer is not public): the documented error, not a bare one.
    path = (f"/v1/live/sessions/{call_id}/accept" if call_id == LIVE
            else f"/v1/realtime/calls/{call_id}/accept")
    stub.fail[path] = (409, "Already accepted. Fix: the server's own advice")
    with pytest.raises(AlreadyAcceptedError) as err:
        await accept(call_id, model=MODEL, client=client)
    assert err.value.status_code == 409
    assert err.value.accepted_as is None  # only the server knows which API won
    assert err.value.call_id == call_id
    text = str(err.value)
    assert call_id in text
    assert "first accept decides" in text
    assert text.count("Fix:") == 1
    assert isinstance(err.value.sdk_error, openai.ConflictError)
    # only accept: a 409 on another action stays a plain CallControlError
    stub.fail[f"/v1/live/sessions/{LIVE}/hangup"] = (409, "Conflict")
    with pytest.raises(CallControlError) as other:
        await hangup(LIVE, client=client)
    assert not isinstance(other.value, AlreadyAcceptedError)


async def test_a_server_error_that_names_its_fix_gets_no_second_fix(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    # Seen on the emulator's 409 call_already_accepted: "... Fix: drive ..." then a
    # generic "Fix: ..." of our own. One fix, the server's. (An accept's 409 is now
    # AlreadyAcceptedError with its own text, tested above: a hang-up shows the rule.)
    stub.fail[f"/v1/live/sessions/{LIVE}/hangup"] = (
        409, "This SIP call was already accepted as a Realtime call; the first accept "
        "decides. Fix: drive the call through that id, or accept the next call")
    with pytest.raises(CallControlError) as err:
        await hangup(LIVE, client=client)
    text = str(err.value)
    assert text.count("Fix:") == 1
    assert "Fix: drive the call through that id" in text
    # without one of its own, the server's message still gets ours
    stub.fail[f"/v1/live/sessions/{LIVE}/hangup"] = (409, "Session already accepted")
    with pytest.raises(CallControlError) as err2:
        await hangup(LIVE, client=client)
    assert str(err2.value).count("Fix:") == 1


# --------------------------------------------------------------------------- bad input


LIVE_ACCEPT_BAD: list[tuple[str, dict[str, Any], str]] = [
    ("no model", {}, "session.model"),
    ("model int", {"model": 5}, "session.model"),
    ("model blank", {"model": " "}, "session.model"),
    ("type realtime", {"type": "realtime", "model": MODEL}, "session.type"),
    ("audio format", {"model": MODEL, "audio": {"format": {"type": "audio/pcm"}}},
     "session.audio.format"),
    ("audio speed", {"model": MODEL, "audio": {"output": {"speed": 1.2}}},
     "session.audio.output.speed"),
    ("voice empty", {"model": MODEL, "audio": {"output": {"voice": ""}}},
     "session.audio.output.voice"),
    ("voice top level", {"model": MODEL, "voice": "marin"}, "session.voice"),
    ("tools top level", {"model": MODEL, "tools": []}, "session.tools"),
    ("client on SIP", {"model": MODEL, "client": {"data_channel": {}}}, "session.client"),
    ("idle timeout on SIP", {"model": MODEL, "idle_timeout_s": 30}, "session.idle_timeout_s"),
    ("unknown field", {"model": MODEL, "instructons": "x"}, "session.instructons"),
    ("instructions int", {"model": MODEL, "instructions": 5}, "session.instructions"),
    ("delegation type", {"model": MODEL, "delegation": {"type": "robot"}},
     "session.delegation.type"),
    ("responses missing", {"model": MODEL, "delegation": {"type": "responses"}},
     "session.delegation.responses"),
    ("responses model missing", {"model": MODEL, "delegation": {"type": "responses",
                                                                "responses": {}}},
     "session.delegation.responses.model"),
    ("ack delay negative", {"model": MODEL, "delegation": {"type": "client",
                                                           "acknowledgement_delay_ms": -1}},
     "session.delegation.acknowledgement_delay_ms"),
    ("input not list", {"model": MODEL, "input": "hi"}, "session.input"),
    ("input role", {"model": MODEL, "input": [{"role": "system", "content": [
        {"type": "input_text", "text": "x"}]}]}, "session.input[0].role"),
    ("input two parts", {"model": MODEL, "input": [{"role": "user", "content": [
        {"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]}]},
     "session.input[0].content"),
    ("input part type", {"model": MODEL, "input": [{"role": "assistant", "content": [
        {"type": "input_text", "text": "a"}]}]}, "session.input[0].content[0].type"),
    ("input too many", {"model": MODEL, "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "a"}]}] * 129},
     "session.input"),
    ("trigger twice", {"model": MODEL, "triggers": [
        {"type": "decisions", "event_type": "session.input_transcript.delta",
         "decisions": {"questions": []}}] * 2}, "session.triggers[1].event_type"),
    ("trigger event", {"model": MODEL, "triggers": [
        {"type": "decisions", "event_type": "response.done", "decisions": {"questions": []}}]},
     "session.triggers[0].event_type"),
    ("store string", {"model": MODEL, "store": "yes"}, "session.store"),
    ("safety id secret", {"model": MODEL, "safety_identifier": "sk-proj-" + "b" * 30},
     "session.safety_identifier"),
    ("voice int", {"model": MODEL, "audio": {"output": {"voice": 5}}},
     "session.audio.output.voice"),
    ("voice id blank", {"model": MODEL, "audio": {"output": {"voice": {"id": " "}}}},
     "session.audio.output.voice.id"),
    ("input item string", {"model": MODEL, "input": ["hi"]}, "session.input[0]"),
    ("input no parts", {"model": MODEL, "input": [{"role": "user", "content": []}]},
     "session.input[0].content"),
    ("input no text", {"model": MODEL, "input": [{"role": "user", "content": [
        {"type": "input_text"}]}]}, "session.input[0].content[0].text"),
    ("delegation string", {"model": MODEL, "delegation": "client"}, "session.delegation"),
    ("delegation no type", {"model": MODEL, "delegation": {}}, "session.delegation.type"),
    ("backend effort", {"model": MODEL, "delegation": {"type": "responses", "responses": {
        "model": "gpt-5.5", "reasoning": {"effort": "max"}}}},
     "session.delegation.responses.reasoning.effort"),
    ("backend tool without type", {"model": MODEL, "delegation": {"type": "responses",
                                   "responses": {"model": "gpt-5.5", "tools": [{}]}}},
     "session.delegation.responses.tools[0].type"),
    ("question type", {"model": MODEL, "triggers": [
        {"type": "decisions", "event_type": "session.input_transcript.delta",
         "decisions": {"questions": [{"type": "vote", "instructions": "x"}]}}]},
     "session.triggers[0].decisions.questions[0].type"),
]


@pytest.mark.parametrize(("case", "session", "field"), LIVE_ACCEPT_BAD,
                         ids=[c[0] for c in LIVE_ACCEPT_BAD])
async def test_live_accept_refuses_bad_sessions_and_sends_nothing(
    stub: LiveApiStub, client: openai.AsyncOpenAI, case: str, session: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(ValidationError) as err:
        await accept(LIVE, session, client=client)
    assert err.value.field == field
    assert "Fix:" in str(err.value)
    assert "sk-proj-" not in str(err.value)
    assert stub.requests == []


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: create_call(SDP_OFFER, {"instructions": "x"}, client=c, api="live"),
         "session.model"),
        (lambda c: create_call(SDP_OFFER, None, client=c, api="live"), "session.model"),
        (lambda c: create_call(SDP_OFFER, {"model": MODEL, "audio": {"format": {}}}, client=c,
                               api="live"), "session.audio.format"),
        (lambda c: create_call(SDP_OFFER, {"model": MODEL, "idle_timeout_s": 0}, client=c,
                               api="live"), "session.idle_timeout_s"),
        (lambda c: create_call(SDP_OFFER, {"model": MODEL, "wake_policy": {
            "type": "speech", "vad_threshold": float("nan")}}, client=c, api="live"),
         "session.wake_policy.vad_threshold"),
        (lambda c: create_call("hello", {"model": MODEL}, client=c, api="live"), "sdp"),
        (lambda c: create_call(SDP_OFFER, {"model": MODEL}, client=c, api="beta"), "api"),
        (lambda c: fork(REAL_RTC_ID, SDP_OFFER, client=c), "session_id"),
        (lambda c: fork(LIVE, "not sdp", client=c), "sdp"),
        (lambda c: fork(LIVE, SDP_OFFER, {"model": MODEL}, client=c), "session.model"),
        (lambda c: fork(LIVE, SDP_OFFER, {"delegation": {"type": "client"}}, client=c),
         "session.delegation.type"),
        (lambda c: fork(LIVE, SDP_OFFER, client=c, instructions="x"), "session.instructions"),
        (lambda c: fork("live_a/b", SDP_OFFER, client=c), "session_id"),
        (lambda c: download_recording(REAL_RTC_ID, client=c), "session_id"),
        (lambda c: download_recording("", client=c), "session_id"),
        (lambda c: download_recording(LIVE, 5, client=c), "path"),
        (lambda c: download_recording(LIVE, "/no/such/folder/x.wav", client=c), "path"),
    ],
)
async def test_live_create_fork_and_download_refuse_bad_input(
    stub: LiveApiStub, client: openai.AsyncOpenAI, call: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        await call(client)
    assert err.value.field == field
    assert "Fix:" in str(err.value)
    assert stub.requests == []


async def test_a_realtime_accept_with_a_live_session_says_which_id_to_use(
    stub: LiveApiStub, client: openai.AsyncOpenAI
) -> None:
    with pytest.raises(ValidationError) as err:
        await accept(REAL_RTC_ID, {"type": "live", "model": MODEL}, client=client)
    assert err.value.field == "session.type"
    assert "live_" in err.value.fix
    assert stub.requests == []
