"""The GPT-Live session core: one Live session's server side, sans-I/O, on the virtual clock.

Why: issue 13 asks the emulator to speak GPT-Live (live-protocol.md) as deterministically as
it speaks Realtime: same seed, same bytes at any speed, in virtual mode too. This core is the
Live twin of ``realtime.py`` with the same face (``receive`` / ``advance`` /
``next_deadline``, ``start`` / ``announce`` / ``attach`` / ``end``, the same ``Out`` kinds),
and it hosts the same scripted caller (``caller.CallerHost``) and model (``model.py``) over
the same scenario files. Only the wire differs, and it differs as the protocol does:

- a caller turn is ``session.input_transcript.delta`` fragments on 200 ms timeline windows
  (``start_ms`` / ``end_ms`` from session start, a leading space, no done event), the model's
  speech ``session.output_transcript.delta`` likewise (live-protocol.md §7.2, OBS);
- a scripted tool reply is a delegation: under Responses delegation (the tool declared in
  ``delegation.responses.tools``) ``session.delegation.created`` with a ``response_id``, the
  backend's stream wrapped in ``response.event`` (created, in_progress, output_item.added,
  function_call_arguments.delta/.done, output_item.done, completed with usage) while the
  voice says the lead-in; the ``function_call_output`` comes as ``response.item.create`` and
  ``response.create`` starts a new backend response (``previous_response_id``) under the same
  delegation id, whose text the voice then relays (§7.3, OBS order). Under client delegation
  (the default: a null delegation is the client) ``session.delegation.created`` without a
  ``response_id`` and the answer comes as ``session.commentary.append`` with that
  ``delegation_id`` (§7.4);
- appends are acknowledged (``*.appended`` with ``start_ms`` = ``end_ms``), mute/unmute too;
  while muted the model hears silence (no input transcript, no reply);
- ``session.usage.updated`` every 15 s of call time (cumulative whole seconds, and
  ``context_window.usage_ratio`` over a 128,000-token window: both observed ratios, 0.0091171875
  and 0.0123359375, are exact multiples of 1/128000); the session ends with ``session.closed``
  ``{reason, session, usage}``.

Decisions where the public record is silent (documented in docs/emulator.md, GPT-Live):
- the sideband gets ``session.started`` on attach only if ``session_created_on_attach``
  (the same switch as Realtime's ``session.created``; §9.1 is open);
- error codes: a Realtime-only or unknown client event is ``invalid_value`` (what Realtime
  answers an unknown type), ``session.start`` and ``session.input_audio.append`` on the
  sideband are ``event_not_allowed`` (the code OBS shows for a disallowed event), a missing
  field ``missing_required_parameter``, an extra one ``unknown_parameter`` (SDK), a stale or
  non-client ``delegation_id`` ``invalid_value``; ``decision.*`` is refused
  (``unsupported_event``): the emulator does not run the Decision API;
- ``session.closed`` follows ``session.close`` after 600 ms (OBS: 0.5-0.7 s); a REST hangup,
  a refer or the scenario's end is ``close_requested``, the caller hanging up
  ``remote_hangup``, the emulator closing ``connection_lost``; a WebRTC session bills at
  least 15 s (OBS: "bills 15 s up front");
- the scripted greeting is spoken although the real model waits to be asked (§7.1): the
  scenario says the model greets;
- a caller who barges in stops the rest of the model's current utterance (no event: Live has
  none for it);
- ``response.create`` while a backend call has no output yet is refused
  (``missing_tool_output``), as the Responses API refuses a call without its output;
- a client delegation is one task: its first commentary answers every call behind it;
- the caller's keys are ``transport.dtmf.received`` on SIP (nothing on WebRTC, noted); the
  reply they ask for waits for the app's ``session.instructions.append`` (or a null-delegation
  commentary); a scripted silence prompts nothing (Live has no idle prompt; noted);
- a refer notes the transfer and closes ``close_requested``, ending ``referred``.

Never: imports from rtwidgets outside ``rtwidgets.protocol`` and ``rtwidgets.emulator``;
reads a clock or does I/O; keeps a reference to an API key.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rtwidgets.protocol.errors import short
from rtwidgets.protocol.ids import IdFactory

from .._scenario import Scenario, ToolReply
from .base import CoreOptions, SessionCore
from .clock import Process, ProcessGen, Until
from .model import Output
from .outputs import Out

__all__ = ["LIVE_MODEL", "LiveRequestError", "LiveSession", "check_live_config",
           "initial_live_session"]

LiveTransport = Literal["webrtc", "sip"]

#: The model a Live session gets when its config names none (the SDK's first literal).
LIVE_MODEL = "gpt-live-1"
#: Transcript fragments sit on windows of this many timeline milliseconds (OBS).
WINDOW_MS = 200
#: ``session.usage.updated`` cadence in call milliseconds (OBS: about every 15 s).
USAGE_EVERY_MS = 15_000.0
#: The context window behind ``usage_ratio`` (observed ratios are multiples of 1/128000).
CONTEXT_TOKENS = 128_000
#: ``session.closed`` follows ``session.close`` this long after (OBS: 0.5-0.7 s).
CLOSE_DELAY_MS = 600.0
#: ``expires_at`` - start (OBS: about 7,200 s).
LIFETIME_S = 7200
#: The voice relays a backend answer this long after the backend completes (OBS 0.5-3.5 s).
RELAY_DELAY_MS = 800.0
#: What the emulator's end reasons are as ``session.closed.reason``.
CLOSE_REASONS = {"hangup": "close_requested", "close_requested": "close_requested",
                 "scenario_end": "close_requested", "referred": "close_requested",
                 "caller_hangup": "remote_hangup", "emulator_closed": "connection_lost"}

#: Keys of a WebRTC create's ``session`` (``MediaSessionConfig``, SDK 3.57.0).
CREATE_KEYS = frozenset({"model", "instructions", "audio", "client", "delegation", "input",
                         "safety_identifier", "store", "triggers", "idle_timeout_s",
                         "wake_policy"})
#: Keys of a SIP accept's ``session`` (``SessionAcceptParams.session``).
ACCEPT_KEYS = frozenset({"type", "model", "instructions", "audio", "delegation", "input",
                         "safety_identifier", "store", "triggers"})
#: Keys of a WebRTC fork's ``session`` (``MediaSessionForkConfig``).
FORK_KEYS = frozenset({"client", "delegation", "store"})

_REALTIME_ONLY = ("response.cancel", "conversation.item.", "input_audio_buffer.",
                  "output_audio_buffer.clear", "transcription_session.")
_DTMF_KEYS = frozenset("0123456789ABCD*#")


class LiveRequestError(ValueError):
    """A Live request or session config the server would refuse (``field``, ``code``)."""

    def __init__(self, field: str, problem: str, fix: str, code: str = "invalid_value") -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        self.code = code
        super().__init__(f"{field}: {problem}. Fix: {fix}")


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def check_live_config(body: Any, keys: frozenset[str], field: str, *,
                      model_required: bool) -> dict[str, Any]:
    """A Live session config (create, accept or fork ``session``), checked shallowly.

    Raises ``LiveRequestError`` naming the field: not an object, an unknown key, a missing
    or non-string ``model``, a delegation of an unknown type, a non-boolean ``store``.
    """
    if not isinstance(body, Mapping):
        raise LiveRequestError(field, f"must be a JSON object, got {type(body).__name__}",
                               "send e.g. {\"model\": \"gpt-live-1\"}", "invalid_type")
    for key in body:
        if key not in keys:
            raise LiveRequestError(f"{field}.{key}", "is not a field of this Live request",
                                   f"use only {', '.join(sorted(keys))}", "unknown_parameter")
    if ("model" in body or model_required) and (
            not isinstance(body.get("model"), str) or not body["model"].strip()):
            raise LiveRequestError(f"{field}.model", "is required and must be a string",
                                   "pass model='gpt-live-1' (or 'gpt-live-1.1')",
                                   "missing_required_parameter" if "model" not in body
                                   else "invalid_type")
    if "type" in body and body["type"] != "live":
        raise LiveRequestError(f"{field}.type", f"must be 'live', got {short(body['type'])}",
                               "use type='live'; accept a Realtime call at "
                               "/v1/realtime/calls/{call_id}/accept")
    delegation = body.get("delegation")
    if delegation is not None:
        if not isinstance(delegation, Mapping) or delegation.get("type") not in (
                "client", "responses", "decisions"):
            raise LiveRequestError(f"{field}.delegation.type",
                                   "must be 'client', 'responses' or 'decisions'",
                                   "e.g. {\"type\": \"responses\", \"responses\": "
                                   "{\"model\": \"gpt-5.5\", \"tools\": [...]}}")
        if delegation["type"] != "client" and not isinstance(
                delegation.get(delegation["type"]), Mapping):
            kind = delegation["type"]
            raise LiveRequestError(f"{field}.delegation.{kind}", "is required for this type",
                                   f"add \"{kind}\": {{\"model\": …}}",
                                   "missing_required_parameter")
    if "store" in body and not isinstance(body["store"], bool):
        raise LiveRequestError(f"{field}.store", "must be true or false",
                               "pass store=True to fork or download the recording later",
                               "invalid_type")
    return dict(body)


def initial_live_session(scenario: Scenario, session_id: str, created_at: int,
                         config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``SessionResource`` a Live session of ``scenario`` starts with.

    The scenario's (Realtime-shaped) session lends its ``instructions`` and voice; ``config``
    (a create or accept ``session``, already checked) overrides them and adds the rest. Key
    order and the keys left out when unset follow the observed snapshots (§6.1).
    """
    config = dict(config or {})
    sc = scenario.session
    voice = ((sc.get("audio") or {}).get("output") or {}).get("voice", "marin")
    voice = ((config.get("audio") or {}).get("output") or {}).get("voice", voice)
    out: dict[str, Any] = {"id": session_id, "expires_at": created_at + LIFETIME_S,
                           "model": config.get("model") or LIVE_MODEL}
    instructions = config.get("instructions", sc.get("instructions"))
    if instructions:
        out["instructions"] = instructions
    out["audio"] = {"output": {"voice": voice}}
    if config.get("delegation") is not None:
        out["delegation"] = dict(config["delegation"])
    out["status"] = "active"
    out["input"] = list(config.get("input") or [])
    for key in ("client", "safety_identifier", "store", "triggers"):
        if key in config:
            out[key] = config[key]
    return out


