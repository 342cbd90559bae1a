"""SessionState over the GA sequences of realtime-protocol.md §7, and its robustness."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtwidgets.protocol.catalog import CLIENT_EVENT_TYPES, SERVER_EVENT_TYPES
from rtwidgets.protocol.state import SessionState, ToolCallRecord

from ._sequences import USAGE, Script, audio_turn, barge_in, function_call_turn, text_turn


def _fold(frames: list[Any]) -> SessionState:
    return SessionState.from_frames(frames)


def _t_of(frames: list[Any], type_: str, nth: int = 0) -> float:
    times: list[float] = [t for e, _, t in frames if e.get("type") == type_]
    return times[nth]


# -- §7.1 audio turn --------------------------------------------------------------------------


def test_audio_turn() -> None:
    s, ids = audio_turn()
    state = _fold(s.frames)
    assert state.item_order == [ids["x"], ids["y"]]
    assert list(state.items) == state.item_order
    user, bot = (state.items[i] for i in state.item_order)
    assert (user.role, user.text, user.status) == ("user", "What's the weather?", "completed")
    assert (bot.role, bot.text, bot.status) == ("assistant", "It is sunny today.", "completed")
    assert bot.response_id == ids["r"]
    assert bot.previous_item_id == ids["x"]
    assert bot.done_t is not None
    assert bot.done_t > bot.added_t
    assert not bot.interrupted
    assert [r.text for r in state.transcript()] == ["What's the weather?", "It is sunny today."]
    resp = state.responses[ids["r"]]
    assert resp.status == "completed"
    assert resp.output_item_ids == [ids["y"]]
    assert resp.output_modalities == ["audio"]
    assert resp.usage == USAGE
    assert resp.first_delta_t == _t_of(s.frames, "response.output_audio_transcript.delta")
    assert resp.done_t == _t_of(s.frames, "response.done")
    assert resp.created_t == _t_of(s.frames, "response.created")
    assert state.active_response_id is None
    assert state.audio_started
    assert state.session is not None
    assert state.session["model"] == "gpt-realtime-2.1"
    assert state.events_in == len(s.frames)
    assert state.events_out == 0
    assert not state.unknown_types
    assert state.malformed == 0
    assert state.usage_total == {
        "input_tokens": 132, "output_tokens": 188, "total_tokens": 320,
        "input_text_tokens": 59, "input_audio_tokens": 73, "input_image_tokens": 0,
        "input_cached_tokens": 64, "output_text_tokens": 41, "output_audio_tokens": 147,
    }


def test_active_response_while_in_progress() -> None:
    s, ids = audio_turn()
    upto = next(i for i, (e, _, _) in enumerate(s.frames) if e["type"] == "response.done")
    state = _fold(s.frames[:upto])
    assert state.active_response_id == ids["r"]
    assert state.responses[ids["r"]].status == "in_progress"
    # Mid-stream the transcript shows what the deltas gave so far.
    first = next(i for i, (e, _, _) in enumerate(s.frames)
                 if e["type"] == "response.output_audio_transcript.delta")
    partial = _fold(s.frames[: first + 1])
    assert partial.items[ids["y"]].text == "It is "


def test_usage_total_sums_responses() -> None:
    s, _ = audio_turn()
    frames = list(s.frames)
    s2, _ = audio_turn()  # same seed: same ids, but usage adds up regardless
    state = _fold(frames + s2.frames)
    assert state.usage_total["total_tokens"] == 640
    assert state.usage_total["output_audio_tokens"] == 294


@pytest.mark.parametrize(
    ("event", "started"),
    [
        ({"type": "output_audio_buffer.started", "event_id": "e", "response_id": "r"}, True),
        ({"type": "response.output_audio.delta", "event_id": "e", "response_id": "r",
          "item_id": "i", "output_index": 0, "content_index": 0, "delta": "AAAA"}, True),
        ({"type": "response.content_part.added", "event_id": "e", "response_id": "r",
          "item_id": "i", "output_index": 0, "content_index": 0,
          "part": {"type": "audio", "transcript": ""}}, True),
        ({"type": "response.content_part.added", "event_id": "e", "response_id": "r",
          "item_id": "i", "output_index": 0, "content_index": 0,
          "part": {"type": "text", "text": ""}}, False),
        ({"type": "response.output_audio_transcript.delta", "event_id": "e",
          "response_id": "r", "item_id": "i", "output_index": 0, "content_index": 0,
          "delta": "x"}, False),
    ],
)
def test_audio_started_triggers(event: dict[str, Any], started: bool) -> None:
    state = SessionState()
    state.feed(event, direction="in", t=1.0)
    assert state.audio_started is started
    assert state.malformed == 0


def test_webrtc_audio_turn_without_audio_deltas() -> None:
    s, ids = audio_turn(webrtc=True)
    state = _fold(s.frames)
    assert state.audio_started
    assert state.items[ids["y"]].text == "It is sunny today."
    assert state.malformed == 0
    assert not state.unknown_types


# -- §7.2 text turn ---------------------------------------------------------------------------


def test_text_turn() -> None:
    s, ids = text_turn()
    state = _fold(s.frames)
    assert state.item_order == [ids["u"], ids["y"]]
    assert [r.text for r in state.transcript()] == ["Hi there", "Hello! How can I help?"]
    assert state.events_out == 2
    assert state.events_in == len(s.frames) - 2
    resp = state.responses[ids["r"]]
    assert resp.output_modalities == ["text"]
    assert resp.first_delta_t == _t_of(s.frames, "response.output_text.delta")
    assert not state.audio_started
    assert state.usage_total["output_text_tokens"] == 20
    assert state.usage_total["input_audio_tokens"] == 0


def test_done_text_replaces_folded_deltas() -> None:
    state = SessionState()
    base = {"event_id": "e", "response_id": "r", "item_id": "i", "output_index": 0,
            "content_index": 0}
    state.feed({"type": "response.output_text.delta", **base, "delta": "Helo"},
               direction="in", t=1)
    assert state.items["i"].text == "Helo"
    state.feed({"type": "response.output_text.done", **base, "text": "Hello"},
               direction="in", t=2)
    assert state.items["i"].text == "Hello"
    # A later item.done with an empty placeholder does not erase it; a full one replaces.
    state.feed({"type": "conversation.item.done", "event_id": "e", "item": {
        "id": "i", "type": "message", "role": "assistant",
        "content": [{"type": "output_text", "text": ""}]}}, direction="in", t=3)
    assert state.items["i"].text == "Hello"
    state.feed({"type": "conversation.item.done", "event_id": "e", "item": {
        "id": "i", "type": "message", "role": "assistant",
        "content": [{"type": "output_text", "text": "Hello!"}]}}, direction="in", t=4)
    assert state.items["i"].text == "Hello!"
    assert state.items["i"].response_id == "r"


def test_content_part_done_gives_the_final_text_when_the_transcript_done_is_missing() -> None:
    # Late attach / a gap: only the first delta and the part's done arrived.
    state = SessionState()
    base = {"event_id": "e", "response_id": "r", "item_id": "i", "output_index": 0,
            "content_index": 0}
    state.feed({"type": "response.output_audio_transcript.delta", **base, "delta": "Sure"},
               direction="in", t=1)
    assert state.items["i"].text == "Sure"
    state.feed({"type": "response.content_part.done", **base,
                "part": {"type": "audio", "transcript": "Sure, here it is."}},
               direction="in", t=2)
    rec = state.items["i"]
    assert rec.text == "Sure, here it is."
    assert rec.role == "assistant"
    assert rec.response_id == "r"
    # an empty or missing final text never erases it; a malformed part is only counted
    state.feed({"type": "response.content_part.done", **base, "part": {"type": "audio",
                "transcript": ""}}, direction="in", t=3)
    state.feed({"type": "response.content_part.done", **base, "part": {"type": "audio"}},
               direction="in", t=3)
    state.feed({"type": "response.content_part.done", **base, "part": "x"},
               direction="in", t=3)
    assert state.items["i"].text == "Sure, here it is."
    assert state.malformed == 1
    state.feed({"type": "response.content_part.done", **base, "content_index": 1,
                "part": {"type": "text", "text": "And more."}}, direction="in", t=4)
    assert state.items["i"].text == "Sure, here it is.\nAnd more."


def test_several_content_parts_are_joined() -> None:
    state = SessionState()
    state.feed({"type": "conversation.item.added", "event_id": "e", "item": {
        "id": "u", "type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "Look at this"},
            {"type": "input_image", "image_url": "data:,"},
            {"type": "input_audio", "transcript": "and this"}]}}, direction="in", t=1)
    assert state.items["u"].text == "Look at this\nand this"


# -- §7.3 function call turn -------------------------------------------------------------------


def test_function_call_answered_by_our_handler() -> None:
    s, ids = function_call_turn(answer="out")
    state = _fold(s.frames)
    assert state.item_order == [ids["x"], ids["y"], ids["f"], ids["out"]]
    f = state.items[ids["f"]]
    assert (f.type, f.name, f.call_id, f.arguments) == (
        "function_call", "get_weather", ids["call_id"], '{"city": "Paris"}')
    out = state.items[ids["out"]]
    assert (out.type, out.call_id, out.output) == (
        "function_call_output", ids["call_id"], '{"temp": 21}')
    tc = state.tool_calls[ids["call_id"]]
    assert tc == ToolCallRecord(
        call_id=ids["call_id"], name="get_weather", arguments='{"city": "Paris"}',
        item_id=ids["f"], response_id=ids["r"],
        requested_t=_t_of(s.frames, "response.function_call_arguments.done"),
        answered_t=next(t for e, d, t in s.frames if d == "out"),
        output='{"temp": 21}', answered_by="handler", status="answered",
    )
    assert tc.latency == pytest.approx(tc.answered_t - tc.requested_t)  # type: ignore[operator]
    assert tc.latency is not None
    assert tc.latency > 0
    assert state.pending_tool_calls() == []
    assert state.responses[ids["r"]].output_item_ids == [ids["y"], ids["f"]]
    assert [r.text for r in state.transcript()] == ["Weather in Paris?", "Let me check."]
    assert state.responses[ids["r"]].first_delta_t == _t_of(
        s.frames, "response.output_audio_transcript.delta")


def test_function_call_pending_then_arguments_progress() -> None:
    s, ids = function_call_turn(answer="none")
    state = _fold(s.frames)
    (pending,) = state.pending_tool_calls()
    assert pending.call_id == ids["call_id"]
    assert pending.status == "pending"
    assert pending.latency is None
    # Before arguments.done there is no tool call yet, but the arguments are folding.
    cut = next(i for i, (e, _, _) in enumerate(s.frames)
               if e["type"] == "response.function_call_arguments.done")
    early = _fold(s.frames[:cut])
    assert early.tool_calls == {}
    assert early.items[ids["f"]].arguments == '{"city": "Paris"}'


def test_function_call_answered_by_peer() -> None:
    s, ids = function_call_turn(answer="peer")
    state = _fold(s.frames)
    tc = state.tool_calls[ids["call_id"]]
    assert (tc.status, tc.answered_by, tc.output) == ("answered", "peer", '{"temp": 21}')
    assert tc.answered_t == _t_of(s.frames, "conversation.item.added", -1)


def test_out_answer_without_meta_is_code_and_meta_first_is_kept() -> None:
    s, ids = function_call_turn(answer="none")
    call_id = ids["call_id"]
    answer = {"type": "conversation.item.create", "event_id": "e9", "item": {
        "type": "function_call_output", "call_id": call_id, "output": "ok"}}
    state = _fold([*s.frames, (answer, "out", 5000.0)])
    assert state.tool_calls[call_id].answered_by == "code"
    meta = {"type": "rtwidgets.tool_answered", "call_id": call_id, "by": "form"}
    state2 = _fold([*s.frames, (meta, "meta", 4999.0), (answer, "out", 5000.0)])
    tc = state2.tool_calls[call_id]
    assert (tc.answered_by, tc.answered_t, tc.status) == ("form", 5000.0, "answered")
    echo = {"type": "conversation.item.added", "event_id": "e", "item": {
        "id": "item_o", "type": "function_call_output", "call_id": call_id, "output": "ok"}}
    state2.feed(echo, direction="in", t=5001.0)
    assert state2.tool_calls[call_id].answered_by == "form"  # our echo is not a peer answer
    assert state2.tool_calls[call_id].answered_t == 5000.0


def test_call_end_marks_pending_tool_calls_unanswered() -> None:
    s, ids = function_call_turn(answer="none")
    call_id = ids["call_id"]
    live = {"type": "rtwidgets.status", "status": "reconnecting", "reason": "socket dropped"}
    ended = {"type": "rtwidgets.status", "status": "ended", "reason": "caller hung up"}
    state = _fold([*s.frames, (live, "meta", 4000.0)])
    assert state.tool_calls[call_id].status == "pending"  # a reconnect is not an end
    state.feed(ended, direction="meta", t=4100.0)
    tc = state.tool_calls[call_id]
    assert (tc.status, tc.ended_t, tc.answered_t, tc.answered_by) == (
        "unanswered", 4100.0, None, None)
    assert state.pending_tool_calls() == []
    assert state.snapshot()["pending_tool_calls"] == 0
    # An answered call stays answered when the call ends; a second end changes nothing.
    answered = _fold(function_call_turn(answer="peer")[0].frames)
    answered.feed(ended, direction="meta", t=9.0)
    assert {t.status for t in answered.tool_calls.values()} == {"answered"}
    state.feed(ended, direction="meta", t=4200.0)
    assert state.tool_calls[call_id].ended_t == 4100.0


def test_answer_for_unseen_call_is_recorded() -> None:
    state = SessionState()
    state.feed({"type": "conversation.item.create", "event_id": "e", "item": {
        "type": "function_call_output", "call_id": "call_zz", "output": "x"}},
        direction="out", t=3.0)
    tc = state.tool_calls["call_zz"]
    assert (tc.status, tc.answered_by, tc.name) == ("answered", "code", "")


def test_output_item_done_alone_requests_the_tool() -> None:
    state = SessionState()
    state.feed({"type": "response.output_item.done", "event_id": "e", "response_id": "r",
                "output_index": 0, "item": {"id": "f", "type": "function_call",
                                            "status": "completed", "name": "n",
                                            "call_id": "c", "arguments": "{}"}},
               direction="in", t=7.0)
    assert state.tool_calls["c"].requested_t == 7.0
    assert state.tool_calls["c"].response_id == "r"


# -- §7.4 barge-in, truncate, delete ------------------------------------------------------------


def test_barge_in_cancel_and_truncate() -> None:
    s, ids = barge_in()
    state = _fold(s.frames)
    y = state.items[ids["y"]]
    assert y.interrupted
    assert y.status == "incomplete"
    assert y.truncated_ms == 640
    assert y.text == "Once upon "
    resp = state.responses[ids["r"]]
    assert resp.status == "cancelled"
    assert resp.status_details == {"type": "cancelled", "reason": "turn_detected"}
    assert state.active_response_id is None
    assert state.audio_started
    assert state.events_out == 1
    assert state.malformed == 0
    assert not state.unknown_types


def test_completed_items_of_a_cancelled_response_are_not_interrupted() -> None:
    s, ids = audio_turn()
    frames = []
    for e, d, t in s.frames:
        if e["type"] == "response.done":
            e = {**e, "response": {**e["response"], "status": "cancelled"}}
        frames.append((e, d, t))
    state = _fold(frames)
    assert not state.items[ids["y"]].interrupted


def test_delete_hides_item_from_transcript() -> None:
    s, ids = audio_turn()
    state = _fold(s.frames)
    state.feed({"type": "conversation.item.deleted", "event_id": "e", "item_id": ids["x"]},
               direction="in", t=9e9)
    assert state.items[ids["x"]].deleted
    assert [r.id for r in state.transcript()] == [ids["y"]]
    assert ids["x"] in state.item_order  # kept for the record, marked deleted
    state.feed({"type": "conversation.item.deleted", "event_id": "e", "item_id": "nope"},
               direction="in", t=9e9)
    assert state.malformed == 0


# -- ordering -------------------------------------------------------------------------------


def _added(item_id: str, prev: Any = None, text: str = "x") -> dict[str, Any]:
    ev: dict[str, Any] = {"type": "conversation.item.added", "event_id": "e", "item": {
        "id": item_id, "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": text}]}}
    if prev is not None:
        ev["previous_item_id"] = prev
    return ev


def test_previous_item_id_ordering() -> None:
    state = SessionState()
    state.feed(_added("a"), direction="in", t=1)
    state.feed(_added("b", "a"), direction="in", t=2)
    state.feed(_added("c"), direction="in", t=3)  # no previous_item_id: append
    state.feed(_added("d", "root"), direction="in", t=4)  # root: front
    state.feed(_added("e", "a"), direction="in", t=5)  # after a
    state.feed(_added("f", "unknown_id"), direction="in", t=6)  # unknown: append
    assert state.item_order == ["d", "a", "e", "b", "c", "f"]
    assert list(state.items) == state.item_order
    assert [r.id for r in state.transcript()] == state.item_order
    # .done repeats the same previous_item_id: no move.
    state.feed({**_added("e", "a"), "type": "conversation.item.done"}, direction="in", t=7)
    assert state.item_order == ["d", "a", "e", "b", "c", "f"]
    assert state.items["e"].done_t == 7
    # An explicit null appends too (the contract the views' fixtures rely on).
    state.feed({**_added("g"), "previous_item_id": None}, direction="in", t=8)
    assert state.item_order == ["d", "a", "e", "b", "c", "f", "g"]
    assert list(state.items) == state.item_order
    assert state.items["g"].previous_item_id is None


def test_out_of_order_transcription_completion() -> None:
    s = Script(7)
    a = s.user_audio()
    b = s.user_audio()
    s.ev("conversation.item.input_audio_transcription.delta", item_id=b, content_index=0,
         delta="sec")
    s.ev("conversation.item.input_audio_transcription.delta", item_id=a, content_index=0,
         delta="fir")
    s.ev("conversation.item.input_audio_transcription.completed", item_id=b, content_index=0,
         transcript="second", usage={"type": "duration", "seconds": 1})
    s.ev("conversation.item.input_audio_transcription.completed", item_id=a, content_index=0,
         transcript="first", usage={"type": "duration", "seconds": 1})
    state = _fold(s.frames)
    assert state.item_order == [a, b]
    assert [r.text for r in state.transcript()] == ["first", "second"]


def test_transcription_before_item_added_is_placed_later() -> None:
    state = SessionState()
    state.feed(_added("a"), direction="in", t=1)
    state.feed({"type": "conversation.item.input_audio_transcription.completed",
                "event_id": "e", "item_id": "z", "content_index": 0, "transcript": "early",
                "usage": {}}, direction="in", t=2)
    state.feed(_added("b", "a"), direction="in", t=3)
    state.feed({**_added("z", "b"), "item": {"id": "z", "type": "message", "role": "user",
                                             "content": [{"type": "input_audio",
                                                          "transcript": None}]}},
               direction="in", t=4)
    assert state.item_order == ["a", "b", "z"]
    assert state.items["z"].text == "early"
    assert state.items["z"].role == "user"


def test_attached_mid_response_creates_records_lazily() -> None:
    state = SessionState()
    state.feed({"type": "response.output_audio_transcript.delta", "event_id": "e",
                "response_id": "r1", "item_id": "i1", "output_index": 0, "content_index": 0,
                "delta": "...and so"}, direction="in", t=10)
    assert state.responses["r1"].first_delta_t == 10
    assert state.items["i1"].text == "...and so"
    state.feed({"type": "response.done", "event_id": "e", "response": {
        "id": "r1", "status": "completed", "output": [{"id": "i1", "status": "completed"}],
        "usage": None}}, direction="in", t=11)
    assert state.responses["r1"].output_item_ids == ["i1"]
    assert state.responses["r1"].status == "completed"


# -- errors -------------------------------------------------------------------------------------


def test_errors_link_to_the_client_event_we_sent() -> None:
    state = SessionState()
    state.feed({"type": "session.update", "event_id": "evt_mine",
                "session": {"type": "realtime"}}, direction="out", t=1)
    state.feed({"type": "response.create", "event_id": "evt_two"}, direction="out", t=2)
    state.feed({"type": "error", "event_id": "event_s", "error": {
        "type": "invalid_request_error", "code": "invalid_value",
        "message": "Cannot update a conversation's voice if assistant audio is present.",
        "param": "session.audio.output.voice", "event_id": "evt_mine"}}, direction="in", t=3)
    state.feed({"type": "error", "event_id": "event_s2", "error": {
        "type": "invalid_request_error", "code": "conversation_already_has_active_response",
        "message": "busy", "param": None, "event_id": None}}, direction="in", t=4)
    state.feed({"type": "error", "event_id": "event_s3", "error": {
        "type": "invalid_request_error", "message": "other socket", "event_id": "evt_peer"}},
        direction="in", t=5)
    first, second, third = state.errors
    assert (first.client_event_id, first.client_event_type) == ("evt_mine", "session.update")
    assert (first.code, first.param, first.t) == (
        "invalid_value", "session.audio.output.voice", 3)
    assert (second.client_event_id, second.client_event_type) == (None, None)
    assert second.code == "conversation_already_has_active_response"
    assert (third.client_event_id, third.client_event_type, third.code) == (
        "evt_peer", None, None)


# -- counting, unknowns, malformed ------------------------------------------------------------


def test_unknown_types_are_counted_by_direction() -> None:
    state = SessionState()
    state.feed({"type": "response.audio.delta"}, direction="in", t=1)  # beta name
    state.feed({"type": "response.audio.delta"}, direction="in", t=2)
    state.feed({"type": "rate_limits.updated", "event_id": "e", "rate_limits": []},
               direction="in", t=3)  # known, no handler needed
    state.feed({"type": "transcription_session.update"}, direction="out", t=4)
    state.feed({"type": "rtwidgets.gap", "reason": "x"}, direction="meta", t=5)
    state.feed({"type": "gap"}, direction="meta", t=6)
    assert state.unknown_types == {"response.audio.delta": 2,
                                   "transcription_session.update": 1, "gap": 1}
    assert (state.events_in, state.events_out, state.malformed) == (3, 1, 0)


MALFORMED: list[Any] = [
    "not a dict",
    None,
    [],
    {},
    {"type": 5},
    {"type": ["x"]},
    {"type": "response.done"},
    {"type": "response.done", "response": "r"},
    {"type": "response.created", "response": {"id": 5}},
    {"type": "conversation.item.added", "item": "x"},
    {"type": "conversation.item.added", "item": {"type": "message"}},
    {"type": "conversation.item.truncated", "item_id": "i", "audio_end_ms": "640"},
    {"type": "response.output_text.delta", "item_id": "i", "delta": 5},
    {"type": "response.output_audio_transcript.done", "item_id": "i", "transcript": None},
    {"type": "response.function_call_arguments.done", "item_id": "i", "call_id": 1,
     "arguments": "{}"},
    {"type": "session.updated", "session": []},
    {"type": "error", "error": "boom"},
    {"type": "response.output_item.added", "response_id": ["r"], "item": {"id": "i"}},
]


@pytest.mark.parametrize("event", MALFORMED)
def test_malformed_events_are_counted_not_raised(event: Any) -> None:
    state = SessionState()
    state.feed(event, direction="in", t=1.0)
    assert state.malformed == 1
    assert state.events_in == 1


def test_malformed_out_and_meta() -> None:
    state = SessionState()
    state.feed({"type": "conversation.item.create"}, direction="out", t=1)
    state.feed({"type": "rtwidgets.tool_answered"}, direction="meta", t=2)
    state.feed({"type": "rtwidgets.tool_answered", "call_id": 3}, direction="meta", t=3)
    assert state.malformed == 3


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(
        ["id", "item", "item_id", "response", "response_id", "delta", "status", "output",
         "content", "text", "transcript", "call_id", "arguments", "event_id", "usage",
         "previous_item_id", "part", "type", "error", "session", "audio_end_ms"]),
        children, max_size=6),
    max_leaves=8,
)
_types = st.sampled_from(
    sorted({*SERVER_EVENT_TYPES, *CLIENT_EVENT_TYPES, "rtwidgets.tool_answered", "x.y"})
)
_event = st.one_of(
    _json,
    st.builds(lambda t, body: {**body, "type": t} if isinstance(body, dict) else body,
              _types, _json),
)


@settings(max_examples=150, deadline=None)
@given(frames=st.lists(st.tuples(_event, st.sampled_from(["in", "out", "meta"])),
                       max_size=20))
def test_feed_never_raises(frames: list[tuple[Any, Any]]) -> None:
    state = SessionState()
    for i, (event, direction) in enumerate(frames):
        state.feed(event, direction=direction, t=float(i))
    assert list(state.items) == state.item_order
    assert len(set(state.item_order)) == len(state.item_order)
    state.snapshot()
    state.transcript()
    state.pending_tool_calls()


_SEQUENCES = [audio_turn()[0].frames, text_turn()[0].frames, function_call_turn()[0].frames,
              barge_in()[0].frames]
_junk = st.sampled_from([None, 0, -1, 1.5, "", "x", [], {}, ["a"], {"id": 3}, True])


@settings(max_examples=150, deadline=None)
@given(
    which=st.integers(0, len(_SEQUENCES) - 1),
    mutations=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 20), _junk,
                                 st.booleans()), max_size=6),
)
def test_feed_never_raises_on_mutated_real_sequences(
    which: int, mutations: list[tuple[int, int, Any, bool]]
) -> None:
    frames = [(dict(e), d, t) for e, d, t in _SEQUENCES[which]]
    for index, key_index, junk, drop in mutations:
        event = frames[index % len(frames)][0]
        keys = sorted(event)
        if not keys:
            continue
        key = keys[key_index % len(keys)]
        if drop:
            del event[key]
        else:
            event[key] = junk
    state = SessionState.from_frames(frames)
    assert state.events_in + state.events_out == sum(1 for f in frames if f[1] != "meta")
    assert list(state.items) == state.item_order
    for tc in state.tool_calls.values():
        assert tc.status in ("pending", "answered")
    state.snapshot()


# -- from_frames, snapshot, repr -----------------------------------------------------------------


def test_from_frames_equals_feeding() -> None:
    s, _ = function_call_turn()
    a = SessionState.from_frames(s.frames)
    b = SessionState()
    for e, d, t in s.frames:
        b.feed(e, direction=d, t=t)  # type: ignore[arg-type]
    assert a.snapshot() == b.snapshot()
    assert a.items == b.items
    assert a.tool_calls == b.tool_calls


def test_snapshot() -> None:
    s, _ids = function_call_turn(answer="none")
    snap = SessionState.from_frames(s.frames).snapshot()
    assert snap["events_in"] == len(s.frames)
    assert snap["items"] == 3
    assert snap["messages"] == 2
    assert snap["responses"] == 1
    assert snap["pending_tool_calls"] == 1
    assert snap["tool_calls"] == 1
    assert snap["active_response_id"] is None
    assert snap["audio_started"] is True
    assert snap["malformed"] == 0
    assert snap["usage_total"]["total_tokens"] == 320
    assert snap["last_t"] == s.frames[-1][2]
    empty = SessionState().snapshot()
    assert empty["model"] is None
    assert empty["voice"] is None
    assert empty["items"] == 0
    s2, _ = audio_turn()
    snap2 = SessionState.from_frames(s2.frames).snapshot()
    assert (snap2["model"], snap2["voice"]) == ("gpt-realtime-2.1", "alloy")


def test_repr_is_short() -> None:
    s, _ = audio_turn()
    text = repr(SessionState.from_frames(s.frames))
    assert text.startswith("SessionState(events_in=")
    assert "sunny" not in text


def test_a_delta_after_the_final_text_does_not_change_it() -> None:
    # Whichever final event arrives is final: a late (or replayed) delta for the same part
    # is ignored, so the live view and a bulk read that skips deltas agree.
    state = SessionState()
    base = {"event_id": "e", "response_id": "r", "item_id": "i", "output_index": 0,
            "content_index": 0}
    state.feed({"type": "response.output_text.delta", **base, "delta": "Hi"},
               direction="in", t=1)
    state.feed({"type": "response.output_text.done", **base, "text": "Hi there."},
               direction="in", t=2)
    state.feed({"type": "response.output_text.delta", **base, "delta": "!"},
               direction="in", t=3)
    assert state.items["i"].text == "Hi there."
    state.feed({"type": "response.output_text.delta", **base, "content_index": 1,
                "delta": "More"}, direction="in", t=4)
    assert state.items["i"].text == "Hi there.\nMore"


def test_turns_and_response_timings_for_the_analysis() -> None:
    s, ids = audio_turn()
    state = _fold(s.frames)
    assert len(state.turns) == 1
    turn = state.turns[0]
    assert turn.kind == "audio"
    assert turn.item_id == ids["x"]
    assert turn.speech_start_t == _t_of(s.frames, "input_audio_buffer.speech_started")
    assert turn.anchor_t == _t_of(s.frames, "input_audio_buffer.speech_stopped")
    resp = state.responses[ids["r"]]
    assert turn.response_ids == [resp.id]
    assert resp.turn == 0
    assert resp.started_t == _t_of(s.frames, "response.created")
    assert resp.first_text_t == _t_of(s.frames, "response.output_audio_transcript.delta")


@pytest.mark.parametrize("build", [audio_turn, text_turn, function_call_turn, barge_in])
def test_feed_in_is_feed_for_incoming_frames(build: Any) -> None:
    # The Call's receive path folds incoming frames with feed_in (their type already read):
    # the same state and the same normalized events as feed.
    s, _ids = build()
    by_feed, by_feed_in = SessionState(), SessionState()
    for event, direction, t in s.frames:
        expected = by_feed.feed(event, direction=direction, t=t)
        if direction == "in":
            got = by_feed_in.feed_in(event, event["type"], t)
            assert got == expected
        else:
            by_feed_in.feed(event, direction=direction, t=t)
    assert by_feed_in.snapshot() == by_feed.snapshot()
    assert (by_feed_in.events_in, by_feed_in.malformed, by_feed_in.last_t) == (
        by_feed.events_in, by_feed.malformed, by_feed.last_t)
    assert [turn_row(t) for t in by_feed_in.turns] == [turn_row(t) for t in by_feed.turns]


def test_feed_in_is_feed_on_malformed_and_hostile_frames() -> None:
    # feed_in calls the codec's decoder of the frame's type directly (in_decoders) and
    # falls back to decode when it raises: the same events and counts as feed on frames
    # built to make every decoder raise.
    from .realtime.test_codec import HOSTILE

    frames = [f for f in [*HOSTILE, *MALFORMED]
              if type(f) is dict and type(f.get("type")) is str]
    assert len(frames) > 20
    by_feed, by_feed_in = SessionState(), SessionState()
    for i, frame in enumerate(frames):
        expected = by_feed.feed(frame, direction="in", t=float(i))
        assert by_feed_in.feed_in(frame, frame["type"], float(i)) == expected, frame
    assert by_feed.malformed > 0
    assert by_feed_in.snapshot() == by_feed.snapshot()
    assert by_feed_in.unknown_types == by_feed.unknown_types


def turn_row(turn: Any) -> tuple[Any, ...]:
    return (turn.index, turn.kind, turn.item_id, turn.response_ids)


# -- GPT-Live delegations (the Live codec's events; live-protocol.md §7.3) --------------------


def _live_fold(frames: list[tuple[dict[str, Any], str]]) -> SessionState:
    from rtwidgets.protocol.live.codec import LIVE

    state = SessionState(LIVE)
    for i, (frame, direction) in enumerate(frames):
        state.feed(frame, direction=direction, t=float(i))  # type: ignore[arg-type]
    return state


def _wrapped(did: str | None, inner: dict[str, Any]) -> tuple[dict[str, Any], str]:
    return {"type": "response.event", "event_id": "e", "delegation_id": did,
            "event": inner}, "in"


def _fc(call_id: str) -> dict[str, Any]:
    return {"type": "response.output_item.done", "item": {
        "id": f"fc_{call_id}", "type": "function_call", "call_id": call_id, "name": "f",
        "arguments": "{}"}}


def test_live_delegations_hold_target_backend_response_running_and_their_calls() -> None:
    announce = ({"type": "session.delegation.created", "event_id": "e0", "offset_ms": 0,
                 "delegation": {"id": "item_A", "target": "responses", "type": "delegation",
                                "response_id": "resp_1"}}, "in")
    running = _wrapped("item_A", {"type": "response.created", "response": {"id": "resp_1"}})
    completed = _wrapped("item_A", {"type": "response.completed", "response": {
        "id": "resp_1", "status": "completed", "output": []}})
    state = _live_fold([announce])
    deleg = state.delegations["item_A"]
    # announced only: the backend has not reported the response running
    assert (deleg.target, deleg.response_id, deleg.running) == ("responses", "resp_1", False)
    state = _live_fold([announce, running, _wrapped("item_A", _fc("call_1")),
                        _wrapped("item_A", _fc("call_2"))])
    deleg = state.delegations["item_A"]
    assert deleg.running
    assert deleg.response_ids == ["resp_1"]
    assert [tc.call_id for tc in state.tool_calls_of("item_A")] == ["call_1", "call_2"]
    assert state.tool_calls["call_1"].delegation_id == "item_A"
    # the response keeps the announcement's start (frame 0), not the running report's
    assert state.responses["resp_1"].started_t == 0.0
    state = _live_fold([announce, running, _wrapped("item_A", _fc("call_1")), completed,
                        ({"type": "response.item.create", "event_id": "r1", "item": {
                            "type": "function_call_output", "call_id": "call_1",
                            "output": "x"}}, "out")])
    assert not state.delegations["item_A"].running
    assert [tc.status for tc in state.tool_calls_of("item_A")] == ["answered"]
    # a Realtime call has no delegations
    s, _ids = function_call_turn()
    realtime = _fold(s.frames)
    assert realtime.delegations == {}
    assert all(tc.delegation_id is None for tc in realtime.tool_calls.values())


def test_live_client_delegation_and_uncorrelated_backend_events() -> None:
    state = _live_fold([
        ({"type": "session.delegation.created", "event_id": "e0", "offset_ms": 0,
          "delegation": {"id": "D1", "target": "client", "type": "delegation"}}, "in"),
        _wrapped(None, {"type": "response.created", "response": {"id": "resp_9"}}),
        _wrapped(None, _fc("call_9")),
    ])
    client = state.delegations["D1"]
    assert (client.target, client.response_id, client.running) == ("client", None, False)
    loose = state.delegations[None]
    assert (loose.response_id, loose.running) == ("resp_9", True)
    assert [tc.call_id for tc in state.tool_calls_of(None)] == ["call_9"]
