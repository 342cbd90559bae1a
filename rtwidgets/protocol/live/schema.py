"""GPT-Live session shapes as checkable models: the SDK's param types plus what it cannot say.

Why: the Live session is written in three places (the REST bodies of accept / create / fork
in ``_control.py`` and the sideband ``session.update`` in ``builders.py``), and each used to
hand-check the same delegation, trigger, voice and backend fields. The SDK's
``openai.types.live`` param TypedDicts describe those bodies; ``validation.from_sdk`` makes
them strict, and ``FIELDS`` / ``WRAP`` here give a few keys, wherever they occur, what the
docs say the server enforces and the SDK's hints cannot say: a non-blank model or voice,
whole-number ranges, a 0–1 threshold, one text part per initial message (128 at most), one
trigger per transcript event. The SDK's backend tool and tool-choice types carry only their
``type`` (a real ``file_search`` has its vector stores), so a backend tool's settings stay
the server's to judge: only its ``type`` (and a function's ``name``) is checked here.

Pure: no I/O. Never echoes a secret (``safety_identifier`` is refused unquoted when it looks
like a key).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    with_config,
)
from typing_extensions import TypedDict

from ..ids import looks_secret
from ..validation import Int, rule

__all__ = ["FIELDS", "WHAT", "WRAP", "Name"]

#: A name the server needs filled: blank after stripping is refused.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_STRICT: Final = ConfigDict(extra="forbid", strict=True)
_OPEN: Final = ConfigDict(extra="allow", strict=True)


@with_config(_STRICT)
class _VoiceId(TypedDict):
    id: Name


@with_config(_OPEN)
class _BackendTool(TypedDict):
    type: Name


@with_config(_OPEN)
class _BackendFunction(TypedDict):
    type: Literal["function"]
    name: Name


@with_config(_OPEN)
class _Question(TypedDict):
    type: Literal["choice", "predicate", "score"]
    instructions: Name | list[Any]


def _kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "~name"
    return "~object" if isinstance(value, Mapping) else None


def _tool_kind(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    return "~function" if value.get("type") == "function" else "~tool"


def _one_trigger_per_event(triggers: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    seen: set[str] = set()
    for i, trigger in enumerate(triggers):
        if trigger["event_type"] in seen:
            raise rule(f"a second trigger for {trigger['event_type']!r}",
                       "give at most one trigger per transcript event_type",
                       at=(i, "event_type"))
        seen.add(trigger["event_type"])
    return triggers


def _not_secret(value: str | None) -> str | None:
    if value is not None and looks_secret(value):
        raise rule("looks like an API key or secret (not shown)",
                   "pass a stable id of your end user, never a key")
    return value


#: Key → its type wherever it occurs in a Live session body (``from_sdk(fields=…)``).
FIELDS: Final[dict[str, Any]] = {
    "model": Name,
    "voice": Annotated[Annotated[Name, Tag("~name")] | Annotated[_VoiceId, Tag("~object")],
                       Discriminator(_kind)],
    "acknowledgement_delay_ms": Annotated[Int, Field(ge=0)],
    "max_output_tokens": Annotated[Int, Field(ge=1)] | None,
    "idle_timeout_s": Annotated[Int, Field(ge=1)],
    "vad_threshold": Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)],
    "safety_identifier": Annotated[str | None, AfterValidator(_not_secret)],
    "tools": list[Annotated[Annotated[_BackendFunction, Tag("~function")]
                            | Annotated[_BackendTool, Tag("~tool")], Discriminator(_tool_kind)]],
    "tool_choice": Annotated[
        Annotated[Literal["auto", "none", "required"], Tag("~name")]
        | Annotated[_BackendTool, Tag("~object")], Discriminator(_kind)],
    "questions": list[_Question],
}
#: Key → more constraints on its rebuilt SDK type (``from_sdk(wrap=…)``).
WRAP: Final[dict[str, Callable[[Any], Any]]] = {
    "input": lambda t: Annotated[t, Field(max_length=128)],
    "content": lambda t: Annotated[t, Field(min_length=1, max_length=1)],
    "triggers": lambda t: Annotated[t, AfterValidator(_one_trigger_per_event)],
}
#: What a value of a union-typed key should be, for the translator's "expected …".
WHAT: Final[dict[str, str]] = {
    "audio.output.voice": "a voice name or {'id': 'voice_…'}",
    "delegation": "a delegation object or null",
    "input[]": "a message object",
    "delegation.responses.tools[]": "a tool object with a 'type'",
    "delegation.responses.tool_choice": "a mode or a tool choice object",
}
