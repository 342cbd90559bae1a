"""The Realtime session object: its default, its validation, the server's partial merge, diffs.

Why: three layers need the same rules. The builders refuse a ``session.update`` the server
would refuse (naming the field and the fix), the emulator applies updates exactly as the
server does (partial merge, model locked, voice locked after audio) and answers bad ones with
the server's ``error.code``/``error.param``, and the views show what the server changed from
what was asked (``session_diff``). Source: realtime-protocol.md §6.1.

Pure: no I/O, no clock (``default_session`` takes the creation time as an argument). The
client side never calls ``merge_session`` to *guess* what the server applied; it reads
``session.updated``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .errors import ErrorCode, ValidationError, did_you_mean, short
from .ids import IdFactory
from .validation import KEYS, SESSION_ADAPTERS, _join, validate_with
from .validation import type_name as _type_name

__all__ = [
    "BUILTIN_VOICES",
    "DEFAULT_INSTRUCTIONS",
    "REALTIME_SESSION_FIELDS",
    "SERVER_ONLY_FIELDS",
    "SessionDiff",
    "check_locks",
    "default_session",
    "default_turn_detection",
    "editable_session",
    "merge_request",
    "merge_session",
    "minimal_update",
    "same_value",
    "session_diff",
    "validate_session",
]

#: The built-in output voices (a custom voice is ``{"id": "voice_…"}``).
BUILTIN_VOICES: Final[tuple[str, ...]] = (
    "alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar",
)

#: What the server puts in ``instructions`` when the client has not set any.
DEFAULT_INSTRUCTIONS: Final = (
    "Your knowledge cutoff is 2023-10. You are a helpful, witty, and friendly AI. Act like a "
    "human, but remember that you aren't a human and that you can't do human things in the "
    "real world. Your voice and personality should be warm and engaging, with a lively and "
    "playful tone. If interacting in a non-English language, start by using the standard "
    "accent or dialect familiar to the user. Talk quickly. You should always call a function "
    "if you can. Do not refer to these rules, even if you're asked about them."
)

#: Fields a client may send in a realtime ``session`` (session.update, accept body).
REALTIME_SESSION_FIELDS: Final[tuple[str, ...]] = (
    "type", "audio", "include", "instructions", "max_output_tokens", "model",
    "output_modalities", "parallel_tool_calls", "prompt", "reasoning", "tool_choice", "tools",
    "tracing", "truncation",
)
_TRANSCRIPTION_SESSION_FIELDS: Final = ("type", "audio", "include")
#: Fields only the server sets; allowed in a full (non-partial) session object, never sent.
SERVER_ONLY_FIELDS: Final[tuple[str, ...]] = ("id", "object", "expires_at", "client_secret")
_SERVER_ONLY_FIELDS: Final = SERVER_ONLY_FIELDS

_MAX_AUDIO_B64: Final = 15 * 1024 * 1024
_FUNCTION_NAME_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_REASONING_EFFORTS: Final = ("minimal", "low", "medium", "high", "xhigh")
_TRANSCRIPTION_DELAYS: Final = ("minimal", "low", "medium", "high", "xhigh")
_MCP_CONNECTORS: Final = (
    "connector_dropbox", "connector_gmail", "connector_googlecalendar",
    "connector_googledrive", "connector_microsoftteams", "connector_outlookcalendar",
    "connector_outlookemail", "connector_sharepoint",
)
_MCP_FIELDS: Final = (
    "type", "server_label", "allowed_callers", "allowed_tools", "authorization",
    "connector_id", "defer_loading", "headers", "require_approval", "server_description",
    "server_url", "tunnel_id",
)


# ---------------------------------------------------------------------------------------
# Field checkers shared with builders.py. Each raises ValidationError naming ``path``.
# ---------------------------------------------------------------------------------------


def _fail(path: str, problem: str, fix: str, code: ErrorCode = "invalid_value") -> ValidationError:
    return ValidationError(path, problem, fix, code=code)


def _obj(
    value: Any,
    path: str,
    allowed: Collection[str],
    required: Sequence[str] = (),
    *,
    what: str = "an object",
) -> Mapping[str, Any]:
    """Check ``value`` is a JSON object with only ``allowed`` keys and all ``required`` keys."""
    if not isinstance(value, Mapping):
        raise _fail(
            path, f"expected {what}, got {_type_name(value)}",
            f"pass {what} (a dict) with the fields {', '.join(sorted(allowed))}",
            "invalid_type",
        )
    for key in value:
        if not isinstance(key, str):
            raise _fail(
                path, f"has a non-string key {short(key)}", "use string keys only",
                "invalid_type",
            )
        if key not in allowed:
            raise _fail(
                _join(path, key),
                f"unknown parameter{did_you_mean(key, allowed)}",
                f"remove it; the fields allowed here are {', '.join(sorted(allowed))}",
                "unknown_parameter",
            )
    for key in required:
        if key not in value:
            raise _fail(
                _join(path, key), "missing required parameter",
                f"add {key!r} to {path or 'the object'}", "missing_required_parameter",
            )
    return value


def _str(
    value: Any, path: str, *, nonempty: bool = False, max_len: int | None = None,
    secret: bool = False,
) -> str:
    if not isinstance(value, str):
        shown = "" if secret else f" {short(value)}"
        raise _fail(
            path, f"expected a string, got {_type_name(value)}{shown}", "pass a string",
            "invalid_type",
        )
    if nonempty and not value:
        raise _fail(path, "must not be empty", "pass a non-empty string")
    if max_len is not None and len(value) > max_len:
        raise _fail(
            path, f"is {len(value)} characters long, above the limit of {max_len}",
            f"use at most {max_len} characters",
        )
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(
            path, f"expected a boolean, got {_type_name(value)} {short(value)}",
            "pass true or false", "invalid_type",
        )
    return value


def _int(value: Any, path: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, float) and value.is_integer():
        # JSON decoders may hand us 300.0 for 300; the server accepts it as an integer.
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(
            path, f"expected an integer, got {_type_name(value)} {short(value)}",
            _range_fix("an integer", lo, hi), "invalid_type",
        )
    _check_range(value, path, lo, hi, "an integer")
    return value








def _range_fix(kind: str, lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"use {kind} from {lo} to {hi}"
    if lo is not None:
        return f"use {kind} of at least {lo}"
    if hi is not None:
        return f"use {kind} of at most {hi}"
    return f"use {kind}"


def _check_range(
    value: float, path: str, lo: float | None, hi: float | None, kind: str
) -> None:
    if lo is not None and value < lo:
        raise _fail(path, f"{value} is below the minimum {lo}", _range_fix(kind, lo, hi))
    if hi is not None and value > hi:
        raise _fail(path, f"{value} is above the maximum {hi}", _range_fix(kind, lo, hi))


def _enum(value: Any, path: str, choices: Sequence[Any]) -> Any:
    # bool is excluded on purpose: True == 1 must not pass for a numeric choice.
    if type(value) in (str, int, float, type(None)) and value in choices:
        return value
    hint = ""
    if isinstance(value, str):
        hint = did_you_mean(value, [c for c in choices if isinstance(c, str)])
    listed = ", ".join(repr(c) for c in choices)
    code: ErrorCode = "invalid_value" if isinstance(value, str) else "invalid_type"
    raise _fail(path, f"{short(value)} is not supported{hint}", f"use one of {listed}", code)


def _list(value: Any, path: str, *, max_items: int | None = None) -> Sequence[Any]:
    if not isinstance(value, (list, tuple)):
        raise _fail(
            path, f"expected an array, got {_type_name(value)} {short(value)}",
            "pass a list", "invalid_type",
        )
    if max_items is not None and len(value) > max_items:
        raise _fail(
            path, f"has {len(value)} entries, above the limit of {max_items}",
            f"pass at most {max_items} entries",
        )
    return value




def _base64(value: Any, path: str) -> None:
    text = _str(value, path)
    if len(text) > _MAX_AUDIO_B64:
        raise _fail(
            path,
            f"is {len(text)} base64 characters, above the 15 MiB limit",
            "split the audio into smaller chunks (send several events)",
        )
    if len(text) % 4 or text.rstrip("=").strip(_B64_ALPHABET):
        raise _fail(
            path, "is not valid base64",
            "encode the raw audio bytes with base64.b64encode(...).decode()",
        )


_B64_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


# ---------------------------------------------------------------------------------------
# Session pieces
# ---------------------------------------------------------------------------------------


def _audio_format(value: Any, path: str) -> None:
    fmt = _obj(value, path, ("type", "rate"), ("type",))
    kind = _enum(fmt["type"], _join(path, "type"), ("audio/pcm", "audio/pcmu", "audio/pcma"))
    if "rate" in fmt:
        if kind != "audio/pcm":
            raise _fail(
                _join(path, "rate"), f"is only allowed with 'audio/pcm', not {kind!r}",
                "remove 'rate' (G.711 is always 8 kHz)", "unknown_parameter",
            )
        rate = _int(fmt["rate"], _join(path, "rate"))
        if rate != 24000:
            raise _fail(_join(path, "rate"), f"{rate} is not supported", "use 24000")
















def _output_modalities(value: Any, path: str) -> None:
    mods = _list(value, path)
    for i, mod in enumerate(mods):
        _enum(mod, _join(path, i), ("audio", "text"))
    if len(mods) != 1:
        raise _fail(
            path, f"{short(list(mods))} is not supported: exactly one modality is allowed",
            "use ['audio'] (audio plus its transcript) or ['text']",
        )


























# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------


def validate_session(fields: Mapping[str, Any], *, partial: bool, path: str = "session") -> None:
    """Check a session object as the server would, raising ``ValidationError`` on the first fault.

    Args:
        fields: the ``session`` object.
        partial: ``True`` for a request (``session.update``, an accept body): only the fields
            present are checked, and ``type`` is required. ``False`` for a full effective
            session as ``session.created`` carries it: the core fields must be present and the
            server-only fields (``id``, ``object``, ``expires_at``) are allowed.
        path: the dotted prefix used in error fields (``"session"`` for events).

    Raises:
        ValidationError: with ``field``/``param`` the dotted path of the fault.
    """
    if not isinstance(fields, Mapping):
        raise _fail(
            path, f"expected an object, got {_type_name(fields)}",
            "pass a dict of session fields, e.g. {'type': 'realtime', 'instructions': ...}",
            "invalid_type",
        )
    if "type" not in fields:
        raise _fail(
            _join(path, "type"), "missing required parameter",
            "add 'type': 'realtime' to the session", "missing_required_parameter",
        )
    kind = _enum(fields["type"], _join(path, "type"), ("realtime", "transcription"))
    body = dict(fields)
    if partial:
        for key in fields:
            if key in _SERVER_ONLY_FIELDS:
                raise _fail(
                    _join(path, key), "unknown parameter: it is set by the server",
                    "remove it (read-only fields of session.created cannot be sent back)",
                    "unknown_parameter",
                )
    else:
        required = ("type", "model", "output_modalities", "audio") if kind == "realtime" else (
            "type", "audio",
        )
        for key in required:
            if key not in fields:
                raise _fail(
                    _join(path, key), "missing required parameter",
                    f"add {key!r} to {path}", "missing_required_parameter",
                )
        for key in _SERVER_ONLY_FIELDS:
            if key in body:
                _SERVER_ONLY_CHECKS[key](body.pop(key), _join(path, key))
    validate_with(SESSION_ADAPTERS[kind], body, path, KEYS[kind])
    _session_rules(body, path)


def _session_rules(fields: Mapping[str, Any], path: str) -> None:
    """What the declarative types cannot say: one modality, a rate only with PCM, unique
    tool names, an MCP server by URL or connector, tool parameters describing an object."""
    if "output_modalities" in fields:
        _output_modalities(fields["output_modalities"], _join(path, "output_modalities"))
    audio = fields.get("audio") or {}
    for side in ("input", "output"):
        fmt = (audio.get(side) or {}).get("format")
        if fmt is not None:
            _audio_format(fmt, _join(_join(_join(path, "audio"), side), "format"))
    _tool_rules(fields.get("tools") or (), _join(path, "tools"))


def _tool_rules(tools: Any, path: str) -> None:
    seen: set[tuple[str, str]] = set()
    for i, tool in enumerate(tools):
        tpath = _join(path, i)
        kind = tool["type"]
        if kind == "function":
            name = tool["name"]
            params = tool.get("parameters") or {}
            if params.get("type") not in (None, "object"):
                raise _fail(
                    _join(_join(tpath, "parameters"), "type"),
                    f"{short(params['type'])} is not supported: parameters describe an object",
                    "use {'type': 'object', 'properties': {...}}",
                )
        else:
            name = tool["server_label"]
            if "server_url" not in tool and "connector_id" not in tool:
                raise _fail(
                    _join(tpath, "server_url"), "missing required parameter",
                    "give the MCP server's 'server_url' or a 'connector_id'",
                    "missing_required_parameter",
                )
        if (kind, name) in seen:
            field = "name" if kind == "function" else "server_label"
            raise _fail(
                _join(tpath, field), f"{short(name)} is defined twice",
                "give every tool a unique name",
            )
        seen.add((kind, name))


_SERVER_ONLY_CHECKS: Final[dict[str, Callable[[Any, str], Any]]] = {
    "id": lambda v, p: _str(v, p),
    "object": lambda v, p: _enum(v, p, ("realtime.session",)),
    "expires_at": lambda v, p: _int(v, p, 0),
    "client_secret": lambda v, p: None,
}


def default_turn_detection(kind: str = "server_vad") -> dict[str, Any]:
    """The turn detection the server fills in for ``kind`` when fields are left out."""
    if kind == "semantic_vad":
        return {
            "type": "semantic_vad", "eagerness": "auto",
            "create_response": True, "interrupt_response": True,
        }
    return {
        "type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
        "silence_duration_ms": 200, "idle_timeout_ms": None,
        "create_response": True, "interrupt_response": True,
    }


def default_session(
    model: str, ids: IdFactory, *, created_at: int = 0, lifetime_s: int = 3600
) -> dict[str, Any]:
    """The full effective session a new call starts with, as ``session.created`` carries it.

    Args:
        model: the model id, e.g. ``"gpt-realtime-2.1"``.
        ids: where the ``sess_…`` id comes from (seed it for reproducible output).
        created_at: unix seconds of the session's creation (the core reads no clock).
        lifetime_s: seconds until ``expires_at``.
    """
    _str(model, "session.model", nonempty=True)
    pcm = {"type": "audio/pcm", "rate": 24000}
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": ids.session_id(),
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": int(created_at) + lifetime_s,
        "audio": {
            "input": {
                "format": dict(pcm),
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": default_turn_detection("server_vad"),
            },
            "output": {"format": dict(pcm), "voice": "alloy", "speed": 1.0},
        },
        "include": None,
    }


#: Dicts that are the server's *containers* (merged key by key); other dicts are values.
_MERGED_CONTAINERS: Final = frozenset({"", "audio", "audio.input", "audio.output"})


def _current_voice(session: Mapping[str, Any]) -> Any:
    audio = session.get("audio")
    output = audio.get("output") if isinstance(audio, Mapping) else None
    return output.get("voice") if isinstance(output, Mapping) else None


def merge_session(
    current: Mapping[str, Any], update: Mapping[str, Any], *, audio_started: bool
) -> dict[str, Any]:
    """Apply a ``session.update`` the way the server does and return the new session.

    Nested containers (``audio``, ``audio.input``, ``audio.output``) are merged key by key;
    lists are replaced; ``None`` clears (``turn_detection: None`` turns VAD off). A value
    object with a ``type`` (turn detection, audio format, truncation…) is merged with the
    current one when the type is unchanged, and otherwise replaces it, with the server's
    defaults filled in for a new turn-detection type. ``current`` is not modified.

    Raises:
        ValidationError: the update is invalid; ``model`` changes (param ``session.model``);
            the voice changes once assistant audio exists (``session.audio.output.voice``).
    """
    validate_session(update, partial=True)
    check_locks(current, update, audio_started=audio_started)
    return _merge(current, update, "")


def check_locks(
    current: Mapping[str, Any], update: Mapping[str, Any], *, audio_started: bool
) -> None:
    """Refuse what the server never changes mid-call: the model, the session type, and the
    voice once assistant audio exists (realtime-protocol.md §6.1). ``update`` is partial.

    The one home of these rules: ``merge_session`` (the emulator) and the session editor's
    draft both call it, so a form refuses exactly what the server would.

    Raises:
        ValidationError: param ``session.model``, ``session.type`` or
            ``session.audio.output.voice``.
    """
    if "model" in update and update["model"] != current.get("model"):
        raise _fail(
            "session.model",
            f"cannot change the model of a running session from {short(current.get('model'))} "
            f"to {short(update['model'])}: the server never changes a call's model",
            f"leave 'model' out of session.update, or set it back to "
            f"{short(current.get('model'))} (start a new call for another model)",
        )
    if "type" in update and "type" in current and update["type"] != current["type"]:
        raise _fail(
            "session.type", f"cannot change the session type from {short(current.get('type'))}",
            f"send 'type': {current.get('type')!r}",
        )
    audio = update.get("audio")
    output = audio.get("output") if isinstance(audio, Mapping) else None
    if (
        audio_started
        and isinstance(output, Mapping)
        and output.get("voice") is not None
        and output["voice"] != _current_voice(current)
    ):
        raise _fail(
            "session.audio.output.voice",
            "Cannot update a conversation's voice if assistant audio is present "
            "(the voice is locked once the model has spoken in this call)",
            "keep the current voice (set it before the first response of a new call)",
        )


def editable_session(session: Mapping[str, Any] | None) -> dict[str, Any]:
    """The request-side part of a server session (server-only keys removed), deep-copied."""
    if not session:
        return {}
    return {k: copy.deepcopy(v) for k, v in session.items() if k not in SERVER_ONLY_FIELDS}


def minimal_update(
    baseline: Mapping[str, Any], desired: Mapping[str, Any], _path: str = ""
) -> dict[str, Any]:
    """The smallest partial ``session.update`` turning ``baseline`` into ``desired``.

    Containers (``audio``, ``audio.input``, ``audio.output``) are compared key by key; other
    values whole (``same_value``). Keys absent from ``desired`` are left alone (never cleared).
    """
    out: dict[str, Any] = {}
    for key, want in desired.items():
        sub = f"{_path}.{key}" if _path else key
        have = baseline.get(key)
        if sub in _MERGED_CONTAINERS and isinstance(want, Mapping) and isinstance(have, Mapping):
            inner = minimal_update(have, want, sub)
            if inner:
                out[key] = inner
        elif key not in baseline or not same_value(want, have):
            out[key] = copy.deepcopy(want)
    return out


def merge_request(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with the partial ``update`` laid over it as the server merges a request —
    containers key by key, a same-type turn detection key by key, anything else replaced —
    but with no validation, no locks and no server defaults filled in (what a client composes:
    a form's whole desired session, an accept body). ``base`` is not modified."""
    return _merge(base, update, "", fill_defaults=False)


