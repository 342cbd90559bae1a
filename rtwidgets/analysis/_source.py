"""Where analysis reads frames from: a capture file, a live ``Call``, a ``Recording``.

Why: every table in ``rtwidgets.analysis`` starts from the same columnar record of a call.
Parsing a capture is the expensive part (a long call holds a million frames), so it happens
once per source, column-wise, in pyarrow's C++ JSON reader, and the tables derive from the
columns. ``FrameSource`` is that one parsed record; pass the same ``FrameSource`` to several
functions to parse once.

What a source can be (duck-typed, so the analysis never imports the call layer):

* a path to a capture file (JSONL, format of ``docs/internals.md`` "capture");
* an object with ``frames()`` returning ``Frame``-likes (``seq``, ``direction``, ``t``, ``m``,
  ``type``, ``event``, ``flags``) — a live ``Call``. When the sequence also offers
  ``body(start)`` or ``line(i)`` (the capture's ``FrameStore``), the capture lines are
  parsed column-wise directly and no ``Frame`` is built;
* an object with a ``capture_path`` — read from the file. A ``Recording`` (it has
  ``replay``) is read from its file when the file exists: the file keeps the wire text and
  the fast path applies;
* a ``FrameSource``.

Both kinds grow: a live call keeps receiving frames and its capture keeps being appended to.
A ``FrameSource`` reads only what is new since it last looked (frames past the last count,
bytes past the last complete line), so asking for tables during a call stays cheap.

How a file is parsed: the whole body of complete lines goes once through pyarrow's C++
JSON reader with an explicit schema of the few fields the tables need (the line's ``seq``,
``dir``, ``t``, ``m``, ``dropped``, ``bad``; the frame's ``type``, ``event_id``,
``item_id``, ``response_id``, ``call_id``, ``item.id``, ``item.call_id``,
``response.id``); every other field is skipped. The ``payload`` column (the frame's JSON
text) is built from offsets into the file's bytes — the text after the line's first
``"frame":`` up to its closing brace — as Arrow views, then one plain copy; no per-line
Python object is made. If the reader refuses the body (a field of an unexpected JSON
type), blocks of lines are retried and a refused block is parsed line by line in Python.
The payload bytes are taken as UTF-8 without a second check: the capture writer and the
WebSocket both guarantee it.

What it must never do: re-serialise wire text it has (the payload column is sliced from the
line), raise on a frame it does not understand (unknown types and fields are data, a line
that is not JSON is a flagged row or, if it is not even a record, skipped; a truncated last
line is ignored), or hold audio.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from rtwidgets.protocol._text import displayable
from rtwidgets.protocol.catalog import category_of, is_known
from rtwidgets.protocol.codecs import codec_for

__all__ = ["CORE_SCHEMA", "FrameSource", "ManySources", "as_source"]


class ManySources:
    """Base of a collection of calls (``analysis.Many``).

    The single-call functions refuse one with a pointer to its own tables; they test this
    base, which lives below both, instead of importing ``Many`` (``_many`` builds on the
    tables, so that import was a circle).
    """

    __slots__ = ()


#: The columns every source is reduced to; the events table is a view of these.
CORE_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("direction", pa.string()),
        ("t", pa.float64()),
        ("m", pa.float64()),
        ("type", pa.string()),
        ("event_id", pa.string()),
        ("item_id", pa.string()),
        ("response_id", pa.string()),
        ("tool_call_id", pa.string()),
        ("bad", pa.bool_()),
        ("audio_dropped", pa.bool_()),
        ("payload", pa.large_string()),
    ]
)

_ID = pa.string()
#: What the C++ reader extracts from each line; everything else in the frame is ignored
#: (it stays in the payload text).
_LINE_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("dir", pa.string()),
        ("t", pa.float64()),
        ("m", pa.float64()),
        ("dropped", pa.struct([("_", pa.int64())])),
        ("bad", pa.string()),
        (
            "frame",
            pa.struct(
                [
                    ("type", _ID),
                    ("event_id", _ID),
                    ("item_id", _ID),
                    ("response_id", _ID),
                    ("call_id", _ID),
                    ("item", pa.struct([("id", _ID), ("call_id", _ID)])),
                    ("response", pa.struct([("id", _ID)])),
                ]
            ),
        ),
    ]
)
_PARSE = pj.ParseOptions(explicit_schema=_LINE_SCHEMA, unexpected_field_behavior="ignore")


def _pick_pool() -> pa.MemoryPool:
    """jemalloc (else the system allocator) for the reader's big, short-lived buffers.

    pyarrow's default mimalloc pool returns and re-faults pages around these allocations:
    measured here, about twice the system CPU time for a 1M-frame capture. The default pool
    of the process is left alone.
    """
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # pragma: no cover - a pyarrow built without jemalloc
        return pa.system_memory_pool()


_POOL = _pick_pool()
#: Large blocks: fewer hand-offs between the reader's threads (measurably less CPU). A line
#: longer than a block is refused by the reader and takes the Python path.
_READ = pj.ReadOptions(block_size=16 << 20)
_FRAME_KEY = b'"frame":'
#: Lines per block handed to the C++ reader; a block it refuses (a field of an unexpected
#: JSON type somewhere) is parsed line by line in Python instead, so one odd frame costs
#: one block, not the whole file.
_BLOCK_LINES = 65_536
Buf = bytes | memoryview
#: Type given to frames whose JSON has no string ``type``.
NO_TYPE = "rtwidgets.no_type"
BAD_TYPE = "rtwidgets.bad_frame"


@dataclass
class _Columns:
    """Growing column lists for the Python paths (live frames and refused blocks)."""

    seq: list[int | None] = field(default_factory=list)
    direction: list[str | None] = field(default_factory=list)
    t: list[float | None] = field(default_factory=list)
    m: list[float | None] = field(default_factory=list)
    type: list[str] = field(default_factory=list)
    event_id: list[str | None] = field(default_factory=list)
    item_id: list[str | None] = field(default_factory=list)
    response_id: list[str | None] = field(default_factory=list)
    tool_call_id: list[str | None] = field(default_factory=list)
    bad: list[bool] = field(default_factory=list)
    audio_dropped: list[bool] = field(default_factory=list)
    payload: list[str | None] = field(default_factory=list)

    def add_event(
        self,
        *,
        seq: Any,
        direction: Any,
        t: Any,
        m: Any,
        event: Any,
        payload: str | None,
        bad: bool,
        dropped: bool,
    ) -> None:
        self.seq.append(seq if isinstance(seq, int) and not isinstance(seq, bool) else None)
        self.direction.append(direction if isinstance(direction, str) else None)
        self.t.append(_num(t))
        self.m.append(_num(m))
        ev: dict[str, Any] = event if isinstance(event, dict) else {}
        etype = ev.get("type")
        if bad:
            etype = BAD_TYPE
        elif not isinstance(etype, str):
            etype = NO_TYPE
        self.type.append(displayable(etype))
        item = ev.get("item")
        item = item if isinstance(item, dict) else {}
        resp = ev.get("response")
        resp = resp if isinstance(resp, dict) else {}
        self.event_id.append(_str(ev.get("event_id")))
        self.item_id.append(_str(ev.get("item_id")) or _str(item.get("id")))
        self.response_id.append(_str(ev.get("response_id")) or _str(resp.get("id")))
        self.tool_call_id.append(_str(ev.get("call_id")) or _str(item.get("call_id")))
        self.bad.append(bad)
        self.audio_dropped.append(dropped)
        self.payload.append(displayable(payload) if payload is not None else None)

    def table(self) -> pa.Table:
        return pa.table(
            {name: pa.array(getattr(self, name), f.type) for name, f in
             zip(CORE_SCHEMA.names, CORE_SCHEMA, strict=True)},
            schema=CORE_SCHEMA,
        )


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v)


def _str(v: Any) -> str | None:
    # Arrow strings are UTF-8: a lone surrogate escape ("\\ud800", valid JSON) cannot be one.
    return displayable(v) if isinstance(v, str) else None


def _bad_payload(raw: Any, error: Any) -> str:
    return json.dumps({"type": BAD_TYPE, "raw": raw, "error": error}, ensure_ascii=False)


def _parse_line_python(line: bytes, cols: _Columns) -> None:
    """One capture line the slow, forgiving way. A line that is not JSON is skipped."""
    try:
        rec = json.loads(line)
    except ValueError:
        return
    if not isinstance(rec, dict) or "format" in rec:
        return
    if "bad" in rec or "frame" not in rec:
        cols.add_event(
            seq=rec.get("seq"), direction=rec.get("dir"), t=rec.get("t"), m=rec.get("m"),
            event={}, payload=_bad_payload(rec.get("bad"), rec.get("error")), bad=True,
            dropped=False,
        )
        return
    frame = rec["frame"]
    pos = line.find(_FRAME_KEY)
    payload = line[pos + len(_FRAME_KEY) : line.rfind(b"}")].decode("utf-8", "replace")
    if not isinstance(frame, dict):
        cols.add_event(
            seq=rec.get("seq"), direction=rec.get("dir"), t=rec.get("t"), m=rec.get("m"),
            event={}, payload=_bad_payload(payload, "frame is not a JSON object"), bad=True,
            dropped=False,
        )
        return
    cols.add_event(
        seq=rec.get("seq"), direction=rec.get("dir"), t=rec.get("t"), m=rec.get("m"),
        event=frame, payload=payload, bad=False, dropped=bool(rec.get("dropped")),
    )


def _payload_views(body: Buf, starts: np.ndarray[Any, Any], ends: np.ndarray[Any, Any]
                   ) -> pa.Array:
    """The frame JSON of each line as views into ``body`` (no per-line Python objects).

    ``frame`` is last on a line, so the payload runs from after the first ``"frame":`` of
    the line to before the line's closing ``}``. A ``"frame":`` can never occur inside a
    JSON string (its quotes would be escaped), so the first occurrence is the key.
    Null where a line has no frame.
    """
    n = len(starts)
    if n == 0:
        return pa.nulls(0, pa.large_string())
    buf = np.frombuffer(body, np.uint8)
    # The lines as a zero-copy binary array (each entry runs to the next line's start, so
    # it may carry the newline and skipped empty lines): pyarrow finds the key in every
    # line in C++, with no Python object per line.
    offsets = np.empty(n + 1, np.int64)
    offsets[:-1] = starts
    offsets[-1] = ends[-1]
    lines = pa.Array.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offsets),
                                                         pa.py_buffer(body)])
    found = pc.find_substring(lines, _FRAME_KEY).to_numpy(zero_copy_only=False)
    cand = starts + found
    has = (found >= 0) & (cand < ends)
    if not has.any():
        return pa.nulls(n, pa.large_string())
    pstart = cand + len(_FRAME_KEY)
    pend = ends - 1
    if has.any() and not (buf[pend[has]] == ord("}")).all():
        raise pa.ArrowInvalid("a frame line does not end with '}'")
    length = np.where(has, pend - pstart, 0)
    if (length[has] <= 12).any() or len(body) >= 2**31:
        raise pa.ArrowInvalid("payload too short for a view, or body too large")
    views = np.zeros((n, 4), np.int32)
    views[:, 0] = length
    safe = np.where(has, pstart, 0)
    if len(buf) >= 4:
        prefix = buf[np.minimum(safe[:, None] + np.arange(4), len(buf) - 1)]
        views[:, 1] = np.ascontiguousarray(prefix).view(np.int32)[:, 0]
    views[:, 3] = safe
    views[~has] = 0
    validity = pa.array(has).buffers()[1] if not has.all() else None
    arr = pa.Array.from_buffers(pa.binary_view(), n, [validity, pa.py_buffer(views.tobytes()),
                                                      pa.py_buffer(body)])
    # binary_view -> large_binary is a plain copy; the bytes are the capture's UTF-8 text
    # (the writer and the WebSocket both guarantee it), so reinterpret without re-checking.
    return arr.cast(pa.large_binary(), memory_pool=_POOL).view(pa.large_string())


def _line_bounds(body: Buf) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Start and end offsets of the non-empty lines of ``body`` (end excludes the newline)."""
    buf = np.frombuffer(body, np.uint8)
    # In slices, so the comparison's temporary stays small next to the body itself.
    step = 1 << 24
    nl = np.concatenate([np.flatnonzero(buf[i : i + step] == 10) + i
                         for i in range(0, len(buf), step)] or [np.zeros(0, np.int64)])
    starts = np.concatenate(([0], nl + 1)).astype(np.int64)
    ends = np.concatenate((nl, [len(body)])).astype(np.int64)
    keep = ends > starts
    return starts[keep], ends[keep]


