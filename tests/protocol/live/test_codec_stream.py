"""The Live codec's stream fast path (``stream_fields``) folds exactly what ``decode`` does.

Why: the reducer folds an agent transcript fragment that continues the open segment from
``LiveCodec.stream_fields`` without making events (the receive path's hot step), while every
other fragment is decoded. Live segments carry per-call codec state (open/close by speaker
and timeline gap, replays dropped), so the shortcut must leave the ``SessionState`` *and*
the codec's segment state exactly as decode+apply would: pinned here on the real Live
traces, the emulator's Live scenario runs and generated fragment sequences (floats, bools,
replays, gaps, malformed fields)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtwidgets.emulator import list_scenarios, run_scenario
from rtwidgets.protocol.live.codec import LIVE, SEGMENT_GAP_MS, LiveCodec
from rtwidgets.protocol.state import SessionState

FRAMES = Path(__file__).resolve().parents[2] / "reality" / "frames"
TRACES = sorted(p.stem for p in FRAMES.glob("live_spike_*.json"))
RESPONSES = {"model": "gpt-live-1", "delegation": {
    "type": "responses", "responses": {"model": "gpt-5.4", "tools": []}}}
CLIENT = {"model": "gpt-live-1", "delegation": {"type": "client"}}
# What the reducer holds that is machinery, not state.
_MACHINERY = {"codec", "_apply", "_decode", "_stream_types", "_stream_fields", "_stream_misses",
              "_stream_fold"}


def _reference() -> SessionState:
    """The reducer with its stream shortcut off: every frame decoded, its events applied."""
    state = SessionState(LIVE)
    state._stream_types = frozenset()
    return state


def _state_of(state: SessionState) -> dict[str, Any]:
    codec = state.codec
    assert isinstance(codec, LiveCodec)
    seen = {k: v for k, v in vars(codec).items() if k not in ("_in", "_out")}
    folded = {k: getattr(state, k) for k in dir(state)
              if not k.startswith("__") and k not in _MACHINERY and not callable(getattr(state, k))}
    return {"state": folded, "codec": seen}


def _fold_both(frames: list[Any]) -> tuple[SessionState, SessionState]:
    fast, ref = SessionState(LIVE), _reference()
    for i, frame in enumerate(frames):
        t = 1000.0 + i * 0.01
        etype = frame.get("type") if type(frame) is dict else None
        if type(etype) is str and i % 2:
            fast.feed_in(frame, etype, t)  # the Call's receive path
        else:
            fast.feed(frame, direction="in", t=t)  # replay, load, recordings
        ref.feed(frame, direction="in", t=t)
        assert _state_of(fast) == _state_of(ref), (i, frame)
    return fast, ref


@pytest.mark.parametrize("name", TRACES)
def test_real_live_traces_fold_the_same(name: str) -> None:
    frames = json.loads((FRAMES / f"{name}.json").read_text())["frames"]
    fast, _ = _fold_both(frames)
    assert fast.events_in == len(frames)


@pytest.mark.parametrize("config", [None, CLIENT, RESPONSES], ids=["null", "client",
                                                                    "responses"])
@pytest.mark.parametrize("scenario", list_scenarios())
def test_emulator_live_runs_fold_the_same(scenario: str, config: Any) -> None:
    frames = [f for f in run_scenario(scenario, 7, api="live", session=config)
              if "raw" not in f]
    fast, _ = _fold_both(frames)
    assert fast.transcript(), scenario  # segments were built


def test_the_fast_path_is_taken_for_agent_continuations_only() -> None:
    # Cannot pass vacuously: the shortcut does fire (no events) for a continuation, and a
    # new segment, a caller fragment and a replay go to decode (events or a drop).
    state = SessionState(LIVE)

    def frag(kind: str, start: int, eid: str) -> dict[str, Any]:
        return {"type": f"session.{kind}_transcript.delta", "start_ms": start,
                "end_ms": start + 200, "delta": " w", "event_id": eid}

    assert state.feed_in(frag("output", 0, "e1"), "session.output_transcript.delta", 1.0)
    assert state.feed_in(frag("output", 200, "e2"), "session.output_transcript.delta", 1.1) == ()
    assert state.codec.stream_fields(frag("output", 200, "e2")) is None  # replay
    assert state.codec.stream_fields(frag("output", 400 + SEGMENT_GAP_MS, "e3")) is None
    assert state.codec.stream_fields(frag("input", 600, "e4")) is None
    assert state.transcript()[0].text == " w w"
    assert state.items["seg_out_0"].text == " w w"


_ints = st.integers(-100, 8000)
_times = st.one_of(_ints, _ints, _ints, st.floats(-100, 8000, allow_nan=False),
                   st.booleans(), st.none(), st.just("12"))
_fragments = st.builds(
    lambda kind, start, length, delta, eid: {
        "type": f"session.{kind}_transcript.delta", "start_ms": start,
        "end_ms": (start + length) if type(start) is int else length,
        "delta": delta, **({"event_id": eid} if eid is not None else {})},
    st.sampled_from(["input", "output", "output", "output"]), _times,
    st.integers(0, 3000), st.one_of(st.text(max_size=3), st.none(), st.integers()),
    st.one_of(st.none(), st.sampled_from(["e1", "e2", "e3", "e4", "e5"]), st.integers()))
_others = st.sampled_from([
    {"type": "session.usage.updated", "usage": {"seconds": 3}},
    {"type": "session.output_audio.delta", "delta": "AAAA"},
    {"type": "session.closed", "reason": "client_closed"},
])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_fragments, _fragments, _fragments, _others), max_size=40))
def test_generated_fragment_sequences_fold_the_same(frames: list[dict[str, Any]]) -> None:
    _fold_both(frames)
