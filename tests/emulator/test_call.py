"""Same seed, same call (architecture rule 7) through real sockets: the shell in _call.py maps
wall time to call time, so a seeded call's frames are byte-identical at any speed and under
CPU load, and equal to the virtual run of the same call."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
from typing import Any

import aiohttp
import pytest

from rtwidgets.emulator import Emulator, list_scenarios, run_scenario
from rtwidgets.emulator.core.outputs import dumps

from .conftest import AUTH, count_writes, open_sideband, validate_server_event


async def socket_run(scenario: str, speed: float, seed: int = 7,
                     **start: Any) -> list[str]:
    """Every frame a raw sideband receives from the first call of a fresh emulator."""
    async with await Emulator.start(speed=speed, seed=seed, scenario=scenario, **start) as emu:
        call_id = await emu.start_call()
        sb = await open_sideband(emu, call_id)
        await sb.drain(timeout=60.0)
        await sb.close()
        assert emu.call(call_id).status == "ended"
        # the record stamps every event with its call time; timed ones with the wall time
        # they were due, for the capacity benchmark's jitter
        sent = [r for r in emu.record(call_id) if r["direction"] == "sent"]
        assert all("call_ms" in r for r in sent)
        assert any("scheduled_t" in r for r in sent)
        return sb.frames


@pytest.mark.parametrize("scenario", list_scenarios())
async def test_every_scenario_is_byte_identical_at_two_speeds(scenario: str) -> None:
    slow = await socket_run(scenario, 20)
    fast = await socket_run(scenario, 60)
    assert slow == fast
    virtual = [dumps(e) for e in run_scenario(scenario, 7)]
    assert fast == virtual
    # call-time fields are in the comparison, not just types and ids
    assert any('"audio_start_ms":' in f for f in fast)


async def test_a_call_under_cpu_load_is_byte_identical() -> None:
    stop = threading.Event()

    def busy() -> None:
        # Holds the GIL in turns with the loop: the emulator's sends go out late.
        x = 0
        while not stop.is_set():
            x = (x * 31 + 7) % 1_000_003

    thread = threading.Thread(target=busy, daemon=True)
    thread.start()
    try:
        loaded = await socket_run("barge_in", 60)
    finally:
        stop.set()
        thread.join()
    assert loaded == [dumps(e) for e in run_scenario("barge_in", 7)]


async def test_other_seeds_give_other_calls() -> None:
    a = run_scenario("conversation", 1)
    b = run_scenario("conversation", 2)
    assert [e["type"] for e in a] == [e["type"] for e in b]
    assert [e["event_id"] for e in a] != [e["event_id"] for e in b]


async def test_seeded_session_times_come_from_a_fixed_epoch() -> None:
    async with await Emulator.start(speed=50, seed=3, session_created_on_attach=True) as emu:
        call_id = await emu.start_call()
        sb = await open_sideband(emu, call_id)
        created = await sb.until("session.created")
        validate_server_event(created)
        await sb.close()
    virtual = run_scenario("conversation", 3, session_created_on_attach=True)
    assert virtual[0] == created


# -- the record and the socket writes (the shell's capacity work, issue 12 item 5) ----------

_ITEM = {"type": "conversation.item.create",
         "item": {"type": "message", "role": "user",
                  "content": [{"type": "input_text", "text": "hello"}]}}


async def _model_session(emu: Emulator) -> tuple[Any, Any]:
    sb = await open_sideband(emu, model="gpt-realtime")
    await sb.until("session.created")
    call = next(c for c in emu.calls.values() if c.transport == "websocket")
    return sb, call


async def test_events_due_together_go_out_in_one_write(
        emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    sb, call = await _model_session(emu)
    writes = count_writes(call.sockets["ws1"].request.transport, monkeypatch)
    await sb.send(_ITEM)
    added = await sb.until("conversation.item.added")
    done = await sb.until("conversation.item.done")
    monkeypatch.undo()
    assert added["item"]["id"] == done["item"]["id"]
    # one step answered with two events: one write holding both frames, read as two
    assert len(writes) == 1
    sent = [r for r in emu.record(call.call_id) if r["direction"] == "sent"][-2:]
    assert [r["event"]["type"] for r in sent] == ["conversation.item.added",
                                                   "conversation.item.done"]
    assert all(r["sockets"] == ["ws1"] for r in sent)
    assert sb.frames[-2:] == [dumps(r["event"]) for r in sent]
    await sb.close()


async def test_a_compressed_socket_gets_every_frame_through_aiohttp(emu: Emulator) -> None:
    # permessage-deflate (the SDK's websockets client asks for it): frames go out one by one
    # through aiohttp, which compresses them.
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(f"{emu.websocket_base_url}/realtime?model=gpt-realtime",
                               headers=AUTH, compress=15)
    assert ws.compress
    types = [json.loads((await ws.receive(timeout=5)).data)["type"]]
    await ws.send_str(json.dumps(_ITEM))
    types += [json.loads((await ws.receive(timeout=5)).data)["type"] for _ in range(2)]
    assert types == ["session.created", "conversation.item.added", "conversation.item.done"]
    await ws.close()
    await http.close()


async def test_the_record_is_compact_and_read_in_its_documented_shape(emu: Emulator) -> None:
    sb, call = await _model_session(emu)
    await sb.send(_ITEM)
    await sb.until("conversation.item.done")
    await sb.send("{not json")
    await sb.until("error")
    gc.collect()
    # Plain tuples of atoms: untracked by the cyclic GC, so full collections skip them.
    assert call.records
    assert not [rec for rec in call.records if rec[0] != "meta" and gc.is_tracked(rec)]
    record = emu.record(call.call_id)
    assert [r["seq"] for r in record] == list(range(len(record)))
    sent = [r for r in record if r["direction"] == "sent"]
    assert [dumps(r["event"]) for r in sent] == sb.frames   # the wire text, parsed back
    assert all(set(r) >= {"t", "call_ms", "event", "sockets", "sent_t"} for r in sent)
    received = [r for r in record if r["direction"] == "received"]
    assert received[0]["event"] == _ITEM
    assert received[0]["socket"] == "ws1"
    assert received[1]["event"] is None
    assert received[1]["raw"] == "{not json"
    # every read is fresh: changing what one returned changes no later read
    sent[0]["event"]["type"] = "changed"
    sent[0]["sockets"].append("ws9")
    again = [r for r in emu.record(call.call_id) if r["direction"] == "sent"]
    assert again[0]["event"]["type"] == "session.created"
    assert again[0]["sockets"] == ["ws1"]
    await sb.close()


async def test_a_closed_socket_lets_go_of_its_aiohttp_objects(emu: Emulator) -> None:
    call_id = await emu.start_call()
    sb = await open_sideband(emu, call_id)
    await sb.next()
    sock = emu.call(call_id).sockets["ws1"]
    await sb.close()
    for _ in range(100):
        if sock.finished.is_set():
            break
        await asyncio.sleep(0.02)
    assert sock.finished.is_set()
    assert sock.ws is None
    assert sock.request is None
    assert emu.sockets(call_id)[0]["close_reason"] == "client closed"
