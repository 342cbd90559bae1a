"""Call control over REST: create a WebRTC call, and accept, reject, refer or hang up a call.

Why: the sideband only watches and steers a session; whether a SIP call is answered, turned
away, transferred or ended is decided by five REST endpoints (realtime-protocol.md §2, §4),
and GPT-Live has the same five plus ``fork`` and ``download_recording`` under
``/v1/live/sessions`` (live-protocol.md §2.1). One set of functions serves both APIs: the id's
prefix picks the API (``rtc_…`` Realtime, ``live_…`` Live; ``protocol.ids.api_of_id``), and
``api="realtime"|"live"`` names it for an id whose prefix says nothing (an id with the other
API's prefix is refused: ``api`` never overrides a prefix). The Realtime requests are exactly
what they were; the Live ones differ where the SDK says they do: accept wraps its body as
``{"session": {"type": "live", "model": …}}``; reject always sends a ``status_code`` (the SDK
requires one: ``None`` sends 603 Decline, the Realtime server's default) and takes 300–699;
a Live WebRTC create is JSON (``{"session", "transport": {"type": "webrtc", "sdp"}}``) and
its session id comes back in the body (``session.id``), not in a ``Location`` header.
The Live session checks here cover the fields each endpoint takes (``SessionAcceptParams``,
``MediaSessionConfig``, ``MediaSessionForkConfig`` in SDK 3.57.0): unknown keys, Realtime-only
fields, fields of another transport (``audio.format``, idle settings), the required ``model``
and the shapes of delegation, input and triggers; the depth of a backend's tool list is left
to the server.

This module drives them through the official SDK (``client.realtime.calls``,
``client.live.sessions``) so that auth,
base URLs, retries and the emulator (``client=emu.client()``) all work the same way, and it
adds what the SDK leaves out: input checked *before* anything is sent (the request bodies
over the SDK's own param types, with the rules they cannot say, through the one translator of
``protocol.validation``: a bad call id, session
field, SIP status code or transfer target raises ``ValidationError`` naming the field and the
fix, and no request leaves the process), the call id read from the ``Location`` header of a
created call, and server failures turned into ``CallControlError`` texts that name the call
and say what to do.

What it must never do: send a request for input it has refused; put the API key into an
exception text (server messages are scrubbed before they are quoted); keep a client it
created itself open after the call (a default client lives for one request only).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

import openai
from openai.types.live.media_session_config_param import MediaSessionConfigParam
from openai.types.live.media_session_fork_config_param import MediaSessionForkConfigParam
from openai.types.live.session_accept_params import Session as AcceptedLiveSession
from openai.types.live.session_refer_params import SessionReferParams
from openai.types.live.session_reject_params import SessionRejectParams
from openai.types.realtime.call_refer_params import CallReferParams
from openai.types.realtime.call_reject_params import CallRejectParams
from pydantic import AfterValidator, ConfigDict, with_config
from typing_extensions import TypedDict

from rtwidgets.protocol.errors import ValidationError, short
from rtwidgets.protocol.ids import (
    SIP_URI_RE,
    TEL_URI_RE,
    ApiName,
    api_of_id,
    call_id_from_location,
    check_call_id,
    check_live_session_id,
    check_opaque_id,
    is_call_id,
    is_live_session_id,
    looks_secret,
)
from rtwidgets.protocol.live import schema as live_schema
from rtwidgets.protocol.session import validate_session
from rtwidgets.protocol.validation import Schema, from_sdk, rule

__all__ = [
    "AlreadyAcceptedError",
    "CallControlError",
    "CallNotFoundError",
    "CreatedCall",
    "accept",
    "create_call",
    "download_recording",
    "fork",
    "hangup",
    "refer",
    "reject",
]

_TARGET_URI_MAX: Final = 2048
# What an API key looks like, so that a server message quoting one is scrubbed even when the
# key in use is not known here (a client whose api_key is a callable).
_KEY_RE: Final = re.compile(r"\b(?:sk|ek|rk)-[A-Za-z0-9_\-]{6,}|\bek_[0-9a-f]{8,}")
_MESSAGE_MAX: Final = 300


@dataclass(frozen=True, slots=True)
class CreatedCall:
    """A WebRTC call created by ``create_call``.

    Attributes:
        call_id: the id to attach the sideband to and to hang up with (opaque): for Realtime
            the last path segment of the ``Location`` header (``rtc_…``), for Live the
            ``session.id`` of the answer's body (``live_…``).
        sdp_answer: the server's SDP answer, to hand to the browser's ``RTCPeerConnection``.
        api: ``"realtime"`` or ``"live"``: which API made it.
    """

    call_id: str
    sdp_answer: str
    api: ApiName = "realtime"


class CallControlError(RuntimeError):
    """The server refused a call-control request, or could not be reached.

    Attributes:
        call_id: the call the request was about (``None`` for ``create_call``).
        action: ``"create_call"``, ``"accept"``, ``"reject"``, ``"refer"`` or ``"hangup"``.
        status_code: the HTTP status of the server's answer, ``None`` when there was none.
        sdk_error: the SDK's exception (``openai.NotFoundError``, …), for inspection. It is not
            chained as ``__cause__`` because its text is the server's unscrubbed message.
    """

    call_id: str | None
    action: str
    status_code: int | None
    sdk_error: BaseException | None

    def __init__(
        self,
        message: str,
        *,
        call_id: str | None,
        action: str,
        status_code: int | None = None,
        sdk_error: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        self.call_id = call_id
        self.action = action
        self.status_code = status_code
        self.sdk_error = sdk_error


class CallNotFoundError(CallControlError):
    """HTTP 404: the call id is unknown to the server or the call has already ended."""


class AlreadyAcceptedError(CallControlError):
    """A pending SIP call was already accepted (or is being accepted) through one API.

    One SIP call can be offered both as a Realtime call and as a Live session; "the first
    successful Realtime or Live accept endpoint selects the runtime surface" (SDK docstring).
    ``IncomingCall.accept`` refuses the second accept with this error before anything is sent.
    ``accept`` raises it too when the server answers HTTP 409 (the call, or its twin in the
    other API, was accepted elsewhere first; ``status_code`` 409).

    Attributes:
        accepted_as: ``"realtime"`` or ``"live"``: the API the first accept went to;
            ``None`` when only the server knows (a 409).
    """

    accepted_as: str | None

    def __init__(self, message: str, *, call_id: str | None, action: str,
                 accepted_as: str | None, status_code: int | None = None,
                 sdk_error: BaseException | None = None) -> None:
        super().__init__(message, call_id=call_id, action=action, status_code=status_code,
                         sdk_error=sdk_error)
        self.accepted_as = accepted_as


# --------------------------------------------------------------------------- validation


def _check_call_id(call_id: object) -> str:
    # The one rule for call ids (protocol/ids.py): 'rtc_' and a safe tail, never echoed.
    return check_call_id(call_id, "call_id")


_OTHER_API_FIX: Final = (
    "; a GPT-Live session id starts with 'live_'; for an id with another prefix pass "
    "api='realtime' or api='live'"
)


def _check_api(api: object) -> ApiName | None:
    if api is None:
        return None
    if api == "realtime":
        return "realtime"
    if api == "live":
        return "live"
    raise ValidationError(
        "api", f"{short(api)} is not an API",
        "pass api='realtime' or api='live', or leave it out to decide by the id's prefix "
        "(rtc_… is Realtime, live_… is Live)",
    )


def resolve_api(call_id: object, api: object = None, field: str = "call_id") -> tuple[ApiName, str]:
    """Which API ``call_id`` belongs to, and the id itself; ``ValidationError`` if unsafe.

    The prefix decides (``rtc_`` Realtime, ``live_`` Live). ``api`` names the API of an id
    whose prefix says nothing; it never overrides a prefix (an ``rtc_`` id with
    ``api="live"`` is refused: the two APIs' ids are not interchangeable).
    """
    wanted = _check_api(api)
    known = api_of_id(call_id)
    if known is not None:
        if wanted is not None and wanted != known:
            prefix = "rtc_" if known == "realtime" else "live_"
            raise ValidationError(
                "api",
                f"the id starts with {prefix!r}, which is a {known} id, but api={wanted!r}",
                f"leave api out (or pass api={known!r}); to control the call through "
                f"{wanted}, use its {wanted} id",
            )
        assert isinstance(call_id, str)
        return known, call_id
    if not isinstance(call_id, str):
        check_call_id(call_id, field)  # raises: the type error
    assert isinstance(call_id, str)
    if wanted is not None:
        return wanted, check_opaque_id(call_id, field)
    if call_id.startswith("live_"):
        check_live_session_id(call_id, field)  # raises with the Live wording
    try:
        check_call_id(call_id, field)
    except ValidationError as err:
        if looks_secret(call_id):
            raise
        raise ValidationError(err.field, err.problem, err.fix + _OTHER_API_FIX) from None
    raise AssertionError("unreachable: check_call_id accepted an id api_of_id refused")


def _live_only(session_id: object, action: str) -> str:
    """A Live session id for ``fork`` / ``download_recording`` (only Live has them)."""
    if is_call_id(session_id):
        raise ValidationError(
            "session_id",
            f"is a Realtime call id (rtc_…); only stored GPT-Live sessions have {action}",
            "pass the 'live_…' id of a Live session started with store=True",
        )
    if is_live_session_id(session_id):
        return session_id  # type: ignore[return-value]
    if isinstance(session_id, str) and not session_id.startswith("live_"):
        try:
            return check_opaque_id(session_id, "session_id")  # an id with an unknown prefix
        except ValidationError:
            pass
    return check_live_session_id(session_id, "session_id")


def _session_body(session: Mapping[str, Any] | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The accept / create session object: ``session`` and keyword fields, type ``realtime``."""
    if session is not None and not isinstance(session, Mapping):
        raise ValidationError(
            "session",
            f"expected a mapping, got {type(session).__name__}",
            "pass the session as a dict, e.g. {'instructions': '…', 'audio': {…}}",
            code="invalid_type",
        )
    body: dict[str, Any] = dict(session or {})
    for key, value in fields.items():
        if key in body:
            raise ValidationError(
                f"session.{key}",
                "given both in session= and as a keyword argument",
                f"give {key} once, either inside session= or as {key}=…",
            )
        body[key] = value
    session_type = body.setdefault("type", "realtime")
    if session_type == "live":
        raise ValidationError(
            "session.type",
            "'live' is a GPT-Live session, and this is a Realtime call (rtc_…)",
            "accept the Realtime id with a Realtime session (type 'realtime'), or accept the "
            "call's 'live_…' id with this Live session",
        )
    if session_type != "realtime":
        raise ValidationError(
            "session.type",
            f"{short(session_type)} cannot take a call",
            "use type='realtime' (or leave it out); transcription sessions cannot be accepted",
        )
    validate_session(body, partial=True)
    return body


# The request bodies as the SDK types them (``CallRejectParams``, ``CallReferParams``,
# ``CallCreateParams``; Live: ``SessionRejectParams``, ``SessionReferParams``), checked
# strictly by pydantic, plus the rules the SDK's types cannot say (a SIP status range, a
# well-formed tel:/sip: URI, an SDP offer); errors go through the one translator.


def _sip_status(low: int, fix: str) -> Callable[[Mapping[str, Any]], Mapping[str, Any]]:
    def check(body: Mapping[str, Any]) -> Mapping[str, Any]:
        code = body.get("status_code")
        if code is not None and not low <= code <= 699:
            raise rule(f"{code} is not a SIP rejection status", fix, at="status_code")
        return body
    return check


def _refer_target(body: Mapping[str, Any]) -> Mapping[str, Any]:
    target_uri: str = body["target_uri"]
    if len(target_uri) > _TARGET_URI_MAX:
        raise rule(f"{len(target_uri)} characters is longer than {_TARGET_URI_MAX}",
                   "pass a short 'tel:' or 'sip:' URI", at="target_uri")
    scheme = target_uri.split(":", 1)[0].lower() if ":" in target_uri else ""
    if scheme not in ("tel", "sip", "sips"):
        raise rule(f"{short(target_uri)} is not a tel:, sip: or sips: URI",
                   "pass e.g. 'tel:+14155550123' or 'sip:agent@example.com' (the SIP Refer-To "
                   "target)", at="target_uri")
    pattern = TEL_URI_RE if scheme == "tel" else SIP_URI_RE
    if pattern.fullmatch(target_uri) is None:
        raise rule(f"{short(target_uri)} is not a well-formed {scheme}: URI",
                   "use 'tel:+<digits>' or 'sip:user@host[:port]', with no spaces",
                   at="target_uri")
    return body


def _sdp_offer(body: Mapping[str, Any]) -> Mapping[str, Any]:
    if not body["sdp"].lstrip().startswith("v=0"):
        raise rule(f"{short(body['sdp'])} does not look like an SDP offer",
                   "pass the offer's SDP text, which starts with 'v=0'", at="sdp")
    return body


_STRICT: Final = ConfigDict(extra="forbid", strict=True)


@with_config(_STRICT)
class _RejectBody(CallRejectParams):
    pass


@with_config(_STRICT)
class _LiveRejectBody(SessionRejectParams):
    pass


@with_config(_STRICT)
class _ReferBody(CallReferParams):
    pass


@with_config(_STRICT)
class _LiveReferBody(SessionReferParams):
    pass


@with_config(_STRICT)
class _OfferBody(TypedDict):
    """``CallCreateParams`` without its session (checked by the session schema, which is
    stricter than the SDK's ``RealtimeSessionCreateRequestParam``; see validation.py)."""

    sdp: str


_REJECT_FIX: Final = ("pass a SIP final status from 400 to 699, e.g. 486 (Busy Here) or 603 "
                      "(Decline); leave it out for the server's default 603")
_LIVE_REJECT_FIX: Final = ("pass a SIP final status from 300 to 699 for a Live session, e.g. "
                           "486 (Busy Here) or 603 (Decline); leave it out to send 603")
_URI_FIX: Final = "pass a 'tel:+14155550123' or 'sip:agent@example.com' URI"
_SDP_FIX: Final = "pass pc.localDescription.sdp from the browser (a text starting with 'v=0')"
_REJECT: Final = Schema(Annotated[_RejectBody, AfterValidator(_sip_status(400, _REJECT_FIX))],
                        fixes={"status_code": _REJECT_FIX},
                        what={"status_code": "an integer SIP status code"})
_LIVE_REJECT: Final = Schema(
    Annotated[_LiveRejectBody, AfterValidator(_sip_status(300, _LIVE_REJECT_FIX))],
    fixes={"status_code": _LIVE_REJECT_FIX}, what={"status_code": "an integer SIP status code"})
_REFER: Final = {
    "realtime": Schema(Annotated[_ReferBody, AfterValidator(_refer_target)],
                       fixes={"target_uri": _URI_FIX}),
    "live": Schema(Annotated[_LiveReferBody, AfterValidator(_refer_target)],
                   fixes={"target_uri": _URI_FIX}),
}
_OFFER: Final = Schema(Annotated[_OfferBody, AfterValidator(_sdp_offer)],
                       fixes={"sdp": _SDP_FIX}, what={"sdp": "the SDP offer as a string"})


def _check_status_code(status_code: object) -> int | None:
    if status_code is None:
        return None
    _REJECT.validate({"status_code": status_code})
    return status_code  # type: ignore[return-value]


def _check_target_uri(target_uri: object, api: ApiName = "realtime") -> str:
    _REFER[api].validate({"target_uri": target_uri})
    return target_uri  # type: ignore[return-value]


def _check_sdp(sdp: object) -> str:
    _OFFER.validate({"sdp": sdp})
    return sdp  # type: ignore[return-value]


def _check_client(client: object) -> None:
    if client is not None and not isinstance(client, openai.AsyncOpenAI):
        raise ValidationError(
            "client",
            f"expected an openai.AsyncOpenAI, got {type(client).__name__}",
            "pass client=openai.AsyncOpenAI(...) (or emu.client()), or leave it out to use "
            "OPENAI_API_KEY",
            code="invalid_type",
        )


# --------------------------------------------------------------------------- Live sessions

# The Live session bodies are the SDK's own param types (3.57.0: ``SessionAcceptParams``'s
# ``session``, ``MediaSessionConfigParam`` for the WebRTC create, ``MediaSessionForkConfigParam``)
# made strict by ``from_sdk``, with the keys ``protocol.live.schema`` gives what the server
# enforces and the SDK's hints cannot say (shared with the sideband's session.update). Errors
# go through the one translator, with the fixes and unknown-key messages below.

_MODEL_FIX: Final = "pass model='gpt-live-1' (or 'gpt-live-1.1')"
_TYPE_FIX: Final = ("use type='live' (or leave it out); to answer as Realtime, accept the call's "
                    "rtc_… id")
_LIVE_FIXES: Final[dict[str, str]] = {
    "": "pass the session as a dict, e.g. {'model': 'gpt-live-1', 'instructions': '…'}",
    "type": _TYPE_FIX,
    "model": _MODEL_FIX,
    "instructions": "pass the frontend instructions as text, or None for the server's default",
    "safety_identifier": "pass a stable, non-secret id of your end user (e.g. a hash)",
    "store": "pass store=True or False",
    "audio": "pass audio={'output': {'voice': 'marin'}}",
    "audio.output": "pass {'voice': 'marin'}",
    "audio.output.voice": "pass a built-in voice name such as 'marin' or 'cedar', or "
                          "{'id': 'voice_…'}",
    "audio.output.voice.id": "pass the 'voice_…' id of a custom voice",
    "delegation": "pass delegation={'type': 'client'} (or 'responses', 'decisions')",
    "delegation.type": ("use type 'client' (your code), 'responses' (a Responses model) or "
                        "'decisions' (the Decision API)"),
    "delegation.acknowledgement_delay_ms": "pass whole milliseconds, 0 or more",
    "delegation.responses": "pass responses={'model': …} with the backend settings",
    "delegation.decisions": "pass decisions={'model': …, 'questions': [...]}",
    "delegation.responses.model": "name the backend model, e.g. 'gpt-5.5'",
    "delegation.decisions.model": "name the Decisions model",
    "delegation.responses.tool_choice": ("pass e.g. 'auto' or {'type': 'function', 'name': "
                                         "'lookup'}"),
    "input": ("pass a list of at most 128 messages like {'role': 'user', 'content': "
              "[{'type': 'input_text', 'text': '…'}]}"),
    "input[]": "pass {'role': 'user', 'content': [{'type': 'input_text', 'text': '…'}]}",
    "input[].role": "use 'developer', 'user' or 'assistant'",
    "input[].content": "pass content=[{'type': …, 'text': '…'}] (exactly one text part)",
    "input[].content[].type": ("use type 'input_text' in a developer or user message, 'text' "
                               "or 'output_text' in an assistant message"),
    "input[].content[].text": "pass the message text",
    "triggers": ("pass a list like [{'type': 'decisions', 'event_type': "
                 "'session.input_transcript.delta', 'decisions': {'questions': [...]}}], or "
                 "[] to disable"),
    "triggers[].decisions.questions": "pass the questions to evaluate as a list",
    "client": "pass client={'data_channel': {'allowed_client_events': 'all'}}",
    "client.data_channel": ("pass data_channel={'allowed_client_events': 'all', "
                            "'allowed_server_events': 'all'}"),
    "idle_timeout_s": "pass whole seconds, 1 or more, or leave it out to keep inference active",
    "wake_policy": "pass wake_policy={'type': 'speech', 'vad_threshold': 0.5}",
    "wake_policy.type": "use type 'speech'",
    "wake_policy.vad_threshold": "use a number from 0 to 1 (default 0.5)",
}
#: Realtime session fields people bring along, and where the Live equivalent lives.
_REALTIME_ONLY: Final[dict[str, str]] = {
    "voice": "set the voice as audio={'output': {'voice': 'marin'}}",
    "tools": "give backend tools to the delegate: delegation={'type': 'responses', "
    "'responses': {'model': …, 'tools': [...]}}",
    "tool_choice": "set it on the backend: delegation.responses.tool_choice",
    "output_modalities": "leave it out: a Live session always speaks",
    "max_output_tokens": "set it on the backend: delegation.responses.max_output_tokens",
    "turn_detection": "leave it out: GPT-Live is full duplex and has no turn detection",
    "truncation": "leave it out: Live context is append-only",
    "prompt": "leave it out: use instructions (and delegation.responses.instructions)",
    "tracing": "leave it out",
    "include": "leave it out",
    "temperature": "leave it out",
}
_UNKNOWN: Final[dict[str, tuple[str, str]]] = {
    **{key: ("is a Realtime session field; GPT-Live has none", fix)
       for key, fix in _REALTIME_ONLY.items()},
    "audio.format": ("SIP and WebRTC negotiate the media format; audio.format is only for the "
                     "primary WebSocket", "leave audio.format out"),
    "type": ("is not a field of this request", "leave type out"),
}
_LIVE_SCHEMAS: Final[dict[str, Schema]] = {
    "accept": Schema(
        from_sdk(AcceptedLiveSession, fields=live_schema.FIELDS, wrap=live_schema.WRAP),
        fixes=_LIVE_FIXES, what=live_schema.WHAT,
        unknown={**_UNKNOWN, **dict.fromkeys(
            ("client", "idle_timeout_s", "wake_policy"),
            ("is only for a Live WebRTC session", "leave it out when accepting a SIP call"))}),
    "create_call": Schema(
        from_sdk(MediaSessionConfigParam, fields=live_schema.FIELDS, wrap=live_schema.WRAP),
        fixes=_LIVE_FIXES, what=live_schema.WHAT,
        unknown=_UNKNOWN),
    "fork": Schema(
        from_sdk(MediaSessionForkConfigParam, fields=live_schema.FIELDS, wrap=live_schema.WRAP),
        what=live_schema.WHAT,
        fixes={**_LIVE_FIXES, "delegation.type": (
            "a fork keeps the stored session's delegation owner: pass {'type': 'responses', "
            "'responses': {…}} or leave delegation out")},
        unknown={**_UNKNOWN, **dict.fromkeys(
            ("model", "instructions", "audio", "input", "safety_identifier", "triggers"),
            ("is inherited from the stored session and cannot change in a fork",
             "leave it out; a fork may set only client, delegation and store"))}),
}


def _live_session_body(
    session: Mapping[str, Any] | None, fields: Mapping[str, Any], action: str
) -> dict[str, Any]:
    """The Live session object for ``accept``, ``create_call`` or ``fork``, checked."""
    if session is not None and not isinstance(session, Mapping):
        raise ValidationError(
            "session", f"expected a mapping, got {type(session).__name__}",
            "pass the session as a dict, e.g. {'model': 'gpt-live-1', 'instructions': '…'}",
            code="invalid_type",
        )
    body: dict[str, Any] = dict(session or {})
    for key, value in fields.items():
        if key in body:
            raise ValidationError(
                f"session.{key}", "given both in session= and as a keyword argument",
                f"give {key} once, either inside session= or as {key}=…",
            )
        body[key] = value
    if action == "accept":
        body.setdefault("type", "live")
    elif body.get("type") == "live":
        del body["type"]  # names the API for create_call; not a field of the create body
    _LIVE_SCHEMAS[action].validate(body, "session")
    return body


def _check_status_code_live(status_code: object) -> int:
    """Live's reject requires a status: 300–699 (SDK docstring); ``None`` sends 603."""
    if status_code is None:
        return 603
    _LIVE_REJECT.validate({"status_code": status_code})
    return status_code  # type: ignore[return-value]


# --------------------------------------------------------------------------- transport


def env_setting(name: str) -> str | None:
    """The environment variable ``name``, or ``None`` when it is unset or empty."""
    value = os.environ.get(name)
    return value if value else None


def default_client() -> openai.AsyncOpenAI:
    """The client rtwidgets makes when none is given: the SDK's defaults from the
    environment, plus ``OPENAI_WEBSOCKET_BASE_URL``, which the SDK reads only as an argument
    (the README promises it is followed; ``rtwidgets doctor`` reads it the same way).

    Raises ``openai.OpenAIError`` when ``OPENAI_API_KEY`` is not set.
    """
    return openai.AsyncOpenAI(websocket_base_url=env_setting("OPENAI_WEBSOCKET_BASE_URL"))


@asynccontextmanager
async def _client_scope(client: openai.AsyncOpenAI | None) -> AsyncIterator[openai.AsyncOpenAI]:
    """The caller's client as is, or a default one from the environment for one request."""
    if client is not None:
        yield client
        return
    try:
        default = default_client()
    except openai.OpenAIError:
        raise ValidationError(
            "client",
            "no client was given and OPENAI_API_KEY is not set",
            "pass client=openai.AsyncOpenAI(api_key=…) (or emu.client()), or set "
            "OPENAI_API_KEY in the environment",
            code="missing_required_parameter",
        ) from None
    async with default:
        yield default


def _scrub(text: str, client: openai.AsyncOpenAI) -> str:
    """``text`` with the client's key and anything shaped like a key removed, and cut short."""
    key = client.api_key if isinstance(client.api_key, str) else ""
    if len(key) >= 4:
        text = text.replace(key, "***")
    text = _KEY_RE.sub("***", text)
    if len(text) > _MESSAGE_MAX:
        text = text[: _MESSAGE_MAX - 1] + "…"
    return text


_WHAT_TO_DO: Final[dict[str, str]] = {
    "create_call": "check the SDP offer and the session, and that base_url is the Realtime API",
    "accept": "a SIP call can be accepted only while it rings (once, before the caller hangs "
    "up); check the session fields",
    "reject": "a SIP call can be rejected only while it rings",
    "refer": "refer needs a live SIP call and a target your SIP provider can reach",
    "hangup": "the call may already have ended",
    "fork": "only a stored Live session (started with store=True) can be forked; send a "
    "fresh SDP offer",
    "download_recording": "a recording exists only for a Live session started with "
    "store=True",
}


def _wrap(
    exc: openai.OpenAIError, *, action: str, call_id: str | None, client: openai.AsyncOpenAI
) -> CallControlError:
    """A ``CallControlError`` for an SDK failure, naming the call and what to do."""
    subject = f"{action} {call_id}" if call_id else action
    if isinstance(exc, openai.NotFoundError):
        return CallNotFoundError(
            f"{subject}: the server answered HTTP 404: the call is unknown or has already "
            f"ended. Fix: check the call id; {_WHAT_TO_DO[action]}",
            call_id=call_id,
            action=action,
            status_code=404,
            sdk_error=exc,
        )
    if isinstance(exc, openai.ConflictError) and action == "accept":
        # Not the server's text: it may carry its own "Fix:", and the 409's code is not
        # public (the emulator's is its choice, docs/emulator.md).
        return AlreadyAcceptedError(
            f"{subject}: the server answered HTTP 409: this call was already accepted, "
            "through this id or through its twin in the other API (a SIP call offered both "
            "as rtc_… and live_…): the first accept decides. Fix: control the call through "
            "the id that was accepted first, or hang up and let the caller call again",
            call_id=call_id, action=action, accepted_as=None, status_code=409, sdk_error=exc)
    if isinstance(exc, openai.AuthenticationError):
        return CallControlError(
            f"{subject}: the server answered HTTP 401: the API key was refused. "
            "Fix: use a standard API key of the project that owns the call",
            call_id=call_id,
            action=action,
            status_code=401,
            sdk_error=exc,
        )
    if isinstance(exc, openai.APIStatusError):
        server = _scrub(str(getattr(exc, "message", "") or exc), client)
        # A server that already says what to do (the emulator's 409 call_already_accepted
        # does) gets no second, generic "Fix:" after its own.
        fix = "" if "Fix:" in server else f". Fix: {_WHAT_TO_DO[action]}"
        return CallControlError(
            f"{subject}: the server answered HTTP {exc.status_code}: {server}{fix}",
            call_id=call_id,
            action=action,
            status_code=exc.status_code,
            sdk_error=exc,
        )
    if isinstance(exc, openai.APIConnectionError):
        return CallControlError(
            f"{subject}: could not reach {client.base_url} ({type(exc).__name__}). "
            "Fix: check the network and the client's base_url",
            call_id=call_id,
            action=action,
            sdk_error=exc,
        )
    return CallControlError(
        f"{subject}: {type(exc).__name__}: {_scrub(str(exc), client)}",
        call_id=call_id,
        action=action,
        sdk_error=exc,
    )


# --------------------------------------------------------------------------- the API


def _answer_of(raw: Any, action: str) -> tuple[str, str]:
    """``(session id, sdp answer)`` from a Live create or fork answer's JSON body."""
    problem = None
    try:
        data = json.loads(raw.text)
    except ValueError:
        data, problem = None, "is not JSON"
    session = data.get("session") if isinstance(data, dict) else None
    transport = data.get("transport") if isinstance(data, dict) else None
    session_id = session.get("id") if isinstance(session, dict) else None
    sdp = transport.get("sdp") if isinstance(transport, dict) else None
    if problem is None and not isinstance(session_id, str):
        problem = "has no session.id"
    elif problem is None and not isinstance(sdp, str):
        problem = "has no transport.sdp"
    if problem is None:
        assert isinstance(session_id, str)
        assert isinstance(sdp, str)
        try:
            _live_only(session_id, action)
        except ValidationError:
            problem = "has a session.id that is not a safe id (not shown)"
    if problem is not None:
        raise CallControlError(
            f"{action}: the server answered HTTP {raw.status_code} with a body that {problem}, "
            "so the session id is unknown. Fix: check that the client's base_url is the "
            "OpenAI API (…/v1)",
            call_id=None, action=action, status_code=raw.status_code,
        )
    return session_id, sdp  # type: ignore[return-value]


async def create_call(
    sdp: str,
    session: Mapping[str, Any] | None = None,
    client: openai.AsyncOpenAI | None = None,
    *,
    api: ApiName | None = None,
) -> CreatedCall:
    """Create a WebRTC call from an SDP offer: ``POST /v1/realtime/calls`` or ``/v1/live/sessions``.

    Args:
        sdp: the browser's SDP offer (starts with ``v=0``).
        session: the session to start with, validated before sending. Realtime: ``type``
            ``"realtime"`` is inserted when absent. Live: a ``MediaSessionConfig`` with its
            required ``model``; ``type: "live"`` may name the API and is not sent.
        client: an ``openai.AsyncOpenAI`` (default: one from the environment).
        api: ``"realtime"`` or ``"live"``; default: ``"live"`` when ``session["type"]`` is
            ``"live"``, else ``"realtime"``.

    Returns:
        ``CreatedCall(call_id, sdp_answer, api)``. Realtime reads the call id from the
        ``Location`` header, Live from the answer's ``session.id`` (live-protocol.md §2.1).

    Raises:
        ValidationError: bad input; nothing was sent.
        CallControlError: the server refused, was unreachable, or sent no id.
    """
    _check_sdp(sdp)
    wanted = _check_api(api)
    if wanted is None:
        is_live = isinstance(session, Mapping) and session.get("type") == "live"
        wanted = "live" if is_live else "realtime"
    if wanted == "live":
        live_body = _live_session_body(session, {}, "create_call")
        _check_client(client)
        async with _client_scope(client) as c:
            try:
                raw_live = await c.live.with_raw_response.create(
                    session=live_body,  # type: ignore[arg-type]  # validated plain dict
                    transport={"type": "webrtc", "sdp": sdp},
                )
            except openai.OpenAIError as exc:
                raise _wrap(exc, action="create_call", call_id=None, client=c) from None
            session_id, answer = _answer_of(raw_live, "create_call")
            return CreatedCall(call_id=session_id, sdp_answer=answer, api="live")
    body = None if session is None else _session_body(session, {})
    _check_client(client)
    async with _client_scope(client) as c:
        try:
            if body is None:
                raw = await c.realtime.calls.with_raw_response.create(sdp=sdp)
            else:
                raw = await c.realtime.calls.with_raw_response.create(
                    sdp=sdp,
                    session=body,  # type: ignore[arg-type]  # validated plain dict
                )
        except openai.OpenAIError as exc:
            raise _wrap(exc, action="create_call", call_id=None, client=c) from None
        location = raw.headers.get("location")
        if not location:
            raise CallControlError(
                f"create_call: the server answered HTTP {raw.status_code} without a Location "
                "header, so the call id is unknown. Fix: check that the client's base_url is "
                "the Realtime API (…/v1) and that the request was a WebRTC call",
                call_id=None,
                action="create_call",
                status_code=raw.status_code,
            )
        call_id = call_id_from_location(location)
        if call_id is None:
            raise CallControlError(
                f"create_call: the Location header {short(location, 80)} does not end in a "
                "call id ('rtc_' and letters, digits, '_' or '-'). Fix: check that the "
                "client's base_url is the Realtime API",
                call_id=None,
                action="create_call",
                status_code=raw.status_code,
            )
        return CreatedCall(call_id=call_id, sdp_answer=raw.text)


async def accept(
    call_id: str,
    session: Mapping[str, Any] | None = None,
    *,
    client: openai.AsyncOpenAI | None = None,
    api: ApiName | None = None,
    **session_fields: Any,
) -> None:
    """Accept a ringing SIP call with a session.

    Realtime (``rtc_…``): ``POST /v1/realtime/calls/{id}/accept`` with the session object.
    Live (``live_…``): ``POST /v1/live/sessions/{id}/accept`` with ``{"session": {"type":
    "live", "model": …, …}}``.

    Args:
        call_id: the ``rtc_u0_…`` id of ``realtime.call.incoming`` or the ``live_…`` id of
            ``live.transport.incoming``.
        session: the session object (its ``type`` is inserted when absent).
        client: an ``openai.AsyncOpenAI`` (default: one from the environment).
        api: ``"realtime"`` or ``"live"`` for an id whose prefix says neither.
        **session_fields: more session fields, e.g. ``instructions="…"``; a field may not
            appear both here and in ``session``.

    Raises:
        ValidationError: bad call id or session field; nothing was sent.
        CallNotFoundError: the call is unknown or no longer ringing (HTTP 404).
        AlreadyAcceptedError: HTTP 409, the call (or its twin id in the other API) was
            accepted first.
        CallControlError: any other refusal by the server.
    """
    which, call_id = resolve_api(call_id, api)
    if which == "live":
        live_body = _live_session_body(session, session_fields, "accept")
    else:
        body = _session_body(session, session_fields)
    _check_client(client)
    async with _client_scope(client) as c:
        try:
            if which == "live":
                await c.live.sessions.accept(
                    call_id, session=live_body,  # type: ignore[arg-type]  # validated dict
                )
            else:
                await c.realtime.calls.accept(call_id, **body)
        except openai.OpenAIError as exc:
            raise _wrap(exc, action="accept", call_id=call_id, client=c) from None


async def reject(
    call_id: str,
    status_code: int | None = None,
    *,
    client: openai.AsyncOpenAI | None = None,
    api: ApiName | None = None,
) -> None:
    """Turn a ringing SIP call away: ``POST …/calls/{id}/reject`` or ``…/sessions/{id}/reject``.

    Args:
        call_id: the ``rtc_u0_…`` or ``live_…`` id of the ringing call.
        status_code: the SIP final status. Realtime: 400–699, ``None`` sends ``{}`` and the
            server uses 603 Decline. Live: 300–699 (the SDK's range), and a status is always
            sent (the SDK requires it): ``None`` sends 603.
        client: an ``openai.AsyncOpenAI`` (default: one from the environment).
        api: ``"realtime"`` or ``"live"`` for an id whose prefix says neither.

    Raises:
        ValidationError: bad call id or status code; nothing was sent.
        CallNotFoundError, CallControlError: the server refused.
    """
    which, call_id = resolve_api(call_id, api)
    code = _check_status_code_live(status_code) if which == "live" else _check_status_code(
        status_code)
    _check_client(client)
    async with _client_scope(client) as c:
        try:
            if which == "live":
                assert code is not None
                await c.live.sessions.reject(call_id, status_code=code)
            elif code is None:
                await c.realtime.calls.reject(call_id)
            else:
                await c.realtime.calls.reject(call_id, status_code=code)
        except openai.OpenAIError as exc:
            raise _wrap(exc, action="reject", call_id=call_id, client=c) from None


async def refer(
    call_id: str,
    target_uri: str,
    *,
    client: openai.AsyncOpenAI | None = None,
    api: ApiName | None = None,
) -> None:
    """Transfer a SIP call (SIP REFER): ``POST …/{id}/refer`` of the id's API.

    Args:
        call_id: the ``rtc_u0_…`` or ``live_…`` id of the live call.
        target_uri: where to transfer, ``tel:+14155550123`` or ``sip:agent@example.com``.
        client: an ``openai.AsyncOpenAI`` (default: one from the environment).
        api: ``"realtime"`` or ``"live"`` for an id whose prefix says neither.

    Raises:
        ValidationError: bad call id or target; nothing was sent.
        CallNotFoundError, CallControlError: the server refused.
    """
    which, call_id = resolve_api(call_id, api)
    target = _check_target_uri(target_uri, which)
    _check_client(client)
    async with _client_scope(client) as c:
        try:
            if which == "live":
                await c.live.sessions.refer(call_id, target_uri=target)
            else:
                await c.realtime.calls.refer(call_id, target_uri=target)
        except openai.OpenAIError as exc:
            raise _wrap(exc, action="refer", call_id=call_id, client=c) from None


async def hangup(
    call_id: str, *, client: openai.AsyncOpenAI | None = None, api: ApiName | None = None
) -> None:
    """End a call: ``POST /v1/realtime/calls/{id}/hangup`` or ``/v1/live/sessions/{id}/hangup``.

    The Live docstring says "End a SIP call"; whether it also ends a Live WebRTC session is
    unconfirmed (live-protocol.md §2.1): ``session.close`` on the sideband always does.

    Raises:
        ValidationError: bad call id; nothing was sent.
        CallNotFoundError: the call is unknown or has already ended.
        CallControlError: any other refusal by the server.
    """
    which, call_id = resolve_api(call_id, api)
    _check_client(client)
    async with _client_scope(client) as c:
        try:
            if which == "live":
                await c.live.sessions.hangup(call_id)
            else:
                await c.realtime.calls.hangup(call_id)
        except openai.OpenAIError as exc:
            raise _wrap(exc, action="hangup", call_id=call_id, client=c) from None


async def fork(
    session_id: str,
    sdp: str,
    session: Mapping[str, Any] | None = None,
    *,
    client: openai.AsyncOpenAI | None = None,
    **session_fields: Any,
) -> CreatedCall:
    """Fork a stored Live session onto a new WebRTC connection: ``POST …/{id}/fork``.

    The new session inherits the stored one's model, voice, instructions and conversation;
    ``session`` may set only ``client``, ``delegation`` (same owner, ``responses``) and
    ``store`` (live-protocol.md §7.8). Attach the sideband to the **new** id.

    Args:
        session_id: the ``live_…`` id of a session started with ``store=True``.
        sdp: the browser's SDP offer for the new connection (starts with ``v=0``).
        session: overrides (``MediaSessionForkConfig``); leave out to inherit everything.
        client: an ``openai.AsyncOpenAI`` (default: one from the environment).
        **session_fields: more override fields, e.g. ``store=False``.

    Returns:
        ``CreatedCall(call_id=<the new live_… id>, sdp_answer, api="live")``.

    Raises:
        ValidationError: bad id, SDP or override; nothing was sent.
        CallNotFoundError: the session is unknown or was not stored (HTTP 404).
        CallControlError: any other refusal by the server.
    """
    session_id = _live_only(session_id, "forks")
    _check_sdp(sdp)
    overrides = (
        None if session is None and not session_fields
        else _live_session_body(session, session_fields, "fork")
    )
    _check_client(client)
    async with _client_scope(client) as c:
        try:
            transport = {"type": "webrtc", "sdp": sdp}
            if overrides is None:
                raw = await c.live.sessions.with_raw_response.fork(
                    session_id, transport=transport,  # type: ignore[arg-type]
                )
            else:
                raw = await c.live.sessions.with_raw_response.fork(
                    session_id, transport=transport,  # type: ignore[arg-type]
                    session=overrides,  # type: ignore[arg-type]  # validated plain dict
                )
        except openai.OpenAIError as exc:
            raise _wrap(exc, action="fork", call_id=session_id, client=c) from None
        new_id, answer = _answer_of(raw, "fork")
        return CreatedCall(call_id=new_id, sdp_answer=answer, api="live")


async def download_recording(
    session_id: str,
    path: str | os.PathLike[str] | None = None,
    *,
    client: openai.AsyncOpenAI | None = None,
) -> bytes:
    """The recording of a stored Live session: ``GET /v1/live/sessions/{id}/content``.

    The format is not documented (a third party reports stereo WAV, left the caller, right the
    model; unconfirmed, live-protocol.md §2.1): the bytes are returned as sent.

    Args:
        session_id: the ``live_…`` id of a session started with ``store=True``.
        path: also write the bytes to this file (its folder must exist).
        client: an ``openai.AsyncOpenAI`` (default: one from the environment).

    Raises:
        ValidationError: bad id or path; nothing was sent.
        CallNotFoundError: the session is unknown or was not stored (HTTP 404).
        CallControlError: any other refusal by the server.
    """
    session_id = _live_only(session_id, "recordings")
    target: Path | None = None
    if path is not None:
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise ValidationError("path", f"expected a file path, got {type(path).__name__}",
                                  "pass a file name such as 'call.wav', or leave it out",
                                  code="invalid_type")
        target = Path(path)
        if not target.parent.is_dir():
            raise ValidationError("path", "its folder does not exist",
                                  "create the folder first, or pass another path")
    _check_client(client)
    async with _client_scope(client) as c:
        try:
            content = await c.live.sessions.download_recording(session_id)
        except openai.OpenAIError as exc:
            raise _wrap(exc, action="download_recording", call_id=session_id, client=c) from None
        data = content.content
    if target is not None:
        target.write_bytes(data)
    return data
