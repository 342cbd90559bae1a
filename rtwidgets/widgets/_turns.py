"""Turns: per caller turn, how fast the agent answered — filled in while the call happens.

Why: people watching a call ask for per-turn latency as it unfolds, not only after the call
(``analyze(call).turns``). This view is a table over the reducer's turns: one row per caller
turn with the latency from the end of the caller's speech (the turn's anchor) to the first
response event, the first text and the start of audio, and whether the turn was interrupted.
A cell stays "…" until its event arrives.

It computes nothing itself: every row is ``protocol.state.turn_timings`` over the source's
``SessionState`` — the same function the analysis turns table uses — so at the end of a call
the rows equal ``analyze(call).turns`` row for row (a test on every shipped scenario).

Rate: redrawn at most every ``interval`` seconds (default 0.25), only after a frame that can
change a turn, showing the last ``max_rows`` turns (default 25: a person watching live looks
at the recent ones; ``analyze(call).turns`` has them all); the HTML ``value`` is the only
synced content, sent only when it changed. It holds no transcript text: the user's words stay
out of the saved notebook.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets

from rtwidgets.protocol import codec as ce
from rtwidgets.protocol.state import TurnTimings, turn_timings

from ._base import SourceView, codec_of
from ._batcher import Batcher

__all__ = ["Turns"]

_STYLE = (
    "border-collapse:collapse;font-family:var(--jp-ui-font-family,system-ui,sans-serif);"
    "font-size:var(--jp-ui-font-size1,13px);color:var(--jp-ui-font-color1,#222)"
)
_CELL = "padding:2px 10px;border-bottom:1px solid var(--jp-border-color2,#ddd);"
#: Normalized events that can change a turn's row.
_TURN_EVENTS: frozenset[type] = frozenset({
    ce.SpeechStarted, ce.SpeechStopped, ce.ItemReported, ce.ItemTruncated,
    ce.ResponseStarted, ce.ResponseDone, ce.TranscriptDelta, ce.AgentAudio, ce.StatusChanged,
})
_HEAD = ("turn", "kind", "to response", "to first text", "to audio", "responses",
         "status", "interrupted")


def _ms(value: float | None, pending: bool) -> str:
    if value is None:
        return "…" if pending else "—"
    return f"{value * 1000:.0f} ms"


class Turns(SourceView, ipywidgets.HTML):  # type: ignore[misc]
    """A table of the caller turns of a ``Call``/``Recording``/``Replay`` with their latencies.

    ``Turns(call)``; ``turns.rows()`` gives the rows as ``TurnTimings`` (seconds)."""

    #: What a wire type of the bound source's API decodes to (its codec's ``produces``).
    _produces: Any = staticmethod(codec_of(None).produces)

    def __init__(self, source: Any = None, *, interval: float = 0.25, max_rows: int = 25,
                 **options: Any) -> None:
        self._max_rows = max_rows
        self._shown: str | None = None
        self._batcher = Batcher(self._guard(self._render, "redraw"), interval=interval)
        super().__init__(source, **options)
        self.add_class("rtw-turns")
        self._render()

    # -- public ----------------------------------------------------------------------------

    def rows(self) -> list[TurnTimings]:
        """Every caller turn so far, in order (empty when nothing is bound)."""
        state = getattr(self.source, "state", None)
        turns = getattr(state, "turns", None)
        if state is None or not turns:
            return []
        return [turn_timings(state, turn) for turn in turns]

    def refresh(self) -> None:
        """Redraw now."""
        self._batcher.flush_now()

    # -- hooks -----------------------------------------------------------------------------

    def _on_bind(self, source: Any) -> None:
        self._produces = codec_of(source).produces  # the API the source speaks
        self._render()

    def _on_unbind(self) -> None:
        self._render()

    def _on_close(self) -> None:
        self._batcher.close()

    def _on_frame(self, frame: Any) -> None:
        # Only frames that can change a turn's row (the codec says which) schedule a redraw.
        if self._produces(frame.type) & _TURN_EVENTS:
            self._batcher.poke()

    # -- drawing ---------------------------------------------------------------------------

    def _render(self) -> None:
        state: Any = getattr(self.source, "state", None)
        turns = list(getattr(state, "turns", None) or ())
        try:
            # Only the rows shown are computed: a long call's redraw stays small.
            shown = [turn_timings(state, turn) for turn in turns[-self._max_rows:]]
        except Exception as err:  # a view never raises into the receive loop
            self._show(f"<i>turns unavailable: {html.escape(type(err).__name__)}</i>")
            return
        if not shown:
            self._show("<i>no caller turn yet</i>")
            return
        head = "".join(f"<th style='{_CELL}text-align:left'>{h}</th>" for h in _HEAD)
        body = []
        for r in shown:
            waiting = r.status in (None, "in_progress")
            cells = (
                str(r.turn), r.kind,
                _ms(r.latency_response, r.response_id is None),
                _ms(r.latency_first_text, waiting),
                _ms(r.latency_audio, waiting),
                str(r.n_responses), r.status or "…",
                "yes" if r.interrupted else "",
            )
            body.append("<tr>" + "".join(
                f"<td style='{_CELL}'>{html.escape(c)}</td>" for c in cells) + "</tr>")
        more = len(turns) - len(shown)
        note = f"<div>{more} earlier turns not shown</div>" if more else ""
        self._show(f"{note}<table style='{_STYLE}'><thead><tr>{head}</tr></thead>"
                   f"<tbody>{''.join(body)}</tbody></table>")

    def _show(self, value: str) -> None:
        if value != self._shown:  # an unchanged table sends nothing to the browser
            self._shown = value
            self.value = value
