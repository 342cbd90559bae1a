"""Shared plumbing for every rtwidgets view: binding to a source, tasks, errors, safe reprs.

Why: the console is made of several views (StatusBar, EventLog, Transcript, SessionEditor,
ToolCalls, IncomingCalls) written by different people. They must all bind, unbind, close and
run actions the same way, or the console cannot detach, re-attach or replay. This module is
that one way.

THE VIEW CONTRACT (every view, high-rate or form, follows it):

* Construction: ``View(source=None, **options)``. ``source`` may be given later.
* ``view.bind(source)``: start showing ``source`` (unbinding any previous one first). A source
  is a live ``Call``, a ``Recording`` or a ``Replay``, duck-typed as in docs/internals.md
  ("call" section): ``.call_id``, ``.state`` (``SessionState``), ``.status``, ``.stats``,
  ``.frames()``, ``.subscribe(cb) -> unsubscribe``; live calls add the async API
  (``send``, ``update_session``, ``send_tool_output``, ``cancel_response``, ``hangup``, ...).
* ``view.unbind()``: stop listening; the view shows nothing bound, keeps no reference.
* ``view.close()``: unbind, cancel its timers and tasks, close the widget(s). Idempotent.
  The base closes every widget the view made — the ``children`` of its boxes and tabs,
  recursively, the widgets held in its attributes (also inside lists and dicts), nested
  views, and their ``layout``/``style`` objects — so a notebook that re-runs the cell does not
  pile up registered widgets with open comms. Widgets given to the constructor (a ``layout``,
  an ``editor``, ``children``, …) belong to the caller and are left open, with what they hold.
* ``view.source``: the bound source or ``None``.
* Hooks for subclasses: ``_on_bind(source)`` (after subscribing; render what the source
  already holds), ``_on_frame(frame)`` (called synchronously on the loop for every frame in
  both directions; must be cheap: record, mark dirty, poke a batcher — never send per frame),
  ``_on_unbind()``, ``_on_close()``.
* Rewinds: a ``Replay`` seeking backwards clears its frames and state and plays them again,
  so sequence numbers restart. The base notices a frame whose ``seq`` is not above the last
  one and calls ``_on_rewind(frame)`` instead of ``_on_frame`` (default: ``_on_frame``);
  stream views rebuild from ``source.frames()`` there. A source with ``on_reset(cb)`` (a
  ``Replay``) also says so at the moment it clears, before any frame (a seek to before the
  first frame brings none): the base then calls ``_on_reset()`` (default: ``_on_bind``, i.e.
  render the source as it now is — empty — and let the replayed frames follow).
* Read-only sources (``source.read_only``: a ``Recording``, a ``Replay``) get no live-only
  action: forms disable or hide Send/Apply/Load/Hang up, with a tooltip saying why.
* Actions (button clicks) never await in the click handler: ``self._spawn(coro, label=...)``
  runs the source's coroutine as a task on the running loop, keeps a strong reference until
  it ends, and reports a failure through ``_show_error(label, exc)`` (shown in place by the
  view; the base keeps the last message in ``self.last_error``). A task is never left
  unreferenced; ``close()`` cancels the ones still running.
* Privacy: ``redact`` (alias ``private``) — when true, transcript text, instructions and tool
  arguments are not sent to the browser at all. Whatever ``redact`` says, such text never goes
  into a synced trait (which would be saved into the notebook): it travels only in custom
  messages, which are not saved. ``repr(view)`` names the class and call id only.

What a view must never do: touch a socket, hold protocol logic (that lives in
``rtwidgets.protocol`` and the ``Call``), block the kernel, start a thread, or put a secret,
a transcript, instructions or tool arguments in a synced trait or a repr.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import anywidget
import ipywidgets
import traitlets

from rtwidgets.protocol import codec as ce
from rtwidgets.protocol._text import displayable_tree, hidden, snippet
from rtwidgets.protocol.codec import Codec
from rtwidgets.protocol.codecs import API_NAMES, codec_for
from rtwidgets.protocol.errors import mask_secrets
from rtwidgets.protocol.realtime.catalog import TEXT_DELTA_TYPES

from ._batcher import Batcher

__all__ = [
    "FrameLike",
    "SourceLike",
    "SourceView",
    "StreamView",
    "close_owned",
    "codec_of",
    "describe_error",
    "hidden",
    "maybe_await",
    "redact_event",
    "snippet",
    "wire_safe",
]

_log = logging.getLogger("rtwidgets.widgets")


@runtime_checkable
class FrameLike(Protocol):
    """What views read from a captured frame (``rtwidgets._capture.Frame``)."""

    @property
    def seq(self) -> int: ...
    @property
    def direction(self) -> str: ...
    @property
    def t(self) -> float: ...
    @property
    def m(self) -> float: ...
    @property
    def type(self) -> str: ...
    @property
    def event(self) -> dict[str, Any]: ...
    @property
    def flags(self) -> frozenset[str]: ...


@runtime_checkable
class SourceLike(Protocol):
    """The read API shared by a live ``Call``, a ``Recording`` and a ``Replay``."""

    @property
    def call_id(self) -> str: ...
    @property
    def state(self) -> Any: ...
    def frames(self) -> Sequence[Any]: ...
    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]: ...


def codec_of(source: Any) -> Codec:
    """The codec of the API ``source`` speaks: what every view asks instead of naming one.

    A source's ``state.codec`` (``SessionState`` holds the call's codec) says which API it
    is; else its ``api`` (``"realtime"``/``"live"``); else Realtime (old sources and
    look-alikes). The *template* codec of that API is returned, never the state's own copy:
    views only ask what a wire type means (``produces``, ``category``, ``summary``,
    ``is_delta``), and a stateful codec's per-call state belongs to the reducer alone.
    """
    state = getattr(source, "state", None) if source is not None else None
    api = getattr(getattr(state, "codec", None), "api", None)
    if not isinstance(api, str) or api not in API_NAMES:
        api = getattr(source, "api", None)
    return codec_for(api if isinstance(api, str) and api in API_NAMES else None)


def describe_error(exc: BaseException) -> str:
    """A one-line, user-facing description of a failed action (type name and message).

    Secret-shaped parts are masked: the line is shown in a widget (saved with the notebook),
    and an error from any library may quote what a person pasted into the wrong field.
    """
    text = mask_secrets(str(exc)).strip().splitlines()
    first = text[0] if text else ""
    name = type(exc).__name__
    return f"{name}: {first}" if first else name


def wire_safe(value: Any) -> Any:
    """``value`` as the kernel can send it: lone surrogates in strings become U+FFFD and
    non-finite floats ``None`` (``NaN``/``Infinity`` are valid in frames, not in messages).
    ``value`` itself when nothing needs a change."""
    return displayable_tree(value, finite=True)


async def maybe_await(value: Any) -> Any:
    """Await ``value`` if it is awaitable (sync and async source APIs alike)."""
    if inspect.isawaitable(value):
        return await value
    return value


def _widgets_in(value: Any, depth: int) -> list[ipywidgets.Widget]:
    """The widgets ``value`` is or holds, looking ``depth`` levels into lists/tuples/dicts."""
    if isinstance(value, ipywidgets.Widget):
        return [value]
    if depth <= 0:
        return []
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return [w for item in value for w in _widgets_in(item, depth - 1)]
    return []


def _parts_of(widget: Any) -> list[ipywidgets.Widget]:
    """What closing ``widget`` must also close: children, layout/style, a view's widgets."""
    parts = _widgets_in(getattr(widget, "children", None), 1)
    # Trait values are read from the store, not through getattr: a trait not set yet would
    # otherwise be created (a default Layout) just to be closed.
    values = getattr(widget, "_trait_values", {})
    for name in ("layout", "style"):
        parts += _widgets_in(values.get(name), 0)
    if isinstance(widget, SourceView):
        # A view keeps controls in attributes that are not always in its tree (a picker
        # shown only with an inbox, rows in a dict): those are its widgets too.
        for value in vars(widget).values():
            parts += _widgets_in(value, 2)
    return parts


