"""event_sequence (analysis/_sequence.py): the compact, exact printout of a call's events that
the teaching notebook compares run to run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rtwidgets
from rtwidgets.analysis import EventSequence, event_sequence
from rtwidgets.analysis._synth import SyntheticCall, TurnIds
from rtwidgets.emulator import run_scenario


def test_virtual_events_fold_delta_runs_and_repeat_exactly() -> None:
    events = run_scenario("conversation", 3)
    seq = event_sequence(events, "input_audio_buffer.speech_started", "response.done")
    assert isinstance(seq, EventSequence)
    assert seq.lines[0] == "input_audio_buffer.speech_started"
    assert seq.lines[-1] == "response.done"
    folded = [line for line in seq.lines if "×" in line]
    assert folded, seq.lines
    assert all(line.split("   ×")[0].endswith(".delta") for line in folded)
    # Unfolded, the types are exactly the slice of the call's events.
    types = [e["type"] for e in events]
    start = types.index("input_audio_buffer.speech_started")
    stop = types.index("response.done", start + 1)
    assert seq.types == types[start:stop + 1]
    # Same seed, same call: the printout is byte-identical.
    again = event_sequence(run_scenario("conversation", 3), "input_audio_buffer.speech_started",
                           "response.done")
    assert str(seq) == str(again)
    assert repr(seq) == str(seq) == "\n".join(seq)


def test_fold_false_prints_every_event() -> None:
    events = run_scenario("conversation", 3)
    seq = event_sequence(events, fold=False)
    assert len(seq) == len(events)
    assert not any("×" in line for line in seq.lines)


def test_a_recording_marks_client_events(tmp_path: Path,
                                         standard: tuple[Path, SyntheticCall,
                                                         dict[str, TurnIds]]) -> None:
    path, _, _ = standard
    rec = rtwidgets.load(path)
    seq = rtwidgets.event_sequence(rec, "response.function_call_arguments.done")
    client = [line for line in seq.lines if line.endswith("(client)")]
    assert client, seq.lines
    assert all(line.split()[0] in {"conversation.item.create", "response.create"}
               for line in client)
    assert "rtwidgets." not in str(seq)           # meta frames are not events on the wire


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="start: no 'nope' event"):
        event_sequence(run_scenario("conversation", 3), "nope")
    bad: Any = {"type": "x"}
    with pytest.raises(TypeError, match="source:"):
        event_sequence(bad)
    # a stop that never follows runs to the end
    events = run_scenario("conversation", 3)
    assert event_sequence(events, "response.done", "never").types[-1] == events[-1]["type"]
