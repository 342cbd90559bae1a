"""Tests of the capture format: splicing, audio dropping, redaction, flags, store, reader."""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtwidgets._capture import (
    BAD_FRAME_TYPE,
    CaptureFormatError,
    CaptureWriter,
    FrameEncoder,
    FrameStore,
    make_header,
    read_capture,
)

CALL = "rtc_u1_" + "a" * 32


def _enc(**kw: object) -> FrameEncoder:
    return FrameEncoder(**kw)  # type: ignore[arg-type]


def test_frame_is_spliced_verbatim_and_last_on_the_line() -> None:
    raw = b'{"type":"session.updated",  "event_id":"event_1","session":{"b":1,"a":2.50}}'
    line, event, etype, flags = _enc().encode("in", raw, 1764170000.5, 0.25)
    assert line.endswith(b'"frame":' + raw + b"}\n")
    rec = json.loads(line)
    assert rec["seq"] == 0
    assert rec["dir"] == "in"
    assert rec["t"] == 1764170000.5
    assert rec["m"] == 0.25
    assert list(rec) == ["seq", "dir", "t", "m", "frame"]
    assert etype == "session.updated"
    assert event["session"] == {"b": 1, "a": 2.5}
    assert flags == 0


def test_sequence_numbers_increase_across_directions() -> None:
    enc = _enc()
    seqs = [json.loads(enc.encode(d, b'{"type":"error","event_id":"e","error":{}}', 0, 0)[0])["seq"]
            for d in ("in", "out", "meta", "in")]
    assert seqs == [0, 1, 2, 3]


def test_raw_newlines_become_spaces_so_the_frame_stays_on_one_line() -> None:
    raw = b'{\n  "type": "input_audio_buffer.cleared",\r\n  "event_id": "event_x"\n}'
    line, event, _, _ = _enc().encode("in", raw, 0, 0)
    assert line.count(b"\n") == 1
    assert json.loads(line)["frame"] == event == {
        "type": "input_audio_buffer.cleared", "event_id": "event_x"}


def test_audio_payload_is_blanked_with_its_length_kept() -> None:
    audio = "QUJD" * 1365
    ev = {"type": "response.output_audio.delta", "event_id": "event_1", "response_id": "resp_1",
          "item_id": "item_1", "output_index": 0, "content_index": 0, "delta": audio}
    raw = json.dumps(ev).encode()
    line, event, _, flags = _enc().encode("in", raw, 0, 0)
    rec = json.loads(line)
    assert rec["dropped"] == {"delta": len(audio)}
    assert rec["frame"]["delta"] == ""
    assert event["delta"] == ""
    assert audio.encode() not in line
    # everything else is the wire text, untouched
    assert line.endswith(b'"frame":' + raw.replace(json.dumps(audio).encode(), b'""') + b"}\n")
    store = FrameStore()
    store.append(line, flags)
    assert store.flags(0) == {"audio_dropped", "out_of_order"}  # resp_1 never started


def test_audio_kept_option_keeps_the_payload() -> None:
    ev = {"type": "input_audio_buffer.append", "audio": "AAAA"}
    line, _event, _, flags = _enc(audio="kept").encode("out", json.dumps(ev), 0, 0)
    assert json.loads(line)["frame"]["audio"] == "AAAA"
    assert "dropped" not in json.loads(line)
    assert flags == 0


def test_retrieved_item_audio_is_blanked_per_content_part() -> None:
    ev = {"type": "conversation.item.retrieved", "event_id": "event_2", "item": {
        "id": "item_1", "type": "message", "role": "assistant", "content": [
            {"type": "output_audio", "audio": "Zm9vYmFy", "transcript": "foo bar"},
            {"type": "output_audio", "audio": "YmF6", "transcript": "audio"}]}}
    line, _event, _, _ = _enc().encode("in", json.dumps(ev, indent=1), 0, 0)
    rec = json.loads(line)
    assert rec["dropped"] == {"item.content.0.audio": 8, "item.content.1.audio": 4}
    parts = rec["frame"]["item"]["content"]
    assert [p["audio"] for p in parts] == ["", ""]
    assert [p["transcript"] for p in parts] == ["foo bar", "audio"]  # a transcript "audio" kept


