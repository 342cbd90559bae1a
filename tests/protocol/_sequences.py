"""Server event sequences of realtime-protocol.md §7.1-7.4, as fixtures for reducer tests.

Each builder returns a list of ``(event, direction, t)`` frames, shaped like the GA wire
(GW captures, SPEC): ``conversation.item.added``/``.done``, ``part.type`` "audio"/"text",
``obfuscation`` on deltas, usage in ``response.done``. Orders and field sets follow public
real traffic (issue 10): items carry no ``object``; the conversation's ``item.done`` comes
before the response's ``output_item.done``; ``rate_limits.updated`` (tokens only) follows
``response.done``; the first transcript delta precedes ``output_audio_buffer.started``.
"""

from __future__ import annotations

from typing import Any

from rtwidgets.protocol.ids import IdFactory

Frame = tuple[dict[str, Any], str, float]

USAGE = {
    "total_tokens": 320, "input_tokens": 132, "output_tokens": 188,
    "input_token_details": {
        "text_tokens": 59, "audio_tokens": 73, "image_tokens": 0, "cached_tokens": 64,
        "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 64, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 41, "audio_tokens": 147},
}


class Script:
    """Builds frames with server-shaped ids and a clock that ticks 10 ms per frame."""

    def __init__(self, seed: int = 0) -> None:
        self.ids = IdFactory(seed)
        self.frames: list[Frame] = []
        self.t = 1000.0
        self.last_item: str | None = None

    def ev(self, type_: str, **fields: Any) -> dict[str, Any]:
        event = {"type": type_, "event_id": self.ids.event_id(), **fields}
        self.t += 0.01
        self.frames.append((event, "in", round(self.t, 3)))
        return event

    def out(self, event: dict[str, Any]) -> None:
        self.t += 0.01
        self.frames.append((event, "out", round(self.t, 3)))

    def meta(self, event: dict[str, Any]) -> None:
        self.t += 0.01
        self.frames.append((event, "meta", round(self.t, 3)))

    # -- pieces --------------------------------------------------------------------------

    def user_audio(self, *, transcript: str | None = None, vad: bool = True) -> str:
        x = self.ids.item_id()
        prev = self.last_item
        if vad:
            self.ev("input_audio_buffer.speech_started", audio_start_ms=100, item_id=x)
            self.ev("input_audio_buffer.speech_stopped", audio_end_ms=1900, item_id=x)
        self.ev("input_audio_buffer.committed", item_id=x, previous_item_id=prev)
        item = {"id": x, "type": "message", "status": "completed", "role": "user",
                "content": [{"type": "input_audio", "transcript": None}]}
        self.ev("conversation.item.added", previous_item_id=prev, item=item)
        self.ev("conversation.item.done", previous_item_id=prev, item=item)
        self.last_item = x
        if transcript is not None:
            self.transcription(x, transcript)
        return x

    def transcription(self, item_id: str, transcript: str) -> None:
        half = len(transcript) // 2
        for delta in (transcript[:half], transcript[half:]):
            self.ev("conversation.item.input_audio_transcription.delta", item_id=item_id,
                    content_index=0, delta=delta)
        self.ev("conversation.item.input_audio_transcription.completed", item_id=item_id,
                content_index=0, transcript=transcript,
                usage={"type": "duration", "seconds": 2})

    def response_created(self, modalities: list[str] | None = None) -> str:
        r = self.ids.response_id()
        self.ev("response.created", response={
            "object": "realtime.response", "id": r, "status": "in_progress",
            "status_details": None, "output": [], "conversation_id": "conv_1",
            "output_modalities": modalities or ["audio"], "usage": None,
        })
        return r

    def assistant_item(self, r: str, index: int = 0) -> str:
        y = self.ids.item_id()
        item = {"id": y, "type": "message", "status": "in_progress", "role": "assistant",
                "content": []}
        self.ev("response.output_item.added", response_id=r, output_index=index, item=item)
        self.ev("conversation.item.added", previous_item_id=self.last_item, item=item)
        self.last_item = y
        return y

    def audio_content(self, r: str, y: str, words: list[str], *, webrtc: bool = False,
                      stop_after: int | None = None) -> str:
        """Audio part with transcript deltas; returns the transcript actually produced."""
        common = {"response_id": r, "item_id": y, "output_index": 0, "content_index": 0}
        self.ev("response.content_part.added", **common,
                part={"type": "audio", "transcript": ""})
        spoken = words if stop_after is None else words[:stop_after]
        for i, w in enumerate(spoken):
            self.ev("response.output_audio_transcript.delta", **common, delta=w,
                    obfuscation="z9A9dJucSf1J")
            if webrtc and i == 0:
                self.ev("output_audio_buffer.started", response_id=r)
            if not webrtc:
                self.ev("response.output_audio.delta", **common, delta="AAAA")
        text = "".join(spoken)
        self.ev("response.output_audio.done", **common)
        self.ev("response.output_audio_transcript.done", **common, transcript=text)
        self.ev("response.content_part.done", **common,
                part={"type": "audio", "transcript": text})
        return text

    def item_done(self, r: str, item: dict[str, Any], index: int = 0) -> None:
        self.ev("conversation.item.done", item=item)
        self.ev("response.output_item.done", response_id=r, output_index=index, item=item)

    def response_done(self, r: str, output: list[dict[str, Any]], status: str = "completed",
                      details: dict[str, Any] | None = None,
                      usage: dict[str, Any] | None = None,
                      modalities: list[str] | None = None) -> None:
        self.ev("response.done", response={
            "object": "realtime.response", "id": r, "status": status, "status_details": details,
            "output": output, "conversation_id": "conv_1",
            "output_modalities": modalities or ["audio"],
            "usage": usage if usage is not None else USAGE,
        })
        self.ev("rate_limits.updated", rate_limits=[
            {"name": "tokens", "limit": 40000, "remaining": 38490, "reset_seconds": 2.265}])


def audio_turn(*, webrtc: bool = False) -> tuple[Script, dict[str, str]]:
    """§7.1: server-VAD audio turn with input transcription."""
    s = Script(1)
    s.ev("session.created", session={"type": "realtime", "model": "gpt-realtime-2.1",
                                     "audio": {"output": {"voice": "alloy"}}})
    x = s.user_audio(transcript="What's the weather?")
    r = s.response_created()
    y = s.assistant_item(r)
    text = s.audio_content(r, y, ["It is ", "sunny ", "today."], webrtc=webrtc)
    done = {"id": y, "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_audio", "transcript": text}]}
    s.item_done(r, done)
    s.response_done(r, [done])
    if webrtc:
        s.ev("output_audio_buffer.stopped", response_id=r)
    return s, {"x": x, "y": y, "r": r}


