"""The ``rtwidgets emulator`` command as a user runs it: a real subprocess that prints its
URLs, serves, and stops cleanly with exit code 0 on SIGTERM and Ctrl-C; the demo; bad flags."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

import aiohttp
import pytest

from rtwidgets.cli import build_parser, main

PY = sys.executable
URL = re.compile(r"base_url=(http://127\.0\.0\.1:\d+/v1) websocket_base_url=(ws://\S+)")


async def _start(*args: str) -> tuple[asyncio.subprocess.Process, str, str]:
    proc = await asyncio.create_subprocess_exec(
        PY, "-m", "rtwidgets", "emulator", "--port", "0", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
    match = URL.search(line)
    assert match, line
    return proc, match.group(1), match.group(2)


async def test_serves_then_stops_cleanly_on_sigterm() -> None:
    # SIGINT (Ctrl-C) goes through the same handler; one subprocess keeps the suite fast.
    sig = signal.SIGTERM
    proc, base_url, ws_url = await _start("--speed", "50", "--start-call", "webrtc",
                                          "--webhook-secret",
                                          "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=")
    assert ws_url == base_url.replace("http://", "ws://")
    assert proc.stdout is not None
    await asyncio.wait_for(proc.stdout.readline(), 20)   # the control API line
    line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
    assert re.search(r"started webrtc call: rtc_u1_[0-9A-Za-z]{21,32}\b", line)
    control = base_url.removesuffix("/v1") + "/_emulator/calls"
    async with aiohttp.ClientSession() as http:
        async with http.post(control, json={"transport": "webrtc"}) as r:
            assert r.status == 201
        async with http.get(control) as r:
            assert len((await r.json())["calls"]) == 2
    proc.send_signal(sig)
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    assert b"stopped" in out
    assert b"c2VjcmV0" not in out + err       # the secret is never printed


@pytest.mark.parametrize("transport", ["webrtc", "sip"])
def test_demo_prints_a_whole_scripted_call(transport: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--speed", "50", "--seed", "2", "--start-call", transport]) == 0
    out = capsys.readouterr().out
    prefix = "rtc_u1_" if transport == "webrtc" else "rtc_u0_"
    assert f"demo {transport} call: {prefix}" in out
    if transport == "sip":
        assert "accepted: HTTP 200" in out
    assert "input_audio_buffer.speech_started" in out
    assert "response.output_audio_transcript.delta" in out
    assert "status=completed" in out
    assert "call ended: caller_hangup" in out
    assert out.rstrip().endswith("rtwidgets emulator stopped")


async def test_api_key_flags_set_the_accepted_keys() -> None:
    proc, _base_url, ws_url = await _start("--api-key", "sk-cli-one", "--api-key", "sk-cli-two")
    try:
        async with aiohttp.ClientSession() as http:
            for key, close in (("sk-cli-two", 4000), ("sk-cli-three", 3000)):
                # no model: an accepted key gets as far as missing_model (4000); a wrong one
                # is refused first (3000)
                async with http.ws_connect(f"{ws_url}/realtime",
                                           headers={"Authorization": f"Bearer {key}"}) as ws:
                    await ws.receive(timeout=10)
                    await ws.receive(timeout=10)
                    assert ws.close_code == close, key
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    assert b"sk-cli" not in out + err           # keys are never printed


def test_demo_uses_the_given_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--speed", "50", "--seed", "2", "--api-key", "sk-demo-own"]) == 0
    out = capsys.readouterr().out
    assert "status=completed" in out
    assert "sk-demo-own" not in out


@pytest.mark.parametrize(("args", "message"), [
    (["--scenario", "no_such"], "scenario"),
    (["--webhook-url", "ftp://x"], "webhook_url"),
    (["--port", "-5"], "port: must be an integer from 0 to 65535"),
])
def test_bad_options_exit_2_naming_the_option(args: list[str], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--port", "0", *args]) == 2
    assert message in capsys.readouterr().err


def test_bad_speed_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["emulator", "--speed", "0"])
    assert exc.value.code == 2
    assert "--speed" in capsys.readouterr().err


def test_parser_has_the_documented_flags() -> None:
    args = build_parser().parse_args(
        ["emulator", "--host", "127.0.0.1", "--port", "9000", "--speed", "2", "--scenario",
         "tools", "--webhook-url", "http://127.0.0.1:1/w", "--webhook-secret", "whsec_x",
         "--seed", "4", "--start-call", "sip", "--api-key", "sk-a", "--api-key", "sk-b"])
    assert (args.port, args.speed, args.scenario, args.seed, args.start_call) == (
        9000, 2.0, "tools", 4, "sip")
    assert args.api_key == ["sk-a", "sk-b"]
