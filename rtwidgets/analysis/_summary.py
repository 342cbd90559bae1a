"""``summary(src)``: a call on one screen — size, turns, latency, tools, errors, tokens, cost.

Why: the first question after a call is "how did it go?"; the answer should fit in one cell
output without scrolling, as text in a terminal and as a small table in a notebook.
The repr never shows transcript text or tool arguments (a saved notebook would keep them).
"""

from __future__ import annotations

import html
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ._cost import PricesArg, cost_frame
from ._fold import fold_of
from ._source import _is_unknown
from ._tables import _single, responses_frame, tool_calls_frame, turns_frame, usage_frame

__all__ = ["Summary", "capture_model", "summary"]


def capture_model(src: object) -> str | None:
    """The model the capture names (its first ``session.created``/``updated``), or ``None``."""
    models = fold_of(_single(src)).models
    return models[0] if models else None


def _stats(values: Any) -> tuple[float, float]:
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not vals:
        return math.nan, math.nan
    vals.sort()

    def q(p: float) -> float:
        pos = (len(vals) - 1) * p
        lo = math.floor(pos)
        hi = min(lo + 1, len(vals) - 1)
        return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)

    return q(0.5), q(0.9)


@dataclass(frozen=True)
class Summary:
    """The overview of one call. Latencies are seconds (median and 90th percentile)."""

    call_id: str
    started: datetime | None
    duration_s: float
    frames_in: int
    frames_out: int
    frames_meta: int
    bad_frames: int
    unknown_types: dict[str, int]
    gaps: int
    gap_s: float
    models: list[str]
    turns: int
    interrupted_turns: int
    responses: dict[str, int]
    latency_response_s: tuple[float, float]
    latency_first_text_s: tuple[float, float]
    latency_audio_s: tuple[float, float]
    tool_calls: int
    tools_pending: int
    tools_by: dict[str, int]
    tool_latency_s: tuple[float, float]
    errors: int
    error_codes: dict[str, int]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    extra: dict[str, Any] = field(default_factory=dict)
    transcription_tokens: int = 0
    """Tokens of input transcription (billed by its own model; in ``cost_usd``)."""
    transcription_s: float = 0.0
    """Seconds of input transcription billed per minute (``whisper-1``)."""
    api: str = "realtime"
    """The call's API (``"realtime"`` or ``"live"``, from the capture header)."""
    usage_s: float | None = None
    """GPT-Live: the session's billed seconds as last reported (``None`` on Realtime)."""

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for a one-row-per-call DataFrame."""
        return asdict(self)

    def _lines(self) -> list[tuple[str, str]]:
        def ms(pair: tuple[float, float]) -> str:
            if math.isnan(pair[0]):
                return "—"
            return f"median {pair[0] * 1000:.0f} ms · p90 {pair[1] * 1000:.0f} ms"

        def counts(d: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "—"

        started = self.started.strftime("%Y-%m-%d %H:%M:%S UTC") if self.started else "—"
        cost = "—" if math.isnan(self.cost_usd) else f"${self.cost_usd:.4f}"
        live = self.api == "live"
        if live:
            # GPT-Live bills seconds and OpenAI publishes no per-second price we could date:
            # say so rather than print a cost of nothing (issue 13).
            cost = "usage only (no published per-second price)"
        return [
            ("call", self.call_id),
            ("started", f"{started} · {self.duration_s:.1f} s"),
            ("frames", f"{self.frames_in} in · {self.frames_out} out · {self.frames_meta} meta"
                       f" · {self.bad_frames} bad · {sum(self.unknown_types.values())} unknown"),
            ("gaps", f"{self.gaps} ({self.gap_s:.1f} s)"),
            ("model", ", ".join(self.models) or "—"),
            ("turns", f"{self.turns} ({self.interrupted_turns} interrupted)"),
            ("responses", counts(self.responses)),
            ("to response.created", ms(self.latency_response_s)),
            ("to first text", ms(self.latency_first_text_s)),
            ("to audio start", ms(self.latency_audio_s)),
            ("tool calls", self._tools_line()),
            ("errors", f"{self.errors}" + (f" ({counts(self.error_codes)})"
                                           if self.error_codes else "")),
            *([("usage", "—" if self.usage_s is None else f"{self.usage_s:.0f} s billed")]
              if live else []),
            ("tokens", f"{self.input_tokens} in · {self.output_tokens} out"),
            *([("transcription", f"{self.transcription_tokens} tokens · "
                                 f"{self.transcription_s:.1f} s")]
              if self.transcription_tokens or self.transcription_s else []),
            ("cost", cost),
        ]

    def _tools_line(self) -> str:
        """The tool calls as a sentence: "2 calls: 1 answered by handler, 1 pending
        (unanswered) · answered in median 600 ms, p90 600 ms"."""
        n = self.tool_calls
        if not n:
            return "none"
        parts: list[str] = []
        answered = n - self.tools_pending
        if answered:
            who = {str(k): v for k, v in self.tools_by.items() if v}
            if len(who) == 1 and next(iter(who.values())) == answered:
                parts.append(f"{answered} answered by {next(iter(who))}")
            elif who:
                parts.append(f"{answered} answered (" + ", ".join(
                    f"{v} by {k}" for k, v in sorted(who.items())) + ")")
            else:
                parts.append(f"{answered} answered")
        if self.tools_pending:
            parts.append(f"{self.tools_pending} pending (never answered in this capture)")
        line = f"{n} call{'' if n == 1 else 's'}: " + ", ".join(parts)
        median, p90 = self.tool_latency_s
        if not math.isnan(median):
            line += (f" · answered in {median * 1000:.0f} ms" if answered == 1 else
                     f" · answered in median {median * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms")
        return line

    def __repr__(self) -> str:
        lines = self._lines()
        width = max(len(k) for k, _ in lines)
        return "\n".join(f"{k:>{width}}  {v}" for k, v in lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:right'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self._lines()
        )
        return f"<table class='rtwidgets-summary'>{rows}</table>"


