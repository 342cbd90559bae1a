"""Client-event builders and validate_client_event: shapes, ids, every failure class."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest

from rtwidgets.protocol import builders as b
from rtwidgets.protocol.builders import validate_client_event, validate_item
from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.ids import IdFactory

AUDIO = base64.b64encode(b"\x00\x01" * 100).decode()


def _err(fn: Any, *args: Any, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        fn(*args, **kwargs)
    err = info.value
    assert str(err) == f"{err.field}: {err.problem}. Fix: {err.fix}"
    return err


# -- every builder: exact shape -------------------------------------------------------------


def test_session_update_defaults_type_realtime() -> None:
    ev = b.session_update(instructions="Be brief.", event_id="e1")
    assert ev == {"type": "session.update", "event_id": "e1",
                  "session": {"type": "realtime", "instructions": "Be brief."}}


def test_session_update_from_a_mapping() -> None:
    ev = b.session_update({"instructions": "a", "tool_choice": "none"}, instructions="b",
                          event_id="e")
    assert ev["session"] == {"type": "realtime", "instructions": "b", "tool_choice": "none"}
    ev = b.session_update({"type": "transcription"}, event_id="e")
    assert ev["session"] == {"type": "transcription"}
    err = _err(b.session_update, ["instructions"])
    assert (err.param, err.code) == ("session", "invalid_type")


def test_conversation_item_create() -> None:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    ev = b.conversation_item_create(item, "root", event_id="e")
    assert ev == {"type": "conversation.item.create", "event_id": "e", "item": item,
                  "previous_item_id": "root"}
    assert "previous_item_id" not in b.conversation_item_create(item, event_id="e")


def test_user_and_system_message() -> None:
    ev = b.user_message("Hello", item_id="item_mine", event_id="e")
    assert ev["item"] == {"type": "message", "role": "user", "id": "item_mine",
                          "content": [{"type": "input_text", "text": "Hello"}]}
    sys_ev = b.system_message("Be nice", previous_item_id="item_a", event_id="e")
    assert sys_ev["item"]["role"] == "system"
    assert sys_ev["previous_item_id"] == "item_a"
    err = _err(b.user_message, 42)
    assert (err.param, err.code) == ("item.content[0].text", "invalid_type")


def test_function_call_output_string_dict_list() -> None:
    ev = b.function_call_output("call_1", "sunny", event_id="e")
    assert ev == {"type": "conversation.item.create", "event_id": "e",
                  "item": {"type": "function_call_output", "call_id": "call_1",
                           "output": "sunny"}}
    ev = b.function_call_output("call_1", {"temp": 21, "city": "Zürich"}, event_id="e")
    assert json.loads(ev["item"]["output"]) == {"temp": 21, "city": "Zürich"}
    assert "Zürich" in ev["item"]["output"]  # not \u-escaped
    ev = b.function_call_output("call_1", [1, 2], previous_item_id="item_x", item_id="out_1")
    assert ev["item"]["output"] == "[1, 2]"
    assert ev["item"]["id"] == "out_1"
    assert ev["previous_item_id"] == "item_x"


@pytest.mark.parametrize("output", [42, 1.5, None, True, object(), ("a",)])
def test_function_call_output_refuses_other_non_strings(output: Any) -> None:
    err = _err(b.function_call_output, "call_1", output)
    assert (err.param, err.code) == ("item.output", "invalid_type")
    assert "json.dumps" in err.fix


def test_function_call_output_refuses_unserialisable() -> None:
    err = _err(b.function_call_output, "call_1", {"when": object()})
    assert (err.param, err.code) == ("item.output", "invalid_type")
    assert "JSON types" in err.fix


@pytest.mark.parametrize(("output", "where"), [
    ({"t": math.nan}, "output.t"),
    ([1, {"a": [math.inf]}], "output[1].a[0]"),
    ({"low": -math.inf}, "output.low"),
])
def test_function_call_output_refuses_nan_and_infinity(output: Any, where: str) -> None:
    # json.dumps would write NaN/Infinity, which is not JSON: the tool call must not be
    # answered with text no parser accepts.
    err = _err(b.function_call_output, "call_1", output)
    assert err.param == "item.output"
    assert "output" in str(err)
    assert where in err.problem
    assert "NaN" in err.problem
    assert "null" in err.fix


def test_function_call_output_accepts_finite_floats() -> None:
    ev = b.function_call_output("call_1", {"t": 21.5, "big": 1e300}, event_id="e")
    assert json.loads(ev["item"]["output"]) == {"t": 21.5, "big": 1e300}


@pytest.mark.parametrize(("event", "field"), [
    ({"type": "response.create", "response": {
        "prompt": {"id": "pmpt_1", "variables": {"x": math.nan}}}},
     "response.prompt.variables.x"),
    ({"type": "session.update", "session": {"type": "realtime", "tools": [
        {"type": "function", "name": "f", "parameters": {
            "type": "object", "properties": {"x": {"type": "number", "maximum": math.inf}}}}]}},
     "session.tools[0].parameters.properties.x.maximum"),
    ({"type": "session.update", "session": {"type": "realtime", "audio": {
        "output": {"speed": -math.inf}}}}, "session.audio.output.speed"),
    ({"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0,
      "audio_end_ms": math.nan}, "audio_end_ms"),
])
def test_validate_client_event_refuses_nan_anywhere(event: dict[str, Any], field: str) -> None:
    err = _err(validate_client_event, event)
    assert err.param == field
    assert "Fix:" in str(err)
    with pytest.raises(ValueError, match="JSON compliant"):
        json.dumps(event, allow_nan=False)  # the event really is not JSON


def test_validate_client_event_nan_check_reaches_text_sent_as_json() -> None:
    # Call.send accepts JSON text; Python's json.loads takes NaN, so the check must catch it.
    event = json.loads('{"type": "response.create", "response": {"metadata": {}, '
                       '"prompt": {"id": "p", "variables": {"v": NaN}}}}')
    assert _err(validate_client_event, event).param == "response.prompt.variables.v"


def test_response_create_forms() -> None:
    assert b.response_create(event_id="e") == {"type": "response.create", "event_id": "e"}
    ev = b.response_create({"instructions": "a", "conversation": "none"},
                           instructions="b", output_modalities=["text"], event_id="e")
    assert ev["response"] == {"instructions": "b", "conversation": "none",
                              "output_modalities": ["text"]}
    ev = b.response_create(input=[{"type": "item_reference", "id": "item_1"}], event_id="e")
    assert ev["response"]["input"] == [{"type": "item_reference", "id": "item_1"}]
    err = _err(b.response_create, "go")
    assert (err.param, err.code) == ("response", "invalid_type")


def test_response_cancel() -> None:
    assert b.response_cancel(event_id="e") == {"type": "response.cancel", "event_id": "e"}
    assert b.response_cancel("resp_1", event_id="e")["response_id"] == "resp_1"


def test_item_retrieve_truncate_delete() -> None:
    assert b.conversation_item_retrieve("item_1", event_id="e") == {
        "type": "conversation.item.retrieve", "event_id": "e", "item_id": "item_1"}
    assert b.conversation_item_truncate("item_1", 1500, event_id="e") == {
        "type": "conversation.item.truncate", "event_id": "e", "item_id": "item_1",
        "content_index": 0, "audio_end_ms": 1500}
    assert b.conversation_item_delete("item_1", event_id="e") == {
        "type": "conversation.item.delete", "event_id": "e", "item_id": "item_1"}
    err = _err(b.conversation_item_truncate, "item_1", -5)
    assert (err.param, err.code) == ("audio_end_ms", "invalid_value")


def test_audio_buffer_builders() -> None:
    assert b.input_audio_buffer_append(AUDIO, event_id="e") == {
        "type": "input_audio_buffer.append", "event_id": "e", "audio": AUDIO}
    for fn, t in [(b.input_audio_buffer_commit, "input_audio_buffer.commit"),
                  (b.input_audio_buffer_clear, "input_audio_buffer.clear"),
                  (b.output_audio_buffer_clear, "output_audio_buffer.clear")]:
        assert fn(event_id="e") == {"type": t, "event_id": "e"}


# -- event ids ------------------------------------------------------------------------------


def test_event_ids_generated_unique_and_shaped() -> None:
    ids = {b.response_create()["event_id"] for _ in range(50)}
    assert len(ids) == 50
    assert all(i.startswith("event_") and len(i) == 27 for i in ids)


def test_ids_factory_and_seed_make_ids_reproducible() -> None:
    a = [b.response_cancel(ids=IdFactory(9))["event_id"] for _ in range(2)]
    assert a[0] == a[1]
    b.seed_event_ids(3)
    first = [b.input_audio_buffer_commit()["event_id"] for _ in range(3)]
    b.seed_event_ids(3)
    second = [b.input_audio_buffer_commit()["event_id"] for _ in range(3)]
    b.seed_event_ids(None)
    assert first == second
    assert len(set(first)) == 3


# -- validate_client_event: event-level failures ---------------------------------------------

EVENT_BAD: list[tuple[Any, str, str, str]] = [
    ("session.update", "type", "invalid_event", "not a JSON object"),
    ({}, "type", "invalid_event", "The 'type' field is missing"),
    ({"type": 3}, "type", "invalid_type", "expected a string"),
    ({"type": "response.audio.delta"}, "type", "invalid_event", "not a client event type"),
    ({"type": "response.creat"}, "type", "invalid_event", "did you mean 'response.create'"),
    ({"type": "session.update"}, "session", "missing_required_parameter", "add 'session'"),
    ({"type": "response.create", "respons": {}}, "respons", "unknown_parameter",
     "did you mean 'response'"),
    ({"type": "response.create", "event_id": 5}, "event_id", "invalid_type", "string"),
    ({"type": "response.create", "event_id": ""}, "event_id", "invalid_value", "non-empty"),
    ({"type": "input_audio_buffer.commit", "audio": AUDIO}, "audio", "unknown_parameter",
     "remove it"),
    ({"type": "conversation.item.retrieve", "item_id": "i" * 33}, "item_id", "invalid_value",
     "at most 32"),
    ({"type": "conversation.item.truncate", "item_id": "x", "content_index": 0},
     "audio_end_ms", "missing_required_parameter", "add 'audio_end_ms'"),
    ({"type": "conversation.item.truncate", "item_id": "x", "content_index": "0",
      "audio_end_ms": 1}, "content_index", "invalid_type", "integer"),
    ({"type": "conversation.item.create", "item": {"type": "function_call_output",
      "call_id": "c", "output": "x"}, "previous_item_id": "p" * 40}, "previous_item_id",
     "invalid_value", "at most 32"),
    ({"type": "input_audio_buffer.append", "audio": "not base64!"}, "audio", "invalid_value",
     "base64"),
    ({"type": "input_audio_buffer.append", "audio": 123}, "audio", "invalid_type", "string"),
    ({"type": "response.cancel", "response_id": 7}, "response_id", "invalid_type", "string"),
    ({"type": "response.create", "response": []}, "response", "invalid_type", "expected an"),
    ({"type": "response.create", "response": {"conversation": "default"}},
     "response.conversation", "invalid_value", "'none'"),
    ({"type": "response.create", "response": {"voice": "alloy"}}, "response.voice",
     "unknown_parameter", "remove it"),
    ({"type": "response.create", "response": {"audio": {"output": {"speed": 1.0}}}},
     "response.audio.output.speed", "unknown_parameter", "remove it"),
    ({"type": "response.create", "response": {"audio": {"output": {"voice": "x"}}}},
     "response.audio.output.voice", "invalid_value", "'alloy'"),
    ({"type": "response.create", "response": {"max_output_tokens": 5000}},
     "response.max_output_tokens", "invalid_value", "4096"),
    ({"type": "response.create", "response": {"output_modalities": ["text", "audio"]}},
     "response.output_modalities", "invalid_value", "['text']"),
    ({"type": "response.create", "response": {"metadata": {"k": 5}}}, "response.metadata.k",
     "invalid_type", "string"),
    ({"type": "response.create", "response": {"metadata": {str(i): "v" for i in range(17)}}},
     "response.metadata", "invalid_value", "at most 16"),
    ({"type": "response.create", "response": {"input": [{"type": "item_reference"}]}},
     "response.input[0].id", "missing_required_parameter", "add 'id'"),
    ({"type": "response.create", "response": {"tools": [{"type": "function", "name": "f",
                                                         "parameters": []}]}},
     "response.tools[0].parameters", "invalid_type", "JSON Schema"),
    ({"type": "response.create", "response": {"tool_choice": "sometimes"}},
     "response.tool_choice", "invalid_value", "'auto'"),
    ({"type": "response.create", "response": {"reasoning": {"effort": "extreme"}}},
     "response.reasoning.effort", "invalid_value", "'high'"),
    ({"type": "response.create", "response": {"parallel_tool_calls": "yes"}},
     "response.parallel_tool_calls", "invalid_type", "true or false"),
    ({"type": "response.create", "response": {"prompt": {"id": ""}}}, "response.prompt.id",
     "invalid_value", "non-empty"),
    ({"type": "session.update", "session": {"type": "realtime", "audio": {
        "output": {"speed": 2}}}}, "session.audio.output.speed", "invalid_value", "1.5"),
]


@pytest.mark.parametrize(("event", "param", "code", "text"), EVENT_BAD)
def test_bad_events(event: Any, param: str, code: str, text: str) -> None:
    err = _err(validate_client_event, event)
    assert (err.param, err.code) == (param, code)
    assert text in str(err)


# -- items: every shape passes, every failure is named ---------------------------------------

ITEMS_GOOD: list[dict[str, Any]] = [
    {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "x"}]},
    {"type": "message", "role": "user", "id": "i" * 32, "object": "realtime.item",
     "status": "completed", "content": [
         {"type": "input_text", "text": "x"},
         {"type": "input_audio", "audio": AUDIO, "transcript": "hi"},
         {"type": "input_audio", "transcript": None},
         {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"},
     ]},
    {"type": "message", "role": "assistant", "status": "incomplete", "content": [
        {"type": "output_text", "text": "x"}, {"type": "output_audio", "transcript": "y"}]},
    {"type": "message", "role": "assistant", "content": []},
    {"type": "function_call", "name": "f", "arguments": "{}", "call_id": "call_1"},
    {"type": "function_call_output", "call_id": "call_1", "output": ""},
    {"type": "mcp_approval_response", "id": "a", "approval_request_id": "r", "approve": True,
     "reason": None},
    {"type": "mcp_list_tools", "server_label": "s", "tools": [
        {"name": "t", "input_schema": {}, "description": "d"}]},
    {"type": "mcp_call", "id": "m", "server_label": "s", "name": "t", "arguments": "{}",
     "output": "ok", "error": None},
    {"type": "mcp_approval_request", "id": "m", "server_label": "s", "name": "t",
     "arguments": "{}"},
]


@pytest.mark.parametrize("item", ITEMS_GOOD)
def test_every_item_shape_passes(item: dict[str, Any]) -> None:
    validate_item(item)
    validate_client_event(b.conversation_item_create(item))


def _msg(role: str, *parts: Any) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": list(parts)}


ITEMS_BAD: list[tuple[Any, str, str, str]] = [
    ("hello", "item", "invalid_type", "expected an item object"),
    ({"role": "user"}, "item.type", "missing_required_parameter", "'message'"),
    ({"type": "mesage"}, "item.type", "invalid_value", "did you mean 'message'"),
    ({"type": "item_reference", "id": "x"}, "item.type", "invalid_value", "'message'"),
    ({"type": "message", "content": []}, "item.role", "missing_required_parameter", "'role'"),
    ({"type": "message", "role": "user"}, "item.content", "missing_required_parameter",
     "'content'"),
    ({"type": "message", "role": "bot", "content": []}, "item.role", "invalid_value",
     "'assistant'"),
    ({"type": "message", "role": "user", "content": "hi"}, "item.content", "invalid_type",
     "array"),
    (_msg("user", "hi"), "item.content[0]", "invalid_type", "'input_text'"),
    (_msg("user", {"text": "hi"}), "item.content[0]", "missing_required_parameter", "'type'"),
    (_msg("user", {"type": "output_text", "text": "x"}), "item.content[0].type",
     "invalid_value", "belongs in the assistant's messages"),
    (_msg("assistant", {"type": "input_text", "text": "x"}), "item.content[0].type",
     "invalid_value", "'output_text', 'output_audio'"),
    (_msg("system", {"type": "input_audio"}), "item.content[0].type", "invalid_value",
     "'input_text'"),
    (_msg("user", {"type": "input_text"}), "item.content[0].text",
     "missing_required_parameter", "'text'"),
    (_msg("user", {"type": "input_text", "text": 1}), "item.content[0].text", "invalid_type",
     "string"),
    (_msg("user", {"type": "input_text", "text": "x", "audio": AUDIO}),
     "item.content[0].audio", "unknown_parameter", "remove it"),
    (_msg("user", {"type": "input_audio", "audio": "@@@@"}), "item.content[0].audio",
     "invalid_value", "base64"),
    (_msg("user", {"type": "input_image"}), "item.content[0].image_url",
     "missing_required_parameter", "data:image"),
    (_msg("user", {"type": "input_image", "image_url": "data:,", "detail": "max"}),
     "item.content[0].detail", "invalid_value", "'high'"),
    ({**_msg("user"), "id": "x" * 33}, "item.id", "invalid_value", "at most 32"),
    ({**_msg("user"), "id": ""}, "item.id", "invalid_value", "non-empty"),
    ({**_msg("user"), "status": "done"}, "item.status", "invalid_value", "'completed'"),
    ({**_msg("user"), "object": "item"}, "item.object", "invalid_value", "'realtime.item'"),
    ({**_msg("user"), "previous_item_id": "x"}, "item.previous_item_id", "unknown_parameter",
     "remove it"),
    ({"type": "function_call", "name": "f"}, "item.arguments", "missing_required_parameter",
     "'arguments'"),
    ({"type": "function_call", "name": "f", "arguments": {}}, "item.arguments",
     "invalid_type", "string"),
    ({"type": "function_call_output", "output": "x"}, "item.call_id",
     "missing_required_parameter", "'call_id'"),
    ({"type": "function_call_output", "call_id": "c", "output": {"a": 1}}, "item.output",
     "invalid_type", "json.dumps"),
    ({"type": "function_call_output", "call_id": "c", "output": "x", "result": "y"},
     "item.result", "unknown_parameter", "remove it"),
    ({"type": "mcp_approval_response", "id": "a", "approval_request_id": "r",
      "approve": "yes"}, "item.approve", "invalid_type", "true or false"),
    ({"type": "mcp_list_tools", "server_label": "s", "tools": [{"name": "t"}]},
     "item.tools[0].input_schema", "missing_required_parameter", "'input_schema'"),
    ({"type": "mcp_call", "id": "m", "server_label": "s", "name": "t", "arguments": "{}",
      "error": "boom"}, "item.error", "invalid_type", "object"),
    ({"type": "mcp_approval_request", "id": "m", "server_label": "s", "name": "t"},
     "item.arguments", "missing_required_parameter", "'arguments'"),
]


@pytest.mark.parametrize(("item", "param", "code", "text"), ITEMS_BAD)
def test_bad_items(item: Any, param: str, code: str, text: str) -> None:
    err = _err(validate_item, item)
    assert (err.param, err.code) == (param, code)
    assert text in str(err)
    # The same fault through the builder: nothing is returned, the same field is named.
    err2 = _err(b.conversation_item_create, item)
    assert err2.param == param


def test_audio_over_15_mib_is_refused() -> None:
    big = "A" * (15 * 1024 * 1024 + 4)
    err = _err(b.input_audio_buffer_append, big)
    assert (err.param, err.code) == ("audio", "invalid_value")
    assert "15 MiB" in str(err)
    assert len(str(err)) < 300
    item = _msg("user", {"type": "input_audio", "audio": big})
    assert _err(validate_item, item).param == "item.content[0].audio"
    b.input_audio_buffer_append("A" * (15 * 1024 * 1024))  # exactly at the limit: fine


def test_event_ids_in_messages_are_short() -> None:
    err = _err(validate_client_event, {"type": "x" * 500})
    assert "x" * 60 not in str(err)
