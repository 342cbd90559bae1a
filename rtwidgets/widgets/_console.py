"""CallConsole: the one-cell view of a call — status, event log, transcript and the forms.

Why: a person attaches to a call and, in one cell, watches it live and steers it. The console
is only composition: it binds its parts (StatusBar, EventLog, Transcript, SessionEditor, Turns,
ToolCalls, and IncomingCalls when given a ``WebhookInbox``) to one source and gives them an
attach bar and, for recordings, replay controls.

Sources:
* a live ``Call`` → every part bound to it;
* a ``Recording`` → the console makes ``recording.replay()`` and binds the parts to that
  ``Replay`` (play / pause / speed / jump-to-time drive it; a jump rebuilds the views from the
  replay's frames); if a recording cannot replay, the parts show it whole, without controls.
  The replay's one clock is the StatusBar's "time" (its position, ticking between events);
  Play turns into Pause while it plays and into "Replay" at the end (from 0:00 again); a
  replay is read-only, so the forms offer no send (their ``read_only`` check);
* a ``Replay`` → as above, the console does not own it;
* nothing → the attach bar: a call-id field (or a pick from the inbox's ``seen`` ids) and an
  Attach button, which runs ``rtwidgets.attach(call_id, client=...)`` as a task. Detach
  unbinds every part and closes the call if the console attached it; Attach works again
  without a new cell.

Detach and Hang up are different acts and say so in their tooltips: Detach stops watching
(the call goes on for the caller and the model); Hang up ends the call for everyone through
call control (``await call.hangup()``, ``POST …/hangup``). Hang up asks for a confirmation
first (the button becomes "Confirm hang up?" next to Cancel), is offered only for a live
call (never in a replay or a recording), and afterwards the console says how the call ended.

A console made without a client (``CallConsole()``) can be given one from the widget: an API
key box and an optional base URL (e.g. the emulator's ``http://127.0.0.1:…/v1``). The key
goes from the browser to the kernel once, in a custom message; it is put into an
``openai.AsyncOpenAI`` at once and never kept in a trait, a repr, a message to the browser
or the saved notebook (the box clears itself and only says "key set").

``console_mimebundle(source)`` is what ``Call``/``Recording`` ``_repr_mimebundle_`` return,
so ``display(call)`` shows a console; displaying the same source twice re-shows the same
console (its views ask for a snapshot) instead of subscribing a second set of views.

It must never: block the kernel (every button spawns a task; failures show in place), own a
socket itself, or put a transcript, instructions, tool arguments or a secret in a trait.
"""

from __future__ import annotations

import asyncio
import html
import inspect
from collections.abc import Callable
from typing import Any

import anywidget
import ipywidgets as w
import traitlets as t

from ._base import SourceView, describe_error, maybe_await
from ._event_log import EventLog
from ._incoming import IncomingCalls
from ._session_editor import SessionEditor
from ._status import StatusBar, format_elapsed
from ._tool_calls import ToolCalls
from ._transcript import Transcript
from ._turns import Turns

__all__ = ["CallConsole", "console_mimebundle"]

_SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 10.0)
_ERROR_STYLE = "color:var(--jp-error-color1,#d32f2f)"
_NOTE_STYLE = "color:var(--jp-ui-font-color2,#555)"
_DETACH_TIP = (
    "Detach: stop watching this call here. The call goes on: the caller and the model are "
    "not affected, and you can attach again."
)
_HANGUP_TIP = (
    "Hang up: end the call for everyone (call control hangup). The caller is disconnected "
    "and nobody can attach to it again."
)
_CONFIRM_TIP = "Ends the call for everyone now. Cancel keeps it going."

