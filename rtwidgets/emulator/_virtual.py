"""Virtual mode: a whole scripted call in milliseconds, with no server, socket or wall clock.

Why: tests and notebooks want the events of a call, not a running server. The session core
is sans-I/O, so this second shell drives it the way the aiohttp shell does (one sideband
attached when the call starts, client events stamped with a call time) but jumps from one
deadline to the next instead of sleeping. With the same seed, scenario and client events
it yields exactly the events a real socket receives from ``Emulator.start(seed=…)`` at any
speed (``tests/emulator/test_virtual.py`` checks it byte for byte).

Never: opens a socket, starts a loop or reads a clock.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from rtwidgets.protocol.errors import ValidationError
from rtwidgets.protocol.ids import IdFactory
from rtwidgets.protocol.session import default_session, merge_session

from ._faults import Fault, FaultLayer, parse_faults
from ._scenario import Scenario, load_scenario
from .core.live import CREATE_KEYS as CREATE_LIVE_KEYS
from .core.live import LiveSession, check_live_config, initial_live_session
from .core.outputs import Out
from .core.realtime import SEEDED_EPOCH, CoreOptions, RealtimeSession, call_streams, initial_session

__all__ = ["ClientScript", "VirtualCall", "run_scenario"]

#: What the client does: ``(at_ms, event)`` pairs sent at those call times, and/or a function
#: called with every server event the sideband receives, whose returned client events are sent
#: ``reaction_ms`` after it.
ClientScript = (Sequence[tuple[float, Mapping[str, Any]]]
                | Callable[[dict[str, Any]], Iterable[Mapping[str, Any]] | None])


class VirtualCall:
    """One emulated call in virtual time, with one sideband attached when it starts.

    The steppable form of the virtual mode, for tests and notebooks that talk to a call:
    ``send`` a client event (it arrives at the current call time, or at ``at``), ``next`` /
    ``until`` read what the sideband receives, running the call's clock only as far as
    needed to produce it. So a client "reacts instantly": its events arrive at the call time
    of the last event it read. ``transport="websocket"`` is a ``?model=`` session (idle, its
    ``session.created`` first). Options are those of ``Emulator.start``; seeded, the call is
    the emulator's first call with that seed. ``caller_patience_s`` counts call time here.
    ``api="live"`` is a GPT-Live session (``core/live.py``; ``session`` is then a Live session
    config, e.g. its ``delegation``), the emulator's first ``start_call(api="live")``.
    """

    def __init__(
        self,
        scenario: str | Path | Mapping[str, Any] | Scenario = "conversation",
        seed: int | None = 0,
        *,
        transport: Literal["webrtc", "sip", "websocket"] = "webrtc",
        session: Mapping[str, Any] | None = None,
        faults: Iterable[Fault | Mapping[str, Any]] | None = None,
        model: str = "gpt-realtime",
        call_id: str | None = None,
        rate_limits_position: Literal["after_done", "end", "start"] = "after_done",
        audio_deltas: bool = False,
        session_created_on_attach: bool = False,
        caller_patience_s: float = 30.0,
        api: Literal["realtime", "live"] = "realtime",
    ) -> None:
        if api not in ("realtime", "live"):
            raise ValueError(f"api: must be 'realtime' or 'live', got {api!r}. "
                             "Fix: pick one of the two")
        if api == "live":
            self._init_live(scenario, seed, transport, session, faults, call_id,
                            session_created_on_attach, caller_patience_s)
            return
        if transport not in ("webrtc", "sip", "websocket"):
            raise ValueError(f"transport: must be 'webrtc', 'sip' or 'websocket', got "
                             f"{transport!r}. Fix: pick one of the three")
        sc = Scenario.idle() if transport == "websocket" else load_scenario(scenario)
        parsed_faults = parse_faults(faults)
        ids0 = IdFactory(seed)
        if transport == "websocket":
            sess = default_session(model, ids0, created_at=SEEDED_EPOCH)
            call_id = sess["id"]
            ids, rng = call_streams(seed, call_id)
        else:
            if call_id is None:
                call_id = ids0.webrtc_call_id() if transport == "webrtc" else \
                    ids0.sip_call_id()
            ids, rng = call_streams(seed, call_id)
            sess = initial_session(sc, model, ids, SEEDED_EPOCH)
        if session is not None:
            try:
                sess = merge_session(sess, {"type": "realtime", **session},
                                     audio_started=False)
            except ValidationError as err:
                raise ValueError(str(err)) from None
        self._begin(call_id, transport, FaultLayer(RealtimeSession(
            call_id=call_id, transport=transport, scenario=sc, session=sess,
            options=CoreOptions(session_created_on_attach=session_created_on_attach,
                                rate_limits_position=rate_limits_position,
                                audio_deltas=audio_deltas,
                                patience_ms=caller_patience_s * 1000.0),
            ids=ids, rng=rng, hold_until_attached=True), parsed_faults))

    def _init_live(self, scenario: str | Path | Mapping[str, Any] | Scenario,
                   seed: int | None, transport: str, session: Mapping[str, Any] | None,
                   faults: Iterable[Fault | Mapping[str, Any]] | None, call_id: str | None,
                   session_created_on_attach: bool, caller_patience_s: float) -> None:
        """A GPT-Live session (``core/live.py``): the emulator's first Live call with ``seed``
        (``start_call(api="live")``), one sideband attached as it starts."""
        if transport not in ("webrtc", "sip"):
            raise ValueError(f"transport: must be 'webrtc' or 'sip' for a Live session, got "
                             f"{transport!r}. Fix: pick one of the two")
        sc = load_scenario(scenario)
        parsed_faults = parse_faults(faults)
        config = None if session is None else check_live_config(
            session, CREATE_LIVE_KEYS, "session", model_required=False)
        if call_id is None:
            call_id = IdFactory(seed).live_session_id()
        ids, rng = call_streams(seed, call_id)
        live = LiveSession(
            call_id=call_id, transport=transport,  # type: ignore[arg-type]  # checked above
            scenario=sc, session=initial_live_session(sc, call_id, SEEDED_EPOCH, config),
            options=CoreOptions(session_created_on_attach=session_created_on_attach,
                                patience_ms=caller_patience_s * 1000.0),
            ids=ids, rng=rng, created_at=SEEDED_EPOCH, hold_until_attached=True)
        self._begin(call_id, transport, FaultLayer(live, parsed_faults))

    def _begin(self, call_id: str, transport: str, core: FaultLayer) -> None:
        """Start the call of ``core`` (either API) with one sideband attached, as the
        emulator does: a WebRTC call announces its session first, then starts, then the
        sideband attaches (and a held caller starts)."""
        self.call_id: str = call_id
        self.core = core
        #: Every event the sideband received so far (``{"raw": text}`` for a non-JSON frame).
        self.events: list[dict[str, Any]] = []
        #: The emulator's notes on the call, as its record's meta entries (``{"type":
        #: "emulator.call_transferred", …}``, ``emulator.caller_impatient`` …), with ``call_ms``.
        self.notes: list[dict[str, Any]] = []
        #: Called with each event as the sideband receives it, with its call time.
        self.on_event: Callable[[dict[str, Any], float], None] | None = None
        self._unread: deque[dict[str, Any]] = deque()
        self._attached = False
        if transport == "webrtc":
            self._collect(self.core.announce(0.0))
        self._collect(self.core.start(0.0))
        self._attached = True
        self._collect(self.core.attach("ws1", 0.0))

    def __repr__(self) -> str:
        return (f"<VirtualCall {self.call_id} {self.core.status} t={self.now:g}ms "
                f"events={len(self.events)}>")

    @property
    def now(self) -> float:
        """The call time (ms) reached."""
        return float(self.core.now)

    @property
    def status(self) -> str:
        return str(self.core.status)

    def next_deadline(self) -> float | None:
        return self.core.next_deadline() if self.core.status != "ended" else None

    def _collect(self, outs: list[Out]) -> None:
        for out in outs:
            if out.kind == "meta":
                self.notes.append({**out.meta, "call_ms": out.at})
                continue
            if out.kind != "event" or not self._attached or out.only not in (None, "ws1"):
                continue
            event = out.event if out.raw is None else {"raw": out.raw}
            assert event is not None
            self.events.append(event)
            self._unread.append(event)
            if self.on_event is not None:
                self.on_event(event, out.at)

    def send(self, event: Mapping[str, Any] | str, at: float | None = None) -> None:
        """A client event (dict or wire text) arriving at call time ``at`` (default: now)."""
        if self.core.status == "ended":
            raise ConnectionError("the call has ended; its sideband is closed")
        when = self.now if at is None else max(float(at), self.now)
        self._collect(self.core.receive(event if isinstance(event, str) else dict(event), when))

    def refer(self, target_uri: str, at: float | None = None) -> None:
        """The app transfers the call (as ``POST …/refer`` would): the call ends ``referred``.

        ``ValueError`` naming ``target_uri`` for a bad target or a call not connected.
        """
        when = self.now if at is None else max(float(at), self.now)
        self._collect(self.core.refer(target_uri, when))

    @property
    def end_reason(self) -> str | None:
        """Why the call ended (``caller_hangup``, ``referred`` …), None while it runs."""
        reason: str | None = self.core.end_reason
        return reason

    def step(self) -> bool:
        """Run the call to its next deadline; False when nothing more can happen by itself."""
        deadline = self.next_deadline()
        if deadline is None:
            return False
        self._collect(self.core.advance(deadline))
        return True

    def next(self) -> dict[str, Any] | None:
        """The next event the sideband receives (None: the call ended, or waits on the
        client, with nothing left to read)."""
        while not self._unread:
            if not self.step():
                return None
        return self._unread.popleft()

    def until(self, type_: str, **match: Any) -> dict[str, Any]:
        """Read up to the next event of ``type_`` (and fields ``match``); LookupError if none
        comes."""
        while (event := self.next()) is not None:
            if event.get("type") == type_ and all(event.get(k) == v for k, v in match.items()):
                return event
        raise LookupError(f"type_: no {type_!r} event came before the call "
                          f"{'ended' if self.status == 'ended' else 'went quiet'}")


def run_scenario(
    scenario: str | Path | Mapping[str, Any] | Scenario = "conversation",
    seed: int | None = 0,
    *,
    transport: Literal["webrtc", "sip"] = "webrtc",
    session: Mapping[str, Any] | None = None,
    client_script: ClientScript | None = None,
    reaction_ms: float = 0.0,
    faults: Iterable[Fault | Mapping[str, Any]] | None = None,
    model: str = "gpt-realtime",
    call_id: str | None = None,
    rate_limits_position: Literal["after_done", "end", "start"] = "after_done",
    audio_deltas: bool = False,
    session_created_on_attach: bool = False,
    caller_patience_s: float = 30.0,
    until_ms: float = 3_600_000.0,
    api: Literal["realtime", "live"] = "realtime",
) -> list[dict[str, Any]]:
    """Run one scripted call in virtual time; return the server events a sideband receives.

    The call is the first call of ``Emulator.start(seed=seed, ...)`` (same call id, same
    events) with one sideband attached as it starts (the emulator's record also holds the
    ``session.created`` sent before any sideband). A frame that is not JSON (the
    ``malformed_json`` fault) appears as ``{"raw": text}``; a ``drop`` fault changes nothing
    here (the sideband is taken to re-attach at once). ``client_script``: ``(at_ms, event)``
    pairs, or a function called with every event received whose returned client events
    arrive ``reaction_ms`` later. The run stops when the call ends, when nothing more can
    happen (``end.by: "stay_open"``, no client event left) or at ``until_ms`` of call time.

    Raises ``ScenarioError``, ``FaultError`` or ``ValueError`` naming the bad field.
    """
    pending: list[tuple[float, int, dict[str, Any]]] = []
    if client_script is not None and not callable(client_script):
        for i, (at, event) in enumerate(client_script):
            heapq.heappush(pending, (float(at), i, dict(event)))
    seq = len(pending)

    def react(event: dict[str, Any], at: float) -> None:
        nonlocal seq
        if callable(client_script) and "raw" not in event:
            for reply in client_script(event) or ():
                seq += 1
                heapq.heappush(pending, (at + reaction_ms, seq, dict(reply)))

    call = VirtualCall(scenario, seed, transport=transport, session=session, faults=faults,
                       model=model, call_id=call_id, rate_limits_position=rate_limits_position,
                       audio_deltas=audio_deltas,
                       session_created_on_attach=session_created_on_attach,
                       caller_patience_s=caller_patience_s, api=api)
    for event in call.events:
        react(event, 0.0)
    call.on_event = react
    while call.status != "ended":
        deadline = call.next_deadline()
        if pending and (deadline is None or pending[0][0] <= deadline):
            at, _, event = heapq.heappop(pending)
            if at > until_ms:
                break
            call.send(event, at)
        elif deadline is not None and deadline <= until_ms:
            call.step()
        else:
            break
    return call.events
