"""The DataFrames of one call: events, transcript, responses, tool calls, turns, usage, gaps.

Why: after a call a person wants answers in the next cell — what was said, how fast the
agent answered, which tools ran, what it cost — as DataFrames they already know how to
slice. Every function takes any source (see ``_source``) and works the same on a live
``Call`` (tables of everything so far) and on a ``Recording``.

Conventions shared by every table:

* ``*_s`` columns are float **seconds since the capture began** (the capture's monotonic
  ``m`` clock: immune to wall-clock jumps, comparable within one call). Wall times are
  tz-aware UTC ``datetime64`` columns without a suffix (``time``, ``created``, …).
* ``tool_call_id`` is a function call's ``call_id`` (``call_…``). The name ``call_id`` is
  kept for the Realtime call (``rtc_…``), the column ``load_many`` adds.
* A missing value is ``NaN``/``<NA>``/``None``, never a guess.

The turns table, and exactly what each latency spans (all are differences of arrival times
at our socket, so they include the server→us network leg of the *later* event but not of
the anchor, which arrived over the same path):

* ``anchor_s``: for an audio turn the arrival of ``input_audio_buffer.speech_stopped`` (the
  server's VAD has already waited ``silence_duration_ms`` of silence before sending it);
  for a manual commit without VAD, ``input_audio_buffer.committed``; for a text turn the
  arrival of ``conversation.item.added`` of the user message (the server has it).
* ``latency_response_s`` = first ``response.created`` of the turn − anchor.
* ``latency_first_text_s`` = first ``response.output_audio_transcript.delta`` or
  ``response.output_text.delta`` of that response − anchor.
* ``latency_audio_s`` = ``output_audio_buffer.started`` of that response − anchor. Only
  WebRTC/SIP sessions report it; otherwise ``NaN``.
* ``response_s`` = that response's ``response.done`` − ``response.created``;
  ``playback_s`` = ``output_audio_buffer.stopped`` (or ``.cleared``) − ``.started``.
* ``response_chars``: characters of the assistant text/transcript of all the turn's
  responses (a tool call's follow-up response counts toward the turn that asked for it).
* ``interrupted``: a response of the turn ended ``cancelled``/``incomplete``, had its
  audio cleared (``output_audio_buffer.cleared``) or an item truncated.

A response belongs to the latest turn whose anchor arrived before its ``response.created``;
responses before any turn (a greeting) belong to no turn.

What this module must never do: build a frame from a list of dicts or ``json_normalize``;
the events table is a zero-copy view of pyarrow columns.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rtwidgets.protocol._text import displayable
from rtwidgets.protocol.state import ResponseRecord, turn_timings

from ._fold import Fold, fold_of
from ._source import FrameSource, ManySources, _categories, _is_unknown, as_source

__all__ = [
    "USAGE_COLUMNS",
    "errors_frame",
    "events_frame",
    "gaps_frame",
    "responses_frame",
    "tool_calls_frame",
    "transcript_frame",
    "turns_frame",
    "usage_frame",
]

#: Token columns, in the order the usage and responses tables show them.
USAGE_COLUMNS: tuple[str, ...] = (
    "input_tokens", "input_text_tokens", "input_audio_tokens", "input_image_tokens",
    "input_cached_tokens", "input_cached_text_tokens", "input_cached_audio_tokens",
    "input_cached_image_tokens", "output_tokens", "output_text_tokens",
    "output_audio_tokens", "total_tokens",
)

_SPEAKER = {"user": "caller", "assistant": "agent", "system": "system"}


def _utc_arrow(seconds: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Unix seconds (float) to a UTC timestamp array, microsecond precision."""
    micros = pc.cast(pc.round(pc.multiply(seconds, 1_000_000.0)), pa.int64())
    return pc.cast(micros, pa.timestamp("us", tz="UTC"))


def _utc(seconds: list[float | None]) -> Any:
    """Unix seconds to a tz-aware pandas array (for ``DataFrame.insert``)."""
    return _utc_arrow(pa.array(seconds, pa.float64())).to_pandas().array


def _f(v: float | None) -> float:
    return float("nan") if v is None else float(v)


def _diff(a: float | None, b: float | None) -> float:
    return float("nan") if a is None or b is None else a - b


