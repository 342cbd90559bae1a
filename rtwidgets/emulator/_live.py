"""The emulator's GPT-Live routes: create, the sideband, the session controls, SIP both ways.

Why: issue 13 item 7. The official SDK's ``client.live.*`` must drive the emulator as it
drives api.openai.com (live-protocol.md §2-§3): ``POST /v1/live/sessions`` (JSON: a WebRTC
SDP offer in, ``{session: {id}, transport: {type: "webrtc", sdp}}`` out, 201 as observed),
the sideband WebSocket ``GET /v1/live/sessions/{id}/attach``, ``POST …/{id}/accept | reject |
refer | hangup | fork`` and ``GET …/{id}/content`` (the recording; the SDK's
``download_recording`` path). A Live SIP call is announced both ways, signed like every
webhook: ``live.transport.incoming`` for its ``live_…`` session and ``realtime.call.incoming``
for a Realtime twin ``rtc_u0_…`` with the same SIP headers; the first accept decides and the
other accept gets HTTP 409 ``call_already_accepted`` (an emulator choice: the platform's
answer is not public). Behaviour lives in ``core/live.py``; this is I/O only, in its own
module so that the Realtime routes in ``_server.py`` stay as they were.

Choices where the record is silent (docs/emulator.md, GPT-Live): handshake refusals are
Realtime's (unknown, pending or ended id: HTTP 404 before the upgrade; a bad key: ``error``
``invalid_api_key`` and close 3000 after it); fork and recording need ``store: true`` (fork
otherwise 400 ``session_not_stored``, recording 404 ``recording_not_found``); a fork answers
200 and starts an idle session (no scripted caller); the recording is a stereo 24 kHz PCM16
WAV of silence as long as the session's billed seconds (left input, right output, as a third
party reports); reject takes a SIP status 300-699.

Never: keeps or logs a key or a webhook secret; imports rtwidgets code other than
``rtwidgets.protocol`` and ``rtwidgets.emulator``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web

from rtwidgets.protocol.ids import IdFactory, check_live_session_id, is_live_session_id

from ._call import EmulatedCall
from ._faults import Fault, parse_faults
from ._scenario import Scenario, load_scenario
from ._webhooks import WebhookSender
from .core.live import (
    ACCEPT_KEYS,
    CREATE_KEYS,
    FORK_KEYS,
    LiveRequestError,
    LiveSession,
    check_live_config,
    initial_live_session,
)
from .core.realtime import call_streams

if TYPE_CHECKING:
    from ._server import Emulator

__all__ = ["LiveApi"]

_ACTIONS = ("accept", "reject", "refer", "hangup", "fork")


def _error(status: int, message: str, *, param: str | None = None,
           code: str | None = None) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "invalid_request_error",
                                        "param": param, "code": code}}, status=status)


def _shown(session_id: str) -> str:
    return repr(session_id) if is_live_session_id(session_id) else "(not a session id)"


def _check_session_id(value: str, field: str) -> None:
    """``check_live_session_id``, its error as a plain ``ValueError`` (as ``start_call``
    raises for every bad argument)."""
    try:
        check_live_session_id(value, field)
    except ValueError as err:
        raise ValueError(str(err)) from None


def _silence_wav(seconds: int) -> bytes:
    """A stereo 24 kHz PCM16 WAV of ``seconds`` of silence (the real format is unconfirmed)."""
    frames = 24_000 * max(0, min(seconds, 600))
    data = bytes(frames * 4)
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack(
        "<IHHIIHH", 16, 1, 2, 24_000, 24_000 * 4, 4, 16) + b"data" + struct.pack("<I", len(data))
    return header + data


class LiveApi:
    """The Live side of one ``Emulator``: its routes and ``start_call(api="live")``."""

    def __init__(self, emu: Emulator, sdp_answer: Callable[[IdFactory], str]) -> None:
        self.emu = emu
        # The SDP answer of a WebRTC create (``_server._sdp_answer``), passed in so that
        # this module does not import the server that imports it.
        self._sdp_answer = sdp_answer
        #: A SIP call announced both ways: each id -> the other (``live_…`` <-> ``rtc_…``).
        self.twins: dict[str, str] = {}
        #: For each twin pair (keyed by its Live id): the id whose accept won.
        self.accepted: dict[str, str] = {}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/live/sessions", self._create)
        app.router.add_get("/v1/live/sessions/{session_id}/attach", self._attach)
        app.router.add_get("/v1/live/sessions/{session_id}/content", self._recording)
        app.router.add_post("/v1/live/sessions/{session_id}/{action}", self._action)

    # ------------------------------------------------------------------ building sessions

    def _new_session(self, session_id: str, transport: Literal["webrtc", "sip"],
                     scenario: Scenario, config: Mapping[str, Any] | None,
                     faults: list[Fault] | None = None,
                     hold_until_attached: bool | None = None) -> EmulatedCall:
        emu = self.emu
        ids, rng = call_streams(emu.seed, session_id)
        created_at = emu._created_at()
        hold = emu._hold(hold_until_attached)
        session = initial_live_session(scenario, session_id, created_at, config)
        core = LiveSession(call_id=session_id, transport=transport, scenario=scenario,
                           session=session, options=emu.options.core(), ids=ids, rng=rng,
                           created_at=created_at, hold_until_attached=hold)
        return emu._new_call(call_id=session_id, transport=transport, scenario=scenario,
                             session=session, streams=(ids, rng), faults=faults,
                             hold_until_attached=hold, core=core)

    async def start_call(
        self,
        transport: Literal["webrtc", "sip"] = "webrtc",
        scenario: str | Path | Mapping[str, Any] | Scenario | None = None,
        *,
        faults: Iterable[Fault | Mapping[str, Any]] | None = None,
        hold_until_attached: bool = True,
        session: Mapping[str, Any] | None = None,
        call_id: str | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
    ) -> str:
        """Start a scripted Live session and return its ``live_…`` id (see ``Emulator``)."""
        emu = self.emu
        sender = emu._check_start(transport, call_id, _check_session_id, webhook_url,
                                  webhook_secret)
        sc = emu.scenario if scenario is None else load_scenario(scenario)
        parsed = parse_faults(faults)
        try:
            config = None if session is None else check_live_config(
                session, CREATE_KEYS | {"type"}, "session", model_required=False)
        except LiveRequestError as err:
            raise ValueError(str(err)) from None
        if config is not None:
            config.pop("type", None)
        session_id = call_id or emu._ids.live_session_id()
        call = self._new_session(session_id, transport, sc, config, parsed,
                                 hold_until_attached)
        if transport == "webrtc":
            await call.announce()
            await call.start()
            return session_id
        self._announce(call, sender)
        twin = await emu.start_call(transport="sip", scenario=sc, faults=parsed,
                                    hold_until_attached=hold_until_attached,
                                    webhook_url=webhook_url, webhook_secret=webhook_secret)
        self.twins[session_id] = twin
        self.twins[twin] = session_id
        return session_id

    def _announce(self, call: EmulatedCall, sender: WebhookSender | None) -> None:
        """Record the ``live.transport.incoming`` delivery now; POST it in the background."""
        self.emu._webhook(call, sender, "live.transport.incoming", {
            "session_id": call.call_id, "type": "sip", "sip_media_security": "srtp",
            "sip_headers": [dict(h) for h in call.scenario.sip_headers]})

    # ------------------------------------------------------------------ first accept wins

    def twin_refusal(self, call_id: str) -> web.Response | None:
        """HTTP 409 for an accept of a call whose twin was accepted first, else None."""
        other = self.twins.get(call_id)
        if other is None:
            return None
        key = call_id if call_id.startswith("live_") else other
        winner = self.accepted.get(key)
        if winner is None or winner == call_id:
            return None
        api = "a GPT-Live session" if winner.startswith("live_") else "a Realtime call"
        return _error(409, f"This SIP call was already accepted as {api} ({winner!r}); the "
                      "first accept decides. Fix: drive the call through that id, or accept "
                      "the next call", param="call_id", code="call_already_accepted")

    async def settle_twin(self, call_id: str, action: str) -> None:
        """After a successful accept/reject/hangup of one id of a twin pair: the other id is
        no longer offered (an accept of it gets 409; anything else 404)."""
        other = self.twins.get(call_id)
        if other is None:
            return
        if action == "accept":
            self.accepted[call_id if call_id.startswith("live_") else other] = call_id
        twin = self.emu.calls.get(other)
        if twin is not None and twin.status == "incoming":
            await twin.end({"accept": "accepted_elsewhere", "reject": "rejected",
                            "hangup": "hangup"}.get(action, action))

    # ------------------------------------------------------------------ HTTP

    async def _create(self, request: web.Request) -> web.Response:
        emu = self.emu
        if (refused := emu._refuse_key(request)) is not None:
            return refused
        body, bad = await emu._json_body(request, None)
        if bad is not None:
            return bad
        if not isinstance(body, dict):
            return _error(400, "The body must be a JSON object: {session, transport}.",
                          code="invalid_type")
        for key in body:
            if key not in ("session", "transport"):
                return _error(400, f"Unknown parameter: '{str(key)[:64]}'.",
                              param=str(key)[:64], code="unknown_parameter")
        transport = body.get("transport")
        if not isinstance(transport, dict) or transport.get("type") != "webrtc":
            return _error(400, "transport: must be {\"type\": \"webrtc\", \"sdp\": …} (the "
                          "emulator does not place outbound SIP calls).",
                          param="transport.type", code="invalid_value")
        sdp = transport.get("sdp")
        if not isinstance(sdp, str) or not sdp.lstrip().startswith("v=0"):
            return _error(400, "Invalid SDP offer: it must start with 'v=0'.",
                          param="transport.sdp", code="invalid_offer")
        try:
            config = check_live_config(body.get("session"), CREATE_KEYS, "session",
                                       model_required=True)
        except LiveRequestError as err:
            return _error(400, str(err), param=err.field, code=err.code)
        session_id = emu._ids.live_session_id()
        emu.requests[-1]["call_id"] = session_id
        call = self._new_session(session_id, "webrtc", emu.scenario, config)
        await call.announce()
        await call.start()
        return web.json_response({"session": {"id": session_id},
                                  "transport": {"type": "webrtc",
                                                "sdp": self._sdp_answer(emu._ids)}},
                                 status=201)

    def _live_call(self, session_id: str) -> EmulatedCall | None:
        call = self.emu.calls.get(session_id)
        return call if call is not None and call.api == "live" else None

    async def _action(self, request: web.Request) -> web.Response:
        emu = self.emu
        if (refused := emu._refuse_key(request)) is not None:
            return refused
        session_id = request.match_info["session_id"]
        action = request.match_info["action"]
        body, bad = await emu._json_body(request, session_id)
        if bad is not None:
            return bad
        if action not in _ACTIONS:
            return _error(404, f"Unknown action '{action[:40]}'.", code="not_found")
        if action == "accept" and (refusal := self.twin_refusal(session_id)) is not None:
            return refusal
        call = self._live_call(session_id)
        if action == "fork":
            return await self._fork(call, session_id, body)
        if call is None or call.status == "ended":
            return _error(404, f"Session {_shown(session_id)} not found.", param="session_id",
                          code="session_not_found")
        if action == "hangup":
            await call.end("hangup")
            await self.settle_twin(session_id, "hangup")
            return web.Response(status=200)
        if action in ("accept", "reject") and call.status != "incoming":
            return _error(400, f"Session {_shown(session_id)} is not waiting to be accepted.",
                          code="call_not_ringing")
        if action == "accept":
            session = body.get("session") if isinstance(body, dict) else None
            try:
                config = check_live_config(session, ACCEPT_KEYS, "session",
                                           model_required=True)
                if config.get("type") != "live":
                    raise LiveRequestError("session.type", "is required and must be 'live'",
                                           "send {\"session\": {\"type\": \"live\", "
                                           "\"model\": \"gpt-live-1\"}}",
                                           "missing_required_parameter")
            except LiveRequestError as err:
                return _error(400, str(err), param=err.field, code=err.code)
            config.pop("type")
            core = call.core.core
            assert isinstance(core, LiveSession)
            call.session = initial_live_session(call.scenario, session_id, core.created_at,
                                                config)
            await call.start()
            await self.settle_twin(session_id, "accept")
            emu._observe("accepted", session_id)
            return web.Response(status=200)
        if action == "reject":
            code = body.get("status_code") if isinstance(body, dict) else None
            if isinstance(code, bool) or not isinstance(code, int) or not 300 <= code <= 699:
                return _error(400, "status_code: must be a SIP status code from 300 to 699. "
                              "Fix: e.g. 486 (busy) or 603 (decline)", param="status_code",
                              code="invalid_value")
            emu._observe("rejected", session_id)
            await call.end(f"rejected ({code})")
            await self.settle_twin(session_id, "reject")
            return web.Response(status=200)
        return await emu._refer(call, body, f"Session {_shown(session_id)}", strip=True)

    async def _fork(self, source: EmulatedCall | None, session_id: str,
                    body: Any) -> web.Response:
        emu = self.emu
        if source is None:
            return _error(404, f"Session {_shown(session_id)} not found.", param="session_id",
                          code="session_not_found")
        if source.session.get("store") is not True:
            return _error(400, f"Session {_shown(session_id)} was not stored, so it cannot be "
                          "forked. Fix: start the session with store=True",
                          param="session_id", code="session_not_stored")
        if not isinstance(body, dict):
            return _error(400, "The body must be a JSON object: {transport, session?}.",
                          code="invalid_type")
        transport = body.get("transport")
        sdp = transport.get("sdp") if isinstance(transport, dict) else None
        if not isinstance(transport, dict) or transport.get("type") != "webrtc" or not (
                isinstance(sdp, str) and sdp.lstrip().startswith("v=0")):
            return _error(400, "transport: must be {\"type\": \"webrtc\", \"sdp\": \"v=0…\"}.",
                          param="transport", code="invalid_value")
        try:
            overrides = check_live_config(body.get("session") or {}, FORK_KEYS, "session",
                                          model_required=False)
        except LiveRequestError as err:
            return _error(400, str(err), param=err.field, code=err.code)
        config = {k: v for k, v in source.session.items()
                  if k not in ("id", "expires_at", "status")}
        if "delegation" in overrides:
            kind = (config.get("delegation") or {"type": "client"}).get("type")
            new = overrides["delegation"] or {"type": "client"}
            if new.get("type") != kind:
                return _error(400, "session.delegation.type: a fork cannot change the "
                              f"delegation type (it is {kind!r}). Fix: keep the type",
                              param="session.delegation.type", code="invalid_value")
        config.update(overrides)
        new_id = emu._ids.live_session_id()
        emu.requests[-1]["call_id"] = new_id
        call = self._new_session(new_id, "webrtc", Scenario.idle(), config)
        await call.announce()
        await call.start()
        return web.json_response({"session": {"id": new_id},
                                  "transport": {"type": "webrtc",
                                                "sdp": self._sdp_answer(emu._ids)}})

    async def _recording(self, request: web.Request) -> web.Response:
        emu = self.emu
        if (refused := emu._refuse_key(request)) is not None:
            return refused
        session_id = request.match_info["session_id"]
        emu._log_request(request, session_id, None)
        call = self._live_call(session_id)
        if call is None or call.session.get("store") is not True:
            return _error(404, f"No recording for session {_shown(session_id)}: only a "
                          "session started with store=True keeps one.", param="session_id",
                          code="recording_not_found")
        core = call.core.core
        assert isinstance(core, LiveSession)
        return web.Response(body=_silence_wav(int(core.usage()["seconds"])),
                            content_type="audio/wav")

    # ------------------------------------------------------------------ the sideband

    async def _attach(self, request: web.Request) -> web.StreamResponse:
        emu = self.emu
        session_id = request.match_info["session_id"]
        call = self._live_call(session_id)
        # As for Realtime (live-protocol.md §9.3 is open): an unknown, pending or ended
        # session is refused at the handshake with HTTP 404.
        if call is None or call.status != "active":
            return web.Response(status=404)
        # A Live ``error`` object has no ``event_id`` (its errors name the client event as
        # ``client_event_id``).
        ws, accepted = await emu._upgrade(request, session_id, None, {})
        if not accepted:
            return ws
        sock = await call.attach(ws, request)
        call._record_meta("sideband_query",
                          {"socket": sock.id,
                           "graceful_close": request.query.get("graceful_close")})
        emu._observe("sideband", call.call_id, sock.opened_t)
        # Closing the sideband detaches the observer only; the session goes on.
        await emu._serve_socket(call, ws, sock)
        return ws
