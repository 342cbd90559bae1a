"""A catalogue of bad inputs across the public API and every form (issue #7, "Bad input").

Why: a toolkit that drives live customer calls must refuse a bad argument or a bad click
*before* anything reaches the server, and say which field is wrong and how to fix it. Each
case below is one bad input; the single parametrised test asserts, for every case:

- the documented exception type (``ValidationError`` for protocol/control/forms, the module's
  own error where it documents one: ``ToolCallError``, ``ValueError``/``TypeError`` for
  Python-level misuse);
- the message names the field (the dotted path is in ``str(err)``) and says a fix
  ("Fix:" for exceptions; forms show the same ``ValidationError`` text in place);
- the emulator's ground truth shows nothing was sent: no new client event on the sideband
  (a fence event is sent after the case and must be the only new received event), none on
  the GPT-Live sideband either (a Live fence, the same way), and no new HTTP request to the
  emulator (the Realtime calls API and the Live sessions API alike).

GPT-Live: the control cases (accept/reject/refer/hangup/create/fork/recording) go to the
emulator's Live endpoints, and the Live steering cases to a Live session of the emulator
attached through ``attach`` (Responses delegation, one tool call left pending, stored, under
a real session id from tests/reality). The stub API (``_live_api_stub``) is no longer used
here: every Live endpoint rtwidgets calls exists on the emulator (the one it lacks, an
outbound SIP create, rtwidgets does not offer). Only the Live-only SIP announcement of the
IncomingCalls cases is still posted by the test itself (signed): the emulator announces a
Live SIP call both ways, and the "not offered to Realtime" cases need a call offered to
Live alone; an accept that went out would reach the emulator and be recorded.

One emulator, one attached call (two tool calls: one answered, one pending), one attached
Live session (one tool call pending), one ringing SIP call and one set of forms serve the
whole module, so the catalogue stays fast.
"""

from __future__ import annotations

import asyncio
import html
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import comm
import openai
import pytest
import pytest_asyncio
from _live_api_stub import REAL_LIVE_IDS
from _webhook_signing import event_body, signed_headers
from comm.base_comm import BaseComm

from rtwidgets._call import Call, ToolCallError, attach
from rtwidgets._control import (
    accept,
    create_call,
    download_recording,
    fork,
    hangup,
    refer,
    reject,
)
from rtwidgets._transport import ReconnectPolicy
from rtwidgets._webhooks import WebhookInbox
from rtwidgets.emulator import Emulator
from rtwidgets.protocol import builders as b
from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.live import builders as lb
from rtwidgets.widgets._incoming import IncomingCalls
from rtwidgets.widgets._session_editor import SessionEditor
from rtwidgets.widgets._tool_calls import ToolCalls, check_output

pytestmark = pytest.mark.asyncio(loop_scope="module")

API_KEY = "sk-test-not-a-real-key"
WEBHOOK_SECRET = "whsec_" + "Y2F0YWxvZ3VlLXRlc3Qtc2VjcmV0LW5vdC1yZWFs"  # fake
FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=5)
RTC = "rtc_u1_" + "a" * 32
SIP = "rtc_u0_" + "b" * 32
SDP = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\n"
LIVE = REAL_LIVE_IDS[0]  # the emulator's Live session of this module
LIVE_SIP = REAL_LIVE_IDS[2]

WEATHER = {
    "type": "function", "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "unit": {"type": "string"}}, "required": ["city"]},
}
# Two tool turns, then the call stays open: the first tool call is answered by the fixture,
# the second stays pending for the whole module (the emulator waits for its output).
SCENARIO: dict[str, Any] = {
    "format": "rtwidgets.scenario", "version": 1, "name": "catalogue",
    "session": {"type": "realtime", "audio": {"output": {"voice": "cedar"}}},
    "turns": [
        {"caller": "Weather in Paris?", "reply": {"tool": {
            "name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"},
            "say": "It is {temperature} in {city}.", "otherwise": "No idea."}}},
        {"caller": "And in Oslo?", "reply": {"tool": {
            "name": "get_weather", "arguments": {"city": "Oslo", "unit": "celsius"},
            "say": "It is {temperature} in {city}.", "otherwise": "No idea."}}},
    ],
    "end": {"by": "stay_open"},
}
# The Live session: one delegated tool call that stays pending (nobody answers it), then the
# session stays open.
LIVE_SCENARIO: dict[str, Any] = {
    "format": "rtwidgets.scenario", "version": 1, "name": "catalogue_live",
    "session": {"type": "realtime", "audio": {"output": {"voice": "cedar"}}},
    "turns": [
        {"caller": "Weather in Paris?", "reply": {"tool": {
            "name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"},
            "lead_in": "Let me check.", "say": "It is {temperature} in {city}.",
            "otherwise": "No idea."}}},
    ],
    "end": {"by": "stay_open"},
}
LIVE_SESSION = {"store": True, "delegation": {"type": "responses", "responses": {
    "model": "gpt-5.5", "tools": [WEATHER]}}}


class RecordingComm(BaseComm):
    """Stands in for the kernel comm: widgets work, nothing leaves the process."""

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        pass


@dataclass
class Rig:
    emu: Emulator
    client: openai.AsyncOpenAI
    inbox: WebhookInbox
    call: Call
    call_id: str
    answered_id: str
    pending_id: str
    sip_id: str
    editor: SessionEditor
    tool_calls: ToolCalls
    incoming: IncomingCalls
    live_call: Call
    live_pending_id: str
    live_delegation_id: str

    def received(self) -> list[dict[str, Any]]:
        return [r for r in self.emu.record(self.call_id) if r["direction"] == "received"]

    def live_received(self) -> list[dict[str, Any]]:
        return [r for r in self.emu.record(LIVE) if r["direction"] == "received"]

    async def live_fence(self) -> None:
        """The same on the Live sideband: an unmute (harmless, always acknowledged)."""
        eid = await self.live_call.send(lb.input_audio_unmute())
        await self.live_call.wait_for("session.input_audio.unmuted",
                                      lambda e: e.get("client_event_id") == eid, timeout=10)
        assert self.live_received()[-1]["event"]["event_id"] == eid

    async def fence(self) -> None:
        """Send one harmless event and wait for its answer: everything sent before it has
        reached the emulator's record by then."""
        eid = await self.call.send(b.input_audio_buffer_clear())
        await self.call.wait_for("input_audio_buffer.cleared", timeout=10)
        assert self.received()[-1]["event"]["event_id"] == eid


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig() -> AsyncIterator[Rig]:
    patch = pytest.MonkeyPatch()
    patch.setattr(comm, "create_comm", lambda *a, **k: RecordingComm(*a, **k))
    client = openai.AsyncOpenAI(api_key=API_KEY, base_url="http://127.0.0.1:9/v1")
    inbox = await WebhookInbox(secret=WEBHOOK_SECRET, client=client).start()
    assert inbox.url is not None
    # caller_patience_s: the pending tool calls stay pending for the whole module
    emu = await Emulator.start(speed=50, seed=7, scenario=SCENARIO, webhook_url=inbox.url,
                               webhook_secret=WEBHOOK_SECRET, session_created_on_attach=True,
                               caller_patience_s=600)
    client.base_url = emu.base_url
    client.websocket_base_url = emu.websocket_base_url
    call_id = await emu.start_call(transport="webrtc", session={"tools": [WEATHER]})
    call = await attach(call_id, client=client, capture=False, reconnect=FAST)
    first = await call.wait_for("response.function_call_arguments.done", timeout=20)
    second_waiter = asyncio.ensure_future(
        call.wait_for("response.function_call_arguments.done", timeout=20))
    await call.send_tool_output(first["call_id"], {"temperature": 20}, by="code")
    second = await second_waiter
    incoming = IncomingCalls(inbox)
    sip_id = await emu.start_call(transport="sip")
    for _ in range(500):
        if sip_id in incoming.calls:
            break
        await asyncio.sleep(0.01)
    assert sip_id in incoming.calls, "the SIP call never reached the IncomingCalls form"
    editor = SessionEditor(call)
    tool_calls = ToolCalls(call)
    assert tool_calls.pending == [second["call_id"]]
    # A ringing Live SIP call offered to Live alone, on the same form (the emulator would
    # announce it both ways): its accept, if one went out, reaches the emulator (recorded).
    body = event_body("live.transport.incoming", LIVE_SIP,
                      sip_headers=[{"name": "From", "value": "sip:+1@x.example"}])
    async with aiohttp.ClientSession() as http, http.post(
            inbox.url, data=body, headers=signed_headers(body, secret=WEBHOOK_SECRET)) as resp:
        assert resp.status == 200
    assert LIVE_SIP in incoming.calls
    # The Live session: stored, Responses delegation, its tool call left pending.
    await emu.start_call(api="live", call_id=LIVE, scenario=LIVE_SCENARIO,
                         session=LIVE_SESSION)
    live_call = await attach(LIVE, client=client, capture=False, reconnect=FAST)
    done = await live_call.wait_for(
        "response.event", lambda e: e["event"].get("type") == "response.output_item.done",
        timeout=20)
    assert live_call.api == "live"
    assert live_call.live_session is not None  # the delegation type is known
    rig = Rig(emu, client, inbox, call, call_id, first["call_id"], second["call_id"], sip_id,
              editor, tool_calls, incoming, live_call, done["event"]["item"]["call_id"],
              done["delegation_id"])
    try:
        yield rig
    finally:
        for view in (editor, tool_calls, incoming):
            view.close()
        await live_call.close()
        await call.close()
        await inbox.close()
        await emu.close()
        await client.close()
        patch.undo()


