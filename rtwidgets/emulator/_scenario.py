"""Scenario files: the scripted caller and the scripted model of an emulated call, as data.

Why: demos, lessons and every layer's tests need calls that say the same thing every time,
and people who are not Python programmers should be able to write one. A scenario is a JSON
file (format reference: docs/scenarios.md); the shipped ones live next to this module and load
by name, any other loads by path. This module only parses and validates; it never touches a
socket or a clock, and a bad file is refused here with the field's path and the fix, before
any call runs.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "Scenario",
    "ScenarioError",
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


def _str(obj: Mapping[str, Any], key: str, path: str, *, required: bool = True,
         default: str | None = None) -> str | None:
    if key not in obj:
        if required:
            raise ScenarioError(f"{path}.{key}" if path else key, "is missing",
                                "add a string value")
        return default
    value = obj[key]
    if not isinstance(value, str) or (required and not value.strip()):
        raise ScenarioError(f"{path}.{key}" if path else key,
                            f"must be a non-empty string, got {value!r}", "give text")
    return value


def _int(obj: Mapping[str, Any], key: str, path: str, default: int | None) -> int | None:
    if key not in obj or obj[key] is None:
        return default
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ScenarioError(f"{path}.{key}", f"must be a non-negative integer, got {value!r}",
                            "give milliseconds as a whole number >= 0")
    return value


def _call_spec(tool: Any, tpath: str, allowed: set[str]) -> tuple[ToolCallSpec, dict[str, Any]]:
    """One function call's name and hints; returns it and the raw object (for the rest)."""
    if not isinstance(tool, dict):
        raise ScenarioError(tpath, "must be an object", "see docs/scenarios.md")
    extra = set(tool) - allowed
    if extra:
        raise ScenarioError(f"{tpath}.{sorted(extra)[0]}", "is not a known field",
                            f"use {', '.join(sorted(allowed))}")
    as_written = tool.get("arguments_as_written", False)
    if not isinstance(as_written, bool):
        raise ScenarioError(f"{tpath}.arguments_as_written",
                            f"must be true or false, got {as_written!r}",
                            "use true to send the arguments verbatim, or leave it out")
    args = tool.get("arguments", {})
    if not isinstance(args, dict):
        raise ScenarioError(f"{tpath}.arguments", "must be a JSON object",
                            'give the call\'s arguments, e.g. {"city": "Paris"}')
    name = _str(tool, "name", tpath)
    assert name is not None
    return ToolCallSpec(name=name, arguments=dict(args), arguments_as_written=as_written), tool


_CALL_FIELDS = {"name", "arguments", "arguments_as_written"}
_SPEECH_FIELDS = {"say", "otherwise", "lead_in", "on_error"}


def _reply(raw: Any, path: str) -> str | ToolReply | None:
    if raw is None or isinstance(raw, str):
        return raw
    if not isinstance(raw, dict):
        raise ScenarioError(path, f"must be a string or an object, got {type(raw).__name__}",
                            'give the text the model says, {"tool": {...}} or '
                            '{"tools": [...], "say": ...}')
    if "tools" in raw:
        # Parallel calls: the calls in a list, what is said around them beside it.
        unknown = set(raw) - {"tools"} - _SPEECH_FIELDS
        if unknown:
            raise ScenarioError(f"{path}.{sorted(unknown)[0]}", "is not a known field",
                                "use tools, lead_in, say, on_error, otherwise")
        tools = raw["tools"]
        if not isinstance(tools, list) or not tools:
            raise ScenarioError(f"{path}.tools", "must be a non-empty list of calls",
                                '[{"name": "get_weather", "arguments": {"city": "Paris"}}, ...]')
        specs = [_call_spec(t, f"{path}.tools[{i}]", _CALL_FIELDS)[0]
                 for i, t in enumerate(tools)]
        speech = raw
        tpath = path
    elif "tool" in raw:
        unknown = set(raw) - {"tool"}
        if unknown:
            raise ScenarioError(f"{path}.{sorted(unknown)[0]}", "is not a known field",
                                'use "say", "tool" or "tools"')
        tpath = f"{path}.tool"
        spec, speech = _call_spec(raw["tool"], tpath, _CALL_FIELDS | _SPEECH_FIELDS)
        specs = [spec]
    else:
        unknown = set(raw) - {"say"}
        if unknown:
            raise ScenarioError(f"{path}.{sorted(unknown)[0]}", "is not a known field",
                                'use "say", "tool" or "tools"')
        return _str(raw, "say", path)
    say = _str(speech, "say", tpath)
    otherwise = _str(speech, "otherwise", tpath)
    lead_in = _str(speech, "lead_in", tpath, required=False)
    on_error = _str(speech, "on_error", tpath, required=False)
    assert say is not None
    assert otherwise is not None
    first = specs[0]
    return ToolReply(name=first.name, arguments=first.arguments, say=say, otherwise=otherwise,
                     lead_in=lead_in, arguments_as_written=first.arguments_as_written,
                     parallel=tuple(specs[1:]), on_error=on_error)


