"""Id shapes: opaque call ids checked by prefix and safe tail, and the ids the emulator mints.

Real call ids (realtime-protocol.md §1, issue 10) are mixed-case base62 of varying length, not
the documentation's 32 hex; these tests hold the checks to the real ones and the factory to
the shapes real traffic shows (time-ordered stems included).
"""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.ids import (
    CALL_ID_MAX_LENGTH,
    CALL_ID_RE,
    IdFactory,
    api_of_id,
    call_id_from_location,
    check_call_id,
    is_call_id,
    is_live_session_id,
    refuse_secret,
    shown_id,
    transport_kind,
)

#: Call ids the real service handed out, as published in public logs (realtime-protocol.md §1).
REAL_CALL_IDS = (
    "rtc_u0_E7JGG7YLOPmJfNx4alnIn",
    "rtc_u0_EHdCXnMcBqtS5NScMWyvY",
    "rtc_u0_ERgXRp3oMMnXYswMZiboahqXEVDezFD9",
    "rtc_u0_E52xSxAjvyO0yAcpamyDl",
    "rtc_u0_EPvuUp3oMjxHm4KyxnDpSQVfbHbOEtbS",
)
#: The documentation's examples, which must keep working too.
DOC_CALL_IDS = (
    "rtc_u1_9c6574da8b8a41a18da9308f4ad974ce",
    "rtc_u0_479a275623b54bdb9b6fbae2f7cbd408",
    "rtc_479a275623b54bdb9b6fbae2f7cbd408",
)
#: Made-up secrets in every shape people paste by mistake (none is a real key).
KEYS = (
    "sk-test-not-a-real-key-0123456789",
    "sk-proj-NotARealKey0123456789abcdef",
    "sk-svcacct-NotARealKey0123456789",
    "rk-NotARealKey0123456789",
    "ek_68af296e8e408191a1120ab6383263c2",
    "whsec_Y2F0YWxvZ3VlLXRlc3Qtc2VjcmV0LW5vdC1yZWFs",
)

B62 = "[0-9A-Za-z]"
SHAPES = {
    "webrtc_call_id": rf"rtc_u1_{B62}{{21,32}}",
    "sip_call_id": rf"rtc_u0_{B62}{{21,32}}",
    "event_id": rf"event_{B62}{{21}}",
    "client_event_id": rf"event_{B62}{{21}}",
    "item_id": rf"item_{B62}{{21}}",
    "response_id": rf"resp_{B62}{{21}}",
    "conversation_id": rf"conv_{B62}{{21}}",
    "session_id": rf"sess_{B62}{{21}}",
    "function_call_id": rf"call_{B62}{{16}}",
    "client_secret": r"ek_[0-9a-f]{32}",
    "webhook_event_id": r"evt_[0-9a-f]{32}",
    "webhook_delivery_id": r"wh_[0-9a-f]{32}",
    # live_u0_EUrPjp3oMERblJsADSyL1hZGfCQubB3V, live_u1_EUrRCp3oNAW04iwqigqdEYngTq5KnmX7
    "live_session_id": rf"live_u[01]_{B62}{{32}}",
}
STEMMED = ("event_id", "client_event_id", "item_id", "response_id", "conversation_id",
           "session_id")


# -- minting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "pattern"), sorted(SHAPES.items()))
@pytest.mark.parametrize("seed", [None, 7])
def test_shapes(method: str, pattern: str, seed: int | None) -> None:
    ids = IdFactory(seed)
    values = {getattr(ids, method)() for _ in range(20)}
    assert all(re.fullmatch(pattern, v) for v in values), values
    assert len(values) == 20  # no repeats


@pytest.mark.parametrize("seed", [None, 3])
def test_call_ids_vary_in_length_over_the_observed_range(seed: int | None) -> None:
    ids = IdFactory(seed)
    tails = [ids.webrtc_call_id()[7:] for _ in range(400)] + [
        ids.sip_call_id()[7:] for _ in range(400)]
    assert {len(t) for t in tails} == set(range(21, 33))
    # Mixed case, as real ones are (the docs' lowercase hex is not what the service mints).
    joined = "".join(tails)
    assert any(c.isupper() for c in joined)
    assert any(c.islower() for c in joined)
    assert all(is_call_id("rtc_u1_" + t) for t in tails)


def test_minted_live_session_ids_pass_the_live_check_and_use_both_markers() -> None:
    ids = IdFactory(11)
    minted = [ids.live_session_id() for _ in range(40)]
    assert all(is_live_session_id(v) and api_of_id(v) == "live" for v in minted)
    assert {v[:8] for v in minted} == {"live_u0_", "live_u1_"}


