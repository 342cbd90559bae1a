"""The scripted caller: when the person on the line speaks, waits, interrupts and hangs up.

Why: a scenario's caller is the same person whatever protocol the call speaks. It waits for
the model to be idle (or, for a barge-in, for the model's audio to start), pauses, says its
turn, and at the end hangs up. How a turn sounds on the wire (speech events, commits, items,
transcripts) is the session core's business: the caller drives it through ``CallerHost``, so
a GPT-Live core can host the same caller over the same scenario files.

A turn is speech, key presses (DTMF: the server reports them on SIP calls only) or a
silence (the server notices it only through the session's ``idle_timeout_ms``). A scenario
that ends ``by: "refer"`` expects the app to transfer the call: the caller waits
``end_after_ms`` for the refer (which ends the call), then hangs up.

The caller is patient for ``patience_ms`` call milliseconds (the shell sets it from the
emulator's ``caller_patience_s``, a real-time guard against a client that never answers a
tool call); past that it moves on and the model forgets what it waited for.

Never: emits events or reads a clock; all times are call milliseconds.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Protocol

from .._scenario import Scenario, ToolReply
from .clock import ProcessGen, Until

__all__ = ["CallerHost", "ScriptedCaller"]


class CallerHost(Protocol):
    """What a session core offers the scripted caller."""

    @property
    def now(self) -> float: ...

    def model_idle(self) -> bool:
        """No response running, no audio playing, no tool call or reply owed."""
        ...

    def model_audio_started_at(self) -> float | None:
        """Call time the model's currently playing audio started, if any."""
        ...

    def model_speaks_first(self, text: str) -> None:
        """The greeting: the model speaks before the caller."""
        ...

    def caller_speaks(self, text: str, reply: str | ToolReply | None) -> ProcessGen:
        """One caller turn on the wire (a process step: it may sleep)."""
        ...

    def caller_presses_keys(self, keys: str, gap_ms: int,
                            reply: str | ToolReply | None) -> ProcessGen:
        """The caller presses keypad keys, ``gap_ms`` apart (a process step)."""
        ...

    def caller_stays_silent(self, ms: int, reply: str | ToolReply | None) -> ProcessGen:
        """The caller says nothing for ``ms``; ``reply`` is what the model says if the server
        notices the silence (a process step)."""
        ...

    def reply_owed(self) -> bool:
        """The model holds a reply nobody has asked for yet."""
        ...

    def reply_not_requested(self, waited_ms: float) -> None:
        """Nobody asked for the reply owed (after keys): the model drops it."""
        ...

    def caller_expected_transfer(self, waited_ms: float) -> None:
        """The app did not transfer the call the scenario expected it to."""
        ...

    def caller_gave_up(self, waited_ms: float) -> None:
        """The caller's patience ran out while waiting for the model."""
        ...

    def caller_hangs_up(self, reason: str) -> None:
        """End the call (``caller_hangup`` or ``scenario_end``)."""
        ...


class ScriptedCaller:
    """The caller of one call, following its scenario's turns."""

    def __init__(self, scenario: Scenario, patience_ms: float) -> None:
        self.scenario = scenario
        self.patience_ms = patience_ms

    def _patiently(self, host: CallerHost, predicate: Any) -> Generator[Any, Any, None]:
        ok = yield Until(predicate, host.now + self.patience_ms)
        if not ok:
            host.caller_gave_up(self.patience_ms)

    def run(self, host: CallerHost) -> ProcessGen:
        """The caller's whole call, as a process of the session's scheduler."""
        sc = self.scenario
        if sc.greeting:
            host.model_speaks_first(sc.greeting)
        for turn in sc.turns:
            if turn.silent_ms is not None:
                yield from self._patiently(host, host.model_idle)
                yield from host.caller_stays_silent(turn.silent_ms, turn.reply)
                continue
            if turn.keys is not None:
                yield from self._patiently(host, host.model_idle)
                yield host.now + turn.pause_ms
                yield from host.caller_presses_keys(turn.keys, turn.key_gap_ms, turn.reply)
                # The model hears no keys: the app must ask for the reply. The caller waits
                # for that in call time (not real-time patience: same seed, same call).
                asked = yield Until(lambda: not host.reply_owed(),
                                    host.now + turn.answer_within_ms)
                if not asked:
                    host.reply_not_requested(turn.answer_within_ms)
                continue
            if turn.interrupt_after_ms is not None:
                yield from self._patiently(
                    host, lambda: host.model_audio_started_at() is not None or host.model_idle())
                start = host.model_audio_started_at()
                yield (start if start is not None else host.now) + turn.interrupt_after_ms
            else:
                yield from self._patiently(host, host.model_idle)
                yield host.now + turn.pause_ms
            yield from host.caller_speaks(turn.caller, turn.reply)
        yield from self._patiently(host, host.model_idle)
        if sc.end_by == "stay_open":
            return
        yield host.now + sc.end_after_ms
        if sc.end_by == "refer":
            # Still on the line: the refer the scenario expected never came.
            host.caller_expected_transfer(sc.end_after_ms)
        host.caller_hangs_up("scenario_end" if sc.end_by == "hangup" else "caller_hangup")
