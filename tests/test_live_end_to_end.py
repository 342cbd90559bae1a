"""GPT-Live end to end through rtwidgets' public API against ``rtwidgets.Emulator`` (issue 13).

Why: the Live pieces (codec, Call steering, call control, SIP inbox, capture, analysis,
console replay) are each tested against scripted frames or a stub API; this drives them
together against the emulator's Live routes, as a user would: create a WebRTC session from
an SDP offer, attach by its ``live_…`` id, answer a delegated tool call with a handler, steer
it, end it, and read the capture back; a SIP call announced both ways, accepted either way;
fork and download a stored session. Everything binds to 127.0.0.1; the emulator's record of
what it received is the ground truth for what rtwidgets sent.

Only public ``rtwidgets.*`` names are used.
"""

from __future__ import annotations

import asyncio
import json
import math
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import comm
import pandas as pd
import pytest
from comm.base_comm import BaseComm

import rtwidgets

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
SECRET = "whsec_" + "bGl2ZS1lbmQtdG8tZW5kLXRlc3Qtc2VjcmV0"  # fake
MODEL = "gpt-live-1"
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city.",
           "parameters": {"type": "object", "properties": {
               "city": {"type": "string"}, "unit": {"type": "string"}}, "required": ["city"]}}
RESPONSES = {"type": "responses", "responses": {"model": "gpt-5.5", "tools": [WEATHER]}}
ANSWER = {"temperature": 19, "conditions": "cloudy"}

# One delegated tool turn, then the session stays open: only our close (or a hangup/refer)
# ends it, so nothing races the steering below.
TOOL_SCENARIO: dict[str, Any] = {
    "format": "rtwidgets.scenario", "version": 1, "name": "live_e2e_tools",
    "session": {"type": "realtime", "instructions": "You are a weather assistant.",
                "audio": {"output": {"voice": "cedar"}}},
    "turns": [
        {"caller": "What's the weather in Paris?", "reply": {"tool": {
            "name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"},
            "lead_in": "Let me check that for you.",
            "say": "In {city} it is {temperature} degrees and {conditions}.",
            "otherwise": "I cannot look that up right now."}}},
    ],
    "end": {"by": "stay_open"},
}
CHAT_SCENARIO: dict[str, Any] = {
    "format": "rtwidgets.scenario", "version": 1, "name": "live_e2e_chat",
    "session": {"type": "realtime", "audio": {"output": {"voice": "marin"}}},
    "turns": [{"caller": "Hi, is the shop open today?", "reply": "Yes, until six tonight."}],
    "end": {"by": "stay_open"},
}


class RecordingComm(BaseComm):
    """Stands in for the kernel comm: widgets work, nothing leaves the process."""

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        pass


@pytest.fixture
async def emu() -> AsyncIterator[rtwidgets.Emulator]:
    async with await rtwidgets.Emulator.start(speed=20, seed=13, scenario=TOOL_SCENARIO,
                                              caller_patience_s=120) as e:
        yield e


def received(emu: rtwidgets.Emulator, session_id: str) -> list[dict[str, Any]]:
    """The client events the emulator received on the session, without their event ids."""
    return [{k: v for k, v in r["event"].items() if k != "event_id"}
            for r in emu.record(session_id) if r["direction"] == "received"]


def sent_frames(call: Any) -> list[dict[str, Any]]:
    return [{k: v for k, v in f.event.items() if k != "event_id"}
            for f in call.frames() if f.direction == "out"]


async def until(predicate: Any, tries: int = 3000) -> None:
    """Yield to the loop until ``predicate()`` holds (bounded; no timing is asserted)."""
    for _ in range(tries):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def seen(call: Any, etype: str, eid: str | None = None) -> dict[str, Any]:
    """The first incoming frame of ``etype`` (answering ``eid`` when given), already received
    or still to come: unlike ``wait_for`` it cannot miss a frame that came before it."""
    def match() -> dict[str, Any] | None:
        for f in call.frames():
            if f.direction == "in" and f.type == etype and (
                    eid is None or f.event.get("client_event_id") == eid):
                return dict(f.event)
        return None

    await until(lambda: match() is not None)
    found = match()
    assert found is not None
    return found


