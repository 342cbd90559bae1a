"""Tool-call arguments the way a model fills them: from the declared JSON schema.

Why: a real model is given each function tool's ``parameters`` schema and fills *that*; it
does not send a property the schema lacks, it picks one of an enum's values, it writes
``21`` for an integer. A scenario only says what the caller meant (``{"city": "Paris"}``),
so the scripted model must map those *hints* onto the schema the session declares, or a
handler written against the declared schema (the README's ``get_weather(city: str)``)
breaks against the emulator while it works against the real service (issue 12, item 3).

Rules (each pinned by tests/emulator/test_toolargs.py):
- Required properties are always present; optional ones only when a hint gives them (a
  model leaves out what it has nothing to say about). A property the schema does not declare
  is never added, even where ``additionalProperties`` would allow it.
- A hint is used where it validates against the property's schema; otherwise it is coerced
  sensibly (``"21"`` -> 21, ``"Celsius"`` -> the enum's ``"celsius"``, 30 -> the maximum 14),
  and where nothing fits a valid value is generated (an enum member, a bounded number, a
  string in the declared format or pattern).
- Hints are matched to properties by name, then by normalised name (case, ``_``/``-``,
  camelCase), then by meaning through a small table of concepts (``location`` gets the
  ``city``); each hint is used once. Unused hints may fill a nested object property.
- No schema, or a schema that does not describe an object: the hints pass through unchanged.
- The result validates against the schema (the validator the schema names, Draft 2020-12 by
  default, with format checking). If the schema cannot be satisfied the best effort is
  returned and a warning is logged; nothing raises.

Pure: no I/O, no clock, no global random state. Every choice draws from the ``random.Random``
passed in, so the same schema, hints and seed give the same arguments. Never: mutate the
schema or the hints; import anything from rtwidgets.
"""

from __future__ import annotations

import logging
import math
import random
import re
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import jsonschema
import referencing.exceptions
from jsonschema import FormatChecker

__all__ = ["Filled", "fill", "fill_arguments", "normalise_name"]

log = logging.getLogger("rtwidgets.emulator.toolargs")

# ---------------------------------------------------------------------------- names and meaning

#: Concepts a caller's words map to, each with the names a tool author might give it.
#: Compound names that would otherwise split the wrong way are listed whole.
_CONCEPTS: dict[str, tuple[str, ...]] = {
    "location": ("location", "city", "place", "town", "where", "address", "destination",
                 "city_name", "location_name", "place_name", "locality", "area", "region"),
    "date": ("date", "day", "when", "on", "date_str", "for_date", "target_date"),
    "time": ("time", "at", "hour", "time_of_day", "clock"),
    "count": ("days", "num_days", "n_days", "number_of_days", "count", "num", "n",
              "number", "quantity", "amount", "how_many", "limit", "forecast_days"),
    "unit": ("unit", "units", "scale", "temperature_unit", "temp_unit", "unit_system",
             "system", "measurement"),
    "query": ("query", "q", "text", "search", "search_query", "term", "search_term",
              "keywords", "keyword", "question", "input", "prompt", "topic"),
    "name": ("name", "person", "who", "full_name", "user_name", "username", "customer",
             "customer_name", "contact", "guest", "guest_name", "caller", "caller_name"),
    "email": ("email", "e_mail", "mail", "email_address"),
    "phone": ("phone", "phone_number", "telephone", "tel", "mobile", "cell"),
    "language": ("language", "lang", "locale", "language_code"),
    "country": ("country", "country_code", "nation"),
    "party_size": ("party_size", "guests", "people", "covers", "seats", "party"),
}
_CONCEPT_OF: dict[str, str] = {syn: concept for concept, syns in _CONCEPTS.items()
                               for syn in syns}

#: What a model writes for a required property it has no hint for, by concept (strings).
_CONCEPT_TEXT: dict[str, str] = {
    "location": "Paris", "date": "today", "time": "noon", "unit": "metric",
    "query": "weather", "name": "Alex", "email": "alex@example.com", "phone": "+14155550123",
    "language": "en", "country": "FR",
}
#: ...and for numbers.
_CONCEPT_NUMBER: dict[str, int] = {"count": 3, "party_size": 2}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def normalise_name(name: str) -> str:
    """``numDays``, ``num-days``, ``NUM_DAYS`` and ``num days`` all become ``num_days``."""
    spaced = _CAMEL.sub("_", name.strip())
    return re.sub(r"[\s\-_.]+", "_", spaced).strip("_").lower()


def _concept(name: str) -> str | None:
    norm = normalise_name(name)
    if norm in _CONCEPT_OF:
        return _CONCEPT_OF[norm]
    # The head of an English compound noun is its last word: ``forecast_location``.
    for token in reversed(norm.split("_")):
        if token in _CONCEPT_OF and len(token) > 2:
            return _CONCEPT_OF[token]
    return None


def _same_name(prop: str, key: str) -> bool:
    return prop == key


def _same_normalised(prop: str, key: str) -> bool:
    return normalise_name(prop) == normalise_name(key)


def _same_concept(prop: str, key: str) -> bool:
    concept = _concept(prop)
    return concept is not None and concept == _concept(key)


def _match_hints(names: list[str], hints: Mapping[str, Any],
                 objects: frozenset[str] = frozenset()) -> dict[str, str]:
    """Property name -> hint key: exact, then normalised, then same concept; each hint once.

    ``objects`` names the properties that only take an object: a scalar hint goes to them only
    by their exact name (the ``city`` hint belongs inside a ``location`` object, not on it)."""
    matched: dict[str, str] = {}
    free = list(hints)
    for same in (_same_name, _same_normalised, _same_concept):
        for prop in names:
            if prop in matched:
                continue
            for key in free:
                if same is not _same_name and prop in objects and \
                        not isinstance(hints[key], Mapping):
                    continue
                if same(prop, key):
                    matched[prop] = key
                    free.remove(key)
                    break
    return matched


