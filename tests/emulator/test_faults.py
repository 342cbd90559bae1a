"""Fault injection (issue #7): drops with and without a close frame while the call goes on,
a reconnecting sideband getting later events, malformed and unknown frames, huge frames,
out-of-order events and the caller hanging up; the record says which socket got what."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from rtwidgets.emulator import Emulator, Fault, FaultError, parse_faults

from .conftest import AUTH, open_sideband


async def reconnecting_reader(emu: Emulator, call_id: str) -> dict[str, list[str]]:
    """Attach, and re-attach after every drop until the call is over (404 at the handshake).

    Returns the frames received on each connection, keyed by connection number.
    """
    url = f"{emu.websocket_base_url}/realtime?call_id={call_id}"
    received: dict[str, list[str]] = {}
    async with aiohttp.ClientSession() as http:
        n = 0
        while True:
            try:
                ws = await http.ws_connect(url, headers=AUTH, max_msg_size=0)
            except aiohttp.WSServerHandshakeError as err:
                status = err.status
                break

            n += 1
            frames = received.setdefault(f"ws{n}", [])
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    frames.append(msg.data)
            await ws.close()
            await asyncio.sleep(0.001)   # a (very short) backoff
    assert status == 404              # the call is over: refused at the handshake
    return received


def sent_to(record: list[dict[str, Any]], socket_id: str) -> list[str]:
    return [json.dumps(r["event"], separators=(",", ":")) if r["event"] is not None else r["raw"]
            for r in record if r["direction"] == "sent" and socket_id in r["sockets"]]


@pytest.mark.parametrize("close_frame", [True, False])
async def test_many_drops_lose_nothing_the_emulator_sent_while_attached(
        close_frame: bool) -> None:
    faults = [{"kind": "drop", "at_ms": 300, "every_ms": 250, "count": 100,
               "close_frame": close_frame}]
    async with await Emulator.start(speed=20, seed=3, faults=faults) as emu:
        call_id = await emu.start_call(scenario="conversation")
        received = await asyncio.wait_for(reconnecting_reader(emu, call_id), 30)
        record = emu.record(call_id)
        drops = [r for r in record if r["direction"] == "meta"
                 and r["event"]["type"] == "emulator.fault"]
        assert len(drops) >= 90           # the call outlives almost all scheduled drops
        assert len(received) >= 25        # and the reader re-attached after many of them
        for socket_id, frames in received.items():
            # Every event sent to this socket arrived, in order, and nothing else did.
            assert frames == sent_to(record, socket_id), socket_id
        all_ids = [json.loads(f)["event_id"] for fs in received.values() for f in fs]
        assert len(all_ids) == len(set(all_ids))     # no event twice across reconnects
        closed = [s for s in emu.sockets(call_id) if s["close_reason"] == "fault: drop"]
        assert len(closed) >= 25
        # the call went on to its scripted end
        assert emu.call(call_id).end_reason == "caller_hangup"
        said = [json.loads(f) for fs in received.values() for f in fs]
        assert "response.done" in {e["type"] for e in said}


async def test_drop_with_close_frame_then_reattach_gets_later_events(emu: Emulator) -> None:
    call_id = await emu.start_call()
    sb = await open_sideband(emu, call_id)
    await sb.until("response.created")
    await emu.inject(call_id, {"kind": "drop", "code": 1012})
    await sb.drain(5)
    assert sb.closed_code == 1012
    await sb.close()
    assert emu.call(call_id).status == "active"
    sb2 = await open_sideband(emu, call_id)
    later = await sb2.drain(20)
    await sb2.close()
    assert later
    assert not {e["event_id"] for e in later} & {e["event_id"] for e in sb.events}
    record = emu.record(call_id)
    assert sent_to(record, "ws2") == sb2.frames


async def test_drop_without_close_frame_cuts_the_stream(emu: Emulator) -> None:
    call_id = await emu.start_call()
    sb = await open_sideband(emu, call_id)
    await sb.until("response.created")
    await emu.inject(call_id, {"kind": "drop", "close_frame": False})
    await sb.drain(5)
    assert sb.closed_code == 1006
    await sb.close()


async def test_bad_frames_and_the_session_goes_on(emu: Emulator) -> None:
    call_id = await emu.start_call()
    sb = await open_sideband(emu, call_id)
    await sb.until("response.created")
    for kind in ("malformed_json", "unknown_type", "unknown_field"):
        await emu.inject(call_id, {"kind": kind})
    await emu.inject(call_id, {"kind": "huge_frame", "size": 2_000_000})
    await emu.inject(call_id, {"kind": "out_of_order"})
    await sb.until("response.done", timeout=20)
    bad = [f for f in sb.frames if f.startswith('{"type":"response.output_text.delta"')
           and not f.endswith("}")]
    assert len(bad) == 1
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad[0])
    assert any(e["type"] == "emulator.unknown_event_type" for e in sb.events)
    assert sum("x_emulator_unknown_field" in e for e in sb.events) == 1
    huge = [f for f in sb.frames if len(f) >= 2_000_000]
    assert len(huge) == 1
    assert json.loads(huge[0])["type"] == "rate_limits.updated"
    record = emu.record(call_id)
    faults = [str(r["fault"]) for r in record if r["direction"] == "sent" and r.get("fault")]
    # unknown_field and out_of_order apply to the next scripted events, so they come later
    assert faults[:3] == ["malformed_json", "unknown_type", "huge_frame"]
    assert sorted(faults[3:]) == ["out_of_order", "unknown_field"]
    # out of order: the held event went out after the one minted after it
    i = next(i for i, r in enumerate(record) if r.get("fault") == "out_of_order")
    swapped = record[i]["event"]
    before = record[i - 1]["event"]
    assert sb.events.index(before) + 1 == sb.events.index(swapped)
    # and the call goes on: what was received is exactly what was sent, so far
    assert sent_to(record, "ws1")[:len(sb.frames)] == sb.frames
    await sb.close()


async def test_caller_hangup_fault_ends_the_call(emu: Emulator) -> None:
    call_id = await emu.start_call()
    sb = await open_sideband(emu, call_id)
    await sb.until("response.created")
    await emu.inject(call_id, {"kind": "caller_hangup", "close_frame": False})
    await sb.drain(5)
    assert sb.closed_code == 1006
    assert emu.call(call_id).end_reason == "caller_hangup"
    await sb.close()
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await http.ws_connect(f"{emu.websocket_base_url}/realtime?call_id={call_id}",
                                  headers=AUTH)
        assert err.value.status == 404


async def test_fault_control_endpoint(emu: Emulator) -> None:
    call_id = await emu.start_call()
    sb = await open_sideband(emu, call_id)
    await sb.until("response.created")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emu.control_url}/calls/{call_id}/faults",
                             json={"kind": "drop"}) as r:
            assert r.status == 200
            assert (await r.json())["applied"][0]["kind"] == "drop"
        async with http.post(f"{emu.control_url}/calls/{call_id}/faults",
                             json=[{"kind": "drop", "every_ms": 0}]) as r:
            assert r.status == 400
            assert (await r.json())["error"]["param"] == "faults[0].every_ms"
    await sb.drain(5)
    assert sb.closed_code == 1011
    await sb.close()


def test_fault_specs_are_validated() -> None:
    assert parse_faults([Fault("drop")]) == [Fault("drop")]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": "boom"}, "faults[0].kind"),
        ({"kind": "drop", "at_ms": -1}, "faults[0].at_ms"),
        ({"kind": "drop", "count": 0}, "faults[0].count"),
        ({"kind": "drop", "close_frame": "no"}, "faults[0].close_frame"),
        ({"kind": "drop", "code": 999}, "faults[0].code"),
        ({"kind": "drop", "code": 5000}, "faults[0].code"),
        ({"kind": "huge_frame", "size": 10}, "faults[0].size"),
        ({"kind": "drop", "when": 1}, "faults[0].when"),
    ]
    for spec, field in cases:
        with pytest.raises(FaultError) as err:
            parse_faults([spec])
        assert err.value.field == field
        assert "Fix:" in str(err.value)
    with pytest.raises(FaultError, match="list"):
        parse_faults({"kind": "drop"})  # type: ignore[dict-item]


@pytest.mark.parametrize(("spec", "field", "fix"), [
    ({"kind": "boom"}, "faults[0].kind", "docs/emulator.md"),                # enum
    ({"at_ms": 5}, "faults[0].kind", "drop, malformed_json"),                # missing
    ({"kind": "drop", "count": "2"}, "faults[0].count", "use an integer"),   # type
    ({"kind": "drop", "code": 999}, "faults[0].code", "from 1000 to 4999"),  # range
    ({"kind": "drop", "close_frame": 1}, "faults[0].close_frame", "true or false"),  # bool
    ({"kind": "drop", "atms": 1}, "faults[0].atms", "did you mean 'at_ms'"),  # unknown key
    ("drop", "faults[0]", '{"kind": "drop"'),                                # not an object
])
def test_fault_spec_errors_name_the_field_and_the_fix(spec: Any, field: str, fix: str) -> None:
    with pytest.raises(FaultError) as err:
        parse_faults([spec])
    assert err.value.field == field
    assert fix in str(err.value)
    assert str(err.value).startswith(f"{field}: ")