async def run_tool_call(emu: rtwidgets.Emulator, capture: Path, client: Any
                        ) -> tuple[Any, str]:
    """Create a Live WebRTC session, attach, answer get_weather with a handler, wait until
    the voice says the answer. Returns the live call and its id."""
    created = await rtwidgets.create_call(OFFER, {"model": MODEL, "delegation": RESPONSES},
                                          client=client, api="live")
    assert isinstance(created, rtwidgets.CreatedCall)
    assert created.api == "live"
    assert created.call_id.startswith("live_")
    assert created.sdp_answer.startswith("v=0")
    call = await rtwidgets.attach(created.call_id, client=client, capture=capture)
    assert call.api == "live"
    assert call.status.state == "live"
    asked: list[dict[str, Any]] = []

    @call.tool("get_weather")
    def get_weather(city: str, unit: str = "celsius") -> dict[str, Any]:
        asked.append({"city": city, "unit": unit})
        return ANSWER

    await call.wait_for("session.output_transcript.delta",
                        lambda e: "cloudy" in e.get("delta", ""), timeout=60)
    assert asked == [{"city": "Paris", "unit": "celsius"}]
    return call, created.call_id


# --------------------------------------------------------------------------- a) WebRTC


async def test_a_live_webrtc_session_is_created_attached_steered_and_closed(
        emu: rtwidgets.Emulator, tmp_path: Path) -> None:
    client = emu.client()
    capture = tmp_path / "live.jsonl"
    call, sid = await run_tool_call(emu, capture, client)
    try:
        # the delegated tool call was answered by the handler: the result, then one
        # response.create, in that order, and nothing else
        (fc,) = [e for e in received(emu, sid) if e["type"] == "response.item.create"]
        call_id = fc["item"]["call_id"]
        assert call_id.startswith("call_")
        assert received(emu, sid) == [
            {"type": "response.item.create", "item": {
                "type": "function_call_output", "call_id": call_id,
                "output": json.dumps(ANSWER)}},
            {"type": "response.create"},
        ]
        assert sent_frames(call) == received(emu, sid)
        assert call.state.tool_calls[call_id].answered_by == "handler"

        eid = await call.append_instructions("Keep every answer short.")
        ack = await seen(call, "session.instructions.appended", eid)
        assert ack["client_event_id"] == eid

        result = await call.update_session(
            delegation={"type": "responses", "responses": {"reasoning": {"effort": "low"}}},
            timeout=30)
        assert isinstance(result, rtwidgets.SessionUpdateResult)
        assert result.applied_as_requested
        assert result.session["delegation"]["responses"]["reasoning"] == {"effort": "low"}
        assert result.session["delegation"]["responses"]["tools"] == [WEATHER]  # kept
        assert emu.call(sid).session["delegation"]["responses"]["reasoning"] == {
            "effort": "low"}

        before = len(received(emu, sid))
        out_before = len(sent_frames(call))
        with pytest.raises(rtwidgets.ValidationError) as info:
            await call.update_session(instructions="Be terse.")
        assert info.value.field == "session.instructions"
        assert "append_instructions" in str(info.value)
        with pytest.raises(rtwidgets.ValidationError) as info:
            await call.update_session(audio={"output": {"voice": "marin"}})
        assert info.value.field.startswith("session.audio")
        with pytest.raises(rtwidgets.ValidationError) as info:
            await call.cancel_response()
        assert info.value.field == "cancel_response"
        assert "no voice response to cancel" in str(info.value)
        assert "Fix:" in str(info.value)

        await seen(call, "session.input_audio.muted", await call.mute())
        await seen(call, "session.input_audio.unmuted", await call.unmute())
        # the refusals sent nothing: only the mute and unmute arrived after them
        assert [e["type"] for e in received(emu, sid)[before:]] == [
            "session.input_audio.mute", "session.input_audio.unmute"]
        assert len(sent_frames(call)) == out_before + 2

        status = await call.close_session(timeout=30)
        assert status.state == "ended"
        assert status.reason == "call ended: the session was closed (close_requested)"
        assert call.status == status
        assert received(emu, sid)[-1]["type"] == "session.close"
        closed = [r["event"] for r in emu.record(sid) if r["direction"] == "sent"][-1]
        assert (closed["type"], closed["reason"]) == ("session.closed", "close_requested")
        with pytest.raises(rtwidgets.CallNotLiveError):
            await call.mute()
    finally:
        await call.close()
        await client.close()
    header = json.loads(capture.read_text().splitlines()[0])
    assert header["api"] == "live"
    assert header["call_id"] == sid


# --------------------------------------------------------------------------- b) SIP


