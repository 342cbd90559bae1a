"""The fold's shortcuts (column-fed events, direct JSON scan) and the per-source table cache.

The fold feeds a few event types from the core columns instead of parsing them; these
tests pin that it reaches exactly the records a parse of every folded frame reaches, on
frames built to trip the shortcut (a nested ``item``/``response`` the columns fall back
to, escaped keys, duplicate keys, odd spacing, non-string ids).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rtwidgets.analysis._fold import Fold, fold_of
from rtwidgets.analysis._source import FrameSource
from rtwidgets.analysis._summary import summary
from rtwidgets.analysis._tables import responses_frame, turns_frame

from .conftest import USAGE, build_standard


def _tricky_capture(path: Path) -> tuple[Path, str]:
    c, _ = build_standard()
    cut = c.audio_turn(speech_start=12.0, speech_stop=13.0, created=13.3, first_text=13.5,
                       audio=13.6, done=15.2, transcript="tell me a story",
                       reply="Once upon a time", usage=USAGE, status="cancelled",
                       reason="turn_detected", audio_cleared=15.1)
    rid = cut.response
    c.frame(15.15, {"type": "conversation.item.truncated", "item_id": cut.agent_item,
                    "content_index": 0, "audio_end_ms": 1500})
    c.frame(15.16, {"type": "conversation.item.deleted", "item_id": cut.agent_item})
    # The item_id column falls back to item.id; the fold reads only item_id.
    c.frame(15.2, {"type": "input_audio_buffer.committed", "item": {"id": "item_nested"}})
    c.frame(15.21, {"type": "input_audio_buffer.speech_started", "item_id": "item_x",
                    "audio_start_ms": 5})
    c.frame(15.22, {"type": "input_audio_buffer.committed", "item_id": "item_x"})
    c.frame(15.23, {"type": "input_audio_buffer.committed", "item_id": "item_unseen"})
    c.frame(15.24, {"type": "output_audio_buffer.started", "response": {"id": rid}})
    c.frame(15.25, {"type": "output_audio_buffer.stopped", "response_id": rid})
    c.frame(15.26, {"type": "output_audio_buffer.cleared", "response_id": "resp_unknown"})
    c.frame(15.27, {"type": "conversation.item.deleted", "item": {"id": "item_zz"}})
    c.frame(15.28, {"type": "conversation.item.deleted", "item_id": 5})
    c.frame(15.29, {"type": "input_audio_buffer.committed", "item_id": None})
    c.frame(15.3, {"type": "conversation.item.added", "item": {
        "id": "item_t", "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "hi"}, "not a part", {"transcript": ""}]}})
    c.bad(15.39, "{not json")
    path = c.write(path)
    with path.open("a") as fh:
        # Escaped keys (the reader decodes them into the columns), a duplicate key (JSON
        # keeps the last), spacing around the frame: all must read as a parse reads them.
        fh.write('{"seq":8999,"dir":"in","t":1764170015.9,"m":15.9,"frame":{"type":'
                 '"input_audio_buffer.speech_started","item_id":"item_escaped"}}\n')
        fh.write('{"seq":9000,"dir":"in","t":1764170016.0,"m":16.0,"frame":{"type":'
                 '"input_audio_buffer.committed","\\u0069tem":{"id":"item_escaped"}}}\n')
        fh.write('{"seq":9001,"dir":"in","t":1764170016.1,"m":16.1,"frame":{"type":'
                 f'"output_audio_buffer.cleared","\\u0072esponse":{{"id":"{rid}"}}}}}}\n')
        fh.write('{"seq":9002,"dir":"in","t":1764170016.2,"m":16.2,"frame":{"type":'
                 '"conversation.item.deleted","item_id":"item_a","item_id":"item_b"}}\n')
        fh.write('{"seq":9003,"dir":"in","t":1764170016.3,"m":16.3,"frame": {"type":'
                 f'"output_audio_buffer.stopped","response_id":"{rid}"}} }}\n')
    return path, rid


def _records(fold: Fold) -> dict[str, Any]:
    return {
        "items": {k: asdict(v) for k, v in fold.items.items()},
        "responses": {k: asdict(v) for k, v in fold.responses.items()},
        "tools": {k: asdict(v) for k, v in fold.tools.items()},
        "turns": [asdict(t) for t in fold.turns],
        "errors": fold.errors, "gaps": fold.gaps, "models": fold.models,
        "statuses": fold.statuses,
    }


def test_shortcuts_reach_the_records_a_full_parse_reaches(tmp_path: Path) -> None:
    path, rid = _tricky_capture(tmp_path / "c.jsonl")
    src = FrameSource(path)
    fast = fold_of(src)
    reference = fold_of(src, shortcuts=False)
    assert fast is not reference
    assert _records(fast) == _records(reference)
    # The tricky frames did what their JSON says, not what the columns would suggest.
    assert fast.items["item_b"].deleted
    assert "item_a" not in fast.items
    assert fast.items[next(i for i in fast.items if fast.items[i].truncated_ms)].deleted
    assert "item_zz" not in fast.items
    assert fast.responses[rid].audio_started_t is not None
    assert fast.responses[rid].audio_stopped_t == 16.3
    assert fast.items["item_t"].text == "hi"
    assert fast.items["item_t"].content_types == ["input_text"]
    assert [t.committed_t for t in fast.turns if t.item_id == "item_x"] == [15.22]
    assert not any(t.item_id in ("item_nested", "item_unseen") for t in fast.turns)
    # The escaped key is "item", not "item_id": the commit names no item.
    assert [t.committed_t for t in fast.turns if t.item_id == "item_escaped"] == [None]
    assert fast.responses[rid].audio_cleared_t == 15.1


def test_the_fold_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path) -> None:
    import gc

    path, _ = _tricky_capture(tmp_path / "c.jsonl")
    assert gc.isenabled()
    fold_of(FrameSource(path))
    assert gc.isenabled()
    gc.disable()
    try:
        fold_of(FrameSource(path))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_fold_hands_its_records_to_the_oldest_generation(tmp_path: Path) -> None:
    # Made with the collector off, the records would sit in the youngest generation and be
    # walked by the next young collections: they go straight to the oldest instead.
    import gc

    path, _ = _tricky_capture(tmp_path / "c.jsonl")
    fold = fold_of(FrameSource(path))
    young = {id(o) for o in gc.get_objects(generation=0)}
    young |= {id(o) for o in gc.get_objects(generation=1)}
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    records = [fold.state, *fold.state.items.values(), *fold.state.responses.values(),
               *fold.state.turns]
    assert all(id(r) in oldest and id(r) not in young for r in records)
    assert gc.get_freeze_count() == 0


def test_a_process_that_froze_objects_keeps_them_frozen(tmp_path: Path) -> None:
    import gc

    path, _ = _tricky_capture(tmp_path / "c.jsonl")
    kept = [{"frozen": True}]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        fold_of(FrameSource(path))
        assert gc.get_freeze_count() >= frozen  # nothing thawed
        assert kept[0]["frozen"]
    finally:
        gc.unfreeze()


def test_cached_tables_are_copies_and_follow_growth(tmp_path: Path) -> None:
    path, _ = _tricky_capture(tmp_path / "c.jsonl")
    src = FrameSource(path)
    turns = turns_frame(src)
    resp = responses_frame(src)
    expected_turns, expected_resp = turns.copy(), resp.copy()
    turns.loc[0, "latency_response_s"] = -1.0
    resp.loc[:, "created_s"] = -1.0
    pd.testing.assert_frame_equal(turns_frame(src), expected_turns)
    pd.testing.assert_frame_equal(responses_frame(src), expected_resp)
    # summary asks for both tables again; its figures are those of the tables.
    s = summary(src)
    assert s.turns == len(expected_turns)
    assert sum(s.responses.values()) == len(expected_resp)
    # The file grows by one turn: the cached tables are rebuilt, not served stale.
    with path.open("a") as fh:
        for seq, (m, frame) in enumerate([
            (20.0, {"type": "input_audio_buffer.speech_started", "item_id": "item_new",
                    "audio_start_ms": 20000}),
            (21.0, {"type": "input_audio_buffer.speech_stopped", "item_id": "item_new",
                    "audio_end_ms": 21000}),
            (21.2, {"type": "response.created", "response": {"id": "resp_new",
                                                             "status": "in_progress"}}),
        ], start=9100):
            fh.write(json.dumps({"seq": seq, "dir": "in", "t": 1764170000.0 + m, "m": m,
                                 "frame": frame}, separators=(",", ":")) + "\n")
    grown = turns_frame(src)
    assert len(grown) == len(expected_turns) + 1
    assert grown["response_id"].iloc[-1] == "resp_new"
    assert grown["latency_response_s"].iloc[-1] == 21.2 - 21.0
    assert responses_frame(src)["response_id"].iloc[-1] == "resp_new"


# ------------------------------------------- final text from whichever final event arrives

_SENTENCE = "Sure, I can help you with that order."


def _late_frames(variant: str) -> list[dict[str, Any]]:
    """A response whose transcript's own ``.done`` never arrived (late attach, a gap): only
    the first delta "Sure" and one other final event carry the text."""
    rid, iid = "resp_Late1", "item_Late1"
    part_kind, key = ("text", "text") if variant == "text_part" else ("audio", "transcript")
    delta_type = ("response.output_text.delta" if variant == "text_part"
                  else "response.output_audio_transcript.delta")
    frames: list[dict[str, Any]] = []
    if variant != "no_item_added":
        frames += [
            {"type": "response.created", "event_id": "event_1",
             "response": {"id": rid, "status": "in_progress", "output": []}},
            {"type": "response.output_item.added", "event_id": "event_2", "response_id": rid,
             "output_index": 0, "item": {"id": iid, "type": "message", "role": "assistant",
                                         "status": "in_progress", "content": []}},
            {"type": "response.content_part.added", "event_id": "event_3", "response_id": rid,
             "item_id": iid, "output_index": 0, "content_index": 0,
             "part": {"type": part_kind, key: ""}},
        ]
    frames.append({"type": delta_type, "event_id": "event_4", "response_id": rid,
                   "item_id": iid, "output_index": 0, "content_index": 0, "delta": "Sure"})
    if variant == "output_item_done":
        frames.append({"type": "response.output_item.done", "event_id": "event_5",
                       "response_id": rid, "output_index": 0, "item": {
                           "id": iid, "type": "message", "role": "assistant",
                           "status": "completed",
                           "content": [{"type": "output_audio", "transcript": _SENTENCE}]}})
    else:
        frames.append({"type": "response.content_part.done", "event_id": "event_5",
                       "response_id": rid, "item_id": iid, "output_index": 0,
                       "content_index": 0, "part": {"type": part_kind, key: _SENTENCE}})
    # the caller's side: transcription deltas, then only the item's done carries the text
    frames += [
        {"type": "conversation.item.input_audio_transcription.delta", "event_id": "event_6",
         "item_id": "item_User1", "content_index": 0, "delta": "Where"},
        {"type": "conversation.item.done", "event_id": "event_7", "previous_item_id": None,
         "item": {"id": "item_User1", "type": "message", "role": "user", "status": "completed",
                  "content": [{"type": "input_audio", "transcript": "Where is my order?"}]}},
    ]
    return frames


@pytest.mark.parametrize("variant", ["audio_part", "text_part", "output_item_done",
                                     "no_item_added"])
def test_the_final_text_wins_over_the_deltas_in_both_reducers(tmp_path: Path,
                                                              variant: str) -> None:
    from rtwidgets.analysis._synth import SyntheticCall
    from rtwidgets.analysis._tables import transcript_frame
    from rtwidgets.protocol.state import SessionState

    frames = _late_frames(variant)
    call = SyntheticCall()
    for i, ev in enumerate(frames):
        call.frame(1.0 + i / 10, ev)
    path = call.write(tmp_path / "late.jsonl")
    table = transcript_frame(path)
    post = dict(zip(table["item_id"], table["text"], strict=True))
    state = SessionState.from_frames((ev, "in", 1.0 + i / 10) for i, ev in enumerate(frames))
    live = {rec.id: rec.text for rec in state.transcript()}
    assert live == post
    assert post["item_Late1"] == _SENTENCE
    assert post["item_User1"] == "Where is my order?"
    speakers = dict(zip(table["item_id"], table["speaker"], strict=True))
    assert speakers["item_Late1"] == "agent"


# -- the fast path against the reducer on every frame ---------------------------------------

_TABLES = ("transcript_frame", "responses_frame", "tool_calls_frame", "turns_frame",
           "usage_frame", "gaps_frame", "errors_frame")


def _tables(path: Path, *, full: bool) -> dict[str, pd.DataFrame]:
    from rtwidgets.analysis import _tables as tables

    fs = FrameSource(path)
    if full:
        fs.store("fold", fold_of(fs, full=True))
        assert fs.cached("fold") is not None
    return {name: getattr(tables, name)(fs) for name in _TABLES}


def _assert_same_tables(path: Path) -> None:
    fast, full = _tables(path, full=False), _tables(path, full=True)
    for name in _TABLES:
        pd.testing.assert_frame_equal(fast[name], full[name], obj=name)


_WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


@pytest.mark.parametrize("scenario", ["conversation", "tools", "barge_in"])
async def test_fast_path_tables_equal_the_reducer_on_every_shipped_scenario(
        emulator_factory: Any, tmp_path: Path, scenario: str) -> None:
    import asyncio

    from rtwidgets._call import attach

    emulator = await emulator_factory(speed=25, scenario=scenario)
    call_id = await emulator.start_call("webrtc")
    path = tmp_path / "call.jsonl"
    call = await attach(call_id, client=emulator.client("sk-test-not-a-real-key"),
                        capture=path)
    try:
        if scenario == "tools":
            @call.tool("get_weather")
            async def get_weather(city: str) -> dict[str, Any]:
                return {"temperature": 18}

            await call.update_session(tools=[_WEATHER])
        await emulator.wait_ended(call_id, timeout=60)
        await asyncio.sleep(0.1)
    finally:
        await call.close()
    tables = _tables(path, full=False)
    assert len(tables["turns_frame"]) >= 2
    assert tables["turns_frame"]["latency_first_text_s"].notna().any()
    _assert_same_tables(path)


def test_fast_path_tables_equal_the_reducer_on_a_hostile_corpus(tmp_path: Path) -> None:
    # tests/ is on sys.path (its subfolders are rootdir-relative packages; never `tests.`)
    from protocol.realtime.test_codec import HOSTILE
    from protocol.test_state import MALFORMED

    c, _ = build_standard()
    cut = c.audio_turn(speech_start=12.0, speech_stop=13.0, created=13.3, first_text=13.5,
                       audio=13.6, done=15.2, transcript="cut short", reply="Once upon",
                       usage=USAGE, status="cancelled", reason="turn_detected",
                       audio_cleared=15.1)
    t = 16.0
    for frame in [*HOSTILE, *MALFORMED]:
        if isinstance(frame, dict):
            c.frame(t, frame)
        t += 0.01
    # Wrong types where ids, deltas and usage belong, on frames the fast path reads from
    # columns or skips: a delta whose text is a number or whose ids are objects.
    for frame in [
        {"type": "response.output_audio_transcript.delta", "item_id": cut.agent_item,
         "response_id": {"x": 1}, "delta": "!"},
        {"type": "response.output_text.delta", "item_id": ["x"], "response_id": "r",
         "delta": 5},
        {"type": "response.output_audio.delta", "response_id": [], "delta": ""},
        {"type": "response.done", "response": {"id": "resp_h", "usage": {"input_tokens": "9"},
                                               "output": "x", "status": 3}},
        {"type": "output_audio_buffer.started", "response_id": 7},
        {"type": "input_audio_buffer.speech_stopped", "item_id": {}, "audio_end_ms": "x"},
        {"type": "conversation.item.input_audio_transcription.completed", "item_id": "i",
         "transcript": "x", "usage": {"type": "tokens", "input_tokens": True}},
    ]:
        c.frame(t, frame)
        t += 0.01
    c.bad(t, "{not json")
    path = c.write(tmp_path / "hostile.jsonl")
    _assert_same_tables(path)
    _assert_same_tables(_tricky_capture(tmp_path / "tricky.jsonl")[0])
