"""Live builders: exact wire events, validated by the SDK's own types, and clear refusals."""

from __future__ import annotations

import json
import pickle
import typing
from collections.abc import Callable
from typing import Any

import pytest
from openai.types.live.connect_client_event import ConnectClientEvent
from openai.types.live.connect_client_event_param import ConnectClientEventParam
from pydantic import TypeAdapter

from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.live import builders as b
from rtwidgets.protocol.live.catalog import CLIENT_EVENT_TYPES, NOT_ON_SIDEBAND, REALTIME_ONLY

REAL_CALL_ID = "call_n8kYXHgMwoBeMnzDhakmY8fQ"  # live_spike_spoken.json (spideryarn/reading2)
REAL_DELEGATION_ID = "item_EUrPpQobYmB54id9y3MY5"  # same trace

PARAMS: dict[str, Any] = {
    typing.get_args(typing.get_args(
        typing.get_type_hints(m, include_extras=True)["type"])[0])[0]: m
    for m in typing.get_args(ConnectClientEventParam)
}
MODEL = TypeAdapter(ConnectClientEvent)


def sdk_valid(event: dict[str, Any]) -> None:
    """The event validates as the SDK's param TypedDict of its type and as its model."""
    TypeAdapter(PARAMS[event["type"]]).validate_python(event)
    parsed = MODEL.validate_python(event)
    assert parsed.type == event["type"]
    json.dumps(event, allow_nan=False)


