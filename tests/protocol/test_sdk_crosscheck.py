"""Cross-check with the openai SDK's GA types: what we build, the SDK's models accept."""

from __future__ import annotations

import base64
import typing
from typing import Any

import pydantic
import pytest
from openai.types.realtime import RealtimeClientEvent, SessionCreatedEvent

from rtwidgets.protocol import builders as b
from rtwidgets.protocol.ids import IdFactory
from rtwidgets.protocol.session import default_session, merge_session

AUDIO = base64.b64encode(b"\x10\x00" * 240).decode()
CLASSES: dict[str, type[pydantic.BaseModel]] = {
    typing.get_args(cls.model_fields["type"].annotation)[0]: cls
    for cls in typing.get_args(typing.get_args(RealtimeClientEvent)[0])
}
ADAPTER: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(RealtimeClientEvent)


def _extras(model: Any, path: str = "") -> list[str]:
    """Paths of fields the SDK model did not know (``extra="allow"`` hides them otherwise)."""
    found: list[str] = []
    if isinstance(model, pydantic.BaseModel):
        found += [f"{path}.{k}" for k in (model.model_extra or {})]
        for name in type(model).model_fields:
            found += _extras(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, (list, tuple)):
        for i, v in enumerate(model):
            found += _extras(v, f"{path}[{i}]")
    elif isinstance(model, dict):
        for k, v in model.items():
            found += _extras(v, f"{path}.{k}")
    return found


TOOL = {"type": "function", "name": "get_weather", "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}

BUILT: list[dict[str, Any]] = [
    b.session_update(
        model="gpt-realtime-2.1", instructions="Be brief.", output_modalities=["audio"],
        audio={
            "input": {"format": {"type": "audio/pcm", "rate": 24000},
                      "transcription": {"model": "gpt-4o-transcribe", "language": "en"},
                      "noise_reduction": {"type": "near_field"},
                      "turn_detection": {"type": "server_vad", "threshold": 0.6,
                                         "prefix_padding_ms": 300, "silence_duration_ms": 500,
                                         "idle_timeout_ms": 6000, "create_response": True,
                                         "interrupt_response": False}},
            "output": {"format": {"type": "audio/pcmu"}, "voice": "marin", "speed": 1.2},
        },
        tools=[TOOL, {"type": "mcp", "server_label": "docs",
                      "server_url": "https://example.com/mcp", "require_approval": "never"}],
        tool_choice={"type": "function", "name": "get_weather"}, max_output_tokens=512,
        truncation={"type": "retention_ratio", "retention_ratio": 0.5}, tracing="auto",
        reasoning={"effort": "low"}, parallel_tool_calls=False,
        include=["item.input_audio_transcription.logprobs"],
        prompt={"id": "pmpt_1", "version": "3", "variables": {"name": "Ada"}},
    ),
    b.session_update(audio={"input": {"turn_detection": {"type": "semantic_vad",
                                                         "eagerness": "low"}},
                            "output": {"voice": {"id": "voice_123"}}}),
    b.session_update(type="transcription", audio={"input": {"turn_detection": None}}),
    b.user_message("What is the weather?", previous_item_id="root"),
    b.system_message("Speak French."),
    b.function_call_output("call_9Q9eysr6LstYMEx6", {"temp": 21}),
    b.conversation_item_create({"type": "function_call", "name": "f", "arguments": "{}",
                                "call_id": "call_1"}),
    b.conversation_item_create({"type": "message", "role": "assistant", "content": [
        {"type": "output_text", "text": "hi"}, {"type": "output_audio", "transcript": "x"}]}),
    b.conversation_item_create({"type": "message", "role": "user", "content": [
        {"type": "input_audio", "audio": AUDIO},
        {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "auto"}]}),
    b.conversation_item_create({"type": "mcp_approval_response", "id": "a",
                                "approval_request_id": "r", "approve": False}),
    b.response_create(),
    b.response_create(instructions="Say bye.", output_modalities=["text"], conversation="none",
                      metadata={"topic": "bye"}, max_output_tokens="inf", tools=[TOOL],
                      tool_choice="auto",
                      audio={"output": {"voice": "cedar", "format": {"type": "audio/pcma"}}},
                      input=[{"type": "message", "role": "user",
                              "content": [{"type": "input_text", "text": "bye"}]}]),
    b.response_cancel(),
    b.response_cancel("resp_1"),
    b.conversation_item_retrieve("item_1"),
    b.conversation_item_truncate("item_1", 1200),
    b.conversation_item_delete("item_1"),
    b.input_audio_buffer_append(AUDIO),
    b.input_audio_buffer_commit(),
    b.input_audio_buffer_clear(),
    b.output_audio_buffer_clear(),
]


def test_every_client_event_type_is_covered() -> None:
    assert {e["type"] for e in BUILT} == set(CLASSES)


@pytest.mark.parametrize("event", BUILT, ids=lambda e: e["type"])
def test_builder_output_validates_against_sdk(event: dict[str, Any]) -> None:
    model = CLASSES[event["type"]].model_validate(event)
    assert getattr(model, "type", None) == event["type"]
    assert _extras(model) == []
    assert ADAPTER.validate_python(event).type == event["type"]
    # Round trip: the SDK serialises back what we built.
    assert model.model_dump(exclude_unset=True, mode="json") == event


def test_default_session_validates_as_session_created() -> None:
    session = default_session("gpt-realtime-2.1", IdFactory(1), created_at=1_767_000_000)
    ev = SessionCreatedEvent.model_validate(
        {"type": "session.created", "event_id": "event_x", "session": session}
    )
    assert ev.session.type == "realtime"
    extras = set(_extras(ev.session))
    assert extras == {".id", ".object", ".expires_at"}  # server-only fields (§9.4 caveat 3)
    dumped = ev.session.model_dump(mode="json")
    assert dumped["audio"]["output"]["voice"] == "alloy"


def test_merged_session_still_validates() -> None:
    session = default_session("gpt-realtime-2.1", IdFactory(1))
    for ev in BUILT[:2]:
        session = merge_session(session, ev["session"], audio_started=False)
    model = SessionCreatedEvent.model_validate(
        {"type": "session.created", "event_id": "e", "session": session}
    )
    assert set(_extras(model.session)) == {".id", ".object", ".expires_at"}
