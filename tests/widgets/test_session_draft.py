"""SessionDraft: the session editor's model, tested with plain data (no widgets, no comm)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.ids import IdFactory
from rtwidgets.protocol.session import default_session
from rtwidgets.widgets._session_draft import (
    CUSTOM_VOICE,
    SECRET_MASK,
    UNKNOWN,
    SessionDraft,
    mask_secrets,
    unknown_paths,
    voice_choice,
)

MCP = {"type": "mcp", "server_label": "crm", "server_url": "https://crm.example/mcp",
       "authorization": "tok-123", "headers": {"X-Key": "v"}}


def states(**over: Any) -> dict[str, Any]:
    """Control states as the form shows the default session."""
    base: dict[str, Any] = {
        "instructions": "be nice",
        "voice": ("alloy", ""),
        "output_modalities": "audio",
        "turn_detection": ("server_vad", 0.5, 300, 200, "", "auto", True, True),
        "tools": "[]",
        "tool_choice": "auto",
    }
    base.update(over)
    return base


@pytest.fixture
def draft() -> SessionDraft:
    d = SessionDraft()
    session = default_session("gpt-realtime", IdFactory(1), created_at=1)
    session["instructions"] = "be nice"
    d.load(session)
    d.loaded = states()
    return d


CHOICES = {"auto": "auto", "none": "none", "required": "required"}


def test_nothing_edited_sends_nothing(draft: SessionDraft) -> None:
    assert draft.form_changed(states(), CHOICES) == {}
    assert draft.validated({}) == {}


def test_only_edited_fields_are_sent(draft: SessionDraft) -> None:
    changed = draft.form_changed(states(instructions="be brief", voice=("marin", "")), CHOICES)
    assert changed == {"instructions": "be brief", "audio": {"output": {"voice": "marin"}}}
    assert draft.validated(changed) == changed


def test_same_type_turn_detection_sends_only_touched_parameters(draft: SessionDraft) -> None:
    td = ("server_vad", 0.8, 300, 200, "", "auto", True, True)
    changed = draft.form_changed(states(turn_detection=td), CHOICES)
    assert changed == {"audio": {"input": {"turn_detection": {
        "type": "server_vad", "threshold": 0.8}}}}
    other = ("semantic_vad", 0.5, 300, 200, "", "high", True, False)
    changed = draft.form_changed(states(turn_detection=other), CHOICES)
    assert changed["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad", "eagerness": "high", "create_response": True,
        "interrupt_response": False}


def test_bad_idle_timeout_names_the_field(draft: SessionDraft) -> None:
    td = ("server_vad", 0.5, 300, 200, "soon", "auto", True, True)
    with pytest.raises(ValidationError) as info:
        draft.form_changed(states(turn_detection=td), CHOICES)
    assert info.value.field == "session.audio.input.turn_detection.idle_timeout_ms"


def test_custom_voice_needs_a_voice_id(draft: SessionDraft) -> None:
    with pytest.raises(ValidationError) as info:
        draft.form_changed(states(voice=(CUSTOM_VOICE, "marin2")), CHOICES)
    assert info.value.field == "session.audio.output.voice.id"
    changed = draft.form_changed(states(voice=(CUSTOM_VOICE, " voice_123 ")), CHOICES)
    assert changed == {"audio": {"output": {"voice": {"id": "voice_123"}}}}


def test_locks_and_validation_come_from_the_protocol(draft: SessionDraft) -> None:
    draft.audio_started = True
    with pytest.raises(ValidationError, match="locked"):
        draft.validated({"audio": {"output": {"voice": "marin"}}})
    with pytest.raises(ValidationError) as info:
        draft.validated({"audio": {"output": {"speed": 9}}})
    assert info.value.field == "session.audio.output.speed"


def test_raw_json_refuses_changed_server_only_fields(draft: SessionDraft) -> None:
    text = json.dumps({"instructions": "x", "id": draft.server_session["id"]})
    assert draft.raw_changed(text) == {"instructions": "x"}
    with pytest.raises(ValidationError) as info:
        draft.raw_changed('{"id": "sess_other"}')
    assert info.value.field == "session.id"
    with pytest.raises(ValidationError) as info:
        draft.raw_changed("[1]")
    assert info.value.field == "session"


def test_masked_mcp_credentials_come_back_from_the_baseline() -> None:
    d = SessionDraft()
    d.load({"type": "realtime", "tools": [MCP]})
    masked = mask_secrets([MCP])
    assert masked[0]["authorization"] == SECRET_MASK
    assert "tok-123" not in str(masked)
    text = json.dumps({"tools": masked, "instructions": "x"})
    assert d.raw_changed(text) == {"instructions": "x"}


def test_unknown_fields_and_voice_choice() -> None:
    paths = {"voice": "audio.output.voice", "instructions": "instructions"}
    assert unknown_paths({}, paths) == {"voice", "instructions"}
    known = {"instructions": "", "audio": {"output": {"voice": "ash"}}}
    assert unknown_paths(known, paths) == set()
    assert voice_choice("ash") == ("ash", "")
    assert voice_choice({"id": "voice_1"}) == (CUSTOM_VOICE, "voice_1")
    assert UNKNOWN != "unknown"  # an unknown choice can never collide with a real value


def test_unknown_choice_sends_nothing(draft: SessionDraft) -> None:
    d = SessionDraft()
    d.load(None)
    d.loaded = states(voice=(UNKNOWN, ""), output_modalities=UNKNOWN)
    assert d.form_changed(states(voice=(UNKNOWN, ""), output_modalities=UNKNOWN), CHOICES) == {}


def test_session_fields_is_the_whole_desired_session(draft: SessionDraft) -> None:
    body = draft.session_fields({"instructions": "x"})
    assert body["type"] == "realtime"
    assert body["instructions"] == "x"
    assert "id" not in body
    assert body["audio"]["output"]["voice"] == "alloy"
