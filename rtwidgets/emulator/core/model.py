"""The scripted model: what it says next, which tool it calls, and how fast it talks.

Why: the model's side of a scenario is the same whatever wire protocol carries it (the
Realtime GA session today, a GPT-Live session core next): it holds the reply the caller's
last turn asked for, turns a scripted reply into a plan of outputs (messages and function
calls whose arguments fill the *declared* schema, ``_toolargs.fill_arguments``), remembers
the tool calls it waits on and renders the follow-up from their output. A session core asks
it for a plan and for pace (word delays, ``obfuscation``); the core alone knows the wire.

Determinism: every draw comes from the call's own seeded generator, in the order the core
asks; tool arguments draw from a generator seeded by the function call's id, so they take
nothing from the call's stream.

Never: emits events, reads a clock, or knows a wire event name.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any, Literal

from rtwidgets.protocol.ids import IdFactory

from .._scenario import Scenario, ToolReply, render_template
from .._toolargs import fill_arguments

__all__ = ["Output", "ScriptedModel"]


@dataclass
class Output:
    """One planned output item of a response."""

    kind: Literal["message", "function_call"]
    text: str = ""
    name: str = ""
    arguments: str = ""
    call_id: str = ""


class ScriptedModel:
    """The model of one call, driven by its session core."""

    def __init__(self, scenario: Scenario, rng: random.Random, ids: IdFactory) -> None:
        self.scenario = scenario
        self._rng = rng
        self._ids = ids
        #: The reply the caller's last turn asked for, until a response takes it.
        self.pending_reply: str | ToolReply | None = None
        #: Function calls waiting for their output: call id -> (reply, arguments sent).
        self.awaiting_tools: dict[str, tuple[ToolReply, dict[str, Any]]] = {}

    # ------------------------------------------------------------------ what to say

    def hear(self, reply: str | ToolReply | None) -> None:
        """The caller finished a turn that asks for ``reply`` (None: the default reply)."""
        self.pending_reply = reply if reply is not None else self.scenario.default_reply

    @property
    def waiting(self) -> bool:
        """Whether the model still owes a reply or waits for a tool's output."""
        return bool(self.awaiting_tools) or self.pending_reply is not None

    def forget(self) -> None:
        """The caller gave up waiting: drop the reply owed and the tool calls waited on."""
        self.awaiting_tools.clear()
        self.pending_reply = None

    def plan_next(self, tools: list[Any], tool_choice: Any, *, out_of_band: bool) -> list[Output]:
        """The outputs of a new response: the pending reply (taken), or the default reply."""
        if out_of_band:
            return self.plan(self.scenario.default_reply, tools, tool_choice)
        reply, self.pending_reply = self.pending_reply, None
        return self.plan(reply, tools, tool_choice)

    def plan(self, reply: str | ToolReply | None, tools: list[Any],
             tool_choice: Any) -> list[Output]:
        if reply is None:
            reply = self.scenario.default_reply
        if isinstance(reply, str):
            return [Output("message", text=reply)]
        declared = {t.get("name"): t for t in tools if isinstance(t, dict)
                    and t.get("type", "function") == "function"}
        forced = isinstance(tool_choice, dict) and tool_choice.get("name") not in (
            None, reply.name)
        if reply.name not in declared or tool_choice == "none" or forced:
            return [Output("message", text=reply.otherwise)]
        plan: list[Output] = []
        if reply.lead_in:
            plan.append(Output("message", text=reply.lead_in))
        call_id = self._ids.function_call_id()
        # A model fills the declared schema; the scenario's arguments are what the caller
        # meant (hints). Own Random per call id: no draw is taken from the call's stream.
        args = dict(reply.arguments) if reply.arguments_as_written else fill_arguments(
            declared[reply.name].get("parameters"), reply.arguments,
            random.Random(f"toolargs:{call_id}"))
        plan.append(Output("function_call", name=reply.name, call_id=call_id,
                           arguments=json.dumps(args)))
        self.awaiting_tools[call_id] = (reply, {**reply.arguments, **args})
        return plan

    def cancelled(self, plan: list[Output]) -> None:
        """A response was cancelled: its function calls will get no output."""
        for out in plan:
            if out.kind == "function_call":
                self.awaiting_tools.pop(out.call_id, None)

    def tool_answered(self, call_id: str, output: str) -> bool:
        """A ``function_call_output`` arrived; True if it unlocks a scripted follow-up."""
        awaited = self.awaiting_tools.pop(call_id, None)
        if awaited is None:
            return False
        reply, args = awaited
        values: dict[str, Any] = dict(args)
        try:
            parsed = json.loads(output)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            values.update(parsed)
        values["output"] = output
        self.pending_reply = render_template(reply.say, values)
        return True

    # ------------------------------------------------------------------ pace

    def word_ms(self) -> float:
        """Call milliseconds until the next streamed word (uniform in the scenario's range)."""
        lo, hi = self.scenario.timing.model_word_ms
        return self._rng.uniform(lo, hi)

    def obfuscation(self) -> str:
        # Random padding of random length, as the server adds. Real frames show mixed-case
        # base62 ("z9A9dJucSf1J", "LBqdwEYsSEHbF").
        return self._ids.obfuscation(self._rng.randint(2, 16))