# ---------------------------------------------------------------------------- regex generation


class _Unsupported(Exception):
    """A pattern construct the small generator does not handle (lookaround, backreference)."""


_DIGITS = string.digits
_WORD = string.ascii_letters + string.digits + "_"
_SPACE = " "
_PRINTABLE = string.ascii_letters + string.digits + " -_.,:/@"
_CLASS_ESCAPES = {"d": _DIGITS, "w": _WORD, "s": _SPACE}
_LITERAL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "0": "\0"}


class _RegexGen:
    """Generate a string matching a simple regular expression (a recursive descent parser).

    Handles literals, escapes (``\\d \\w \\s`` and their negations, ``\\uXXXX``), ``.``,
    classes with ranges and negation, groups (capturing, ``(?:``, named), alternation and the
    quantifiers ``? * + {n} {n,} {n,m}`` (lazy or not). Anchors produce nothing. Anything
    else raises ``_Unsupported``; callers verify the result with ``re`` regardless.
    """

    def __init__(self, pattern: str, rng: random.Random) -> None:
        self.p = pattern
        self.i = 0
        self.rng = rng

    def generate(self) -> str:
        out = self._alternation()
        if self.i != len(self.p):
            raise _Unsupported(f"unbalanced ')' at {self.i}")
        return out

    def _peek(self) -> str:
        return self.p[self.i] if self.i < len(self.p) else ""

    def _alternation(self) -> str:
        branches = [self._sequence()]
        while self._peek() == "|":
            self.i += 1
            branches.append(self._sequence())
        return self.rng.choice(branches)

    def _sequence(self) -> str:
        parts: list[str] = []
        while self.i < len(self.p) and self._peek() not in "|)":
            atom = self._atom()
            lo, hi = self._quantifier()
            reps = lo if hi == lo else self.rng.randint(lo, min(hi, lo + 3))
            parts.extend(atom() for _ in range(reps))
        return "".join(parts)

    def _quantifier(self) -> tuple[int, int]:
        c = self._peek()
        if c in ("?", "*", "+"):
            self.i += 1
            bounds = {"?": (0, 1), "*": (0, 3), "+": (1, 4)}[c]
        elif c == "{" and re.match(r"\{\d*(,\d*)?\}", self.p[self.i:]):
            m = re.match(r"\{(\d*)(,?)(\d*)\}", self.p[self.i:])
            assert m is not None
            self.i += m.end()
            lo = int(m.group(1) or 0)
            hi = lo if not m.group(2) else (int(m.group(3)) if m.group(3) else lo + 3)
            bounds = (lo, max(lo, hi))
        else:
            return 1, 1
        if self._peek() in ("?", "+"):   # lazy / possessive: same strings
            self.i += 1
        return bounds

    def _atom(self) -> Any:
        c = self._peek()
        self.i += 1
        if c in "^$":
            return lambda: ""
        if c == ".":
            return lambda: self.rng.choice(string.ascii_letters + string.digits)
        if c == "(":
            return self._group()
        if c == "[":
            chars = self._class()
            return lambda: self.rng.choice(chars)
        if c == "\\":
            chars = self._escape(in_class=False)
            return lambda: self.rng.choice(chars)
        if c in "*+?":
            raise _Unsupported("nothing to repeat")
        return lambda: c

    def _group(self) -> Any:
        if self.p.startswith("?:", self.i):
            self.i += 2
        elif self.p.startswith("?P<", self.i) or (self.p.startswith("?<", self.i)
                                                   and self.p[self.i + 2:self.i + 3] not in "=!"):
            end = self.p.find(">", self.i)
            if end < 0:
                raise _Unsupported("unterminated group name")
            self.i = end + 1
        elif self._peek() == "?":
            raise _Unsupported("lookaround or inline flag")
        start = self.i
        self._alternation()   # parse once to find the end; each repetition re-draws below
        if self._peek() != ")":
            raise _Unsupported("unterminated group")
        end = self.i
        self.i += 1
        body = self.p[start:end]
        return lambda: _RegexGen(body, self.rng).generate()

    def _escape(self, *, in_class: bool) -> str:
        c = self._peek()
        if not c:
            raise _Unsupported("trailing backslash")
        self.i += 1
        if c in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[c]
        if c in "DWS":
            excluded = _CLASS_ESCAPES[c.lower()]
            return "".join(ch for ch in _PRINTABLE if ch not in excluded)
        if c == "u":
            hexdigits = self.p[self.i:self.i + 4]
            if not re.fullmatch(r"[0-9a-fA-F]{4}", hexdigits):
                raise _Unsupported("bad \\u escape")
            self.i += 4
            return chr(int(hexdigits, 16))
        if c == "x":
            hexdigits = self.p[self.i:self.i + 2]
            if not re.fullmatch(r"[0-9a-fA-F]{2}", hexdigits):
                raise _Unsupported("bad \\x escape")
            self.i += 2
            return chr(int(hexdigits, 16))
        if c in _LITERAL_ESCAPES and not (c == "0" and self._peek().isdigit()):
            return _LITERAL_ESCAPES[c]
        if c.isalnum():   # \b \B \A \Z \1 ...: boundaries and backreferences
            raise _Unsupported(f"escape \\{c}")
        return c

    def _class(self) -> str:
        negate = self._peek() == "^"
        if negate:
            self.i += 1
        members: list[str] = []
        first = True
        while True:
            c = self._peek()
            if not c:
                raise _Unsupported("unterminated class")
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            self.i += 1
            if c == "\\":
                item = self._escape(in_class=True)
            elif c == "[" and self._peek() == ":":
                raise _Unsupported("POSIX class")
            else:
                item = c
            if (len(item) == 1 and self._peek() == "-" and self.p[self.i + 1:self.i + 2]
                    not in ("]", "")):
                self.i += 1
                hi_c = self._peek()
                self.i += 1
                hi = self._escape(in_class=True) if hi_c == "\\" else hi_c
                if len(hi) != 1 or ord(hi) < ord(item):
                    raise _Unsupported("bad range")
                span = range(ord(item), min(ord(hi), ord(item) + 400) + 1)
                members.extend(chr(o) for o in span)
            else:
                members.append(item)
        chars = "".join(members)
        if negate:
            chars = "".join(ch for ch in _PRINTABLE if ch not in chars)
        if not chars:
            raise _Unsupported("empty class")
        return chars


