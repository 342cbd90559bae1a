"""Form building blocks shared by every rtwidgets form: PrivateText, JSON fields, loop hops.

Why a module of its own: the SessionEditor, ToolCalls and IncomingCalls forms all need a text
box that keeps text out of synced traits, JSON parsing that names the bad field, the hop back
to the call's loop, and the same inline error/note styling. They used to live in the session
editor and the other forms imported them from there; they belong to none of them.

Privacy (the decision): plain ipywidgets ``Textarea`` values are synced traits and end up in
the notebook's saved widget state, so text-bearing parts (instructions, tools JSON, tool
arguments and outputs, SIP headers) are :class:`PrivateText` — a tiny anywidget (``_forms.js``)
whose text travels only in custom messages (kernel → browser ``{"kind": "set"}``; browser →
kernel ``{"kind": "edit"}``; a view that renders late asks for ``{"kind": "snapshot"}``).
Custom messages are never saved, so with ``private=True`` (the default) ``get_state()`` and a
saved notebook hold no such text. ``private=False`` mirrors the text into the synced ``value``
trait as well. ``redact=True`` goes further: the text is not sent to the browser at all and
the box cannot be edited from it.

Threads (the second decision): JupyterLab 4.4+ sends widget comm messages over kernel
*subshells*, so a click or an edit is handled on a subshell thread that runs its own event
loop. Forms remember the loop their source was bound on and hop back to it (``run_on``)
before touching the call: a ``Call``'s futures belong to its loop and never wake a task on
another one.

Never: put private text in a synced trait, or touch a call from a foreign loop.
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import anywidget
import traitlets as t

from ..protocol.errors import ValidationError

__all__ = [
    "PrivateText",
    "close_widgets",
    "css_error",
    "css_note",
    "css_ok",
    "dump_json",
    "parse_json",
    "run_on",
    "running_loop",
]

_HERE = Path(__file__).parent
_FORMS_ESM: Final = (_HERE / "_forms.js").read_text(encoding="utf-8")
_FORMS_CSS: Final = (_HERE / "_forms.css").read_text(encoding="utf-8")


class PrivateText(anywidget.AnyWidget):
    """A text box (or read-only text block) whose text is not a synced trait when private.

    ``mode``: ``"text"`` (multi-line editor), ``"line"`` (one-line input) or ``"view"``
    (read-only block). ``.text`` is the authoritative value, kept in Python; edits from the
    browser update it and call the ``on_edit`` callbacks.
    """

    _esm = _FORMS_ESM
    _css = _FORMS_CSS

    mode = t.Unicode("text").tag(sync=True)
    rows = t.Int(6).tag(sync=True)
    description = t.Unicode("").tag(sync=True)
    placeholder = t.Unicode("").tag(sync=True)
    disabled = t.Bool(False).tag(sync=True)
    invalid = t.Bool(False).tag(sync=True)
    #: True: the text travels only in custom messages. Fixed at construction.
    private = t.Bool(True).tag(sync=True)
    #: The text itself, synced only when ``private`` is False ("" otherwise).
    value = t.Unicode("").tag(sync=True)

    def __init__(
        self,
        text: str = "",
        *,
        mode: str = "text",
        private: bool = True,
        redact: bool = False,
        **kwargs: Any,
    ) -> None:
        if mode not in ("text", "line", "view"):
            raise ValueError(
                f"mode: {mode!r} is not a PrivateText mode. Fix: use 'text', 'line' or 'view'"
            )
        # The text and listeners live in plain attributes, never in traits.
        self._text = text
        self._redact = bool(redact)
        self._edit_callbacks: list[Callable[[str], None]] = []
        super().__init__(mode=mode, private=bool(private), **kwargs)
        if self._redact:
            self.placeholder = "(hidden: redact=True)"
            if mode != "view":
                self.disabled = True
        self._mirror()
        self.on_msg(self._on_custom)

    @property
    def text(self) -> str:
        return self._text

    @text.setter
    def text(self, value: str) -> None:
        self.set_text(value)

    def set_text(self, value: str, *, origin: str | None = None) -> None:
        """Set the text and push it to every rendered view (except ``origin``, the editor)."""
        if not isinstance(value, str):
            raise TypeError(f"text: expected a str, got {type(value).__name__}")
        self._text = value
        self._mirror()
        message: dict[str, Any] = {"kind": "set", "text": self._shown()}
        if origin is not None:
            message["origin"] = origin
        self._push(message)

    def on_edit(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(text)`` after each edit that comes from the browser."""
        self._edit_callbacks.append(callback)

    def _shown(self) -> str:
        return "" if self._redact else self._text

    def _mirror(self) -> None:
        want = "" if (self.private or self._redact) else self._text
        if self.value != want:
            self.value = want

    def _push(self, message: dict[str, Any]) -> None:
        if self.comm is None:  # closed: nobody to tell
            return
        self.send(message)

    def _on_custom(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, Mapping):
            return
        kind = content.get("kind")
        view = content.get("view")
        if kind == "snapshot":
            reply: dict[str, Any] = {"kind": "set", "text": self._shown()}
            if isinstance(view, str):
                reply["for"] = view
            self._push(reply)
        elif kind == "edit":
            text = content.get("text")
            if not isinstance(text, str) or self.mode == "view" or self._redact or self.disabled:
                return  # a read-only or redacted box takes no edits
            if text == self._text:
                return
            self.set_text(text, origin=view if isinstance(view, str) else None)
            for callback in list(self._edit_callbacks):
                callback(text)

    def __repr__(self) -> str:
        return f"<PrivateText mode={self.mode!r} {len(self._text)} chars>"



