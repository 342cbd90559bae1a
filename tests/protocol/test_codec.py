"""The codec seam: the normalized events and intents are plain frozen data, and a codec is
recognised by its interface."""

from __future__ import annotations

import dataclasses

import pytest

from rtwidgets.protocol import codec as ce
from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.realtime import REALTIME

_EVENT_CLASSES = [c for c in vars(ce).values()
                  if isinstance(c, type) and dataclasses.is_dataclass(c)]


def test_every_normalized_event_and_intent_is_frozen_and_slotted() -> None:
    assert len(_EVENT_CLASSES) > 30
    for cls in _EVENT_CLASSES:
        params = cls.__dataclass_params__  # type: ignore[attr-defined]
        assert params.frozen, cls
        assert "__slots__" in vars(cls), cls


def test_events_cannot_be_changed_after_decoding() -> None:
    event = ce.TranscriptDelta("agent", "item_1", "Hi")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.delta = "Bye"  # type: ignore[misc]


def test_the_shapes_hold_a_live_delegation_and_cumulative_seconds() -> None:
    # GPT-Live (live-protocol.md §4): a delegation, not a response; usage in cumulative
    # seconds without tokens; transcript deltas without response or item ids.
    started = ce.ResponseStarted("resp_1", kind="delegation", target="responses")
    usage = ce.Usage(seconds=28.0, active_seconds=20, paused_seconds=8, cumulative=True)
    delta = ce.TranscriptDelta("caller", "seg_0", "hello", start_ms=1200, end_ms=1400)
    assert started.kind == "delegation"
    assert usage.input_tokens is None
    assert delta.response_id is None
    ended = ce.CallEnded("close_requested", usage)
    assert ended.usage is not None
    assert ended.usage.cumulative


def test_the_realtime_codec_is_a_codec() -> None:
    assert isinstance(REALTIME, ce.Codec)
    assert REALTIME.api == "realtime"


def test_an_unsupported_intent_is_a_validation_error_naming_the_action() -> None:
    err = ce.UnsupportedIntent("truncate", "live", "the context is append-only",
                               "stop speech with a fixture instead")
    assert isinstance(err, ValidationError)
    assert err.field == "truncate"
    assert "live API has no way" in err.problem
    assert "Fix: stop speech" in str(err)
