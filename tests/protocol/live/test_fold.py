"""Live readers: tool calls inside response.event, cumulative seconds, close reasons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rtwidgets.protocol.live.fold import (
    FunctionCall,
    close_reason,
    context_ratio,
    function_call,
    unwrap,
    usage_seconds,
)

FRAMES = Path(__file__).resolve().parents[2] / "reality" / "frames"


def trace(name: str) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = json.loads((FRAMES / f"live_spike_{name}.json").read_text()
                                              )["frames"]
    return frames


def test_function_calls_come_from_output_item_done_of_the_real_trace() -> None:
    calls = [c for f in trace("spoken") if (c := function_call(f)) is not None]
    assert calls == [FunctionCall("call_n8kYXHgMwoBeMnzDhakmY8fQ", "lookup_passage",
                                  '{"topic":"lighthouse"}', "item_EUrPpQobYmB54id9y3MY5",
                                  calls[0].item_id)]
    assert calls[0].item_id is not None
    assert calls[0].item_id.startswith("fc_")


def test_usage_and_close_reason_of_the_real_traces() -> None:
    frames = trace("allow")
    assert [usage_seconds(f) for f in frames if usage_seconds(f) is not None] == [15.0, 15.0]
    assert [close_reason(f) for f in frames if close_reason(f)] == ["close_requested"]
    assert next(context_ratio(f) for f in frames if context_ratio(f) is not None) < 0.1


def test_readers_return_none_on_anything_else() -> None:
    for junk in (None, [], {"type": "response.event"}, {"type": "response.event", "event": 3},
                 {"type": "session.usage.updated", "usage": {"seconds": True}},
                 {"type": "session.closed", "usage": "x"}):
        assert function_call(junk) is None
        assert usage_seconds(junk) is None
        assert context_ratio(junk) is None
    assert unwrap({"type": "response.event", "event": {"type": "error"}}) == (
        None, {"type": "error"})
    assert close_reason({"type": "session.closed"}) == "unknown"
    assert close_reason({"type": "session.closed", "reason": "brand_new"}) == "brand_new"
