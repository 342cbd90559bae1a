"""No public object, file, log line or error ever shows the API key or the webhook secret.

Why: notebooks get shared with their outputs and widget state; a key in a repr, a saved
widget, a capture, a Parquet file, a log or a traceback leaks the customer's account (issue
#7, "Secrets"). With a fake key and a fake ``whsec_`` secret set on the client, the emulator
and the inbox, this module builds every public object of ``rtwidgets.__all__`` that can be
built (Emulator, Call via attach, Recording via load, Replay, WebhookInbox, IncomingCall from
a signed delivery, every widget, the analysis Summary/Analysis, Parquet output) and checks
``repr``/``str``/``_repr_html_``/``_repr_mimebundle_``, the state of every widget, every file
written, every log record (DEBUG, all loggers) and the full traceback text of the errors
raised by refusals: HTTP 401 (from a server that echoes the Authorization header back in its
error body, the worst case), 404, bad signatures and wrong secrets.

Secrets in saved notebooks are the harness tests' job (tests/notebooks/); this is the
library-level proof. Third-party loggers (openai, httpx, websockets) are checked in their own
test so a leak there is reported apart from ours.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import aiohttp
import comm
import ipywidgets.widgets.widget as ipw_widget
import openai
import pytest
from aiohttp import web
from comm.base_comm import BaseComm

import rtwidgets
from rtwidgets._call import attach
from rtwidgets._control import CallControlError, accept, create_call, hangup, refer, reject
from rtwidgets._recording import load
from rtwidgets._transport import MemoryTransport, ReconnectPolicy
from rtwidgets._webhooks import WebhookInbox
from rtwidgets.analysis import analyze, load_many, summary, to_parquet
from rtwidgets.emulator import Emulator, sign_webhook
from rtwidgets.widgets import (
    CallConsole,
    EventLog,
    IncomingCalls,
    SessionEditor,
    StatusBar,
    ToolCalls,
    Transcript,
    Turns,
    console_mimebundle,
)

API_KEY = "sk-proj-SECRETKEY-must-not-leak-123"
SECRET_B64 = "U0VDUkVUV0VCSE9PSy1tdXN0LW5vdC1sZWFrLTQ1Ng=="  # "SECRETWEBHOOK-must-not-leak-456"
WEBHOOK_SECRET = "whsec_" + SECRET_B64
NEEDLES = (API_KEY, "SECRETKEY-must-not-leak", WEBHOOK_SECRET, SECRET_B64,
           "SECRETWEBHOOK-must-not-leak")
FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=2)
SDP = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
SIP_ID = "rtc_u0_" + "1" * 32
RTC_ID = "rtc_u1_" + "2" * 32


def leaks(text: str) -> list[str]:
    return [n for n in NEEDLES if n in text]


def assert_clean(texts: Iterable[tuple[str, str]]) -> None:
    """Every ``(where, text)`` is free of every secret; the message names where it leaked."""
    found = [(where, leaks(text)) for where, text in texts if leaks(text)]
    assert found == [], f"secret found in: {found}"


def error_text(exc: BaseException) -> str:
    """Everything a notebook shows for an error: repr, str, args and the full traceback
    (with its chained causes), as IPython would print it."""
    return "\n".join([repr(exc), str(exc), repr(exc.args),
                      "".join(traceback.format_exception(exc))])


def _state(widget: Any) -> Any:
    try:
        return widget.get_state()
    except AttributeError:  # a container still holding a closed child: read its traits
        return {k: repr(getattr(widget, k, None)) for k in widget.keys}


def all_widget_states() -> str:
    """The synced state of every live widget, as saved with "save widget state"."""
    return json.dumps([_state(w) for w in list(ipw_widget._instances.values())], default=repr)


def files_text(folder: Path) -> list[tuple[str, str]]:
    return [(str(p), p.read_bytes().decode("utf-8", "replace"))
            for p in sorted(folder.rglob("*")) if p.is_file()]


def log_texts(caplog: pytest.LogCaptureFixture, prefix: str | None) -> list[tuple[str, str]]:
    out = []
    for r in caplog.records:
        if prefix is None or r.name.startswith(prefix):
            text = r.getMessage()
            if r.exc_info:
                text += "".join(traceback.format_exception(*r.exc_info))
            out.append((f"log {r.name}:{r.levelname}", text))
    return out


class RecordingComm(BaseComm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.messages: list[Any] = []
        super().__init__(*args, **kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        self.messages.append((msg_type, data))


@pytest.fixture(autouse=True)
def recording_comm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: RecordingComm(*a, **k))


def comm_traffic(skip: Any = None) -> str:
    """Every message every widget (but ``skip``) sent to the (stand-in) browser, custom
    messages included."""
    out = []
    for w in list(ipw_widget._instances.values()):
        if w is skip:
            continue
        c = getattr(w, "comm", None)
        if isinstance(c, RecordingComm):
            out.append(json.dumps(c.messages, default=repr))
    return "\n".join(out)


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("rtwidgets", "openai", "httpx", "httpcore", "websockets", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


class Rig:
    def __init__(self, emu: Emulator, inbox: WebhookInbox, client: openai.AsyncOpenAI) -> None:
        self.emu = emu
        self.inbox = inbox
        self.client = client


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    client = openai.AsyncOpenAI(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET,
                                base_url="http://127.0.0.1:9/v1")
    inbox = await WebhookInbox(client=client).start()  # the secret comes from the client
    assert inbox.url is not None
    emu = await Emulator.start(speed=50, seed=7, scenario="tools", webhook_url=inbox.url,
                               webhook_secret=WEBHOOK_SECRET, session_created_on_attach=True)
    client.base_url = emu.base_url
    client.websocket_base_url = emu.websocket_base_url
    try:
        yield Rig(emu, inbox, client)
    finally:
        await inbox.close()
        await emu.close()
        await client.close()


async def wait_until(predicate: Any, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


# -- the whole surface, used normally --------------------------------------------------------


async def test_every_public_object_files_and_logs_hold_no_secret(
        rig: Rig, tmp_path: Path, all_logs: pytest.LogCaptureFixture) -> None:
    texts: list[tuple[str, str]] = []

    def show(where: str, obj: Any) -> None:
        texts.append((f"repr {where}", repr(obj)))
        texts.append((f"str {where}", str(obj)))
        for meth in ("_repr_html_", "_repr_markdown_", "_repr_mimebundle_"):
            fn = getattr(obj, meth, None)
            if callable(fn):
                texts.append((f"{meth} {where}", json.dumps(fn(), default=repr)))

    show("emulator", rig.emu)
    show("inbox", rig.inbox)
    show("inbox.stats", rig.inbox.stats)

    # A SIP call rings: the signed webhook reaches the inbox; accept and attach through it.
    sip_id = await rig.emu.start_call(transport="sip")
    incoming = await rig.inbox.get(timeout=10)
    assert incoming.call_id == sip_id
    show("incoming", incoming)
    show("incoming.event", incoming.event)
    texts.append(("incoming.sip_headers", repr(incoming.sip_headers)))
    incalls = IncomingCalls(rig.inbox, consume=False)
    await incoming.accept(instructions="You are a weather assistant.",
                          tools=[{"type": "function", "name": "get_weather",
                                  "parameters": {"type": "object", "properties": {
                                      "city": {"type": "string"}}}}])
    sip_call = await incoming.attach(capture=tmp_path / "sip.jsonl", reconnect=FAST)

    def weather(city: str, unit: str = "celsius") -> dict[str, Any]:
        return {"temperature": 21, "conditions": "sunny"}

    sip_call.tool("get_weather")(weather)

    views = [StatusBar(sip_call), EventLog(sip_call), Transcript(sip_call),
             SessionEditor(sip_call), ToolCalls(sip_call), Turns(sip_call), incalls]
    show("sip call", sip_call)
    show("sip call status", sip_call.status)
    show("sip call stats", sip_call.stats)

    # A WebRTC call attached from the console's Attach button (the console holds the client).
    rtc_id = await rig.emu.start_call(transport="webrtc")
    console = CallConsole(client=rig.client, inbox=rig.inbox, attach_options={
        "capture": tmp_path / "rtc.jsonl", "reconnect": FAST})
    console.call_id_field.value = rtc_id
    console.attach_button.click()
    await console.wait_actions()
    assert console.last_error is None, console.message.value
    rtc_call = console.source
    show("console", console)
    show("rtc call", rtc_call)
    texts.append(("console mimebundle", json.dumps(console_mimebundle(rtc_call), default=repr)))

    await asyncio.gather(sip_call.wait_ended(60), rtc_call.wait_ended(60))
    await asyncio.sleep(0.3)  # last view batches
    assert any(r.status == "answered" for r in sip_call.state.tool_calls.values())
    for view in views:
        show(type(view).__name__, view)
    texts.append(("widget state (all widgets)", all_widget_states()))
    texts.append(("comm traffic (all widgets)", comm_traffic()))
    show("sip call (ended)", sip_call)
    show("sip call state", sip_call.state)
    texts.append(("sip call state snapshot", json.dumps(sip_call.state.snapshot(), default=repr)))
    show("rtc call (ended)", rtc_call)
    await sip_call.close()
    await console.detach()

    # Recordings, replay, analysis, Parquet: all from the captures just written.
    recording = load(tmp_path / "sip.jsonl")
    show("recording", recording)
    texts.append(("recording mimebundle",
                  json.dumps(console_mimebundle(recording), default=repr)))
    replay = recording.replay(speed=50)
    show("replay", replay)
    await replay.close()
    analysis = analyze(tmp_path / "rtc.jsonl")
    show("analysis", analysis)
    show("summary", summary(tmp_path / "sip.jsonl"))
    texts.append(("events table", analysis.events.to_csv()))
    many = load_many([tmp_path / "sip.jsonl", tmp_path / "rtc.jsonl"])
    show("many", many)
    to_parquet(tmp_path / "sip.jsonl", tmp_path / "parquet")
    assert list((tmp_path / "parquet").rglob("*.parquet"))
    texts.append(("widget state (after replay)", all_widget_states()))

    # The test double of the transport seam: a scripted call, recorded like a live one.
    memory = MemoryTransport([{"type": "session.created", "event_id": "event_memory00000001",
                               "session": {"type": "realtime", "instructions": "hi"}}],
                             handler=lambda event: None)
    memory_call = await attach("rtc_memory00000000000001", transport=memory,
                               capture=tmp_path / "memory.jsonl")
    await memory_call.send({"type": "response.create"})
    show("memory transport", memory)
    show("memory call", memory_call)
    memory.end("call ended: scripted")
    await memory_call.wait_ended(10)
    await memory_call.close()

    for view in views:
        view.close()
    console.close()
    texts += files_text(tmp_path)
    texts += log_texts(all_logs, "rtwidgets")
    assert len(texts) > 40
    assert_clean(texts)
    # The objects checked cover every constructible class named in the public API.
    exercised = {"Emulator", "WebhookInbox", "IncomingCall", "Call", "CallStatus", "CallStats",
                 "Recording", "Replay", "CallConsole", "StatusBar", "EventLog", "Transcript",
                 "SessionEditor", "ToolCalls", "Turns", "IncomingCalls", "Analysis", "Summary",
                 "SessionState", "Many", "MemoryTransport"}
    public_classes = {n for n in getattr(rtwidgets, "__all__", [])
                      if n[:1].isupper() and not n.endswith("Error")
                      and n not in ("SessionUpdateResult", "CreatedCall")}
    assert public_classes <= exercised, public_classes - exercised


# -- refusals ----------------------------------------------------------------------------------


@pytest.fixture
async def echo_401() -> AsyncIterator[str]:
    """A server that refuses every request with 401 and echoes the Authorization header back
    in its error message (worse than the real API, which masks the key)."""

    async def refuse(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        body = {"error": {"message": f"Incorrect API key provided: {auth}. Headers: "
                                     f"{dict(request.headers)}",
                          "type": "invalid_request_error", "param": None,
                          "code": "invalid_api_key"}}
        return web.json_response(body, status=401, headers={"X-Echo": auth})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_401_refusals_and_their_tracebacks_hold_no_secret(
        echo_401: str, tmp_path: Path, all_logs: pytest.LogCaptureFixture) -> None:
    client = openai.AsyncOpenAI(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET,
                                base_url=f"http://{echo_401}/v1",
                                websocket_base_url=f"ws://{echo_401}/v1", max_retries=0)
    texts: list[tuple[str, str]] = []
    try:
        actions = {
            "create_call": create_call(SDP, client=client),
            "accept": accept(SIP_ID, instructions="hi", client=client),
            "reject": reject(SIP_ID, 486, client=client),
            "refer": refer(SIP_ID, "tel:+14155550123", client=client),
            "hangup": hangup(SIP_ID, client=client),
        }
        for name, aw in actions.items():
            with pytest.raises(CallControlError) as info:
                await aw
            assert info.value.status_code == 401, name
            assert "401" in str(info.value)
            texts.append((f"{name} error", error_text(info.value)))
        # The key really was echoed by the server: the check below is not vacuous.
        sdk_error = info.value.sdk_error
        assert sdk_error is not None
        assert API_KEY in str(sdk_error)

        call = await attach(RTC_ID, client=client, capture=tmp_path / "c.jsonl",
                            reconnect=FAST, connect_timeout=10)
        assert call.status.state == "ended"
        assert "401" in call.status.reason
        texts += [("attach status", str(call.status)), ("attach repr", repr(call)),
                  ("attach frames", repr([f.event for f in call.frames()]))]
        await call.close()

        console = CallConsole(client=client, attach_options={
            "capture": tmp_path / "console.jsonl", "reconnect": FAST})
        console.call_id_field.value = RTC_ID
        console.attach_button.click()
        await console.wait_actions()
        texts += [("console message", str(console.message.value)),
                  ("console last_error", str(console.last_error)),
                  ("console repr", repr(console)),
                  ("widget state", all_widget_states()),
                  ("comm traffic", comm_traffic())]
        await console.detach()
        console.close()
    finally:
        await client.close()
    texts += files_text(tmp_path)
    texts += log_texts(all_logs, "rtwidgets")
    assert_clean(texts)


async def test_404_and_bad_deliveries_hold_no_secret(
        rig: Rig, tmp_path: Path, all_logs: pytest.LogCaptureFixture) -> None:
    texts: list[tuple[str, str]] = []
    with pytest.raises(CallControlError) as info:
        await accept(SIP_ID, instructions="hi", client=rig.client)
    assert info.value.status_code == 404
    texts.append(("404 accept", error_text(info.value)))
    with pytest.raises(CallControlError) as info:
        await hangup(RTC_ID, client=rig.client)
    texts.append(("404 hangup", error_text(info.value)))
    call = await attach(RTC_ID, client=rig.client, capture=tmp_path / "c.jsonl", reconnect=FAST)
    assert "404" in call.status.reason
    texts += [("404 attach", str(call.status)), ("404 attach repr", repr(call))]
    await call.close()

    # Deliveries the inbox must refuse: a forged signature, one signed with another secret,
    # a stale one and one without headers; their refusals are logged and counted.
    assert rig.inbox.url is not None
    body = json.dumps({"id": "evt_1", "object": "event", "created_at": int(time.time()),
                       "type": "realtime.call.incoming",
                       "data": {"call_id": SIP_ID, "sip_headers": []}}).encode()
    now = int(time.time())
    other = "whsec_" + "b3RoZXItc2VjcmV0LWZvci10ZXN0cw=="
    attempts = [
        {"webhook-id": "wh_1", "webhook-timestamp": str(now),
         "webhook-signature": "v1,Zm9yZ2VkLXNpZ25hdHVyZQ=="},
        {"webhook-id": "wh_2", "webhook-timestamp": str(now),
         "webhook-signature": sign_webhook(other, "wh_2", now, body)},
        {"webhook-id": "wh_3", "webhook-timestamp": str(now - 3600),
         "webhook-signature": sign_webhook(WEBHOOK_SECRET, "wh_3", now - 3600, body)},
        {},
    ]
    async with aiohttp.ClientSession() as http:
        for headers in attempts:
            async with http.post(rig.inbox.url, data=body,
                                 headers={"Content-Type": "application/json", **headers}) as r:
                texts.append((f"inbox answer {r.status}", await r.text()))
                texts.append((f"inbox answer headers {r.status}", repr(dict(r.headers))))
                assert r.status in (400, 401)
    assert rig.inbox.stats.refused_total == len(attempts)
    texts += [("inbox stats", repr(rig.inbox.stats)), ("inbox repr", repr(rig.inbox))]
    texts += files_text(tmp_path)
    texts += log_texts(all_logs, "rtwidgets")
    assert_clean(texts)


async def test_an_inbox_given_a_wrong_secret_says_so_without_either_secret(
        rig: Rig, all_logs: pytest.LogCaptureFixture) -> None:
    """A mis-configured secret is the common failure: the refusal must help without echoing
    the configured secret or the one the sender used."""
    other_secret = "whsec_" + "QU5PVEhFUi1zZWNyZXQtdGhlLXNlbmRlci11c2Vk"
    inbox = await WebhookInbox(secret=WEBHOOK_SECRET).start()
    texts = [("inbox repr", repr(inbox))]
    try:
        assert inbox.url is not None
        body = json.dumps({"id": "evt_2", "object": "event", "created_at": int(time.time()),
                           "type": "realtime.call.incoming",
                           "data": {"call_id": SIP_ID, "sip_headers": []}}).encode()
        now = int(time.time())
        async with aiohttp.ClientSession() as http, http.post(
                inbox.url, data=body, headers={
                    "Content-Type": "application/json", "webhook-id": "wh_9",
                    "webhook-timestamp": str(now),
                    "webhook-signature": sign_webhook(other_secret, "wh_9", now, body)}) as r:
            assert r.status == 400
            texts.append(("answer", await r.text()))
        assert inbox.stats.refused_total == 1
        texts.append(("stats", repr(inbox.stats)))
    finally:
        await inbox.close()
    texts += log_texts(all_logs, "rtwidgets")
    assert not [t for _, t in texts if other_secret in t or other_secret[6:] in t]
    assert_clean(texts)


# -- a key typed into the wrong box -------------------------------------------------------------


PASTED = {"key": API_KEY, "key-after-prefix": f"rtc_u1_{API_KEY}", "key-in-spaces": f" {API_KEY} "}


async def _attach_entry(rig: Rig, bad: str) -> None:
    call = await attach(bad, client=rig.client, capture=False)
    await call.close()  # accepted when it should not be: nothing left attached


ENTRIES: dict[str, Callable[[Rig, str], Awaitable[Any]]] = {
    "attach": _attach_entry,
    "accept": lambda rig, bad: accept(bad, client=rig.client),
    "hangup": lambda rig, bad: hangup(bad, client=rig.client),
}
@pytest.mark.parametrize("entry", list(ENTRIES))
@pytest.mark.parametrize("pasted", list(PASTED))
async def test_a_key_pasted_as_a_call_id_is_refused_and_not_echoed(
        rig: Rig, entry: str, pasted: str, all_logs: pytest.LogCaptureFixture) -> None:
    """People paste the key into the call id box; it must be refused before any request (a
    call id travels in URLs, which servers and proxies log) and the error must not repeat it
    (error outputs are saved with the notebook)."""
    bad = PASTED[pasted]
    with pytest.raises(ValueError, match="call_id") as info:
        await ENTRIES[entry](rig, bad)
    assert "call_id" in str(info.value)
    assert rig.emu.requests == []
    assert_clean([("error", error_text(info.value)), *log_texts(all_logs, "rtwidgets")])


async def test_a_key_pasted_into_the_console_is_refused_and_not_echoed(
        rig: Rig, all_logs: pytest.LogCaptureFixture) -> None:
    console = CallConsole(client=rig.client, attach_options={"capture": False})
    try:
        console.call_id_field.value = API_KEY
        console.attach_button.click()
        await console.wait_actions()
        assert console.source is None
        texts = [("console message", str(console.message.value)),
                 ("console last_error", str(console.last_error)),
                 ("console repr", repr(console))]
        # The field itself holds what was typed (the person's own input; setting it from
        # Python also syncs it out): leave the field out, clear it, then every other synced
        # value and message must be clean.
        texts.append(("comm traffic", comm_traffic(skip=console.call_id_field)))
        console.call_id_field.value = ""
        texts.append(("widget state", all_widget_states()))
    finally:
        await console.detach()
        console.close()
    assert_clean(texts + log_texts(all_logs, "rtwidgets"))


# -- third-party loggers ---------------------------------------------------------------------


@pytest.mark.parametrize("logger", [
    "openai", "httpx", "httpcore",
    "websockets",
    "aiohttp", "asyncio",
])
async def test_third_party_debug_logs_hold_no_secret(
        rig: Rig, tmp_path: Path, all_logs: pytest.LogCaptureFixture, logger: str) -> None:
    """Each library's DEBUG log while rtwidgets makes every kind of request (REST call
    control, the signed webhook, the sideband handshake)."""
    sip_id = await rig.emu.start_call(transport="sip")
    incoming = await rig.inbox.get(timeout=10)
    assert incoming.call_id == sip_id
    await incoming.accept(instructions="hi")
    call = await incoming.attach(capture=tmp_path / "c.jsonl", reconnect=FAST)
    await call.wait_ended(30)
    await call.close()
    records = log_texts(all_logs, logger)
    if logger in ("openai", "websockets", "httpcore"):
        assert records, f"no {logger} records: the check would be vacuous"
    assert_clean(records)
