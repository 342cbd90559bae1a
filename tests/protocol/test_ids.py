"""IdFactory: every id shape of the server, seeded determinism."""

from __future__ import annotations

import re

import pytest

from rtwidgets.protocol.ids import CALL_ID_RE, IdFactory, is_call_id

SHAPES = {
    "webrtc_call_id": r"rtc_u1_[0-9a-f]{32}",
    "sip_call_id": r"rtc_u0_[0-9a-f]{32}",
    "event_id": r"event_[0-9A-Za-z]{21}",
    "client_event_id": r"event_[0-9A-Za-z]{21}",
    "item_id": r"item_[0-9A-Za-z]{21}",
    "response_id": r"resp_[0-9A-Za-z]{21}",
    "conversation_id": r"conv_[0-9A-Za-z]{21}",
    "session_id": r"sess_[0-9A-Za-z]{21}",
    "function_call_id": r"call_[0-9A-Za-z]{16}",
    "client_secret": r"ek_[0-9a-f]{32}",
    "webhook_event_id": r"evt_[0-9a-f]{32}",
    "webhook_delivery_id": r"wh_[0-9a-f]{32}",
}


@pytest.mark.parametrize(("method", "pattern"), sorted(SHAPES.items()))
@pytest.mark.parametrize("seed", [None, 7])
def test_shapes(method: str, pattern: str, seed: int | None) -> None:
    ids = IdFactory(seed)
    values = {getattr(ids, method)() for _ in range(20)}
    assert all(re.fullmatch(pattern, v) for v in values), values
    assert len(values) == 20  # no repeats


def test_seeded_factories_repeat_and_differ() -> None:
    a, b, c = IdFactory(1), IdFactory(1), IdFactory(2)
    seq_a = [a.item_id(), a.event_id(), a.webrtc_call_id()]
    assert seq_a == [b.item_id(), b.event_id(), b.webrtc_call_id()]
    assert seq_a != [c.item_id(), c.event_id(), c.webrtc_call_id()]


def test_unseeded_factories_differ() -> None:
    assert IdFactory().hex32() != IdFactory().hex32()


def test_base62_length() -> None:
    assert len(IdFactory(3).base62(5)) == 5


def test_is_call_id() -> None:
    ids = IdFactory(0)
    assert is_call_id(ids.webrtc_call_id())
    assert is_call_id(ids.sip_call_id())
    assert is_call_id("rtc_479a275623b54bdb9b6fbae2f7cbd408")  # the older SPEC shape
    for bad in ("rtc_u1_xyz", "live_123", "rtc_u1_" + "A" * 32, ""):
        assert not is_call_id(bad)
    assert CALL_ID_RE.pattern.startswith("^")
