"""The capture: an append-only, durable record of every frame of a call, and its readers.

Why: a notebook kernel can die at any moment (SIGKILL, OOM, a closed laptop) and a live call
cannot be replayed, so everything that crossed the wire is written to disk as it arrives, in
a line format anybody can read with ``json.loads`` (docs/capture-format.md). The same encoded
lines are kept in memory by ``FrameStore``, so a long call costs about one copy of its JSON
and ``Frame`` objects are only built when somebody looks at them.

Decisions:
- A frame is spliced into its line from the wire bytes, never re-serialised; the only
  rewrites are blanking audio payloads (their base64 length is kept in ``dropped``), turning
  raw newlines (JSON whitespace) into spaces so the frame stays on one line, and, when
  transcript redaction is on, re-serialising the redacted frame.
- Lines go to an in-memory buffer and reach the OS (``os.write``) at least every 200 ms: on
  a write when the last flush is older than ``flush_interval``, and from a periodic task, so
  a quiet call is flushed too. The page cache survives a killed process; no fsync.
- Flags (``bad``, ``unknown_type``, ``audio_dropped``, ``huge``, ``out_of_order``) are a pure
  function of the sequence of lines, so a loaded capture gets the same flags as the live call.

Never: re-serialise a frame that needs no rewrite, write a header, key or query string into
a line, raise from the encoder on a bad frame, or block the loop for more than a small write.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, overload

from rtwidgets._version import __version__
from rtwidgets.protocol.capture_rules import CaptureRules, OrderChecker, capture_rules

__all__ = [
    "BAD_FRAME_TYPE",
    "CAPTURE_FORMAT",
    "CAPTURE_VERSION",
    "HUGE_FRAME_BYTES",
    "CaptureFormatError",
    "CaptureWriter",
    "Frame",
    "FrameEncoder",
    "FrameStore",
    "make_header",
    "read_capture",
]

CAPTURE_FORMAT: Final = "rtwidgets.capture"
CAPTURE_VERSION: Final = 1
BAD_FRAME_TYPE: Final = "rtwidgets.bad_frame"
#: Frames whose capture line is larger than this are flagged ``huge``; they are still kept.
HUGE_FRAME_BYTES: Final = 1 << 20

# Flag bits as stored per frame in FrameStore (one byte a frame).
F_BAD: Final = 1
F_UNKNOWN: Final = 2
F_AUDIO: Final = 4
F_HUGE: Final = 8
F_OOO: Final = 16
_FLAG_NAMES: Final = (
    (F_BAD, "bad"),
    (F_UNKNOWN, "unknown_type"),
    (F_AUDIO, "audio_dropped"),
    (F_HUGE, "huge"),
    (F_OOO, "out_of_order"),
)
_FLAGSETS: Final[tuple[frozenset[str], ...]] = tuple(
    frozenset(name for bit, name in _FLAG_NAMES if mask & bit) for mask in range(32)
)

_NEWLINES: Final = re.compile(rb"[\r\n]")
# The C scanner behind JSONDecoder.raw_decode, called directly (one Python frame less per
# frame); StopIteration means "not a JSON value here" and goes to json.loads for its message.
_scan_once: Callable[[str, int], tuple[Any, int]] = (
    json.JSONDecoder().scan_once)  # type: ignore[attr-defined]
# Line heads by direction (the frame's own text follows).
# ``t`` is written at full float precision (repr), so a loaded capture feeds the state the
# very same times the live call did; ``m`` to the microsecond.
_HEADS: Final = {d: b'{"seq":%%d,"dir":"%s","t":%%r,"m":%%.6f,' % d.encode()
                 for d in ("in", "out", "meta")}
# Whole lines of a frame with nothing dropped, by direction: one format call makes the line.
_LINES: Final = {d: head + b'"frame":%b}\n' for d, head in _HEADS.items()}


def _head(direction: str, seq: int, t: float, m: float) -> bytes:
    fmt = _HEADS.get(direction)
    if fmt is not None:
        return fmt % (seq, t, m)
    return b'{"seq":%d,"dir":%s,"t":%r,"m":%.6f,' % (seq, json.dumps(direction).encode(), t, m)


def flags_of(mask: int) -> frozenset[str]:
    """The flag names of a stored flag byte."""
    return _FLAGSETS[mask & 31]


class CaptureFormatError(ValueError):
    """A file that is not an rtwidgets capture (or of a newer, unknown version)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured frame: a server event, a client event we sent, or a meta frame.

    ``event`` is the parsed frame (audio blanked when dropped; for a bad frame
    ``{"type": "rtwidgets.bad_frame", "raw": …, "error": …}``). Treat it as read-only: it may
    be shared with other readers.
    """

    seq: int
    direction: str
    t: float
    m: float
    type: str
    event: dict[str, Any]
    flags: frozenset[str]


def make_header(
    call_id: str,
    *,
    transport: str | None,
    source: str,
    audio: str = "dropped",
    redact_transcripts: bool = False,
    created_at: float | None = None,
    api: str = "realtime",
) -> dict[str, Any]:
    """The header line of a capture (line 1), as docs/capture-format.md describes it.

    ``api``: ``"realtime"`` or ``"live"``; a capture without the field reads as Realtime.
    """
    return {
        "format": CAPTURE_FORMAT,
        "version": CAPTURE_VERSION,
        "call_id": call_id,
        "api": api,
        "created_at": time.time() if created_at is None else created_at,
        "transport": transport,
        "source": source,
        "options": {"audio": audio, "redact_transcripts": redact_transcripts},
        "rtwidgets": __version__,
    }


def _find_string_value(raw: bytes, key: str, value: str, start: int = 0) -> tuple[int, int] | None:
    """Byte span of the JSON string ``value`` when it is the value of ``key`` in ``raw``.

    Looks for the value's JSON text, then checks that ``"key" :`` precedes it (whitespace
    allowed). Returns the span including the quotes.
    """
    enc = json.dumps(value).encode()
    alt = json.dumps(value, ensure_ascii=False).encode() if not value.isascii() else enc
    variants = (enc,) if alt == enc else (enc, alt)
    key_enc = json.dumps(key).encode()
    for needle in variants:
        pos = raw.find(needle, start)
        while pos >= 0:
            j = pos - 1
            while j >= 0 and raw[j] in b" \t\r\n":
                j -= 1
            if j >= 0 and raw[j] == 0x3A:  # ':'
                j -= 1
                while j >= 0 and raw[j] in b" \t\r\n":
                    j -= 1
                k0 = j + 1 - len(key_enc)
                if k0 >= 0 and raw[k0 : j + 1] == key_enc:
                    return pos, pos + len(needle)
            pos = raw.find(needle, pos + 1)
    return None


def _blank_audio(raw: bytes, event: dict[str, Any], etype: str, rules: CaptureRules,
                 ) -> tuple[bytes, dict[str, int]]:
    """Blank audio payloads in ``raw`` and ``event``; returns the new raw and ``dropped``."""
    dropped: dict[str, int] = {}
    spans: list[tuple[int, int, str, str]] = []  # (start, end, dropped key, field)
    holders = rules.audio_holders(event, etype)  # where the codec says this type carries audio
    cursor = 0
    for holder, key, path in holders:
        value = holder.get(key)
        if not isinstance(value, str) or not value:
            continue
        span = _find_string_value(raw, key, value, cursor)
        if span is None:
            span = _find_string_value(raw, key, value, 0)
        dropped[path] = len(value)
        holder[key] = ""
        if span is not None:
            spans.append((span[0], span[1], path, key))
            cursor = span[1]
    if not dropped:
        return raw, dropped
    if len(spans) != len(dropped):
        # The payload's JSON text could not be located (unusual escaping): the frame is
        # re-serialised from the parsed event, audio blanked. Rare; documented.
        return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode(), dropped
    spans.sort()
    out = bytearray()
    last = 0
    for s, e, _path, _key in spans:
        out += raw[last:s]
        out += b'""'
        last = e
    out += raw[last:]
    return bytes(out), dropped


class FrameEncoder:
    """Turns wire frames into capture lines; keeps the sequence counter and ordering state.

    ``encode(direction, raw, t, m)`` returns ``(line, event, type, flags)`` where ``event`` is
    the parsed dict (audio blanked, transcripts intact) and ``flags`` the flag bits. It never
    raises on a bad frame. ``api`` (``"realtime"``/``"live"``) picks the catalog: which types
    are known, which fields hold audio, which hold transcript text.
    """

    __slots__ = ("_blank_types", "_check", "_known", "_order", "_redactable", "_rules",
                 "audio_kept", "redact", "seq")

    def __init__(self, *, audio: str = "dropped", redact_transcripts: bool = False,
                 api: str = "realtime") -> None:
        if audio not in ("dropped", "kept"):
            raise ValueError(f"audio: {audio!r} is not an option. Fix: use 'dropped' or 'kept'")
        self.audio_kept = audio == "kept"
        self._rules = capture_rules(api)
        self._blank_types: frozenset[str] = (
            frozenset() if self.audio_kept else self._rules.audio_types)
        self.redact = bool(redact_transcripts)
        self.seq = 0
        self._order = self._rules.order_check()
        # Read once here, not per frame: the known types, the types redaction rewrites (none
        # when it is off), and the order check (none when the API's never flags: Live).
        self._known = self._rules.known_types
        self._redactable: frozenset[str] = (
            self._rules.redactable_types if self.redact else frozenset())
        self._check: Callable[[str, Mapping[str, Any]], bool] | None = (
            None if getattr(self._order, "never_flags", False) else self._order.check)

    def encode(
        self, direction: str, raw: bytes | str, t: float, m: float
    ) -> tuple[bytes, dict[str, Any], str, int]:
        # The hot path of every frame: keep it to one parse and one line format.
        seq = self.seq
        self.seq = seq + 1
        data: bytes
        if isinstance(raw, str):
            text = raw
            data = raw.encode("utf-8", "surrogatepass")
        else:
            data = raw
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                return self._bad(_head(direction, seq, t, m), data, str(exc), 0)
        try:
            # The scanner skips json.loads' encoding sniffing and whitespace regexes; anything
            # unusual (leading or trailing text) goes through json.loads for its exact message.
            event, end = _scan_once(text, 0)
            if end != len(text):
                raise ValueError("trailing data")
        except (StopIteration, ValueError, RecursionError):
            try:
                event = json.loads(text)
            except (ValueError, RecursionError) as exc:
                return self._bad(_head(direction, seq, t, m), data, str(exc), 0)
        if type(event) is not dict:
            return self._bad(_head(direction, seq, t, m), data,
                             f"frame is a JSON {type(event).__name__}, not an object", 0)
        etype = event.get("type")
        if type(etype) is not str:
            return self._bad(_head(direction, seq, t, m), data, 'frame has no string "type"',
                             0, event)
        flags = 0
        dropped = None
        if etype in self._blank_types:
            data, dropped = _blank_audio(data, event, etype, self._rules)
            if dropped:
                flags = F_AUDIO
        if etype in self._known:
            check = self._check
            if check is not None and direction == "in" and check(etype, event):
                flags |= F_OOO
        elif not etype.startswith("rtwidgets."):
            flags |= F_UNKNOWN
        if etype in self._redactable:
            red = json.loads(data)
            if self._rules.redact_transcripts(red, etype):
                data = json.dumps(red, ensure_ascii=False, separators=(",", ":")).encode()
        if "\n" in text or "\r" in text:
            data = _NEWLINES.sub(b" ", data)
        fmt = _LINES.get(direction)
        if fmt is not None and not dropped:
            line = fmt % (seq, t, m, data)
        else:
            head = _head(direction, seq, t, m)
            if dropped:
                head += (b'"dropped":' + json.dumps(dropped, separators=(",", ":")).encode()
                         + b",")
            line = b"".join((head, b'"frame":', data, b"}\n"))
        if len(line) > HUGE_FRAME_BYTES + 1:
            flags |= F_HUGE
        return line, event, etype, flags

    def _bad(
        self, head: bytes, raw: bytes, error: str, flags: int, event: Any = None
    ) -> tuple[bytes, dict[str, Any], str, int]:
        text = raw.decode("utf-8", "replace")
        if event is None:
            line = head + b'"bad":%s,"error":%s}\n' % (
                json.dumps(text).encode(), json.dumps(error).encode())
        else:
            # A JSON object without a string "type" is kept as a frame (it is valid JSON).
            body = _NEWLINES.sub(b" ", raw)
            line = head + b'"error":%s,"frame":%s}\n' % (json.dumps(error).encode(), body)
        if len(line) > HUGE_FRAME_BYTES + 1:
            flags |= F_HUGE
        return line, {"type": BAD_FRAME_TYPE, "raw": text, "error": error}, BAD_FRAME_TYPE, (
            flags | F_BAD)

    def encode_event(
        self, direction: str, event: Mapping[str, Any], t: float, m: float
    ) -> tuple[bytes, dict[str, Any], str, int]:
        """Encode a frame we produce ourselves (meta frames, or events we serialised)."""
        return self.encode(direction, json.dumps(event, separators=(",", ":")), t, m)


def frame_from_line(line: bytes | str, flags: int) -> Frame:
    """Parse one capture line into a ``Frame`` (the line must be a frame line)."""
    rec = json.loads(line)
    if "bad" in rec or (flags & F_BAD):
        raw = rec.get("bad")
        if raw is None:
            raw = json.dumps(rec.get("frame"))
        event: dict[str, Any] = {"type": BAD_FRAME_TYPE, "raw": raw, "error": rec.get("error", "")}
        etype = BAD_FRAME_TYPE
    else:
        event = rec["frame"]
        etype = event["type"]
    return Frame(rec["seq"], rec["dir"], rec["t"], rec["m"], etype, event, _FLAGSETS[flags & 31])


class FrameStore(Sequence[Frame]):
    """A memory-lean, append-only sequence of captured frames.

    State: the encoded lines back to back in one ``bytearray``, their start offsets in an
    ``array('q')`` and one flag byte each. A ``Frame`` is parsed from its line on access, so
    memory per frame is its line (about its JSON size plus ~60 bytes) plus 9 bytes.
    """

    __slots__ = ("_buf", "_flags", "_offs")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._offs = array("q")
        self._flags = bytearray()

    def append(self, line: bytes, flags: int = 0) -> None:
        self._offs.append(len(self._buf))
        self._buf += line
        self._flags.append(flags)

    def clear(self) -> None:
        self._buf = bytearray()
        self._offs = array("q")
        self._flags = bytearray()

    def __len__(self) -> int:
        return len(self._offs)

    def line(self, index: int) -> bytes:
        """The capture line of frame ``index`` (with its trailing newline)."""
        n = len(self._offs)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"frame index {index} out of range (0..{n - 1})")
        start = self._offs[index]
        end = self._offs[index + 1] if index + 1 < n else len(self._buf)
        return bytes(self._buf[start:end])

    def body(self, start: int = 0) -> bytes:
        """The lines of frames ``start`` to the end, back to back (one copy, for bulk readers)."""
        n = len(self._offs)
        if start >= n:
            return b""
        return bytes(self._buf[self._offs[max(start, 0)]:])

    def flags(self, index: int) -> frozenset[str]:
        return _FLAGSETS[self._flags[index]]

    def flag_bits(self, index: int) -> int:
        return self._flags[index]

    @overload
    def __getitem__(self, index: int) -> Frame: ...
    @overload
    def __getitem__(self, index: slice) -> list[Frame]: ...
    def __getitem__(self, index: int | slice) -> Frame | list[Frame]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self._offs)
        if index < 0:
            index += n
        return frame_from_line(self.line(index), self._flags[index])

    def __iter__(self) -> Iterator[Frame]:
        for i in range(len(self._offs)):
            yield self[i]

    def nbytes(self) -> int:
        """Bytes held (lines, offsets and flags), without allocator slack."""
        return len(self._buf) + self._offs.itemsize * len(self._offs) + len(self._flags)

    def __repr__(self) -> str:
        return f"<FrameStore {len(self)} frames, {len(self._buf)} bytes>"


#: A writer's buffer goes to the OS once it holds this much, whatever the time: a flood would
#: otherwise pile up megabytes between flushes, and one write of a few MB costs several times
#: the CPU of the same bytes in cache-sized writes (page-cache copy of a cold buffer).
_FLUSH_BYTES: Final = 64 * 1024


class CaptureWriter:
    """Appends capture lines to a JSONL file, flushed at least every ``flush_interval`` s.

    ``CaptureWriter(path, header)`` creates the file (refusing to overwrite one) and writes the
    header at once. ``write(line)`` buffers; the buffer reaches the OS on the first write after
    ``flush_interval`` (or once it holds 64 KiB) and from a periodic task started by
    ``start()`` (needs a running loop).
    ``close()`` flushes and closes; ``async with`` does start/close.
    """

    def __init__(
        self, path: str | os.PathLike[str], header: Mapping[str, Any], *,
        flush_interval: float = 0.1,
    ) -> None:
        if flush_interval <= 0 or flush_interval > 0.2:
            raise ValueError(
                f"flush_interval: {flush_interval!r} is out of range. "
                "Fix: use a number of seconds above 0 and at most 0.2"
            )
        self.path = Path(path)
        self.flush_interval = flush_interval
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._fd: int | None = os.open(
                self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except FileExistsError:
            raise FileExistsError(
                f"capture: {str(self.path)!r} already exists. Fix: pass a new path "
                "(captures are append-only and never overwritten)") from None
        self._buf = bytearray()
        self._last_flush = time.monotonic()
        # When a write flushes: the last flush plus the interval (one compare per line).
        self._flush_due = self._last_flush + flush_interval
        self._task: asyncio.Task[None] | None = None
        self.lines_written = 0
        os.write(self._fd, json.dumps(dict(header), separators=(",", ":")).encode() + b"\n")

    @property
    def closed(self) -> bool:
        return self._fd is None

    def write(self, line: bytes, now: float | None = None) -> None:
        """Buffer one line; flushes when the last flush is older than ``flush_interval``."""
        if self._fd is None:
            raise ValueError("capture: the writer is closed. Fix: attach again for a new capture")
        buf = self._buf
        buf += line
        self.lines_written += 1
        if now is None:
            now = time.monotonic()
        if now >= self._flush_due or len(buf) >= _FLUSH_BYTES:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        self._last_flush = time.monotonic() if now is None else now
        self._flush_due = self._last_flush + self.flush_interval
        if self._buf and self._fd is not None:
            data = self._buf
            self._buf = bytearray()
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]

    def start(self) -> None:
        """Start the periodic flush task on the running loop (idempotent)."""
        if self._task is None and self._fd is not None:
            self._task = asyncio.get_running_loop().create_task(
                self._flush_loop(), name=f"rtwidgets-capture-flush:{self.path.name}")

    async def _flush_loop(self) -> None:
        while self._fd is not None:
            await asyncio.sleep(self.flush_interval / 2)
            now = time.monotonic()
            if now - self._last_flush >= self.flush_interval / 2:
                self.flush(now)

    def close(self) -> None:
        """Flush and close (idempotent). Stops the flush task."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._fd is not None:
            try:
                self.flush()
            finally:
                os.close(self._fd)
                self._fd = None

    async def __aenter__(self) -> CaptureWriter:
        self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._fd is None else "open"
        return f"<CaptureWriter {self.path.name} {state}, {self.lines_written} lines>"

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            with contextlib.suppress(Exception):
                self.flush()
                os.close(self._fd)  # type: ignore[arg-type]
                self._fd = None