# The API key box: the key travels browser → kernel once, in a custom message, and is never
# sent back or kept in a trait; the input clears itself.
_KEY_ESM = """
function render({ model, el }) {
  const input = document.createElement("input");
  input.type = "password";
  input.autocomplete = "off";
  input.spellcheck = false;
  input.className = "rtw-api-key-input";
  const sync = () => {
    input.placeholder = model.get("has_secret")
      ? "key set (hidden) - type to replace" : model.get("placeholder");
    input.disabled = !!model.get("disabled");
  };
  const send = () => {
    if (input.value) {
      model.send({ kind: "secret", text: input.value });
      input.value = "";
    }
  };
  input.addEventListener("change", send);
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") send(); });
  for (const name of ["has_secret", "placeholder", "disabled"]) {
    model.on("change:" + name, sync);
  }
  sync();
  el.appendChild(input);
}
export default { render };
"""


class SecretField(anywidget.AnyWidget):
    """A password box whose value never becomes a trait: ``on_secret(text)`` gets it once.

    Synced state is only ``placeholder``, ``disabled`` and ``has_secret`` (a bool).
    """

    _esm = _KEY_ESM
    placeholder = t.Unicode("").tag(sync=True)
    disabled = t.Bool(False).tag(sync=True)
    has_secret = t.Bool(False).tag(sync=True)

    def __init__(self, on_secret: Callable[[str], None], **kwargs: Any) -> None:
        self._on_secret = on_secret
        super().__init__(**kwargs)
        self.on_msg(self._got)

    def _got(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("kind") == "secret":
            text = content.get("text")
            if isinstance(text, str) and text.strip():
                self._on_secret(text.strip())

    def __repr__(self) -> str:
        return f"<SecretField {'set' if self.has_secret else 'empty'}>"


def end_sentence(reason: str | None, *, by_us: bool = False) -> str:
    """One sentence saying how a call ended (no "call ended: … (call ended: …)")."""
    if by_us:
        return "call ended: you hung up from this console (call control hangup)"
    text = (reason or "").strip()
    while text.lower().startswith("call ended:"):
        text = text[len("call ended:"):].strip()
    return f"call ended: {text}" if text else "call ended"


def _is_replay(source: Any) -> bool:
    return all(hasattr(source, n) for n in ("pause", "resume", "seek", "position", "duration"))


def _is_recording(source: Any) -> bool:
    return callable(getattr(source, "replay", None)) and not _is_replay(source)


class CallConsole(SourceView, w.VBox):  # type: ignore[misc]
    """Status, event log, transcript, session editor, tool calls (and incoming SIP calls).

    ``CallConsole(source=None, *, client=None, inbox=None, redact=False, max_rows=2000,
    interval=0.1, attach_options=None)``. Scripted twins of the buttons:
    ``await console.attach(call_id)``, ``await console.detach()``, ``console.play()``,
    ``console.pause()``, ``console.set_speed(2.0)``, ``await console.seek(12.5)``.
    """

    def __init__(
        self,
        source: Any = None,
        *,
        client: Any = None,
        inbox: Any = None,
        redact: bool = False,
        private: bool | None = None,
        max_rows: int = 2000,
        interval: float = 0.1,
        attach_options: dict[str, Any] | None = None,
        tool_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        redact = bool(redact if private is None else private)
        # The API client is kept privately and never shown: it holds the key.
        self._client = client
        self._client_given = client is not None
        self._inbox = inbox
        self.attach_options = dict(attach_options or {})
        self._owned: Any = None        # a Call the console attached itself (closed on detach)
        self._replay: Any = None       # a Replay the console made from a Recording
        self._recording: Any = None
        self._ticker: asyncio.TimerHandle | None = None
        self._seeking = False          # position slider moved by code, not by a person
        self._hung_up = False          # this console hung the bound call up
        self._ended_shown = False      # the end of the bound call is already said
        self._restarting = False       # "Replay" pressed: going back to 0:00 to play again

        # attach bar
        self.call_id_field = w.Text(
            placeholder="rtc_… call id (from the Location header or a SIP webhook)",
            # Wide enough for a whole id (~40 characters seen; ids are opaque, so no fit
            # is promised): at 28em the screenshot showed "…baeCN6" cut.
            description="call id", layout=w.Layout(width="36em"),
        )
        self.call_id_field.add_class("rtw-call-id")
        self.picker = w.Dropdown(options=[("pick a seen call", "")], value="",
                                 layout=w.Layout(width="16em"))
        self.picker.add_class("rtw-call-picker")
        self.attach_button = w.Button(description="Attach", button_style="primary",
                                      icon="plug")
        self.attach_button.add_class("rtw-attach-button")
        self.detach_button = w.Button(description="Detach", icon="unlink", disabled=True,
                                      tooltip=_DETACH_TIP, layout=w.Layout(width="auto"))
        self.detach_button.add_class("rtw-detach-button")
        self.hangup_button = w.Button(description="Hang up", icon="phone-slash",
                                      button_style="danger", tooltip=_HANGUP_TIP,
                                      layout=w.Layout(width="auto", display="none"))
        self.hangup_button.add_class("rtw-hangup-button")
        self.cancel_hangup_button = w.Button(description="Cancel", icon="times",
                                             tooltip="Keep the call going",
                                             layout=w.Layout(width="auto", display="none"))
        self.cancel_hangup_button.add_class("rtw-cancel-hangup")
        self.message = w.HTML("")
        self.message.add_class("rtw-console-message")
        # Given a client from the widget (only when the console was made without one).
        self.api_key = SecretField(self._use_key,
                                   placeholder="API key (sk-…; kept out of the notebook)")
        self.api_key.add_class("rtw-api-key")
        self.base_url = w.Text(placeholder="base URL (optional, e.g. the emulator's …/v1)",
                               layout=w.Layout(width="22em"))
        self.base_url.add_class("rtw-base-url")
        self.client_note = w.HTML("")
        self.client_bar = w.HBox(
            [w.HTML(f'<span style="{_NOTE_STYLE}">client</span>'), self.api_key,
             self.base_url, self.client_note],
            layout=w.Layout(flex_flow="row wrap", align_items="center",
                            display="none" if client is not None else "flex"),
        )
        self.client_bar.add_class("rtw-client-bar")
        self._client_base: str | None = None  # base URL the current client was made with
        bar_items = [self.call_id_field]
        if inbox is not None:
            bar_items.append(self.picker)
        bar_items += [self.attach_button, self.detach_button, self.hangup_button,
                      self.cancel_hangup_button, self.message]
        self.attach_bar = w.HBox(bar_items, layout=w.Layout(flex_flow="row wrap",
                                                            align_items="center"))
        self.attach_bar.add_class("rtw-attach")

        # replay bar
        self.play_button = w.ToggleButton(description="Play", icon="play", value=False)
        self.play_button.add_class("rtw-play")
        self.speed = w.Dropdown(options=[(f"{s:g}×", s) for s in _SPEEDS], value=1.0,
                                description="speed", layout=w.Layout(width="12em"))
        self.speed.add_class("rtw-speed")
        self.position = w.FloatSlider(min=0.0, max=1.0, step=0.1, value=0.0,
                                      description="time", readout=False,
                                      continuous_update=False, layout=w.Layout(width="28em"))
        self.position.add_class("rtw-seek")
        # The clock is the StatusBar's "time" field; a second one here used to disagree.
        self.position_label = w.HTML("", layout=w.Layout(display="none"))
        self.position_label.add_class("rtw-replay-position")
        self.replay_bar = w.HBox(
            [self.play_button, self.speed, self.position, self.position_label],
            layout=w.Layout(display="none", align_items="center"),
        )
        self.replay_bar.add_class("rtw-replay")

        # parts
        self.status = StatusBar(events=False)  # the event log shows the one event count
        # The log starts at 60% and is resizable (drag its corner: CSS resize); the
        # transcript takes the rest, so neither is stuck cramped or half empty.
        self.event_log = EventLog(redact=redact, max_rows=max_rows, interval=interval,
                                  layout=w.Layout(flex="0 0 auto", width="60%",
                                                  min_width="18em", max_width="85%"))
        self.event_log.add_class("rtw-resizable")
        self.transcript = Transcript(redact=redact, max_rows=max_rows, interval=interval,
                                     layout=w.Layout(flex="1 1 0", min_width="12em"))
        streams = w.HBox([self.event_log, self.transcript],
                         layout=w.Layout(width="100%", align_items="flex-start"))
        streams.add_class("rtw-streams")
        self.session_editor = SessionEditor(redact=redact)
        self.tool_calls = ToolCalls(redact=redact, tool_timeout=tool_timeout)
        self.turns = Turns(interval=interval)
        self.incoming: IncomingCalls | None = None
        if inbox is not None:
            self.incoming = IncomingCalls(
                inbox, editor=self.session_editor, on_attach=self._attached_from_inbox,
                redact=redact, attach_options={"client": client, **self.attach_options},
            )
        tabs: list[tuple[str, Any]] = [
            ("Session", self.session_editor), ("Tool calls", self.tool_calls),
            ("Turns", self.turns)]
        if self.incoming is not None:
            tabs.append(("Incoming", self.incoming))
        self.forms = w.Tab(children=[t[1] for t in tabs], titles=[t[0] for t in tabs])
        self.forms.add_class("rtw-forms")

        super().__init__(
            source=None,
            redact=redact,
            children=[self.client_bar, self.attach_bar, self.status, self.replay_bar, streams,
                      self.forms],
            **kwargs,
        )
        self.add_class("rtw-console")
        self.attach_button.on_click(lambda _b: self._click_attach())
        self.detach_button.on_click(lambda _b: self._spawn(self.detach(), label="Detach"))
        self.hangup_button.on_click(lambda _b: self._click_hangup())
        self.cancel_hangup_button.on_click(lambda _b: self._reset_hangup())
        self.base_url.observe(lambda _c: self._base_url_changed(), names="value")
        self.picker.observe(self._picked, names="value")
        self.play_button.observe(self._play_toggled, names="value")
        self.speed.observe(self._speed_changed, names="value")
        self.position.observe(self._position_changed, names="value")
        self._inbox_unsubscribe: Callable[[], None] | None = None
        if inbox is not None and hasattr(inbox, "subscribe"):
            self._inbox_unsubscribe = inbox.subscribe(lambda _incoming: self._refresh_picker())
        self._refresh_picker()
        if source is not None:
            self.bind(source)

    # -- parts -----------------------------------------------------------------------------

    @property
    def parts(self) -> list[Any]:
        """The views bound to the call (not IncomingCalls, which is bound to the inbox)."""
        return [self.status, self.event_log, self.transcript, self.session_editor,
                self.tool_calls, self.turns]

    @property
    def call(self) -> Any:
        """What the parts show: the live Call, the Replay, or ``None``."""
        return self.source

    @property
    def replay(self) -> Any:
        """The Replay driven by the controls, or ``None``."""
        return self.source if self.source is not None and _is_replay(self.source) else None

    # -- binding ---------------------------------------------------------------------------

    def bind(self, source: Any) -> None:
        """Show ``source``: a ``Call``, a ``Replay``, or a ``Recording`` (replayed)."""
        if self.closed:
            raise RuntimeError("CallConsole is closed; create a new console to bind")
        if _is_recording(source):
            recording = source
            try:
                try:  # start paused: the person presses Play
                    replay = recording.replay(speed=1.0, paused=True)
                except TypeError:
                    replay = recording.replay(speed=1.0)
            except Exception as err:  # a recording that cannot replay is shown whole
                self._note(f"replay unavailable ({describe_error(err)}); showing it whole")
                replay = None
            if replay is not None:
                self.bind(replay)
                self._recording = recording
                self._replay = replay
                return
        if self.source is not None:
            self.unbind()
        super().bind(source)

    def _on_bind(self, source: Any) -> None:
        for part in self.parts:
            part.bind(source)
        self.call_id_field.value = str(source.call_id)
        self.call_id_field.disabled = True
        self.attach_button.disabled = True
        self.detach_button.disabled = False
        self._hung_up = False
        self._ended_shown = False
        self._reset_hangup()
        self._show_client_bar()
        if self._ended(source):
            self._say_ended()
        if _is_replay(source):
            self.replay_bar.layout.display = "flex"
            starter = getattr(source, "start", None)
            if callable(starter):  # a Replay is a Call: its receive task must run (idempotent)
                try:
                    starter()
                except RuntimeError as err:
                    self._report_error("Starting the replay", err)
            self._set_play_button(not bool(getattr(source, "paused", True)))
            self._sync_replay_controls()
            if self.play_button.value:
                self._schedule_ticker()
        else:
            self.replay_bar.layout.display = "none"

    def _on_unbind(self) -> None:
        self._cancel_ticker()
        for part in self.parts:
            part.unbind()
        replay, self._replay = self._replay, None
        self._recording = None
        if replay is not None:
            self._close_quietly(replay, "Closing the replay")
        self.replay_bar.layout.display = "none"
        self.call_id_field.disabled = False
        self.attach_button.disabled = False
        self.detach_button.disabled = True
        self._reset_hangup()
        self._show_client_bar()
        self._refresh_picker()

    def _on_close(self) -> None:
        self._cancel_ticker()
        if self._inbox_unsubscribe is not None:
            self._inbox_unsubscribe()
            self._inbox_unsubscribe = None
        owned, self._owned = self._owned, None
        if owned is not None:
            self._close_quietly(owned, "Closing the call")
        for part in [*self.parts, self.incoming]:
            if part is not None:
                part.close()
        for key, console in list(_DISPLAYED.items()):
            if console is self:
                del _DISPLAYED[key]

    def _close_quietly(self, obj: Any, label: str) -> None:
        closer = getattr(obj, "close", None)
        if not callable(closer):
            return
        try:
            result = closer()
        except Exception as err:
            self._report_error(label, err)
            return
        if inspect.isawaitable(result):
            _keep_closing(result)

    # -- attach / detach -------------------------------------------------------------------

    async def attach(self, call_id: str | None = None, **options: Any) -> Any:
        """Attach to ``call_id`` (default: the field) with the console's client; show it."""
        if call_id is None:
            call_id = self.call_id_field.value
        call_id = (call_id or "").strip()
        if not call_id:
            raise ValueError(
                "call_id: empty. Fix: paste the call id a browser app logged (rtc_…) or pick "
                "one the webhook inbox has seen"
            )
        from rtwidgets._call import attach as attach_call  # the engine, imported on use

        opts = {**self.attach_options, **options}
        call = await attach_call(call_id, client=self._client, **opts)
        if self.source is not None:
            await self.detach()
        self._owned = call
        self.bind(call)
        self._note(f"attached to {html.escape(call_id)}")
        return call

    async def detach(self) -> None:
        """Stop showing the call; close it if the console attached it itself."""
        owned, self._owned = self._owned, None
        replay, self._replay = self._replay, None
        self.unbind()
        for obj in (replay, owned):
            if obj is not None and callable(getattr(obj, "close", None)):
                await maybe_await(obj.close())
        self._note("detached")

    # -- hang up -----------------------------------------------------------------------------

    def _can_hang_up(self) -> bool:
        """A live call with a hangup (not a replay, a recording or an ended call)."""
        source = self.source
        return (
            source is not None
            and not _is_replay(source)
            and not _is_recording(source)
            and callable(getattr(source, "hangup", None))
            and not self._ended(source)
        )

    @staticmethod
    def _ended(source: Any) -> bool:
        return getattr(getattr(source, "status", None), "state", None) == "ended"

    def _reset_hangup(self) -> None:
        """Hang up back to its first step (shown only when the call can be hung up)."""
        self.hangup_button.description = "Hang up"
        self.hangup_button.icon = "phone-slash"
        self.hangup_button.tooltip = _HANGUP_TIP
        self.hangup_button.disabled = False
        self.hangup_button.layout.display = "" if self._can_hang_up() else "none"
        self.cancel_hangup_button.layout.display = "none"

    @property
    def confirming_hangup(self) -> bool:
        """True between a first click on Hang up and Confirm/Cancel."""
        return bool(self.cancel_hangup_button.layout.display != "none")

    def _click_hangup(self) -> None:
        if not self._can_hang_up():
            self._reset_hangup()
            return
        if not self.confirming_hangup:
            self.hangup_button.description = "Confirm hang up?"
            self.hangup_button.icon = "exclamation-triangle"
            self.hangup_button.tooltip = _CONFIRM_TIP
            self.cancel_hangup_button.layout.display = ""
            return
        self.hangup_button.disabled = True
        self.cancel_hangup_button.layout.display = "none"
        self._note("hanging up…")
        self._spawn(self.hangup(), label="Hang up")

    async def hangup(self) -> None:
        """End the bound live call for everyone (call control ``hangup``); say so."""
        source = self.source
        if source is None or not self._can_hang_up():
            raise RuntimeError(
                "nothing to hang up: the console shows no live call. Fix: attach to a live "
                "call first (a replay or a recording cannot be hung up)"
            )
        try:
            await source.hangup()
        except BaseException:
            self._reset_hangup()
            raise
        if self.source is source:
            self._hung_up = True
            self._ended_shown = False
            self._say_ended()

    def _say_ended(self) -> None:
        source = self.source
        if source is None or self._ended_shown:
            return
        self._ended_shown = True
        reason = getattr(getattr(source, "status", None), "reason", None)
        self._note(html.escape(end_sentence(reason, by_us=self._hung_up)))
        self.message.add_class("rtw-call-ended")
        self._reset_hangup()

    def _on_frame(self, frame: Any) -> None:
        if getattr(frame, "type", None) == "rtwidgets.status":
            if self._ended(self.source) and not _is_replay(self.source):
                self._say_ended()
            else:
                self.message.remove_class("rtw-call-ended")
                if not self.confirming_hangup:
                    self._reset_hangup()

    # -- a client from the widget ----------------------------------------------------------

    def _show_client_bar(self) -> None:
        """The key box only where Attach needs a client: unbound, and none was given."""
        wanted = self.source is None and not self._client_given
        self.client_bar.layout.display = "flex" if wanted else "none"

    def _base_url_changed(self) -> None:
        if self._client is not None and self._client_base is not None:
            # a client made here from the key: the new URL needs the key again
            self._client = None
            self._client_base = None
            self.api_key.has_secret = False
            self.client_note.value = (
                f'<span style="{_NOTE_STYLE}">base URL changed: enter the key again</span>'
            )

    def _use_key(self, key: str) -> None:
        """Make the console's client from a key typed in the browser (never stored)."""
        import openai

        base = self.base_url.value.strip() or None
        options: dict[str, Any] = {"api_key": key}
        if base is not None:
            if not base.startswith(("http://", "https://")):
                self.client_note.value = (
                    f'<span class="rtw-error-text" style="{_ERROR_STYLE}">base URL: '
                    f"{html.escape(base[:60])!s} is not an http(s) URL. Fix: e.g. "
                    "http://127.0.0.1:8765/v1, or leave it empty for OpenAI</span>"
                )
                return
            options["base_url"] = base
            # the sideband socket lives at the same place, over ws(s)
            options["websocket_base_url"] = "ws" + base[len("http"):]
        self._client = openai.AsyncOpenAI(**options)
        self._client_base = base or ""
        self.api_key.has_secret = True
        where = html.escape(base) if base else "OpenAI"
        self.client_note.value = f'<span style="{_NOTE_STYLE}">client set for {where}</span>'
        if self.incoming is not None:
            self.incoming.attach_options["client"] = self._client

    @property
    def has_client(self) -> bool:
        """Whether Attach has a client (given, or made from the key box)."""
        return self._client is not None

    def _click_attach(self) -> None:
        call_id = self.call_id_field.value.strip() or str(self.picker.value or "")
        self.message.value = f'<span style="{_NOTE_STYLE}">attaching…</span>'
        self._spawn(self.attach(call_id), label="Attach")

    def _attached_from_inbox(self, call: Any) -> None:
        if self.source is not None and self._owned is not None:
            self._close_quietly(self._owned, "Closing the previous call")
            self._owned = None
        self.bind(call)
        self._note(f"attached to {html.escape(str(call.call_id))} from the inbox")

    def _picked(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.call_id_field.value = str(change["new"])

    def _refresh_picker(self) -> None:
        inbox = self._inbox
        seen = list(getattr(inbox, "seen", ()) or ()) if inbox is not None else []
        ids = [str(getattr(c, "call_id", c)) for c in seen]
        options = [("pick a seen call", "")] + [(i, i) for i in reversed(ids)]
        if options != list(self.picker.options):
            self.picker.options = options
            self.picker.value = ""

    def _note(self, text: str) -> None:
        self.message.value = f'<span style="{_NOTE_STYLE}">{text}</span>'

    def _show_error(self, label: str, exc: BaseException) -> None:
        self.message.value = (
            f'<span class="rtw-error-text" style="{_ERROR_STYLE}">'
            f"{html.escape(label)} failed: {html.escape(describe_error(exc))}</span>"
        )

    # -- replay ----------------------------------------------------------------------------

    def play(self) -> None:
        """Resume the replay."""
        self.play_button.value = True

    def pause(self) -> None:
        """Pause the replay."""
        self.play_button.value = False

    def set_speed(self, speed: float) -> None:
        """Replay speed (from the list the control offers, or any positive number)."""
        if not isinstance(speed, (int, float)) or isinstance(speed, bool) or speed <= 0:
            raise ValueError(f"speed: {speed!r} is not a positive number. Fix: e.g. 2.0")
        if speed not in _SPEEDS:
            self.speed.options = sorted({*[o[1] for o in self.speed.options], float(speed)})
            self.speed.options = [(f"{s:g}×", s) for s in self.speed.options]
        self.speed.value = float(speed)

    async def seek(self, m: float) -> None:
        """Jump the replay to ``m`` seconds since the capture began and rebuild the views."""
        replay = self.replay
        if replay is None:
            raise RuntimeError("seek: nothing is replaying. Fix: show a Recording first")
        duration = float(replay.duration or 0.0)
        if not isinstance(m, (int, float)) or isinstance(m, bool) or not 0 <= m <= duration:
            raise ValueError(f"m: {m!r} is outside the recording. Fix: use 0 to {duration:g}")
        target = float(m)
        was_playing = getattr(replay, "paused", True) is False
        # Seek while paused, so the position lands exactly on ``target`` and stays there; that
        # is how we know the replay's own task applied it (clearing and refilling its frames:
        # a seek before the first frame brings no frame that would tell the views). A paused
        # ReplayTransport only notices a seek once woken, so it is resumed for that one step
        # and paused again before it can play a frame past ``target``.
        replay.resume()
        await maybe_await(replay.seek(target))
        replay.pause()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.0
        while float(replay.position or 0.0) != target and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        if was_playing:
            replay.resume()
        self._resync()

    def _resync(self) -> None:
        self.event_log.resync()
        self.transcript.resync()
        self.status.refresh()
        self._sync_replay_controls()

    def _on_reset(self) -> None:
        # The replay seeked back: its parts rebuild themselves; only the controls follow.
        self._sync_replay_controls()

    def _set_play_button(self, playing: bool, *, ended: bool = False) -> None:
        """Show the button as the replay is, without acting on the replay."""
        self._seeking = True
        try:
            self.play_button.value = playing
        finally:
            self._seeking = False
        self._label_play_button(playing, ended=ended)

    def _label_play_button(self, playing: bool, *, ended: bool = False) -> None:
        if playing:
            self.play_button.description, self.play_button.icon = "Pause", "pause"
            self.play_button.tooltip = "Pause the replay"
        elif ended:
            self.play_button.description, self.play_button.icon = "Replay", "redo"
            self.play_button.tooltip = "Play the recording again from 0:00"
        else:
            self.play_button.description, self.play_button.icon = "Play", "play"
            self.play_button.tooltip = "Play the recording from here"

    def _play_toggled(self, change: dict[str, Any]) -> None:
        replay = self.replay
        playing = bool(change["new"])
        self._label_play_button(playing, ended=not playing and _at_end(replay))
        if replay is None or self._seeking:
            return
        if playing and _at_end(replay):
            self._spawn(self._play_again(), label="Replay")
        else:
            action = replay.resume if playing else replay.pause
            self._spawn(maybe_await(action()), label="Play" if playing else "Pause")
        if playing:
            self._schedule_ticker()
        else:
            self._cancel_ticker()
            self.status.refresh()

    async def _play_again(self) -> None:
        replay = self.replay
        if replay is None:
            return
        self._restarting = True  # the replay is still "ended" until the seek lands
        try:
            await self.seek(0.0)
        finally:
            self._restarting = False
        replay.resume()
        self._set_play_button(True)
        self._schedule_ticker()

    def _speed_changed(self, change: dict[str, Any]) -> None:
        replay = self.replay
        if replay is None:
            return
        try:
            replay.speed = float(change["new"])
        except Exception as err:  # shown in place
            self._report_error("Speed", err)

    def _position_changed(self, change: dict[str, Any]) -> None:
        if self._seeking or self.replay is None:
            return
        self._spawn(self.seek(float(change["new"])), label="Jump")

    def _sync_replay_controls(self) -> None:
        replay = self.replay
        if replay is None:
            return
        duration = float(replay.duration or 0.0)
        position = float(replay.position or 0.0)
        self._seeking = True
        try:
            self.position.max = max(duration, 0.1)
            self.position.value = min(position, self.position.max)
        finally:
            self._seeking = False
        self.position_label.value = (
            f'<span style="{_NOTE_STYLE}">{format_elapsed(position)} / '
            f"{format_elapsed(duration)}</span>"
        )

    def _schedule_ticker(self) -> None:
        self._cancel_ticker()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._ticker = loop.call_later(0.5, self._tick)

    def _tick(self) -> None:
        self._ticker = None
        replay = self.replay
        if replay is None or self.closed:
            return
        if self.play_button.value and not self._restarting and _at_end(replay):
            # The end was reached: the button offers to play again, not to pause.
            pause = getattr(replay, "pause", None)
            if callable(pause):
                pause()  # so a jump back stays where it lands
            self._set_play_button(False, ended=True)
        self._sync_replay_controls()
        self.status.refresh()
        if self.play_button.value:
            self._schedule_ticker()

    def _cancel_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def __repr__(self) -> str:
        base = super().__repr__()
        return base if self._inbox is None else base[:-1] + ", with inbox>"


# Consoles shown by display(source), by id(source): re-display reuses the console (its views
# ask for a snapshot) instead of subscribing another set of views to the same source.
_DISPLAYED: dict[int, CallConsole] = {}
# Close() coroutines of calls/replays a closed console owned, kept until they finish.
_CLOSING: set[asyncio.Future[Any]] = set()


def _keep_closing(awaitable: Any) -> None:
    """Run a close() coroutine to its end even though its owner is gone (strong ref here)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        if inspect.iscoroutine(awaitable):
            awaitable.close()
        return
    task = asyncio.ensure_future(awaitable)
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


def _at_end(replay: Any) -> bool:
    """Whether ``replay`` played its last frame (its status ended: "end of recording")."""
    if replay is None:
        return False
    at_end = getattr(replay, "at_end", None)
    if isinstance(at_end, bool):
        return at_end
    return getattr(getattr(replay, "status", None), "state", None) == "ended"


def console_for(source: Any, **options: Any) -> CallConsole:
    """The console showing ``source`` (made on first use; the same one on re-display)."""
    console = _DISPLAYED.get(id(source))
    if console is not None and not console.closed and (
        console.source is source or console._recording is source
    ):
        return console
    console = CallConsole(source, **options)
    _DISPLAYED[id(source)] = console
    return console


def console_mimebundle(source: Any, **kwargs: Any) -> Any:
    """What ``Call._repr_mimebundle_`` / ``Recording._repr_mimebundle_`` return."""
    return console_for(source)._repr_mimebundle_(**kwargs)


# IncomingCalls opens this console for an attached call; registering here keeps the import
# one-way (_console imports _incoming, never the reverse).
IncomingCalls.console_factory = CallConsole
