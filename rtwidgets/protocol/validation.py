"""Declarative validation: the session schema as pydantic types, and ONE error translator.

Why: the session's shape (fields, types, enums, ranges) used to be ~600 lines of hand-written
checkers. Here it is data: TypedDicts with ``Annotated`` constraints, validated by pydantic
(it comes with ``openai``) in strict mode with unknown keys forbidden, plus a few cross-field
rules pydantic cannot say (exactly one modality, a rate only with PCM, unique tool names,
a tool's ``parameters`` being a valid JSON Schema). ``translate`` turns pydantic's first
error into today's ``ValidationError(field, problem, fix)`` with the server's ``error.code``,
so every caller (builders, the emulator, the forms) still names the field and the fix.

Why not the SDK's ``openai.types.realtime`` param TypedDicts directly: checked (pydantic
``TypeAdapter`` over ``RealtimeSessionCreateRequestParam`` with ``extra="forbid"``): they
carry the shapes but no ranges (speed, threshold, idle timeout, max tokens), accept any
string as a voice, and lack fields real traffic and realtime-protocol.md §6.1 show
(transcription ``delay``/``languages``/``keywords``, MCP ``defer_loading``, effort
``xhigh``). The types below follow the SDK's names and shapes and add what the server
enforces; ``tests/protocol/test_sdk_crosscheck.py`` keeps them honest against the SDK.

Pure: no I/O. Never echoes a secret (values pass through ``short``/``mask_secrets``;
credential fields are never quoted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin, get_type_hints

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    with_config,
)
from pydantic import ValidationError as PydanticError
from pydantic_core import PydanticCustomError
from typing_extensions import NotRequired, Required, TypedDict

from .errors import ErrorCode, ValidationError, did_you_mean, short

__all__ = [
    "KEYS", "RESPONSE_ADAPTER", "SESSION_ADAPTERS", "Schema", "from_sdk", "rule", "translate",
    "type_name", "validate_with",
]

_CONFIG: Final = ConfigDict(extra="forbid", strict=True)

BUILTIN_VOICES: Final[tuple[str, ...]] = (
    "alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar",
)


def _rule(problem: str, fix: str,
          at: str | int | tuple[str | int, ...] | None = None) -> PydanticCustomError:
    """A rule's failure: the translator shows ``problem`` and ``fix`` as they are.

    ``at`` names a key (or index) below the value the rule checked, for a cross-field rule
    whose culprit is one field of an object (``turns[0]`` → ``turns[0].interrupt_after_ms``);
    a tuple names a path (``(1, "event_type")`` → ``triggers[1].event_type``).
    """
    ctx: dict[str, Any] = {"problem": problem, "fix": fix}
    if at is not None:
        ctx["at"] = at
    return PydanticCustomError("rtw_rule", "{problem}", ctx)


rule = _rule


def _whole(value: Any) -> Any:
    # JSON decoders may hand us 300.0 for 300; the server accepts it as an integer.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Int = Annotated[int, BeforeValidator(_whole)]
Num = Annotated[float, Field(allow_inf_nan=False)]
NonEmpty = Annotated[str, Field(min_length=1)]


def _voice_id(value: str) -> str:
    if not value.startswith("voice_"):
        raise _rule(f"{short(value)} is not a custom voice id",
                    "use the 'voice_…' id of a custom voice, or a built-in voice name")
    return value


_FUNCTION_NAME_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _function_name(value: str) -> str:
    if not _FUNCTION_NAME_RE.match(value):
        raise _rule(f"{short(value)} is not a valid function name",
                    "use 1 to 64 letters, digits, underscores or dashes")
    return value


def _json_schema(value: dict[str, Any]) -> dict[str, Any]:
    # check_schema walks the whole metaschema (~0.5 ms a tool) and a form re-sends the same
    # tools on every Apply: remember the verdict for the schema's canonical text.
    try:
        key = json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        key = None
    if key is not None and key in _GOOD_SCHEMAS:
        return value
    try:
        Draft202012Validator.check_schema(dict(value))
    except SchemaError as exc:
        where = ".".join(str(p) for p in exc.path)
        at = f" at {where!r}" if where else ""
        raise _rule(
            f"is not a valid JSON Schema{at}: {short(exc.message, 80)}",
            "fix the schema (it must pass jsonschema.Draft202012Validator.check_schema)",
        ) from None
    if key is not None:
        if len(_GOOD_SCHEMAS) >= 512:
            _GOOD_SCHEMAS.clear()
        _GOOD_SCHEMAS.add(key)
    return value


#: Canonical texts of tool schemas that passed check_schema (bounded).
_GOOD_SCHEMAS: set[str] = set()


def _str_map(value: Any) -> Any:
    # Header values usually hold credentials: never quoted, whatever is wrong.
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise PydanticCustomError("rtw_secret_map", "bad headers")
    return value


def _secret_str(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("rtw_secret_str", "bad secret")
    return value


# -- the session, as the server accepts it (realtime-protocol.md §6.1) ----------------------

@with_config(_CONFIG)
class VoiceId(TypedDict):
    id: Annotated[NonEmpty, AfterValidator(_voice_id)]


Voice = Union[  # noqa: UP007 (a Union of Annotated members reads best as one)
    Annotated[Literal[BUILTIN_VOICES], Tag("~name")],  # type: ignore[valid-type]
    Annotated[VoiceId, Tag("~id")],
]


def _voice_tag(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return "~id"
    if isinstance(value, str):
        return "~name"
    return None


VoiceField = Annotated[Voice, Discriminator(_voice_tag)]


@with_config(_CONFIG)
class AudioFormat(TypedDict):
    type: Required[Literal["audio/pcm", "audio/pcmu", "audio/pcma"]]
    rate: NotRequired[Int]


@with_config(_CONFIG)
class Transcription(TypedDict, total=False):
    model: NonEmpty
    language: Annotated[str, Field(max_length=16)]
    languages: list[str]
    keywords: list[str]
    prompt: str
    delay: Literal["minimal", "low", "medium", "high", "xhigh"]


@with_config(_CONFIG)
class NoiseReduction(TypedDict, total=False):
    type: Literal["near_field", "far_field"]
    strength: Annotated[Num, Field(ge=0.0, le=1.0)]


@with_config(_CONFIG)
class ServerVad(TypedDict, total=False):
    type: Required[Literal["server_vad"]]
    threshold: Annotated[Num, Field(ge=0.0, le=1.0)]
    prefix_padding_ms: Annotated[Int, Field(ge=0)]
    silence_duration_ms: Annotated[Int, Field(ge=0)]
    idle_timeout_ms: Annotated[Int, Field(ge=5000, le=30000)] | None
    create_response: bool
    interrupt_response: bool


@with_config(_CONFIG)
class SemanticVad(TypedDict, total=False):
    type: Required[Literal["semantic_vad"]]
    eagerness: Literal["low", "medium", "high", "auto"]
    create_response: bool
    interrupt_response: bool


TurnDetection = Annotated[
    Annotated[ServerVad, Tag("server_vad")] | Annotated[SemanticVad, Tag("semantic_vad")],
    Field(discriminator="type"),
]


@with_config(_CONFIG)
class AudioInput(TypedDict, total=False):
    format: AudioFormat
    transcription: Transcription | None
    noise_reduction: NoiseReduction | None
    turn_detection: TurnDetection | None


@with_config(_CONFIG)
class AudioOutput(TypedDict, total=False):
    format: AudioFormat
    voice: VoiceField
    speed: Annotated[Num, Field(ge=0.25, le=1.5)]


@with_config(_CONFIG)
class Audio(TypedDict, total=False):
    input: AudioInput
    output: AudioOutput


@with_config(_CONFIG)
class TranscriptionAudio(TypedDict, total=False):
    input: AudioInput


@with_config(_CONFIG)
class FunctionTool(TypedDict, total=False):
    type: Required[Literal["function"]]
    name: Required[Annotated[NonEmpty, AfterValidator(_function_name)]]
    description: str
    parameters: Annotated[dict[str, Any], AfterValidator(_json_schema)]


@with_config(_CONFIG)
class ToolFilter(TypedDict, total=False):
    read_only: bool
    tool_names: list[str]


@with_config(_CONFIG)
class RequireApproval(TypedDict, total=False):
    always: ToolFilter
    never: ToolFilter


_MCP_CONNECTORS: Final = (
    "connector_dropbox", "connector_gmail", "connector_googlecalendar",
    "connector_googledrive", "connector_microsoftteams", "connector_outlookcalendar",
    "connector_outlookemail", "connector_sharepoint",
)


@with_config(_CONFIG)
class McpTool(TypedDict, total=False):
    type: Required[Literal["mcp"]]
    server_label: Required[NonEmpty]
    server_url: NonEmpty
    connector_id: Literal[_MCP_CONNECTORS]  # type: ignore[valid-type]
    authorization: Annotated[Any, AfterValidator(_secret_str)]
    headers: Annotated[Any, AfterValidator(_str_map)] | None
    allowed_callers: list[Literal["direct", "programmatic"]] | None
    allowed_tools: list[str] | ToolFilter | None
    require_approval: Literal["always", "never"] | RequireApproval | None
    defer_loading: bool
    server_description: str
    tunnel_id: str


Tool = Annotated[
    Annotated[FunctionTool, Tag("function")] | Annotated[McpTool, Tag("mcp")],
    Field(discriminator="type"),
]


@with_config(_CONFIG)
class ToolChoiceFunction(TypedDict):
    type: Literal["function"]
    name: NonEmpty


@with_config(_CONFIG)
class ToolChoiceMcp(TypedDict, total=False):
    type: Required[Literal["mcp"]]
    server_label: Required[NonEmpty]
    name: str | None


def _kind_tag(value: Any) -> str | None:
    """The union member a value is meant for: its string form, or its ``type``.

    Tags of callable discriminators start with "~" so a tag in an error's location can never
    be mistaken for a key of the data (the translator skips them)."""
    if isinstance(value, str):
        return "~mode"
    if isinstance(value, Mapping):
        kind = value.get("type")
        return f"~{kind}" if isinstance(kind, str) else None
    return None


ToolChoice = Annotated[
    Annotated[Literal["auto", "none", "required"], Tag("~mode")]
    | Annotated[ToolChoiceFunction, Tag("~function")]
    | Annotated[ToolChoiceMcp, Tag("~mcp")],
    Discriminator(_kind_tag),
]


@with_config(_CONFIG)
class Reasoning(TypedDict, total=False):
    effort: Literal["minimal", "low", "medium", "high", "xhigh"] | None


@with_config(_CONFIG)
class TokenLimits(TypedDict, total=False):
    post_instructions: Annotated[Int, Field(ge=0)]


@with_config(_CONFIG)
class RetentionRatio(TypedDict, total=False):
    type: Required[Literal["retention_ratio"]]
    retention_ratio: Required[Annotated[Num, Field(ge=0.0, le=1.0)]]
    token_limits: TokenLimits


Truncation = Annotated[
    Annotated[Literal["auto", "disabled"], Tag("~mode")]
    | Annotated[RetentionRatio, Tag("~retention_ratio")],
    Discriminator(lambda v: "~mode" if isinstance(v, str) else "~retention_ratio"
                  if isinstance(v, Mapping) else None),
]


@with_config(_CONFIG)
class TracingConfig(TypedDict, total=False):
    workflow_name: str
    group_id: str
    metadata: dict[str, Any] | None


Tracing = Annotated[
    Annotated[Literal["auto"], Tag("~mode")] | Annotated[TracingConfig, Tag("~config")],
    Discriminator(lambda v: "~mode" if isinstance(v, str) else "~config"
                  if isinstance(v, Mapping) else None),
]


@with_config(_CONFIG)
class Prompt(TypedDict, total=False):
    id: Required[NonEmpty]
    version: str | None
    variables: dict[str, Any] | None


MaxOutputTokens = Annotated[
    Annotated[Literal["inf"], Tag("~inf")]
    | Annotated[Annotated[Int, Field(ge=1, le=4096)], Tag("~int")],
    Discriminator(lambda v: "~inf" if isinstance(v, str) else "~int"),
]

OutputModalities = list[Literal["audio", "text"]]


@with_config(_CONFIG)
class RealtimeSession(TypedDict, total=False):
    """A realtime ``session`` a client may send (session.update, an accept body)."""

    type: Required[Literal["realtime"]]
    audio: Audio
    include: list[Literal["item.input_audio_transcription.logprobs"]] | None
    instructions: str
    max_output_tokens: MaxOutputTokens
    model: NonEmpty
    output_modalities: OutputModalities
    parallel_tool_calls: bool
    prompt: Prompt | None
    reasoning: Reasoning
    tool_choice: ToolChoice
    tools: Annotated[list[Tool], Field(max_length=128)]
    tracing: Tracing | None
    truncation: Truncation


@with_config(_CONFIG)
class TranscriptionSession(TypedDict, total=False):
    type: Required[Literal["transcription"]]
    audio: TranscriptionAudio
    include: list[Literal["item.input_audio_transcription.logprobs"]] | None


@with_config(_CONFIG)
class ResponseAudioOutput(TypedDict, total=False):
    format: AudioFormat
    voice: VoiceField


@with_config(_CONFIG)
class ResponseAudio(TypedDict, total=False):
    output: ResponseAudioOutput


@with_config(_CONFIG)
class ResponseParams(TypedDict, total=False):
    """``response.create``'s ``response``: per-response overrides of the session."""

    audio: ResponseAudio
    conversation: Literal["auto", "none"]
    input: list[Any]  # items: checked one by one by builders.validate_item
    instructions: str
    max_output_tokens: MaxOutputTokens
    metadata: Any  # checked by builders (16 string keys of ≤ 64 characters)
    output_modalities: OutputModalities
    parallel_tool_calls: bool
    prompt: Prompt | None
    reasoning: Reasoning
    tool_choice: ToolChoice
    tools: Annotated[list[Tool], Field(max_length=128)]