@pytest.mark.parametrize("first", ["live", "realtime"])
@pytest.mark.parametrize("end", ["refer", "hangup"])
async def test_a_sip_call_announced_both_ways_is_one_incoming_call_accepted_either_way(
        first: str, end: str) -> None:
    inbox = await rtwidgets.WebhookInbox(secret=SECRET).start()
    assert inbox.url is not None
    emu = await rtwidgets.Emulator.start(speed=20, seed=5, scenario=CHAT_SCENARIO,
                                         webhook_url=inbox.url, webhook_secret=SECRET,
                                         caller_patience_s=120)
    client = emu.client()
    inbox.client = client
    call = None
    try:
        sid = await emu.start_call(api="live", transport="sip")
        twin = emu.live.twins[sid]
        incoming = await inbox.get(timeout=30)
        await until(lambda: incoming.live_id is not None and incoming.realtime_id is not None)
        # one IncomingCall, both ids, both announcements
        assert (incoming.live_id, incoming.realtime_id) == (sid, twin)
        assert incoming.apis == ("realtime", "live")
        assert sorted(incoming.announcements) == ["live.transport.incoming",
                                                  "realtime.call.incoming"]
        assert [c.call_id for c in inbox.seen] == [incoming.call_id]
        assert inbox.pending == 0  # the second announcement joined the first, not queued
        assert SECRET not in repr(incoming)
        assert SECRET not in repr(inbox)

        other = "realtime" if first == "live" else "live"
        session = {"model": MODEL} if first == "live" else None
        await incoming.accept(session, api=first)  # type: ignore[arg-type]
        assert (incoming.status, incoming.accepted_as) == ("accepted", first)
        requests = len(emu.requests)
        # the same IncomingCall refuses the other accept before sending
        with pytest.raises(rtwidgets.AlreadyAcceptedError) as local:
            await incoming.accept({"model": MODEL} if other == "live" else None,
                                  api=other)  # type: ignore[arg-type]
        assert local.value.accepted_as == first
        assert "nothing was sent" in str(local.value)
        assert len(emu.requests) == requests
        # an accept of the other id from elsewhere reaches the emulator: its 409 is the
        # documented error, with one clear fix
        other_id = incoming.id_for(other)  # type: ignore[arg-type]
        with pytest.raises(rtwidgets.AlreadyAcceptedError) as remote:
            await rtwidgets.accept(other_id, {"model": MODEL} if other == "live" else None,
                                   client=client)
        assert isinstance(remote.value, rtwidgets.CallControlError)
        assert remote.value.status_code == 409
        assert other_id in str(remote.value)
        assert "first accept decides" in str(remote.value)
        assert str(remote.value).count("Fix:") == 1
        # (the SDK retries a 409 twice by default: every new request is that accept)
        again = emu.requests[requests:]
        assert again
        assert {r["path"].rsplit("/", 2)[-2:][0] for r in again} == {other_id}
        assert {r["path"].rsplit("/", 1)[-1] for r in again} == {"accept"}
        winner = incoming.id_for(first)  # type: ignore[arg-type]
        assert emu.call(winner).status == "active"

        call = await incoming.attach(capture=False)
        assert (call.api, call.call_id) == (first, winner)
        await seen(call, "session.output_transcript.delta" if first == "live"
                   else "response.done")
        if end == "refer":
            await incoming.refer("tel:+14155550123")
            assert incoming.status == "referred"
            assert await emu.wait_ended(winner, timeout=30) == "referred"
        else:
            await incoming.hangup()
            assert incoming.status == "ended"
            assert await emu.wait_ended(winner, timeout=30) == "hangup"
        status = await call.wait_ended(timeout=30)
        assert status.state == "ended"
        if first == "live":
            assert status.reason == "call ended: the session was closed (close_requested)"
        with pytest.raises(rtwidgets.CallNotFoundError):
            await incoming.hangup()  # it has ended: the server says so, named
        path = (f"/v1/live/sessions/{winner}/{end}" if first == "live"
                else f"/v1/realtime/calls/{winner}/{end}")
        assert path in [r["path"] for r in emu.requests]
    finally:
        if call is not None:
            await call.close()
        await client.close()
        await emu.close()
        await inbox.close()


# --------------------------------------------------------------------------- c) analysis