def _from_pattern(pattern: str, rng: random.Random) -> str | None:
    try:
        return _RegexGen(pattern, rng).generate()
    except (_Unsupported, IndexError, RecursionError):
        return None


# ---------------------------------------------------------------------------- formats


def _format_values(fmt: str, rng: random.Random, text: str) -> list[str]:
    """Valid values of a JSON Schema ``format``, best first; ``text`` flavours them.

    More than one where drafts disagree: ``time`` needs an offset since draft 7 and none in
    draft 3 (whose checker jsonschema's catch-all ``FormatChecker()`` still applies)."""
    year, month, day = 2025, rng.randint(1, 12), rng.randint(1, 28)
    hour, minute = rng.randint(8, 20), rng.choice((0, 15, 30, 45))
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower())[:30].strip("-") or "example"
    values = {
        "date": f"{year:04d}-{month:02d}-{day:02d}",
        "date-time": f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00Z",
        "time": f"{hour:02d}:{minute:02d}:00Z",
        "duration": f"P{rng.randint(1, 14)}D",
        "email": f"{slug}@example.com",
        "idn-email": f"{slug}@example.com",
        "hostname": f"{slug}.example.com",
        "idn-hostname": f"{slug}.example.com",
        "ipv4": f"192.0.2.{rng.randint(1, 254)}",
        "ipv6": f"2001:db8::{rng.randint(1, 0xFFFF):x}",
        "uri": f"https://example.com/{slug}",
        "iri": f"https://example.com/{slug}",
        "uri-reference": f"/{slug}",
        "iri-reference": f"/{slug}",
        "uri-template": "https://example.com/{id}",
        "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "json-pointer": f"/{slug}",
        "relative-json-pointer": "0",
        "regex": "^.*$",
        "color": "red",
    }
    if fmt == "time":
        return [values["time"], values["time"][:-1]]
    return [values[fmt]] if fmt in values else []


# ---------------------------------------------------------------------------- the generator

#: What validating against a (sub)schema may raise besides a verdict: a bad pattern, an
#: unresolvable ``$ref``, an unknown type, a schema nested too deep. Each means "no fit".
_SCHEMA_TROUBLE = (jsonschema.exceptions.SchemaError, jsonschema.exceptions.UnknownType,
                   referencing.exceptions.Unresolvable, RecursionError, re.error)

_MISSING: Any = object()
_MAX_DEPTH = 12
_TYPE_ORDER = ("object", "array", "string", "integer", "number", "boolean", "null")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "unknown"


def _unescape_pointer(part: str) -> str:
    from urllib.parse import unquote

    return unquote(part).replace("~1", "/").replace("~0", "~")


@dataclass
class Filled:
    """The outcome of ``fill``: the arguments, whether they validate, and what went wrong."""

    arguments: dict[str, Any]
    valid: bool
    problems: list[str] = field(default_factory=list)