RESPONSE_ADAPTER: Final[TypeAdapter[Any]] = TypeAdapter(ResponseParams)

#: session ``type`` → its adapter (built once: pydantic compiles the validator here).
SESSION_ADAPTERS: Final[dict[str, TypeAdapter[Any]]] = {
    "realtime": TypeAdapter(RealtimeSession),
    "transcription": TypeAdapter(TranscriptionSession),
}


# -- the translator ----------------------------------------------------------------------------


def type_name(value: Any) -> str:
    """``"an integer"``, ``"a string"``, ``"an object"`` … for a JSON-ish value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


_MISSING: Final = object()

#: Kind of value an error type expects → (wording, fix).
_KINDS: Final[dict[str, tuple[str, str]]] = {
    "string_type": ("a string", "pass a string"),
    "int_type": ("an integer", "use an integer"),
    "float_type": ("a number", "use a number"),
    "bool_type": ("a boolean", "pass true or false"),
    "list_type": ("an array", "pass a list"),
    "dict_type": ("an object", "pass a dict"),
    "typed_dict_type": ("an object", "pass a dict"),
}

#: Fixes that say more than the generic ones, by field path (``[]`` for any index).
_SESSION_FIXES: Final[dict[str, str]] = {
    "audio.output.voice": f"use one of {', '.join(BUILTIN_VOICES)} or {{'id': 'voice_…'}}",
    "audio.input.turn_detection": (
        "pass {'type': 'server_vad', ...}, {'type': 'semantic_vad', ...} or None"),
    "tools[]": "pass {'type': 'function', 'name': ..., 'parameters': {...}}",
    "tools[].type": "add 'type': 'function' (or 'mcp')",
    "tools[].parameters": "pass a JSON Schema dict like {'type': 'object', 'properties': {...}}",
    "tool_choice": ("use 'auto', 'none', 'required', {'type': 'function', 'name': ...} or "
                    "{'type': 'mcp', 'server_label': ..., 'name': ...}"),
    "truncation": "use 'auto', 'disabled' or {'type': 'retention_ratio', ...}",
    "tracing": "use 'auto', None or a tracing object",
    "max_output_tokens": "use an integer from 1 to 4096 or 'inf'",
    "audio.input.turn_detection.type": "add 'type': 'server_vad' or 'semantic_vad'",
    "type": "add 'type': 'realtime' to the session",
}
_SESSION_WHAT: Final[dict[str, str]] = {
    "audio.output.voice": "a voice name or {'id': 'voice_…'}",
    "audio.input.turn_detection": "an object or null",
    "tools[]": "a tool object",
    "tools[].parameters": "a JSON Schema object",
    "tool_choice": "a mode or a tool object",
    "truncation": "'auto', 'disabled' or a retention_ratio object",
    "tracing": "'auto', None or a tracing object",
}


def _pattern(rel: list[str | int]) -> str:
    out = ""
    for part in rel:
        out = out + "[]" if isinstance(part, int) else (f"{out}.{part}" if out else part)
    return out


def _range_fix(kind: str, lo: Any, hi: Any) -> str:
    if lo is not None and hi is not None:
        return f"use {kind} from {lo} to {hi}"
    if lo is not None:
        return f"use {kind} of at least {lo}"
    return f"use {kind} of at most {hi}"


def _resolve(value: Any, loc: tuple[Any, ...]) -> tuple[list[str | int], Any, Any]:
    """Walk ``value`` along a pydantic ``loc``; union tags (not keys of the data) are
    skipped. Returns (the data path, the parent container, the value there or _MISSING)."""
    rel: list[str | int] = []
    here: Any = value
    parent: Any = None
    for part in loc:
        in_list = isinstance(part, int) and isinstance(here, (list, tuple)) and part < len(here)
        if (isinstance(here, Mapping) and part in here) or in_list:
            parent, here = here, here[part]
            rel.append(part)
        elif isinstance(here, Mapping) and isinstance(part, str) and part == loc[-1]:
            rel.append(part)  # a missing or unknown key is the last one
            return rel, here, _MISSING
        # anything else is a union tag: stay where we are
    return rel, parent, here


def translate(
    err: PydanticError, value: Any, path: str, *, allowed: Mapping[str, list[str]] | None = None,
    fixes: Mapping[str, str] | None = None, what: Mapping[str, str] | None = None,
    ranges: Mapping[str, tuple[Any, Any, str]] | None = None,
    unknown: Mapping[str, tuple[str, str]] | None = None,
) -> ValidationError:
    """The ONE translation of a pydantic error to ``ValidationError(field, problem, fix)``.

    Picks the first error (in the order pydantic checks fields), names the dotted field as
    the server does (``session.tools[0].name``), and says what is wrong and how to fix it,
    with the server's ``error.code``. ``allowed`` maps a field pattern to its known keys
    (for "did you mean" on an unknown one). ``fixes``, ``what`` and ``ranges`` (by field
    pattern, ``[]`` for any index) replace the session's tables for another schema
    (``Schema`` passes its own); ``unknown`` gives an unknown key at a field pattern its own
    ``(problem, fix)`` (a field of another API or transport says where it belongs).
    """
    fix_table = _SESSION_FIXES if fixes is None else fixes
    what_table = _SESSION_WHAT if what is None else what
    range_table = _SESSION_RANGES if ranges is None else ranges
    errors = err.errors(include_url=False)
    first = errors[0]
    kind = first["type"]
    rel, _parent, here = _resolve(value, tuple(first["loc"]))
    field = path
    for part in rel:
        field = _join(field, part)
    pat = _pattern(rel)
    parent_pat = _pattern(rel[:-1])
    ctx = first.get("ctx") or {}
    shown = "" if here is _MISSING else short(here)
    code: ErrorCode = "invalid_value"
    if kind == "rtw_rule":
        at = ctx.get("at")
        for key in at if isinstance(at, (tuple, list)) else () if at is None else (at,):
            field = _join(field, key)
        return ValidationError(field, str(ctx["problem"]), str(ctx["fix"]))
    if kind in ("rtw_secret_map",):
        return ValidationError(field, "expected an object of string names to string values",
                               "pass a dict[str, str] or None", code="invalid_type")
    if kind in ("rtw_secret_str",):
        return ValidationError(field, f"expected a string, got {type_name(here)}",
                               "pass a string", code="invalid_type")
    if kind == "missing":
        leaf = rel[-1] if rel else ""
        owner = field.rpartition(".")[0] or "the object"
        fix = fix_table.get(pat) or f"add {leaf!r} to {owner}"
        return ValidationError(field, "missing required parameter", fix,
                               code="missing_required_parameter")
    if kind == "extra_forbidden":
        leaf = str(rel[-1]) if rel else ""
        if unknown and pat in unknown:
            problem, fix = unknown[pat]
            return ValidationError(field, problem, fix, code="unknown_parameter")
        keys = (allowed or {}).get(parent_pat, [])
        listed = f"; the fields allowed here are {', '.join(sorted(keys))}" if keys else ""
        return ValidationError(field, f"unknown parameter{did_you_mean(leaf, keys)}",
                               f"remove it{listed}", code="unknown_parameter")
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", ""))
        choices = re.findall(r"'([^']*)'", expected)
        hint = did_you_mean(here, choices) if isinstance(here, str) else ""
        code = "invalid_value" if isinstance(here, str) else "invalid_type"
        listed = f"one of {', '.join(repr(c) for c in choices)}" if choices else expected
        fix = (fixes or {}).get(pat) or f"use {listed}"  # a Schema's own fixes win
        return ValidationError(field, f"{shown} is not supported{hint}", fix, code=code)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        named = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tags = [t.lstrip("~") for t in named
                if t.lstrip("~") in ("function", "mcp", "server_vad", "semantic_vad")]
        tags = tags or [t for t in named if not t.startswith("~")]
        # A discriminator on a key ("'type'", "'role'") names that key; a callable one
        # (its repr is not a quoted name) means the object's "type".
        disc = re.fullmatch(r"'(\w+)'", str(ctx.get("discriminator", "")))
        tkey = disc.group(1) if disc else "type"
        if disc is not None or (kind == "union_tag_invalid" and isinstance(here, Mapping)):
            tfield = _join(field, tkey)
            tfix = fix_table.get(_pattern([*rel, tkey]))
            if not isinstance(here, Mapping) or tkey not in here:
                fix = tfix or f"add {tkey!r}: one of {', '.join(repr(t) for t in tags)}"
                return ValidationError(tfield, "missing required parameter", fix,
                                       code="missing_required_parameter")
            tvalue = here[tkey]
            hint = did_you_mean(tvalue, tags) if isinstance(tvalue, str) else ""
            code = "invalid_value" if isinstance(tvalue, str) else "invalid_type"
            return ValidationError(tfield, f"{short(tvalue)} is not supported{hint}",
                                   tfix or f"use one of {', '.join(repr(t) for t in tags)}",
                                   code=code)
        wanted = what_table.get(pat, "a supported value")
        return ValidationError(field, f"expected {wanted}, got {type_name(here)}",
                               fix_table.get(pat, "see the field's documentation"),
                               code="invalid_type")
    if kind in _KINDS or kind.endswith("_type"):
        want, fix = _KINDS.get(kind, ("a supported value", "see the field's documentation"))
        want = what_table.get(pat, want)
        tail = "" if isinstance(here, (Mapping, list)) else f" {shown}"
        return ValidationError(field, f"expected {want}, got {type_name(here)}{tail}",
                               fix_table.get(pat, fix), code="invalid_type")
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        lo, hi, numeric = range_table.get(pat, (
            ctx.get("ge", ctx.get("gt")), ctx.get("le", ctx.get("lt")), "a number"))
        if kind.startswith("greater"):
            problem = f"{here} is below the minimum {ctx.get('ge', ctx.get('gt'))}"
        else:
            problem = f"{here} is above the maximum {ctx.get('le', ctx.get('lt'))}"
        return ValidationError(field, problem, fix_table.get(pat) or _range_fix(numeric, lo, hi))
    if kind == "finite_number":
        return ValidationError(field, f"{here} is not a finite number",
                               fix_table.get(pat, "use a finite number"))
    if kind == "string_too_short":
        return ValidationError(field, "must not be empty",
                               fix_table.get(pat, "pass a non-empty string"))
    if kind == "string_too_long":
        limit = ctx.get("max_length")
        return ValidationError(field, f"is {len(here)} characters long, above the limit of "
                               f"{limit}", f"use at most {limit} characters")
    if kind == "too_short":
        limit = ctx.get("min_length")
        entries = "entry" if limit == 1 else "entries"
        return ValidationError(field, f"has {len(here)} entries, below the minimum of {limit}",
                               fix_table.get(pat, f"pass at least {limit} {entries}"))
    if kind == "too_long":
        limit = ctx.get("max_length")
        return ValidationError(field, f"has {len(here)} entries, above the limit of {limit}",
                               fix_table.get(pat, f"pass at most {limit} entries"))
    return ValidationError(field, f"{shown} is not valid ({short(first['msg'], 60)})",
                           fix_table.get(pat, "see the field's documentation"))


#: The ranges the types carry, by field pattern (the translator's fixes quote both ends).
_SESSION_RANGES: Final[dict[str, tuple[Any, Any, str]]] = {}


def _collect_ranges(
    tp: Any, prefix: list[str | int], out: dict[str, tuple[Any, Any, str]]
) -> None:
    """Fill a ranges table (the session's, a ``Schema``'s) from the types'
    ``Field(ge=…, le=…)`` (both ends for the fix text)."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *meta = get_args(tp)
        lo = hi = None
        for m in meta:
            for c in getattr(m, "metadata", []) or []:
                lo = getattr(c, "ge", lo)
                hi = getattr(c, "le", hi)
        if lo is not None or hi is not None:
            out[_pattern(prefix)] = (lo, hi, "an integer" if base is int else "a number")
        _collect_ranges(base, prefix, out)
        return
    if origin in (Union, getattr(__import__("types"), "UnionType", None)):
        for arg in get_args(tp):
            _collect_ranges(arg, prefix, out)
        return
    if origin is list:
        _collect_ranges(get_args(tp)[0], [*prefix, 0], out)
        return
    if origin in (Required, NotRequired):
        _collect_ranges(get_args(tp)[0], prefix, out)
        return
    hints = getattr(tp, "__annotations__", None)
    if isinstance(tp, type) and hints is not None and hasattr(tp, "__total__"):
        from typing import get_type_hints

        for key, sub in get_type_hints(tp, include_extras=True).items():
            _collect_ranges(sub, [*prefix, key], out)


