"""ToolCalls against a real Call attached to the emulator's "tools" scenario.

The scripted caller asks for the weather; the scripted model calls ``get_weather`` and waits
for a ``function_call_output`` (and ``response.create``) before it answers from the output.
The form is driven from Python as a person would (text typed in the browser arrives as an
edit message; buttons are clicked), and ``emu.record`` is the ground truth of what the
server received.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import comm
import ipywidgets.widgets.widget as ipw_widget
import pytest
from comm.base_comm import BaseComm

from rtwidgets._call import Call, attach
from rtwidgets.emulator import Emulator
from rtwidgets.protocol.errors import ValidationError
from rtwidgets.widgets._session_editor import PrivateText
from rtwidgets.widgets._tool_calls import ToolCalls, check_output, pretty_arguments

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["city"],
    },
}


class _RecordingComm(BaseComm):
    """Keeps what a widget would publish to the browser (this file's own swapped comm)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        super().__init__(*args, **kwargs)

    def publish_msg(
        self,
        msg_type: str,
        data: Any = None,
        metadata: Any = None,
        buffers: Any = None,
        **keys: Any,
    ) -> None:
        self.messages.append((msg_type, data or {}))


@pytest.fixture(autouse=True)
def _swapped_comm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: _RecordingComm(*a, **k))


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = await Emulator.start(speed=50, seed=3, scenario="tools")
    try:
        yield emulator
    finally:
        await emulator.close()


async def start(emu: Emulator, *, handler: bool = False) -> Call:
    call_id = await emu.start_call(
        transport="webrtc", scenario="tools", session={"tools": [WEATHER_TOOL]}
    )
    call = await attach(call_id, client=emu.client(api_key="sk-test-not-a-real-key"), capture=False)
    if handler:

        @call.tool("get_weather")
        def get_weather(city: str, unit: str = "celsius") -> dict[str, Any]:
            return {"temperature": 21, "conditions": "sunny"}

    return call


async def pending_call(view: ToolCalls, timeout: float = 10.0) -> str:
    for _ in range(int(timeout / 0.01)):
        if view.pending:
            return view.pending[0]
        await asyncio.sleep(0.01)
    raise AssertionError("no tool call became pending")


def browser_edit(widget: PrivateText, text: str) -> None:
    widget.comm.handle_msg(
        {
            "content": {
                "data": {"method": "custom", "content": {"kind": "edit", "text": text, "view": "v"}}
            },
            "buffers": [],
        }
    )


def received(emu: Emulator, call_id: str, etype: str) -> list[dict[str, Any]]:
    return [
        r["event"]
        for r in emu.record(call_id)
        if r["direction"] == "received" and r["event"] and r["event"]["type"] == etype
    ]


async def received_soon(
    emu: Emulator, call_id: str, etype: str, count: int = 1, timeout: float = 5.0
) -> list[dict[str, Any]]:
    """What the emulator received of ``etype`` once ``count`` arrived (frames cross a socket)."""
    for _ in range(int(timeout / 0.01)):
        got = received(emu, call_id, etype)
        if len(got) >= count:
            return got
        await asyncio.sleep(0.01)
    return received(emu, call_id, etype)


def states_text(root: Any) -> str:
    seen: set[str] = set()
    out: list[Any] = []
    todo = [root]
    while todo:
        widget = todo.pop()
        if widget.model_id in seen:
            continue
        seen.add(widget.model_id)
        text = json.dumps(widget.get_state())
        out.append(text)
        for part in text.split('"IPY_MODEL_')[1:]:
            child = ipw_widget._instances.get(part.split('"', 1)[0])
            if child is not None:
                todo.append(child)
    return "\n".join(out)


# -- pure helpers --------------------------------------------------------------------------


def test_check_output_json_and_text() -> None:
    assert check_output('{ "ok" : true }', "json") == '{"ok":true}'
    assert check_output("plain words", "text") == "plain words"
    with pytest.raises(ValidationError) as info:
        check_output("{oops", "json")
    assert info.value.field == "output"
    assert "switch the format to Text" in info.value.fix
    with pytest.raises(ValidationError, match="output: is empty"):
        check_output("  ", "text")
    for not_json in ("NaN", '{"t": Infinity}', "-Infinity"):
        with pytest.raises(ValidationError, match="output: not valid JSON"):
            check_output(not_json, "json")


