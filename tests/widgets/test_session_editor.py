"""SessionEditor and PrivateText, driven from Python with a recording comm.

Two sources: ``FakeLive`` (a Call-shaped double whose "server" is the protocol's own
``merge_session``, so tests are fast and exact about what was sent), and the real emulator
through ``rtwidgets.attach`` (end to end: one ``session.update`` on the wire, the applied
diff, a server refusal).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import comm
import ipywidgets.widgets.widget as ipw_widget
import pytest
from comm.base_comm import BaseComm

from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.ids import IdFactory
from rtwidgets.protocol.session import default_session, merge_session, session_diff
from rtwidgets.widgets._session_editor import (
    PrivateText,
    SessionEditor,
    editable_session,
    minimal_update,
    render_update_code,
)

SECRET_TEXT = "You are Zanzibar, a pirate who never reveals the treasure map."


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


# -- helpers -------------------------------------------------------------------------------


def custom_sent(widget: Any) -> list[dict[str, Any]]:
    """Custom messages ``widget`` sent to the browser (recording comm from conftest)."""
    return [
        data["content"]
        for msg_type, data in widget.comm.messages
        if msg_type == "comm_msg" and data.get("method") == "custom"
    ]


def browser_edit(widget: PrivateText, text: str, view: str = "v1") -> None:
    """The browser's PrivateText view sends an edit (as _forms.js does)."""
    widget.comm.handle_msg(
        {
            "content": {
                "data": {
                    "method": "custom",
                    "content": {"kind": "edit", "text": text, "view": view},
                }
            },
            "buffers": [],
        }
    )


def all_states(root: Any) -> list[dict[str, Any]]:
    """``get_state()`` of ``root`` and every widget it references, recursively."""
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    todo = [root]
    while todo:
        widget = todo.pop()
        if widget.model_id in seen:
            continue
        seen.add(widget.model_id)
        state = widget.get_state()
        out.append(state)
        for ref in _refs(state):
            child = ipw_widget._instances.get(ref)
            if child is not None:
                todo.append(child)
    return out


def _refs(value: Any) -> list[str]:
    if isinstance(value, str) and value.startswith("IPY_MODEL_"):
        return [value[len("IPY_MODEL_") :]]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v)]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _refs(v)]
    return []


@dataclass(frozen=True)
class Frame:
    seq: int
    direction: str
    t: float
    m: float
    type: str
    event: dict[str, Any]
    flags: frozenset[str] = frozenset()


class SessionUpdateError(Exception):
    pass


class FakeLive:
    """A Call-shaped double: ``update_session`` is answered by the protocol's merge."""

    def __init__(self, session: dict[str, Any] | None = None) -> None:
        self.call_id = "rtc_u1_" + "ab" * 16
        self.state = SimpleNamespace(
            session=session or default_session("gpt-realtime", IdFactory(1), created_at=1),
            audio_started=False,
            tool_calls={},
        )
        self.updates: list[dict[str, Any]] = []
        self.refuse: str | None = None
        self._subs: list[Callable[[Any], None]] = []
        self._seq = 0

    def frames(self) -> list[Any]:
        return []

    def subscribe(self, cb: Callable[[Any], None]) -> Callable[[], None]:
        self._subs.append(cb)
        return lambda: self._subs.remove(cb)

    def emit(self, event: dict[str, Any], direction: str = "in") -> None:
        self._seq += 1
        if event["type"] in ("session.created", "session.updated"):
            self.state.session = event["session"]
        frame = Frame(self._seq, direction, 1.0 + self._seq, self._seq / 1000, event["type"], event)
        for cb in list(self._subs):
            cb(frame)

    async def update_session(self, **fields: Any) -> Any:
        self.updates.append(copy.deepcopy(fields))
        await asyncio.sleep(0)
        if self.refuse:
            raise SessionUpdateError(self.refuse)
        applied = merge_session(
            self.state.session,
            {"type": "realtime", **fields},
            audio_started=self.state.audio_started,
        )
        self.emit({"type": "session.updated", "event_id": "event_1", "session": applied})
        return SimpleNamespace(session=applied, diff=session_diff(fields, applied))


@pytest.fixture
def live() -> FakeLive:
    return FakeLive()


