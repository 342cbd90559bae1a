"""Session validation, the server's partial merge, and session_diff."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.ids import IdFactory
from rtwidgets.protocol.session import (
    BUILTIN_VOICES,
    DEFAULT_INSTRUCTIONS,
    SessionDiff,
    default_session,
    default_turn_detection,
    editable_session,
    merge_session,
    session_diff,
    validate_session,
)


@pytest.fixture
def session() -> dict[str, Any]:
    return default_session("gpt-realtime-2.1", IdFactory(5), created_at=1_767_000_000)


# -- default_session ------------------------------------------------------------------------


def test_default_session_is_a_full_valid_session(session: dict[str, Any]) -> None:
    validate_session(session, partial=False)
    assert session["model"] == "gpt-realtime-2.1"
    assert session["id"].startswith("sess_")
    assert session["object"] == "realtime.session"
    assert session["expires_at"] == 1_767_003_600
    assert session["instructions"] == DEFAULT_INSTRUCTIONS
    assert session["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.0,
    }
    assert session["audio"]["input"]["turn_detection"] == default_turn_detection()
    assert session["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 200
    assert session["max_output_tokens"] == "inf"


def test_default_session_is_reproducible_with_a_seed() -> None:
    a = default_session("m", IdFactory(1))
    b = default_session("m", IdFactory(1))
    assert a == b
    a["audio"]["input"]["format"]["rate"] = 1
    assert a["audio"]["output"]["format"]["rate"] == 24000  # no shared sub-objects


def test_default_session_refuses_empty_model() -> None:
    with pytest.raises(ValidationError) as info:
        default_session("", IdFactory(1))
    assert info.value.param == "session.model"


def test_full_session_requires_core_fields(session: dict[str, Any]) -> None:
    del session["audio"]
    with pytest.raises(ValidationError) as info:
        validate_session(session, partial=False)
    assert (info.value.param, info.value.code) == ("session.audio", "missing_required_parameter")


def test_partial_refuses_server_only_fields(session: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        validate_session(session, partial=True)
    assert info.value.code == "unknown_parameter"
    assert info.value.param in {"session.object", "session.id", "session.expires_at"}
    assert "set by the server" in str(info.value)


# -- validate_session: accepted shapes -----------------------------------------------------

GOOD: list[dict[str, Any]] = [
    {"type": "realtime"},
    {"type": "realtime", "instructions": ""},
    {"type": "realtime", "output_modalities": ["text"]},
    {"type": "realtime", "max_output_tokens": 1},
    {"type": "realtime", "max_output_tokens": 4096},
    {"type": "realtime", "max_output_tokens": "inf"},
    {"type": "realtime", "audio": {"output": {"voice": {"id": "voice_abc"}, "speed": 0.25}}},
    {"type": "realtime", "audio": {"output": {"voice": "cedar", "speed": 1.5}}},
    {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
    {"type": "realtime", "audio": {"input": {"turn_detection": {
        "type": "server_vad", "threshold": 0, "prefix_padding_ms": 0, "silence_duration_ms": 500,
        "idle_timeout_ms": 5000, "create_response": False, "interrupt_response": True}}}},
    {"type": "realtime", "audio": {"input": {"turn_detection": {
        "type": "server_vad", "idle_timeout_ms": 30000}}}},
    {"type": "realtime", "audio": {"input": {"turn_detection": {
        "type": "semantic_vad", "eagerness": "high"}}}},
    {"type": "realtime", "audio": {"input": {
        "format": {"type": "audio/pcmu"}, "noise_reduction": {"type": "far_field"},
        "transcription": {"model": "gpt-4o-transcribe", "language": "en", "prompt": "names",
                          "keywords": ["rtwidgets"], "languages": ["en", "fr"], "delay": "low"}}}},
    {"type": "realtime", "audio": {"input": {"transcription": None, "noise_reduction": None}}},
    {"type": "realtime", "tools": []},
    {"type": "realtime", "tools": [
        {"type": "function", "name": "get_weather", "description": "Weather for a city",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                        "required": ["city"]}},
        {"type": "mcp", "server_label": "docs", "server_url": "https://example.com/mcp",
         "require_approval": "never", "allowed_tools": ["search"],
         "headers": {"X-Key": "secret"}, "authorization": "tok"},
        {"type": "mcp", "server_label": "mail", "connector_id": "connector_gmail",
         "require_approval": {"never": {"tool_names": ["list"]}}},
    ]},
    {"type": "realtime", "tool_choice": "required"},
    {"type": "realtime", "tool_choice": {"type": "function", "name": "get_weather"}},
    {"type": "realtime", "tool_choice": {"type": "mcp", "server_label": "docs", "name": "x"}},
    {"type": "realtime", "parallel_tool_calls": True, "reasoning": {"effort": "xhigh"}},
    {"type": "realtime", "truncation": "disabled"},
    {"type": "realtime", "truncation": {"type": "retention_ratio", "retention_ratio": 0.8,
                                         "token_limits": {"post_instructions": 1000}}},
    {"type": "realtime", "tracing": None},
    {"type": "realtime", "tracing": "auto"},
    {"type": "realtime", "tracing": {"workflow_name": "w", "group_id": "g", "metadata": {}}},
    {"type": "realtime", "prompt": {"id": "pmpt_1", "version": "2", "variables": {"a": "b"}}},
    {"type": "realtime", "prompt": None},
    {"type": "realtime", "include": ["item.input_audio_transcription.logprobs"]},
    {"type": "realtime", "model": "gpt-realtime-2.1"},
    {"type": "transcription", "audio": {"input": {"transcription": {"model": "whisper-1"}}}},
]


@pytest.mark.parametrize("fields", GOOD)
def test_valid_sessions_pass(fields: dict[str, Any]) -> None:
    validate_session(fields, partial=True)


# -- validate_session: every failure class -------------------------------------------------

RT = {"type": "realtime"}

BAD: list[tuple[Any, str, str, str]] = [
    # (session fields, param, code, text expected in the message)
    ([], "session", "invalid_type", "expected an object"),
    ({}, "session.type", "missing_required_parameter", "'type': 'realtime'"),
    ({"type": "realtme"}, "session.type", "invalid_value", "did you mean 'realtime'"),
    ({**RT, "instrutions": "x"}, "session.instrutions", "unknown_parameter",
     "did you mean 'instructions'"),
    ({**RT, "instructions": 5}, "session.instructions", "invalid_type", "expected a string"),
    ({**RT, "output_modalities": ["audio", "text"]}, "session.output_modalities",
     "invalid_value", "use ['audio'] (audio plus its transcript) or ['text']"),
    ({**RT, "output_modalities": []}, "session.output_modalities", "invalid_value",
     "exactly one modality"),
    ({**RT, "output_modalities": ["video"]}, "session.output_modalities[0]", "invalid_value",
     "'audio', 'text'"),
    ({**RT, "output_modalities": "audio"}, "session.output_modalities", "invalid_type",
     "expected an array"),
    ({**RT, "model": ""}, "session.model", "invalid_value", "non-empty"),
    ({**RT, "max_output_tokens": 0}, "session.max_output_tokens", "invalid_value",
     "from 1 to 4096"),
    ({**RT, "max_output_tokens": 4097}, "session.max_output_tokens", "invalid_value",
     "above the maximum 4096"),
    ({**RT, "max_output_tokens": "infinite"}, "session.max_output_tokens", "invalid_value",
     "'inf'"),
    ({**RT, "max_output_tokens": 1.5}, "session.max_output_tokens", "invalid_type",
     "integer"),
    ({**RT, "max_output_tokens": True}, "session.max_output_tokens", "invalid_type",
     "integer"),
    ({**RT, "audio": {"outptu": {}}}, "session.audio.outptu", "unknown_parameter",
     "did you mean 'output'"),
    ({**RT, "audio": {"output": {"speed": 3}}}, "session.audio.output.speed", "invalid_value",
     "use a number from 0.25 to 1.5"),
    ({**RT, "audio": {"output": {"speed": 0.1}}}, "session.audio.output.speed", "invalid_value",
     "below the minimum 0.25"),
    ({**RT, "audio": {"output": {"speed": "fast"}}}, "session.audio.output.speed",
     "invalid_type", "expected a number"),
    ({**RT, "audio": {"output": {"speed": float("nan")}}}, "session.audio.output.speed",
     "invalid_value", "finite"),
    ({**RT, "audio": {"output": {"voice": "alloyy"}}}, "session.audio.output.voice",
     "invalid_value", "did you mean 'alloy'"),
    ({**RT, "audio": {"output": {"voice": 3}}}, "session.audio.output.voice", "invalid_type",
     "voice_"),
    ({**RT, "audio": {"output": {"voice": {"id": "alloy"}}}}, "session.audio.output.voice.id",
     "invalid_value", "custom voice"),
    ({**RT, "audio": {"output": {"voice": {}}}}, "session.audio.output.voice.id",
     "missing_required_parameter", "add 'id'"),
    ({**RT, "audio": {"input": {"format": {"type": "audio/wav"}}}},
     "session.audio.input.format.type", "invalid_value", "'audio/pcm'"),
    ({**RT, "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}},
     "session.audio.input.format.rate", "invalid_value", "use 24000"),
    ({**RT, "audio": {"input": {"format": {"type": "audio/pcmu", "rate": 8000}}}},
     "session.audio.input.format.rate", "unknown_parameter", "remove 'rate'"),
    ({**RT, "audio": {"input": {"format": {"rate": 24000}}}}, "session.audio.input.format.type",
     "missing_required_parameter", "add 'type'"),
    ({**RT, "audio": {"input": {"turn_detection": "server_vad"}}},
     "session.audio.input.turn_detection", "invalid_type", "or None"),
    ({**RT, "audio": {"input": {"turn_detection": {"threshold": 0.5}}}},
     "session.audio.input.turn_detection.type", "missing_required_parameter", "server_vad"),
    ({**RT, "audio": {"input": {"turn_detection": {"type": "vad"}}}},
     "session.audio.input.turn_detection.type", "invalid_value", "'semantic_vad'"),
    ({**RT, "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 1.5}}}},
     "session.audio.input.turn_detection.threshold", "invalid_value", "from 0.0 to 1.0"),
    ({**RT, "audio": {"input": {"turn_detection": {"type": "server_vad",
                                                   "silence_duration_ms": -1}}}},
     "session.audio.input.turn_detection.silence_duration_ms", "invalid_value", "at least 0"),
    ({**RT, "audio": {"input": {"turn_detection": {"type": "server_vad",
                                                   "prefix_padding_ms": "300"}}}},
     "session.audio.input.turn_detection.prefix_padding_ms", "invalid_type", "integer"),
    ({**RT, "audio": {"input": {"turn_detection": {"type": "server_vad",
                                                   "idle_timeout_ms": 4999}}}},
     "session.audio.input.turn_detection.idle_timeout_ms", "invalid_value", "5000 to 30000"),
    ({**RT, "audio": {"input": {"turn_detection": {"type": "server_vad",
                                                   "idle_timeout_ms": 30001}}}},
     "session.audio.input.turn_detection.idle_timeout_ms", "invalid_value", "5000 to 30000"),
    ({**RT, "audio": {"input": {"turn_detection": {"type": "server_vad",
                                                   "create_response": "yes"}}}},
     "session.audio.input.turn_detection.create_response", "invalid_type", "true or false"),
    ({**RT, "audio": {"input": {"turn_detection": {"type": "server_vad",
                                                   "eagerness": "low"}}}},
     "session.audio.input.turn_detection.eagerness", "unknown_parameter", "remove it"),
    ({**RT, "audio": {"input": {"turn_detection": {"type": "semantic_vad",
                                                   "eagerness": "fast"}}}},
     "session.audio.input.turn_detection.eagerness", "invalid_value", "'auto'"),
    ({**RT, "audio": {"input": {"turn_detection": {"type": "semantic_vad",
                                                   "threshold": 0.5}}}},
     "session.audio.input.turn_detection.threshold", "unknown_parameter", "remove it"),
    ({**RT, "audio": {"input": {"noise_reduction": {"type": "near"}}}},
     "session.audio.input.noise_reduction.type", "invalid_value", "near_field"),
    ({**RT, "audio": {"input": {"transcription": {"model": "whisper-1", "lang": "en"}}}},
     "session.audio.input.transcription.lang", "unknown_parameter", "language"),
    ({**RT, "audio": {"input": {"transcription": {"keywords": "a,b"}}}},
     "session.audio.input.transcription.keywords", "invalid_type", "expected an array"),
    ({**RT, "audio": {"input": {"transcription": {"delay": "none"}}}},
     "session.audio.input.transcription.delay", "invalid_value", "'minimal'"),
    ({**RT, "tools": {}}, "session.tools", "invalid_type", "expected an array"),
    ({**RT, "tools": ["get_weather"]}, "session.tools[0]", "invalid_type", "tool object"),
    ({**RT, "tools": [{"name": "f"}]}, "session.tools[0].type", "missing_required_parameter",
     "'function'"),
    ({**RT, "tools": [{"type": "functon", "name": "f"}]}, "session.tools[0].type",
     "invalid_value", "did you mean 'function'"),
    ({**RT, "tools": [{"type": "function"}]}, "session.tools[0].name",
     "missing_required_parameter", "add 'name'"),
    ({**RT, "tools": [{"type": "function", "name": "get weather"}]}, "session.tools[0].name",
     "invalid_value", "letters, digits"),
    ({**RT, "tools": [{"type": "function", "name": "f", "parameters": "{}"}]},
     "session.tools[0].parameters", "invalid_type", "JSON Schema"),
    ({**RT, "tools": [{"type": "function", "name": "f", "parameters": {"type": "objekt"}}]},
     "session.tools[0].parameters", "invalid_value", "Draft202012Validator.check_schema"),
    ({**RT, "tools": [{"type": "function", "name": "f",
                       "parameters": {"type": "object", "properties": {"a": {"type": 5}}}}]},
     "session.tools[0].parameters", "invalid_value", "not a valid JSON Schema"),
    ({**RT, "tools": [{"type": "function", "name": "f", "parameters": {"type": "string"}}]},
     "session.tools[0].parameters.type", "invalid_value", "describe an object"),
    ({**RT, "tools": [{"type": "function", "name": "f", "params": {}}]},
     "session.tools[0].params", "unknown_parameter", "did you mean 'parameters'"),
    ({**RT, "tools": [{"type": "function", "name": "f"}, {"type": "function", "name": "f"}]},
     "session.tools[1].name", "invalid_value", "defined twice"),
    ({**RT, "tools": [{"type": "mcp", "server_label": "x"}]}, "session.tools[0].server_url",
     "missing_required_parameter", "connector_id"),
    ({**RT, "tools": [{"type": "mcp", "server_label": "x", "connector_id": "gmail"}]},
     "session.tools[0].connector_id", "invalid_value", "connector_gmail"),
    ({**RT, "tools": [{"type": "mcp", "server_label": "x", "server_url": "u",
                       "require_approval": "sometimes"}]},
     "session.tools[0].require_approval", "invalid_value", "'always'"),
    ({**RT, "tool_choice": "any"}, "session.tool_choice", "invalid_value", "'required'"),
    ({**RT, "tool_choice": {"type": "function"}}, "session.tool_choice.name",
     "missing_required_parameter", "add 'name'"),
    ({**RT, "tool_choice": {"name": "f"}}, "session.tool_choice", "invalid_type",
     "{'type': 'function', 'name': ...}"),
    ({**RT, "parallel_tool_calls": 1}, "session.parallel_tool_calls", "invalid_type",
     "true or false"),
    ({**RT, "reasoning": {"effort": "max"}}, "session.reasoning.effort", "invalid_value",
     "'xhigh'"),
    ({**RT, "truncation": "on"}, "session.truncation", "invalid_value", "'disabled'"),
    ({**RT, "truncation": {"type": "retention_ratio", "retention_ratio": 2}},
     "session.truncation.retention_ratio", "invalid_value", "from 0.0 to 1.0"),
    ({**RT, "truncation": {"type": "retention_ratio"}}, "session.truncation.retention_ratio",
     "missing_required_parameter", "retention_ratio"),
    ({**RT, "tracing": "on"}, "session.tracing", "invalid_value", "'auto'"),
    ({**RT, "tracing": {"workflow": "w"}}, "session.tracing.workflow", "unknown_parameter",
     "workflow_name"),
    ({**RT, "prompt": {"version": "1"}}, "session.prompt.id", "missing_required_parameter",
     "add 'id'"),
    ({**RT, "include": ["logprobs"]}, "session.include[0]", "invalid_value",
     "item.input_audio_transcription.logprobs"),
    ({"type": "transcription", "instructions": "x"}, "session.instructions",
     "unknown_parameter", "remove it"),
    ({"type": "transcription", "audio": {"output": {}}}, "session.audio.output",
     "unknown_parameter", "remove it"),
]


@pytest.mark.parametrize(("fields", "param", "code", "text"), BAD)
def test_invalid_sessions_name_the_field_and_fix(
    fields: Any, param: str, code: str, text: str
) -> None:
    with pytest.raises(ValidationError) as info:
        validate_session(fields, partial=True)
    err = info.value
    assert err.param == param
    assert err.field == param
    assert err.code == code
    assert text in str(err)
    assert str(err).startswith(f"{param}: ")
    assert ". Fix: " in str(err)
    assert err.fix


def test_long_values_are_not_echoed_in_full() -> None:
    with pytest.raises(ValidationError) as info:
        validate_session({**RT, "audio": {"output": {"voice": "v" * 5000}}}, partial=True)
    assert len(str(info.value)) < 400
    assert "v" * 50 not in str(info.value)


def test_secrets_are_never_echoed() -> None:
    secret = "sk-test-not-a-real-key"
    with pytest.raises(ValidationError) as info:
        validate_session({**RT, "tools": [{"type": "mcp", "server_label": "x", "server_url": "u",
                                           "headers": {"Authorization": [secret]}}]},
                         partial=True)
    assert secret not in str(info.value)
    assert info.value.param == "session.tools[0].headers"
    with pytest.raises(ValidationError) as info2:
        validate_session({**RT, "tools": [{"type": "mcp", "server_label": "x", "server_url": "u",
                                           "authorization": [secret]}]}, partial=True)
    assert secret not in str(info2.value)
    assert info2.value.param == "session.tools[0].authorization"


def test_custom_path_prefix() -> None:
    with pytest.raises(ValidationError) as info:
        validate_session({"type": "realtime", "x": 1}, partial=True, path="")
    assert info.value.param == "x"


def test_every_builtin_voice_passes() -> None:
    for voice in BUILTIN_VOICES:
        validate_session({**RT, "audio": {"output": {"voice": voice}}}, partial=True)


# -- merge_session --------------------------------------------------------------------------


def test_merge_is_partial_and_nested(session: dict[str, Any]) -> None:
    before = copy.deepcopy(session)
    merged = merge_session(
        session,
        {"type": "realtime", "instructions": "Be brief.", "audio": {"output": {"speed": 1.3}}},
        audio_started=False,
    )
    assert merged["instructions"] == "Be brief."
    assert merged["audio"]["output"] == {**session["audio"]["output"], "speed": 1.3}
    assert merged["audio"]["input"] == session["audio"]["input"]
    assert merged["tools"] == []
    assert session == before  # current untouched


def test_lists_are_replaced(session: dict[str, Any]) -> None:
    tool = {"type": "function", "name": "a", "parameters": {"type": "object"}}
    one = merge_session(session, {"type": "realtime", "tools": [tool]}, audio_started=False)
    two = merge_session(
        one, {"type": "realtime", "tools": [{**tool, "name": "b"}]}, audio_started=False
    )
    assert [t["name"] for t in two["tools"]] == ["b"]
    cleared = merge_session(two, {"type": "realtime", "tools": []}, audio_started=False)
    assert cleared["tools"] == []


def test_null_clears_turn_detection(session: dict[str, Any]) -> None:
    merged = merge_session(
        session, {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
        audio_started=True,
    )
    assert merged["audio"]["input"]["turn_detection"] is None
    back = merge_session(
        merged, {"type": "realtime", "audio": {"input": {"turn_detection": {
            "type": "server_vad", "threshold": 0.8}}}}, audio_started=True,
    )
    assert back["audio"]["input"]["turn_detection"] == {
        **default_turn_detection("server_vad"), "threshold": 0.8,
    }


def test_turn_detection_same_type_merges_other_type_replaces(session: dict[str, Any]) -> None:
    same = merge_session(
        session, {"type": "realtime", "audio": {"input": {"turn_detection": {
            "type": "server_vad", "silence_duration_ms": 700}}}}, audio_started=False,
    )
    td = same["audio"]["input"]["turn_detection"]
    assert td["silence_duration_ms"] == 700
    assert td["threshold"] == 0.5
    other = merge_session(
        same, {"type": "realtime", "audio": {"input": {"turn_detection": {
            "type": "semantic_vad", "eagerness": "low"}}}}, audio_started=False,
    )
    assert other["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad", "eagerness": "low",
        "create_response": True, "interrupt_response": True,
    }


def test_format_change_drops_rate(session: dict[str, Any]) -> None:
    merged = merge_session(
        session, {"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcmu"}}}},
        audio_started=False,
    )
    assert merged["audio"]["output"]["format"] == {"type": "audio/pcmu"}


def test_update_objects_are_copied(session: dict[str, Any]) -> None:
    tool = {"type": "function", "name": "a"}
    update: dict[str, Any] = {"type": "realtime", "tools": [tool]}
    merged = merge_session(session, update, audio_started=False)
    tool["name"] = "changed"
    assert merged["tools"][0]["name"] == "a"


def test_model_cannot_change(session: dict[str, Any]) -> None:
    merge_session(session, {"type": "realtime", "model": "gpt-realtime-2.1"}, audio_started=True)
    with pytest.raises(ValidationError) as info:
        merge_session(session, {"type": "realtime", "model": "gpt-realtime-2"},
                      audio_started=False)
    assert (info.value.code, info.value.param) == ("invalid_value", "session.model")
    assert "leave 'model' out" in info.value.fix


def test_type_cannot_change(session: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        merge_session(session, {"type": "transcription"}, audio_started=False)
    assert info.value.param == "session.type"


def test_voice_locked_after_audio(session: dict[str, Any]) -> None:
    update = {"type": "realtime", "audio": {"output": {"voice": "marin"}}}
    assert merge_session(session, update, audio_started=False)["audio"]["output"]["voice"] == (
        "marin"
    )
    with pytest.raises(ValidationError) as info:
        merge_session(session, update, audio_started=True)
    err = info.value
    assert (err.code, err.param) == ("invalid_value", "session.audio.output.voice")
    assert "Cannot update a conversation's voice if assistant audio is present" in str(err)
    # Re-sending the current voice is fine.
    same = {"type": "realtime", "audio": {"output": {"voice": "alloy", "speed": 1.1}}}
    assert merge_session(session, same, audio_started=True)["audio"]["output"]["speed"] == 1.1


def test_merge_validates_the_update(session: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        merge_session(session, {"type": "realtime", "audio": {"output": {"speed": 9}}},
                      audio_started=False)
    assert info.value.param == "session.audio.output.speed"


# -- session_diff ---------------------------------------------------------------------------


def test_diff_reports_only_requested_leaves_that_differ(session: dict[str, Any]) -> None:
    requested = {
        "type": "realtime",
        "instructions": DEFAULT_INSTRUCTIONS,
        "audio": {"output": {"speed": 2.0, "voice": "alloy"}, "input": {"turn_detection": None}},
        "tools": [{"type": "function", "name": "x"}],
        "max_output_tokens": 100,
    }
    diffs = session_diff(requested, session)
    assert diffs == [
        SessionDiff("audio.output.speed", 2.0, 1.0),
        SessionDiff("audio.input.turn_detection", None, default_turn_detection()),
        SessionDiff("tools", [{"type": "function", "name": "x"}], []),
        SessionDiff("max_output_tokens", 100, "inf"),
    ]


def test_diff_missing_and_type_mismatch() -> None:
    assert session_diff({"a": {"b": 1}}, {}) == [SessionDiff("a", {"b": 1}, None)]
    assert session_diff({"a": {"b": 1}}, {"a": 3}) == [SessionDiff("a", {"b": 1}, 3)]
    assert session_diff({"a": True}, {"a": 1}) == [SessionDiff("a", True, 1)]
    assert session_diff({"a": 1}, {"a": 1.0}) == []
    assert session_diff({"a": {}}, {"a": {"x": 1}}) == []
    assert session_diff({"a": None}, {}) == [SessionDiff("a", None, None)]


# -- property: merge then diff shows no difference for the requested fields -----------------

_voice = st.sampled_from(BUILTIN_VOICES)
_turn_detection = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"type": st.just("server_vad")},
        optional={
            "threshold": st.floats(0, 1),
            "prefix_padding_ms": st.integers(0, 2000),
            "silence_duration_ms": st.integers(0, 2000),
            "idle_timeout_ms": st.one_of(st.none(), st.integers(5000, 30000)),
            "create_response": st.booleans(),
            "interrupt_response": st.booleans(),
        },
    ),
    st.fixed_dictionaries(
        {"type": st.just("semantic_vad")},
        optional={"eagerness": st.sampled_from(["low", "medium", "high", "auto"]),
                  "create_response": st.booleans()},
    ),
)
_format = st.sampled_from(
    [{"type": "audio/pcm", "rate": 24000}, {"type": "audio/pcm"}, {"type": "audio/pcmu"},
     {"type": "audio/pcma"}]
)
_update = st.fixed_dictionaries(
    {"type": st.just("realtime")},
    optional={
        "instructions": st.text(max_size=20),
        "output_modalities": st.sampled_from([["audio"], ["text"]]),
        "max_output_tokens": st.one_of(st.just("inf"), st.integers(1, 4096)),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
        "truncation": st.sampled_from(["auto", "disabled"]),
        "tracing": st.sampled_from([None, "auto"]),
        "parallel_tool_calls": st.booleans(),
        "reasoning": st.fixed_dictionaries(
            {}, optional={"effort": st.sampled_from(["low", "high"])}
        ),
        "tools": st.lists(
            st.builds(lambda n: {"type": "function", "name": n},
                      st.from_regex(r"[a-z]{1,8}", fullmatch=True)),
            max_size=3, unique_by=lambda t: t["name"],
        ),
        "audio": st.fixed_dictionaries(
            {},
            optional={
                "input": st.fixed_dictionaries(
                    {}, optional={"turn_detection": _turn_detection, "format": _format,
                                  "noise_reduction": st.sampled_from(
                                      [None, {"type": "near_field"}])},
                ),
                "output": st.fixed_dictionaries(
                    {}, optional={"voice": _voice, "speed": st.floats(0.25, 1.5),
                                  "format": _format},
                ),
            },
        ),
    },
)


@settings(max_examples=150, deadline=None)
@given(updates=st.lists(_update, min_size=1, max_size=4))
def test_merge_then_diff_is_empty(updates: list[dict[str, Any]]) -> None:
    current = default_session("gpt-realtime-2.1", IdFactory(0))
    for update in updates:
        validate_session(update, partial=True)
        current = merge_session(current, update, audio_started=False)
        assert session_diff(update, current) == []
        validate_session(current, partial=False)


# -- the session rules the editor shares (check_locks, merge_request, minimal_update, …) ----


def test_check_locks_refuses_model_and_voice_once_audio_exists(session: dict[str, Any]) -> None:
    from rtwidgets.protocol.session import check_locks

    check_locks(session, {"instructions": "x"}, audio_started=True)
    check_locks(session, {"model": session["model"]}, audio_started=True)  # unchanged: fine
    with pytest.raises(ValidationError) as info:
        check_locks(session, {"model": "other"}, audio_started=False)
    assert info.value.param == "session.model"
    assert "never changes" in str(info.value)
    voice = {"audio": {"output": {"voice": "marin"}}}
    check_locks(session, voice, audio_started=False)
    with pytest.raises(ValidationError) as info:
        check_locks(session, voice, audio_started=True)
    assert info.value.param == "session.audio.output.voice"
    assert "locked" in str(info.value)
    assert "Fix:" in str(info.value)
    check_locks({}, {"type": "realtime"}, audio_started=False)  # an unknown session: no lock


def test_merge_request_merges_like_the_server_without_defaults(session: dict[str, Any]) -> None:
    from rtwidgets.protocol.session import merge_request

    base = editable_session(session)
    merged = merge_request(base, {"audio": {"input": {"turn_detection": {
        "type": "semantic_vad"}}, "output": {"speed": 1.2}}})
    assert merged["audio"]["input"]["turn_detection"] == {"type": "semantic_vad"}
    assert merged["audio"]["output"]["voice"] == "alloy"  # container merged key by key
    assert base["audio"]["output"]["speed"] == 1.0  # base untouched
    same = merge_request(base, {"audio": {"input": {"turn_detection": {
        "type": "server_vad", "threshold": 0.9}}}})
    assert same["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 200


def test_editable_session_drops_server_only_fields(session: dict[str, Any]) -> None:
    from rtwidgets.protocol.session import SERVER_ONLY_FIELDS

    editable = editable_session(session)
    assert not set(SERVER_ONLY_FIELDS) & set(editable)
    validate_session(editable, partial=True)
    assert editable_session(None) == {}


def test_minimal_update_and_sameness() -> None:
    from rtwidgets.protocol.session import minimal_update, same_value

    assert same_value(1, 1.0)
    assert not same_value(True, 1)
    assert not same_value([True], [1])
    assert not same_value({"a": 1}, {"a": 1, "b": 2})
    base = {"audio": {"output": {"voice": "alloy", "speed": 1.0}}, "tools": []}
    assert minimal_update(base, {"audio": {"output": {"voice": "alloy", "speed": 1.2}}}) == {
        "audio": {"output": {"speed": 1.2}}}
    assert minimal_update(base, base) == {}