def test_minted_call_ids_have_their_transport_marker() -> None:
    ids = IdFactory(5)
    assert transport_kind(ids.webrtc_call_id()) == "webrtc"
    assert transport_kind(ids.sip_call_id()) == "sip"


def test_ids_of_one_moment_share_a_time_stem_and_later_ones_sort_after() -> None:
    ids = IdFactory(11)
    first = [ids.event_id()[6:], ids.item_id()[5:], ids.response_id()[5:],
             ids.conversation_id()[5:], ids.session_id()[5:]]
    assert len({v[:5] for v in first}) == 1            # one stem at one virtual time
    assert len({v[5:] for v in first}) == 5            # the rest is random
    stems = [ids.stem()]
    for t in (0.5, 1, 1, 2, 61, 62, 3843, 3844, 250_000):
        ids.advance_to(t)
        stems.append(ids.item_id()[5:10])
    assert stems == sorted(stems)                      # base62 in ASCII order sorts by time
    assert len(set(stems)) == 8                        # times 0, 1, 2, 61, 62, 3843, 3844, 250000
    assert stems[0] == stems[1]
    assert stems[2] == stems[3]
    ids.advance_to(5)                                  # never backwards
    assert ids.time == 250_000
    assert ids.item_id()[5:10] == stems[-1]


def test_stems_differ_between_seeds_and_repeat_for_a_seed() -> None:
    assert IdFactory(1).stem() == IdFactory(1).stem()
    assert IdFactory(1).stem() != IdFactory(2).stem()


def test_seeded_factories_repeat_and_differ() -> None:
    a, b, c = IdFactory(1), IdFactory(1), IdFactory(2)
    seq_a = [a.item_id(), a.event_id(), a.webrtc_call_id(), a.sip_call_id(), a.obfuscation(9)]
    assert seq_a == [b.item_id(), b.event_id(), b.webrtc_call_id(), b.sip_call_id(),
                     b.obfuscation(9)]
    assert seq_a != [c.item_id(), c.event_id(), c.webrtc_call_id(), c.sip_call_id(),
                     c.obfuscation(9)]


def test_unseeded_factories_differ() -> None:
    assert IdFactory().hex32() != IdFactory().hex32()
    assert IdFactory().webrtc_call_id() != IdFactory().webrtc_call_id()


@pytest.mark.parametrize("seed", [None, 6])
def test_every_character_of_minted_ids_is_uniform_over_its_alphabet(seed: int | None) -> None:
    # One draw per id, written two digits at a time: every position (the odd last one too)
    # must still take all 62 digits (all 16 for hex). With 2,000 draws a position misses a
    # digit by chance with probability ~62 * (61/62)**2000, about 1e-12.
    ids = IdFactory(seed)
    for n, mint, alphabet in ((21, ids.base62, string.digits + string.ascii_letters),
                              (16, ids.base62, string.digits + string.ascii_letters),
                              (1, ids.base62, string.digits + string.ascii_letters),
                              (32, lambda _n: ids.hex32(), "0123456789abcdef")):
        values = [mint(n) for _ in range(2000)]
        assert {len(v) for v in values} == {n}
        for position in range(n):
            assert {v[position] for v in values} == set(alphabet), (n, position)


@pytest.mark.parametrize("seed", [None, 8])
def test_live_session_ids_are_one_draw_with_a_uniform_marker_and_tail(seed: int | None) -> None:
    # The marker is the draw's lowest bit and the 32 digits the rest: both markers appear and
    # every tail position still takes all 62 digits (chance of a miss ~1e-12, as above).
    ids = IdFactory(seed)
    values = [ids.live_session_id() for _ in range(2000)]
    assert {v[:8] for v in values} == {"live_u0_", "live_u1_"}
    assert {len(v) for v in values} == {8 + 32}
    for position in range(8, 40):
        assert {v[position] for v in values} == set(string.digits + string.ascii_letters)
    if seed is not None:
        again = IdFactory(seed)
        assert [again.live_session_id() for _ in range(2000)] == values


def test_base62_length() -> None:
    assert len(IdFactory(3).base62(5)) == 5


def test_obfuscation_is_mixed_case_base62() -> None:
    values = "".join(IdFactory(4).obfuscation(16) for _ in range(20))
    assert len(values) == 320
    assert set(values) <= set(string.ascii_letters + string.digits)
    assert any(c.isupper() for c in values)
    assert any(c.islower() for c in values)


