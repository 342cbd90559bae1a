"""summary(): one screen, no transcript text; plots: the expected artists, savable as PNG."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pytest
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from rtwidgets.analysis._plots import latency_plot, timeline_plot
from rtwidgets.analysis._summary import summary
from rtwidgets.analysis._synth import SyntheticCall

from .conftest import build_standard


def test_summary_fields(standard: Any) -> None:
    path, call, _ = standard
    s = summary(path)
    assert s.call_id == call.call_id
    assert s.turns == 3
    assert s.interrupted_turns == 0
    assert s.responses == {"completed": 3}
    assert s.latency_response_s[0] == pytest.approx(0.2)      # median of 0.3, 0.2, 0.05
    assert s.latency_audio_s == pytest.approx((0.6, 0.6))
    assert s.tool_calls == 1
    assert s.tools_pending == 0
    assert s.tools_by == {"handler": 1}
    assert s.tool_latency_s[0] == pytest.approx(0.6)
    assert s.input_tokens == 450
    assert s.output_tokens == 630
    assert s.cost_usd == pytest.approx(3 * 0.014572)
    assert s.models == ["gpt-realtime"]
    assert s.started is not None
    assert s.started.year == 2025


def test_summary_repr_fits_one_screen_and_hides_words(standard: Any) -> None:
    path, _, _ = standard
    s = summary(path)
    text = repr(s)
    lines = text.splitlines()
    assert len(lines) <= 20
    assert max(len(ln) for ln in lines) <= 100
    assert "to response.created  median 200 ms" in text
    assert "$0.0437" in text
    for secret in ("What time is it?", "It is noon.", "order", "shipped", "typed question"):
        assert secret not in text
    html = s._repr_html_()
    assert html.startswith("<table")
    assert "median 200 ms" in html
    assert "It is noon" not in html


def test_summary_of_an_empty_capture(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"format":"rtwidgets.capture","version":1,"call_id":"rtc_x"}\n')
    s = summary(path)
    assert s.turns == 0
    assert s.cost_usd == 0.0
    assert math.isnan(s.latency_response_s[0])
    assert "—" in repr(s)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def test_timeline_has_a_lane_per_actor_and_shows_gaps_and_errors(tmp_path: Path) -> None:
    call, _ = build_standard()
    call.meta(5.5, "rtwidgets.gap", reason="socket closed", since_m=4.5)
    call.frame(6.5, {"type": "error", "error": {"type": "invalid_request_error",
                                                "code": "x", "message": "m"}})
    fig = timeline_plot(call.write(tmp_path / "c.jsonl"))
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["caller", "agent", "playback", "tools", "errors"]
    bars = {c.get_label(): c for c in ax.collections if isinstance(c, PolyCollection)}
    assert set(bars) >= {"caller", "agent", "playback", "tools"}
    assert len(bars["caller"].get_paths()) == 2          # two spoken turns
    assert len(bars["agent"].get_paths()) == 3           # three responses
    assert any(isinstance(c, LineCollection) and c.get_label() == "errors"
               for c in ax.collections)
    gaps = [p for p in ax.patches if p.get_label() == "gap"]
    assert len(gaps) == 1
    assert ax.get_xlim()[1] >= 11.0
    assert _png(fig).startswith(b"\x89PNG")


def test_latency_plot_bars_per_turn(standard: Any) -> None:
    path, _, _ = standard
    fig = latency_plot(path)
    (ax,) = fig.axes
    labels = [c.get_label() for c in ax.containers]
    assert labels == ["response.created", "first text delta", "audio start"]
    heights = [r.get_height() for r in ax.containers[0] if isinstance(r, Rectangle)]
    assert heights == pytest.approx([300.0, 200.0, 50.0])
    assert _png(fig).startswith(b"\x89PNG")


def test_plots_of_a_call_without_turns(tmp_path: Path) -> None:
    c = SyntheticCall()
    c.session(0.1)
    path = c.write(tmp_path / "c.jsonl")
    assert _png(timeline_plot(path)).startswith(b"\x89PNG")
    fig = latency_plot(path)
    assert fig.axes[0].containers == []


def test_analyze_bundles_the_tables_on_one_parse(standard: Any) -> None:
    from rtwidgets.analysis import Analysis, analyze

    path, call, _ = standard
    a = analyze(path)
    assert isinstance(a, Analysis)
    assert a.call_id == call.call_id
    assert len(a.turns) == 3
    assert len(a.responses) == 3
    assert len(a.tool_calls) == 1
    fold = a.source.cached("fold")
    assert len(a.transcript) == 7
    assert a.source.cached("fold") is fold
    assert a.cost()["total_usd"].iloc[-1] == pytest.approx(3 * 0.014572)
    assert a.summary().turns == 3
    assert repr(a).startswith(f"<Analysis of {call.call_id}:")
    assert "median 200 ms" in a._repr_html_()
    assert isinstance(a.timeline_plot(), Figure)
    assert len(a.events) == len(call.lines) - 1
    assert a.gaps.empty
    assert a.errors.empty


def test_plots_render_as_pictures_without_matplotlib_magic(standard: Any,
                                                           tmp_path: Path) -> None:
    # IPython's own formatter, as a kernel with no %matplotlib uses it: a bare Figure
    # gives only text/plain ("<Figure size …>"); ours must give a PNG too.
    from IPython.core.formatters import DisplayFormatter

    path, _, _ = standard
    formatter = DisplayFormatter()
    bare, _ = formatter.format(Figure())
    assert "image/png" not in bare  # the problem this guards against
    for fig in (timeline_plot(path), latency_plot(path)):
        assert isinstance(fig, Figure)  # still the matplotlib object (axes, savefig)
        data, _ = formatter.format(fig)
        assert data["image/png"].startswith(b"\x89PNG")
        assert fig.to_png().startswith(b"\x89PNG")
        assert "<svg" in fig.to_svg()
        out = tmp_path / "plot.png"
        fig.savefig(out)
        assert out.read_bytes().startswith(b"\x89PNG")