def events_frame(src: object) -> pd.DataFrame:
    """One row per frame, in capture order.

    Columns: ``seq``, ``direction`` (category: in/out/meta), ``time`` (UTC), ``elapsed_s``
    (seconds since the capture began), ``type`` and ``category`` (categories),
    ``event_id``, ``item_id`` (the frame's ``item_id`` or its ``item.id``),
    ``response_id`` (``response_id`` or ``response.id``), ``tool_call_id`` (``call_id`` or
    ``item.call_id``), flags ``bad``, ``unknown``, ``audio_dropped``, and ``payload``: the
    frame's JSON text as it crossed the wire (audio already blanked by the capture; for a
    bad frame, ``{"type":"rtwidgets.bad_frame","raw":…,"error":…}``).
    """
    fs = _single(src)
    core = fs.core()
    types = core.column("type").combine_chunks()
    enc = types.dictionary_encode()
    table = pa.table(
        {
            "seq": core.column("seq"),
            "direction": core.column("direction").combine_chunks().dictionary_encode(),
            "time": _utc_arrow(core.column("t")),
            "elapsed_s": core.column("m"),
            "type": enc,
            "category": _categories(enc, fs.api).dictionary_encode(),
            "event_id": core.column("event_id"),
            "item_id": core.column("item_id"),
            "response_id": core.column("response_id"),
            "tool_call_id": core.column("tool_call_id"),
            "bad": core.column("bad"),
            "unknown": _is_unknown(enc, fs.api),
            "audio_dropped": core.column("audio_dropped"),
            "payload": core.column("payload"),
        }
    )
    df: pd.DataFrame = table.to_pandas(self_destruct=True)
    return df


def _single(src: object) -> FrameSource:
    if isinstance(src, ManySources):
        raise TypeError(
            "this function takes one call; for many calls use the Many's tables, e.g. "
            "many.events or many.turns"
        )
    return as_source(src)


def _cached_frame(fs: FrameSource, key: str,
                  build: Callable[[FrameSource], pd.DataFrame]) -> pd.DataFrame:
    """``build(fs)``, kept on the source until it grows; the caller gets its own copy.

    ``summary`` and ``cost_frame`` ask for the same tables again (responses twice per
    summary); a copy costs far less than rebuilding a table of every response.
    """
    hit = fs.cached(key)
    if not isinstance(hit, pd.DataFrame):
        hit = fs.store(key, build(fs))
    df: pd.DataFrame = hit.copy()
    return df


def _item_start_end(fold: Fold, item_id: str) -> tuple[float | None, float | None]:
    item = fold.state.items[item_id]
    for turn in fold.turns:
        if turn.kind == "audio" and turn.item_id == item_id:
            return (turn.speech_start_t if turn.speech_start_t is not None else item.reported_t,
                    turn.speech_stop_t if turn.speech_stop_t is not None else item.done_t)
    # A GPT-Live segment ends with its last fragment; its done report only comes when the
    # next segment starts (or the session closes), which may be many seconds later.
    end = item.fragment_end_t if item.fragment_end_t is not None else item.done_t
    return item.reported_t, end


def _interrupted(resp: ResponseRecord | None) -> bool:
    if resp is None:
        return False
    return resp.status in ("cancelled", "incomplete") or resp.audio_cleared_t is not None


def transcript_frame(src: object) -> pd.DataFrame:
    """What was said, one row per conversation item, in the order the items appeared.

    ``speaker`` is caller/agent/system for messages and ``tool`` for function calls
    (``name(arguments)``) and their outputs. ``start_s``/``end_s``: for caller audio the
    VAD's speech_started/stopped, otherwise the item's added/done. On GPT-Live a segment
    runs from the arrival of its first transcript fragment to that of its last, and a
    backend function call from its wrapped ``response.output_item.added`` (else ``.done``)
    to its ``.done``; ``status`` is ``completed`` once the segment is final. ``interrupted``: its
    response was cancelled/incomplete or its audio cleared; ``truncated_ms``: the audio
    kept by ``conversation.item.truncated`` (``truncated`` is whether that happened).
    """
    fold = fold_of(_single(src))
    responses = fold.responses
    rows: dict[str, list[Any]] = {k: [] for k in (
        "speaker", "text", "item_id", "role", "item_type", "response_id", "start_s",
        "end_s", "interrupted", "truncated", "truncated_ms", "deleted", "status")}
    order = sorted(
        (i for i in fold.items.values() if i.type in (
            "message", "function_call", "function_call_output")),
        key=lambda i: (_item_start_end(fold, i.id)[0] or float("inf")),
    )
    for item in order:
        start, end = _item_start_end(fold, item.id)
        if item.type == "message":
            speaker = _SPEAKER.get(item.role or "", item.role or "unknown")
            text = item.text or None
        elif item.type == "function_call":
            speaker, text = "tool", f"{item.name or '?'}({item.arguments or ''})"
        else:
            speaker, text = "tool", item.output
        resp = responses.get(item.response_id or "")
        rows["speaker"].append(speaker)
        rows["text"].append(text)
        rows["item_id"].append(item.id)
        rows["role"].append(item.role)
        rows["item_type"].append(item.type)
        rows["response_id"].append(item.response_id)
        rows["start_s"].append(_f(start))
        rows["end_s"].append(_f(end))
        rows["interrupted"].append(
            _interrupted(resp) or item.status == "incomplete" or item.truncated_ms is not None
        )
        rows["truncated"].append(item.truncated_ms is not None)
        rows["truncated_ms"].append(item.truncated_ms)
        rows["deleted"].append(item.deleted)
        rows["status"].append(item.status)
    return _frame(rows, categories=("speaker", "item_type", "role"),
                  ints=("truncated_ms",))


