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


# -- Hang up beside Detach (issue 14, point 5) ------------------------------------------------


class HangupSource(ScriptedSource):
    """A live call double with the Call's hangup: ends the status like Call.close does."""

    def __init__(self) -> None:
        super().__init__()
        self.hangups = 0

    async def hangup(self) -> None:
        self.hangups += 1
        self.status.state, self.status.reason = "ended", "hung up by this client"
        self.feed({"type": "rtwidgets.status", "status": "ended",
                   "reason": "hung up by this client"}, direction="meta")


async def test_hang_up_asks_for_confirmation_then_ends_the_call() -> None:
    source = HangupSource()
    console = CallConsole(source)
    try:
        button = console.hangup_button
        assert button.layout.display == ""
        assert "goes on" in console.detach_button.tooltip
        assert "for everyone" in button.tooltip
        button.click()  # first click only asks
        assert source.hangups == 0
        assert console.confirming_hangup
        assert button.description == "Confirm hang up?"
        assert console.cancel_hangup_button.layout.display == ""
        button.click()
        await console.wait_actions()
        assert source.hangups == 1
        assert "call ended: you hung up from this console" in console.message.value
        assert button.layout.display == "none"  # nothing left to hang up
        assert not console.detach_button.disabled
    finally:
        console.close()


async def test_cancel_keeps_the_call() -> None:
    source = HangupSource()
    console = CallConsole(source)
    console.hangup_button.click()
    console.cancel_hangup_button.click()
    assert not console.confirming_hangup
    assert console.hangup_button.description == "Hang up"
    await console.wait_actions()
    assert source.hangups == 0
    console.close()


def test_no_hang_up_without_a_live_call(source: ScriptedSource) -> None:
    console = CallConsole()
    assert console.hangup_button.layout.display == "none"
    console.bind(source)  # a source without hangup (a recording, a view double)
    assert console.hangup_button.layout.display == "none"
    console.close()


async def test_hang_up_is_refused_in_code_without_a_live_call() -> None:
    console = CallConsole()
    with pytest.raises(RuntimeError, match="nothing to hang up"):
        await console.hangup()
    console.close()


def test_a_call_ending_by_itself_is_said_once_in_one_sentence() -> None:
    source = HangupSource()
    console = CallConsole(source)
    source.status.state = "ended"
    source.status.reason = "call ended: caller_hangup (the server closed the socket with code 1000)"
    source.feed({"type": "rtwidgets.status", "status": "ended",
                 "reason": source.status.reason}, direction="meta")
    text = console.message.value
    assert "call ended: caller_hangup (the server closed the socket with code 1000)" in text
    assert text.count("call ended") == 1
    assert console.hangup_button.layout.display == "none"
    console.close()


def test_end_sentence() -> None:
    from rtwidgets.widgets._console import end_sentence

    assert end_sentence("call ended: call ended: caller_hangup") == "call ended: caller_hangup"
    assert end_sentence("") == "call ended"
    assert end_sentence("transport closed") == "call ended: transport closed"
    assert "you hung up" in end_sentence("hung up by this client", by_us=True)


# -- a client from the widget (no key in any state) --------------------------------------------


def test_key_box_makes_a_client_and_keeps_the_key_out_of_state() -> None:
    from .conftest import browser_says

    key = "sk-test-typed-into-the-box-0123456789"
    console = CallConsole()
    assert console.client_bar.layout.display == "flex"
    assert not console.has_client
    console.base_url.value = "http://127.0.0.1:9/v1"
    browser_says(console.api_key, {"kind": "secret", "text": key})
    assert console.has_client
    assert console._client.api_key == key
    assert str(console._client.base_url).startswith("http://127.0.0.1:9/v1")
    assert str(console._client.websocket_base_url).startswith("ws://127.0.0.1:9/v1")
    assert console.api_key.has_secret
    states = json.dumps([w.get_state() for w in _all_widgets(console)], default=str)
    assert key not in states
    sent = json.dumps([m for w in _all_widgets(console) for m in w.comm.messages],
                      default=str)
    assert key not in sent  # never sent back to the browser
    assert key not in repr(console)
    assert key not in repr(console.api_key)
    assert key not in console.client_note.value
    # a new base URL needs the key again (the client was made for the old one)
    console.base_url.value = "http://127.0.0.1:10/v1"
    assert not console.has_client
    console.close()


def test_bad_base_url_is_refused_with_the_field_named() -> None:
    from .conftest import browser_says

    console = CallConsole()
    console.base_url.value = "127.0.0.1:9"
    browser_says(console.api_key, {"kind": "secret", "text": "sk-test-not-a-real-key"})
    assert not console.has_client
    assert "base URL" in console.client_note.value
    assert "Fix:" in console.client_note.value
    console.close()


