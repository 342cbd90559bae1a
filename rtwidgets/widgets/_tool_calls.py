"""ToolCalls: the function calls the model made in a call, and a form to answer them.

Why: on the sideband, the server asks *us* to run tools (``response.function_call_arguments
.done``); until someone sends a ``function_call_output`` the model waits. A person steering a
call needs to see what is pending (name, arguments, how long it has waited), answer it by
hand ("Send", or "Send and respond" which also sends ``response.create``), and see which
calls a registered Python handler (``@call.tool``) answered and how fast. Every button has
an awaitable twin: ``await tool_calls.send(call_id, output, respond=True)``.

Reads only ``call.state.tool_calls`` (``ToolCallRecord``: status, answered_by, times) — the
reducer decides what is pending, answered or unanswered (the call ended first), never this
view. Answers go through ``await call.send_tool_output(call_id, output, respond=…, by="form")``.

Deadlines: while a tool call is pending, the caller (a person on the phone, or the
emulator's scripted caller) is waiting, and gives up at some point; the service publishes no
such deadline, so it is shown only where it is known: ``tool_timeout`` (seconds, e.g. the
emulator's ``caller_patience_s``), else the call's ``handler_timeout`` when a Python handler
is registered for the tool (the handler is cut off then). The pending row counts "waiting"
and, with a deadline, the time left; past ``warn_after`` seconds (default: two thirds of the
deadline, or 15 s without one) it turns to the warning colour. When the call ends, the
reducer marks the call ``unanswered``: the row leaves "Pending", its clock stops at the end,
and its badge says "unanswered — call ended".

Memory: a row is a dozen widgets (~75 KB in the kernel with their traits and comms), so
rows are kept only for the pending calls and the last ``max_answered`` answered ones (default
10); older answered calls are closed and counted in the "Answered" title. Their record stays
in ``call.state.tool_calls`` (``answered`` still lists every one); the transcript and the
event log show them. An hour-long call with a tool every minute must not grow the kernel
by a widget tree per call.

Privacy: arguments and outputs are tool data. They are shown with ``PrivateText`` (see
``_fields``): the text travels in custom messages only, never in a synced trait,
unless ``private=False``; ``redact=True`` keeps it out of the browser altogether. Function
names, ids, ages and latencies are plain labels.

What it must never do: send an output that failed its check (bad JSON in JSON mode, an
empty output, an unknown or already answered call id), send from a click handler without a
task, or refresh the browser per frame (rows change only on the few frame types that can
change a tool call; ages refresh on a one-second timer, and only while calls are pending).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import time
from collections.abc import Mapping
from typing import Any, Final

import ipywidgets as w

from ..protocol import codec as ce
from ..protocol._text import displayable
from ..protocol.errors import ValidationError
from ._base import SourceView, close_owned, codec_of, describe_error
from ._fields import (
    PrivateText,
    close_widgets,
    dump_json,
    parse_json,
    run_on,
    running_loop,
)
from ._fields import css_error as _css_error
from ._fields import css_note as _css_note
from ._fields import css_ok as _css_ok

__all__ = ["ToolCalls"]

#: Normalized events after which a tool call may have appeared or changed status (the codec
#: says which wire types produce them).
_TOOL_EVENTS: Final[frozenset[type]] = frozenset({
    ce.ToolCallRequested, ce.ToolCallAnswered, ce.ToolAnsweredBy, ce.ItemReported,
    ce.ResponseDone, ce.StatusChanged, ce.CallEnded,
})


def _badge(text: str, css: str, color: str) -> str:
    return (
        f'<span class="rtw-badge {css}" style="border: 1px solid {color}; color: {color}; '
        "border-radius: 8px; padding: 0 6px; margin-left: 4px; "
        f'font-size: var(--jp-ui-font-size0, 11px)">{html.escape(text)}</span>'
    )


_WARN_COLOR: Final = "#d32f2f"
_PENDING_COLOR: Final = "#f57c00"
_ENDED_COLOR: Final = "#616161"
#: Without a known deadline, a pending call turns to the warning colour after this long.
_DEFAULT_WARN_S: Final = 15.0


def _fmt_seconds(seconds: float) -> str:
    """A duration for people: ``250 ms``, ``12.3 s``, ``1:27.6``, ``1:02:03``."""
    if seconds < 1.0:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{int(minutes)}:{rest:04.1f}"
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def pretty_arguments(arguments: str | None) -> str:
    """Arguments JSON indented for reading; unparsable text is shown as it came."""
    if not arguments:
        return ""
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except (json.JSONDecodeError, TypeError):
        return arguments


def check_output(text: str, fmt: str) -> str:
    """The output string to send for what the person typed; raises ValidationError.

    ``fmt`` is ``"json"`` (must parse; sent compact) or ``"text"`` (sent as typed).
    """
    if fmt not in ("json", "text"):
        raise ValidationError("format", f"{fmt!r} is not an output format", "use 'json' or 'text'")
    if not text.strip():
        raise ValidationError(
            "output", "is empty", 'type the tool\'s result (JSON such as {"ok": true}, or text)'
        )
    if fmt == "text":
        return text
    value = parse_json(
        text, "output", "correct the JSON, or switch the format to Text to send it as plain text"
    )
    return dump_json(value, "output")


def _is_replayish(source: Any) -> bool:
    """A Replay (or a Recording): its frame times are recorded, not the present."""
    return source is not None and (
        callable(getattr(source, "seek", None)) or callable(getattr(source, "replay", None))
    )


class _Row:
    """The widgets of one tool call (plain holder; the view owns the logic)."""

    def __init__(self, call_id: str, *, private: bool, redact: bool) -> None:
        self.call_id = call_id
        self.header = w.HTML("")
        self.arguments = PrivateText(
            mode="view", private=private, redact=redact, description="arguments"
        )
        self.output = PrivateText(
            mode="text",
            rows=3,
            private=private,
            redact=redact,
            description="output",
            placeholder='{"result": …}',
        )
        self.format = w.ToggleButtons(
            options=[("JSON", "json"), ("Text", "text")],
            value="json",
            style={"button_width": "56px"},
        )
        self.send = w.Button(description="Send", icon="paper-plane")
        self.send_respond = w.Button(
            description="Send and respond", icon="reply", button_style="primary"
        )
        self.error = w.HTML("")
        self.answer = PrivateText(
            mode="view", private=private, redact=redact, description="output sent"
        )
        self.editor = w.VBox(
            [self.output, w.HBox([self.format, self.send, self.send_respond]), self.error]
        )
        self.box = w.VBox([self.header, self.arguments, self.editor, self.answer])
        self.box.add_class("rtw-toolcall")
        for widget, css in (
            (self.arguments, "rtw-tool-arguments"),
            (self.output, "rtw-tool-output"),
            (self.send, "rtw-send"),
            (self.send_respond, "rtw-send-respond"),
            (self.error, "rtw-form-message"),
            (self.answer, "rtw-tool-answer"),
        ):
            widget.add_class(css)
        self.sending = False
        self.signature: tuple[Any, ...] = ()


class ToolCalls(SourceView, w.VBox):  # type: ignore[misc]
    """Pending and answered tool calls of a ``Call``, with an output form per pending call.

    ``ToolCalls(call, private=True, age_interval=1.0, max_answered=10, tool_timeout=None,
    warn_after=None)``. ``tool_timeout``: seconds a caller is known to wait for a tool
    (shown as the time left); ``warn_after``: seconds after which a pending row turns to the
    warning colour. Scripted twin of the buttons:
    ``await tool_calls.send(call_id, output, respond=True)``.
    """

    #: What a wire type of the bound source's API decodes to (its codec's ``produces``).
    _produces: Any = staticmethod(codec_of(None).produces)

    def __init__(
        self,
        source: Any = None,
        *,
        private: bool = True,
        redact: bool = False,
        age_interval: float = 1.0,
        max_answered: int = 10,
        tool_timeout: float | None = None,
        warn_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        for name, value in (("tool_timeout", tool_timeout), ("warn_after", warn_after)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0
            ):
                self._rtw_closed = True
                raise ValueError(
                    f"{name}: {value!r} is not a positive number of seconds. "
                    f"Fix: pass e.g. {name}=30 (or None when unknown)"
                )
        if not isinstance(max_answered, int) or isinstance(max_answered, bool) or (
            max_answered < 0
        ):
            self._rtw_closed = True
            raise ValueError(
                f"max_answered: {max_answered!r} is not a count of rows. "
                "Fix: pass e.g. max_answered=10"
            )
        if not age_interval > 0:
            # Refused before the widget exists; mark it closed so Widget.__del__ has nothing
            # to close.
            self._rtw_closed = True
            raise ValueError(
                f"age_interval: {age_interval!r} is not a positive number of seconds. "
                "Fix: pass e.g. age_interval=1.0"
            )
        self.private = bool(private)
        self.age_interval = float(age_interval)
        #: answered calls shown as rows (the newest); older ones are closed, only counted
        self.max_answered = max_answered
        self.tool_timeout = None if tool_timeout is None else float(tool_timeout)
        self.warn_after = None if warn_after is None else float(warn_after)
        # The loop the bound call lives on; clicks may arrive on a comm subshell thread.
        self._home: asyncio.AbstractEventLoop | None = running_loop()
        self._rows: dict[str, _Row] = {}
        self._ticker: asyncio.Task[None] | None = None
        self.title = w.HTML("<b>Tool calls</b>")
        self.pending_title = w.HTML("")
        self.pending_box = w.VBox([])
        self.answered_title = w.HTML("")
        self.answered_box = w.VBox([])
        self.unanswered_title = w.HTML("")
        self.unanswered_box = w.VBox([])
        self.error = w.HTML("")
        super().__init__(
            source=None,
            redact=redact,
            children=[
                self.title,
                self.error,
                self.pending_title,
                self.pending_box,
                self.unanswered_title,
                self.unanswered_box,
                self.answered_title,
                self.answered_box,
            ],
            **kwargs,
        )
        self.add_class("rtw-toolcalls")
        if source is not None:
            self.bind(source)
        else:
            self._sync_rows()

    # -- view contract ---------------------------------------------------------------------

    def _on_bind(self, source: Any) -> None:
        self._produces = codec_of(source).produces  # the API the source speaks
        self._home = running_loop() or self._home
        self.title.value = f"<b>Tool calls</b> {_css_note(str(getattr(source, 'call_id', '')))}"
        self.error.value = ""
        self._sync_rows()

    def _on_unbind(self) -> None:
        self._stop_ticker()
        for row in self._rows.values():
            close_widgets(row.box)
        self._rows.clear()
        self.title.value = "<b>Tool calls</b>"
        self._sync_rows()

    def _on_close(self) -> None:
        self._stop_ticker()
        close_widgets(*self.children)

    def _on_frame(self, frame: Any) -> None:
        if self._produces(frame.type) & _TOOL_EVENTS:
            self._sync_rows()

    def _show_error(self, label: str, exc: BaseException) -> None:
        self.error.value = _css_error(f"{label} failed: {describe_error(exc)}")

    # -- reading the state -----------------------------------------------------------------

    def _records(self) -> list[Any]:
        state = getattr(self.source, "state", None)
        calls = getattr(state, "tool_calls", None) if state is not None else None
        return list(calls.values()) if isinstance(calls, Mapping) else []

    def _record(self, call_id: str) -> Any:
        state = getattr(self.source, "state", None)
        calls = getattr(state, "tool_calls", None) if state is not None else None
        return calls.get(call_id) if isinstance(calls, Mapping) else None

    def _handlers(self) -> set[str]:
        handlers = getattr(self.source, "tool_handlers", None)
        try:
            return {str(name) for name in handlers} if handlers is not None else set()
        except TypeError:
            return set()

    def _can_send(self) -> bool:
        """A live call can answer; a recording or an ended call cannot."""
        source = self.source
        if source is None or not hasattr(source, "send_tool_output"):
            return False
        if getattr(source, "read_only", False) is True:
            return False  # a Replay: its send_tool_output would raise ReplayReadOnlyError
        return getattr(getattr(source, "status", None), "state", None) != "ended"

    @property
    def pending(self) -> list[str]:
        """Call ids of the pending tool calls, oldest first."""
        return [r.call_id for r in self._records() if r.status == "pending"]

    @property
    def unanswered(self) -> list[str]:
        """Call ids of the tool calls nobody answered before the call ended."""
        return [r.call_id for r in self._records() if r.status == "unanswered"]

    @property
    def answered(self) -> list[str]:
        return [r.call_id for r in self._records() if r.status == "answered"]

    def row(self, call_id: str) -> _Row:
        """The widgets of one call's row (tests and the console drive them)."""
        return self._rows[call_id]

    # -- rendering -------------------------------------------------------------------------

    def _sync_rows(self) -> None:
        records = self._records()
        handlers = self._handlers()
        can_send = self._can_send()
        now = self._now()
        pending: list[Any] = []
        answered: list[Any] = []
        unanswered: list[Any] = []
        # Only the newest max_answered answered calls keep a row (records are in call order).
        done = [rec for rec in records if rec.status == "answered"]
        keep = {rec.call_id for rec in done[len(done) - self.max_answered:]} if (
            self.max_answered) else set()
        for rec in records:
            if rec.status == "answered" and rec.call_id not in keep:
                old = self._rows.pop(rec.call_id, None)
                if old is not None:
                    self._drop_row(old)
                continue
            row = self._rows.get(rec.call_id)
            if row is None:
                row = self._new_row(rec.call_id)
                row.arguments.text = pretty_arguments(rec.arguments)
            signature = (
                rec.status,
                rec.answered_by,
                rec.output,
                rec.arguments,
                rec.name in handlers,
                can_send,
            )
            if signature != row.signature:
                row.signature = signature
                row.arguments.text = pretty_arguments(rec.arguments)
                if rec.status == "answered":
                    row.answer.text = rec.output or ""
                    row.answer.layout.display = ""
                    row.editor.layout.display = "none"
                else:
                    row.answer.layout.display = "none"
                    row.editor.layout.display = (
                        "" if can_send and rec.status == "pending" else "none"
                    )
            self._draw_header(row, rec, handlers, now)
            group = {"answered": answered, "unanswered": unanswered}.get(rec.status, pending)
            group.append(row.box)
        for box, rows in (
            (self.pending_box, pending),
            (self.answered_box, answered),
            (self.unanswered_box, unanswered),
        ):
            if tuple(box.children) != tuple(rows):
                box.children = rows
        self.pending_title.value = (
            f"<b>Pending</b> ({len(pending)})" if pending else _css_note("no pending tool call")
        )
        self.unanswered_title.value = (
            f"<b>Unanswered — call ended</b> ({len(unanswered)})" if unanswered else ""
        )
        hidden_n = len(done) - len(answered)
        self.answered_title.value = (
            f"<b>Answered</b> ({len(done)})"
            + (" " + _css_note(f"the last {len(answered)} shown") if hidden_n else "")
            if done else ""
        )
        if pending:
            self._start_ticker()
        else:
            self._stop_ticker()

    def _drop_row(self, row: _Row) -> None:
        """Close a row that left the answered window (after the boxes stop showing it)."""
        for box in (self.pending_box, self.answered_box, self.unanswered_box):
            if row.box in box.children:
                box.children = tuple(c for c in box.children if c is not row.box)
        # children, layouts and styles too: a Layout left open stays registered forever
        close_owned(row.box)
        row.box.close()

    def _new_row(self, call_id: str) -> _Row:
        row = _Row(call_id, private=self.private, redact=self.redact)
        row.send.on_click(lambda _b: self._click_send(call_id, respond=False))
        row.send_respond.on_click(lambda _b: self._click_send(call_id, respond=True))
        row.output.on_edit(lambda _s: self._clear_row_error(call_id))
        self._rows[call_id] = row
        return row

    def _now(self) -> float:
        """The source's clock: wall time for a live call; the last frame for a replay or a
        recording (their times are the recorded ones, not now)."""
        source = self.source
        status = getattr(getattr(source, "status", None), "state", None)
        replaying = _is_replayish(source)
        if status in ("connecting", "live", "reconnecting") and not replaying:
            return time.time()
        last = getattr(getattr(source, "state", None), "last_t", None)
        return float(last) if isinstance(last, (int, float)) else time.time()

    def deadline(self, rec: Any) -> float | None:
        """Seconds the caller is known to wait for ``rec`` (``None``: not known)."""
        if self.tool_timeout is not None:
            return self.tool_timeout
        if rec.name and rec.name in self._handlers():
            timeout = getattr(self.source, "handler_timeout", None)
            if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
                return float(timeout)
        return None

    def _warn_after(self, deadline: float | None) -> float:
        if self.warn_after is not None:
            return self.warn_after
        return deadline * 2 / 3 if deadline is not None else _DEFAULT_WARN_S

    def _draw_header(self, row: _Row, rec: Any, handlers: set[str], now: float) -> None:
        # displayable: a hostile frame's name may hold a lone surrogate the kernel cannot send
        row.header.value = displayable(self._header(rec, handlers, now))
        warn = rec.status == "pending" and self._waited(rec, now) >= self._warn_after(
            self.deadline(rec)
        )
        if warn:
            row.box.add_class("rtw-toolcall-warn")
        else:
            row.box.remove_class("rtw-toolcall-warn")

    @staticmethod
    def _waited(rec: Any, now: float) -> float:
        requested = rec.requested_t
        return max(0.0, now - requested) if requested is not None else 0.0

    def _header(self, rec: Any, handlers: set[str], now: float) -> str:
        name = html.escape(str(rec.name or "?"))
        parts = [f'<b class="rtw-toolcall-name">{name}</b>', _css_note(str(rec.call_id))]
        requested = rec.requested_t
        if rec.status == "unanswered":
            parts.append(
                _badge("unanswered — call ended", "rtw-badge-unanswered", _ENDED_COLOR)
            )
            ended = getattr(rec, "ended_t", None)
            if ended is not None and requested is not None:
                parts.append(
                    _css_note(f"waited {_fmt_seconds(max(0.0, ended - requested))}; "
                              "nobody can answer it now")
                )
            return " ".join(parts)
        if rec.status == "answered":
            by = rec.answered_by or "?"
            if by == "handler":
                parts.append(_badge("answered by handler", "rtw-badge-handler", "#7b1fa2"))
            else:
                parts.append(_badge(f"answered by {by}", "rtw-badge-answered", "#388e3c"))
            if rec.answered_t is not None and requested is not None:
                latency = max(0.0, rec.answered_t - requested)
                parts.append(_css_note(f"latency {_fmt_seconds(latency)}"))
        else:
            waited = self._waited(rec, now)
            deadline = self.deadline(rec)
            warn = waited >= self._warn_after(deadline)
            color = _WARN_COLOR if warn else _PENDING_COLOR
            parts.append(_badge("pending", "rtw-badge-pending", color))
            if rec.name in handlers:
                parts.append(_badge("Python handler registered", "rtw-badge-handler", "#7b1fa2"))
            if requested is not None:
                text = f"waiting {_fmt_seconds(waited)}"
                if deadline is not None:
                    left = deadline - waited
                    text += (
                        f" · {_fmt_seconds(left)} left of {_fmt_seconds(deadline)}"
                        if left > 0
                        else f" · {_fmt_seconds(-left)} past the {_fmt_seconds(deadline)} "
                        "deadline: the caller may have given up"
                    )
                elif warn:
                    text += " · the caller may give up soon: answer it"
                style = f"color: {color}" if warn else "color: var(--jp-ui-font-color2, #666)"
                parts.append(
                    f'<span class="rtw-toolcall-age" style="{style}">{html.escape(text)}</span>'
                )
        return " ".join(parts)

    def refresh_ages(self) -> None:
        """Update the "waiting …" of pending rows (the ticker calls this every interval)."""
        handlers = self._handlers()
        now = self._now()
        for rec in self._records():
            row = self._rows.get(rec.call_id)
            if row is not None and rec.status == "pending":
                self._draw_header(row, rec, handlers, now)

    def _start_ticker(self) -> None:
        if self._ticker is not None and not self._ticker.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (plain script): ages refresh on the next frame instead
        self._ticker = loop.create_task(self._tick(), name="rtwidgets:ToolCalls:ages")

    def _stop_ticker(self) -> None:
        ticker, self._ticker = self._ticker, None
        if ticker is not None and not ticker.done():
            ticker.cancel()

    async def _tick(self) -> None:
        while not self.closed:
            await asyncio.sleep(self.age_interval)
            self.refresh_ages()

    # -- sending ---------------------------------------------------------------------------

    def _clear_row_error(self, call_id: str) -> None:
        row = self._rows.get(call_id)
        if row is not None and row.error.value:
            row.error.value = ""
            row.output.invalid = False

    def _click_send(self, call_id: str, *, respond: bool) -> None:
        row = self._rows.get(call_id)
        if row is None or row.sending:
            return
        try:
            output = check_output(row.output.text, row.format.value)
        except ValidationError as err:
            row.error.value = _css_error(str(err))
            row.output.invalid = True
            return
        label = "Send and respond" if respond else "Send"
        run_on(
            self._home,
            lambda: self._spawn(self._send_from_form(call_id, output, respond), label=label),
        )

    async def _send_from_form(self, call_id: str, output: str, respond: bool) -> None:
        # Errors are shown on the row; the scripted send() raises them instead.
        with contextlib.suppress(Exception):
            await self.send(call_id, output, respond=respond)

    async def send(self, call_id: str, output: Any, *, respond: bool = True) -> None:
        """Answer a pending tool call: ``function_call_output`` (+ ``response.create``).

        ``output`` is sent as given when it is a ``str``; anything else is JSON-encoded.
        Raises ``ValidationError`` (nothing sent) for an unknown or answered call id or an
        unencodable output, and whatever ``send_tool_output`` raises; errors show on the row.
        """
        row = self._rows.get(call_id)
        try:
            text = self._check_send(call_id, output)
        except ValidationError as err:
            if row is not None:
                row.error.value = _css_error(str(err))
            raise
        if row is not None:
            row.sending = True
            row.send.disabled = row.send_respond.disabled = True
            row.error.value = _css_note("sending…")
        try:
            await self.source.send_tool_output(call_id, text, respond=respond, by="form")
        except BaseException as exc:
            if row is not None:
                row.error.value = _css_error(f"not sent: {describe_error(exc)}")
            raise
        finally:
            if row is not None:
                row.sending = False
                row.send.disabled = row.send_respond.disabled = False
        if row is not None:
            row.error.value = _css_ok(
                "sent, response requested" if respond else "sent (no response requested)"
            )
        self._sync_rows()

    def _check_send(self, call_id: str, output: Any) -> str:
        if not self._can_send():
            raise ValidationError(
                "call_id",
                "this view is not bound to a live call",
                "bind it to a Call from rtwidgets.attach(...) (a recording cannot answer)",
            )
        rec = self._record(call_id)
        if rec is None:
            pending = ", ".join(self.pending) or "none"
            raise ValidationError(
                "call_id",
                f"{call_id!r} is not a tool call of this call",
                f"use the call_id of a pending tool call (pending: {pending})",
            )
        if rec.status == "answered":
            raise ValidationError(
                "call_id",
                f"{call_id!r} is already answered (by {rec.answered_by or '?'})",
                "nothing to do: each tool call takes one output",
            )
        if rec.status == "unanswered":
            raise ValidationError(
                "call_id",
                f"{call_id!r} was not answered before the call ended",
                "nothing to do: an ended call takes no output",
            )
        text = output if isinstance(output, str) else dump_json(output, "output")
        if not text.strip():
            raise ValidationError("output", "is empty", "pass the tool's result")
        return text