# -- checking call ids ------------------------------------------------------------------------


@pytest.mark.parametrize("call_id", REAL_CALL_IDS + DOC_CALL_IDS)
def test_real_and_documented_call_ids_are_accepted(call_id: str) -> None:
    assert is_call_id(call_id)
    assert check_call_id(call_id) == call_id


def test_transport_kind_comes_from_the_marker_when_there_is_one() -> None:
    assert transport_kind("rtc_u0_E7JGG7YLOPmJfNx4alnIn") == "sip"
    assert transport_kind("rtc_u1_9c6574da8b8a41a18da9308f4ad974ce") == "webrtc"
    assert transport_kind("rtc_479a275623b54bdb9b6fbae2f7cbd408") is None
    assert transport_kind("rtc_u7_abc") is None


@pytest.mark.parametrize(("bad", "problem"), [
    ("", "is empty"),
    ("   ", "is empty"),
    ("rtc_", "characters"),
    ("live_123", "does not start with 'rtc_'"),
    ("RTC_u0_E7JGG7YLOPmJfNx4alnIn", "does not start with 'rtc_'"),
    ("rtc_u0_E7JGG7 YLOPmJfNx4alnIn", "spaces"),
    (" rtc_u0_E7JGG7YLOPmJfNx4alnIn", "spaces"),
    ("rtc_u0_E7JGG7YLOPmJfNx4alnIn\n", "spaces"),
    ("https://api.openai.com/v1/realtime/calls/rtc_u0_E7JGG7YLOPmJfNx4alnIn", "URL"),
    ("rtc_u1_../../v1/models", "URL or a path"),
    ("rtc?x=1", "URL or a path"),
    ("rtc_u1_x.y", "characters"),
    ("rtc_u1_x%2F", "characters"),
    ("rtc_u1_é", "characters"),
    ("rtc_" + "a" * (CALL_ID_MAX_LENGTH - 3), "above the limit"),
])
def test_what_is_clearly_not_a_call_id_is_refused_with_field_and_fix(
        bad: str, problem: str) -> None:
    assert not is_call_id(bad)
    with pytest.raises(ValidationError) as info:
        check_call_id(bad, "call_id")
    err = info.value
    assert err.field == "call_id"
    assert problem in err.problem
    assert "rtc_" in err.fix
    if len(bad.strip()) > 4:
        assert bad.strip() not in str(err)  # never echoed


def test_the_cap_is_inclusive() -> None:
    assert is_call_id("rtc_" + "a" * (CALL_ID_MAX_LENGTH - 4))
    assert not is_call_id("rtc_" + "a" * (CALL_ID_MAX_LENGTH - 3))


@pytest.mark.parametrize("value", [5, None, b"rtc_u0_abc", ["rtc_u0_abc"]])
def test_a_non_string_is_refused_as_invalid_type(value: object) -> None:
    assert not is_call_id(value)
    with pytest.raises(ValidationError) as info:
        check_call_id(value, "incoming.call_id")
    assert info.value.field == "incoming.call_id"
    assert info.value.code == "invalid_type"


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("pasted", ["{k}", "rtc_{k}", "rtc_u1_{k}", "rtc_u0_{k}"])
def test_a_pasted_key_is_refused_and_never_echoed(key: str, pasted: str) -> None:
    value = pasted.format(k=key)
    assert not is_call_id(value)
    with pytest.raises(ValidationError) as info:
        check_call_id(value)
    text = str(info.value)
    assert "call_id" in text
    assert "Fix:" in text
    assert key not in text
    assert key[6:] not in text
    assert shown_id(value).startswith("(")


def test_pattern_is_anchored() -> None:
    assert CALL_ID_RE.pattern.startswith("^")
    assert CALL_ID_RE.pattern.endswith(r"\Z")
    assert CALL_ID_RE.match("rtc_abc\n") is None