def _frame(rows: dict[str, list[Any]], *, categories: tuple[str, ...] = (),
           ints: tuple[str, ...] = ()) -> pd.DataFrame:
    arrays: dict[str, pa.Array] = {}
    for name, values in rows.items():
        try:
            if name in ints:
                arrays[name] = pa.array(values, pa.int64())
            elif values and all(issubclass(k, float) for k in set(map(type, values))):
                arrays[name] = pa.array(values, pa.float64(), from_pandas=True)
            else:
                arrays[name] = pa.array(values)
        except (pa.ArrowException, OverflowError, UnicodeEncodeError, TypeError):
            arrays[name] = _hostile_column(values, int64=name in ints)
    table = pa.table(arrays) if arrays else pa.table({})
    df: pd.DataFrame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    for name in categories:
        if name in df:
            df[name] = df[name].astype("category")
    return df


_INT64 = (-(2**63), 2**63 - 1)


def _hostile_column(values: list[Any], *, int64: bool) -> pa.Array:
    """A column the plain conversion refused (issue 11 item 8: a server frame may carry an
    integer past int64, ``"\\ud800"``, or values of mixed types): integers out of range
    become null, lone surrogates U+FFFD, and a column of mixed types its values' text."""
    clean: list[Any] = []
    for v in values:
        if type(v) is int and not _INT64[0] <= v <= _INT64[1]:
            v = None
        elif type(v) is str:
            v = displayable(v)
        clean.append(v)
    if int64:
        return pa.array([v if type(v) is int else None for v in clean], pa.int64())
    try:
        return pa.array(clean)
    except (pa.ArrowException, OverflowError, TypeError):
        return pa.array([None if v is None else displayable(str(v)) for v in clean],
                        pa.string())


#: A count a table can hold and sum (a server may send any integer; 2**53 keeps sums exact).
_MAX_COUNT = 2**53


def _count(d: Any, key: str) -> int | None:
    """``d[key]`` when it is a count a table can hold (an int, not a bool, below 2**53)."""
    v = d.get(key) if isinstance(d, dict) else None
    return v if type(v) is int and -_MAX_COUNT < v < _MAX_COUNT else None


def _usage_values(usage: dict[str, Any] | None) -> list[int | None]:
    if not isinstance(usage, dict):
        return [None] * len(USAGE_COLUMNS)

    n = _count
    inp = usage.get("input_token_details")
    cached = inp.get("cached_tokens_details") if isinstance(inp, dict) else None
    out = usage.get("output_token_details")
    return [
        n(usage, "input_tokens"), n(inp, "text_tokens"), n(inp, "audio_tokens"),
        n(inp, "image_tokens"), n(inp, "cached_tokens"), n(cached, "text_tokens"),
        n(cached, "audio_tokens"), n(cached, "image_tokens"), n(usage, "output_tokens"),
        n(out, "text_tokens"), n(out, "audio_tokens"), n(usage, "total_tokens"),
    ]


def _ordered_responses(fold: Fold) -> list[ResponseRecord]:
    return sorted(fold.responses.values(),
                  key=lambda r: r.started_t if r.started_t is not None else float("inf"))


def _response_chars(fold: Fold, resp: ResponseRecord) -> int:
    total = 0
    items = fold.state.items
    for item_id in resp.output_item_ids:
        item = items.get(item_id)
        if item is not None and item.type == "message" and item.text:
            total += len(item.text)
    return total


