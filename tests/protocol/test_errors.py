"""ValidationError: message format, server error codes, truncation of echoed values."""

from __future__ import annotations

import pickle

import pytest

from rtwidgets.protocol.errors import ERROR_CODES, ValidationError, did_you_mean, short


def test_message_format_and_attributes() -> None:
    err = ValidationError(
        "session.audio.output.speed", "3 is above the maximum 1.5", "use a number from 0.25 to 1.5"
    )
    assert str(err) == (
        "session.audio.output.speed: 3 is above the maximum 1.5. "
        "Fix: use a number from 0.25 to 1.5"
    )
    assert err.field == err.param == "session.audio.output.speed"
    assert err.code == "invalid_value"
    assert err.fix == "use a number from 0.25 to 1.5"
    assert isinstance(err, ValueError)


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_every_server_code_is_accepted(code: str) -> None:
    err = ValidationError("x", "bad", "fix it", code=code)  # type: ignore[arg-type]
    assert err.code == code


def test_unknown_code_is_refused() -> None:
    with pytest.raises(ValueError, match="not a server error code"):
        ValidationError("x", "bad", "fix", code="nope")  # type: ignore[arg-type]


def test_to_error_is_the_server_error_object() -> None:
    err = ValidationError("item.output", "expected a string", "json.dumps it", code="invalid_type")
    assert err.to_error("evt_1") == {
        "type": "invalid_request_error",
        "code": "invalid_type",
        "message": str(err),
        "param": "item.output",
        "event_id": "evt_1",
    }
    assert err.to_error()["event_id"] is None


def test_pickle_round_trip_keeps_fields() -> None:
    err = ValidationError("a.b", "bad", "fix", code="unknown_parameter")
    back = pickle.loads(pickle.dumps(err))
    assert (back.field, back.problem, back.fix, back.code, str(back)) == (
        "a.b", "bad", "fix", "unknown_parameter", str(err)
    )


def test_short_truncates_long_values() -> None:
    assert short("abc") == "'abc'"
    cut = short("x" * 1000)
    assert len(cut) == 40
    assert cut.endswith("…")


def test_did_you_mean() -> None:
    hint = did_you_mean("instrutions", ["instructions", "tools"])
    assert hint == " (did you mean 'instructions'?)"
    assert did_you_mean("zzz", ["instructions", "tools"]) == ""

