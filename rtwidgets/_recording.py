"""``load(path)`` → ``Recording``: a finished call from its capture, with the Call's read API.

Why: analysis, widgets and teaching work on recorded calls as much as on live ones, so a
capture loads into an object that reads like a ``Call``: both are a ``CallSource`` (``call_id``,
``state``, ``status``, ``frames()``, ``subscribe``, ``wait_for``, the ``read_only``
capability). The ``SessionState`` is rebuilt by feeding every frame (in, out and meta, each
at its recorded wall time ``t``) exactly as the live call fed it. And ``replay(speed=…)``
plays it back through ``ReplayTransport`` as a ``Replay``: a source whose frames arrive in
their recorded rhythm, with ``pause``/``resume``/``seek``.

Lazy (issue 11, item 9): ``load`` reads and checks the header line only. The frames are read
when something first asks for them (``frames()``, ``duration``, ``len``), and the state is
folded when something first asks for ``state`` or ``status`` — each once. An analysis table
over a ``Recording`` reads its file column-wise and needs neither, so ``analyze(load(p))``
never pays for the fold.

Never: write to the capture it reads, or send anything. Neither a ``Recording`` nor a
``Replay`` has a live action; code written for a ``Call`` that reaches for one on a replay
(``replay.send``, ``update_session``, ``send_tool_output``, ``cancel_response``, ``tool``,
``hangup``) gets ``ReplayReadOnlyError`` naming the fix, as before.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

from rtwidgets._call import (
    CallSource,
    CallStatus,
    _transport_kind,
    _TransportSource,
    event_of_record,
)
from rtwidgets._capture import FrameStore, read_capture, read_header
from rtwidgets._transport import ReplayReadOnlyError, ReplayTransport
from rtwidgets.protocol.codecs import codec_for
from rtwidgets.protocol.state import SessionState

__all__ = ["Recording", "Replay", "load"]

log = logging.getLogger("rtwidgets.recording")

#: What a ``Call`` can do that a replay cannot; reaching for one raises ``ReplayReadOnlyError``.
_LIVE_ACTIONS = frozenset({"send", "update_session", "send_tool_output", "cancel_response",
                           "tool", "hangup", "append_instructions", "append_thinking",
                           "append_commentary", "mute", "unmute", "close_session"})


class Recording(CallSource):
    """A loaded capture. ``frames()`` is read, and ``state`` folded, on first use, once."""

    def __init__(self, path: Path, header: dict[str, Any], store: FrameStore | None = None
                 ) -> None:
        self.path = path
        self.header = header
        self.call_id: str = str(header.get("call_id", ""))
        #: Which API the capture recorded; captures written before the field read as Realtime.
        self.api: str = str(header.get("api") or "realtime")
        self.transport_kind = header.get("transport") or _transport_kind(self.call_id)
        self.options: dict[str, Any] = dict(header.get("options") or {})
        self._store = store

    def frames(self) -> FrameStore:
        store = self._store
        if store is None:
            full, store = read_capture(self.path)
            self.header["skipped_lines"] = full.get("skipped_lines", 0)
            self._store = store
        return store

    @cached_property
    def state(self) -> SessionState:  # type: ignore[override]
        return self._fold()[0]

    @cached_property
    def status(self) -> CallStatus:
        return self._fold()[1]

    def _fold(self) -> tuple[SessionState, CallStatus]:
        folded: tuple[SessionState, CallStatus] | None = self.__dict__.get("_folded")
        if folded is not None:
            return folded
        store = self.frames()
        state = SessionState(codec_for(self.api))
        ended: CallStatus | None = None
        for i in range(len(store)):
            rec = json.loads(store.line(i))
            event = event_of_record(rec, store.flag_bits(i))
            try:
                state.feed(event, direction=rec["dir"], t=rec["t"])
            except Exception:
                log.exception("recording %s: state could not fold frame %s", self.path.name, i)
            if event.get("type") == "rtwidgets.status":
                ended = CallStatus(event.get("status", "ended"), event.get("reason", ""),
                                   rec["m"])
        # A capture whose writer died mid-call never got its final status.
        status = ended if ended is not None and ended.state == "ended" else CallStatus(
            "ended", "capture ends without a final status (the process stopped)",
            store[-1].m if len(store) else 0.0)
        self.__dict__["_folded"] = folded = (state, status)
        return folded

    @property
    def capture_path(self) -> Path:
        return self.path

    async def events(self, directions: tuple[str, ...] = ("in",)) -> AsyncIterator[dict[str, Any]]:
        """``async for event in recording.events()``: the recorded incoming events."""
        for event in self.iter_events(directions):
            yield event

    def replay(self, speed: float = 1.0, *, paused: bool = False) -> Replay:
        """A ``Replay`` of this recording (start it with ``async with`` or ``start()``)."""
        return Replay(self, speed=speed, paused=paused)

    def __len__(self) -> int:
        return len(self.frames())

    def __repr__(self) -> str:
        if self._store is None:  # a repr never reads a million frames
            return f"<Recording {self.call_id} {self.path.name} (frames not read yet)>"
        status = f", {self.status}" if "_folded" in self.__dict__ else ""
        return (f"<Recording {self.call_id} {len(self._store)} frames, "
                f"{self.duration:.1f} s{status}>")


class Replay(_TransportSource):
    """A recorded call played back: the read API of a live call, no live action."""

    _source = "replay"

    def __init__(self, recording: Recording, *, speed: float = 1.0, paused: bool = False) -> None:
        self.recording = recording
        self._replay = ReplayTransport(recording.frames(), speed=speed, paused=paused)
        self._reset_listeners: list[Callable[[], Any]] = []
        super().__init__(recording.call_id, self._replay, capture=None, api=recording.api)

    def on_reset(self, callback: Callable[[], Any]) -> Callable[[], None]:
        """Call ``callback()`` whenever a backward seek cleared the frames and the state.

        The frames up to the new position follow through ``subscribe``. Views need this for
        a seek before the first frame, which brings no frame that would tell them. Returns
        a function that stops the calls.
        """
        if not callable(callback):
            raise TypeError("callback: not callable. Fix: pass a function taking no argument")
        self._reset_listeners.append(callback)

        def off() -> None:
            if callback in self._reset_listeners:
                self._reset_listeners.remove(callback)

        return off

    def _reset(self) -> None:
        super()._reset()
        for callback in list(self._reset_listeners):
            try:
                callback()
            except Exception:
                self._callback_failed(callback, "on_reset callback")

    def __getattr__(self, name: str) -> NoReturn:
        # Only for names the class does not have: a live action gets the old, clear refusal
        # (also an AttributeError, so hasattr(replay, "send") is False).
        if name in _LIVE_ACTIONS:
            raise ReplayReadOnlyError(
                f"replay {self.call_id}: a replay is read-only; nothing was sent "
                f"({name} is a live action). Fix: attach to the live call (rtwidgets.attach) "
                "to send")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _meta(self, etype: str, **fields: Any) -> None:
        # A replay shows the recorded meta frames only; its own status lives in .status.
        return

    def pause(self) -> None:
        self._replay.pause()

    def resume(self) -> None:
        self._replay.resume()

    def seek(self, m: float) -> None:
        """Jump to recording time ``m`` (seconds); backward seeks rebuild the state."""
        self._replay.seek(m)

    @property
    def paused(self) -> bool:
        return self._replay.paused

    @property
    def at_end(self) -> bool:
        """Every frame has been played (Play would start again from 0:00)."""
        return self.status.state == "ended"

    @property
    def session(self) -> dict[str, Any] | None:
        """The session as the server had reported it at ``position`` (``None`` before the
        first ``session.created``/``session.updated``), not the recording's final one."""
        session = self.state.session
        return session if isinstance(session, dict) else None

    @property
    def speed(self) -> float:
        return self._replay.speed

    @speed.setter
    def speed(self, value: float) -> None:
        self._replay.speed = value

    @property
    def position(self) -> float:
        return self._replay.position

    @property
    def duration(self) -> float:
        return self._replay.duration


def load(path: str | os.PathLike[str]) -> Recording:
    """Load a capture file (JSONL written by ``attach``) as a ``Recording``.

    Returns at once: only the header line is read (and checked) here; the frames are read
    and the state folded when first needed.
    """
    p = Path(path)
    return Recording(p, read_header(p))
