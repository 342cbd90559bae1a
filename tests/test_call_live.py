"""A GPT-Live call through ``MemoryTransport``: attach by id, steering, refusals, the end."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from _live_api_stub import REAL_LIVE_IDS, REAL_RTC_ID

import rtwidgets
from rtwidgets import MemoryTransport, attach
from rtwidgets._call import CallNotLiveError
from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.live.builders import UnsupportedLiveAction
from rtwidgets.protocol.state import SessionState

SID = REAL_LIVE_IDS[1]
FRAMES = Path(__file__).resolve().parent / "reality" / "frames"


def trace(name: str) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = json.loads(
        (FRAMES / f"live_spike_{name}.json").read_text())["frames"]
    return frames


def started(delegation: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "session.started", "event_id": "event_EUrRCcE0ewVxBqmlbaLdU",
            "session": {"id": SID, "model": "gpt-live-1", "status": "active", "input": [],
                        "expires_at": 1791031162, "delegation": delegation}}


async def live_call(frames: list[Any] | None = None, **kw: Any) -> tuple[Any, MemoryTransport]:
    t = MemoryTransport(frames or [started({"type": "client"})], **kw)
    call = await attach(SID, transport=t, capture=False)
    await _until(lambda: call.live_session is not None or not frames)
    return call, t


async def _until(predicate: Any, tries: int = 2000) -> None:
    """Yield to the loop until ``predicate()`` holds (a bounded number of short sleeps)."""
    for _ in range(tries):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


def _sent_without_ids(t: MemoryTransport) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "event_id"} for e in t.sent]


async def test_attach_by_live_id_is_a_live_call(tmp_path: Path) -> None:
    t = MemoryTransport([started(None)])
    call = await attach(SID, transport=t, capture=tmp_path / "live.jsonl")
    await _until(lambda: call.live_session is not None)
    await call.close()
    assert call.api == "live"
    assert call.transport_kind is None  # the u digit of a Live id is not a documented marker
    lines = (tmp_path / "live.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    assert header["api"] == "live"
    attached = json.loads(lines[1])["frame"]
    assert attached == {"type": "rtwidgets.attached",
                        "url_path": f"/v1/live/sessions/{SID}/attach"}
    rec = rtwidgets.load(tmp_path / "live.jsonl")
    assert rec.api == "live"


async def test_realtime_stays_realtime_and_old_captures_read_as_realtime(tmp_path: Path
                                                                         ) -> None:
    call = await attach(REAL_RTC_ID, transport=MemoryTransport(), capture=tmp_path / "r.jsonl")
    await call.close()
    assert call.api == "realtime"
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    assert header["api"] == "realtime"
    del header["api"]
    (tmp_path / "old.jsonl").write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    assert rtwidgets.load(tmp_path / "old.jsonl").api == "realtime"


async def test_api_overrides_the_id_and_is_checked() -> None:
    call = await attach(REAL_RTC_ID, transport=MemoryTransport(), capture=False, api="live")
    await call.close()
    assert call.api == "live"
    with pytest.raises(ValidationError) as info:
        await attach(SID, transport=MemoryTransport(), capture=False, api="gpt-live")
    assert info.value.field == "api"
    with pytest.raises(ValidationError) as info:
        await attach("live_has space", transport=MemoryTransport(), capture=False)
    assert info.value.field == "call_id"
    assert "space" not in str(info.value).split(":")[0]


async def test_steering_sends_the_exact_live_events() -> None:
    call, t = await live_call([started({"type": "client"}),
                               {"type": "session.delegation.created", "event_id": "event_d",
                                "offset_ms": 4000, "delegation": {
                                    "id": "D1", "target": "client", "type": "delegation"}}])
    try:
        await _until(lambda: call.frames() and call.stats.events_in == 2)
        ids = [
            await call.append_instructions("Greet the caller, then listen."),
            await call.append_thinking("Looking up the order…", delegation_id="D1"),
            await call.append_commentary("Order 123 shipped Tuesday.", "D1"),
            await call.mute(),
            await call.unmute(),
        ]
        assert [e["event_id"] for e in t.sent] == ids
        assert _sent_without_ids(t) == [
            {"type": "session.instructions.append", "content": "Greet the caller, then listen.",
             "delegation_id": None},
            {"type": "session.thinking.append", "content": "Looking up the order…",
             "delegation_id": "D1"},
            {"type": "session.commentary.append", "content": "Order 123 shipped Tuesday.",
             "delegation_id": "D1"},
            {"type": "session.input_audio.mute"},
            {"type": "session.input_audio.unmute"},
        ]
        assert [f.direction for f in call.frames()].count("out") == 5
    finally:
        await call.close()


async def test_actions_live_lacks_are_refused_before_anything_is_sent() -> None:
    call, t = await live_call([started({"type": "responses"}),
                               {"type": "session.delegation.created", "event_id": "event_d",
                                "offset_ms": 1200, "delegation": {
                                    "id": "item_EUrRFzNQl03ZP4XAWy4qp", "target": "responses",
                                    "type": "delegation", "response_id": "resp_1"}}])
    try:
        await _until(lambda: call.stats.events_in == 2)
        with pytest.raises(UnsupportedLiveAction, match="no voice response to cancel"):
            await call.cancel_response()
        with pytest.raises(UnsupportedLiveAction, match="append-only"):
            await call.send({"type": "conversation.item.truncate", "item_id": "x",
                             "content_index": 0, "audio_end_ms": 0})
        with pytest.raises(UnsupportedLiveAction, match="output audio buffer"):
            await call.send({"type": "output_audio_buffer.clear"})
        with pytest.raises(ValidationError) as info:
            await call.update_session(instructions="Be brief.")
        assert info.value.field == "session.instructions"
        assert "append_instructions" in str(info.value)
        with pytest.raises(ValidationError) as info:
            await call.update_session(delegation={"type": "client"})
        assert info.value.field == "session.delegation.type"
        assert "'responses'" in str(info.value)
        with pytest.raises(ValidationError) as info:
            await call.append_commentary("x", delegation_id="item_EUrRFzNQl03ZP4XAWy4qp")
        assert info.value.field == "delegation_id"
        assert "client delegation" in str(info.value)
        with pytest.raises(ValidationError) as info:
            await call.append_instructions("")
        assert info.value.field == "content"
        assert t.sent == []
    finally:
        await call.close()


async def test_live_steering_on_a_realtime_call_is_refused() -> None:
    t = MemoryTransport()
    call = await attach(REAL_RTC_ID, transport=t, capture=False)
    try:
        for action in (call.append_instructions("x"), call.mute(), call.close_session()):
            with pytest.raises(ValidationError, match="GPT-Live one"):
                await action
        assert t.sent == []
    finally:
        await call.close()


async def test_update_session_sends_only_live_fields_and_returns_what_was_applied() -> None:
    def server(event: dict[str, Any]) -> list[dict[str, Any]]:
        if event["type"] != "session.update":
            return []
        return [{"type": "session.updated", "event_id": "event_u",
                 "client_event_id": event["event_id"],
                 "session": {"id": SID, "model": "gpt-live-1", "status": "active",
                             "delegation": {"type": "responses", "acknowledgement_delay_ms": 0,
                                            "responses": {"model": "gpt-5.5",
                                                          "reasoning": {"effort": "low"}}},
                             "triggers": []}}]

    call, t = await live_call([started({"type": "responses"})], handler=server)
    try:
        result = await call.update_session(
            delegation={"type": "responses", "responses": {"reasoning": {"effort": "low"}}},
            triggers=[], timeout=10)
        assert _sent_without_ids(t) == [{"type": "session.update", "session": {
            "delegation": {"type": "responses", "responses": {"reasoning": {"effort": "low"}}},
            "triggers": []}}]
        assert result.applied_as_requested
        assert result.session["delegation"]["responses"]["model"] == "gpt-5.5"
    finally:
        await call.close()


async def test_a_refused_update_raises_the_servers_error() -> None:
    def server(event: dict[str, Any]) -> dict[str, Any]:
        return {"type": "error", "event_id": "event_e", "client_event_id": event["event_id"],
                "error": {"type": "invalid_request_error", "code": "unknown_parameter",
                          "message": "Unknown parameter.", "param": "session.triggers",
                          "client_event_id": event["event_id"]}}

    call, _t = await live_call([started({"type": "client"})], handler=server)
    try:
        with pytest.raises(rtwidgets.SessionUpdateError, match="unknown_parameter"):
            await call.update_session(triggers=[], timeout=10)
        assert call.status.state == "live"  # a refused command does not end the call
    finally:
        await call.close()


async def test_session_closed_ends_the_call_with_its_reason() -> None:
    def server(event: dict[str, Any]) -> dict[str, Any] | None:
        if event["type"] == "session.close":
            closed = trace("allow")[-1]
            return {**closed, "client_event_id": event["event_id"]}
        return None

    call, t = await live_call([started({"type": "responses"})], handler=server)
    status = await call.close_session(timeout=10)
    assert [e["type"] for e in t.sent] == ["session.close"]
    assert status.state == "ended"
    assert status.reason == "call ended: the session was closed (close_requested)"
    with pytest.raises(CallNotLiveError):
        await call.mute()
    await call.close()


async def test_a_backend_tool_call_is_answered_by_a_handler_then_continued_once() -> None:
    # The real spoken trace: delegation, the function call inside response.event.
    frames = trace("spoken")
    t = MemoryTransport()
    call = await attach(SID, transport=t, capture=False)
    seen: list[str] = []
    try:
        @call.tool("lookup_passage")
        def lookup(topic: str) -> dict[str, str]:
            seen.append(topic)
            return {"text": "painted teal in 1987"}

        did = "item_EUrPpQobYmB54id9y3MY5"
        await t.push({"type": "response.event", "event_id": "event_rc", "delegation_id": did,
                      "event": {"type": "response.created", "response": {
                          "id": "resp_1", "status": "in_progress", "output": []}}})
        for frame in frames:
            await t.push(frame)
            if frame["type"] == "response.event" and frame["event"]["type"] == (
                    "response.function_call_arguments.done"):
                break
        end = next(i for i, f in enumerate(frames) if f["type"] == "response.event"
                   and f["event"]["type"] == "response.output_item.done")
        await t.push(frames[end])
        await _until(lambda: len(t.sent) == 1)
        await asyncio.sleep(0.05)
        assert len(t.sent) == 1  # the backend response is still running: no response.create
        await t.push({"type": "response.event", "event_id": "event_cd", "delegation_id": did,
                      "event": {"type": "response.completed", "response": {
                          "id": "resp_1", "status": "completed", "output": []}}})
        await _until(lambda: len(t.sent) == 2)
        assert seen == ["lighthouse"]
        assert _sent_without_ids(t) == [
            {"type": "response.item.create", "item": {
                "type": "function_call_output", "call_id": "call_n8kYXHgMwoBeMnzDhakmY8fQ",
                "output": '{"text": "painted teal in 1987"}'}},
            {"type": "response.create"},
        ]
        with pytest.raises(rtwidgets.ToolCallError, match="already answered"):
            await call.send_tool_output("call_n8kYXHgMwoBeMnzDhakmY8fQ", "again")
        with pytest.raises(rtwidgets.ToolCallError, match="not a pending tool call"):
            await call.send_tool_output("call_unknown", "x")
    finally:
        await call.close()


@pytest.mark.parametrize("name", ["allow", "allowmin", "spoken"])
async def test_real_live_frames_go_through_the_call_without_harm(
        name: str, caplog: pytest.LogCaptureFixture) -> None:
    frames = trace(name)
    state = SessionState()
    for frame in frames:  # the Realtime-shaped reducer takes Live frames as data
        state.feed(frame, direction="in", t=1.0)
    t = MemoryTransport([*frames, "not json", {"type": "session.brand_new"}])
    call = await attach(SID, transport=t, capture=False)
    try:
        await _until(lambda: call.stats.events_in == len(frames) + 2 or
                     call.status.state == "ended")
        assert call.live_session is not None
        if frames[-1]["type"] == "session.closed":
            # final is final: the call ended at session.closed; what came after is not read
            assert call.status.state == "ended"
            assert "close_requested" in call.status.reason
            assert call.stats.events_in == len(frames)
            assert call.stats.bad_frames == 0
        else:
            assert call.status.state == "live"
            assert call.stats.bad_frames == 1
        assert "could not fold" not in caplog.text
    finally:
        await call.close()


async def test_an_append_id_under_responses_delegation_is_refused_even_if_unseen() -> None:
    # "Non-null IDs are not accepted with Responses delegation" (SDK): a delegation id the
    # call never saw (an old one, a typo) is refused as well as a seen Responses one.
    call, t = await live_call([started({"type": "responses"})])
    try:
        for kind in ("instructions", "thinking", "commentary"):
            with pytest.raises(ValidationError) as info:
                await getattr(call, f"append_{kind}")("x", delegation_id="item_NeverSeen1")
            assert info.value.field == "delegation_id"
            assert "'responses'" in str(info.value)
            assert "delegation_id=None" in str(info.value)
        assert t.sent == []
        await call.append_thinking("x")  # a null id still goes
        assert [e["type"] for e in t.sent] == ["session.thinking.append"]
    finally:
        await call.close()


async def test_an_unseen_append_id_under_client_delegation_goes_to_the_server() -> None:
    # The sideband may attach after the delegation was created (no replay, §7.1): an id the
    # call never saw is the server's to judge under client delegation.
    call, t = await live_call([started({"type": "client"})])
    try:
        await call.append_commentary("Order 123 shipped.", delegation_id="item_BeforeAttach")
        assert _sent_without_ids(t) == [{"type": "session.commentary.append",
                                         "content": "Order 123 shipped.",
                                         "delegation_id": "item_BeforeAttach"}]
    finally:
        await call.close()


async def test_refusals_that_point_at_ending_the_session_name_close_session() -> None:
    # call.close() only detaches this observer; the fix that ends a Live session is
    # close_session() (session.close). The refusals said "use close()".
    call, t = await live_call([started({"type": "responses"})])
    try:
        for action in (call.cancel_response(), call.send({"type": "response.cancel"}),
                       call.send({"type": "output_audio_buffer.clear"})):
            with pytest.raises(UnsupportedLiveAction) as info:
                await action
            assert "close_session()" in info.value.fix
            assert "use close() " not in info.value.fix
        assert t.sent == []
    finally:
        await call.close()


def _wrapped(inner: dict[str, Any], did: str = "item_A") -> dict[str, Any]:
    return {"type": "response.event", "event_id": "event_w", "delegation_id": did,
            "event": inner}


def _function_call(call_id: str) -> dict[str, Any]:
    return _wrapped({"type": "response.output_item.done", "item": {
        "id": f"fc_{call_id}", "type": "function_call", "status": "completed",
        "call_id": call_id, "name": "lookup", "arguments": '{"topic": "x"}'}})


async def test_two_calls_of_one_delegation_get_one_response_create_after_the_backend_ends(
        ) -> None:
    # live-protocol.md §7.3 (OBS): the announcement names resp_1 and the backend reports
    # resp_1 running (the same id): the results may go at once, response.create only once
    # resp_1 has completed, and once for both calls.
    call, t = await live_call([started({"type": "responses"})])
    try:
        call.tool("lookup")(lambda topic: {"topic": topic})
        await t.push({"type": "session.delegation.created", "event_id": "event_d",
                      "offset_ms": 4000, "delegation": {
                          "id": "item_A", "target": "responses", "type": "delegation",
                          "response_id": "resp_1"}})
        await t.push(_wrapped({"type": "response.created", "response": {
            "id": "resp_1", "status": "in_progress", "output": []}}))
        await t.push(_function_call("call_1"))
        await t.push(_function_call("call_2"))
        await _until(lambda: len(t.sent) == 2)
        assert [tc.delegation_id for tc in call.state.tool_calls_of("item_A")] == [
            "item_A", "item_A"]
        assert call.state.delegations["item_A"].running
        await asyncio.sleep(0.05)
        assert [e["type"] for e in t.sent] == ["response.item.create"] * 2
        await t.push(_wrapped({"type": "response.completed", "response": {
            "id": "resp_1", "status": "completed", "output": []}}))
        await _until(lambda: len(t.sent) == 3)
        await asyncio.sleep(0.05)
        assert [e["type"] for e in t.sent] == ["response.item.create"] * 2 + [
            "response.create"]
        assert {tc.answered_by for tc in call.state.tool_calls_of("item_A")} == {"handler"}
    finally:
        await call.close()


async def test_answers_by_code_continue_at_once_when_no_backend_response_runs() -> None:
    # The announcement alone (no running report, as in the spike traces): the last answer
    # of the delegation sends response.create at once; the first one does not.
    call, t = await live_call([started({"type": "responses"})])
    try:
        await t.push({"type": "session.delegation.created", "event_id": "event_d",
                      "offset_ms": 4000, "delegation": {
                          "id": "item_A", "target": "responses", "type": "delegation",
                          "response_id": "resp_1"}})
        await t.push(_function_call("call_1"))
        await t.push(_function_call("call_2"))
        await _until(lambda: len(call.state.pending_tool_calls()) == 2)
        await call.send_tool_output("call_1", "one")
        assert [e["type"] for e in t.sent] == ["response.item.create"]
        await call.send_tool_output("call_2", "two")
        assert [e["type"] for e in t.sent] == ["response.item.create"] * 2 + [
            "response.create"]
        assert call.state.delegations["item_A"].running is False
        with pytest.raises(rtwidgets.ToolCallError, match="already answered"):
            await call.send_tool_output("call_1", "again")
    finally:
        await call.close()
