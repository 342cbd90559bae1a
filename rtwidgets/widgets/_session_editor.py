"""SessionEditor: see the session as the server last reported it, change it, see what applied.

Why: ``session.update`` is the sideband's main lever, and the server answers with the *full*
effective session, not with what changed. A person steering a call wants to edit a few
fields, send exactly those in ONE ``session.update``, and then see what was asked against
what the server applied (a clamped speed, a refused voice). This form does that over a
``Call`` (``await call.update_session(**changed)``), and every button has an awaitable twin
(``await editor.apply()``) for scripted use.

Privacy (the decision): instructions, tools JSON, the raw JSON tab, the "show code" text and
the requested/applied listing are text-bearing. Plain ipywidgets ``Textarea`` values are
synced traits and end up in the notebook's saved widget state, so these parts are
:class:`PrivateText` — a tiny anywidget (``_forms.js``) whose text travels only in custom
messages (kernel → browser ``{"kind": "set"}``; browser → kernel ``{"kind": "edit"}``; a view
that renders late asks for ``{"kind": "snapshot"}``). Custom messages are never saved, so with
``private=True`` (the default) ``get_state()`` and a saved notebook hold no instructions, tool
arguments or outputs. ``private=False`` mirrors the text into the synced ``value`` trait as
well (a saved notebook then shows it). ``redact=True`` (the shared view option) goes further:
the text is not sent to the browser at all and the text fields cannot be edited from it.
PrivateText lives here and is reused by the ToolCalls and IncomingCalls forms.

Threads (the second decision): JupyterLab 4.4+ sends widget comm messages over kernel
*subshells*, so a click or an edit is handled on a subshell thread that runs its own event
loop. The forms remember the loop their source was bound on and hop back to it
(``run_on``) before touching the call: a ``Call``'s futures belong to its loop and never wake
a task on another one (an Apply spawned on the subshell loop hung in the browser).

Unknown is not a value (the third decision): before the server has reported the session on
this connection (``call.state.session is None``), and for any field a reported session
leaves out, the form shows "unknown" (an "unknown" choice, or an empty box with an
"unknown" placeholder, in a muted italic style), never a default such as alloy / none / [].
An unbound editor (an accept body being composed) says "server default" instead. Picking a
value is an edit like any other; leaving "unknown" sends nothing for that field. The voice
lock note appears only when the voice is known. An ended call keeps its last reported
session; a replay shows whatever session its state reports (``None`` = unknown).

What this module must never do: guess what the server applied (it shows ``session.updated``
as reported, via ``call.state.session`` and the update result), send anything that failed
validation, send more than one ``session.update`` per Apply, block the kernel (Apply runs as
a task; the button is disabled while it is in flight), or put session text in a synced trait
while private.
"""

from __future__ import annotations

import asyncio
import copy
import html
import json
import pprint
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import anywidget
import ipywidgets as w
import traitlets as t

from ..protocol.errors import ValidationError
from ..protocol.session import BUILTIN_VOICES, validate_session
from ._base import SourceView, describe_error

__all__ = ["PrivateText", "SessionEditor", "render_update_code"]

_HERE = Path(__file__).parent
_FORMS_ESM: Final = (_HERE / "_forms.js").read_text(encoding="utf-8")
_FORMS_CSS: Final = (_HERE / "_forms.css").read_text(encoding="utf-8")

#: Server-only keys of ``session.created`` that can never be sent back.
_SERVER_ONLY: Final = ("id", "object", "expires_at", "client_secret")
#: Dicts the server merges key by key (everything else is replaced whole).
_CONTAINERS: Final = frozenset({"audio", "audio.input", "audio.output"})
_CUSTOM_VOICE: Final = "custom voice id…"
#: The choice a select control shows while its field is unknown (never sent).
_UNKNOWN: Final = "\u2063unknown"
#: Control name → the session path it shows (for "unknown" and for the red field).
_FIELD_PATHS: Final = {
    "model_box": "model",
    "instructions": "instructions",
    "voice": "audio.output.voice",
    "modalities": "output_modalities",
    "td_type": "audio.input.turn_detection",
    "tools": "tools",
    "tool_choice": "tool_choice",
}
#: ValidationError field (after "session.") → the control to mark red (longest match wins).
_ERROR_CONTROLS: Final = (
    ("audio.input.turn_detection.threshold", "td_threshold"),
    ("audio.input.turn_detection.prefix_padding_ms", "td_prefix"),
    ("audio.input.turn_detection.silence_duration_ms", "td_silence"),
    ("audio.input.turn_detection.idle_timeout_ms", "td_idle"),
    ("audio.input.turn_detection.eagerness", "td_eagerness"),
    ("audio.input.turn_detection", "td_type"),
    ("audio.output.voice.id", "voice_custom"),
    ("audio.output.voice", "voice"),
    ("output_modalities", "modalities"),
    ("instructions", "instructions"),
    ("tool_choice", "tool_choice"),
    ("tools", "tools"),
)
_TD_TYPES: Final = ("none", "server_vad", "semantic_vad")
_EAGERNESS: Final = ("auto", "low", "medium", "high")
#: Frames after which the reducer may have seen the first assistant audio (voice lock).
_AUDIO_FRAME_TYPES: Final = frozenset(
    {
        "response.content_part.added",
        "response.output_audio.delta",
        "response.output_audio_transcript.delta",
        "response.output_audio_transcript.done",
        "output_audio_buffer.started",
        "conversation.item.added",
        "conversation.item.done",
        "response.output_item.done",
    }
)


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


# ---------------------------------------------------------------------------------------
# Pure helpers (no widgets)
# ---------------------------------------------------------------------------------------


def editable_session(session: Mapping[str, Any] | None) -> dict[str, Any]:
    """The request-side part of a server session (server-only keys removed), deep-copied."""
    if not session:
        return {}
    return {k: copy.deepcopy(v) for k, v in session.items() if k not in _SERVER_ONLY}


