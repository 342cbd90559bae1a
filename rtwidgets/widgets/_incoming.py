"""IncomingCalls: ringing SIP calls from a ``WebhookInbox``, with accept/reject/refer/attach.

Both APIs: a SIP call can be offered to Realtime (``rtc_…``), to GPT-Live (``live_…``) or to
both; the inbox folds both offers of one call into one ``IncomingCall``, so the form shows
**one row per call** with every id it has, and two accept buttons when both are known
("Accept as Realtime", "Accept as Live"; one button when only one id is known). The first
accept decides, as on the platform: the row then says which API took the call, both accept
buttons are off, and a scripted second accept is refused by the ``IncomingCall`` before
anything is sent. A Live accept takes its session from the "accept as Live" JSON box (shown
once a Live offer arrived; its ``model`` is required), never from the Realtime session
editor. A Live WebRTC session the inbox learnt of from ``live.transport.connected`` is a row
with status "connected" and only Attach.

Why: a SIP call reaches a notebook only as a signed ``realtime.call.incoming`` webhook, and
it rings only for a while. A person wants the calls listed as they arrive (From, To, the SIP
headers), and to answer one in a click: Accept with a session (the fields of an attached
``SessionEditor``, or a JSON box), Reject with a SIP status, Refer to a ``tel:``/``sip:`` URI,
then Attach the sideband and get a console for the call. Each button's action is an
awaitable twin on this form (``await incoming.accept(call_id, session=…)``, ``reject``,
``refer``, ``attach``) calling the ``IncomingCall``'s own coroutine.

Layout (what a person needs with several calls at once): ringing calls are pinned at the
top, then accepted ones, then attached ones, then the finished ones. An attached call's row
is one compact line (id, From → To, status, "open console"): its console opens *below the
list* (``console_area``), never inside the row, so the next ringing call stays in view.
A row whose call ended says "ended" and its actions are disabled (a Refer after the end
can only fail). From and To are printed once (the SIP ``From``/``To`` headers are not
repeated in the header list), and a reject's SIP status is explained ("603 Decline") from a
small table of the common codes (RFC 3261 §21).

Consoles: this module does not import ``_console`` (which composes this form): the console
class registers itself as ``IncomingCalls.console_factory`` when it is imported, and
``on_attach`` overrides it per view.

The source is a ``WebhookInbox`` (not a ``Call``), so this view follows the shared view
contract (``bind``/``unbind``/``close``, actions as tasks, errors in place) with its own
``bind``. It listens with ``inbox.subscribe`` (sees every call at once, without taking it
from the queue) and, with ``consume=True`` (the default), also drains the inbox's queue in a
task on the running loop so a notebook that only uses this form never fills the queue (the
inbox answers 503 when it is full). Pass ``consume=False`` when your own code runs
``async for incoming in inbox``.

Privacy: SIP headers (caller numbers and addresses) and the accept-session JSON are shown
with ``PrivateText`` (see ``_fields``): never in a synced trait unless
``private=False``. The headers are untrusted caller input: they are shown as text, never
as HTML.

What it must never do: send a control request that failed its check (bad session JSON, a
status outside 400–699, a URI that is not tel:/sip:) — the control layer validates before
any request and raises ``ValidationError``; block the kernel; call ``display()`` from a task
(the console for an attached call is added inside this widget, below the list, instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final

import ipywidgets as w

from ..protocol.errors import ValidationError, mask_secrets
from ..protocol.ids import shown_id
from ._base import SourceView, describe_error
from ._fields import (
    PrivateText,
    close_widgets,
    parse_json,
    run_on,
    running_loop,
)
from ._fields import css_error as _css_error
from ._fields import css_note as _css_note
from ._fields import css_ok as _css_ok

__all__ = ["IncomingCalls"]

_STATUS_COLORS = {
    "ringing": "#f57c00",
    "connected": "#388e3c",
    "accepted": "#388e3c",
    "attached": "#1976d2",
    "rejected": "#d32f2f",
    "referred": "#7b1fa2",
    "ended": "#616161",
}


#: Common SIP final response codes (RFC 3261 §21) and what they tell the caller's side.
SIP_STATUS: Final[dict[int, str]] = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    410: "Gone",
    480: "Temporarily Unavailable",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    503: "Service Unavailable",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}
#: Row order: what needs a decision first.
_GROUP_ORDER: Final = {"ringing": 0, "accepted": 1, "connected": 1, "attached": 2}
_API_LABEL: Final = {"realtime": "Realtime", "live": "Live"}
_LIVE_SESSION_JSON: Final = '{\n  "type": "live",\n  "model": "gpt-live-1"\n}'



def sip_status_text(code: Any) -> str:
    """``603 Decline`` for a known code, ``499 (client error)`` style for the others."""
    if not isinstance(code, int) or isinstance(code, bool):
        return str(code)
    name = SIP_STATUS.get(code)
    if name is not None:
        return f"{code} {name}"
    kind = {4: "client error", 5: "server error", 6: "global failure"}.get(code // 100)
    return f"{code} ({kind})" if kind else str(code)


def _headers_text(incoming: Any) -> str:
    from_, to = getattr(incoming, "from_", None), getattr(incoming, "to", None)
    lines = [f"From: {from_ or '?'}"]
    lines.append(f"To:   {to or '?'}")
    # From and To are the lines above: the same SIP headers are not printed again.
    shown = {name for name, value in (("from", from_), ("to", to)) if value}
    headers = [
        (name, value)
        for name, value in list(getattr(incoming, "sip_headers", []) or [])
        if str(name).lower() not in shown
    ]
    if headers:
        lines.append("")
        lines.extend(f"{name}: {value}" for name, value in headers)
    return "\n".join(lines)


def _ids_of(incoming: Any) -> tuple[str | None, str | None]:
    """``(rtc_… id, live_… id)`` of an incoming call (either may be ``None``)."""
    realtime_id = getattr(incoming, "realtime_id", None)
    live_id = getattr(incoming, "live_id", None)
    if realtime_id is None and live_id is None:  # an object without the two ids
        realtime_id = str(getattr(incoming, "call_id", "")) or None
    return realtime_id, live_id


def _from_to_line(incoming: Any) -> str:
    return f"{getattr(incoming, 'from_', None) or '?'} → {getattr(incoming, 'to', None) or '?'}"


class _Row:
    """The widgets of one incoming call."""

    def __init__(self, call_id: str, *, private: bool, redact: bool) -> None:
        self.call_id = call_id
        self.header = w.HTML("")
        self.headers = PrivateText(mode="view", private=private, redact=redact)
        # The compact line's "From → To" (caller numbers: private text, never a trait).
        self.summary = PrivateText(mode="view", private=private, redact=redact)
        self.summary.add_class("rtw-incoming-summary")
        self.open_console = w.Button(
            description="open console",
            icon="external-link",
            tooltip="Show this call's console below the list",
            layout={"width": "auto"},
        )
        self.accept = w.Button(description="Accept", icon="phone", button_style="success")
        self.accept_live = w.Button(description="Accept as Live", icon="phone",
                                    button_style="success",
                                    tooltip="Accept as a GPT-Live session (the Live JSON box)")
        self.reject = w.Button(description="Reject", icon="phone-slash", button_style="danger")
        self.status_code = w.BoundedIntText(
            value=603, min=400, max=699, description="status", layout={"width": "150px"},
            tooltip="SIP status sent with Reject (400–699)",
        )
        self.status_note = w.HTML("")
        self.refer = w.Button(description="Refer", icon="share")
        self.target = PrivateText(
            mode="line", private=private, description="", placeholder="tel:+14155550123"
        )
        self.target.layout.width = "220px"
        self.attach = w.Button(description="Attach", icon="plug")
        self.error = w.HTML("")
        self.buttons = w.HBox(
            [
                self.accept,
                self.accept_live,
                self.reject,
                self.status_code,
                self.status_note,
                self.refer,
                self.target,
                self.attach,
            ],
            layout={"flex_flow": "row wrap", "align_items": "center"},
        )
        self.line = w.HBox(
            [self.header, self.summary, self.open_console],
            layout={"align_items": "center", "flex_flow": "row wrap"},
        )
        self.box = w.VBox([self.line, self.headers, self.buttons, self.error])
        self.box.add_class("rtw-incoming-call")
        self.status_code.observe(lambda _c: self._explain_status(), names="value")
        self._explain_status()
        for widget, css in (
            (self.open_console, "rtw-open-console"),
            (self.headers, "rtw-sip-headers"),
            (self.accept, "rtw-accept"),
            (self.accept_live, "rtw-accept-live"),
            (self.reject, "rtw-reject"),
            (self.refer, "rtw-refer"),
            (self.target, "rtw-refer-target"),
            (self.attach, "rtw-attach"),
            (self.error, "rtw-form-message"),
        ):
            widget.add_class(css)
        self.busy = False
        self.rejected_with: int | None = None

    def _explain_status(self) -> None:
        self.status_note.value = _css_note(sip_status_text(self.status_code.value))


class IncomingCalls(SourceView, w.VBox):  # type: ignore[misc]
    """Incoming SIP calls of a ``WebhookInbox``, each with Accept/Reject/Refer/Attach.

    ``IncomingCalls(inbox, editor=None, on_attach=None, consume=True, private=True)``:
    ``editor`` is a ``SessionEditor`` whose current fields are the accept session (else the
    JSON box is used); ``on_attach(call)`` is called with each attached ``Call`` and by its
    row's "open console" (default: a console for it, from ``console_factory``, is shown in
    ``console_area`` below the list).
    """

    #: Makes the console "open console" shows (set by ``_console`` when it is imported).
    console_factory: ClassVar[Callable[[Any], Any] | None] = None

    def __init__(
        self,
        source: Any = None,
        *,
        editor: Any = None,
        on_attach: Callable[[Any], Any] | None = None,
        consume: bool = True,
        private: bool = True,
        redact: bool = False,
        attach_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.private = bool(private)
        self.editor = editor
        self.on_attach = on_attach
        self.consume = bool(consume)
        self.attach_options = dict(attach_options or {})
        self._rows: dict[str, _Row] = {}
        self._calls: dict[str, Any] = {}  # call_id -> IncomingCall
        self.attached: dict[str, Any] = {}  # call_id -> Call
        self._call_unsubs: dict[str, Callable[[], None]] = {}  # status of attached calls
        self.console: Any = None  # the console this view made (shown in console_area)
        self._consumer: asyncio.Task[None] | None = None
        # The loop the inbox lives on; clicks may arrive on a comm subshell thread.
        self._home: asyncio.AbstractEventLoop | None = running_loop()
        self.title = w.HTML("<b>Incoming SIP calls</b>")
        self.session_from = w.ToggleButtons(
            description="accept with",
            options=[("session editor", "editor"), ("JSON", "json")],
            value="editor" if editor is not None else "json",
        )
        self.session_json = PrivateText(
            '{\n  "type": "realtime"\n}',
            mode="text",
            rows=5,
            private=private,
            redact=redact,
            description="accept session (JSON)",
        )
        # The Live accept session (a Live session has its own fields; model is required).
        self.live_session_json = PrivateText(
            _LIVE_SESSION_JSON,
            mode="text",
            rows=4,
            private=private,
            redact=redact,
            description="accept as Live (JSON)",
        )
        self.live_session_json.layout.display = "none"  # until a Live offer arrives
        self.error = w.HTML("")
        self.empty = w.HTML(_css_note("no incoming call yet"))
        self.rows_box = w.VBox([])
        # Where an attached call's console opens: below the list, never inside a row.
        self.console_title = w.HTML("")
        self.console_area = w.VBox([])
        self.console_area.add_class("rtw-incoming-console")
        super().__init__(
            source=None,
            redact=redact,
            children=[
                self.title,
                self.session_from,
                self.session_json,
                self.live_session_json,
                self.error,
                self.empty,
                self.rows_box,
                self.console_title,
                self.console_area,
            ],
            **kwargs,
        )
        self.add_class("rtw-incoming")
        self.session_from.observe(lambda _c: self._show_session_source(), names="value")
        self._show_session_source()
        if source is not None:
            self.bind(source)

    # -- binding (the source is a WebhookInbox, not a Call) --------------------------------

    def bind(self, source: Any) -> None:
        """Show the calls of ``source`` (a ``WebhookInbox``); replaces the previous inbox."""
        if self.closed:
            raise RuntimeError("IncomingCalls is closed; create a new view to bind")
        missing = [n for n in ("seen", "subscribe") if not hasattr(source, n)]
        if missing:
            raise TypeError(
                f"source: {type(source).__name__} lacks {', '.join(missing)}. Fix: pass a "
                "started rtwidgets.WebhookInbox"
            )
        if self.source is not None:
            self.unbind()
        self._home = running_loop() or self._home
        self._rtw_source = source
        self._rtw_unsubscribe = source.subscribe(self._add)
        for incoming in list(source.seen):
            self._add(incoming)
        if self.consume:
            self._start_consumer()

    def _on_unbind(self) -> None:
        self._stop_consumer()
        self._drop_console()
        for unsubscribe in self._call_unsubs.values():
            unsubscribe()
        self._call_unsubs.clear()
        for row in self._rows.values():
            close_widgets(row.box)
        self._rows.clear()
        self._calls.clear()
        self.rows_box.children = []
        self.empty.layout.display = ""

    def _on_close(self) -> None:
        self._stop_consumer()
        self._drop_console()
        close_widgets(*self.children)

    def _show_error(self, label: str, exc: BaseException) -> None:
        self.error.value = _css_error(f"{label} failed: {describe_error(exc)}")

    def _start_consumer(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.error.value = _css_error(
                "not listening: no running event loop. Fix: use the form inside a Jupyter "
                "kernel, or call start() from async code"
            )
            return
        self._consumer = loop.create_task(self._consume(), name="rtwidgets:IncomingCalls")

    def start(self) -> None:
        """Start draining the inbox (when ``bind`` ran without a running loop)."""
        if (
            self.source is not None
            and self.consume
            and (self._consumer is None or self._consumer.done())
        ):
            self._start_consumer()

    def _stop_consumer(self) -> None:
        task, self._consumer = self._consumer, None
        if task is not None and not task.done():
            task.cancel()

    async def _consume(self) -> None:
        inbox = self.source
        try:
            async for incoming in inbox:
                self._add(incoming)  # usually already shown through subscribe
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a broken inbox is shown, not raised into the loop
            self._show_error("Listening", exc)

    # -- rows ------------------------------------------------------------------------------

    @property
    def calls(self) -> list[str]:
        """Call ids shown, oldest first."""
        return list(self._rows)

    def __repr__(self) -> str:
        # The base repr names a bound Call's call_id; an inbox has none, so it read
        # "unbound" while the view worked. Say what it shows: the calls, and the inbox by
        # its url (secret-shaped parts of a custom path masked; never the webhook secret).
        src = self._rtw_source
        closed = ", closed" if self._rtw_closed else ""
        if src is None:
            return f"<IncomingCalls unbound{closed}>"
        url = getattr(src, "url", None)
        inbox = mask_secrets(url) if isinstance(url, str) and url else "not listening"
        return (f"<IncomingCalls calls={len(self._rows)} attached={len(self.attached)} "
                f"inbox={inbox}{closed}>")

    def row(self, call_id: str) -> _Row:
        return self._rows[call_id]

    def _add(self, incoming: Any) -> None:
        call_id = str(incoming.call_id)
        self._calls[call_id] = incoming
        if call_id in self._rows:
            self._render(call_id)
            return
        row = _Row(call_id, private=self.private, redact=self.redact)
        row.headers.text = _headers_text(incoming)
        row.accept.on_click(
            lambda _b: self._click(call_id, "Accept", self.accept(call_id, api="realtime"))
        )
        row.accept_live.on_click(
            lambda _b: self._click(call_id, "Accept", self.accept(call_id, api="live"))
        )
        row.reject.on_click(
            lambda _b: self._click(
                call_id, "Reject", self.reject(call_id, status_code=row.status_code.value)
            )
        )
        row.refer.on_click(
            lambda _b: self._click(call_id, "Refer", self.refer(call_id, row.target.text.strip()))
        )
        row.attach.on_click(lambda _b: self._click(call_id, "Attach", self.attach(call_id)))
        row.open_console.on_click(lambda _b: run_on(self._home, self._open_console, call_id))
        row.summary.text = _from_to_line(incoming)
        self._rows[call_id] = row
        self.empty.layout.display = "none"
        self._render(call_id)

    def status_of(self, call_id: str) -> str:
        """What the row says: ringing, accepted, attached, rejected, referred or ended."""
        incoming = self._calls[call_id]
        call = self.attached.get(call_id)
        if call is not None:
            state = getattr(getattr(call, "status", None), "state", None)
            return "ended" if state == "ended" else "attached"
        return str(getattr(incoming, "status", "?"))

    def _order_rows(self) -> None:
        """Ringing calls first, then accepted, attached, and the finished ones (stable)."""
        ids = sorted(
            self._rows, key=lambda i: _GROUP_ORDER.get(self.status_of(i), len(_GROUP_ORDER))
        )
        children = [self._rows[i].box for i in ids]
        if tuple(self.rows_box.children) != tuple(children):
            self.rows_box.children = children

    def _render(self, call_id: str) -> None:
        row = self._rows[call_id]
        incoming = self._calls[call_id]
        status = self.status_of(call_id)
        color = _STATUS_COLORS.get(status, "#616161")
        received = getattr(incoming, "received_at", None)
        when = (
            f"received {time.strftime('%H:%M:%S', time.localtime(received))}"
            if isinstance(received, (int, float))
            else ""
        )
        security = getattr(incoming, "sip_media_security", None)
        shown = status
        if status == "rejected" and row.rejected_with is not None:
            shown = f"rejected ({sip_status_text(row.rejected_with)})"
        compact = status in ("attached", "ended") and call_id in self.attached
        accepted_as = getattr(incoming, "accepted_as", None)
        if status == "accepted" and accepted_as in _API_LABEL:
            shown = f"accepted as {_API_LABEL[accepted_as]}"
        realtime_id, live_id = _ids_of(incoming)
        ids = [
            f'<b class="rtw-incoming-id">{html.escape(call_id)}</b>',
            *(
                f'<span class="rtw-incoming-other-id">{_css_note(label)} '
                f"<b>{html.escape(other)}</b></span>"
                for label, other in (("Realtime", realtime_id), ("Live", live_id))
                if other is not None and other != call_id
            ),
        ]
        if realtime_id is not None and live_id is not None:
            first = "Realtime" if call_id == realtime_id else "Live"
            ids[0] = f"{_css_note(first)} {ids[0]}"
        row.header.value = " ".join(
            [
                *ids,
                f'<span class="rtw-badge rtw-status-{html.escape(status)}" style="border: 1px '
                f'solid {color}; color: {color}; border-radius: 8px; padding: 0 6px">'
                f"{html.escape(shown)}</span>",
                "" if compact else _css_note(when),
                _css_note(f"media {security}") if security and not compact else "",
            ]
        )
        ringing = status == "ringing"
        both = realtime_id is not None and live_id is not None
        row.accept.description = "Accept as Realtime" if both else "Accept"
        row.accept.layout.display = "" if realtime_id is not None else "none"
        sip = getattr(incoming, "transport", "sip") == "sip"
        row.accept_live.layout.display = "" if live_id is not None and sip else "none"
        if live_id is not None and sip:
            self.live_session_json.layout.display = ""
        row.accept.disabled = row.busy or not ringing
        row.accept_live.disabled = row.busy or not ringing
        row.reject.disabled = row.busy or not ringing
        # REFER transfers a connected SIP call; attach needs an accepted (or connected Live
        # WebRTC) one; nothing after the end (a Refer then only fails with 404).
        row.refer.disabled = row.busy or status not in ("accepted", "attached")
        row.attach.disabled = row.busy or status not in ("accepted", "connected")
        row.target.disabled = row.refer.disabled
        row.status_code.disabled = row.reject.disabled
        # An attached (or ended after attach) call is one line; its console opens below.
        row.summary.layout.display = "" if compact else "none"
        row.headers.layout.display = "none" if compact else ""
        row.buttons.layout.display = "none" if compact or status == "ended" else "flex"
        row.open_console.layout.display = "" if call_id in self.attached else "none"
        if status == "ended":
            row.box.add_class("rtw-incoming-ended")
        self._order_rows()

    def _show_session_source(self) -> None:
        use_editor = self.session_from.value == "editor"
        self.session_json.layout.display = "none" if use_editor else ""
        self.session_from.layout.display = "" if self.editor is not None else "none"

    # -- actions ---------------------------------------------------------------------------

    def _click(self, call_id: str, label: str, work: Any) -> None:
        row = self._rows.get(call_id)
        if row is None or row.busy:
            work.close()
            return

        async def guarded() -> None:
            # Shown on the row; the scripted methods raise instead.
            with contextlib.suppress(Exception):
                await work

        run_on(self._home, lambda: self._spawn(guarded(), label=label))

    def _incoming(self, call_id: str) -> Any:
        incoming = self._calls.get(call_id)
        if incoming is None:
            raise ValidationError(
                "call_id",
                # Any id-shaped value is named (ids are opaque); anything else is not echoed.
                f"{shown_id(call_id)} is not an incoming call of this inbox",
                f"use one of: {', '.join(self._calls) or 'none yet'}",
            )
        return incoming

    def accept_session(self) -> dict[str, Any]:
        """The session Accept would send now (from the editor or the JSON box); validated."""
        if self.editor is not None and self.session_from.value == "editor":
            fields = dict(self.editor.session_fields())
        else:
            text = self.session_json.text.strip() or "{}"
            fields = parse_json(
                text,
                "session",
                'correct the accept session JSON (an object like {"type": "realtime"})',
            )
            if not isinstance(fields, dict):
                raise ValidationError(
                    "session",
                    f"expected a JSON object, got {type(fields).__name__}",
                    'write the session as an object: {"type": "realtime", …}',
                    code="invalid_type",
                )
        fields.setdefault("type", "realtime")
        from ..protocol.session import validate_session

        validate_session(fields, partial=True)
        return fields

    async def _run(self, call_id: str, label: str, work: Callable[[Any], Any]) -> Any:
        row = self._rows.get(call_id)
        try:
            incoming = self._incoming(call_id)
        except ValidationError as err:
            self.error.value = _css_error(str(err))
            raise
        if row is not None:
            row.busy = True
            row.error.value = _css_note(f"{label.lower()}…")
            self._render(call_id)
        try:
            result = await work(incoming)
        except BaseException as exc:
            if row is not None:
                row.error.value = _css_error(f"{label} failed: {describe_error(exc)}")
            raise
        finally:
            if row is not None:
                row.busy = False
                self._render(call_id)
        if row is not None:
            row.error.value = _css_ok(f"{label.lower()}: done")
            self._render(call_id)
        return result

    def accept_session_live(self) -> dict[str, Any]:
        """The session "Accept as Live" would send now (from the Live JSON box).

        Its fields are checked by the control layer before anything is sent (``model`` is
        required; Realtime-only fields are refused with the Live equivalent named).
        """
        text = self.live_session_json.text.strip() or "{}"
        fields = parse_json(
            text,
            "session",
            'correct the Live accept session JSON (an object like {"type": "live", '
            '"model": "gpt-live-1"})',
        )
        if not isinstance(fields, dict):
            raise ValidationError(
                "session",
                f"expected a JSON object, got {type(fields).__name__}",
                'write the session as an object: {"type": "live", "model": "gpt-live-1", …}',
                code="invalid_type",
            )
        fields.setdefault("type", "live")
        return fields

    @staticmethod
    def _accept_api(incoming: Any, session: Mapping[str, Any] | None, api: Any) -> str:
        """The API an accept goes to: ``api``, the session's type, or the only one offered."""
        offered = [name for name, value in zip(("realtime", "live"), _ids_of(incoming),
                                               strict=True) if value is not None]
        if api is not None:
            if api not in _API_LABEL:
                raise ValidationError("api", f"{api!r:.40} is not an API",
                                      "pass api='realtime' or api='live'")
            return str(api)
        kind = session.get("type") if session is not None else None
        if kind in _API_LABEL:
            return str(kind)
        if len(offered) == 1:
            return offered[0]
        raise ValidationError(
            "api",
            "this call was offered both to Realtime and to Live",
            "click Accept as Realtime or Accept as Live, or pass api='realtime' or api='live'",
        )

    async def accept(
        self, call_id: str, session: Mapping[str, Any] | None = None, *, api: str | None = None
    ) -> None:
        """Accept a ringing call with ``session`` (default: the form's accept session).

        ``api`` (``"realtime"`` or ``"live"``) picks the API for a call offered both ways;
        without it the session's ``type`` decides, else the only API the call was offered to.
        The Realtime session comes from the editor or the JSON box, the Live one from the
        "accept as Live" JSON box.
        """
        row = self._rows.get(call_id)
        try:
            if session is not None and not isinstance(session, Mapping):
                raise ValidationError(
                    "session",
                    f"expected a mapping, got {type(session).__name__}",
                    "pass the session as a dict, e.g. {'type': 'realtime', 'instructions': …}",
                    code="invalid_type",
                )
            incoming = self._calls.get(call_id)
            which = (self._accept_api(incoming, session, api) if incoming is not None
                     else str(api or "realtime"))
            if session is not None:
                body = dict(session)
            else:
                body = self.accept_session_live() if which == "live" else self.accept_session()
        except ValidationError as err:
            if row is not None:
                row.error.value = _css_error(str(err))
            raise

        async def go(incoming: Any) -> None:
            if getattr(incoming, "apis", None) is None:  # an object without the two APIs
                await incoming.accept(body)
            else:
                await incoming.accept(body, api=which)

        label = f"Accept as {_API_LABEL.get(which, which)}" if which == "live" else "Accept"
        await self._run(call_id, label, go)

    async def reject(self, call_id: str, status_code: int | None = None) -> None:
        """Reject a ringing call with a SIP status (400–699; ``None``: the server's 603)."""

        async def go(incoming: Any) -> None:
            await incoming.reject(status_code)
            row = self._rows.get(call_id)
            if row is not None:
                row.rejected_with = 603 if status_code is None else status_code

        await self._run(call_id, "Reject", go)

    async def refer(self, call_id: str, target_uri: str) -> None:
        """Transfer the call to a ``tel:`` or ``sip:`` URI (SIP REFER)."""

        async def go(incoming: Any) -> None:
            await incoming.refer(target_uri)

        await self._run(call_id, "Refer", go)

    async def attach(self, call_id: str) -> Any:
        """Attach the sideband to an accepted call; returns the ``Call``.

        Then ``on_attach(call)`` runs (may be async); without one, a ``CallConsole`` for the
        call is shown under its row.
        """

        # client=None would mean "a client from the environment" and hide the inbox's own
        # client (the one that reached this call): leave it out instead.
        options = {
            k: v for k, v in self.attach_options.items() if not (k == "client" and v is None)
        }

        async def go(incoming: Any) -> Any:
            return await incoming.attach(**options)

        call = await self._run(call_id, "Attach", go)
        self.attached[call_id] = call
        self._watch(call_id, call)
        self._render(call_id)
        if self.on_attach is not None:
            result = self.on_attach(call)
            if asyncio.iscoroutine(result):
                await result
        else:
            self._show_console(call_id, call)
        return call

    def _watch(self, call_id: str, call: Any) -> None:
        """Re-render the row when the attached call's status changes (it may end)."""
        subscribe = getattr(call, "subscribe", None)
        if not callable(subscribe) or call_id in self._call_unsubs:
            return

        def on_frame(frame: Any) -> None:
            if getattr(frame, "type", None) == "rtwidgets.status" and call_id in self._rows:
                self._render(call_id)

        self._call_unsubs[call_id] = subscribe(on_frame)

    def _open_console(self, call_id: str) -> None:
        """The row's "open console": the on_attach target, or a console below the list."""
        call = self.attached.get(call_id)
        if call is None:
            return
        if self.on_attach is not None:
            result = self.on_attach(call)
            if asyncio.iscoroutine(result):
                self._spawn(result, label="Open console")
        else:
            self._show_console(call_id, call)

    def _show_console(self, call_id: str, call: Any) -> None:
        factory = IncomingCalls.console_factory  # via the class: a function is not bound
        if factory is None:
            self.console_title.value = _css_note(
                f"attached to {call_id}: display(call) shows its console"
            )
            return
        if self.console is not None and getattr(self.console, "source", None) is call:
            return
        self._drop_console()
        self.console = factory(call)
        self.console_title.value = f"<b>Console</b> {_css_note(call_id)}"
        self.console_area.children = [self.console]

    def _drop_console(self) -> None:
        console, self.console = self.console, None
        self.console_area.children = []
        self.console_title.value = ""
        if console is not None and callable(getattr(console, "close", None)):
            console.close()
