"""The Realtime session core, sans-I/O: client frames in with a call time, events out; timed
events computed at their own call time however late ``advance`` is called."""

from __future__ import annotations

import random

from rtwidgets.emulator import load_scenario
from rtwidgets.emulator.core import CoreOptions, RealtimeSession
from rtwidgets.emulator.core.realtime import SEEDED_EPOCH, call_streams, initial_session
from rtwidgets.protocol.ids import IdFactory
from rtwidgets.protocol.session import default_session

from ..conftest import drive, events_of


def make(scenario: str = "barge_in", seed: int = 3) -> RealtimeSession:
    ids, rng = call_streams(seed, "rtc_u1_test")
    sc = load_scenario(scenario)
    return RealtimeSession(call_id="rtc_u1_test", transport="webrtc", scenario=sc,
                           session=initial_session(sc, "gpt-realtime", ids, SEEDED_EPOCH),
                           options=CoreOptions(), ids=ids, rng=rng)


def test_a_late_shell_gets_the_same_events() -> None:
    exact = drive(make(), None)
    late = drive(make(), 700.0)
    assert exact == late
    started = [e for e in exact if e["type"] == "input_audio_buffer.speech_started"]
    assert started[0]["audio_start_ms"] > 0


def test_the_caller_waits_for_the_attach_and_call_time_starts_there() -> None:
    core = make()
    assert core.start(0) == []
    assert core.next_deadline() is None
    assert not core.clock_running
    outs = core.attach("ws1", 0)
    assert core.clock_running
    assert core.caller_t0 == 0
    assert [e["type"] for e in events_of(outs)][:1] == []   # barge_in has no greeting
    assert core.next_deadline() is not None


def test_client_frames_are_answered_at_their_call_time() -> None:
    ids = IdFactory(1)
    core = RealtimeSession(call_id="sess_x", transport="websocket",
                           scenario=load_scenario({"format": "rtwidgets.scenario",
                                                   "version": 1, "name": "idle",
                                                   "turns": []}),
                           session=default_session("gpt-realtime", ids),
                           options=CoreOptions(), ids=ids, rng=random.Random(1))
    core.start(0)
    first = core.attach("ws1", 0)
    assert first[0].only == "ws1"
    assert first[0].event is not None
    assert first[0].event["type"] == "session.created"
    outs = core.receive('{"type": "response.create", "event_id": "r1"}', 1500.0)
    assert outs[0].kind == "received"
    assert outs[0].at == 1500.0
    created = [o for o in outs if o.event and o.event["type"] == "response.created"]
    assert created
    assert created[0].at == 1500.0
    assert not created[0].timed
    deadline = core.next_deadline()
    assert deadline is not None
    assert deadline > 1500.0
    bad = core.receive("{not json", 1600.0)
    # what was due before 1600 ms goes out first, then the answer to the frame
    assert [o.event["error"]["code"] for o in bad if o.event and o.event["type"] == "error"] \
        == ["invalid_json"]
    assert bad[-1].event is not None
    assert bad[-1].event["type"] == "error"
    assert all(o.timed for o in bad[:-2] if o.kind == "event")
    timed = core.advance(60_000.0)
    assert all(o.timed for o in timed if o.kind == "event")
    assert "response.done" in [e["type"] for e in events_of(timed)]
