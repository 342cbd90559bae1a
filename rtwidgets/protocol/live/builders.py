"""One builder per GPT-Live sideband client event, and ``validate_client_event`` for any.

Why: on a Live sideband a bad event costs more than on Realtime: the context is
append-only (a wrong append cannot be taken back), the delegation type cannot change, and
the SDK sends a raw dict unvalidated (live-protocol.md §5). So every event we send is checked
here first, with an error that names the field and the fix, and nothing is sent.

What Live lets change after start is narrow (live-protocol.md §6.3): ``session.update`` takes
only ``delegation`` (same type as the session's; its settings sparse) and ``triggers``.
Model, instructions, voice, audio, input and the rest are fixed at start; a request for them
is refused with a fix (append instructions instead). Actions Live does not have at all
(``response.cancel``, truncation, clearing output audio, ``conversation.item.*``) and the
primary-only ``session.start`` / ``session.input_audio.append`` raise
``UnsupportedLiveAction``, a ``ValidationError`` that says why.

The checks follow the SDK's ``openai.types.live`` param types (what the builders produce is
validated against those TypedDicts in ``tests/protocol/live/test_builders.py``); the
``session.update`` body IS that type (``SessionUpdateConfigParam`` made strict by
``validation.from_sdk``, with the Live keys of ``schema``, through the one translator). On top
come what the docs state the server enforces: a non-blank ``content`` and a
required-but-nullable ``delegation_id`` on the appends, one DTMF key per event, one trigger
per event type, a delegation whose owner does not change.
Limits the docs give in tokens (500 per append) are not checked: we cannot count tokens.

Pure: no socket, no clock, no asyncio. Never echoes a secret or a long payload.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from openai.types.live.session_update_config_param import SessionUpdateConfigParam

from ..errors import ValidationError, did_you_mean, short
from ..ids import IdFactory, looks_secret, refuse_secret
from ..validation import Schema, from_sdk
from . import schema
from .catalog import CLIENT_EVENT_TYPES, NOT_ON_SIDEBAND, REALTIME_ONLY

__all__ = [
    "DELEGATION_TYPES",
    "DTMF_KEYS",
    "MUTABLE_SESSION_FIELDS",
    "UnsupportedLiveAction",
    "append",
    "commentary_append",
    "dtmf_send",
    "function_call_output",
    "input_audio_mute",
    "input_audio_unmute",
    "instructions_append",
    "refuse_action",
    "response_create",
    "response_item_create",
    "session_close",
    "session_update",
    "thinking_append",
    "validate_client_event",
    "validate_session_update",
]

#: What ``session.update`` may carry on a running Live session (SDK ``SessionUpdateConfig``).
MUTABLE_SESSION_FIELDS: Final = ("delegation", "triggers")
#: Session fields fixed at start, with what to do instead (live-protocol.md §6.1).
_IMMUTABLE: Final[dict[str, str]] = {
    "instructions": ("append instructions instead: call.append_instructions(text) "
                     "(session.instructions.append)"),
    "model": "the voice model is fixed for the session's life; start a new session",
    "audio": "voice and audio format are fixed at start; start a new session",
    "input": "the initial input is fixed at start; append text with the append events",
    "client": "the data-channel permissions are fixed at start",
    "safety_identifier": "it is fixed at start",
    "store": "it is fixed at start (a fork may override it)",
    "idle_timeout_s": "it is fixed at create (WebRTC only)",
    "wake_policy": "it is fixed at create (WebRTC only)",
    "type": "a Live session.update has no session type; leave it out",
    "tools": ("tools belong to the Responses backend: update "
              "delegation={'type': 'responses', 'responses': {'tools': [...]}}"),
    "voice": "voice is fixed at start; start a new session",
    "turn_detection": "GPT-Live has no turn detection: it is full duplex",
}
DELEGATION_TYPES: Final = ("client", "responses", "decisions")
#: One key per ``transport.dtmf.send`` (SDK docstring: 0–9, A–D, * or #).
DTMF_KEYS: Final = frozenset("0123456789ABCD*#")
_APPENDS: Final = ("session.instructions.append", "session.thinking.append",
                   "session.commentary.append")
# Opaque server ids (delegation ids, call ids): a safe character set and a bound, never a
# shape copied from an example (live-protocol.md §2.4: the client-delegation shape is unknown).
_SAFE_ID: Final = re.compile(r"[A-Za-z0-9_.:\-]{1,256}\Z")
_BASE64: Final = re.compile(r"[A-Za-z0-9+/]*={0,2}\Z")

# The module's id source for event ids.
_ids = IdFactory()


class UnsupportedLiveAction(ValidationError):
    """An action GPT-Live does not have (or not on a sideband); nothing was sent.

    ``field`` names the action (``"response.cancel"``, ``"cancel_response"``); the message
    says why Live has no such thing and what to do instead.
    """

    def __init__(self, action: str, why: str, fix: str) -> None:
        super().__init__(action, f"GPT-Live has no such action: {why}", fix,
                         code="invalid_event")
        self.action = action

    def __reduce__(self) -> tuple[Any, ...]:
        return (UnsupportedLiveAction, (self.action, self.problem.split(": ", 1)[-1], self.fix))


# Realtime ``Call`` methods and their wire events, for ``refuse_action``.
_METHOD_EVENTS: Final[dict[str, str]] = {
    "cancel_response": "response.cancel",
    "truncate": "conversation.item.truncate",
    "clear_output_audio": "output_audio_buffer.clear",
    "create_item": "conversation.item.create",
    "delete_item": "conversation.item.delete",
    "retrieve_item": "conversation.item.retrieve",
    "commit_input_audio": "input_audio_buffer.commit",
    "clear_input_audio": "input_audio_buffer.clear",
}
_INSTEAD: Final[dict[str, str]] = {
    "response.cancel": ("use close_session() to end the session (close() only detaches), "
                        "or append_instructions(...) to steer"),
    "conversation.item.truncate": "append a correction with append_instructions(...)",
    "conversation.item.create": ("use append_instructions/append_thinking/append_commentary, "
                                 "or send_tool_output(...) for a backend tool call"),
    "conversation.item.delete": "append a correction with append_instructions(...)",
    "conversation.item.retrieve": "read the transcript from the call's state",
    "output_audio_buffer.clear": ("use close_session() to end the session (close() only "
                                  "detaches)"),
    "input_audio_buffer.append": "send audio over the primary connection",
    "input_audio_buffer.commit": "nothing to do: the model listens all the time",
    "input_audio_buffer.clear": "use mute() to give the model silence",
    "session.start": "attach to the running session; do not start it again",
    "session.input_audio.append": "send audio over the primary connection",
}


def refuse_action(action: str) -> UnsupportedLiveAction:
    """The error for a Realtime action (a ``Call`` method name or a wire type) on Live."""
    wire = _METHOD_EVENTS.get(action, action)
    why = REALTIME_ONLY.get(wire) or NOT_ON_SIDEBAND.get(wire)
    if why is None:
        why = f"{action} exists only in the Realtime API"
    return UnsupportedLiveAction(action, why, _INSTEAD.get(wire, "see live-protocol.md §5"))


# ----------------------------------------------------------------------------- helpers


def _tname(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "a list", str: "a string", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


def _obj(value: Any, path: str, allowed: Iterable[str], required: Iterable[str] = ()
         ) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(path or "event", f"expected an object, got {_tname(value)}",
                              "pass a dict", code="invalid_type")
    keys = tuple(allowed)
    for key in value:
        if key not in keys:
            where = f"{path}.{key}" if path else str(key)
            raise ValidationError(where, f"unknown parameter{did_you_mean(str(key), keys)}",
                                  f"remove it; the fields allowed here are "
                                  f"{', '.join(sorted(keys))}", code="unknown_parameter")
    for key in required:
        if key not in value:
            where = f"{path}.{key}" if path else key
            raise ValidationError(where, "missing required parameter",
                                  f"add {key!r}", code="missing_required_parameter")
    return value


def _text(value: Any, path: str, *, fix: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(path, f"expected a string, got {_tname(value)}", fix,
                              code="invalid_type")
    if not value.strip():
        raise ValidationError(path, "is empty", fix)
    return value


def _opaque_id(value: Any, path: str, what: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(path, f"expected {what} (a string), got {_tname(value)}",
                              f"pass {what} exactly as the server sent it", code="invalid_type")
    if looks_secret(value):
        refuse_secret(value, path)
    if not _SAFE_ID.match(value):
        raise ValidationError(path, f"{short(value)} is not {what}: only letters, digits and "
                              "'_', '-', '.', ':' are expected, up to 256 characters",
                              f"pass {what} exactly as the server sent it")
    return value


def _enum(value: Any, path: str, choices: Iterable[str], *, nullable: bool = True) -> None:
    opts = tuple(choices)
    if value is None and nullable:
        return
    if not isinstance(value, str) or value not in opts:
        hint = did_you_mean(value, opts) if isinstance(value, str) else ""
        raise ValidationError(path, f"{short(value)} is not supported{hint}",
                              f"use one of {', '.join(repr(c) for c in opts)}",
                              code="invalid_value" if isinstance(value, str) else "invalid_type")


def _list(value: Any, path: str) -> list[Any]:
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list):
        raise ValidationError(path, f"expected a list, got {_tname(value)}", "pass a list",
                              code="invalid_type")
    return value


def _event_id(value: Any) -> None:
    refuse_secret(_text(value, "event_id", fix="use any short string of your choosing"),
                  "event_id")
    if len(value) > 512:
        raise ValidationError("event_id", f"is {len(value)} characters long, above 512",
                              "use a shorter id")


# ----------------------------------------------------------------------------- session


#: ``session.update``'s ``session``: the SDK's ``SessionUpdateConfigParam`` made strict, with
#: the Live keys of ``schema`` (shared with accept / create / fork in ``_control``).
_SESSION_UPDATE: Final = Schema(
    from_sdk(SessionUpdateConfigParam, fields=schema.FIELDS, wrap=schema.WRAP),
    fixes={
        "delegation.acknowledgement_delay_ms": "use a whole number >= 0",
        "delegation.responses.model": ("name a Responses model, e.g. 'gpt-5.5'; omit it to "
                                       "keep the current backend model"),
        "delegation.decisions.model": ("name a Decisions model, or omit it to keep the "
                                       "current one"),
        "delegation.responses.max_output_tokens": "use a whole number >= 1, or null",
        "delegation.responses.tools[].name": "name the function",
        "delegation.responses.tools[].type": ("give the tool a type, e.g. 'function' or "
                                              "'web_search'"),
        "triggers": "pass a list of triggers, or [] to disable them",
        "triggers[].decisions.questions[]": ("pass e.g. {'type': 'predicate', "
                                             "'instructions': '…'}"),
        "triggers[].decisions.questions[].instructions": "say what to decide",
        "delegation.decisions.questions[].instructions": "say what to decide",
        "delegation.responses.tool_choice": ("pass e.g. 'auto' or {'type': 'function', "
                                             "'name': 'lookup'}"),
    },
    what=schema.WHAT,
)


def _delegation_owner(value: Any, path: str, current: str | None) -> None:
    """What a running session's delegation may not do: reset, or change its owner."""
    if value is None:
        raise ValidationError(path, "null would reset the delegation, and its type cannot "
                              "change while the session runs",
                              "leave 'delegation' out to keep it, or pass settings of the "
                              "same type")
    if not isinstance(value, Mapping):
        return  # the schema names the wrong type
    if "type" not in value:
        raise ValidationError(f"{path}.type", "missing required parameter",
                              f"add the session's delegation type ({current or 'client'}, "
                              "responses or decisions): it cannot change",
                              code="missing_required_parameter")
    kind = value["type"]
    if current is not None and kind in DELEGATION_TYPES and kind != current:
        raise ValidationError(f"{path}.type", f"the session delegates to {current!r}; the "
                              "delegation type cannot change while the session runs",
                              f"use type {current!r} (only its settings can change), or "
                              "start a new session")