@dataclass
class _Delegation:
    id: str
    target: Literal["client", "responses"]
    call_ids: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    response_ids: list[str] = field(default_factory=list)
    waiting: bool = False          # the backend completed with calls that wait for output
    seq: int = 0                   # sequence_number within the current backend response


class LiveSession(SessionCore):
    """The server side of one GPT-Live session (WebRTC or SIP), sans-I/O."""

    SNAPSHOT = "session.started"

    def __init__(
        self,
        *,
        call_id: str,
        transport: LiveTransport,
        scenario: Scenario,
        session: dict[str, Any],
        options: CoreOptions,
        ids: IdFactory,
        rng: random.Random,
        created_at: int,
        hold_until_attached: bool = True,
    ) -> None:
        self.transport = transport
        # Live has no conversation items: the base's ``items`` and ``order`` stay empty for
        # the shell's views.
        super().__init__(call_id=call_id, incoming=transport == "sip", scenario=scenario,
                         session=session, options=options, ids=ids, rng=rng,
                         hold_until_attached=hold_until_attached)
        self.created_at = created_at
        #: ``session.closed.reason`` once sent.
        self.close_reason: str | None = None
        self.muted = False
        self._voice_queue: list[str] = []
        self._voice: Process | None = None
        self._speech_start: float | None = None
        self._caller_speaking = False
        self._backend: Process | None = None
        self._relaying = 0
        self._delegations: dict[str, _Delegation] = {}
        self._typed: list[str] = []
        self._fixture_until: float | None = None
        self._closing: Process | None = None
        self._caller: Process | None = None
        self._context = 1000 + _tokens(str(session.get("instructions") or ""))
        self._backend_stem: str | None = None
        self._keys_reply: str | ToolReply | None = None   # owed after DTMF until the app asks

    def __repr__(self) -> str:
        return f"<LiveSession {self.call_id} {self.transport} {self.status} t={self.now:g}ms>"

    # ------------------------------------------------------------------ the sans-I/O API

    @property
    def clock_running(self) -> bool:
        return self.caller_t0 is not None

    def receive(self, frame: str | dict[str, Any], now: float, *, socket: str = "ws1",
                binary: bool = False) -> list[Out]:
        """A client frame that arrived at call time ``now``; errors answer, never raise."""
        outs = self.advance(now)
        if isinstance(frame, str):
            try:
                event = json.loads(frame)
            except json.JSONDecodeError as exc:
                self._out.append(Out("received", self.now, raw=frame[:10_000], only=socket))
                self.error("invalid_json", "The server could not parse the JSON of the client "
                           f"event: {exc.msg} at position {exc.pos}.")
                return outs + self._take()
        else:
            event = frame
        self._out.append(Out("received", self.now, event=event, only=socket))
        if self.status == "ended":
            return outs + self._take()
        self._handle(event)
        self.sched.settle()
        return outs + self._take()

    def start(self, now: float = 0.0) -> list[Out]:
        """The session runs: at once for WebRTC, on accept for SIP (``session.started``)."""
        outs = self.advance(now)
        was_incoming = self.status == "incoming"
        self.status = "active"
        if was_incoming:
            self.emit("session.started", session=self.session)
        self._maybe_start_caller()
        return outs + self._take()

    def _snapshot_on_attach(self) -> bool:
        # ``session.started`` to a sideband only if so configured (as Realtime's
        # ``session.created``), and only once the session runs (a ringing SIP session
        # sends it on accept).
        return self.options.session_created_on_attach and self.status == "active"

    # ------------------------------------------------------------------ outputs

    def _ack(self, type_: str, eid: str | None, **fields: Any) -> None:
        if eid is not None:
            fields["client_event_id"] = eid
        self.emit(type_, **fields)

    def error(self, code: str, message: str, *, param: str | None = None,
              eid: str | None = None, type_: str = "invalid_request_error") -> None:
        err: dict[str, Any] = {"type": type_, "code": code, "message": message, "param": param}
        if eid is not None:
            err["client_event_id"] = eid
            self.emit("error", error=err, client_event_id=eid)
        else:
            self.emit("error", error=err)

    def timeline(self) -> int:
        """Milliseconds from session start (the caller's start) on the session timeline."""
        return int(self.now - (self.caller_t0 or 0.0))

    def _window(self, t: float) -> dict[str, int]:
        start = int(max(0.0, t - (self.caller_t0 or 0.0))) // WINDOW_MS * WINDOW_MS
        return {"start_ms": start, "end_ms": start + WINDOW_MS}

    def usage(self) -> dict[str, Any]:
        """The cumulative ``SessionUsage`` now (whole seconds; WebRTC bills 15 s up front)."""
        seconds = int(self.timeline() // 1000) if self.caller_t0 is not None else 0
        if self.transport == "webrtc":
            seconds = max(15, seconds)
        return {"seconds": seconds}

    def _last_words(self, reason: str, eid: str | None) -> None:
        """An active session says ``session.closed`` as it ends (a ringing one says nothing)."""
        if self.status == "active":
            self.close_reason = CLOSE_REASONS.get(reason, "close_requested")
            fields: dict[str, Any] = {"reason": self.close_reason, "session": self.session,
                                      "usage": self.usage()}
            if eid is not None:
                fields["client_event_id"] = eid
            self.emit("session.closed", **fields)

    # ------------------------------------------------------------------ client events

    def _handle(self, event: Any) -> None:
        if not isinstance(event, dict):
            self.error("invalid_type", "A client event must be a JSON object.")
            return
        eid = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        type_ = event.get("type")
        if not isinstance(type_, str):
            self.error("missing_required_parameter", "The client event has no 'type'.",
                       param="type", eid=eid)
            return
        if type_ == "session.start":
            self.error("event_not_allowed", "Attach to an existing Live session. Do not send "
                       "session.start again.", param="type", eid=eid)
            return
        if type_ == "session.input_audio.append":
            self.error("event_not_allowed", "session.input_audio.append is not accepted on a "
                       "sideband: send audio over the primary connection.", param="type",
                       eid=eid)
            return
        if type_.startswith("decision."):
            self.error("unsupported_event", f"{type_} needs the Decision API, which the "
                       "rtwidgets emulator does not run.", param="type", eid=eid)
            return
        spec = _CLIENT_EVENTS.get(type_)
        if spec is None:
            if type_.startswith(_REALTIME_ONLY):
                self.error("invalid_value", f"Invalid value: {short(type_)}. GPT-Live has no "
                           "such event: its context is append-only and speech cannot be "
                           "cancelled or truncated; use session.instructions.append, "
                           "session.commentary.append or session.close instead.",
                           param="type", eid=eid)
            else:
                self.error("invalid_value", f"Invalid value: {short(type_)}. It is not a Live "
                           "client event.", param="type", eid=eid)
            return
        required, optional = spec
        for key in event:
            if key not in required and key not in optional and key not in ("type",
                                                                             "event_id"):
                self.error("unknown_parameter", f"Unknown parameter: '{short(key)[1:-1]}'.",
                           param=str(key)[:64], eid=eid)
                return
        for key in required:
            if key not in event:
                self.error("missing_required_parameter",
                           f"Missing required parameter: '{key}'.", param=key, eid=eid)
                return
        handler = getattr(self, "_on_" + type_.replace(".", "_"))
        try:
            handler(event, eid)
        except Exception as exc:
            self.meta("emulator_error", {"error": f"{type(exc).__name__}: {exc}",
                                         "client_event_type": type_})
            self.error("server_error", "The server had an error while processing your "
                       "request.", eid=eid, type_="server_error")

    def _delegation_type(self) -> str:
        delegation = self.session.get("delegation")
        return str(delegation.get("type")) if isinstance(delegation, dict) else "client"

    def _on_session_update(self, event: dict[str, Any], eid: str | None) -> None:
        upd = event["session"]
        if not isinstance(upd, dict):
            self.error("invalid_type", "session must be an object.", param="session", eid=eid)
            return
        for key in upd:
            if key not in ("delegation", "triggers"):
                self.error("unknown_parameter", f"session.{short(key)[1:-1]} cannot change "
                           "after start: a session.update takes only delegation settings and "
                           "triggers.", param=f"session.{str(key)[:64]}", eid=eid)
                return
        session = dict(self.session)
        if "delegation" in upd:
            new = upd["delegation"]
            current = self._delegation_type()
            kind = new.get("type") if isinstance(new, dict) else None
            if kind != current:
                self.error("invalid_value", f"The delegation type cannot change (it is "
                           f"{current!r}), including resetting it to null or client.",
                           param="session.delegation.type", eid=eid)
                return
            assert isinstance(new, dict)
            merged = dict(session.get("delegation") or {"type": "client"})
            for key, value in new.items():
                if key in ("responses", "decisions") and isinstance(value, dict):
                    merged[key] = {**(merged.get(key) or {}), **value}
                else:
                    merged[key] = value
            session["delegation"] = merged
        if "triggers" in upd:
            if not isinstance(upd["triggers"], list):
                self.error("invalid_type", "triggers must be a list ([] disables them).",
                           param="session.triggers", eid=eid)
                return
            session["triggers"] = list(upd["triggers"])
        self.session = session
        self._ack("session.updated", eid, session=self.session)

    def _on_session_input_audio_mute(self, event: dict[str, Any], eid: str | None) -> None:
        self.muted = True
        self._ack("session.input_audio.muted", eid)

    def _on_session_input_audio_unmute(self, event: dict[str, Any], eid: str | None) -> None:
        self.muted = False
        self._ack("session.input_audio.unmuted", eid)

    def _on_session_output_audio_fixture_play(self, event: dict[str, Any],
                                              eid: str | None) -> None:
        audio = event["audio"]
        try:
            raw = base64.b64decode(audio, validate=True) if isinstance(audio, str) else None
        except (binascii.Error, ValueError):
            raw = None
        if raw is None or len(raw) % 2:
            self.error("invalid_value", "audio must be base64 of raw PCM16LE, 24 kHz, mono.",
                       param="audio", eid=eid)
            return
        ms = len(raw) / 48.0
        if ms > 30_000:
            self.error("invalid_value", f"The fixture is {ms / 1000:.1f} s long; at most 30 s "
                       "is accepted.", param="audio", eid=eid)
            return
        if self._fixture_until is not None:
            self.error("invalid_value", "A fixture is already playing; wait for "
                       "session.output_audio.fixture.played.", param="type", eid=eid)
            return
        self._ack("session.output_audio.fixture.playing", eid)
        self._fixture_until = self.now + ms
        self.sched.spawn("fixture", self._play_fixture(self.now + ms, eid))

    def _play_fixture(self, until: float, eid: str | None) -> ProcessGen:
        yield until
        self._fixture_until = None
        self._ack("session.output_audio.fixture.played", eid)

    def _on_transport_dtmf_send(self, event: dict[str, Any], eid: str | None) -> None:
        key = event["event"]
        if self.transport != "sip":
            self.error("invalid_value", "transport.dtmf.send works on SIP sessions only.",
                       param="type", eid=eid)
        elif not isinstance(key, str) or len(key) != 1 or key not in _DTMF_KEYS:
            self.error("invalid_value", "event must be one DTMF key: 0-9, A-D, * or #.",
                       param="event", eid=eid)
        else:
            self._ack("transport.dtmf.sent", eid, event=key)

    def _append(self, kind: str, event: dict[str, Any], eid: str | None) -> _Delegation | None:
        """Check and acknowledge an append: the client delegation it continues
        (``_NO_DELEGATION`` for a null ``delegation_id``), or None after answering ``error``."""
        content, did = event["content"], event["delegation_id"]
        if not isinstance(content, str):
            self.error("invalid_type", "content must be a string.", param="content", eid=eid)
            return None
        if did is not None and not isinstance(did, str):
            self.error("invalid_type", "delegation_id must be a string or null.",
                       param="delegation_id", eid=eid)
            return None
        if self._fixture_until is not None:
            self.error("invalid_value", f"session.{kind}.append is refused while an audio "
                       "fixture plays.", param="type", eid=eid)
            return None
        delegation = None
        if did is not None:
            if self._delegation_type() == "responses":
                self.error("invalid_value", "Non-null delegation IDs are not accepted with "
                           "Responses delegation; send delegation_id null.",
                           param="delegation_id", eid=eid)
                return None
            delegation = self._delegations.get(did)
            if delegation is None or delegation.target != "client":
                self.error("invalid_value", f"No client delegation {short(did)} in this "
                           "session.", param="delegation_id", eid=eid)
                return None
        window = self.timeline()
        self._context += _tokens(content)
        self._ack(f"session.{kind}.appended", eid, start_ms=window, end_ms=window)
        return delegation or _NO_DELEGATION

    def _on_session_instructions_append(self, event: dict[str, Any], eid: str | None) -> None:
        if self._append("instructions", event, eid) is _NO_DELEGATION:
            self._answer_keys()

    def _on_session_thinking_append(self, event: dict[str, Any], eid: str | None) -> None:
        self._append("thinking", event, eid)

    def _on_session_commentary_append(self, event: dict[str, Any], eid: str | None) -> None:
        delegation = self._append("commentary", event, eid)
        if delegation is None:
            return
        content = event["content"]
        text: str | None = content
        # A client delegation is one task (its event names no calls): the first commentary
        # answers every call behind it, parallel ones included.
        for call_id in delegation.call_ids:
            if call_id not in delegation.outputs:
                delegation.outputs[call_id] = content
                if self.model.tool_answered(call_id, content):
                    text = self._take_reply()
        if text and text.strip():
            self._say(text, after=RELAY_DELAY_MS)
        if delegation is _NO_DELEGATION:
            self._answer_keys()

    def _on_response_item_create(self, event: dict[str, Any], eid: str | None) -> None:
        if self._delegation_type() != "responses":
            self.error("invalid_value", "response.item.create needs Responses delegation; this "
                       "session delegates to the client (answer with "
                       "session.commentary.append and the delegation_id).", param="type",
                       eid=eid)
            return
        item = event["item"]
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            self.error("invalid_value", "item must be a Responses input item, e.g. "
                       "{type: 'function_call_output', call_id, output}.", param="item",
                       eid=eid)
            return
        if item["type"] == "function_call_output":
            call_id, output = item.get("call_id"), item.get("output")
            if not isinstance(call_id, str) or not isinstance(output, str):
                self.error("missing_required_parameter", "A function_call_output needs "
                           "call_id and output strings.", param="item.call_id", eid=eid)
                return
            for d in self._delegations.values():
                if call_id in d.call_ids:
                    d.outputs[call_id] = output
                    self.model.tool_answered(call_id, output)
        elif item["type"] == "message" and item.get("role") == "user":
            parts = item.get("content")
            text = " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict)) \
                if isinstance(parts, list) else str(parts or "")
            self._typed.append(text)
            self._context += _tokens(text)
        # No ack on success (SDK: response.item.create has none).

    def _on_response_create(self, event: dict[str, Any], eid: str | None) -> None:
        if self._delegation_type() != "responses":
            self.error("invalid_value", "response.create continues Responses delegation "
                       "work; this session has none.", param="type", eid=eid)
            return
        if self._backend is not None and not self._backend.done:
            self.error("invalid_value", "A backend response is already in progress; wait for "
                       "its response.completed.", param="type", eid=eid)
            return
        waiting = [d for d in self._delegations.values() if d.waiting]
        if waiting:
            d = waiting[-1]
            missing = [c for c in d.call_ids if c not in d.outputs]
            if missing:
                self.error("missing_tool_output", f"No tool output found for function call "
                           f"{missing[0]}. Send response.item.create with a "
                           "function_call_output for every pending call_id first.",
                           param="item.call_id", eid=eid)
                return
            d.waiting = False
            text = self._take_reply() or self.scenario.default_reply
            self._backend = self.sched.spawn(f"backend {d.id}", self._run_answer(d, text))
            return
        if self._typed:
            typed, self._typed = self._typed, []
            self.model.hear(None)
            plan = self._plan()
            self.meta("typed_input", {"text": "\n".join(typed)})
            self._delegate(plan)
            return
        self.error("invalid_value", "There is no backend work to continue: no delegation "
                   "waits for tool output and no typed input was appended.", param="type",
                   eid=eid)

    def _on_session_close(self, event: dict[str, Any], eid: str | None) -> None:
        if self._closing is None:
            self._closing = self.sched.spawn("close", self._close_later(eid))

    def _close_later(self, eid: str | None) -> ProcessGen:
        yield self.now + CLOSE_DELAY_MS
        self._end("close_requested", None, eid=eid)

    # ------------------------------------------------------------------ the model's side

    def _take_reply(self) -> str | None:
        reply, self.model.pending_reply = self.model.pending_reply, None
        return reply if isinstance(reply, str) else None

    def _tools(self) -> tuple[list[Any], Any]:
        """The tools a scripted tool reply may use, and the tool choice."""
        kind = self._delegation_type()
        if kind == "responses":
            responses = (self.session.get("delegation") or {}).get("responses") or {}
            return list(responses.get("tools") or []), responses.get("tool_choice", "auto")
        if kind == "client":
            # Client delegation: your code is the tool; any scripted tool may be delegated.
            # Every tool of the reply (parallel calls may name several).
            reply = self.model.pending_reply
            names = dict.fromkeys(c.name for c in reply.calls) \
                if isinstance(reply, ToolReply) else {}
            return [{"type": "function", "name": n} for n in names], "auto"
        return [], "none"

    def _plan(self) -> list[Output]:
        tools, choice = self._tools()
        plan = self.model.plan_next(tools, choice, out_of_band=False)
        for out in plan:
            if out.kind == "function_call":
                # Live call ids: call_ + 24 base62 (OBS), unlike Realtime's.
                # The model's tool group (parallel calls) knows the call by its id too:
                # rename it there as well, or the follow-up would wait for an id nobody
                # answers.
                new = f"call_{self.ids.base62(24)}"
                group = self.model.awaiting_tools.pop(out.call_id, None)
                if group is not None:
                    self.model.awaiting_tools[new] = group
                    group.call_ids = [new if c == out.call_id else c for c in group.call_ids]
                    group.hints[new] = group.hints.pop(out.call_id, {})
                out.call_id = new
        return plan

    def _respond(self) -> None:
        plan = self._plan()
        if any(o.kind == "function_call" for o in plan):
            self._delegate(plan)
            return
        for out in plan:
            self._say(out.text)

    def _delegate(self, plan: list[Output]) -> None:
        calls = [o for o in plan if o.kind == "function_call"]
        kind = self._delegation_type()
        target: Literal["client", "responses"] = "responses" if kind == "responses" \
            else "client"
        d = _Delegation(id=self.ids.item_id(), target=target,
                        call_ids=[o.call_id for o in calls])
        self._delegations[d.id] = d
        delegation: dict[str, Any] = {"id": d.id, "type": "delegation"}
        if target == "responses":
            resp_id = self._backend_id("resp")
            delegation["response_id"] = resp_id
        delegation["target"] = target
        self.emit("session.delegation.created", offset_ms=self._window(self.now)["start_ms"],
                  delegation=delegation)
        if target == "responses":
            if calls:
                self._backend = self.sched.spawn(f"backend {d.id}",
                                                 self._run_calls(d, resp_id, calls))
            else:
                text = next((o.text for o in plan if o.kind == "message"),
                            self.scenario.default_reply)
                self._backend = self.sched.spawn(f"backend {d.id}",
                                                 self._run_answer(d, text, resp_id))
                return
        for out in plan:
            if out.kind == "message" and out.text:
                self._say(out.text)

    # ------------------------------------------------------------------ the backend

    def _backend_id(self, prefix: str) -> str:
        """``resp_`` / ``fc_`` / ``msg_`` + 50 hex: a session stem, ``00``, a time, random."""
        if self._backend_stem is None:
            self._backend_stem = self.ids.hex32()[:16]
        t = (self.created_at + int(self.now // 1000)) & 0xFFFFFFFF
        return f"{prefix}_{self._backend_stem}00{t:08x}{self.ids.hex32()[:24]}"

    def _backend_model(self) -> str:
        responses = (self.session.get("delegation") or {}).get("responses") or {}
        return str(responses.get("model") or "gpt-5.5")

    def _rev(self, d: _Delegation, type_: str, **fields: Any) -> None:
        inner = {"type": type_, **fields, "sequence_number": d.seq}
        d.seq += 1
        self.emit("response.event", delegation_id=d.id, event=inner)

    def _response(self, resp_id: str, status: str, previous: str | None,
                  usage: dict[str, Any] | None) -> dict[str, Any]:
        responses = (self.session.get("delegation") or {}).get("responses") or {}
        reasoning = responses.get("reasoning") or {}
        # Lifecycle snapshots omit input and clear instructions, tools and output (§4.1).
        return {"id": resp_id, "object": "response",
                "created_at": self.created_at + int(self.now // 1000), "status": status,
                "background": False, "error": None, "incomplete_details": None,
                "instructions": None, "max_output_tokens": None,
                "model": self._backend_model(), "output": [], "parallel_tool_calls": True,
                "previous_response_id": previous,
                "reasoning": {"effort": reasoning.get("effort"), "summary": None},
                "store": False, "temperature": 1.0,
                "tool_choice": responses.get("tool_choice", "auto"), "tools": [],
                "top_p": 1.0, "usage": usage, "metadata": {}}

    def _backend_usage(self, out_text: str) -> dict[str, Any]:
        input_tokens = self._context - 200
        output_tokens = _tokens(out_text) + 5
        return {"input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + output_tokens}

    def _begin(self, d: _Delegation, resp_id: str, previous: str | None) -> None:
        d.seq = 0
        d.response_ids.append(resp_id)
        self._rev(d, "response.created",
                  response=self._response(resp_id, "in_progress", previous, None))
        self._rev(d, "response.in_progress",
                  response=self._response(resp_id, "in_progress", previous, None))

    def _run_calls(self, d: _Delegation, resp_id: str, calls: list[Output]) -> ProcessGen:
        self._begin(d, resp_id, None)
        t = self.now
        produced = ""
        for index, out in enumerate(calls):
            t = max(t, self.now) + self.model.word_ms() * 4
            yield t
            item_id = self._backend_id("fc")
            item: dict[str, Any] = {"id": item_id, "type": "function_call",
                                    "status": "in_progress", "arguments": "",
                                    "call_id": out.call_id, "name": out.name}
            self._rev(d, "response.output_item.added", item=dict(item), output_index=index)
            for i in range(0, len(out.arguments), 12):
                t = max(t, self.now) + self.model.word_ms() / 3
                yield t
                self._rev(d, "response.function_call_arguments.delta",
                          delta=out.arguments[i:i + 12], item_id=item_id,
                          obfuscation=self.model.obfuscation(), output_index=index)
            self._rev(d, "response.function_call_arguments.done", arguments=out.arguments,
                      item_id=item_id, output_index=index)
            item.update(status="completed", arguments=out.arguments)
            self._rev(d, "response.output_item.done", item=item, output_index=index)
            produced += out.arguments
        d.waiting = True
        self._rev(d, "response.completed", response=self._response(
            resp_id, "completed", None, self._backend_usage(produced)))

    def _run_answer(self, d: _Delegation, text: str,
                    resp_id: str | None = None) -> ProcessGen:
        previous = d.response_ids[-1] if d.response_ids else None
        if resp_id is None:
            resp_id = self._backend_id("resp")
        self._begin(d, resp_id, previous)
        t = self.now + self.model.word_ms() * 4
        yield t
        item_id = self._backend_id("msg")
        item: dict[str, Any] = {"id": item_id, "type": "message", "status": "in_progress",
                                "content": [], "phase": "final_answer", "role": "assistant"}
        ids = {"item_id": item_id, "output_index": 0}
        self._rev(d, "response.output_item.added", item=dict(item), output_index=0)
        part: dict[str, Any] = {"type": "output_text", "annotations": [], "logprobs": [],
                                "text": ""}
        self._rev(d, "response.content_part.added", content_index=0, **ids, part=dict(part))
        for i, word in enumerate(text.split(" ")):
            t = max(t, self.now) + self.model.word_ms()
            yield t
            self._rev(d, "response.output_text.delta", content_index=0,
                      delta=word if i == 0 else " " + word, **ids, logprobs=[],
                      obfuscation=self.model.obfuscation())
        self._rev(d, "response.output_text.done", content_index=0, **ids, logprobs=[],
                  text=text)
        part["text"] = text
        self._rev(d, "response.content_part.done", content_index=0, **ids, part=part)
        item.update(status="completed", content=[part])
        self._rev(d, "response.output_item.done", item=item, output_index=0)
        self._rev(d, "response.completed", response=self._response(
            resp_id, "completed", previous, self._backend_usage(text)))
        # The voice relays the backend's answer a moment later (OBS: 0.5-3.5 s).
        self._say(text, after=RELAY_DELAY_MS)

    # ------------------------------------------------------------------ the voice

    def _say(self, text: str, after: float = 0.0) -> None:
        if after:
            self._relaying += 1
            self.sched.spawn("relay", self._say_later(text, self.now + after))
            return
        self._voice_queue.append(text)
        if self._voice is None or self._voice.done:
            self._voice = self.sched.spawn("voice", self._speak())

    def _say_later(self, text: str, at: float) -> ProcessGen:
        yield at
        self._relaying -= 1
        self._say(text)

    def _speak(self) -> ProcessGen:
        word_ms = self.scenario.timing.playback_word_ms
        while self._voice_queue:
            text = self._voice_queue.pop(0)
            self._speech_start = self.now
            t = self.now
            for word in text.split():
                start = t
                t = start + word_ms
                barged = yield Until(lambda: self._caller_speaking, t)
                if barged:
                    break
                self._context += _tokens(word)
                self.emit("session.output_transcript.delta", delta=" " + word,
                          **self._window(start))
            self._speech_start = None
        self._voice = None

    # ------------------------------------------------------------------ the caller's host

    def _maybe_start_caller(self) -> None:
        if (self.caller_t0 is None and self.status == "active"
                and (self._attached or not self._hold)):
            self.caller_t0 = self.now
            self._caller = self.sched.spawn("caller", self.caller.run(self))
            self.sched.spawn("usage", self._report_usage())

    def _quiet(self) -> bool:
        """The script is over and the model idle: only a client can move the session."""
        return self._caller is not None and self._caller.done and self.model_idle()

    def _report_usage(self) -> ProcessGen:
        while True:
            yield self.now + USAGE_EVERY_MS
            self.emit("session.usage.updated", usage=self.usage(),
                      context_window={"usage_ratio": self._context / CONTEXT_TOKENS})
            if self._quiet():
                # A quiet stay-open session reports again once something happens, so a
                # virtual run of it comes to rest.
                yield Until(lambda: not self._quiet())

    def model_idle(self) -> bool:
        return (not self._voice_queue and (self._voice is None or self._voice.done)
                and (self._backend is None or self._backend.done) and not self._relaying
                and not self.model.waiting and self._keys_reply is None)

    def model_audio_started_at(self) -> float | None:
        return self._speech_start

    def model_speaks_first(self, text: str) -> None:
        self._say(text)

    def caller_gave_up(self, waited_ms: float) -> None:
        self.meta("caller_impatient", {"waited_ms": waited_ms})
        self.model.forget()
        for d in self._delegations.values():
            d.waiting = False

    def caller_hangs_up(self, reason: str) -> None:
        self._end(reason, None)

    def reply_owed(self) -> bool:
        return self._keys_reply is not None

    def reply_not_requested(self, waited_ms: float) -> None:
        self.meta("reply_not_requested", {"waited_ms": waited_ms})
        self._keys_reply = None

    def caller_presses_keys(self, keys: str, gap_ms: int,
                            reply: str | ToolReply | None) -> ProcessGen:
        """Keys reach a SIP session's sideband as ``transport.dtmf.received`` (live-protocol.md
        §4 #25, §7.9); a WebRTC session has no keypad (noted, nothing sent). The model hears
        no keys: the reply is owed until the app tells the model what was pressed
        (``session.instructions.append`` or a null-delegation ``session.commentary.append``)."""
        for i, key in enumerate(keys):
            if i:
                yield self.now + gap_ms
            if self.transport == "sip":
                self.emit("transport.dtmf.received", event=key)
            else:
                self.meta("dtmf_not_sent", {"key": key, "transport": self.transport,
                                            "why": "DTMF events exist on SIP sessions only"})
        if reply is not None:
            self._keys_reply = reply

    def caller_stays_silent(self, ms: int, reply: str | ToolReply | None) -> ProcessGen:
        """Live has no server VAD timeout event (``input_audio_buffer.timeout_triggered``): a
        silence is just no transcript. The scripted reply to the silence is not said (noted):
        the only Live silence signal, ``session.paused`` after ``idle_timeout_s``, pauses
        the model instead of prompting it."""
        yield self.now + ms
        if reply is not None:
            self.meta("silence_unanswered", {"silent_ms": ms,
                                             "why": "GPT-Live has no idle-timeout prompt"})

    def _answer_keys(self) -> None:
        """The app told the model about the keys: it says the reply the keys asked for."""
        reply, self._keys_reply = self._keys_reply, None
        if reply is not None:
            self.model.hear(reply)
            self._respond()

    # ------------------------------------------------------------------ transfer
    # A refer (``POST /v1/live/sessions/{id}/refer``, the base's ``refer``) is noted
    # (``emulator.call_transferred``), then ``session.closed`` (``close_requested``) and the
    # session ends ``referred``, as a Realtime call's refer does.

    def refer_check(self, target_uri: str) -> None:
        """``ValueError`` naming ``target_uri`` if a refer to it cannot go ahead now."""
        if not isinstance(target_uri, str) or not target_uri.strip().startswith(
                ("tel:", "sip:", "sips:")):
            raise ValueError(f"target_uri: must be a tel: or sip: URI, got {short(target_uri)}. "
                             "Fix: e.g. 'tel:+14155550123' or 'sip:agent@example.com'")
        if self.status != "active":
            raise ValueError(f"target_uri: session {self.call_id} is {self.status}, not "
                             "connected. Fix: refer a session after it is accepted and before "
                             "it ends")

    def caller_speaks(self, text: str, reply: str | ToolReply | None) -> ProcessGen:
        word_ms = self.scenario.timing.speech_word_ms
        heard = not self.muted
        self._caller_speaking = True
        t = self.now
        for word in text.split():
            start = t
            t = start + word_ms
            yield t
            if not self.muted:
                self._context += _tokens(word)
                self.emit("session.input_transcript.delta", delta=" " + word,
                          **self._window(start))
            else:
                heard = False
        self._caller_speaking = False
        if not heard:
            # Muted: the model heard silence, so it has nothing to answer.
            self.meta("caller_unheard", {"text": text})
            return
        self.model.hear(reply)
        self._respond()


_NO_DELEGATION = _Delegation(id="", target="client")

#: Client events: type -> (required keys, optional keys) besides ``type`` and ``event_id``.
_CLIENT_EVENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "session.update": (("session",), ()),
    "session.input_audio.mute": ((), ()),
    "session.input_audio.unmute": ((), ()),
    "session.output_audio.fixture.play": (("audio",), ()),
    "transport.dtmf.send": (("event",), ()),
    "session.instructions.append": (("content", "delegation_id"), ()),
    "session.thinking.append": (("content", "delegation_id"), ()),
    "session.commentary.append": (("content", "delegation_id"), ()),
    "response.item.create": (("item",), ()),
    "response.create": ((), ()),
    "session.close": ((), ()),
}