def minimal_update(
    baseline: Mapping[str, Any], desired: Mapping[str, Any], _path: str = ""
) -> dict[str, Any]:
    """The smallest partial ``session.update`` turning ``baseline`` into ``desired``.

    Containers (``audio``, ``audio.input``, ``audio.output``) are compared key by key; other
    values whole. Keys absent from ``desired`` are left alone (never cleared).
    """
    out: dict[str, Any] = {}
    for key, want in desired.items():
        sub = f"{_path}.{key}" if _path else key
        have = baseline.get(key)
        if sub in _CONTAINERS and isinstance(want, Mapping) and isinstance(have, Mapping):
            inner = minimal_update(have, want, sub)
            if inner:
                out[key] = inner
        elif key not in baseline or not _same(want, have):
            out[key] = copy.deepcopy(want)
    return out


def _same(a: Any, b: Any) -> bool:
    # JSON equality: True is not 1, and 1.0 equals 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _get_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, Mapping) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        nxt = obj.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            obj[part] = nxt
        obj = nxt
    obj[parts[-1]] = value


def _leaves(obj: Mapping[str, Any], path: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in obj.items():
        sub = f"{path}.{key}" if path else str(key)
        if isinstance(value, Mapping) and value:
            out.extend(_leaves(value, sub))
        else:
            out.append((sub, value))
    return out


#: Shown in place of an MCP tool's ``authorization`` and header values (credentials).
SECRET_MASK: Final = "<hidden>"


def mask_secrets(value: Any) -> Any:
    """A copy of a session (or tools list) with MCP credentials replaced by ``SECRET_MASK``.

    The form shows and sends text to the browser; an MCP tool's ``authorization`` and its
    ``headers`` values are credentials and never go there.
    """
    if isinstance(value, Mapping):
        out = {k: mask_secrets(v) for k, v in value.items()}
        if value.get("type") == "mcp":
            if isinstance(value.get("authorization"), str):
                out["authorization"] = SECRET_MASK
            headers = value.get("headers")
            if isinstance(headers, Mapping):
                out["headers"] = dict.fromkeys(headers, SECRET_MASK)
        return out
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return copy.deepcopy(value)


def unmask_secrets(tools: Any, original: Any, path: str = "session.tools") -> Any:
    """Put back the credentials ``mask_secrets`` hid, from the same MCP tool (by server_label)
    in ``original``; raises ValidationError when a masked value has no original."""
    if not isinstance(tools, list):
        return tools
    by_label = {
        t.get("server_label"): t
        for t in (original if isinstance(original, list) else [])
        if isinstance(t, Mapping) and t.get("type") == "mcp"
    }
    out: list[Any] = []
    for i, tool in enumerate(tools):
        if not (isinstance(tool, dict) and tool.get("type") == "mcp"):
            out.append(tool)
            continue
        tool = dict(tool)
        source = by_label.get(tool.get("server_label"), {})
        if tool.get("authorization") == SECRET_MASK:
            if not isinstance(source.get("authorization"), str):
                raise ValidationError(
                    f"{path}[{i}].authorization",
                    "is hidden and has no saved value",
                    "type the token again (or remove 'authorization')",
                )
            tool["authorization"] = source["authorization"]
        headers = tool.get("headers")
        if isinstance(headers, dict):
            saved = source.get("headers")
            known: Mapping[str, Any] = saved if isinstance(saved, Mapping) else {}
            fixed = {}
            for name, val in headers.items():
                if val == SECRET_MASK:
                    if name not in known:
                        raise ValidationError(
                            f"{path}[{i}].headers.{name}",
                            "is hidden and has no saved value",
                            "type the header value again (or remove the header)",
                        )
                    val = known[name]
                fixed[name] = val
            tool["headers"] = fixed
        out.append(tool)
    return out


def render_update_code(changed: Mapping[str, Any], *, name: str = "call") -> str:
    """The Python a person would write to send ``changed``: ``await call.update_session(...)``."""
    if not changed:
        return f"await {name}.update_session()  # nothing changed"
    lines = [f"await {name}.update_session("]
    for key, value in changed.items():
        text = pprint.pformat(value, width=88 - len(key), sort_dicts=False)
        text = text.replace("\n", "\n    " + " " * (len(key) + 1))
        lines.append(f"    {key}={text},")
    lines.append(")")
    return "\n".join(lines)


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


def _voice_name(voice: Any) -> tuple[str, str]:
    """(dropdown value, custom id text) for a session voice."""
    if isinstance(voice, str) and voice in BUILTIN_VOICES:
        return voice, ""
    if isinstance(voice, Mapping):
        return _CUSTOM_VOICE, str(voice.get("id", ""))
    if voice is None:  # not reported yet: show the server's default
        return BUILTIN_VOICES[0], ""
    return _CUSTOM_VOICE, str(voice)


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


def _css_error(text: str) -> str:
    return (
        '<span class="rtw-form-error" style="color: var(--jp-error-color1, #d32f2f)">'
        f"{html.escape(text)}</span>"
    )


def _css_note(text: str) -> str:
    return (
        '<span class="rtw-form-note" style="color: var(--jp-ui-font-color2, #666)">'
        f"{html.escape(text)}</span>"
    )


def _css_ok(text: str) -> str:
    return (
        '<span class="rtw-form-ok" style="color: var(--jp-success-color1, #388e3c)">'
        f"{html.escape(text)}</span>"
    )


class SessionEditor(SourceView, w.VBox):  # type: ignore[misc]
    """Edit a call's session; Apply sends ONE ``session.update`` with only the changed fields.

    ``SessionEditor(call, private=True)``. Scripted twins of the buttons:
    ``editor.set_field("instructions", "…")``, ``editor.changed()``, ``await editor.apply()``.
    ``editor.session_fields()`` gives the whole request-side session as the form stands
    (IncomingCalls uses it as an accept body).
    """

    def __init__(
        self,
        source: Any = None,
        *,
        private: bool = True,
        redact: bool = False,
        **kwargs: Any,
    ) -> None:
        self.private = bool(private)
        # The loop the bound source lives on (where actions must run): see run_on().
        self._home: asyncio.AbstractEventLoop | None = running_loop()
        # The session as the server last reported it (request-side keys only).
        self._baseline: dict[str, Any] = {}
        # The control states loaded from the baseline; a field differing from its loaded
        # state is "dirty" (edited by the person) and is what Apply sends.
        self._loaded: dict[str, Any] = {}
        self._loading = False
        self._applying = False
        self._last_result: Any = None
        # What the last successful Apply sent ("show code" shows it once nothing is dirty).
        self._last_applied: dict[str, Any] | None = None
        # Controls whose field the shown session does not hold ("unknown").
        self._unknown: set[str] = set()
        self._build(redact=redact)
        super().__init__(source=None, redact=redact, children=self._children(), **kwargs)
        self.add_class("rtw-session-editor")
        if source is not None:
            self.bind(source)
        else:
            self._load_controls({}, baseline=True)  # unbound: edits count from the defaults
            self._refresh()

    # -- construction ----------------------------------------------------------------------

    def _build(self, *, redact: bool) -> None:
        priv: dict[str, Any] = {"private": self.private, "redact": redact}
        self.title = w.HTML("<b>Session</b>")
        self.model_box = w.Text(description="model", disabled=True)
        self.model_note = w.HTML(_css_note("fixed: the server never changes a call's model"))
        self.instructions = PrivateText(description="instructions", rows=5, **priv)
        self.voice = w.Dropdown(
            description="voice", options=[*BUILTIN_VOICES, _CUSTOM_VOICE], value="alloy"
        )
        self.voice_custom = w.Text(description="voice id", placeholder="voice_…")
        self.voice_note = w.HTML("")
        self.modalities = w.ToggleButtons(
            description="output", options=[("audio", "audio"), ("text", "text")], value="audio"
        )
        self.td_type = w.Dropdown(description="turn detection", options=list(_TD_TYPES))
        # Not a Bounded… control: that clamps 1.5 to 1 silently; validation refuses it instead.
        self.td_threshold = w.FloatText(description="threshold", step=0.05, value=0.5)
        self.td_prefix = w.IntText(description="prefix ms", value=300)
        self.td_silence = w.IntText(description="silence ms", value=200)
        self.td_idle = w.Text(description="idle timeout ms", placeholder="none (5000–30000)")
        self.td_eagerness = w.Dropdown(description="eagerness", options=list(_EAGERNESS))
        self.td_create = w.Checkbox(description="create response", value=True, indent=False)
        self.td_interrupt = w.Checkbox(description="interrupt response", value=True, indent=False)
        self.server_vad_box = w.VBox(
            [self.td_threshold, self.td_prefix, self.td_silence, self.td_idle]
        )
        self.semantic_box = w.VBox([self.td_eagerness])
        self.td_common = w.HBox([self.td_create, self.td_interrupt])
        self.tools = PrivateText(description="tools (JSON list)", rows=8, **priv)
        self.tool_choice = w.Dropdown(
            description="tool choice", options=["auto", "none", "required"]
        )
        self.raw = PrivateText(description="session (JSON)", rows=16, **priv)
        self.field_error = w.HTML("")
        self.form = w.VBox(
            [
                w.HBox([self.model_box, self.model_note]),
                self.instructions,
                w.HBox([self.voice, self.voice_custom]),
                self.voice_note,
                self.modalities,
                self.td_type,
                self.server_vad_box,
                self.semantic_box,
                self.td_common,
                self.tools,
                self.tool_choice,
            ]
        )
        self.tabs = w.Tab(children=[self.form, self.raw])
        self.tabs.set_title(0, "Form")
        self.tabs.set_title(1, "Raw JSON")
        self.apply_button = w.Button(description="Apply", button_style="primary", icon="check")
        self.revert_button = w.Button(description="Revert", icon="undo")
        self.code_toggle = w.ToggleButton(description="show code", icon="code", value=False)
        self.status = w.HTML("")
        self.error = w.HTML("")
        self.code = PrivateText(mode="view", **priv)
        self.code.layout.display = "none"
        self.result = PrivateText(mode="view", **priv)
        self.result.layout.display = "none"
        # Shown while the server has not reported the session on this socket (a sideband
        # may get no session.created, realtime-protocol.md §5.4).
        self.unknown_note = w.HTML(
            _css_note(
                "The server has not reported the session on this connection yet. Load it "
                "(sends an empty session.update; the server answers with the full session)."
            )
        )
        self.fetch_button = w.Button(description="Load session", icon="download")
        self.unknown_box = w.HBox([self.fetch_button, self.unknown_note])
        self.unknown_box.layout.display = "none"
        self.fetch_button.on_click(
            lambda _b: run_on(
                self._home, lambda: self._spawn(self._fetch_from_button(), label="Load")
            )
        )
        # Tool choice options derived from the tools text: label → value.
        self._choice_values: dict[str, Any] = {}

        # Stable hooks for browser tests and user CSS.
        for widget, css in (
            (self.instructions, "rtw-instructions"),
            (self.tools, "rtw-tools-json"),
            (self.raw, "rtw-raw-json"),
            (self.apply_button, "rtw-apply"),
            (self.revert_button, "rtw-revert"),
            (self.code_toggle, "rtw-show-code"),
            (self.code, "rtw-session-code"),
            (self.status, "rtw-session-status"),
            (self.error, "rtw-session-error"),
            (self.field_error, "rtw-field-error"),
            (self.result, "rtw-session-result"),
            (self.fetch_button, "rtw-load-session"),
        ):
            widget.add_class(css)
        # Labels like "turn detection" and "idle timeout ms" need more than the default.
        for control in (
            self.model_box,
            self.voice,
            self.voice_custom,
            self.modalities,
            self.td_type,
            self.td_threshold,
            self.td_prefix,
            self.td_silence,
            self.td_idle,
            self.td_eagerness,
            self.tool_choice,
        ):
            control.style.description_width = "120px"
        self.apply_button.on_click(lambda _b: self._click_apply())
        self.revert_button.on_click(lambda _b: run_on(self._home, self.revert))
        self.code_toggle.observe(lambda _c: self._refresh(), names="value")
        self.tabs.observe(self._on_tab, names="selected_index")
        for control in (
            self.voice,
            self.voice_custom,
            self.modalities,
            self.td_type,
            self.td_threshold,
            self.td_prefix,
            self.td_silence,
            self.td_idle,
            self.td_eagerness,
            self.td_create,
            self.td_interrupt,
            self.tool_choice,
        ):
            control.observe(lambda _c: self._refresh(), names="value")
        self.instructions.on_edit(lambda _s: self._refresh())
        self.tools.on_edit(lambda _s: self._on_tools_edit())
        self.raw.on_edit(lambda _s: self._refresh())

    def _children(self) -> list[Any]:
        return [
            self.title,
            self.unknown_box,
            self.tabs,
            self.field_error,
            w.HBox([self.apply_button, self.revert_button, self.code_toggle]),
            self.code,
            self.status,
            self.error,
            self.result,
        ]

    # -- view contract ---------------------------------------------------------------------

    def _on_bind(self, source: Any) -> None:
        self._home = running_loop() or self._home
        self._last_applied = None
        self.title.value = f"<b>Session</b> {_css_note(str(getattr(source, 'call_id', '')))}"
        self.status.value = (
            "" if self._live() else _css_note("read-only: this source cannot change the session")
        )
        self.error.value = ""
        self._hide_result()
        self._reload(keep_edits=False)

    def _on_unbind(self) -> None:
        self.title.value = "<b>Session</b>"
        self.unknown_box.layout.display = "none"
        self._last_applied = None
        self._baseline = {}
        self._load_controls({}, baseline=True)
        self._refresh()

    def _on_frame(self, frame: Any) -> None:
        if frame.direction == "in" and frame.type in ("session.created", "session.updated"):
            # An apply in flight reloads fully when it returns; anything else keeps edits.
            self._reload(keep_edits=True)
        elif frame.type in _AUDIO_FRAME_TYPES and self.voice.disabled != self._audio_started():
            self._refresh_locks()
        elif frame.type == "rtwidgets.status":
            # The call may have ended: Apply and Load follow.
            self._refresh_known()
            self._refresh()
            if not self._live() and self.source is not None:
                self.status.value = _css_note("read-only: the call has ended")

    def _on_close(self) -> None:
        close_widgets(*self.children)

    def _show_error(self, label: str, exc: BaseException) -> None:
        self.error.value = _css_error(f"{label} failed: {describe_error(exc)}")

    # -- reading the session ---------------------------------------------------------------

    @property
    def baseline(self) -> dict[str, Any]:
        """The session as the server last reported it (request-side fields), a copy."""
        return copy.deepcopy(self._baseline)

    def _server_session(self) -> dict[str, Any]:
        state = getattr(self.source, "state", None)
        session = getattr(state, "session", None) if state is not None else None
        return editable_session(session if isinstance(session, Mapping) else None)

    @property
    def unknown_fields(self) -> list[str]:
        """Session paths the form shows as unknown (not reported by the server)."""
        return [_FIELD_PATHS[name] for name in _FIELD_PATHS if name in self._unknown]

    def _unknown_label(self) -> str:
        return "unknown" if self.source is not None else "server default"

    def _mark_unknown(self, session: Mapping[str, Any]) -> None:
        """Which fields ``session`` leaves out; their controls show "unknown" (muted)."""
        unknown = set()
        for name, path in _FIELD_PATHS.items():
            parent, _, leaf = path.rpartition(".")
            holder = _get_path(session, parent) if parent else session
            if not isinstance(holder, Mapping) or leaf not in holder:
                unknown.add(name)
        self._unknown = unknown
        label = self._unknown_label()
        select = {"voice": list(self._voice_options()), "modalities": [("audio", "audio"),
                  ("text", "text")], "td_type": [(k, k) for k in _TD_TYPES]}
        for name, options in select.items():
            control = getattr(self, name)
            want = [(label, _UNKNOWN), *options] if name in unknown else options
            if list(control.options) != list(want):
                control.options = want
        for name in _FIELD_PATHS:
            control = getattr(self, name)
            if name in unknown:
                control.add_class("rtw-unknown")
            else:
                control.remove_class("rtw-unknown")
        self.model_box.placeholder = label if "model_box" in unknown else ""
        self.instructions.placeholder = label if "instructions" in unknown else ""
        self.tools.placeholder = label if "tools" in unknown else ""
        self.raw.placeholder = (
            f"{label}: the server has not reported the session" if not session else ""
        )

    @staticmethod
    def _voice_options() -> list[tuple[str, str]]:
        return [(v, v) for v in (*BUILTIN_VOICES, _CUSTOM_VOICE)]

    def _audio_started(self) -> bool:
        state = getattr(self.source, "state", None)
        return bool(getattr(state, "audio_started", False))

    def _reload(self, *, keep_edits: bool) -> None:
        new = self._server_session()
        dirty = self._dirty_states() if keep_edits else {}
        self._baseline = new
        self._load_controls(new, baseline=True)
        if dirty:
            self._restore_states(dirty)
        self._refresh_known()
        if self.tabs.selected_index == 1 and not (keep_edits and self._raw_dirty()):
            self._raw_text_from(self._baseline)
        self._refresh_locks()
        self._refresh()

    # -- controls <-> values ---------------------------------------------------------------

    def _control_states(self) -> dict[str, Any]:
        """The raw state of every field's controls (cheap; no parsing)."""
        return {
            "instructions": self.instructions.text,
            "voice": (self.voice.value, self.voice_custom.value.strip()),
            "output_modalities": self.modalities.value,
            "turn_detection": (
                self.td_type.value,
                self.td_threshold.value,
                self.td_prefix.value,
                self.td_silence.value,
                self.td_idle.value.strip(),
                self.td_eagerness.value,
                self.td_create.value,
                self.td_interrupt.value,
            ),
            "tools": self.tools.text,
            "tool_choice": self.tool_choice.value,
        }

    def _dirty_states(self) -> dict[str, Any]:
        now = self._control_states()
        return {k: v for k, v in now.items() if v != self._loaded.get(k)}

    def _raw_dirty(self) -> bool:
        return self.raw.text != self._loaded.get("raw")

    def _restore_states(self, states: Mapping[str, Any]) -> None:
        self._loading = True
        try:
            for key, state in states.items():
                if key == "instructions":
                    self.instructions.text = state
                elif key == "voice":
                    self.voice.value, self.voice_custom.value = state
                elif key == "output_modalities":
                    self.modalities.value = state
                elif key == "turn_detection":
                    (
                        self.td_type.value,
                        self.td_threshold.value,
                        self.td_prefix.value,
                        self.td_silence.value,
                        self.td_idle.value,
                        self.td_eagerness.value,
                        self.td_create.value,
                        self.td_interrupt.value,
                    ) = state
                elif key == "tools":
                    self.tools.text = state
                    self._update_choice_options()
                elif key == "tool_choice" and state in self.tool_choice.options:
                    self.tool_choice.value = state
        finally:
            self._loading = False
        self._show_td_params()

    def _load_controls(self, session: Mapping[str, Any], *, baseline: bool) -> None:
        self._loading = True
        try:
            self._mark_unknown(session)
            unknown = self._unknown
            self.model_box.value = str(session.get("model") or "")
            self.instructions.text = str(session.get("instructions") or "")
            name, custom = _voice_name(_get_path(session, "audio.output.voice"))
            self.voice.value = _UNKNOWN if "voice" in unknown else name
            self.voice_custom.value = custom
            mods = session.get("output_modalities") or ["audio"]
            self.modalities.value = (
                _UNKNOWN if "modalities" in unknown
                else "text" if list(mods) == ["text"] else "audio"
            )
            td = _get_path(session, "audio.input.turn_detection")
            td = td if isinstance(td, Mapping) else None
            self.td_type.value = (
                _UNKNOWN if "td_type" in unknown
                else str(td.get("type")) if td and td.get("type") in _TD_TYPES else "none"
            )
            td = td or {}
            self.td_threshold.value = float(td.get("threshold", 0.5))
            self.td_prefix.value = int(td.get("prefix_padding_ms", 300))
            self.td_silence.value = int(td.get("silence_duration_ms", 200))
            idle = td.get("idle_timeout_ms")
            self.td_idle.value = "" if idle is None else str(idle)
            eager = td.get("eagerness", "auto")
            self.td_eagerness.value = eager if eager in _EAGERNESS else "auto"
            self.td_create.value = bool(td.get("create_response", True))
            self.td_interrupt.value = bool(td.get("interrupt_response", True))
            tools = session.get("tools")
            self.tools.text = (
                "" if "tools" in unknown
                else json.dumps(mask_secrets(tools if tools is not None else []), indent=2)
            )
            self._update_choice_options(
                session.get("tools"),
                _UNKNOWN if "tool_choice" in unknown else session.get("tool_choice", "auto"),
            )
        finally:
            self._loading = False
        self._show_td_params()
        if baseline:
            self._loaded = self._control_states()
            self._raw_text_from(session)
            self._loaded["raw"] = self.raw.text

    def _raw_text_from(self, session: Mapping[str, Any]) -> None:
        self.raw.text = json.dumps(mask_secrets(session), indent=2) if session else ""

    def _show_td_params(self) -> None:
        kind = self.td_type.value  # "unknown" shows no parameters, like "none"
        self.server_vad_box.layout.display = "" if kind == "server_vad" else "none"
        self.semantic_box.layout.display = "" if kind == "semantic_vad" else "none"
        self.td_common.layout.display = "none" if kind in ("none", _UNKNOWN) else ""

    def _choice_key(self, choice: Any) -> str:
        if choice == _UNKNOWN:
            return self._unknown_label()
        if isinstance(choice, str):
            return choice
        if isinstance(choice, Mapping) and choice.get("type") == "function":
            return f"function: {choice.get('name')}"
        if isinstance(choice, Mapping) and choice.get("type") == "mcp":
            return f"mcp: {choice.get('server_label')}/{choice.get('name', '*')}"
        return json.dumps(choice, sort_keys=True)

    def _update_choice_options(self, tools: Any = None, choice: Any = None) -> None:
        """Tool choice options: the modes plus one per function tool in the tools text."""
        if tools is None:
            try:
                tools = json.loads(self.tools.text or "[]")
            except json.JSONDecodeError:
                tools = None
        values: dict[str, Any] = {}
        unknown_key = self._unknown_label()
        if self._choice_values.get(self.tool_choice.value) == _UNKNOWN or choice == _UNKNOWN:
            values[unknown_key] = _UNKNOWN  # offered until a value is picked or reported
        values.update({m: m for m in ("auto", "none", "required")})
        if isinstance(tools, list):
            for tool in tools:
                if (
                    isinstance(tool, Mapping)
                    and tool.get("type") == "function"
                    and tool.get("name")
                ):
                    fn = {"type": "function", "name": str(tool["name"])}
                    values[self._choice_key(fn)] = fn
        current = choice if choice is not None else self._choice_values.get(self.tool_choice.value)
        if current is not None:
            values.setdefault(self._choice_key(current), copy.deepcopy(current))
        self._choice_values = values
        if choice is not None and choice != _UNKNOWN:
            values.pop(unknown_key, None)  # reported: no "unknown" choice any more
        keep = self._choice_key(current) if current is not None else "auto"
        was_loading = self._loading
        self._loading = True
        try:
            self.tool_choice.options = list(values)
            self.tool_choice.value = keep if keep in values else "auto"
        finally:
            self._loading = was_loading

    def _on_tools_edit(self) -> None:
        self._update_choice_options()
        self._refresh()

    # -- field values (validated) ----------------------------------------------------------

    def _field_value(self, key: str) -> tuple[str, Any]:
        """(dotted path, value) for a form field; raises ValidationError naming the field."""
        if key == "instructions":
            return "instructions", self.instructions.text
        if key == "voice":
            if self.voice.value != _CUSTOM_VOICE:
                return "audio.output.voice", self.voice.value
            vid = self.voice_custom.value.strip()
            if not vid.startswith("voice_"):
                raise ValidationError(
                    "session.audio.output.voice.id",
                    f"{vid!r} is not a custom voice id" if vid else "no custom voice id given",
                    "type the 'voice_…' id of a custom voice, or pick a built-in voice",
                )
            return "audio.output.voice", {"id": vid}
        if key == "output_modalities":
            return "output_modalities", [self.modalities.value]
        if key == "turn_detection":
            return "audio.input.turn_detection", self._td_value()
        if key == "tools":
            text = self.tools.text.strip() or "[]"
            tools = parse_json(
                text,
                "session.tools",
                'correct the JSON: a list like [{"type": "function", "name": …}]',
            )
            return "tools", unmask_secrets(tools, self._baseline.get("tools"))
        if key == "tool_choice":
            return "tool_choice", copy.deepcopy(self._choice_values.get(self.tool_choice.value))
        raise KeyError(key)

    def _td_value(self) -> Any:
        kind = self.td_type.value
        if kind == "none":
            return None
        base = _get_path(self._baseline, "audio.input.turn_detection")
        same_type = isinstance(base, Mapping) and base.get("type") == kind
        loaded = self._loaded.get("turn_detection") or (None,) * 8
        now = self._control_states()["turn_detection"]
        names = (
            "type",
            "threshold",
            "prefix_padding_ms",
            "silence_duration_ms",
            "idle_timeout_ms",
            "eagerness",
            "create_response",
            "interrupt_response",
        )
        shown = {
            "server_vad": {
                "threshold",
                "prefix_padding_ms",
                "silence_duration_ms",
                "idle_timeout_ms",
                "create_response",
                "interrupt_response",
            },
            "semantic_vad": {"eagerness", "create_response", "interrupt_response"},
        }[kind]
        out: dict[str, Any] = {"type": kind}
        for i, name in enumerate(names[1:], start=1):
            # Same type: send only the parameters the person touched (the server merges).
            if name not in shown or (same_type and now[i] == loaded[i]):
                continue
            if name == "idle_timeout_ms":
                text = now[i]
                if text == "":
                    out[name] = None
                else:
                    try:
                        out[name] = int(text)
                    except ValueError:
                        raise ValidationError(
                            "session.audio.input.turn_detection.idle_timeout_ms",
                            f"{text!r} is not a whole number",
                            "type milliseconds from 5000 to 30000, or leave it empty for none",
                        ) from None
            else:
                out[name] = now[i]
        return out

    def changed(self) -> dict[str, Any]:
        """The partial session the form would send now (validated; raises ValidationError).

        Only fields that differ from the session the server last reported are included.
        """
        changed = self._raw_changed() if self.tabs.selected_index == 1 else self._form_changed()
        self._check_locked(changed)
        if changed:
            validate_session({"type": "realtime", **changed}, partial=True)
        return changed

    def _raw_changed(self) -> dict[str, Any]:
        text = self.raw.text.strip()
        if not text:
            return {}
        desired = parse_json(text, "session", "correct the JSON in the Raw JSON tab (an object)")
        if not isinstance(desired, dict):
            raise ValidationError(
                "session",
                f"expected a JSON object, got {type(desired).__name__}",
                'write the session as an object: {"instructions": …}',
                code="invalid_type",
            )
        for key in _SERVER_ONLY:
            if key in desired and desired[key] != (self._server_session_full().get(key)):
                raise ValidationError(
                    f"session.{key}",
                    "is set by the server and cannot be sent",
                    f"remove {key!r} from the JSON",
                    code="unknown_parameter",
                )
            desired.pop(key, None)
        if "tools" in desired:
            desired["tools"] = unmask_secrets(desired["tools"], self._baseline.get("tools"))
        return minimal_update(self._baseline, desired)

    def _server_session_full(self) -> dict[str, Any]:
        state = getattr(self.source, "state", None)
        session = getattr(state, "session", None) if state is not None else None
        return dict(session) if isinstance(session, Mapping) else {}

    def _check_locked(self, changed: Mapping[str, Any]) -> None:
        if "model" in changed:
            raise ValidationError(
                "session.model",
                "the server never changes a call's model",
                f"set 'model' back to {self._baseline.get('model')!r} or leave it out",
            )
        if self._audio_started() and _get_path(changed, "audio.output.voice") is not None:
            raise ValidationError(
                "session.audio.output.voice",
                "the voice is locked: the model has already produced audio in this call",
                "keep the current voice (set it before the first response of a new call)",
            )

    def session_fields(self) -> dict[str, Any]:
        """The whole request-side session as the form stands (baseline + edits), validated.

        Used as an accept body (IncomingCalls); includes ``"type": "realtime"``.
        """
        desired = copy.deepcopy(self._baseline)
        changed = self.changed()
        merged = _deep_merge(desired, changed)
        merged.setdefault("type", "realtime")
        validate_session(merged, partial=True)
        return merged

    def set_field(self, name: str, value: Any) -> None:
        """Scripted edit of one form field, as a person would: instructions, voice,
        output_modalities, turn_detection, tools, tool_choice (or ``raw`` for the JSON tab)."""
        if name == "instructions":
            self.instructions.text = str(value)
        elif name == "voice":
            if isinstance(value, str) and value in BUILTIN_VOICES:
                self.voice.value = value
            else:
                vid = value.get("id", "") if isinstance(value, Mapping) else str(value)
                self.voice.value = _CUSTOM_VOICE
                self.voice_custom.value = vid
        elif name == "output_modalities":
            mods = list(value) if not isinstance(value, str) else [value]
            if mods not in (["audio"], ["text"]):
                raise ValidationError(
                    "session.output_modalities",
                    f"{mods!r} is not supported",
                    "use ['audio'] or ['text']",
                )
            self.modalities.value = mods[0]
        elif name == "turn_detection":
            self._set_td(value)
        elif name == "tools":
            self.tools.text = value if isinstance(value, str) else json.dumps(value, indent=2)
            self._update_choice_options()
        elif name == "tool_choice":
            key = self._choice_key(value)
            if key not in self._choice_values:
                raise ValidationError(
                    "session.tool_choice",
                    f"{key!r} is not offered",
                    f"use one of {', '.join(self._choice_values)}",
                )
            self.tool_choice.value = key
        elif name == "raw":
            self.tabs.selected_index = 1
            self.raw.text = value if isinstance(value, str) else json.dumps(value, indent=2)
        else:
            raise ValueError(
                f"name: {name!r} is not a form field. Fix: use instructions, voice, "
                "output_modalities, turn_detection, tools, tool_choice or raw"
            )
        self._refresh()

    def _set_td(self, value: Any) -> None:
        if value is None:
            self.td_type.value = "none"
            return
        if not isinstance(value, Mapping) or value.get("type") not in (
            "server_vad",
            "semantic_vad",
        ):
            raise ValidationError(
                "session.audio.input.turn_detection",
                f"{value!r} is not a turn detection",
                "pass None, {'type': 'server_vad', …} or {'type': 'semantic_vad', …}",
            )
        self.td_type.value = value["type"]
        setters: dict[str, Callable[[Any], None]] = {
            "threshold": lambda v: setattr(self.td_threshold, "value", float(v)),
            "prefix_padding_ms": lambda v: setattr(self.td_prefix, "value", int(v)),
            "silence_duration_ms": lambda v: setattr(self.td_silence, "value", int(v)),
            "idle_timeout_ms": lambda v: setattr(
                self.td_idle, "value", "" if v is None else str(v)
            ),
            "eagerness": lambda v: setattr(self.td_eagerness, "value", v),
            "create_response": lambda v: setattr(self.td_create, "value", bool(v)),
            "interrupt_response": lambda v: setattr(self.td_interrupt, "value", bool(v)),
        }
        for key, v in value.items():
            if key != "type":
                setters[key](v)

    def revert(self) -> None:
        """Drop every edit: the form shows the server's session again."""
        self._load_controls(self._baseline, baseline=True)
        self.error.value = ""
        self._refresh()

    # -- live feedback ---------------------------------------------------------------------

    def _off_home(self) -> bool:
        """True on a thread other than the one running the source's loop (a comm subshell)."""
        home = self._home
        return home is not None and home.is_running() and running_loop() is not home

    def _on_tab(self, change: Mapping[str, Any]) -> None:
        if self._loading:
            return
        if self._off_home():
            run_on(self._home, self._on_tab, change)
            return
        if change["new"] == 1:
            # Form → raw: carry the form's edits over when they are valid.
            try:
                merged = _deep_merge(copy.deepcopy(self._baseline), self._form_changed())
            except ValidationError:
                merged = self._baseline
            self._raw_text_from(merged)
        else:
            # Raw → form: load a valid raw JSON into the controls (not as the baseline).
            try:
                desired = _deep_merge(copy.deepcopy(self._baseline), self._raw_changed())
            except ValidationError:
                desired = None
            if desired is not None:
                self._load_controls(desired, baseline=False)
        self._refresh()

    def _form_changed(self) -> dict[str, Any]:
        changed: dict[str, Any] = {}
        for key in self._dirty_states():
            path, value = self._field_value(key)
            if key == "turn_detection" and isinstance(value, Mapping) and list(value) == ["type"]:
                base = _get_path(self._baseline, path)
                if isinstance(base, Mapping) and base.get("type") == value["type"]:
                    continue  # only hidden parameters of another type were touched
            _set_path(changed, path, value)
        return minimal_update(self._baseline, changed) if changed else {}

    def _live(self) -> bool:
        """Whether the bound source can take a session.update (a Recording or an ended
        call cannot)."""
        source = self.source
        if source is None or not callable(getattr(source, "update_session", None)):
            return False
        if getattr(source, "read_only", False) is True:
            return False  # a Replay: its update_session would raise ReplayReadOnlyError
        return getattr(getattr(source, "status", None), "state", None) != "ended"

    def _refresh_known(self) -> None:
        state = getattr(self.source, "state", None)
        unknown = self._live() and getattr(state, "session", None) is None
        self.unknown_box.layout.display = "" if unknown else "none"
        self.fetch_button.disabled = self._applying

    async def fetch(self) -> dict[str, Any]:
        """Ask the server for the session (an empty ``session.update``) and show it.

        Useful on a sideband that got no ``session.created``. Returns the session.
        """
        source = self.source
        if source is None or not hasattr(source, "update_session"):
            raise RuntimeError(
                "no live call. Fix: bind the editor to a Call from rtwidgets.attach(...)"
            )
        self.error.value = ""
        self.fetch_button.disabled = True
        try:
            result = await source.update_session()
        except BaseException as exc:
            self.error.value = _css_error(f"session not loaded: {describe_error(exc)}")
            raise
        finally:
            self.fetch_button.disabled = False
        self._reload(keep_edits=True)
        return dict(getattr(result, "session", None) or self._server_session_full())

    async def _fetch_from_button(self) -> None:
        try:
            await self.fetch()
        except Exception as exc:  # shown in place by fetch()
            self.last_error = f"Load failed: {describe_error(exc)}"

    def _refresh_locks(self) -> None:
        locked = self._audio_started()
        self.voice.disabled = locked
        self.voice_custom.disabled = locked
        # Only a known voice is "locked": an unknown one is not stated as a fact.
        self.voice_note.value = (
            _css_note(
                "locked: the model has already produced audio, so the server will not "
                "change the voice"
            )
            if locked and "voice" not in self._unknown
            else ""
        )

    def _refresh(self) -> None:
        if self._loading:
            return
        if self._off_home():
            # An edit or a control change handled on a comm subshell thread.
            run_on(self._home, self._refresh)
            return
        self._show_td_params()
        self.voice_custom.layout.display = "" if self.voice.value == _CUSTOM_VOICE else "none"
        try:
            changed = self.changed()
        except ValidationError as err:
            self.field_error.value = _css_error(str(err))
            self._mark_invalid(err.field)
            self.apply_button.disabled = True
            self._set_code(None)
            return
        self._mark_invalid(None)
        self.field_error.value = ""
        self.apply_button.disabled = self._applying or not self._live() or not changed
        self.apply_button.tooltip = (
            "read-only: a recording or replay cannot change the session"
            if getattr(self.source, "read_only", False) is True else "")
        self._set_code(changed)

    @property
    def invalid_field(self) -> str | None:
        """The control shown in red (its attribute name), or ``None``."""
        return getattr(self, "_invalid_control", None)

    def _mark_invalid(self, field: str | None) -> None:
        """Show the control of ``field`` (a ValidationError field) in red; clear the others."""
        target: str | None = None
        if field is not None:
            if self.tabs.selected_index == 1:
                target = "raw"
            else:
                path = field.removeprefix("session.")
                for prefix, name in _ERROR_CONTROLS:
                    if path == prefix or path.startswith((prefix + ".", prefix + "[")):
                        target = name
                        break
        previous = getattr(self, "_invalid_control", None)
        if previous is not None and previous != target:
            self._paint_invalid(previous, False)
        if target is not None:
            self._paint_invalid(target, True)
        self._invalid_control = target

    def _paint_invalid(self, name: str, on: bool) -> None:
        control = getattr(self, name)
        if isinstance(control, PrivateText):
            control.invalid = on
        elif on:
            control.add_class("rtw-invalid")
        else:
            control.remove_class("rtw-invalid")

    def _set_code(self, changed: Mapping[str, Any] | None) -> None:
        show = bool(self.code_toggle.value)
        self.code.layout.display = "" if show else "none"
        if show:
            if changed is None:
                text = "# fix the field shown in red first"
            elif not changed and self._last_applied:
                # Right after an Apply nothing differs; show what that Apply sent.
                text = "# last applied:\n" + render_update_code(mask_secrets(self._last_applied))
            else:
                text = render_update_code(mask_secrets(changed))
            self.code.text = text

    # -- apply -----------------------------------------------------------------------------

    def _click_apply(self) -> None:
        run_on(self._home, lambda: self._spawn(self._apply_from_button(), label="Apply"))

    async def _apply_from_button(self) -> None:
        # apply() already shows its failure in place; the scripted call raises it instead.
        try:
            await self.apply()
        except Exception as exc:
            self.last_error = f"Apply failed: {describe_error(exc)}"
            if not self.error.value and not self.field_error.value:
                self.error.value = _css_error(self.last_error)  # never fail silently

    async def apply(self) -> Any:
        """Send ONE ``session.update`` with the changed fields and show the outcome.

        Returns the Call's update result (``.session``, ``.diff``), or ``None`` when nothing
        changed (nothing is sent). Raises ``ValidationError`` (nothing sent) for bad input,
        and whatever ``update_session`` raises (shown inline, e.g. the server's refusal).
        """
        source = self.source
        if not self._live():
            err = RuntimeError(
                "no live call to update. Fix: bind the editor to a Call from "
                "rtwidgets.attach(...) (a recording is read-only)"
            )
            self.error.value = _css_error(str(err))
            raise err
        if self._applying:
            raise RuntimeError("an Apply is already in flight. Fix: wait for it to finish")
        self.error.value = ""
        try:
            changed = self.changed()
        except ValidationError as err:
            self.error.value = _css_error(str(err))
            self._mark_invalid(err.field)
            raise
        if not changed:
            self.status.value = _css_note("nothing to apply: no field differs from the session")
            return None
        self._applying = True
        self.apply_button.disabled = True
        self.status.value = _css_note(f"applying {', '.join(p for p, _ in _leaves(changed))}…")
        self._hide_result()
        try:
            result = await source.update_session(**changed)
        except BaseException as exc:
            self._applying = False
            self.status.value = ""
            self.error.value = _css_error(f"not applied: {describe_error(exc)}")
            self._refresh()  # the edits are still there: Apply can be tried again
            raise
        self._applying = False
        self._last_result = result
        self._last_applied = copy.deepcopy(changed)
        self._reload(keep_edits=False)
        self._show_result(changed, result)
        return result

    def _hide_result(self) -> None:
        self.result.layout.display = "none"
        self.result.text = ""

    def _show_result(self, requested: Mapping[str, Any], result: Any) -> None:
        applied = getattr(result, "session", None)
        applied = applied if isinstance(applied, Mapping) else self._server_session_full()
        diffs = list(getattr(result, "diff", []) or [])
        differs = {str(getattr(d, "path", "")) for d in diffs}
        rows = []
        shown_applied = mask_secrets(applied)
        for path, want in _leaves(mask_secrets(requested)):
            got = _get_path(shown_applied, path)
            mark = "≠" if path in differs else "="
            rows.append(
                f"{mark} {path}\n    requested: {_short_json(want)}"
                f"\n    applied:   {_short_json(got)}"
            )
        self.result.text = "\n".join(rows)
        self.result.layout.display = ""
        paths = [p for p, _ in _leaves(requested)]
        if differs:
            self.status.value = _css_error(
                f"applied with differences: {', '.join(sorted(differs))} "
                f"({len(paths) - len(differs)} of {len(paths)} as requested)"
            )
        else:
            self.status.value = _css_ok(
                f"applied: {', '.join(paths)} ({len(paths)} of {len(paths)} as requested)"
            )

    @property
    def last_result(self) -> Any:
        """The result of the last successful Apply (``.session``, ``.diff``), or ``None``."""
        return self._last_result


def _deep_merge(base: dict[str, Any], update: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    for key, value in update.items():
        sub = f"{path}.{key}" if path else key
        old = base.get(key)
        if sub in _CONTAINERS and isinstance(value, Mapping) and isinstance(old, dict):
            _deep_merge(old, value, sub)
        elif (
            sub == "audio.input.turn_detection"
            and isinstance(value, Mapping)
            and isinstance(old, Mapping)
            and old.get("type") == value.get("type")
        ):
            base[key] = {**old, **copy.deepcopy(dict(value))}  # the server merges same-type
        else:
            base[key] = copy.deepcopy(value)
    return base


def _short_json(value: Any, limit: int = 400) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