def _turn(raw: Any, path: str) -> Turn:
    if not isinstance(raw, dict):
        raise ScenarioError(path, "must be an object", '{"caller": "...", "reply": "..."}')
    extra = set(raw) - {"caller", "reply", "pause_ms", "interrupt_after_ms", "keys",
                        "key_gap_ms", "answer_within_ms", "silent_ms"}
    if extra:
        raise ScenarioError(f"{path}.{sorted(extra)[0]}", "is not a known field",
                            "use caller (or keys, or silent_ms), reply, pause_ms, "
                            "interrupt_after_ms, key_gap_ms, answer_within_ms")
    kinds = [k for k in ("caller", "keys", "silent_ms") if k in raw]
    if len(kinds) != 1:
        raise ScenarioError(path, "needs exactly one of caller, keys or silent_ms"
                            + (f", got {' and '.join(kinds)}" if kinds else ""),
                            'give what the caller says ("caller"), the keys pressed ("keys") '
                            'or how long the caller stays silent ("silent_ms")')
    keys: str | None = None
    silent_ms: int | None = None
    caller = ""
    if "keys" in raw:
        keys = raw["keys"]
        if not isinstance(keys, str) or not keys or not set(keys) <= DTMF_KEYS:
            raise ScenarioError(f"{path}.keys", f"must be keypad keys (0-9 * # A-D), got "
                                f"{keys!r}", 'give the keys in order, e.g. "2" or "1234#"')
    elif "silent_ms" in raw:
        silent_ms = _int(raw, "silent_ms", path, None)
        if not silent_ms:
            raise ScenarioError(f"{path}.silent_ms", "must be a positive whole number",
                                "give the silence in call milliseconds, e.g. 12000")
    else:
        caller = _str(raw, "caller", path) or ""
    if (keys is not None or silent_ms is not None) and "interrupt_after_ms" in raw:
        raise ScenarioError(f"{path}.interrupt_after_ms", "applies only to a spoken turn",
                            "remove it, or make the turn a caller utterance")
    return Turn(
        caller=caller,
        reply=_reply(raw.get("reply"), f"{path}.reply"),
        pause_ms=_int(raw, "pause_ms", path, 600) or 0,
        interrupt_after_ms=_int(raw, "interrupt_after_ms", path, None),
        keys=keys,
        key_gap_ms=_int(raw, "key_gap_ms", path, 250) or 0,
        answer_within_ms=_int(raw, "answer_within_ms", path, 5000) or 0,
        silent_ms=silent_ms,
    )


