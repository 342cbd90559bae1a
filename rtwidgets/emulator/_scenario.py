"""Scenario files: the scripted caller and the scripted model of an emulated call, as data.

Why: demos, lessons and every layer's tests need calls that say the same thing every time,
and people who are not Python programmers should be able to write one. A scenario is a JSON
file (format reference: docs/scenarios.md; the schema is ``ScenarioFile`` below, pydantic
types checked strictly, whose errors go through the one translator of
``protocol.validation``); the shipped ones live next to this module and load by name, any
other loads by path. This module only parses and validates; it never touches a socket or a
clock, and a bad file is refused here with the field's path and the fix, before any call
runs.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    with_config,
)
from typing_extensions import Required, TypedDict

from ..protocol.errors import ValidationError, short
from ..protocol.validation import Schema, rule

__all__ = [
    "SCHEMA",
    "Scenario",
    "ScenarioError",
    "ScenarioFile",
    "ToolCallSpec",
    "ToolReply",
    "Turn",
    "list_scenarios",
    "load_scenario",
    "render_template",
]

FORMAT = "rtwidgets.scenario"
VERSION = 1

_END_BY = ("caller_hangup", "hangup", "stay_open", "refer")

#: The keys a SIP caller can press (DTMF), as the SDK's dtmf event documents them.
DTMF_KEYS = frozenset("0123456789*#ABCD")


class ScenarioError(ValueError):
    """A scenario file is not valid. ``field`` is the dotted path of the bad field."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}. Fix: {fix}")


_DEFAULT_SIP_HEADERS: tuple[dict[str, str], ...] = (
    {"name": "From", "value": "sip:+14155550123@sip.example.com"},
    {"name": "To", "value": "sip:+18005551212@sip.example.com"},
    {"name": "Call-ID", "value": "03782086-4ce9-44bf-8b0d-4e303d2cc590"},
)


@dataclass(frozen=True)
class ToolCallSpec:
    """One function call of a reply: its name and the arguments the caller meant (hints)."""

    name: str
    arguments: dict[str, Any]
    arguments_as_written: bool = False


@dataclass(frozen=True)
class ToolReply:
    """The model calls a function if (and only if) the session declares a tool of that name.

    ``arguments`` are hints: the model fills the tool's declared schema from them
    (``_toolargs``), unless ``arguments_as_written`` asks for them verbatim (to show a handler
    arguments that miss the schema). ``parallel`` holds further calls of the same response
    (the ``"tools": [...]`` form): the follow-up waits for every output. ``on_error`` is said
    instead of ``say`` when an output reports an error (a JSON object with an ``error``).
    """

    name: str
    arguments: dict[str, Any]
    say: str                 # follow-up after the output arrives; {key} from output/arguments
    otherwise: str           # what the model says when the session has no such tool
    lead_in: str | None = None
    arguments_as_written: bool = False
    parallel: tuple[ToolCallSpec, ...] = ()
    on_error: str | None = None

    @property
    def calls(self) -> tuple[ToolCallSpec, ...]:
        """Every function call of the reply, in output order."""
        return (ToolCallSpec(self.name, self.arguments, self.arguments_as_written),
                *self.parallel)


@dataclass(frozen=True)
class Turn:
    """One caller turn and the model's scripted answer to it.

    A turn is one of three things: the caller says ``caller``; presses ``keys`` (DTMF, SIP
    only; ``caller`` is then ""); or stays silent for ``silent_ms`` (``caller`` ""), which the
    server notices only if the session sets ``idle_timeout_ms``.
    """

    caller: str
    reply: str | ToolReply | None
    pause_ms: int = 600
    interrupt_after_ms: int | None = None   # barge-in: start this long after model audio began
    keys: str | None = None                 # DTMF keys pressed, in order
    key_gap_ms: int = 250                   # between two key presses
    answer_within_ms: int = 5000            # keys: how long the caller waits for the app
    silent_ms: int | None = None            # the caller says nothing for this long


