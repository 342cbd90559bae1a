"""The one exception the protocol core raises for bad client input: ``ValidationError``.

Why: a bad field must be named precisely (dotted path), explained, and paired with a fix,
both for people in a notebook and for the emulator, which turns the same error into the
real server's ``error`` event (``error.code`` / ``error.param``, realtime-protocol.md §6.1, §8).
Messages are shown in notebooks and logs, so they must never echo a long value in full and
must never echo a secret at all (callers pass ``value=None`` for secret fields). People paste
keys into the wrong box (a call id, an item id), so as a second line of defence ``short()`` and
``ValidationError`` mask anything shaped like a secret (``sk-…``, ``whsec_…``, ``ek_…``, a
``Bearer`` token) wherever it sits in the text, before any truncation could cut it in two.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any, Final, Literal

__all__ = [
    "ERROR_CODES",
    "ErrorCode",
    "ValidationError",
    "did_you_mean",
    "mask_secrets",
    "short",
]

ErrorCode = Literal[
    "invalid_event",
    "invalid_value",
    "unknown_parameter",
    "missing_required_parameter",
    "invalid_type",
]

#: The ``error.code`` values a ``ValidationError`` can carry (the real server's vocabulary).
ERROR_CODES: Final[frozenset[str]] = frozenset(
    {
        "invalid_event",
        "invalid_value",
        "unknown_parameter",
        "missing_required_parameter",
        "invalid_type",
    }
)

_SHORT_LIMIT: Final = 40

# What a secret looks like: OpenAI API keys (sk-…, sk-proj-…, sk-svcacct-…, sk-admin-…, and
# the older rk-…), Realtime ephemeral client secrets (ek_…), Standard Webhooks secrets
# (whsec_…) and HTTP bearer tokens. The lookbehind refuses a letter or digit right before
# the prefix ("task-list" is no key) but allows "_" so "rtc_u1_sk-proj-…" (a key pasted
# after an id prefix) is caught. Group 1 is the prefix kept in the masked text. The tail
# also takes "*", "." and "…": the real service quotes a bad key half-starred in its error
# message ("Incorrect API key provided: sk-proj-...sQoA.", "sk-abc***…"), and neither the
# visible head nor the tail of a key may be shown.
_SECRET_RE: Final = re.compile(
    r"(?<![A-Za-z0-9])"
    r"((?:sk|rk)-(?:(?:proj|svcacct|admin)-)?|ek_|whsec_)[A-Za-z0-9_\-+/=*.…]{3,}"
    r"[A-Za-z0-9_\-+/=*…]"  # a sentence's full stop after the token is kept
    r"|(?<![A-Za-z0-9])(Bearer\s+)[^\s'\"]{4,}",
    re.IGNORECASE,
)
_HIDDEN: Final = "…(hidden)"


def _mask(match: re.Match[str]) -> str:
    return (match.group(1) or match.group(2)) + _HIDDEN


def mask_secrets(text: str) -> str:
    """``text`` with every secret-shaped token replaced by its prefix and ``…(hidden)``.

    ``mask_secrets("call_id 'sk-proj-abc123…'")`` → ``"call_id 'sk-proj-…(hidden)'"``.
    """
    return _SECRET_RE.sub(_mask, text)


def short(value: Any, limit: int = _SHORT_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters, so messages never carry a whole payload.

    Secret-shaped parts are masked first (see ``mask_secrets``), so a pasted key is never
    echoed, not even its first characters.
    """
    text = mask_secrets(repr(value))
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` when ``name`` is close to one of ``choices``, else ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class ValidationError(ValueError):
    """A client event or session field that the Realtime server would refuse.

    Attributes:
        field: dotted path of the bad field, e.g. ``"session.audio.output.speed"``.
        problem: what is wrong, e.g. ``"3.0 is above the maximum 1.5"``.
        fix: what to do, e.g. ``"use a number from 0.25 to 1.5"``.
        code: the server's ``error.code`` for this failure (one of ``ERROR_CODES``).
        param: the server's ``error.param`` (the dotted path; equal to ``field``).

    ``str(err) == f"{field}: {problem}. Fix: {fix}"``.
    """

    field: str
    problem: str
    fix: str
    code: str
    param: str

    def __init__(
        self, field: str, problem: str, fix: str, *, code: ErrorCode = "invalid_value"
    ) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"code: {code!r} is not a server error code")
        # Callers format values into these texts; a pasted key must not survive in any.
        field, problem, fix = mask_secrets(field), mask_secrets(problem), mask_secrets(fix)
        self.field = field
        self.problem = problem
        self.fix = fix
        self.code = code
        self.param = field
        super().__init__(f"{field}: {problem}. Fix: {fix}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps the error picklable (the default would call __init__ with the message only).
        return (_rebuild, (self.field, self.problem, self.fix, self.code))

    def to_error(self, event_id: str | None = None) -> dict[str, Any]:
        """The ``error`` object of the server's ``error`` event for this failure.

        Args:
            event_id: the ``event_id`` of the client event being refused, if it had one.
        """
        return {
            "type": "invalid_request_error",
            "code": self.code,
            "message": str(self),
            "param": self.param or None,
            "event_id": event_id,
        }


def _rebuild(field: str, problem: str, fix: str, code: ErrorCode) -> ValidationError:
    return ValidationError(field, problem, fix, code=code)
