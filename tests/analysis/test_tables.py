"""Tables and latencies against synthetic captures whose every arrival time is known."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rtwidgets.analysis._source import FrameSource
from rtwidgets.analysis._synth import SyntheticCall
from rtwidgets.analysis._tables import (
    USAGE_COLUMNS,
    errors_frame,
    events_frame,
    gaps_frame,
    responses_frame,
    tool_calls_frame,
    transcript_frame,
    turns_frame,
    usage_frame,
)

from .conftest import USAGE, build_standard

approx = pytest.approx


def test_events_columns_and_types(standard: Any) -> None:
    path, call, ids = standard
    ev = events_frame(path)
    assert list(ev.columns) == [
        "seq", "direction", "time", "elapsed_s", "type", "category", "event_id", "item_id",
        "response_id", "tool_call_id", "bad", "unknown", "audio_dropped", "payload"]
    assert isinstance(ev["type"].dtype, pd.CategoricalDtype)
    assert isinstance(ev["direction"].dtype, pd.CategoricalDtype)
    assert str(ev["time"].dt.tz) == "UTC"
    assert ev["time"].iloc[0] == pd.Timestamp("2025-11-26 15:13:20.050", tz="UTC")
    assert call.created_at == 1764170000.0
    assert ev["elapsed_s"].iloc[0] == approx(0.05)
    assert set(ev["direction"]) == {"in", "out", "meta"}
    # Ids are lifted from the frame and from its item/response objects.
    created = ev[ev["type"] == "response.created"]
    assert list(created["response_id"]) == [ids["audio"].response, ids["tool"].response,
                                            ids["text"].response]
    is_added = ev["type"] == "conversation.item.added"
    added = ev[is_added & (ev["item_id"] == ids["audio"].agent_item)]
    assert len(added) == 1
    assert set(ev.loc[ev["type"] == "response.function_call_arguments.done",
                      "tool_call_id"]) == {ids["tool"].call_id}
    dropped = ev[ev["audio_dropped"]]
    assert len(dropped) > 0
    assert set(dropped["type"]) == {"response.output_audio.delta"}
    assert ev.loc[ev["type"] == "response.output_audio_transcript.delta", "category"].iloc[0] \
        == "transcript"
    assert not ev["bad"].any()
    assert not ev["unknown"].any()
    assert json.loads(ev["payload"].iloc[0])["type"] == "session.created"


def test_turn_latencies_match_the_known_timings(standard: Any) -> None:
    path, _, ids = standard
    turns = turns_frame(path)
    assert list(turns["kind"]) == ["audio", "audio", "text"]
    a, t, x = (turns.iloc[i] for i in range(3))
    # Audio turn: anchor = speech_stopped at 2.0.
    assert (a["speech_start_s"], a["speech_stop_s"], a["anchor_s"]) == approx((1.0, 2.0, 2.0))
    assert a["latency_response_s"] == approx(0.3)       # response.created 2.3
    assert a["latency_first_text_s"] == approx(0.5)     # first transcript delta 2.5
    assert a["latency_audio_s"] == approx(0.6)          # output_audio_buffer.started 2.6
    assert a["response_s"] == approx(1.7)               # done 4.0 − created 2.3
    assert a["playback_s"] == approx(3.4)               # stopped 6.0 − started 2.6
    assert a["response_chars"] == len("It is noon.")
    assert a["user_text"] == "What time is it?"
    assert a["response_id"] == ids["audio"].response
    assert (a["audio_start_ms"], a["audio_end_ms"]) == (1000, 2000)
    assert not a["interrupted"]
    # Tool turn: the response is a function call, no text.
    assert t["latency_response_s"] == approx(0.2)
    assert math.isnan(t["latency_first_text_s"])
    assert math.isnan(t["latency_audio_s"])
    # Text turn: anchor = conversation.item.added of the user message at 10.05.
    assert x["anchor_s"] == approx(10.05)
    assert math.isnan(x["speech_start_s"])
    assert x["latency_response_s"] == approx(0.05)
    assert x["latency_first_text_s"] == approx(0.35)
    assert x["user_text"] == "typed question"


def test_responses_table(standard: Any) -> None:
    path, call, ids = standard
    resp = responses_frame(path)
    assert list(resp["response_id"]) == [ids[k].response for k in ("audio", "tool", "text")]
    assert list(resp["status"]) == ["completed"] * 3
    assert list(resp["output_modalities"]) == ["audio", "audio", "text"]
    assert list(resp["model"]) == ["gpt-realtime"] * 3
    assert list(resp["turn"]) == [0, 1, 2]
    assert resp["duration_s"].tolist() == approx([1.7, 0.4, 0.9])
    assert resp["first_text_s"].iloc[0] == approx(0.2)
    assert resp["created"].iloc[0] == pd.Timestamp("2025-11-26 15:13:22.300", tz="UTC")
    assert call.created_at == 1764170000.0
    row = resp.iloc[0]
    assert (row["input_tokens"], row["input_text_tokens"], row["input_audio_tokens"]) == \
        (150, 100, 50)
    assert (row["input_cached_tokens"], row["input_cached_text_tokens"],
            row["input_cached_audio_tokens"]) == (30, 20, 10)
    assert (row["output_text_tokens"], row["output_audio_tokens"], row["total_tokens"]) == \
        (10, 200, 360)


def test_usage_totals(standard: Any) -> None:
    path, _, _ = standard
    usage = usage_frame(path)
    assert list(usage["response_id"])[-1] == "total"
    total = usage.iloc[-1]
    for col in USAGE_COLUMNS:
        assert total[col] == usage[col].iloc[:-1].sum() == 3 * _flat(USAGE)[col]
    # a row per response, and one per input transcription (billed apart; per minute here)
    rows = usage_frame(path, totals=False)
    assert len(rows) == 3 + 1
    assert list(rows["kind"]) == ["response"] * 3 + ["transcription"]
    assert rows["audio_seconds"].iloc[3] == 1.0


def _flat(u: dict[str, Any]) -> dict[str, int]:
    i, o = u["input_token_details"], u["output_token_details"]
    c = i["cached_tokens_details"]
    return {"input_tokens": u["input_tokens"], "input_text_tokens": i["text_tokens"],
            "input_audio_tokens": i["audio_tokens"], "input_image_tokens": i["image_tokens"],
            "input_cached_tokens": i["cached_tokens"], "input_cached_text_tokens": c["text_tokens"],
            "input_cached_audio_tokens": c["audio_tokens"],
            "input_cached_image_tokens": c["image_tokens"], "output_tokens": u["output_tokens"],
            "output_text_tokens": o["text_tokens"], "output_audio_tokens": o["audio_tokens"],
            "total_tokens": u["total_tokens"]}


def test_transcript(standard: Any) -> None:
    path, _, ids = standard
    tr = transcript_frame(path)
    assert list(tr["speaker"]) == ["caller", "agent", "caller", "tool", "tool", "caller",
                                   "agent"]
    assert list(tr["text"].iloc[[0, 1, 3, 4, 5, 6]]) == [
        "What time is it?", "It is noon.", 'lookup({"order": 42})', '{"status":"shipped"}',
        "typed question", "Typed reply"]
    assert tr["item_id"].iloc[0] == ids["audio"].user_item
    assert (tr["start_s"].iloc[0], tr["end_s"].iloc[0]) == approx((1.0, 2.0))
    assert not tr["interrupted"].any()
    assert not tr["truncated"].any()


def test_tool_call_answered_by_handler(standard: Any) -> None:
    path, _, ids = standard
    tools = tool_calls_frame(path)
    assert len(tools) == 1
    row = tools.iloc[0]
    assert row["tool_call_id"] == ids["tool"].call_id
    assert row["name"] == "lookup"
    assert row["arguments"] == {"order": 42}
    assert row["output"] == '{"status":"shipped"}'
    assert row["answered_by"] == "handler"
    assert (row["requested_s"], row["answered_s"], row["latency_s"]) == approx((8.5, 9.1, 0.6))
    assert row["status"] == "answered"


def _tool_call(by: str | None, peer: bool, answered: float | None) -> pd.Series:
    c = SyntheticCall()
    c.session(0.0)
    c.tool_turn(speech_start=1.0, speech_stop=2.0, created=2.1, requested=2.5, done=2.6,
                name="f", arguments={"a": [1]}, answered=answered, output="ok", by=by,
                peer=peer, usage=USAGE)
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return tool_calls_frame(c.write(Path(d) / "c.jsonl")).iloc[0]


def test_tool_call_answered_by_code_peer_or_pending() -> None:
    code = _tool_call(by=None, peer=False, answered=3.0)
    assert code["answered_by"] == "code"
    assert code["latency_s"] == approx(0.5)
    peer = _tool_call(by=None, peer=True, answered=3.0)
    assert peer["answered_by"] == "peer"
    assert peer["answered_s"] == approx(3.03)           # the server's conversation.item.added
    pending = _tool_call(by=None, peer=False, answered=None)
    assert pending["status"] == "pending"
    assert pd.isna(pending["answered_by"])
    assert math.isnan(pending["latency_s"])


def test_barge_in_marks_the_interrupted_turn(tmp_path: Path) -> None:
    c = SyntheticCall()
    c.session(0.0)
    first = c.audio_turn(speech_start=1.0, speech_stop=2.0, created=2.3, first_text=2.5,
                         audio=2.6, done=5.2, transcript="tell me a story",
                         reply="Once upon a time", usage=USAGE, status="cancelled",
                         reason="turn_detected", audio_cleared=5.1)
    c.frame(5.15, {"type": "conversation.item.truncated", "item_id": first.agent_item,
                   "content_index": 0, "audio_end_ms": 1500})
    c.audio_turn(speech_start=5.0, speech_stop=6.0, created=6.2, first_text=6.4, audio=6.5,
                 done=7.0, transcript="stop", reply="Sure.", usage=USAGE, audio_stop=8.0)
    path = c.write(tmp_path / "c.jsonl")
    turns = turns_frame(path)
    assert list(turns["interrupted"]) == [True, False]
    assert list(turns["response_status"]) == ["cancelled", "completed"]
    assert turns["latency_response_s"].tolist() == approx([0.3, 0.2])
    assert turns["playback_s"].iloc[0] == approx(5.1 - 2.6)   # cleared, not stopped
    resp = responses_frame(path)
    assert resp["reason"].iloc[0] == "turn_detected"
    assert pd.isna(resp["reason"].iloc[1])
    tr = transcript_frame(path)
    agent = tr[tr["item_id"] == first.agent_item].iloc[0]
    assert agent["interrupted"]
    assert agent["truncated"]
    assert agent["truncated_ms"] == 1500


def test_recording_with_gaps_and_cut_short(tmp_path: Path) -> None:
    call, _ = build_standard()
    call.meta(4.5, "rtwidgets.status", status="reconnecting", reason="1006")
    call.meta(5.5, "rtwidgets.gap", reason="socket closed (1006)", since_m=4.5)
    # A response still streaming when the kernel died: no done events, the last line cut.
    c2 = call
    c2.frame(12.0, {"type": "input_audio_buffer.speech_started", "audio_start_ms": 12000,
                    "item_id": "item_cut"})
    c2.frame(12.5, {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 12500,
                    "item_id": "item_cut"})
    c2.frame(12.7, {"type": "response.created", "response": {"id": "resp_cut",
                                                             "status": "in_progress"}})
    c2.frame(12.8, {"type": "response.output_item.added", "response_id": "resp_cut",
                    "output_index": 0, "item": {"id": "item_ans", "type": "message",
                                                "role": "assistant", "content": []}})
    c2.frame(12.9, {"type": "response.output_audio_transcript.delta", "response_id": "resp_cut",
                    "item_id": "item_ans", "output_index": 0, "content_index": 0,
                    "delta": "Half a sen"})
    c2.frame(13.0, {"type": "response.output_audio_transcript.delta", "response_id": "resp_cut",
                    "item_id": "item_ans", "output_index": 0, "content_index": 0,
                    "delta": "tence"})
    c2.frame(13.1, {"type": "response.output_audio_transcript.delta", "response_id": "resp_cut",
                    "item_id": "item_ans", "output_index": 0, "content_index": 0,
                    "delta": " never finished"})
    path = c2.write(tmp_path / "c.jsonl", cut_last=30)
    gaps = gaps_frame(path)
    assert len(gaps) == 1
    assert (gaps["start_s"].iloc[0], gaps["end_s"].iloc[0], gaps["duration_s"].iloc[0]) == \
        approx((4.5, 5.5, 1.0))
    assert gaps["reason"].iloc[0] == "socket closed (1006)"
    turns = turns_frame(path)
    last = turns.iloc[-1]
    assert last["response_id"] == "resp_cut"
    assert last["response_status"] == "in_progress"
    assert last["latency_response_s"] == approx(0.2)
    assert last["latency_first_text_s"] == approx(0.4)
    assert math.isnan(last["response_s"])
    tr = transcript_frame(path)
    assert tr.loc[tr["item_id"] == "item_ans", "text"].iloc[0] == "Half a sentence"
    resp = responses_frame(path)
    assert resp["status"].iloc[-1] == "in_progress"
    assert pd.isna(resp["input_tokens"].iloc[-1])
    rows = usage_frame(path, totals=False)
    assert (rows["kind"] == "response").sum() == 3


def test_errors_link_to_the_client_event(tmp_path: Path) -> None:
    c = SyntheticCall()
    c.session(0.0)
    c.frame(1.0, {"type": "response.cancel", "event_id": "evt_client_1"}, direction="out")
    c.frame(1.1, {"type": "error", "error": {
        "type": "invalid_request_error", "code": "response_cancel_not_active",
        "message": "Cancellation failed: no active response found", "param": None,
        "event_id": "evt_client_1"}})
    errs = errors_frame(c.write(tmp_path / "c.jsonl"))
    assert len(errs) == 1
    row = errs.iloc[0]
    assert row["code"] == "response_cancel_not_active"
    assert (row["client_event_id"], row["client_event_type"]) == ("evt_client_1",
                                                                  "response.cancel")
    assert row["time_s"] == approx(1.1)


def test_many_tables_accept_one_frame_source(standard: Any) -> None:
    path, _, _ = standard
    src = FrameSource(path)
    turns_frame(src)
    fold_before = src.cached("fold")
    responses_frame(src)
    assert src.cached("fold") is fold_before          # parsed and folded once


async def test_hostile_values_become_table_cells_not_exceptions(tmp_path: Path) -> None:
    """Issue 11 item 8: ids with lone surrogate escapes (Arrow and pandas strings are UTF-8),
    counts past int64 and seconds past a float, through every table, from the file, the
    loaded recording and the live call."""
    import rtwidgets
    from rtwidgets.analysis import analyze

    huge = "1" + "0" * 400
    frames = [
        '{"type":"conversation.item.added","event_id":"e1","item":{"id":"item_\\ud800",'
        '"type":"message","role":"user","status":"completed","content":[{"type":"input_text",'
        '"text":"hi \\udfff"}]}}',
        '{"type":"conversation.item.input_audio_transcription.completed","event_id":"e2",'
        '"item_id":"item_\\ud800","content_index":0,"transcript":"x","usage":{"type":'
        '"tokens","input_tokens":' + huge + ',"total_tokens":5}}',
        '{"type":"conversation.item.input_audio_transcription.completed","event_id":"e3",'
        '"item_id":"item_2","content_index":0,"transcript":"y","usage":{"type":"duration",'
        '"seconds":' + huge + '}}',
        '{"type":"response.created","event_id":"e4","response":{"id":"resp_\\ud800",'
        '"status":"in_progress","output":[]}}',
        '{"type":"response.done","event_id":"e5","response":{"id":"resp_\\ud800","status":'
        '"completed","output":[],"usage":{"total_tokens":' + huge + ',"input_tokens":-'
        + huge + ',"output_tokens":3}}}',
    ]
    capture = tmp_path / "c.jsonl"
    call = await rtwidgets.attach("rtc_u1_hostileTables0001", capture=capture,
                                  transport=rtwidgets.MemoryTransport(frames))
    await call.close()
    for src in (capture, rtwidgets.load(capture), call):
        report = analyze(src)
        usage = report.usage
        assert usage.loc[usage["kind"] == "response", "output_tokens"].tolist() == [3]
        assert usage.loc[usage["kind"] == "response", "total_tokens"].isna().all()
        assert usage["audio_seconds"].isna().all() or usage["audio_seconds"].sum() == 0
        assert "resp_\ufffd" in report.responses["response_id"].tolist()
        assert "item_\ufffd" in report.transcript["item_id"].tolist()
        for name in ("events", "turns", "tool_calls", "errors", "gaps"):
            getattr(report, name)
        report.cost()