def responses_frame(src: object) -> pd.DataFrame:
    """One row per response: status and reason, modalities, model, timing, usage split.

    ``duration_s`` = ``response.done`` − ``response.created``; ``first_text_s`` = first
    transcript/text delta − ``response.created``; ``audio_start_s`` likewise for
    ``output_audio_buffer.started``. A response cut short by the end of the capture has
    ``status`` ``in_progress`` and no ``done``. Token columns: ``USAGE_COLUMNS`` (nullable).
    """
    return _cached_frame(_single(src), "responses_frame", _build_responses_frame)


def _build_responses_frame(fs: FrameSource) -> pd.DataFrame:
    fold = fold_of(fs)
    cols = ("response_id", "turn", "status", "reason", "error_code", "output_modalities",
            "model", "conversation_id", "created_s", "done_s", "duration_s", "first_text_s",
            "audio_start_s", "n_items", "chars")
    rows: dict[str, list[Any]] = {k: [] for k in cols + USAGE_COLUMNS}
    created_t: list[float | None] = []
    done_t: list[float | None] = []
    for r in _ordered_responses(fold):
        vals: list[Any] = [
            r.id, r.turn, r.status, r.reason, r.error_code,
            ",".join(r.output_modalities) if r.output_modalities is not None else None,
            r.model, r.conversation_id, _f(r.started_t), _f(r.done_t),
            _diff(r.done_t, r.started_t), _diff(r.first_text_t, r.started_t),
            _diff(r.audio_started_t, r.started_t), len(r.output_item_ids),
            _response_chars(fold, r),
        ]
        for k, v in zip(cols + USAGE_COLUMNS, vals + _usage_values(r.usage), strict=True):
            rows[k].append(v)
        created_t.append(fold.wall(r.started_t))
        done_t.append(fold.wall(r.done_t))
    df = _frame(rows, categories=("status", "reason", "output_modalities", "model"),
                ints=("turn", "n_items", "chars", *USAGE_COLUMNS))
    at = list(df.columns).index("created_s")
    df.insert(at, "created", _utc(created_t))
    df.insert(at + 1, "done", _utc(done_t))
    return df


def _transcription_values(usage: dict[str, Any]) -> tuple[list[int | None], float | None]:
    """USAGE_COLUMNS and the billed seconds of one transcription ``usage``.

    ``{"type": "tokens", …}``: input (text/audio split when given) and output tokens; the
    output of a transcription is text. ``{"type": "duration", "seconds": …}``: seconds only.
    """
    n = _count
    values: list[int | None] = [None] * len(USAGE_COLUMNS)
    if usage.get("type") == "duration" or "seconds" in usage:
        sec = usage.get("seconds")
        if type(sec) is float or (type(sec) is int and abs(sec) < 2**53):
            return values, float(sec)
        return values, None
    details = usage.get("input_token_details")
    col = {c: i for i, c in enumerate(USAGE_COLUMNS)}
    values[col["input_tokens"]] = n(usage, "input_tokens")
    values[col["input_text_tokens"]] = n(details, "text_tokens")
    values[col["input_audio_tokens"]] = n(details, "audio_tokens")
    values[col["output_tokens"]] = n(usage, "output_tokens")
    values[col["output_text_tokens"]] = n(usage, "output_tokens")
    values[col["total_tokens"]] = n(usage, "total_tokens")
    return values, None