def test_pretty_arguments() -> None:
    assert pretty_arguments('{"city":"Paris"}') == '{\n  "city": "Paris"\n}'
    assert pretty_arguments("{broken") == "{broken"
    assert pretty_arguments(None) == ""


# -- end to end ----------------------------------------------------------------------------


async def test_send_and_respond_reaches_the_emulator_and_a_reply_follows(emu: Emulator) -> None:
    call = await start(emu)
    view = ToolCalls(call)
    try:
        tool_call_id = await pending_call(view)
        row = view.row(tool_call_id)
        assert "get_weather" in row.header.value
        assert "pending" in row.header.value
        assert "waiting" in row.header.value
        assert json.loads(row.arguments.text) == {"city": "Paris", "unit": "celsius"}
        assert "Paris" not in states_text(view)  # arguments are not saved widget state

        browser_edit(row.output, '{"temperature": 18, "conditions": "cloudy"}')
        row.send_respond.click()
        await view.wait_actions()

        outputs = await received_soon(emu, call.call_id, "conversation.item.create")
        assert [o["item"] for o in outputs] == [
            {
                "type": "function_call_output",
                "call_id": tool_call_id,
                "output": '{"temperature":18,"conditions":"cloudy"}',
            }
        ]
        assert len(await received_soon(emu, call.call_id, "response.create")) == 1
        done = await call.wait_for(
            "response.done",
            lambda e: "18 degrees" in json.dumps(e["response"].get("output", [])),
            timeout=10,
        )
        assert done["response"]["status"] == "completed"

        assert view.pending == []
        assert view.answered == [tool_call_id]
        assert "answered by form" in row.header.value
        assert "latency" in row.header.value
        assert row.answer.text == '{"temperature":18,"conditions":"cloudy"}'
        assert row.editor.layout.display == "none"
        assert "cloudy" not in states_text(view)
    finally:
        view.close()
        await call.close()


async def test_send_without_respond_sends_no_response_create(emu: Emulator) -> None:
    call = await start(emu)
    view = ToolCalls(call)
    try:
        tool_call_id = await pending_call(view)
        await view.send(tool_call_id, {"temperature": 5}, respond=False)
        assert len(await received_soon(emu, call.call_id, "conversation.item.create")) == 1
        await asyncio.sleep(0.1)
        assert received(emu, call.call_id, "response.create") == []
        assert "sent (no response requested)" in view.row(tool_call_id).error.value
        with pytest.raises(ValidationError, match="already answered"):
            await view.send(tool_call_id, "again")
        await asyncio.sleep(0.05)
        assert len(received(emu, call.call_id, "conversation.item.create")) == 1
    finally:
        view.close()
        await call.close()


async def test_bad_output_is_refused_in_place_and_sends_nothing(emu: Emulator) -> None:
    call = await start(emu)
    view = ToolCalls(call)
    try:
        tool_call_id = await pending_call(view)
        row = view.row(tool_call_id)
        browser_edit(row.output, "{temperature: 18}")
        row.send.click()
        row.send_respond.click()
        await view.wait_actions()
        assert "output: not valid JSON" in row.error.value
        assert row.output.invalid
        browser_edit(row.output, "")  # a new edit clears the error
        assert row.error.value == ""
        row.send.click()
        assert "output: is empty" in row.error.value
        with pytest.raises(ValidationError, match="output: cannot be encoded as JSON"):
            await view.send(tool_call_id, {"t": float("nan")})
        with pytest.raises(ValidationError) as info:
            await view.send("call_unknown", "x")
        assert info.value.field == "call_id"
        assert tool_call_id in info.value.fix
        await asyncio.sleep(0.05)
        assert received(emu, call.call_id, "conversation.item.create") == []
        assert view.pending == [tool_call_id]
    finally:
        view.close()
        await call.close()


async def test_text_format_sends_the_text_as_typed(emu: Emulator) -> None:
    call = await start(emu)
    view = ToolCalls(call)
    try:
        tool_call_id = await pending_call(view)
        row = view.row(tool_call_id)
        row.format.value = "text"
        browser_edit(row.output, "It is 18 degrees and cloudy.")
        row.send_respond.click()
        await view.wait_actions()
        created = await received_soon(emu, call.call_id, "conversation.item.create")
        [item] = [e["item"] for e in created]
        assert item["output"] == "It is 18 degrees and cloudy."
    finally:
        view.close()
        await call.close()


