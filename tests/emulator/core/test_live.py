"""The GPT-Live session core (core/live.py) in virtual time: every event it emits validates
against its class in ``openai.types.live``, a seed repeats a session byte for byte, a late
shell gets the same events, and the flows of live-protocol.md §7 come out in their order."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rtwidgets.emulator import VirtualCall, list_scenarios, load_scenario, run_scenario
from rtwidgets.emulator.core.live import LiveSession, initial_live_session
from rtwidgets.emulator.core.outputs import dumps
from rtwidgets.emulator.core.realtime import SEEDED_EPOCH, CoreOptions, call_streams
from rtwidgets.protocol.ids import is_live_session_id

from ..conftest import drive, validate_live_event

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"], "additionalProperties": False}}
RESPONSES = {"model": "gpt-live-1", "delegation": {
    "type": "responses", "responses": {"model": "gpt-5.5", "tools": [WEATHER]}}}
CLIENT = {"model": "gpt-live-1", "delegation": {"type": "client"}}
OUTPUT = json.dumps({"temperature": 21, "conditions": "sunny"})


def answer(event: dict[str, Any]) -> list[dict[str, Any]]:
    """A sideband client that answers both kinds of delegation as live-protocol.md §7.3/7.4."""
    if event["type"] == "session.delegation.created" and \
            event["delegation"]["target"] == "client":
        did = event["delegation"]["id"]
        return [{"type": "session.thinking.append", "event_id": "t1",
                 "content": "Looking it up.", "delegation_id": did},
                {"type": "session.commentary.append", "event_id": "k1", "content": OUTPUT,
                 "delegation_id": did}]
    inner = event.get("event") or {}
    if event["type"] == "response.event" and inner.get("type") == "response.output_item.done" \
            and inner["item"]["type"] == "function_call":
        return [{"type": "response.item.create", "event_id": "r1", "item": {
            "type": "function_call_output", "call_id": inner["item"]["call_id"],
            "output": OUTPUT}}]
    if event["type"] == "response.event" and inner.get("type") == "response.completed" and \
            inner["response"]["previous_response_id"] is None:
        return [{"type": "response.create", "event_id": "c1"}]
    return []


@pytest.mark.parametrize("config", [None, CLIENT, RESPONSES], ids=["null", "client",
                                                                    "responses"])
@pytest.mark.parametrize("scenario", list_scenarios())
def test_every_scenario_validates_and_repeats(scenario: str, config: Any) -> None:
    events = run_scenario(scenario, 11, api="live", session=config, client_script=answer,
                          reaction_ms=120)
    assert events, scenario
    for event in events:
        validate_live_event(event)
    again = run_scenario(scenario, 11, api="live", session=config, client_script=answer,
                         reaction_ms=120)
    assert [dumps(e) for e in events] == [dumps(e) for e in again]
    assert events[-1]["type"] == "session.closed"
    kinds = {e["type"] for e in events}
    assert "session.input_transcript.delta" in kinds
    assert "session.output_transcript.delta" in kinds
    # Live has no turn, item or done events
    assert not any(k.startswith(("conversation.", "input_audio_buffer.")) or
                   k.endswith(".done") for k in kinds)
    usage = [e["usage"]["seconds"] for e in events if "usage" in e]
    assert usage == sorted(usage)          # cumulative, never per interval


def test_a_caller_turn_is_transcript_fragments_on_200_ms_windows() -> None:
    events = run_scenario("conversation", 3, api="live")
    said = [e for e in events if e["type"] == "session.input_transcript.delta"]
    assert said
    assert all(e["delta"].startswith(" ") for e in said)
    assert all(e["end_ms"] - e["start_ms"] == 200 and e["start_ms"] % 200 == 0 for e in said)
    assert [e["start_ms"] for e in said] == sorted(e["start_ms"] for e in said)
    heard = "".join(e["delta"] for e in said)
    assert "book a table for tonight" in heard
    spoken = "".join(e["delta"] for e in events if e["type"] == "session.output_transcript.delta")
    assert spoken.startswith(" Good evening, Chez Emulator")


def test_responses_delegation_runs_the_tool_round_trip_under_one_delegation_id() -> None:
    events = run_scenario("tools", 5, api="live", session=RESPONSES, client_script=answer,
                          reaction_ms=150)
    created = [e for e in events if e["type"] == "session.delegation.created"]
    assert len(created) == 1
    delegation = created[0]["delegation"]
    assert delegation["target"] == "responses"
    assert delegation["id"].startswith("item_")
    wrapped = [e for e in events if e["type"] == "response.event"]
    assert {e["delegation_id"] for e in wrapped} == {delegation["id"]}
    inner = [e["event"]["type"] for e in wrapped]
    first = inner[:inner.index("response.completed") + 1]
    assert first[:3] == ["response.created", "response.in_progress",
                         "response.output_item.added"]
    assert first[-3:] == ["response.function_call_arguments.done",
                          "response.output_item.done", "response.completed"]
    responses = [e["event"]["response"] for e in wrapped
                 if e["event"]["type"] == "response.completed"]
    assert len(responses) == 2
    assert responses[0]["id"] == delegation["response_id"]
    assert responses[1]["previous_response_id"] == responses[0]["id"]
    assert responses[0]["usage"]["total_tokens"] > 0
    assert all(r["output"] == [] for r in responses)   # lifecycle snapshots are cleared
    done = [e["event"]["item"] for e in wrapped if e["event"]["type"] ==
            "response.output_item.done" and e["event"]["item"]["type"] == "function_call"]
    assert done[0]["call_id"].startswith("call_")
    assert json.loads(done[0]["arguments"]) == {"city": "Paris"}
    assert all(e["event"]["sequence_number"] == i for i, e in enumerate(wrapped[:len(first)]))
    spoken = "".join(e["delta"] for e in events if e["type"] == "session.output_transcript.delta")
    assert "Let me check that for you." in spoken
    assert "Right now in Paris it is 21 degrees and sunny." in spoken


def test_client_delegation_is_answered_through_the_appends() -> None:
    events = run_scenario("tools", 5, api="live", session=CLIENT, client_script=answer)
    created = [e for e in events if e["type"] == "session.delegation.created"]
    assert created[0]["delegation"] == {"id": created[0]["delegation"]["id"],
                                        "type": "delegation", "target": "client"}
    assert not any(e["type"] == "response.event" for e in events)
    acks = [e for e in events if e["type"].endswith(".appended")]
    assert [(a["type"], a["client_event_id"]) for a in acks] == [
        ("session.thinking.appended", "t1"), ("session.commentary.appended", "k1")]
    assert all(a["start_ms"] == a["end_ms"] for a in acks)
    spoken = "".join(e["delta"] for e in events if e["type"] == "session.output_transcript.delta")
    assert "21 degrees and sunny" in spoken


def test_without_an_answer_the_caller_gives_up_and_the_session_still_closes() -> None:
    events = run_scenario("tools", 5, api="live", session=CLIENT, caller_patience_s=5)
    assert events[-1]["type"] == "session.closed"
    assert events[-1]["reason"] == "remote_hangup"


def make(scenario: str = "conversation", seed: int = 3) -> LiveSession:
    ids, rng = call_streams(seed, "live_u1_test")
    sc = load_scenario(scenario)
    return LiveSession(call_id="live_u1_test", transport="webrtc", scenario=sc,
                       session=initial_live_session(sc, "live_u1_test", SEEDED_EPOCH),
                       options=CoreOptions(), ids=ids, rng=rng, created_at=SEEDED_EPOCH)


def test_a_late_shell_gets_the_same_events() -> None:
    assert drive(make(), None, announce=True) == drive(make(), 900.0, announce=True)


def test_the_first_live_call_of_a_seed_is_the_virtual_one() -> None:
    call = VirtualCall("conversation", 4, api="live")
    assert is_live_session_id(call.call_id)
    assert call.call_id == VirtualCall("conversation", 4, api="live").call_id


def steer(**session: Any) -> VirtualCall:
    return VirtualCall("conversation", 2, api="live", session=session or None)


@pytest.mark.parametrize("type_", ["response.cancel", "conversation.item.create",
                                   "conversation.item.truncate", "input_audio_buffer.commit",
                                   "output_audio_buffer.clear", "no.such.event"])
def test_events_live_lacks_are_errors_naming_the_event(type_: str) -> None:
    call = steer()
    call.send({"type": type_, "event_id": "x1"})
    error = call.until("error")
    validate_live_event(error)
    assert error["client_event_id"] == "x1"
    assert error["error"]["client_event_id"] == "x1"
    assert error["error"]["code"] == "invalid_value"
    assert error["error"]["param"] == "type"


@pytest.mark.parametrize(("event", "code", "param"), [
    ({"type": "session.start", "session": {}}, "event_not_allowed", "type"),
    ({"type": "session.input_audio.append", "audio": ""}, "event_not_allowed", "type"),
    ({"type": "session.instructions.append", "content": "Hi"}, "missing_required_parameter",
     "delegation_id"),
    ({"type": "session.close", "extra": 1}, "unknown_parameter", "extra"),
    ({"type": "session.update", "session": {"instructions": "x"}}, "unknown_parameter",
     "session.instructions"),
    ({"type": "session.update", "session": {"delegation": {"type": "responses",
                                                           "responses": {"model": "m"}}}},
     "invalid_value", "session.delegation.type"),
    ({"type": "session.commentary.append", "content": "x", "delegation_id": "item_nope"},
     "invalid_value", "delegation_id"),
    ({"type": "response.create"}, "invalid_value", "type"),
    ({"type": "decision.create", "event_id": "d"}, "unsupported_event", "type"),
    ({"type": "transport.dtmf.send", "event": "5"}, "invalid_value", "type"),
])
def test_bad_client_events_are_refused_with_code_and_param(event: dict[str, Any], code: str,
                                                          param: str) -> None:
    call = steer()
    call.send(event)
    error = call.until("error")
    validate_live_event(error)
    assert (error["error"]["code"], error["error"]["param"]) == (code, param)


def test_a_frame_that_is_not_json_is_invalid_json() -> None:
    call = steer()
    call.send("{not json")
    assert call.until("error")["error"]["code"] == "invalid_json"


def test_mute_unmute_and_appends_are_acknowledged() -> None:
    call = steer()
    call.send({"type": "session.input_audio.mute", "event_id": "m1"})
    assert call.until("session.input_audio.muted")["client_event_id"] == "m1"
    call.send({"type": "session.input_audio.unmute", "event_id": "m2"})
    assert call.until("session.input_audio.unmuted")["client_event_id"] == "m2"
    call.send({"type": "session.instructions.append", "event_id": "g1",
               "content": "Be brief.", "delegation_id": None})
    ack = call.until("session.instructions.appended")
    validate_live_event(ack)
    assert ack["client_event_id"] == "g1"


def test_a_muted_caller_is_not_heard() -> None:
    events = run_scenario("conversation", 3, api="live",
                          client_script=[(0.0, {"type": "session.input_audio.mute"})])
    assert not any(e["type"] == "session.input_transcript.delta" for e in events)
    spoken = "".join(e["delta"] for e in events if e["type"] == "session.output_transcript.delta")
    assert "For how many people" not in spoken       # nothing heard, nothing answered


def test_session_update_keeps_the_type_and_merges_settings() -> None:
    call = steer(**RESPONSES)
    call.send({"type": "session.update", "event_id": "u1", "session": {
        "delegation": {"type": "responses", "responses": {"reasoning": {"effort": "low"}}},
        "triggers": []}})
    updated = call.until("session.updated")
    validate_live_event(updated)
    responses = updated["session"]["delegation"]["responses"]
    assert responses["model"] == "gpt-5.5"
    assert responses["reasoning"] == {"effort": "low"}
    assert updated["session"]["triggers"] == []


def test_session_close_ends_with_session_closed_and_cumulative_usage() -> None:
    call = steer()
    call.until("session.output_transcript.delta")
    call.send({"type": "session.close", "event_id": "x1"})
    closed = call.until("session.closed")
    validate_live_event(closed)
    assert closed["reason"] == "close_requested"
    assert closed["client_event_id"] == "x1"
    assert closed["session"]["status"] == "active"
    assert closed["usage"]["seconds"] >= 15            # WebRTC bills 15 s up front
    assert call.status == "ended"
    assert call.next() is None


def test_usage_is_reported_every_15_s_with_the_context_window() -> None:
    events = run_scenario("conversation", 3, api="live")
    updates = [e for e in events if e["type"] == "session.usage.updated"]
    assert [u["usage"]["seconds"] for u in updates] == [15 * (i + 1)
                                                        for i in range(len(updates))]
    assert all(0 < u["context_window"]["usage_ratio"] < 1 for u in updates)


# -- main's scenarios on Live (the CallerHost methods added by the scenarios work) -----------


def _spoken(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "session.output_transcript.delta")


@pytest.mark.parametrize("config", [RESPONSES, CLIENT], ids=["responses", "client"])
def test_parallel_tool_calls_are_one_delegation_answered_once_every_output_is_in(
        config: Any) -> None:
    events = run_scenario("parallel_tools", 5, api="live", session=config,
                          client_script=answer, reaction_ms=150)
    for event in events:
        validate_live_event(event)
    assert [e["type"] for e in events].count("session.delegation.created") == 1
    calls = [e["event"]["item"] for e in events if e["type"] == "response.event"
             and e["event"]["type"] == "response.output_item.done"
             and e["event"]["item"]["type"] == "function_call"]
    if config is RESPONSES:
        # one backend response carries both calls, with two Live-shaped call ids
        assert [json.loads(c["arguments"]) for c in calls] == [{"city": "Paris"},
                                                                {"city": "London"}]
        assert len({c["call_id"] for c in calls}) == 2
    else:
        assert calls == []          # a client delegation names no calls: one answer for all
    assert "In Paris it is 21 degrees, and in London it is 21 degrees." in _spoken(events)
    assert events[-1]["reason"] == "remote_hangup"       # the caller's goodbye, not patience


def test_dtmf_keys_reach_a_sip_session_and_the_app_asks_for_the_reply() -> None:
    def app(event: dict[str, Any]) -> list[dict[str, Any]]:
        if event["type"] == "transport.dtmf.received" and event["event"] == "#":
            return [{"type": "session.instructions.append", "event_id": "i1",
                     "content": "The caller pressed 2 then #: support.",
                     "delegation_id": None}]
        return []

    events = run_scenario("dtmf", 3, api="live", transport="sip", client_script=app,
                          reaction_ms=100)
    for event in events:
        validate_live_event(event)
    keys = [e for e in events if e["type"] == "transport.dtmf.received"]
    assert [k["event"] for k in keys] == ["2", "#"]
    assert all(set(k) == {"type", "event_id", "event"} for k in keys)   # no client_event_id
    assert "You're through to support. What can I do for you?" in _spoken(events)
    again = run_scenario("dtmf", 3, api="live", transport="sip", client_script=app,
                         reaction_ms=100)
    assert [dumps(e) for e in events] == [dumps(e) for e in again]


def test_without_the_app_the_keys_reply_is_dropped_and_webrtc_has_no_keypad() -> None:
    sip = VirtualCall("dtmf", 3, api="live", transport="sip")
    while sip.next() is not None:
        pass
    assert "You're through to support" not in _spoken(sip.events)
    assert [n["type"] for n in sip.notes if n["type"] == "emulator.reply_not_requested"] == [
        "emulator.reply_not_requested"]
    webrtc = VirtualCall("dtmf", 3, api="live", transport="webrtc")
    while webrtc.next() is not None:
        pass
    assert not any(e["type"] == "transport.dtmf.received" for e in webrtc.events)
    assert [n["key"] for n in webrtc.notes if n["type"] == "emulator.dtmf_not_sent"] == [
        "2", "#"]


def test_a_silent_caller_gets_no_prompt_on_live() -> None:
    call = VirtualCall("silent_caller", 3, api="live")
    while call.next() is not None:
        pass
    assert "Are you still there" not in _spoken(call.events)
    assert [n["silent_ms"] for n in call.notes if n["type"] == "emulator.silence_unanswered"
            ] == [9000]
    assert "Your appointment is cancelled" in _spoken(call.events)   # the next turn goes on


def test_a_live_sip_transfer_ends_referred_with_session_closed() -> None:
    call = VirtualCall("sip_transfer", 3, api="live", transport="sip")
    while "transferring" not in _spoken(call.events):
        assert call.next() is not None
    with pytest.raises(ValueError, match="target_uri"):
        call.refer("+14155550123")                 # not a tel:/sip: URI: nothing changes
    assert call.status == "active"
    call.refer("tel:+14155550123")
    assert (call.status, call.end_reason) == ("ended", "referred")
    assert call.events[-1]["type"] == "session.closed"
    assert call.events[-1]["reason"] == "close_requested"
    assert [n["target_uri"] for n in call.notes if n["type"] == "emulator.call_transferred"
            ] == ["tel:+14155550123"]
    with pytest.raises(ValueError, match="not connected"):
        call.refer("tel:+14155550123")
    unreferred = VirtualCall("sip_transfer", 3, api="live", transport="sip")
    while unreferred.next() is not None:
        pass
    assert unreferred.end_reason == "caller_hangup"
    assert [n["waited_ms"] for n in unreferred.notes
            if n["type"] == "emulator.transfer_expected"] == [10_000]