def summary(src: object, prices: PricesArg = None, *, model: str | None = None,
            transcription_model: str | None = None) -> Summary:
    """The :class:`Summary` of one call (``prices``/``model``/``transcription_model`` as for
    ``cost_frame``; the cost includes input transcription)."""
    fs = _single(src)
    core = fs.core()
    fold = fold_of(fs)
    if model is None:
        # Responses seen before the first session event (a sideband attaches mid-call)
        # carry no model; the session's model cannot change, so the one the capture names
        # prices them — as the console's StatusBar does.
        model = capture_model(fs)
    directions: Counter[str] = Counter()
    if core.num_rows:
        for entry in pc.value_counts(core.column("direction").combine_chunks()).to_pylist():
            directions[entry["values"]] += entry["counts"]
    types = core.column("type")
    unknown: dict[str, int] = {}
    if core.num_rows:
        vc = pc.value_counts(types.combine_chunks())
        names = pa.array([entry["values"] for entry in vc.to_pylist()], pa.string())
        # Unknown to the capture's own API (a Live event is not unknown on a Live capture).
        flags = _is_unknown(names, fs.api).to_pylist()
        for entry, flagged in zip(vc.to_pylist(), flags, strict=True):
            if flagged:
                unknown[entry["values"]] = entry["counts"]
    m = core.column("m")
    hi = pc.max(m).as_py() if core.num_rows else None
    created = fs.created_at
    turns = turns_frame(fs)
    resp = responses_frame(fs)
    tools = tool_calls_frame(fs)
    cost = cost_frame(fs, prices, model=model, transcription_model=transcription_model)
    total_cost = float(cost["total_usd"].iloc[-1]) if len(cost) else 0.0
    usage = usage_frame(fs, totals=False)
    tr = usage.loc[usage["kind"].astype(object) == "transcription"]
    return Summary(
        call_id=fs.call_id,
        started=datetime.fromtimestamp(created, tz=timezone.utc) if created else None,
        duration_s=float(hi) if hi is not None else 0.0,
        frames_in=directions.get("in", 0),
        frames_out=directions.get("out", 0),
        frames_meta=directions.get("meta", 0),
        bad_frames=int(pc.sum(core.column("bad")).as_py() or 0),
        unknown_types=unknown,
        gaps=len(fold.gaps),
        gap_s=sum(g.t - (g.since if g.since is not None else g.t) for g in fold.gaps),
        models=list(fold.models),
        turns=len(turns),
        interrupted_turns=int(turns["interrupted"].sum()) if len(turns) else 0,
        responses=dict(Counter(str(s) for s in resp["status"])) if len(resp) else {},
        latency_response_s=_stats(turns.get("latency_response_s", [])),
        latency_first_text_s=_stats(turns.get("latency_first_text_s", [])),
        latency_audio_s=_stats(turns.get("latency_audio_s", [])),
        tool_calls=len(tools),
        tools_pending=int((tools["status"] == "pending").sum()) if len(tools) else 0,
        tools_by=dict(Counter(str(b) for b in tools["answered_by"].dropna()))
        if len(tools) else {},
        tool_latency_s=_stats(tools.get("latency_s", [])),
        errors=len(fold.errors),
        error_codes=dict(Counter(str(e.code) for e in fold.errors)),
        input_tokens=int(resp["input_tokens"].sum()) if len(resp) else 0,
        output_tokens=int(resp["output_tokens"].sum()) if len(resp) else 0,
        cost_usd=total_cost,
        transcription_tokens=int(tr["total_tokens"].sum()) if len(tr) else 0,
        transcription_s=float(tr["audio_seconds"].sum()) if len(tr) else 0.0,
        api=fs.api,
        usage_s=_session_seconds(usage) if fs.api == "live" else None,
    )


def _session_seconds(usage: Any) -> float | None:
    """The GPT-Live ``session`` row's billed seconds (``None`` when none was reported)."""
    rows = usage.loc[usage["kind"].astype(object) == "session", "audio_seconds"].dropna()
    return float(rows.iloc[-1]) if len(rows) else None