async def test_handler_badge_and_latency(emu: Emulator) -> None:
    call = await start(emu, handler=True)
    view = ToolCalls(call)
    try:
        await call.wait_for(
            "response.done",
            lambda e: "21 degrees" in json.dumps(e["response"].get("output", [])),
            timeout=10,
        )
        [tool_call_id] = view.answered
        header = view.row(tool_call_id).header.value
        assert "answered by handler" in header
        assert "rtw-badge-handler" in header
        assert "latency" in header
    finally:
        view.close()
        await call.close()


async def test_pending_row_notes_a_registered_handler_and_ages_refresh(emu: Emulator) -> None:
    call = await start(emu)
    view = ToolCalls(call, age_interval=0.05)
    try:
        tool_call_id = await pending_call(view)
        # Registered after the call was asked: the row says a handler exists for the name.
        call.tool("get_weather")(lambda city, unit="c": {"temperature": 1})
        view.refresh_ages()
        first = view.row(tool_call_id).header.value
        assert "Python handler registered" in first
        await asyncio.sleep(0.3)
        assert view.row(tool_call_id).header.value != first  # "waiting …" moved on
        view.unbind()
        assert view.pending_box.children == ()
        assert view._ticker is None
    finally:
        view.close()
        await call.close()


def test_age_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="age_interval"):
        ToolCalls(age_interval=0)


async def test_send_clicked_on_a_comm_subshell_thread(emu: Emulator) -> None:
    """JupyterLab 4.4+ handles widget messages on a subshell thread with its own loop."""
    import threading

    call = await start(emu)
    view = ToolCalls(call)
    try:
        tool_call_id = await pending_call(view)
        row = view.row(tool_call_id)

        async def handler() -> None:
            browser_edit(row.output, '{"temperature": 7}')
            row.send_respond.click()

        thread = threading.Thread(target=lambda: asyncio.run(handler()))
        thread.start()
        thread.join()
        [created] = await received_soon(emu, call.call_id, "conversation.item.create")
        assert created["item"]["output"] == '{"temperature":7}'
        assert len(await received_soon(emu, call.call_id, "response.create")) == 1
        for _ in range(300):
            if view.answered:
                break
            await asyncio.sleep(0.01)
        assert view.answered == [tool_call_id]
    finally:
        view.close()
        await call.close()


def test_a_recording_shows_calls_without_an_output_editor() -> None:
    from types import SimpleNamespace

    from rtwidgets.protocol.state import ToolCallRecord

    pending = ToolCallRecord("call_a", "get_weather", '{"city":"Oslo"}', "item_a", "resp_a", 10.0)
    done = ToolCallRecord(
        "call_b",
        "get_time",
        "{}",
        "item_b",
        "resp_a",
        10.0,
        answered_t=10.25,
        output='{"time":"noon"}',
        answered_by="code",
        status="answered",
    )
    recording = SimpleNamespace(
        call_id="rtc_u1_" + "cd" * 16,
        state=SimpleNamespace(tool_calls={"call_a": pending, "call_b": done}),
        frames=list,
        subscribe=lambda cb: lambda: None,
    )
    view = ToolCalls(recording)
    assert view.pending == ["call_a"]
    assert view.answered == ["call_b"]
    assert view.row("call_a").editor.layout.display == "none"  # a recording cannot answer
    assert "answered by code" in view.row("call_b").header.value
    assert "latency 250 ms" in view.row("call_b").header.value
    assert view.row("call_b").answer.text == '{"time":"noon"}'
    assert "Oslo" not in states_text(view)
    view.close()


def test_redact_keeps_arguments_out_of_the_browser() -> None:
    from types import SimpleNamespace

    from rtwidgets.protocol.state import ToolCallRecord

    rec = ToolCallRecord("call_a", "get_weather", '{"city":"Oslo"}', "item_a", "resp_a", 10.0)
    source = SimpleNamespace(
        call_id="rtc_u1_" + "cd" * 16,
        state=SimpleNamespace(tool_calls={"call_a": rec}),
        frames=list,
        subscribe=lambda cb: lambda: None,
    )
    view = ToolCalls(source, redact=True)
    args = view.row("call_a").arguments
    assert "Oslo" in args.text  # Python still has it
    args.comm.messages.clear()
    args.comm.handle_msg(
        {"content": {"data": {"method": "custom", "content": {"kind": "snapshot"}}}, "buffers": []}
    )
    assert all("Oslo" not in json.dumps(data) for _, data in args.comm.messages)
    view.close()


