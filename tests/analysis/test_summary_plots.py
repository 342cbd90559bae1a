"""summary(): one screen, no transcript text; plots: the expected artists, savable as PNG."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pandas as pd
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


def test_turns_first_view_is_short_with_latencies_in_whole_ms(standard: Any) -> None:
    from rtwidgets.analysis import analyze

    path, _, _ = standard
    a = analyze(path)
    shown = a.turns._repr_html_()
    assert "latency_response_s" not in shown  # the display is the short view...
    assert "to_response_ms" in shown
    assert "16 more columns" in shown
    assert "to_response_ms" in repr(a.turns)
    assert a.turns["latency_response_s"].tolist() == pytest.approx([0.3, 0.2, 0.05])  # ...data
    picked = a.turns[["turn", "user_text", "interrupted"]]
    assert type(picked) is pd.DataFrame
    assert "user_text" in picked._repr_html_()
    short = a.turns_short
    assert list(short.columns) == ["turn", "kind", "user_text", "to_response_ms",
                                   "to_first_text_ms", "to_audio_ms", "response_status",
                                   "interrupted"]
    assert short["to_response_ms"].tolist() == [300, 200, 50]
    assert str(short["to_response_ms"].dtype) == "Int64"
    assert short["to_audio_ms"].isna().tolist() == [False, True, True]
    assert short["user_text"].iloc[0] == "What time is it?"
    full = a.turns_full
    assert len(full.columns) == 24
    assert full["latency_response_s"].tolist() == pytest.approx([0.3, 0.2, 0.05])


def test_summary_prices_responses_before_the_session_with_the_captures_model(
    tmp_path: Path,
) -> None:
    from rtwidgets.analysis import analyze
    from rtwidgets.analysis._synth import usage_block

    # A sideband attached mid-call: the first response.done arrives before session.updated,
    # so the fold knows no model for it; the capture names one (the console priced it).
    c = SyntheticCall()
    usage = usage_block(text_in=100, audio_in=50, text_out=10, audio_out=200)
    c.text_turn(sent=0.1, added=0.15, created=0.2, first_text=0.3, done=0.5,
                text="hi", reply="hello", usage=usage)
    c.session(1.0, created=False)
    path = c.write(tmp_path / "c.jsonl")
    s = summary(path)
    assert s.models == ["gpt-realtime"]
    assert not math.isnan(s.cost_usd)
    assert s.cost_usd > 0
    assert "cost  —" not in repr(s)
    assert analyze(path).cost()["priced"].all()
    assert summary(path, model="gpt-realtime").cost_usd == pytest.approx(s.cost_usd)


def test_summary_says_tool_calls_in_a_sentence(standard: Any, tmp_path: Path) -> None:
    path, _, _ = standard
    line = next(ln for ln in repr(summary(path)).splitlines() if "tool calls" in ln)
    assert line.split("tool calls", 1)[1].strip() == "1 call: 1 answered by handler · " \
        "answered in 600 ms"
    c = SyntheticCall()
    c.session(0.05)
    c.tool_turn(speech_start=1.0, speech_stop=2.0, created=2.2, requested=2.5, done=2.6,
                name="lookup", arguments={"order": 42}, answered=None, output="", by=None)
    pending = summary(c.write(tmp_path / "p.jsonl"))
    text = repr(pending)
    assert "1 call: 1 pending (never answered in this capture)" in text
    assert "by —" not in text
    empty = SyntheticCall()
    empty.session(0.05)
    assert "tool calls  none" in repr(summary(empty.write(tmp_path / "e.jsonl")))
