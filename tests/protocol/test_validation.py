"""The declarative session types and the one pydantic → ValidationError translator."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import Required, TypedDict

from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.validation import (
    KEYS,
    RESPONSE_ADAPTER,
    SESSION_ADAPTERS,
    Schema,
    from_sdk,
    rule,
    validate_with,
)

RT = SESSION_ADAPTERS["realtime"]


def check(value: Any, adapter: TypeAdapter[Any] = RT, kind: str = "realtime") -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validate_with(adapter, value, "session", KEYS[kind])
    return info.value


def test_union_tags_never_appear_in_the_field() -> None:
    err = check({"type": "realtime", "tools": [{"type": "mcp", "server_label": 3}]})
    assert err.field == "session.tools[0].server_label"  # not …[0].mcp.server_label
    err = check({"type": "realtime", "audio": {"output": {"voice": {"id": 5}}}})
    assert err.field == "session.audio.output.voice.id"


def test_every_error_names_a_fix_and_the_server_code() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"type": "realtime", "tool_choice": 5}, "invalid_type"),
        ({"type": "realtime", "truncation": []}, "invalid_type"),
        ({"type": "realtime", "tools": [{"type": "function", "name": "f",
                                         "description": 1}]}, "invalid_type"),
        ({"type": "realtime", "audio": {"input": {"noise_reduction": {"strength": 2}}}},
         "invalid_value"),
        ({"type": "realtime", "bogus": 1}, "unknown_parameter"),
    ]
    for value, code in cases:
        err = check(value)
        assert err.code == code, value
        assert err.fix, value
        assert ". Fix: " in str(err)


def test_ranges_quote_both_ends_and_the_declared_kind() -> None:
    err = check({"type": "realtime", "audio": {"input": {"noise_reduction": {"strength": 2}}}})
    assert "use a number from 0.0 to 1.0" in str(err)
    err = check({"type": "realtime", "truncation": {
        "type": "retention_ratio", "retention_ratio": 0.5,
        "token_limits": {"post_instructions": -1}}})
    assert "use an integer of at least 0" in str(err)


def test_a_cached_good_schema_does_not_let_a_bad_one_through() -> None:
    good = {"type": "object", "properties": {"a": {"type": "string"}}}
    bad = {"type": "object", "properties": {"a": {"type": 5}}}
    tool = {"type": "function", "name": "f"}
    validate_with(RT, {"type": "realtime", "tools": [{**tool, "parameters": good}]}, "session")
    validate_with(RT, {"type": "realtime", "tools": [{**tool, "parameters": good}]}, "session")
    err = check({"type": "realtime", "tools": [{**tool, "parameters": bad}]})
    assert err.field == "session.tools[0].parameters"


def test_header_values_are_never_quoted() -> None:
    secret = "tok-very-private-value"
    err = check({"type": "realtime", "tools": [{"type": "mcp", "server_label": "x",
                                                "server_url": "u", "headers": {"A": [secret]}}]})
    assert secret not in str(err)


def test_response_overrides_share_the_session_pieces() -> None:
    err = check({"audio": {"output": {"voice": "alloyy"}}}, RESPONSE_ADAPTER, "response")
    assert err.field == "session.audio.output.voice"
    assert "did you mean 'alloy'" in str(err)
    err = check({"temperature": 1}, RESPONSE_ADAPTER, "response")
    assert err.code == "unknown_parameter"


def _pair(value: dict[str, Any]) -> dict[str, Any]:
    if value.get("low", 0) > value.get("high", 0):
        raise rule("is above high", "make low <= high", at="low")
    return value


@with_config(ConfigDict(extra="forbid", strict=True))
class _Spec(TypedDict, total=False):
    kind: Required[int]
    low: Annotated[int, Field(ge=0, le=9)]
    high: int
    items: Annotated[list[str], Field(min_length=1)]


def test_a_schema_has_its_own_fixes_ranges_and_keys() -> None:
    schema = Schema(Annotated[_Spec, AfterValidator(_pair)], fixes={"kind": "pass kind=1"})

    def fail(value: Any) -> ValidationError:
        with pytest.raises(ValidationError) as info:
            schema.validate(value, "spec")
        return info.value

    assert (fail({}).field, fail({}).fix) == ("spec.kind", "pass kind=1")  # its own fix
    err = fail({"kind": 1, "low": 12})
    assert (err.field, err.fix) == ("spec.low", "use an integer from 0 to 9")  # both ends
    err = fail({"kind": 1, "hihg": 2})
    assert err.field == "spec.hihg"
    assert "did you mean 'high'" in err.problem
    err = fail({"kind": 1, "items": []})
    assert (err.field, err.fix) == ("spec.items", "pass at least 1 entry")
    err = fail({"kind": 1, "low": 5, "high": 2})  # a rule that names a sub-field
    assert (err.field, err.problem, err.fix) == ("spec.low", "is above high", "make low <= high")
    assert schema.validate({"kind": 1, "low": 1, "high": 2}) == {"kind": 1, "low": 1, "high": 2}


# -- from_sdk: the SDK's param TypedDicts as strict models ------------------------------------


def test_from_sdk_checks_what_a_plain_adapter_over_the_sdk_type_lets_through() -> None:
    from openai.types.live.media_session_config_param import MediaSessionConfigParam

    bad_trigger = {"model": "gpt-live-1", "triggers": [
        {"type": "decisions", "event_type": "response.done", "decisions": {"questions": []}}]}
    # The SDK's hints as they are: Iterable is checked lazily, so the bad trigger passes.
    TypeAdapter(MediaSessionConfigParam).validate_python(bad_trigger)
    # Its __required_keys__ are empty (PEP 563 strings); the rebuild still requires model.
    assert "model" not in MediaSessionConfigParam.__required_keys__
    schema = Schema(from_sdk(MediaSessionConfigParam))
    with pytest.raises(ValidationError) as info:
        schema.validate(bad_trigger, "session")
    assert info.value.field == "session.triggers[0].event_type"
    with pytest.raises(ValidationError) as info:
        schema.validate({}, "session")
    assert (info.value.field, info.value.code) == ("session.model",
                                                   "missing_required_parameter")


def test_from_sdk_keeps_every_key_of_the_sdk_type() -> None:
    from typing import get_type_hints

    from openai.types.live.media_session_config_param import MediaSessionConfigParam
    from openai.types.live.session_accept_params import Session

    for sdk in (MediaSessionConfigParam, Session):
        schema = Schema(from_sdk(sdk))
        assert set(schema.keys[""]) == set(get_type_hints(sdk))


def test_from_sdk_discriminates_a_union_on_its_literal_key() -> None:
    from openai.types.live.initial_item_param import InitialItemParam

    schema = Schema(list[from_sdk(InitialItemParam)], fixes={"[].role": "use 'user'"})
    with pytest.raises(ValidationError) as info:
        schema.validate([{"role": "system", "content": [{"text": "x"}]}], "input")
    # One error about the role, not one per member of the union.
    assert (info.value.field, info.value.fix) == ("input[0].role", "use 'user'")
    assert "'system' is not supported" in info.value.problem


def test_fields_and_wrap_replace_a_key_wherever_it_occurs() -> None:
    from openai.types.live.media_session_config_param import MediaSessionConfigParam

    schema = Schema(from_sdk(
        MediaSessionConfigParam,
        fields={"vad_threshold": Annotated[float, Field(ge=0.0, le=1.0)]},
        wrap={"input": lambda t: Annotated[t, Field(max_length=1)]},
    ), unknown={"audio.format": ("is for WebSockets", "leave it out")})
    with pytest.raises(ValidationError) as info:
        schema.validate({"model": "m", "wake_policy": {"type": "speech", "vad_threshold": 2}})
    assert (info.value.field, info.value.fix) == ("wake_policy.vad_threshold",
                                                  "use a number from 0.0 to 1.0")
    item = {"role": "user", "content": [{"type": "input_text", "text": "x"}]}
    with pytest.raises(ValidationError) as info:
        schema.validate({"model": "m", "input": [item, item]})
    assert info.value.field == "input"
    with pytest.raises(ValidationError) as info:  # an unknown key with its own message
        schema.validate({"model": "m", "audio": {"format": {}}})
    assert (info.value.field, info.value.problem, info.value.fix) == (
        "audio.format", "is for WebSockets", "leave it out")


def test_a_rule_can_name_a_path_below_the_value() -> None:
    def first_is_odd(items: list[dict[str, int]]) -> list[dict[str, int]]:
        if items and items[0]["n"] % 2 == 0:
            raise rule("is even", "use an odd number", at=(0, "n"))
        return items

    schema = Schema(Annotated[list[dict[str, int]], AfterValidator(first_is_odd)])
    with pytest.raises(ValidationError) as info:
        schema.validate([{"n": 2}], "items")
    assert info.value.field == "items[0].n"