def parse_scenario(data: Any, *, source: str = "<dict>") -> Scenario:
    """Validate a scenario object (already parsed from JSON) and build a ``Scenario``."""
    if not isinstance(data, dict):
        raise ScenarioError("(root)", f"{source} must hold a JSON object",
                            'start the file with {"format": "rtwidgets.scenario", ...}')
    if data.get("format") != FORMAT:
        raise ScenarioError("format", f"must be {FORMAT!r}, got {data.get('format')!r}",
                            f'add "format": "{FORMAT}"')
    if data.get("version") != VERSION:
        raise ScenarioError("version", f"must be {VERSION}, got {data.get('version')!r}",
                            f'add "version": {VERSION}')
    known = {"format", "version", "name", "description", "session", "greeting", "turns",
             "default_reply", "end", "timing", "sip_headers", "repeat_turns"}
    unknown = set(data) - known
    if unknown:
        raise ScenarioError(sorted(unknown)[0], "is not a known field",
                            f"use only {', '.join(sorted(known))}")
    name = _str(data, "name", "")
    description = _str(data, "description", "", required=False, default="") or ""
    session = data.get("session", {})
    if not isinstance(session, dict):
        raise ScenarioError("session", "must be an object",
                            "give partial session fields as in session.update")
    raw_turns = data.get("turns")
    if not isinstance(raw_turns, list):
        raise ScenarioError("turns", "must be a list", "give a list of caller turns")
    turns = [_turn(raw, f"turns[{i}]") for i, raw in enumerate(raw_turns)]
    repeat = data.get("repeat_turns")
    end = data.get("end", {})
    if not isinstance(end, dict):
        raise ScenarioError("end", "must be an object", '{"by": "caller_hangup", "after_ms": 800}')
    end_by = end.get("by", "caller_hangup")
    if end_by not in _END_BY:
        raise ScenarioError("end.by", f"must be one of {', '.join(_END_BY)}, got {end_by!r}",
                            'use "caller_hangup" (the caller hangs up), "hangup" (the server '
                            'ends the call), "refer" (the caller waits for the app to transfer '
                            'the call) or "stay_open"')
    timing_raw = data.get("timing", {})
    if not isinstance(timing_raw, dict):
        raise ScenarioError("timing", "must be an object", "see docs/scenarios.md")
    t_extra = set(timing_raw) - {"model_word_ms", "speech_word_ms", "playback_word_ms",
                                 "silence_ms", "transcription_word_ms"}
    if t_extra:
        raise ScenarioError(f"timing.{sorted(t_extra)[0]}", "is not a known field",
                            "see docs/scenarios.md")
    mw = timing_raw.get("model_word_ms", [60, 120])
    if (not isinstance(mw, list) or len(mw) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in mw)
            or mw[0] > mw[1]):
        raise ScenarioError("timing.model_word_ms", f"must be [low, high] ms, got {mw!r}",
                            "give two whole numbers, low <= high, e.g. [60, 120]")
    defaults = Timing()
    timing = Timing(
        model_word_ms=(mw[0], mw[1]),
        speech_word_ms=_int(timing_raw, "speech_word_ms", "timing", defaults.speech_word_ms)
        or defaults.speech_word_ms,
        playback_word_ms=_int(timing_raw, "playback_word_ms", "timing",
                              defaults.playback_word_ms) or defaults.playback_word_ms,
        silence_ms=_int(timing_raw, "silence_ms", "timing", defaults.silence_ms) or 0,
        transcription_word_ms=_int(timing_raw, "transcription_word_ms", "timing",
                                   defaults.transcription_word_ms) or 0,
    )
    headers = data.get("sip_headers")
    sip_headers: tuple[dict[str, str], ...] = _DEFAULT_SIP_HEADERS
    if headers is not None:
        if not isinstance(headers, list) or not all(
            isinstance(h, dict) and set(h) == {"name", "value"}
            and all(isinstance(v, str) for v in h.values()) for h in headers
        ):
            raise ScenarioError("sip_headers", "must be a list of {name, value} strings",
                                '[{"name": "From", "value": "sip:+1415...@example.com"}]')
        sip_headers = tuple(dict(h) for h in headers)
    assert name is not None
    scenario = Scenario(
        name=name,
        description=description,
        turns=tuple(turns),
        session=dict(session),
        greeting=_str(data, "greeting", "", required=False),
        default_reply=_str(data, "default_reply", "", required=False,
                           default=Scenario.default_reply) or Scenario.default_reply,
        end_by=end_by,
        end_after_ms=_int(end, "after_ms", "end", 10_000 if end_by == "refer" else 800) or 0,
        timing=timing,
        sip_headers=sip_headers,
    )
    if repeat is not None:
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 0:
            raise ScenarioError("repeat_turns", f"must be a whole number >= 0, got {repeat!r}",
                                "give how many caller turns the call has, e.g. 40")
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