class _Generator:
    def __init__(self, root: Any, rng: random.Random, validator: Any) -> None:
        self.root = root
        self.rng = rng
        self.validator = validator
        self.problems: list[str] = []

    # -- schema plumbing

    def fits(self, schema: Any, value: Any) -> bool:
        try:
            return bool(self.validator.evolve(schema=schema).is_valid(value))
        except _SCHEMA_TROUBLE:
            return False

    def deref(self, ref: str) -> Any:
        if not ref.startswith("#"):
            self.problems.append(f"$ref {ref!r} is not local; treated as any value")
            return {}
        node: Any = self.root
        frag = ref[1:]
        if frag and not frag.startswith("/"):   # "#name": a $anchor
            found = self._anchor(self.root, frag)
            if found is None:
                self.problems.append(f"$ref {ref!r} names no $anchor; treated as any value")
                return {}
            return found
        for part in frag.split("/")[1:]:
            key = _unescape_pointer(part)
            if isinstance(node, Mapping) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                self.problems.append(f"$ref {ref!r} does not resolve; treated as any value")
                return {}
        return node

    def _anchor(self, node: Any, name: str) -> Any:
        if isinstance(node, Mapping):
            if node.get("$anchor") == name:
                return node
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            return None
        for child in children:
            found = self._anchor(child, name)
            if found is not None:
                return found
        return None

    def resolve(self, schema: Any) -> Any:
        """Follow ``$ref`` (merging sibling keywords) and fold ``allOf`` into one schema."""
        for _ in range(32):
            if not isinstance(schema, Mapping):
                return schema
            if "$ref" in schema:
                target = self.deref(str(schema["$ref"]))
                siblings = {k: v for k, v in schema.items() if k != "$ref"}
                schema = self.merge(target, siblings) if siblings else target
                continue
            if "allOf" in schema and isinstance(schema["allOf"], list):
                merged: Any = {k: v for k, v in schema.items() if k != "allOf"}
                for part in schema["allOf"]:
                    merged = self.merge(merged, self.resolve(part))
                schema = merged
                continue
            return schema
        self.problems.append("$ref chain too deep; treated as any value")
        return {}

    def merge(self, a: Any, b: Any) -> Any:
        """One schema for the conjunction of two (best effort; the final check is exact)."""
        if a is False or b is False:
            return False
        if a is True or not isinstance(a, Mapping):
            return b if isinstance(b, Mapping) else {}
        if b is True or not isinstance(b, Mapping):
            return a
        out = dict(a)
        for key, vb in b.items():
            if key not in out:
                out[key] = vb
                continue
            va = out[key]
            if key == "properties" and isinstance(va, Mapping) and isinstance(vb, Mapping):
                props = dict(va)
                for name, sub in vb.items():
                    props[name] = {"allOf": [props[name], sub]} if name in props else sub
                out[key] = props
            elif key == "required" and isinstance(va, list) and isinstance(vb, list):
                out[key] = list(dict.fromkeys([*va, *vb]))
            elif key == "type":
                ta = va if isinstance(va, list) else [va]
                tb = vb if isinstance(vb, list) else [vb]
                both = [t for t in ta if t in tb or (t == "number" and "integer" in tb)]
                both = ["integer" if (t == "number" and "integer" in tb and "number" not in tb)
                        else t for t in both]
                if "integer" in ta and "number" in tb and "integer" not in both:
                    both.append("integer")
                out[key] = both or va
            elif key == "enum" and isinstance(va, list) and isinstance(vb, list):
                out[key] = [x for x in va if x in vb] or va
            elif key in ("minimum", "exclusiveMinimum", "minLength", "minItems",
                         "minProperties", "minContains") and _is_num(va) and _is_num(vb):
                out[key] = max(va, vb)
            elif key in ("maximum", "exclusiveMaximum", "maxLength", "maxItems",
                         "maxProperties", "maxContains") and _is_num(va) and _is_num(vb):
                out[key] = min(va, vb)
            elif key == "additionalProperties" and (va is False or vb is False):
                out[key] = False
            elif key == "allOf" and isinstance(va, list) and isinstance(vb, list):
                out[key] = [*va, *vb]
        return out

    # -- values

    def value(self, schema: Any, hint: Any, depth: int, name: str = "") -> Any:
        schema = self.resolve(schema)
        if schema is False:
            self.problems.append(f"{name or '(root)'}: the schema is false; nothing can match")
            return None
        if schema is True or not isinstance(schema, Mapping):
            return None if hint is _MISSING else hint
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.enum(schema, hint)
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self.branches(schema, key, hint, depth, name)
        types = self.types(schema)
        if hint is not _MISSING and _json_type(hint) not in ("object", "array") and \
                self.fits(schema, hint):
            if isinstance(hint, float) and hint.is_integer() and "number" not in types:
                return int(hint)   # 21.0 where an integer is declared: a model writes 21
            return hint
        for t in self.order(types, hint):
            got = self.typed(t, schema, hint, depth, name)
            if got is not _MISSING and self.fits(schema, got):
                return got
        # Nothing fitted: drop the hint, then accept the first attempt as the best effort.
        for t in self.order(types, _MISSING):
            got = self.typed(t, schema, _MISSING, depth, name)
            if got is not _MISSING and self.fits(schema, got):
                return got
        self.problems.append(f"{name or '(root)'}: no value satisfies the schema")
        got = self.typed(self.order(types, hint)[0], schema, hint, depth, name)
        return None if got is _MISSING else got

    def types(self, schema: Mapping[str, Any]) -> list[str]:
        t = schema.get("type")
        if isinstance(t, str):
            return [t]
        if isinstance(t, list) and t:
            return [x for x in t if isinstance(x, str)]
        if any(k in schema for k in ("properties", "required", "additionalProperties",
                                     "patternProperties", "minProperties")):
            return ["object"]
        if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems")):
            return ["array"]
        if any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
            return ["string"]
        if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum",
                                     "exclusiveMaximum", "multipleOf")):
            return ["number"]
        return ["string"]

    def order(self, types: list[str], hint: Any) -> list[str]:
        """Types to try: the hint's own first, then the listed order, ``null`` last."""
        ranked = sorted(types, key=lambda t: (t == "null", _TYPE_ORDER.index(t)
                                              if t in _TYPE_ORDER else 99))
        if hint is _MISSING:
            return ranked or ["string"]
        own = _json_type(hint)
        first = [t for t in ranked if t == own or (own == "integer" and t == "number")]
        return [*first, *[t for t in ranked if t not in first]] or ["string"]

    def typed(self, t: str, schema: Mapping[str, Any], hint: Any, depth: int,
              name: str) -> Any:
        if t == "object":
            return self.object(schema, hint, depth, name)
        if t == "array":
            return self.array(schema, hint, depth, name)
        if t == "string":
            return self.string(schema, hint, name)
        if t in ("integer", "number"):
            return self.number(schema, hint, name, integer=t == "integer")
        if t == "boolean":
            return self.boolean(schema, hint)
        if t == "null":
            return None
        return _MISSING

    def preset(self, schema: Mapping[str, Any]) -> Any:
        """The schema's own ``default`` or first valid ``examples`` entry, if any fits."""
        if "default" in schema and self.fits(schema, schema["default"]):
            return schema["default"]
        for example in schema.get("examples") or ():
            if self.fits(schema, example):
                return example
        return _MISSING

    def enum(self, schema: Mapping[str, Any], hint: Any) -> Any:
        options = [o for o in schema["enum"] if self.fits(schema, o)] or list(schema["enum"])
        if hint is not _MISSING:
            if hint in options and any(type(o) is type(hint) for o in options if o == hint):
                return hint
            text = _as_text(hint)
            if text is not None:
                key = normalise_name(text)
                same = [o for o in options if isinstance(o, str) and normalise_name(o) == key]
                if not same and key:
                    same = [o for o in options if isinstance(o, str) and normalise_name(o)
                            and (normalise_name(o).startswith(key)
                                 or key.startswith(normalise_name(o)))]
                    same = same if len(same) == 1 else []
                if not same:
                    num = _as_number(hint)
                    same = [o for o in options if num is not None and _is_num(o) and o == num]
                if same:
                    return same[0]
        preset = self.preset(schema)
        if preset is not _MISSING:
            return preset
        return self.rng.choice(options)

    def branches(self, schema: Mapping[str, Any], key: str, hint: Any, depth: int,
                 name: str) -> Any:
        if hint is not _MISSING and _json_type(hint) not in ("object", "array") and \
                self.fits(schema, hint):
            return hint
        base = {k: v for k, v in schema.items() if k != key}
        options = list(schema[key])
        if hint is not _MISSING:   # branches the hint already satisfies go first
            options.sort(key=lambda b: not self.fits(b, hint))
        if hint is not _MISSING and _json_type(hint) not in ("object", "array"):
            for branch in options:
                coerced = self.coerce(self.merge(base, self.resolve(branch)), hint)
                if coerced is not _MISSING and self.fits(schema, coerced):
                    return coerced
        attempt: Any = None
        for h in (hint, _MISSING) if hint is not _MISSING else (_MISSING,):
            for branch in options:
                attempt = self.value(self.merge(base, self.resolve(branch)), h, depth, name)
                if self.fits(schema, attempt):
                    return attempt
        self.problems.append(f"{name or '(root)'}: no branch of {key} could be satisfied")
        return attempt

    def coerce(self, schema: Any, hint: Any) -> Any:
        """The scalar ``hint`` converted to a type of ``schema`` without inventing a value."""
        schema = self.resolve(schema)
        if not isinstance(schema, Mapping):
            return hint
        options = schema.get("enum")
        if isinstance(options, list) and options:
            picked = self.enum(schema, hint)
            text = _as_text(hint)
            same = picked == hint or (isinstance(picked, str) and text is not None and
                                      normalise_name(picked) == normalise_name(text))
            return picked if same else _MISSING
        for t in self.order(self.types(schema), hint):
            got: Any = _MISSING
            if t == "string":
                text = _as_text(hint)
                got = _MISSING if text is None else text
            elif t in ("integer", "number"):
                num = _as_number(hint)
                if num is not None and (t == "number" or num.is_integer()):
                    got = int(num) if num.is_integer() else num
            elif t == "boolean":
                flag = _as_bool(hint)
                got = _MISSING if flag is None else flag
            elif t == "null" and hint is None:
                got = None
            if got is not _MISSING and self.fits(schema, got):
                return got
        return _MISSING

    def object(self, schema: Mapping[str, Any], hint: Any, depth: int,
               name: str) -> Any:
        hints: Mapping[str, Any] = hint if isinstance(hint, Mapping) else {}
        value, _ = self.fill_object(schema, hints, depth, name)
        return value

    def fill_object(self, schema: Mapping[str, Any], hints: Mapping[str, Any], depth: int,
                    name: str) -> tuple[dict[str, Any], set[str]]:
        """The object, and the hint keys it used (so a parent can pass on the rest)."""
        props: Mapping[str, Any] = schema.get("properties") or {}
        if not isinstance(props, Mapping):
            props = {}
        required = [r for r in schema.get("required") or () if isinstance(r, str)]
        for key in ("dependentRequired", "dependencies"):
            deps = schema.get(key)
            if isinstance(deps, Mapping):
                changed = True
                while changed:
                    changed = False
                    for trigger, needs in deps.items():
                        if trigger in required and isinstance(needs, list):
                            for n in needs:
                                if isinstance(n, str) and n not in required:
                                    required.append(n)
                                    changed = True
        names = [*props, *[r for r in required if r not in props]]
        objects = frozenset(p for p in names if self.object_only(self.prop_schema(schema, p)))
        matched = _match_hints(names, hints, objects)
        used = set(matched.values())
        out: dict[str, Any] = {}
        path = f"{name}." if name else ""
        deep = depth >= _MAX_DEPTH
        for prop in names:
            sub = self.prop_schema(schema, prop)
            if prop in matched:
                out[prop] = self.value(sub, hints[matched[prop]], depth + 1, path + prop)
        # Unused hints may belong inside a nested object ("location": {"city": ...}).
        for prop in names:
            if prop in out or prop not in objects:
                continue
            sub = self.resolve(self.prop_schema(schema, prop))
            leftover = {k: v for k, v in hints.items() if k not in used}
            if leftover and not deep and isinstance(sub, Mapping):
                inner, inner_used = self.fill_object(sub, leftover, depth + 1, path + prop)
                if inner_used:
                    out[prop] = inner
                    used |= inner_used
        for prop in required:
            if prop not in out:
                out[prop] = self.fresh(self.prop_schema(schema, prop), depth + 1,
                                       path + prop, prop)
        self.size_object(schema, out, names, depth, path)
        return out, used

    def size_object(self, schema: Mapping[str, Any], out: dict[str, Any], names: list[str],
                    depth: int, path: str) -> None:
        lo = _num(schema, "minProperties")
        if lo is not None:
            for prop in names:
                if len(out) >= lo:
                    break
                if prop not in out:
                    out[prop] = self.fresh(self.prop_schema(schema, prop), depth + 1,
                                           path + prop, prop)
            extra = schema.get("additionalProperties", True)
            n = 0
            while len(out) < lo and extra is not False and n < 1000:
                key = f"extra_{n}"
                n += 1
                if key not in out and self.fits({"propertyNames": schema.get(
                        "propertyNames", True)}, {key: None}):
                    out[key] = self.fresh(self.prop_schema(schema, key), depth + 1,
                                          path + key, key)
        hi = _num(schema, "maxProperties")
        if hi is not None:
            required = set(schema.get("required") or ())
            for prop in reversed(list(out)):
                if len(out) <= hi:
                    break
                if prop not in required:
                    del out[prop]

    def object_only(self, schema: Any) -> bool:
        sub = self.resolve(schema)
        return isinstance(sub, Mapping) and self.types(sub) == ["object"] and not any(
            k in sub for k in ("anyOf", "oneOf", "enum", "const"))

    def prop_schema(self, schema: Mapping[str, Any], prop: str) -> Any:
        props = schema.get("properties")
        if isinstance(props, Mapping) and prop in props:
            return props[prop]
        patterns = schema.get("patternProperties")
        if isinstance(patterns, Mapping):
            for pattern, sub in patterns.items():
                try:
                    if re.search(pattern, prop):
                        return sub
                except re.error:
                    continue
        extra = schema.get("additionalProperties", True)
        return {} if extra is True else extra

    def fresh(self, schema: Any, depth: int, name: str, prop: str) -> Any:
        """A value for a property the caller said nothing about."""
        resolved = self.resolve(schema)
        if isinstance(resolved, Mapping):
            preset = self.preset(resolved)
            if preset is not _MISSING:
                return preset
        concept = _concept(prop)
        if concept is not None and isinstance(resolved, Mapping) and (
                "const" not in resolved and "enum" not in resolved):
            types = self.types(resolved)
            for guess in (_CONCEPT_TEXT.get(concept), _CONCEPT_NUMBER.get(concept)):
                if guess is not None and _json_type(guess) in types + (
                        ["integer"] if "number" in types else []) and self.fits(resolved, guess):
                    return guess
        return self.value(schema, _MISSING, depth, name)

    def array(self, schema: Mapping[str, Any], hint: Any, depth: int, name: str) -> Any:
        items: list[Any]
        if hint is _MISSING or hint is None:
            items = []
        elif isinstance(hint, (list, tuple)):
            items = list(hint)
        elif isinstance(hint, str) and "," in hint and not schema.get("prefixItems"):
            items = [part.strip() for part in hint.split(",") if part.strip()]
        else:
            items = [hint]
        prefix = schema.get("prefixItems")
        rest = schema.get("items", True)
        if isinstance(rest, list):   # draft 4-7 tuple form
            prefix, rest = rest, schema.get("additionalItems", True)
        prefix = prefix if isinstance(prefix, list) else []
        lo = int(schema["minItems"]) if _is_num(schema.get("minItems")) else 0
        hi = int(schema["maxItems"]) if _is_num(schema.get("maxItems")) else None
        if rest is False:
            hi = len(prefix) if hi is None else min(hi, len(prefix))
        want = len(items) if items else (lo if depth >= 4 else max(lo, 1))
        if hi is not None:
            want = min(want, hi)
        want = max(want, lo)
        out: list[Any] = []
        unique = schema.get("uniqueItems") is True
        for i in range(want):
            sub = prefix[i] if i < len(prefix) else rest
            h = items[i] if i < len(items) else _MISSING
            value = self.value(sub, h, depth + 1, f"{name}[{i}]")
            tries = 0
            while unique and value in out and tries < 20:
                tries += 1
                fresh_hint = _MISSING if tries < 3 else f"{self.word()}{self.rng.randint(2, 99)}"
                value = self.value(sub, fresh_hint, depth + 1, f"{name}[{i}]")
            out.append(value)
        contains = schema.get("contains")
        if contains is not None and not any(self.fits(contains, v) for v in out):
            extra = self.value(contains, _MISSING, depth + 1, f"{name}[contains]")
            if hi is None or len(out) < hi:
                out.append(extra)
            elif out:
                out[-1] = extra
        return out

    def string(self, schema: Mapping[str, Any], hint: Any, name: str) -> Any:
        text = _as_text(hint) if hint is not _MISSING else None
        candidates: list[str] = []
        if text is not None:
            candidates.append(text)
            candidates.append(text.strip())
        preset = self.preset(schema)
        if isinstance(preset, str) and text is None:
            return preset
        leaf = name.rsplit(".", 1)[-1].split("[")[0]
        concept = _concept(leaf) if leaf else None
        flavour = text or (_CONCEPT_TEXT.get(concept, "") if concept else "") or leaf
        fmt = schema.get("format")
        if isinstance(fmt, str):
            candidates.extend(_format_values(fmt, self.rng, flavour))
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            for _ in range(24):
                made = _from_pattern(pattern, self.rng)
                if made is None:
                    break
                if self.fits(schema, made):
                    candidates.append(made)
                    break
        candidates.append(_sized(flavour or self.word(), schema, self.rng))
        candidates.append(_sized(self.word(), schema, self.rng))
        if isinstance(pattern, str):   # a pattern the generator cannot read: guess widely
            candidates.extend(_sized(c, schema, self.rng) for c in
                              ("a", "A", "0", "a1", "A1", "example", "Example", "EXAMPLE",
                               "123", "x-1", "a_b", "2025-01-01", "alex@example.com"))
        for c in candidates:
            if self.fits(schema, c):
                return c
        return candidates[-1] if text is None else text

    def word(self) -> str:
        return self.rng.choice(("example", "sample", "alpha", "value", "demo", "test"))

    def number(self, schema: Mapping[str, Any], hint: Any, name: str, *,
               integer: bool) -> Any:
        target = _as_number(hint) if hint is not _MISSING else None
        if target is None:
            preset = self.preset(schema)
            if _is_num(preset) and (not integer or float(preset).is_integer()):
                return int(preset) if integer else preset
            leaf = name.rsplit(".", 1)[-1].split("[")[0]
            concept = _concept(leaf) if leaf else None
            guess = _CONCEPT_NUMBER.get(concept) if concept else None
            target = float(guess) if guess is not None else None
        got = _nearest_number(schema, target, self.rng, integer=integer)
        if got is None:
            self.problems.append(f"{name or '(root)'}: no number fits the bounds")
            return _MISSING
        for candidate in _number_neighbours(got, schema, integer=integer):
            if self.fits(schema, candidate):
                return candidate
        return got

    def boolean(self, schema: Mapping[str, Any], hint: Any) -> Any:
        parsed = _as_bool(hint)
        if parsed is not None:
            return parsed
        preset = self.preset(schema)
        if isinstance(preset, bool):
            return preset
        return self.rng.random() < 0.5


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def _num(schema: Mapping[str, Any], key: str) -> int | float | None:
    value = schema.get(key)
    return value if _is_num(value) else None