# -- pure helpers ---------------------------------------------------------------------------


def test_minimal_update_keeps_only_changed_leaves() -> None:
    base = editable_session(default_session("gpt-realtime", IdFactory(1), created_at=1))
    desired = copy.deepcopy(base)
    desired["audio"]["output"]["voice"] = "marin"
    desired["instructions"] = "hi"
    assert minimal_update(base, desired) == {
        "instructions": "hi",
        "audio": {"output": {"voice": "marin"}},
    }
    assert minimal_update(base, base) == {}
    assert "id" not in base
    assert "object" not in base
    assert "expires_at" not in base


def test_render_update_code_is_valid_python() -> None:
    code = render_update_code({"instructions": "be brief", "audio": {"output": {"voice": "marin"}}})
    assert code.startswith("await call.update_session(\n")
    compile("async def f(call):\n    " + code.replace("\n", "\n    "), "<code>", "exec")
    assert "instructions='be brief'" in code


# -- PrivateText ---------------------------------------------------------------------------


def test_private_text_keeps_text_out_of_synced_state() -> None:
    box = PrivateText(SECRET_TEXT)
    assert SECRET_TEXT not in json.dumps(box.get_state())
    box.comm.messages.clear()
    box.comm.handle_msg(
        {
            "content": {
                "data": {"method": "custom", "content": {"kind": "snapshot", "view": "v9"}}
            },
            "buffers": [],
        }
    )
    assert custom_sent(box) == [{"kind": "set", "text": SECRET_TEXT, "for": "v9"}]


def test_private_text_edit_from_browser_updates_python_and_other_views() -> None:
    box = PrivateText("old")
    seen: list[str] = []
    box.on_edit(seen.append)
    box.comm.messages.clear()
    browser_edit(box, "new text", view="v1")
    assert box.text == "new text"
    assert seen == ["new text"]
    # Relayed to the other views, tagged so the editing view ignores its own echo.
    assert custom_sent(box) == [{"kind": "set", "text": "new text", "origin": "v1"}]
    assert "new text" not in json.dumps(box.get_state())


def test_private_text_public_mode_mirrors_value_and_view_mode_refuses_edits() -> None:
    box = PrivateText("shown", private=False)
    assert box.get_state()["value"] == "shown"
    box.text = "changed"
    assert box.get_state()["value"] == "changed"
    view = PrivateText("fixed", mode="view")
    browser_edit(view, "hacked")
    assert view.text == "fixed"
    with pytest.raises(ValueError, match="mode"):
        PrivateText(mode="html")


def test_private_text_redact_sends_no_text_to_the_browser() -> None:
    box = PrivateText(SECRET_TEXT, redact=True)
    box.comm.handle_msg(
        {"content": {"data": {"method": "custom", "content": {"kind": "snapshot"}}}, "buffers": []}
    )
    assert all(SECRET_TEXT not in json.dumps(m) for _, m in box.comm.messages)
    assert box.disabled


# -- SessionEditor over a fake live call ---------------------------------------------------


def test_editor_shows_the_server_session(live: FakeLive) -> None:
    live.state.session["instructions"] = SECRET_TEXT
    editor = SessionEditor(live)
    assert editor.model_box.value == "gpt-realtime"
    assert editor.model_box.disabled
    assert editor.instructions.text == SECRET_TEXT
    assert editor.voice.value == "alloy"
    assert editor.td_type.value == "server_vad"
    assert editor.changed() == {}
    assert editor.apply_button.disabled  # nothing to apply


async def test_apply_sends_one_update_with_only_changed_fields(live: FakeLive) -> None:
    editor = SessionEditor(live)
    browser_edit(editor.instructions, "Speak like a pirate.")
    editor.voice.value = "marin"
    editor.td_silence.value = 700
    assert not editor.apply_button.disabled
    expected = {
        "instructions": "Speak like a pirate.",
        "audio": {
            "output": {"voice": "marin"},
            "input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 700}},
        },
    }
    assert editor.changed() == expected
    result = await editor.apply()
    assert live.updates == [expected]
    assert result.diff == []
    assert "applied" in editor.status.value
    assert "4 of 4 as requested" in editor.status.value
    assert "= audio.output.voice" in editor.result.text
    # The form now shows the new server session, with nothing left to apply.
    assert editor.changed() == {}
    assert editor.apply_button.disabled
    assert live.state.session["audio"]["input"]["turn_detection"]["threshold"] == 0.5


