"""A call's events as a compact sequence of types: the protocol, read event by event.

Why: teaching the protocol (notebooks/07_teaching.ipynb) and checking an order by eye both
want the same view: one line per event type, in wire order, with the runs of streamed
deltas folded into one line ("response.output_audio_transcript.delta   ×9") and the client's
own events marked. Since the emulator is deterministic (same seed, same call), the printout
of a seeded call is exact and can be compared as it is; no part of it needs hiding.

What a source can be (duck-typed, as everywhere in ``rtwidgets.analysis``): a ``Call`` or a
``Recording`` (anything with ``frames()`` of ``Frame``-likes: ``direction``, ``type``), or
the event dicts of a virtual call (``rtwidgets.emulator.run_scenario``, ``VirtualCall.events``),
which are all server events.

It only reads: it never sends, writes or parses a capture file (the frames the source has
already parsed are used), and it never raises on a frame it does not know.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["EventSequence", "event_sequence"]

#: Marks a client event (a frame the app sent) in the printout.
CLIENT_MARK = "  (client)"


@dataclass(frozen=True)
class EventSequence:
    """The folded sequence: ``lines`` as printed; ``str()`` / the notebook repr print them.

    ``entries`` holds ``(type, count, direction)`` per line (``direction`` ``"in"`` for a
    server event, ``"out"`` for a client event).
    """

    entries: tuple[tuple[str, int, str], ...]

    @property
    def lines(self) -> list[str]:
        return [f"{t}{CLIENT_MARK if d == 'out' else ''}" + (f"   ×{n}" if n > 1 else "")
                for t, n, d in self.entries]

    @property
    def types(self) -> list[str]:
        """Every event type, unfolded (a run of N deltas is N entries)."""
        return [t for t, n, _ in self.entries for _ in range(n)]

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines)


def _typed(source: Any) -> list[tuple[str, str]]:
    """(type, direction) of every server and client event of ``source``, in order."""
    if hasattr(source, "frames"):
        return [(str(f.type), str(f.direction)) for f in source.frames()
                if f.direction in ("in", "out")]
    if isinstance(source, Mapping) or not isinstance(source, Iterable):
        raise TypeError(f"source: expected a Call, a Recording or a list of event dicts, got "
                        f"{type(source).__name__}. Fix: pass rtwidgets.load(path), the Call, "
                        "or run_scenario(...)'s events")
    out: list[tuple[str, str]] = []
    for event in source:
        if isinstance(event, Mapping):
            out.append((str(event.get("type", "(no type)")), "in"))
    return out


def event_sequence(source: Any, start: str | None = None, stop: str | None = None, *,
                   fold: bool = True) -> EventSequence:
    """The events of ``source`` from the first ``start`` to the next ``stop``, one type a line.

    ``start``/``stop`` are event types (both included; None: from the first, to the last
    event). With ``fold`` (the default) a run of the same ``*.delta`` type is one line
    ending ``×N``. Client events (frames the app sent) end with ``(client)``. A ``start``
    that never occurs is a ``ValueError`` naming it; a ``stop`` that never follows runs to
    the end.
    """
    typed = _typed(source)
    first = 0
    if start is not None:
        first = next((i for i, (t, _) in enumerate(typed) if t == start), -1)
        if first < 0:
            raise ValueError(f"start: no {start!r} event in the source. Fix: pass a type it "
                             "has, or None to start at the first event")
    last = len(typed) - 1
    if stop is not None:
        last = next((i for i in range(first + 1, len(typed)) if typed[i][0] == stop), last)
    entries: list[list[Any]] = []
    for type_, direction in typed[first:last + 1]:
        if (fold and entries and entries[-1][0] == type_ and entries[-1][2] == direction
                and type_.endswith(".delta")):
            entries[-1][1] += 1
        else:
            entries.append([type_, 1, direction])
    return EventSequence(tuple((t, n, d) for t, n, d in entries))
