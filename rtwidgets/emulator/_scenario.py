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
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "Scenario",
    "ScenarioError",
    "ToolReply",
    "Turn",
    "list_scenarios",
    "load_scenario",
    "render_template",
]

FORMAT = "rtwidgets.scenario"
VERSION = 1

_END_BY = ("caller_hangup", "hangup", "stay_open")


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
class ToolReply:
    """The model calls a function if (and only if) the session declares a tool of that name.

    ``arguments`` are hints: the model fills the tool's declared schema from them
    (``_toolargs``), unless ``arguments_as_written`` asks for them verbatim (to show a handler
    arguments that miss the schema).
    """

    name: str
    arguments: dict[str, Any]
    say: str                 # follow-up after the output arrives; {key} from output/arguments
    otherwise: str           # what the model says when the session has no such tool
    lead_in: str | None = None
    arguments_as_written: bool = False


@dataclass(frozen=True)
class Turn:
    """One caller utterance and the model's scripted answer to it."""

    caller: str
    reply: str | ToolReply | None
    pause_ms: int = 600
    interrupt_after_ms: int | None = None   # barge-in: start this long after model audio began


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


def _reply(raw: Any, path: str) -> str | ToolReply | None:
    if raw is None or isinstance(raw, str):
        return raw
    if not isinstance(raw, dict):
        raise ScenarioError(path, f"must be a string or an object, got {type(raw).__name__}",
                            'give the text the model says, or {"tool": {...}}')
    unknown = set(raw) - {"say", "tool"}
    if unknown:
        raise ScenarioError(f"{path}.{sorted(unknown)[0]}", "is not a known field",
                            'use "say" or "tool"')
    if "tool" in raw:
        tool = raw["tool"]
        tpath = f"{path}.tool"
        if not isinstance(tool, dict):
            raise ScenarioError(tpath, "must be an object", "see docs/scenarios.md")
        extra = set(tool) - {"name", "arguments", "say", "otherwise", "lead_in",
                             "arguments_as_written"}
        if extra:
            raise ScenarioError(f"{tpath}.{sorted(extra)[0]}", "is not a known field",
                                "use name, arguments, arguments_as_written, lead_in, say, "
                                "otherwise")
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
        say = _str(tool, "say", tpath)
        otherwise = _str(tool, "otherwise", tpath)
        lead_in = _str(tool, "lead_in", tpath, required=False)
        assert name is not None
        assert say is not None
        assert otherwise is not None
        return ToolReply(name=name, arguments=dict(args), say=say, otherwise=otherwise,
                         lead_in=lead_in, arguments_as_written=as_written)
    return _str(raw, "say", path)


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
             "default_reply", "end", "timing", "sip_headers"}
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
    turns: list[Turn] = []
    for i, raw in enumerate(raw_turns):
        path = f"turns[{i}]"
        if not isinstance(raw, dict):
            raise ScenarioError(path, "must be an object", '{"caller": "...", "reply": "..."}')
        extra = set(raw) - {"caller", "reply", "pause_ms", "interrupt_after_ms"}
        if extra:
            raise ScenarioError(f"{path}.{sorted(extra)[0]}", "is not a known field",
                                "use caller, reply, pause_ms, interrupt_after_ms")
        caller = _str(raw, "caller", path)
        assert caller is not None
        turns.append(Turn(
            caller=caller,
            reply=_reply(raw.get("reply"), f"{path}.reply"),
            pause_ms=_int(raw, "pause_ms", path, 600) or 0,
            interrupt_after_ms=_int(raw, "interrupt_after_ms", path, None),
        ))
    end = data.get("end", {})
    if not isinstance(end, dict):
        raise ScenarioError("end", "must be an object", '{"by": "caller_hangup", "after_ms": 800}')
    end_by = end.get("by", "caller_hangup")
    if end_by not in _END_BY:
        raise ScenarioError("end.by", f"must be one of {', '.join(_END_BY)}, got {end_by!r}",
                            'use "caller_hangup" (the caller hangs up), "hangup" (the server '
                            'ends the call) or "stay_open"')
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
    return Scenario(
        name=name,
        description=description,
        turns=tuple(turns),
        session=dict(session),
        greeting=_str(data, "greeting", "", required=False),
        default_reply=_str(data, "default_reply", "", required=False,
                           default=Scenario.default_reply) or Scenario.default_reply,
        end_by=end_by,
        end_after_ms=_int(end, "after_ms", "end", 800) or 0,
        timing=timing,
        sip_headers=sip_headers,
    )


def list_scenarios() -> list[str]:
    """Names of the shipped scenarios."""
    folder = resources.files("rtwidgets.emulator") / "scenarios"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load_scenario(spec: str | Path | Mapping[str, Any] | Scenario) -> Scenario:
    """A ``Scenario`` from a shipped name, a path to a JSON file, a dict, or itself."""
    if isinstance(spec, Scenario):
        return spec
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