BUILT: list[tuple[Callable[[], dict[str, Any]], dict[str, Any]]] = [
    (lambda: b.instructions_append("Greet the caller.", event_id="e1"),
     {"type": "session.instructions.append", "event_id": "e1",
      "content": "Greet the caller.", "delegation_id": None}),
    (lambda: b.thinking_append("Looking up…", "D1", event_id="e2"),
     {"type": "session.thinking.append", "event_id": "e2", "content": "Looking up…",
      "delegation_id": "D1"}),
    (lambda: b.commentary_append("Order 123 shipped.", REAL_DELEGATION_ID, event_id="e3"),
     {"type": "session.commentary.append", "event_id": "e3", "content": "Order 123 shipped.",
      "delegation_id": REAL_DELEGATION_ID}),
    (lambda: b.input_audio_mute(event_id="m1"),
     {"type": "session.input_audio.mute", "event_id": "m1"}),
    (lambda: b.input_audio_unmute(event_id="m2"),
     {"type": "session.input_audio.unmute", "event_id": "m2"}),
    (lambda: b.session_close(event_id="x1"), {"type": "session.close", "event_id": "x1"}),
    (lambda: b.response_create(event_id="c1"), {"type": "response.create", "event_id": "c1"}),
    (lambda: b.function_call_output(REAL_CALL_ID, {"text": "teal, 1987"}, event_id="r1"),
     {"type": "response.item.create", "event_id": "r1",
      "item": {"type": "function_call_output", "call_id": REAL_CALL_ID,
               "output": '{"text": "teal, 1987"}'}}),
    (lambda: b.response_item_create({"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "What about the lighthouse?"}]}, event_id="r2"),
     {"type": "response.item.create", "event_id": "r2",
      "item": {"type": "message", "role": "user", "content": [
          {"type": "input_text", "text": "What about the lighthouse?"}]}}),
    (lambda: b.dtmf_send("#", event_id="d1"),
     {"type": "transport.dtmf.send", "event_id": "d1", "event": "#"}),
    (lambda: b.session_update(delegation={"type": "responses", "acknowledgement_delay_ms": 0,
                                          "responses": {"reasoning": {"effort": "medium"}}},
                              triggers=[], event_id="u1"),
     {"type": "session.update", "event_id": "u1", "session": {
         "delegation": {"type": "responses", "acknowledgement_delay_ms": 0,
                        "responses": {"reasoning": {"effort": "medium"}}},
         "triggers": []}}),
    (lambda: b.session_update({"triggers": [{"type": "decisions",
                                             "event_type": "session.input_transcript.delta",
                                             "decisions": {"questions": [
                                                 {"type": "predicate",
                                                  "instructions": "Is the caller angry?"}]}}]},
                              current_delegation="client", event_id="u2"),
     {"type": "session.update", "event_id": "u2", "session": {"triggers": [
         {"type": "decisions", "event_type": "session.input_transcript.delta",
          "decisions": {"questions": [{"type": "predicate",
                                       "instructions": "Is the caller angry?"}]}}]}}),
]


@pytest.mark.parametrize(("build", "expected"), BUILT)
def test_builders_give_the_exact_event_and_the_sdk_accepts_it(
        build: Callable[[], dict[str, Any]], expected: dict[str, Any]) -> None:
    event = build()
    assert event == expected
    assert list(event)[:2] == ["type", "event_id"]
    sdk_valid(event)
    b.validate_client_event(event)


def test_every_client_type_is_covered_by_validate() -> None:
    samples = {
        "session.output_audio.fixture.play": {"audio": "AAAA"},
        "decision.create": {"event_id": "dc1"},
        "decision.item.create": {"item": {"type": "message", "role": "user",
                                          "content": [{"type": "input_text", "text": "hi"}]}},
        "decision.item.delete": {"item_id": "item_1"},
    }
    built = {e()["type"] for e, _ in BUILT}
    for etype in CLIENT_EVENT_TYPES:
        if etype in built:
            continue
        event = {"type": etype, **samples[etype]}
        b.validate_client_event(event)
        sdk_valid(event)


def test_event_ids_are_generated_when_not_given() -> None:
    a, c = b.session_close(), b.session_close()
    assert a["event_id"] != c["event_id"]
    assert a["event_id"].startswith("event_")


def _err(fn: Callable[[], Any]) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        fn()
    return info.value


@pytest.mark.parametrize(("fn", "field", "code", "words"), [
    (lambda: b.instructions_append(""), "content", "invalid_value", "empty"),
    (lambda: b.instructions_append(3), "content", "invalid_type", "string"),  # type: ignore[arg-type]
    (lambda: b.thinking_append("x", "has space"), "delegation_id", "invalid_value",
     "client delegation id"),
    (lambda: b.commentary_append("x", 7), "delegation_id", "invalid_type", "string"),  # type: ignore[arg-type]
    (lambda: b.append("memo", "x"), "kind", "invalid_value", "instructions"),
    (lambda: b.dtmf_send("12"), "event", "invalid_value", "one DTMF key"),
    (lambda: b.dtmf_send("e"), "event", "invalid_value", "0-9, A-D"),
    (lambda: b.function_call_output("", "x"), "item.call_id", "invalid_value", "tool call id"),
    (lambda: b.function_call_output(REAL_CALL_ID, 3), "item.output", "invalid_type", "string"),
    (lambda: b.function_call_output(REAL_CALL_ID, {"x": float("nan")}), "item.output",
     "invalid_value", "NaN"),
    (lambda: b.session_update(instructions="Be brief"), "session.instructions",
     "unknown_parameter", "append_instructions"),
    (lambda: b.session_update(model="gpt-live-1"), "session.model", "unknown_parameter",
     "fixed"),
    (lambda: b.session_update(audio={}), "session.audio", "unknown_parameter", "fixed"),
    (lambda: b.session_update(tools=[]), "session.tools", "unknown_parameter", "responses"),
    (lambda: b.session_update(trigers=[]), "session.trigers", "unknown_parameter",
     "did you mean 'triggers'"),
    (lambda: b.session_update(), "session", "invalid_value", "nothing to change"),
    (lambda: b.session_update(delegation=None), "session.delegation", "invalid_value",
     "cannot change"),
    (lambda: b.session_update(delegation={"acknowledgement_delay_ms": 5}),
     "session.delegation.type", "missing_required_parameter", "cannot change"),
    (lambda: b.session_update(delegation={"type": "client"}, current_delegation="responses"),
     "session.delegation.type", "invalid_value", "cannot change"),
    (lambda: b.session_update(delegation={"type": "responses", "responses": {"model": ""}}),
     "session.delegation.responses.model", "invalid_value", "keep the current"),
    (lambda: b.session_update(delegation={"type": "responses", "responses": {
        "reasoning": {"effort": "huge"}}}), "session.delegation.responses.reasoning.effort",
     "invalid_value", "'xhigh'"),
    (lambda: b.session_update(delegation={"type": "responses", "bogus": 1}),
     "session.delegation.bogus", "unknown_parameter", "responses"),
    (lambda: b.session_update(delegation={"type": "responses", "responses": {
        "tools": [{"type": "function"}]}}), "session.delegation.responses.tools[0].name",
     "missing_required_parameter", "name the function"),
    (lambda: b.session_update(delegation={"type": "responses", "responses": {
        "tool_choice": 5}}), "session.delegation.responses.tool_choice", "invalid_type",
     "'auto'"),
    (lambda: b.session_update(triggers=[{"type": "decisions", "event_type":
                                         "session.input_transcript.delta"}]),
     "session.triggers[0].decisions", "missing_required_parameter", "decisions"),
    (lambda: b.session_update(delegation={"type": "client", "acknowledgement_delay_ms": -1}),
     "session.delegation.acknowledgement_delay_ms", "invalid_value", ">= 0"),
    (lambda: b.session_update(triggers=[{"type": "decisions", "event_type": "x",
                                         "decisions": {"questions": []}}]),
     "session.triggers[0].event_type", "invalid_value", "session.input_transcript.delta"),
    (lambda: b.session_update(triggers=[
        {"type": "decisions", "event_type": "session.output_transcript.delta",
         "decisions": {"questions": []}}] * 2),
     "session.triggers[1].event_type", "invalid_value", "at most one"),
    (lambda: b.validate_client_event({"type": "session.instructions.append", "content": "x"}),
     "delegation_id", "missing_required_parameter", "delegation_id"),
    (lambda: b.validate_client_event({"type": "decision.create"}), "event_id",
     "missing_required_parameter", "event_id"),
    (lambda: b.validate_client_event({"type": "session.close", "extra": 1}), "extra",
     "unknown_parameter", "remove it"),
    (lambda: b.validate_client_event({"type": "session.clos"}), "type", "invalid_event",
     "did you mean 'session.close'"),
    (lambda: b.validate_client_event({"type": "session.close", "event_id": "sk-proj-abcdefgh"}),
     "event_id", "invalid_value", "key"),
    (lambda: b.validate_client_event(["x"]), "type", "invalid_event", "JSON object"),
])
def test_bad_input_names_the_field_and_the_fix(fn: Callable[[], Any], field: str, code: str,
                                               words: str) -> None:
    err = _err(fn)
    assert err.field == field
    assert err.code == code
    assert words in str(err)
    assert "Fix: " in str(err)
    assert "sk-proj-abcdefgh" not in str(err)


@pytest.mark.parametrize("etype", [*REALTIME_ONLY, *NOT_ON_SIDEBAND])
def test_actions_live_does_not_have_are_refused_with_why(etype: str) -> None:
    err = _err(lambda: b.validate_client_event({"type": etype}))
    assert isinstance(err, b.UnsupportedLiveAction)
    assert err.field == etype
    assert "GPT-Live has no such action" in str(err)
    assert err.code == "invalid_event"
    assert pickle.loads(pickle.dumps(err)).field == etype


@pytest.mark.parametrize("method", ["cancel_response", "truncate", "clear_output_audio"])
def test_refuse_action_names_the_method_and_the_reason(method: str) -> None:
    err = b.refuse_action(method)
    assert err.field == method
    assert isinstance(err, ValidationError)
    assert "Fix: " in str(err)
    assert "only in the Realtime API" not in str(err)
