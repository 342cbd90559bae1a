"""ValidationError: message format, server error codes, truncation and masking of echoed values."""

from __future__ import annotations

import pickle

import pytest

from rtwidgets.protocol.errors import (
    ERROR_CODES,
    ValidationError,
    did_you_mean,
    mask_secrets,
    short,
)


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



# -- secrets pasted into the wrong box are never echoed ---------------------------------------

KEY = "sk-proj-SECRETKEY-must-not-leak-123"
SECRETS = {
    "api key": (KEY, "sk-proj-…(hidden)"),
    "legacy key": ("sk-test-not-a-real-key", "sk-…(hidden)"),
    "service account key": ("sk-svcacct-AbC123xyz_-9", "sk-svcacct-…(hidden)"),
    "restricted key": ("rk-AbC123xyz987", "rk-…(hidden)"),
    "webhook secret": ("whsec_U0VDUkVUV0VCSE9PSy1tdXN0LW5vdC1sZWFr+/==", "whsec_…(hidden)"),
    "ephemeral key": ("ek_68af2c0f1a2b3c4d5e6f", "ek_…(hidden)"),
    "bearer token": ("Bearer eyJhbGciOi.JIUzI1NiJ9-abc", "Bearer …(hidden)"),
}


@pytest.mark.parametrize("name", list(SECRETS))
def test_short_masks_a_secret_shaped_value(name: str) -> None:
    secret, shown = SECRETS[name]
    text = short(secret)
    assert text == repr(shown)
    tail = secret.split("-")[-1].split("_")[-1].split(" ")[-1]
    assert tail not in text


@pytest.mark.parametrize("value", [
    KEY, f"rtc_u1_{KEY}", f"  {KEY}  ", {"call_id": KEY}, [1, KEY], f"x{'y' * 30}-{KEY}",
])
def test_short_masks_a_key_anywhere_in_the_value_before_cutting(value: object) -> None:
    # The cut at 40 characters would otherwise leave a prefix of the key in the message.
    for limit in (10, 40, 200):
        text = short(value, limit)
        assert "SECRETKEY" not in text
        assert "must-not-leak" not in text
        assert len(text) <= limit


def test_mask_leaves_ordinary_text_alone() -> None:
    ordinary = ("task-list", "ask-me-anything", "rtc_u1_" + "2" * 32, "check_output", "week_12",
                "desk-lamp", "evt_sk-1", "sk-", "Bearer", "use sk-... style keys",
                "response.create", "Fix: pass a key like 'sk-…'")
    for text in ordinary:
        assert mask_secrets(text) == text


def test_validation_error_masks_a_key_formatted_into_any_part() -> None:
    err = ValidationError(
        "call_id", f"{str(f'rtc_u1_{KEY}')[:40]!r} is not a Realtime call id",
        f"pass a call id, not {KEY}",
    )
    for text in (str(err), repr(err), err.problem, err.fix, err.to_error()["message"],
                 str(pickle.loads(pickle.dumps(err)))):
        assert "SECRETKEY" not in text, text
    assert "sk-proj-…(hidden)" in err.problem
    assert err.field == "call_id"