async def test_a_live_capture_analyses_mixes_with_realtime_and_replays_in_a_console(
        emu: rtwidgets.Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = emu.client()
    live_path = tmp_path / "caps" / "live.jsonl"
    live_path.parent.mkdir()
    call, sid = await run_tool_call(emu, live_path, client)
    await call.close_session(timeout=30)
    await call.close()
    # a Realtime call of the same scenario, its tool answered by a handler too
    rtc = await emu.start_call(session={"tools": [WEATHER]})
    rt_path = tmp_path / "caps" / "realtime.jsonl"
    rt_call = await rtwidgets.attach(rtc, client=client, capture=rt_path)
    rt_call.tool("get_weather")(lambda city, unit="celsius": ANSWER)
    await rt_call.wait_for("response.output_audio_transcript.done",
                           lambda e: "cloudy" in e.get("transcript", ""), timeout=60)
    await rt_call.hangup()
    await client.close()

    rec = rtwidgets.load(live_path)
    assert rec.api == "live"
    a = rtwidgets.analyze(rec)
    tr = a.transcript
    said = tr[tr["item_type"] == "message"]
    assert list(said["speaker"].astype(str)) == ["caller", "agent"]
    assert said["text"].iloc[0].strip() == "What's the weather in Paris?"
    assert "Let me check that for you." in said["text"].iloc[1]
    assert "19 degrees and cloudy" in said["text"].iloc[1]
    turns = a.turns_full
    assert len(turns) == 1
    assert not math.isnan(turns["latency_response_s"].iloc[0])
    assert not math.isnan(turns["latency_first_text_s"].iloc[0])
    tools = a.tool_calls
    assert list(tools["name"]) == ["get_weather"]
    assert list(tools["answered_by"]) == ["handler"]
    assert tools["arguments"].iloc[0] == {"city": "Paris", "unit": "celsius"}
    assert json.loads(tools["output"].iloc[0]) == ANSWER
    usage = a.usage
    session = usage[usage["kind"] == "session"]
    assert len(session) == 1
    assert session["audio_seconds"].iloc[0] >= 15  # a WebRTC session bills 15 s up front
    assert str(session["model"].iloc[0]) == MODEL
    cost = a.cost()
    assert not cost["priced"].any()  # no per-second price for GPT-Live: usage only
    assert math.isnan(float(cost["total_usd"].iloc[-1]))
    summary = a.summary()
    assert summary.unknown_types == {}
    assert "cost" in str(summary)
    assert "$" not in str(summary)

    many = rtwidgets.load_many([live_path, rt_path])
    apis = dict(zip(many.events["call_id"].astype(str), many.events["api"].astype(str),
                    strict=False))
    assert apis == {sid: "live", rtc: "realtime"}
    assert set(many.tool_calls["api"].astype(str)) == {"live", "realtime"}
    written = rtwidgets.to_parquet(many, tmp_path / "ds")
    tops = {p.relative_to(tmp_path / "ds").parts[0] for p in written}
    assert tops == {"api=live", "api=realtime"}
    assert any(f"call_id={sid}" in str(p) for p in written)
    df = pd.read_parquet(tmp_path / "ds")
    assert set(df["api"].astype(str)) == {"live", "realtime"}

    # the capture replays in a console (a recording comm stands in for the kernel's) to
    # the end, with the transcript the live call had
    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: RecordingComm(*a, **k))
    live_view = rtwidgets.Transcript(call)  # what the live call's transcript showed
    live_items = live_view.items()
    live_view.close()
    assert live_items
    console = rtwidgets.CallConsole()
    try:
        console.bind(rec)
        replay = console.replay
        assert isinstance(replay, rtwidgets.Replay)
        console.set_speed(1000.0)
        console.play()
        await until(lambda: replay.status.state == "ended")
        assert replay.at_end
        assert len(replay.frames()) == len(rec.frames())
        shown = [(i["role"], i["text"]) for i in console.transcript.items()]
        assert shown == [(i["role"], i["text"]) for i in live_items]
        said_shown = [(r, t) for r, t in shown if r in ("user", "assistant")]
        assert [r for r, _ in said_shown] == ["user", "assistant"]
        assert [t for _, t in said_shown] == list(said["text"])
    finally:
        await console.detach()
        console.close()


# --------------------------------------------------------------------------- d) stored


async def test_a_stored_live_session_forks_and_its_recording_downloads(
        emu: rtwidgets.Emulator, tmp_path: Path) -> None:
    client = emu.client()
    stored = await emu.start_call(api="live", session={"store": True}, scenario=CHAT_SCENARIO)
    plain = await emu.start_call(api="live", scenario=CHAT_SCENARIO)
    try:
        forked = await rtwidgets.fork(stored, OFFER, client=client)
        assert forked.api == "live"
        assert forked.call_id.startswith("live_")
        assert forked.call_id not in (stored, plain)
        assert forked.sdp_answer.startswith("v=0")
        assert emu.call(forked.call_id).session["store"] is True  # inherited
        # the fork is a session of its own: attach and end it through rtwidgets
        call = await rtwidgets.attach(forked.call_id, client=client, capture=False)
        status = await call.close_session(timeout=30)
        assert "close_requested" in status.reason
        assert emu.call(stored).status != "ended"  # the source goes on

        target = tmp_path / "stored.wav"
        data = await rtwidgets.download_recording(stored, target, client=client)
        assert data[:4] == b"RIFF"
        assert target.read_bytes() == data
        with wave.open(str(target)) as w:
            assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, 24000, 2)

        with pytest.raises(rtwidgets.CallControlError) as err:
            await rtwidgets.fork(plain, OFFER, client=client)
        assert err.value.status_code == 400
        assert "store=True" in str(err.value)
        with pytest.raises(rtwidgets.CallNotFoundError) as missing:
            await rtwidgets.download_recording(plain, client=client)
        assert "store=True" in str(missing.value)
    finally:
        await client.close()
