"""The console on a GPT-Live session: a real ``Call`` through ``MemoryTransport`` fed the real
Live traces (``tests/reality/frames/live_spike_*.json``) plus scripted frames, every view
reading the call through its codec (issue 13 item 5)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from _live_api_stub import REAL_LIVE_IDS

from rtwidgets import MemoryTransport, attach
from rtwidgets.protocol.errors import ValidationError
from rtwidgets.widgets import CallConsole
from rtwidgets.widgets._base import codec_of, redact_event

from .conftest import custom_messages

SID = REAL_LIVE_IDS[0]  # the session of the spoken trace
FRAMES = Path(__file__).resolve().parents[1] / "reality" / "frames"
CALL_ID = "call_n8kYXHgMwoBeMnzDhakmY8fQ"  # the spoken trace's backend function call
RESP_1 = "resp_0a31e1b65549a787006ac0db05444487d1aa17bf90f615de91"
DELEGATION = "item_EUrPpQobYmB54id9y3MY5"


def trace(name: str) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = json.loads(
        (FRAMES / f"live_spike_{name}.json").read_text())["frames"]
    return frames


async def _until(predicate: Any, tries: int = 2000) -> None:
    """Yield to the loop until ``predicate()`` holds (a bounded number of short sleeps)."""
    for _ in range(tries):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


def _sent_without_ids(t: MemoryTransport) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "event_id"} for e in t.sent]


def _server(event: dict[str, Any]) -> dict[str, Any] | None:
    """What the Live server answers to a session.update: the full session, echoing the id."""
    if event["type"] != "session.update":
        return None
    session = json.loads(json.dumps(trace("spoken")[0]["session"]))
    session["triggers"] = event["session"].get("triggers", [])
    return {"type": "session.updated", "event_id": "event_su1",
            "client_event_id": event["event_id"], "session": session}


async def test_a_live_session_fills_the_console() -> None:
    frames = trace("spoken")
    end = next(i for i, f in enumerate(frames) if f["type"] == "response.event"
               and f["event"]["type"] == "response.output_item.done")
    t = MemoryTransport(handler=_server)
    call = await attach(SID, transport=t, capture=False)
    console = CallConsole(call)
    try:
        assert codec_of(call).api == "live"
        # The real trace up to the backend's function call, and a DTMF key (scripted).
        for frame in frames[:end + 1]:
            await t.push(frame)
        await t.push({"type": "transport.dtmf.received", "event": "5",
                      "event_id": "event_dtmf1"})
        await _until(lambda: call.stats.events_in == end + 2)

        # The tool call is pending and answered from the ToolCalls form.
        tools = console.tool_calls
        tools._sync_rows()
        assert tools.pending == [CALL_ID]
        row = tools._rows[CALL_ID]
        row.output.text = '{"text": "painted teal in 1987"}'
        row.send_respond.click()
        await _until(lambda: len(t.sent) >= 1)
        await tools.wait_actions()
        # Call.send_tool_output's Live round trip: the output, then response.create.
        assert _sent_without_ids(t) == [
            {"type": "response.item.create", "item": {
                "type": "function_call_output", "call_id": CALL_ID,
                "output": '{"text":"painted teal in 1987"}'}},  # the form's JSON, compact
            {"type": "response.create"},
        ]
        await t.push({"type": "response.event", "event_id": "event_cd",
                      "delegation_id": DELEGATION, "event": {
                          "type": "response.completed", "response": {
                              "id": RESP_1, "status": "completed", "output": []}}})
        rec = call.state.tool_calls[CALL_ID]
        assert (rec.status, rec.answered_by) == ("answered", "form")

        # The session editor offers only what Live lets change after start.
        editor = console.session_editor
        assert editor.editable_fields == ("delegation", "triggers")
        fixed = editor.fixed_fields
        assert {"model", "instructions", "audio"} <= set(fixed)
        assert "append_instructions" in fixed["instructions"]
        assert "instructions" in editor.live_fixed.value
        assert "You are a voice companion" not in editor.live_fixed.value  # no text synced
        with pytest.raises(ValidationError) as info:
            editor.set_field("instructions", "Be terse.")
        assert info.value.field == "session.instructions"
        assert "append_instructions" in str(info.value)
        assert editor.changed() == {}
        editor.set_field("delegation", {"type": "responses",
                                        "responses": {"reasoning": {"effort": "high"}}})
        # Sparse: only the setting that differs, under the delegation's own type.
        assert editor.changed() == {"delegation": {
            "type": "responses", "responses": {"reasoning": {"effort": "high"}}}}
        editor.revert()
        editor.set_field("triggers", [])
        assert editor.changed() == {"triggers": []}
        result = await editor.apply()
        assert result is not None
        assert t.sent[-1]["type"] == "session.update"
        assert t.sent[-1]["session"] == {"triggers": []}
        assert "applied: triggers" in editor.status.value

        # The rest of the real trace, then the server closes the session.
        for frame in frames[end + 1:]:
            await t.push(frame)
        await _until(lambda: call.status.state == "ended")

        # Transcript: both sides, from the input/output transcript deltas.
        items = console.transcript.items()
        said = [(i["role"], i["text"]) for i in items if i["kind"] == "message"]
        assert said == [
            ("user", "What does the article say about the lighthouse"),
            ("assistant", "I'm checking the article. One moment."),
            ("assistant", "It says the lighthouse was painted teal in 1987."),
        ]
        tool_items = [i for i in items if i["kind"] == "function_call"]
        assert [(i["call_id"], i["tool_status"], i["answered_by"]) for i in tool_items] == [
            (CALL_ID, "answered", "form")]

        # Status bar: usage in seconds, context-window use, no price, the close reason.
        console.status.refresh()
        s = console.status.summary()
        assert s["api"] == "live"
        assert s["usage_s"] == 32.0
        assert s["context_ratio"] == pytest.approx(0.0123359375)
        assert s["usage_only"] is True
        assert s["cost_usd"] is None
        assert s["status"] == "ended"
        assert "close_requested" in s["reason"]
        html = console.status.value
        assert 'data-field="usage"' in html
        assert "32 s" in html
        assert 'data-field="context"' in html
        assert "1.2%" in html
        assert "usage only" in html
        assert 'data-field="tokens"' not in html

        # Event log: wire types as data, the Live codec's categories and summaries.
        log = console.event_log
        rows = log.rows()
        cats = {r["type"]: r["cat"] for r in rows}
        assert cats["transport.dtmf.received"] == "transport"
        assert cats["session.delegation.created"] == "delegation"
        assert cats["session.usage.updated"] == "usage"
        assert cats["session.input_transcript.delta"] == "transcript"
        assert cats["response.item.create"] == "response"
        assert log.categories[:2] == ("session", "input_audio")
        by_type = {r["type"]: r for r in rows}
        assert by_type["transport.dtmf.received"]["sum"] == "key '5'"
        assert by_type["session.closed"]["sum"].startswith("close_requested, 32 s")
        # Item-less transcript fragments fold into one row per run, with its text.
        caller = [r for r in rows if r["type"] == "session.input_transcript.delta"]
        assert len(caller) == 1
        assert caller[0]["n"] > 1
        assert "lighthouse" in caller[0]["sum"]
        assert not any(r.get("err") for r in rows)
    finally:
        console.close()
        await call.close()


@pytest.mark.parametrize("name", ["allow", "allowmin", "spoken"])
async def test_every_real_live_trace_shows_in_the_console(name: str) -> None:
    frames = trace(name)
    t = MemoryTransport(frames)
    call = await attach(SID, transport=t, capture=False)
    console = CallConsole(call)
    try:
        await _until(lambda: call.stats.events_in == len(frames))
        agent = " ".join(i["text"] for i in console.transcript.items()
                         if i["role"] == "assistant")
        if name == "allowmin":  # the backend's function call only: nothing was said
            assert agent == ""
        else:
            assert "teal in 1987" in agent
        # Every trace holds the backend's lookup_passage call, listed by the ToolCalls view.
        listed = console.tool_calls.pending + console.tool_calls.answered + [
            r.call_id for r in call.state.tool_calls.values() if r.status == "unanswered"]
        assert len(listed) == 1
        assert listed[0].startswith("call_")
        # The browser got the assistant's text (the newest items re-read per fragment).
        if name != "allowmin":
            await _until(lambda: any(
                "teal in 1987" in item.get("text", "")
                for m in custom_messages(console.transcript) for item in m.get("items", [])))
        rows = console.event_log.rows()
        assert sum(r["n"] for r in rows) == len(call.frames())  # every frame, folded or not
        assert all(r["cat"] != "unknown" for r in rows)
        assert not any(r.get("err") for r in rows)
    finally:
        console.close()
        await call.close()


def test_redaction_hides_live_spoken_text_and_appends() -> None:
    fragment = trace("spoken")[1]
    assert fragment["type"] == "session.input_transcript.delta"
    hidden = redact_event(fragment)
    assert hidden["delta"] != fragment["delta"]
    assert hidden["start_ms"] == fragment["start_ms"]
    append = {"type": "session.instructions.append", "content": "Say the order shipped.",
              "delegation_id": None}
    assert redact_event(append)["content"] != append["content"]


async def test_the_live_editor_refuses_bad_input_and_sends_nothing() -> None:
    t = MemoryTransport([trace("spoken")[0]], handler=_server)
    call = await attach(SID, transport=t, capture=False)
    console = CallConsole(call)
    editor = console.session_editor
    try:
        await _until(lambda: call.state.session is not None)
        editor.set_field("triggers", "[not json")
        with pytest.raises(ValidationError) as info:
            editor.changed()
        assert info.value.field == "session.triggers"
        assert "JSON" in str(info.value)
        assert editor.apply_button.disabled
        with pytest.raises(ValidationError):
            await editor.apply()
        editor.revert()
        # The session's delegation is a Responses one: another type is refused before sending.
        editor.set_field("delegation", {"type": "client"})
        with pytest.raises(ValidationError) as info:
            await editor.apply()
        assert info.value.field.startswith("session.delegation")
        assert t.sent == []
    finally:
        console.close()
        await call.close()
