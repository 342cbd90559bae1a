"""Test doubles for the widget tests: a recording comm and a scripted source.

The recording comm replaces the kernel comm (ipywidgets' own tests do the same with
``setup_test_comm``): every message a widget would send to the browser lands in
``comm.messages`` so tests can assert what the front end receives. ``browser_says`` plays a
custom message from the front end into the widget, as a rendered view would.

``ScriptedSource`` implements the duck-typed source contract (docs/internals.md "call"):
``call_id``, ``state`` (the real ``SessionState``), ``status``, ``stats``,
``frames()`` and ``subscribe``; ``feed`` plays one frame through state then subscribers, in
the same order a live ``Call`` does.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm

from rtwidgets.protocol.catalog import is_known
from rtwidgets.protocol.state import SessionState


class RecordingComm(BaseComm):
    """A comm that keeps what it would publish."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        super().__init__(*args, **kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        self.messages.append((msg_type, data or {}))


@pytest.fixture(autouse=True)
def recording_comm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: RecordingComm(*a, **k))


def custom_messages(widget: Any, kind: str | None = None) -> list[dict[str, Any]]:
    """The custom messages ``widget`` sent to the front end (optionally of one kind)."""
    out = []
    for msg_type, data in widget.comm.messages:
        if msg_type == "comm_msg" and data.get("method") == "custom":
            content = data["content"]
            if kind is None or content.get("kind") == kind:
                out.append(content)
    return out


def clear_messages(widget: Any) -> None:
    widget.comm.messages.clear()


def browser_says(widget: Any, content: dict[str, Any]) -> None:
    """Deliver a custom message from the front end, as a rendered view sends it."""
    widget.comm.handle_msg(
        {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
    )


@dataclass(frozen=True, slots=True)
class FakeFrame:
    seq: int
    direction: str
    t: float
    m: float
    type: str
    event: dict[str, Any]
    flags: frozenset[str] = frozenset()


def _make_state() -> Any:
    return SessionState()


class ScriptedSource:
    """A source whose frames a test plays in, one by one, on the current loop."""

    def __init__(self, call_id: str = "rtc_u1_test0001") -> None:
        self.call_id = call_id
        self.transport_kind = "webrtc"
        self.state = _make_state()
        self.status = SimpleNamespace(state="live", reason=None)
        self.stats = SimpleNamespace(events_in=0, events_out=0, reconnects=0, errors=0,
                                     started_m=0.0)
        self._frames: list[FakeFrame] = []
        self._subs: list[Callable[[Any], None]] = []
        self._seq = itertools.count()
        self.m = 0.0

    def frames(self) -> list[FakeFrame]:
        return self._frames

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        self._subs.append(callback)

        def unsubscribe() -> None:
            if callback in self._subs:
                self._subs.remove(callback)

        return unsubscribe

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def feed(self, event: dict[str, Any], direction: str = "in", *, dm: float = 0.001) -> FakeFrame:
        self.m += dm
        flags = frozenset() if is_known(event["type"]) or event["type"].startswith(
            "rtwidgets.") else frozenset({"unknown_type"})
        frame = FakeFrame(next(self._seq), direction, 1_764_170_000 + self.m, self.m,
                          event["type"], event, flags)
        self._frames.append(frame)
        if direction == "in":
            self.stats.events_in += 1
        elif direction == "out":
            self.stats.events_out += 1
        if event["type"] == "error":
            self.stats.errors += 1
        self.state.feed(event, direction=direction, t=frame.t)
        for cb in list(self._subs):
            cb(frame)
        return frame


@pytest.fixture
def source() -> ScriptedSource:
    return ScriptedSource()


# -- scripted event streams (GA shapes, realtime-protocol.md §7) --------------------------

def ev_id(n: int) -> str:
    return f"event_{n:04d}"


def user_item(item_id: str, text: str) -> dict[str, Any]:
    return {"type": "conversation.item.added", "event_id": ev_id(1), "previous_item_id": None,
            "item": {"id": item_id, "object": "realtime.item", "type": "message",
                     "role": "user", "status": "completed",
                     "content": [{"type": "input_text", "text": text}]}}


def assistant_turn(resp_id: str, item_id: str, words: list[str],
                   status: str = "completed") -> list[dict[str, Any]]:
    """response.created … deltas … response.done for one assistant audio item."""
    item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant",
            "status": "in_progress", "content": []}
    evs: list[dict[str, Any]] = [
        {"type": "response.created", "event_id": ev_id(2),
         "response": {"id": resp_id, "object": "realtime.response", "status": "in_progress",
                      "output": [], "usage": None}},
        {"type": "response.output_item.added", "event_id": ev_id(3), "response_id": resp_id,
         "output_index": 0, "item": item},
    ]
    for i, word in enumerate(words):
        evs.append({"type": "response.output_audio_transcript.delta", "event_id": ev_id(10 + i),
                    "response_id": resp_id, "item_id": item_id, "output_index": 0,
                    "content_index": 0, "delta": word})
    done_item = dict(item, status="incomplete" if status == "cancelled" else "completed")
    evs.append({"type": "response.done", "event_id": ev_id(9),
                "response": {"id": resp_id, "object": "realtime.response", "status": status,
                             "status_details": {"type": status, "reason": "turn_detected"}
                             if status == "cancelled" else None,
                             "output": [done_item],
                             "usage": {"total_tokens": 30, "input_tokens": 10,
                                       "output_tokens": 20}}})
    return evs
