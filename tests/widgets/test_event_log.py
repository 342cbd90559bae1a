"""EventLog: the messages it sends the browser for scripted event streams."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from rtwidgets.widgets._event_log import EventLog, short_name, summarize

from .conftest import (
    ScriptedSource,
    assistant_turn,
    browser_says,
    clear_messages,
    custom_messages,
    user_item,
)


def test_bind_sends_snapshot_of_existing_frames(source: ScriptedSource) -> None:
    source.feed(user_item("item_A", "hello there"))
    log = EventLog(source)
    snaps = custom_messages(log, "snapshot")
    assert len(snaps) == 1
    assert snaps[0]["total"] == 1
    assert snaps[0]["shown"] == 1
    assert snaps[0]["events"] == 1
    row = snaps[0]["rows"][0]
    assert row["type"] == "conversation.item.added"
    assert row["dir"] == "in"
    assert row["cat"] == "conversation"
    assert row["ms"] == 1
    assert "hello there" in row["sum"]
    assert snaps[0]["call_id"] == source.call_id
    log.close()


async def test_first_event_after_idle_flushes_at_once_then_batches(
    source: ScriptedSource,
) -> None:
    log = EventLog(source, interval=0.05)
    clear_messages(log)
    source.feed(user_item("item_A", "one"))
    assert len(custom_messages(log, "batch")) == 1  # immediate: the call was idle
    for i in range(20):
        source.feed({"type": "input_audio_buffer.speech_started", "event_id": f"e{i}",
                     "audio_start_ms": i, "item_id": f"item_{i}"})
    assert len(custom_messages(log, "batch")) == 1  # the rest waits for the timer
    await asyncio.sleep(0.08)
    batches = custom_messages(log, "batch")
    assert len(batches) == 2
    assert len(batches[1]["rows"]) == 20
    assert batches[1]["total"] == 21
    assert batches[1]["events"] == 21
    log.close()


async def test_at_most_ten_flushes_a_second_at_5000_events_a_second(
    source: ScriptedSource,
) -> None:
    log = EventLog(source)
    clear_messages(log)
    loop = asyncio.get_running_loop()
    start = loop.time()
    n = 0
    # 5,000 events/s for 0.5 s, in 5 ms slices of 25 events
    while loop.time() - start < 0.5:
        for _ in range(25):
            source.feed({"type": "input_audio_buffer.speech_started", "event_id": f"e{n}",
                         "audio_start_ms": n, "item_id": f"item_{n}"})
            n += 1
        await asyncio.sleep(0.005)
    elapsed = loop.time() - start
    await asyncio.sleep(0.15)
    batches = custom_messages(log, "batch")
    assert len(batches) <= 10 * elapsed + 2  # ≤ 10/s (+ the immediate one and the tail)
    assert sum(len(b["rows"]) for b in batches) == n  # nothing lost
    log.close()


async def test_deltas_fold_into_their_items_row(source: ScriptedSource) -> None:
    log = EventLog(source, interval=0.02)
    for ev in assistant_turn("resp_1", "item_B", ["Hel", "lo ", "world"]):
        source.feed(ev)
    await asyncio.sleep(0.05)
    rows = log.rows()
    types = [r["type"] for r in rows]
    assert types.count("response.output_audio_transcript.delta") == 1
    delta_row = rows[types.index("response.output_audio_transcript.delta")]
    assert delta_row["n"] == 3
    assert "item_B" in delta_row["sum"]
    assert "×3" in delta_row["sum"]
    assert log.counts == {"shown": 4, "total": 4, "events": 6}
    # what reached the browser: the folded row once, with n == 3 in its last form
    sent = {}
    for msg in custom_messages(log):
        for r in msg.get("rows", []) + msg.get("updates", []):
            sent[r["id"]] = r
    assert sent[delta_row["id"]]["n"] == 3
    log.close()


async def test_updates_to_folded_rows_arrive_as_updates(source: ScriptedSource) -> None:
    log = EventLog(source, interval=0.02)
    evs = assistant_turn("resp_1", "item_B", ["a", "b", "c", "d"])
    for ev in evs[:3]:  # created, item added, first delta
        source.feed(ev)
    await asyncio.sleep(0.04)
    clear_messages(log)
    for ev in evs[3:6]:  # three more deltas
        source.feed(ev)
    await asyncio.sleep(0.04)
    batches = custom_messages(log, "batch")
    assert batches
    assert batches[-1]["rows"] == []
    updates = [u for b in batches for u in b["updates"]]
    assert updates[-1]["n"] == 4
    log.close()


def test_snapshot_request_from_a_late_view_gets_the_window(source: ScriptedSource) -> None:
    log = EventLog(source, max_rows=5)
    for i in range(12):
        source.feed({"type": "input_audio_buffer.committed", "event_id": f"e{i}",
                     "item_id": f"item_{i}"})
    clear_messages(log)
    browser_says(log, {"kind": "snapshot_request"})
    snaps = custom_messages(log, "snapshot")
    assert len(snaps) == 1
    assert [r["seq"] for r in snaps[0]["rows"]] == [7, 8, 9, 10, 11]  # bounded window
    assert snaps[0]["total"] == 12
    assert snaps[0]["shown"] == 12
    log.close()


async def test_batches_never_carry_more_than_max_rows(source: ScriptedSource) -> None:
    log = EventLog(source, max_rows=10, interval=0.02)
    source.feed({"type": "input_audio_buffer.cleared", "event_id": "first"})
    for i in range(50):
        source.feed({"type": "input_audio_buffer.committed", "event_id": f"e{i}",
                     "item_id": f"item_{i}"})
    await asyncio.sleep(0.05)
    batch = custom_messages(log, "batch")[-1]
    assert len(batch["rows"]) == 10
    assert batch["rows"][-1]["seq"] == 50
    assert log.counts["total"] == 51
    log.close()


def test_filters_by_category_and_type_with_counts(source: ScriptedSource) -> None:
    for ev in assistant_turn("resp_1", "item_B", ["x", "y"]):
        source.feed(ev)
    source.feed({"type": "session.update", "event_id": "evt_c1",
                 "session": {"type": "realtime", "instructions": "be brief"}}, "out")
    log = EventLog(source)
    clear_messages(log)
    log.set_filter(include=["response"])
    snap = custom_messages(log, "snapshot")[-1]
    assert {r["cat"] for r in snap["rows"]} == {"response"}
    assert (snap["shown"], snap["total"]) == (3, 5)
    assert snap["filter"]["include"] == ["response"]

    browser_says(log, {"kind": "filter", "exclude": ["response", "transcript"]})
    snap = custom_messages(log, "snapshot")[-1]
    assert [r["type"] for r in snap["rows"]] == ["session.update"]
    assert (snap["shown"], snap["total"]) == (1, 5)

    log.set_filter(exclude_types=["response.done"])
    assert log.counts["shown"] == 4
    log.close()


async def test_new_rows_respect_the_filter(source: ScriptedSource) -> None:
    log = EventLog(source, interval=0.02)
    log.set_filter(include=["error"])
    clear_messages(log)
    source.feed({"type": "response.created", "event_id": "e1",
                 "response": {"id": "resp_1", "status": "in_progress"}})
    source.feed({"type": "error", "event_id": "e2",
                 "error": {"type": "invalid_request_error", "code": "x", "message": "bad"}})
    await asyncio.sleep(0.05)
    rows = [r for b in custom_messages(log, "batch") for r in b["rows"]]
    assert [r["type"] for r in rows] == ["error"]
    assert custom_messages(log, "batch")[-1]["shown"] == 1
    assert custom_messages(log, "batch")[-1]["total"] == 2
    log.close()


def test_search_matches_type_summary_and_ids(source: ScriptedSource) -> None:
    source.feed(user_item("item_A", "the weather in Paris"))
    source.feed(user_item("item_B", "tell me a joke"))
    log = EventLog(source)
    log.set_filter(search="PARIS")
    assert log.counts["shown"] == 1
    snap = custom_messages(log, "snapshot")[-1]
    assert "item_A" in snap["rows"][0]["sum"]
    log.set_filter(search="")
    assert log.counts["shown"] == 2
    log.close()


def test_bad_filter_names_the_field_and_changes_nothing(source: ScriptedSource) -> None:
    log = EventLog(source)
    with pytest.raises(ValueError, match=r"include: unknown category nope\. Fix: use any of"):
        log.set_filter(include=["nope"])
    assert log.filter.is_all
    clear_messages(log)
    browser_says(log, {"kind": "filter", "exclude": 5})
    errors = custom_messages(log, "error")
    assert errors
    assert "exclude: expected a list of strings" in errors[0]["message"]
    assert custom_messages(log, "snapshot") == []
    log.close()


def test_errors_are_highlighted_and_linked_to_the_client_event(
    source: ScriptedSource,
) -> None:
    source.feed({"type": "response.create", "event_id": "evt_client_7"}, "out")
    source.feed({"type": "error", "event_id": "event_9", "error": {
        "type": "invalid_request_error", "code": "conversation_already_has_active_response",
        "message": "Conversation already has an active response", "param": None,
        "event_id": "evt_client_7"}})
    log = EventLog(source)
    rows = log.rows()
    assert rows[1]["err"] is True
    assert rows[1]["link"] == rows[0]["id"]
    assert rows[1]["link_type"] == "response.create"
    assert rows[1]["sum"].startswith("conversation_already_has_active_response:")
    assert "err" not in rows[0]
    log.close()


def test_detail_is_fetched_by_row_on_demand(source: ScriptedSource) -> None:
    ev = user_item("item_A", "hello")
    source.feed(ev)
    log = EventLog(source)
    snap = custom_messages(log, "snapshot")[0]
    assert "json" not in json.dumps(snap["rows"])  # rows carry no JSON of the frame
    clear_messages(log)
    browser_says(log, {"kind": "detail_request", "row": snap["rows"][0]["id"]})
    detail = custom_messages(log, "detail")
    assert len(detail) == 1
    assert json.loads(detail[0]["json"]) == ev
    browser_says(log, {"kind": "detail_request", "row": 99})
    assert "row: 99 is not a row id" in custom_messages(log, "error")[0]["message"]
    log.close()


def test_redact_hides_text_in_rows_and_details(source: ScriptedSource) -> None:
    source.feed(user_item("item_A", "my secret plans"))
    source.feed({"type": "session.update", "event_id": "evt_1",
                 "session": {"type": "realtime", "instructions": "whisper the password"}},
                "out")
    log = EventLog(source, redact=True)
    everything = json.dumps(custom_messages(log))
    assert "secret plans" not in everything
    browser_says(log, {"kind": "detail_request", "row": 0})
    browser_says(log, {"kind": "detail_request", "row": 1})
    everything = json.dumps(custom_messages(log))
    assert "secret plans" not in everything
    assert "whisper the password" not in everything
    assert "chars hidden" in everything
    log.close()


async def test_pause_sends_counts_only_and_resume_resends_window(
    source: ScriptedSource,
) -> None:
    log = EventLog(source, interval=0.02)
    browser_says(log, {"kind": "pause", "paused": True})
    clear_messages(log)
    source.feed(user_item("item_A", "hi"))
    await asyncio.sleep(0.04)
    assert custom_messages(log, "batch") == []
    assert custom_messages(log, "counts")[-1]["total"] == 1
    browser_says(log, {"kind": "pause", "paused": False})
    snap = custom_messages(log, "snapshot")[-1]
    assert [r["type"] for r in snap["rows"]] == ["conversation.item.added"]
    assert snap["paused"] is False
    log.close()


def test_no_content_in_synced_state(source: ScriptedSource) -> None:
    source.feed(user_item("item_A", "transcript words here"))
    log = EventLog(source)
    state = json.dumps(log.get_state(), default=str)
    assert "transcript words" not in state
    assert "item_A" not in state
    assert repr(log) == f"<EventLog call_id={source.call_id!r}>"
    log.close()


def test_unbind_stops_listening_and_clears(source: ScriptedSource) -> None:
    source.feed(user_item("item_A", "x"))
    log = EventLog(source)
    assert source.subscribers == 1
    log.unbind()
    assert source.subscribers == 0
    assert custom_messages(log, "snapshot")[-1]["rows"] == []
    assert repr(log) == "<EventLog unbound>"
    log.close()
    log.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        log.bind(source)


def test_bind_refuses_a_non_source() -> None:
    log = EventLog()
    with pytest.raises(TypeError, match=r"source: str lacks call_id, state, frames, subscribe"):
        log.bind("rtc_123")
    log.close()


def test_summaries_of_common_events() -> None:
    assert summarize({"type": "response.done", "response": {
        "id": "resp_1", "status": "cancelled", "status_details": {"reason": "turn_detected"},
        "usage": {"total_tokens": 42}}}, "response.done") == (
        "resp_1 cancelled (turn_detected) 42 tokens")
    assert summarize({"type": "session.update", "session": {
        "instructions": "x", "audio": {"output": {"voice": "ash"}}}}, "session.update") == (
        "set instructions, audio.output.voice")
    assert summarize({"type": "conversation.item.truncated", "item_id": "item_1",
                      "audio_end_ms": 1500}, "conversation.item.truncated") == (
        "item_1 at 1500 ms")
    assert summarize({"type": "response.function_call_arguments.done", "call_id": "call_1",
                      "name": "get_weather", "arguments": '{"city":"Paris"}'},
                     "response.function_call_arguments.done", redact=True) == (
        "call_1 get_weather(‹16 chars hidden›)")


# -- rows are light: the record is the source's capture, not the log's -----------------------


class StoreSource(ScriptedSource):
    """A source that keeps frames the way a live Call does: as capture lines in a FrameStore,
    parsed again on every access; only the subscriber gets the parsed frame."""

    def __init__(self) -> None:
        from rtwidgets._capture import FrameEncoder, FrameStore

        super().__init__()
        self.store = FrameStore()
        self.encoder = FrameEncoder()

    def frames(self) -> Any:
        return self.store

    def feed(self, event: dict[str, Any], direction: str = "in", *, dm: float = 0.001) -> Any:
        from rtwidgets._capture import frame_from_line

        self.m += dm
        line, _ev, _type, flags = self.encoder.encode(
            direction, json.dumps(event), 1_764_170_000 + self.m, self.m)
        self.store.append(line, flags)
        frame = frame_from_line(line, flags)
        self.state.feed(frame.event, direction=direction, t=frame.t)
        for cb in list(self._subs):
            cb(frame)
        return frame


def _big_turn(n: int, payload: int) -> list[dict[str, Any]]:
    """A user item, an event from a newer server carrying ``payload`` characters that
    nothing but a log holding frames would keep, and three deltas of one reply."""
    evs: list[dict[str, Any]] = [
        user_item(f"item_u{n}", f"question {n}"),
        {"type": "future.event", "event_id": f"ev_f{n}", "blob": "x" * payload},
    ]
    for word in ("Hello", " there", "!"):
        evs.append({"type": "response.output_text.delta", "event_id": f"ev_{n}",
                    "response_id": f"resp_{n}", "item_id": f"item_a{n}", "output_index": 0,
                    "content_index": 0, "delta": word})
    return evs


def test_rows_keep_no_parsed_frame_and_detail_rereads_the_capture() -> None:
    source = StoreSource()
    log = EventLog(source)
    for ev in _big_turn(1, 50):
        source.feed(ev)
    for row in log._rows:  # only scalars and short strings: no event dict, no Frame
        for name in row.__slots__:
            value = getattr(row, name)
            assert value is None or isinstance(value, (int, float, str, bool)), (name, value)
    assert [r["n"] for r in log.rows()] == [1, 1, 3]
    assert log.rows()[1]["sum"] == "blob"
    assert log.rows()[2]["sum"] == "item_a1 ×3 Hello there!"
    detail = log.detail(2)
    assert (detail["seq"], detail["last_seq"], detail["count"]) == (2, 4, 3)
    assert json.loads(detail["json"])["delta"] == "Hello"
    assert json.loads(detail["last_json"])["delta"] == "!"
    assert json.loads(log.detail(0)["json"])["item"]["id"] == "item_u1"
    log.close()


def test_memory_per_row_does_not_grow_with_the_events(monkeypatch: pytest.MonkeyPatch) -> None:
    # 10 kB events: a log holding its frames would cost ≥ 10 kB a row; a light row is
    # a few hundred bytes whatever the event size.
    import gc
    import tracemalloc

    import comm
    from comm.base_comm import BaseComm

    class DroppingComm(BaseComm):  # the recording comm would keep every batch it is sent
        def publish_msg(self, *args: Any, **kwargs: Any) -> None:
            del args, kwargs

    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: DroppingComm(*a, **k))

    def traced_growth(with_log: bool) -> tuple[int, int]:
        source = StoreSource()
        log = EventLog(source) if with_log else None
        for n in range(20):  # warm-up: types seen, dicts sized
            for ev in _big_turn(n, 10_000):
                source.feed(ev)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for n in range(20, 420):
            for ev in _big_turn(n, 10_000):
                source.feed(ev)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        rows = log.counts["total"] - 60 if log is not None else 0
        if log is not None:
            log.close()
        return grown, rows

    tracemalloc.start()
    try:
        without, _ = traced_growth(False)
        with_log, rows = traced_growth(True)
    finally:
        tracemalloc.stop()
    assert rows == 1200
    per_row = (with_log - without) / rows
    assert per_row < 1_000, f"{per_row:.0f} bytes per row"


def test_a_frame_the_source_no_longer_holds_is_a_clear_error() -> None:
    source = StoreSource()
    log = EventLog(source)
    source.feed(user_item("item_A", "hi"))
    source.store.clear()  # as a replay does on a seek back, before it plays frames again
    with pytest.raises(ValueError, match=r"row: frame 0 .* Fix: call resync\(\)"):
        log.detail(0)
    log.close()


def test_rows_are_compact_beyond_their_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    # Filters need every row, so rows are kept for the whole call; an object per row (with
    # its own ints and float) cost ~200 bytes beyond the summary and grew the soak's kernel
    # ~1.5 MB an hour (a str per summary adds ~50 more). Columns cost ~30 bytes (plus
    # amortised array growth and, with no loop to drain the batcher here, pending row ids).
    import gc
    import tracemalloc

    import comm
    from comm.base_comm import BaseComm

    class DroppingComm(BaseComm):
        def publish_msg(self, *args: Any, **kwargs: Any) -> None:
            del args, kwargs

    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: DroppingComm(*a, **k))

    def events(n: int) -> list[dict[str, Any]]:
        return [{"type": "input_audio_buffer.speech_started", "event_id": f"ev_{n}",
                 "item_id": f"item_{n}", "audio_start_ms": n * 10}]

    def traced_growth(with_log: bool) -> tuple[int, int, int]:
        source = StoreSource()
        log = EventLog(source) if with_log else None
        for n in range(50):
            for ev in events(n):
                source.feed(ev)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for n in range(50, 4050):
            for ev in events(n):
                source.feed(ev)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        text = 0
        if log is not None:
            text = sum(len(r["sum"].encode()) for r in log.rows()[50:])  # summary text
            log.close()
        return grown, text, 4000

    tracemalloc.start()
    try:
        without, _, _ = traced_growth(False)
        with_log, text, rows = traced_growth(True)
    finally:
        tracemalloc.stop()
    beyond = (with_log - without - text) / rows
    assert beyond < 130, f"{beyond:.0f} bytes per row beyond its summary"  # was ~315


def test_long_event_names_keep_their_last_segment() -> None:
    delta = short_name("response.function_call_arguments.delta")
    done = short_name("response.function_call_arguments.done")
    assert delta == "response.func…arguments.delta"
    assert done.endswith("arguments.done")
    assert delta != done  # the two rows used to read the same "response.function_call_arg…"
    for name in ("response.function_call_arguments.delta",
                 "conversation.item.input_audio_transcription.completed",
                 "x" * 60, "a." + "y" * 60):
        assert len(short_name(name)) == 29
    assert short_name("response.done") == "response.done"
    assert short_name("a." + "y" * 60).endswith("y" * 28)


def test_rows_carry_the_cut_name_only_when_cut(source: ScriptedSource) -> None:
    source.feed({"type": "response.function_call_arguments.delta", "event_id": "e1",
                 "response_id": "resp_1", "item_id": "item_F", "output_index": 0,
                 "call_id": "call_1", "delta": "{"})
    source.feed({"type": "response.created", "event_id": "e2",
                 "response": {"id": "resp_2", "status": "in_progress"}})
    log = EventLog(source)
    rows = custom_messages(log, "snapshot")[-1]["rows"]
    assert rows[0]["type"] == "response.function_call_arguments.delta"
    assert rows[0]["short"] == "response.func…arguments.delta"
    assert "short" not in rows[1]
    log.close()


def test_one_event_count_in_events_filtered_or_not(source: ScriptedSource) -> None:
    for ev in assistant_turn("resp_1", "item_B", ["x", "y", "z"]):
        source.feed(ev)  # 6 events, 4 rows (3 deltas fold into one)
    log = EventLog(source)
    assert custom_messages(log, "snapshot")[-1]["label"] == "6 events"
    assert log.count_label == "6 events"
    log.set_filter(include_types=["response.output_audio_transcript.delta"])
    snap = custom_messages(log, "snapshot")[-1]
    assert snap["label"] == "3 of 6 events shown"  # the folded row counts its 3 events
    source.feed({"type": "response.output_audio_transcript.delta", "event_id": "e9",
                 "response_id": "resp_1", "item_id": "item_B", "output_index": 0,
                 "content_index": 0, "delta": "!"})
    assert log.count_label == "4 of 7 events shown"
    log.clear_filter()
    assert log.count_label == "7 events"
    assert log.filter.is_all
    assert custom_messages(log, "snapshot")[-1]["filter"]["search"] == ""
    log.close()


def test_a_new_source_starts_unfiltered_but_a_replay_reset_keeps_the_filter(
    source: ScriptedSource,
) -> None:
    source.feed(user_item("item_A", "the weather in Paris"))
    log = EventLog(source)
    browser_says(log, {"kind": "filter", "include": ["conversation"], "search": "paris"})
    assert not log.filter.is_all
    log._on_reset()  # a replay seeked back: same call, the person's filter stays
    assert log.filter.search == "paris"
    second = ScriptedSource("rtc_u1_test0002")
    second.feed(user_item("item_Z", "another call"))
    log.bind(second)  # attach: a new call
    assert log.filter.is_all
    snap = custom_messages(log, "snapshot")[-1]
    assert snap["filter"] == {"include": [], "exclude": [], "include_types": [],
                              "exclude_types": [], "search": ""}
    assert snap["label"] == "1 event"
    assert [r["type"] for r in snap["rows"]] == ["conversation.item.added"]
    log.close()


def test_a_delta_whose_content_index_is_not_a_number_folds_by_its_item(
        source: ScriptedSource) -> None:
    # Issue 11 item 8: a list there raised "unhashable type" in the view.
    log = EventLog(source)
    for index in ([], {"a": 1}, 0):
        source.feed({"type": "response.output_audio_transcript.delta", "event_id": "e",
                     "response_id": "resp_1", "item_id": "item_B", "content_index": index,
                     "delta": "x"})
    assert log.last_error is None
    assert log.frame_errors == 0
    assert [r["type"] for r in log.rows()] == ["response.output_audio_transcript.delta"] * 2
    log.close()


def test_a_lone_surrogate_is_shown_and_every_message_can_be_sent(source: ScriptedSource) -> None:
    from jupyter_client.session import json_packer

    event = json.loads('{"type": "error", "event_id": "e1", "error": {"type": "x",'
                       ' "message": "bad \\ud800 text", "code": NaN}}')
    source.feed(event)
    log = EventLog(source)
    source.feed(event)
    log._batcher.flush_now()
    assert log.last_error is None
    assert log.frame_errors == 0
    assert "bad" in log.rows()[0]["sum"]
    log.detail(0)
    for _msg_type, data in log.comm.messages:
        json_packer(data)  # what the kernel does with every message
    assert any("bad \ufffd text" in json.dumps(m, ensure_ascii=False)
               for m in custom_messages(log))
    log.close()