def _merge(
    current: Mapping[str, Any], update: Mapping[str, Any], path: str, *,
    fill_defaults: bool = True,
) -> dict[str, Any]:
    merged = dict(current)
    for key, value in update.items():
        sub = f"{path}.{key}" if path else key
        old = current.get(key)
        if isinstance(value, Mapping):
            if sub in _MERGED_CONTAINERS and isinstance(old, Mapping):
                merged[key] = _merge(old, value, sub, fill_defaults=fill_defaults)
            elif (
                isinstance(old, Mapping)
                and "type" in value
                and old.get("type") == value.get("type")
            ):
                merged[key] = {**old, **copy.deepcopy(dict(value))}
            elif fill_defaults and sub == "audio.input.turn_detection":
                defaults = default_turn_detection(value["type"])
                merged[key] = {**defaults, **copy.deepcopy(dict(value))}
            else:
                merged[key] = copy.deepcopy(dict(value))
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@dataclass(frozen=True, slots=True)
class SessionDiff:
    """One leaf the server applied differently from what was requested.

    ``path`` is dotted and relative to the session (``"audio.output.speed"``);
    ``applied`` is ``None`` when the server's session lacks the field.
    """

    path: str
    requested: Any
    applied: Any


_MISSING: Final = object()


def session_diff(requested: Mapping[str, Any], applied: Mapping[str, Any]) -> list[SessionDiff]:
    """Leaf paths of ``requested`` whose value in ``applied`` differs (lists compared whole)."""
    out: list[SessionDiff] = []
    _diff(requested, applied, "", out)
    return out


def _diff(req: Mapping[str, Any], app: Any, path: str, out: list[SessionDiff]) -> None:
    for key, want in req.items():
        sub = f"{path}.{key}" if path else str(key)
        got = app.get(key, _MISSING) if isinstance(app, Mapping) else _MISSING
        if isinstance(want, Mapping):
            if isinstance(got, Mapping):
                _diff(want, got, sub, out)
            else:
                out.append(SessionDiff(sub, want, None if got is _MISSING else got))
        elif got is _MISSING or not same_value(want, got):
            out.append(SessionDiff(sub, want, None if got is _MISSING else got))


def same_value(a: Any, b: Any) -> bool:
    """JSON sameness: ``True`` is not ``1``, ``1.0`` equals ``1``, lists and objects compare
    member by member. The one definition used by ``session_diff`` and ``minimal_update``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
