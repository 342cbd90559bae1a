"""The ``rtwidgets`` command: ``rtwidgets emulator`` (the local Realtime server), its demo,
its load mode (``--load N``: N SIP calls against your webhook app, a table of how it answered;
``rtwidgets.emulator._load``), and ``rtwidgets doctor`` (checks a key, a webhook secret and a
call's sideband; ``_doctor``).

Why: the emulator must be usable without writing Python: start it from a shell, point an SDK
or a notebook at the printed URLs, stop it with Ctrl-C or SIGTERM (exit code 0). ``--demo``
(or ``rtwidgets demo``) starts a scripted call, attaches a sideband and prints every event as
it streams, the quickest way to see the protocol. This module must never print or log a
secret: the webhook secret and ``--api-key`` values are only passed on; the demo's API key is
a fixed fake unless ``--api-key`` names the accepted ones.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["build_parser", "main"]

_DEMO_KEY = "sk-emulator-demo"


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; use e.g. 1 or 20") from None
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError("must be > 0 and <= 1000; 1 is real time")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; use e.g. 10") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("must be > 0 and <= 3600 (seconds); e.g. 10")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; use e.g. 20") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError("must be from 1 to 100000 calls; e.g. 20")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; use e.g. 10") from None
    if not 0 < value <= 100_000:
        raise argparse.ArgumentTypeError("must be > 0 and <= 100000 calls per second; e.g. 10")
    return value


def _secret(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("must not be empty; use e.g. whsec_<base64>")
    return text


def _add_emulator_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free)")
    p.add_argument("--speed", type=_speed, default=1.0,
                   help="time scale of scripted calls (default 1 = real time)")
    p.add_argument("--scenario", default="conversation",
                   help="shipped scenario name or path to a scenario .json (default conversation)")
    p.add_argument("--webhook-url", default=None,
                   help="where SIP calls POST realtime.call.incoming")
    p.add_argument("--webhook-secret", type=_secret, default=None,
                   help="Standard Webhooks secret (whsec_…) to sign webhooks with; default "
                   "$OPENAI_WEBHOOK_SECRET (prefer it: a flag shows in the process list)")
    p.add_argument("--api-key", action="append", default=None, metavar="KEY",
                   help="a key the emulator accepts (repeat for several); default: any "
                   "non-empty key. Others are refused as the real service does (error "
                   "invalid_api_key, close 3000). Use test keys: a flag shows in the "
                   "process list")
    p.add_argument("--seed", type=int, default=None,
                   help="seed ids and timing jitter for reproducible runs")
    p.add_argument("--start-call", choices=("webrtc", "sip"), default=None,
                   help="start one scripted call at startup and print its id")
    p.add_argument("--no-hold", action="store_true",
                   help="let scripted callers start before a sideband attaches")
    p.add_argument("--demo", action="store_true",
                   help="start a scripted call, print its events as they stream, then exit")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtwidgets",
        description="rtwidgets: Jupyter tools for the OpenAI Realtime API's sideband.")
    sub = parser.add_subparsers(dest="command", required=True)
    emu = sub.add_parser("emulator", help="run the local Realtime emulator")
    _add_emulator_args(emu)
    load = emu.add_argument_group(
        "load mode", "place N SIP calls against your webhook app (--webhook-url), wait for "
        "its accept and sideband, print a table and exit (1 if a call got no answer)")
    load.add_argument("--load", type=_count, default=None, metavar="N",
                      help="number of SIP calls to place")
    load.add_argument("--rate", type=_rate, default=None, metavar="R",
                      help="calls placed per second (default 10)")
    load.add_argument("--timeout", type=_seconds, default=None, metavar="S",
                      help="seconds each call waits for an accept and a sideband, or a "
                      "reject (default 10)")
    demo = sub.add_parser("demo", help="the emulator with a scripted call printed live "
                          "(same as: rtwidgets emulator --demo --port 0)")
    _add_emulator_args(demo)
    demo.set_defaults(demo=True, port=0)
    doctor = sub.add_parser(
        "doctor", help="check OPENAI_API_KEY, OPENAI_WEBHOOK_SECRET and a call's sideband",
        description="Checks that OPENAI_API_KEY authenticates (one read-only GET /models), that "
        "OPENAI_WEBHOOK_SECRET (if set) is whsec_ + base64, and, given --call-id, attaches to "
        "that call's sideband for --seconds, counts the event types and detaches without "
        "hanging up. Honours OPENAI_BASE_URL and OPENAI_WEBSOCKET_BASE_URL. Never prints a "
        "secret. Without a key it says what it would check and exits 0. Exit 1: a check failed.")
    # The call id is checked by the doctor, not by argparse: argparse would echo a bad value,
    # and people paste keys into the wrong place.
    doctor.add_argument("--call-id", default=None, metavar="ID",
                        help="a live call's id (rtc_…) to attach to, read-only")
    doctor.add_argument("--seconds", type=_seconds, default=10.0, metavar="N",
                        help="how long to listen on the sideband (default 10)")
    return parser


def _short(event: dict[str, Any]) -> str:
    """One line per event: its type and the text it carries, if any."""
    t = str(event.get("type", "?"))
    for key in ("delta", "transcript", "text", "arguments"):
        value = event.get(key)
        if isinstance(value, str) and not t.startswith("response.output_audio.delta"):
            return f"{t:<55} {json.dumps(value)[:70]}"
    if t == "response.done":
        return f"{t:<55} status={event['response'].get('status')}"
    if t == "error":
        return f"{t:<55} {event['error'].get('code')}: {event['error'].get('message')}"
    return t


async def _demo(emu: Any, transport: str, stop: asyncio.Event, key: str) -> None:
    import aiohttp

    auth = {"Authorization": f"Bearer {key}"}
    call_id = await emu.start_call(transport=transport)
    print(f"demo {transport} call: {call_id} (scenario {emu.scenario.name!r}); events follow",
          flush=True)
    async with aiohttp.ClientSession() as http:
        if transport == "sip":
            # Play the server side of a SIP integration: accept the ringing call.
            async with http.post(f"{emu.base_url}/realtime/calls/{call_id}/accept",
                                 json={"type": "realtime"}, headers=auth) as resp:
                print(f"accepted: HTTP {resp.status}", flush=True)
        await _print_events(http, f"{emu.websocket_base_url}/realtime?call_id={call_id}",
                            auth, stop)
    print(f"call ended: {emu.call(call_id).end_reason or 'demo stopped'}", flush=True)


async def _print_events(http: Any, url: str, auth: dict[str, str], stop: asyncio.Event) -> None:
    import aiohttp

    async with http.ws_connect(url, headers=auth) as ws:
        reader = asyncio.ensure_future(ws.receive())
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while True:
                done, _ = await asyncio.wait({reader, stopper},
                                             return_when=asyncio.FIRST_COMPLETED)
                if stopper in done:
                    break
                msg = reader.result()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                print(_short(json.loads(msg.data)), flush=True)
                reader = asyncio.ensure_future(ws.receive())
        finally:
            reader.cancel()
            stopper.cancel()


async def _load(emu: Any, n: int, rate: float, timeout: float, stop: asyncio.Event) -> int:
    """The load mode: place the calls, print the table; Ctrl-C/SIGTERM stops it (exit 1)."""
    print(f"load: placing {n} SIP calls at {rate:g}/s; point your app's OPENAI_BASE_URL at "
          f"{emu.base_url}", flush=True)
    run = asyncio.ensure_future(emu.load(n, rate, timeout=timeout))
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({run, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not run.done():
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run
        print("load: stopped before every call was answered", flush=True)
        return 1
    result = run.result()
    print(result.table(), flush=True)
    return int(result.exit_code)


async def _run(args: argparse.Namespace) -> int:
    from rtwidgets.emulator import Emulator, FaultError, ScenarioError
    from rtwidgets.emulator._server import tune_gc_for_serving

    load = getattr(args, "load", None)
    if load is None and (getattr(args, "rate", None) is not None
                         or getattr(args, "timeout", None) is not None):
        print("rtwidgets emulator: --rate and --timeout belong to the load mode. "
              "Fix: add --load N (and --webhook-url URL)", file=sys.stderr)
        return 2
    if load is not None and (args.demo or args.start_call):
        print("rtwidgets emulator: --load places its own calls. Fix: leave out --demo and "
              "--start-call", file=sys.stderr)
        return 2
    if load is not None and not args.webhook_url:
        print("rtwidgets emulator: --load needs --webhook-url, the webhook of the app under "
              "test. Fix: e.g. --webhook-url http://127.0.0.1:8000/webhook", file=sys.stderr)
        return 2
    try:
        emu = await Emulator.start(
            host=args.host, port=args.port, speed=args.speed, scenario=args.scenario,
            webhook_url=args.webhook_url,
            webhook_secret=args.webhook_secret or os.environ.get("OPENAI_WEBHOOK_SECRET") or None,
            seed=args.seed,
            hold_until_attached=not args.no_hold, valid_keys=args.api_key)
    except (ScenarioError, FaultError, ValueError) as err:
        print(f"rtwidgets emulator: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"rtwidgets emulator: cannot listen on {args.host}:{args.port} ({err.strerror}). "
              "Fix: pick another --port, or --port 0 for any free port", file=sys.stderr)
        return 2
    # The emulator has the process to itself: keep the GC's full collections short.
    frozen = tune_gc_for_serving()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        print(f"rtwidgets emulator listening: base_url={emu.base_url} "
              f"websocket_base_url={emu.websocket_base_url}", flush=True)
        print(f"control API: {emu.control_url}/calls  scenario={emu.scenario.name} "
              f"speed={args.speed:g}", flush=True)
        if load is not None:
            return await _load(emu, load, args.rate or 10.0, args.timeout or 10.0, stop)
        if args.demo:
            # The demo's own client uses the first accepted key (or a fixed fake one).
            key = args.api_key[0] if args.api_key else _DEMO_KEY
            await _demo(emu, args.start_call or "webrtc", stop, key)
        else:
            if args.start_call:
                call_id = await emu.start_call(transport=args.start_call)
                print(f"started {args.start_call} call: {call_id}", flush=True)
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await emu.close()
        if frozen:
            gc.unfreeze()
        print("rtwidgets emulator stopped", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rtwidgets`` console script."""
    args = build_parser().parse_args(argv)
    if args.command in ("emulator", "demo"):
        return asyncio.run(_run(args))
    if args.command == "doctor":
        from rtwidgets._doctor import DoctorOptions, run_doctor

        return asyncio.run(run_doctor(DoctorOptions(call_id=args.call_id,
                                                    seconds=args.seconds)))
    return 2  # pragma: no cover - argparse requires a command