def _as_bool(hint: Any) -> bool | None:
    if isinstance(hint, bool):
        return hint
    if isinstance(hint, (int, float)) and hint in (0, 1):
        return bool(hint)
    if isinstance(hint, str):
        word = hint.strip().lower()
        if word in ("true", "yes", "y", "on", "1"):
            return True
        if word in ("false", "no", "n", "off", "0"):
            return False
    return None


def _as_text(hint: Any) -> str | None:
    if isinstance(hint, str):
        return hint
    if isinstance(hint, bool):
        return "true" if hint else "false"
    if _is_num(hint):
        return str(int(hint)) if isinstance(hint, float) and hint.is_integer() else str(hint)
    if isinstance(hint, (list, tuple)):
        parts = [_as_text(x) for x in hint]
        return ", ".join(p for p in parts if p) or None
    if isinstance(hint, Mapping):
        parts = [_as_text(x) for x in hint.values() if not isinstance(x, (Mapping, list))]
        return ", ".join(p for p in parts if p) or None
    return None


_NUMBER_IN_TEXT = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                 "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a": 1, "an": 1, "a couple": 2,
                 "a few": 3, "a week": 7, "week": 7, "fortnight": 14, "twelve": 12}


def _as_number(hint: Any) -> float | None:
    if isinstance(hint, bool) or hint is None:
        return None
    if _is_num(hint):
        return float(hint)
    if isinstance(hint, str):
        text = hint.strip().lower()
        if text in _NUMBER_WORDS:
            return float(_NUMBER_WORDS[text])
        m = _NUMBER_IN_TEXT.search(text.replace(",", ""))
        if m:
            try:
                value = float(m.group(0))
            except ValueError:
                return None
            return value if math.isfinite(value) else None
    return None


