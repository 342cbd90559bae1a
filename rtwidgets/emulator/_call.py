"""One emulated Realtime session: its state machine, its sockets, its script and its record.

Why: the emulator must behave like the server for one call (realtime-protocol.md §5-§8):
partial session merges, a conversation that honours ``previous_item_id``, one active
response at a time, errors that name the client's ``event_id``, every server event fanned out
to every attached socket, and a scripted caller and model that produce the documented event
sequences at a realistic pace. It also keeps the ground truth other layers test against: a
record of every event sent (with the ids of the sockets it reached) and received.

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
  unlocks the scripted follow-up.

Never: imports from rtwidgets outside ``rtwidgets.protocol``; blocks the loop; keeps a
reference to an API key (sockets are recorded by id only).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web

from rtwidgets.protocol.builders import validate_client_event
from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.ids import IdFactory
from rtwidgets.protocol.session import merge_session

from ._faults import Fault
from ._scenario import Scenario, ToolReply, render_template
from ._toolargs import fill_arguments

if TYPE_CHECKING:
    from collections.abc import Coroutine

__all__ = ["CallStatus", "EmulatedCall", "EmulatorOptions"]

CallStatus = Literal["incoming", "active", "ended"]


@dataclass
class EmulatorOptions:
    """Behaviour switches shared by every call of one emulator (see module docstring)."""

    speed: float = 1.0
    model: str = "gpt-realtime"
    session_created_on_attach: bool = False
    rate_limits_position: Literal["after_done", "end", "start"] = "after_done"
    audio_deltas: bool = False
    close_frame_on_end: bool = True
    hold_until_attached: bool = True
    caller_patience_s: float = 30.0


@dataclass
class _Socket:
    id: str
    ws: web.WebSocketResponse
    request: web.Request
    opened_t: float
    closed_t: float | None = None
    close_reason: str | None = None
    # Set by the call to ask the socket's handler for a close handshake (code, reason); the
    # handler sets ``finished`` when its connection is over.
    close_request: asyncio.Future[tuple[int, str]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "opened_t": self.opened_t, "closed_t": self.closed_t,
                "close_reason": self.close_reason}


@dataclass
class _Output:
    kind: Literal["message", "function_call"]
    text: str = ""
    name: str = ""
    arguments: str = ""
    call_id: str = ""


@dataclass
class _Response:
    id: str
    plan: list[_Output]
    modalities: list[str]
    voice: Any
    out_of_band: bool
    metadata: Any = None
    cancel_reason: str | None = None
    waker: asyncio.Future[None] | None = None
    output_items: list[dict[str, Any]] = field(default_factory=list)
    audio_ms: int = 0
    task: asyncio.Task[None] | None = None


@dataclass
class _Playback:
    response_id: str
    item_id: str
    start: float                  # loop time the first audio went out
    audio_ms: int = 0             # audio generated for the item so far
    end: float | None = None      # loop time playback drains (known once generation ends)
    task: asyncio.Task[None] | None = None


def _words(text: str) -> list[str]:
    """Split into delta chunks the way the model streams them: a word and its leading space."""
    parts = text.split(" ")
    return [p if i == 0 else " " + p for i, p in enumerate(parts) if p or i == 0]


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


class EmulatedCall:
    """The server side of one call (or one ``?model=`` session)."""

    def __init__(
        self,
        *,
        call_id: str,
        transport: Literal["webrtc", "sip", "websocket"],
        scenario: Scenario,
        session: dict[str, Any],
        options: EmulatorOptions,
        ids: IdFactory,
        rng: random.Random,
        faults: list[Fault],
        hold_until_attached: bool,
        on_end: Callable[[EmulatedCall], None],
    ) -> None:
        self.call_id = call_id
        self.transport = transport
        self.scenario = scenario
        self.session = session
        self.options = options
        self.status: CallStatus = "incoming" if transport == "sip" else "active"
        self.end_reason: str | None = None
        self.records: list[dict[str, Any]] = []
        self.sockets: dict[str, _Socket] = {}
        self.socket_log: list[_Socket] = []
        self.items: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.audio_started = False
        self.created_t = time.monotonic()
        self.ended = asyncio.Event()
        self.attached = asyncio.Event()
        self._ids = ids
        self._rng = rng
        self._faults = list(faults)
        self._hold = hold_until_attached
        self._on_end = on_end
        self._webrtc_like = transport in ("webrtc", "sip")
        self._send_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._script_task: asyncio.Task[None] | None = None
        self._active: _Response | None = None
        self._oob: set[str] = set()
        self._oob_responses: list[_Response] = []
        self._conv_id: str | None = None
        self._playback: _Playback | None = None
        self._last_response_id: str | None = None
        self._pending_reply: str | ToolReply | None = None
        self._awaiting_tools: dict[str, tuple[ToolReply, dict[str, Any]]] = {}
        self._changed = asyncio.Event()
        self._socket_seq = 0
        self._seq = 0
        self._t0: float | None = None
        self._responses_started = 0
        self._input_audio_bytes = 0
        self._extra_field_next = False
        self._swap_next = False
        self._held: tuple[dict[str, Any], float | None] | None = None
        self._audio_chunk: str | None = None
        self._cache_prefix: tuple[int, int] = (0, 0)   # (text, audio) the last response read
        self._responses_created = 0

    # ------------------------------------------------------------------ lifecycle

    def __repr__(self) -> str:
        return (f"<EmulatedCall {self.call_id} {self.transport} {self.status}"
                f" sockets={len(self.sockets)} records={len(self.records)}>")

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A bug in the script must not pass silently: record it and end the call.
            exc = task.exception()
            self._record_meta("emulator_error", {"error": f"{type(exc).__name__}: {exc}"})

    def start(self) -> None:
        """Run the scripted caller (after the SIP accept, or at once for WebRTC)."""
        self.status = "active"
        if self.transport != "websocket":
            self._script_task = self._spawn(self._run_script())

    def s(self, ms: float) -> float:
        """Scenario milliseconds -> loop seconds at the emulator's speed."""
        return ms / 1000.0 / self.options.speed

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def end(self, reason: str, *, close_frame: bool | None = None) -> None:
        """End the call: stop the script and responses, close every socket."""
        if self.status == "ended":
            return
        self.status = "ended"
        self.end_reason = reason
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        self._record_meta("call_ended", {"reason": reason})
        frame = self.options.close_frame_on_end if close_frame is None else close_frame
        await self._close_sockets(f"call ended: {reason}", close_frame=frame, code=1000)
        self.ended.set()
        self._notify()
        self._on_end(self)

    async def _close_sockets(self, reason: str, *, close_frame: bool, code: int) -> None:
        socks = list(self.sockets.values())
        for sock in socks:
            self._detach(sock, reason)
        if close_frame:
            # The socket's own handler performs the close handshake (it waits for the
            # client's reply), so ending a call never waits on a client that is not reading.
            for sock in socks:
                if not sock.close_request.done():
                    sock.close_request.set_result((code, reason[:120]))
        else:
            for sock in socks:
                transport = sock.request.transport
                if transport is not None:
                    transport.abort()

    async def wait_closed(self, timeout: float = 3.0) -> None:
        """Wait for the handlers of closed sockets to finish their close handshakes."""
        pending = [s.finished.wait() for s in self.socket_log if not s.finished.is_set()]
        if pending:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*pending), timeout)

    # ------------------------------------------------------------------ sockets

    def attach(self, ws: web.WebSocketResponse, request: web.Request) -> _Socket:
        self._socket_seq += 1
        sock = _Socket(id=f"ws{self._socket_seq}", ws=ws, request=request,
                       opened_t=time.monotonic())
        self.sockets[sock.id] = sock
        self.socket_log.append(sock)
        self._record_meta("socket_attached", {"socket": sock.id})
        self.attached.set()
        return sock

    def _detach(self, sock: _Socket, reason: str) -> None:
        if self.sockets.pop(sock.id, None) is not None:
            sock.closed_t = time.monotonic()
            sock.close_reason = reason
            self._record_meta("socket_closed", {"socket": sock.id, "reason": reason})

    def detach(self, sock: _Socket, reason: str = "client closed") -> None:
        self._detach(sock, reason)

    # ------------------------------------------------------------------ record + send

    def _record(self, entry: dict[str, Any]) -> None:
        entry["seq"] = self._seq
        self._seq += 1
        self.records.append(entry)

    def _record_meta(self, kind: str, data: dict[str, Any]) -> None:
        self._record({"direction": "meta", "t": time.monotonic(),
                      "event": {"type": f"emulator.{kind}", **data}})

    def _event(self, type_: str, **fields: Any) -> dict[str, Any]:
        return {"type": type_, "event_id": self._ids.event_id(), **fields}

    async def emit(self, type_: str, *, scheduled: float | None = None,
                   **fields: Any) -> dict[str, Any]:
        """Build a server event, record it, and send it to every attached socket."""
        event = self._event(type_, **fields)
        if self._extra_field_next:
            self._extra_field_next = False
            event["x_emulator_unknown_field"] = {"injected": True}
            await self._send(event, scheduled, fault="unknown_field")
            return event
        if self._swap_next and self._held is None:
            self._held = (event, scheduled)
            return event
        await self._send(event, scheduled)
        if self._held is not None:
            held, held_scheduled = self._held
            self._held = None
            self._swap_next = False
            await self._send(held, held_scheduled, fault="out_of_order")
        return event

    async def _send(self, event: dict[str, Any], scheduled: float | None,
                    *, fault: str | None = None, only: _Socket | None = None) -> None:
        text = json.dumps(event, separators=(",", ":"))
        await self._send_text(text, event, scheduled, fault=fault, only=only)

    async def _send_text(self, text: str, event: dict[str, Any] | None, scheduled: float | None,
                         *, fault: str | None = None, only: _Socket | None = None) -> None:
        async with self._send_lock:
            targets = [only] if only is not None else list(self.sockets.values())
            entry: dict[str, Any] = {"direction": "sent", "t": time.monotonic(),
                                     "event": event, "sockets": []}
            if scheduled is not None:
                entry["scheduled_t"] = scheduled
            if fault is not None:
                entry["fault"] = fault
            if event is None:
                entry["raw"] = text
            self._record(entry)
            for sock in targets:
                if sock.ws.closed or sock.id not in self.sockets:
                    continue
                try:
                    await sock.ws.send_str(text)
                except (ConnectionError, RuntimeError):
                    self._detach(sock, "send failed")
                    continue
                entry["sockets"].append(sock.id)
            entry["sent_t"] = time.monotonic()

    async def send_session_created(self, sock: _Socket) -> None:
        event = self._event("session.created", session=self.session)
        await self._send(event, None, only=sock)

    async def error(self, code: str | None, message: str, *, param: str | None = None,
                    event_id: str | None = None, type_: str = "invalid_request_error") -> None:
        await self.emit("error", error={"type": type_, "code": code, "message": message,
                                        "param": param, "event_id": event_id})

    # ------------------------------------------------------------------ client events

    async def receive(self, sock: _Socket, text: str, *, binary: bool = False) -> None:
        """Handle one frame from a client socket; errors answer, never raise.

        Error codes as observed in real traffic: text that is not JSON is ``invalid_json``,
        an unknown ``type`` is ``invalid_value``, a binary frame that is not JSON is
        ``invalid_event``.
        """
        now = time.monotonic()
        try:
            event = json.loads(text)
        except json.JSONDecodeError as exc:
            self._record({"direction": "received", "t": now, "socket": sock.id,
                          "event": None, "raw": text[:10_000]})
            if binary:
                await self.error("invalid_event", "The server expects text frames holding "
                                 "JSON client events, not binary data.")
                return
            await self.error("invalid_json",
                             f"The server could not parse the JSON of the client event: "
                             f"{exc.msg} at position {exc.pos}.")
            return
        self._record({"direction": "received", "t": now, "socket": sock.id, "event": event})
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
            await self.emit("error", error=error)
            return
        handler = getattr(self, "_on_" + event["type"].replace(".", "_"))
        try:
            await handler(event, client_event_id)
        except Exception as exc:
            # A bug here must not kill the socket: answer like a server-side failure, and
            # leave the evidence in the record for the test that will look for it.
            self._record_meta("emulator_error", {"error": f"{type(exc).__name__}: {exc}",
                                                 "client_event_type": event["type"]})
            await self.error(None, "The server had an error while processing your request.",
                             event_id=client_event_id, type_="server_error")

    async def _on_session_update(self, event: dict[str, Any], eid: str | None) -> None:
        try:
            merged = merge_session(self.session, event["session"],
                                   audio_started=self.audio_started)
        except ValidationError as err:
            await self.emit("error", error=err.to_error(eid))
            return
        self.session = merged
        await self.emit("session.updated", session=self.session)

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

    async def _on_conversation_item_create(self, event: dict[str, Any], eid: str | None) -> None:
        item = dict(event["item"])
        prev_req = event.get("previous_item_id")
        if prev_req is not None and prev_req != "root" and prev_req not in self.items:
            await self.error("invalid_value",
                             f"Error adding item: the previous item with id '{prev_req}' "
                             "does not exist.", param="previous_item_id", event_id=eid)
            return
        item_id = item.get("id") or self._ids.item_id()
        if item_id in self.items:
            await self.error("invalid_value",
                             f"Error adding item: an item with id '{item_id}' already exists.",
                             param="item.id", event_id=eid)
            return
        item = {"id": item_id, **item}
        item.setdefault("status", "completed")
        if item.get("type") == "message":
            item["content"] = [dict(c) for c in item.get("content", [])]
        prev = self._insert(item, prev_req)
        await self.emit("conversation.item.added", previous_item_id=prev, item=item)
        await self.emit("conversation.item.done", previous_item_id=prev, item=item)
        if item.get("type") == "function_call_output":
            self._tool_answered(str(item.get("call_id")), str(item.get("output", "")))

    def _tool_answered(self, call_id: str, output: str) -> None:
        awaited = self._awaiting_tools.pop(call_id, None)
        if awaited is None:
            return
        reply, args = awaited
        values: dict[str, Any] = dict(args)
        try:
            parsed = json.loads(output)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            values.update(parsed)
        values["output"] = output
        self._pending_reply = render_template(reply.say, values)
        self._notify()

    async def _unknown_item(self, op: str, verb: str, item_id: str, eid: str | None) -> None:
        await self.error(f"item_{op}_invalid_item_id",
                         f"Error {verb} item: the item with id '{item_id}' does not exist.",
                         param="item_id", event_id=eid)

    async def _on_conversation_item_delete(self, event: dict[str, Any], eid: str | None) -> None:
        item_id = event["item_id"]
        if item_id not in self.items:
            await self._unknown_item("delete", "deleting", item_id, eid)
            return
        del self.items[item_id]
        self.order.remove(item_id)
        await self.emit("conversation.item.deleted", item_id=item_id)

    async def _on_conversation_item_retrieve(self, event: dict[str, Any],
                                             eid: str | None) -> None:
        item_id = event["item_id"]
        if item_id not in self.items:
            await self._unknown_item("retrieve", "retrieving", item_id, eid)
            return
        await self.emit("conversation.item.retrieved", item=self._public(self.items[item_id]))

    async def _on_conversation_item_truncate(self, event: dict[str, Any],
                                             eid: str | None) -> None:
        item_id = event["item_id"]
        item = self.items.get(item_id)
        if item is None:
            await self._unknown_item("truncate", "truncating", item_id, eid)
            return
        content = item.get("content") or []
        if item.get("role") != "assistant" or not any(
                c.get("type") == "output_audio" for c in content):
            await self.error("invalid_value",
                             "Only assistant messages with audio can be truncated.",
                             param="item_id", event_id=eid)
            return
        index = event["content_index"]
        if index >= len(content):
            await self.error("invalid_value", f"Content index {index} is out of range.",
                             param="content_index", event_id=eid)
            return
        audio_ms = int(item.get("_audio_ms", 0))
        end_ms = event["audio_end_ms"]
        if end_ms > audio_ms:
            await self.error("invalid_value",
                             f"Audio content of {audio_ms}ms is already shorter than "
                             f"{end_ms}ms", param="audio_end_ms", event_id=eid)
            return
        await self._truncate(item_id, index, end_ms)

    async def _truncate(self, item_id: str, index: int, end_ms: int) -> None:
        item = self.items.get(item_id)
        if item is not None:
            # Emitted events share these objects: replace, never mutate in place.
            content = list(item.get("content") or [])
            if index < len(content):
                content[index] = {**content[index], "transcript": ""}
                item["content"] = content
        await self.emit("conversation.item.truncated", item_id=item_id, content_index=index,
                        audio_end_ms=end_ms)

    async def _on_input_audio_buffer_append(self, event: dict[str, Any], eid: str | None) -> None:
        if self._webrtc_like:
            await self.error("invalid_event_for_transport",
                             "input_audio_buffer.append is not supported on this connection: "
                             "the call's audio arrives over its media transport.",
                             param="type", event_id=eid)
            return
        self._input_audio_bytes += len(base64.b64decode(event["audio"]))

    async def _on_input_audio_buffer_commit(self, event: dict[str, Any], eid: str | None) -> None:
        ms = self._input_audio_bytes / 48.0   # pcm16 mono 24 kHz
        if ms < 100:
            await self.error("input_audio_buffer_commit_empty",
                             "Error committing input audio buffer: buffer too small. Expected "
                             f"at least 100ms of audio, but buffer only has {ms:.2f}ms of audio.",
                             event_id=eid)
            return
        self._input_audio_bytes = 0
        item_id = self._ids.item_id()
        item: dict[str, Any] = {"id": item_id, "type": "message", "status": "completed",
                                "role": "user",
                                "content": [{"type": "input_audio", "transcript": None}]}
        prev = self._insert(item, None)
        await self.emit("input_audio_buffer.committed", item_id=item_id, previous_item_id=prev)
        await self.emit("conversation.item.added", previous_item_id=prev, item=dict(item))
        await self.emit("conversation.item.done", previous_item_id=prev, item=dict(item))
        item["_audio_tokens"] = max(1, int(ms) // 100)

    async def _on_input_audio_buffer_clear(self, event: dict[str, Any], eid: str | None) -> None:
        self._input_audio_bytes = 0
        await self.emit("input_audio_buffer.cleared")

    async def _on_output_audio_buffer_clear(self, event: dict[str, Any],
                                            eid: str | None) -> None:
        if not self._webrtc_like:
            await self.error("invalid_event_for_transport",
                             "output_audio_buffer.clear is only supported for WebRTC and SIP "
                             "sessions.", param="type", event_id=eid)
            return
        playback = self._playback
        response_id = playback.response_id if playback else self._last_response_id
        if playback is not None:
            self._stop_playback()
        await self.emit("output_audio_buffer.cleared", response_id=response_id or "")

    async def _on_response_create(self, event: dict[str, Any], eid: str | None) -> None:
        overrides = event.get("response") or {}
        if overrides.get("conversation") != "none" and self._active is not None:
            await self.error("conversation_already_has_active_response",
                             "Conversation already has an active response in progress: "
                             f"{self._active.id}. Wait until the response is finished before "
                             "creating a new one.", event_id=eid)
            return
        self.create_response(overrides)

    async def _on_response_cancel(self, event: dict[str, Any], eid: str | None) -> None:
        target = event.get("response_id")
        active = self._active
        if target is not None and target in self._oob:
            active = None
            for task_resp in self._oob_responses:
                if task_resp.id == target:
                    active = task_resp
        elif active is not None and target is not None and target != active.id:
            active = None
        if active is None or active.cancel_reason is not None:
            await self.error("response_cancel_not_active",
                             "Cancellation failed: no active response found", event_id=eid)
            return
        active.cancel_reason = "client_cancelled"
        self._wake(active)

    # ------------------------------------------------------------------ the model

    def _tools_declared(self, overrides: dict[str, Any]) -> tuple[list[Any], Any]:
        tools = overrides.get("tools", self.session.get("tools")) or []
        choice = overrides.get("tool_choice", self.session.get("tool_choice", "auto"))
        return list(tools), choice

    def _plan(self, reply: str | ToolReply | None, overrides: dict[str, Any]) -> list[_Output]:
        if reply is None:
            reply = self.scenario.default_reply
        if isinstance(reply, str):
            return [_Output("message", text=reply)]
        tools, choice = self._tools_declared(overrides)
        declared = {t.get("name"): t for t in tools if isinstance(t, dict)
                    and t.get("type", "function") == "function"}
        forced = isinstance(choice, dict) and choice.get("name") not in (None, reply.name)
        if reply.name not in declared or choice == "none" or forced:
            return [_Output("message", text=reply.otherwise)]
        plan: list[_Output] = []
        if reply.lead_in:
            plan.append(_Output("message", text=reply.lead_in))
        call_id = self._ids.function_call_id()
        # A model fills the declared schema; the scenario's arguments are what the caller
        # meant (hints). Own Random per call id: no draw is taken from the call's stream.
        args = dict(reply.arguments) if reply.arguments_as_written else fill_arguments(
            declared[reply.name].get("parameters"), reply.arguments,
            random.Random(f"toolargs:{call_id}"))
        plan.append(_Output("function_call", name=reply.name, call_id=call_id,
                            arguments=json.dumps(args)))
        self._awaiting_tools[call_id] = (reply, {**reply.arguments, **args})
        return plan

    def create_response(self, overrides: dict[str, Any] | None = None) -> _Response:
        """Start a response (VAD or ``response.create``); runs as a task."""
        overrides = dict(overrides or {})
        out_of_band = overrides.get("conversation") == "none"
        if out_of_band:
            plan = self._plan(self.scenario.default_reply, overrides)
        else:
            reply, self._pending_reply = self._pending_reply, None
            plan = self._plan(reply, overrides)
        modalities = overrides.get("output_modalities") or self.session.get(
            "output_modalities") or ["audio"]
        audio_out = (self.session.get("audio") or {}).get("output") or {}
        voice = ((overrides.get("audio") or {}).get("output") or {}).get(
            "voice", audio_out.get("voice", "alloy"))
        # Real ids of one session share a time-ordered stem. The stem moves once per response,
        # a virtual clock, so that a seeded call mints the same ids at any speed or load.
        self._responses_started += 1
        self._ids.advance_to(self._responses_started)
        resp = _Response(id=self._ids.response_id(), plan=plan, modalities=list(modalities),
                         voice=voice, out_of_band=out_of_band,
                         metadata=overrides.get("metadata"))
        if out_of_band:
            self._oob.add(resp.id)
            self._oob_responses.append(resp)
        else:
            self._active = resp
        self._last_response_id = resp.id
        resp.task = self._spawn(self._run_response(resp))
        self._notify()
        return resp

    def _wake(self, resp: _Response) -> None:
        if resp.waker is not None and not resp.waker.done():
            resp.waker.set_result(None)

    async def _pace(self, resp: _Response, deadline: float) -> bool:
        """Sleep until ``deadline`` (loop time) unless ``resp`` is cancelled; True if cancelled."""
        if resp.cancel_reason is not None:
            return True
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        resp.waker = fut
        handle = loop.call_at(deadline, lambda: None if fut.done() else fut.set_result(None))
        try:
            await fut
        finally:
            handle.cancel()
            resp.waker = None
        return resp.cancel_reason is not None

    def _word_delay(self) -> float:
        lo, hi = self.scenario.timing.model_word_ms
        return self.s(self._rng.uniform(lo, hi))

    def _obfuscation(self) -> str:
        # Random padding of random length, as the server adds. Real frames show mixed-case
        # base62 ("z9A9dJucSf1J", "LBqdwEYsSEHbF").
        return self._ids.obfuscation(self._rng.randint(2, 16))

    def _response_obj(self, resp: _Response, status: str, *,
                      status_details: dict[str, Any] | None = None,
                      usage: dict[str, Any] | None = None) -> dict[str, Any]:
        audio_out = (self.session.get("audio") or {}).get("output") or {}
        return {
            "object": "realtime.response", "id": resp.id, "status": status,
            "status_details": status_details,
            "output": [self._public(i) for i in resp.output_items] if status != "in_progress"
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
            self._conv_id = self._ids.conversation_id()
        return self._conv_id

    @staticmethod
    def _public(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if not k.startswith("_")}

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

    async def _run_response(self, resp: _Response) -> None:
        loop = asyncio.get_running_loop()
        audio = "audio" in resp.modalities
        await self.emit("response.created", response=self._response_obj(resp, "in_progress"))
        self._responses_created += 1
        self._notify()   # a manual turn's transcription waits for this (see _caller_turn)
        position = self.options.rate_limits_position
        if position == "start":
            await self.emit("rate_limits.updated", rate_limits=self._rate_limits(
                self._usage_estimate(resp)))
        next_t = loop.time()
        for index, out in enumerate(resp.plan):
            if resp.cancel_reason is not None:
                break
            item_id = self._ids.item_id()
            if out.kind == "message":
                next_t = await self._run_message(resp, index, item_id, out, audio, next_t)
            else:
                next_t = await self._run_function_call(resp, index, item_id, out, next_t)
        if resp.cancel_reason is not None:
            status, details = "cancelled", {"type": "cancelled", "reason": resp.cancel_reason}
            for out in resp.plan:
                if out.kind == "function_call":
                    self._awaiting_tools.pop(out.call_id, None)
        else:
            status, details = "completed", None
        usage = self._usage(resp)
        if position == "end":
            await self.emit("rate_limits.updated", rate_limits=self._rate_limits(usage))
        await self.emit("response.done", response=self._response_obj(
            resp, status, status_details=details, usage=usage))
        if position == "after_done":
            # Observed in real traffic: rate_limits.updated follows response.done.
            await self.emit("rate_limits.updated", rate_limits=self._rate_limits(usage))
        if resp.out_of_band:
            self._oob.discard(resp.id)
            self._oob_responses.remove(resp)
        elif self._active is resp:
            self._active = None
        playback = self._playback
        if playback is not None and playback.response_id == resp.id and playback.task is None:
            playback.end = playback.start + self.s(playback.audio_ms)
            playback.task = self._spawn(self._drain_playback(playback))
        self._notify()

    def _usage_estimate(self, resp: _Response) -> dict[str, Any]:
        """What ``rate_limits_position="start"`` reports: the input so far, no output yet."""
        text_in, audio_in = self._input_tokens()
        return {"total_tokens": text_in + audio_in}

    async def _start_playback(self, resp: _Response, item_id: str) -> None:
        """The first audio of ``resp`` is out: (re)start the RTP output buffer."""
        if self._playback is not None and self._playback.response_id == resp.id:
            self._playback.item_id = item_id
            return
        previous = self._playback
        if previous is not None:
            # The new answer's audio follows the old one's: close the old playback.
            self._stop_playback()
            await self.emit("output_audio_buffer.stopped", response_id=previous.response_id)
        self._playback = _Playback(response_id=resp.id, item_id=item_id,
                                   start=asyncio.get_running_loop().time())
        await self.emit("output_audio_buffer.started", response_id=resp.id)
        self._notify()

    async def _run_message(self, resp: _Response, index: int, item_id: str, out: _Output,
                           audio: bool, next_t: float) -> float:
        loop = asyncio.get_running_loop()
        item: dict[str, Any] = {"id": item_id, "type": "message", "status": "in_progress",
                                "role": "assistant", "content": []}
        ids: dict[str, Any] = {"response_id": resp.id, "item_id": item_id,
                               "output_index": index}
        await self.emit("response.output_item.added", response_id=resp.id, output_index=index,
                        item=dict(item))
        prev = None
        if not resp.out_of_band:
            prev = self._insert(item, None)
            await self.emit("conversation.item.added", previous_item_id=prev, item=dict(item))
        part_key = "transcript" if audio else "text"
        await self.emit("response.content_part.added", **ids, content_index=0,
                        part={"type": "audio" if audio else "text", part_key: ""})
        rtp = audio and self._webrtc_like
        if audio:
            self.audio_started = True
        sent: list[str] = []
        item_audio_ms = 0
        delta_type = "response.output_audio_transcript.delta" if audio else \
            "response.output_text.delta"
        for word in _words(out.text):
            next_t = max(next_t, loop.time() - 0.5) + self._word_delay()
            if await self._pace(resp, next_t):
                break
            sent.append(word)
            ms = self.scenario.timing.playback_word_ms if audio else 0
            item_audio_ms += ms
            resp.audio_ms += ms
            if audio and (not self._webrtc_like or self.options.audio_deltas):
                await self.emit("response.output_audio.delta", scheduled=next_t, **ids,
                                content_index=0, delta=self._audio_delta())
            await self.emit(delta_type, scheduled=next_t, **ids, content_index=0, delta=word,
                            obfuscation=self._obfuscation())
            if rtp:
                # Observed in real traffic: the first transcript delta precedes
                # output_audio_buffer.started.
                await self._start_playback(resp, item_id)
                if self._playback is not None and self._playback.response_id == resp.id:
                    self._playback.audio_ms += ms
        text = "".join(sent)
        interrupted = resp.cancel_reason is not None
        if audio:
            await self.emit("response.output_audio.done", **ids, content_index=0)
            await self.emit("response.output_audio_transcript.done", **ids, content_index=0,
                            transcript=text)
            part = {"type": "audio", "transcript": text}
            content = {"type": "output_audio", "transcript": text}
        else:
            await self.emit("response.output_text.done", **ids, content_index=0, text=text)
            part = {"type": "text", "text": text}
            content = {"type": "output_text", "text": text}
        await self.emit("response.content_part.done", **ids, content_index=0, part=part)
        item.update(status="incomplete" if interrupted else "completed", content=[content])
        await self._item_done(resp, index, item, prev)
        item["_audio_ms"] = item_audio_ms
        if audio:
            item["_audio_tokens"] = item_audio_ms // 50
        resp.output_items.append(item)
        return next_t

    async def _item_done(self, resp: _Response, index: int, item: dict[str, Any],
                         prev: str | None) -> None:
        # Observed in real traffic: the conversation's item.done comes before the
        # response's output_item.done.
        if not resp.out_of_band:
            await self.emit("conversation.item.done", previous_item_id=prev, item=dict(item))
        await self.emit("response.output_item.done", response_id=resp.id, output_index=index,
                        item=dict(item))

    async def _run_function_call(self, resp: _Response, index: int, item_id: str, out: _Output,
                                 next_t: float) -> float:
        loop = asyncio.get_running_loop()
        item: dict[str, Any] = {"id": item_id, "type": "function_call", "status": "in_progress",
                                "call_id": out.call_id, "name": out.name, "arguments": ""}
        await self.emit("response.output_item.added", response_id=resp.id, output_index=index,
                        item=dict(item))
        prev = None
        if not resp.out_of_band:
            prev = self._insert(item, None)
            await self.emit("conversation.item.added", previous_item_id=prev, item=dict(item))
        chunks = [out.arguments[i:i + 12] for i in range(0, len(out.arguments), 12)]
        for chunk in chunks:
            next_t = max(next_t, loop.time() - 0.5) + self._word_delay() / 3
            if await self._pace(resp, next_t):
                break
            await self.emit("response.function_call_arguments.delta", scheduled=next_t,
                            response_id=resp.id, item_id=item_id, output_index=index,
                            call_id=out.call_id, delta=chunk, obfuscation=self._obfuscation())
        await self.emit("response.function_call_arguments.done", response_id=resp.id,
                        item_id=item_id, output_index=index, call_id=out.call_id,
                        name=out.name, arguments=out.arguments)
        interrupted = resp.cancel_reason is not None
        item.update(status="incomplete" if interrupted else "completed",
                    arguments=out.arguments)
        await self._item_done(resp, index, item, prev)
        resp.output_items.append(item)
        return next_t

    async def _drain_playback(self, playback: _Playback) -> None:
        assert playback.end is not None
        await asyncio.sleep(max(0.0, playback.end - asyncio.get_running_loop().time()))
        if self._playback is playback:
            self._playback = None
            await self.emit("output_audio_buffer.stopped", response_id=playback.response_id,
                            scheduled=playback.end)
            self._notify()

    def _stop_playback(self) -> _Playback | None:
        playback, self._playback = self._playback, None
        if playback is not None and playback.task is not None and \
                playback.task is not asyncio.current_task():
            playback.task.cancel()
        self._notify()
        return playback

    # ------------------------------------------------------------------ the caller

    def _idle(self) -> bool:
        return (self._active is None and self._playback is None and not self._awaiting_tools
                and self._pending_reply is None)

    async def _wait(self, predicate: Callable[[], bool]) -> None:
        deadline = asyncio.get_running_loop().time() + self.options.caller_patience_s
        while not predicate():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                self._record_meta("caller_impatient", {"waited_s": self.options.caller_patience_s})
                # Nobody answered the tool call or asked for the reply: the caller moves on
                # and the model forgets what it was waiting for (no second long wait).
                self._awaiting_tools.clear()
                self._pending_reply = None
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def _audio_ms_now(self) -> int:
        t0 = self._t0 if self._t0 is not None else asyncio.get_running_loop().time()
        return int((asyncio.get_running_loop().time() - t0) * 1000 * self.options.speed)

    async def _run_script(self) -> None:
        loop = asyncio.get_running_loop()
        if self._hold:
            await self.attached.wait()
        self._t0 = loop.time()
        for fault in self._faults:
            self._spawn(self._run_fault(fault, self._t0))
        sc = self.scenario
        if sc.greeting:
            self._pending_reply = sc.greeting
            self.create_response({})
        for turn in sc.turns:
            if turn.interrupt_after_ms is not None:
                await self._wait(lambda: self._playback is not None or self._idle())
                playback = self._playback
                start = playback.start if playback is not None else loop.time()
                await asyncio.sleep(max(0.0, start + self.s(turn.interrupt_after_ms)
                                        - loop.time()))
            else:
                await self._wait(self._idle)
                await asyncio.sleep(self.s(turn.pause_ms))
            await self._caller_turn(turn.caller, turn.reply)
        await self._wait(self._idle)
        if sc.end_by == "stay_open":
            return
        await asyncio.sleep(self.s(sc.end_after_ms))
        await self.end("caller_hangup" if sc.end_by == "caller_hangup" else "scenario_end")

    async def _interrupt(self) -> None:
        """Server VAD heard the caller: cancel the response, clear and truncate the audio."""
        active = self._active
        if active is not None and active.cancel_reason is None:
            active.cancel_reason = "turn_detected"
            self._wake(active)
            if active.task is not None:
                await asyncio.wait({active.task})
        playback = self._playback
        if playback is not None and self._webrtc_like:
            loop = asyncio.get_running_loop()
            self._stop_playback()
            played = int((loop.time() - playback.start) * 1000 * self.options.speed)
            await self.emit("output_audio_buffer.cleared", response_id=playback.response_id)
            item = self.items.get(playback.item_id)
            if item is not None:
                item_ms = int(item.get("_audio_ms", 0))
                await self._truncate(playback.item_id, 0, max(0, min(played, item_ms)))

    async def _caller_turn(self, text: str, reply: str | ToolReply | None) -> None:
        loop = asyncio.get_running_loop()
        timing = self.scenario.timing
        words = text.split()
        speech_ms = max(1, len(words)) * timing.speech_word_ms
        audio_in = self.session.get("audio") or {}
        input_cfg = audio_in.get("input") or {}
        td = input_cfg.get("turn_detection")
        item_id = self._ids.item_id()
        start_ms = self._audio_ms_now()
        if td:
            await self.emit("input_audio_buffer.speech_started", audio_start_ms=start_ms,
                            item_id=item_id)
            if td.get("interrupt_response", True):
                await self._interrupt()
            silence = td.get("silence_duration_ms", timing.silence_ms) or 0
            stop_at = loop.time() + self.s(speech_ms + silence)
            await asyncio.sleep(max(0.0, stop_at - loop.time()))
            await self.emit("input_audio_buffer.speech_stopped", scheduled=stop_at,
                            audio_end_ms=start_ms + speech_ms + silence, item_id=item_id)
        else:
            await asyncio.sleep(self.s(speech_ms))
        prev = self._previous_of_new()
        item: dict[str, Any] = {"id": item_id, "type": "message",
                                "status": "completed", "role": "user",
                                "content": [{"type": "input_audio", "transcript": None}]}
        self._insert(item, None)
        await self.emit("input_audio_buffer.committed", item_id=item_id, previous_item_id=prev)
        await self.emit("conversation.item.added", previous_item_id=prev, item=dict(item))
        await self.emit("conversation.item.done", previous_item_id=prev, item=dict(item))
        item["_audio_tokens"] = max(1, speech_ms // 100)
        self._pending_reply = reply if reply is not None else self.scenario.default_reply
        responses_before = self._responses_created
        self._notify()
        if input_cfg.get("transcription"):
            if td:
                # Server VAD: transcribed before the automatic response starts (the docs
                # allow either order; one timeline per call keeps seeded runs identical).
                await self._transcribe(item, text, speech_ms)
            else:
                # Manual commits: observed in real traffic, the client's response.created
                # precedes the input transcription. Wait for it (or the caller's patience).
                self._spawn(self._transcribe_after_response(item, text, speech_ms,
                                                            responses_before))
        if td and td.get("create_response", True) and self._active is None:
            self.create_response({})

    async def _transcribe_after_response(self, item: dict[str, Any], text: str,
                                         speech_ms: int, responses_before: int) -> None:
        deadline = asyncio.get_running_loop().time() + self.options.caller_patience_s
        while self._responses_created == responses_before:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        await self._transcribe(item, text, speech_ms)

    async def _transcribe(self, item: dict[str, Any], text: str, speech_ms: int) -> None:
        loop = asyncio.get_running_loop()
        next_t = loop.time()
        for word in _words(text):
            next_t += self.s(self.scenario.timing.transcription_word_ms)
            await asyncio.sleep(max(0.0, next_t - loop.time()))
            await self.emit("conversation.item.input_audio_transcription.delta",
                            scheduled=next_t, item_id=item["id"], content_index=0, delta=word,
                            obfuscation=self._obfuscation())
        if item["id"] in self.items:
            self.items[item["id"]]["content"] = [{"type": "input_audio", "transcript": text}]
        audio_tokens = max(1, speech_ms // 100)
        text_tokens = _tokens(text)
        await self.emit("conversation.item.input_audio_transcription.completed",
                        item_id=item["id"], content_index=0, transcript=text,
                        usage={"type": "tokens", "total_tokens": audio_tokens + text_tokens,
                               "input_tokens": audio_tokens, "output_tokens": text_tokens,
                               "input_token_details": {"text_tokens": 0,
                                                       "audio_tokens": audio_tokens}})

    # ------------------------------------------------------------------ faults

    async def _run_fault(self, fault: Fault, t0: float) -> None:
        loop = asyncio.get_running_loop()
        for k in range(fault.count):
            at = t0 + self.s(fault.at_ms + k * (fault.every_ms or 0))
            await asyncio.sleep(max(0.0, at - loop.time()))
            await self.apply_fault(fault)
            if self.status == "ended":
                return

    async def apply_fault(self, fault: Fault) -> None:
        """Apply one fault now."""
        kind = fault.kind
        self._record_meta("fault", {"kind": kind, **({"close_frame": fault.close_frame}
                                                     if kind == "drop" else {})})
        if kind == "drop":
            await self._close_sockets("fault: drop", close_frame=fault.close_frame,
                                      code=fault.code)
        elif kind == "caller_hangup":
            await self.end("caller_hangup", close_frame=fault.close_frame)
        elif kind == "malformed_json":
            text = '{"type":"response.output_text.delta","event_id":"' + \
                self._ids.event_id() + '","delta":"unterminated'
            await self._send_text(text, None, None, fault=kind)
        elif kind == "unknown_type":
            await self._send(self._event("emulator.unknown_event_type",
                                         detail="a type no catalog knows"), None, fault=kind)
        elif kind == "unknown_field":
            self._extra_field_next = True
        elif kind == "out_of_order":
            self._swap_next = True
        elif kind == "huge_frame":
            event = self._event("rate_limits.updated", rate_limits=[
                {"name": "tokens", "limit": 40000, "remaining": 40000, "reset_seconds": 0.0}])
            event["x_emulator_padding"] = ""
            overhead = len(json.dumps(event, separators=(",", ":")))
            event["x_emulator_padding"] = "x" * max(0, fault.size - overhead)
            await self._send(event, None, fault=kind)

    # ------------------------------------------------------------------ reporting

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able view of the call: status, sockets, the full record."""
        return {
            "call_id": self.call_id, "transport": self.transport, "status": self.status,
            "end_reason": self.end_reason, "scenario": self.scenario.name,
            "created_t": self.created_t,
            "sockets": [s.as_dict() for s in self.socket_log],
            "records": self.records,
        }
