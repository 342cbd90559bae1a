"""The tool runtime of a call: ``@call.tool`` handlers and the answers to tool calls.

Why a module of its own: answering a function call is a protocol of its own on top of the
call — run the user's handler once per call id, check its arguments, bound its time, send the
output, and ask for the next response only when the server can take it — and it is the same
for both APIs up to the last step. It is a mixin of ``Call`` (``_call``), which reaches it from
the receive path through ``_tool_requested`` (the codec's ``ToolCallRequested``) and gives it
the send path (``_send_event``, ``send``, ``_check_live``) and the engine's waits (``_bus``).

Decisions:
- ``@call.tool(name)`` handlers run once per function ``call_id`` (first of
  ``response.function_call_arguments.done`` / ``response.output_item.done``), with the
  arguments as keyword arguments after a JSON-schema check against the tool declared in the
  session. Sync handlers run in the loop's default executor (a blocking handler cannot stall
  the receive loop); async ones as tasks. Any failure, invalid argument or timeout becomes an
  ``{"error": "..."}`` output. Exactly one answer per call id.
- ``response.create`` after tool outputs waits for the asking response's ``response.done``
  and is sent once per response, by the last answer of its pending calls, so it never races
  the server into ``conversation_already_has_active_response``.
- GPT-Live: a delegation's backend tool call is answered with ``AnswerToolCall`` and, by the
  delegation's last pending answer, one ``CreateResponse`` — after the
  ``ResponseDone(kind="delegation")`` of a backend response seen running
  (live-protocol.md §7.3). The reducer keeps that bookkeeping (``state.delegations``,
  ``ToolCallRecord.delegation_id``).

Never: answer a tool call twice, send an output that is not JSON, or let a handler's failure
(or its hanging) reach the receive loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from rtwidgets._call_types import CallError, ToolCallError
from rtwidgets.protocol.codec import (
    AnswerToolCall,
    CreateResponse,
    ResponseDone,
    ToolCallRequested,
)
from rtwidgets.protocol.ids import shown_id

if TYPE_CHECKING:
    from rtwidgets._call_types import CallStats
    from rtwidgets.protocol.codec import Codec
    from rtwidgets.protocol.state import SessionState

__all__ = ["ToolRuntime"]

log = logging.getLogger("rtwidgets.call")

_ANSWER_BY: Final = frozenset({"handler", "form", "code"})


class ToolRuntime:
    """Tool handlers and tool answers (a mixin of ``Call``; the bookkeeping sets are created
    by its base, ``_TransportSource``, so that a ``Replay`` has them, empty)."""

    # Provided by the Call this is mixed into.
    call_id: str
    codec: Codec
    state: SessionState
    stats: CallStats
    handler_timeout: float
    _live: bool
    # The runtime's own state.
    _tool_handlers: dict[str, Callable[..., Any]]
    _tool_dispatched: set[str]
    _answered: set[str]
    _responded: set[str]

    if TYPE_CHECKING:  # the Call's send path, lifetime and bus, which this calls
        def _check_live(self) -> None: ...
        async def _send_event(self, event: dict[str, Any]) -> None: ...
        async def send(self, event: Mapping[str, Any] | str) -> str: ...
        def _meta(self, etype: str, **fields: Any) -> None: ...
        def _spawn(self, aw: Awaitable[Any]) -> asyncio.Task[Any]: ...
        def _add_event_waiter(self, cls: type, predicate: Callable[[Any], bool] | None = None
                              ) -> asyncio.Future[Any]: ...
        async def _await_waiter(self, fut: asyncio.Future[Any], timeout: float | None,
                                what: str) -> Any: ...

    def tool(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a sync or async handler for the function tool ``name`` (a decorator)."""
        if not isinstance(name, str) or not name:
            raise ValueError("name: expected the tool's name. Fix: e.g. @call.tool('get_weather')")

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            if not callable(fn):
                raise TypeError("handler: not callable. Fix: decorate a function")
            self._tool_handlers[name] = fn
            for rec in list(self.state.tool_calls.values()):
                if rec.name == name and rec.status == "pending":
                    self._start_tool(name, rec.call_id, rec.arguments)
            return fn

        return register

    def _tool_requested(self, request: ToolCallRequested) -> None:
        # The model asks for a call (the codec says so, from whichever frame carries the
        # complete arguments first; on GPT-Live a delegation's backend asks); a registered
        # handler runs once per call id.
        name = request.name
        if name is not None and name in self._tool_handlers:
            self._start_tool(name, request.call_id, request.arguments)

    def _start_tool(self, name: str, call_id: str, arguments: str) -> None:
        if call_id in self._tool_dispatched or call_id in self._answered:
            return
        rec = self.state.tool_calls.get(call_id)
        if rec is not None and rec.status != "pending":
            return
        self._tool_dispatched.add(call_id)
        self._spawn(self._run_tool(name, call_id, arguments))

    def _tool_schema(self, name: str) -> Any:
        session = self.state.session or {}
        for tool in session.get("tools") or ():
            if isinstance(tool, dict) and tool.get("name") == name and tool.get(
                    "type", "function") == "function":
                return tool.get("parameters")
        return None

    async def _run_tool(self, name: str, call_id: str, arguments: str) -> None:
        handler = self._tool_handlers[name]
        timeout = self.handler_timeout
        try:
            output = await asyncio.wait_for(self._call_handler(name, handler, arguments), timeout)
        except asyncio.TimeoutError:
            self.stats.handler_errors += 1
            output = json.dumps({"error": f"tool {name!r} timed out after {timeout} s"})
        except _BadArguments as exc:
            self.stats.handler_errors += 1
            output = json.dumps({"error": str(exc)})
        except Exception as exc:
            self.stats.handler_errors += 1
            log.warning("call %s: tool %r raised %s", self.call_id, name, type(exc).__name__)
            output = json.dumps({"error": f"{type(exc).__name__}: {exc}"[:1000]})
        try:
            await self.send_tool_output(call_id, output, respond=True, by="handler")
        except (CallError, ToolCallError, TimeoutError) as exc:
            log.warning("call %s: could not send the output of %s: %s", self.call_id, call_id,
                        exc)

    async def _call_handler(self, name: str, handler: Callable[..., Any], arguments: str
                            ) -> str:
        try:
            args = json.loads(arguments) if arguments and arguments.strip() else {}
        except ValueError as exc:
            raise _BadArguments(f"arguments of {name!r} are not valid JSON: {exc}") from None
        if not isinstance(args, dict):
            raise _BadArguments(f"arguments of {name!r} must be a JSON object")
        schema = self._tool_schema(name)
        if isinstance(schema, dict):
            import jsonschema

            try:
                cls = jsonschema.validators.validator_for(schema)
                errors = sorted(cls(schema).iter_errors(args), key=lambda e: list(e.path))
            except jsonschema.SchemaError as exc:
                raise _BadArguments(f"the declared schema of {name!r} is invalid: "
                                    f"{exc.message}") from None
            if errors:
                first = errors[0]
                where = ".".join(str(p) for p in first.path) or "(arguments)"
                raise _BadArguments(f"invalid arguments for {name!r}: {where}: {first.message}")
        if inspect.iscoroutinefunction(handler):
            result = await handler(**args)
        else:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(None, functools.partial(handler, **args))
            if inspect.isawaitable(result):
                result = await result
        if isinstance(result, str):
            return result
        return json.dumps(result, default=str)

    async def send_tool_output(self, call_id: str, output: Any, respond: bool = True,
                               by: str = "code") -> None:
        """Answer a function call: a ``function_call_output`` item, then ``response.create``.

        ``output`` is a string or JSON-serialisable value. Refuses (``ToolCallError``, nothing
        sent) an unknown or already answered ``call_id``.
        """
        if not isinstance(call_id, str) or not call_id:
            raise ToolCallError("call_id", f"expected a tool call id, got {type(call_id).__name__}",
                                "use an id from call.state.pending_tool_calls()")
        if by not in _ANSWER_BY:
            raise ToolCallError("by", f"{by!r} is not one of {sorted(_ANSWER_BY)}",
                                "use 'code', 'form' or 'handler'")
        if not isinstance(respond, bool):
            raise ToolCallError("respond", "expected True or False", "pass respond=True/False")
        if self._live:
            await self._live_tool_output(call_id, output, respond, by)
            return
        rec = self.state.tool_calls.get(call_id)
        if rec is None:
            # Tool call ids are server-made and opaque: looked up, never checked by shape; an
            # unknown value is quoted only when it is id-shaped (a pasted key is not echoed).
            raise ToolCallError("call_id", f"{shown_id(call_id)} is not a tool call of this call",
                                "use an id from call.state.pending_tool_calls()")
        if call_id in self._answered or rec.status != "pending":
            who = f" by {rec.answered_by}" if rec.answered_by else ""
            raise ToolCallError("call_id", f"{call_id!r} was already answered{who}",
                                "answer each tool call once")
        await self._send_answer(call_id, output, by)
        if respond:
            await self._respond_after(rec.response_id)

    async def _send_answer(self, call_id: str, output: Any, by: str) -> None:
        """Send one tool answer through the codec (either API) and note who gave it; the
        call counts as answered from before the send, so a second answer racing it fails."""
        if not isinstance(output, str):
            try:
                output = json.dumps(output, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise ToolCallError("output", f"not JSON-serialisable ({exc})",
                                    "pass a string or plain dict/list values, "
                                    "without NaN or Infinity") from None
        ev = self.codec.encode(AnswerToolCall(call_id, output))
        self._check_live()
        self._answered.add(call_id)
        try:
            await self._send_event(ev)  # the reducer folds it: the call is answered
        except BaseException:
            self._answered.discard(call_id)
            raise
        self._meta("rtwidgets.tool_answered", call_id=call_id, by=by)

    async def _respond_after(self, response_id: str | None) -> None:
        # The asking response must be done before response.create, or the server refuses it.
        if response_id is not None and self.state.active_response_id == response_id:
            fut = self._add_event_waiter(ResponseDone, lambda e: e.id == response_id)
            await self._await_waiter(fut, self.handler_timeout,
                                     f"waiting for response {response_id} to finish")
        key = response_id or f"none:{len(self._responded)}"
        others = [r for r in self.state.tool_calls.values()
                  if r.response_id == response_id and r.status == "pending"
                  and r.call_id not in self._answered]
        if others or key in self._responded:
            return
        self._responded.add(key)
        await self.send(self.codec.encode(CreateResponse()))

    async def _live_tool_output(self, call_id: str, output: Any, respond: bool, by: str
                                ) -> None:
        # GPT-Live: response.item.create with the function_call_output, then, after the
        # delegation's last pending call, one response.create (live-protocol.md §7.3). The
        # reducer keeps the bookkeeping (state.delegations, the calls' delegation_id).
        state = self.state
        rec = state.tool_calls.get(call_id)
        if rec is not None and rec.status == "unanswered":
            self._check_live()  # the session ended with the call pending: nobody can answer
        if rec is None or rec.status != "pending":
            if call_id in self._answered or (rec is not None and rec.status == "answered"):
                raise ToolCallError("call_id", f"{call_id!r} was already answered",
                                    "answer each tool call once")
            raise ToolCallError("call_id", f"{shown_id(call_id)} is not a pending tool call "
                                "of this session", "use an id from call.state."
                                "pending_tool_calls() (a delegation's function call, call_…)")
        await self._send_answer(call_id, output, by)
        delegation = rec.delegation_id
        last = not any(tc.status == "pending" for tc in state.tool_calls_of(delegation))
        if respond and last:
            known = state.delegations.get(delegation)
            if known is not None and known.running:
                # results went out before the backend response finished: continue it only
                # once it has (the order seen on the wire, live-protocol.md §7.3)
                fut = self._add_event_waiter(ResponseDone, lambda e: (
                    e.kind == "delegation" and e.delegation_id == delegation))
                await self._await_waiter(fut, self.handler_timeout, "waiting for the "
                                         "backend response of the delegation to finish")
            await self.send(self.codec.encode(CreateResponse()))


class _BadArguments(Exception):
    pass
