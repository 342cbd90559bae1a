"""Property tests of the receive path: whatever the server sends, nothing raises and the
capture keeps it (issue #7, "The server sends malformed JSON ... nothing crashes, the frame is
captured and flagged").

Arbitrary frames (random JSON, non-JSON text, invalid UTF-8 bytes, huge strings, unknown event
types, known types with wrong field types, raw newlines, escaped lone surrogates) go through
the real ``Call`` receive loop (``Call._run`` → ``FrameEncoder`` → ``CaptureWriter`` +
``FrameStore`` → ``SessionState.feed`` → subscribers) from a scripted transport, and then
through ``read_capture`` and ``rtwidgets._recording.load``. Properties:

- the loop never fails (the call ends with the transport's reason, not "receive loop
  failed"), and subscribers saw every frame;
- every frame round-trips: same ``seq`` order, direction, and the raw text is recoverable
  from its line (verbatim bytes for JSON objects, the decoded text for bad frames);
- the file and the in-memory store hold the same lines and flags;
- bad frames are flagged ``bad`` (and only those), unknown types ``unknown_type``, lines over
  the limit ``huge``.

The unit tests of each piece live in tests/test_capture.py and tests/protocol/test_state.py;
this file checks the pieces together.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtwidgets._call import Call
from rtwidgets._capture import BAD_FRAME_TYPE, HUGE_FRAME_BYTES, read_capture
from rtwidgets._recording import load
from rtwidgets._transport import TransportNotice
from rtwidgets.protocol.catalog import CLIENT_EVENT_TYPES, SERVER_EVENT_TYPES
from rtwidgets.protocol.state import SessionState

CALL_ID = "rtc_u1_" + "f" * 32
KNOWN = frozenset({*SERVER_EVENT_TYPES, *CLIENT_EVENT_TYPES})


class ScriptTransport:
    """Yields the given wire frames, then ends with a reason (a finished socket)."""

    def __init__(self, frames: list[str | bytes]) -> None:
        self.frames = frames
        self.sent: list[str] = []

    @property
    def closed_reason(self) -> str | None:
        return "script finished"

    async def send(self, text: str) -> None:
        self.sent.append(text)

    async def close(self) -> None:
        pass

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._items()

    async def _items(self) -> AsyncIterator[Any]:
        yield TransportNotice("live")
        for i, frame in enumerate(self.frames):
            if i % 16 == 15:
                await asyncio.sleep(0)  # let the flush task and subscribers interleave
            yield frame
        yield TransportNotice("ended", reason="script finished")


# -- strategies ------------------------------------------------------------------------------

_scalar = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
                                                                  allow_infinity=False)
           | st.text(max_size=12))
_json = st.recursive(
    _scalar,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "event_id", "item", "item_id", "response", "response_id",
                         "delta", "transcript", "text", "call_id", "arguments", "output",
                         "audio", "session", "error", "content", "status", "x"])
        | st.text(max_size=6), c, max_size=5),
    max_leaves=10,
)
_types = st.sampled_from(sorted(KNOWN)) | st.sampled_from(
    ["x.y", "response.text.delta", "rtwidgets.custom", "", "response.output_audio.delta"]
) | st.text(max_size=10)


def _typed(etype: str, body: Any) -> str:
    obj = dict(body) if isinstance(body, dict) else {"payload": body}
    obj["type"] = etype
    return json.dumps(obj)


_frame: st.SearchStrategy[str | bytes] = st.one_of(
    _json.map(json.dumps),                                  # any JSON value
    st.builds(_typed, _types, _json),                       # typed objects, wrong field types
    st.text(max_size=60),                                   # mostly not JSON
    st.binary(max_size=40),                                 # bytes, often not UTF-8
    st.builds(lambda t, n: json.dumps({"type": t, "delta": "é\n" * n}, ensure_ascii=False,
                                      indent=1),            # raw newlines, non-ASCII
              _types, st.integers(0, 5)),
    st.just('{"type": "response.output_text.delta", "delta": "\\ud800 lone surrogate"}'),
    st.just('{"type": "error", "error": "not an object"}'),
    st.just('{"type": 5}'),
    st.just("[1, 2"),
    st.just("{" * 5000),                                    # deep nesting, unparsable
)
_huge = st.builds(
    lambda t, extra: json.dumps({"type": t, "delta": "x" * (HUGE_FRAME_BYTES + extra)}),
    st.sampled_from(["response.output_text.delta", "made.up"]), st.integers(-200, 200))


def _text(raw: str | bytes) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def _parsed(raw: str | bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


async def _run_call(frames: list[str | bytes], capture: Path) -> tuple[Call, list[Any]]:
    seen: list[Any] = []
    call = Call(CALL_ID, ScriptTransport(frames), capture=capture)
    call.subscribe(seen.append)
    call.start()
    status = await call.wait_ended(timeout=60)
    assert status.reason == "script finished", status
    await call.close()
    return call, seen


def _check(frames: list[str | bytes], call: Call, seen: list[Any], capture: Path) -> None:
    store = call.frames()
    header, loaded = read_capture(capture)
    assert header["call_id"] == CALL_ID
    assert "skipped_lines" not in header or header["skipped_lines"] == 0
    # The file and memory hold the same lines and the same flags, in seq order.
    assert len(loaded) == len(store) == len(seen)
    for i in range(len(store)):
        assert loaded.line(i) == store.line(i)
        assert loaded.flags(i) == store.flags(i)
        assert json.loads(store.line(i))["seq"] == i
    assert [f.seq for f in seen] == list(range(len(store)))
    ins = [i for i in range(len(store)) if store[i].direction == "in"]
    assert len(ins) == len(frames)
    assert call.stats.bad_frames == sum("bad" in store.flags(i) for i in ins)
    for raw, index in zip(frames, ins, strict=True):
        frame = store[index]
        line = store.line(index)
        rec = json.loads(line)
        value = _parsed(raw)
        is_event = isinstance(value, dict) and isinstance(value.get("type"), str)
        assert ("bad" in frame.flags) == (not is_event), (raw[:80], frame.flags)
        if not is_event:
            assert frame.type == BAD_FRAME_TYPE
            assert frame.event["error"]
            if "bad" in rec:  # not a JSON object: the text itself is kept
                assert rec["bad"] == _text(raw)
            else:             # a JSON object without a string type: kept as JSON
                assert rec["frame"] == value
            continue
        assert frame.type == value["type"]
        known = value["type"] in KNOWN or value["type"].startswith("rtwidgets.")
        assert ("unknown_type" in frame.flags) == (not known)
        assert ("huge" in frame.flags) == (len(line) > HUGE_FRAME_BYTES + 1)
        if "audio_dropped" in frame.flags:
            assert set(rec["frame"]) == set(value)  # blanked, not removed
        else:
            # Spliced verbatim: the wire bytes are on the line (newlines turned to spaces).
            wire = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
            assert wire.replace(b"\n", b" ").replace(b"\r", b" ") in line
            assert frame.event == value
    # A Recording of the same file reads the same frames.
    rec_call = load(capture)
    assert len(rec_call.frames()) == len(store)


def _roundtrip(frames: list[str | bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "c.jsonl"
        call, seen = asyncio.run(_run_call(frames, capture))
        _check(frames, call, seen, capture)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_frame, min_size=1, max_size=40))
def test_any_frames_are_captured_flagged_and_recoverable(frames: list[str | bytes]) -> None:
    _roundtrip(frames)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(_huge, min_size=1, max_size=2), st.lists(_frame, max_size=5))
def test_huge_frames_are_kept_and_flagged_at_the_limit(
        huge: list[str], others: list[str | bytes]) -> None:
    _roundtrip([*huge, *others])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_frame, st.sampled_from(["in", "out", "meta"])), max_size=30))
def test_session_state_never_raises_on_parsed_frames(
        frames: list[tuple[str | bytes, str]]) -> None:
    """What the receive path feeds (a parsed dict or the bad-frame record) never raises."""
    state = SessionState()
    for i, (raw, direction) in enumerate(frames):
        value = _parsed(raw)
        event = value if isinstance(value, dict) else {
            "type": BAD_FRAME_TYPE, "raw": _text(raw), "error": "not an object"}
        state.feed(event, direction=direction, t=float(i))  # type: ignore[arg-type]
    snap = state.snapshot()
    assert isinstance(snap, dict)
    assert list(state.items) == state.item_order
    state.transcript()
    state.pending_tool_calls()
