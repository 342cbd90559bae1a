"""Which server signals end a call for good, and which are drops worth reconnecting after.

Why: the real service refuses a bad key, model or header *after* the WebSocket upgrade: it
answers 101, sends one ``error`` event and closes with a code in the 3000/4000 ranges. A
client that treats that close as a network drop reconnects for ever (issue 10 measured 9
connections in 4 s against the API). The transport and the ``Call`` need one place that
says which close codes are drops and which ``error`` codes mean "this call cannot go on",
and a reason text for the status that never carries key material.

Evidence (public records of real traffic; see also realtime-protocol.md §0.1 and §8):

* ``invalid_api_key`` (type ``invalid_request_error``), then close **3000** with reason
  ``invalid_request_error.invalid_api_key``: alfred-KE/openai-realtime-twilio-demo,
  ``ERREUR-OPENAI.md``; the message quotes part of the key
  (``"Incorrect API key provided: sk-proj-...sQoA. You can find your API key at …"``).
* ``invalid_model`` / ``missing_model``, close **4000**: issue 10 (measured from public
  probes of the GA endpoint).
* ``beta_api_shape_disabled``, close **4000**, for the ``OpenAI-Beta: realtime=v1`` header:
  NousResearch/hermes-agent#57448, langwatch/scenario#602, antoinedc/MantaUI#1187.
* ``model_not_found``: listed as fatal by third-party Realtime clients next to the codes above.
* ``call_id_not_found``: the GPT-Live sideband's answer to an unknown call (openai/codex#35094);
  ``call_not_found``: the calls API's code for an unknown call (our emulator's REST answers).
* Drops: the openai SDK reconnects on exactly 1001, 1005, 1006, 1011, 1012, 1013 and 1015
  (``types/websocket_reconnection.py``); those are the codes we reconnect after.

A ``session_not_found`` code has not been seen in any public record, so it is not listed;
a close in the 3000/4000 ranges ends the call whatever error came before it.

Never: return a reason with key text in it (every text goes through ``mask_secrets``), or
raise on a malformed event.
"""

from __future__ import annotations

from typing import Any, Final

from .errors import mask_secrets

__all__ = [
    "DROP_CLOSE_CODES",
    "FATAL_ERROR_CODES",
    "REFUSED_PREFIX",
    "describe_error",
    "describe_reported_error",
    "fatal_error_reason",
    "is_drop",
    "safe_text",
]

#: ``error.code`` values after which the call cannot go on: the key, the model, the API
#: shape or the call itself is not valid. Reconnecting would meet the same answer.
FATAL_ERROR_CODES: Final[frozenset[str]] = frozenset({
    "invalid_api_key",          # close 3000 follows (alfred-KE/openai-realtime-twilio-demo)
    "invalid_model",            # close 4000 follows (issue 10)
    "missing_model",            # close 4000 follows (issue 10)
    "model_not_found",          # third-party clients treat it as fatal
    "beta_api_shape_disabled",  # close 4000 follows (realtime-protocol.md §0.1)
    "call_id_not_found",        # GPT-Live sideband, unknown call (openai/codex#35094)
    "call_not_found",           # calls API, unknown call
})

#: Close codes that mean the connection dropped, not that the server refused us: the set the
#: openai SDK reconnects on (RFC 6455 going away / no status / abnormal / internal error /
#: service restart / try again later / TLS failure). Every other code ends the call.
DROP_CLOSE_CODES: Final[frozenset[int]] = frozenset({1001, 1005, 1006, 1011, 1012, 1013, 1015})

_MAX_TEXT: Final = 200
#: How a status reason for a fatal error begins.
REFUSED_PREFIX: Final = "the server refused the call: "


def is_drop(code: int | None) -> bool:
    """Whether a close with ``code`` (``None``: no close frame, as 1006) is worth a reconnect."""
    return code is None or code in DROP_CLOSE_CODES


def safe_text(text: str, limit: int = _MAX_TEXT) -> str:
    """``text`` with secret-shaped parts masked, then cut to ``limit`` characters."""
    text = mask_secrets(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_error(event: Any) -> tuple[str, bool] | None:
    """``(text, fatal)`` for a server ``error`` event, else ``None``.

    ``text`` is the message and code with secret-shaped parts masked; ``fatal`` is whether
    the code is in ``FATAL_ERROR_CODES`` (the call cannot go on).
    """
    if not isinstance(event, dict) or event.get("type") != "error":
        return None
    err = event.get("error")
    if not isinstance(err, dict):
        return None
    code = err.get("code")
    code = safe_text(code, 60) if isinstance(code, str) and code else None
    message = err.get("message")
    text = safe_text(message) if isinstance(message, str) and message.strip() else ""
    if code:
        text = f"{text} ({code})" if text else code
    return (text or "an error without a message"), code in FATAL_ERROR_CODES


def describe_reported_error(error: Any) -> tuple[str, bool]:
    """``(text, fatal)`` for a decoded server error (a codec's ``ErrorReported``), as
    ``describe_error`` says it for the wire frame: the message and code masked and cut."""
    code = error.code
    code = safe_text(code, 60) if isinstance(code, str) and code else None
    message = error.message
    text = safe_text(message) if isinstance(message, str) and message.strip() else ""
    if code:
        text = f"{text} ({code})" if text else code
    return (text or "an error without a message"), code in FATAL_ERROR_CODES


def fatal_error_reason(event: Any) -> str | None:
    """The status reason for a server ``error`` event that ends the call, else ``None``.

    ``{"type": "error", "error": {"code": "invalid_api_key", "message": "Incorrect API key
    provided: sk-abc***…"}}`` → ``"the server refused the call: Incorrect API key provided:
    sk-…(hidden) (invalid_api_key)"``. Only codes in ``FATAL_ERROR_CODES`` end a call; any
    other error (a refused client event) is shown and the call goes on.
    """
    info = describe_error(event)
    if info is None or not info[1]:
        return None
    return f"{REFUSED_PREFIX}{info[0]}"
