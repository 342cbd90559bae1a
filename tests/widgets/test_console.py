"""CallConsole: composition, attach bar, detach/re-attach, replay controls, display()."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from rtwidgets.widgets._console import CallConsole, console_for, console_mimebundle

from .conftest import ScriptedSource, _make_state, custom_messages, user_item


def test_binds_every_part_to_the_call(source: ScriptedSource) -> None:
    source.feed(user_item("item_A", "hello"))
    console = CallConsole(source)
    assert all(part.source is source for part in console.parts)
    assert console.call_id_field.value == source.call_id
    assert console.call_id_field.disabled
    assert console.attach_button.disabled
    assert not console.detach_button.disabled
    assert console.replay_bar.layout.display == "none"
    rows = custom_messages(console.event_log, "snapshot")[-1]["rows"]
    assert [r["type"] for r in rows] == ["conversation.item.added"]
    console.close()
    assert source.subscribers == 0


def test_unbound_console_offers_the_attach_bar() -> None:
    console = CallConsole()
    assert console.source is None
    assert not console.attach_button.disabled
    assert console.detach_button.disabled
    assert "rtw-call-id" in console.call_id_field._dom_classes
    assert repr(console) == "<CallConsole unbound>"
    console.close()


async def test_attach_with_an_empty_id_shows_the_error_in_place() -> None:
    console = CallConsole(client=object())
    console.call_id_field.value = "   "
    console.attach_button.click()
    await console.wait_actions()
    assert "call_id: empty" in console.message.value
    assert console.source is None
    console.close()


async def test_detach_unbinds_and_reattach_binds_again(source: ScriptedSource) -> None:
    console = CallConsole(source)
    console.detach_button.click()
    await console.wait_actions()
    assert console.source is None
    assert all(part.source is None for part in console.parts)
    assert source.subscribers == 0
    assert not console.call_id_field.disabled
    assert "detached" in console.message.value
    console.bind(source)
    assert all(part.source is source for part in console.parts)
    console.close()


def test_client_never_shows(source: ScriptedSource) -> None:
    class Client:
        api_key = "sk-test-not-a-real-key"

    console = CallConsole(source, client=Client())
    assert "sk-test" not in repr(console)
    state = json.dumps(
        [w.get_state() for w in _all_widgets(console)], default=str
    )
    assert "sk-test" not in state
    console.close()


def test_no_transcript_in_any_synced_state(source: ScriptedSource) -> None:
    source.feed(user_item("item_A", "a very private sentence"))
    source.feed({"type": "session.updated", "event_id": "e1", "session": {
        "type": "realtime", "instructions": "never reveal the plan",
        "audio": {"output": {"voice": "alloy"}}}})
    console = CallConsole(source)
    state = json.dumps([w.get_state() for w in _all_widgets(console)], default=str)
    assert "a very private sentence" not in state
    assert "never reveal the plan" not in state
    console.close()


def _all_widgets(root: Any) -> list[Any]:
    out = [root]
    for child in getattr(root, "children", ()):
        out.extend(_all_widgets(child))
    return out


def test_display_reuses_the_console_of_a_source(source: ScriptedSource) -> None:
    first = console_for(source)
    assert console_for(source) is first
    bundle = console_mimebundle(source)
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == first.model_id
    first.close()
    second = console_for(source)
    assert second is not first
    second.close()


class FakeReplay(ScriptedSource):
    """A Replay double: the documented controls, frames played in by the test."""

    def __init__(self, frames: list[dict[str, Any]]) -> None:
        super().__init__("rtc_u1_replay001")
        self.status.state = "live"
        self._script = frames
        self.speed = 1.0
        self.paused = True
        self.position = 0.0
        self.duration = 10.0
        self.closed = False
        self.seeks: list[float] = []

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    async def seek(self, m: float) -> None:
        self.seeks.append(m)
        # a seek rebuilds from the start: frames up to m
        self._frames.clear()
        self.state = _make_state()
        self.m = 0.0
        for ev in self._script[: int(m)]:
            self.feed(ev)
        self.position = m

    async def close(self) -> None:
        self.closed = True


class FakeRecording:
    def __init__(self, frames: list[dict[str, Any]]) -> None:
        self.call_id = "rtc_u1_replay001"
        self.frames_script = frames
        self.made: list[FakeReplay] = []

    def replay(self, speed: float = 1.0) -> FakeReplay:
        replay = FakeReplay(self.frames_script)
        replay.speed = speed
        self.made.append(replay)
        return replay


async def test_recording_replays_with_controls() -> None:
    script = [user_item(f"item_{i}", f"line {i}") for i in range(8)]
    recording = FakeRecording(script)
    console = CallConsole(recording)
    replay = recording.made[0]
    assert console.source is replay
    assert console.replay_bar.layout.display == "flex"
    assert console.position.max == 10.0

    console.play()
    await console.wait_actions()
    assert replay.paused is False
    assert console.play_button.description == "Pause"
    console.pause()
    await console.wait_actions()
    assert replay.paused is True

    console.set_speed(4.0)
    assert replay.speed == 4.0
    with pytest.raises(ValueError, match="speed: 0 is not a positive number"):
        console.set_speed(0)

    console.position.value = 5.0  # a person drags the slider
    await console.wait_actions()
    assert replay.seeks == [5.0]
    assert console.event_log.counts["total"] == 5
    assert len(console.transcript.items()) == 5
    with pytest.raises(ValueError, match=r"m: 11 is outside the recording\. Fix: use 0 to 10"):
        await console.seek(11)

    await console.detach()
    assert replay.closed is True
    assert console.replay_bar.layout.display == "none"
    console.close()


async def test_failed_action_is_shown_not_raised(source: ScriptedSource) -> None:
    console = CallConsole(source)

    async def boom() -> None:
        raise RuntimeError("the call ended")

    console._spawn(boom(), label="Hang up")
    await console.wait_actions()
    assert "Hang up failed: RuntimeError: the call ended" in console.message.value
    console.close()


async def test_close_cancels_running_actions(source: ScriptedSource) -> None:
    console = CallConsole(source)
    started = asyncio.Event()

    async def slow() -> None:
        started.set()
        await asyncio.sleep(10)

    task = console._spawn(slow(), label="Slow")
    await started.wait()
    console.close()
    await asyncio.sleep(0)
    assert task is not None
    assert task.cancelled() or task.done()


class FakeInbox:
    """The read side of a WebhookInbox: ``seen``, ``subscribe`` and async iteration."""

    def __init__(self, ids: list[str]) -> None:
        from types import SimpleNamespace

        self._seen = [SimpleNamespace(call_id=i, sip_headers=[], from_=None, to=None)
                      for i in ids]
        self._subs: list[Any] = []
        self._queue: asyncio.Queue[Any] = asyncio.Queue()

    @property
    def seen(self) -> list[Any]:
        return list(self._seen)

    def subscribe(self, cb: Any) -> Any:
        self._subs.append(cb)
        return lambda: self._subs.remove(cb)

    def ring(self, call_id: str) -> None:
        from types import SimpleNamespace

        incoming = SimpleNamespace(call_id=call_id, sip_headers=[], from_=None, to=None)
        self._seen.append(incoming)
        for cb in list(self._subs):
            cb(incoming)

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        return await self._queue.get()


async def test_picker_offers_the_inbox_calls() -> None:
    inbox = FakeInbox(["rtc_u0_first", "rtc_u0_second"])
    console = CallConsole(inbox=inbox)
    values = [v for _label, v in console.picker.options]
    assert values == ["", "rtc_u0_second", "rtc_u0_first"]  # newest first
    assert console.picker in console.attach_bar.children
    assert console.incoming is not None
    assert "Incoming" in console.forms.titles
    inbox.ring("rtc_u0_third")
    assert [v for _l, v in console.picker.options][1] == "rtc_u0_third"
    console.picker.value = "rtc_u0_first"
    assert console.call_id_field.value == "rtc_u0_first"
    assert repr(console) == "<CallConsole unbound, with inbox>"
    console.close()
    assert inbox._subs == []