@dataclass(frozen=True)
class Timing:
    model_word_ms: tuple[int, int] = (60, 120)   # transcript delta pace, per word
    speech_word_ms: int = 330                    # caller speaking rate, per word
    playback_word_ms: int = 380                  # model audio duration, per word
    silence_ms: int = 200                        # server VAD silence before speech_stopped
    transcription_word_ms: int = 25              # input transcription delta pace


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    turns: tuple[Turn, ...]
    session: dict[str, Any] = field(default_factory=dict)
    greeting: str | None = None
    default_reply: str = "I'm here. How can I help?"
    end_by: str = "caller_hangup"
    end_after_ms: int = 800
    timing: Timing = Timing()
    sip_headers: tuple[dict[str, str], ...] = _DEFAULT_SIP_HEADERS

    def with_turns(self, n: int) -> Scenario:
        """This scenario with ``n`` caller turns: its turns cycled (``{n}`` in a turn's text
        becomes the turn's number, 1-based), e.g. a long call for a soak test."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ScenarioError("turns", f"a number of turns must be a whole number >= 0, got "
                                f"{n!r}", "e.g. load_scenario('long_call:200')")
        if n and not self.turns:
            raise ScenarioError("turns", "the scenario has no turns to repeat",
                                "give at least one turn")
        turns = []
        for i in range(n):
            t = self.turns[i % len(self.turns)]
            number = {"n": i + 1}
            reply: str | ToolReply | None = t.reply
            if isinstance(reply, str):
                reply = render_template(reply, number)
            turns.append(replace(t, caller=render_template(t.caller, number), reply=reply))
        return replace(self, name=f"{self.name}:{n}", turns=tuple(turns))

    @classmethod
    def idle(cls) -> Scenario:
        """No caller script: the call stays open and only the client drives it."""
        return cls(name="idle", description="No caller; client-driven.", turns=(),
                   end_by="stay_open")


# -- the file's schema: pydantic types, checked by the one translator ------------------------

_STRICT: Final = ConfigDict(extra="forbid", strict=True)


def _nonblank(value: str) -> str:
    if not value.strip():
        raise rule(f"must be a non-empty string, got {short(value)}", "give text")
    return value


def _flag(value: Any) -> Any:
    if not isinstance(value, bool):
        raise rule(f"must be true or false, got {short(value)}", "use a boolean: true or false")
    return value


def _dtmf(value: str) -> str:
    if not value or not set(value) <= DTMF_KEYS:
        raise rule(f"must be keypad keys (0-9 * # A-D), got {short(value)}",
                   'give the keys in order, e.g. "2" or "1234#"')
    return value


def _low_high(value: list[int]) -> list[int]:
    if value[0] > value[1]:
        raise rule(f"must be [low, high] ms, got {value!r}",
                   "give two whole numbers, low <= high, e.g. [60, 120]")
    return value


Text = Annotated[str, AfterValidator(_nonblank)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Ms = Annotated[int, Field(ge=0)]


@with_config(_STRICT)
class ToolCallFields(TypedDict, total=False):
    """One call of a ``"tools": [...]`` reply."""

    name: Required[Text]
    arguments: dict[str, Any]
    arguments_as_written: Flag


@with_config(_STRICT)
class ToolFields(TypedDict, total=False):
    """The ``"tool": {...}`` of a reply: the call and what is said around it."""

    name: Required[Text]
    arguments: dict[str, Any]
    arguments_as_written: Flag
    lead_in: str
    say: Required[Text]
    otherwise: Required[Text]
    on_error: str


@with_config(_STRICT)
class SayReply(TypedDict):
    say: Text


@with_config(_STRICT)
class ToolReplyFields(TypedDict):
    tool: ToolFields


@with_config(_STRICT)
class ToolsReplyFields(TypedDict, total=False):
    tools: Required[Annotated[list[ToolCallFields], Field(min_length=1)]]
    lead_in: str
    say: Required[Text]
    otherwise: Required[Text]
    on_error: str


def _reply_form(value: Any) -> str | None:
    if value is None:
        return "~none"
    if isinstance(value, str):
        return "~text"
    if isinstance(value, Mapping):
        return "~tools" if "tools" in value else "~tool" if "tool" in value else "~say"
    return None


ReplyFields = Annotated[
    Annotated[None, Tag("~none")] | Annotated[str, Tag("~text")]
    | Annotated[SayReply, Tag("~say")] | Annotated[ToolReplyFields, Tag("~tool")]
    | Annotated[ToolsReplyFields, Tag("~tools")],
    Discriminator(_reply_form),
]


@with_config(_STRICT)
class TurnFields(TypedDict, total=False):
    """One caller turn: exactly one of ``caller``, ``keys`` or ``silent_ms``."""

    caller: Text
    keys: Annotated[str, AfterValidator(_dtmf)]
    silent_ms: Annotated[int, Field(ge=1)]
    reply: ReplyFields
    pause_ms: Ms | None
    interrupt_after_ms: Ms | None
    key_gap_ms: Ms | None
    answer_within_ms: Ms | None


def _one_kind(turn: TurnFields) -> TurnFields:
    kinds = [k for k in ("caller", "keys", "silent_ms") if k in turn]
    if len(kinds) != 1:
        raise rule("needs exactly one of caller, keys or silent_ms"
                   + (f", got {' and '.join(kinds)}" if kinds else ""),
                   'give what the caller says ("caller"), the keys pressed ("keys") '
                   'or how long the caller stays silent ("silent_ms")')
    if kinds[0] != "caller" and "interrupt_after_ms" in turn:
        raise rule("applies only to a spoken turn",
                   "remove it, or make the turn a caller utterance", at="interrupt_after_ms")
    return turn


@with_config(_STRICT)
class EndFields(TypedDict, total=False):
    by: Literal[_END_BY]  # type: ignore[valid-type]
    after_ms: Ms | None


@with_config(_STRICT)
class TimingFields(TypedDict, total=False):
    model_word_ms: Annotated[list[Ms], Field(min_length=2, max_length=2),
                             AfterValidator(_low_high)]
    speech_word_ms: Ms | None
    playback_word_ms: Ms | None
    silence_ms: Ms | None
    transcription_word_ms: Ms | None


@with_config(_STRICT)
class SipHeader(TypedDict):
    name: str
    value: str


@with_config(_STRICT)
class ScenarioFile(TypedDict, total=False):
    """A scenario file (format version 1): the schema ``parse_scenario`` checks.

    ``session`` holds partial session fields as in ``session.update``; they are checked
    against the session schema when a call starts (``protocol.validation``).
    """

    format: Required[Literal["rtwidgets.scenario"]]
    version: Required[Literal[1]]
    name: Required[Text]
    description: str
    session: dict[str, Any]
    greeting: str
    turns: Required[list[Annotated[TurnFields, AfterValidator(_one_kind)]]]
    default_reply: str
    end: EndFields
    timing: TimingFields
    sip_headers: list[SipHeader] | None
    repeat_turns: Ms | None


_SAY_OR_TOOL = ('give the text the model says, {"say": ...}, {"tool": {...}} or '
                '{"tools": [...], "say": ...}')
_ARGUMENTS = 'give the call\'s arguments as an object, e.g. {"city": "Paris"}'
SCHEMA: Final = Schema(ScenarioFile, fixes={
    "format": f'set "format": "{FORMAT}"',
    "version": f'set "version": {VERSION}',
    "session": "give partial session fields as in session.update",
    "turns": 'give a list of caller turns like {"caller": "...", "reply": "..."}',
    "turns[]": 'give a turn like {"caller": "...", "reply": "..."}',
    "turns[].keys": 'give the keys in order, e.g. "2" or "1234#"',
    "turns[].silent_ms": "give the silence in call milliseconds, e.g. 12000",
    "turns[].reply": _SAY_OR_TOOL,
    "turns[].reply.tools": ('give a non-empty list of calls, e.g. '
                            '[{"name": "get_weather", "arguments": {"city": "Paris"}}]'),
    "turns[].reply.tool.arguments": _ARGUMENTS,
    "turns[].reply.tools[].arguments": _ARGUMENTS,
    "end": 'give {"by": "caller_hangup", "after_ms": 800}',
    "end.by": ('use "caller_hangup" (the caller hangs up), "hangup" (the server ends the '
               'call), "refer" (the caller waits for the app to transfer the call) or '
               '"stay_open"'),
    "timing.model_word_ms": "give two whole numbers, low <= high, e.g. [60, 120]",
    "sip_headers": ('give a list of {name, value} strings, e.g. '
                    '[{"name": "From", "value": "sip:+1415...@example.com"}]'),
    "repeat_turns": "give how many caller turns the call has, e.g. 40",
}, what={"turns[].reply": "a string or an object"})


def _tool_reply(specs: list[Mapping[str, Any]], speech: Mapping[str, Any]) -> ToolReply:
    calls = [ToolCallSpec(name=t["name"], arguments=dict(t.get("arguments", {})),
                          arguments_as_written=t.get("arguments_as_written", False))
             for t in specs]
    first = calls[0]
    return ToolReply(name=first.name, arguments=first.arguments, say=speech["say"],
                     otherwise=speech["otherwise"], lead_in=speech.get("lead_in"),
                     arguments_as_written=first.arguments_as_written,
                     parallel=tuple(calls[1:]), on_error=speech.get("on_error"))


def _reply(raw: Any) -> str | ToolReply | None:
    if raw is None or isinstance(raw, str):
        return raw
    if "tools" in raw:
        return _tool_reply(raw["tools"], raw)
    if "tool" in raw:
        return _tool_reply([raw["tool"]], raw["tool"])
    return str(raw["say"])


def _ms(raw: Mapping[str, Any], key: str, default: int) -> int:
    value = raw.get(key)
    return default if value is None else int(value)


def _turn(raw: Mapping[str, Any]) -> Turn:
    return Turn(
        caller=raw.get("caller", ""),
        reply=_reply(raw.get("reply")),
        pause_ms=_ms(raw, "pause_ms", 600),
        interrupt_after_ms=raw.get("interrupt_after_ms"),
        keys=raw.get("keys"),
        key_gap_ms=_ms(raw, "key_gap_ms", 250),
        answer_within_ms=_ms(raw, "answer_within_ms", 5000),
        silent_ms=raw.get("silent_ms"),
    )


def parse_scenario(data: Any, *, source: str = "<dict>") -> Scenario:
    """Validate a scenario object (already parsed from JSON) and build a ``Scenario``.

    The schema is ``ScenarioFile`` (pydantic, strict, unknown keys refused); a bad field
    raises ``ScenarioError`` with its dotted path and the fix.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError("(root)", f"{source} must hold a JSON object",
                            'start the file with {"format": "rtwidgets.scenario", ...}')
    try:
        SCHEMA.validate(data)
    except ValidationError as err:
        raise ScenarioError(err.field, err.problem, err.fix) from None
    defaults = Timing()
    timing_raw: Mapping[str, Any] = data.get("timing", {})
    low, high = timing_raw.get("model_word_ms", defaults.model_word_ms)
    timing = Timing(
        model_word_ms=(low, high),
        # 0 means "the default" for the two speaking rates (a call cannot speak in no time)
        speech_word_ms=timing_raw.get("speech_word_ms") or defaults.speech_word_ms,
        playback_word_ms=timing_raw.get("playback_word_ms") or defaults.playback_word_ms,
        silence_ms=_ms(timing_raw, "silence_ms", defaults.silence_ms),
        transcription_word_ms=_ms(timing_raw, "transcription_word_ms",
                                  defaults.transcription_word_ms),
    )
    end: Mapping[str, Any] = data.get("end", {})
    end_by = end.get("by", "caller_hangup")
    headers = data.get("sip_headers")
    name = str(data["name"])
    scenario = Scenario(
        name=name,
        description=data.get("description", ""),
        turns=tuple(_turn(t) for t in data["turns"]),
        session=dict(data.get("session", {})),
        greeting=data.get("greeting"),
        default_reply=data.get("default_reply") or Scenario.default_reply,
        end_by=end_by,
        end_after_ms=_ms(end, "after_ms", 10_000 if end_by == "refer" else 800),
        timing=timing,
        sip_headers=(_DEFAULT_SIP_HEADERS if headers is None
                     else tuple(dict(h) for h in headers)),
    )
    repeat = data.get("repeat_turns")
    if repeat is not None:
        scenario = replace(scenario.with_turns(repeat), name=name)
    return scenario


