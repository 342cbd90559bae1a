"""The event catalog agrees with the openai SDK's GA unions and categorises every type."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent

from rtwidgets.protocol.catalog import (
    AUDIO_PAYLOAD_FIELDS,
    CATEGORIES,
    CLIENT_EVENT_TYPES,
    DELTA_EVENT_TYPES,
    SERVER_EVENT_TYPES,
    SIDEBAND_CLIENT_EVENT_TYPES,
    category_of,
    is_known,
)


def _sdk_types(union: object) -> dict[str, Any]:
    inner = typing.get_args(union)[0]
    out = {}
    for cls in typing.get_args(inner):
        (literal,) = typing.get_args(cls.model_fields["type"].annotation)
        out[literal] = cls
    return out


def test_client_types_match_sdk_union() -> None:
    assert set(CLIENT_EVENT_TYPES) == set(_sdk_types(RealtimeClientEvent))


def test_server_types_cover_sdk_union_minus_beta_leftovers() -> None:
    sdk = set(_sdk_types(RealtimeServerEvent))
    beta = {"conversation.created", "conversation.item.created"}
    assert sdk - set(SERVER_EVENT_TYPES) <= beta
    assert set(SERVER_EVENT_TYPES) - sdk == set()


@pytest.mark.parametrize("event_type", sorted(CLIENT_EVENT_TYPES))
def test_client_required_fields_match_sdk(event_type: str) -> None:
    cls = _sdk_types(RealtimeClientEvent)[event_type]
    required = {
        name for name, f in cls.model_fields.items() if f.is_required() and name != "type"
    }
    assert required == set(CLIENT_EVENT_TYPES[event_type])


@pytest.mark.parametrize("event_type", sorted(SERVER_EVENT_TYPES))
def test_server_required_fields_are_sdk_fields(event_type: str) -> None:
    cls = _sdk_types(RealtimeServerEvent)[event_type]
    assert set(SERVER_EVENT_TYPES[event_type]) <= set(cls.model_fields)


def test_every_known_type_has_a_real_category() -> None:
    for t in (*CLIENT_EVENT_TYPES, *SERVER_EVENT_TYPES):
        assert category_of(t) in CATEGORIES
        assert category_of(t) not in ("unknown", "meta"), t
        assert is_known(t)


@pytest.mark.parametrize(
    ("event_type", "category"),
    [
        ("session.updated", "session"),
        ("conversation.item.added", "conversation"),
        ("input_audio_buffer.speech_started", "input_audio"),
        ("output_audio_buffer.started", "output_audio"),
        ("response.output_audio.delta", "output_audio"),
        ("response.created", "response"),
        ("response.output_audio_transcript.delta", "transcript"),
        ("conversation.item.input_audio_transcription.completed", "transcript"),
        ("response.function_call_arguments.done", "tool"),
        ("rate_limits.updated", "rate_limits"),
        ("error", "error"),
        ("response.mcp_call.completed", "mcp"),
        ("mcp_list_tools.completed", "mcp"),
        ("rtwidgets.gap", "meta"),
        ("response.audio.delta", "unknown"),  # beta name: not GA
        ("made.up", "unknown"),
    ],
)
def test_category_of(event_type: str, category: str) -> None:
    assert category_of(event_type) == category


def test_derived_sets() -> None:
    assert "input_audio_buffer.append" not in SIDEBAND_CLIENT_EVENT_TYPES
    assert set(CLIENT_EVENT_TYPES) > SIDEBAND_CLIENT_EVENT_TYPES
    assert all(t.endswith(".delta") for t in DELTA_EVENT_TYPES)
    assert "response.output_text.delta" in DELTA_EVENT_TYPES
    assert set(AUDIO_PAYLOAD_FIELDS) <= set(CLIENT_EVENT_TYPES) | set(SERVER_EVENT_TYPES)
    assert not is_known("rtwidgets.gap")
