"""analyze() of a GPT-Live capture: the same tables, read with the Live codec (the capture's
header names the API); load_many mixes both APIs with an ``api`` column and to_parquet
partitions by it. The capture is the real ``live_spike_spoken`` trace (spideryarn/reading2,
see tests/reality/frames) plus our answer to its tool call, one frame per 0.5 s."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from rtwidgets._capture import make_header
from rtwidgets.analysis import analyze
from rtwidgets.analysis._many import load_many, to_parquet
from rtwidgets.analysis._synth import SyntheticCall

FRAMES = Path(__file__).resolve().parents[1] / "reality" / "frames"
SESSION = "live_u0_EUrPjp3oMERblJsADSyL1hZGfCQubB3V"
CALL = "call_n8kYXHgMwoBeMnzDhakmY8fQ"


def write_live_capture(path: Path, created_at: float = 1791024000.0) -> Path:
    frames: list[tuple[str, dict[str, Any]]] = [
        ("in", f) for f in json.loads((FRAMES / "live_spike_spoken.json").read_text())["frames"]]
    # our answer, right after the tool call's output_item.done, and who gave it
    at = next(i for i, (_, f) in enumerate(frames)
              if f["type"] == "response.event"
              and f["event"]["type"] == "response.output_item.done") + 1
    frames[at:at] = [
        ("out", {"type": "response.item.create", "event_id": "evt_r1", "item": {
            "type": "function_call_output", "call_id": CALL, "output": "teal, 1987"}}),
        ("meta", {"type": "rtwidgets.tool_answered", "call_id": CALL, "by": "form"}),
        ("out", {"type": "response.create", "event_id": "evt_c1"}),
    ]
    header = make_header(SESSION, transport=None, source="live", created_at=created_at,
                         api="live")
    lines = [json.dumps(header)]
    for seq, (direction, frame) in enumerate(frames):
        m = 0.5 * seq
        lines.append(json.dumps({"seq": seq, "dir": direction, "t": created_at + m, "m": m,
                                 "frame": frame}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_analyze_a_live_capture(tmp_path: Path) -> None:
    a = analyze(write_live_capture(tmp_path / "live.jsonl"))
    tr = a.transcript
    said = tr[tr["item_type"] == "message"]
    assert list(said["speaker"].astype(str)) == ["caller", "agent", "agent"]
    assert list(said["text"]) == ["What does the article say about the lighthouse",
                                  "I'm checking the article. One moment.",
                                  "It says the lighthouse was painted teal in 1987."]
    # one caller turn: anchored at its last fragment (seq 8, 4.0 s), answered by the voice
    # at the agent's first fragment (seq 10, 5.0 s)
    (turn,) = a.turns.itertuples()
    assert turn.response_id == "voice_4400"
    assert turn.latency_first_text_s == 1.0
    tools = a.tool_calls
    assert list(tools["tool_call_id"]) == [CALL]
    assert tools.loc[0, "answered_by"] == "form"
    assert tools.loc[0, "output"] == "teal, 1987"
    assert tools.loc[0, "arguments"] == {"topic": "lighthouse"}
    usage = a.usage
    session = usage[usage["kind"] == "session"]
    assert list(session["audio_seconds"]) == [32.0]
    assert str(session["model"].iloc[0]) == "gpt-live-1"
    ev = a.events
    assert (ev.loc[ev["type"] == "session.delegation.created", "category"] == "delegation").all()
    assert not ev.loc[ev["direction"] == "in", "unknown"].any()


def test_load_many_mixes_both_apis_and_parquet_partitions_by_api(tmp_path: Path) -> None:
    folder = tmp_path / "caps"
    folder.mkdir()
    write_live_capture(folder / "live.jsonl")
    rt = SyntheticCall(seed=1, created_at=1764170000.0)
    rt.session(0.0)
    rt.write(folder / f"{rt.call_id}.jsonl")
    many = load_many(folder)
    apis = dict(zip(many.events["call_id"].astype(str), many.events["api"].astype(str),
                    strict=False))
    assert apis == {SESSION: "live", rt.call_id: "realtime"}
    assert set(many.transcript["api"].astype(str)) == {"live"}
    written = to_parquet(many, tmp_path / "ds")
    rel = sorted(str(p.relative_to(tmp_path / "ds")).split("/")[0] for p in written)
    assert rel == ["api=live", "api=realtime"]
    df = pd.read_parquet(tmp_path / "ds")
    assert set(df["api"].astype(str)) == {"live", "realtime"}


def test_summary_counts_unknown_types_against_the_live_catalog(tmp_path: Path) -> None:
    # The summary counted every Live event as unknown (it asked the Realtime catalog).
    path = write_live_capture(tmp_path / "live.jsonl")
    lines = path.read_text().splitlines()
    lines.append(json.dumps({"seq": len(lines), "dir": "in", "t": 1791024100.0, "m": 100.0,
                             "frame": {"type": "session.brand_new", "event_id": "event_x"}}))
    path.write_text("\n".join(lines) + "\n")
    s = analyze(path).summary()
    assert s.unknown_types == {"session.brand_new": 1}
    assert s.frames_in > 10


def test_the_summary_counts_unknown_types_with_the_captures_own_api(tmp_path: Path) -> None:
    # Every type of the real Live trace is a Live event: none is "unknown" in the summary,
    # as in the events table (it counted them against the Realtime catalogue before).
    path = write_live_capture(tmp_path / "live.jsonl")
    a = analyze(path)
    assert not a.events["unknown"].any()
    s = a.summary()
    assert s.unknown_types == {}
    assert "· 0 unknown" in str(s)
    # a type neither API has is still counted, once per frame
    lines = path.read_text().splitlines()
    last = json.loads(lines[-1])
    lines.append(json.dumps({**last, "seq": last["seq"] + 1, "m": last["m"] + 0.5,
                             "t": last["t"] + 0.5, "frame": {"type": "session.brand_new"}}))
    path.write_text("\n".join(lines) + "\n")
    assert analyze(path).summary().unknown_types == {"session.brand_new": 1}


def test_a_live_summary_says_usage_only_and_the_billed_seconds(tmp_path: Path) -> None:
    # Issue 13: no published per-second price, so "usage only, said plainly" (not "cost —").
    path = write_live_capture(tmp_path / "live.jsonl")
    s = analyze(path).summary()
    assert s.api == "live"
    assert s.usage_s is not None
    assert s.usage_s > 0
    text = str(s)
    assert "usage only (no published per-second price)" in text
    assert f"{s.usage_s:.0f} s billed" in text
    assert "$" not in text


def test_live_transcript_rows_have_times_and_status_in_time_order(tmp_path: Path) -> None:
    # Issue 13: agent rows had no end or status, the tool call no time (so it sorted last).
    # Frames are 0.5 s apart: caller fragments seq 1-8, agent 10-15, the wrapped
    # output_item.added seq 16 and .done seq 24, the second agent segment seq 47-54.
    tr = analyze(write_live_capture(tmp_path / "live.jsonl")).transcript
    assert list(tr["speaker"].astype(str)) == ["caller", "agent", "tool", "agent"]
    assert list(tr["start_s"]) == [0.5, 5.0, 8.0, 23.5]
    assert list(tr["end_s"]) == [4.0, 7.5, 12.0, 27.0]
    assert list(tr["status"]) == ["completed"] * 4
    assert tr.loc[2, "text"] == 'lookup_passage({"topic":"lighthouse"})'


def test_live_turn_counts_the_voice_response_chars(tmp_path: Path) -> None:
    # Issue 13: response_chars was 0 (the voice responses had no output items).
    a = analyze(write_live_capture(tmp_path / "live.jsonl"))
    first = "I'm checking the article. One moment."
    second = "It says the lighthouse was painted teal in 1987."
    (turn,) = a.turns.itertuples()
    assert turn.n_responses == 2
    assert turn.response_chars == len(first) + len(second)
    resp = a.responses.set_index("response_id")
    assert resp.loc["voice_4400", "chars"] == len(first)
    assert resp.loc["voice_4400", "n_items"] == 1