@pytest.mark.parametrize(("location", "expected"), [
    ("/v1/realtime/calls/rtc_u0_E52xSxAjvyO0yAcpamyDl", "rtc_u0_E52xSxAjvyO0yAcpamyDl"),
    ("https://api.openai.com/v1/realtime/calls/rtc_u1_E7JGG7YLOPmJfNx4alnIn",
     "rtc_u1_E7JGG7YLOPmJfNx4alnIn"),
    ("/v1/realtime/calls/rtc_u1_E7JGG7YLOPmJfNx4alnIn?trace=1", "rtc_u1_E7JGG7YLOPmJfNx4alnIn"),
    ("/v1/realtime/calls/rtc_u1_E7JGG7YLOPmJfNx4alnIn/", "rtc_u1_E7JGG7YLOPmJfNx4alnIn"),
    ("/v1/realtime/calls/rtc_u1_E7JGG7YLOPmJfNx4alnIn#x", "rtc_u1_E7JGG7YLOPmJfNx4alnIn"),
    ("rtc_u0_ERgXRp3oMMnXYswMZiboahqXEVDezFD9", "rtc_u0_ERgXRp3oMMnXYswMZiboahqXEVDezFD9"),
    ("/v1/realtime/calls/", None),
    ("/v1/models", None),
    ("/v1/realtime/calls/rtc_u1_sk-proj-NotARealKey0123456789", None),
    ("", None),
])
def test_call_id_from_location(location: str, expected: str | None) -> None:
    assert call_id_from_location(location) == expected


def test_shown_id_quotes_only_safe_ids() -> None:
    assert shown_id("call_9Q9eysr6LstYMEx6") == "'call_9Q9eysr6LstYMEx6'"
    assert shown_id("call nope") .startswith("(")
    assert shown_id(5).startswith("(")


def test_refuse_secret_names_the_field_without_the_value() -> None:
    refuse_secret("item_Ct1OXLqYLre7VW2Bz9Eoy", "item.id")
    with pytest.raises(ValidationError) as info:
        refuse_secret(KEYS[1], "item.id")
    assert info.value.field == "item.id"
    assert KEYS[1] not in str(info.value)


# -- properties -------------------------------------------------------------------------------

SAFE = string.ascii_letters + string.digits + "_-"
_base62_tail = st.text(alphabet=string.ascii_letters + string.digits, min_size=1,
                       max_size=CALL_ID_MAX_LENGTH - 11)


@settings(max_examples=300, deadline=None)
@given(marker=st.sampled_from(["", "u0_", "u1_", "u9_"]), tail=_base62_tail)
def test_property_any_rtc_base62_id_is_accepted(marker: str, tail: str) -> None:
    call_id = f"rtc_{marker}{tail}"
    assert is_call_id(call_id)
    assert check_call_id(call_id) == call_id
    assert call_id_from_location(f"/v1/realtime/calls/{call_id}?a=b") == call_id


@settings(max_examples=300, deadline=None)
@given(tail=st.text(alphabet=SAFE, min_size=1, max_size=CALL_ID_MAX_LENGTH - 4))
def test_property_any_safe_tail_is_accepted_unless_it_holds_a_key(tail: str) -> None:
    from rtwidgets.protocol.ids import looks_secret

    assert is_call_id("rtc_" + tail) == (not looks_secret("rtc_" + tail))


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(KEYS), before=st.text(alphabet=SAFE, max_size=8),
       wrap=st.sampled_from(["{k}", "rtc_{k}", "rtc_u0_{k}", "rtc_{b}_{k}", " {k} "]))
def test_property_keys_are_refused_and_never_echoed(key: str, before: str, wrap: str) -> None:
    value = wrap.format(k=key, b=before)
    assert not is_call_id(value)
    with pytest.raises(ValidationError) as info:
        check_call_id(value)
    assert key not in str(info.value)
    assert key.split("-")[-1].split("_")[-1] not in str(info.value)


@settings(max_examples=300, deadline=None)
@given(head=st.sampled_from(["", "rtc_", "rtc_u0_", " rtc_u1_", "https://x/"]),
       before=st.text(max_size=20), after=st.text(max_size=40))
def test_property_refusals_never_echo_the_value(head: str, before: str, after: str) -> None:
    # A marker no message contains stands for the part of the value that must never show.
    value = f"{head}{before}Zx9Qv{after}"
    if is_call_id(value):
        assert check_call_id(value) == value
        assert value.startswith("rtc_")
        assert set(value) <= set(SAFE)
        return
    with pytest.raises(ValidationError) as info:
        check_call_id(value)
    assert "Zx9Qv" not in str(info.value)
    assert info.value.field == "call_id"
    assert "Fix:" in str(info.value)


@settings(max_examples=200, deadline=None)
@given(ws=st.sampled_from([" ", "\t", "\n", "\r", "\u00a0", "\u2028"]),
       pos=st.integers(min_value=0, max_value=28))
def test_property_whitespace_anywhere_is_refused(ws: str, pos: int) -> None:
    real = REAL_CALL_IDS[0]
    assert not is_call_id(real[:pos] + ws + real[pos:])