async def test_an_ended_call_hides_the_output_editor(emu: Emulator) -> None:
    call = await start(emu)
    view = ToolCalls(call)
    try:
        tool_call_id = await pending_call(view)
        assert view.row(tool_call_id).editor.layout.display == ""
        await emu.hangup(call.call_id)
        await call.wait_ended(timeout=10)
        assert view.row(tool_call_id).editor.layout.display == "none"
        with pytest.raises(ValidationError, match="not bound to a live call"):
            await view.send(tool_call_id, "late")
    finally:
        view.close()
        await call.close()


async def test_close_releases_every_widget(emu: Emulator) -> None:
    def open_widgets() -> set[str]:
        return {
            k
            for k, w in ipw_widget._instances.items()
            if not type(w).__name__.endswith(("Layout", "Style"))
        }

    call = await start(emu)
    try:
        await call.wait_for("response.function_call_arguments.done", timeout=10)
        before = open_widgets()
        for _ in range(3):
            view = ToolCalls(call)
            assert view.pending  # a row with its controls exists
            view.close()
        assert open_widgets() - before == set()
    finally:
        await call.close()


def test_answered_rows_stay_bounded_and_closed_rows_leave_no_widgets() -> None:
    """An hour-long call answers a tool every minute: rows (a dozen widgets each) for the
    old answered calls are closed, so registered widgets stop growing (the soak leak)."""
    from types import SimpleNamespace

    from rtwidgets.protocol.state import ToolCallRecord

    calls: dict[str, ToolCallRecord] = {}
    listeners: list[Any] = []
    source = SimpleNamespace(
        call_id="rtc_u1_" + "ef" * 16,
        state=SimpleNamespace(tool_calls=calls),
        frames=list,
        subscribe=lambda cb: listeners.append(cb) or (lambda: None),
    )
    view = ToolCalls(source, max_answered=3)
    frame = SimpleNamespace(type="rtwidgets.tool_answered", seq=0)
    registered: list[int] = []
    for i in range(12):
        calls[f"call_{i}"] = ToolCallRecord(
            f"call_{i}", "get_weather", "{}", f"item_{i}", "resp_a", float(i),
            answered_t=i + 0.5, output='{"ok":true}', answered_by="code", status="answered",
        )
        calls[f"call_p{i}"] = ToolCallRecord(
            f"call_p{i}", "get_time", "{}", f"item_p{i}", "resp_a", float(i))
        if i:  # the previous pending call got its answer
            calls[f"call_p{i - 1}"].status = "answered"
        frame.seq = i
        for cb in listeners:
            cb(frame)
        registered.append(len(ipw_widget._instances))
    # once the window is full, widget count is flat (was +1 row of widgets per call)
    assert registered[-1] == registered[4], registered
    assert view.pending == ["call_p11"]
    assert len(view.answered) == 23  # the records all stay
    kept = {"call_10", "call_p10", "call_11"}  # the newest three answered, in record order
    assert [c.call_id for c in view._rows.values() if c.box in view.answered_box.children] == [
        c for c in calls if c in kept]
    assert len(view.answered_box.children) == 3
    with pytest.raises(KeyError):
        view.row("call_0")
    assert "(23)" in view.answered_title.value
    assert "last 3 shown" in view.answered_title.value
    view.close()


# -- deadlines and the end of the call (issue 14, point 1) ---------------------------------


def _live_source(*records: Any) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(
        call_id="rtc_u1_" + "ef" * 16,
        state=SimpleNamespace(tool_calls={r.call_id: r for r in records}, last_t=None),
        status=SimpleNamespace(state="live", reason=""),
        frames=list,
        subscribe=lambda cb: lambda: None,
        send_tool_output=None,
        handler_timeout=30.0,
        tool_handlers=(),
    )


def test_fmt_seconds_reads_like_a_clock() -> None:
    from rtwidgets.widgets._tool_calls import _fmt_seconds

    assert _fmt_seconds(0.25) == "250 ms"
    assert _fmt_seconds(12.34) == "12.3 s"
    assert _fmt_seconds(87.569) == "1:27.6"
    assert _fmt_seconds(3723.0) == "1:02:03"