def close_owned(root: Any, foreign: Iterable[Any] = ()) -> int:
    """Close every widget under ``root`` (not ``root`` itself) except ``foreign`` ones.

    Walks ``_parts_of`` recursively. ``foreign`` widgets, and everything under them, are not
    the view's to close (the caller passed them in). Returns how many widgets were closed.
    """
    keep: set[int] = {id(root)}
    stack = list(foreign)
    while stack:  # what a foreign widget holds stays open with it
        widget = stack.pop()
        if id(widget) not in keep:
            keep.add(id(widget))
            stack.extend(_parts_of(widget))
    order: list[Any] = []
    seen = set(keep)
    stack = _parts_of(root)
    while stack:
        widget = stack.pop()
        if id(widget) in seen:
            continue
        seen.add(id(widget))
        order.append(widget)
        stack.extend(_parts_of(widget))
    closed = 0
    for widget in reversed(order):  # leaves first
        if getattr(widget, "comm", None) is None and not isinstance(widget, SourceView):
            continue  # already closed
        try:
            widget.close()
            closed += 1
        except Exception:  # one broken widget must not keep the others open
            _log.exception("closing %s failed", type(widget).__name__)
    return closed


class SourceView:
    """Mixin giving a widget the view contract above. Put it first in the bases.

    ``class MyView(SourceView, ipywidgets.VBox)`` or ``(SourceView, anywidget.AnyWidget)``.
    Subclasses call ``super().__init__(source=source, redact=redact, **widget_kwargs)``; the
    base binds ``source`` after the widget is fully constructed.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # Runs before any subclass __init__ builds a control, so the widgets found in the
        # constructor's arguments are exactly the ones the caller owns.
        base_new = super().__new__
        # (object.__new__ takes no arguments; HasTraits' __new__ takes the constructor's)
        view = base_new(cls) if base_new is object.__new__ else base_new(cls, *args, **kwargs)
        view._rtw_foreign = tuple(
            w for value in (*args, *kwargs.values()) for w in _widgets_in(value, 2)
        )
        return view

    def __init__(
        self,
        source: Any = None,
        *,
        redact: bool = False,
        private: bool | None = None,
        **widget_kwargs: Any,
    ) -> None:
        # State that the widget half of the class may never see: plain attributes only.
        self._rtw_source: Any = None
        self._rtw_unsubscribe: Callable[[], None] | None = None
        self._rtw_unreset: Callable[[], None] | None = None
        self._rtw_tasks: set[asyncio.Task[Any]] = set()
        # the loop the bound source lives on; None until bound (see _spawn)
        self._rtw_home: asyncio.AbstractEventLoop | None = None
        self._rtw_closed = False
        self._rtw_last_seq = -1
        # Widgets the caller passed to the constructor (set by __new__): close() leaves them.
        self._rtw_foreign: tuple[ipywidgets.Widget, ...] = getattr(self, "_rtw_foreign", ())
        self.redact: bool = bool(redact if private is None else private)
        self.last_error: str | None = None
        #: frames whose showing raised (each shown in place as ``last_error``)
        self.frame_errors = 0
        super().__init__(**widget_kwargs)
        if source is not None:
            self.bind(source)

    # -- binding ---------------------------------------------------------------------------

    @property
    def source(self) -> Any:
        """The bound ``Call``/``Recording``/``Replay``, or ``None``."""
        return self._rtw_source

    @property
    def closed(self) -> bool:
        return self._rtw_closed

    def bind(self, source: Any) -> None:
        """Show ``source``; replaces the previous one. Raises ``TypeError`` for non-sources."""
        if self._rtw_closed:
            raise RuntimeError(f"{type(self).__name__} is closed; create a new view to bind")
        missing = [
            name for name in ("call_id", "state", "frames", "subscribe")
            if not hasattr(source, name)
        ]
        if missing:
            raise TypeError(
                f"source: {type(source).__name__} lacks {', '.join(missing)}. Fix: pass a Call"
                " from rtwidgets.attach(...), a Recording from rtwidgets.load(...) or a Replay"
            )
        if self._rtw_source is not None:
            self.unbind()
        self._rtw_source = source
        # The loop the source lives on: actions must run there (see _spawn).
        try:
            self._rtw_home = asyncio.get_running_loop()
        except RuntimeError:
            self._rtw_home = getattr(source, "loop", None) or self._rtw_home
        frames = source.frames()
        self._rtw_last_seq = int(getattr(frames[-1], "seq", -1)) if len(frames) else -1
        # Subscribe before rendering what exists, so nothing falls between the two; the
        # subclass's _on_bind reads frames() and must tolerate a frame also arriving by
        # callback (loop is single-threaded: nothing arrives between these two lines).
        self._rtw_unsubscribe = source.subscribe(self._rtw_dispatch)
        on_reset = getattr(source, "on_reset", None)
        if callable(on_reset):
            self._rtw_unreset = on_reset(self._rtw_reset)
        self._on_bind(source)

    def unbind(self) -> None:
        """Stop listening to the bound source (if any); the view keeps no reference to it."""
        unreset, self._rtw_unreset = self._rtw_unreset, None
        if unreset is not None:
            try:
                unreset()
            except Exception:
                _log.exception("unsubscribe from resets failed")
        unsubscribe, self._rtw_unsubscribe = self._rtw_unsubscribe, None
        if unsubscribe is not None:
            try:
                unsubscribe()
            except Exception:  # an unsubscribe failing must not keep the view half-bound
                _log.exception("unsubscribe failed")
        if self._rtw_source is not None:
            self._rtw_source = None
            self._on_unbind()

    def close(self) -> None:
        """Unbind, cancel running actions, close the widget. Safe to call twice."""
        if self._rtw_closed:
            return
        self.unbind()
        self._rtw_closed = True
        for task in list(self._rtw_tasks):
            task.cancel()
        self._on_close()
        close_owned(self, self._rtw_foreign)
        closer = getattr(super(), "close", None)
        if callable(closer):
            closer()

    def _rtw_dispatch(self, frame: Any) -> None:
        if self._rtw_closed or self._rtw_source is None:
            return
        seq = getattr(frame, "seq", None)
        try:
            if isinstance(seq, int):
                rewound = seq <= self._rtw_last_seq
                self._rtw_last_seq = seq
                if rewound:
                    self._on_rewind(frame)
                    return
            self._on_frame(frame)
        except Exception as exc:
            # No frame ends a call (issue 11 item 8), and none breaks a view: the failure is
            # shown in place and the view keeps taking frames.
            self.frame_errors += 1
            self._report_error("showing a frame", exc)

    def _guard(self, fn: Callable[[], None], label: str) -> Callable[[], None]:
        """``fn`` with its failures shown in place (``_report_error``), never raised: for
        redraws run by a timer, where an exception would only reach the loop's log."""
        def guarded() -> None:
            try:
                fn()
            except Exception as exc:
                self._report_error(label, exc)
        return guarded

    def _rtw_reset(self) -> None:
        if self._rtw_closed or self._rtw_source is None:
            return
        self._rtw_last_seq = -1  # the frames that follow restart their numbers: not rewinds
        self._on_reset()

    # -- hooks -----------------------------------------------------------------------------

    def _on_bind(self, source: Any) -> None:
        """Render what ``source`` already holds. Default: nothing."""

    def _on_reset(self) -> None:
        """The source cleared its frames and state (a replay seeked back); the frames up to
        the new position follow. Default: ``_on_bind(source)`` — render the source as it is."""
        self._on_bind(self._rtw_source)

    def _on_frame(self, frame: Any) -> None:
        """One new frame (any direction). Default: nothing."""

    def _on_rewind(self, frame: Any) -> None:
        """The source restarted its frames (a replay seeked back). Default: ``_on_frame``."""
        self._on_frame(frame)

    def _on_unbind(self) -> None:
        """Clear what the view shows. Default: nothing."""

    def _on_close(self) -> None:
        """Release timers. Default: nothing."""

    # -- actions ---------------------------------------------------------------------------

    def _spawn(
        self,
        work: Coroutine[Any, Any, Any] | Awaitable[Any],
        *,
        label: str,
        on_done: Callable[[Any], None] | None = None,
    ) -> asyncio.Task[Any] | None:
        """Run ``work`` as a task on the running loop; errors go to ``_show_error``.

        Returns the task (strongly referenced by the view until it ends), or ``None`` when no
        loop is running (then the error is shown in place: a click handler cannot block).
        """
        home = self._rtw_home
        here: asyncio.AbstractEventLoop | None
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if home is not None and home is not here and home.is_running() and not home.is_closed():
            # A click handled on a comm subshell thread (JupyterLab 4.4+ with ipykernel 7)
            # runs on that thread's own loop; the Call's futures belong to the home loop and
            # would never wake a task started here. Hop back and start the task there.
            home.call_soon_threadsafe(
                lambda: self._spawn(work, label=label, on_done=on_done)
            )
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            if inspect.iscoroutine(work):
                work.close()
            self._report_error(
                label,
                RuntimeError("no running event loop. Fix: use the view inside a Jupyter kernel"),
            )
            return None

        async def runner() -> Any:
            return await work

        task = loop.create_task(runner(), name=f"rtwidgets:{type(self).__name__}:{label}")
        self._rtw_tasks.add(task)

        def finished(t: asyncio.Task[Any]) -> None:
            self._rtw_tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None:
                self._report_error(label, exc)
                return
            self.last_error = None
            if on_done is not None:
                try:
                    on_done(t.result())
                except Exception as err:  # a broken callback is shown, not raised into the loop
                    self._report_error(label, err)

        task.add_done_callback(finished)
        return task

    def _report_error(self, label: str, exc: BaseException) -> None:
        self.last_error = f"{label} failed: {describe_error(exc)}"
        _log.debug("%s: %s", type(self).__name__, self.last_error)
        try:
            self._show_error(label, exc)
        except Exception:
            _log.exception("showing an error failed")

    def _show_error(self, label: str, exc: BaseException) -> None:
        """Show a failed action in place. Default: only ``last_error`` is set."""

    @property
    def pending_actions(self) -> int:
        """How many spawned actions are still running."""
        return len(self._rtw_tasks)

    async def wait_actions(self) -> None:
        """Wait for every running action to end (tests and scripted use)."""
        while self._rtw_tasks:
            await asyncio.gather(*list(self._rtw_tasks), return_exceptions=True)

    # -- repr ------------------------------------------------------------------------------

    def __repr__(self) -> str:
        src = self._rtw_source
        call_id = getattr(src, "call_id", None) if src is not None else None
        bound = f"call_id={call_id!r}" if call_id is not None else "unbound"
        closed = ", closed" if self._rtw_closed else ""
        return f"<{type(self).__name__} {bound}{closed}>"