def list_scenarios() -> list[str]:
    """Names of the shipped scenarios."""
    folder = resources.files("rtwidgets.emulator") / "scenarios"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load_scenario(spec: str | Path | Mapping[str, Any] | Scenario) -> Scenario:
    """A ``Scenario`` from a shipped name, a path to a JSON file, a dict, or itself.

    ``"name:N"`` (a shipped name) is that scenario with ``N`` caller turns, its turns cycled
    (``Scenario.with_turns``): ``"long_call:500"`` for a soak.
    """
    if isinstance(spec, Scenario):
        return spec
    if isinstance(spec, str) and ":" in spec:
        base, _, count = spec.rpartition(":")
        if base in list_scenarios() and count.isdigit():
            return load_scenario(base).with_turns(int(count))
    if isinstance(spec, Mapping):
        return parse_scenario(dict(spec))
    text: str
    source: str
    as_path = Path(spec)
    if isinstance(spec, str) and spec in list_scenarios():
        resource = resources.files("rtwidgets.emulator") / "scenarios" / f"{spec}.json"
        text, source = resource.read_text(encoding="utf-8"), spec
    elif as_path.suffix == ".json" or as_path.exists():
        try:
            text = as_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError("scenario", f"cannot read {str(spec)!r} ({exc.strerror})",
                                "give an existing .json file") from None
        source = str(as_path)
    else:
        raise ScenarioError("scenario", f"{str(spec)!r} is neither a shipped scenario nor a file",
                            f"use one of {', '.join(list_scenarios())} or a path to a .json file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError("(root)", f"{source} is not valid JSON ({exc.msg} at line "
                            f"{exc.lineno})", "fix the JSON syntax") from None
    return parse_scenario(data, source=source)


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_template(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``{key}`` fields from ``values``; unknown keys stay as written, never raise."""
    flat = _Missing({k: v for k, v in values.items()
                     if isinstance(v, (str, int, float, bool))})
    try:
        return string.Formatter().vformat(template, (), flat)
    except (ValueError, IndexError, AttributeError, KeyError):
        return template