def _flags_for_record(rec: Mapping[str, Any], line_len: int, order: OrderChecker,
                      rules: CaptureRules) -> int:
    flags = F_HUGE if line_len > HUGE_FRAME_BYTES else 0
    if "bad" in rec or "frame" not in rec:
        return flags | F_BAD
    frame = rec["frame"]
    etype = frame.get("type") if isinstance(frame, dict) else None
    if not isinstance(etype, str):
        return flags | F_BAD
    if "dropped" in rec:
        flags |= F_AUDIO
    if etype not in rules.known_types:
        if not etype.startswith("rtwidgets."):
            flags |= F_UNKNOWN
    elif rec.get("dir") == "in" and order.check(etype, frame):
        flags |= F_OOO
    return flags


def _checked_header(first_line: bytes, p: Path) -> dict[str, Any]:
    try:
        header = json.loads(first_line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != CAPTURE_FORMAT:
        raise CaptureFormatError(
            f"path: {str(p)!r} is not an rtwidgets capture (line 1 is not a capture header). "
            "Fix: pass a file written by rtwidgets.attach")
    if header.get("version") != CAPTURE_VERSION:
        raise CaptureFormatError(
            f"version: capture version {header.get('version')!r} is not supported "
            f"(this rtwidgets reads version {CAPTURE_VERSION}). Fix: upgrade rtwidgets")
    return header


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A capture's header only (its first line), checked as ``read_capture`` checks it.

    What ``rtwidgets.load`` reads at once; the frames are read when first needed.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            first = fh.readline()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"path: no capture at {str(p)!r}. Fix: pass the path of a .jsonl capture") from None
    return _checked_header(first, p)


def read_capture(path: str | os.PathLike[str]) -> tuple[dict[str, Any], FrameStore]:
    """Load a capture: its header and a ``FrameStore`` of its frames.

    A truncated or unparsable last line (a killed process) is ignored. A damaged line in the
    middle is skipped and counted in ``header["skipped_lines"]``.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"path: no capture at {str(p)!r}. Fix: pass the path of a .jsonl capture") from None
    lines = data.split(b"\n")
    header = _checked_header(lines[0], p)
    store = FrameStore()
    # A capture's types are known by its API's catalog (no "api": a Realtime capture).
    rules = capture_rules(header.get("api"))
    order = rules.order_check()
    skipped = 0
    last = len(lines) - 1
    for i in range(1, len(lines)):
        line = lines[i]
        if not line:
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict) or "seq" not in rec:
                raise ValueError("not a frame line")
        except ValueError:
            if i < last:
                skipped += 1
            continue
        store.append(line + b"\n", _flags_for_record(rec, len(line), order, rules))
    header["skipped_lines"] = skipped
    return header, store
