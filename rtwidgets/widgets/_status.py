"""StatusBar: one line saying what the call is doing — API, status, counts, tokens and cost so far.

Why: the first question about a call is "is it alive, and what has it cost?". This bar
answers it from the source's read API (``status``, ``stats``, ``state.usage_total``) and,
when ``rtwidgets.analysis`` can price the model, ``cost_frame`` over the session frame and
the ``response.done`` frames not yet priced (summed as they come, never the whole capture).
It is a plain ``ipywidgets.HTML`` whose ``value`` is the only synced content: call id,
transport, status and reason, elapsed, counts, tokens, cost. That is the small summary a
saved notebook may keep; no transcript, instructions, tool arguments or secret goes in it.

A replay (a source with ``position``/``seek``) says "replay" and whether it plays, is paused or
reached its end, and shows ONE clock: its position in the recording ("time 0:13 / 0:43"), not
a second elapsed time. Its tokens and cost are those of the frames up to that position: a seek
back clears the replay's frames and state (``on_reset``, or a frame whose seq restarts), and
the bar re-prices what the replay holds then — cost never accumulates across seeks.

``events=False`` leaves the event count out (the console's event log shows the one count).

Rate: redrawn at most every ``interval`` (default 0.25 s) from frames, plus a 1 s tick for the
elapsed time while the call is not ended. Cost is updated only after a ``response.done``
and at most every ``cost_every`` seconds.

A GPT-Live session (the source's codec says which API) is billed by the second, not by
token, and OpenAI publishes no per-second price for it: the bar shows ``usage`` in seconds
(``state.usage_seconds``, cumulative as the server reports it) and ``context`` (the share of
the model's context window in use, ``state.context_ratio``), and says "usage only" where
the cost would be — never a guessed price. The close reason the server gave
(``state.end_reason``, e.g. ``session.closed``'s reason) follows the status.

It must never: write per frame, hold text, or raise into the loop when pricing fails.
"""

from __future__ import annotations

import asyncio
import html
import math
from collections.abc import Mapping
from typing import Any

import ipywidgets

from rtwidgets.analysis import cost_frame
from rtwidgets.protocol import codec as ce

from ._base import SourceView, codec_of
from ._batcher import Batcher

__all__ = ["StatusBar", "format_elapsed"]

#: Frames that report the session (its model prices the call) and frames that carry usage.
_SESSION_EVENTS: frozenset[type] = frozenset({ce.SessionReported, ce.SessionApplied})
_PRICED_EVENTS: frozenset[type] = frozenset({ce.ResponseDone, ce.TranscriptionUsage})

_STYLE = (
    "display:flex;flex-wrap:wrap;gap:4px 14px;padding:4px 8px;"
    "border:1px solid var(--jp-border-color2,#ddd);border-radius:4px;"
    "background:var(--jp-layout-color2,#f5f5f5);color:var(--jp-ui-font-color1,#222);"
    "font-family:var(--jp-ui-font-family,system-ui,sans-serif);"
    "font-size:var(--jp-ui-font-size1,13px)"
)
_LABEL = "color:var(--jp-ui-font-color2,#555);margin-right:3px"
#: The API the call speaks, as people name it (the codec's ``api`` is the key).
_API_LABELS = {"realtime": "Realtime", "live": "GPT-Live"}
_STATUS_COLOURS = {
    "live": "var(--jp-success-color1,#388e3c)",
    "connecting": "var(--jp-warn-color1,#f57c00)",
    "reconnecting": "var(--jp-warn-color1,#f57c00)",
    "ended": "var(--jp-ui-font-color2,#555)",
    "replay": "var(--jp-brand-color1,#1976d2)",
}


