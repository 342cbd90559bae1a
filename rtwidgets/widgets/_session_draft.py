"""SessionDraft: the session editor's model — what the form would send, with no widgets.

Why: the SessionEditor is a view; the decisions behind it (which fields differ from what the
server last reported, what one ``session.update`` must carry, when "unknown" sends nothing,
what the raw JSON tab may contain, which MCP credentials must never reach the browser) are
plain data work that must be testable without a comm. The session *rules* themselves (the
server's merge, sameness, server-only fields, locked model/voice) are not here: they live in
``protocol/session.py`` and this module calls them, so a form refuses exactly what the server
would.

The draft works on the form's *control states*: a plain dict with one entry per field
(``instructions``: text; ``voice``: (choice, custom id); ``output_modalities``: choice;
``turn_detection``: (type, threshold, prefix ms, silence ms, idle text, eagerness, create,
interrupt); ``tools``: JSON text; ``tool_choice``: the label of the chosen option). A choice
equal to ``UNKNOWN`` means the field was not reported and is not edited: it sends nothing.

Never: guess what the server applied, send a server-only field, or return a change that
failed validation.
"""

from __future__ import annotations

import copy
import json
import pprint
from collections.abc import Mapping
from typing import Any, Final

from ..protocol.errors import ValidationError
from ..protocol.session import (
    BUILTIN_VOICES,
    SERVER_ONLY_FIELDS,
    check_locks,
    editable_session,
    merge_request,
    minimal_update,
    validate_session,
)
from ._fields import parse_json

__all__ = [
    "CUSTOM_VOICE",
    "SECRET_MASK",
    "UNKNOWN",
    "SessionDraft",
    "editable_session",
    "mask_secrets",
    "minimal_update",
    "render_update_code",
    "unknown_paths",
    "unmask_secrets",
    "voice_choice",
]

#: The voice choice that means "a custom voice id" (typed into a second box).
CUSTOM_VOICE: Final = "custom voice id…"
#: The choice a select control shows while its field is unknown (never sent).
UNKNOWN: Final = "\u2063unknown"
#: Turn detection parameters, in the order of the ``turn_detection`` control state.
_TD_NAMES: Final = (
    "type", "threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms",
    "eagerness", "create_response", "interrupt_response",
)
_TD_SHOWN: Final = {
    "server_vad": frozenset({
        "threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms",
        "create_response", "interrupt_response",
    }),
    "semantic_vad": frozenset({"eagerness", "create_response", "interrupt_response"}),
}


def get_path(obj: Any, path: str) -> Any:
    """The value at dotted ``path`` in nested dicts, or ``None``."""
    for part in path.split("."):
        if not isinstance(obj, Mapping) or part not in obj:
            return None
        obj = obj[part]
    return obj


def set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    """Set dotted ``path`` in nested dicts, creating the containers on the way."""
    parts = path.split(".")
    for part in parts[:-1]:
        nxt = obj.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            obj[part] = nxt
        obj = nxt
    obj[parts[-1]] = value


def leaves(obj: Mapping[str, Any], path: str = "") -> list[tuple[str, Any]]:
    """(dotted path, value) of every leaf of ``obj`` (an empty dict is a leaf)."""
    out: list[tuple[str, Any]] = []
    for key, value in obj.items():
        sub = f"{path}.{key}" if path else str(key)
        if isinstance(value, Mapping) and value:
            out.extend(leaves(value, sub))
        else:
            out.append((sub, value))
    return out


def unknown_paths(session: Mapping[str, Any], paths: Mapping[str, str]) -> set[str]:
    """The names in ``paths`` (name → dotted session path) whose field ``session`` leaves out."""
    unknown = set()
    for name, path in paths.items():
        parent, _, leaf = path.rpartition(".")
        holder = get_path(session, parent) if parent else session
        if not isinstance(holder, Mapping) or leaf not in holder:
            unknown.add(name)
    return unknown


def voice_choice(voice: Any) -> tuple[str, str]:
    """(voice choice, custom id text) for a session voice."""
    if isinstance(voice, str) and voice in BUILTIN_VOICES:
        return voice, ""
    if isinstance(voice, Mapping):
        return CUSTOM_VOICE, str(voice.get("id", ""))
    if voice is None:  # not reported yet: show the server's default
        return BUILTIN_VOICES[0], ""
    return CUSTOM_VOICE, str(voice)


#: Shown in place of an MCP tool's ``authorization`` and header values (credentials).
SECRET_MASK: Final = "<hidden>"


