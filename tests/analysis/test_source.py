"""The columnar reader: header, fast and fallback paths, bad/unknown frames, growth."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from rtwidgets.analysis._source import (
    BAD_TYPE,
    FrameSource,
    _Columns,
    _parse_line_python,
    as_source,
    parse_lines,
)
from rtwidgets.analysis._synth import SyntheticCall
from rtwidgets.analysis._tables import events_frame

from .conftest import build_standard


def test_header_is_read_and_not_a_row(standard: Any) -> None:
    path, call, _ = standard
    src = FrameSource(path)
    assert src.call_id == call.call_id
    assert src.header["source"] == "synthetic"
    assert src.created_at == call.created_at
    assert src.core().num_rows == len(call.lines) - 1
    assert src.core().column("seq").to_pylist() == list(range(len(call.lines) - 1))


def test_fast_path_equals_python_path(standard: Any) -> None:
    _, call, _ = standard
    lines = [ln.encode() for ln in call.lines[1:]]
    fast = parse_lines(lines)
    cols = _Columns()
    for ln in lines:
        _parse_line_python(ln, cols)
    slow = cols.table()
    assert fast.schema == slow.schema
    for name in fast.column_names:
        assert fast.column(name).to_pylist() == slow.column(name).to_pylist(), name


def test_payload_is_the_wire_text_not_reserialised(tmp_path: Path) -> None:
    c = SyntheticCall()
    c.session(0.1)
    path = c.write(tmp_path / "c.jsonl")
    # Rewrite the frame with odd spacing and key order: the payload must keep it verbatim.
    wire = '{ "event_id" : "event_x",  "type":"session.updated", "session": {"model":"m"} }'
    with path.open("a") as fh:
        fh.write(f'{{"seq":1,"dir":"in","t":1.0,"m":0.2,"frame":{wire}}}\n')
    ev = events_frame(path)
    assert ev["payload"].iloc[-1] == wire
    assert ev["type"].iloc[-1] == "session.updated"
    assert ev["event_id"].iloc[-1] == "event_x"


def test_unknown_types_fields_and_conflicting_shapes_never_break(tmp_path: Path) -> None:
    c = SyntheticCall()
    c.session(0.1)
    c.frame(0.2, {"type": "brand.new.event", "nested": {"deep": [1, {"x": None}]}})
    # A known type whose fields have shapes the C++ reader cannot unify: the block falls back.
    c.frame(0.3, {"type": "conversation.item.added", "item": "not-an-object", "item_id": 5})
    c.frame(0.4, {"no_type_at_all": True})
    c.frame(0.5, {"type": "response.created", "response": {"id": "resp_1", "extra": 1},
                  "surprise": "field"})
    ev = events_frame(c.write(tmp_path / "c.jsonl"))
    assert list(ev["type"]) == ["session.created", "brand.new.event",
                                "conversation.item.added", "rtwidgets.no_type",
                                "response.created"]
    assert list(ev["unknown"]) == [False, True, False, False, False]
    assert ev["item_id"].isna().iloc[2]  # 5 is not an id; the item is not an object
    assert ev["response_id"].iloc[4] == "resp_1"
    assert json.loads(ev["payload"].iloc[1])["nested"]["deep"][1] == {"x": None}


def test_bad_frames_are_flagged_rows(tmp_path: Path) -> None:
    c = SyntheticCall()
    c.session(0.1)
    c.bad(0.2, "{not json", "Expecting property name enclosed in double quotes")
    c.frame(0.3, {"type": "input_audio_buffer.cleared"})
    ev = events_frame(c.write(tmp_path / "c.jsonl"))
    bad = ev[ev["bad"]]
    assert len(bad) == 1
    assert bad["type"].iloc[0] == BAD_TYPE
    assert json.loads(bad["payload"].iloc[0]) == {
        "type": BAD_TYPE, "raw": "{not json",
        "error": "Expecting property name enclosed in double quotes"}
    assert not ev["bad"].iloc[2]


def test_truncated_last_line_is_ignored_then_read_when_complete(tmp_path: Path) -> None:
    call, _ = build_standard()
    full = call.text().encode()
    path = tmp_path / "c.jsonl"
    path.write_bytes(full[:-20])                    # a dead kernel mid-line
    src = FrameSource(path)
    n_cut = src.core().num_rows
    assert n_cut == len(call.lines) - 2
    assert events_frame(src)["seq"].iloc[-1] == n_cut - 1
    path.write_bytes(full)                          # the writer finished the line
    assert src.refresh()
    assert src.core().num_rows == len(call.lines) - 1


def test_a_complete_last_line_without_newline_counts(tmp_path: Path) -> None:
    call, _ = build_standard()
    path = tmp_path / "c.jsonl"
    path.write_bytes(call.text().encode()[:-1])
    assert FrameSource(path).core().num_rows == len(call.lines) - 1


def test_growing_file_is_read_incrementally(tmp_path: Path) -> None:
    call, _ = build_standard()
    lines = call.lines
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(lines[:10]) + "\n")
    src = FrameSource(path)
    assert src.core().num_rows == 9
    with path.open("a") as fh:
        fh.write("\n".join(lines[10:]) + "\n")
    assert src.refresh()
    assert src.core().column("seq").to_pylist() == list(range(len(lines) - 1))
    assert not src.refresh()


def test_newer_capture_version_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"format":"rtwidgets.capture","version":9}\n')
    with pytest.raises(ValueError, match=r"header.version is 9.*Fix: upgrade"):
        FrameSource(path).core()


@dataclass(frozen=True)
class FakeFrame:
    seq: int
    direction: str
    t: float
    m: float
    type: str
    event: dict[str, Any]
    flags: frozenset[str] = frozenset()


@dataclass
class FakeCall:
    call_id: str = "rtc_u1_" + "a" * 32
    store: list[FakeFrame] = field(default_factory=list)

    def frames(self) -> list[FakeFrame]:
        return self.store


def test_live_object_frames_and_growth() -> None:
    call = FakeCall()
    call.store.append(FakeFrame(0, "in", 100.0, 0.0, "session.created",
                                {"type": "session.created", "event_id": "e0",
                                 "session": {"model": "gpt-realtime"}}))
    src = as_source(call)
    ev = events_frame(src)
    assert list(ev["type"]) == ["session.created"]
    assert src.call_id == call.call_id
    call.store.append(FakeFrame(1, "in", 100.5, 0.5, BAD_TYPE,
                                {"type": BAD_TYPE, "raw": "{x", "error": "bad"},
                                frozenset({"bad"})))
    call.store.append(FakeFrame(2, "in", 101.0, 1.0, "response.output_audio.delta",
                                {"type": "response.output_audio.delta", "delta": "",
                                 "item_id": "item_1", "response_id": "resp_1"},
                                frozenset({"audio_dropped"})))
    ev = events_frame(src)
    assert list(ev["seq"]) == [0, 1, 2]
    assert list(ev["bad"]) == [False, True, False]
    assert list(ev["audio_dropped"]) == [False, False, True]
    assert ev["item_id"].iloc[2] == "item_1"


def test_recording_like_object_reads_its_file(standard: Any) -> None:
    path, call, _ = standard

    class Rec:
        capture_path = path
        call_id = call.call_id

        def frames(self) -> list[Any]:
            raise AssertionError("the file is read, not frames()")

        def replay(self) -> None:  # pragma: no cover - marks a Recording
            return None

    assert as_source(Rec()).core().num_rows == len(call.lines) - 1


def test_unsupported_source_names_the_fix() -> None:
    with pytest.raises(TypeError, match=r"cannot analyse a int.*Fix: pass the capture"):
        as_source(42)
    with pytest.raises(FileNotFoundError, match=r"is not a file\. Fix"):
        as_source("/nonexistent/capture.jsonl")


def test_empty_capture_gives_empty_tables(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"format":"rtwidgets.capture","version":1,"call_id":"rtc_x"}\n')
    ev = events_frame(path)
    assert len(ev) == 0
    assert "payload" in ev.columns
    assert isinstance(FrameSource(path).core(), pa.Table)


def test_frame_store_lines_take_the_columnar_path(standard: Any) -> None:
    from rtwidgets._capture import FrameStore

    path, call, _ = standard
    store = FrameStore()
    for line in call.lines[1:]:
        store.append(line.encode() + b"\n")

    class LiveCall:
        call_id = call.call_id

        def frames(self) -> FrameStore:
            return store

    live = events_frame(LiveCall())
    from_file = events_frame(path)
    assert live.drop(columns=["direction", "type", "category"]).equals(
        from_file.drop(columns=["direction", "type", "category"]))
    assert list(live["type"]) == list(from_file["type"])


def test_a_damaged_line_in_the_middle_costs_only_that_line(tmp_path: Path) -> None:
    call, _ = build_standard()
    lines = call.lines
    damaged = [*lines[:5], '{"seq":4,"dir":"in","t":1.0,"m":0.3,"frame":{"type":"x', *lines[5:]]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(damaged) + "\n")
    ev = events_frame(path)
    assert len(ev) == len(lines) - 1
    assert list(ev["payload"]) == list(events_frame(call.write(tmp_path / "ok.jsonl"))["payload"])


def test_a_loaded_recording_reads_like_its_file(standard: Any) -> None:
    from rtwidgets._recording import load
    from rtwidgets.analysis import analyze
    from rtwidgets.analysis._tables import turns_frame

    path, call, _ = standard
    rec = load(path)
    a = analyze(rec)
    assert a.call_id == call.call_id
    assert a.events["payload"].tolist() == events_frame(path)["payload"].tolist()
    assert a.turns.equals(turns_frame(path))


def test_frame_store_body_path_matches_the_file(standard: Any) -> None:
    from rtwidgets._capture import FrameStore

    path, call, _ = standard
    store = FrameStore()
    if not hasattr(store, "body"):
        pytest.skip("this FrameStore has no body()")
    lines = call.lines[1:]

    class LiveCall:
        call_id = call.call_id

        def frames(self) -> FrameStore:
            return store

    src = FrameSource(LiveCall())
    for line in lines[:20]:
        store.append(line.encode() + b"\n")
    assert src.core().num_rows == 20
    for line in lines[20:]:
        store.append(line.encode() + b"\n")
    assert src.core().column("payload").to_pylist() == \
        FrameSource(path).core().column("payload").to_pylist()


def test_payloads_are_found_per_line_across_empty_lines(tmp_path: Path) -> None:
    from rtwidgets.analysis._source import parse_body

    c = SyntheticCall()
    c.session(0.1)
    c.frame(0.2, {"type": "response.output_audio.delta", "response_id": "resp_1",
                  "item_id": "item_1", "delta": ""}, dropped={"delta": 5460})
    c.bad(0.3, '{"frame": not json')
    c.meta(0.4, "rtwidgets.gap", reason='text with "frame": inside', since_m=0.35)
    lines = [ln.encode() for ln in c.lines[1:]]
    # Empty lines between frames: each line's key is searched within that line only.
    body = b"\n\n".join(lines) + b"\n\n"
    fast = parse_body(body)
    cols = _Columns()
    for ln in lines:
        _parse_line_python(ln, cols)
    assert fast.column("payload").to_pylist() == cols.table().column("payload").to_pylist()
    assert fast.column("audio_dropped").to_pylist() == [False, True, False, False]
    assert json.loads(fast.column("payload")[3].as_py())["reason"] == 'text with "frame": inside'