def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_json(text: str, field: str, fix: str) -> Any:
    """``json.loads`` that names ``field`` in a ValidationError, and refuses ``NaN`` and
    ``Infinity`` (Python accepts them; they are not JSON and a server would refuse them)."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    except ValueError as exc:
        problem = f"not valid JSON ({exc})"
    raise ValidationError(field, problem, fix, code="invalid_type")


def dump_json(value: Any, field: str) -> str:
    """Compact JSON text of ``value``; a ValidationError naming ``field`` if it is not JSON."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            field,
            f"cannot be encoded as JSON ({exc})",
            "pass a str, or dicts/lists of strings, numbers (not NaN/Infinity), booleans, None",
            code="invalid_type",
        ) from None



def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or ``None``."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def run_on(loop: asyncio.AbstractEventLoop | None, fn: Callable[..., Any], *args: Any) -> None:
    """Call ``fn(*args)`` on ``loop``'s thread: now if we are there, else soon (thread-safe).

    Why: JupyterLab 4.4+ sends widget comm messages over kernel *subshells*, so a click or an
    edit is handled on a subshell thread with its own event loop, not on the loop the
    ``Call`` lives on. Work that touches the call (or its state) must hop back to that loop;
    futures of one loop never wake a task of another.
    """
    if loop is None or loop.is_closed() or not loop.is_running() or running_loop() is loop:
        fn(*args)
    else:
        loop.call_soon_threadsafe(fn, *args)


def close_widgets(*roots: Any) -> None:
    """Close ``roots`` and every widget under them (``children`` of boxes and tabs).

    A form builds dozens of controls; closing only the outer box would leave them registered
    with open comms, and a notebook that re-runs the cell would pile them up.
    """
    seen: set[int] = set()
    order: list[Any] = []
    stack = list(roots)
    while stack:
        widget = stack.pop()
        if id(widget) in seen:
            continue
        seen.add(id(widget))
        order.append(widget)
        stack.extend(getattr(widget, "children", ()) or ())
    for widget in reversed(order):  # leaves first
        widget.close()


def css_error(text: str) -> str:
    return (
        '<span class="rtw-form-error" style="color: var(--jp-error-color1, #d32f2f)">'
        f"{html.escape(text)}</span>"
    )


def css_note(text: str) -> str:
    return (
        '<span class="rtw-form-note" style="color: var(--jp-ui-font-color2, #666)">'
        f"{html.escape(text)}</span>"
    )


def css_ok(text: str) -> str:
    return (
        '<span class="rtw-form-ok" style="color: var(--jp-success-color1, #388e3c)">'
        f"{html.escape(text)}</span>"
    )

