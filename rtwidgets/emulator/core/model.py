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

Tool calls: a reply may ask for several calls at once (``ToolReply.parallel``): the model
sends them in one response, in scenario order, and renders the follow-up once *every* output
has arrived; a call whose tool the session does not declare is left out. The model sends
them in parallel whatever ``parallel_tool_calls`` says (that switch concerns reasoning
models; no public record shows what a realtime model does without it). An output that is a
JSON object with a truthy ``error`` (what rtwidgets' tool runtime sends when a handler
raises) makes the model say ``on_error`` instead of ``say``: the follow-up depends on the
output, as a real model's does.

Never: emits events, reads a clock, or knows a wire event name.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any, Literal

from rtwidgets.protocol.ids import IdFactory

from .._scenario import Scenario, ToolReply, render_template
from .._toolargs import fill_arguments

__all__ = ["Output", "ScriptedModel", "ToolGroup"]


@dataclass
class Output:
    """One planned output item of a response."""

    kind: Literal["message", "function_call"]
    text: str = ""
    name: str = ""
    arguments: str = ""
    call_id: str = ""


@dataclass
class ToolGroup:
    """The function calls of one scripted reply, waiting for their outputs."""

    reply: ToolReply
    call_ids: list[str]                               # in output order
    hints: dict[str, dict[str, Any]]                  # call id -> hints + arguments sent
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(c in self.outputs for c in self.call_ids)

    def follow_up(self) -> str:
        """The reply once every output is in: ``say`` (or ``on_error``), its ``{key}``s
        filled. Plain keys come from the first call that has them (its output, then its
        arguments); ``{key_2}`` names the second call's; ``{output}`` / ``{output_2}`` the raw
        outputs."""
        plain: dict[str, Any] = {}
        numbered: dict[str, Any] = {}
        failed = False
        for n, call_id in reversed(list(enumerate(self.call_ids, 1))):
            output = self.outputs[call_id]
            values: dict[str, Any] = dict(self.hints[call_id])
            try:
                parsed = json.loads(output)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict):
                values.update(parsed)
                failed = failed or bool(parsed.get("error"))
            values["output"] = output
            plain.update(values)
            numbered.update({f"{k}_{n}": v for k, v in values.items()})
        template = self.reply.on_error if failed and self.reply.on_error else self.reply.say
        return render_template(template, {**numbered, **plain})


class ScriptedModel:
    """The model of one call, driven by its session core."""

    def __init__(self, scenario: Scenario, rng: random.Random, ids: IdFactory) -> None:
        self.scenario = scenario
        self._rng = rng
        self._ids = ids
        #: The reply the caller's last turn asked for, until a response takes it.
        self.pending_reply: str | ToolReply | None = None
        #: Function calls waiting for their output: call id -> the group it belongs to.
        self.awaiting_tools: dict[str, ToolGroup] = {}

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
        forced = tool_choice.get("name") if isinstance(tool_choice, dict) else None
        calls = [c for c in reply.calls if c.name in declared
                 and (forced is None or c.name == forced)]
        if not calls or tool_choice == "none":
            return [Output("message", text=reply.otherwise)]
        plan: list[Output] = []
        if reply.lead_in:
            plan.append(Output("message", text=reply.lead_in))
        group = ToolGroup(reply=reply, call_ids=[], hints={})
        for spec in calls:
            call_id = self._ids.function_call_id()
            # A model fills the declared schema; the scenario's arguments are what the caller
            # meant (hints). Own Random per call id: no draw is taken from the call's stream.
            args = dict(spec.arguments) if spec.arguments_as_written else fill_arguments(
                declared[spec.name].get("parameters"), spec.arguments,
                random.Random(f"toolargs:{call_id}"))
            plan.append(Output("function_call", name=spec.name, call_id=call_id,
                               arguments=json.dumps(args)))
            group.call_ids.append(call_id)
            group.hints[call_id] = {**spec.arguments, **args}
            self.awaiting_tools[call_id] = group
        return plan

    def cancelled(self, plan: list[Output]) -> None:
        """A response was cancelled: its function calls will get no output."""
        for out in plan:
            if out.kind == "function_call":
                self.awaiting_tools.pop(out.call_id, None)

    def tool_answered(self, call_id: str, output: str) -> bool:
        """A ``function_call_output`` arrived; True if it completes its group, so that the
        scripted follow-up is owed (it waits for the client's ``response.create``)."""
        group = self.awaiting_tools.pop(call_id, None)
        if group is None:
            return False
        group.outputs[call_id] = output
        if not group.complete:
            return False
        self.pending_reply = group.follow_up()
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