def text_turn() -> tuple[Script, dict[str, str]]:
    """§7.2: client text message, then a text response."""
    s = Script(2)
    u = s.ids.item_id()
    s.out({"type": "conversation.item.create", "event_id": "evt_c1", "item": {
        "id": u, "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "Hi there"}]}})
    item = {"id": u, "type": "message", "status": "completed", "role": "user",
            "content": [{"type": "input_text", "text": "Hi there"}]}
    s.ev("conversation.item.added", previous_item_id=None, item=item)
    s.ev("conversation.item.done", previous_item_id=None, item=item)
    s.last_item = u
    s.out({"type": "response.create", "event_id": "evt_c2",
           "response": {"output_modalities": ["text"]}})
    r = s.response_created(["text"])
    y = s.assistant_item(r)
    common = {"response_id": r, "item_id": y, "output_index": 0, "content_index": 0}
    s.ev("response.content_part.added", **common, part={"type": "text", "text": ""})
    for d in ("Hello", "! How ", "can I help?"):
        s.ev("response.output_text.delta", **common, delta=d, obfuscation="x")
    s.ev("response.output_text.done", **common, text="Hello! How can I help?")
    s.ev("response.content_part.done", **common,
         part={"type": "text", "text": "Hello! How can I help?"})
    done = {"id": y, "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello! How can I help?"}]}
    s.item_done(r, done)
    s.response_done(r, [done], usage={"total_tokens": 30, "input_tokens": 10,
                                      "output_tokens": 20,
                                      "input_token_details": {"text_tokens": 10},
                                      "output_token_details": {"text_tokens": 20}},
                    modalities=["text"])
    return s, {"u": u, "y": y, "r": r}


def function_call_turn(*, answer: str = "out") -> tuple[Script, dict[str, str]]:
    """§7.3: a spoken lead-in, then a function call; answered by us, a peer, or nobody."""
    s = Script(3)
    x = s.user_audio(transcript="Weather in Paris?")
    r = s.response_created()
    y = s.assistant_item(r)
    lead = s.audio_content(r, y, ["Let me ", "check."])
    lead_done = {"id": y, "type": "message", "status": "completed", "role": "assistant",
                 "content": [{"type": "output_audio", "transcript": lead}]}
    s.item_done(r, lead_done)
    f, call_id = s.ids.item_id(), s.ids.function_call_id()
    added = {"id": f, "type": "function_call", "status": "in_progress", "name": "get_weather",
             "call_id": call_id, "arguments": ""}
    s.ev("response.output_item.added", response_id=r, output_index=1, item=added)
    s.ev("conversation.item.added", previous_item_id=y, item=added)
    s.last_item = f
    args = '{"city": "Paris"}'
    for d in ('{"city": ', '"Paris"}'):
        s.ev("response.function_call_arguments.delta", response_id=r, item_id=f,
             output_index=1, call_id=call_id, delta=d)
    s.ev("response.function_call_arguments.done", response_id=r, item_id=f, output_index=1,
         call_id=call_id, name="get_weather", arguments=args)
    fdone = {**added, "status": "completed", "arguments": args}
    s.item_done(r, fdone, 1)
    s.response_done(r, [lead_done, fdone])
    out_id = s.ids.item_id()
    output_item = {"id": out_id, "type": "function_call_output", "call_id": call_id,
                   "output": '{"temp": 21}'}
    if answer == "out":
        s.out({"type": "conversation.item.create", "event_id": "evt_answer",
               "item": output_item})
        s.meta({"type": "rtwidgets.tool_answered", "call_id": call_id, "by": "handler"})
    if answer in ("out", "peer"):
        s.ev("conversation.item.added", previous_item_id=f,
             item={**output_item, "status": "completed"})
        s.ev("conversation.item.done", previous_item_id=f,
             item={**output_item, "status": "completed"})
        s.last_item = out_id
    return s, {"x": x, "y": y, "r": r, "f": f, "call_id": call_id, "out": out_id}


def barge_in() -> tuple[Script, dict[str, str]]:
    """§7.4: the caller talks over the assistant; server VAD cancels; we truncate."""
    s = Script(4)
    s.user_audio(transcript="Tell me a story")
    r = s.response_created()
    y = s.assistant_item(r)
    s.ev("response.content_part.added", response_id=r, item_id=y, output_index=0,
         content_index=0, part={"type": "audio", "transcript": ""})
    for i, w in enumerate(("Once ", "upon ")):
        s.ev("response.output_audio_transcript.delta", response_id=r, item_id=y,
             output_index=0, content_index=0, delta=w)
        if i == 0:
            s.ev("output_audio_buffer.started", response_id=r)
    x2 = s.ids.item_id()
    s.ev("input_audio_buffer.speech_started", audio_start_ms=5000, item_id=x2)
    s.ev("response.output_audio.done", response_id=r, item_id=y, output_index=0,
         content_index=0)
    s.ev("response.output_audio_transcript.done", response_id=r, item_id=y, output_index=0,
         content_index=0, transcript="Once upon ")
    s.ev("response.content_part.done", response_id=r, item_id=y, output_index=0,
         content_index=0, part={"type": "audio", "transcript": "Once upon "})
    inc = {"id": y, "type": "message", "status": "incomplete", "role": "assistant",
           "content": [{"type": "output_audio", "transcript": "Once upon "}]}
    s.item_done(r, inc)
    s.response_done(r, [inc], status="cancelled",
                    details={"type": "cancelled", "reason": "turn_detected"})
    s.ev("output_audio_buffer.cleared", response_id=r)
    s.out({"type": "conversation.item.truncate", "event_id": "evt_trunc", "item_id": y,
           "content_index": 0, "audio_end_ms": 640})
    s.ev("conversation.item.truncated", item_id=y, content_index=0, audio_end_ms=640)
    return s, {"y": y, "r": r, "x2": x2}
