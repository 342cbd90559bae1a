"""Call control over REST: create a WebRTC call, and accept, reject, refer or hang up a call.

Why: the sideband only watches and steers a session; whether a SIP call is answered, turned
away, transferred or ended is decided by five REST endpoints (realtime-protocol.md §2, §4).
This module drives them through the official SDK (``client.realtime.calls``) so that auth,
base URLs, retries and the emulator (``client=emu.client()``) all work the same way, and it
adds what the SDK leaves out: input checked *before* anything is sent (a bad call id, session
field, SIP status code or transfer target raises ``ValidationError`` naming the field and the
fix, and no request leaves the process), the call id read from the ``Location`` header of a
created call, and server failures turned into ``CallControlError`` texts that name the call
and say what to do.

What it must never do: send a request for input it has refused; put the API key into an
exception text (server messages are scrubbed before they are quoted); keep a client it
created itself open after the call (a default client lives for one request only).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

import openai

from rtwidgets.protocol.errors import ValidationError, short
from rtwidgets.protocol.ids import SIP_URI_RE, TEL_URI_RE, call_id_from_location, check_call_id
from rtwidgets.protocol.session import validate_session

__all__ = [
    "CallControlError",
    "CallNotFoundError",
    "CreatedCall",
    "accept",
    "create_call",
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
        call_id: the last path segment of the ``Location`` header (``rtc_…``, opaque): the
            id to attach the sideband to and to hang up with.
        sdp_answer: the server's SDP answer, to hand to the browser's ``RTCPeerConnection``.
    """

    call_id: str
    sdp_answer: str


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


# --------------------------------------------------------------------------- validation


def _check_call_id(call_id: object) -> str:
    # The one rule for call ids (protocol/ids.py): 'rtc_' and a safe tail, never echoed.
    return check_call_id(call_id, "call_id")


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
    if session_type != "realtime":
        raise ValidationError(
            "session.type",
            f"{short(session_type)} cannot take a call",
            "use type='realtime' (or leave it out); transcription sessions cannot be accepted",
        )
    validate_session(body, partial=True)
    return body


def _check_status_code(status_code: object) -> int | None:
    if status_code is None:
        return None
    if isinstance(status_code, bool) or not isinstance(status_code, int):
        raise ValidationError(
            "status_code",
            f"expected an integer SIP status code, got {type(status_code).__name__}",
            "pass a SIP final status from 400 to 699, e.g. 486 (Busy Here) or 603 (Decline); "
            "leave it out for the server's default 603",
            code="invalid_type",
        )
    if not 400 <= status_code <= 699:
        raise ValidationError(
            "status_code",
            f"{status_code} is not a SIP rejection status",
            "use a SIP final status from 400 to 699, e.g. 486 (Busy Here) or 603 (Decline)",
        )
    return status_code


def _check_target_uri(target_uri: object) -> str:
    if not isinstance(target_uri, str):
        raise ValidationError(
            "target_uri",
            f"expected a string, got {type(target_uri).__name__}",
            "pass a 'tel:+14155550123' or 'sip:agent@example.com' URI",
            code="invalid_type",
        )
    if len(target_uri) > _TARGET_URI_MAX:
        raise ValidationError(
            "target_uri",
            f"{len(target_uri)} characters is longer than {_TARGET_URI_MAX}",
            "pass a short 'tel:' or 'sip:' URI",
        )
    scheme = target_uri.split(":", 1)[0].lower() if ":" in target_uri else ""
    if scheme == "tel":
        ok = TEL_URI_RE.fullmatch(target_uri) is not None
    elif scheme in ("sip", "sips"):
        ok = SIP_URI_RE.fullmatch(target_uri) is not None
    else:
        raise ValidationError(
            "target_uri",
            f"{short(target_uri)} is not a tel:, sip: or sips: URI",
            "pass e.g. 'tel:+14155550123' or 'sip:agent@example.com' (the SIP Refer-To target)",
        )
    if not ok:
        raise ValidationError(
            "target_uri",
            f"{short(target_uri)} is not a well-formed {scheme}: URI",
            "use 'tel:+<digits>' or 'sip:user@host[:port]', with no spaces",
        )
    return target_uri


def _check_sdp(sdp: object) -> str:
    if not isinstance(sdp, str):
        raise ValidationError(
            "sdp",
            f"expected the SDP offer as a string, got {type(sdp).__name__}",
            "pass pc.localDescription.sdp from the browser (a text starting with 'v=0')",
            code="invalid_type",
        )
    if not sdp.lstrip().startswith("v=0"):
        raise ValidationError(
            "sdp",
            f"{short(sdp)} does not look like an SDP offer",
            "pass the offer's SDP text, which starts with 'v=0'",
        )
    return sdp


