"""``rtwidgets doctor``: check a setup against the real API (or any server) from a shell.

Why: the notebooks and tests run against the emulator; the first contact with the real service
is where a wrong key, a mangled webhook secret or an unreachable call shows up, and it should
show up as a short checklist rather than as a widget stuck on "reconnecting". The doctor
checks, in order:

1. ``OPENAI_API_KEY`` authenticates: one read-only ``GET /v1/models`` through the official SDK
   (``client.models.list()``); the failure kind (HTTP 401 / 403 / 429 / other, or network) is
   named with the server's error code and its message scrubbed of anything secret-shaped.
2. ``OPENAI_WEBHOOK_SECRET``, if set, has the form the SDK expects: ``whsec_`` + strict base64
   that decodes to bytes. A secret without ``whsec_`` is a warning, not a failure: the SDK then
   uses the text itself as the HMAC key (realtime-protocol.md §3.5), which works only if the
   sender does the same.
3. Given ``--call-id``, it attaches to that call's sideband through ``rtwidgets.attach``
   (``capture=False``: nothing is written; ``reconnect=False``: a drop or a refusal is a
   finding to report, not something to heal) for ``--seconds``, prints the event types seen
   and their counts, then closes its own socket. It never hangs up: the call goes on.

``OPENAI_BASE_URL`` and ``OPENAI_WEBSOCKET_BASE_URL`` point it elsewhere (e.g. the emulator);
the SDK reads only the first, so the doctor passes the second itself.

Exit codes: 0 when every check that ran passed (warnings and skipped checks do not fail);
1 when a check failed; 2 for bad arguments (argparse). Without a key the network checks are
skipped and the exit code is 0 (unless a local check failed): CI runs have no key, and
nothing that was checked is wrong. The output says "skipped" plainly.

Never: prints a key or a webhook secret, not even a part of one. Every line goes through
``_Out``, which replaces the values themselves and masks anything secret-shaped (a server
message quoting a key, e.g. ``sk-proj-****abcd``). Without a key it opens no connection.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TextIO
from urllib.parse import urlsplit, urlunsplit

from rtwidgets.protocol.codec import ErrorReported
from rtwidgets.protocol.errors import ValidationError, mask_secrets
from rtwidgets.protocol.ids import is_call_id

if TYPE_CHECKING:
    import openai

__all__ = ["DoctorOptions", "run_doctor"]

_DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
_LABEL_WIDTH: Final = 24
_MESSAGE_MAX: Final = 200
_HIDDEN: Final = "…(hidden)"

_HOW_TO_SET_KEY_SHORT: Final = "export OPENAI_API_KEY=…  (https://platform.openai.com/api-keys)"
_HOW_TO_SET_KEY: Final = ("use a standard key of the project that owns the calls: "
                          "export OPENAI_API_KEY=…")


@dataclass(frozen=True, slots=True)
class DoctorOptions:
    """What to check: ``call_id`` (``None``: no sideband check) for ``seconds`` seconds."""

    call_id: str | None = None
    seconds: float = 10.0
    connect_timeout: float = 15.0


class _Out:
    """The doctor's only way to print: aligned checklist rows, every line scrubbed."""

    def __init__(self, stream: TextIO, secrets: list[str]) -> None:
        self._stream = stream
        # The exact values and their stripped forms (a pasted secret often ends in "\n").
        values = {s for v in secrets for s in (v, v.strip()) if len(s) >= 4}
        self._secrets = sorted(values, key=len, reverse=True)
        # A stream without an encoding (StringIO) takes any text; a terminal or pipe in an
        # ASCII locale gets ASCII marks instead of a UnicodeEncodeError.
        encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            "✓✗–!".encode(encoding)
            self.ok, self.fail, self.skip, self.warn = "✓", "✗", "–", "!"
        except (UnicodeEncodeError, LookupError):
            self.ok, self.fail, self.skip, self.warn = "+", "x", "-", "!"
        self.failed = 0
        self.warned = 0

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _HIDDEN)
        # The shared mask hides key-shaped tokens, masked forms too ("sk-proj-****abcd"),
        # and is idempotent: its own output is never matched again.
        return mask_secrets(text)

    def line(self, text: str = "") -> None:
        print(self.scrub(text), file=self._stream, flush=True)

    def row(self, mark: str, label: str, detail: str, fix: str | None = None) -> None:
        if mark == self.fail:
            self.failed += 1
        elif mark == self.warn:
            self.warned += 1
        self.line(f"{mark} {label:<{_LABEL_WIDTH}} {detail}".rstrip())
        if fix:
            self.more(f"Fix: {fix}")

    def more(self, detail: str) -> None:
        """A continuation line under the last row's detail."""
        self.line(f"  {'':<{_LABEL_WIDTH}} {detail}")


