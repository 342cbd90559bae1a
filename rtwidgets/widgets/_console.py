"""CallConsole: the one-cell view of a call — status, event log, transcript and the forms.

Why: a person attaches to a call and, in one cell, watches it live and steers it. The console
is only composition: it binds its parts (StatusBar, EventLog, Transcript, SessionEditor,
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

import ipywidgets as w

from ._base import SourceView, describe_error, maybe_await
from ._event_log import EventLog
from ._incoming import IncomingCalls
from ._session_editor import SessionEditor
from ._status import StatusBar, format_elapsed
from ._tool_calls import ToolCalls
from ._transcript import Transcript

__all__ = ["CallConsole", "console_mimebundle"]

_SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 10.0)
_ERROR_STYLE = "color:var(--jp-error-color1,#d32f2f)"
_NOTE_STYLE = "color:var(--jp-ui-font-color2,#555)"


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
        **kwargs: Any,
    ) -> None:
        redact = bool(redact if private is None else private)
        # The API client is kept privately and never shown: it holds the key.
        self._client = client
        self._inbox = inbox
        self.attach_options = dict(attach_options or {})
        self._owned: Any = None        # a Call the console attached itself (closed on detach)
        self._replay: Any = None       # a Replay the console made from a Recording
        self._recording: Any = None
        self._ticker: asyncio.TimerHandle | None = None
        self._seeking = False          # position slider moved by code, not by a person
        self._restarting = False       # "Replay" pressed: going back to 0:00 to play again

        # attach bar
        self.call_id_field = w.Text(
            placeholder="rtc_… call id (from the Location header or a SIP webhook)",
            description="call id", layout=w.Layout(width="28em"),
        )
        self.call_id_field.add_class("rtw-call-id")
        self.picker = w.Dropdown(options=[("pick a seen call", "")], value="",
                                 layout=w.Layout(width="16em"))
        self.picker.add_class("rtw-call-picker")
        self.attach_button = w.Button(description="Attach", button_style="primary",
                                      icon="plug")
        self.attach_button.add_class("rtw-attach-button")
        self.detach_button = w.Button(description="Detach", icon="unlink", disabled=True)
        self.detach_button.add_class("rtw-detach-button")
        self.message = w.HTML("")
        self.message.add_class("rtw-console-message")
        bar_items = [self.call_id_field]
        if inbox is not None:
            bar_items.append(self.picker)
        bar_items += [self.attach_button, self.detach_button, self.message]
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
        self.tool_calls = ToolCalls(redact=redact)
        self.incoming: IncomingCalls | None = None
        if inbox is not None:
            self.incoming = IncomingCalls(
                inbox, editor=self.session_editor, on_attach=self._attached_from_inbox,
                redact=redact, attach_options={"client": client, **self.attach_options},
            )
        tabs: list[tuple[str, Any]] = [
            ("Session", self.session_editor), ("Tool calls", self.tool_calls)]
        if self.incoming is not None:
            tabs.append(("Incoming", self.incoming))
        self.forms = w.Tab(children=[t[1] for t in tabs], titles=[t[0] for t in tabs])
        self.forms.add_class("rtw-forms")

        super().__init__(
            source=None,
            redact=redact,
            children=[self.attach_bar, self.status, self.replay_bar, streams, self.forms],
            **kwargs,
        )
        self.add_class("rtw-console")
        self.attach_button.on_click(lambda _b: self._click_attach())
        self.detach_button.on_click(lambda _b: self._spawn(self.detach(), label="Detach"))
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
                self.tool_calls]

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