def validate_session_update(session: Any, *, current_delegation: str | None = None,
                            path: str = "session") -> None:
    """Check the ``session`` of a Live ``session.update`` (only delegation and triggers).

    ``current_delegation``: the session's delegation type when known (``"client"`` for a
    null delegation); a different type is refused, as the server would.
    """
    if not isinstance(session, Mapping):
        raise ValidationError(path, f"expected an object, got {_tname(session)}",
                              "pass e.g. {'triggers': []}", code="invalid_type")
    for key in session:  # a field fixed at start: say what to do instead
        fix = _IMMUTABLE.get(str(key))
        if fix is not None:
            raise ValidationError(f"{path}.{key}", "cannot change on a running GPT-Live "
                                  "session (only delegation settings and triggers can)",
                                  fix, code="unknown_parameter")
    if not session:
        raise ValidationError(path, "is empty: nothing to change",
                              "pass delegation=... and/or triggers=[...]")
    if "delegation" in session:
        _delegation_owner(session["delegation"], f"{path}.delegation", current_delegation)
    _SESSION_UPDATE.validate(session, path)


# ----------------------------------------------------------------------------- events


def _item(value: Any, path: str) -> None:
    item = _obj(value, path, _item_keys(value))
    kind = item.get("type")
    if kind == "function_call_output":
        _obj(item, path, ("type", "call_id", "output", "id", "status"), ("call_id", "output"))
        _opaque_id(item["call_id"], f"{path}.call_id", "a tool call id (call_…)")
        out = item["output"]
        if not isinstance(out, str | list):
            raise ValidationError(f"{path}.output", f"expected a string, got {_tname(out)}",
                                  "pass the tool's result as text (json.dumps a dict)",
                                  code="invalid_type")
    elif kind == "message" or (kind is None and "role" in item):
        _enum(item.get("role"), f"{path}.role", ("user", "developer", "system", "assistant"),
              nullable=False)
        content = item.get("content")
        if isinstance(content, str):
            _text(content, f"{path}.content", fix="pass the message text")
        else:
            parts = _list(content, f"{path}.content")
            if not parts:
                raise ValidationError(f"{path}.content", "is empty",
                                      "pass e.g. [{'type': 'input_text', 'text': '…'}]")
    elif not isinstance(kind, str):
        raise ValidationError(f"{path}.type", "missing or not a string",
                              "give the item a type, e.g. 'function_call_output' or "
                              "'message'", code="missing_required_parameter")


