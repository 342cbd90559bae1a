"""Transcript: items by conversation order, growing live, batched, redacted on request."""

from __future__ import annotations

import asyncio
import json

from rtwidgets.widgets._transcript import Transcript

from .conftest import (
    ScriptedSource,
    assistant_turn,
    browser_says,
    clear_messages,
    custom_messages,
    user_item,
)


def test_snapshot_holds_both_sides_in_order(source: ScriptedSource) -> None:
    source.feed(user_item("item_A", "What's the weather?"))
    for ev in assistant_turn("resp_1", "item_B", ["It is ", "sunny."]):
        source.feed(ev)
    view = Transcript(source)
    snap = custom_messages(view, "snapshot")[-1]
    assert [(i["id"], i["role"]) for i in snap["items"]] == [
        ("item_A", "user"), ("item_B", "assistant")]
    assert snap["items"][0]["text"] == "What's the weather?"
    assert snap["items"][1]["text"] == "It is sunny."
    assert snap["total"] == 2
    view.close()


async def test_text_grows_live_in_batched_upserts(source: ScriptedSource) -> None:
    view = Transcript(source, interval=0.03)
    clear_messages(view)
    evs = assistant_turn("resp_1", "item_B", ["one ", "two ", "three ", "four"])
    for ev in evs[:3]:  # created, output item added, first delta
        source.feed(ev)
    for ev in evs[3:6]:  # three more deltas in the same instant
        source.feed(ev)
    await asyncio.sleep(0.06)
    batches = custom_messages(view, "batch")
    assert len(batches) == 2  # one immediate flush (item added), then the rest folded
    assert batches[0]["items"][0]["text"] == ""
    assert batches[0]["items"][0]["status"] == "in_progress"
    assert batches[-1]["items"] == [batches[-1]["items"][0]]  # one upsert for item_B
    assert batches[-1]["items"][0]["text"] == "one two three four"
    view.close()


async def test_interruption_and_truncation_are_marked(source: ScriptedSource) -> None:
    view = Transcript(source, interval=0.02)
    for ev in assistant_turn("resp_1", "item_B", ["Let me tell", " you a long"],
                             status="cancelled"):
        source.feed(ev)
    source.feed({"type": "conversation.item.truncated", "event_id": "e_t", "item_id": "item_B",
                 "content_index": 0, "audio_end_ms": 1200})
    await asyncio.sleep(0.05)
    item = custom_messages(view, "batch")[-1]["items"][-1]
    assert item["id"] == "item_B"
    assert item.get("interrupted") is True
    assert item["truncated_ms"] == 1200
    view.close()


def test_tool_calls_are_inline(source: ScriptedSource) -> None:
    source.feed({"type": "response.output_item.added", "event_id": "e1", "response_id": "r1",
                 "output_index": 0, "item": {"id": "item_F", "type": "function_call",
                                             "status": "in_progress", "name": "get_weather",
                                             "call_id": "call_1", "arguments": ""}})
    source.feed({"type": "response.function_call_arguments.delta", "event_id": "e2",
                 "response_id": "r1", "item_id": "item_F", "output_index": 0,
                 "call_id": "call_1", "delta": '{"city":"Paris"}'})
    view = Transcript(source)
    item = view.items()[0]
    assert item["kind"] == "function_call"
    assert item["name"] == "get_weather"
    assert item["call_id"] == "call_1"
    assert item["arguments"] == '{"city":"Paris"}'
    view.close()


def test_redacted_transcript_sends_lengths_only(source: ScriptedSource) -> None:
    source.feed(user_item("item_A", "my card number is 4242"))
    view = Transcript(source, private=True)
    browser_says(view, {"kind": "snapshot_request"})
    sent = json.dumps(custom_messages(view))
    assert "4242" not in sent
    assert "22 chars hidden" in sent
    view.close()


def test_no_text_in_synced_state_and_safe_repr(source: ScriptedSource) -> None:
    source.feed(user_item("item_A", "private words"))
    view = Transcript(source)
    state = json.dumps(view.get_state(), default=str)
    assert "private words" not in state
    assert "item_A" not in state
    assert repr(view) == f"<Transcript call_id={source.call_id!r}>"
    view.close()