def format_elapsed(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a duration in seconds."""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class StatusBar(SourceView, ipywidgets.HTML):  # type: ignore[misc]
    """Call id, transport, API, status+reason, elapsed, events in/out, reconnects, errors,
    tokens, cost. ``StatusBar(source=None, *, interval=0.25, cost=True, cost_every=5.0)``."""

    def __init__(
        self,
        source: Any = None,
        *,
        interval: float = 0.25,
        cost: bool = True,
        cost_every: float = 5.0,
        events: bool = True,
        **options: Any,
    ) -> None:
        self._show_events = bool(events)
        # frames seen since bind: fewer frames in the source means it was reset (a seek)
        self._frames_seen = 0
        self._batcher = Batcher(self._guard(self._render, "redraw"), interval=interval)
        self._tick: asyncio.TimerHandle | None = None
        self._cost_enabled = cost
        self._with_cost = cost
        self._codec: ce.Codec = codec_of(None)
        self._cost_every = cost_every
        self._cost_usd: float | None = None
        # Cost is summed response by response: pricing the whole capture each time would
        # re-read it (seconds for a long call). Only the session frame (for the model) and
        # the response.done frames not yet priced are handed to the analysis layer.
        self._session_frame: Any = None
        self._unpriced: list[Any] = []
        self._cost_due = False
        self._cost_at = -math.inf
        # elapsed is the capture clock (frame.m) extrapolated by the loop clock while live
        self._anchor_m = 0.0
        self._anchor_loop: float | None = None
        self._ticking_ok = True
        super().__init__(source, **options)
        self.add_class("rtw-status")
        if source is None:
            self._render()

    # -- public ----------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """The numbers the bar shows, as a dict (also what tests assert)."""
        src = self.source
        if src is None:
            return {"call_id": None, "status": "detached"}
        status = getattr(src, "status", None)
        stats = getattr(src, "stats", None)
        state = getattr(src, "state", None)
        errors = getattr(stats, "errors", None)
        if errors is None:
            errors = len(getattr(state, "errors", ()) or ())
        usage = getattr(state, "usage_total", None) or {}
        state_name = getattr(status, "state", None) or ("recorded" if status is None else "?")
        reason = getattr(status, "reason", None)
        end_reason = getattr(state, "end_reason", None)
        if (getattr(state, "ended", False) is True and isinstance(end_reason, str)
                and end_reason and end_reason not in str(reason or "")):
            # The server's own close reason (e.g. a closed GPT-Live session's) first.
            reason = f"{end_reason}: {reason}" if reason else end_reason
        if state_name == "ended" and isinstance(reason, str) and reason.startswith("call ended: "):
            reason = reason[len("call ended: "):]  # "ended (call ended: …)" said it twice
        if _is_replay(src):
            state_name, reason = "replay", _replay_phase(src)
        seconds = getattr(state, "usage_seconds", None)
        ratio = getattr(state, "context_ratio", None)
        return {
            "call_id": src.call_id,
            "transport": getattr(src, "transport_kind", None),
            "status": state_name,
            "reason": reason,
            "elapsed_s": self._elapsed(),
            "events_in": _count(stats, state, "events_in"),
            "events_out": _count(stats, state, "events_out"),
            "reconnects": getattr(stats, "reconnects", 0) or 0,
            "errors": errors,
            "tokens": int(usage.get("total_tokens", 0)) if isinstance(usage, Mapping) else 0,
            "cost_usd": self._cost_usd,
            "api": self._codec.api,
            "usage_s": float(seconds) if isinstance(seconds, int | float) else None,
            "context_ratio": float(ratio) if isinstance(ratio, int | float) else None,
            "usage_only": self._usage_only(),
        }

    def _usage_only(self) -> bool:
        """Billed by the second with no published price: show usage, never a cost."""
        return bool(self._codec.api == "live")

    def refresh(self) -> None:
        """Redraw now, cost included (re-priced from the source's frames if it was reset)."""
        src = self.source
        if src is not None and len(src.frames()) < self._frames_seen:
            self._on_bind(src)  # a replay seeked back before its first frame
            return
        self._cost_at = -math.inf  # asked for now: tokens and cost must agree
        self._batcher.flush_now()

    # -- hooks -----------------------------------------------------------------------------

    def _on_bind(self, source: Any) -> None:
        self._codec = codec_of(source)
        frames = source.frames()
        self._anchor_m = frames[-1].m if len(frames) else 0.0
        self._anchor_loop = _loop_time()
        self._cost_usd = None
        self._with_cost = self._cost_enabled and not self._usage_only()
        self._session_frame = None
        self._unpriced = []
        self._cost_due = False
        self._frames_seen = len(frames)
        for frame in frames:
            self._note_cost_frame(frame)
        self._cost_at = -math.inf
        self._render()
        self._schedule_tick()

    def _on_unbind(self) -> None:
        self._cancel_tick()
        self._cost_usd = None
        self._session_frame = None
        self._unpriced = []
        self._render()

    def _on_close(self) -> None:
        self._cancel_tick()
        self._batcher.close()

    def _on_rewind(self, frame: Any) -> None:
        # The source restarted its frames (it already holds this one): price again what it
        # holds now, never on top of what was priced before the seek.
        self._on_bind(self.source)

    def _on_frame(self, frame: Any) -> None:
        self._frames_seen += 1
        self._anchor_m = frame.m
        self._anchor_loop = _loop_time()
        self._note_cost_frame(frame)
        self._batcher.poke()

    def _note_cost_frame(self, frame: Any) -> None:
        if not self._with_cost or frame.direction != "in":
            return
        produces = self._codec.produces(frame.type)
        if produces & _SESSION_EVENTS:
            self._session_frame = frame
            self._cost_due = self._cost_due or bool(self._unpriced)
        elif produces & _PRICED_EVENTS:
            # transcription usage is billed too (by the session's transcription model)
            self._unpriced.append(frame)
            self._cost_due = True

    # -- drawing ---------------------------------------------------------------------------

    def _live(self) -> bool:
        status = getattr(self.source, "status", None)
        return getattr(status, "state", None) in ("connecting", "live", "reconnecting")

    def _elapsed(self) -> float:
        if _is_replay(self.source):
            try:
                return float(self.source.position or 0.0)
            except (TypeError, ValueError):
                return self._anchor_m
        if self._anchor_loop is None or not self._live():
            return self._anchor_m
        now = _loop_time()
        if now is None:
            return self._anchor_m
        return self._anchor_m + max(0.0, now - self._anchor_loop)

    def _update_cost(self) -> None:
        if not (self._with_cost and self._cost_due) or self.source is None:
            return
        now = _loop_time() or 0.0
        if now - self._cost_at < self._cost_every:
            self._batcher.poke()  # come back once the pause is over
            return
        if self._session_frame is None:
            return  # the model is not known yet (a sideband may see no session.created)
        self._cost_at = now
        self._cost_due = False
        batch, self._unpriced = self._unpriced, []
        try:
            table = cost_frame(_Frames(self.source.call_id, [self._session_frame, *batch]))
            total = table.loc[table["response_id"] == "total", "total_usd"]
            value = float(total.iloc[0]) if len(total) else math.nan
        except Exception:  # pricing is a nicety: tokens are still shown
            value = math.nan
        if math.isnan(value):
            self._cost_usd = None
            self._with_cost = False  # an unpriced model stays unpriced: stop trying
        else:
            self._cost_usd = (self._cost_usd or 0.0) + value

    def _render(self) -> None:
        if self.closed:
            return
        self._update_cost()
        s = self.summary()
        if s["call_id"] is None:
            self.value = f'<div class="rtw-status-bar" style="{_STYLE}">not attached</div>'
            return
        status = html.escape(str(s["status"]))
        if s["reason"]:
            status += f" ({html.escape(str(s['reason']))})"
        colour = _STATUS_COLOURS.get(str(s["status"]), "inherit")
        if s["status"] == "replay":
            duration = float(getattr(self.source, "duration", 0.0) or 0.0)
            clock = ("time", f"{format_elapsed(s['elapsed_s'])} / {format_elapsed(duration)}")
        else:
            clock = ("elapsed", format_elapsed(s["elapsed_s"]))
        parts = [
            ("call", f"<code>{html.escape(s['call_id'])}</code>"),
            ("via", html.escape(str(s["transport"] or "?"))),
            ("api", _API_LABELS.get(str(s["api"]), html.escape(str(s["api"])))),
            ("status", f'<span class="rtw-status-{html.escape(str(s["status"]))}" '
                       f'style="color:{colour}">{status}</span>'),
            clock,
        ]
        if self._show_events:
            parts.append(("events", f"{s['events_in']} in / {s['events_out']} out"))
        parts += [
            ("reconnects", str(s["reconnects"])),
            ("errors", f'<span class="rtw-status-errors" style="color:'
                       f'{"var(--jp-error-color1,#d32f2f)" if s["errors"] else "inherit"}">'
                       f'{s["errors"]}</span>'),
        ]
        if s["usage_only"]:
            # GPT-Live: billed seconds and context-window use; no price is published.
            usage_s = s["usage_s"]
            parts.append(("usage", "?" if usage_s is None else f"{usage_s:g} s"))
            if s["context_ratio"] is not None:
                parts.append(("context", f"{s['context_ratio']:.1%}"))
            parts.append(("cost", "usage only (no published per-second price)"))
        else:
            parts.append(("tokens", str(s["tokens"])))
        if s["cost_usd"] is not None:
            parts.append(("cost", f"${s['cost_usd']:.4f}"))
        body = "".join(
            f'<span data-field="{name}"><b style="{_LABEL}">{name}</b>{value}</span>'
            for name, value in parts
        )
        self.value = f'<div class="rtw-status-bar" style="{_STYLE}">{body}</div>'

    # -- elapsed tick ----------------------------------------------------------------------

    def _schedule_tick(self) -> None:
        self._cancel_tick()
        if self.closed or self.source is None or not self._live():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._tick = loop.call_later(1.0, self._on_tick)

    def _on_tick(self) -> None:
        self._tick = None
        self._render()
        self._schedule_tick()

    def _cancel_tick(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None


class _Frames:
    """The few frames handed to ``cost_frame`` (it reads ``call_id`` and ``frames()``)."""

    def __init__(self, call_id: str, frames: list[Any]) -> None:
        self.call_id = call_id
        self._frames = frames

    def frames(self) -> list[Any]:
        return self._frames


def _is_replay(source: Any) -> bool:
    """A replay has a position in its recording (``Replay`` and look-alikes)."""
    return source is not None and all(
        hasattr(source, n) for n in ("pause", "resume", "seek", "position", "duration"))


def _replay_phase(source: Any) -> str:
    """"playing 2×", "paused" or "end of recording" for a replay."""
    status = getattr(source, "status", None)
    if getattr(status, "state", None) == "ended":
        return str(getattr(status, "reason", "") or "end of recording")
    if getattr(source, "paused", False):
        return "paused"
    speed = getattr(source, "speed", 1.0)
    return f"playing {speed:g}×" if isinstance(speed, int | float) and speed != 1 else "playing"


def _count(stats: Any, state: Any, name: str) -> int:
    value = getattr(stats, name, None)
    if value is None:
        value = getattr(state, name, 0)
    return int(value or 0)


def _loop_time() -> float | None:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return None
