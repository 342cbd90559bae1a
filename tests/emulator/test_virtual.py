"""Virtual mode (_virtual.py): a whole scripted call without server, socket or wall clock;
its events validate, repeat with the seed, and answer a scripted client."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rtwidgets.emulator import FaultError, ScenarioError, VirtualCall, list_scenarios, run_scenario

from .conftest import validate_server_event

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"], "additionalProperties": False}}


@pytest.mark.parametrize("scenario", list_scenarios())
def test_every_scenario_runs_validates_and_repeats(scenario: str) -> None:
    events = run_scenario(scenario, 11)
    for event in events:
        validate_server_event(event)
    assert events == run_scenario(scenario, 11)
    kinds = [e["type"] for e in events]
    assert "response.done" in kinds


def answer_tools(event: dict[str, Any]) -> list[dict[str, Any]]:
    """A client that answers every function call, then asks for the follow-up."""
    if event["type"] != "response.done":
        return []
    calls = [o for o in event["response"]["output"] if o["type"] == "function_call"]
    out: list[dict[str, Any]] = []
    for call in calls:
        args = json.loads(call["arguments"])
        out.append({"type": "conversation.item.create", "item": {
            "type": "function_call_output", "call_id": call["call_id"],
            "output": json.dumps({"temperature": 21, "conditions": "sunny", **args})}})
    if calls:
        out.append({"type": "response.create"})
    return out


def test_a_reacting_client_script_answers_the_tool() -> None:
    events = run_scenario("tools", 5, session={"tools": [WEATHER]}, client_script=answer_tools,
                          reaction_ms=150)
    assert events == run_scenario("tools", 5, session={"tools": [WEATHER]},
                                  client_script=answer_tools, reaction_ms=150)
    calls = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert [json.loads(c["arguments"]) for c in calls] == [{"city": "Paris"}]
    said = [e["transcript"] for e in events
            if e["type"] == "response.output_audio_transcript.done"]
    assert any("21" in s and "Paris" in s for s in said), said
    assert events[-1]["type"] != "error"


def test_a_timed_client_script_and_until_ms() -> None:
    script = [(50.0, {"type": "session.update", "event_id": "u1",
                      "session": {"type": "realtime", "instructions": "Be brief."}})]
    events = run_scenario("conversation", 2, client_script=script, until_ms=2_000)
    updated = [e for e in events if e["type"] == "session.updated"]
    assert updated
    assert updated[0]["session"]["instructions"] == "Be brief."
    # stopped at 2 s of call time: the call has not ended
    assert len(events) < len(run_scenario("conversation", 2))


def test_faults_are_reproducible_in_virtual_time() -> None:
    faults = [{"kind": "unknown_field", "at_ms": 500}, {"kind": "malformed_json",
                                                        "at_ms": 700}]
    events = run_scenario("conversation", 4, faults=faults)
    assert events == run_scenario("conversation", 4, faults=faults)
    assert sum("x_emulator_unknown_field" in e for e in events) == 1
    assert sum("raw" in e for e in events) == 1


def test_virtual_call_steps_on_demand() -> None:
    call = VirtualCall("barge_in", 9)
    started = call.until("input_audio_buffer.speech_started")
    assert started["audio_start_ms"] >= 0
    assert call.now > 0
    call.send({"type": "session.update", "event_id": "x1",
               "session": {"type": "realtime", "instructions": "Shorter."}})
    assert call.until("session.updated")["session"]["instructions"] == "Shorter."
    while call.next() is not None:
        pass
    assert call.status == "ended"
    with pytest.raises(LookupError, match="type_"):
        call.until("response.done")
    with pytest.raises(ConnectionError):
        call.send({"type": "response.create"})


def test_a_websocket_session_waits_for_the_client() -> None:
    call = VirtualCall(transport="websocket", seed=1)
    assert call.next() is not None       # session.created
    assert call.next() is None           # nothing happens by itself
    call.send({"type": "response.create", "event_id": "r1"})
    assert call.until("response.done")["response"]["status"] == "completed"


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValueError, match="transport"):
        VirtualCall(transport="pstn")  # type: ignore[arg-type]
    with pytest.raises(ScenarioError):
        run_scenario("no_such_scenario")
    with pytest.raises(FaultError, match="kind"):
        run_scenario(faults=[{"kind": "meteor"}])
    with pytest.raises(ValueError, match="session"):
        run_scenario(session={"output_modalities": "loud"})
