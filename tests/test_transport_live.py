"""The GPT-Live sideband transport through the SDK, against a local stub of the attach path."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from _live_api_stub import REAL_LIVE_IDS
from _live_sideband_stub import LiveSideband, closed_frame, live_sideband

from rtwidgets._transport import (
    LiveSessionTransport,
    LiveTransport,
    ReconnectPolicy,
    TransportNotice,
    TransportNotLive,
)
from rtwidgets.protocol.fatal import describe_error

QUICK = ReconnectPolicy(initial_delay=0.01, max_delay=0.02, max_attempts=3)
SID = REAL_LIVE_IDS[0]
STARTED = {"type": "session.started", "event_id": "event_EUrPjqC6Uwf20dRqwtPr6",
           "session": {"id": SID, "model": "gpt-live-1", "status": "active", "input": []}}


async def _pump(transport: Any, sb_frames: list[Any], notices: list[TransportNotice],
                on_frame: Any = None) -> asyncio.Task[None]:
    def frame(raw: bytes) -> None:
        sb_frames.append(json.loads(raw))
        if on_frame is not None:
            on_frame(raw)

    return asyncio.get_running_loop().create_task(transport.pump(frame, notices.append))


async def _until(predicate: Any, tries: int = 2000) -> None:
    """Yield to the loop until ``predicate()`` holds (a bounded number of short sleeps)."""
    for _ in range(tries):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


def test_both_sidebands_share_one_base() -> None:
    assert LiveSessionTransport.__mro__[1] is LiveTransport.__mro__[1]
    assert LiveSessionTransport.pump is LiveTransport.pump


async def test_attach_path_auth_and_raw_frames_through_the_sdk() -> None:
    async with live_sideband(LiveSideband(frames=[STARTED])) as sb:
        client = sb.client()
        t = LiveSessionTransport(client, SID, reconnect=QUICK)
        frames: list[Any] = []
        notices: list[TransportNotice] = []
        task = await _pump(t, frames, notices)
        await _until(lambda: frames)
        await t.send('{"type":"session.input_audio.mute","event_id":"m1"}')
        await _until(lambda: sb.received)
        await t.close()
        await asyncio.wait_for(task, 5)
        await client.close()
    (hs,) = sb.handshakes
    assert hs["raw_path"] == f"/v1/live/sessions/{SID}/attach"
    assert hs["query"] == {}  # graceful_close omitted when not given, no call_id, no model
    assert hs["bearer_ok"] is True
    assert "openai-beta" not in hs["headers"]
    assert frames == [STARTED]
    assert sb.received == [{"type": "session.input_audio.mute", "event_id": "m1"}]
    assert [n.kind for n in notices][:1] == ["live"]
    assert repr(t).startswith(f"<LiveSessionTransport {SID}")


async def test_graceful_close_is_sent_as_a_query() -> None:
    async with live_sideband(LiveSideband()) as sb:
        client = sb.client()
        t = LiveSessionTransport(client, SID, reconnect=None, graceful_close=True)
        notices: list[TransportNotice] = []
        task = await _pump(t, [], notices)
        await _until(lambda: notices)
        await t.close()
        await asyncio.wait_for(task, 5)
        await client.close()
    assert sb.handshakes[0]["query"] == {"graceful_close": ["true"]}


async def test_a_404_at_the_handshake_is_final() -> None:
    async with live_sideband(LiveSideband(gone={SID})) as sb:
        client = sb.client()
        t = LiveSessionTransport(client, SID, reconnect=QUICK)
        notices: list[TransportNotice] = []
        await asyncio.wait_for(t.pump(lambda raw: None, notices.append), 10)
        await client.close()
    assert len(sb.handshakes) == 1
    assert sb.connections == 0
    assert [n.kind for n in notices] == ["ended"]
    assert "not found or has ended (HTTP 404" in notices[0].reason
    assert t.closed_reason == notices[0].reason


async def test_session_closed_ends_the_transport_without_a_reconnect() -> None:
    # The server sends session.closed and then drops the socket (1006, a "drop" code):
    # the session is over, so no reconnect may follow.
    async with live_sideband(LiveSideband(after_closed="drop")) as sb:
        client = sb.client()
        t = LiveSessionTransport(client, SID, reconnect=QUICK)
        frames: list[Any] = []
        notices: list[TransportNotice] = []

        def on_frame(raw: bytes) -> None:
            event = json.loads(raw)
            if event["type"] == "session.closed":
                t.session_ended(f"call ended: the session was closed ({event['reason']})")

        task = await _pump(t, frames, notices, on_frame)
        await _until(lambda: notices)
        await t.send('{"type":"session.close","event_id":"x1"}')
        await asyncio.wait_for(task, 10)
        await client.close()
    assert sb.connections == 1
    assert [f["type"] for f in frames] == ["session.closed"]
    assert frames[0]["client_event_id"] == "x1"
    assert [n.kind for n in notices] == ["live", "ended"]
    assert t.closed_reason == "call ended: the session was closed (close_requested)"
    with pytest.raises(TransportNotLive, match="nothing was sent"):
        await t.send('{"type":"session.close"}')


async def test_a_drop_reconnects_with_a_gap() -> None:
    async with live_sideband(LiveSideband(frames=[STARTED], drop_first=1)) as sb:
        client = sb.client()
        t = LiveSessionTransport(client, SID, reconnect=QUICK)
        notices: list[TransportNotice] = []
        frames: list[Any] = []
        task = await _pump(t, frames, notices)
        await _until(lambda: len(frames) == 2)
        await t.close()
        await asyncio.wait_for(task, 5)
        await client.close()
    assert sb.connections == 2
    assert [n.kind for n in notices][:4] == ["live", "reconnecting", "gap", "live"]


async def test_call_id_not_found_is_fatal_at_once() -> None:
    # The Live sideband's answer to an unknown session (openai/codex#35094), then the socket
    # stays open: the transport ends after the error frame, one connection only.
    err = {"type": "error", "event_id": "event_x", "error": {
        "type": "invalid_request_error", "code": "call_id_not_found",
        "message": "Session not found.", "param": None}}
    async with live_sideband(LiveSideband(frames=[err])) as sb:
        client = sb.client()
        t = LiveSessionTransport(client, SID, reconnect=QUICK)
        notices: list[TransportNotice] = []

        def on_frame(raw: bytes) -> None:
            info = describe_error(json.loads(raw))
            assert info is not None
            t.server_error(info[0], fatal=info[1])

        await asyncio.wait_for(t.pump(on_frame, notices.append), 10)
        await client.close()
    assert sb.connections == 1
    assert [n.kind for n in notices] == ["live", "ended"]
    assert notices[-1].reason.endswith("Session not found. (call_id_not_found)")


async def test_attach_by_live_id_uses_the_live_sideband_end_to_end(tmp_path: Any) -> None:
    import rtwidgets

    async with live_sideband(LiveSideband(frames=[STARTED])) as sb:
        client = sb.client()
        call = await rtwidgets.attach(SID, client=client, capture=tmp_path / "c.jsonl",
                                      reconnect=QUICK)
        assert call.api == "live"
        assert call.status.state == "live"
        await _until(lambda: call.live_session is not None)
        assert call.live_session is not None
        assert call.live_session["id"] == SID
        status = await call.close_session(timeout=10)
        await call.close()
        await client.close()
    assert sb.handshakes[0]["raw_path"] == f"/v1/live/sessions/{SID}/attach"
    assert sb.received[0]["type"] == "session.close"
    assert status.state == "ended"
    assert status.reason == "call ended: the session was closed (close_requested)"
    assert sb.connections == 1
    head = json.loads((tmp_path / "c.jsonl").read_text().splitlines()[0])
    assert head["api"] == "live"
    assert "sk-test" not in (tmp_path / "c.jsonl").read_text()
    assert closed_frame()["type"] == "session.closed"