async def test_late_view_gets_bounded_snapshot(source: ScriptedSource) -> None:
    view = Transcript(source, max_rows=3)
    for i in range(6):
        source.feed(user_item(f"item_{i}", f"line {i}"))
    clear_messages(view)
    browser_says(view, {"kind": "snapshot_request"})
    snap = custom_messages(view, "snapshot")[-1]
    assert [i["id"] for i in snap["items"]] == ["item_3", "item_4", "item_5"]
    assert snap["total"] == 6
    view.close()


async def test_frames_of_no_item_send_nothing(source: ScriptedSource) -> None:
    view = Transcript(source, interval=0.02)
    clear_messages(view)
    source.feed({"type": "rate_limits.updated", "event_id": "e1", "rate_limits": []})
    await asyncio.sleep(0.04)
    assert custom_messages(view) == []
    view.close()


def test_tool_output_shows_under_its_call(source: ScriptedSource) -> None:
    source.feed({"type": "response.output_item.added", "event_id": "e1", "response_id": "r1",
                 "output_index": 0, "item": {"id": "item_F", "type": "function_call",
                                             "status": "in_progress", "name": "get_weather",
                                             "call_id": "call_1", "arguments": ""}})
    source.feed({"type": "response.function_call_arguments.done", "event_id": "e2",
                 "response_id": "r1", "item_id": "item_F", "output_index": 0,
                 "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'})
    source.feed({"type": "conversation.item.added", "event_id": "e3",
                 "previous_item_id": "item_F",
                 "item": {"id": "item_O", "type": "function_call_output", "call_id": "call_1",
                          "output": '{"temperature":18}'}})
    view = Transcript(source)
    call, output = view.items()
    assert call["output"] == '{"temperature":18}'
    assert call["tool_status"] == "answered"
    assert output["kind"] == "function_call_output"
    assert output["inline"] is True
    view.close()


async def test_pending_tool_badge_turns_unanswered_when_the_call_ends(
    source: ScriptedSource,
) -> None:
    source.feed({"type": "response.output_item.added", "event_id": "e1", "response_id": "r1",
                 "output_index": 0, "item": {"id": "item_F", "type": "function_call",
                                             "status": "in_progress", "name": "get_weather",
                                             "call_id": "call_1", "arguments": ""}})
    source.feed({"type": "response.function_call_arguments.done", "event_id": "e2",
                 "response_id": "r1", "item_id": "item_F", "output_index": 0,
                 "call_id": "call_1", "name": "get_weather", "arguments": "{}"})
    view = Transcript(source, interval=0.01)
    assert view.items()[0]["tool_status"] == "pending"
    clear_messages(view)
    source.status.state = "ended"
    source.feed({"type": "rtwidgets.status", "status": "ended", "reason": "caller hung up"},
                direction="meta")
    await asyncio.sleep(0.05)
    [batch] = custom_messages(view, "batch")
    assert [(i["id"], i["tool_status"]) for i in batch["items"]] == [("item_F", "unanswered")]


async def test_the_final_text_of_a_content_part_replaces_a_first_word(
        source: ScriptedSource) -> None:
    # The transcript's own .done never arrived (a gap): the part's done carries the sentence.
    evs = assistant_turn("resp_1", "item_B", ["Sure"])
    for ev in evs[:3]:  # created, output item added, the one delta
        source.feed(ev)
    view = Transcript(source, interval=0.02)
    assert custom_messages(view, "snapshot")[-1]["items"][0]["text"] == "Sure"
    clear_messages(view)
    source.feed({"type": "response.content_part.done", "event_id": "e_cp",
                 "response_id": "resp_1", "item_id": "item_B", "output_index": 0,
                 "content_index": 0,
                 "part": {"type": "audio", "transcript": "Sure, I can help with that."}})
    await asyncio.sleep(0.05)
    batch = custom_messages(view, "batch")[-1]
    assert batch["items"][0]["id"] == "item_B"
    assert batch["items"][0]["text"] == "Sure, I can help with that."
    assert view.items()[0]["text"] == "Sure, I can help with that."
    view.close()


def test_a_list_where_a_response_id_belongs_is_shown_not_raised(source: ScriptedSource) -> None:
    # Found by tests/test_hostile_frames.py: response.id = [] reached a dict lookup
    # ("unhashable type: 'list'") and the view reported a failed frame.
    view = Transcript(source)
    source.feed(user_item("item_A", "Hello?"))
    source.feed({"type": "response.done", "event_id": "event_X",
                 "response": {"id": [], "output": [{"id": "item_A"}]}})
    assert view.last_error is None
    view.close()