def _body_arrow(body: Buf) -> pa.Table:
    """Complete frame lines (no header) through the C++ reader; raises if it refuses."""
    starts, ends = _line_bounds(body)
    raw = pj.read_json(pa.BufferReader(pa.py_buffer(body)), parse_options=_PARSE,
                       read_options=_READ, memory_pool=_POOL)
    if raw.num_rows != len(starts):
        raise pa.ArrowInvalid("row count differs from line count")
    frame = raw.column("frame").combine_chunks(memory_pool=_POOL)
    item = frame.field("item")
    resp = frame.field("response")
    bad_raw = raw.column("bad").combine_chunks(memory_pool=_POOL)
    payload = _payload_views(body, starts, ends)
    is_bad = pc.or_kleene(pc.is_valid(bad_raw), pc.is_null(frame)).fill_null(True)
    bad_rows = np.flatnonzero(is_bad.to_numpy(zero_copy_only=False))
    if len(bad_rows):
        # Bad frames are rare: give them the Frame contract's event as payload.
        fixed = []
        for i in bad_rows:
            line = bytes(body[starts[i] : ends[i]])
            rec = json.loads(line)
            raw_text = rec.get("bad")
            if raw_text is None:
                raw_text = line.decode("utf-8", "replace")
            fixed.append(_bad_payload(raw_text, rec.get("error") or
                                      "frame is not a JSON object"))
        payload = pc.replace_with_mask(payload, is_bad, pa.array(fixed, pa.large_string()))
    ftype = pc.if_else(is_bad, BAD_TYPE, pc.fill_null(frame.field("type"), NO_TYPE))
    return pa.table(
        {
            "seq": raw.column("seq"),
            "direction": raw.column("dir"),
            "t": raw.column("t"),
            "m": raw.column("m"),
            "type": ftype,
            "event_id": frame.field("event_id"),
            "item_id": pc.coalesce(frame.field("item_id"), item.field("id")),
            "response_id": pc.coalesce(frame.field("response_id"), resp.field("id")),
            "tool_call_id": pc.coalesce(frame.field("call_id"), item.field("call_id")),
            "bad": is_bad,
            "audio_dropped": pc.is_valid(raw.column("dropped")),
            "payload": payload,
        },
        schema=CORE_SCHEMA,
    )


