"""The capture's GA rules: the order check survives hostile ids, audio is found where the
catalog says it travels, redaction blanks transcripts and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from rtwidgets.protocol.realtime.capture import (
    AUDIO_TYPES,
    REDACTABLE_TYPES,
    OrderCheck,
    audio_holders,
    redact_transcripts,
)

from .test_codec import HOSTILE


@pytest.mark.parametrize("frame", [f for f in HOSTILE if isinstance(f, dict)])
def test_the_order_check_never_raises(frame: dict[str, Any]) -> None:
    etype = frame.get("type")
    OrderCheck().check(etype if isinstance(etype, str) else "", frame)


def test_the_issue_11_frame_is_not_out_of_order_and_does_not_raise() -> None:
    # {"type": "conversation.created", "response_id": []} raised TypeError (unhashable list)
    # in the capture's order check and ended the receive loop.
    check = OrderCheck()
    assert not check.check("conversation.created", {"response_id": []})
    assert not check.check("response.output_text.delta", {"response_id": {"a": 1}})


def test_order_check_flags_a_delta_of_an_unstarted_response() -> None:
    check = OrderCheck()
    assert check.check("response.output_text.delta", {"response_id": "resp_1"})
    assert not check.check("response.created", {"response": {"id": "resp_1"}})
    assert not check.check("response.output_item.added", {"response_id": "resp_1",
                                                          "item": {"id": "item_1"}})
    assert not check.check("response.output_text.delta", {"response_id": "resp_1",
                                                          "item_id": "item_1"})
    assert check.check("response.output_text.delta", {"response_id": "resp_1",
                                                      "item_id": "item_unseen"})
    assert not check.check("response.done", {"response": {"id": "resp_1"}})
    assert check.check("response.done", {"response": {"id": "resp_1"}})


def test_audio_holders_follow_the_catalog() -> None:
    delta = {"type": "response.output_audio.delta", "delta": "AAAA"}
    assert audio_holders(delta, "response.output_audio.delta") == [(delta, "delta", "delta")]
    retrieved = {"item": {"content": [{"type": "input_audio", "audio": "BBBB"}, "x"]}}
    (holder, key, path), = audio_holders(retrieved, "conversation.item.retrieved")
    assert (key, path) == ("audio", "item.content.0.audio")
    assert holder["audio"] == "BBBB"
    assert audio_holders({"item": "x"}, "conversation.item.retrieved") == []
    assert "response.output_audio.delta" in AUDIO_TYPES


def test_redaction_blanks_transcripts_only() -> None:
    event = {"type": "response.done", "response": {"id": "resp_1", "output": [
        {"content": [{"type": "audio", "transcript": "secret words"}]}]}}
    assert redact_transcripts(event, "response.done") == 1
    part = event["response"]["output"][0]["content"][0]  # type: ignore[index]
    assert part["transcript"] == "[redacted 12 chars]"
    assert redact_transcripts(event, "response.done") == 0  # idempotent
    assert "response.done" in REDACTABLE_TYPES
    assert "response.output_audio.delta" not in REDACTABLE_TYPES


def test_order_check_fast_path_keeps_the_rules_of_plain_frames() -> None:
    # deltas, parts and dones are checked by response_id then item_id (one set lookup to
    # get there); output_audio_buffer.* frames are never flagged by their response_id.
    check = OrderCheck()
    assert not check.check("response.output_text.delta", {"item_id": "item_1"})  # no rid
    assert check.check("output_audio_buffer.started", {"response_id": "resp_9"}) is False
    assert not check.check("response.created", {"response": {"id": "resp_1"}})
    assert not check.check("conversation.item.added", {"item": {"id": "item_1"}})
    assert not check.check("response.content_part.added", {"response_id": "resp_1",
                                                           "item_id": "item_1"})
    assert not check.check("response.output_text.delta", {"response_id": "resp_1"})
    assert not check.check("response.done", {"response": {"id": "resp_1"}})
    assert check.check("response.output_text.delta", {"response_id": "resp_1",
                                                      "item_id": "item_1"})
