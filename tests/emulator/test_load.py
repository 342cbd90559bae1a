"""The load mode (``rtwidgets.emulator._load``, ``rtwidgets emulator --load``): N SIP calls
against a webhook app, the app's accepts, refusals and silences counted, and the exit code.

The app under test is a tiny aiohttp webhook on 127.0.0.1 built the way a user builds one with
the official SDK: ``client.webhooks.unwrap`` verifies the signature, ``client.realtime.calls``
accepts or rejects, ``client.realtime.connect(call_id=…)`` attaches the sideband.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import openai
import pytest
from aiohttp import web

from rtwidgets.cli import main
from rtwidgets.emulator import Emulator, LoadResult

from .conftest import API_KEY, FAST, serve_webhook

SECRET = "whsec_" + base64.b64encode(b"load-test-secret-load-test-secr").decode()
URL = re.compile(r"base_url=(http://127\.0\.0\.1:\d+/v1) websocket_base_url=(ws://\S+)")


class App:
    """A user's server-side controls app: verify, then accept (or not), then attach."""

    def __init__(self, decide: Callable[[int], str] = lambda i: "accept") -> None:
        self.decide = decide             # "accept" | "reject" | "silent" | "fail"
        self.base_url: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.client: openai.AsyncOpenAI | None = None
        self.verified = 0
        self.bad_signatures = 0
        self.events_seen: dict[str, int] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self._n = 0

    async def _client(self) -> openai.AsyncOpenAI:
        if self.client is None:
            base = await self.base_url
            self.client = openai.AsyncOpenAI(
                api_key=API_KEY, base_url=base, webhook_secret=SECRET,
                websocket_base_url=base.replace("http://", "ws://"))
        return self.client

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        client = await self._client()
        try:
            event = client.webhooks.unwrap(body, dict(request.headers))
        except openai.InvalidWebhookSignatureError:
            self.bad_signatures += 1
            return web.Response(status=400)
        self.verified += 1
        assert event.type == "realtime.call.incoming"
        call_id = event.data.call_id
        what = self.decide(self._n)
        self._n += 1
        if what == "fail":
            return web.Response(status=500)
        if what == "reject":
            await client.realtime.calls.reject(call_id, status_code=486)
        elif what == "accept":
            await client.realtime.calls.accept(call_id, type="realtime")
            task = asyncio.get_running_loop().create_task(self._sideband(client, call_id))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return web.Response(status=200)

    async def _sideband(self, client: openai.AsyncOpenAI, call_id: str) -> None:
        with contextlib.suppress(Exception):
            async with client.realtime.connect(call_id=call_id) as conn:
                async for event in conn:
                    self.events_seen[call_id] = self.events_seen.get(call_id, 0) + 1
                    if event.type == "response.done":
                        break

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.client is not None:
            await self.client.close()


@contextlib.asynccontextmanager
async def serve(app: App) -> AsyncIterator[str]:
    async with serve_webhook(app.handle) as url:
        try:
            yield f"{url}?token=not-shown"
        finally:
            await app.close()


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with await Emulator.start(speed=FAST, seed=3, webhook_secret=SECRET,
                                    webhook_retry_delays=(0.01, 0.01)) as emu:
        yield emu


def _table_value(table: str, name: str) -> str:
    for line in table.splitlines():
        if line.strip().startswith(name):
            return line.strip()[len(name):].strip()
    raise AssertionError(f"no row {name!r} in\n{table}")


async def test_twenty_calls_accepted_and_attached(emulator: Emulator) -> None:
    app = App()
    async with serve(app) as url:
        app.base_url.set_result(emulator.base_url)
        result = await emulator.load(20, 500, webhook_url=url, timeout=20)
        await asyncio.sleep(0)
    assert isinstance(result, LoadResult)
    assert app.verified == 20
    assert app.bad_signatures == 0
    assert (result.placed, result.accepted, result.attached, result.refused) == (20, 20, 20, 0)
    assert (result.errors, result.timeouts, result.webhook_errors) == (0, 0, 0)
    assert result.ok
    assert result.exit_code == 0
    assert len(result.accept_latency_ms) == 20
    assert len(result.sideband_latency_ms) == 20
    assert all(v >= 0 for v in result.accept_latency_ms + result.sideband_latency_ms)
    for lc in result.calls:
        # the accept followed the webhook's POST, the sideband followed the accept
        assert lc.webhook_t is not None
        assert lc.accepted_t is not None
        assert lc.sideband_t is not None
        assert lc.placed_t <= lc.webhook_t <= lc.accepted_t <= lc.sideband_t
        assert lc.webhook_delivered
        assert lc.webhook_attempts == 1
        assert emulator.call(lc.call_id).socket_log[0].opened_t == lc.sideband_t
    table = result.table()
    print(table)
    assert _table_value(table, "calls placed") == "20"
    assert _table_value(table, "accepted") == "20"
    assert _table_value(table, "sideband attached") == "20"
    assert _table_value(table, "refused (reject)") == "0"
    assert _table_value(table, "errors").startswith("0 ")
    assert re.fullmatch(r"[\d.]+ / [\d.]+ ms", _table_value(table, "accept latency p50 / p99"))
    # the webhook's query (a token, perhaps) and the secret are never shown
    shown = table + repr(result) + str(result.as_dict())
    assert "not-shown" not in shown
    assert SECRET not in shown
    assert SECRET.removeprefix("whsec_") not in shown
    # the calls were announced to the load's webhook, signed with the emulator's secret
    assert {d.url for d in emulator.webhook_deliveries} == {url}