def _blank(body: Buf) -> bool:
    """Whether ``body`` holds nothing but whitespace (without copying it)."""
    return re.match(rb"\s*\Z", body) is not None


def _python_lines(lines: list[bytes]) -> pa.Table:
    cols = _Columns()
    for ln in lines:
        if ln.strip():
            _parse_line_python(ln, cols)
    return cols.table()


def parse_body(body: Buf) -> pa.Table:
    """Complete frame lines (no header) to core columns.

    The whole body goes through the C++ reader at once; if it refuses (a field of an
    unexpected JSON type somewhere), blocks of lines are retried the same way and a block
    still refused is parsed line by line in Python — one odd frame costs one block.
    """
    if _blank(body):
        return CORE_SCHEMA.empty_table()
    try:
        return _body_arrow(body)
    except (pa.ArrowInvalid, ValueError):
        pass
    lines = bytes(body).split(b"\n")
    parts: list[pa.Table] = []
    for start in range(0, len(lines), _BLOCK_LINES):
        block = [ln for ln in lines[start : start + _BLOCK_LINES] if ln.strip()]
        if not block:
            continue
        try:
            parts.append(_body_arrow(b"\n".join(block) + b"\n"))
        except (pa.ArrowInvalid, ValueError):
            parts.append(_python_lines(block))
    return pa.concat_tables(parts) if parts else CORE_SCHEMA.empty_table()