# -- text helpers shared by the views -------------------------------------------------------

#: Wire types whose ``delta`` is spoken or written text, of every API (hidden when redacted).
_TEXT_DELTAS: frozenset[str] = TEXT_DELTA_TYPES | frozenset(
    wire for api in API_NAMES for wire in codec_for(api).server_event_types
    if ce.TranscriptDelta in codec_for(api).produces(wire))

#: Keys whose string values are conversation text, instructions or tool arguments/outputs.
TEXT_KEYS: frozenset[str] = frozenset(
    {"instructions", "text", "transcript", "arguments", "output", "prompt", "content"}
)


def redact_event(event: Any, *, parent_type: str | None = None) -> Any:
    """A copy of ``event`` with conversation text, instructions and tool arguments hidden."""
    if isinstance(event, dict):
        etype = event.get("type") if isinstance(event.get("type"), str) else parent_type
        out: dict[str, Any] = {}
        for key, value in event.items():
            if isinstance(value, str) and (
                key in TEXT_KEYS or (key == "delta" and etype in _TEXT_DELTAS)
            ):
                out[key] = hidden(value)
            else:
                out[key] = redact_event(value, parent_type=etype)
        return out
    if isinstance(event, list):
        return [redact_event(v, parent_type=parent_type) for v in event]
    return event