def _item_keys(value: Any) -> tuple[str, ...]:
    # Responses input items are many and broad (SDK ResponseInputItemParam); only the two
    # a sideband uses are checked field by field, the rest pass their keys through.
    if isinstance(value, Mapping):
        return tuple(str(k) for k in value)
    return ()


def _check_append(event: Mapping[str, Any]) -> None:
    _text(event["content"], "content", fix="pass the text to append")
    did = event["delegation_id"]
    if did is not None:
        _opaque_id(did, "delegation_id",
                   "a client delegation id (from session.delegation.created)")


def _check_dtmf(event: Mapping[str, Any]) -> None:
    key = event["event"]
    if not isinstance(key, str) or key not in DTMF_KEYS:
        raise ValidationError("event", f"{short(key)} is not one DTMF key",
                              "send one of 0-9, A-D, * or # per event (one event per key)",
                              code="invalid_value" if isinstance(key, str) else "invalid_type")


def _check_fixture(event: Mapping[str, Any]) -> None:
    audio = event["audio"]
    if not isinstance(audio, str) or not audio or not _BASE64.match(audio):
        raise ValidationError("audio", "expected base64 PCM16LE audio (24 kHz, mono)",
                              "pass base64.b64encode(pcm).decode()",
                              code="invalid_type" if not isinstance(audio, str) else
                              "invalid_value")


