"""The GA codec: every GA frame the reducer used to read decodes to the normalized event that
carries the same facts; hostile frames decode to a flagged ``Unknown`` and never raise;
intents encode through the validating builders; summaries never raise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtwidgets.protocol import codec as ce
from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.realtime import MEANINGFUL_TYPES, REALTIME
from rtwidgets.protocol.realtime.catalog import CLIENT_EVENT_TYPES, SERVER_EVENT_TYPES

from .._sequences import USAGE, audio_turn, barge_in, function_call_turn, text_turn

_REALITY = Path(__file__).resolve().parents[2] / "reality" / "frames"


def _one(frame: Any, direction: Any = "in") -> Any:
    decoded = REALTIME.decode(frame, direction)
    assert not decoded.flagged, decoded
    assert len(decoded.events) == 1, decoded
    return decoded.events[0]


def test_transcript_deltas_name_speaker_segment_and_response() -> None:
    ev = _one({"type": "response.output_audio_transcript.delta", "item_id": "item_1",
               "response_id": "resp_1", "content_index": 0, "delta": "Hel"})
    assert ev == ce.TranscriptDelta("agent", "item_1", "Hel", "resp_1", 0)
    ev = _one({"type": "conversation.item.input_audio_transcription.delta",
               "item_id": "item_2", "delta": "hi"})
    assert ev == ce.TranscriptDelta("caller", "item_2", "hi", None, 0)


def test_response_done_carries_status_reason_and_usage_by_modality() -> None:
    ev = _one({"type": "response.done", "response": {
        "id": "resp_1", "status": "cancelled", "output": [{"id": "item_1"}, "junk"],
        "status_details": {"type": "cancelled", "reason": "turn_detected"},
        "usage": USAGE, "output_modalities": ["audio"]}})
    assert isinstance(ev, ce.ResponseDone)
    assert (ev.id, ev.kind, ev.status, ev.reason) == ("resp_1", "response", "cancelled",
                                                       "turn_detected")
    assert ev.usage is not None
    assert (ev.usage.input_audio_tokens, ev.usage.output_audio_tokens,
            ev.usage.input_cached_tokens, ev.usage.total_tokens) == (73, 147, 64, 320)
    assert ev.usage.raw == USAGE
    assert not ev.usage.cumulative
    assert ev.output == ({"id": "item_1"},)


def test_speech_commit_and_timeout_are_caller_speech_events() -> None:
    assert _one({"type": "input_audio_buffer.speech_started", "item_id": "i",
                 "audio_start_ms": 5}) == ce.SpeechStarted("i", 5)
    assert _one({"type": "input_audio_buffer.speech_stopped", "item_id": "i",
                 "audio_end_ms": 9}) == ce.SpeechStopped("i", "vad", None, 9)
    assert _one({"type": "input_audio_buffer.committed", "item_id": "i"}) == \
        ce.SpeechStopped("i", "commit")
    assert _one({"type": "input_audio_buffer.timeout_triggered", "item_id": "i",
                 "audio_start_ms": 1, "audio_end_ms": 2}) == \
        ce.SpeechStopped("i", "timeout", 1, 2)


def test_tool_calls_requested_and_answered_by_whom() -> None:
    ev = _one({"type": "response.function_call_arguments.done", "item_id": "item_f",
               "response_id": "resp_1", "call_id": "call_1", "name": "f", "arguments": "{}"})
    assert ev == ce.ToolCallRequested("call_1", "f", "{}", "item_f", "resp_1")
    ours = _one({"type": "conversation.item.create", "event_id": "ev_1", "item": {
        "type": "function_call_output", "call_id": "call_1", "output": "ok"}}, "out")
    assert ours == ce.ToolCallAnswered("call_1", "ok", "code")
    peer = REALTIME.decode({"type": "conversation.item.added", "item": {
        "id": "item_o", "type": "function_call_output", "call_id": "call_1", "output": "x"}})
    assert peer.events[1] == ce.ToolCallAnswered("call_1", "x", "peer")
    by = REALTIME.decode({"type": "rtwidgets.tool_answered", "call_id": "call_1",
                          "by": "handler"}, "meta")
    assert by.events == (ce.ToolAnsweredBy("call_1", "handler"),)


def test_errors_link_to_the_client_event_and_say_whether_they_are_fatal() -> None:
    ev = _one({"type": "error", "error": {"type": "invalid_request_error",
                                          "code": "invalid_api_key", "message": "no",
                                          "event_id": "ev_9"}})
    assert ev == ce.ErrorReported("invalid_api_key", "invalid_request_error", "no", None,
                                  "ev_9", True)
    ev = _one({"type": "error", "error": {"code": "invalid_value", "message": "bad"}})
    assert not ev.fatal


def test_session_reported_applied_and_requested() -> None:
    assert isinstance(_one({"type": "session.created", "session": {}}), ce.SessionReported)
    assert isinstance(_one({"type": "session.updated", "session": {}}), ce.SessionApplied)
    req = _one({"type": "session.update", "event_id": "ev_1", "session": {"a": 1}}, "out")
    assert req == ce.SessionRequested({"a": 1}, "ev_1")


def test_meta_frames_status_end_and_gap() -> None:
    ended = REALTIME.decode({"type": "rtwidgets.status", "status": "ended",
                             "reason": "hung up"}, "meta")
    assert ended.events == (ce.StatusChanged("ended", "hung up"), ce.CallEnded("hung up"))
    gap = REALTIME.decode({"type": "rtwidgets.gap", "since_m": 3, "reason": "1006"}, "meta")
    assert gap.events == (ce.Gap(3.0, "1006"),)


def test_known_types_without_meaning_decode_to_nothing_unknown_types_to_unknown() -> None:
    assert REALTIME.decode({"type": "conversation.created", "conversation": {}}).events == ()
    unknown = REALTIME.decode({"type": "response.audio.delta"})
    assert unknown.events == (ce.Unknown("response.audio.delta",
                                         "not a GA server event type"),)
    assert not unknown.flagged


HOSTILE: list[Any] = [
    # issue 11: each of these ended the receive loop on main.
    {"type": "conversation.created", "response_id": []},
    {"type": "response.output_audio_transcript.delta", "delta": 5, "response_id": {},
     "item_id": "i"},
    "not a dict", None, [], 3, 1e308, {}, {"type": 5}, {"type": ["x"]},
    {"type": "response.done"}, {"type": "response.done", "response": "r"},
    {"type": "response.created", "response": {"id": 5}},
    {"type": "conversation.item.added", "item": {"id": ["x"]}},
    {"type": "conversation.item.truncated", "item_id": "i", "audio_end_ms": "640"},
    {"type": "conversation.item.deleted", "item_id": {"a": 1}},
    {"type": "response.output_item.added", "response_id": ["r"], "item": {"id": "i"}},
    {"type": "error", "error": "boom"},
    {"type": "rate_limits.updated", "rate_limits": "x"},
    {"type": "response.content_part.done", "part": None, "item_id": "i"},
]


@pytest.mark.parametrize("frame", HOSTILE)
@pytest.mark.parametrize("direction", ["in", "out", "meta"])
def test_hostile_frames_never_raise(frame: Any, direction: Any) -> None:
    decoded = REALTIME.decode(frame, direction)
    for ev in decoded.events:
        if isinstance(ev, ce.Unknown) and ev.flagged:
            assert decoded.flagged
            assert ev.why
    REALTIME.summary(frame)


def test_the_issue_11_frames_are_flagged_with_the_field() -> None:
    decoded = REALTIME.decode({"type": "response.output_audio_transcript.delta", "delta": 5,
                               "response_id": {}, "item_id": "i"})
    assert decoded.flagged
    assert "delta must be a string" in decoded.events[0].why  # type: ignore[union-attr]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["id", "item", "item_id", "response", "response_id", "delta", "part",
                         "status", "output", "usage", "error", "session", "call_id",
                         "arguments", "content", "audio_end_ms", "rate_limits"]),
        children, max_size=5),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(etype=st.sampled_from(sorted({*SERVER_EVENT_TYPES, *CLIENT_EVENT_TYPES,
                                     "rtwidgets.status", "rtwidgets.gap"})),
       body=_json, direction=st.sampled_from(["in", "out", "meta"]))
def test_decode_and_summary_never_raise_on_any_json(etype: str, body: Any,
                                                    direction: Any) -> None:
    frame = {**body, "type": etype} if isinstance(body, dict) else body
    decoded = REALTIME.decode(frame, direction)
    assert isinstance(decoded.events, tuple)
    assert isinstance(REALTIME.summary(frame), str)


def test_every_frame_of_the_reference_sequences_decodes_unflagged() -> None:
    for script in (audio_turn()[0], text_turn()[0], function_call_turn()[0], barge_in()[0]):
        for frame, direction, _t in script.frames:
            decoded = REALTIME.decode(frame, direction)  # type: ignore[arg-type]
            assert not decoded.flagged, frame
            assert not any(isinstance(e, ce.Unknown) for e in decoded.events), frame


def test_real_frames_of_the_corpus_decode_unflagged() -> None:
    seen = 0
    for path in sorted(_REALITY.glob("*.json")):
        data = json.loads(path.read_text())
        if data.get("partial") or data.get("api") != "realtime":
            continue  # partial files elide values (tests/reality/README.md); Live is not GA
        frames = data.get("frames")
        for entry in frames or []:
            frame = entry.get("frame", entry) if isinstance(entry, dict) else entry
            if not isinstance(frame, dict) or frame.get("type") not in SERVER_EVENT_TYPES:
                continue
            seen += 1
            assert not REALTIME.decode(frame).flagged, (path.name, frame)
    assert seen > 10


def test_meaningful_types_leave_out_pure_audio_and_streaming_text() -> None:
    assert "response.output_audio.delta" not in MEANINGFUL_TYPES
    assert "response.output_text.delta" not in MEANINGFUL_TYPES
    assert {"response.done", "input_audio_buffer.speech_stopped", "error"} <= MEANINGFUL_TYPES
    assert SERVER_EVENT_TYPES.keys() >= MEANINGFUL_TYPES


# -- encode --------------------------------------------------------------------------------


def test_intents_encode_to_validated_ga_events() -> None:
    cases: list[tuple[ce.Intent, str]] = [
        (ce.UpdateSession({"instructions": "Be brief."}), "session.update"),
        (ce.AnswerToolCall("call_1", {"ok": True}), "conversation.item.create"),
        (ce.CreateResponse(), "response.create"),
        (ce.CancelResponse("resp_1"), "response.cancel"),
        (ce.TruncateItem("item_1", 640), "conversation.item.truncate"),
        (ce.ClearOutputAudio(), "output_audio_buffer.clear"),
        (ce.CommitInputAudio(), "input_audio_buffer.commit"),
        (ce.ClearInputAudio(), "input_audio_buffer.clear"),
        (ce.DeleteItem("item_1"), "conversation.item.delete"),
        (ce.RetrieveItem("item_1"), "conversation.item.retrieve"),
        (ce.SendText("hello"), "conversation.item.create"),
        (ce.SendText("be brief", role="system"), "conversation.item.create"),
        (ce.CreateItem({"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "x"}]}), "conversation.item.create"),
    ]
    for intent, wire in cases:
        event = REALTIME.encode(intent)
        assert event["type"] == wire
        REALTIME.validate(event)
    truncate = REALTIME.encode(ce.TruncateItem("item_1", 640, 0))
    assert (truncate["audio_end_ms"], truncate["content_index"]) == (640, 0)


def test_hang_up_is_control_not_wire() -> None:
    with pytest.raises(ce.UnsupportedIntent) as err:
        REALTIME.encode(ce.HangUp())
    assert err.value.field == "hang_up"
    assert "call control" in err.value.problem
    assert "hangup" in err.value.fix


def test_bad_intent_arguments_name_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        REALTIME.encode(ce.TruncateItem("item_1", -5))
    assert "audio_end_ms" in err.value.field


def test_ids_are_checked_by_kind() -> None:
    assert REALTIME.check_id("item", "item_x", "item_id") == "item_x"
    with pytest.raises(ValidationError):
        REALTIME.check_id("item", 5, "item_id")
    with pytest.raises(ValidationError):
        REALTIME.check_id("call", "not a call", "call_id")


def test_summary_is_one_line_and_hides_text_when_redacting() -> None:
    frame = {"type": "response.output_audio_transcript.done", "item_id": "item_1",
             "transcript": "my card number is 4242"}
    assert "4242" in REALTIME.summary(frame)
    assert "4242" not in REALTIME.summary(frame, redact=True)
    assert REALTIME.summary([1, 2]) == "not an object: list"
    assert REALTIME.category("response.done") == "response"
    assert REALTIME.is_delta("response.output_text.delta")


def test_produces_names_every_event_class_a_frame_decodes_to() -> None:
    frames = [f for script in (audio_turn()[0], text_turn()[0], function_call_turn()[0],
                               barge_in()[0]) for f in script.frames]
    for frame, direction, _t in frames:
        decoded = REALTIME.decode(frame, direction)  # type: ignore[arg-type]
        classes = {type(e) for e in decoded.events}
        assert classes <= REALTIME.produces(frame["type"]), frame
    assert REALTIME.produces("no.such.type") == frozenset()
    assert ce.ErrorReported in REALTIME.produces("error")


def test_bulk_hints_and_landmarks_name_ga_types() -> None:
    bulk = REALTIME.bulk
    assert set(bulk.first_text_types) <= set(bulk.text_delta_types)
    assert not set(bulk.text_delta_types) & bulk.meaningful_types
    assert set(bulk.column_only) <= bulk.meaningful_types
    assert set(REALTIME.landmarks.values()) <= SERVER_EVENT_TYPES.keys()


@settings(max_examples=300, deadline=None)
@given(etype=st.sampled_from(sorted(REALTIME.stream_types)), body=_json)
def test_stream_fields_are_the_fields_decode_gives(etype: str, body: Any) -> None:
    # The reducer folds streaming text from stream_fields() without making the event: it
    # must read exactly what decode() reads, and refuse exactly what decode() flags.
    frame = {**body, "type": etype} if isinstance(body, dict) else {"type": etype}
    decoded = REALTIME.decode(frame)
    fields = REALTIME.stream_fields(frame)
    if decoded.flagged:
        assert fields is None
    else:
        (event,) = decoded.events
        assert isinstance(event, ce.TranscriptDelta)
        assert fields == (event.speaker, event.segment, event.delta, event.response_id,
                          event.content_index)


def test_stream_fields_of_a_well_formed_delta() -> None:
    frame = {"type": "response.output_text.delta", "item_id": "item_1", "delta": "Hi",
             "response_id": "resp_1", "content_index": 2}
    assert REALTIME.stream_fields(frame) == ("agent", "item_1", "Hi", "resp_1", 2)
    assert REALTIME.stream_types <= REALTIME.server_event_types