def _shown_url(url: str) -> str:
    """``url`` without user info, query or fragment (a proxy URL may carry a password)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(not a URL)"
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))




def _short_message(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_MAX else text[: _MESSAGE_MAX - 1] + "…"


# ---------------------------------------------------------------------------- webhook secret


def check_webhook_secret(value: str | None) -> tuple[str, str, str | None]:
    """The verdict on ``OPENAI_WEBHOOK_SECRET``: (``ok`` | ``fail`` | ``warn`` | ``skip``,
    what was found, the fix or ``None``). The texts never contain any part of the secret."""
    again = "copy the whole secret again from the webhook endpoint's settings"
    if value is None:
        return "skip", "not set (only WebhookInbox needs it, to verify SIP call webhooks)", None
    if not value:
        return "fail", "set but empty", f"unset it, or {again}"
    if value != value.strip():
        return "fail", ("has spaces or a line break around it, which the SDK would use as "
                        "part of the key"), "remove them"
    if value.startswith("whsec_"):
        try:
            key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            return "fail", ("whsec_ is not followed by valid base64: the SDK would fail or "
                            "derive a wrong key"), again
        if not key:
            return "fail", "nothing follows whsec_", again
        return "ok", f"whsec_ + base64 (a {len(key)}-byte key)", None
    if mask_secrets(value) != value:
        return "fail", "looks like an API key, not a webhook secret", (
            "use the whsec_… secret of the webhook endpoint")
    return "warn", ("no whsec_ prefix: the SDK then uses the text itself as the HMAC key; "
                    "OpenAI's secrets start with whsec_"), "check that you copied all of it"


# ---------------------------------------------------------------------------- the key


async def _check_key(out: _Out, client: openai.AsyncOpenAI) -> None:
    import openai

    label = "key authenticates"
    try:
        page = await client.models.list()
    except openai.APIStatusError as err:
        status = err.status_code
        body = err.body if isinstance(err.body, dict) else {}
        error = body.get("error", body) if isinstance(body, dict) else {}
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        kind = {401: "the key was refused", 403: "the key may not do this",
                429: "rate limited or out of quota"}.get(status, "the server answered an error")
        out.row(out.fail, label, f"{kind}: HTTP {status}{f' {code}' if code else ''}")
        if isinstance(message, str) and message:
            out.more(_short_message(message))
        if status == 401:
            out.more(f"Fix: {_HOW_TO_SET_KEY}")
        return
    except openai.APITimeoutError:
        out.row(out.fail, label, f"network: no answer from {_shown_url(str(client.base_url))}")
        return
    except openai.APIConnectionError as err:
        cause = err.__cause__
        why = f"{type(cause).__name__}: {cause}" if cause is not None else str(err)
        out.row(out.fail, label, f"network: cannot reach {_shown_url(str(client.base_url))}")
        out.more(_short_message(why))
        return
    except openai.OpenAIError as err:
        out.row(out.fail, label, f"{type(err).__name__}: {_short_message(str(err))}")
        return
    ids = [m.id for m in page.data]
    realtime = sum(1 for i in ids if "realtime" in i)
    out.row(out.ok, label, f"GET /models: {len(ids)} models, {realtime} of them realtime")


# ---------------------------------------------------------------------------- the sideband


async def _check_sideband(out: _Out, client: openai.AsyncOpenAI, opts: DoctorOptions) -> None:
    from rtwidgets._call import attach

    assert opts.call_id is not None
    label = "sideband"
    try:
        call = await attach(opts.call_id, client=client, capture=False, reconnect=False,
                            connect_timeout=opts.connect_timeout)
    except ValidationError as err:   # its text is masked already; the value is not echoed
        out.row(out.fail, label, str(err))
        return
    started = time.monotonic()
    try:
        if call.status.state == "connecting":
            out.row(out.fail, label, f"no answer within {opts.connect_timeout:g} s")
            return
        if call.status.state != "ended":
            out.more(f"attached to {opts.call_id}; listening for {opts.seconds:g} s …")
            with contextlib.suppress(TimeoutError):
                await call.wait_ended(opts.seconds)
        ended = call.status if call.status.state == "ended" else None
        lasted = time.monotonic() - started
    finally:
        # Close our own socket only; hanging up would end the call for everyone.
        await call.close("rtwidgets doctor detached")
    counts: Counter[str] = Counter()
    errors: list[ErrorReported] = []
    attached = False
    decode = call.codec.decode  # the server's errors as the call's codec reads them
    for frame in call.frames():
        if frame.direction == "meta":
            attached = attached or frame.type == "rtwidgets.attached"
            continue
        if frame.direction != "in":
            continue
        counts[frame.type] += 1
        errors.extend(ev for ev in decode(frame.event, "in").events
                      if isinstance(ev, ErrorReported))
    total = sum(counts.values())
    seen = f"{total} events of {len(counts)} types"
    if not attached:
        out.row(out.fail, label, f"could not attach: {ended.reason if ended else 'no answer'}")
        return
    if ended is not None and errors:
        # The server sent an error and closed: a refusal after the upgrade (a bad key on the
        # real service is refused this way, with code invalid_api_key).
        out.row(out.fail, label, f"refused after {lasted:.1f} s: {ended.reason}")
    elif ended is not None:
        out.row(out.ok, label, f"attached; {seen}; the call ended after {lasted:.1f} s")
        out.more(f"why: {ended.reason}")
    else:
        out.row(out.ok, label, f"attached {opts.seconds:g} s; {seen}; detached, the call "
                "goes on (not hung up)")
    for error in errors:
        code = error.code or error.type or "error"
        message = error.message
        out.more(f"server error {code}{': ' + _short_message(message) if message else ''}")
    if counts:
        width = max(len("event type"), *(len(t) for t in counts))
        out.line()
        out.line(f"  {'event type':<{width}}  count")
        for etype, n in counts.items():   # first-seen order: the order the protocol ran in
            out.line(f"  {etype:<{width}}  {n:>5}")


# ---------------------------------------------------------------------------- the run


def _client(key: str, base_url: str, ws_url: str | None) -> openai.AsyncOpenAI:
    import openai

    # One try, a short timeout: the doctor reports what happens, it does not paper over it.
    return openai.AsyncOpenAI(api_key=key, base_url=base_url, websocket_base_url=ws_url,
                              max_retries=0, timeout=20.0)


async def run_doctor(opts: DoctorOptions, stream: TextIO | None = None) -> int:
    """Run the checks, print the checklist to ``stream`` (stdout); return the exit code."""
    key = os.environ.get("OPENAI_API_KEY")
    webhook_secret = os.environ.get("OPENAI_WEBHOOK_SECRET")
    out = _Out(stream if stream is not None else sys.stdout,
               [s for s in (key, webhook_secret) if s])
    marks = {"ok": out.ok, "fail": out.fail, "warn": out.warn, "skip": out.skip}
    from rtwidgets._control import env_setting  # the one reading of these, shared with attach

    base_url = env_setting("OPENAI_BASE_URL") or _DEFAULT_BASE_URL
    ws_url = env_setting("OPENAI_WEBSOCKET_BASE_URL")
    out.line("rtwidgets doctor")
    out.row(" ", "server", _shown_url(base_url) + (
        f"  (websocket {_shown_url(ws_url)})" if ws_url else ""))

    key_text = (key or "").strip()
    have_key = bool(key_text)
    if not have_key:
        out.row(out.skip, "OPENAI_API_KEY", "not set: the checks that need the network are "
                "skipped" if key is None else "set but empty: the network checks are skipped")
    elif key != key_text:
        out.row(out.fail, "OPENAI_API_KEY", "has spaces or a line break around it, which the "
                "SDK sends as part of the key (checked below without them)", "remove them")
    elif key_text.startswith("ek_"):
        out.row(out.fail, "OPENAI_API_KEY", "is an ephemeral client secret (starts with ek_): "
                "it cannot list models or attach a sideband", "use a standard API key")
    else:
        out.row(out.ok, "OPENAI_API_KEY", "set")

    verdict, why, fix = check_webhook_secret(webhook_secret)
    out.row(marks[verdict], "OPENAI_WEBHOOK_SECRET", why, fix)

    call_ok = opts.call_id is None or is_call_id(opts.call_id)
    if not have_key:
        out.line()
        out.line("With OPENAI_API_KEY set, the doctor would check:")
        out.line("  - that the key authenticates: one read-only GET /models")
        if opts.call_id is not None:
            shown = opts.call_id if call_ok else "(the given call id)"
            out.line(f"  - the sideband of {shown}: attach for {opts.seconds:g} s, count "
                     "event types, detach")
        else:
            out.line("  - given --call-id ID, that call's sideband: attach, count event "
                     "types, detach")
        out.line(f"Set the key: {_HOW_TO_SET_KEY_SHORT}")
        if opts.call_id is not None and not call_ok:
            out.row(out.fail, "--call-id", "not a Realtime call id (rtc_…); the value is not "
                    "shown", "pass the id from the Location header or the webhook")
        out.line()
        if out.failed:
            out.line(f"{out.failed} check(s) failed; network checks skipped (no OPENAI_API_KEY)")
            return 1
        out.line("skipped: no OPENAI_API_KEY, so nothing was checked against the API (exit 0)")
        return 0

    client = _client(key_text, base_url, ws_url)
    try:
        await _check_key(out, client)
        if opts.call_id is not None:
            await _check_sideband(out, client, opts)
        else:
            out.row(out.skip, "sideband", "no --call-id given: not checked")
    finally:
        await client.close()
    out.line()
    if out.failed:
        out.line(f"{out.failed} check(s) failed")
        return 1
    out.line("all checks passed" + (f" ({out.warned} warning(s))" if out.warned else ""))
    return 0
