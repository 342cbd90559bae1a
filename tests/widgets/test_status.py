"""StatusBar: the numbers it shows and that only a small summary is synced."""

from __future__ import annotations

import asyncio
import json

import pytest

from rtwidgets.protocol.codecs import codec_for
from rtwidgets.protocol.state import SessionState
from rtwidgets.widgets._status import StatusBar, format_elapsed

from .conftest import ScriptedSource, assistant_turn, user_item


def test_shows_call_status_counts_and_tokens(source: ScriptedSource) -> None:
    source.feed(user_item("item_A", "secret words"))
    for ev in assistant_turn("resp_1", "item_B", ["hi"]):
        source.feed(ev)
    source.feed({"type": "response.create", "event_id": "evt_1"}, "out")
    source.feed({"type": "error", "event_id": "e", "error": {"type": "x", "message": "m"}})
    bar = StatusBar(source, cost=False)
    s = bar.summary()
    assert s["call_id"] == source.call_id
    assert s["transport"] == "webrtc"
    assert s["status"] == "live"
    assert s["events_in"] == 6
    assert s["events_out"] == 1
    assert s["errors"] == 1
    assert s["tokens"] == 30
    assert source.call_id in bar.value
    assert "6 in / 1 out" in bar.value
    assert "secret words" not in json.dumps(bar.get_state(), default=str)
    bar.close()


def test_status_reason_and_detached(source: ScriptedSource) -> None:
    source.status.state = "reconnecting"
    source.status.reason = "socket closed (1006)"
    bar = StatusBar(source, cost=False)
    assert "reconnecting (socket closed (1006))" in bar.value
    bar.unbind()
    assert "not attached" in bar.value
    assert repr(bar) == "<StatusBar unbound>"
    bar.close()


def test_an_ended_call_says_ended_once(source: ScriptedSource) -> None:
    # Seen in the Live screenshot: "ended (call ended: the session was closed (…))".
    source.status.state = "ended"
    source.status.reason = "call ended: caller_hangup"
    bar = StatusBar(source, cost=False)
    assert "ended (caller_hangup)" in bar.value
    assert "call ended" not in bar.value
    bar.close()


async def test_redraws_are_batched(source: ScriptedSource) -> None:
    bar = StatusBar(source, cost=False, interval=0.05)
    values: list[str] = []
    bar.observe(lambda c: values.append(c["new"]), names="value")
    for i in range(200):
        source.feed({"type": "input_audio_buffer.committed", "event_id": f"e{i}",
                     "item_id": f"i{i}"})
    await asyncio.sleep(0.08)
    assert 1 <= len(values) <= 3
    assert "200 in / 0 out" in values[-1]
    bar.close()


async def test_elapsed_follows_the_capture_clock(source: ScriptedSource) -> None:
    source.feed(user_item("item_A", "x"), dm=65.0)
    source.status.state = "ended"
    bar = StatusBar(source, cost=False)
    assert bar.summary()["elapsed_s"] == 65.0
    assert "1:05" in bar.value
    bar.close()


def test_cost_is_shown_when_the_model_is_priced(source: ScriptedSource) -> None:
    source.feed({"type": "session.created", "event_id": "e0", "session": {
        "type": "realtime", "id": "sess_1", "model": "gpt-realtime"}})
    evs = assistant_turn("resp_1", "item_B", ["hi"])
    evs[-1]["response"]["usage"] = {
        "total_tokens": 320, "input_tokens": 132, "output_tokens": 188,
        "input_token_details": {"text_tokens": 59, "audio_tokens": 73, "image_tokens": 0,
                                "cached_tokens": 0},
        "output_token_details": {"text_tokens": 41, "audio_tokens": 147}}
    for ev in evs:
        source.feed(ev)
    bar = StatusBar(source)
    cost = bar.summary()["cost_usd"]
    assert cost is not None
    assert cost > 0
    assert f"${cost:.4f}" in bar.value
    bar.close()


def test_unpriced_model_shows_tokens_without_cost(source: ScriptedSource) -> None:
    source.feed({"type": "session.created", "event_id": "e0", "session": {
        "type": "realtime", "id": "sess_1", "model": "no-such-model"}})
    for ev in assistant_turn("resp_1", "item_B", ["hi"]):
        source.feed(ev)
    bar = StatusBar(source)
    assert bar.summary()["cost_usd"] is None
    assert 'data-field="cost"' not in bar.value
    assert bar.summary()["tokens"] == 30
    bar.close()


def test_format_elapsed() -> None:
    assert format_elapsed(0) == "0:00"
    assert format_elapsed(65.9) == "1:05"
    assert format_elapsed(3725) == "1:02:05"


def test_responses_before_the_session_are_priced_once_the_model_is_known(
    source: ScriptedSource,
) -> None:
    evs = assistant_turn("resp_1", "item_B", ["hi"])
    evs[-1]["response"]["usage"] = {
        "total_tokens": 320, "input_tokens": 132, "output_tokens": 188,
        "input_token_details": {"text_tokens": 59, "audio_tokens": 73, "image_tokens": 0,
                                "cached_tokens": 0},
        "output_token_details": {"text_tokens": 41, "audio_tokens": 147}}
    for ev in evs:
        source.feed(ev)
    bar = StatusBar(source, cost_every=0.0)
    assert bar.summary()["cost_usd"] is None  # no model yet: tokens only
    source.feed({"type": "session.updated", "event_id": "e0", "session": {
        "type": "realtime", "id": "sess_1", "model": "gpt-realtime"}})
    bar.refresh()
    cost = bar.summary()["cost_usd"]
    assert cost is not None
    assert cost > 0
    bar.close()


def test_cost_includes_input_transcription(source: ScriptedSource) -> None:
    source.feed({"type": "session.created", "event_id": "e0", "session": {
        "type": "realtime", "id": "sess_1", "model": "gpt-realtime",
        "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}}}})
    source.feed({"type": "conversation.item.input_audio_transcription.completed",
                 "event_id": "e1", "item_id": "item_A", "content_index": 0,
                 "transcript": "hello", "usage": {
                     "type": "tokens", "total_tokens": 24, "input_tokens": 16,
                     "input_token_details": {"text_tokens": 0, "audio_tokens": 16},
                     "output_tokens": 8}})
    bar = StatusBar(source)
    bar.refresh()
    # gpt-4o-transcribe: 16 audio tokens at $6 and 8 output tokens at $10 per 1M
    assert bar.summary()["cost_usd"] == pytest.approx(176 / 1e6)
    bar.close()


def test_the_bar_names_the_api_the_call_speaks() -> None:
    """A person reading the bar sees which API the console watches (issue 13 item 5)."""
    realtime = ScriptedSource()
    bar = StatusBar(realtime)
    assert '<span data-field="api"><b' in bar.value
    assert ">api</b>Realtime</span>" in bar.value
    bar.close()
    live = ScriptedSource("live_u0_test0001")
    live.state = SessionState(codec_for("live"))
    bar = StatusBar(live)
    assert ">api</b>GPT-Live</span>" in bar.value
    assert "Realtime" not in bar.value
    bar.close()