def mask_secrets(value: Any) -> Any:
    """A copy of a session (or tools list) with MCP credentials replaced by ``SECRET_MASK``.

    The form shows and sends text to the browser; an MCP tool's ``authorization`` and its
    ``headers`` values are credentials and never go there.
    """
    if isinstance(value, Mapping):
        out = {k: mask_secrets(v) for k, v in value.items()}
        if value.get("type") == "mcp":
            if isinstance(value.get("authorization"), str):
                out["authorization"] = SECRET_MASK
            headers = value.get("headers")
            if isinstance(headers, Mapping):
                out["headers"] = dict.fromkeys(headers, SECRET_MASK)
        return out
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return copy.deepcopy(value)


def unmask_secrets(tools: Any, original: Any, path: str = "session.tools") -> Any:
    """Put back the credentials ``mask_secrets`` hid, from the same MCP tool (by server_label)
    in ``original``; raises ValidationError when a masked value has no original."""
    if not isinstance(tools, list):
        return tools
    by_label = {
        t.get("server_label"): t
        for t in (original if isinstance(original, list) else [])
        if isinstance(t, Mapping) and t.get("type") == "mcp"
    }
    out: list[Any] = []
    for i, tool in enumerate(tools):
        if not (isinstance(tool, dict) and tool.get("type") == "mcp"):
            out.append(tool)
            continue
        tool = dict(tool)
        source = by_label.get(tool.get("server_label"), {})
        if tool.get("authorization") == SECRET_MASK:
            if not isinstance(source.get("authorization"), str):
                raise ValidationError(
                    f"{path}[{i}].authorization",
                    "is hidden and has no saved value",
                    "type the token again (or remove 'authorization')",
                )
            tool["authorization"] = source["authorization"]
        headers = tool.get("headers")
        if isinstance(headers, dict):
            saved = source.get("headers")
            known: Mapping[str, Any] = saved if isinstance(saved, Mapping) else {}
            fixed = {}
            for name, val in headers.items():
                if val == SECRET_MASK:
                    if name not in known:
                        raise ValidationError(
                            f"{path}[{i}].headers.{name}",
                            "is hidden and has no saved value",
                            "type the header value again (or remove the header)",
                        )
                    val = known[name]
                fixed[name] = val
            tool["headers"] = fixed
        out.append(tool)
    return out


def render_update_code(changed: Mapping[str, Any], *, name: str = "call") -> str:
    """The Python a person would write to send ``changed``: ``await call.update_session(...)``."""
    if not changed:
        return f"await {name}.update_session()  # nothing changed"
    lines = [f"await {name}.update_session("]
    for key, value in changed.items():
        text = pprint.pformat(value, width=88 - len(key), sort_dicts=False)
        text = text.replace("\n", "\n    " + " " * (len(key) + 1))
        lines.append(f"    {key}={text},")
    lines.append(")")
    return "\n".join(lines)



