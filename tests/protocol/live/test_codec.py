"""The GPT-Live codec: real Live frames decode to the expected normalized events (values read
off the frames), hostile frames never raise, every intent encodes to an event the SDK's
``openai.types.live`` client event classes accept, and intents Live lacks are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openai.types.live.connect_client_event import ConnectClientEvent
from pydantic import TypeAdapter

from rtwidgets.protocol import codec as ce
from rtwidgets.protocol.codec import Codec, UnsupportedIntent
from rtwidgets.protocol.codecs import codec_for
from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.live.codec import LIVE, SEGMENT_GAP_MS, LiveCodec
from rtwidgets.protocol.realtime.codec import REALTIME
from rtwidgets.protocol.state import SessionState, turn_timings

FRAMES = Path(__file__).resolve().parents[2] / "reality" / "frames"
SDK = TypeAdapter(ConnectClientEvent)


def _trace(name: str) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = json.loads((FRAMES / f"live_spike_{name}.json").read_text())[
        "frames"]
    return frames


def _events(frames: list[dict[str, Any]]) -> list[tuple[str | None, list[ce.CallEvent]]]:
    codec = LIVE.fresh()
    return [(d.wire_type, list(d.events)) for d in (codec.decode(f) for f in frames)]


def test_live_is_a_codec_and_codec_for_picks_it_by_api() -> None:
    assert isinstance(LIVE, Codec)
    assert codec_for("live") is LIVE
    assert codec_for("realtime") is REALTIME
    assert codec_for(None) is REALTIME
    with pytest.raises(ValidationError) as err:
        codec_for("gpt-live")
    assert err.value.field == "api"
    assert "'live'" in err.value.fix


def test_a_reducer_gets_its_own_copy_of_the_stateful_codec() -> None:
    a, b = SessionState(LIVE), SessionState(LIVE)
    assert isinstance(a.codec, LiveCodec)
    assert a.codec is not LIVE
    assert a.codec is not b.codec


def test_spoken_trace_decodes_frame_by_frame() -> None:
    frames = _trace("spoken")
    decoded = _events(frames)
    # session.started -> SessionReported with the session as sent
    wire, evs = decoded[0]
    assert wire == "session.started"
    assert isinstance(evs[0], ce.SessionReported)
    assert evs[0].session["id"] == "live_u0_EUrPjp3oMERblJsADSyL1hZGfCQubB3V"
    assert evs[0].session["model"] == "gpt-live-1"
    # the first caller fragment opens segment seg_in_1600: a turn, an item, the delta
    wire, evs = decoded[1]
    assert wire == "session.input_transcript.delta"
    assert [type(e) for e in evs] == [ce.SpeechStarted, ce.ItemReported, ce.TranscriptDelta,
                                      ce.SpeechStopped]
    delta = evs[2]
    assert isinstance(delta, ce.TranscriptDelta)
    assert (delta.speaker, delta.segment, delta.delta, delta.response_id, delta.start_ms,
            delta.end_ms) == ("caller", "seg_in_1600", " What", None, 1600, 1800)
    # the next caller fragment (1800 ms) continues it: only the delta and the moving stop
    assert [type(e) for e in decoded[2][1]] == [ce.TranscriptDelta, ce.SpeechStopped]
    # the delegation: its backend response, started under its response_id
    i = next(i for i, f in enumerate(frames) if f["type"] == "session.delegation.created")
    (started,) = decoded[i][1]
    assert isinstance(started, ce.ResponseStarted)
    assert started.id == "resp_0a31e1b65549a787006ac0db05444487d1aa17bf90f615de91"
    assert (started.kind, started.target) == ("delegation", "responses")
    # the agent's first fragment closes the caller segment (final text) and opens a voice one
    wire, evs = decoded[i + 1]
    assert wire == "session.output_transcript.delta"
    done = evs[0]
    assert isinstance(done, ce.TranscriptDone)
    assert (done.speaker, done.segment, done.text) == (
        "caller", "seg_in_1600", "What does the article say about the lighthouse")
    assert isinstance(evs[1], ce.ResponseStarted)
    assert evs[1].id == "voice_4400"
    assert evs[1].kind == "response"
    # the tool call, read from the wrapped output_item.done
    calls = [e for _, evs in decoded for e in evs if isinstance(e, ce.ToolCallRequested)]
    assert len(calls) == 1
    assert calls[0].call_id == "call_n8kYXHgMwoBeMnzDhakmY8fQ"
    assert calls[0].name == "lookup_passage"
    assert calls[0].arguments == '{"topic":"lighthouse"}'
    assert calls[0].response_id == started.id
    # backend text is never transcript
    assert not any(isinstance(e, ce.TranscriptDelta) and "198" in e.delta and e.start_ms is None
                   for _, evs in decoded for e in evs)
    # usage: cumulative seconds and the context window
    usage = [e for _, evs in decoded for e in evs if isinstance(e, ce.UsageReported)]
    assert [u.usage.seconds for u in usage] == [15.0, 28.0, 32.0]
    assert all(u.usage.cumulative for u in usage)
    assert usage[0].context_ratio == pytest.approx(0.0091171875)
    # session.closed: final segment done, final usage, the reason
    wire, evs = decoded[-1]
    assert wire == "session.closed"
    ended = evs[-1]
    assert isinstance(ended, ce.CallEnded)
    assert ended.reason == "close_requested"
    assert ended.usage is not None
    assert ended.usage.seconds == 32.0
    last = [e for e in evs if isinstance(e, ce.TranscriptDone)]
    assert last[0].text == "It says the lighthouse was painted teal in 1987."


def test_spoken_trace_folds_into_transcript_turns_tools_and_usage() -> None:
    state = SessionState(LIVE)
    for i, frame in enumerate(_trace("spoken")):
        state.feed(frame, direction="in", t=float(i))
    assert state.malformed == 0
    assert not state.unknown_types
    assert [(r.role, r.text) for r in state.transcript()] == [
        ("user", "What does the article say about the lighthouse"),
        ("assistant", "I'm checking the article. One moment."),
        ("assistant", "It says the lighthouse was painted teal in 1987."),
    ]
    (turn,) = state.turns
    row = turn_timings(state, turn)
    # anchor: the caller's last fragment (frame 8); first text: the agent's first (frame 10)
    assert row.response_id == "voice_4400"
    assert row.latency_first_text == 2.0
    assert state.tool_calls["call_n8kYXHgMwoBeMnzDhakmY8fQ"].status == "unanswered"
    assert state.usage_seconds == 32.0
    assert state.ended
    assert state.end_reason == "close_requested"
    assert state.responses["resp_0a31e1b65549a787006ac0db05444487d1aa17bf90f615de91"].kind == (
        "delegation")


def test_allow_traces_typed_input_has_no_caller_segment() -> None:
    state = SessionState(LIVE)
    for i, frame in enumerate(_trace("allow")):
        state.feed(frame, direction="in", t=float(i))
    assert state.turns == []
    (seg,) = state.transcript()
    assert seg.text == ("Alright, checking for that now. The article says it was painted "
                        "teal in 1987.")  # 3600 -> 4200 ms is below SEGMENT_GAP_MS
    assert state.usage_seconds == 15.0
    assert state.context_ratio == pytest.approx(0.0100703125)
    allowmin = SessionState(LIVE)
    for i, frame in enumerate(_trace("allowmin")):
        allowmin.feed(frame, direction="in", t=float(i))
    (tc,) = allowmin.tool_calls.values()
    assert tc.call_id == "call_bXbTUQsolutkcXLsc5jTYoya"
    assert tc.status == "pending"


def test_segments_split_at_a_long_gap_and_replays_are_dropped() -> None:
    codec = LIVE.fresh()

    def frag(start: int, text: str, eid: str) -> dict[str, Any]:
        return {"type": "session.output_transcript.delta", "start_ms": start,
                "end_ms": start + 200, "delta": text, "event_id": eid}

    codec.decode(frag(0, "a", "e1"))
    assert codec.decode(frag(0, "a", "e1")).events == ()
    evs = codec.decode(frag(200 + SEGMENT_GAP_MS, "b", "e2")).events
    assert isinstance(evs[0], ce.TranscriptDone)
    assert evs[0].segment == "seg_out_0"
    assert isinstance(evs[1], ce.ResponseDone)
    assert evs[1].id == "voice_0"


def test_backend_rounds_errors_and_our_answers() -> None:
    codec = LIVE.fresh()
    wrap = {"type": "response.event", "event_id": "event_1", "delegation_id": "item_A"}
    (s,) = codec.decode({**wrap, "event": {"type": "response.created",
                                           "response": {"id": "resp_2"}}}).events
    assert isinstance(s, ce.ResponseStarted)
    assert s.id == "resp_2"
    (d,) = codec.decode({**wrap, "event": {"type": "response.completed", "response": {
        "id": "resp_2", "status": "completed", "output": [], "usage": {
            "input_tokens": 907, "output_tokens": 17, "total_tokens": 924,
            "input_tokens_details": {"cached_tokens": 0}}}}}).events
    assert isinstance(d, ce.ResponseDone)
    assert d.kind == "delegation"
    assert d.usage is not None
    assert (d.usage.input_tokens, d.usage.output_tokens, d.usage.total_tokens) == (907, 17, 924)
    (err,) = codec.decode({"type": "error", "event_id": "event_2", "error": {
        "type": "invalid_request_error", "code": "event_not_allowed", "message": "no",
        "client_event_id": "c1"}}).events
    assert isinstance(err, ce.ErrorReported)
    assert (err.code, err.client_event_id) == ("event_not_allowed", "c1")
    (ans,) = codec.decode({"type": "response.item.create", "event_id": "r1", "item": {
        "type": "function_call_output", "call_id": "call_X", "output": "teal"}}, "out").events
    assert ans == ce.ToolCallAnswered("call_X", "teal", "code")
    (upd,) = codec.decode({"type": "session.updated", "event_id": "e", "client_event_id": "u1",
                           "session": {"id": "live_x"}}).events
    assert isinstance(upd, ce.SessionApplied)
    assert upd.client_event_id == "u1"
    (fail,) = codec.decode({"type": "transport.failed", "event_id": "e", "session_id": "live_x",
                            "error": {"type": "call_error", "code": "busy",
                                      "message": "486"}}).events
    assert isinstance(fail, ce.ErrorReported)
    assert fail.code == "busy"


def test_client_delegation_is_done_when_we_answer_it_with_commentary() -> None:
    codec = LIVE.fresh()
    (s,) = codec.decode({"type": "session.delegation.created", "event_id": "e", "offset_ms": 10,
                         "delegation": {"id": "D1", "target": "client",
                                        "type": "delegation"}}).events
    assert isinstance(s, ce.ResponseStarted)
    assert (s.id, s.target) == ("D1", "client")
    (d,) = codec.decode({"type": "session.commentary.append", "content": "Shipped.",
                         "delegation_id": "D1", "event_id": "k1"}, "out").events
    assert isinstance(d, ce.ResponseDone)
    assert d.id == "D1"


def test_known_types_without_meaning_and_unknown_types() -> None:
    codec = LIVE.fresh()
    for frame in ({"type": "transport.dtmf.received", "event": "5", "event_id": "e"},
                  {"type": "session.input_audio.muted", "event_id": "e"},
                  {"type": "info", "code": "x", "message": "y", "event_id": "e"}):
        d = codec.decode(frame)
        assert d.wire_type == frame["type"]
        assert d.events == ()
        assert not d.flagged
    d = codec.decode({"type": "response.done"})
    assert d.events == (ce.Unknown("response.done", "not a GPT-Live server event type"),)


HOSTILE: list[Any] = [
    None, 1, "x", [], {}, {"type": 3},
    {"type": "session.input_transcript.delta", "delta": 1, "start_ms": 0, "end_ms": 1},
    {"type": "session.output_transcript.delta", "delta": "x", "start_ms": "0", "end_ms": 1},
    {"type": "session.started", "session": []},
    {"type": "session.delegation.created", "delegation": {"id": 5}},
    {"type": "response.event", "event": "x"},
    {"type": "response.event", "event": {"type": "response.created", "response": {"id": 1}}},
    {"type": "response.event", "delegation_id": [], "event": {"type": "response.created"}},
    {"type": "response.event", "event": {"type": "response.output_item.done",
                                         "item": {"type": "function_call", "call_id": None}}},
    {"type": "session.usage.updated", "usage": {"seconds": "15"}},
    {"type": "session.closed", "reason": 5, "usage": None, "session": 1},
    {"type": "error", "error": "boom"},
    {"type": "transport.failed", "error": None},
]


@pytest.mark.parametrize("frame", HOSTILE)
def test_hostile_frames_never_raise_and_are_flagged(frame: Any) -> None:
    for direction in ("in", "out", "meta"):
        d = LIVE.fresh().decode(frame, direction)  # type: ignore[arg-type]
        assert isinstance(d, ce.Decoded)
    d = LIVE.fresh().decode(frame)
    if frame not in ({"type": "session.closed", "reason": 5, "usage": None, "session": 1},):
        assert d.flagged or any(isinstance(e, ce.Unknown) for e in d.events)
    state = SessionState(LIVE)
    state.feed(frame, direction="in", t=0.0)
    assert LIVE.summary(frame)


INTENTS: list[ce.Intent] = [
    ce.UpdateSession({"delegation": {"type": "responses",
                                     "responses": {"reasoning": {"effort": "low"}}}}),
    ce.UpdateSession({"triggers": []}),
    ce.AnswerToolCall("call_n8kYXHgMwoBeMnzDhakmY8fQ", {"passage": "teal, 1987"}),
    ce.AnswerToolCall("call_n8kYXHgMwoBeMnzDhakmY8fQ", "teal"),
    ce.CreateResponse(),
    ce.SendText("What about the lighthouse?"),
    ce.SendText("Be brief.", role="system"),
]


@pytest.mark.parametrize("intent", INTENTS)
def test_every_intent_encodes_to_an_event_the_sdk_accepts(intent: ce.Intent) -> None:
    event = LIVE.encode(intent)
    SDK.validate_python(event)
    LIVE.validate(event)
    assert event["type"] in LIVE.client_event_types


def test_encoded_values() -> None:
    ev = LIVE.encode(ce.AnswerToolCall("call_X", {"a": 1}))
    assert ev["type"] == "response.item.create"
    assert ev["item"] == {"type": "function_call_output", "call_id": "call_X",
                          "output": '{"a": 1}'}
    assert LIVE.encode(ce.SendText("hi", role="system"))["type"] == (
        "session.instructions.append")


REFUSED: list[tuple[ce.Intent, str]] = [
    (ce.CancelResponse(), "cancel_response"),
    (ce.TruncateItem("item_1", 100), "truncate"),
    (ce.ClearOutputAudio(), "clear_output_audio"),
    (ce.CommitInputAudio(), "commit_input_audio"),
    (ce.ClearInputAudio(), "clear_input_audio"),
    (ce.CreateItem({"type": "message"}), "create_item"),
    (ce.DeleteItem("item_1"), "delete_item"),
    (ce.RetrieveItem("item_1"), "retrieve_item"),
    (ce.HangUp(), "hang_up"),
    (ce.CreateResponse({"instructions": "x"}), "create_response"),
]


@pytest.mark.parametrize(("intent", "action"), REFUSED)
def test_intents_live_lacks_are_refused_with_why_and_fix(intent: ce.Intent, action: str) -> None:
    with pytest.raises(UnsupportedIntent) as err:
        LIVE.encode(intent)
    assert err.value.field == action
    assert "live API has no way" in err.value.problem
    assert err.value.fix


def test_bad_intent_arguments_name_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        LIVE.encode(ce.UpdateSession({"instructions": "new"}))
    assert err.value.field == "session.instructions"
    with pytest.raises(ValidationError) as err:
        LIVE.encode(ce.AnswerToolCall("call X!", "x"))
    assert err.value.field == "item.call_id"


def test_ids_categories_and_produces() -> None:
    assert LIVE.check_id("call", "live_u0_EUrPjp3oMERblJsADSyL1hZGfCQubB3V", "id")
    with pytest.raises(ValidationError):
        LIVE.check_id("call", "rtc_1", "id")
    assert LIVE.category("session.delegation.created") == "delegation"
    assert LIVE.is_delta("session.output_transcript.delta")
    assert ce.UsageReported in LIVE.produces("session.usage.updated")
    assert LIVE.produces("nope") == frozenset()
    assert "session.output_transcript.delta" in LIVE.meaningful_types
    assert "session.output_audio.delta" not in LIVE.bulk.meaningful_types


def test_a_final_segment_is_trimmed_and_its_item_reported_done() -> None:
    # Issue 13: the wire's first fragment of an utterance starts with a space (" What");
    # the delta keeps it (raw, as sent), the segment's final text does not.
    frames = _trace("spoken")
    decoded = _events(frames)
    first = decoded[1][1][2]
    assert isinstance(first, ce.TranscriptDelta)
    assert first.delta == " What"
    i = next(i for i, f in enumerate(frames) if f["type"] == "session.output_transcript.delta")
    evs = decoded[i][1]
    # the caller segment is final: its item is reported done, completed, after the new
    # segment's opening (so the events before it keep their order)
    done = [e for e in evs if isinstance(e, ce.ItemReported) and e.stage == "done"]
    assert len(done) == 1
    assert done[0].item == {"id": "seg_in_1600", "type": "message", "role": "user",
                            "status": "completed"}
    assert not done[0].in_response
    assert evs[-1] is done[0]
    # the agent segment is the voice response's output item
    (opened,) = [e for e in evs if isinstance(e, ce.ItemReported) and e.stage == "added"]
    assert opened.item["id"] == "seg_out_4400"
    assert opened.item["status"] == "in_progress"
    assert (opened.response_id, opened.in_response) == ("voice_4400", True)
    # at session.closed the last agent segment is final and done, inside its voice response
    closed = decoded[-1][1]
    (last,) = [e for e in closed if isinstance(e, ce.ItemReported)]
    assert (last.item["id"], last.item["status"], last.stage) == (
        "seg_out_17600", "completed", "done")
    assert (last.response_id, last.in_response) == ("voice_17600", True)
    # a segment ending on a lone space window is trimmed at both ends
    codec = LIVE.fresh()
    codec.decode({"type": "session.output_transcript.delta", "start_ms": 0, "end_ms": 200,
                  "delta": " Hi.", "event_id": "a"})
    codec.decode({"type": "session.output_transcript.delta", "start_ms": 200, "end_ms": 400,
                  "delta": " ", "event_id": "b"})
    text = [e for e in codec.decode({"type": "session.closed", "reason": "close_requested"}
                                    ).events if isinstance(e, ce.TranscriptDone)]
    assert [e.text for e in text] == ["Hi."]


def test_a_backend_function_call_is_an_item_of_its_backend_response() -> None:
    frames = _trace("spoken")
    decoded = _events(frames)
    resp = "resp_0a31e1b65549a787006ac0db05444487d1aa17bf90f615de91"
    fc = "fc_0a31e1b65549a787006ac0db07fb9487d1be4400c841793774"
    reported = [(i, e) for i, (_, evs) in enumerate(decoded) for e in evs
                if isinstance(e, ce.ItemReported) and e.item.get("type") == "function_call"]
    # added at the wrapped output_item.added (frame 16), done at its output_item.done (24)
    assert [(i, e.stage, e.item["id"], e.response_id, e.in_response) for i, e in reported] == [
        (16, "added", fc, resp, True), (24, "done", fc, resp, True)]
    # backend text (the message item) is never reported
    assert not any(isinstance(e, ce.ItemReported) and e.item.get("type") == "message"
                   and str(e.item.get("id", "")).startswith("msg_")
                   for _, evs in decoded for e in evs)
    # an allow-list that withholds output_item.added: the done reports the item added too
    allow = _events(_trace("allow"))
    stages = [e.stage for _, evs in allow for e in evs
              if isinstance(e, ce.ItemReported) and e.item.get("type") == "function_call"]
    assert stages == ["added", "done"]


def test_live_items_fold_with_status_times_and_their_voice_response() -> None:
    state = SessionState(LIVE)
    for i, frame in enumerate(_trace("spoken")):
        state.feed(frame, direction="in", t=float(i))
    caller, agent1, tool, agent2 = (state.items[k] for k in (
        "seg_in_1600", "seg_out_4400", "fc_0a31e1b65549a787006ac0db07fb9487d1be4400c841793774",
        "seg_out_17600"))
    assert [r.status for r in (caller, agent1, tool, agent2)] == ["completed"] * 4
    # a segment ends at its last fragment (frames 8, 15, 51); it is done when the next one
    # starts or the session closes (frames 10, 44, 53)
    assert (caller.reported_t, caller.fragment_end_t, caller.done_t) == (1.0, 8.0, 10.0)
    assert (agent1.reported_t, agent1.fragment_end_t, agent1.done_t) == (10.0, 15.0, 44.0)
    assert (agent2.reported_t, agent2.fragment_end_t, agent2.done_t) == (44.0, 51.0, 53.0)
    assert (tool.reported_t, tool.done_t, tool.fragment_end_t) == (16.0, 24.0, None)
    assert state.responses["voice_4400"].output_item_ids == ["seg_out_4400"]
    assert state.responses["voice_17600"].output_item_ids == ["seg_out_17600"]
    assert tool.id in state.responses[
        "resp_0a31e1b65549a787006ac0db05444487d1aa17bf90f615de91"].output_item_ids
