"""``rtwidgets doctor`` as a user runs it, against the emulator and small stand-ins on 127.0.0.1.

The emulator accepts any key, so the refusals of the real service (HTTP 401 on ``/models``
with a message that quotes the key's tail; on the sideband an ``error`` ``invalid_api_key``
then close code 3000, as issue 10 describes) come from a stub server. Every test asserts
that neither the key nor the webhook secret, nor a telling part of either, is printed.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from rtwidgets._doctor import DoctorOptions, _Out, _shown_url, check_webhook_secret, run_doctor
from rtwidgets.cli import build_parser, main
from rtwidgets.emulator import Emulator

KEY = "sk-proj-doctorTESTkey0123456789Zq9X"
SECRET = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="
# Parts that would give a secret away: the whole values, their bodies and the key's tail
# (what a real 401 message quotes).
TELLING = (KEY, KEY.removeprefix("sk-proj-"), "Zq9X", SECRET, "c2VjcmV0LXNlY3JldC1zZWNyZXQ")

STAY_OPEN = {
    "format": "rtwidgets.scenario", "version": 1, "name": "stays open",
    "greeting": "Good evening, how can I help?",
    "turns": [{"caller": "A table for two, please.", "reply": "Of course, at what time?"}],
    "end": {"by": "stay_open"},
}


def assert_no_secret(text: str) -> None:
    for part in TELLING:
        assert part not in text, f"a secret leaked: {part[:6]}…"


def env_for(monkeypatch: pytest.MonkeyPatch, base_url: str | None, ws_url: str | None = None,
            *, key: str | None = KEY, secret: str | None = SECRET) -> None:
    for name, value in (("OPENAI_API_KEY", key), ("OPENAI_WEBHOOK_SECRET", secret),
                        ("OPENAI_BASE_URL", base_url), ("OPENAI_WEBSOCKET_BASE_URL", ws_url)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


async def doctor(call_id: str | None = None, seconds: float = 1.0) -> tuple[int, str]:
    stream = io.StringIO()
    code = await run_doctor(DoctorOptions(call_id=call_id, seconds=seconds), stream)
    text = stream.getvalue()
    assert_no_secret(text)
    return code, text


def row(text: str, label: str) -> str:
    """The checklist row for ``label`` (its mark and detail)."""
    for line in text.splitlines():
        if line[2:].startswith(label + " "):
            return line
    raise AssertionError(f"no {label!r} row in:\n{text}")


# ---------------------------------------------------------------------------- the emulator


async def test_against_the_emulator_as_a_command_all_checks_pass_and_the_call_goes_on(
        emulator: Emulator) -> None:
    call_id = await emulator.start_call("webrtc", scenario=STAY_OPEN)
    env = dict(os.environ, OPENAI_API_KEY=KEY, OPENAI_WEBHOOK_SECRET=SECRET,
               OPENAI_BASE_URL=emulator.base_url,
               OPENAI_WEBSOCKET_BASE_URL=emulator.websocket_base_url,
               PYTHONIOENCODING="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rtwidgets", "doctor", "--call-id", call_id, "--seconds", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
    out_b, err_b = await asyncio.wait_for(proc.communicate(), 60)
    out, err = out_b.decode(), err_b.decode()
    assert_no_secret(out + err)
    assert proc.returncode == 0, out + err
    assert row(out, "OPENAI_API_KEY").startswith("✓")
    assert row(out, "OPENAI_WEBHOOK_SECRET").startswith("✓")
    assert row(out, "key authenticates").startswith("✓")
    assert "8 models, 8 of them realtime" in row(out, "key authenticates")
    assert row(out, "sideband").startswith("✓")
    assert "detached, the call goes on" in row(out, "sideband")
    counts = {parts[0]: int(parts[1]) for parts in
              (line.split() for line in out.splitlines()) if len(parts) == 2
              and parts[1].isdigit()}
    assert counts["response.done"] >= 1
    assert counts["response.created"] >= 1
    assert out.rstrip().endswith("all checks passed")
    # Detached, not hung up: the call is live, nothing asked to end it, our socket closed.
    assert emulator.call(call_id).status == "active"
    assert not [r for r in emulator.requests if r["path"].endswith("/hangup")]
    assert [s["close_reason"] for s in emulator.sockets(call_id)] == ["client closed"]
    assert not [r for r in emulator.record(call_id) if r["direction"] == "received"]


async def test_the_call_stays_attachable_after_the_doctor(emulator: Emulator,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    call_id = await emulator.start_call("webrtc", scenario=STAY_OPEN)
    env_for(monkeypatch, emulator.base_url, emulator.websocket_base_url)
    for _ in range(2):
        code, text = await doctor(call_id, seconds=0.3)
        assert code == 0, text
    assert emulator.call(call_id).status == "active"
    assert len(emulator.sockets(call_id)) == 2


async def test_without_a_call_id_the_sideband_is_not_checked(emulator: Emulator,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    env_for(monkeypatch, emulator.base_url, secret=None)
    code, text = await doctor()
    assert code == 0, text
    assert row(text, "sideband").startswith("–")
    assert row(text, "OPENAI_WEBHOOK_SECRET").startswith("–")
    assert "not set" in row(text, "OPENAI_WEBHOOK_SECRET")
    assert not emulator.calls


async def test_a_call_that_ends_while_listening_is_reported_with_its_reason(
        emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # The shipped conversation ends by a caller hang-up, well within 30 s at speed 50.
    call_id = await emulator.start_call("webrtc")
    env_for(monkeypatch, emulator.base_url, emulator.websocket_base_url)
    code, text = await doctor(call_id, seconds=30)
    assert code == 0, text
    assert "the call ended after" in row(text, "sideband")
    assert "why: call ended" in text
    assert emulator.call(call_id).end_reason == "caller_hangup"


async def test_an_ended_call_is_a_failure_named_plainly(emulator: Emulator,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    call_id = await emulator.start_call("webrtc", scenario=STAY_OPEN)
    await emulator.hangup(call_id)
    env_for(monkeypatch, emulator.base_url, emulator.websocket_base_url)
    code, text = await doctor(call_id)
    assert code == 1
    line = row(text, "sideband")
    assert line.startswith("✗")
    assert "could not attach" in line
    assert "404" in line
    assert text.rstrip().endswith("1 check(s) failed")


async def test_a_pasted_key_as_call_id_is_refused_and_not_echoed(
        emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    env_for(monkeypatch, emulator.base_url, emulator.websocket_base_url)
    code, text = await doctor(call_id=KEY)          # doctor() asserts KEY is not printed
    assert code == 1
    assert row(text, "sideband").startswith("✗")
    assert "call_id" in row(text, "sideband")
    assert not [s for c in emulator.calls for s in emulator.sockets(c)]


async def test_websocket_base_url_is_honoured(emulator: Emulator,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # A base_url that answers /models but a websocket URL on a closed port: the sideband
    # must use the latter (and fail), so the variable is read.
    call_id = await emulator.start_call("webrtc", scenario=STAY_OPEN)
    env_for(monkeypatch, emulator.base_url, f"ws://127.0.0.1:{closed_port()}/v1")
    code, text = await doctor(call_id)
    assert code == 1
    assert row(text, "key authenticates").startswith("✓")
    assert "could not attach" in row(text, "sideband")
    assert emulator.sockets(call_id) == []


# ---------------------------------------------------------------------------- refusals


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _quoted_key(request: web.Request) -> str:
    # What the real service says about a wrong key: its prefix and last four characters.
    token = request.headers.get("Authorization", "").partition(" ")[2]
    return f"{token[:8]}{'*' * 20}{token[-4:]}"


@pytest.fixture
async def refusing_server() -> AsyncIterator[str]:
    """A server that refuses every key as the real one does; yields its base URL."""

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"error": {
            "message": f"Incorrect API key provided: {_quoted_key(request)}. You can find "
                       "your API key at https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}},
            status=401)

    async def realtime(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "error", "event_id": "event_Dq3m0aQk", "error": {
            "type": "invalid_request_error", "code": "invalid_api_key",
            "message": f"Incorrect API key provided: {_quoted_key(request)}.",
            "param": None, "event_id": None}}))
        await ws.close(code=3000, message=b"invalid_api_key")
        return ws

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_get("/v1/realtime", realtime)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()


async def test_a_refused_key_fails_with_the_code_and_no_key_text(
        refusing_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env_for(monkeypatch, refusing_server)
    code, text = await doctor()
    assert code == 1
    line = row(text, "key authenticates")
    assert line.startswith("✗")
    assert "the key was refused: HTTP 401 invalid_api_key" in line
    assert "Incorrect API key provided: sk-proj-…(hidden). You can find" in text
    assert "Fix: use a standard key" in text


async def test_a_key_refused_on_the_sideband_ends_it_after_one_connection(
        refusing_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env_for(monkeypatch, refusing_server)
    code, text = await doctor("rtc_u0_" + "0123456789abcdef" * 2, seconds=30)
    assert code == 1
    line = row(text, "sideband")
    assert line.startswith("✗")
    assert "refused after" in line
    # the transport ends at the fatal error itself (issue 10: final is final), so the line
    # names the server's code rather than the close code that follows it
    assert "(invalid_api_key)" in line
    assert "server error invalid_api_key" in text
    assert "error" in text.split("event type", 1)[1]


async def test_an_unreachable_server_is_a_network_failure(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    env_for(monkeypatch, f"http://127.0.0.1:{closed_port()}/v1")
    code, text = await doctor()
    assert code == 1
    assert "network: cannot reach http://127.0.0.1:" in row(text, "key authenticates")


# ---------------------------------------------------------------------------- no key


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the doctor opened a connection without a key")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("key", [None, ""])
def test_without_a_key_it_says_what_it_would_check_and_exits_0(
        key: str | None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    env_for(monkeypatch, "https://api.openai.com/v1", key=key, secret=None)
    assert main(["doctor", "--call-id", "rtc_u1_" + "ab" * 16]) == 0
    out, err = capsys.readouterr()
    assert row(out, "OPENAI_API_KEY").startswith("–")
    assert "the doctor would check" in out
    assert "that the key authenticates" in out
    assert "the sideband of rtc_u1_" in out
    assert "export OPENAI_API_KEY=" in out
    assert out.rstrip().splitlines()[-1].startswith("skipped: no OPENAI_API_KEY")
    assert err == ""


@pytest.mark.usefixtures("no_network")
def test_without_a_key_local_checks_still_fail(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    env_for(monkeypatch, None, key=None, secret="whsec_not base64!")
    assert main(["doctor", "--call-id", KEY]) == 1
    out, err = capsys.readouterr()
    assert_no_secret(out + err)
    assert "whsec_not" not in out
    assert row(out, "OPENAI_WEBHOOK_SECRET").startswith("✗")
    assert row(out, "--call-id").startswith("✗")
    assert "(the given call id)" in out


# ---------------------------------------------------------------------------- the secret


@pytest.mark.parametrize(("value", "verdict", "says"), [
    (None, "skip", "not set"),
    (SECRET, "ok", "a 20-byte key"),
    ("whsec_", "fail", "nothing follows whsec_"),
    ("whsec_c2VjcmV0!!", "fail", "not followed by valid base64"),
    ("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ", "fail", "not followed by valid base64"),  # padding
    ("whsec_c2VjcmV0-_", "fail", "not followed by valid base64"),     # url-safe alphabet
    (SECRET + "\n", "fail", "line break"),
    ("", "fail", "set but empty"),
    (KEY, "fail", "looks like an API key"),
    ("a-raw-shared-secret", "warn", "uses the text itself as the HMAC key"),
])
def test_webhook_secret_format(value: str | None, verdict: str, says: str) -> None:
    got, why, fix = check_webhook_secret(value)
    assert (got, says in why) == (verdict, True), why
    assert (fix is None) == (verdict in ("ok", "skip"))
    body = (value or "").strip().removeprefix("whsec_")
    if body:
        assert body not in why + (fix or "")


async def test_a_bad_webhook_secret_fails_the_run(emulator: Emulator,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    env_for(monkeypatch, emulator.base_url, secret="whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ")
    code, text = await doctor()
    assert code == 1
    assert row(text, "OPENAI_WEBHOOK_SECRET").startswith("✗")
    assert row(text, "key authenticates").startswith("✓")


async def test_a_raw_webhook_secret_is_a_warning_not_a_failure(
        emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    env_for(monkeypatch, emulator.base_url, secret="a-raw-shared-secret")
    code, text = await doctor()
    assert "a-raw-shared-secret" not in text
    assert code == 0
    assert row(text, "OPENAI_WEBHOOK_SECRET").startswith("!")
    assert "(1 warning(s))" in text


# ---------------------------------------------------------------------------- pieces


def test_output_scrubs_values_and_key_shaped_text() -> None:
    stream = io.StringIO()
    out = _Out(stream, [KEY + "\n"])
    out.line(f"a {KEY} b sk-proj-****abcd c rk-{'x' * 10} d whsec_abcdef e task-list")
    text = stream.getvalue()
    assert_no_secret(text)
    for part in ("abcd", "xxxx", "whsec_abcdef"):
        assert part not in text
    assert "task-list" in text


def test_output_falls_back_to_ascii_marks() -> None:
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    out = _Out(stream, [])
    out.row(out.ok, "thing", "fine")
    out.row(out.fail, "other", "broken", "do this")
    stream.flush()
    text = stream.buffer.getvalue().decode()   # type: ignore[attr-defined]
    assert text.splitlines()[0].startswith("+ thing")
    assert text.splitlines()[1].startswith("x other")
    assert "Fix: do this" in text
    assert out.failed == 1


@pytest.mark.parametrize(("url", "shown"), [
    ("https://api.openai.com/v1", "https://api.openai.com/v1"),
    ("http://user:pa55word@proxy.example:8080/v1?token=abc#x", "http://proxy.example:8080/v1"),
])
def test_urls_are_shown_without_credentials(url: str, shown: str) -> None:
    assert _shown_url(url) == shown


def test_parser_has_the_doctor_flags(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["doctor"])
    assert (args.call_id, args.seconds) == (None, 10.0)
    args = build_parser().parse_args(["doctor", "--call-id", "rtc_u1_x", "--seconds", "2.5"])
    assert (args.call_id, args.seconds) == ("rtc_u1_x", 2.5)
    for bad in ("0", "-1", "x", "3601"):
        with pytest.raises(SystemExit) as exc:
            build_parser().parse_args(["doctor", "--seconds", bad])
        assert exc.value.code == 2
    assert "--seconds" in capsys.readouterr().err
