"""One builder per GA client event, and ``validate_client_event`` for any client event dict.

Why: a sideband sends few events but each one matters (a bad ``session.update`` mid-call
is an error event the caller never sees until it is too late), so every event we send is
checked here first, with an error that names the field and the fix, and nothing is sent.
The emulator uses the same ``validate_client_event`` to answer bad events with the real
server's ``error.code``/``error.param``. Source: realtime-protocol.md §6.1, §6.2.

Builders return plain dicts ready for ``json.dumps``. They never open a socket, never read
a clock, and never echo secrets or long payloads in their errors.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final

from .catalog import CLIENT_EVENT_TYPES
from .errors import ValidationError, did_you_mean, short
from .ids import IdFactory, refuse_secret
from .session import (
    _audio_format,
    _base64,
    _bool,
    _enum,
    _fail,
    _int,
    _list,
    _obj,
    _output_modalities,
    _str,
    _tool_rules,
    validate_session,
)
from .validation import KEYS, RESPONSE_ADAPTER, _join, validate_with
from .validation import type_name as _type_name

__all__ = [
    "MAX_ITEM_ID_LENGTH",
    "conversation_item_create",
    "conversation_item_delete",
    "conversation_item_retrieve",
    "conversation_item_truncate",
    "function_call_output",
    "input_audio_buffer_append",
    "input_audio_buffer_clear",
    "input_audio_buffer_commit",
    "output_audio_buffer_clear",
    "response_cancel",
    "response_create",
    "seed_event_ids",
    "session_update",
    "system_message",
    "user_message",
    "validate_client_event",
    "validate_item",
]

#: The server's limit on client-supplied item ids.
MAX_ITEM_ID_LENGTH: Final = 32

# The module's id source for event ids; reseeded by seed_event_ids() for reproducible docs.
_ids = IdFactory()


def seed_event_ids(seed: int | None) -> None:
    """Make the generated ``event_id`` sequence deterministic (``None``: unpredictable again)."""
    global _ids
    _ids = IdFactory(seed)


def _event(
    event_type: str, body: dict[str, Any], event_id: str | None, ids: IdFactory | None
) -> dict[str, Any]:
    if event_id is None:
        event_id = (ids or _ids).client_event_id()
    event: dict[str, Any] = {"type": event_type, "event_id": event_id, **body}
    validate_client_event(event)
    return event


# ---------------------------------------------------------------------------------------
# Conversation items (realtime-protocol.md §6.1 items table)
# ---------------------------------------------------------------------------------------

_ITEM_TYPES: Final = (
    "message", "function_call", "function_call_output", "mcp_approval_response",
    "mcp_list_tools", "mcp_call", "mcp_approval_request",
)
_COMMON: Final = ("id", "object", "status", "type")
_CONTENT_BY_ROLE: Final[dict[str, tuple[str, ...]]] = {
    "system": ("input_text",),
    "user": ("input_text", "input_audio", "input_image"),
    "assistant": ("output_text", "output_audio"),
}
_CONTENT_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "input_text": ("type", "text"),
    "output_text": ("type", "text"),
    "input_audio": ("type", "audio", "transcript"),
    "output_audio": ("type", "audio", "transcript"),
    "input_image": ("type", "image_url", "detail"),
}


def validate_item(item: Any, path: str = "item", *, allow_reference: bool = False) -> None:
    """Check one conversation item as ``conversation.item.create`` would accept it.

    Args:
        item: the item dict.
        path: dotted prefix for error fields.
        allow_reference: accept ``{"type": "item_reference", "id": …}`` (only in
            ``response.create.response.input``).
    """
    if not isinstance(item, Mapping):
        raise _fail(
            path, f"expected an item object, got {_type_name(item)}",
            "pass a dict like {'type': 'message', 'role': 'user', 'content': [...]}",
            "invalid_type",
        )
    if "type" not in item:
        raise _fail(
            _join(path, "type"), "missing required parameter",
            f"add 'type': one of {', '.join(repr(t) for t in _ITEM_TYPES)}",
            "missing_required_parameter",
        )
    types = (*_ITEM_TYPES, "item_reference") if allow_reference else _ITEM_TYPES
    kind = _enum(item["type"], _join(path, "type"), types)
    if kind == "item_reference":
        _obj(item, path, ("type", "id"), ("type", "id"))
        _item_id(item["id"], _join(path, "id"))
        return
    _ITEM_CHECKS[kind](item, path)
    if "id" in item:
        _item_id(item["id"], _join(path, "id"))
    if "object" in item:
        _enum(item["object"], _join(path, "object"), ("realtime.item",))
    if "status" in item:
        _enum(item["status"], _join(path, "status"), ("completed", "incomplete", "in_progress"))


def _item_id(value: Any, path: str) -> None:
    # Opaque (protocol/ids.py): any non-empty string within the service's documented limit,
    # except a pasted key.
    _str(value, path, nonempty=True)
    refuse_secret(value, path)
    if len(value) > MAX_ITEM_ID_LENGTH:
        raise _fail(
            path, f"is {len(value)} characters long, above the limit of {MAX_ITEM_ID_LENGTH}",
            f"use an id of at most {MAX_ITEM_ID_LENGTH} characters, or leave it out",
        )


def _message(item: Mapping[str, Any], path: str) -> None:
    _obj(item, path, (*_COMMON, "role", "content"), ("role", "content"))
    role = _enum(item["role"], _join(path, "role"), ("system", "user", "assistant"))
    allowed = _CONTENT_BY_ROLE[role]
    content = _list(item["content"], _join(path, "content"))
    for i, part in enumerate(content):
        ppath = _join(_join(path, "content"), i)
        if not isinstance(part, Mapping) or "type" not in part:
            raise _fail(
                ppath, f"expected a content part with a 'type', got {short(part)}",
                f"pass {{'type': {allowed[0]!r}, ...}}",
                "invalid_type" if not isinstance(part, Mapping) else "missing_required_parameter",
            )
        ptype = part["type"]
        if ptype not in allowed:
            others = [r for r, types in _CONTENT_BY_ROLE.items() if ptype in types]
            hint = f" (that type belongs in the {others[0]}'s messages)" if others else ""
            raise _fail(
                _join(ppath, "type"), f"{short(ptype)} is not allowed in a {role} message{hint}",
                f"use one of {', '.join(repr(a) for a in allowed)}",
            )
        _obj(part, ppath, _CONTENT_FIELDS[ptype])
        if ptype in ("input_text", "output_text"):
            if "text" not in part:
                raise _fail(
                    _join(ppath, "text"), "missing required parameter", "add the 'text' string",
                    "missing_required_parameter",
                )
            _str(part["text"], _join(ppath, "text"))
        elif ptype in ("input_audio", "output_audio"):
            if part.get("audio") is not None:
                _base64(part["audio"], _join(ppath, "audio"))
            if part.get("transcript") is not None:
                _str(part["transcript"], _join(ppath, "transcript"))
        else:
            if "image_url" not in part:
                raise _fail(
                    _join(ppath, "image_url"), "missing required parameter",
                    "add 'image_url' (a data:image/…;base64,… URL)",
                    "missing_required_parameter",
                )
            _str(part["image_url"], _join(ppath, "image_url"), nonempty=True)
            if "detail" in part:
                _enum(part["detail"], _join(ppath, "detail"), ("auto", "low", "high"))


def _function_call(item: Mapping[str, Any], path: str) -> None:
    _obj(item, path, (*_COMMON, "call_id", "name", "arguments"), ("name", "arguments"))
    _str(item["name"], _join(path, "name"), nonempty=True)
    _str(item["arguments"], _join(path, "arguments"))
    if "call_id" in item:
        refuse_secret(_str(item["call_id"], _join(path, "call_id"), nonempty=True),
                      _join(path, "call_id"))


def _function_call_output(item: Mapping[str, Any], path: str) -> None:
    _obj(item, path, (*_COMMON, "call_id", "output"), ("call_id", "output"))
    # Tool call ids are server-made and opaque (call_ + base62 so far): not checked by shape.
    refuse_secret(_str(item["call_id"], _join(path, "call_id"), nonempty=True),
                  _join(path, "call_id"))
    if not isinstance(item["output"], str):
        raise _fail(
            _join(path, "output"),
            f"expected a string, got {_type_name(item['output'])}",
            "serialise the result first, e.g. json.dumps(result) "
            "(the function_call_output builder does this for dicts and lists)",
            "invalid_type",
        )


def _mcp_approval_response(item: Mapping[str, Any], path: str) -> None:
    _obj(
        item, path, (*_COMMON, "approval_request_id", "approve", "reason"),
        ("id", "approval_request_id", "approve"),
    )
    _str(item["approval_request_id"], _join(path, "approval_request_id"), nonempty=True)
    _bool(item["approve"], _join(path, "approve"))
    if item.get("reason") is not None:
        _str(item["reason"], _join(path, "reason"))


def _mcp_list_tools(item: Mapping[str, Any], path: str) -> None:
    _obj(item, path, (*_COMMON, "server_label", "tools"), ("server_label", "tools"))
    _str(item["server_label"], _join(path, "server_label"), nonempty=True)
    for i, tool in enumerate(_list(item["tools"], _join(path, "tools"))):
        tpath = _join(_join(path, "tools"), i)
        _obj(
            tool, tpath, ("name", "input_schema", "annotations", "description"),
            ("name", "input_schema"),
        )
        _str(tool["name"], _join(tpath, "name"), nonempty=True)


def _mcp_call(item: Mapping[str, Any], path: str) -> None:
    _obj(
        item, path,
        (*_COMMON, "server_label", "name", "arguments", "approval_request_id", "error", "output"),
        ("id", "server_label", "name", "arguments"),
    )
    for key in ("server_label", "name"):
        _str(item[key], _join(path, key), nonempty=True)
    _str(item["arguments"], _join(path, "arguments"))
    for key in ("approval_request_id", "output"):
        if item.get(key) is not None:
            _str(item[key], _join(path, key))
    if item.get("error") is not None and not isinstance(item["error"], Mapping):
        raise _fail(
            _join(path, "error"), f"expected an object, got {_type_name(item['error'])}",
            "pass an error object or None", "invalid_type",
        )


def _mcp_approval_request(item: Mapping[str, Any], path: str) -> None:
    _obj(
        item, path, (*_COMMON, "server_label", "name", "arguments"),
        ("id", "server_label", "name", "arguments"),
    )
    for key in ("server_label", "name"):
        _str(item[key], _join(path, key), nonempty=True)
    _str(item["arguments"], _join(path, "arguments"))


_ITEM_CHECKS: Final = {
    "message": _message,
    "function_call": _function_call,
    "function_call_output": _function_call_output,
    "mcp_approval_response": _mcp_approval_response,
    "mcp_list_tools": _mcp_list_tools,
    "mcp_call": _mcp_call,
    "mcp_approval_request": _mcp_approval_request,
}


# ---------------------------------------------------------------------------------------
# response.create overrides
# ---------------------------------------------------------------------------------------

_RESPONSE_FIELDS: Final = (
    "audio", "conversation", "input", "instructions", "max_output_tokens", "metadata",
    "output_modalities", "parallel_tool_calls", "prompt", "reasoning", "tool_choice", "tools",
)


def _response_params(value: Any, path: str) -> None:
    # Shapes, types and ranges: the declarative types (protocol/validation.py); then what
    # they cannot say: each input item, the metadata limits, one modality, tool rules.
    if not isinstance(value, Mapping):
        raise _fail(path, f"expected an object, got {_type_name(value)}",
                    "pass a dict of response overrides", "invalid_type")
    validate_with(RESPONSE_ADAPTER, value, path, KEYS["response"])
    r = value
    audio_out = (r.get("audio") or {}).get("output") or {}
    if "format" in audio_out:
        _audio_format(audio_out["format"], _join(_join(_join(path, "audio"), "output"), "format"))
    if "input" in r:
        for i, item in enumerate(r["input"]):
            validate_item(item, _join(_join(path, "input"), i), allow_reference=True)
    if r.get("metadata") is not None:
        _metadata(r["metadata"], _join(path, "metadata"))
    if "output_modalities" in r:
        _output_modalities(r["output_modalities"], _join(path, "output_modalities"))
    if r.get("tools"):
        _tool_rules(r["tools"], _join(path, "tools"))


def _metadata(value: Any, path: str) -> None:
    if not isinstance(value, Mapping):
        raise _fail(
            path, f"expected an object, got {_type_name(value)}",
            "pass a dict of up to 16 string keys to string values", "invalid_type",
        )
    if len(value) > 16:
        raise _fail(path, f"has {len(value)} keys, above the limit of 16", "use at most 16 keys")
    for key, val in value.items():
        if not isinstance(key, str) or len(key) > 64:
            raise _fail(
                path, f"key {short(key)} is not a string of at most 64 characters",
                "use string keys of at most 64 characters",
            )
        _str(val, _join(path, key), max_len=512)


# ---------------------------------------------------------------------------------------
# Client events
# ---------------------------------------------------------------------------------------


def _no_body(event: Mapping[str, Any]) -> None:
    del event


def _session_update(event: Mapping[str, Any]) -> None:
    validate_session(event["session"], partial=True)


def _item_create(event: Mapping[str, Any]) -> None:
    validate_item(event["item"])
    if event.get("previous_item_id") is not None:
        prev = _str(event["previous_item_id"], "previous_item_id", nonempty=True)
        if prev != "root":
            _item_id(prev, "previous_item_id")


def _item_ref(event: Mapping[str, Any]) -> None:
    _item_id(event["item_id"], "item_id")


def _truncate(event: Mapping[str, Any]) -> None:
    _item_id(event["item_id"], "item_id")
    _int(event["content_index"], "content_index", 0)
    _int(event["audio_end_ms"], "audio_end_ms", 0)


def _append(event: Mapping[str, Any]) -> None:
    _base64(event["audio"], "audio")


def _response_create_check(event: Mapping[str, Any]) -> None:
    if "response" in event:
        _response_params(event["response"], "response")


def _response_cancel_check(event: Mapping[str, Any]) -> None:
    if event.get("response_id") is not None:
        refuse_secret(_str(event["response_id"], "response_id", nonempty=True), "response_id")


_OPTIONAL: Final[dict[str, tuple[str, ...]]] = {
    "conversation.item.create": ("previous_item_id",),
    "response.create": ("response",),
    "response.cancel": ("response_id",),
}

_EVENT_CHECKS: Final = {
    "session.update": _session_update,
    "conversation.item.create": _item_create,
    "conversation.item.retrieve": _item_ref,
    "conversation.item.truncate": _truncate,
    "conversation.item.delete": _item_ref,
    "input_audio_buffer.append": _append,
    "input_audio_buffer.commit": _no_body,
    "input_audio_buffer.clear": _no_body,
    "output_audio_buffer.clear": _no_body,
    "response.create": _response_create_check,
    "response.cancel": _response_cancel_check,
}


def validate_client_event(event: Any) -> None:
    """Check a client event as the server would, raising ``ValidationError`` on the first fault.

    Checks the type is a GA client event, required fields are present, no unknown field is
    given (with a "did you mean"), and every field's type and range.
    ``err.code`` is the server's ``error.code``; ``err.param`` the dotted path.
    """
    if not isinstance(event, Mapping):
        raise ValidationError(
            "type", f"the event is {_type_name(event)}, not a JSON object",
            "send a dict with a 'type', e.g. {'type': 'response.create'}", code="invalid_event",
        )
    if "type" not in event:
        raise ValidationError(
            "type", "The 'type' field is missing",
            "add 'type', e.g. 'session.update' or 'response.create'", code="invalid_event",
        )
    event_type = event["type"]
    if not isinstance(event_type, str):
        raise ValidationError(
            "type", f"expected a string, got {_type_name(event_type)}",
            "use a client event type string such as 'response.create'", code="invalid_type",
        )
    if event_type not in CLIENT_EVENT_TYPES:
        raise ValidationError(
            "type",
            f"{short(event_type)} is not a client event type"
            f"{did_you_mean(event_type, CLIENT_EVENT_TYPES)}",
            f"use one of {', '.join(CLIENT_EVENT_TYPES)}", code="invalid_event",
        )
    required = CLIENT_EVENT_TYPES[event_type]
    allowed = ("type", "event_id", *required, *_OPTIONAL.get(event_type, ()))
    _obj(event, "", allowed, required)
    if "event_id" in event:
        # Any string the client picks (the service echoes it in error.event_id), bounded.
        refuse_secret(_str(event["event_id"], "event_id", nonempty=True, max_len=512),
                      "event_id")
    _EVENT_CHECKS[event_type](event)
    # Free-form parts (tool schemas, prompt variables, …) are not checked field by field;
    # a NaN/Infinity there would still make the frame invalid JSON, so look everywhere.
    bad = _non_finite_path(event, "")
    if bad is not None:
        raise ValidationError(
            bad, "is NaN or Infinity, which JSON cannot carry",
            "use a finite number, or null / a string for a missing or unbounded value",
        )


# ---------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------


def session_update(
    session: Mapping[str, Any] | None = None,
    /,
    *,
    event_id: str | None = None,
    ids: IdFactory | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """``session.update`` with the given session fields (``type`` defaults to ``"realtime"``).

    Fields come as a mapping, as keywords, or both (keywords win). Example:
    ``session_update(instructions="Be brief.", audio={"output": {"speed": 1.2}})``.
    """
    if session is not None and not isinstance(session, Mapping):
        raise ValidationError(
            "session", f"expected an object, got {_type_name(session)}",
            "pass a dict of session fields, or the fields as keywords", code="invalid_type",
        )
    body = {"type": "realtime", **(session or {}), **fields}
    return _event("session.update", {"session": body}, event_id, ids)


def conversation_item_create(
    item: Mapping[str, Any],
    previous_item_id: str | None = None,
    *,
    event_id: str | None = None,
    ids: IdFactory | None = None,
) -> dict[str, Any]:
    """``conversation.item.create``; ``previous_item_id="root"`` inserts at the start."""
    body: dict[str, Any] = {"item": dict(item) if isinstance(item, Mapping) else item}
    if previous_item_id is not None:
        body["previous_item_id"] = previous_item_id
    return _event("conversation.item.create", body, event_id, ids)


def function_call_output(
    call_id: str,
    output: Any,
    previous_item_id: str | None = None,
    *,
    item_id: str | None = None,
    event_id: str | None = None,
    ids: IdFactory | None = None,
) -> dict[str, Any]:
    """The ``function_call_output`` item that answers tool call ``call_id``.

    ``output`` may be a string, or a dict/list that is ``json.dumps``-ed here. Anything else
    is refused: convert it to a string yourself so the model sees what you intend.
    """
    if isinstance(output, (dict, list)):
        output = _dumps_output(output)
    elif not isinstance(output, str):
        raise ValidationError(
            "item.output", f"expected a string, got {_type_name(output)} {short(output)}",
            "pass a string, a dict or a list (dicts and lists are sent as JSON); "
            "for other values use str(value) or json.dumps(value)",
            code="invalid_type",
        )
    item: dict[str, Any] = {"type": "function_call_output", "call_id": call_id, "output": output}
    if item_id is not None:
        item["id"] = item_id
    return conversation_item_create(item, previous_item_id, event_id=event_id, ids=ids)


def _dumps_output(output: dict[str, Any] | list[Any]) -> str:
    """``output`` as JSON text, refusing what JSON cannot carry (objects, NaN, Infinity).

    ``allow_nan=False``: Python would otherwise write ``NaN``/``Infinity``, which no JSON
    parser on the model's side accepts, and the tool call would be answered with garbage.
    """
    try:
        return json.dumps(output, ensure_ascii=False, allow_nan=False)
    except ValueError:
        path = _non_finite_path(output, "output")
        raise ValidationError(
            "item.output",
            f"is not valid JSON: {path or 'a value'} is NaN or Infinity",
            "replace NaN/Infinity with null, a finite number or a string "
            "(e.g. x if math.isfinite(x) else None) before sending",
        ) from None
    except TypeError as exc:
        raise ValidationError(
            "item.output", f"cannot be serialised as JSON ({short(str(exc), 60)})",
            "pass only JSON types (str, int, float, bool, None, list, dict) or a string",
            code="invalid_type",
        ) from None


def _non_finite_path(value: Any, path: str) -> str | None:
    """The dotted path of the first NaN/Infinity float inside ``value``, or ``None``."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _non_finite_path(item, _join(path, str(key)))
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _non_finite_path(item, _join(path, i))
            if found is not None:
                return found
    return None


