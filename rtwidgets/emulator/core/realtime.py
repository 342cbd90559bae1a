"""The Realtime GA session core: one call's server side, sans-I/O, on a virtual clock.

Why: the emulator must behave like the server for one call (realtime-protocol.md §5-§8) and,
with a seed, send the same bytes every run (architecture rule 7). This object is the whole
behaviour of a call and nothing else: partial session merges, a conversation that honours
``previous_item_id``, one active response at a time, errors that name the client's
``event_id``, the documented event sequences of a caller turn and a model turn, usage and
caching. It never sends, sleeps or reads a clock; the shell (``_call.py``) or a virtual run
(``run.py``) drives it:

- ``receive(frame, now)`` a client frame that arrived at call time ``now`` -> outputs;
- ``advance(now)`` -> the outputs of everything due up to ``now``, each computed at the call
  time it was due (so a late shell sends the same events, only later);
- ``next_deadline()`` -> when to call ``advance`` next (None: only a client can move it);
- ``start``, ``attach``, ``end`` for the call's life.

Call time is milliseconds from when the caller starts (the attach of a held call, the
accept of a SIP call); ids' time stems and every call-time field (``audio_start_ms`` …) come
from it. The scripted caller (``caller.py``) and model (``model.py``) are separate objects
this core hosts; faults are a layer around it (``_faults.FaultLayer``).

Observed in public real traffic (issue 10), so not switches: the assistant's
``conversation.item.done`` precedes ``response.output_item.done``; the first output transcript
delta precedes ``output_audio_buffer.started``; with manual commits (no turn detection) the
client's ``response.created`` precedes the input transcription; text that is not JSON is
``invalid_json`` and an unknown type ``invalid_value``; items carry no ``object``;
``rate_limits`` lists only ``tokens``; ``obfuscation`` is mixed-case base62; later turns of a
long call report cached audio tokens; a response cancelled by barge-in (``turn_detected``)
reports zero usage.

Decisions where the public record is silent (each is a switch on ``EmulatorOptions``):
- ``session.created`` is sent to a sideband on attach only if ``session_created_on_attach``
  (default False, per pydantic-ai#6676); a ``?model=`` session always gets it first.
- ``rate_limits.updated`` follows ``response.done`` (observed; ``rate_limits_position``
  "after_done") unless "end" (just before ``response.done``, the older GW capture) or
  "start" (after ``response.created``, as SPEC says).
- WebRTC/SIP sessions send no ``response.output_audio.delta`` unless ``audio_deltas``;
  ``input_audio_buffer.append`` on a call's sideband is refused
  (``invalid_event_for_transport``, as the HF emulator does).
- On a barge-in the server truncates the interrupted assistant item itself
  (``conversation.item.truncated`` after ``output_audio_buffer.cleared``).
- With server VAD the input transcription completes before the automatic response starts
  (the docs allow either order; one timeline per call keeps seeded runs identical).
- Caching: the input the previous response read is cached, per modality, in 64-token blocks.
- A function call's id is accepted in any ``function_call_output``; only a matching one
  unlocks the scripted follow-up (all of them, for parallel calls).
- ``idle_timeout_ms`` (server VAD): the silence is counted from when the model's last
  response finished playing (its ``response.done`` without RTP audio) and reset by the
  caller's speech or a new response. When it runs out: ``input_audio_buffer.timeout_triggered``
  (``audio_start_ms`` the playback end, ``audio_end_ms`` that plus the timeout, call time from
  the caller's start), then ``input_audio_buffer.committed`` and an empty user audio item (no
  input transcription: there was no speech), then the automatic response (the order SPEC
  describes, realtime-protocol.md §7.4). The model says the silent turn's reply.
- DTMF (``input_audio_buffer.dtmf_event_received``) goes out on SIP calls only, with no
  ``event_id`` (as the SDK's class has none); ``received_at`` is the session's creation second
  plus the call time. It neither interrupts nor answers the model: the app decides.
- A refer (``refer(target_uri, now)``) is noted (``emulator.call_transferred``) and ends the
  call (``referred``).

Never: imports from rtwidgets outside ``rtwidgets.protocol`` and ``rtwidgets.emulator``;
reads a clock or does I/O; keeps a reference to an API key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Literal

from rtwidgets.protocol.builders import validate_client_event
from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.ids import IdFactory
from rtwidgets.protocol.session import default_session, merge_session

from .._scenario import Scenario, ScenarioError, ToolReply
from .base import CallStatus, CoreOptions, SessionCore
from .clock import Process, ProcessGen, Until
from .model import Output
from .outputs import Out

__all__ = ["SEEDED_EPOCH", "CallStatus", "CoreOptions", "RealtimeSession", "call_streams",
           "initial_session"]

Transport = Literal["webrtc", "sip", "websocket"]


@dataclass
class _Response:
    id: str
    plan: list[Output]
    modalities: list[str]
    voice: Any
    out_of_band: bool
    metadata: Any = None
    cancel_reason: str | None = None
    output_items: list[dict[str, Any]] = field(default_factory=list)
    audio_ms: int = 0
    proc: Process | None = None


@dataclass
class _Playback:
    response_id: str
    item_id: str
    start: float                  # call time the first audio went out
    audio_ms: int = 0             # audio generated for the item so far
    end: float | None = None      # call time playback drains (known once generation ends)
    proc: Process | None = None


def _words(text: str) -> list[str]:
    """Split into delta chunks the way the model streams them: a word and its leading space."""
    parts = text.split(" ")
    return [p if i == 0 else " " + p for i, p in enumerate(parts) if p or i == 0]


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


class RealtimeSession(SessionCore):
    """The server side of one Realtime call (or one ``?model=`` session), sans-I/O."""

    SNAPSHOT = "session.created"

    def __init__(
        self,
        *,
        call_id: str,
        transport: Transport,
        scenario: Scenario,
        session: dict[str, Any],
        options: CoreOptions,
        ids: IdFactory,
        rng: random.Random,
        hold_until_attached: bool = True,
    ) -> None:
        self.transport = transport
        super().__init__(call_id=call_id, incoming=transport == "sip", scenario=scenario,
                         session=session, options=options, ids=ids, rng=rng,
                         hold_until_attached=hold_until_attached)
        self.audio_started = False
        self._webrtc_like = transport in ("webrtc", "sip")
        self._active: _Response | None = None
        self._oob: list[_Response] = []
        self._conv_id: str | None = None
        self._playback: _Playback | None = None
        self._last_response_id: str | None = None
        self._input_audio_bytes = 0
        self._audio_chunk: str | None = None
        self._cache_prefix: tuple[int, int] = (0, 0)   # (text, audio) the last response read
        self._responses_created = 0
        # The wall-clock second the session was created (expires_at is an hour later): the
        # base of received_at on DTMF events, without reading a clock.
        self._epoch = max(0, int(session.get("expires_at") or 3600) - 3600)
        self._speech_seq = 0                   # caller speech starts so far (idle timer)
        self._idle_proc: Process | None = None
        self._idle_reply: str | ToolReply | None = None

    def __repr__(self) -> str:
        return f"<RealtimeSession {self.call_id} {self.transport} {self.status} t={self.now:g}ms>"

    # ------------------------------------------------------------------ the sans-I/O API

    @property
    def clock_running(self) -> bool:
        """Whether call time runs: the caller started, or a ``?model=`` session is open."""
        return self.caller_t0 is not None or (self.transport == "websocket"
                                              and self.status == "active")

    def receive(self, frame: str | dict[str, Any], now: float, *, socket: str = "ws1",
                binary: bool = False) -> list[Out]:
        """A client frame (wire text, or an event dict) that arrived at call time ``now``.

        Errors answer, never raise. Error codes as observed in real traffic: text that is
        not JSON is ``invalid_json``, an unknown ``type`` is ``invalid_value``, a binary frame
        that is not JSON is ``invalid_event``.
        """
        outs = self.advance(now)
        if isinstance(frame, str):
            try:
                event = json.loads(frame)
            except json.JSONDecodeError as exc:
                self._note_received(socket, None, frame[:10_000])
                if binary:
                    self.error("invalid_event", "The server expects text frames holding "
                               "JSON client events, not binary data.")
                else:
                    self.error("invalid_json",
                               f"The server could not parse the JSON of the client event: "
                               f"{exc.msg} at position {exc.pos}.")
                return outs + self._take()
        else:
            event = frame
        self._note_received(socket, event, None)
        self._handle(event)
        self.sched.settle()
        return outs + self._take()

    def start(self, now: float = 0.0) -> list[Out]:
        """The call runs (at once for WebRTC, on accept for SIP): the caller may start."""
        outs = self.advance(now)
        self.status = "active"
        self._maybe_start_caller()
        return outs + self._take()

    def _snapshot_on_attach(self) -> bool:
        # ``session.created`` to a sideband only if so configured; a ``?model=`` session
        # always gets it first.
        return self.options.session_created_on_attach or self.transport == "websocket"

    def refer_check(self, target_uri: str) -> None:
        """``ValueError`` naming ``target_uri`` if a refer to it cannot go ahead now."""
        if not isinstance(target_uri, str) or not target_uri.startswith(("tel:", "sip:",
                                                                          "sips:")):
            raise ValueError(f"target_uri: must be a tel: or sip: URI, got {target_uri!r}. "
                             "Fix: e.g. 'tel:+14155550123' or 'sip:agent@example.com'")
        if self.status != "active":
            raise ValueError(f"target_uri: call {self.call_id} is {self.status}, not connected. "
                             "Fix: refer a call after it is accepted and before it ends")

    # ------------------------------------------------------------------ outputs

    def _note_received(self, socket: str, event: Any, raw: str | None) -> None:
        self._out.append(Out("received", self.now, event=event, raw=raw, only=socket))

    def error(self, code: str | None, message: str, *, param: str | None = None,
              event_id: str | None = None, type_: str = "invalid_request_error") -> None:
        self.emit("error", error={"type": type_, "code": code, "message": message,
                                  "param": param, "event_id": event_id})

    # ------------------------------------------------------------------ client events

    def _handle(self, event: Any) -> None:
        client_event_id = None
        if isinstance(event, dict) and isinstance(event.get("event_id"), str):
            client_event_id = event["event_id"]
        try:
            validate_client_event(event)
        except ValidationError as err:
            error = err.to_error(client_event_id)
            if isinstance(event, dict) and isinstance(event.get("type"), str) and \
                    err.code == "invalid_event" and err.field == "type":
                # A type string the server does not know: real traffic says invalid_value.
                error["code"] = "invalid_value"
            self.emit("error", error=error)
            return
        handler = getattr(self, "_on_" + event["type"].replace(".", "_"))
        try:
            handler(event, client_event_id)
        except Exception as exc:
            # A bug here must not kill the socket: answer like a server-side failure, and
            # leave the evidence in the record for the test that will look for it.
            self.meta("emulator_error", {"error": f"{type(exc).__name__}: {exc}",
                                         "client_event_type": event["type"]})
            self.error(None, "The server had an error while processing your request.",
                       event_id=client_event_id, type_="server_error")

    def _on_session_update(self, event: dict[str, Any], eid: str | None) -> None:
        try:
            merged = merge_session(self.session, event["session"],
                                   audio_started=self.audio_started)
        except ValidationError as err:
            self.emit("error", error=err.to_error(eid))
            return
        self.session = merged
        self.emit("session.updated", session=self.session)

    def _previous_of_new(self) -> str | None:
        return self.order[-1] if self.order else None

    def _insert(self, item: dict[str, Any], previous_item_id: str | None) -> str | None:
        """Insert ``item`` after ``previous_item_id`` (``None``: at the end; ``"root"``: first)."""
        if previous_item_id is None:
            prev = self._previous_of_new()
            self.order.append(item["id"])
        elif previous_item_id == "root":
            prev = None
            self.order.insert(0, item["id"])
        else:
            prev = previous_item_id
            self.order.insert(self.order.index(previous_item_id) + 1, item["id"])
        self.items[item["id"]] = item
        return prev

    def _on_conversation_item_create(self, event: dict[str, Any], eid: str | None) -> None:
        item = dict(event["item"])
        prev_req = event.get("previous_item_id")
        if prev_req is not None and prev_req != "root" and prev_req not in self.items:
            self.error("invalid_value",
                       f"Error adding item: the previous item with id '{prev_req}' "
                       "does not exist.", param="previous_item_id", event_id=eid)
            return
        item_id = item.get("id") or self.ids.item_id()
        if item_id in self.items:
            self.error("invalid_value",
                       f"Error adding item: an item with id '{item_id}' already exists.",
                       param="item.id", event_id=eid)
            return
        item = {"id": item_id, **item}
        item.setdefault("status", "completed")
        if item.get("type") == "message":
            item["content"] = [dict(c) for c in item.get("content", [])]
        prev = self._insert(item, prev_req)
        self.emit("conversation.item.added", previous_item_id=prev, item=item)
        self.emit("conversation.item.done", previous_item_id=prev, item=item)
        if item.get("type") == "function_call_output":
            self.model.tool_answered(str(item.get("call_id")), str(item.get("output", "")))

    def _unknown_item(self, op: str, verb: str, item_id: str, eid: str | None) -> None:
        self.error(f"item_{op}_invalid_item_id",
                   f"Error {verb} item: the item with id '{item_id}' does not exist.",
                   param="item_id", event_id=eid)

    def _on_conversation_item_delete(self, event: dict[str, Any], eid: str | None) -> None:
        item_id = event["item_id"]
        if item_id not in self.items:
            self._unknown_item("delete", "deleting", item_id, eid)
            return
        del self.items[item_id]
        self.order.remove(item_id)
        self.emit("conversation.item.deleted", item_id=item_id)

    def _on_conversation_item_retrieve(self, event: dict[str, Any], eid: str | None) -> None:
        item_id = event["item_id"]
        if item_id not in self.items:
            self._unknown_item("retrieve", "retrieving", item_id, eid)
            return
        self.emit("conversation.item.retrieved", item=_public(self.items[item_id]))

    def _on_conversation_item_truncate(self, event: dict[str, Any], eid: str | None) -> None:
        item_id = event["item_id"]
        item = self.items.get(item_id)
        if item is None:
            self._unknown_item("truncate", "truncating", item_id, eid)
            return
        content = item.get("content") or []
        if item.get("role") != "assistant" or not any(
                c.get("type") == "output_audio" for c in content):
            self.error("invalid_value", "Only assistant messages with audio can be truncated.",
                       param="item_id", event_id=eid)
            return
        index = event["content_index"]
        if index >= len(content):
            self.error("invalid_value", f"Content index {index} is out of range.",
                       param="content_index", event_id=eid)
            return
        audio_ms = int(item.get("_audio_ms", 0))
        end_ms = event["audio_end_ms"]
        if end_ms > audio_ms:
            self.error("invalid_value",
                       f"Audio content of {audio_ms}ms is already shorter than {end_ms}ms",
                       param="audio_end_ms", event_id=eid)
            return
        self._truncate(item_id, index, end_ms)

    def _truncate(self, item_id: str, index: int, end_ms: int) -> None:
        item = self.items.get(item_id)
        if item is not None:
            # Emitted events share these objects: replace, never mutate in place.
            content = list(item.get("content") or [])
            if index < len(content):
                content[index] = {**content[index], "transcript": ""}
                item["content"] = content
        self.emit("conversation.item.truncated", item_id=item_id, content_index=index,
                  audio_end_ms=end_ms)

    def _on_input_audio_buffer_append(self, event: dict[str, Any], eid: str | None) -> None:
        if self._webrtc_like:
            self.error("invalid_event_for_transport",
                       "input_audio_buffer.append is not supported on this connection: "
                       "the call's audio arrives over its media transport.",
                       param="type", event_id=eid)
            return
        self._input_audio_bytes += len(base64.b64decode(event["audio"]))

    def _on_input_audio_buffer_commit(self, event: dict[str, Any], eid: str | None) -> None:
        ms = self._input_audio_bytes / 48.0   # pcm16 mono 24 kHz
        if ms < 100:
            self.error("input_audio_buffer_commit_empty",
                       "Error committing input audio buffer: buffer too small. Expected "
                       f"at least 100ms of audio, but buffer only has {ms:.2f}ms of audio.",
                       event_id=eid)
            return
        self._input_audio_bytes = 0
        item_id = self.ids.item_id()
        item: dict[str, Any] = {"id": item_id, "type": "message", "status": "completed",
                                "role": "user",
                                "content": [{"type": "input_audio", "transcript": None}]}
        prev = self._insert(item, None)
        self.emit("input_audio_buffer.committed", item_id=item_id, previous_item_id=prev)
        self.emit("conversation.item.added", previous_item_id=prev, item=dict(item))
        self.emit("conversation.item.done", previous_item_id=prev, item=dict(item))
        item["_audio_tokens"] = max(1, int(ms) // 100)

    def _on_input_audio_buffer_clear(self, event: dict[str, Any], eid: str | None) -> None:
        self._input_audio_bytes = 0
        self.emit("input_audio_buffer.cleared")

    def _on_output_audio_buffer_clear(self, event: dict[str, Any], eid: str | None) -> None:
        if not self._webrtc_like:
            self.error("invalid_event_for_transport",
                       "output_audio_buffer.clear is only supported for WebRTC and SIP "
                       "sessions.", param="type", event_id=eid)
            return
        playback = self._playback
        response_id = playback.response_id if playback else self._last_response_id
        if playback is not None:
            self._stop_playback()
        self.emit("output_audio_buffer.cleared", response_id=response_id or "")

    def _on_response_create(self, event: dict[str, Any], eid: str | None) -> None:
        overrides = event.get("response") or {}
        if overrides.get("conversation") != "none" and self._active is not None:
            self.error("conversation_already_has_active_response",
                       "Conversation already has an active response in progress: "
                       f"{self._active.id}. Wait until the response is finished before "
                       "creating a new one.", event_id=eid)
            return
        self.create_response(overrides)

    def _on_response_cancel(self, event: dict[str, Any], eid: str | None) -> None:
        target = event.get("response_id")
        active = self._active
        oob = {r.id: r for r in self._oob}
        if target is not None and target in oob:
            active = oob[target]
        elif active is not None and target is not None and target != active.id:
            active = None
        if active is None or active.cancel_reason is not None:
            self.error("response_cancel_not_active",
                       "Cancellation failed: no active response found", event_id=eid)
            return
        active.cancel_reason = "client_cancelled"
        if active.proc is not None:
            self.sched.wake(active.proc)

    # ------------------------------------------------------------------ the model's turn

    def create_response(self, overrides: dict[str, Any] | None = None) -> _Response:
        """Start a response (VAD or ``response.create``); it runs as a process."""
        overrides = dict(overrides or {})
        out_of_band = overrides.get("conversation") == "none"
        tools = list(overrides.get("tools", self.session.get("tools")) or [])
        choice = overrides.get("tool_choice", self.session.get("tool_choice", "auto"))
        plan = self.model.plan_next(tools, choice, out_of_band=out_of_band)
        modalities = overrides.get("output_modalities") or self.session.get(
            "output_modalities") or ["audio"]
        audio_out = (self.session.get("audio") or {}).get("output") or {}
        voice = ((overrides.get("audio") or {}).get("output") or {}).get(
            "voice", audio_out.get("voice", "alloy"))
        self.ids.advance_to(self.now / 1000.0)
        resp = _Response(id=self.ids.response_id(), plan=plan, modalities=list(modalities),
                         voice=voice, out_of_band=out_of_band,
                         metadata=overrides.get("metadata"))
        if out_of_band:
            self._oob.append(resp)
        else:
            self._active = resp
        self._last_response_id = resp.id
        resp.proc = self.sched.spawn(f"response {resp.id}", self._run_response(resp))
        return resp

    def _pace(self, resp: _Response, deadline: float) -> Generator[Any, Any, bool]:
        """Wait until ``deadline`` unless ``resp`` is cancelled; True if cancelled."""
        if resp.cancel_reason is not None:
            return True
        yield Until(lambda: resp.cancel_reason is not None, deadline)
        return resp.cancel_reason is not None

    def _response_obj(self, resp: _Response, status: str, *,
                      status_details: dict[str, Any] | None = None,
                      usage: dict[str, Any] | None = None) -> dict[str, Any]:
        audio_out = (self.session.get("audio") or {}).get("output") or {}
        return {
            "object": "realtime.response", "id": resp.id, "status": status,
            "status_details": status_details,
            "output": [_public(i) for i in resp.output_items] if status != "in_progress"
            else [],
            "conversation_id": None if resp.out_of_band else self._conversation_id,
            "output_modalities": resp.modalities,
            "max_output_tokens": self.session.get("max_output_tokens", "inf"),
            "audio": {"output": {"format": audio_out.get("format",
                                                         {"type": "audio/pcm", "rate": 24000}),
                                 "voice": resp.voice}},
            "usage": usage, "metadata": resp.metadata,
        }

    @property
    def _conversation_id(self) -> str:
        if self._conv_id is None:
            self._conv_id = self.ids.conversation_id()
        return self._conv_id

    def _input_tokens(self) -> tuple[int, int]:
        """(text, audio) tokens of the conversation as the model reads it now."""
        text_in = 0
        audio_in = 0
        for item_id in self.order:
            item = self.items[item_id]
            if "_audio_tokens" in item:
                # Audio is read as audio, user and assistant alike (the assistant's own
                # speech is input to every later turn: that is what long calls cache).
                audio_in += int(item["_audio_tokens"])
            for c in item.get("content") or []:
                if c.get("type") in ("input_audio", "output_audio"):
                    if "_audio_tokens" not in item:
                        text = c.get("transcript") or ""
                        audio_in += max(1, len(text) // 2) if text else 10
                    continue
                text_in += _tokens(c.get("text") or c.get("transcript") or "")
            if item.get("type") in ("function_call", "function_call_output"):
                text_in += _tokens(str(item.get("arguments") or item.get("output") or ""))
        text_in += _tokens(str(self.session.get("instructions") or ""))
        return text_in, audio_in

    def _usage(self, resp: _Response) -> dict[str, Any]:
        if resp.cancel_reason == "turn_detected":
            # Observed in real traffic: a response cut off by the caller's barge-in bills
            # nothing (every count 0).
            text_in = audio_in = text_out = audio_out = cached_text = cached_audio = 0
        else:
            text_in, audio_in = self._input_tokens()
            text_out = sum(_tokens(o.text or o.arguments) for o in resp.plan)
            audio_out = resp.audio_ms // 50
            # The prefix the previous response already read is cached, per modality, in
            # 64-token blocks, never more than this response's own input of that modality.
            # Later turns of a long call so cache audio too, as real traffic shows.
            prev_text, prev_audio = self._cache_prefix
            cached_text = min(prev_text, text_in) // 64 * 64
            cached_audio = min(prev_audio, audio_in) // 64 * 64
            if not resp.out_of_band:
                self._cache_prefix = (text_in, audio_in)
        return {
            "total_tokens": text_in + audio_in + text_out + audio_out,
            "input_tokens": text_in + audio_in,
            "output_tokens": text_out + audio_out,
            "input_token_details": {
                "text_tokens": text_in, "audio_tokens": audio_in, "image_tokens": 0,
                "cached_tokens": cached_text + cached_audio,
                "cached_tokens_details": {"text_tokens": cached_text,
                                          "audio_tokens": cached_audio, "image_tokens": 0},
            },
            "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
        }

    def _rate_limits(self, usage: dict[str, Any]) -> list[dict[str, Any]]:
        # Real frames list only the ``tokens`` entry (no ``requests``).
        used = int(usage["total_tokens"])
        return [{"name": "tokens", "limit": 40000, "remaining": max(0, 40000 - used),
                 "reset_seconds": round(used / 40000 * 60, 3)}]

    def _audio_delta(self) -> str:
        if self._audio_chunk is None:
            n = int(self.scenario.timing.playback_word_ms * 48)
            self._audio_chunk = base64.b64encode(bytes(n)).decode()
        return self._audio_chunk

    def _run_response(self, resp: _Response) -> ProcessGen:
        audio = "audio" in resp.modalities
        self.emit("response.created", response=self._response_obj(resp, "in_progress"))
        self._responses_created += 1   # a manual turn's transcription waits for this
        position = self.options.rate_limits_position
        if position == "start":
            text_in, audio_in = self._input_tokens()
            self.emit("rate_limits.updated",
                      rate_limits=self._rate_limits({"total_tokens": text_in + audio_in}))
        next_t = self.now
        for index, out in enumerate(resp.plan):
            if resp.cancel_reason is not None:
                break
            item_id = self.ids.item_id()
            if out.kind == "message":
                next_t = yield from self._run_message(resp, index, item_id, out, audio, next_t)
            else:
                next_t = yield from self._run_function_call(resp, index, item_id, out, next_t)
        if resp.cancel_reason is not None:
            status, details = "cancelled", {"type": "cancelled", "reason": resp.cancel_reason}
            self.model.cancelled(resp.plan)
        else:
            status, details = "completed", None
        usage = self._usage(resp)
        if position == "end":
            self.emit("rate_limits.updated", rate_limits=self._rate_limits(usage))
        self.emit("response.done", response=self._response_obj(
            resp, status, status_details=details, usage=usage))
        if position == "after_done":
            # Observed in real traffic: rate_limits.updated follows response.done.
            self.emit("rate_limits.updated", rate_limits=self._rate_limits(usage))
        if resp.out_of_band:
            self._oob.remove(resp)
        elif self._active is resp:
            self._active = None
        playback = self._playback
        if playback is not None and playback.response_id == resp.id and playback.proc is None:
            playback.end = playback.start + playback.audio_ms
            playback.proc = self.sched.spawn("playback", self._drain_playback(playback))
        elif playback is None and not resp.out_of_band:
            self._arm_idle_timer()

    def _start_playback(self, resp: _Response, item_id: str) -> None:
        """The first audio of ``resp`` is out: (re)start the RTP output buffer."""
        if self._playback is not None and self._playback.response_id == resp.id:
            self._playback.item_id = item_id
            return
        previous = self._playback
        if previous is not None:
            # The new answer's audio follows the old one's: close the old playback.
            self._stop_playback()
            self.emit("output_audio_buffer.stopped", response_id=previous.response_id)
        self._playback = _Playback(response_id=resp.id, item_id=item_id, start=self.now)
        self.emit("output_audio_buffer.started", response_id=resp.id)

    def _run_message(self, resp: _Response, index: int, item_id: str, out: Output,
                     audio: bool, next_t: float) -> Generator[Any, Any, float]:
        item: dict[str, Any] = {"id": item_id, "type": "message", "status": "in_progress",
                                "role": "assistant", "content": []}
        ids: dict[str, Any] = {"response_id": resp.id, "item_id": item_id,
                               "output_index": index}
        self.emit("response.output_item.added", response_id=resp.id, output_index=index,
                  item=dict(item))
        prev = None
        if not resp.out_of_band:
            prev = self._insert(item, None)
            self.emit("conversation.item.added", previous_item_id=prev, item=dict(item))
        part_key = "transcript" if audio else "text"
        self.emit("response.content_part.added", **ids, content_index=0,
                  part={"type": "audio" if audio else "text", part_key: ""})
        rtp = audio and self._webrtc_like
        if audio:
            self.audio_started = True
        sent: list[str] = []
        item_audio_ms = 0
        delta_type = "response.output_audio_transcript.delta" if audio else \
            "response.output_text.delta"
        for word in _words(out.text):
            next_t = max(next_t, self.now) + self.model.word_ms()
            cancelled = yield from self._pace(resp, next_t)
            if cancelled:
                break
            sent.append(word)
            ms = self.scenario.timing.playback_word_ms if audio else 0
            item_audio_ms += ms
            resp.audio_ms += ms
            if audio and (not self._webrtc_like or self.options.audio_deltas):
                self.emit("response.output_audio.delta", **ids, content_index=0,
                          delta=self._audio_delta())
            self.emit(delta_type, **ids, content_index=0, delta=word,
                      obfuscation=self.model.obfuscation())
            if rtp:
                # Observed in real traffic: the first transcript delta precedes
                # output_audio_buffer.started.
                self._start_playback(resp, item_id)
                if self._playback is not None and self._playback.response_id == resp.id:
                    self._playback.audio_ms += ms
        text = "".join(sent)
        interrupted = resp.cancel_reason is not None
        if audio:
            self.emit("response.output_audio.done", **ids, content_index=0)
            self.emit("response.output_audio_transcript.done", **ids, content_index=0,
                      transcript=text)
            part = {"type": "audio", "transcript": text}
            content = {"type": "output_audio", "transcript": text}
        else:
            self.emit("response.output_text.done", **ids, content_index=0, text=text)
            part = {"type": "text", "text": text}
            content = {"type": "output_text", "text": text}
        self.emit("response.content_part.done", **ids, content_index=0, part=part)
        item.update(status="incomplete" if interrupted else "completed", content=[content])
        self._item_done(resp, index, item, prev)
        item["_audio_ms"] = item_audio_ms
        if audio:
            item["_audio_tokens"] = item_audio_ms // 50
        resp.output_items.append(item)
        return next_t

    def _item_done(self, resp: _Response, index: int, item: dict[str, Any],
                   prev: str | None) -> None:
        # Observed in real traffic: the conversation's item.done comes before the
        # response's output_item.done.
        if not resp.out_of_band:
            self.emit("conversation.item.done", previous_item_id=prev, item=dict(item))
        self.emit("response.output_item.done", response_id=resp.id, output_index=index,
                  item=dict(item))

    def _run_function_call(self, resp: _Response, index: int, item_id: str, out: Output,
                           next_t: float) -> Generator[Any, Any, float]:
        item: dict[str, Any] = {"id": item_id, "type": "function_call", "status": "in_progress",
                                "call_id": out.call_id, "name": out.name, "arguments": ""}
        self.emit("response.output_item.added", response_id=resp.id, output_index=index,
                  item=dict(item))
        prev = None
        if not resp.out_of_band:
            prev = self._insert(item, None)
            self.emit("conversation.item.added", previous_item_id=prev, item=dict(item))
        chunks = [out.arguments[i:i + 12] for i in range(0, len(out.arguments), 12)]
        for chunk in chunks:
            next_t = max(next_t, self.now) + self.model.word_ms() / 3
            cancelled = yield from self._pace(resp, next_t)
            if cancelled:
                break
            self.emit("response.function_call_arguments.delta", response_id=resp.id,
                      item_id=item_id, output_index=index, call_id=out.call_id, delta=chunk,
                      obfuscation=self.model.obfuscation())
        self.emit("response.function_call_arguments.done", response_id=resp.id,
                  item_id=item_id, output_index=index, call_id=out.call_id,
                  name=out.name, arguments=out.arguments)
        interrupted = resp.cancel_reason is not None
        item.update(status="incomplete" if interrupted else "completed",
                    arguments=out.arguments)
        self._item_done(resp, index, item, prev)
        resp.output_items.append(item)
        return next_t

    def _drain_playback(self, playback: _Playback) -> ProcessGen:
        assert playback.end is not None
        yield playback.end
        if self._playback is playback:
            self._playback = None
            self.emit("output_audio_buffer.stopped", response_id=playback.response_id)
            self._arm_idle_timer()

    def _stop_playback(self) -> _Playback | None:
        playback, self._playback = self._playback, None
        if playback is not None and playback.proc is not None:
            self.sched.cancel(playback.proc)
        return playback

    # ------------------------------------------------------------------ the caller's host

    def _maybe_start_caller(self) -> None:
        if (self.caller_t0 is None and self.status == "active" and self.transport != "websocket"
                and (self._attached or not self._hold)):
            self.caller_t0 = self.now
            self.sched.spawn("caller", self.caller.run(self))

    def model_idle(self) -> bool:
        return (self._active is None and self._playback is None and not self.model.waiting)

    def model_audio_started_at(self) -> float | None:
        return self._playback.start if self._playback is not None else None

    def model_speaks_first(self, text: str) -> None:
        self.model.pending_reply = text
        self.create_response({})

    def caller_gave_up(self, waited_ms: float) -> None:
        self.meta("caller_impatient", {"waited_ms": waited_ms})
        # Nobody answered the tool call or asked for the reply: the caller moves on and the
        # model forgets what it was waiting for (no second long wait).
        self.model.forget()

    def caller_hangs_up(self, reason: str) -> None:
        self._end(reason, None)

    def reply_owed(self) -> bool:
        return self.model.pending_reply is not None

    def reply_not_requested(self, waited_ms: float) -> None:
        self.meta("reply_not_requested", {"waited_ms": waited_ms})
        self.model.pending_reply = None

    def caller_presses_keys(self, keys: str, gap_ms: int,
                            reply: str | ToolReply | None) -> ProcessGen:
        for i, key in enumerate(keys):
            if i:
                yield self.now + gap_ms
            if self.transport == "sip":
                # No event_id on this one server event (SDK class and realtime-protocol §6).
                event = {"type": "input_audio_buffer.dtmf_event_received", "event": key,
                         "received_at": self._epoch + int(self.now // 1000)}
                self._out.append(Out("event", self.now, event=event, timed=self._timed))
            else:
                self.meta("dtmf_not_sent", {"key": key, "transport": self.transport,
                                            "why": "DTMF events exist on SIP calls only"})
        if reply is not None:
            # What the model says when the app asks it to answer (response.create).
            self.model.hear(reply)

    def caller_stays_silent(self, ms: int, reply: str | ToolReply | None) -> ProcessGen:
        self._idle_reply = reply
        yield self.now + ms
        self._idle_reply = None

    def _idle_timeout_ms(self) -> int | None:
        td = ((self.session.get("audio") or {}).get("input") or {}).get("turn_detection")
        if not td or td.get("type", "server_vad") != "server_vad":
            return None
        value = td.get("idle_timeout_ms")
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else None

    def _arm_idle_timer(self) -> None:
        """The model has finished: count the caller's silence (``idle_timeout_ms``)."""
        if self._idle_proc is not None:
            self.sched.cancel(self._idle_proc)
            self._idle_proc = None
        timeout = self._idle_timeout_ms()
        if timeout is None or self.caller_t0 is None or self.status != "active":
            return
        self._idle_proc = self.sched.spawn("idle timeout", self._idle_timer(timeout))

    def _idle_timer(self, timeout: int) -> ProcessGen:
        armed_at = self.now
        speech = self._speech_seq
        broken = yield Until(lambda: self._speech_seq != speech or self._active is not None,
                             armed_at + timeout)
        if broken:
            return
        self._idle_proc = None
        t0 = self.caller_t0 or 0.0
        item_id = self.ids.item_id()
        self.emit("input_audio_buffer.timeout_triggered", audio_start_ms=int(armed_at - t0),
                  audio_end_ms=int(self.now - t0), item_id=item_id)
        prev = self._previous_of_new()
        item: dict[str, Any] = {"id": item_id, "type": "message", "status": "completed",
                                "role": "user",
                                "content": [{"type": "input_audio", "transcript": None}]}
        self._insert(item, None)
        self.emit("input_audio_buffer.committed", item_id=item_id, previous_item_id=prev)
        self.emit("conversation.item.added", previous_item_id=prev, item=dict(item))
        self.emit("conversation.item.done", previous_item_id=prev, item=dict(item))
        item["_audio_tokens"] = max(1, timeout // 100)
        reply, self._idle_reply = self._idle_reply, None
        self.model.hear(reply)
        td = ((self.session.get("audio") or {}).get("input") or {}).get("turn_detection") or {}
        if td.get("create_response", True) and self._active is None:
            self.create_response({})

    def _interrupt(self) -> Generator[Any, Any, None]:
        """Server VAD heard the caller: cancel the response, clear and truncate the audio."""
        active = self._active
        if active is not None and active.cancel_reason is None:
            active.cancel_reason = "turn_detected"
            proc = active.proc
            if proc is not None:
                self.sched.wake(proc)
                yield Until(lambda: proc.done)
        playback = self._playback
        if playback is not None and self._webrtc_like:
            self._stop_playback()
            played = int(self.now - playback.start)
            self.emit("output_audio_buffer.cleared", response_id=playback.response_id)
            item = self.items.get(playback.item_id)
            if item is not None:
                item_ms = int(item.get("_audio_ms", 0))
                self._truncate(playback.item_id, 0, max(0, min(played, item_ms)))

    def caller_speaks(self, text: str, reply: str | ToolReply | None) -> ProcessGen:
        timing = self.scenario.timing
        words = text.split()
        speech_ms = max(1, len(words)) * timing.speech_word_ms
        input_cfg = (self.session.get("audio") or {}).get("input") or {}
        td = input_cfg.get("turn_detection")
        item_id = self.ids.item_id()
        start_ms = int(self.now - (self.caller_t0 or 0.0))
        self._speech_seq += 1
        if td:
            self.emit("input_audio_buffer.speech_started", audio_start_ms=start_ms,
                      item_id=item_id)
            if td.get("interrupt_response", True):
                yield from self._interrupt()
            silence = td.get("silence_duration_ms", timing.silence_ms) or 0
            yield self.now + speech_ms + silence
            self.emit("input_audio_buffer.speech_stopped",
                      audio_end_ms=start_ms + speech_ms + silence, item_id=item_id)
        else:
            yield self.now + speech_ms
        prev = self._previous_of_new()
        item: dict[str, Any] = {"id": item_id, "type": "message",
                                "status": "completed", "role": "user",
                                "content": [{"type": "input_audio", "transcript": None}]}
        self._insert(item, None)
        self.emit("input_audio_buffer.committed", item_id=item_id, previous_item_id=prev)
        self.emit("conversation.item.added", previous_item_id=prev, item=dict(item))
        self.emit("conversation.item.done", previous_item_id=prev, item=dict(item))
        item["_audio_tokens"] = max(1, speech_ms // 100)
        self.model.hear(reply)
        responses_before = self._responses_created
        if input_cfg.get("transcription"):
            if td:
                # Server VAD: transcribed before the automatic response starts (the docs
                # allow either order; one timeline per call keeps seeded runs identical).
                yield from self._transcribe(item, text, speech_ms)
            else:
                # Manual commits: observed in real traffic, the client's response.created
                # precedes the input transcription. Wait for it (or the caller's patience).
                self.sched.spawn("transcription", self._transcribe_after_response(
                    item, text, speech_ms, responses_before))
        if td and td.get("create_response", True) and self._active is None:
            self.create_response({})

    def _transcribe_after_response(self, item: dict[str, Any], text: str, speech_ms: int,
                                   responses_before: int) -> ProcessGen:
        yield Until(lambda: self._responses_created != responses_before,
                    self.now + self.options.patience_ms)
        yield from self._transcribe(item, text, speech_ms)

    def _transcribe(self, item: dict[str, Any], text: str,
                    speech_ms: int) -> Generator[Any, Any, None]:
        next_t = self.now
        for word in _words(text):
            next_t += self.scenario.timing.transcription_word_ms
            yield next_t
            self.emit("conversation.item.input_audio_transcription.delta",
                      item_id=item["id"], content_index=0, delta=word,
                      obfuscation=self.model.obfuscation())
        if item["id"] in self.items:
            self.items[item["id"]]["content"] = [{"type": "input_audio", "transcript": text}]
        audio_tokens = max(1, speech_ms // 100)
        text_tokens = _tokens(text)
        self.emit("conversation.item.input_audio_transcription.completed",
                  item_id=item["id"], content_index=0, transcript=text,
                  usage={"type": "tokens", "total_tokens": audio_tokens + text_tokens,
                         "input_tokens": audio_tokens, "output_tokens": text_tokens,
                         "input_token_details": {"text_tokens": 0,
                                                 "audio_tokens": audio_tokens}})


# ---------------------------------------------------------------------- building a call

#: The wall-clock epoch seeded calls report (``created_at``, ``expires_at``): 2026-01-01 UTC.
#: A seeded call's output must not depend on the day it runs.
SEEDED_EPOCH = 1_767_225_600


def call_streams(seed: int | None, call_id: str) -> tuple[IdFactory, random.Random]:
    """The id factory and the random stream of one call.

    Seeded: both derive from (seed, call id) alone, so a call's output does not depend on
    what other calls of the same emulator did or when. Unseeded: OS entropy.
    """
    if seed is None:
        return IdFactory(random.SystemRandom().getrandbits(64)), random.Random()
    digest = hashlib.sha256(f"rtwidgets.emulator/{seed}/{call_id}".encode()).digest()
    return (IdFactory(int.from_bytes(digest[:8], "big")),
            random.Random(int.from_bytes(digest[8:16], "big")))


def initial_session(scenario: Scenario, model: str, ids: IdFactory,
                    created_at: int) -> dict[str, Any]:
    """The session a call of ``scenario`` starts with (``ScenarioError`` names a bad field)."""
    base = default_session(model, ids, created_at=created_at)
    try:
        return merge_session(base, {"type": "realtime", **scenario.session},
                             audio_started=False)
    except ValidationError as err:
        raise ScenarioError(f"session.{err.field.removeprefix('session.')}", err.problem,
                            err.fix) from None