def _check_decision_delete(event: Mapping[str, Any]) -> None:
    _opaque_id(event["item_id"], "item_id", "a decision item id")


_CHECKS: Final = {
    "session.update": lambda e: validate_session_update(e["session"]),
    "session.instructions.append": _check_append,
    "session.thinking.append": _check_append,
    "session.commentary.append": _check_append,
    "response.item.create": lambda e: _item(e["item"], "item"),
    "decision.item.create": lambda e: _obj(e["item"], "item", _item_keys(e["item"])),
    "decision.item.delete": _check_decision_delete,
    "transport.dtmf.send": _check_dtmf,
    "session.output_audio.fixture.play": _check_fixture,
}


def validate_client_event(event: Any) -> None:
    """Check a Live sideband client event, raising ``ValidationError`` on the first fault.

    A Realtime-only or primary-only type raises ``UnsupportedLiveAction`` (says why); an
    unknown type names the closest Live type. Then required and unknown fields, then each
    field's type and value.
    """
    if not isinstance(event, Mapping):
        raise ValidationError("type", f"the event is {_tname(event)}, not a JSON object",
                              "send a dict with a 'type', e.g. {'type': 'session.close'}",
                              code="invalid_event")
    etype = event.get("type")
    if not isinstance(etype, str):
        raise ValidationError("type", "missing or not a string",
                              "add 'type', e.g. 'session.instructions.append'",
                              code="missing_required_parameter" if etype is None
                              else "invalid_type")
    if etype in REALTIME_ONLY or etype in NOT_ON_SIDEBAND:
        raise refuse_action(etype)
    if etype not in CLIENT_EVENT_TYPES:
        raise ValidationError("type", f"{short(etype)} is not a GPT-Live client event"
                              f"{did_you_mean(etype, CLIENT_EVENT_TYPES)}",
                              f"use one of {', '.join(CLIENT_EVENT_TYPES)}",
                              code="invalid_event")
    required = CLIENT_EVENT_TYPES[etype]
    allowed = ("type", "event_id", *required)
    _obj(event, "", allowed, required)
    if "event_id" in event and not (etype != "decision.create" and event["event_id"] is None):
        _event_id(event["event_id"])
    check = _CHECKS.get(etype)
    if check is not None:
        check(event)
    try:
        json.dumps(event, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError("event", f"not JSON-serialisable ({short(str(exc), 80)})",
                              "use plain str/number/bool/list/dict values, without NaN or "
                              "Infinity") from None


# ----------------------------------------------------------------------------- builders


def _event(etype: str, body: dict[str, Any], event_id: str | None, ids: IdFactory | None
           ) -> dict[str, Any]:
    if event_id is None:
        event_id = (ids or _ids).client_event_id()
    event = {"type": etype, "event_id": event_id, **body}
    validate_client_event(event)
    return event


def session_update(session: Mapping[str, Any] | None = None, /, *,
                   current_delegation: str | None = None, event_id: str | None = None,
                   ids: IdFactory | None = None, **fields: Any) -> dict[str, Any]:
    """``session.update`` with ``delegation`` and/or ``triggers`` (all Live lets change).

    ``current_delegation``: the session's delegation type when known, so a change of type is
    refused here rather than by the server. Example:
    ``session_update(delegation={"type": "responses", "responses": {"reasoning":
    {"effort": "low"}}})``.
    """
    if session is not None and not isinstance(session, Mapping):
        raise ValidationError("session", f"expected an object, got {_tname(session)}",
                              "pass a dict, or the fields as keywords", code="invalid_type")
    body = {**(session or {}), **fields}
    validate_session_update(body, current_delegation=current_delegation)
    return _event("session.update", {"session": body}, event_id, ids)


def append(kind: str, content: str, delegation_id: str | None = None, *,
           event_id: str | None = None, ids: IdFactory | None = None) -> dict[str, Any]:
    """``session.{kind}.append`` for ``kind`` in instructions, thinking, commentary.

    ``delegation_id`` is always sent (the SDK requires it, nullable): ``None`` for general
    context, or the id of an existing *client* delegation to answer it.
    """
    etype = f"session.{kind}.append"
    if etype not in _APPENDS:
        raise ValidationError("kind", f"{short(kind)} is not an append kind",
                              "use 'instructions', 'thinking' or 'commentary'")
    return _event(etype, {"content": content, "delegation_id": delegation_id}, event_id, ids)


def instructions_append(content: str, delegation_id: str | None = None, *,
                        event_id: str | None = None, ids: IdFactory | None = None
                        ) -> dict[str, Any]:
    """``session.instructions.append``: developer instructions (kept through compaction)."""
    return append("instructions", content, delegation_id, event_id=event_id, ids=ids)


def thinking_append(content: str, delegation_id: str | None = None, *,
                    event_id: str | None = None, ids: IdFactory | None = None
                    ) -> dict[str, Any]:
    """``session.thinking.append``: silent context (not a secrecy boundary)."""
    return append("thinking", content, delegation_id, event_id=event_id, ids=ids)


def commentary_append(content: str, delegation_id: str | None = None, *,
                      event_id: str | None = None, ids: IdFactory | None = None
                      ) -> dict[str, Any]:
    """``session.commentary.append``: context the model should say aloud."""
    return append("commentary", content, delegation_id, event_id=event_id, ids=ids)


def input_audio_mute(*, event_id: str | None = None, ids: IdFactory | None = None
                     ) -> dict[str, Any]:
    """``session.input_audio.mute``: the model hears silence (reflection continues)."""
    return _event("session.input_audio.mute", {}, event_id, ids)


def input_audio_unmute(*, event_id: str | None = None, ids: IdFactory | None = None
                       ) -> dict[str, Any]:
    """``session.input_audio.unmute``."""
    return _event("session.input_audio.unmute", {}, event_id, ids)


def session_close(*, event_id: str | None = None, ids: IdFactory | None = None
                  ) -> dict[str, Any]:
    """``session.close``: ends the session for every connection (answered by
    ``session.closed``)."""
    return _event("session.close", {}, event_id, ids)


def response_item_create(item: Mapping[str, Any], *, event_id: str | None = None,
                         ids: IdFactory | None = None) -> dict[str, Any]:
    """``response.item.create``: an input item for the Responses backend (no success ack)."""
    return _event("response.item.create",
                  {"item": dict(item) if isinstance(item, Mapping) else item}, event_id, ids)


def function_call_output(call_id: str, output: Any, *, event_id: str | None = None,
                         ids: IdFactory | None = None) -> dict[str, Any]:
    """The ``response.item.create`` that answers backend tool call ``call_id``.

    ``output``: a string, or a dict/list sent as JSON. Send ``response_create()`` once after
    every pending call of the delegation is answered (live-protocol.md §7.3).
    """
    if isinstance(output, dict | list):
        try:
            output = json.dumps(output, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValidationError("item.output", f"not JSON-serialisable "
                                  f"({short(str(exc), 80)})", "pass plain values without "
                                  "NaN or Infinity", code="invalid_value") from None
    elif not isinstance(output, str):
        raise ValidationError("item.output", f"expected a string, got {_tname(output)}",
                              "pass a string, a dict or a list", code="invalid_type")
    return response_item_create(
        {"type": "function_call_output", "call_id": call_id, "output": output},
        event_id=event_id, ids=ids)


def response_create(*, event_id: str | None = None, ids: IdFactory | None = None
                    ) -> dict[str, Any]:
    """``response.create``: continue the backend after tool results (Responses delegation)."""
    return _event("response.create", {}, event_id, ids)


def dtmf_send(key: str, *, event_id: str | None = None, ids: IdFactory | None = None
              ) -> dict[str, Any]:
    """``transport.dtmf.send``: one DTMF key to the SIP trunk (SIP sessions only)."""
    return _event("transport.dtmf.send", {"event": key}, event_id, ids)
