"""Same seed, same call (architecture rule 7) through real sockets: the shell in _call.py maps
wall time to call time, so a seeded call's frames are byte-identical at any speed and under
CPU load, and equal to the virtual run of the same call."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from rtwidgets.emulator import Emulator, list_scenarios, run_scenario
from rtwidgets.emulator.core.outputs import dumps

from .conftest import open_sideband, validate_server_event


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