def _text_message(
    role: str, text: Any, previous_item_id: str | None, item_id: str | None,
    event_id: str | None, ids: IdFactory | None,
) -> dict[str, Any]:
    _str(text, "item.content[0].text")
    item: dict[str, Any] = {
        "type": "message", "role": role, "content": [{"type": "input_text", "text": text}],
    }
    if item_id is not None:
        item["id"] = item_id
    return conversation_item_create(item, previous_item_id, event_id=event_id, ids=ids)


def user_message(
    text: str,
    previous_item_id: str | None = None,
    *,
    item_id: str | None = None,
    event_id: str | None = None,
    ids: IdFactory | None = None,
) -> dict[str, Any]:
    """``conversation.item.create`` with a user text message."""
    return _text_message("user", text, previous_item_id, item_id, event_id, ids)


def system_message(
    text: str,
    previous_item_id: str | None = None,
    *,
    item_id: str | None = None,
    event_id: str | None = None,
    ids: IdFactory | None = None,
) -> dict[str, Any]:
    """``conversation.item.create`` with a system message (context the model should follow)."""
    return _text_message("system", text, previous_item_id, item_id, event_id, ids)


def response_create(
    response: Mapping[str, Any] | None = None,
    *,
    event_id: str | None = None,
    ids: IdFactory | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """``response.create``; per-response overrides come as ``response`` and/or keywords.

    Keywords win over keys of ``response``. Example:
    ``response_create(instructions="Say goodbye.", output_modalities=["text"])``.
    """
    body: dict[str, Any] = {}
    if response is not None or overrides:
        if response is not None and not isinstance(response, Mapping):
            raise ValidationError(
                "response", f"expected an object, got {_type_name(response)}",
                "pass a dict of response overrides or None", code="invalid_type",
            )
        body["response"] = {**(response or {}), **overrides}
    return _event("response.create", body, event_id, ids)


def response_cancel(
    response_id: str | None = None, *, event_id: str | None = None, ids: IdFactory | None = None
) -> dict[str, Any]:
    """``response.cancel`` (the active response when ``response_id`` is ``None``)."""
    body = {} if response_id is None else {"response_id": response_id}
    return _event("response.cancel", body, event_id, ids)


def conversation_item_retrieve(
    item_id: str, *, event_id: str | None = None, ids: IdFactory | None = None
) -> dict[str, Any]:
    """``conversation.item.retrieve`` (answered with the item, audio included)."""
    return _event("conversation.item.retrieve", {"item_id": item_id}, event_id, ids)


def conversation_item_truncate(
    item_id: str,
    audio_end_ms: int,
    content_index: int = 0,
    *,
    event_id: str | None = None,
    ids: IdFactory | None = None,
) -> dict[str, Any]:
    """``conversation.item.truncate``: cut an assistant item's audio at what was played."""
    body = {"item_id": item_id, "content_index": content_index, "audio_end_ms": audio_end_ms}
    return _event("conversation.item.truncate", body, event_id, ids)


def conversation_item_delete(
    item_id: str, *, event_id: str | None = None, ids: IdFactory | None = None
) -> dict[str, Any]:
    """``conversation.item.delete``."""
    return _event("conversation.item.delete", {"item_id": item_id}, event_id, ids)


def input_audio_buffer_append(
    audio: str, *, event_id: str | None = None, ids: IdFactory | None = None
) -> dict[str, Any]:
    """``input_audio_buffer.append`` with base64 audio (≤ 15 MiB) in the session's format."""
    return _event("input_audio_buffer.append", {"audio": audio}, event_id, ids)


def input_audio_buffer_commit(
    *, event_id: str | None = None, ids: IdFactory | None = None
) -> dict[str, Any]:
    """``input_audio_buffer.commit``."""
    return _event("input_audio_buffer.commit", {}, event_id, ids)


def input_audio_buffer_clear(
    *, event_id: str | None = None, ids: IdFactory | None = None
) -> dict[str, Any]:
    """``input_audio_buffer.clear``."""
    return _event("input_audio_buffer.clear", {}, event_id, ids)


def output_audio_buffer_clear(
    *, event_id: str | None = None, ids: IdFactory | None = None
) -> dict[str, Any]:
    """``output_audio_buffer.clear`` (WebRTC/SIP; send ``response.cancel`` first)."""
    return _event("output_audio_buffer.clear", {}, event_id, ids)