def parse_lines(lines: list[bytes]) -> pa.Table:
    """Frame lines (no header, no newlines) to core columns (see ``parse_body``)."""
    return parse_body(b"\n".join(lines) + b"\n" if lines else b"")


class FrameSource:
    """The parsed, columnar record of one call, read incrementally from its origin.

    Build one with :func:`as_source` (or ``FrameSource(path)``) and pass it to several
    analysis functions to parse the capture once.

    Attributes:
        header: the capture's header line (``{}`` for a live object without one).
        call_id: the Realtime call id (header, then the object's ``call_id``, then the file
            name).
    """

    def __init__(self, origin: str | os.PathLike[str] | object, *, name: str | None = None):
        self._path: Path | None = None
        self._obj: object | None = None
        if isinstance(origin, str | os.PathLike):
            self._path = Path(origin)
            if not self._path.is_file():
                raise FileNotFoundError(
                    f"capture path {str(self._path)!r} is not a file. Fix: pass the path of a "
                    "capture .jsonl written by rtwidgets, or use load_many() for a glob"
                )
        else:
            self._obj = origin
        self._header: dict[str, Any] = {}
        self._name = name
        self._offset = 0          # bytes of the file consumed (complete lines only)
        self._consumed = 0        # frames of a live object consumed
        self._parts: list[pa.Table] = []
        self._core: pa.Table | None = None
        self._derived: dict[str, Any] = {}
        self._stamp: object = None

    def __repr__(self) -> str:
        where = str(self._path) if self._path is not None else type(self._obj).__name__
        return f"FrameSource({where!r}, call_id={self.call_id!r}, frames={self._rows()})"

    def _rows(self) -> int:
        return sum(p.num_rows for p in self._parts)

    @property
    def header(self) -> dict[str, Any]:
        """The capture's header line (``{}`` for a live object)."""
        if self._core is None:
            self.refresh()
        return self._header

    @property
    def call_id(self) -> str:
        cid = self.header.get("call_id")
        if isinstance(cid, str) and cid:
            return cid
        obj_cid = getattr(self._obj, "call_id", None)
        if isinstance(obj_cid, str) and obj_cid:
            return obj_cid
        if self._name:
            return self._name
        if self._path is not None:
            return self._path.name.split(".")[0]
        return "unknown"

    @property
    def api(self) -> str:
        """The API the frames speak: the header's ``api``, else the object's, else
        ``"realtime"`` (captures written before the field)."""
        api = self.header.get("api")
        if not (isinstance(api, str) and api):
            api = getattr(self._obj, "api", None)
        return api if isinstance(api, str) and api else "realtime"

    @property
    def created_at(self) -> float | None:
        """Wall time the capture began (header ``created_at``), else the first frame's."""
        ca = self.header.get("created_at")
        if isinstance(ca, int | float) and not isinstance(ca, bool):
            return float(ca)
        core = self.core()
        if core.num_rows:
            first = pc.min(core.column("t")).as_py()
            return float(first) if first is not None else None
        return None

    # -- reading -----------------------------------------------------------------------------

    def _read_file(self) -> None:
        assert self._path is not None
        size = self._path.stat().st_size
        if size < self._offset:           # the file was replaced: start over
            self._offset = 0
            self._parts.clear()
            self._header = {}
        if size == self._offset:
            return
        with self._path.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        end = data.rfind(b"\n")
        tail = data[end + 1 :]
        # A last line without its newline is either being written or was cut short by a
        # dead kernel: keep it only if it is complete JSON, and then consume it.
        consumed = end + 1
        # A view, not a copy: the file's bytes are held once while they are parsed.
        body: Buf = memoryview(data)[:consumed]
        if tail.strip():
            try:
                json.loads(tail)
            except ValueError:
                pass
            else:
                body = data + b"\n"
                consumed += len(tail)
        if self._offset == 0 and body:
            # The header is short; a first line longer than this is a frame, not a header.
            nl = bytes(body[:65536]).find(b"\n")
            try:
                head = json.loads(bytes(body[:nl])) if nl >= 0 else None
            except ValueError:
                head = None
            if isinstance(head, dict) and head.get("format") == "rtwidgets.capture":
                version = head.get("version")
                if isinstance(version, int) and version > 1:
                    raise ValueError(
                        f"capture {str(self._path)!r}: header.version is {version}, this "
                        "rtwidgets reads version 1. Fix: upgrade rtwidgets"
                    )
                self._header = head
                body = body[nl + 1 :]
        self._offset += consumed
        if not _blank(body):
            self._parts.append(parse_body(body))

    def _read_object(self) -> None:
        frames_fn = getattr(self._obj, "frames", None)
        assert frames_fn is not None
        frames: Sequence[Any] = frames_fn()
        n = len(frames)
        if n < self._consumed:
            self._consumed = 0
            self._parts.clear()
        if n == self._consumed:
            return
        body_of = getattr(frames, "body", None)
        if callable(body_of):
            # A FrameStore hands its lines back to back in one copy: the file fast path.
            self._parts.append(parse_body(body_of(self._consumed)))
            self._consumed = n
            return
        line_of = getattr(frames, "line", None)
        if callable(line_of):
            # A FrameStore keeps the capture lines themselves: take the C++ path on them
            # instead of parsing each line into a Frame first.
            lines = [bytes(line_of(i)).rstrip(b"\n") for i in range(self._consumed, n)]
            self._consumed = n
            self._parts.append(parse_lines(lines))
            return
        cols = _Columns()
        for fr in frames[self._consumed : n]:
            event = getattr(fr, "event", None)
            flags: Iterable[str] = getattr(fr, "flags", ()) or ()
            bad = "bad" in flags or getattr(fr, "type", None) == BAD_TYPE
            payload = json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=str)
            cols.add_event(
                seq=getattr(fr, "seq", None), direction=getattr(fr, "direction", None),
                t=getattr(fr, "t", None), m=getattr(fr, "m", None),
                event=event, payload=payload, bad=bad, dropped="audio_dropped" in flags,
            )
        self._consumed = n
        self._parts.append(cols.table())

    def refresh(self) -> bool:
        """Read what is new at the origin; ``True`` if anything was added."""
        before = self._rows()
        if self._path is not None:
            self._read_file()
        else:
            self._read_object()
        grew = self._rows() != before
        if grew or self._core is None:
            self._core = (
                pa.concat_tables(self._parts) if self._parts else CORE_SCHEMA.empty_table()
            )
            if len(self._parts) > 1:
                self._parts = [self._core]
            self._derived.clear()
        return grew

    def core(self) -> pa.Table:
        """The core columns (``CORE_SCHEMA``), refreshed from the origin."""
        self.refresh()
        assert self._core is not None
        return self._core

    def cached(self, key: str) -> Any:
        """A derived result computed for the current frames, or ``None``."""
        self.refresh()
        return self._derived.get(key)

    def store(self, key: str, value: Any) -> Any:
        self._derived[key] = value
        return value