async def test_apply_button_runs_as_a_task_and_disables_while_in_flight(live: FakeLive) -> None:
    gate = asyncio.Event()
    original = live.update_session

    async def slow(**fields: Any) -> Any:
        await gate.wait()
        return await original(**fields)

    live.update_session = slow  # type: ignore[method-assign]
    editor = SessionEditor(live)
    editor.modalities.value = "text"
    editor.apply_button.click()  # returns at once: the click handler only spawns a task
    await asyncio.sleep(0.01)
    assert editor.pending_actions == 1
    assert editor.apply_button.disabled
    assert "applying output_modalities" in editor.status.value
    gate.set()
    await editor.wait_actions()
    assert live.updates == [{"output_modalities": ["text"]}]
    assert live.state.session["output_modalities"] == ["text"]


async def test_invalid_tools_json_sends_nothing_and_names_the_field(live: FakeLive) -> None:
    editor = SessionEditor(live)
    browser_edit(editor.tools, '[{"type": "function", "name": "lookup",')
    assert editor.apply_button.disabled
    assert "session.tools" in editor.field_error.value
    assert "not valid JSON" in editor.field_error.value
    assert editor.tools.invalid
    with pytest.raises(ValidationError) as info:
        await editor.apply()
    assert info.value.field == "session.tools"
    assert live.updates == []


async def test_invalid_tool_schema_sends_nothing(live: FakeLive) -> None:
    editor = SessionEditor(live)
    bad = [{"type": "function", "name": "lookup", "parameters": {"type": "strnig"}}]
    browser_edit(editor.tools, json.dumps(bad))
    assert editor.apply_button.disabled
    assert "session.tools[0].parameters" in editor.field_error.value
    with pytest.raises(ValidationError) as info:
        await editor.apply()
    assert info.value.field.startswith("session.tools[0].parameters")
    assert live.updates == []


