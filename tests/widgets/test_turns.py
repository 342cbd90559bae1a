"""Turns: the live per-turn latencies, filled in as a turn unfolds, equal at the end of the
call to ``analyze(call).turns`` row for row — on every shipped scenario, against the emulator.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest

from rtwidgets._call import attach
from rtwidgets.analysis import analyze
from rtwidgets.widgets._console import CallConsole
from rtwidgets.widgets._turns import Turns

from .conftest import ScriptedSource

KEY = "sk-test-not-a-real-key"
WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def _same(live: float | None, table: Any) -> bool:
    if live is None:
        return bool(isinstance(table, float) and math.isnan(table))
    # The capture keeps times to the microsecond and the live state does not round: a
    # difference of two rounded times is within 1 µs of the exact one, so allow 2 µs
    # (seen: 0.010962009 live vs 0.010961 from the capture).
    return bool(live == pytest.approx(float(table), abs=2e-6))


@pytest.mark.parametrize("scenario", ["conversation", "tools", "barge_in"])
async def test_live_turns_equal_the_analysis_turns_at_the_end_of_the_call(
        emulator_factory: Any, tmp_path: Path, scenario: str) -> None:
    emulator = await emulator_factory(speed=25, scenario=scenario)
    call_id = await emulator.start_call("webrtc")
    call = await attach(call_id, client=emulator.client(KEY), capture=tmp_path / "c.jsonl")
    view = Turns(call, interval=0.05)
    partial: list[bool] = []

    def after_each_frame(_frame: Any) -> None:
        # The state is fed before subscribers run: a row exists before its response.
        rows = view.rows()
        if rows and rows[-1].latency_response is None:
            partial.append(True)

    unsubscribe = call.subscribe(after_each_frame)
    try:
        if scenario == "tools":
            @call.tool("get_weather")
            async def get_weather(city: str) -> dict[str, Any]:
                return {"temperature": 18}

            await call.update_session(tools=[WEATHER])
        await emulator.wait_ended(call_id, timeout=60)
        await asyncio.sleep(0.1)
        view.refresh()
        live = view.rows()
        table = analyze(call).turns
        assert len(live) == len(table) >= 2
        for row, (_, expected) in zip(live, table.iterrows(), strict=True):
            assert row.turn == expected["turn"]
            assert row.kind == expected["kind"]
            assert row.item_id == expected["item_id"]
            assert row.response_id == expected["response_id"]
            assert row.n_responses == expected["n_responses"]
            assert row.interrupted == bool(expected["interrupted"])
            assert _same(row.latency_response, expected["latency_response_s"])
            assert _same(row.latency_first_text, expected["latency_first_text_s"])
            assert _same(row.latency_audio, expected["latency_audio_s"])
        if scenario == "barge_in":
            assert any(r.interrupted for r in live)
        assert "to first text" in view.value
        assert partial  # a turn's row was there before its response began
    finally:
        unsubscribe()
        view.close()
        await call.close()


def test_rows_fill_in_as_the_turn_unfolds(source: ScriptedSource) -> None:
    view = Turns(source)
    assert view.rows() == []
    assert "no caller turn" in view.value
    source.feed({"type": "input_audio_buffer.speech_started", "item_id": "item_1",
                 "audio_start_ms": 0}, dm=1.0)
    source.feed({"type": "input_audio_buffer.speech_stopped", "item_id": "item_1",
                 "audio_end_ms": 900}, dm=1.0)
    (row,) = view.rows()
    assert (row.latency_response, row.latency_first_text) == (None, None)
    source.feed({"type": "response.created", "response": {"id": "resp_1",
                                                          "status": "in_progress"}}, dm=0.25)
    source.feed({"type": "response.output_audio_transcript.delta", "item_id": "item_2",
                 "response_id": "resp_1", "content_index": 0, "delta": "Hi"}, dm=0.25)
    (row,) = view.rows()
    assert row.latency_response == pytest.approx(0.25)
    assert row.latency_first_text == pytest.approx(0.5)
    assert row.latency_audio is None
    assert not row.interrupted
    source.feed({"type": "response.done", "response": {"id": "resp_1",
                                                       "status": "cancelled"}}, dm=0.5)
    view.refresh()
    (row,) = view.rows()
    assert row.interrupted
    assert row.status == "cancelled"
    assert "250 ms" in view.value
    assert "yes" in view.value
    view.close()


def test_the_console_has_a_turns_tab(source: ScriptedSource) -> None:
    console = CallConsole(source)
    try:
        assert console.turns in console.forms.children
        assert "Turns" in console.forms.titles
        assert console.turns.source is source
    finally:
        console.close()
