"""Real frames through the product: the corpus is well-formed, the SDK accepts it, and the
reducer, a capture/``load`` round trip, the analysis tables and the console show what the
frames say.

Why: until now every test met only our own emulator, so a wrong id shape or a missed final
text passed everywhere. The expected values below are read off the frames themselves (the
text they carry, the usage they report), never off our own output.
"""

from __future__ import annotations

import json
import math
import re
import typing
from pathlib import Path
from typing import Any

import comm
import pydantic
import pytest
from comm.base_comm import BaseComm
from openai.types.realtime import RealtimeServerEvent

from rtwidgets import analyze, load
from rtwidgets._capture import CaptureWriter, FrameEncoder, make_header
from rtwidgets.protocol.state import SessionState
from rtwidgets.widgets._console import CallConsole

from . import all_frame_files, call_ids, load_frames, load_ids, load_webhooks

# Safe id alphabet (house rule: prefix + safe characters, never a length from an example).
SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def _sdk_classes() -> dict[str, type[pydantic.BaseModel]]:
    """``{type literal: class}`` from the RealtimeServerEvent union (realtime-protocol.md §9.4)."""
    union = typing.get_args(RealtimeServerEvent)[0]
    out: dict[str, type[pydantic.BaseModel]] = {}
    for cls in typing.get_args(union):
        (literal,) = typing.get_args(cls.model_fields["type"].annotation)
        out[literal] = cls
    return out


SDK = _sdk_classes()

#: Extra fields the SDK classes do not declare but the real service sends, with the reason.
SDK_EXTRAS_ALLOWED: dict[str, str] = {
    "obfuscation": "undocumented padding on *.delta events (realtime-protocol.md §6.4)",
    "id": "session.created/updated: the SDK types .session as the request shape (§9.4 #3)",
    "object": "same: realtime.session",
    "expires_at": "same",
}

#: Realtime frames the SDK cannot validate, with the reason (none today; keep the list honest).
SDK_EXCEPTIONS: dict[tuple[str, int], str] = {}


def _realtime_frames() -> list[tuple[str, int, dict[str, Any]]]:
    out: list[tuple[str, int, dict[str, Any]]] = []
    for name in all_frame_files():
        doc = load_frames(name)
        # Partial files (a report that elides ids and values) feed order and error-code facts
        # only; their frames are not whole enough for the SDK (README.md).
        if doc["api"] == "realtime" and not doc.get("partial", False):
            out.extend((name, i, f) for i, f in enumerate(doc["frames"]))
    return out