class StreamView(SourceView, anywidget.AnyWidget):
    """Base of the high-rate views (EventLog, Transcript): batched custom messages only.

    Synced traits carry layout numbers only (``max_rows``); all content goes in custom
    messages, which the notebook never saves. Subclasses implement ``_snapshot()`` (the
    current window as one message), ``_drain()`` (the pending changes as one message, or
    ``None``) and ``_on_message(content)`` for their own front-end requests. Protocol with the
    front end: the JS ``render`` sends ``{"kind": "snapshot_request"}``; Python answers with
    ``{"kind": "snapshot", ...}``; later changes arrive as ``{"kind": "batch", ...}`` at most
    once per ``interval``.
    """

    max_rows = traitlets.Int(2000).tag(sync=True)

    def __init__(
        self,
        source: Any = None,
        *,
        redact: bool = False,
        private: bool | None = None,
        interval: float = 0.1,
        max_rows: int = 2000,
        **widget_kwargs: Any,
    ) -> None:
        if not isinstance(max_rows, int) or max_rows < 1:
            raise ValueError(f"max_rows: {max_rows!r} is not a positive int. Fix: e.g. 2000")
        self._batcher = Batcher(self._guard(self._rtw_flush, "update"), interval=interval)
        #: custom messages sent, by kind (tests and the benchmark read it)
        self.sent_counts: dict[str, int] = {}
        super().__init__(
            source=source, redact=redact, private=private, max_rows=max_rows, **widget_kwargs
        )
        self.on_msg(self._rtw_on_msg)

    # -- sending ---------------------------------------------------------------------------

    def _emit(self, content: dict[str, Any]) -> None:
        kind = str(content.get("kind"))
        self.sent_counts[kind] = self.sent_counts.get(kind, 0) + 1
        self.send(wire_safe(content))

    def _mark_dirty(self) -> None:
        """A subclass recorded a change: the batcher will call ``_drain`` soon."""
        self._batcher.poke()

    def _rtw_flush(self) -> None:
        if self._rtw_closed:
            return
        content = self._drain()
        if content is not None:
            self._emit(content)

    def send_snapshot(self) -> None:
        """Send the current window (what a freshly rendered view needs), dropping pending."""
        self._batcher.cancel()
        self._emit(self._snapshot())

    def _rtw_on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind == "snapshot_request":
            self.send_snapshot()
            return
        try:
            self._on_message(content)
        except (TypeError, ValueError) as err:
            self._emit({"kind": "error", "message": describe_error(err)})

    # -- hooks -----------------------------------------------------------------------------

    def _snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def _drain(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def _on_message(self, content: dict[str, Any]) -> None:
        """A front-end request other than a snapshot. Default: ignored."""

    def _show_error(self, label: str, exc: BaseException) -> None:
        """Shown in the view: the front end puts ``error`` messages in its status line."""
        try:
            self._emit({"kind": "error", "message": f"{label} failed: {describe_error(exc)}"})
        except Exception:  # the comm itself failed: last_error keeps the message
            _log.debug("could not send an error message", exc_info=True)

    def _on_close(self) -> None:
        self._batcher.close()
