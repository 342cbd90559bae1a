"""No server frame can end a call (issue 11 item 8): a property test over the whole receive path.

Why: the receive loop once died on one frame (``{"type": "conversation.created",
"response_id": []}`` raised in the capture's order check); each layer was hardened alone since,
but only a test that drives *every* layer with the same hostile frames shows that none of them
raises on what another one let through. This file takes REAL frames — the emulator's shipped
scenarios (``run_scenario``, virtual time) and the reality corpus (``reality/frames``) — and
mutates them: any field at any depth replaced by any JSON value (huge integers as JSON text,
``NaN``/``Infinity``, deep nesting, control characters and lone-surrogate escapes), fields
deleted and added, non-object frames, text that is not JSON, a missing or non-string ``type``.

The sequence goes through the public path: ``rtwidgets.attach(call_id,
transport=MemoryTransport(...))`` with a capture file, a ``@call.tool`` handler, a
``CallConsole`` and each view alone (``EventLog``, ``Transcript``, ``Turns``,
``SessionEditor``, ``ToolCalls``, ``StatusBar``) bound with a recording comm; then the capture
is loaded (``rtwidgets.load``) and analysed, building every table. Properties:

- the call is not ended by any of it, and a good sentinel frame appended after the hostile
  ones reaches the state and the event log (the receive loop is alive);
- every frame is captured (one line each) and flagged ``bad`` exactly when it is not a JSON
  object with a string type;
- nothing escapes: no exception from any step, no "receive loop failed", no error logged by
  rtwidgets (a view that swallowed an exception is a frame not shown), no loop exception.

Codecs: one line of ``CODECS`` each (name, api, call id, seed frames, sentinel check).
GPT-Live joins when ``rtwidgets.protocol.live.codec`` is importable. CI runs a bounded number
of examples; ``HYPOTHESIS_PROFILE=soak`` runs many more locally.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jupyter_client.session import json_packer

import rtwidgets
from rtwidgets.analysis import analyze
from rtwidgets.emulator import run_scenario
from rtwidgets.protocol.fatal import describe_error

FRAMES_DIR = Path(__file__).parent / "reality" / "frames"

_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
_SOAK = _PROFILE == "soak"


def _examples(ci: int) -> int:
    if os.environ.get("HOSTILE_EXAMPLES"):
        return int(os.environ["HOSTILE_EXAMPLES"])
    return 2000 if _SOAK else ci


#: CI runs a bounded number of examples (the file takes well under a minute), derandomized so
#: a commit's run is the same run every time (the test command must not turn red at random);
#: HYPOTHESIS_PROFILE=soak (or HOSTILE_EXAMPLES=n) runs many more, random, to find new bugs.
_SETTINGS: dict[str, Any] = {"deadline": None, "derandomize": not _SOAK, "suppress_health_check": [
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
    HealthCheck.function_scoped_fixture]}


# -- seeds: real frames -------------------------------------------------------------------------

def _corpus(api: str, prefix: str = "") -> list[list[dict[str, Any]]]:
    out = []
    for path in sorted(FRAMES_DIR.glob(f"{prefix}*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        frames = [f for f in doc.get("frames") or () if isinstance(f, dict)]
        if doc.get("api") == api and frames:
            out.append(frames)
    return out


def _not_fatal(frame: Any) -> bool:
    # Only these end a call, by design: a server error whose code says the key/model/call
    # is not valid (protocol/fatal.py: the service closes the socket right after it), and
    # GPT-Live's session.closed (a closed session never resumes).
    if isinstance(frame, dict) and frame.get("type") == "session.closed":
        return False
    info = describe_error(frame)
    return info is None or not info[1]


@cache
def realtime_seeds() -> tuple[tuple[dict[str, Any], ...], ...]:
    runs = [run_scenario(name, seed=3) for name in
            ("conversation", "tools", "barge_in", "tool_error")]
    runs += _corpus("realtime")
    kept = (tuple(f for f in run if "raw" not in f and _not_fatal(f)) for run in runs)
    return tuple(run for run in kept if run)


@cache
def live_seeds() -> tuple[tuple[dict[str, Any], ...], ...]:
    # The emulator's GPT-Live core (the same scenario files) beside the real Live traces.
    runs = [run_scenario(name, seed=3, api="live", transport=transport) for name, transport in
            (("conversation", "webrtc"), ("barge_in", "webrtc"), ("dtmf", "sip"))]
    runs += _corpus("live", "live_")
    kept = (tuple(f for f in run if "raw" not in f and _not_fatal(f)) for run in runs)
    return tuple(run for run in kept if run)


SENTINEL_ITEM = "item_hostile_sentinel_0001"


def realtime_sentinel() -> dict[str, Any]:
    return {"type": "conversation.item.added", "event_id": "event_hostile_sentinel",
            "previous_item_id": None,
            "item": {"id": SENTINEL_ITEM, "object": "realtime.item", "type": "message",
                     "role": "user", "status": "completed",
                     "content": [{"type": "input_text", "text": "still here"}]}}


def realtime_sentinel_seen(call: Any) -> bool:
    return SENTINEL_ITEM in call.state.items


def live_sentinel() -> dict[str, Any]:
    return {"type": "session.updated", "event_id": "event_hostile_sentinel",
            "session": {"type": "live", "instructions": "still here"}}


def live_sentinel_seen(call: Any) -> bool:
    return call.live_session == {"type": "live", "instructions": "still here"}


@dataclass(frozen=True)
class CodecCase:
    name: str
    api: str
    call_id: str
    seeds: Callable[[], tuple[tuple[dict[str, Any], ...], ...]]
    sentinel: Callable[[], dict[str, Any]]
    sentinel_seen: Callable[[Any], bool]
    #: The sweep's size floor (a smaller corpus of frame types for GPT-Live).
    min_sweep: int = 500


#: One line per codec.
CODECS: list[CodecCase] = [
    CodecCase("realtime", "realtime", "rtc_u1_hostileFramesTest0001", realtime_seeds,
              realtime_sentinel, realtime_sentinel_seen),
    CodecCase("live", "live", "live_u1_hostileFramesTest0001", live_seeds,
              live_sentinel, live_sentinel_seen, min_sweep=200),
]


# -- hostile JSON ---------------------------------------------------------------------------------

class Raw:
    """A JSON fragment written as is (values Python's ``json`` cannot produce itself)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text[:40]!r}{'…' if len(self.text) > 40 else ''})"


def to_text(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{to_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_text(v) for v in value) + "]"
    return json.dumps(value)


_RAW_VALUES = [
    "1" + "0" * 400,                # 10**400
    "-" + "9" * 400,
    "1" + "0" * 5000,               # more digits than Python's int() takes by default
    "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1.5e-400", "-0", "0.0",
    '"\\ud800"', '"x\\udfff"', '"\\ud83d\\ude00"', '"a\\u0000b\\u001f\\u007f"', '""',
    '"' + "\\n" * 50 + '"',
    "[" * 60 + "]" * 60,            # nested, still parsable
    '{"a":' * 60 + "1" + "}" * 60,
    "[" * 800 + "]" * 800,          # deeper than a naive recursive walk likes
    '{"a":' * 800 + "{}" + "}" * 800,
    "[" * 100_000 + "]" * 100_000,  # deeper than the parser takes
]

_KEYS = ["type", "event_id", "id", "item", "item_id", "response", "response_id", "delta",
         "transcript", "text", "call_id", "name", "arguments", "output", "audio", "session",
         "error", "code", "message", "param", "content", "content_index", "output_index",
         "status", "status_details", "reason", "usage", "input_tokens", "output_tokens",
         "total_tokens", "input_token_details", "output", "rate_limits", "previous_item_id",
         "audio_start_ms", "audio_end_ms", "role", "part", "tools", "model", "voice",
         "delegation", "delegation_id", "conversation_id", "modalities", "output_modalities"]

_scalar = (st.none() | st.booleans() | st.integers() | st.integers(-2**70, 2**70)
           | st.floats() | st.text(max_size=8)
           | st.sampled_from(["", "completed", "cancelled", "in_progress", "incomplete",
                              "function_call", "function_call_output", "message", "user",
                              "assistant", "audio", "text", "resp_x", "item_x", "call_x",
                              "error", "invalid_api_key", "\x00", "\u2028", "é🙂"])
           | st.sampled_from(_RAW_VALUES).map(Raw))
hostile_value: st.SearchStrategy[Any] = st.recursive(
    _scalar,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(
        st.sampled_from(_KEYS) | st.text(max_size=6), c, max_size=4),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (keys and list indices), root excluded."""
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((*prefix, k))
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.append((*prefix, i))
            out.extend(_paths(v, (*prefix, i)))
    return out


def _containers(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if isinstance(value, dict) else []
    if isinstance(value, dict | list):
        for k, v in (value.items() if isinstance(value, dict) else enumerate(value)):
            out.extend(_containers(v, (*prefix, k)))
    return out


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        value = value[p]
    return value


@st.composite
def mutated(draw: st.DrawFn, seed: dict[str, Any]) -> str:
    """``seed`` with one to three hostile changes, as wire text."""
    kind = draw(st.sampled_from(
        ["replace", "replace", "replace", "delete", "add", "type", "nonobject", "invalid",
         "many"]))
    frame = copy.deepcopy(seed)
    if kind == "nonobject":
        return to_text(draw(st.lists(hostile_value, max_size=3) | _scalar
                            | st.just([frame])))
    if kind == "invalid":
        text = to_text(frame)
        cut = draw(st.integers(0, max(0, len(text) - 1)))
        return draw(st.sampled_from([
            text[:cut], text[:cut] + "\x00" + text[cut:], text + text, "{" + text,
            text.replace('"', "'", 1), text + ",", "{'type': 'x'}", "", " ", "\ufeff" + text,
        ]))
    if kind == "type":
        value = draw(hostile_value.filter(lambda v: not isinstance(v, str)))
        if draw(st.booleans()):
            frame.pop("type", None)
        else:
            frame["type"] = value
        return to_text(frame)
    for _ in range(draw(st.integers(2, 4)) if kind == "many" else 1):
        op = kind if kind != "many" else draw(st.sampled_from(["replace", "delete", "add"]))
        paths = _paths(frame)
        if op == "add" or not paths:
            where = draw(st.sampled_from(_containers(frame)))
            _at(frame, where)[draw(st.sampled_from(_KEYS) | st.text(max_size=6))] = draw(
                hostile_value)
            continue
        path = draw(st.sampled_from(paths))
        parent = _at(frame, path[:-1])
        if op == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(hostile_value)
    return to_text(frame)


@dataclass
class Script:
    case: CodecCase
    frames: list[str]    # wire text, the sentinel last
    hostile: int
    plots: bool = False  # draw the plots too (slow: once, not per example)

    def __repr__(self) -> str:  # hypothesis prints it: the hostile frames only, cut short
        return f"Script({self.case.name}, {len(self.frames)} frames, {self.hostile} hostile)"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


@st.composite
def scripts(draw: st.DrawFn, case: CodecCase) -> Script:
    """A real run, some of its frames mutated, hostile frames inserted, the sentinel last."""
    run = list(draw(st.sampled_from(case.seeds())))
    pool = [f for r in case.seeds() for f in r]
    n = len(run)
    changed = draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=min(n, 10)))
    extra = draw(st.lists(st.integers(0, n), max_size=4))
    out: list[str] = []
    hostile = 0
    for i in range(n + 1):
        texts = [draw(mutated(draw(st.sampled_from(pool)))) for _ in range(extra.count(i))]
        if i < n:
            texts.append(draw(mutated(run[i])) if i in changed else json.dumps(run[i]))
        for text in texts:
            if _not_fatal(_parsed_event(text)):  # a fatal error ends a call by design
                out.append(text)
                hostile += i >= n or text != json.dumps(run[i])
    out.append(json.dumps(case.sentinel()))
    return Script(case, out, hostile)


# -- the receive path -----------------------------------------------------------------------------

class RecordingComm(BaseComm):
    """A comm that keeps what it would publish (as tests/widgets/conftest.py)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        super().__init__(*args, **kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        # What the kernel does with it (no NaN, UTF-8): a view that sends a value the kernel
        # cannot pack is a frame not shown.
        json_packer(data)
        self.messages.append((msg_type, data or {}))


def _parsed_event(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _is_event(text: str) -> bool:
    value = _parsed_event(text)
    return isinstance(value, dict) and isinstance(value.get("type"), str)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _exercise_views(views: list[Any]) -> None:
    """Make every view render what it holds now (what a browser asking for it would get)."""
    from rtwidgets.widgets import EventLog, StatusBar, ToolCalls, Transcript, Turns

    for view in views:
        if isinstance(view, EventLog | Transcript):
            view._batcher.flush_now()
            view.send_snapshot()
        if isinstance(view, EventLog):
            for rid in range(len(view.rows())):
                view.detail(rid)
        if isinstance(view, Turns | StatusBar):
            view.refresh()
        if isinstance(view, ToolCalls):
            view.refresh_ages()
        # a view that swallowed an exception shows an error instead of the frame
        assert view.last_error is None, (type(view).__name__, view.last_error)
        assert view.frame_errors == 0, type(view).__name__


async def _run(script: Script, tmp: Path) -> None:
    from rtwidgets.widgets import (
        CallConsole,
        EventLog,
        SessionEditor,
        StatusBar,
        ToolCalls,
        Transcript,
        Turns,
    )

    case = script.case
    loop_errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _l, ctx: loop_errors.append(ctx))
    capture = tmp / "c.jsonl"
    script_frames: list[Any] = list(script.frames)
    # Half the frames are there before the views bind (they render them on bind), the
    # other half arrive while they watch (by subscription), the sentinel last.
    half = len(script_frames) // 2
    transport = rtwidgets.MemoryTransport(script_frames[:half])
    call = await rtwidgets.attach(case.call_id, transport=transport, capture=capture,
                                  api=case.api, handler_timeout=5)
    answered: list[dict[str, Any]] = []

    @call.tool("get_weather")
    def get_weather(**args: Any) -> dict[str, Any]:
        answered.append(args)
        if len(answered) % 2 == 0:  # a handler that raises: an error output, nothing more
            raise RuntimeError("the weather service is down")
        return {"temperature": 18}

    console = CallConsole(call, interval=0.01)
    views = [EventLog(call, interval=0.01), Transcript(call, interval=0.01),
             Turns(call, interval=0.01), SessionEditor(call), ToolCalls(call), StatusBar(call)]
    try:
        for text in script_frames[half:]:
            await transport.push(text)  # returns once the call took the frame in
        for _ in range(50):
            await asyncio.sleep(0)
        await asyncio.sleep(0.03)  # a batch interval: the views flush by themselves too
        assert call.status.state == "live", call.status
        assert case.sentinel_seen(call), "the receive loop no longer folds good frames"
        rows = console.event_log.rows()
        assert rows
        assert "hostile_sentinel" in json.dumps(console.event_log.detail(len(rows) - 1))
        _exercise_views([*console.parts, *views])
        await console.wait_actions()
        for view in views:
            await view.wait_actions()
        # Every frame is captured (in order, flagged bad exactly when not a typed object).
        ins = [f for f in call.frames() if f.direction == "in"]
        assert len(ins) == len(script.frames)
        for text, frame in zip(script.frames, ins, strict=True):
            assert ("bad" in frame.flags) == (not _is_event(text)), (text[:200], frame.flags)
        assert call.stats.bad_frames == sum(not _is_event(t) for t in script.frames)
        await asyncio.sleep(0.05)  # tool handlers run in the executor
        assert call.stats.handler_errors >= len(answered) // 2
    finally:
        for view in views:
            view.close()
        console.close()
        await call.close()
    lines = capture.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + len(call.frames())
    # Analysed: the capture file and the loaded recording, every table.
    for src in (capture, rtwidgets.load(capture), call):
        report = analyze(src)
        assert len(report.events) >= len(script.frames)
        for table in ("transcript", "responses", "tool_calls", "turns", "turns_short",
                      "turns_full", "usage", "gaps", "errors"):
            getattr(report, table)
        report.cost()
        str(report.summary())
        repr(report.turns)
        report._repr_html_()
    recording = rtwidgets.load(capture)
    assert len(recording.frames()) == len(call.frames())
    recording.state.snapshot()
    if script.plots:
        report = analyze(capture)
        for figure in (report.timeline_plot(), report.latency_plot()):
            assert figure.to_png(dpi=30).startswith(b"\x89PNG")
    assert not loop_errors, loop_errors


def _check(script: Script) -> None:
    import tempfile

    handler = _Errors()
    logger = logging.getLogger("rtwidgets")
    logger.addHandler(handler)
    try:
        with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as tmp:
            mp.setattr(comm, "create_comm", lambda *a, **k: RecordingComm(*a, **k))
            try:
                asyncio.run(_run(script, Path(tmp)))
            except BaseException:
                dump = os.environ.get("HOSTILE_DUMP")
                if dump:
                    Path(dump).write_text(json.dumps(script.frames), encoding="utf-8")
                raise
    finally:
        logger.removeHandler(handler)
    failures = [f"{r.name}: {r.getMessage()}" + (
        "\n" + logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in handler.records]
    assert not any("receive loop failed" in f for f in failures), failures
    assert not failures, failures


# -- the properties --------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CODECS, ids=[c.name for c in CODECS])
def test_no_frame_ends_the_call(case: CodecCase) -> None:
    @settings(max_examples=_examples(12), **_SETTINGS)  # type: ignore[arg-type]
    @given(scripts(case))
    def run(script: Script) -> None:
        _check(script)

    run()


@pytest.mark.parametrize("case", CODECS, ids=[c.name for c in CODECS])
def test_codec_and_reducer_never_raise(case: CodecCase) -> None:
    """The cheap half, many more examples: decode, fold, snapshot, summary."""
    from rtwidgets.protocol.state import SessionState

    @settings(max_examples=_examples(300), **_SETTINGS)  # type: ignore[arg-type]
    @given(st.lists(st.sampled_from([f for r in case.seeds() for f in r]).flatmap(mutated),
                    min_size=1, max_size=12))
    def run(frames: list[str]) -> None:
        state = SessionState()
        for i, text in enumerate(frames):
            value = _parsed_event(text)
            event = value if isinstance(value, dict) else {
                "type": "rtwidgets.bad_frame", "raw": text[:100], "error": "not an object"}
            state.feed(event, direction="in", t=float(i))
            state.codec.summary(value)
        state.snapshot()
        state.transcript()
        state.pending_tool_calls()

    run()


_SWEEP_VALUES: list[Any] = [
    [], {}, Raw("1" + "0" * 400), Raw("NaN"), Raw("-Infinity"), None, True, 3.5, -1, "x",
    Raw('"\\ud800"'), Raw("[" * 800 + "]" * 800), {"a": [], "id": {}}, [{"id": []}],
    Raw('{"a":' * 800 + "{}" + "}" * 800), Raw('"\\u0000\\n\\u2028"'),
]


def sweep(case: CodecCase) -> list[str]:
    """Every field (at any depth) of one real frame of each type, replaced by one hostile
    value (taken in turn, so each value meets many fields) and deleted."""
    by_type: dict[str, dict[str, Any]] = {}
    for run in case.seeds():
        for frame in run:
            by_type.setdefault(str(frame.get("type")), frame)
    out: list[str] = []
    turn = 0
    for _, frame in sorted(by_type.items()):
        for path in _paths(frame):
            for op in ("replace", "delete"):
                changed = copy.deepcopy(frame)
                parent = _at(changed, path[:-1])
                if op == "delete":
                    del parent[path[-1]]
                else:
                    parent[path[-1]] = _SWEEP_VALUES[turn % len(_SWEEP_VALUES)]
                    turn += 1
                text = to_text(changed)
                if _not_fatal(_parsed_event(text)):
                    out.append(text)
    return out


@pytest.mark.parametrize("case", CODECS, ids=[c.name for c in CODECS])
def test_every_field_of_every_frame_type_hostile_in_one_call(case: CodecCase) -> None:
    """The exhaustive half: one call carries every single-field change, and the plots."""
    frames = [*sweep(case), json.dumps(case.sentinel())]
    assert len(frames) > case.min_sweep
    _check(Script(case, frames, len(frames) - 1, plots=True))