# -- the catalogue ---------------------------------------------------------------------------

Runner = Callable[[Rig], Any]


@dataclass(frozen=True)
class Bad:
    id: str
    field: str                        # must appear in the error text
    run: Runner                       # raises, or (forms) returns the error text shown
    exc: type[BaseException] | tuple[type[BaseException], ...] | None = ValidationError
    fix: str = "Fix:"


CASES: list[Bad] = []


def bad(id: str, field: str, exc: Any = ValidationError, fix: str = "Fix:"
        ) -> Callable[[Runner], Runner]:
    def register(fn: Runner) -> Runner:
        CASES.append(Bad(id, field, fn, exc, fix))
        return fn
    return register


def add(id: str, field: str, run: Runner, exc: Any = ValidationError, fix: str = "Fix:") -> None:
    CASES.append(Bad(id, field, run, exc, fix))


def _bind(fn: Callable[[Rig, Any], Any], value: Any) -> Runner:
    """A runner calling ``fn(rig, value)`` (binds the loop variable now)."""
    return lambda r: fn(r, value)


# Call.send: raw client events (dicts and JSON text) ----------------------------------------

SEND_EVENTS: list[tuple[str, str, Any]] = [
    ("not-json", "event", "{not json"),
    ("json-list", "type", '["a list"]'),
    ("json-number", "type", "42"),
    ("json-null", "type", "null"),
    ("empty-text", "event", ""),
    ("truncated-json", "event", '{"type": "response.create"'),
    ("no-type", "type", {"session": {}}),
    ("type-int", "type", {"type": 5}),
    ("type-null", "type", {"type": None}),
    ("type-unknown", "type", {"type": "not.a.type"}),
    ("type-server-event", "type", {"type": "session.updated"}),
    ("type-beta-name", "type", {"type": "response.text.delta"}),
    ("event-id-int", "event_id", {"type": "response.create", "event_id": 5}),
    ("event-id-list", "event_id", {"type": "response.create", "event_id": ["e"]}),
    ("session-missing", "session", {"type": "session.update"}),
    ("session-string", "session", {"type": "session.update", "session": "fast"}),
    ("session-unknown-field", "session.bogus",
     {"type": "session.update", "session": {"type": "realtime", "bogus": 1}}),
    ("session-speed-high", "session.audio.output.speed",
     {"type": "session.update", "session": {"type": "realtime",
                                            "audio": {"output": {"speed": 9}}}}),
    ("session-speed-string", "session.audio.output.speed",
     {"type": "session.update", "session": {"type": "realtime",
                                            "audio": {"output": {"speed": "fast"}}}}),
    ("session-type-wrong", "session.type",
     {"type": "session.update", "session": {"type": "conversation"}}),
    ("item-missing", "item", {"type": "conversation.item.create"}),
    ("item-string", "item", {"type": "conversation.item.create", "item": "hello"}),
    ("item-type-unknown", "item.type",
     {"type": "conversation.item.create", "item": {"type": "memo"}}),
    ("item-role-unknown", "item.role",
     {"type": "conversation.item.create",
      "item": {"type": "message", "role": "robot",
               "content": [{"type": "input_text", "text": "hi"}]}}),
    ("item-content-not-list", "item.content",
     {"type": "conversation.item.create",
      "item": {"type": "message", "role": "user", "content": "hi"}}),
    ("item-text-int", "item.content[0].text",
     {"type": "conversation.item.create",
      "item": {"type": "message", "role": "user",
               "content": [{"type": "input_text", "text": 5}]}}),
    ("item-content-type", "item.content[0].type",
     {"type": "conversation.item.create",
      "item": {"type": "message", "role": "user", "content": [{"type": "video", "text": "x"}]}}),
    ("item-unknown-field", "item.colour",
     {"type": "conversation.item.create",
      "item": {"type": "message", "role": "user", "colour": "red",
               "content": [{"type": "input_text", "text": "hi"}]}}),
    ("item-id-too-long", "item.id",
     {"type": "conversation.item.create",
      "item": {"id": "x" * 33, "type": "message", "role": "user",
               "content": [{"type": "input_text", "text": "hi"}]}}),
    ("fco-no-call-id", "item.call_id",
     {"type": "conversation.item.create",
      "item": {"type": "function_call_output", "output": "x"}}),
    ("fco-output-int", "item.output",
     {"type": "conversation.item.create",
      "item": {"type": "function_call_output", "call_id": "call_1", "output": 5}}),
    ("previous-item-int", "previous_item_id",
     {"type": "conversation.item.create", "previous_item_id": 7,
      "item": {"type": "message", "role": "user",
               "content": [{"type": "input_text", "text": "hi"}]}}),
    ("retrieve-no-id", "item_id", {"type": "conversation.item.retrieve"}),
    ("retrieve-id-int", "item_id", {"type": "conversation.item.retrieve", "item_id": 3}),
    ("delete-no-id", "item_id", {"type": "conversation.item.delete"}),
    ("delete-unknown-field", "bogus",
     {"type": "conversation.item.delete", "item_id": "item_1", "bogus": True}),
    ("truncate-negative", "audio_end_ms",
     {"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0,
      "audio_end_ms": -5}),
    ("truncate-ms-string", "audio_end_ms",
     {"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0,
      "audio_end_ms": "500"}),
    ("truncate-ms-float", "audio_end_ms",
     {"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0,
      "audio_end_ms": 1.5}),
    ("truncate-index-negative", "content_index",
     {"type": "conversation.item.truncate", "item_id": "item_1", "content_index": -1,
      "audio_end_ms": 5}),
    ("truncate-no-item", "item_id",
     {"type": "conversation.item.truncate", "content_index": 0, "audio_end_ms": 5}),
    ("append-no-audio", "audio", {"type": "input_audio_buffer.append"}),
    ("append-not-base64", "audio", {"type": "input_audio_buffer.append", "audio": "!!!"}),
    ("append-audio-int", "audio", {"type": "input_audio_buffer.append", "audio": 12}),
    ("commit-extra-field", "audio", {"type": "input_audio_buffer.commit", "audio": "AAAA"}),
    ("clear-extra-field", "item_id", {"type": "input_audio_buffer.clear", "item_id": "x"}),
    ("output-clear-extra", "response_id",
     {"type": "output_audio_buffer.clear", "response_id": "resp_1"}),
    ("response-unknown-top", "bogus", {"type": "response.create", "bogus": 1}),
    ("response-not-object", "response", {"type": "response.create", "response": "go"}),
    ("response-temperature", "response.temperature",
     {"type": "response.create", "response": {"temperature": 3}}),
    ("response-max-tokens-high", "response.max_output_tokens",
     {"type": "response.create", "response": {"max_output_tokens": 99999}}),
    ("response-max-tokens-zero", "response.max_output_tokens",
     {"type": "response.create", "response": {"max_output_tokens": 0}}),
    ("response-modalities-both", "response.output_modalities",
     {"type": "response.create", "response": {"output_modalities": ["audio", "text"]}}),
    ("response-conversation-bad", "response.conversation",
     {"type": "response.create", "response": {"conversation": "other"}}),
    ("response-metadata-not-object", "response.metadata",
     {"type": "response.create", "response": {"metadata": "x"}}),
    ("response-tool-choice-bad", "response.tool_choice",
     {"type": "response.create", "response": {"tool_choice": "sometimes"}}),
    ("cancel-id-int", "response_id", {"type": "response.cancel", "response_id": 5}),
    ("cancel-unknown-field", "item_id",
     {"type": "response.cancel", "response_id": "resp_1", "item_id": "x"}),
]
for _id, _field, _event in SEND_EVENTS:
    add(f"send-{_id}", _field, _bind(lambda r, e: r.call.send(e), _event))

