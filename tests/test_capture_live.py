"""Captures of GPT-Live calls: reflected audio dropped, Live types known, transcripts redacted."""

from __future__ import annotations

import json
from pathlib import Path

from rtwidgets._capture import FrameEncoder, read_capture

REFLECTED_IN = '{"type":"session.input_audio.append","audio":"' + "QUJD" * 1000 + '"}'
REFLECTED_OUT = ('{"type":"session.output_audio.delta","delta":"' + "QUJD" * 500
                 + '","start_ms":200,"end_ms":400}')
SPOKEN = ('{"type":"session.output_transcript.delta","event_id":"event_EUrRGt","delta":'
          '" I\'m checking","start_ms":4600,"end_ms":4800}')


def test_live_audio_is_dropped_and_live_types_are_known() -> None:
    enc = FrameEncoder(api="live")
    line, event, etype, flags = enc.encode("in", REFLECTED_IN, 1.0, 0.1)
    rec = json.loads(line)
    assert rec["dropped"] == {"audio": 4000}
    assert rec["frame"] == {"type": "session.input_audio.append", "audio": ""}
    assert event["audio"] == ""
    line, _event, _etype, _flags = enc.encode("in", REFLECTED_OUT, 1.0, 0.2)
    assert json.loads(line)["dropped"] == {"delta": 2000}
    _line, _ev, _t, flags = enc.encode("in", SPOKEN, 1.0, 0.3)
    assert flags == 0  # a Live type, not "unknown_type"
    # the Realtime encoder knows none of this: the Live catalog must be chosen by the api
    _line, _ev, _t, rt_flags = FrameEncoder().encode("in", REFLECTED_IN, 1.0, 0.1)
    assert rt_flags & 2  # unknown_type
    assert etype == "session.input_audio.append"
    assert flags == 0


def test_live_transcripts_and_appends_are_redacted_when_asked() -> None:
    enc = FrameEncoder(api="live", redact_transcripts=True)
    line, _ev, _t, _f = enc.encode("in", SPOKEN, 1.0, 0.1)
    assert json.loads(line)["frame"]["delta"] == "[redacted 13 chars]"
    out = '{"type":"session.commentary.append","content":"Order 123","delegation_id":null}'
    line, _ev, _t, _f = enc.encode("out", out, 1.0, 0.2)
    assert json.loads(line)["frame"]["content"] == "[redacted 9 chars]"


def test_a_loaded_live_capture_gets_the_same_flags(tmp_path: Path) -> None:
    enc = FrameEncoder(api="live")
    header = {"format": "rtwidgets.capture", "version": 1, "call_id": "live_u0_x", "api": "live"}
    lines, flags = [json.dumps(header).encode() + b"\n"], []
    for i, raw in enumerate((REFLECTED_IN, SPOKEN, '{"type":"session.brand_new"}')):
        line, _ev, _t, f = enc.encode("in", raw, 1.0 + i, 0.1 * i)
        lines.append(line)
        flags.append(f)
    path = tmp_path / "live.jsonl"
    path.write_bytes(b"".join(lines))
    _header, store = read_capture(path)
    assert [store.flag_bits(i) for i in range(len(store))] == flags
    assert flags[2] & 2  # the unknown type is still flagged
