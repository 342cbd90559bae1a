"""Ten calls attached at once in one kernel, each with its console (issue #7, "Long and many").

Why: a contact-centre notebook watches several live calls on one event loop; one busy call or
one slow view must not make another call's capture lose or repeat an event. Ten scripted
calls run concurrently on one emulator (fast time scale), each attached through its own
``CallConsole`` (Attach clicked from Python; a recording comm stands in for the browser).
For every call: every server event the emulator sent to that sideband is in the capture file,
exactly once and in order; the console's event log counted every frame. CPU time per call is
printed (``time.process_time`` over the run / 10); there is no timed assertion.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm

from rtwidgets._capture import read_capture
from rtwidgets._transport import ReconnectPolicy
from rtwidgets.widgets._console import CallConsole

API_KEY = "sk-test-not-a-real-key"
FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=5)
N_CALLS = 10


class RecordingComm(BaseComm):
    """Keeps what a widget would send to the browser (counted, not inspected here)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent = 0
        super().__init__(*args, **kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        self.sent += 1


@pytest.fixture(autouse=True)
def recording_comm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: RecordingComm(*a, **k))


async def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def sent_to_sideband(emu: Any, call_id: str) -> list[dict[str, Any]]:
    """The server events the emulator delivered to a sideband socket of ``call_id``."""
    return [r["event"] for r in emu.record(call_id)
            if r["direction"] == "sent" and r.get("sockets") and r["event"] is not None]


@pytest.mark.emulator(speed=40, session_created_on_attach=True)
async def test_ten_calls_with_consoles_are_all_captured_completely(
        emulator: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="rtwidgets")
    client = emulator.client(api_key=API_KEY)
    consoles: list[CallConsole] = []
    try:
        call_ids = [await emulator.start_call(transport="webrtc") for _ in range(N_CALLS)]
        cpu0, wall0 = time.process_time(), time.monotonic()
        for call_id in call_ids:
            console = CallConsole(client=client, attach_options={
                "capture": tmp_path / f"{call_id}.jsonl", "reconnect": FAST})
            console.call_id_field.value = call_id
            console.attach_button.click()   # spawns the attach as a task: all ten overlap
            consoles.append(console)
        await asyncio.gather(*(c.wait_actions() for c in consoles))
        for console in consoles:
            assert console.last_error is None, console.message.value
        calls = [c.source for c in consoles]
        assert [c.call_id for c in calls] == call_ids
        assert all(c.status.state in ("live", "ended") for c in calls)
        ends = await asyncio.gather(*(emulator.wait_ended(cid, 120) for cid in call_ids))
        assert set(ends) == {"caller_hangup"}
        await asyncio.gather(*(c.wait_ended(60) for c in calls))
        await wait_until(lambda: all(
            c.event_log.counts["events"] == len(c.source.frames()) for c in consoles))
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0

        for call, console in zip(calls, consoles, strict=True):
            header, frames = read_capture(tmp_path / f"{call.call_id}.jsonl")
            assert header["call_id"] == call.call_id
            assert len(frames) == len(call.frames())
            captured = [f.event for f in frames if f.direction == "in"]
            ids = [e.get("event_id") for e in captured]
            dupes = [i for i, n in Counter(ids).items() if n > 1]
            assert dupes == [], f"{call.call_id}: duplicated events {dupes[:5]}"
            sent = sent_to_sideband(emulator, call.call_id)
            assert len(sent) > 20  # a whole scripted conversation
            # Every event the emulator delivered is captured, in the order it was sent.
            assert [e["event_id"] for e in sent] == ids, call.call_id
            assert [e["type"] for e in sent] == [e["type"] for e in captured]
            # A close after the call ended is probed once; the handshake's 404 ends it
            # (realtime-protocol.md §10: the terminal signal is the 404, not the close).
            assert call.stats.reconnects <= 1
            assert call.stats.bad_frames == 0
            assert "rtwidgets.gap" not in {f.type for f in frames}
            assert console.event_log.counts["events"] == len(frames)
        # No view flush, subscriber or receive loop failed along the way.
        failures = [r for r in caplog.records
                    if r.name.startswith("rtwidgets") and r.levelno >= logging.ERROR]
        assert failures == [], [r.getMessage() for r in failures[:3]]
        per_call_ms = cpu / N_CALLS * 1000
        print(f"\n{N_CALLS} calls with consoles: CPU {cpu:.2f} s total, "
              f"{per_call_ms:.0f} ms per call; wall {wall:.2f} s; "
              f"{sum(len(c.frames()) for c in calls)} frames")
    finally:
        for console in consoles:
            await console.detach()
            console.close()
        await client.close()


@pytest.mark.parametrize("view_name", [
    "CallConsole", "SessionEditor", "ToolCalls", "StatusBar", "EventLog", "Transcript",
])
@pytest.mark.emulator(session_created_on_attach=True)
async def test_closing_views_releases_their_widgets(emulator: Any, view_name: str) -> None:
    """A notebook re-runs the cell that makes a console many times in a long session; each
    closed view must give back its widgets (and their comms). Layout and style objects are
    ipywidgets' own and are left out of the count."""
    import ipywidgets.widgets.widget as ipw_widget

    from rtwidgets import widgets as views
    from rtwidgets._call import attach

    def ours() -> set[str]:
        return {k for k, w in ipw_widget._instances.items()
                if not type(w).__name__.endswith(("Layout", "Style"))}

    client = emulator.client(api_key=API_KEY)
    call_id = await emulator.start_call(transport="webrtc")
    call = await attach(call_id, client=client, capture=False, reconnect=FAST)
    try:
        before = ours()
        for _ in range(3):
            view = getattr(views, view_name)(call)
            await asyncio.sleep(0.05)
            view.close()
        left = ours() - before
        names = Counter(type(ipw_widget._instances[k]).__name__ for k in left)
        assert not left, f"{len(left)} widgets left open: {dict(names.most_common(6))}"
    finally:
        await call.close()
        await client.close()
