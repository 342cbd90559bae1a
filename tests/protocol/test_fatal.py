"""Which server errors end a call, and the reason text they give (never key text)."""

from __future__ import annotations

from typing import Any

import pytest

from rtwidgets.protocol.fatal import (
    FATAL_ERROR_CODES,
    describe_error,
    fatal_error_reason,
    safe_text,
)

# Published (issue 10, alfred-KE/openai-realtime-twilio-demo ERREUR-OPENAI.md); the key part
# in the messages is the published placeholder, not a key.
REAL_BAD_KEY = {"type": "error", "event_id": "event_ChHoYgjNyV77BzP1pTFWV",
                "error": {"type": "invalid_request_error", "code": "invalid_api_key",
                          "message": "Incorrect API key provided: sk-abc***…",
                          "param": None, "event_id": None}}
REAL_BAD_KEY_2 = {"type": "error", "error": {
    "type": "invalid_request_error", "code": "invalid_api_key",
    "message": "Incorrect API key provided: sk-proj-...sQoA. You can find your API key at "
               "https://platform.openai.com/account/api-keys."}}


def test_the_published_bad_key_error_ends_the_call_with_a_masked_reason() -> None:
    assert fatal_error_reason(REAL_BAD_KEY) == (
        "the server refused the call: Incorrect API key provided: sk-…(hidden) "
        "(invalid_api_key)")
    reason = fatal_error_reason(REAL_BAD_KEY_2)
    assert reason is not None
    assert "sQoA" not in reason
    assert "..." not in reason
    assert reason.endswith("(invalid_api_key)")


@pytest.mark.parametrize("code", sorted(FATAL_ERROR_CODES))
def test_every_listed_code_is_fatal(code: str) -> None:
    info = describe_error({"type": "error", "error": {"code": code, "message": "m"}})
    assert info == (f"m ({code})", True)


@pytest.mark.parametrize("code", ["invalid_value", "response_cancel_not_active",
                                  "conversation_already_has_active_response", None])
def test_errors_about_a_client_event_are_not_fatal(code: str | None) -> None:
    event = {"type": "error", "error": {"code": code, "message": "refused"}}
    assert fatal_error_reason(event) is None
    info = describe_error(event)
    assert info is not None
    assert info[1] is False


@pytest.mark.parametrize("event", [None, [], {"type": "error"}, {"type": "error", "error": 3},
                                   {"type": "session.created", "error": {"code": "x"}},
                                   {"type": "error", "error": {"code": 5, "message": None}}])
def test_malformed_events_never_raise(event: Any) -> None:
    assert fatal_error_reason(event) is None


def test_safe_text_masks_before_it_cuts_and_flattens_whitespace() -> None:
    text = safe_text("key\nsk-proj-" + "x" * 300, limit=30)
    assert "xxxx" not in text
    assert "\n" not in text
    assert len(safe_text("y" * 500)) == 200
