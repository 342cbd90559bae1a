"""``load(path)`` → ``Recording``: a finished call from its capture, with the Call's read API.

Why: analysis, widgets and teaching work on recorded calls as much as on live ones, so a
capture loads into an object that reads like a ``Call`` (``call_id``, ``state``, ``frames()``,
``subscribe``, ``events()``), with the ``SessionState`` rebuilt by feeding every frame (in,
out and meta, each at its recorded wall time ``t``) exactly as the live call fed it. And
``replay(speed=…)`` plays it back through ``ReplayTransport`` as a ``Replay``: a ``Call`` whose
frames arrive in their recorded rhythm, with ``pause``/``resume``/``seek``.

Never: write to the capture it reads, or send anything (a replay refuses every send with
``ReplayReadOnlyError`` and names the fix).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

from rtwidgets._call import Call, CallStatus, _transport_kind
from rtwidgets._capture import BAD_FRAME_TYPE, F_BAD, Frame, FrameStore, read_capture
from rtwidgets._transport import ReplayReadOnlyError, ReplayTransport
from rtwidgets.protocol.state import SessionState

__all__ = ["Recording", "Replay", "load"]

log = logging.getLogger("rtwidgets.recording")


def _event_of(rec: dict[str, Any], flags: int) -> dict[str, Any]:
    if "bad" in rec or flags & F_BAD:
        raw = rec.get("bad")
        if raw is None:
            raw = json.dumps(rec.get("frame"))
        return {"type": BAD_FRAME_TYPE, "raw": raw, "error": rec.get("error", "")}
    event: dict[str, Any] = rec["frame"]
    return event


class Recording:
    """A loaded capture. ``state`` is rebuilt from the frames; ``frames()`` is lazy."""

    #: Views offer no live-only action (send, apply, hang up) on a read-only source.
    read_only = True

    def __init__(self, path: Path, header: dict[str, Any], store: FrameStore) -> None:
        self.path = path
        self.header = header
        self.call_id: str = str(header.get("call_id", ""))
        self.transport_kind = header.get("transport") or _transport_kind(self.call_id)
        self.options: dict[str, Any] = dict(header.get("options") or {})
        self._store = store
        self.state = SessionState()
        ended: CallStatus | None = None
        for i in range(len(store)):
            rec = json.loads(store.line(i))
            flags = store.flag_bits(i)
            event = _event_of(rec, flags)
            try:
                self.state.feed(event, direction=rec["dir"], t=rec["t"])
            except Exception:
                log.exception("recording %s: state could not fold frame %s", path.name, i)
            if event.get("type") == "rtwidgets.status":
                ended = CallStatus(event.get("status", "ended"), event.get("reason", ""),
                                   rec["m"])
        # A capture whose writer died mid-call never got its final status.
        self.status = ended if ended is not None and ended.state == "ended" else CallStatus(
            "ended", "capture ends without a final status (the process stopped)",
            store[-1].m if len(store) else 0.0)

    def frames(self) -> FrameStore:
        return self._store

    @property
    def capture_path(self) -> Path:
        return self.path

    def subscribe(self, callback: Callable[[Frame], Any]) -> Callable[[], None]:
        """Accepted for API parity with ``Call``; a recording never produces new frames."""
        if not callable(callback):
            raise TypeError("callback: not callable. Fix: pass a function taking a Frame")
        return lambda: None

    def on(self, type_or_prefix: str, callback: Callable[[dict[str, Any]], Any]
           ) -> Callable[[], None]:
        """Accepted for API parity with ``Call``; a recording never produces new events."""
        if not callable(callback):
            raise TypeError("callback: not callable. Fix: pass a function taking an event")
        return lambda: None

    def iter_events(self, directions: tuple[str, ...] = ("in",)) -> Iterator[dict[str, Any]]:
        """The recorded events of the given directions, in order."""
        for i in range(len(self._store)):
            rec = json.loads(self._store.line(i))
            if rec["dir"] in directions:
                yield _event_of(rec, self._store.flag_bits(i))

    async def events(self, directions: tuple[str, ...] = ("in",)) -> AsyncIterator[dict[str, Any]]:
        """``async for event in recording.events()``: the recorded incoming events."""
        for event in self.iter_events(directions):
            yield event

    @property
    def duration(self) -> float:
        return self._store[-1].m if len(self._store) else 0.0

    def replay(self, speed: float = 1.0, *, paused: bool = False) -> Replay:
        """A ``Replay`` of this recording (start it with ``async with`` or ``start()``)."""
        return Replay(self, speed=speed, paused=paused)

    def __len__(self) -> int:
        return len(self._store)

    def __repr__(self) -> str:
        return (f"<Recording {self.call_id} {len(self._store)} frames, "
                f"{self.duration:.1f} s, {self.status}>")


class Replay(Call):
    """A recorded call played back as a ``Call`` (read API live; every send refused)."""

    _source = "replay"
    #: Views offer no live-only action (send, apply, load session, hang up) on a replay:
    #: every send would raise ``ReplayReadOnlyError``.
    read_only = True

    def __init__(self, recording: Recording, *, speed: float = 1.0, paused: bool = False) -> None:
        self.recording = recording
        self._replay = ReplayTransport(recording.frames(), speed=speed, paused=paused)
        self._reset_listeners: list[Callable[[], Any]] = []
        super().__init__(recording.call_id, self._replay, capture=None)

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

    def _refuse(self) -> ReplayReadOnlyError:
        return ReplayReadOnlyError(
            f"replay {self.call_id}: a replay is read-only; nothing was sent. "
            "Fix: attach to the live call (rtwidgets.attach) to send")

    def _check_live(self) -> None:
        raise self._refuse()

    def _meta(self, etype: str, **fields: Any) -> None:
        # A replay shows the recorded meta frames only; its own status lives in .status.
        return

    async def _send_event(self, event: dict[str, Any]) -> None:
        raise self._refuse()

    async def hangup(self) -> None:
        raise self._refuse()

    def tool(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        raise self._refuse()

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
    """Load a capture file (JSONL written by ``attach``) as a ``Recording``."""
    p = Path(path)
    header, store = read_capture(p)
    return Recording(p, header, store)