def short_json(value: Any, limit: int = 400) -> str:
    """Compact JSON of ``value``, cut to ``limit`` characters."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SessionDraft:
    """The session as the server last reported it, and what the form's controls make of it.

    ``load(session)`` takes the server's session (``None``: not reported); ``loaded`` is set
    by the view to the control states it showed for that session (edits are counted from
    them); ``changed(states, choices)`` / ``raw_changed(text)`` give the minimal partial
    ``session.update``; ``validated(changed)`` applies the protocol's locks and validation.
    """

    def __init__(self) -> None:
        #: The session as the server last reported it, request-side keys only.
        self.baseline: dict[str, Any] = {}
        #: The full session as reported (server-only keys included), for the raw tab.
        self.server_session: dict[str, Any] = {}
        #: Whether assistant audio exists in the call (the voice is then locked).
        self.audio_started = False
        #: Control states shown for the baseline (plus ``"raw"``: the raw JSON text).
        self.loaded: dict[str, Any] = {}

    def load(self, session: Mapping[str, Any] | None) -> None:
        """Take ``session`` (the server's, full) as the new baseline."""
        self.server_session = dict(session) if isinstance(session, Mapping) else {}
        self.baseline = editable_session(self.server_session)

    def dirty(self, states: Mapping[str, Any]) -> dict[str, Any]:
        """The control states that differ from what was loaded (the person's edits)."""
        return {k: v for k, v in states.items() if v != self.loaded.get(k)}

    def desired(self, changed: Mapping[str, Any]) -> dict[str, Any]:
        """The whole request-side session the form stands for: baseline + ``changed``."""
        return merge_request(self.baseline, changed)

    # -- the form tab ------------------------------------------------------------------------

    def form_changed(
        self, states: Mapping[str, Any], choices: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The partial update the form's edited controls stand for (not yet validated).

        ``choices`` maps a tool-choice label to its value.
        """
        changed: dict[str, Any] = {}
        for key in self.dirty(states):
            if key == "raw":
                continue
            path, value = self.field_value(key, states, choices)
            if key == "turn_detection" and isinstance(value, Mapping) and list(value) == ["type"]:
                base = get_path(self.baseline, path)
                if isinstance(base, Mapping) and base.get("type") == value["type"]:
                    continue  # only hidden parameters of another type were touched
            set_path(changed, path, value)
        return minimal_update(self.baseline, changed) if changed else {}

    def field_value(
        self, key: str, states: Mapping[str, Any], choices: Mapping[str, Any]
    ) -> tuple[str, Any]:
        """(dotted path, value) for a form field; raises ValidationError naming the field."""
        state = states[key]
        if key == "instructions":
            return "instructions", state
        if key == "voice":
            choice, custom = state
            if choice != CUSTOM_VOICE:
                return "audio.output.voice", choice
            vid = custom.strip()
            if not vid.startswith("voice_"):
                raise ValidationError(
                    "session.audio.output.voice.id",
                    f"{vid!r} is not a custom voice id" if vid else "no custom voice id given",
                    "type the 'voice_…' id of a custom voice, or pick a built-in voice",
                )
            return "audio.output.voice", {"id": vid}
        if key == "output_modalities":
            return "output_modalities", [state]
        if key == "turn_detection":
            return "audio.input.turn_detection", self.td_value(state)
        if key == "tools":
            text = state.strip() or "[]"
            tools = parse_json(
                text,
                "session.tools",
                'correct the JSON: a list like [{"type": "function", "name": …}]',
            )
            return "tools", unmask_secrets(tools, self.baseline.get("tools"))
        if key == "tool_choice":
            return "tool_choice", copy.deepcopy(choices.get(state))
        raise KeyError(key)

    def td_value(self, now: tuple[Any, ...]) -> Any:
        """The turn detection the ``turn_detection`` control state stands for.

        Same type as the baseline: only the parameters the person touched (the server merges
        a same-type turn detection key by key). Another type: every parameter it shows.
        """
        kind = now[0]
        if kind == "none":
            return None
        base = get_path(self.baseline, "audio.input.turn_detection")
        same_type = isinstance(base, Mapping) and base.get("type") == kind
        loaded = self.loaded.get("turn_detection") or (None,) * len(_TD_NAMES)
        shown = _TD_SHOWN[kind]
        out: dict[str, Any] = {"type": kind}
        for i, name in enumerate(_TD_NAMES[1:], start=1):
            if name not in shown or (same_type and now[i] == loaded[i]):
                continue
            if name == "idle_timeout_ms":
                text = now[i]
                if text == "":
                    out[name] = None
                else:
                    try:
                        out[name] = int(text)
                    except ValueError:
                        raise ValidationError(
                            "session.audio.input.turn_detection.idle_timeout_ms",
                            f"{text!r} is not a whole number",
                            "type milliseconds from 5000 to 30000, or leave it empty for none",
                        ) from None
            else:
                out[name] = now[i]
        return out

    # -- the raw JSON tab --------------------------------------------------------------------

    def raw_changed(self, text: str) -> dict[str, Any]:
        """The partial update the raw JSON tab's text stands for (not yet validated)."""
        text = text.strip()
        if not text:
            return {}
        desired = parse_json(text, "session", "correct the JSON in the Raw JSON tab (an object)")
        if not isinstance(desired, dict):
            raise ValidationError(
                "session",
                f"expected a JSON object, got {type(desired).__name__}",
                'write the session as an object: {"instructions": …}',
                code="invalid_type",
            )
        for key in SERVER_ONLY_FIELDS:
            if key in desired and desired[key] != self.server_session.get(key):
                raise ValidationError(
                    f"session.{key}",
                    "is set by the server and cannot be sent",
                    f"remove {key!r} from the JSON",
                    code="unknown_parameter",
                )
            desired.pop(key, None)
        if "tools" in desired:
            desired["tools"] = unmask_secrets(desired["tools"], self.baseline.get("tools"))
        return minimal_update(self.baseline, desired)

    # -- checks ------------------------------------------------------------------------------

    def validated(self, changed: dict[str, Any]) -> dict[str, Any]:
        """``changed`` after the protocol's locks and validation (raises ValidationError)."""
        check_locks(self.baseline, changed, audio_started=self.audio_started)
        if changed:
            validate_session({"type": "realtime", **changed}, partial=True)
        return changed

    def session_fields(self, changed: Mapping[str, Any]) -> dict[str, Any]:
        """The whole request-side session (baseline + ``changed``), validated, with a type.

        Used as an accept body (IncomingCalls).
        """
        merged = self.desired(changed)
        merged.setdefault("type", "realtime")
        validate_session(merged, partial=True)
        return merged
