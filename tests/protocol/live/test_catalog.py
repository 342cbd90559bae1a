"""The Live catalog agrees with the openai SDK's sideband unions and categorises every type."""

from __future__ import annotations

import typing
from typing import Any

from openai.types.live.connect_client_event import ConnectClientEvent
from openai.types.live.connect_client_event_param import ConnectClientEventParam
from openai.types.live.connect_server_event import ConnectServerEvent
from openai.types.live.server_event import ServerEvent

from rtwidgets.protocol.live.catalog import (
    AUDIO_PAYLOAD_FIELDS,
    CATEGORIES,
    CLIENT_EVENT_TYPES,
    DELTA_EVENT_TYPES,
    NOT_ON_SIDEBAND,
    REALTIME_ONLY,
    SERVER_EVENT_TYPES,
    SIDEBAND_ONLY_SERVER_TYPES,
    category_of,
    is_known,
)


def _members(union: object) -> tuple[Any, ...]:
    args = typing.get_args(union)
    if args and typing.get_origin(args[0]) is typing.Union:
        args = typing.get_args(args[0])
    return args


def _sdk_types(union: object) -> dict[str, Any]:
    out = {}
    for cls in _members(union):
        (literal,) = typing.get_args(cls.model_fields["type"].annotation)
        out[literal] = cls
    return out


SDK_SERVER = _sdk_types(ConnectServerEvent)
SDK_CLIENT = _sdk_types(ConnectClientEvent)


def test_server_types_are_exactly_the_sdk_sideband_union() -> None:
    assert len(SDK_SERVER) == 30
    assert set(SERVER_EVENT_TYPES) == set(SDK_SERVER)


def test_server_required_fields_match_the_sdk_models() -> None:
    for etype, cls in SDK_SERVER.items():
        required = {k for k, f in cls.model_fields.items() if f.is_required() and k != "type"}
        assert set(SERVER_EVENT_TYPES[etype]) == required, etype


def test_client_types_are_exactly_the_sdk_sideband_union() -> None:
    assert len(SDK_CLIENT) == 14
    assert set(CLIENT_EVENT_TYPES) == set(SDK_CLIENT)
    params = {typing.get_args(typing.get_type_hints(m, include_extras=True)["type"])[0]
              for m in _members(ConnectClientEventParam)}
    assert {typing.get_args(p)[0] for p in params} == set(CLIENT_EVENT_TYPES)


def test_client_fields_exist_on_the_sdk_models() -> None:
    # Every required field we list is a field of the SDK model (delegation_id is
    # Optional on the model but Required[Optional[str]] on the param TypedDict).
    for etype, fields in CLIENT_EVENT_TYPES.items():
        assert set(fields) <= set(SDK_CLIENT[etype].model_fields), etype
    for kind in ("instructions", "thinking", "commentary"):
        cls = SDK_CLIENT[f"session.{kind}.append"]
        assert "delegation_id" in cls.model_fields


def test_sideband_only_types_are_those_missing_from_the_primary_union() -> None:
    primary = _sdk_types(ServerEvent)
    assert set(SERVER_EVENT_TYPES) - set(primary) == SIDEBAND_ONLY_SERVER_TYPES


def test_refused_types_are_in_no_live_client_union() -> None:
    for etype in REALTIME_ONLY:
        assert etype not in CLIENT_EVENT_TYPES
    assert "session.start" not in CLIENT_EVENT_TYPES
    assert "session.input_audio.append" not in CLIENT_EVENT_TYPES
    assert set(NOT_ON_SIDEBAND) == {"session.start", "session.input_audio.append"}


def test_every_type_has_a_known_category() -> None:
    for etype in (*SERVER_EVENT_TYPES, *CLIENT_EVENT_TYPES):
        assert category_of(etype) in CATEGORIES
        assert category_of(etype) != "unknown", etype
        assert is_known(etype)
    assert category_of("response.cancel") == "unknown"
    assert category_of("rtwidgets.status") == "meta"
    assert not is_known("conversation.item.create")


def test_audio_and_delta_types_are_catalogued() -> None:
    for etype, fld in AUDIO_PAYLOAD_FIELDS.items():
        assert is_known(etype)
        cls = SDK_SERVER.get(etype) or SDK_CLIENT[etype]
        assert fld in cls.model_fields
    assert set(SERVER_EVENT_TYPES) >= DELTA_EVENT_TYPES