def _bounds(schema: Mapping[str, Any]) -> tuple[float | None, bool, float | None, bool]:
    """(low, low exclusive, high, high exclusive) from both the 2019+ and draft-4 forms."""
    lo: float | None = None
    lo_x = False
    hi: float | None = None
    hi_x = False
    if _is_num(schema.get("minimum")):
        lo = float(schema["minimum"])
        lo_x = schema.get("exclusiveMinimum") is True
    if _is_num(schema.get("exclusiveMinimum")):
        x = float(schema["exclusiveMinimum"])
        if lo is None or x >= lo:
            lo, lo_x = x, True
    if _is_num(schema.get("maximum")):
        hi = float(schema["maximum"])
        hi_x = schema.get("exclusiveMaximum") is True
    if _is_num(schema.get("exclusiveMaximum")):
        x = float(schema["exclusiveMaximum"])
        if hi is None or x <= hi:
            hi, hi_x = x, True
    return lo, lo_x, hi, hi_x


def _nearest_number(schema: Mapping[str, Any], target: float | None, rng: random.Random, *,
                    integer: bool) -> int | float | None:
    """The allowed number nearest ``target`` (a small random one when there is none)."""
    lo, lo_x, hi, hi_x = _bounds(schema)
    step = Fraction(1) if integer else None
    m = _num(schema, "multipleOf")
    if m is not None and m > 0:
        frac = Fraction(str(m)) if isinstance(m, float) else Fraction(m)
        # Integers that are multiples of p/q (lowest terms) are the multiples of p.
        step = Fraction(frac.numerator) if integer else frac
    if step is None:   # a plain number: clamp into the open or closed interval
        if target is None:
            if lo is not None and hi is not None:
                target = lo + (hi - lo) * rng.uniform(0.25, 0.75)
                target = round(target, 2) if lo < round(target, 2) < hi else target
            elif lo is not None:
                target = lo + rng.randint(1, 10)
            elif hi is not None:
                target = hi - rng.randint(1, 10)
            else:
                target = float(rng.randint(1, 10))
        if lo is not None and hi is not None and (lo > hi or (lo == hi and (lo_x or hi_x))):
            return None
        if lo is not None and (target < lo or (lo_x and target <= lo)):
            target = lo if not lo_x else (lo + min(1.0, (hi - lo) / 2) if hi is not None
                                          else lo + 1)
        if hi is not None and (target > hi or (hi_x and target >= hi)):
            target = hi if not hi_x else (hi - min(1.0, (hi - lo) / 2) if lo is not None
                                          else hi - 1)
        return int(target) if float(target).is_integer() and abs(target) < 2**53 else target
    # Multiples of ``step``: k * step with k in [k_lo, k_hi].
    k_lo: int | None = None
    k_hi: int | None = None
    if lo is not None:
        q = Fraction(lo) / step
        k_lo = math.ceil(q)
        if lo_x and k_lo == q:
            k_lo += 1
    if hi is not None:
        q = Fraction(hi) / step
        k_hi = math.floor(q)
        if hi_x and k_hi == q:
            k_hi -= 1
    if k_lo is not None and k_hi is not None and k_lo > k_hi:
        return None
    if target is None:
        if k_lo is not None and k_hi is not None:
            k = rng.randint(k_lo, min(k_hi, k_lo + 10))
        elif k_lo is not None:
            k = k_lo + rng.randint(0, 10)
        elif k_hi is not None:
            k = k_hi - rng.randint(0, 10)
        else:
            k = rng.randint(1, 10) if step <= 10 else 1
    else:
        k = round(Fraction(target) / step)
        if k_lo is not None:
            k = max(k, k_lo)
        if k_hi is not None:
            k = min(k, k_hi)
    value = k * step
    if integer or value.denominator == 1:
        return int(value)
    return float(value)