def _collect_keys(tp: Any, prefix: list[str | int], out: dict[str, list[str]]) -> None:
    """Every TypedDict's keys by field pattern (for "did you mean" on an unknown key)."""
    origin = get_origin(tp)
    if origin is Annotated or origin in (Required, NotRequired):
        _collect_keys(get_args(tp)[0], prefix, out)
        return
    if origin in (Union, getattr(__import__("types"), "UnionType", None)):
        for arg in get_args(tp):
            _collect_keys(arg, prefix, out)
        return
    if origin is list:
        _collect_keys(get_args(tp)[0], [*prefix, 0], out)
        return
    if isinstance(tp, type) and hasattr(tp, "__total__"):
        from typing import get_type_hints

        hints = get_type_hints(tp, include_extras=True)
        keys = out.setdefault(_pattern(prefix), [])
        keys.extend(k for k in hints if k not in keys)
        for key, sub in hints.items():
            _collect_keys(sub, [*prefix, key], out)


_collect_ranges(RealtimeSession, [], _SESSION_RANGES)
KEYS: Final[dict[str, dict[str, list[str]]]] = {
    "realtime": {}, "transcription": {}, "response": {}}
_collect_keys(RealtimeSession, [], KEYS["realtime"])
_collect_keys(TranscriptionSession, [], KEYS["transcription"])
_collect_keys(ResponseParams, [], KEYS["response"])