async def test_valid_tools_offer_tool_choice_and_apply(live: FakeLive) -> None:
    editor = SessionEditor(live)
    tools = [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    browser_edit(editor.tools, json.dumps(tools))
    assert "function: get_weather" in editor.tool_choice.options
    editor.tool_choice.value = "function: get_weather"
    await editor.apply()
    assert live.updates == [
        {"tools": tools, "tool_choice": {"type": "function", "name": "get_weather"}}
    ]


async def test_server_refusal_is_shown_inline(live: FakeLive) -> None:
    live.refuse = "Invalid value: 'text'. Supported values are: 'audio'."
    editor = SessionEditor(live)
    editor.modalities.value = "text"
    editor.apply_button.click()
    await editor.wait_actions()
    assert "not applied" in editor.error.value
    assert "Supported values are" in editor.error.value
    assert not editor.apply_button.disabled  # can try again
    assert len(live.updates) == 1


async def test_voice_is_locked_after_audio(live: FakeLive) -> None:
    editor = SessionEditor(live)
    live.state.audio_started = True
    live.emit({"type": "output_audio_buffer.started", "event_id": "e", "response_id": "resp_1"})
    assert editor.voice.disabled
    assert "locked" in editor.voice_note.value
    editor.set_field("voice", "marin")  # a script can still try: refused before sending
    assert "session.audio.output.voice" in editor.field_error.value
    with pytest.raises(ValidationError, match="locked"):
        await editor.apply()
    assert live.updates == []


async def test_raw_json_tab_sends_only_the_difference(live: FakeLive) -> None:
    editor = SessionEditor(live)
    editor.tabs.selected_index = 1
    raw = json.loads(editor.raw.text)
    assert "id" not in raw
    assert raw["model"] == "gpt-realtime"
    raw["audio"]["output"]["speed"] = 1.2
    browser_edit(editor.raw, json.dumps(raw))
    assert editor.changed() == {"audio": {"output": {"speed": 1.2}}}
    raw["model"] = "gpt-other"
    browser_edit(editor.raw, json.dumps(raw))
    assert "session.model" in editor.field_error.value
    assert editor.apply_button.disabled
    with pytest.raises(ValidationError):
        await editor.apply()
    browser_edit(editor.raw, "{not json")
    assert "not valid JSON" in editor.field_error.value
    raw["model"] = "gpt-realtime"
    browser_edit(editor.raw, json.dumps(raw).replace("1.2", "NaN"))
    assert "session: not valid JSON (NaN is not a JSON value)" in editor.field_error.value
    assert live.updates == []


async def test_external_session_update_keeps_unsaved_edits(live: FakeLive) -> None:
    editor = SessionEditor(live)
    browser_edit(editor.instructions, "my draft")
    other = copy.deepcopy(live.state.session)
    other["audio"]["output"]["voice"] = "cedar"
    live.emit({"type": "session.updated", "event_id": "e2", "session": other})
    assert editor.voice.value == "cedar"  # untouched field follows the server
    assert editor.instructions.text == "my draft"  # the person's edit survives
    assert editor.changed() == {"instructions": "my draft"}


def test_show_code_toggle(live: FakeLive) -> None:
    editor = SessionEditor(live)
    editor.set_field("output_modalities", ["text"])
    assert editor.code.layout.display == "none"
    editor.code_toggle.value = True
    assert editor.code.layout.display == ""
    assert editor.code.text == "await call.update_session(\n    output_modalities=['text'],\n)"


def test_semantic_vad_switch_sends_the_full_object(live: FakeLive) -> None:
    editor = SessionEditor(live)
    editor.td_type.value = "semantic_vad"
    editor.td_eagerness.value = "high"
    assert editor.changed() == {
        "audio": {
            "input": {
                "turn_detection": {
                    "type": "semantic_vad",
                    "eagerness": "high",
                    "create_response": True,
                    "interrupt_response": True,
                }
            }
        }
    }
    editor.td_type.value = "none"
    assert editor.changed() == {"audio": {"input": {"turn_detection": None}}}


def test_bad_idle_timeout_names_the_field(live: FakeLive) -> None:
    editor = SessionEditor(live)
    editor.td_idle.value = "soon"
    assert "turn_detection.idle_timeout_ms" in editor.field_error.value
    editor.td_idle.value = "1000"
    assert "idle_timeout_ms" in editor.field_error.value  # below 5000: the protocol check
    editor.td_idle.value = "6000"
    assert editor.field_error.value == ""


def test_no_instructions_or_tools_in_saved_widget_state(live: FakeLive) -> None:
    live.state.session["instructions"] = SECRET_TEXT
    live.state.session["tools"] = [
        {"type": "function", "name": "dig", "description": "treasure_map under the palm"}
    ]
    editor = SessionEditor(live)
    editor.code_toggle.value = True
    browser_edit(editor.instructions, SECRET_TEXT + " Always.")
    dumped = json.dumps(all_states(editor))
    assert SECRET_TEXT not in dumped
    assert "treasure_map" not in dumped
    assert "function: dig" in dumped  # tool *names* are labels (tool choice), not tool text
    assert len(all_states(editor)) > 20  # the walk really reached the children


def test_public_mode_allows_synced_values(live: FakeLive) -> None:
    live.state.session["instructions"] = SECRET_TEXT
    editor = SessionEditor(live, private=False)
    assert SECRET_TEXT in json.dumps(all_states(editor))


def test_repr_and_unbind(live: FakeLive) -> None:
    live.state.session["instructions"] = SECRET_TEXT
    editor = SessionEditor(live)
    assert SECRET_TEXT not in repr(editor)
    assert live.call_id in repr(editor)
    editor.unbind()
    assert editor.instructions.text == ""
    assert editor.apply_button.disabled
    assert live._subs == []
    editor.close()
    editor.close()


async def test_applied_differences_are_shown(live: FakeLive) -> None:
    original = live.update_session

    async def clamping(**fields: Any) -> Any:
        result = await original(**fields)
        # This "server" clamps the speed it was asked for.
        result.session["audio"]["output"]["speed"] = 1.5
        result.diff = session_diff(fields, result.session)
        return result

    live.update_session = clamping  # type: ignore[method-assign]
    editor = SessionEditor(live)
    editor.set_field("raw", {**editor.baseline, "audio": {"output": {"speed": 1.4}}})
    await editor.apply()
    assert "applied with differences: audio.output.speed" in editor.status.value
    assert "≠ audio.output.speed\n    requested: 1.4\n    applied:   1.5" in editor.result.text


# -- end to end on the emulator ------------------------------------------------------------


@pytest.fixture
async def emu() -> Any:
    from rtwidgets.emulator import Emulator

    emulator = await Emulator.start(
        speed=50, seed=5, scenario="tools", session_created_on_attach=True
    )
    try:
        yield emulator
    finally:
        await emulator.close()


WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


async def attach_tools_call(emu: Any) -> Any:
    """A call whose model asks for get_weather and then waits for its output."""
    from rtwidgets._call import attach

    call_id = await emu.start_call(
        transport="webrtc", scenario="tools", session={"tools": [WEATHER_TOOL]}
    )
    call = await attach(call_id, client=emu.client(api_key="sk-test-not-a-real-key"), capture=False)
    for _ in range(500):
        if call.state.session is not None:
            return call
        await asyncio.sleep(0.01)
    raise AssertionError("no session reported")


def received_updates(emu: Any, call_id: str) -> list[dict[str, Any]]:
    return [
        r["event"]
        for r in emu.record(call_id)
        if r["direction"] == "received" and r["event"] and r["event"]["type"] == "session.update"
    ]


async def test_apply_on_the_emulator_sends_one_update_and_shows_the_diff(emu: Any) -> None:
    call = await attach_tools_call(emu)
    editor = SessionEditor(call)
    try:
        assert editor.instructions.text.startswith("You are a weather assistant")
        browser_edit(editor.instructions, "You are a terse weather assistant.")
        editor.td_type.value = "semantic_vad"
        editor.td_eagerness.value = "low"
        editor.apply_button.click()
        await editor.wait_actions()
        [update] = received_updates(emu, call.call_id)
        assert update["session"] == {
            "type": "realtime",
            "instructions": "You are a terse weather assistant.",
            "audio": {
                "input": {
                    "turn_detection": {
                        "type": "semantic_vad",
                        "eagerness": "low",
                        "create_response": True,
                        "interrupt_response": True,
                    }
                }
            },
        }
        assert editor.last_error is None
        assert "as requested" in editor.status.value
        assert editor.last_result.diff == []
        assert editor.td_type.value == "semantic_vad"  # the form shows the server's answer
        assert editor.changed() == {}
        assert "You are a terse" not in json.dumps(all_states(editor))
    finally:
        editor.close()
        await call.close()


async def test_server_refusal_from_the_emulator_is_shown_inline(emu: Any) -> None:
    call = await attach_tools_call(emu)
    editor = SessionEditor(call)
    try:
        # The spoken lead-in comes before the tool call: once it is pending, audio exists.
        await call.wait_for("response.function_call_arguments.done", timeout=10)
        assert call.state.audio_started
        assert editor.voice.disabled
        # Pretend the client missed it, so only the server can refuse the voice change.
        call.state.audio_started = False
        editor._refresh_locks()
        editor.set_field("voice", "marin")
        editor.apply_button.click()
        await editor.wait_actions()
        assert len(received_updates(emu, call.call_id)) == 1
        assert "not applied" in editor.error.value
        assert "assistant audio is present" in editor.error.value
        assert editor.voice.value == "marin"  # the edit is kept for another try
    finally:
        editor.close()
        await call.close()


async def test_load_session_when_the_sideband_got_no_session_created() -> None:
    from rtwidgets._call import attach
    from rtwidgets.emulator import Emulator

    emulator = await Emulator.start(speed=50, seed=6, scenario="tools")  # no session.created
    call_id = await emulator.start_call(transport="webrtc", scenario="tools")
    call = await attach(
        call_id, client=emulator.client(api_key="sk-test-not-a-real-key"), capture=False
    )
    editor = SessionEditor(call)
    try:
        if call.state.session is None:
            assert editor.unknown_box.layout.display == ""
            assert editor.instructions.text == ""
        editor.fetch_button.click()
        await editor.wait_actions()
        assert editor.unknown_box.layout.display == "none"
        assert editor.instructions.text.startswith("You are a weather assistant")
        assert editor.model_box.value == "gpt-realtime"
        [update] = received_updates(emulator, call_id)
        assert update["session"] == {"type": "realtime"}  # asks, changes nothing
    finally:
        editor.close()
        await call.close()
        await emulator.close()


async def test_a_recording_is_read_only(live: FakeLive) -> None:
    class RecordingLike:
        call_id = live.call_id
        state = live.state

        def frames(self) -> list[Any]:
            return []

        def subscribe(self, cb: Callable[[Any], None]) -> Callable[[], None]:
            return lambda: None

    editor = SessionEditor(RecordingLike())
    assert "read-only" in editor.status.value
    editor.set_field("instructions", "new")
    assert editor.apply_button.disabled
    with pytest.raises(RuntimeError, match="read-only"):
        await editor.apply()
    assert "read-only" in editor.error.value


async def test_a_read_only_source_offers_no_apply_and_states_no_voice_lock(live: FakeLive
                                                                         ) -> None:
    # A replay (read_only) shows the session, not the actions it cannot take (issue 14).
    class ReplayLike:
        call_id = live.call_id
        state = live.state
        read_only = True

        def frames(self) -> list[Any]:
            return []

        def subscribe(self, cb: Callable[[Any], None]) -> Callable[[], None]:
            return lambda: None

    editor = SessionEditor(ReplayLike())
    editor.set_field("instructions", "new")
    assert editor.apply_button.layout.display == "none"
    assert editor.revert_button.layout.display == "none"
    assert "read-only" in editor.apply_button.tooltip
    assert "locked" not in editor.voice_note.value
    editor.close()


def on_subshell_thread(action: Callable[[], None]) -> None:
    """Run ``action`` as JupyterLab 4.4+ delivers widget messages: on a kernel subshell
    thread that has its own running event loop (comms over subshells)."""
    import threading

    async def handler() -> None:
        action()

    thread = threading.Thread(target=lambda: asyncio.run(handler()))
    thread.start()
    thread.join()


async def test_clicks_from_a_comm_subshell_thread_run_on_the_calls_loop(emu: Any) -> None:
    call = await attach_tools_call(emu)
    editor = SessionEditor(call)
    try:
        on_subshell_thread(lambda: browser_edit(editor.instructions, "Answer in French."))
        await asyncio.sleep(0.05)  # the refresh hops back to this loop
        assert editor.changed() == {"instructions": "Answer in French."}
        assert not editor.apply_button.disabled
        on_subshell_thread(editor.apply_button.click)
        for _ in range(300):
            if "as requested" in editor.status.value:
                break
            await asyncio.sleep(0.01)
        assert "as requested" in editor.status.value, editor.error.value
        assert [u["session"] for u in received_updates(emu, call.call_id)] == [
            {"type": "realtime", "instructions": "Answer in French."}
        ]
    finally:
        editor.close()
        await call.close()


async def test_mcp_credentials_never_reach_the_browser_but_are_kept(live: FakeLive) -> None:
    token = "Bearer mcp-test-token-not-real"
    mcp = {
        "type": "mcp",
        "server_label": "crm",
        "server_url": "https://mcp.example.com",
        "authorization": token,
        "headers": {"X-Api-Key": "k-test-not-real"},
    }
    live.state.session["tools"] = [mcp]
    editor = SessionEditor(live)
    editor.code_toggle.value = True
    shown = json.loads(editor.tools.text)
    assert shown[0]["authorization"] == "<hidden>"
    assert shown[0]["headers"] == {"X-Api-Key": "<hidden>"}
    # Edit another field of the tool: the hidden credentials are sent as they were.
    shown[0]["server_description"] = "customer records"
    browser_edit(editor.tools, json.dumps(shown))
    assert token not in editor.code.text
    await editor.apply()
    assert live.updates[0]["tools"][0]["authorization"] == token
    assert live.updates[0]["tools"][0]["headers"] == {"X-Api-Key": "k-test-not-real"}
    everything = [
        m for w in (editor.tools, editor.raw, editor.code, editor.result) for m in w.comm.messages
    ]
    assert token not in json.dumps(everything)
    assert "k-test-not-real" not in json.dumps(everything)
    # A masked value with nothing behind it is refused, naming the field.
    browser_edit(
        editor.tools,
        json.dumps([{**shown[0], "server_label": "other", "authorization": "<hidden>"}]),
    )
    assert "session.tools[0].authorization" in editor.field_error.value


async def test_an_ended_call_is_read_only(emu: Any) -> None:
    call = await attach_tools_call(emu)
    editor = SessionEditor(call)
    try:
        editor.set_field("instructions", "too late")
        assert not editor.apply_button.disabled
        await emu.hangup(call.call_id)
        await call.wait_ended(timeout=10)
        assert editor.apply_button.disabled
        assert "the call has ended" in editor.status.value
        assert editor.unknown_box.layout.display == "none"
    finally:
        editor.close()
        await call.close()


def _open_widgets() -> set[str]:
    return {
        k
        for k, w in ipw_widget._instances.items()
        if not type(w).__name__.endswith(("Layout", "Style"))
    }


def test_close_releases_every_widget(live: FakeLive) -> None:
    before = _open_widgets()
    for _ in range(3):
        editor = SessionEditor(live)
        editor.set_field("instructions", "x")
        editor.close()
    assert _open_widgets() - before == set()
    assert live._subs == []


# -- unknown is not a value (issue 14, point 2) ---------------------------------------------


def test_before_the_session_is_known_every_field_shows_unknown() -> None:
    source = FakeLive()
    source.state.session = None  # a sideband that got no session.created yet
    source.state.audio_started = True  # the model already spoke: the voice is fixed
    editor = SessionEditor(source)
    try:
        assert editor.unknown_fields == [
            "model", "instructions", "audio.output.voice", "output_modalities",
            "audio.input.turn_detection", "tools", "tool_choice",
        ]
        # no invented value: not alloy, not "none", not []
        assert editor.voice.label == "unknown"
        assert editor.modalities.label == "unknown"
        assert editor.td_type.label == "unknown"
        assert editor.tool_choice.value == "unknown"
        assert editor.tools.text == ""
        assert editor.tools.placeholder == "unknown"
        assert editor.instructions.placeholder == "unknown"
        assert editor.model_box.value == ""
        assert editor.model_box.placeholder == "unknown"
        for control in (editor.voice, editor.modalities, editor.td_type, editor.tools,
                        editor.tool_choice, editor.instructions, editor.model_box):
            assert "rtw-unknown" in control._dom_classes
        assert editor.server_vad_box.layout.display == "none"
        assert editor.td_common.layout.display == "none"
        assert "locked" not in editor.voice_note.value  # a voice not known is not "locked"
        assert editor.changed() == {}  # unknown fields send nothing
        # picking a value is an edit: only that field is sent
        assert editor.voice.disabled  # the voice cannot change any more, known or not
        editor.modalities.value = "text"
        assert editor.changed() == {"output_modalities": ["text"]}
        # the session arrives: the fields show it; the person's edit survives
        session = default_session("gpt-realtime", IdFactory(2), created_at=1)
        session["audio"]["output"]["voice"] = "cedar"
        session["audio"]["input"]["turn_detection"] = {"type": "server_vad", "threshold": 0.5}
        source.emit({"type": "session.updated", "event_id": "event_2", "session": session})
        assert editor.unknown_fields == []
        assert editor.td_type.value == "server_vad"
        assert editor.modalities.value == "text"
        assert editor.voice.value == "cedar"
        assert "unknown" not in [o[0] for o in editor.voice.options]
        assert "rtw-unknown" not in editor.td_type._dom_classes
        editor.revert()
        assert editor.modalities.value == "audio"
        assert "locked" in editor.voice_note.value  # now the voice is known
    finally:
        editor.close()


def test_a_session_without_a_field_shows_that_field_unknown(live: FakeLive) -> None:
    del live.state.session["tools"]
    editor = SessionEditor(live)
    assert editor.unknown_fields == ["tools"]
    assert editor.tools.text == ""
    assert editor.voice.value == "alloy"  # reported, so shown
    editor.close()


def test_unbound_editor_says_server_default() -> None:
    editor = SessionEditor()
    assert editor.voice.label == "server default"
    assert editor.tool_choice.value == "server default"
    assert editor.session_fields() == {"type": "realtime"}
    editor.close()


def test_an_ended_call_keeps_its_last_session(live: FakeLive) -> None:
    live.status = SimpleNamespace(state="live", reason="")  # type: ignore[attr-defined]
    editor = SessionEditor(live)
    live.status = SimpleNamespace(state="ended", reason="hung up")  # type: ignore[attr-defined]
    live.emit({"type": "rtwidgets.status", "status": "ended", "reason": "hung up"}, "meta")
    assert "read-only: the call has ended" in editor.status.value
    assert editor.unknown_fields == []
    assert editor.voice.value == "alloy"  # reported by the server before the end
    editor.close()


# -- thresholds, "show code" after Apply, the field in red ------------------------------------


def test_threshold_is_a_float_and_a_bad_one_is_refused_in_red(live: FakeLive) -> None:
    live.state.session["audio"]["input"]["turn_detection"] = {"type": "server_vad",
                                                              "threshold": 0.5}
    editor = SessionEditor(live)
    editor.td_threshold.value = 0.65
    assert editor.changed() == {"audio": {"input": {"turn_detection": {
        "type": "server_vad", "threshold": 0.65}}}}
    editor.td_threshold.value = 1.5  # was silently clamped to 1 by a bounded control
    assert editor.td_threshold.value == 1.5
    with pytest.raises(ValidationError) as info:
        editor.changed()
    assert info.value.field == "session.audio.input.turn_detection.threshold"
    assert "threshold" in editor.field_error.value
    assert editor.apply_button.disabled
    assert editor.invalid_field == "td_threshold"
    assert "rtw-invalid" in editor.td_threshold._dom_classes
    editor.code_toggle.value = True
    assert "shown in red" in editor.code.text
    editor.td_threshold.value = 0.7  # fixed: no longer red
    assert editor.invalid_field is None
    assert "rtw-invalid" not in editor.td_threshold._dom_classes
    editor.close()


def test_bad_custom_voice_id_marks_its_box_red(live: FakeLive) -> None:
    editor = SessionEditor(live)
    editor.set_field("voice", "not-a-voice-id")
    assert editor.invalid_field == "voice_custom"
    assert "rtw-invalid" in editor.voice_custom._dom_classes
    editor.close()


async def test_show_code_after_apply_shows_what_was_applied(live: FakeLive) -> None:
    editor = SessionEditor(live)
    editor.code_toggle.value = True
    editor.set_field("output_modalities", ["text"])
    await editor.apply()
    assert editor.changed() == {}
    assert "nothing changed" not in editor.code.text
    assert editor.code.text == (
        "# last applied:\nawait call.update_session(\n    output_modalities=['text'],\n)"
    )
    editor.set_field("instructions", "Be brief.")  # a new edit shows itself again
    assert editor.code.text.startswith("await call.update_session(\n    instructions=")
    editor.close()


def test_a_hostile_session_is_shown_not_raised(live: FakeLive) -> None:
    """Issue 11 item 8: whatever session the server reports, the form shows it and syncs
    only what the kernel can send (no lone surrogate, no NaN, nothing too deep to copy)."""
    from jupyter_client.session import json_packer

    editor = SessionEditor(live)
    try:
        session = json.loads(
            '{"type": "realtime", "model": "gpt-\\ud800", "instructions": "x\\udfff",'
            ' "output_modalities": 5, "tools": [' + '{"a":' * 800 + '{}' + '}' * 800 + '],'
            ' "audio": {"input": {"turn_detection": {"type": "server_vad",'
            ' "threshold": "high", "prefix_padding_ms": ' + "1" + "0" * 400 + ','
            ' "silence_duration_ms": NaN}}}}')
        live.emit({"type": "session.updated", "event_id": "e1", "session": session})
        assert editor.last_error is None
        assert editor.frame_errors == 0
        assert editor.model_box.value == "gpt-\ufffd"
        assert editor.instructions.text == "x\ufffd"
        assert editor.modalities.value == "audio"
        assert editor.td_type.value == "server_vad"
        assert editor.td_threshold.value == 0.5   # not a number: the default, the JSON
        assert editor.td_prefix.value == 300      # tab shows what was reported
        assert editor.td_silence.value == 200
        assert "deeper than" in editor.tools.text
        for state in all_states(editor):
            json_packer(state)
    finally:
        editor.close()
