"""Two static pictures of a call: a timeline of who did what when, and the turn latencies.

Why: a glance at a timeline shows overlaps (barge-in), slow tools and reconnect gaps that
a table hides. The figures are ``CallFigure``s — a ``matplotlib.figure.Figure`` subclass
built without pyplot, so nothing touches global state or a GUI backend and no second copy
appears through pyplot's figure manager. A bare ``Figure`` shows as ``<Figure size …>`` in a
notebook unless the user ran ``%matplotlib inline`` (IPython registers its PNG formatter only
then); a ``CallFigure`` has ``_repr_png_`` itself, so it renders as a picture in any
Jupyter front end with no magic, and is still a Figure (``.axes``, ``.savefig(path)``) with
``.to_png()``/``.to_svg()`` for reports.

Lanes of the timeline, on the capture's seconds-since-start axis: caller speech
(speech_started → speech_stopped), agent responses (created → done, hatched when
cancelled/incomplete), agent audio playback (``output_audio_buffer.started`` →
stopped/cleared, when the transport reports it), tool calls (requested → answered, to
the end for pending ones), errors (red ticks), and gaps (grey spans across all lanes).
"""

from __future__ import annotations

import io
import math
from typing import Any

from matplotlib.figure import Figure

from rtwidgets.protocol.realtime import REALTIME

from ._fold import fold_of
from ._tables import _single, turns_frame

__all__ = ["CallFigure", "latency_plot", "timeline_plot"]


class CallFigure(Figure):
    """A ``Figure`` that shows itself as a PNG in Jupyter (no ``%matplotlib`` needed)."""

    def to_png(self, *, dpi: float = 100.0) -> bytes:
        """The picture as PNG bytes (what a notebook shows; ``savefig`` writes files)."""
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()

    def to_svg(self) -> str:
        """The picture as SVG text (scales without blur in HTML reports)."""
        buf = io.StringIO()
        self.savefig(buf, format="svg")
        return buf.getvalue()

    def _repr_png_(self) -> bytes:
        return self.to_png()

_LANES = ("caller", "agent", "playback", "tools", "errors")


def _ok(*vals: float | None) -> bool:
    return all(v is not None and not math.isnan(v) for v in vals)


def timeline_plot(src: object, *, width: float = 10.0) -> CallFigure:
    """The timeline of one call (see the module docstring). Returns a ``CallFigure``."""
    fs = _single(src)
    fold = fold_of(fs)
    core = fs.core()
    import pyarrow.compute as pc

    end = pc.max(core.column("m")).as_py() if core.num_rows else 0.0
    end = float(end or 0.0)
    fig = CallFigure(figsize=(width, 3.2), layout="constrained")
    ax = fig.add_subplot()
    y = {name: len(_LANES) - 1 - i for i, name in enumerate(_LANES)}
    h = 0.6

    def bars(lane: str, spans: list[tuple[float, float]], **kw: Any) -> None:
        if spans:
            ax.broken_barh(spans, (y[lane] - h / 2, h), label=lane, **kw)

    caller = [(t.speech_start_t, (t.speech_stop_t if t.speech_stop_t is not None else end)
               - t.speech_start_t)
              for t in fold.turns if t.speech_start_t is not None]
    bars("caller", caller, facecolors="tab:blue")
    done: list[tuple[float, float]] = []
    cut: list[tuple[float, float]] = []
    for r in fold.responses.values():
        if r.started_t is None:
            continue
        span = (r.started_t, (r.done_t if r.done_t is not None else end) - r.started_t)
        (cut if r.status in ("cancelled", "incomplete", "failed") else done).append(span)
    bars("agent", done, facecolors="tab:green")
    if cut:
        ax.broken_barh(cut, (y["agent"] - h / 2, h), facecolors="none",
                       edgecolors="tab:green", hatch="//", label="agent (cut)")
    play: list[tuple[float, float]] = []
    for r in fold.responses.values():
        if r.audio_started_t is not None:
            stop = r.audio_stopped_t if r.audio_stopped_t is not None else r.audio_cleared_t
            play.append((r.audio_started_t, (stop if stop is not None else end)
                         - r.audio_started_t))
    bars("playback", play, facecolors="tab:olive")
    tools = [(t.request_t, (t.answered_t if t.answered_t is not None else end)
              - t.request_t) for t in fold.tools.values() if t.request_t is not None]
    bars("tools", tools, facecolors="tab:orange")
    if fold.errors:
        ax.vlines([e.t for e in fold.errors], y["errors"] - h / 2, y["errors"] + h / 2,
                  colors="tab:red", label="errors")
    for i, g in enumerate(fold.gaps):
        ax.axvspan(g.since if g.since is not None else g.t, g.t, color="0.8", alpha=0.6,
                   label="gap" if i == 0 else None)
    ax.set_yticks([y[n] for n in _LANES], list(_LANES))
    ax.set_ylim(-0.7, len(_LANES) - 0.3)
    ax.set_xlim(0.0, max(end, 1e-3) * 1.02)
    ax.set_xlabel("seconds since capture start")
    ax.set_title(f"call {fs.call_id}", loc="left", fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
    return fig


def latency_plot(src: object, *, width: float = 8.0) -> CallFigure:
    """Per-turn latencies (response.created, first text, audio start) as grouped bars."""
    fs = _single(src)
    turns = turns_frame(fs)
    fig = CallFigure(figsize=(width, 3.2), layout="constrained")
    ax = fig.add_subplot()
    # The first bar is named after the wire event that starts a response (the codec's).
    series = (("latency_response_s", REALTIME.landmarks["response_started"], "tab:blue"),
              ("latency_first_text_s", "first text delta", "tab:green"),
              ("latency_audio_s", "audio start", "tab:orange"))
    n = len(turns)
    wbar = 0.8 / len(series)
    for k, (col, label, color) in enumerate(series):
        vals = [float(v) * 1000 for v in turns[col]] if n else []
        if not any(_ok(v) for v in vals):
            continue
        xs = [i + (k - 1) * wbar for i in range(n)]
        ax.bar(xs, [v if _ok(v) else 0.0 for v in vals], width=wbar, color=color,
               label=label)
    ax.set_xticks(range(n), [str(i) for i in range(n)])
    ax.set_xlabel("turn")
    ax.set_ylabel("ms after the caller stopped")
    ax.set_title(f"latency per turn — {fs.call_id}", loc="left", fontsize="medium")
    if ax.containers:
        ax.legend(loc="upper right", fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    return fig