async def test_half_rejected_are_counted_as_refused(emulator: Emulator) -> None:
    app = App(lambda i: "reject" if i % 2 else "accept")
    async with serve(app) as url:
        app.base_url.set_result(emulator.base_url)
        result = await emulator.load(10, 200, webhook_url=url, timeout=20)
    assert (result.placed, result.accepted, result.attached, result.refused) == (10, 5, 5, 5)
    assert result.errors == 0
    assert result.ok
    refused = [lc for lc in result.calls if lc.outcome == "refused"]
    assert all(emulator.call(lc.call_id).end_reason == "rejected (486)" for lc in refused)
    assert all(lc.rejected_t is not None and lc.accepted_t is None for lc in refused)
    assert _table_value(result.table(), "refused (reject)") == "5"
    assert len(result.accept_latency_ms) == 5


@pytest.mark.parametrize("behaviour", ["silent", "fail"])
async def test_unanswered_calls_time_out_and_fail_the_run(emulator: Emulator,
                                                          behaviour: str) -> None:
    app = App(lambda i: behaviour)
    async with serve(app) as url:
        app.base_url.set_result(emulator.base_url)
        result = await emulator.load(4, 100, webhook_url=url, timeout=0.5)
    assert (result.placed, result.accepted, result.attached, result.refused) == (4, 0, 0, 0)
    assert result.timeouts == 4
    assert result.errors == 4
    assert not result.ok
    assert result.exit_code == 1
    assert result.webhook_errors == (4 if behaviour == "fail" else 0)
    if behaviour == "fail":
        assert all(lc.webhook_failures >= 1 and not lc.webhook_delivered
                   for lc in result.calls)
    # calls nobody answered are hung up, not left ringing
    assert all(emulator.call(lc.call_id).end_reason == "hangup" for lc in result.calls)
    table = result.table()
    assert "FAILED: 4 call(s) got no answer within 0.5 s" in table
    assert "timeouts: 4" in table
    assert _table_value(table, "accept latency p50 / p99") == "-"


async def test_an_app_that_hangs_up_a_ringing_call_is_an_error_not_a_timeout(
        emulator: Emulator) -> None:
    hung: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        import json

        call_id = json.loads(await request.read())["data"]["call_id"]
        hung.append(call_id)
        await emulator.hangup(call_id)
        return web.Response(status=200)

    async with serve_webhook(handle) as url:
        result = await emulator.load(2, 100, webhook_url=url, timeout=10)
    assert len(hung) == 2
    assert (result.ended_early, result.errors, result.timeouts) == (2, 2, 0)
    assert result.ok       # every call was answered, if not the way one hopes
    assert [lc.end_reason for lc in result.calls] == ["hangup", "hangup"]


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"n": 0, "rate": 1}, "n:"),
    ({"n": 1.5, "rate": 1}, "n:"),
    ({"n": 1, "rate": 0}, "rate:"),
    ({"n": 1, "rate": float("inf")}, "rate:"),
    ({"n": 1, "rate": 1, "timeout": -1}, "timeout:"),
    ({"n": 1, "rate": 1}, "webhook_url:"),                     # the emulator has none
    ({"n": 1, "rate": 1, "webhook_url": "ftp://x"}, "webhook_url:"),
    ({"n": 1, "rate": 1, "webhook_url": "http://127.0.0.1:9/w", "webhook_secret": ""},
     "webhook_secret:"),
])
async def test_bad_input_names_the_argument_and_places_nothing(
        emulator: Emulator, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}.*Fix: "):
        await emulator.load(**kwargs)
    assert emulator.calls == {}
    assert emulator.webhook_deliveries == []


async def test_start_call_webhook_url_is_for_sip_only(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match=r"^webhook_url: only SIP"):
        await emulator.start_call("webrtc", webhook_url="http://127.0.0.1:9/w")
    with pytest.raises(ValueError, match=r"^webhook_secret: only applies with webhook_url"):
        await emulator.start_call("sip", webhook_secret=SECRET)
    assert emulator.calls == {}


async def test_cli_load_mode_prints_the_table_and_exits_0() -> None:
    app = App()
    async with serve(app) as url:
        env = {**os.environ, "OPENAI_WEBHOOK_SECRET": SECRET}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "rtwidgets", "emulator", "--port", "0", "--speed", "50",
            "--load", "5", "--rate", "50", "--timeout", "20", "--webhook-url", url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
        assert proc.stdout is not None
        try:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            match = URL.search(line)
            assert match, line
            app.base_url.set_result(match.group(1))
            out, err = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    text = out.decode()
    assert proc.returncode == 0, text + err.decode()
    assert app.verified == 5
    assert app.bad_signatures == 0
    assert _table_value(text, "calls placed") == "5"
    assert _table_value(text, "sideband attached") == "5"
    assert _table_value(text, "errors").startswith("0 ")
    assert "not-shown" not in text
    assert SECRET.removeprefix("whsec_") not in text + err.decode()
    assert text.rstrip().endswith("rtwidgets emulator stopped")


@pytest.mark.parametrize(("args", "message"), [
    (["--load", "3"], "--load needs --webhook-url"),
    (["--rate", "3"], "--rate and --timeout belong to the load mode"),
    (["--load", "3", "--webhook-url", "http://127.0.0.1:9/w", "--demo"],
     "--load places its own calls"),
])
def test_cli_load_flags_are_checked(args: list[str], message: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--port", "0", *args]) == 2
    assert message in capsys.readouterr().err


def test_cli_load_count_is_checked_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["emulator", "--load", "0", "--webhook-url", "http://127.0.0.1:9/w"])
    assert exc.value.code == 2
    assert "--load" in capsys.readouterr().err