def validate_with(
    adapter: TypeAdapter[Any], value: Any, path: str,
    allowed: Mapping[str, list[str]] | None = None,
) -> None:
    """Validate ``value`` with ``adapter``; raise the translated ``ValidationError``."""
    try:
        adapter.validate_python(value)
    except PydanticError as exc:
        raise translate(exc, value, path, allowed=allowed) from None


class Schema:
    """A model compiled once, with its own tables for the ONE translator.

    ``Schema(SomeTypedDict, fixes={"turns[].keys": "…"})`` validates plain data strictly
    (unknown keys refused when the type says so) and raises ``ValidationError`` naming the
    dotted field (under ``path``) and the fix. The keys and ``Field(ge=…, le=…)`` ranges of
    the type are collected once, so an unknown key gets "did you mean" and a range error
    quotes both ends. Used by the scenario loader, the fault specs, call control and the
    webhook inbox; the session keeps its module-level adapters (same translator).
    """

    __slots__ = ("adapter", "fixes", "keys", "ranges", "unknown", "what")

    def __init__(
        self, tp: Any, *, fixes: Mapping[str, str] | None = None,
        what: Mapping[str, str] | None = None,
        unknown: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        self.adapter: TypeAdapter[Any] = TypeAdapter(tp)
        self.fixes: Mapping[str, str] = dict(fixes or {})
        self.what: Mapping[str, str] = dict(what or {})
        self.unknown: Mapping[str, tuple[str, str]] = dict(unknown or {})
        ranges: dict[str, tuple[Any, Any, str]] = {}
        _collect_ranges(tp, [], ranges)
        self.ranges: Mapping[str, tuple[Any, Any, str]] = ranges
        keys: dict[str, list[str]] = {}
        _collect_keys(tp, [], keys)
        self.keys: Mapping[str, list[str]] = keys

    def error(self, exc: PydanticError, value: Any, path: str = "") -> ValidationError:
        """``exc`` (from this schema's adapter) as the one ``ValidationError``."""
        return translate(exc, value, path, allowed=self.keys, fixes=self.fixes,
                         what=self.what, ranges=self.ranges, unknown=self.unknown)

    def validate(self, value: Any, path: str = "") -> Any:
        """The validated value (pydantic's copy), or the translated ``ValidationError``."""
        try:
            return self.adapter.validate_python(value)
        except PydanticError as exc:
            raise self.error(exc, value, path) from None


# -- the SDK's param types, made checkable ----------------------------------------------------


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and hasattr(tp, "__required_keys__")


def _required(cls: Any) -> frozenset[str]:
    """The keys a TypedDict requires, read from its resolved hints: the SDK's modules use
    ``from __future__ import annotations``, so their ``__required_keys__`` miss every
    ``Required[...]`` (the marker is still a string when the class is made), and a rebuilt
    TypedDict must not copy that."""
    out = set()
    for key, hint in get_type_hints(cls, include_extras=True).items():
        origin = get_origin(hint)
        if origin is Required or (origin is not NotRequired and cls.__total__):
            out.add(key)
    return frozenset(out)


def _literal_key(members: list[Any]) -> str | None:
    """A key every member TypedDict requires as a ``Literal``: the union's discriminator."""
    if len(members) < 2 or not all(_is_typeddict(m) for m in members):
        return None
    for key in ("type", "role"):
        if all(key in _required(m)
               and get_origin(_bare(get_type_hints(m, include_extras=True)[key])) is Literal
               for m in members):
            return key
    return None


def _bare(tp: Any) -> Any:
    while get_origin(tp) in (Required, NotRequired, Annotated):
        tp = get_args(tp)[0]
    return tp


def from_sdk(
    tp: Any, *, fields: Mapping[str, Any] | None = None,
    wrap: Mapping[str, Callable[[Any], Any]] | None = None,
) -> Any:
    """The SDK param type ``tp`` (a TypedDict tree of ``openai.types``) as a strict model.

    Why: the SDK's param TypedDicts describe the request bodies exactly, but as typing hints:
    ``Iterable[...]`` (pydantic checks those lazily, so a bad item would pass), unions
    without a discriminator (an error would name every member), no config. This rebuilds
    the tree once: every TypedDict strict with unknown keys forbidden, every ``Iterable`` /
    ``SequenceNotStr`` a ``list``, every union of TypedDicts that all require a ``type``
    (or ``role``) literal discriminated on it. ``fields`` replaces the type of a key by name,
    wherever it occurs (the SDK's ``str`` for a model becomes a non-blank one, a threshold
    gets its documented range, a backend's tool list stays the server's business); ``wrap``
    gives a key's rebuilt type more constraints or a rule (``Annotated[t, Field(...)]``).
    """
    replace = dict(fields or {})
    wrappers = dict(wrap or {})
    memo: dict[Any, Any] = {}
    building: set[Any] = set()

    def conv(t: Any) -> Any:
        origin = get_origin(t)
        if origin is Annotated:
            base, *meta = get_args(t)
            return Annotated[(conv(base), *meta)]
        if origin in (Required, NotRequired):
            return conv(get_args(t)[0])
        if origin in (Union, getattr(__import__("types"), "UnionType", None)):
            args = [conv(a) for a in get_args(t)]
            real = [a for a in args if a is not type(None)]
            key = _literal_key(real)
            if key is None:
                return Union[tuple(args)]  # noqa: UP007
            disc: Any = Annotated[Union[tuple(real)], Field(discriminator=key)]  # noqa: UP007
            return disc | None if len(real) < len(args) else disc
        if origin is not None and getattr(origin, "__name__", "") in (
            "Iterable", "Sequence", "SequenceNotStr", "list", "List"
        ):
            return list[conv(get_args(t)[0])]  # type: ignore[misc]
        if origin in (dict, Mapping):
            k, v = get_args(t)
            return dict[conv(k), conv(v)]  # type: ignore[misc]
        if _is_typeddict(t):
            return typed(t)
        return t

    def typed(cls: Any) -> Any:
        if cls in memo:
            return memo[cls]
        if cls in building:  # a recursive shape: its depth is the server's business
            return dict[str, Any]
        building.add(cls)
        required = _required(cls)
        members: dict[str, Any] = {}
        for key, hint in get_type_hints(cls, include_extras=True).items():
            sub = replace[key] if key in replace else conv(hint)
            if key in wrappers:
                sub = wrappers[key](sub)
            members[key] = Required[sub] if key in required else NotRequired[sub]
        new: Any = TypedDict(cls.__name__, members, total=False)  # type: ignore[misc]
        setattr(new, "__pydantic_config__", _CONFIG)  # noqa: B010 (what with_config does)
        new.__module__ = cls.__module__
        building.discard(cls)
        memo[cls] = new
        return new

    return conv(tp)
