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