def usage_frame(src: object, *, totals: bool = True) -> pd.DataFrame:
    """Token usage per response (from ``response.done``) and per input transcription, plus
    a ``total`` row.

    ``kind`` is ``response`` or ``transcription``. A transcription row (from
    ``conversation.item.input_audio_transcription.completed``) is billed by the transcription
    model (``model``: ``session.audio.input.transcription.model`` as last reported, ``None``
    if the capture never said), not the realtime one; its ``item_id`` is the caller's item,
    its ``response_id`` is ``None``, and a per-minute model (``whisper-1``) reports
    ``audio_seconds`` instead of tokens. A GPT-Live capture adds one ``session`` row: the
    session's billed seconds (cumulative, as last reported) in ``audio_seconds``; its
    delegations' backend responses are ``response`` rows with their tokens. Responses
    without usage (cut short) are left out.
    With ``totals=False`` only the per-response and per-transcription rows.
    """
    fs = _single(src)
    resp = responses_frame(fs)
    df = resp.loc[resp["input_tokens"].notna() | resp["output_tokens"].notna(),
                  ["response_id", "model", *USAGE_COLUMNS]].reset_index(drop=True)
    df["response_id"] = df["response_id"].astype(object)
    model = df["model"]
    categories = list(model.cat.categories) if isinstance(
        model.dtype, pd.CategoricalDtype) else []
    df["model"] = model.astype(object)
    df["kind"] = "response"
    df["item_id"] = pd.Series([None] * len(df), dtype=object)
    df["audio_seconds"] = pd.Series([float("nan")] * len(df), dtype="float64")
    fold = fold_of(fs)
    if fold.transcriptions:
        rows: list[dict[str, Any]] = []
        for tr in fold.transcriptions:
            values, seconds = _transcription_values(tr.usage)
            rows.append({"response_id": None, "model": tr.model,
                         **dict(zip(USAGE_COLUMNS, values, strict=True)),
                         "kind": "transcription", "item_id": tr.item_id,
                         "audio_seconds": float("nan") if seconds is None else seconds})
            if tr.model and tr.model not in categories:
                categories.append(tr.model)
        extra = pd.DataFrame(rows).astype(dict.fromkeys(USAGE_COLUMNS, "Int64"))
        extra = extra.astype({"response_id": object, "model": object, "item_id": object,
                              "audio_seconds": "float64"})
        df = pd.concat([df, extra], ignore_index=True) if len(df) else extra
    seconds_billed = fold.state.usage_seconds
    if seconds_billed is not None:
        # A session billed by time (GPT-Live): one row with the cumulative seconds as last
        # reported (session.closed's final usage when the capture has it). No tokens.
        session = fold.state.session or {}
        smodel = session.get("model") if isinstance(session.get("model"), str) else None
        extra = pd.DataFrame([{"response_id": None, "model": smodel,
                               **dict.fromkeys(USAGE_COLUMNS, None), "kind": "session",
                               "item_id": None, "audio_seconds": float(seconds_billed)}])
        extra = extra.astype(dict.fromkeys(USAGE_COLUMNS, "Int64")).astype(
            {"response_id": object, "model": object, "item_id": object,
             "audio_seconds": "float64"})
        if smodel and smodel not in categories:
            categories.append(smodel)
        df = pd.concat([df, extra], ignore_index=True) if len(df) else extra
    if totals:
        total = df[list(USAGE_COLUMNS)].sum(min_count=0).astype("int64")
        seconds_total = float(df["audio_seconds"].sum()) if len(df) else 0.0
        row = pd.DataFrame([{"response_id": "total", "model": None, **total.to_dict(),
                             "kind": "total", "item_id": None,
                             "audio_seconds": seconds_total}])
        row = row.astype(dict.fromkeys(USAGE_COLUMNS, "Int64"))
        row = row.astype({"model": object, "item_id": object})
        df = pd.concat([df, row], ignore_index=True) if len(df) else row
    df["model"] = df["model"].astype(pd.CategoricalDtype(categories))
    df["kind"] = df["kind"].astype("category")
    return df


def tool_calls_frame(src: object) -> pd.DataFrame:
    """One row per function call: what was asked, who answered, how long it took.

    ``requested_s``: arrival of ``response.function_call_arguments.done`` (else the
    completed ``response.output_item.done``); ``answered_s``: when *our*
    ``function_call_output`` went out, or, if only the server told us, when its
    ``conversation.item.added`` arrived. ``answered_by``: the ``rtwidgets.tool_answered``
    meta frame's ``by`` (``handler``/``form``/``code``), ``code`` for an output we sent
    without one, ``peer`` for an output that only arrived from the server; ``None`` while
    pending. ``arguments`` is the parsed JSON (``None`` if it does not parse;
    ``arguments_json`` keeps the text). ``latency_s`` = answered − requested.
    """
    # Not cached like the others: ``arguments`` holds mutable parsed JSON a copy would share.
    fold = fold_of(_single(src))
    cols = ("tool_call_id", "name", "arguments", "arguments_json", "output", "answered_by",
            "status", "item_id", "response_id", "requested_s", "answered_s", "latency_s")
    rows: dict[str, list[Any]] = {k: [] for k in cols}
    tools = sorted(fold.tools.values(),
                   key=lambda x: x.request_t if x.request_t is not None else float("inf"))
    for tool in tools:
        try:
            args = json.loads(tool.arguments) if tool.arguments else None
        except ValueError:
            args = None
        vals = [tool.call_id, tool.name or None, args, tool.arguments or None, tool.output,
                tool.answered_by, "answered" if tool.answered_t is not None else "pending",
                tool.item_id, tool.response_id, _f(tool.request_t), _f(tool.answered_t),
                _diff(tool.answered_t, tool.request_t)]
        for k, v in zip(cols, vals, strict=True):
            rows[k].append(v)
    arguments = rows.pop("arguments")
    df = _frame(rows, categories=("name", "answered_by", "status"))
    df.insert(2, "arguments", pd.Series(arguments, dtype=object))
    return df


