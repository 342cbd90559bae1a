"""Tool-call arguments filled from the declared JSON schema (emulator/_toolargs.py).

Every rule of the module docstring has a test here; the three cases of issue 12 are pinned
as written there; a hypothesis property builds random object schemas (nested properties,
enums, bounds, formats, patterns, required lists, ``additionalProperties: false``, ``$ref``,
``anyOf``/``oneOf``) and checks that the arguments always validate with jsonschema's Draft
2020-12 validator and format checker. Two integration tests run the tools scenario on the
emulator: the exact arguments, and the README's handler answering through ``@call.tool``.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from rtwidgets._call import attach
from rtwidgets.emulator import load_scenario
from rtwidgets.emulator._scenario import ToolReply
from rtwidgets.emulator._toolargs import fill, fill_arguments, normalise_name

CHECKER = Draft202012Validator.FORMAT_CHECKER


def valid(schema: dict[str, Any], value: Any) -> bool:
    return Draft202012Validator(schema, format_checker=CHECKER).is_valid(value)


def args(schema: Any, hints: dict[str, Any] | None = None, seed: int = 1) -> dict[str, Any]:
    out = fill_arguments(schema, hints or {}, random.Random(seed))
    if isinstance(schema, dict) and schema.get("type") == "object":
        assert valid(schema, out), out
    return out


def obj(properties: dict[str, Any], required: list[str] | None = None,
        **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or [], **extra}


# ---------------------------------------------------------------------------- issue 12


def test_issue_undeclared_unit_is_not_sent() -> None:
    schema = obj({"city": {"type": "string"}}, ["city"], additionalProperties=False)
    assert args(schema, {"city": "Paris", "unit": "celsius"}) == {"city": "Paris"}


def test_issue_required_enum_gets_a_member_not_the_scenario_value() -> None:
    schema = obj({"city": {"type": "string"},
                  "unit": {"type": "string", "enum": ["fahrenheit", "kelvin"]}},
                 ["city", "unit"])
    got = args(schema, {"city": "Paris", "unit": "celsius"})
    assert got["city"] == "Paris"
    assert got["unit"] in ("fahrenheit", "kelvin")
    assert set(got) == {"city", "unit"}


def test_issue_location_gets_the_city_by_meaning() -> None:
    schema = obj({"location": {"type": "string"},
                  "days": {"type": "integer", "minimum": 1, "maximum": 14}},
                 ["location", "days"], additionalProperties=False)
    got = args(schema, {"city": "Paris", "unit": "celsius"})
    assert got["location"] == "Paris"
    assert 1 <= got["days"] <= 14
    assert set(got) == {"location", "days"}


# ---------------------------------------------------------------------------- pass-through


@pytest.mark.parametrize("schema", [None, "not a schema", {"type": "string"}, {}, True,
                                    {"type": "array", "items": {"type": "string"}}])
def test_no_object_schema_passes_the_hints_through(schema: Any) -> None:
    hints = {"city": "Paris", "unit": "celsius"}
    assert fill_arguments(schema, hints, random.Random(0)) == hints


def test_an_invalid_schema_passes_the_hints_through_and_says_why() -> None:
    result = fill({"type": "object", "properties": {"a": {"type": "strnig"}}},
                  {"a": 1}, random.Random(0))
    assert result.arguments == {"a": 1}
    assert not result.valid
    assert "invalid" in result.problems[0]


def test_inputs_are_not_mutated() -> None:
    schema = obj({"loc": {"type": "object", "properties": {"city": {"type": "string"}}}},
                 ["loc"])
    hints = {"city": "Paris", "extra": [1, 2]}
    before = (copy.deepcopy(schema), copy.deepcopy(hints))
    args(schema, hints)
    assert (schema, hints) == before


# ---------------------------------------------------------------------------- properties


def test_required_properties_are_always_present() -> None:
    schema = obj({"a": {"type": "string"}, "b": {"type": "integer"},
                  "c": {"type": "boolean"}, "d": {"type": "null"},
                  "e": {"type": "array", "items": {"type": "number"}},
                  "f": obj({"g": {"type": "string"}}, ["g"])},
                 ["a", "b", "c", "d", "e", "f"])
    got = args(schema)
    assert set(got) == {"a", "b", "c", "d", "e", "f"}
    assert got["d"] is None
    assert set(got["f"]) == {"g"}


def test_optional_properties_only_when_a_hint_gives_them() -> None:
    schema = obj({"city": {"type": "string"}, "unit": {"type": "string"},
                  "country": {"type": "string"}}, ["city"])
    assert args(schema, {"city": "Oslo", "unit": "celsius"}) == {"city": "Oslo",
                                                                 "unit": "celsius"}
    assert args(schema, {"city": "Oslo"}) == {"city": "Oslo"}


@pytest.mark.parametrize("additional", [None, True, {"type": "string"}])
def test_undeclared_hints_are_not_added_even_where_allowed(additional: Any) -> None:
    schema = obj({"city": {"type": "string"}}, ["city"])
    if additional is not None:
        schema["additionalProperties"] = additional
    assert args(schema, {"city": "Paris", "mood": "sunny"}) == {"city": "Paris"}


def test_a_required_name_outside_properties_uses_additional_properties() -> None:
    schema = {"type": "object", "required": ["ticket"],
              "additionalProperties": {"type": "integer", "minimum": 100}}
    assert args(schema, {"ticket": "42"}) == {"ticket": 100}


def test_pattern_properties_give_the_schema_of_a_required_name() -> None:
    schema = {"type": "object", "required": ["x_id"],
              "patternProperties": {"^x_": {"type": "integer"}}}
    assert args(schema, {"x_id": "7"}) == {"x_id": 7}


def test_min_and_max_properties() -> None:
    schema = obj({"a": {"type": "string"}, "b": {"type": "string"}, "c": {"type": "string"}},
                 [], minProperties=2, additionalProperties=False)
    assert len(args(schema)) == 2
    capped = obj({"a": {"type": "string"}, "b": {"type": "string"}}, ["a"], maxProperties=1)
    assert args(capped, {"a": "x", "b": "y"}) == {"a": "x"}


def test_dependent_required_follows_the_trigger() -> None:
    schema = obj({"card": {"type": "string"}, "cvv": {"type": "string", "pattern": r"^\d{3}$"}},
                 ["card"], dependentRequired={"card": ["cvv"]})
    got = args(schema, {"card": "4111"})
    assert re.fullmatch(r"\d{3}", got["cvv"])


def test_default_and_examples_are_used_for_unhinted_required_values() -> None:
    schema = obj({"lang": {"type": "string", "default": "fr"},
                  "n": {"type": "integer", "examples": [0, 7], "minimum": 1}}, ["lang", "n"])
    assert args(schema) == {"lang": "fr", "n": 7}


# ---------------------------------------------------------------------------- names and meaning


@pytest.mark.parametrize(("prop", "hint_key"), [
    ("location", "city"), ("place", "city"), ("where", "town"), ("address", "location"),
    ("date", "when"), ("day", "date"), ("num_days", "days"), ("count", "days"),
    ("units", "unit"), ("scale", "unit"), ("q", "query"), ("search", "text"),
    ("person", "name"), ("full_name", "name"), ("forecast_location", "city"),
])
def test_hints_match_by_meaning(prop: str, hint_key: str) -> None:
    schema = obj({prop: {"type": "string"}}, [prop], additionalProperties=False)
    assert args(schema, {hint_key: "Paris"}) == {prop: "Paris"}


@pytest.mark.parametrize("name", ["numDays", "num-days", "NUM_DAYS", "Num Days", "num_days"])
def test_names_are_normalised(name: str) -> None:
    assert normalise_name(name) == "num_days"
    schema = obj({name: {"type": "integer"}}, [name])
    assert args(schema, {"num_days": 5}) == {name: 5}


def test_an_exact_name_wins_over_meaning_and_each_hint_is_used_once() -> None:
    schema = obj({"location": {"type": "string"}, "city": {"type": "string"}},
                 ["location", "city"])
    got = args(schema, {"city": "Paris"})
    assert got["city"] == "Paris"
    assert "location" in got   # required, generated: the one hint went to "city"


def test_unused_hints_fill_a_nested_object() -> None:
    schema = obj({"location": obj({"city": {"type": "string"},
                                   "country": {"type": "string"}}, ["city"])},
                 ["location"], additionalProperties=False)
    assert args(schema, {"city": "Paris", "country": "FR"}) == {
        "location": {"city": "Paris", "country": "FR"}}


def test_a_nested_hint_object_maps_onto_a_nested_schema() -> None:
    schema = obj({"where": obj({"town": {"type": "string"}}, ["town"],
                               additionalProperties=False)}, ["where"])
    assert args(schema, {"location": {"city": "Lyon", "zip": "69001"}}) == {
        "where": {"town": "Lyon"}}


# ---------------------------------------------------------------------------- enum and const


def test_enum_matches_case_insensitively() -> None:
    schema = obj({"unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, ["unit"])
    assert args(schema, {"unit": "Celsius"}) == {"unit": "celsius"}
    assert args(schema, {"unit": " FAHRENHEIT"}) == {"unit": "fahrenheit"}


def test_enum_matches_a_unique_prefix_and_numbers_in_text() -> None:
    schema = obj({"unit": {"enum": ["celsius", "fahrenheit"]},
                  "level": {"enum": [1, 2, 3]}}, ["unit", "level"])
    assert args(schema, {"unit": "fahr", "level": "2"}) == {"unit": "fahrenheit", "level": 2}


def test_a_value_outside_the_enum_becomes_a_member() -> None:
    schema = obj({"unit": {"type": "string", "enum": ["fahrenheit", "kelvin"]}}, ["unit"])
    picks = {args(schema, {"unit": "celsius"}, seed)["unit"] for seed in range(20)}
    assert picks <= {"fahrenheit", "kelvin"}
    assert picks   # and the choice is seeded, not fixed to the first member
    assert len(picks) == 2


def test_const_is_respected() -> None:
    schema = obj({"v": {"const": "2"}, "kind": {"const": {"a": 1}}}, ["v", "kind"])
    assert args(schema, {"v": 2}) == {"v": "2", "kind": {"a": 1}}


# ---------------------------------------------------------------------------- types


@pytest.mark.parametrize(("prop_schema", "hint", "expected"), [
    ({"type": "integer"}, "21", 21),
    ({"type": "integer"}, 21.0, 21),
    ({"type": "integer"}, "21.6", 22),
    ({"type": "integer"}, "about 3 days", 3),
    ({"type": "integer"}, "a week", 7),
    ({"type": "number"}, "3.5", 3.5),
    ({"type": "number"}, 2, 2),
    ({"type": "string"}, 21, "21"),
    ({"type": "string"}, True, "true"),
    ({"type": "string"}, ["Paris", "Lyon"], "Paris, Lyon"),
    ({"type": "boolean"}, "yes", True),
    ({"type": "boolean"}, "false", False),
    ({"type": "boolean"}, 1, True),
    ({"type": "null"}, "anything", None),
    ({"type": ["integer", "null"]}, None, None),
    ({"type": ["integer", "null"]}, "5", 5),
    ({"type": ["string", "integer"]}, 5, 5),
    ({"type": "array", "items": {"type": "string"}}, "Paris", ["Paris"]),
    ({"type": "array", "items": {"type": "string"}}, "Paris, Lyon", ["Paris", "Lyon"]),
    ({"type": "array", "items": {"type": "integer"}}, ["1", 2.0], [1, 2]),
])
def test_hints_are_coerced_to_the_declared_type(prop_schema: dict[str, Any], hint: Any,
                                                expected: Any) -> None:
    got = args(obj({"v": prop_schema}, ["v"]), {"v": hint})["v"]
    assert got == expected
    assert type(got) is type(expected)


def test_booleans_are_not_numbers() -> None:
    got = args(obj({"n": {"type": "integer"}}, ["n"]), {"n": True})["n"]
    assert isinstance(got, int)
    assert not isinstance(got, bool)


def test_arrays_respect_item_counts_and_uniqueness() -> None:
    schema = obj({"tags": {"type": "array", "items": {"type": "string", "minLength": 2},
                           "minItems": 3, "maxItems": 4, "uniqueItems": True}}, ["tags"])
    got = args(schema, {"tags": ["a"]})["tags"]
    assert 3 <= len(got) <= 4
    assert len(set(got)) == len(got)
    long = args(schema, {"tags": ["ab", "cd", "ef", "gh", "ij", "kl"]})["tags"]
    assert long == ["ab", "cd", "ef", "gh"]


def test_prefix_items_and_contains() -> None:
    schema = obj({"pair": {"type": "array", "prefixItems": [{"type": "string"},
                                                            {"type": "integer"}],
                           "items": False, "minItems": 2},
                  "nums": {"type": "array", "items": {"type": "integer"},
                           "contains": {"const": 7}}}, ["pair", "nums"])
    got = args(schema, {"pair": ["x", "4"]})
    assert got["pair"] == ["x", 4]
    assert 7 in got["nums"]


def test_nested_objects_are_filled_recursively() -> None:
    schema = obj({"booking": obj({"guest": obj({"name": {"type": "string"},
                                                "email": {"type": "string",
                                                          "format": "email"}},
                                               ["name", "email"], additionalProperties=False),
                                  "party_size": {"type": "integer", "minimum": 1}},
                                 ["guest", "party_size"], additionalProperties=False)},
                 ["booking"], additionalProperties=False)
    got = args(schema, {"booking": {"guest": {"name": "Ana"}, "party_size": "4"}})
    assert got["booking"]["guest"]["name"] == "Ana"
    assert got["booking"]["party_size"] == 4


# ---------------------------------------------------------------------------- anyOf/oneOf/$ref


def test_any_of_picks_a_branch_that_validates() -> None:
    schema = obj({"when": {"anyOf": [{"type": "string", "format": "date"},
                                     {"type": "integer", "minimum": 0}]}}, ["when"])
    assert args(schema, {"when": "2025-06-01"}) == {"when": "2025-06-01"}
    assert args(schema, {"when": "3"}) == {"when": 3}
    assert valid(schema, args(schema))


def test_one_of_gets_exactly_one_branch() -> None:
    schema = obj({"n": {"oneOf": [{"type": "integer", "multipleOf": 2},
                                  {"type": "integer", "multipleOf": 3}]}}, ["n"])
    for seed in range(10):
        got = args(schema, {"n": 6}, seed)["n"]   # 6 matches both: not allowed
        assert (got % 2 == 0) != (got % 3 == 0)


@pytest.mark.parametrize("defs", ["$defs", "definitions"])
def test_local_refs_resolve(defs: str) -> None:
    schema = {"type": "object", "properties": {"unit": {"$ref": f"#/{defs}/Unit"},
                                               "at": {"$ref": f"#/{defs}/Place"}},
              "required": ["unit", "at"],
              defs: {"Unit": {"enum": ["C", "F"]},
                     "Place": obj({"city": {"type": "string"}}, ["city"])}}
    got = args(schema, {"unit": "f", "city": "Rome"})
    assert got == {"unit": "F", "at": {"city": "Rome"}}


def test_recursive_refs_terminate() -> None:
    schema = {"type": "object", "properties": {"root": {"$ref": "#/$defs/Node"}},
              "required": ["root"],
              "$defs": {"Node": obj({"label": {"type": "string"},
                                     "children": {"type": "array",
                                                  "items": {"$ref": "#/$defs/Node"}}},
                                    ["label", "children"])}}
    got = args(schema)
    assert "label" in got["root"]


def test_all_of_merges() -> None:
    schema = obj({"n": {"allOf": [{"type": "integer", "minimum": 5},
                                  {"maximum": 7}, {"multipleOf": 3}]}}, ["n"])
    assert args(schema, {"n": 100}) == {"n": 6}


# ---------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(("prop_schema", "hint", "expected"), [
    ({"type": "integer", "minimum": 1, "maximum": 14}, 30, 14),
    ({"type": "integer", "minimum": 1, "maximum": 14}, -2, 1),
    ({"type": "integer", "exclusiveMinimum": 0}, 0, 1),
    ({"type": "integer", "exclusiveMaximum": 10}, 10, 9),
    ({"type": "integer", "multipleOf": 5}, 12, 10),
    ({"type": "integer", "multipleOf": 5, "minimum": 11}, 12, 15),
    ({"type": "integer", "multipleOf": 1.5}, 4, 3),
    ({"type": "number", "maximum": 2.5}, 3, 2.5),
    ({"type": "number", "multipleOf": 0.5}, 2.3, 2.5),
])
def test_numbers_move_to_the_nearest_allowed_value(prop_schema: dict[str, Any], hint: Any,
                                                   expected: Any) -> None:
    assert args(obj({"v": prop_schema}, ["v"]), {"v": hint})["v"] == expected


@pytest.mark.parametrize("prop_schema", [
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    {"type": "number", "exclusiveMinimum": 0.1, "maximum": 0.2, "multipleOf": 0.01},
    {"type": "number", "minimum": 0.3, "maximum": 0.9, "multipleOf": 0.1},
    {"type": "integer", "minimum": -1000, "maximum": -990},
    {"type": "integer", "minimum": 3, "maximum": 3},
])
def test_generated_numbers_stay_in_bounds(prop_schema: dict[str, Any]) -> None:
    schema = obj({"v": prop_schema}, ["v"])
    for seed in range(15):
        assert valid(schema, args(schema, {}, seed))


# ---------------------------------------------------------------------------- strings


def test_string_lengths() -> None:
    schema = obj({"code": {"type": "string", "minLength": 5, "maxLength": 6}}, ["code"])
    assert len(args(schema)["code"]) in (5, 6)
    assert args(schema, {"code": "toolongvalue"})["code"] == "toolon"
    assert len(args(schema, {"code": "ab"})["code"]) == 5


def test_a_hint_that_matches_the_pattern_is_kept() -> None:
    schema = obj({"flight": {"type": "string", "pattern": r"^[A-Z]{2}\d{2,4}$"}}, ["flight"])
    assert args(schema, {"flight": "AF1234"}) == {"flight": "AF1234"}
    made = args(schema, {"flight": "Air France"})["flight"]
    assert re.fullmatch(r"[A-Z]{2}\d{2,4}", made)


@pytest.mark.parametrize("pattern", [
    r"^\d{5}$", r"^[a-z]+(-[a-z]+)*$", r"^(red|green|blue)$", r"^\+?[0-9 ]{7,15}$",
    r"^[A-Z][a-z]{2,}\s[A-Z][a-z]+$", r"^(?:[01]\d|2[0-3]):[0-5]\d$", r"^\w+@\w+\.com$",
    r"^[^@\s]+$", r"^\u00e9t\u00e9\d?$", r"^a{2}b{0,2}c?$", r"^v\d+\.\d+\.\d+(-rc\d)?$",
    r"^(?P<x>ab)+$",
])
def test_patterns_are_generated(pattern: str) -> None:
    schema = obj({"s": {"type": "string", "pattern": pattern}}, ["s"])
    for seed in range(5):
        assert re.search(pattern, args(schema, {}, seed)["s"])


def test_an_unreadable_pattern_falls_back_to_a_verified_guess() -> None:
    schema = obj({"s": {"type": "string", "pattern": r"^(?=.*\d)[a-z0-9]{2,}$"}}, ["s"])
    assert re.search(r"^(?=.*\d)[a-z0-9]{2,}$", args(schema)["s"])


@pytest.mark.parametrize("fmt", ["date", "date-time", "time", "email", "idn-email", "uri",
                                 "uri-reference", "iri", "uuid", "ipv4", "ipv6", "hostname",
                                 "idn-hostname", "duration", "json-pointer",
                                 "relative-json-pointer", "uri-template", "regex"])
def test_formats_are_valid(fmt: str) -> None:
    schema = obj({"v": {"type": "string", "format": fmt}}, ["v"])
    for seed in range(3):
        got = args(schema, {"v": "tomorrow at noon"}, seed)
        assert valid(schema, got)
    assert CHECKER.conforms(args(schema)["v"], fmt)


def test_a_hint_in_the_format_is_kept() -> None:
    schema = obj({"date": {"type": "string", "format": "date"}}, ["date"])
    assert args(schema, {"when": "2025-12-24"}) == {"date": "2025-12-24"}


# ---------------------------------------------------------------------------- seeds and failures


def test_same_seed_same_arguments() -> None:
    schema = obj({"id": {"type": "string", "format": "uuid"},
                  "n": {"type": "integer", "minimum": 0, "maximum": 1000},
                  "code": {"type": "string", "pattern": r"^[A-Z]{4}$"}}, ["id", "n", "code"])
    assert args(schema, {}, 5) == args(schema, {}, 5)
    assert len({json.dumps(args(schema, {}, s)) for s in range(5)}) > 1


def test_an_unsatisfiable_schema_gives_a_best_effort_and_a_log_line(
        caplog: pytest.LogCaptureFixture) -> None:
    schema = obj({"n": {"type": "integer", "minimum": 5, "maximum": 1}}, ["n"])
    with caplog.at_level(logging.WARNING, logger="rtwidgets.emulator.toolargs"):
        got = fill_arguments(schema, {"n": 3}, random.Random(0))
    assert isinstance(got, dict)
    assert "n" in got
    assert any("do not validate" in r.getMessage() and "n" in r.getMessage()
               for r in caplog.records)
    result = fill(schema, {"n": 3}, random.Random(0))
    assert not result.valid
    assert result.problems


def test_a_false_property_schema_is_reported() -> None:
    result = fill(obj({"a": False}, ["a"]), {}, random.Random(0))
    assert not result.valid
    assert any("false" in p for p in result.problems)


def test_an_unresolvable_ref_is_reported_not_raised() -> None:
    result = fill(obj({"a": {"$ref": "#/$defs/Missing"}}, ["a"]), {"a": 1}, random.Random(0))
    assert isinstance(result.arguments, dict)
    assert not result.valid


# ---------------------------------------------------------------------------- property test

NAMES = st.sampled_from(["city", "location", "date", "when", "days", "num_days", "unit",
                         "query", "name", "count", "tags", "id", "email", "price", "flag",
                         "note", "code", "start", "end", "kind"])
FORMATS = ["date", "date-time", "time", "email", "uri", "uuid", "ipv4", "ipv6", "hostname",
           "duration"]
PATTERNS = [r"^[A-Z]{3}$", r"^\d{2,4}$", r"^[a-z]+(_[a-z]+)?$", r"^(yes|no)$",
            r"^[A-F0-9]{8}$", r"^\+\d{6,10}$", r"^[^\s]{3,}$"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000),
                    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
                    st.text(max_size=12), st.sampled_from(["Paris", "celsius", "3", "2025-01-01",
                                                           "yes", "21.5"]))


@st.composite
def string_schemas(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    kind = draw(st.sampled_from(["plain", "format", "pattern", "length", "enum"]))
    if kind == "format":
        schema["format"] = draw(st.sampled_from(FORMATS))
    elif kind == "pattern":
        schema["pattern"] = draw(st.sampled_from(PATTERNS))
    elif kind == "length":
        lo = draw(st.integers(0, 8))
        schema["minLength"] = lo
        schema["maxLength"] = lo + draw(st.integers(0, 8))
    elif kind == "enum":
        schema["enum"] = draw(st.lists(st.text(min_size=1, max_size=8), min_size=1,
                                       max_size=4, unique=True))
    return schema


@st.composite
def number_schemas(draw: st.DrawFn) -> dict[str, Any]:
    integer = draw(st.booleans())
    schema: dict[str, Any] = {"type": "integer" if integer else "number"}
    lo = draw(st.one_of(st.none(), st.integers(-100, 100)))
    hi = draw(st.one_of(st.none(), st.integers(-100, 100)))
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    exclusive = draw(st.booleans())
    if lo is not None:
        schema["exclusiveMinimum" if exclusive else "minimum"] = lo
    if hi is not None:
        schema["exclusiveMaximum" if exclusive else "maximum"] = hi
    if exclusive and lo is not None and hi is not None and hi - lo < 2:
        schema["exclusiveMaximum"] = lo + 2
    step = draw(st.sampled_from([None, 2, 5] if integer else [None, 0.5, 0.25, 0.1, 3]))
    if step is not None:
        schema["multipleOf"] = step
        if lo is not None and hi is not None:   # leave room for a multiple
            key = "exclusiveMaximum" if exclusive else "maximum"
            schema[key] = max(schema[key], lo + 12)
    return schema


LEAVES = st.one_of(
    string_schemas(), number_schemas(),
    st.just({"type": "boolean"}), st.just({"type": "null"}),
    st.builds(lambda v: {"const": v}, SCALARS.filter(lambda x: not isinstance(x, float))),
    st.builds(lambda vs: {"enum": vs}, st.lists(st.integers(0, 9) | st.sampled_from(
        ["a", "b", "C"]), min_size=1, max_size=4, unique=True)),
    st.builds(lambda s: {**s, "type": [s["type"], "null"]}, number_schemas()),
    st.builds(lambda a, b: {"anyOf": [a, b]}, string_schemas(), number_schemas()),
    st.builds(lambda a, b: {"oneOf": [a, b]}, number_schemas(), st.just({"type": "boolean"})),
    st.just({"$ref": "#/$defs/Unit"}),
    st.just({"$ref": "#/$defs/Place"}),
)


def object_schemas(children: st.SearchStrategy[dict[str, Any]]
                   ) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        props = draw(st.dictionaries(NAMES, children, max_size=5))
        required = draw(st.lists(st.sampled_from(sorted(props)), unique=True)) if props else []
        schema: dict[str, Any] = {"type": "object", "properties": props, "required": required}
        if draw(st.booleans()):
            schema["additionalProperties"] = False
        return schema
    return build()


def with_items(child: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        lo = draw(st.integers(0, 3))
        return {"type": "array", "items": draw(child), "minItems": lo,
                "maxItems": lo + draw(st.integers(0, 3))}
    return build()


SCHEMAS = st.recursive(LEAVES, lambda inner: st.one_of(object_schemas(inner), with_items(inner)),
                       max_leaves=12)
DEFS = {"Unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "Place": {"type": "object", "properties": {"city": {"type": "string", "minLength": 1},
                                                   "country": {"type": "string",
                                                               "pattern": "^[A-Z]{2}$"}},
                  "required": ["city"], "additionalProperties": False}}
HINT_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(NAMES, inner, max_size=3), max_leaves=6)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(root=object_schemas(SCHEMAS), hints=st.dictionaries(NAMES, HINT_VALUES, max_size=5),
       seed=st.integers(0, 2**32))
def test_arguments_always_validate(root: dict[str, Any], hints: dict[str, Any],
                                   seed: int) -> None:
    schema = {**root, "$defs": DEFS}
    Draft202012Validator.check_schema(schema)
    result = fill(schema, hints, random.Random(seed))
    assert result.valid, result.problems
    Draft202012Validator(schema, format_checker=CHECKER).validate(result.arguments)
    json.dumps(result.arguments, allow_nan=False)   # sendable as a function call's arguments
    if root.get("additionalProperties") is False:
        assert set(result.arguments) <= set(root["properties"])


# ---------------------------------------------------------------------------- on the emulator

KEY = "sk-test-not-a-real-key"


def sent_events(emu: Any, call_id: str, type_: str) -> list[dict[str, Any]]:
    return [r["event"] for r in emu.record(call_id)
            if r["direction"] == "sent" and (r.get("event") or {}).get("type") == type_]


def scenario_city() -> str:
    reply = load_scenario("tools").turns[0].reply
    assert isinstance(reply, ToolReply)
    return str(reply.arguments["city"])


@pytest.mark.emulator(scenario="tools")
async def test_the_readme_handler_answers_the_tools_scenario(emulator: Any) -> None:
    declared = {"type": "function", "name": "get_weather", "description": "Weather now.",
                "parameters": obj({"city": {"type": "string"}}, ["city"],
                                  additionalProperties=False)}
    call_id = await emulator.start_call("webrtc", session={"tools": [declared]})
    client = emulator.client(api_key=KEY)
    calls: list[str] = []
    try:
        async with await attach(call_id, client=client, capture=False) as call:
            @call.tool("get_weather")
            async def get_weather(city: str) -> dict[str, Any]:   # as in README.md
                calls.append(city)
                return {"city": city, "temperature_c": 21}

            follow = await call.wait_for(
                "response.output_audio_transcript.done",
                lambda e: e.get("transcript", "").startswith("Right now in"), timeout=30)
            errors = call.stats.handler_errors
    finally:
        await client.close()
    done = sent_events(emulator, call_id, "response.function_call_arguments.done")
    assert len(done) == 1
    assert json.loads(done[0]["arguments"]) == {"city": scenario_city()} == {"city": "Paris"}
    assert calls == ["Paris"]
    assert errors == 0   # no TypeError from an unexpected "unit"
    outputs = [r["event"]["item"] for r in emulator.record(call_id)
               if r["direction"] == "received"
               and r["event"].get("type") == "conversation.item.create"]
    assert [json.loads(o["output"]) for o in outputs] == [{"city": "Paris", "temperature_c": 21}]
    assert follow["transcript"].startswith("Right now in Paris")


@pytest.mark.emulator(scenario="tools")
async def test_the_emulator_fills_a_schema_with_other_names(emulator: Any) -> None:
    declared = {"type": "function", "name": "get_weather", "description": "Forecast.",
                "parameters": obj({"location": {"type": "string"},
                                   "days": {"type": "integer", "minimum": 1, "maximum": 14},
                                   "unit": {"type": "string", "enum": ["fahrenheit", "kelvin"]}},
                                  ["location", "days", "unit"], additionalProperties=False)}
    call_id = await emulator.start_call("webrtc", session={"tools": [declared]})
    client = emulator.client(api_key=KEY)
    try:
        async with await attach(call_id, client=client, capture=False) as call:
            done = await call.wait_for("response.function_call_arguments.done", timeout=30)
            await call.send_tool_output(done["call_id"], {"temperature": 70,
                                                          "conditions": "clear"})
            follow = await call.wait_for(
                "response.output_audio_transcript.done",
                lambda e: e.get("transcript", "").startswith("Right now in"), timeout=30)
    finally:
        await client.close()
    got = json.loads(done["arguments"])
    assert got["location"] == "Paris"
    assert 1 <= got["days"] <= 14
    assert got["unit"] in ("fahrenheit", "kelvin")
    assert valid(declared["parameters"], got)
    # The scripted follow-up still fills {city} from what the caller asked for.
    assert follow["transcript"] == "Right now in Paris it is 70 degrees and clear."