def _check_client(client: object) -> None:
    if client is not None and not isinstance(client, openai.AsyncOpenAI):
        raise ValidationError(
            "client",
            f"expected an openai.AsyncOpenAI, got {type(client).__name__}",
            "pass client=openai.AsyncOpenAI(...) (or emu.client()), or leave it out to use "
            "OPENAI_API_KEY",
            code="invalid_type",
        )


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
        return CallControlError(
            f"{subject}: the server answered HTTP {exc.status_code}: {server}. "
            f"Fix: {_WHAT_TO_DO[action]}",
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


async def create_call(
    sdp: str,
    session: Mapping[str, Any] | None = None,
    client: openai.AsyncOpenAI | None = None,
) -> CreatedCall:
    """Create a WebRTC call from an SDP offer: ``POST /v1/realtime/calls``.

    Args:
        sdp: the browser's SDP offer (starts with ``v=0``).
        session: the session to start with (``type`` ``"realtime"`` is inserted when absent);
            validated before sending.
        client: an ``openai.AsyncOpenAI`` (default: one from the environment).

    Returns:
        ``CreatedCall(call_id, sdp_answer)``; the call id is read from the ``Location`` header.

    Raises:
        ValidationError: bad input; nothing was sent.
        CallControlError: the server refused, was unreachable, or sent no ``Location``.
    """
    _check_sdp(sdp)
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
    **session_fields: Any,
) -> None:
    """Accept a ringing SIP call with a session: ``POST /v1/realtime/calls/{id}/accept``.

    Args:
        call_id: the ``rtc_u0_…`` id from the ``realtime.call.incoming`` webhook.
        session: the session object (``type`` ``"realtime"`` is inserted when absent).
        client: an ``openai.AsyncOpenAI`` (default: one from the environment).
        **session_fields: more session fields, e.g. ``instructions="…"``; a field may not
            appear both here and in ``session``.

    Raises:
        ValidationError: bad call id or session field; nothing was sent.
        CallNotFoundError: the call is unknown or no longer ringing (HTTP 404).
        CallControlError: any other refusal by the server.
    """
    _check_call_id(call_id)
    body = _session_body(session, session_fields)
    _check_client(client)
    async with _client_scope(client) as c:
        try:
            await c.realtime.calls.accept(call_id, **body)
        except openai.OpenAIError as exc:
            raise _wrap(exc, action="accept", call_id=call_id, client=c) from None


async def reject(
    call_id: str,
    status_code: int | None = None,
    *,
    client: openai.AsyncOpenAI | None = None,
) -> None:
    """Turn a ringing SIP call away: ``POST /v1/realtime/calls/{id}/reject``.

    Args:
        call_id: the ``rtc_u0_…`` id of the ringing call.
        status_code: the SIP final status, 400–699 (e.g. 486 Busy Here); ``None`` sends ``{}``
            and the server uses 603 Decline.
        client: an ``openai.AsyncOpenAI`` (default: one from the environment).

    Raises:
        ValidationError: bad call id or status code; nothing was sent.
        CallNotFoundError, CallControlError: the server refused.
    """
    _check_call_id(call_id)
    code = _check_status_code(status_code)
    _check_client(client)
    async with _client_scope(client) as c:
        try:
            if code is None:
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
) -> None:
    """Transfer a SIP call (SIP REFER): ``POST /v1/realtime/calls/{id}/refer``.

    Args:
        call_id: the ``rtc_u0_…`` id of the live call.
        target_uri: where to transfer, ``tel:+14155550123`` or ``sip:agent@example.com``.
        client: an ``openai.AsyncOpenAI`` (default: one from the environment).

    Raises:
        ValidationError: bad call id or target; nothing was sent.
        CallNotFoundError, CallControlError: the server refused.
    """
    _check_call_id(call_id)
    target = _check_target_uri(target_uri)
    _check_client(client)
    async with _client_scope(client) as c:
        try:
            await c.realtime.calls.refer(call_id, target_uri=target)
        except openai.OpenAIError as exc:
            raise _wrap(exc, action="refer", call_id=call_id, client=c) from None


async def hangup(call_id: str, *, client: openai.AsyncOpenAI | None = None) -> None:
    """End a SIP or WebRTC call: ``POST /v1/realtime/calls/{id}/hangup``.

    Raises:
        ValidationError: bad call id; nothing was sent.
        CallNotFoundError: the call is unknown or has already ended.
        CallControlError: any other refusal by the server.
    """
    _check_call_id(call_id)
    _check_client(client)
    async with _client_scope(client) as c:
        try:
            await c.realtime.calls.hangup(call_id)
        except openai.OpenAIError as exc:
            raise _wrap(exc, action="hangup", call_id=call_id, client=c) from None