add("send-oversized-event", "event",
    lambda r: r.call.send(b.user_message("x" * (16 * 1024 * 1024 + 10), event_id="evt_big")))
add("send-oversized-audio", "audio",
    lambda r: r.call.send({"type": "input_audio_buffer.append",
                           "audio": "A" * (15 * 1024 * 1024 + 4)}))
add("send-bytes-not-json", "event", lambda r: r.call.send(b"\xff\xfe not json"))  # type: ignore[arg-type]


# Call.update_session: keyword fields --------------------------------------------------------

SESSION_FIELDS: list[tuple[str, str, dict[str, Any]]] = [
    ("unknown-field", "session.unknown_field", {"unknown_field": 1}),
    ("speed-string", "session.audio.output.speed", {"audio": {"output": {"speed": "fast"}}}),
    ("speed-low", "session.audio.output.speed", {"audio": {"output": {"speed": 0.1}}}),
    ("speed-high", "session.audio.output.speed", {"audio": {"output": {"speed": 4}}}),
    ("speed-nan", "session.audio.output.speed", {"audio": {"output": {"speed": math.nan}}}),
    ("voice-int", "session.audio.output.voice", {"audio": {"output": {"voice": 3}}}),
    ("audio-string", "session.audio", {"audio": "loud"}),
    ("audio-unknown", "session.audio.volume", {"audio": {"volume": 11}}),
    ("output-format", "session.audio.output.format",
     {"audio": {"output": {"format": {"type": "audio/mp3"}}}}),
    ("input-format-rate", "session.audio.input.format",
     {"audio": {"input": {"format": {"type": "audio/pcm", "rate": 8000}}}}),
    ("td-type", "session.audio.input.turn_detection.type",
     {"audio": {"input": {"turn_detection": {"type": "push_to_talk"}}}}),
    ("td-threshold-high", "session.audio.input.turn_detection.threshold",
     {"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}}}),
    ("td-threshold-negative", "session.audio.input.turn_detection.threshold",
     {"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": -0.5}}}}),
    ("td-silence-string", "session.audio.input.turn_detection.silence_duration_ms",
     {"audio": {"input": {"turn_detection": {"type": "server_vad",
                                             "silence_duration_ms": "long"}}}}),
    ("td-idle-low", "session.audio.input.turn_detection.idle_timeout_ms",
     {"audio": {"input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 10}}}}),
    ("td-eagerness", "session.audio.input.turn_detection.eagerness",
     {"audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "eager"}}}}),
    ("noise-reduction", "session.audio.input.noise_reduction.type",
     {"audio": {"input": {"noise_reduction": {"type": "loud_room"}}}}),
    ("transcription-model-int", "session.audio.input.transcription.model",
     {"audio": {"input": {"transcription": {"model": 4}}}}),
    ("instructions-int", "session.instructions", {"instructions": 42}),
    ("instructions-list", "session.instructions", {"instructions": ["be", "brief"]}),
    ("modalities-both", "session.output_modalities", {"output_modalities": ["audio", "text"]}),
    ("modalities-string", "session.output_modalities", {"output_modalities": "audio"}),
    ("modalities-unknown", "session.output_modalities", {"output_modalities": ["video"]}),
    ("tool-choice-unknown", "session.tool_choice", {"tool_choice": "sometimes"}),
    ("tool-choice-int", "session.tool_choice", {"tool_choice": 1}),
    ("tools-not-list", "session.tools", {"tools": {"type": "function"}}),
    ("tool-no-name", "session.tools[0].name", {"tools": [{"type": "function"}]}),
    ("tool-type-unknown", "session.tools[0].type", {"tools": [{"type": "shell", "name": "x"}]}),
    ("tool-params-bad-schema", "session.tools[0].parameters",
     {"tools": [{"type": "function", "name": "x", "parameters": {"type": "strnig"}}]}),
    ("tool-name-int", "session.tools[0].name", {"tools": [{"type": "function", "name": 5}]}),
    ("tool-unknown-field", "session.tools[0].colour",
     {"tools": [{"type": "function", "name": "x", "colour": "red"}]}),
    ("max-tokens-zero", "session.max_output_tokens", {"max_output_tokens": 0}),
    ("max-tokens-high", "session.max_output_tokens", {"max_output_tokens": 100000}),
    ("max-tokens-string", "session.max_output_tokens", {"max_output_tokens": "lots"}),
    ("truncation-unknown", "session.truncation", {"truncation": "sometimes"}),
    ("tracing-int", "session.tracing", {"tracing": 5}),
    ("include-unknown", "session.include", {"include": ["everything"]}),
    ("model-int", "session.model", {"model": 5}),
    ("prompt-string-int", "session.prompt", {"prompt": 5}),
]
for _id, _field, _fields in SESSION_FIELDS:
    add(f"update_session-{_id}", _field, _bind(lambda r, f: r.call.update_session(**f), _fields))
add("update_session-oversized-instructions", "event",
    lambda r: r.call.update_session(instructions="x" * (16 * 1024 * 1024 + 1)),
    exc=ValidationError)


# Call.send_tool_output, tool registration, wait_for -----------------------------------------

add("tool_output-unknown-id", "call_id",
    lambda r: r.call.send_tool_output("call_nope", "x"), exc=ToolCallError)
add("tool_output-answered-id", "call_id",
    lambda r: r.call.send_tool_output(r.answered_id, "again"), exc=ToolCallError)
add("tool_output-empty-id", "call_id",
    lambda r: r.call.send_tool_output("", "x"), exc=ToolCallError)
add("tool_output-id-int", "call_id",
    lambda r: r.call.send_tool_output(5, "x"), exc=ToolCallError)  # type: ignore[arg-type]
add("tool_output-id-none", "call_id",
    lambda r: r.call.send_tool_output(None, "x"), exc=ToolCallError)  # type: ignore[arg-type]
add("tool_output-by-robot", "by",
    lambda r: r.call.send_tool_output(r.pending_id, "x", by="robot"), exc=ToolCallError)
add("tool_output-respond-string", "respond",
    lambda r: r.call.send_tool_output(r.pending_id, "x", respond="yes"),  # type: ignore[arg-type]
    exc=ToolCallError)
add("tool_output-unserialisable", "output",
    lambda r: r.call.send_tool_output(r.pending_id, {"when": object()}), exc=ToolCallError)
add("tool_output-set-output", "output",
    lambda r: r.call.send_tool_output(r.pending_id, {1, 2}), exc=ToolCallError)
add("tool_output-oversized", "event",
    lambda r: r.call.send_tool_output(r.pending_id, "x" * (16 * 1024 * 1024 + 1)))
add("tool-name-empty", "name", lambda r: r.call.tool(""), exc=ValueError)
add("tool-name-int", "name", lambda r: r.call.tool(5), exc=ValueError)  # type: ignore[arg-type]
add("tool-handler-not-callable", "handler",
    lambda r: r.call.tool("get_weather")("not a function"),  # type: ignore[arg-type]
    exc=TypeError)
add("wait_for-type-empty", "type", lambda r: r.call.wait_for(""), exc=ValueError)
add("wait_for-type-int", "type", lambda r: r.call.wait_for(5), exc=ValueError)  # type: ignore[arg-type]
add("wait_for-timeout-string", "timeout",
    lambda r: r.call.wait_for("response.done", timeout="soon"),  # type: ignore[arg-type]
    exc=(ValueError, TypeError))
add("wait_for-timeout-negative", "timeout",
    lambda r: r.call.wait_for("response.done", timeout=-1), exc=(ValueError, TypeError))
add("wait_for-predicate-not-callable", "predicate",
    lambda r: r.call.wait_for("response.done", "yes", timeout=0.05),  # type: ignore[arg-type]
    exc=(ValueError, TypeError))


# attach arguments -----------------------------------------------------------------------------

ATTACH: list[tuple[str, str, Any, dict[str, Any]]] = [
    ("id-query", "call_id", "rtc?x=1", {}),
    ("id-int", "call_id", 5, {}),
    ("id-empty", "call_id", "", {}),
    ("id-path", "call_id", "rtc_u1_../../v1/models", {}),
    ("id-url", "call_id", "wss://api.openai.com/v1/realtime?call_id=rtc_u1_x", {}),
    ("audio-raw", "audio", RTC, {"audio": "raw"}),
    ("redact-string", "redact_transcripts", RTC, {"redact_transcripts": "yes"}),
    ("reconnect-string", "reconnect", RTC, {"reconnect": "yes"}),
    ("handler-timeout-negative", "handler_timeout", RTC, {"handler_timeout": -1}),
    ("handler-timeout-string", "handler_timeout", RTC, {"handler_timeout": "1s"}),
    ("connect-timeout-zero", "connect_timeout", RTC, {"connect_timeout": 0}),
    ("events-maxsize-zero", "events_maxsize", RTC, {"events_maxsize": 0}),
    ("events-maxsize-string", "events_maxsize", RTC, {"events_maxsize": "big"}),
    ("client-string", "client", RTC, {"client": "sk-test-not-a-real-key"}),
    ("capture-int", "capture", RTC, {"capture": 5}),
]


def _attach(call_id: Any, kw: dict[str, Any]) -> Runner:
    async def run(r: Rig) -> None:
        call = await attach(call_id, **{"client": r.client, "capture": False, **kw})
        await call.close()  # accepted when it should not be: leave nothing attached
    return run


for _id, _field, _cid, _kw in ATTACH:
    add(f"attach-{_id}", _field, _attach(_cid, _kw))


# protocol builders -------------------------------------------------------------------------

BUILDERS: list[tuple[str, str, Callable[[], Any]]] = [
    ("session_update-speed", "session.audio.output.speed",
     lambda: b.session_update(audio={"output": {"speed": 9}})),
    ("session_update-unknown", "session.colour", lambda: b.session_update(colour="red")),
    ("session_update-not-mapping", "session", lambda: b.session_update("fast")),  # type: ignore[arg-type]
    ("session_update-type", "session.type", lambda: b.session_update(type="conversation")),
    ("session_update-tools", "session.tools[0].name",
     lambda: b.session_update(tools=[{"type": "function"}])),
    ("session_update-event-id-int", "event_id",
     lambda: b.session_update(instructions="x", event_id=5)),  # type: ignore[arg-type]
    ("item_create-not-mapping", "item", lambda: b.conversation_item_create("hi")),  # type: ignore[arg-type]
    ("item_create-type", "item.type", lambda: b.conversation_item_create({"type": "memo"})),
    ("item_create-previous-int", "previous_item_id",
     lambda: b.conversation_item_create(
         {"type": "message", "role": "user",
          "content": [{"type": "input_text", "text": "x"}]}, previous_item_id=5)),  # type: ignore[arg-type]
    ("fco-call-id-int", "item.call_id", lambda: b.function_call_output(5, "x")),  # type: ignore[arg-type]
    ("fco-call-id-empty", "item.call_id", lambda: b.function_call_output("", "x")),
    ("fco-output-unserialisable", "output",
     lambda: b.function_call_output("call_1", {"x": object()})),
    ("fco-output-nan", "output", lambda: b.function_call_output("call_1", {"t": math.nan})),
    ("fco-output-infinity", "output",
     lambda: b.function_call_output("call_1", [math.inf])),
    ("fco-item-id-long", "item.id",
     lambda: b.function_call_output("call_1", "x", item_id="i" * 40)),
    ("user_message-int", "item.content[0].text", lambda: b.user_message(5)),  # type: ignore[arg-type]
    ("user_message-none", "item.content[0].text", lambda: b.user_message(None)),  # type: ignore[arg-type]
    ("user_message-item-id-long", "item.id", lambda: b.user_message("hi", item_id="i" * 33)),
    ("system_message-list", "item.content[0].text", lambda: b.system_message(["x"])),  # type: ignore[arg-type]
    ("response_create-unknown", "response.temperature", lambda: b.response_create(temperature=1)),
    ("response_create-tokens", "response.max_output_tokens",
     lambda: b.response_create(max_output_tokens=0)),
    ("response_create-tokens-string", "response.max_output_tokens",
     lambda: b.response_create(max_output_tokens="lots")),
    ("response_create-modalities", "response.output_modalities",
     lambda: b.response_create(output_modalities=["audio", "text"])),
    ("response_create-not-mapping", "response", lambda: b.response_create("go")),  # type: ignore[arg-type]
    ("response_create-conversation", "response.conversation",
     lambda: b.response_create(conversation="other")),
    ("response_create-metadata-value", "response.metadata",
     lambda: b.response_create(metadata={"k": 5})),
    ("response_create-input-not-list", "response.input", lambda: b.response_create(input="hi")),
    ("response_cancel-int", "response_id", lambda: b.response_cancel(5)),  # type: ignore[arg-type]
    ("retrieve-int", "item_id", lambda: b.conversation_item_retrieve(5)),  # type: ignore[arg-type]
    ("retrieve-long", "item_id", lambda: b.conversation_item_retrieve("i" * 33)),
    ("truncate-negative", "audio_end_ms", lambda: b.conversation_item_truncate("item_1", -1)),
    ("truncate-float", "audio_end_ms", lambda: b.conversation_item_truncate("item_1", 2.5)),  # type: ignore[arg-type]
    ("truncate-bool", "audio_end_ms", lambda: b.conversation_item_truncate("item_1", True)),
    ("truncate-index", "content_index",
     lambda: b.conversation_item_truncate("item_1", 5, content_index=-2)),
    ("truncate-item-int", "item_id", lambda: b.conversation_item_truncate(7, 5)),  # type: ignore[arg-type]
    ("delete-none", "item_id", lambda: b.conversation_item_delete(None)),  # type: ignore[arg-type]
    ("append-not-base64", "audio", lambda: b.input_audio_buffer_append("not base64!")),
    ("append-bytes", "audio", lambda: b.input_audio_buffer_append(b"\x00\x01")),  # type: ignore[arg-type]
    ("append-oversized", "audio",
     lambda: b.input_audio_buffer_append("A" * (15 * 1024 * 1024 + 4))),
    ("commit-event-id-int", "event_id", lambda: b.input_audio_buffer_commit(event_id=1)),  # type: ignore[arg-type]
    ("clear-event-id-list", "event_id", lambda: b.input_audio_buffer_clear(event_id=["a"])),  # type: ignore[arg-type]
    ("output-clear-event-id-dict", "event_id",
     lambda: b.output_audio_buffer_clear(event_id={"a": 1})),  # type: ignore[arg-type]
    ("validate-not-mapping", "type", lambda: b.validate_client_event(["response.create"])),
    ("validate-unknown-type", "type", lambda: b.validate_client_event({"type": "call.hangup"})),
]
for _id, _field, _build in BUILDERS:
    add(f"builder-{_id}", _field, _bind(lambda r, fn: fn(), _build))


# call control (REST, through the SDK to the emulator) --------------------------------------

CONTROL: list[tuple[str, str, Callable[[Rig], Awaitable[Any]]]] = [
    ("create-sdp-int", "sdp", lambda r: create_call(5, client=r.client)),  # type: ignore[arg-type]
    ("create-sdp-not-offer", "sdp", lambda r: create_call("hello", client=r.client)),
    ("create-sdp-empty", "sdp", lambda r: create_call("", client=r.client)),
    ("create-session-not-mapping", "session",
     lambda r: create_call(SDP, session="fast", client=r.client)),  # type: ignore[arg-type]
    ("create-session-speed", "session.audio.output.speed",
     lambda r: create_call(SDP, session={"audio": {"output": {"speed": 7}}}, client=r.client)),
    ("create-session-unknown", "session.colour",
     lambda r: create_call(SDP, session={"colour": "red"}, client=r.client)),
    ("create-session-transcription", "session.type",
     lambda r: create_call(SDP, session={"type": "transcription"}, client=r.client)),
    ("create-client-string", "client",
     lambda r: create_call(SDP, client="sk-test-not-a-real-key")),  # type: ignore[arg-type]
    ("accept-id-int", "call_id", lambda r: accept(5, client=r.client)),  # type: ignore[arg-type]
    ("accept-id-garbage", "call_id", lambda r: accept("call-123", client=r.client)),
    ("accept-id-path", "call_id", lambda r: accept("rtc_u0_../../x", client=r.client)),
    ("accept-session-list", "session", lambda r: accept(SIP, ["x"], client=r.client)),  # type: ignore[arg-type]
    ("accept-session-and-keyword", "session.instructions",
     lambda r: accept(SIP, {"instructions": "a"}, instructions="b", client=r.client)),
    ("accept-voice-int", "session.audio.output.voice",
     lambda r: accept(SIP, audio={"output": {"voice": 5}}, client=r.client)),
    ("accept-unknown-keyword", "session.colour",
     lambda r: accept(SIP, colour="red", client=r.client)),
    ("accept-tools-bad", "session.tools[0].name",
     lambda r: accept(SIP, tools=[{"type": "function"}], client=r.client)),
    ("accept-modalities", "session.output_modalities",
     lambda r: accept(SIP, output_modalities=["audio", "text"], client=r.client)),
    ("accept-type", "session.type",
     lambda r: accept(SIP, type="transcription", client=r.client)),
    ("accept-client-string", "client",
     lambda r: accept(SIP, client="sk-test-not-a-real-key")),  # type: ignore[arg-type]
    ("reject-status-200", "status_code", lambda r: reject(SIP, 200, client=r.client)),
    ("reject-status-700", "status_code", lambda r: reject(SIP, 700, client=r.client)),
    ("reject-status-string", "status_code", lambda r: reject(SIP, "486", client=r.client)),  # type: ignore[arg-type]
    ("reject-status-bool", "status_code", lambda r: reject(SIP, True, client=r.client)),
    ("reject-status-float", "status_code", lambda r: reject(SIP, 486.0, client=r.client)),  # type: ignore[arg-type]
    ("reject-id-none", "call_id", lambda r: reject(None, client=r.client)),  # type: ignore[arg-type]
    ("refer-uri-http", "target_uri",
     lambda r: refer(SIP, "http://example.com", client=r.client)),
    ("refer-uri-int", "target_uri", lambda r: refer(SIP, 5, client=r.client)),  # type: ignore[arg-type]
    ("refer-uri-empty", "target_uri", lambda r: refer(SIP, "", client=r.client)),
    ("refer-uri-spaces", "target_uri",
     lambda r: refer(SIP, "sip:agent @example.com", client=r.client)),
    ("refer-tel-letters", "target_uri", lambda r: refer(SIP, "tel:+1415xyz", client=r.client)),
    ("refer-uri-oversized", "target_uri",
     lambda r: refer(SIP, "sip:" + "a" * 5000 + "@example.com", client=r.client)),
    ("refer-id-bad", "call_id", lambda r: refer("nope", "tel:+14155550123", client=r.client)),
    ("hangup-id-int", "call_id", lambda r: hangup(5, client=r.client)),  # type: ignore[arg-type]
    ("hangup-id-bad", "call_id", lambda r: hangup("rtc_", client=r.client)),
    ("hangup-id-query", "call_id",
     lambda r: hangup("rtc_u1_" + "a" * 32 + "?x=1", client=r.client)),
    ("hangup-client-dict", "client", lambda r: hangup(RTC, client={"api_key": "x"})),  # type: ignore[arg-type]
    # Call ids are opaque ('rtc_' and a safe tail, issue 10), but these are clearly not ids.
    ("hangup-id-space", "call_id",
     lambda r: hangup("rtc_u0_E7JGG7 YLOPmJfNx4alnIn", client=r.client)),
    ("accept-id-key", "call_id",
     lambda r: accept("rtc_u0_sk-proj-NotARealKey0123456789", client=r.client)),
    ("refer-id-url", "call_id",
     lambda r: refer("https://api.openai.com/v1/realtime/calls/rtc_u0_E7JGG7YLOPmJfNx4alnIn",
                     "tel:+14155550123", client=r.client)),
    ("reject-id-too-long", "call_id", lambda r: reject("rtc_" + "E" * 200, client=r.client)),
]
for _id, _field, _fn in CONTROL:
    add(f"control-{_id}", _field, _fn)


# GPT-Live call control (through the SDK's client.live.sessions to the emulator) -----------

LIVE_CONTROL: list[tuple[str, str, Callable[[Rig], Awaitable[Any]]]] = [
    ("accept-no-model", "session.model", lambda r: accept(LIVE, client=r.client)),
    ("accept-model-int", "session.model",
     lambda r: accept(LIVE, model=5, client=r.client)),
    ("accept-type-realtime", "session.type",
     lambda r: accept(LIVE, {"type": "realtime", "model": "gpt-live-1"}, client=r.client)),
    ("accept-audio-format", "session.audio.format",
     lambda r: accept(LIVE, model="gpt-live-1", audio={"format": {"type": "audio/pcm"}},
                      client=r.client)),
    ("accept-voice-top-level", "session.voice",
     lambda r: accept(LIVE, model="gpt-live-1", voice="marin", client=r.client)),
    ("accept-tools-top-level", "session.tools",
     lambda r: accept(LIVE, model="gpt-live-1", tools=[], client=r.client)),
    ("accept-idle-timeout-on-sip", "session.idle_timeout_s",
     lambda r: accept(LIVE, model="gpt-live-1", idle_timeout_s=5, client=r.client)),
    ("accept-unknown-field", "session.colour",
     lambda r: accept(LIVE, model="gpt-live-1", colour="red", client=r.client)),
    ("accept-delegation-type", "session.delegation.type",
     lambda r: accept(LIVE, model="gpt-live-1", delegation={"type": "robot"},
                      client=r.client)),
    ("accept-delegation-no-backend", "session.delegation.responses",
     lambda r: accept(LIVE, model="gpt-live-1", delegation={"type": "responses"},
                      client=r.client)),
    ("accept-input-role", "session.input[0].role",
     lambda r: accept(LIVE, model="gpt-live-1", input=[{"role": "system", "content": [
         {"type": "input_text", "text": "x"}]}], client=r.client)),
    ("accept-triggers-not-list", "session.triggers",
     lambda r: accept(LIVE, model="gpt-live-1", triggers={"type": "decisions"},
                      client=r.client)),
    ("accept-store-string", "session.store",
     lambda r: accept(LIVE, model="gpt-live-1", store="yes", client=r.client)),
    ("accept-session-list", "session",
     lambda r: accept(LIVE, ["x"], client=r.client)),  # type: ignore[arg-type]
    ("accept-api-mismatch", "api",
     lambda r: accept(LIVE, model="gpt-live-1", api="realtime", client=r.client)),
    ("accept-api-unknown", "api",
     lambda r: accept(LIVE, model="gpt-live-1", api="beta",  # type: ignore[arg-type]
                      client=r.client)),
    ("accept-id-path", "call_id",
     lambda r: accept("live_u0_../../x", model="gpt-live-1", client=r.client)),
    ("accept-id-key", "call_id",
     lambda r: accept("live_sk-proj-NotARealKey0123456789", model="gpt-live-1",
                      client=r.client)),
    ("reject-status-299", "status_code", lambda r: reject(LIVE, 299, client=r.client)),
    ("reject-status-string", "status_code",
     lambda r: reject(LIVE, "486", client=r.client)),  # type: ignore[arg-type]
    ("refer-uri-http", "target_uri",
     lambda r: refer(LIVE, "http://example.com", client=r.client)),
    ("hangup-id-space", "call_id", lambda r: hangup("live_u0_a b", client=r.client)),
    ("hangup-opaque-id-no-api", "call_id", lambda r: hangup("sess_123", client=r.client)),
    ("create-no-model", "session.model",
     lambda r: create_call(SDP, {"type": "live"}, client=r.client)),
    ("create-wake-threshold", "session.wake_policy.vad_threshold",
     lambda r: create_call(SDP, {"model": "gpt-live-1", "wake_policy": {
         "type": "speech", "vad_threshold": 2}}, client=r.client, api="live")),
    ("create-sdp-not-offer", "sdp",
     lambda r: create_call("hello", {"model": "gpt-live-1"}, client=r.client, api="live")),
    ("fork-realtime-id", "session_id", lambda r: fork(RTC, SDP, client=r.client)),
    ("fork-model-override", "session.model",
     lambda r: fork(LIVE, SDP, {"model": "gpt-live-1"}, client=r.client)),
    ("fork-delegation-client", "session.delegation.type",
     lambda r: fork(LIVE, SDP, delegation={"type": "client"}, client=r.client)),
    ("fork-sdp-int", "sdp", lambda r: fork(LIVE, 5, client=r.client)),  # type: ignore[arg-type]
    ("recording-realtime-id", "session_id",
     lambda r: download_recording(RTC, client=r.client)),
    ("recording-path-int", "path",
     lambda r: download_recording(LIVE, 5, client=r.client)),  # type: ignore[arg-type]
]
for _id, _field, _fn in LIVE_CONTROL:
    add(f"live-control-{_id}", _field, _fn)


# GPT-Live steering on the attached Live session (Responses delegation, a pending call) ----

KEY_LIKE = "sk-proj-NotARealKey0123456789abcdef"

LIVE_STEER: list[tuple[str, str, Callable[[Rig], Awaitable[Any]], Any]] = [
    # appends: the text
    ("append-instructions-int", "content",
     lambda r: r.live_call.append_instructions(5), ValidationError),  # type: ignore[arg-type]
    ("append-instructions-empty", "content",
     lambda r: r.live_call.append_instructions(""), ValidationError),
    ("append-thinking-none", "content",
     lambda r: r.live_call.append_thinking(None), ValidationError),  # type: ignore[arg-type]
    ("append-thinking-bytes", "content",
     lambda r: r.live_call.append_thinking(b"x"), ValidationError),  # type: ignore[arg-type]
    ("append-commentary-list", "content",
     lambda r: r.live_call.append_commentary(["x"]), ValidationError),  # type: ignore[arg-type]
    ("append-commentary-dict", "content",
     lambda r: r.live_call.append_commentary({"text": "x"}),  # type: ignore[arg-type]
     ValidationError),
    # appends: the delegation id
    ("append-delegation-id-int", "delegation_id",
     lambda r: r.live_call.append_thinking("x", delegation_id=5),  # type: ignore[arg-type]
     ValidationError),
    ("append-delegation-id-unknown", "delegation_id",
     lambda r: r.live_call.append_commentary("x", delegation_id="item_NoSuchDelegation1"),
     ValidationError),
    ("append-delegation-id-responses", "delegation_id",
     lambda r: r.live_call.append_instructions("x", delegation_id=r.live_delegation_id),
     ValidationError),
    ("append-delegation-id-key", "delegation_id",
     lambda r: r.live_call.append_thinking("x", delegation_id=KEY_LIKE), ValidationError),
    # update_session: what Live does not let change, and keys it does not have
    ("update-instructions", "session.instructions",
     lambda r: r.live_call.update_session(instructions="Be brief."), ValidationError),
    ("update-model", "session.model",
     lambda r: r.live_call.update_session(model="gpt-live-1.1"), ValidationError),
    ("update-audio", "session.audio",
     lambda r: r.live_call.update_session(audio={"output": {"voice": "marin"}}),
     ValidationError),
    ("update-input", "session.input",
     lambda r: r.live_call.update_session(input=[]), ValidationError),
    ("update-store", "session.store",
     lambda r: r.live_call.update_session(store=False), ValidationError),
    ("update-safety-identifier", "session.safety_identifier",
     lambda r: r.live_call.update_session(safety_identifier="u1"), ValidationError),
    ("update-realtime-tools", "session.tools",
     lambda r: r.live_call.update_session(tools=[WEATHER]), ValidationError),
    ("update-realtime-voice", "session.voice",
     lambda r: r.live_call.update_session(voice="marin"), ValidationError),
    ("update-unknown-key", "session.colour",
     lambda r: r.live_call.update_session(colour="red"), ValidationError),
    ("update-delegation-to-client", "session.delegation.type",
     lambda r: r.live_call.update_session(delegation={"type": "client"}), ValidationError),
    ("update-delegation-to-null", "session.delegation",
     lambda r: r.live_call.update_session(delegation=None), ValidationError),
    ("update-delegation-string", "session.delegation",
     lambda r: r.live_call.update_session(delegation="responses"), ValidationError),
    ("update-triggers-not-list", "session.triggers",
     lambda r: r.live_call.update_session(triggers={"type": "decisions"}), ValidationError),
    ("update-triggers-bad-event", "session.triggers[0].event_type",
     lambda r: r.live_call.update_session(triggers=[{
         "type": "decisions", "event_type": "response.done",
         "decisions": {"questions": []}}]), ValidationError),
    # what Live does not have at all
    ("cancel-response", "cancel_response",
     lambda r: r.live_call.cancel_response(), ValidationError),
    ("send-truncate", "conversation.item.truncate",
     lambda r: r.live_call.send({"type": "conversation.item.truncate", "item_id": "item_1",
                                 "content_index": 0, "audio_end_ms": 0}), ValidationError),
    ("send-response-cancel", "response.cancel",
     lambda r: r.live_call.send({"type": "response.cancel"}), ValidationError),
    ("send-output-audio-clear", "output_audio_buffer.clear",
     lambda r: r.live_call.send({"type": "output_audio_buffer.clear"}), ValidationError),
    ("send-item-create-realtime", "conversation.item.create",
     lambda r: r.live_call.send({"type": "conversation.item.create", "item": {
         "type": "message", "role": "user", "content": []}}), ValidationError),
    ("send-session-start", "session.start",
     lambda r: r.live_call.send({"type": "session.start", "session": {"model": "gpt-live-1"}}),
     ValidationError),
    ("send-input-audio-append", "session.input_audio.append",
     lambda r: r.live_call.send({"type": "session.input_audio.append", "audio": ""}),
     ValidationError),
    ("send-dtmf-bad-key", "event",
     lambda r: r.live_call.send({"type": "transport.dtmf.send", "event": "X"}),
     ValidationError),
    ("send-append-no-delegation-id", "delegation_id",
     lambda r: r.live_call.send({"type": "session.thinking.append", "content": "x"}),
     ValidationError),
    # tool outputs
    ("tool-output-unknown-call", "call_id",
     lambda r: r.live_call.send_tool_output("call_NoSuchCall0000000000", "x"), ToolCallError),
    ("tool-output-call-id-int", "call_id",
     lambda r: r.live_call.send_tool_output(5, "x"), ToolCallError),  # type: ignore[arg-type]
    ("tool-output-call-id-empty", "call_id",
     lambda r: r.live_call.send_tool_output("", "x"), ToolCallError),
    ("tool-output-call-id-key", "call_id",
     lambda r: r.live_call.send_tool_output(KEY_LIKE, "x"), ToolCallError),
    ("tool-output-realtime-call-id", "call_id",
     lambda r: r.live_call.send_tool_output(r.pending_id, "x"), ToolCallError),
    ("tool-output-by-unknown", "by",
     lambda r: r.live_call.send_tool_output(r.live_pending_id, "x", by="robot"),
     ToolCallError),
    ("tool-output-respond-string", "respond",
     lambda r: r.live_call.send_tool_output(r.live_pending_id, "x",
                                            respond="yes"),  # type: ignore[arg-type]
     ToolCallError),
    ("tool-output-not-json", "output",
     lambda r: r.live_call.send_tool_output(r.live_pending_id, {"when": object()}),
     ToolCallError),
]
for _id, _field, _fn, _exc in LIVE_STEER:
    add(f"live-steer-{_id}", _field, _fn, _exc)


# WebhookInbox constructor ------------------------------------------------------------------

INBOX: list[tuple[str, str, dict[str, Any]]] = [
    ("secret-empty", "secret", {"secret": ""}),
    ("secret-int", "secret", {"secret": 5}),
    ("client-string", "client", {"client": "sk-test-not-a-real-key"}),
    ("path-relative", "path", {"path": "webhook"}),
    ("path-int", "path", {"path": 5}),
    ("port-negative", "port", {"port": -1}),
    ("port-high", "port", {"port": 70000}),
    ("port-string", "port", {"port": "8000"}),
    ("port-bool", "port", {"port": True}),
    ("tolerance-zero", "tolerance", {"tolerance": 0}),
    ("tolerance-high", "tolerance", {"tolerance": 3600}),
    ("max-body-zero", "max_body", {"max_body": 0}),
    ("max-body-huge", "max_body", {"max_body": 1 << 40}),
    ("max-queue-zero", "max_queue", {"max_queue": 0}),
    ("dedupe-size-float", "dedupe_size", {"dedupe_size": 10.5}),
]
for _id, _field, _kw in INBOX:
    add(f"inbox-{_id}", _field, _bind(lambda r, k: WebhookInbox(**k), _kw))


# Emulator.start arguments (refused before binding; ValueError/ScenarioError with a fix) -----

EMULATOR: list[tuple[str, str, dict[str, Any]]] = [
    ("speed-zero", "speed", {"speed": 0}),
    ("speed-negative", "speed", {"speed": -5}),
    ("speed-huge", "speed", {"speed": 10_000}),
    ("speed-string", "speed", {"speed": "fast"}),
    ("rate-limits", "rate_limits_position", {"rate_limits_position": "middle"}),
    ("webhook-secret-empty", "webhook_secret", {"webhook_secret": ""}),
    ("webhook-url-ftp", "webhook_url", {"webhook_url": "ftp://127.0.0.1/x"}),
    ("scenario-unknown", "scenario", {"scenario": "no_such_scenario_here"}),
    ("scenario-bad-format", "format", {"scenario": {"format": "nope", "version": 1}}),
    ("faults-unknown-kind", "kind", {"faults": [{"kind": "meteor_strike"}]}),
]
for _id, _field, _kw in EMULATOR:
    add(f"emulator-{_id}", _field,
        _bind(lambda r, k: Emulator.start(**{"host": "127.0.0.1", **k}), _kw), exc=ValueError)


# SessionEditor (driven as a person would, then scripted apply) -----------------------------

def _editor_case(edit: Callable[[SessionEditor], None]) -> Runner:
    async def run(r: Rig) -> None:
        editor = r.editor
        editor.revert()
        editor.tabs.selected_index = 0
        try:
            edit(editor)
            await editor.apply()
        finally:
            editor.revert()
            editor.tabs.selected_index = 0
    return run


def _raw(text: str) -> Callable[[SessionEditor], None]:
    return lambda e: e.set_field("raw", text)


def _raw_with(mutate: Callable[[dict[str, Any]], None]) -> Callable[[SessionEditor], None]:
    def edit(e: SessionEditor) -> None:
        e.tabs.selected_index = 1
        raw = json.loads(e.raw.text)
        mutate(raw)
        e.set_field("raw", json.dumps(raw))
    return edit


def _server_vad(control: str, value: Any) -> Callable[[SessionEditor], None]:
    """Switch to server VAD, then type ``value`` into one of its controls."""
    def edit(e: SessionEditor) -> None:
        e.set_field("turn_detection", {"type": "server_vad"})
        getattr(e, control).value = value
    return edit


EDITOR: list[tuple[str, str, Callable[[SessionEditor], None]]] = [
    ("tools-invalid-json", "session.tools",
     lambda e: e.set_field("tools", '[{"type": "function", "name": "lookup",')),
    ("tools-not-list", "session.tools", lambda e: e.set_field("tools", '{"type": "function"}')),
    ("tools-no-name", "session.tools[0].name",
     lambda e: e.set_field("tools", [{"type": "function"}])),
    ("tools-bad-schema", "session.tools[0].parameters",
     lambda e: e.set_field("tools", [{"type": "function", "name": "x",
                                      "parameters": {"type": "strnig"}}])),
    ("tools-unknown-field", "session.tools[0].colour",
     lambda e: e.set_field("tools", [{"type": "function", "name": "x", "colour": "red"}])),
    ("custom-voice-empty", "session.audio.output.voice", lambda e: e.set_field("voice", "")),
    ("custom-voice-garbage", "session.audio.output.voice",
     lambda e: e.set_field("voice", "not-a-voice-id")),
    ("idle-timeout-words", "session.audio.input.turn_detection.idle_timeout_ms",
     _server_vad("td_idle", "soon")),
    ("idle-timeout-low", "idle_timeout_ms", _server_vad("td_idle", "1000")),
    ("threshold-prefix-negative", "session.audio.input.turn_detection.prefix_padding_ms",
     _server_vad("td_prefix", -100)),
    ("raw-invalid-json", "session", _raw("{not json")),
    ("raw-list", "session", _raw("[1, 2]")),
    ("raw-number", "session", _raw("12")),
    ("raw-model-change", "session.model", _raw_with(lambda s: s.update(model="gpt-other"))),
    ("raw-speed-high", "session.audio.output.speed",
     _raw_with(lambda s: s["audio"]["output"].update(speed=9))),
    ("raw-unknown-field", "session.colour", _raw_with(lambda s: s.update(colour="red"))),
    ("raw-modalities-both", "session.output_modalities",
     _raw_with(lambda s: s.update(output_modalities=["audio", "text"]))),
    ("raw-tool-choice", "session.tool_choice",
     _raw_with(lambda s: s.update(tool_choice="sometimes"))),
    ("raw-max-tokens", "session.max_output_tokens",
     _raw_with(lambda s: s.update(max_output_tokens=-1))),
    ("raw-instructions-int", "session.instructions",
     _raw_with(lambda s: s.update(instructions=5))),
]
for _id, _field, _edit in EDITOR:
    add(f"editor-{_id}", _field, _editor_case(_edit))

add("editor-set-modalities-both", "session.output_modalities",
    lambda r: r.editor.set_field("output_modalities", ["audio", "text"]))
add("editor-set-tool-choice-unoffered", "session.tool_choice",
    lambda r: r.editor.set_field("tool_choice", {"type": "function", "name": "nope"}))
add("editor-set-turn-detection-type", "turn_detection",
    lambda r: r.editor.set_field("turn_detection", {"type": "push_to_talk"}))
add("editor-set-unknown-field", "name", lambda r: r.editor.set_field("colour", "red"),
    exc=ValueError)


@bad("editor-apply-button-invalid-tools", "session.tools", exc=None)
async def _editor_button(r: Rig) -> str:
    """The Apply button (a click) with bad tools JSON: the error shows in the form."""
    editor = r.editor
    editor.revert()
    try:
        editor.set_field("tools", "[{")
        shown = html.unescape(editor.field_error.value)
        editor.apply_button.click()   # disabled buttons still fire from Python
        await editor.wait_actions()
        return shown + " " + (editor.last_error or "")
    finally:
        editor.revert()


# ToolCalls form (the pending call's row, and the scripted send) ---------------------------

def _row_click(text: str, fmt: str = "json", respond: bool = True) -> Runner:
    async def run(r: Rig) -> str:
        row = r.tool_calls.row(r.pending_id)
        row.format.value = fmt
        row.output.text = text
        try:
            (row.send_respond if respond else row.send).click()
            await r.tool_calls.wait_actions()
            return html.unescape(row.error.value)
        finally:
            row.output.text = ""
            row.error.value = ""
            row.format.value = "json"
    return run


add("toolcalls-form-invalid-json", "output", _row_click('{"temperature": '), exc=None)
add("toolcalls-form-empty", "output", _row_click(""), exc=None)
add("toolcalls-form-blank", "output", _row_click("   \n"), exc=None)
add("toolcalls-form-empty-text", "output", _row_click("", fmt="text"), exc=None)
add("toolcalls-form-bare-word", "output", _row_click("sunny", respond=False), exc=None)
add("toolcalls-send-unknown-id", "call_id", lambda r: r.tool_calls.send("call_nope", "x"))
add("toolcalls-send-answered-id", "call_id", lambda r: r.tool_calls.send(r.answered_id, "x"))
add("toolcalls-send-empty-output", "output", lambda r: r.tool_calls.send(r.pending_id, ""))
add("toolcalls-send-unserialisable", "output",
    lambda r: r.tool_calls.send(r.pending_id, {"x": object()}))
add("toolcalls-check-output-nan", "output", lambda r: check_output("NaN", "json"))
add("toolcalls-check-output-infinity", "output",
    lambda r: check_output('{"t": -Infinity}', "json"))
add("toolcalls-check-output-format", "format", lambda r: check_output("{}", "yaml"))
add("toolcalls-send-id-int", "call_id", lambda r: r.tool_calls.send(5, "x"))  # type: ignore[arg-type]
add("toolcalls-age-interval-zero", "age_interval", lambda r: ToolCalls(age_interval=0),
    exc=ValueError)


# IncomingCalls form (the ringing SIP call) -------------------------------------------------

def _accept_json(text: str) -> Runner:
    async def run(r: Rig) -> None:
        view = r.incoming
        view.session_json.text = text
        try:
            await view.accept(r.sip_id)
        finally:
            view.session_json.text = ""
    return run


INCOMING_JSON: list[tuple[str, str, str]] = [
    ("invalid-json", "session", '{"instructions": '),
    ("json-list", "session", '["realtime"]'),
    ("json-string", "session", '"realtime"'),
    ("unknown-field", "session.colour", '{"colour": "red"}'),
    ("speed", "session.audio.output.speed", '{"audio": {"output": {"speed": 9}}}'),
    ("type", "session.type", '{"type": "transcription"}'),
    ("tools", "session.tools[0].name", '{"tools": [{"type": "function"}]}'),
    ("instructions-int", "session.instructions", '{"instructions": 5}'),
]
for _id, _field, _text in INCOMING_JSON:
    add(f"incoming-accept-{_id}", _field, _accept_json(_text))

INCOMING: list[tuple[str, str, Callable[[Rig], Awaitable[Any]]]] = [
    ("accept-unknown-call", "call_id", lambda r: r.incoming.accept("rtc_u0_" + "f" * 32)),
    ("accept-session-arg-unknown", "session.colour",
     lambda r: r.incoming.accept(r.sip_id, {"colour": "red"})),
    ("accept-session-arg-list", "session",
     lambda r: r.incoming.accept(r.sip_id, ["x"])),  # type: ignore[arg-type]
    ("reject-unknown-call", "call_id", lambda r: r.incoming.reject("rtc_u0_" + "e" * 32)),
    ("reject-status-200", "status_code", lambda r: r.incoming.reject(r.sip_id, 200)),
    ("reject-status-string", "status_code",
     lambda r: r.incoming.reject(r.sip_id, "busy")),  # type: ignore[arg-type]
    ("refer-unknown-call", "call_id",
     lambda r: r.incoming.refer("rtc_u0_" + "d" * 32, "tel:+14155550123")),
    ("refer-http-uri", "target_uri", lambda r: r.incoming.refer(r.sip_id, "https://x.example")),
    ("refer-empty-uri", "target_uri", lambda r: r.incoming.refer(r.sip_id, "")),
    ("refer-uri-int", "target_uri", lambda r: r.incoming.refer(r.sip_id, 5)),  # type: ignore[arg-type]
    ("attach-unknown-call", "call_id", lambda r: r.incoming.attach("rtc_u0_" + "c" * 32)),
]
for _id, _field, _act in INCOMING:
    add(f"incoming-{_id}", _field, _act)


def _accept_live_json(text: str) -> Runner:
    async def run(r: Rig) -> None:
        view = r.incoming
        view.live_session_json.text = text
        try:
            await view.accept(LIVE_SIP, api="live")
        finally:
            view.live_session_json.text = ""
    return run


INCOMING_LIVE: list[tuple[str, str, Runner]] = [
    ("invalid-json", "session", _accept_live_json('{"model": ')),
    ("json-list", "session", _accept_live_json('["live"]')),
    ("no-model", "session.model", _accept_live_json('{"type": "live"}')),
    ("realtime-field", "session.output_modalities",
     _accept_live_json('{"model": "gpt-live-1", "output_modalities": ["audio"]}')),
    ("audio-format", "session.audio.format",
     _accept_live_json('{"model": "gpt-live-1", "audio": {"format": {}}}')),
    ("api-not-offered", "api",
     lambda r: r.incoming.accept(LIVE_SIP, {"type": "realtime"}, api="realtime")),
    ("api-unknown", "api", lambda r: r.incoming.accept(LIVE_SIP, api="beta")),
]
for _id, _field, _run in INCOMING_LIVE:
    add(f"incoming-live-accept-{_id}", _field, _run)


# -- the test --------------------------------------------------------------------------------


async def test_the_catalogue_is_large_and_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(CASES) >= 200


# Bugs found by this catalogue go here as strict xfails until fixed (see the report); all
# found so far were fixed (3f2f2ff, 3a095a4, dab48c2).
XFAIL: dict[str, str] = {}


def _params() -> list[Any]:
    out = []
    for case in CASES:
        marks = []
        if case.id in XFAIL:
            marks.append(pytest.mark.xfail(strict=True, reason=XFAIL[case.id]))
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


async def _invoke(case: Bad, rig: Rig) -> Any:
    result = case.run(rig)
    if asyncio.iscoroutine(result):
        result = await result
    return result


@pytest.mark.parametrize("case", _params())
async def test_bad_input_names_the_field_and_sends_nothing(rig: Rig, case: Bad) -> None:
    assert rig.call.status.state == "live", rig.call.status
    assert rig.live_call.status.state == "live", rig.live_call.status
    requests_before = len(rig.emu.requests)
    received_before = len(rig.received())
    live_received_before = len(rig.live_received())
    frames_before = len(rig.call.frames())
    live_frames_before = len(rig.live_call.frames())
    if case.exc is None:
        result = await _invoke(case, rig)
        assert isinstance(result, str), f"{case.id}: the form showed no error"
        text = result
    else:
        with pytest.raises(case.exc) as info:
            await _invoke(case, rig)
        text = str(info.value)
        if isinstance(info.value, ValidationError):
            assert case.field.split("[")[0].split(".")[0] in info.value.field
    assert case.field in text, f"{case.id}: field {case.field!r} not named in {text!r}"
    assert case.fix in text, f"{case.id}: no fix in {text!r}"
    assert len(text) < 2000, f"{case.id}: the error echoes a huge payload ({len(text)} chars)"
    # Nothing went out: no client event on the call nor on the Live session, no request to
    # the calls API nor to the Live sessions API.
    assert len(rig.emu.requests) == requests_before, rig.emu.requests[requests_before:]
    await rig.fence()
    new = rig.received()[received_before:]
    assert [r["event"]["type"] for r in new] == ["input_audio_buffer.clear"], new
    outs = [f for f in rig.call.frames()[frames_before:] if f.direction == "out"]
    assert [f.type for f in outs] == ["input_audio_buffer.clear"]
    await rig.live_fence()
    new = rig.live_received()[live_received_before:]
    assert [r["event"]["type"] for r in new] == ["session.input_audio.unmute"], new
    outs = [f for f in rig.live_call.frames()[live_frames_before:] if f.direction == "out"]
    assert [f.type for f in outs] == ["session.input_audio.unmute"]


async def test_the_pending_tool_call_is_still_pending(rig: Rig) -> None:
    """After the whole catalogue: the pending call was never answered, the answered one
    was answered exactly once."""
    assert rig.call.state.tool_calls[rig.pending_id].status == "pending"
    outputs = [r["event"] for r in rig.received()
               if r["event"] and r["event"]["type"] == "conversation.item.create"]
    assert [e["item"]["call_id"] for e in outputs] == [rig.answered_id]


async def test_the_fence_sees_an_event_that_did_go_out(rig: Rig) -> None:
    """The nothing-sent check is not vacuous: an event sent before the fence shows up."""
    before = len(rig.received())
    await rig.call.send({"type": "output_audio_buffer.clear"})
    await rig.fence()
    new = [r["event"]["type"] for r in rig.received()[before:]]
    assert new == ["output_audio_buffer.clear", "input_audio_buffer.clear"]


async def test_the_emulator_records_a_live_request_that_did_go_out(rig: Rig) -> None:
    """The Live nothing-sent check is not vacuous: a valid Live request is recorded (a
    recording download: it leaves the session as it was; a hangup, as the stub's check
    did, would end the session the catalogue still needs)."""
    before = len(rig.emu.requests)
    data = await download_recording(LIVE, client=rig.client)
    assert data[:4] == b"RIFF"
    assert [r["path"] for r in rig.emu.requests[before:]] == [
        f"/v1/live/sessions/{LIVE}/content"]


async def test_the_live_fence_sees_an_event_that_did_go_out(rig: Rig) -> None:
    """The Live sideband's nothing-sent check is not vacuous either."""
    before = len(rig.live_received())
    await rig.live_call.append_thinking("The caller sounds in a hurry.")
    await rig.live_fence()
    new = [r["event"]["type"] for r in rig.live_received()[before:]]
    assert new == ["session.thinking.append", "session.input_audio.unmute"]


async def test_the_pending_live_tool_call_is_still_pending(rig: Rig) -> None:
    """After the whole catalogue: the Live tool call was never answered, nothing asked the
    backend to continue."""
    sent = [r["event"]["type"] for r in rig.live_received()]
    assert "response.item.create" not in sent
    assert "response.create" not in sent
    assert rig.live_call.state.tool_calls[rig.live_pending_id].status == "pending"


async def test_zz_a_nan_live_tool_output_is_refused_and_sends_nothing(rig: Rig) -> None:
    """Last but one on purpose: were it sent, it would answer the pending Live call."""
    before = len(rig.live_received())
    requests = len(rig.emu.requests)
    for output in ({"t": math.nan}, [math.inf], {"deep": {"t": -math.inf}}):
        with pytest.raises(ToolCallError) as info:
            await rig.live_call.send_tool_output(rig.live_pending_id, output)
        assert info.value.field == "output"
        assert "NaN" in str(info.value)
        assert "Fix:" in str(info.value)
    await rig.live_fence()
    assert [r["event"]["type"] for r in rig.live_received()[before:]] == [
        "session.input_audio.unmute"]
    assert len(rig.emu.requests) == requests
    assert rig.live_call.state.tool_calls[rig.live_pending_id].status == "pending"


async def test_zz_a_nan_tool_output_is_refused_and_sends_nothing(rig: Rig) -> None:
    """Last in the module on purpose: were it sent, it would answer the pending call."""
    before = len(rig.received())
    with pytest.raises((ValidationError, ToolCallError), match="output"):
        await rig.call.send_tool_output(rig.pending_id, {"t": math.nan}, respond=False)
    await rig.fence()
    assert [r["event"]["type"] for r in rig.received()[before:]] == ["input_audio_buffer.clear"]
