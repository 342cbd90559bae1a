"""SessionEditor: see the session as the server last reported it, change it, see what applied.

Why: ``session.update`` is the sideband's main lever, and the server answers with the *full*
effective session, not with what changed. A person steering a call wants to edit a few
fields, send exactly those in ONE ``session.update``, and then see what was asked against
what the server applied (a clamped speed, a refused voice). This form does that over a
``Call`` (``await call.update_session(**changed)``), and every button has an awaitable twin
(``await editor.apply()``) for scripted use.

A view over a plain model (the first decision): what the form would send, the "unknown"
rules, the raw JSON tab and the MCP credential masking are ``SessionDraft``
(``_session_draft.py``, tested without widgets); the session rules (merge, sameness,
server-only fields, locked model and voice) are ``protocol/session.py``. This module maps
controls to the draft's plain control states and shows the outcome.

Privacy: instructions, tools JSON, the raw JSON tab, the "show code" text and the
requested/applied listing are text-bearing, so they are :class:`PrivateText` (``_fields.py``):
with ``private=True`` (the default) a saved notebook holds none of them; ``redact=True`` keeps
them out of the browser. Threads: clicks may arrive on a comm subshell thread; actions hop back
to the source's loop (``run_on``, ``_fields.py``) — an Apply spawned on the subshell loop hung
in the browser.

Unknown is not a value (the second decision): before the server has reported the session on
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
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

import ipywidgets as w

from ..protocol import codec as ce
from ..protocol.errors import ValidationError
from ..protocol.realtime import REALTIME
from ..protocol.session import BUILTIN_VOICES
from ._base import SourceView, describe_error
from ._fields import PrivateText, close_widgets, run_on, running_loop
from ._fields import css_error as _css_error
from ._fields import css_note as _css_note
from ._fields import css_ok as _css_ok
from ._session_draft import CUSTOM_VOICE as _CUSTOM_VOICE
from ._session_draft import UNKNOWN as _UNKNOWN
from ._session_draft import (
    SessionDraft,
    editable_session,
    get_path,
    leaves,
    mask_secrets,
    minimal_update,
    render_update_code,
    short_json,
    unknown_paths,
    voice_choice,
)

# PrivateText, editable_session and minimal_update are imported from here by older code.
__all__ = ["PrivateText", "SessionEditor", "editable_session", "minimal_update",
           "render_update_code"]

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
#: Normalized events after which the server's session may have changed.
_SESSION_EVENTS: Final = frozenset({ce.SessionReported, ce.SessionApplied})
#: Normalized events after which the reducer may have seen the first assistant audio (the
#: voice lock): audio, the agent's transcript, the items that carry them.
_AUDIO_EVENTS: Final = frozenset({ce.AgentAudio, ce.TranscriptDelta, ce.TranscriptDone,
                                  ce.ItemReported})


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
        # The model: the server's session, the control states loaded from it (a field
        # differing from its loaded state is "dirty" and is what Apply sends), the locks.
        self.draft = SessionDraft()
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
        self.draft.load(None)
        self._load_controls({}, baseline=True)
        self._refresh()

    def _on_frame(self, frame: Any) -> None:
        # What the frame means comes from the source's codec (the frame's type is data).
        codec = getattr(getattr(self.source, "state", None), "codec", REALTIME)
        produces = codec.produces(frame.type)
        if frame.direction == "in" and produces & _SESSION_EVENTS:
            # An apply in flight reloads fully when it returns; anything else keeps edits.
            self._reload(keep_edits=True)
        elif produces & _AUDIO_EVENTS and self.voice.disabled != self._audio_started():
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
        return copy.deepcopy(self.draft.baseline)

    def _server_session_full(self) -> dict[str, Any]:
        state = getattr(self.source, "state", None)
        session = getattr(state, "session", None) if state is not None else None
        return dict(session) if isinstance(session, Mapping) else {}

    @property
    def unknown_fields(self) -> list[str]:
        """Session paths the form shows as unknown (not reported by the server)."""
        return [_FIELD_PATHS[name] for name in _FIELD_PATHS if name in self._unknown]

    def _unknown_label(self) -> str:
        return "unknown" if self.source is not None else "server default"

    def _mark_unknown(self, session: Mapping[str, Any]) -> None:
        """Which fields ``session`` leaves out; their controls show "unknown" (muted)."""
        unknown = unknown_paths(session, _FIELD_PATHS)
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
        dirty = self._dirty_states() if keep_edits else {}
        self.draft.load(self._server_session_full())
        self._load_controls(self.draft.baseline, baseline=True)
        if dirty:
            self._restore_states(dirty)
        self._refresh_known()
        if self.tabs.selected_index == 1 and not (keep_edits and self._raw_dirty()):
            self._raw_text_from(self.draft.baseline)
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
        return self.draft.dirty(self._control_states())

    def _raw_dirty(self) -> bool:
        return self.raw.text != self.draft.loaded.get("raw")

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
            name, custom = voice_choice(get_path(session, "audio.output.voice"))
            self.voice.value = _UNKNOWN if "voice" in unknown else name
            self.voice_custom.value = custom
            mods = session.get("output_modalities") or ["audio"]
            self.modalities.value = (
                _UNKNOWN if "modalities" in unknown
                else "text" if list(mods) == ["text"] else "audio"
            )
            td = get_path(session, "audio.input.turn_detection")
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
            self.draft.loaded = self._control_states()
            self._raw_text_from(session)
            self.draft.loaded["raw"] = self.raw.text

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

    def changed(self) -> dict[str, Any]:
        """The partial session the form would send now (validated; raises ValidationError).

        Only fields that differ from the session the server last reported are included.
        """
        changed = self._raw_changed() if self.tabs.selected_index == 1 else self._form_changed()
        self.draft.audio_started = self._audio_started()
        return self.draft.validated(changed)

    def _raw_changed(self) -> dict[str, Any]:
        self.draft.server_session = self._server_session_full()
        return self.draft.raw_changed(self.raw.text)

    def session_fields(self) -> dict[str, Any]:
        """The whole request-side session as the form stands (baseline + edits), validated.

        Used as an accept body (IncomingCalls); includes ``"type": "realtime"``.
        """
        return self.draft.session_fields(self.changed())

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
        self._load_controls(self.draft.baseline, baseline=True)
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
                merged = self.draft.desired(self._form_changed())
            except ValidationError:
                merged = self.draft.baseline
            self._raw_text_from(merged)
        else:
            # Raw → form: load a valid raw JSON into the controls (not as the baseline).
            try:
                desired = self.draft.desired(self._raw_changed())
            except ValidationError:
                desired = None
            if desired is not None:
                self._load_controls(desired, baseline=False)
        self._refresh()

    def _form_changed(self) -> dict[str, Any]:
        return self.draft.form_changed(self._control_states(), self._choice_values)

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
            if locked and "voice" not in self._unknown and self._live()
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
        # A recording or replay offers no live-only action at all (issue 14): Apply and
        # Revert are hidden there, not shown enabled-looking and then refused.
        read_only = getattr(self.source, "read_only", False) is True
        for button in (self.apply_button, self.revert_button):
            button.layout.display = "none" if read_only else ""
        self.apply_button.tooltip = (
            "read-only: a recording or replay cannot change the session" if read_only else "")
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
        self.status.value = _css_note(f"applying {', '.join(p for p, _ in leaves(changed))}…")
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
        for path, want in leaves(mask_secrets(requested)):
            got = get_path(shown_applied, path)
            mark = "≠" if path in differs else "="
            rows.append(
                f"{mark} {path}\n    requested: {short_json(want)}"
                f"\n    applied:   {short_json(got)}"
            )
        self.result.text = "\n".join(rows)
        self.result.layout.display = ""
        paths = [p for p, _ in leaves(requested)]
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
