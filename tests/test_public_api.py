"""The public surface is pinned: it cannot grow or shrink by accident (the httpx lesson)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import rtwidgets

EXPECTED = [
    "AlreadyAcceptedError",
    "Analysis",
    "Call",
    "CallConsole",
    "CallControlError",
    "CallEndedError",
    "CallError",
    "CallNotFoundError",
    "CallNotLiveError",
    "CallStats",
    "CallStatus",
    "CreatedCall",
    "Emulator",
    "EventLog",
    "IncomingCall",
    "IncomingCalls",
    "Many",
    "MemoryTransport",
    "Recording",
    "Replay",
    "SessionEditor",
    "SessionState",
    "SessionUpdateError",
    "SessionUpdateResult",
    "StatusBar",
    "Summary",
    "ToolCallError",
    "ToolCalls",
    "Transcript",
    "Turns",
    "ValidationError",
    "WebhookInbox",
    "__version__",
    "accept",
    "analyze",
    "attach",
    "create_call",
    "download_recording",
    "event_sequence",
    "fork",
    "hangup",
    "load",
    "load_many",
    "refer",
    "reject",
    "to_parquet",
]


def test_all_is_pinned() -> None:
    assert rtwidgets.__all__ == EXPECTED


def test_every_public_name_resolves_to_its_defining_object() -> None:
    for name in rtwidgets.__all__:
        value = getattr(rtwidgets, name)
        assert value is not None, name
        if name != "__version__":
            assert getattr(value, "__name__", name) == name, name


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = rtwidgets.no_such_name  # type: ignore[attr-defined]


def test_import_is_cheap() -> None:
    """``import rtwidgets`` and the emulator must not load pandas, pyarrow or the widgets."""
    code = (
        "import sys, rtwidgets, rtwidgets.emulator, rtwidgets._capture;"
        "heavy = [m for m in ('pandas', 'pyarrow', 'ipywidgets', 'anywidget', 'matplotlib')"
        " if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