def test_a_console_given_a_client_hides_the_key_box(source: ScriptedSource) -> None:
    console = CallConsole(source, client=object())
    assert console.client_bar.layout.display == "none"
    console.close()
    # bound to a call (which has its own client), the key box is not offered either
    bound = CallConsole(source)
    assert bound.client_bar.layout.display == "none"
    bound.unbind()
    assert bound.client_bar.layout.display == "flex"
    bound.close()


def _synthetic_capture(tmp_path: Any) -> Any:
    from rtwidgets.analysis._synth import SyntheticCall, usage_block

    usage = usage_block(text_in=100, audio_in=50, text_out=10, audio_out=200)
    c = SyntheticCall()
    c.session(0.05)
    c.audio_turn(speech_start=1.0, speech_stop=2.0, created=2.3, first_text=2.5, audio=2.6,
                 done=4.0, transcript="What time is it?", reply="It is noon.", usage=usage,
                 audio_stop=6.0)
    c.text_turn(sent=10.0, added=10.05, created=10.1, first_text=10.4, done=11.0,
                text="typed question", reply="Typed reply", usage=usage)
    return c.write(tmp_path / "call.jsonl")


async def test_seeking_a_replay_back_and_forth_leaves_tokens_and_cost_unchanged(
    tmp_path: Any,
) -> None:
    from rtwidgets._recording import load

    recording = load(_synthetic_capture(tmp_path))
    console = CallConsole(recording)
    replay = console.replay
    assert replay is not None
    await console.seek(replay.duration)
    end = console.status.summary()
    assert end["tokens"] == recording.state.usage_total["total_tokens"] > 0
    assert end["cost_usd"] is not None
    assert end["cost_usd"] > 0
    assert replay.session is not None
    assert replay.session["model"] == "gpt-realtime"

    for _ in range(3):  # every jump back used to add the cost again
        await console.seek(0.0)
        start = console.status.summary()
        assert start["tokens"] == 0
        assert not start["cost_usd"]
        # the session as of 0:00 is not the recording's final one: none was reported yet
        assert replay.session is None
        assert replay.state.session is None
        assert console.session_editor.baseline == {}
        await console.seek(5.0)
        middle = console.status.summary()
        assert 0 < middle["tokens"] < end["tokens"]
        assert 0 < middle["cost_usd"] < end["cost_usd"]
        await console.seek(replay.duration)
        again = console.status.summary()
        assert again["tokens"] == end["tokens"]
        assert again["cost_usd"] == pytest.approx(end["cost_usd"])
    assert f"${end['cost_usd']:.4f}" in console.status.value
    await console.detach()
    console.close()


async def test_a_replay_offers_no_live_action_and_play_follows_its_state(
    tmp_path: Any,
) -> None:
    from rtwidgets._recording import load

    recording = load(_synthetic_capture(tmp_path))
    console = CallConsole(recording)
    replay = console.replay
    assert replay is not None
    # one clock, in the status bar; it says "replay", never "live (replay)"
    assert console.position_label.layout.display == "none"
    assert "live" not in console.status.summary()["status"]
    assert console.status.summary()["status"] == "replay"
    assert "paused" in console.status.value
    assert 'data-field="time"' in console.status.value
    assert 'data-field="elapsed"' not in console.status.value
    assert 'data-field="events"' not in console.status.value  # the log has the one count
    # read-only: nothing a replay would refuse with ReplayReadOnlyError is offered
    editor = console.session_editor
    assert editor.unknown_box.layout.display == "none"  # no "Load session"
    assert editor.apply_button.disabled
    assert "read-only" in editor.apply_button.tooltip
    assert console.tool_calls._can_send() is False

    console.set_speed(10.0)
    console.play()
    assert console.play_button.description == "Pause"
    await console.wait_actions()
    for _ in range(400):  # 11 s of recording at 10× (a generous bound, never asserted)
        await asyncio.sleep(0.02)
        console._tick()
        if not console.play_button.value:
            break
    assert replay.status.state == "ended"
    assert console.play_button.value is False
    assert console.play_button.description == "Replay"  # not "Pause" after the end
    assert replay.paused is True
    assert "end of recording" in console.status.value

    console.play()  # Replay: from 0:00 again
    await console.wait_actions()
    assert console.play_button.description == "Pause"
    assert replay.paused is False
    assert replay.status.state != "ended"
    assert replay.position < replay.duration
    await console.detach()
    console.close()