def _extras(model: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(model, pydantic.BaseModel):
        found.update(model.model_extra or {})
        for name in type(model).model_fields:
            found |= _extras(getattr(model, name))
    elif isinstance(model, list):
        for value in model:
            found |= _extras(value)
    return found


def _state(*names: str) -> SessionState:
    state = SessionState()
    t = 0.0
    for name in names:
        for frame in load_frames(name)["frames"]:
            t += 0.1
            state.feed(frame, direction="in", t=t)
    return state


def _capture(path: Path, call_id: str, *names: str, transport: str | None = None) -> Path:
    writer = CaptureWriter(path, make_header(call_id, transport=transport, source="live",
                                             created_at=1_767_232_000.0))
    enc = FrameEncoder()
    t = 0.0
    for name in names:
        for frame in load_frames(name)["frames"]:
            t += 0.1
            line, *_ = enc.encode("in", json.dumps(frame, ensure_ascii=False),
                                  1_767_232_000.0 + t, t)
            writer.write(line)
    writer.close()
    return path


# --------------------------------------------------------------------------- the corpus itself

@pytest.mark.parametrize("name", all_frame_files())
def test_every_file_names_its_source_and_holds_typed_frames(name: str) -> None:
    doc = load_frames(name)
    source = doc["source"]
    assert source["what"].strip()
    assert source.get("repo") or source.get("url") or source.get("index_file_ids"), source
    if source.get("repo"):
        assert source.get("path") or source.get("url")
    assert doc["api"] in ("realtime", "live")
    assert isinstance(doc["ordered"], bool)
    assert isinstance(doc.get("partial", False), bool)
    assert doc["notes"].strip()
    assert all(isinstance(line, str) for line in doc.get("log", []))
    for answer in doc.get("answers", []):
        assert doc["frames"][answer["frame"]]["type"] == "error", answer
    for frame in doc["frames"]:
        assert isinstance(frame, dict), frame
        assert isinstance(frame.get("type"), str), frame
    if "close" in doc:
        assert isinstance(doc["close"]["code"], int)
        assert doc["close"]["reason"]
    else:
        assert doc["frames"], "a file with neither frames nor a close says nothing"


def test_ids_file_names_a_source_for_every_id() -> None:
    ids = load_ids()
    assert all(s["what"] for s in ids["source"])
    entries = ids["call_ids"]
    assert len(entries) >= 10
    for entry in entries:
        assert entry["kind"] in ("sip", "webrtc")
        assert entry["source"]["what"]
        assert entry["source"]["index_file_ids"]
        assert entry["id"].startswith("rtc_")
        assert SAFE.match(entry["id"])
    for value, seen in ids["other_ids"].items():
        assert SAFE.match(value)
        assert seen["file"].startswith("frames/")


def test_real_call_ids_are_mixed_case_base62_of_varying_length() -> None:
    # The facts issue 10 rests on, read off the corpus: not 32 hex, and not one length.
    tails = [cid.split("_", 2)[2] for cid in call_ids()]
    assert {len(t) for t in tails} == {21, 32}
    assert all(re.fullmatch(r"[A-Za-z0-9]+", t) for t in tails)
    assert not any(re.fullmatch(r"[0-9a-f]{32}", t) for t in tails)
    assert call_ids("sip")
    assert call_ids("webrtc")


def test_webhook_fixture_is_the_documented_delivery() -> None:
    hooks = load_webhooks()
    assert hooks["source"]["repo"]
    assert hooks["source"]["what"]
    (delivery,) = hooks["deliveries"]
    assert set(delivery["headers"]) >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
    body = delivery["body"]
    assert body["type"] == "realtime.call.incoming"
    assert body["object"] == "event"
    assert [h["name"] for h in body["data"]["sip_headers"]] == ["From", "To", "Call-ID"]


# --------------------------------------------------------------------------- the SDK agrees

@pytest.mark.parametrize(("name", "index", "frame"), _realtime_frames(),
                         ids=[f"{n}[{i}]" for n, i, _ in _realtime_frames()])
def test_sdk_validates_every_real_server_frame(name: str, index: int,
                                               frame: dict[str, Any]) -> None:
    if (name, index) in SDK_EXCEPTIONS:
        pytest.skip(SDK_EXCEPTIONS[(name, index)])
    cls = SDK.get(frame["type"])
    assert cls is not None, f"{frame['type']} is not in the SDK's RealtimeServerEvent union"
    model = cls.model_validate(frame)
    unknown = _extras(model) - set(SDK_EXTRAS_ALLOWED)
    assert not unknown, f"{name}[{index}] {frame['type']}: fields the SDK does not know: {unknown}"


# --------------------------------------------------------------------------- the reducer

def test_ordered_vad_turn_folds_into_items_and_an_active_response() -> None:
    state = _state("gw_vad_turn_ordered")
    assert state.malformed == 0
    assert not state.unknown_types
    assert state.item_order == ["item_Ct1OhVepyDFpDovHrgmNp", "item_Ct1OkNEvGW5s0xZERnV95"]
    user, agent = (state.items[i] for i in state.item_order)
    assert (user.role, user.status, user.text) == ("user", "completed", "")
    assert (agent.role, agent.status, agent.text) == ("assistant", "in_progress", "The")
    assert agent.previous_item_id == user.id
    assert state.active_response_id == "resp_Ct1OkhbgNQBuFX2HeE0P9"
    assert state.responses["resp_Ct1OkhbgNQBuFX2HeE0P9"].status == "in_progress"


def test_session_frames_set_the_session_as_the_server_reported_it() -> None:
    state = _state("gw_session_ct1o")
    assert state.malformed == 0
    assert not state.unknown_types
    session = state.session
    assert session is not None
    assert session["instructions"] == (
        "You are a polite AI assistant on a phone call. Keep answers short.")
    snap = state.snapshot()
    assert (snap["model"], snap["voice"]) == ("gpt-realtime", "alloy")
    assert state.usage_total["total_tokens"] == 0   # no response.done in this file


def test_content_part_done_gives_the_full_text_when_the_transcript_done_is_missing() -> None:
    doc = load_frames("gw_session_ct1o")
    (part_done,) = [f for f in doc["frames"] if f["type"] == "response.content_part.done"]
    state = _state("gw_session_ct1o")
    agent = state.items["item_Ct1OZd4ZkrcbhoRueeC2O"]
    assert agent.text == part_done["part"]["transcript"]


def test_response_done_usage_is_the_usage_total() -> None:
    doc = load_frames("gw_response_cszy")
    (done,) = [f for f in doc["frames"] if f["type"] == "response.done"]
    usage = done["response"]["usage"]
    state = _state("gw_response_cszy")
    total = state.usage_total
    assert total["input_tokens"] == usage["input_tokens"] == 132
    assert total["output_tokens"] == usage["output_tokens"] == 188
    assert total["total_tokens"] == usage["total_tokens"] == 320
    assert total["input_audio_tokens"] == usage["input_token_details"]["audio_tokens"]
    assert total["input_cached_tokens"] == usage["input_token_details"]["cached_tokens"] == 64
    assert total["output_audio_tokens"] == usage["output_token_details"]["audio_tokens"]
    agent = state.items["item_CsZyLdZ3sHZ2DniSNrTKs"]
    assert agent.text == done["response"]["output"][0]["content"][0]["transcript"]
    assert agent.text.startswith("Claro, dime")
    assert state.responses["resp_CsZyL5IuqSgPEut0cI82K"].status == "completed"
    assert state.active_response_id is None


def test_input_transcriptions_land_on_their_items() -> None:
    state = _state("asr_transcription_completed")
    assert state.malformed == 0
    assert state.items["item_BzGpxdtFv1RUd0Iidvo05"].text == "Hello world"
    assert state.items["item_BzJ5TXNPJWWEB80n8MTCn"].text == "4月13日，中国台北选手。"


def test_real_function_call_becomes_a_pending_tool_call() -> None:
    state = _state("momo_function_call_done")
    (call,) = state.pending_tool_calls()
    assert call.call_id == "call_sHlR7iaFwQ2YQOqm"
    assert call.name == "ask_momo"
    assert json.loads(call.arguments) == {"request": "Yarın saat 9'a diş hekimi randevusu ekle"}


# --------------------------------------------------------------------------- capture and load

REAL_SIP = "rtc_u0_EHdCXnMcBqtS5NScMWyvY"
REAL_WEBRTC = "rtc_u1_ES7fip3oMlbeD7EQCAxDM0J4qIhxn8Xg"
ALL_GW = ("gw_session_ct1o", "gw_vad_turn_ordered", "gw_response_cszy")


def test_capture_and_load_keep_the_real_id_and_rebuild_the_same_state(tmp_path: Path) -> None:
    path = _capture(tmp_path / "real.jsonl", REAL_SIP, *ALL_GW, transport="sip")
    rec = load(path)
    assert rec.call_id == REAL_SIP
    assert len(rec.frames()) == sum(len(load_frames(n)["frames"]) for n in ALL_GW)
    loaded, direct = rec.state.snapshot(), _state(*ALL_GW).snapshot()
    assert loaded.pop("last_t") > direct.pop("last_t")   # wall time vs call time
    assert loaded == direct
    assert [f.event for f in rec.frames()] == [f for n in ALL_GW for f in load_frames(n)["frames"]]
    assert not any(f.flags & {"bad", "unknown_type"} for f in rec.frames())


@pytest.mark.parametrize(("call_id", "kind"), [(REAL_SIP, "sip"), (REAL_WEBRTC, "webrtc")])
def test_load_infers_the_transport_from_a_real_call_id(tmp_path: Path, call_id: str,
                                                        kind: str) -> None:
    rec = load(_capture(tmp_path / "c.jsonl", call_id, "gw_vad_turn_ordered"))
    assert rec.transport_kind == kind


# --------------------------------------------------------------------------- analysis

def test_analysis_tables_say_what_the_frames_say(tmp_path: Path) -> None:
    rec = load(_capture(tmp_path / "real.jsonl", REAL_SIP, *ALL_GW, transport="sip"))
    a = analyze(rec)
    assert a.call_id == REAL_SIP
    transcript = a.transcript
    texts = list(transcript["text"].dropna())
    assert any(t.startswith("Claro, dime qué es lo que tienes en mente") for t in texts)
    assert "The" in texts
    responses = a.responses
    done = responses[responses["response_id"] == "resp_CsZyL5IuqSgPEut0cI82K"].iloc[0]
    assert (done["input_tokens"], done["output_tokens"], done["total_tokens"]) == (132, 188, 320)
    assert done["input_cached_audio_tokens"] == 64
    usage = a.usage
    assert usage[usage["response_id"] == "total"]["total_tokens"].iloc[0] == 320
    turns = a.turns
    assert len(turns) == 2     # two caller turns in the frames (item_Ct1OXL…, item_Ct1OhV…)
    events = a.events
    assert len(events) == len(rec.frames())


def test_analysis_lists_the_real_tool_call(tmp_path: Path) -> None:
    rec = load(_capture(tmp_path / "tool.jsonl", REAL_WEBRTC, "momo_function_call_done",
                        transport="webrtc"))
    calls = analyze(rec).tool_calls
    assert list(calls["tool_call_id"]) == ["call_sHlR7iaFwQ2YQOqm"]
    assert list(calls["name"]) == ["ask_momo"]


def test_transcription_usage_counts_in_the_usage_table(tmp_path: Path) -> None:
    rec = load(_capture(tmp_path / "asr.jsonl", REAL_SIP, "asr_transcription_completed",
                        transport="sip"))
    usage = analyze(rec).usage
    # 63: the gpt-4o-transcribe frame's usage.total_tokens
    assert usage[usage["response_id"] == "total"]["total_tokens"].iloc[0] == 63


# --------------------------------------------------------------------------- the console

class _RecordingComm(BaseComm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        super().__init__(*args, **kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        self.messages.append((msg_type, data or {}))


def _custom(widget: Any, kind: str) -> list[dict[str, Any]]:
    return [data["content"] for msg_type, data in widget.comm.messages
            if msg_type == "comm_msg" and data.get("method") == "custom"
            and data["content"].get("kind") == kind]


def _browser_asks_snapshot(widget: Any) -> None:
    # What a rendered view sends when it appears (widgets/_base.py).
    widget.comm.handle_msg({"content": {"data": {"method": "custom", "content": {
        "kind": "snapshot_request"}}}, "buffers": []})


async def test_console_over_a_real_recording_shows_the_real_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: _RecordingComm(*a, **k))
    rec = load(_capture(tmp_path / "real.jsonl", REAL_SIP, *ALL_GW, transport="sip"))
    console = CallConsole(rec)      # a Recording is shown as a paused replay
    try:
        assert console.call_id_field.value == REAL_SIP
        replay = console.replay
        replay.speed = math.inf
        replay.resume()
        status = await replay.wait_ended(10)
        assert status.reason == "end of recording"
        _browser_asks_snapshot(console.transcript)
        snapshot = _custom(console.transcript, "snapshot")[-1]
        texts = [i["text"] for i in snapshot["items"]]
        assert any(t.startswith("Claro, dime qué") for t in texts)
        assert "The" in texts
        _browser_asks_snapshot(console.event_log)
        rows = _custom(console.event_log, "snapshot")[-1]["rows"]
        assert len(rows) == len(rec.frames())
        assert rows[0]["type"] == "session.created"
    finally:
        console.close()


# --------------------------------------------------------------------------- GPT-Live traces

LIVE = [n for n in all_frame_files() if load_frames(n)["api"] == "live"]


@pytest.mark.parametrize("name", LIVE)
def test_live_traces_say_what_live_protocol_md_reads_off_them(name: str) -> None:
    """Usage is cumulative, every response.event names a delegation announced before it, and
    transcript windows are 200 ms (shared/docs/live-protocol.md §5, §7; the OBS traces)."""
    frames = load_frames(name)["frames"]
    assert frames[0]["type"] == "session.started"
    assert frames[0]["session"]["id"].startswith("live_")
    assert SAFE.match(frames[0]["session"]["id"])
    seconds = [f["usage"]["seconds"] for f in frames
               if f["type"] in ("session.usage.updated", "session.closed") and "usage" in f]
    assert seconds == sorted(seconds)
    # live_spike_allowmin keeps no delegation.created (its notes say so): check the others.
    whole = any(f["type"] == "session.delegation.created" for f in frames)
    announced: set[str] = set()
    for frame in frames:
        if frame["type"] == "session.delegation.created":
            announced.add(frame["delegation"]["id"])
        elif frame["type"] == "response.event" and whole:
            assert frame["delegation_id"] in announced, frame["event_id"]
        elif frame["type"].endswith("_transcript.delta"):
            assert frame["end_ms"] - frame["start_ms"] == 200