def _is_unknown(types: pa.Array, api: str | None = None) -> pa.Array:
    """Per-row flag: the type is neither an event type of the API nor one of our meta/bad
    types."""
    enc = types.dictionary_encode() if not pa.types.is_dictionary(types.type) else types
    uniques = enc.dictionary.to_pylist()
    if api == "live":
        codec = codec_for(api)
        known = codec.client_event_types | codec.server_event_types
        unknown = [not (u in known or u.startswith("rtwidgets.")) for u in uniques]
    else:
        unknown = [not (is_known(u) or u.startswith("rtwidgets.")) for u in uniques]
    return pc.take(pa.array(unknown, pa.bool_()), enc.indices)


def _categories(types: pa.Array, api: str | None = None) -> pa.Array:
    enc = types.dictionary_encode() if not pa.types.is_dictionary(types.type) else types
    category = codec_for(api).category if api == "live" else category_of
    cats = [category(u) for u in enc.dictionary.to_pylist()]
    return pc.take(pa.array(cats, pa.string()), enc.indices)


def as_source(src: object) -> FrameSource:
    """Turn any supported source into a :class:`FrameSource` (see the module docstring)."""
    if isinstance(src, FrameSource):
        return src
    if isinstance(src, str | os.PathLike):
        return FrameSource(src)
    path = getattr(src, "capture_path", None)
    has_frames = callable(getattr(src, "frames", None))
    if path is not None and (not has_frames or hasattr(src, "replay")) and Path(path).is_file():
        return FrameSource(path, name=getattr(src, "call_id", None))
    if has_frames:
        return FrameSource(src)
    raise TypeError(
        f"cannot analyse a {type(src).__name__}: expected a capture path, a Call or "
        "Recording (an object with frames() or capture_path), or a FrameSource. Fix: pass "
        "the capture file path, e.g. events_frame('call.jsonl')"
    )
