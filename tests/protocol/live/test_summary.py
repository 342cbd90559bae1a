"""Live summaries: one line for every frame of the real traces and every catalogued type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rtwidgets.protocol.live.catalog import CLIENT_EVENT_TYPES, SERVER_EVENT_TYPES
from rtwidgets.protocol.live.summary import summary

FRAMES = Path(__file__).resolve().parents[2] / "reality" / "frames"
TRACES = sorted(FRAMES.glob("live_*.json"))


def _frames() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in TRACES:
        out.extend(json.loads(path.read_text())["frames"])
    return out


def test_the_real_traces_are_there() -> None:
    assert len(TRACES) == 3
    assert len(_frames()) >= 79


@pytest.mark.parametrize("frame", _frames(), ids=lambda f: f["type"])
def test_every_real_frame_gets_a_short_line(frame: dict[str, Any]) -> None:
    line = summary(frame)
    assert line
    assert line != "unknown type"
    assert line != "malformed"
    assert len(line) <= 120
    assert "\n" not in line


def test_real_lines_say_what_matters() -> None:
    by_type: dict[str, list[str]] = {}
    for frame in _frames():
        by_type.setdefault(frame["type"], []).append(summary(frame))
    assert any("lookup_passage call_n8kYXHgMwoBeMnzDhakmY8fQ" in s
               for s in by_type["response.event"])
    # The wrapped type leads (the delegation id, the same on every row, trails).
    assert all(s.startswith("response.") for s in by_type["response.event"])
    assert "close_requested, 15 s" in by_type["session.closed"]
    assert any(s.startswith("15 s, context") for s in by_type["session.usage.updated"])
    assert "caller 'lighthouse' @4000–4200 ms" in by_type["session.input_transcript.delta"]
    assert any("→ responses resp_" in s for s in by_type["session.delegation.created"])
    assert all("delegation responses" in s for s in by_type["session.started"])


def test_redact_hides_spoken_and_typed_text() -> None:
    for frame in _frames():
        if frame["type"].endswith("transcript.delta"):
            line = summary(frame, redact=True)
            assert line.split(" @")[0] == f"{line.split()[0]} [{len(frame['delta'])} chars]"
    out = summary({"type": "session.commentary.append", "content": "secret plan",
                   "delegation_id": "D1"}, redact=True)
    assert "secret" not in out
    assert out == "[11 chars] for D1"


def test_every_catalogued_type_is_summarised_without_raising() -> None:
    for etype in (*SERVER_EVENT_TYPES, *CLIENT_EVENT_TYPES):
        assert summary({"type": etype}) != "unknown type", etype
        for junk in (None, 3, "x", [], {"a": 1}):
            fields = dict.fromkeys(("session", "event", "delegation", "usage", "error", "item",
                                    "delta", "audio", "content", "reason"), junk)
            line = summary({"type": etype, **fields})
            assert isinstance(line, str)
            assert len(line) <= 120


def test_audio_payloads_are_never_shown() -> None:
    line = summary({"type": "session.output_audio.delta", "delta": "QUJD" * 100,
                    "start_ms": 200, "end_ms": 400})
    assert "QUJD" not in line
    assert line == "agent 400 b64 chars @200–400 ms"


def test_unknown_and_malformed_frames_are_data() -> None:
    assert summary({"type": "session.brand_new"}) == "unknown type"
    assert summary(["x"]) == "not an object: list"
    assert summary({"type": 5}) == "no string 'type'"
    assert summary({"type": "error", "error": {"code": "call_id_not_found", "message": "no",
                                               "client_event_id": "e9"}}
                   ) == "call_id_not_found: 'no' (for e9)"