def _number_neighbours(value: int | float, schema: Mapping[str, Any], *,
                       integer: bool) -> list[int | float]:
    """``value`` and nearby multiples, for when float division rejects the first choice."""
    out: list[int | float] = [value]
    m = _num(schema, "multipleOf")
    if m is not None and m > 0 and not integer:
        out.append(float(value))
        for k in range(1, 8):
            out.extend((value + k * m, value - k * m))
        out.append(0)
    return out


def _sized(text: str, schema: Mapping[str, Any], rng: random.Random) -> str:
    lo = _num(schema, "minLength")
    hi = _num(schema, "maxLength")
    if lo is not None and len(text) < lo:
        text = text + "".join(rng.choice(string.ascii_lowercase)
                              for _ in range(int(lo) - len(text)))
    if hi is not None and len(text) > hi:
        text = text[: int(hi)]
    return text


# ---------------------------------------------------------------------------- entry points


def _is_object_schema(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return False
    t = schema.get("type")
    if t == "object" or (isinstance(t, list) and "object" in t):
        return True
    return t is None and any(k in schema for k in ("properties", "required", "$ref", "allOf"))


def fill(schema: Any, hints: Mapping[str, Any] | None, rng: random.Random) -> Filled:
    """Arguments for a tool declared with ``schema``, from the scenario's ``hints``.

    Returns the arguments, whether they validate and the problems met (an unsatisfiable
    schema, an unresolvable ``$ref``); never raises on a bad schema or bad hints.
    """
    hints = dict(hints or {})
    if not _is_object_schema(schema):
        return Filled(hints, True, [])
    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        return Filled(hints, False, [f"the schema is invalid ({exc.message}); "
                                     "the scenario's arguments are sent as written"])
    validator = cls(schema, format_checker=getattr(cls, "FORMAT_CHECKER", FormatChecker()))
    gen = _Generator(schema, rng, validator)
    first: Any = None
    for attempt in range(4):   # with the hints, then without them (fresh draws)
        try:
            got = gen.value(schema, hints if attempt == 0 else _MISSING, 0)
        except RecursionError:
            gen.problems.append("the schema nests too deeply")
            got = {}
        if not isinstance(got, dict):
            gen.problems.append("the schema does not produce an object")
            got = {}
        if attempt == 0:
            first = got
        if gen.fits(schema, got):
            if attempt:
                gen.problems.append("the scenario's arguments could not be fitted; "
                                    "generated without them")
            return Filled(got, True, _dedupe(gen.problems) if attempt else [])
    try:
        errors = sorted(validator.iter_errors(first), key=lambda e: [str(p) for p in e.path])
    except _SCHEMA_TROUBLE as exc:
        gen.problems.append(f"the schema cannot be applied ({type(exc).__name__})")
        errors = []
    where = ".".join(str(p) for p in errors[0].path) if errors else ""
    detail = f"{where or '(arguments)'}: {errors[0].message}" if errors else "unknown"
    gen.problems.append(f"no arguments satisfy the schema; best effort fails at {detail}")
    return Filled(first, False, _dedupe(gen.problems))


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def fill_arguments(schema: Any, hints: Mapping[str, Any] | None,
                   rng: random.Random) -> dict[str, Any]:
    """Arguments that validate against ``schema``, using ``hints`` where they fit.

    ``schema`` is a function tool's ``parameters``; ``hints`` the scenario's arguments. If
    the schema is missing or not an object schema the hints pass through. An unsatisfiable
    schema gives the best effort and a warning on the ``rtwidgets.emulator.toolargs`` logger.
    """
    result = fill(schema, hints, rng)
    if not result.valid:
        log.warning("tool arguments do not validate against the declared schema: %s",
                    "; ".join(result.problems))
    return result.arguments