def turns_frame(src: object) -> pd.DataFrame:
    """One row per user turn with its latencies (see the module docstring for the spans)."""
    return _cached_frame(_single(src), "turns_frame", _build_turns_frame)


def _build_turns_frame(fs: FrameSource) -> pd.DataFrame:
    fold = fold_of(fs)
    cols = ("turn", "kind", "item_id", "user_text", "speech_start_s", "speech_stop_s",
            "speech_s", "audio_start_ms", "audio_end_ms", "anchor_s", "response_id",
            "n_responses", "response_status", "response_created_s", "first_text_s",
            "audio_start_s", "response_done_s", "latency_response_s", "latency_first_text_s",
            "latency_audio_s", "response_s", "playback_s", "response_chars", "interrupted")
    rows: dict[str, list[Any]] = {k: [] for k in cols}
    responses = fold.responses
    items = fold.items
    for turn in fold.turns:
        resps = [responses[r] for r in turn.response_ids if r in responses]
        first = resps[0] if resps else None
        user = items.get(turn.item_id or "")
        audio_end = None
        if first is not None:
            audio_end = first.audio_stopped_t if first.audio_stopped_t is not None else (
                first.audio_cleared_t)
        timing = turn_timings(fold.state, turn)
        vals: list[Any] = [
            turn.index, turn.kind, turn.item_id, (user.text or None) if user else None,
            _f(turn.speech_start_t), _f(turn.speech_stop_t),
            _diff(turn.speech_stop_t, turn.speech_start_t), turn.audio_start_ms,
            turn.audio_end_ms, _f(turn.anchor_t), first.id if first else None, len(resps),
            first.status if first else None,
            _f(first.started_t if first else None), _f(first.first_text_t if first else None),
            _f(first.audio_started_t if first else None),
            _f(first.done_t if first else None),
            _f(timing.latency_response), _f(timing.latency_first_text),
            _f(timing.latency_audio),
            _diff(first.done_t if first else None, first.started_t if first else None),
            _diff(audio_end, first.audio_started_t if first else None),
            sum(_response_chars(fold, r) for r in resps),
            timing.interrupted,
        ]
        for k, v in zip(cols, vals, strict=True):
            rows[k].append(v)
    return _frame(rows, categories=("kind", "response_status"),
                  ints=("turn", "audio_start_ms", "audio_end_ms", "n_responses",
                        "response_chars"))


def gaps_frame(src: object) -> pd.DataFrame:
    """Reconnect gaps (``rtwidgets.gap`` meta frames): start, end, duration, reason."""
    fold = fold_of(_single(src))
    starts = [g.since if g.since is not None else g.t for g in fold.gaps]
    rows: dict[str, list[Any]] = {
        "start_s": starts,
        "end_s": [g.t for g in fold.gaps],
        "duration_s": [g.t - s for g, s in zip(fold.gaps, starts, strict=True)],
        "reason": [g.reason for g in fold.gaps],
    }
    df = _frame(rows)
    if df.empty:
        df = pd.DataFrame({"start_s": pd.Series(dtype="float64"),
                           "end_s": pd.Series(dtype="float64"),
                           "duration_s": pd.Series(dtype="float64"),
                           "reason": pd.Series(dtype=object)})
    df.insert(2, "resumed", _utc([fold.wall(g.t) for g in fold.gaps]))
    return df


def errors_frame(src: object) -> pd.DataFrame:
    """Server ``error`` events, each linked to the client event that caused it if we sent it."""
    fold = fold_of(_single(src))
    keys = ("code", "type", "message", "param", "client_event_id", "client_event_type")
    rows: dict[str, list[Any]] = {"time_s": [e.t for e in fold.errors]}
    for k in keys:
        rows[k] = [getattr(e, k) for e in fold.errors]
    df = _frame(rows)
    if df.empty:
        df = pd.DataFrame({k: pd.Series(dtype="float64" if k == "time_s" else object)
                           for k in rows})
    df.insert(0, "time", _utc([fold.wall(e.t) for e in fold.errors]))
    return df