def test_escaped_audio_falls_back_to_reserialising_with_audio_blanked() -> None:
    raw = b'{"type":"response.output_audio.delta","delta":"ab\\/cd"}'
    line, _event, _, _ = _enc().encode("in", raw, 0, 0)
    rec = json.loads(line)
    assert rec["frame"] == {"type": "response.output_audio.delta", "delta": ""}
    assert rec["dropped"] == {"delta": 5}


def test_redaction_replaces_transcripts_but_not_ids() -> None:
    enc = _enc(redact_transcripts=True)
    ev = {"type": "response.output_audio_transcript.done", "event_id": "event_1",
          "response_id": "resp_1", "item_id": "item_1", "output_index": 0, "content_index": 0,
          "transcript": "my card is 4111"}
    line, event, _, _ = enc.encode("in", json.dumps(ev), 0, 0)
    assert b"4111" not in line
    assert json.loads(line)["frame"]["transcript"] == "[redacted 15 chars]"
    assert event["transcript"] == "my card is 4111"  # live state still gets the text
    item_ev = {"type": "conversation.item.done", "event_id": "event_2", "item": {
        "id": "item_2", "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "secret plan"}]}}
    line2, _, _, _ = enc.encode("in", json.dumps(item_ev), 0, 0)
    assert b"secret plan" not in line2
    assert b'"item_2"' in line2


@pytest.mark.parametrize(
    ("raw", "error_part"),
    [(b"{not json", "Expecting property name"), (b"[1,2]", "list"),
     (b"{\"a\":\"\xc3\x28\"}", "decode"),
     (b'"just a string"', "str")],
)
def test_bad_frames_are_kept_with_the_parser_message(raw: bytes, error_part: str) -> None:
    line, event, etype, flags = _enc().encode("in", raw, 0, 0)
    rec = json.loads(line)
    assert etype == BAD_FRAME_TYPE
    assert flags & 1
    assert error_part in rec["error"]
    assert "bad" in rec
    assert event["type"] == BAD_FRAME_TYPE


def test_object_without_type_is_a_bad_frame_kept_as_json() -> None:
    line, _event, etype, _ = _enc().encode("in", b'{"hello": 1}', 0, 0)
    rec = json.loads(line)
    assert rec["frame"] == {"hello": 1}
    assert etype == BAD_FRAME_TYPE
    store = FrameStore()
    store.append(line, 1)
    assert store[0].type == BAD_FRAME_TYPE
    assert "bad" in store[0].flags


def test_unknown_type_and_out_of_order_are_flagged() -> None:
    enc = _enc()
    _, _, _, f1 = enc.encode("in", b'{"type":"brand.new","event_id":"e"}', 0, 0)
    _, _, _, f2 = enc.encode("in", json.dumps({
        "type": "response.output_item.added", "event_id": "e", "response_id": "resp_9",
        "output_index": 0, "item": {}}), 0, 0)
    _, _, _, f3 = enc.encode("in", json.dumps({
        "type": "response.created", "event_id": "e", "response": {"id": "resp_9"}}), 0, 0)
    _, _, _, f4 = enc.encode("in", json.dumps({
        "type": "response.output_item.done", "event_id": "e", "response_id": "resp_9",
        "output_index": 0, "item": {}}), 0, 0)
    assert f1 == 2
    assert f2 == 16
    assert f3 == 0
    assert f4 == 0


def test_store_is_lean_and_lazy() -> None:
    enc = _enc()
    store = FrameStore()
    raws = [json.dumps({"type": "response.output_text.delta", "event_id": f"event_{i:021d}",
                        "response_id": "resp_1", "item_id": "item_1", "output_index": 0,
                        "content_index": 0, "delta": "hello "}).encode() for i in range(5000)]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i, raw in enumerate(raws):
        line, _, _, flags = enc.encode("in", raw, 1.0 + i, i / 100)
        store.append(line, flags)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    json_size = sum(len(r) for r in raws)
    assert used < 2 * json_size
    assert len(store) == 5000
    frame = store[4321]
    assert frame.seq == 4321
    assert frame.event["event_id"] == "event_" + "4321".zfill(21)
    assert [f.seq for f in store[-2:]] == [4998, 4999]
    assert store.body(4998) == store.line(4998) + store.line(4999)
    assert store.body(5000) == b""
    with pytest.raises(IndexError):
        store[5000]


def test_writer_and_reader_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "cap" / "c.jsonl"
    writer = CaptureWriter(path, make_header(CALL, transport="webrtc", source="live"))
    enc = _enc()
    store = FrameStore()
    for raw in (b'{"type":"session.created","event_id":"e1","session":{}}', b"oops",
                b'{"type":"x.y","event_id":"e2"}'):
        line, _, _, flags = enc.encode("in", raw, time.time(), 0.5)
        writer.write(line)
        store.append(line, flags)
    writer.close()
    header, loaded = read_capture(path)
    assert header["call_id"] == CALL
    assert header["options"]["audio"] == "dropped"
    assert [f.type for f in loaded] == [f.type for f in store] == [
        "session.created", BAD_FRAME_TYPE, "x.y"]
    assert [loaded.flags(i) for i in range(3)] == [store.flags(i) for i in range(3)]
    assert loaded[1].event["raw"] == "oops"


def test_reader_ignores_a_truncated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    writer = CaptureWriter(path, make_header(CALL, transport=None, source="live"))
    line, _, _, _ = _enc().encode("in", b'{"type":"session.created","event_id":"e"}', 0, 0)
    writer.write(line)
    writer.close()
    with path.open("ab") as f:
        f.write(line[:-10])
    header, frames = read_capture(path)
    assert len(frames) == 1
    assert header["skipped_lines"] == 0


def test_reader_refuses_other_files_with_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_text('{"hello": 1}\n')
    with pytest.raises(CaptureFormatError, match="not an rtwidgets capture"):
        read_capture(p)
    p.write_text(json.dumps({"format": "rtwidgets.capture", "version": 99}) + "\n")
    with pytest.raises(CaptureFormatError, match="version"):
        read_capture(p)
    with pytest.raises(FileNotFoundError, match="no capture"):
        read_capture(tmp_path / "missing.jsonl")


def test_writer_never_overwrites(tmp_path: Path) -> None:
    p = tmp_path / "c.jsonl"
    CaptureWriter(p, make_header(CALL, transport=None, source="live")).close()
    with pytest.raises(FileExistsError, match="new path"):
        CaptureWriter(p, make_header(CALL, transport=None, source="live"))


async def test_periodic_flush_reaches_the_file_without_further_writes(tmp_path: Path) -> None:
    p = tmp_path / "c.jsonl"
    async with CaptureWriter(p, make_header(CALL, transport=None, source="live")) as writer:
        line, _, _, _ = _enc().encode("in", b'{"type":"session.created","event_id":"e"}', 0, 0)
        writer.write(line)
        assert p.read_bytes().count(b"\n") == 1  # header only: the line is buffered
        await asyncio.sleep(0.25)
        assert p.read_bytes().count(b"\n") == 2


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                 st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False)
                              | st.text(max_size=20),
                              lambda c: st.lists(c, max_size=4)
                              | st.dictionaries(st.text(max_size=8), c, max_size=4),
                              max_leaves=12).map(lambda v: json.dumps(v).encode())))
def test_any_frame_gives_one_parsable_line(raw: bytes) -> None:
    line, _event, etype, flags = _enc(redact_transcripts=True).encode("in", raw, 0, 0)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    rec = json.loads(line)
    assert rec["seq"] == 0
    store = FrameStore()
    store.append(line, flags)
    assert store[0].type == etype


@pytest.mark.parametrize("rid", [[], {}, 7, 1.5, True])
def test_order_check_takes_any_json_value_as_a_response_id(rid: object) -> None:
    # A hostile frame ({"type": "conversation.created", "response_id": []}) raised
    # "unhashable type: 'list'" here and ended the call's receive loop.
    # The order check moved to the GA codec's capture rules (issue 11: views and the
    # capture name no wire event).
    from rtwidgets.protocol.realtime.capture import OrderCheck

    check = OrderCheck()
    assert check.check("response.output_text.delta", {"response_id": rid, "item_id": []}) is False
    assert check.check("conversation.created", {"response_id": rid}) is False
