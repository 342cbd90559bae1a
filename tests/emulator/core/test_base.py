"""The part both session cores share (core/base.py): each announces its own snapshot event,
a call ends once (the protocol's last words, then the end), and a refused refer changes
nothing."""

from __future__ import annotations

import pytest

from rtwidgets.emulator import load_scenario
from rtwidgets.emulator.core import LiveSession, RealtimeSession
from rtwidgets.emulator.core.base import SessionCore
from rtwidgets.emulator.core.live import initial_live_session
from rtwidgets.emulator.core.realtime import (
    SEEDED_EPOCH,
    CoreOptions,
    call_streams,
    initial_session,
)


def make(api: str, transport: str = "webrtc") -> RealtimeSession | LiveSession:
    sc = load_scenario("conversation")
    if api == "live":
        ids, rng = call_streams(1, "live_u1_base")
        return LiveSession(call_id="live_u1_base", transport=transport,  # type: ignore[arg-type]
                           scenario=sc, session=initial_live_session(sc, "live_u1_base",
                                                                     SEEDED_EPOCH),
                           options=CoreOptions(), ids=ids, rng=rng, created_at=SEEDED_EPOCH)
    ids, rng = call_streams(1, "rtc_u1_base")
    return RealtimeSession(call_id="rtc_u1_base", transport=transport,  # type: ignore[arg-type]
                           scenario=sc, session=initial_session(sc, "gpt-realtime", ids,
                                                                SEEDED_EPOCH),
                           options=CoreOptions(), ids=ids, rng=rng)


@pytest.mark.parametrize(("api", "snapshot"), [("realtime", "session.created"),
                                               ("live", "session.started")])
def test_each_core_announces_its_own_snapshot(api: str, snapshot: str) -> None:
    core = make(api)
    assert isinstance(core, SessionCore)
    outs = core.announce(0)
    assert [o.event["type"] for o in outs if o.event is not None] == [snapshot]
    assert outs[0].event is not None
    assert outs[0].event["session"] is core.session


@pytest.mark.parametrize(("api", "last_words"), [("realtime", []),
                                                 ("live", ["session.closed"])])
def test_a_call_ends_once_with_its_protocols_last_words(api: str,
                                                        last_words: list[str]) -> None:
    core = make(api)
    core.start(0)
    outs = core.end("hangup", 5.0)
    assert [o.event["type"] for o in outs if o.kind == "event" and o.event] == last_words
    assert [(o.kind, o.meta.get("type")) for o in outs if o.kind != "event"] == [
        ("meta", "emulator.call_ended"), ("end", None)]
    assert (core.status, core.end_reason, core.next_deadline()) == ("ended", "hangup", None)
    assert core.end("emulator_closed", 9.0) == []
    assert core.end_reason == "hangup"


@pytest.mark.parametrize("api", ["realtime", "live"])
def test_a_refused_refer_changes_nothing(api: str) -> None:
    core = make(api, transport="sip")          # ringing: not connected yet
    with pytest.raises(ValueError, match="target_uri"):
        core.refer("tel:+14155550123", 10.0)
    assert (core.status, core.now) == ("incoming", 0.0)
    core.start(0)
    outs = core.refer("tel:+14155550123", 10.0)
    assert {"type": "emulator.call_transferred", "target_uri": "tel:+14155550123"} in [
        o.meta for o in outs if o.kind == "meta"]
    assert core.end_reason == "referred"