def test_pending_row_counts_down_to_a_known_deadline_and_warns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rtwidgets.protocol.state import ToolCallRecord
    from rtwidgets.widgets import _tool_calls

    rec = ToolCallRecord("call_a", "get_weather", "{}", "item_a", "resp_a", 1000.0)
    now = [1005.0]
    monkeypatch.setattr(_tool_calls.time, "time", lambda: now[0])
    view = ToolCalls(_live_source(rec), tool_timeout=30)
    try:
        row = view.row("call_a")
        assert "waiting 5.0 s · 25.0 s left of 30.0 s" in row.header.value
        assert "rtw-toolcall-warn" not in row.box._dom_classes
        now[0] = 1021.0  # past two thirds of the deadline: the warning colour
        view.refresh_ages()
        assert "9.0 s left of 30.0 s" in row.header.value
        assert "rtw-toolcall-warn" in row.box._dom_classes
        assert "#d32f2f" in row.header.value
        now[0] = 1033.0
        view.refresh_ages()
        assert "3.0 s past the 30.0 s deadline" in row.header.value
    finally:
        view.close()


def test_without_a_deadline_the_row_warns_after_warn_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rtwidgets.protocol.state import ToolCallRecord
    from rtwidgets.widgets import _tool_calls

    rec = ToolCallRecord("call_a", "get_weather", "{}", "item_a", "resp_a", 1000.0)
    now = [1003.0]
    monkeypatch.setattr(_tool_calls.time, "time", lambda: now[0])
    view = ToolCalls(_live_source(rec), warn_after=4)
    try:
        row = view.row("call_a")
        assert " left" not in row.header.value  # no deadline is known: none is invented
        assert "rtw-toolcall-warn" not in row.box._dom_classes
        now[0] = 1004.5
        view.refresh_ages()
        assert "rtw-toolcall-warn" in row.box._dom_classes
        assert "may give up" in row.header.value
    finally:
        view.close()


def test_a_registered_handler_gives_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    from rtwidgets.protocol.state import ToolCallRecord
    from rtwidgets.widgets import _tool_calls

    rec = ToolCallRecord("call_a", "get_weather", "{}", "item_a", "resp_a", 1000.0)
    monkeypatch.setattr(_tool_calls.time, "time", lambda: 1002.0)
    source = _live_source(rec)
    source.tool_handlers = ("get_weather",)
    view = ToolCalls(source)
    try:
        assert view.deadline(rec) == 30.0  # the call's handler_timeout
        assert "28.0 s left of 30.0 s" in view.row("call_a").header.value
    finally:
        view.close()


@pytest.mark.parametrize("bad", [0, -1, "30", True])
def test_tool_timeout_and_warn_after_must_be_positive(bad: Any) -> None:
    with pytest.raises(ValueError, match="tool_timeout"):
        ToolCalls(tool_timeout=bad)
    with pytest.raises(ValueError, match="warn_after"):
        ToolCalls(warn_after=bad)


async def test_pending_tool_call_is_marked_unanswered_when_the_call_ends(
    emu: Emulator,
) -> None:
    call = await start(emu)
    view = ToolCalls(call, age_interval=0.05, tool_timeout=30)
    try:
        tool_call_id = await pending_call(view)
        assert "Pending</b> (1)" in view.pending_title.value
        assert view._ticker is not None
        await emu.hangup(call.call_id)
        await call.wait_ended(timeout=10)
        assert view.pending == []
        assert view.unanswered == [tool_call_id]
        assert call.state.tool_calls[tool_call_id].status == "unanswered"
        assert "no pending tool call" in view.pending_title.value
        assert "Unanswered — call ended</b> (1)" in view.unanswered_title.value
        row = view.row(tool_call_id)
        assert row.box in view.unanswered_box.children
        assert "unanswered — call ended" in row.header.value
        assert "waiting" not in row.header.value
        assert "waited" in row.header.value
        assert view._ticker is None  # the clock stopped
        frozen = row.header.value
        view.refresh_ages()
        assert row.header.value == frozen
        with pytest.raises(ValidationError):
            await view.send(tool_call_id, "late")
    finally:
        view.close()
        await call.close()
