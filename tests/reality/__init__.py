"""The reality corpus: frames and ids transcribed from public records of real service traffic.

Why: every other test meets only our own emulator, which once minted ids in a shape the real
service never uses and ordered events its own way; nothing caught it. These files are what the
real service actually sent, each naming where it was published, so the product and the
emulator are checked against the service instead of against themselves (README.md here).

This module only loads the data; it never fetches anything and never writes.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, TypedDict

__all__ = [
    "CORPUS",
    "CallId",
    "FrameFile",
    "all_frame_files",
    "call_ids",
    "load_frames",
    "load_ids",
    "load_webhooks",
]

CORPUS = Path(__file__).parent


class CallId(TypedDict):
    id: str
    kind: str
    source: dict[str, Any]


class FrameFile(TypedDict, total=False):
    source: dict[str, Any]
    api: str
    ordered: bool
    transport: str
    notes: str
    frames: list[dict[str, Any]]
    close: dict[str, Any]
    partial: bool
    log: list[str]
    answers: list[dict[str, Any]]


@cache
def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def all_frame_files() -> list[str]:
    """The names (file stems) of every ``frames/*.json``, sorted."""
    return sorted(p.stem for p in (CORPUS / "frames").glob("*.json"))


def load_frames(name: str) -> FrameFile:
    """One ``frames/<name>.json`` file: its source, api, notes, frames and optional close."""
    path = CORPUS / "frames" / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"name: no corpus file {name!r}. Fix: use one of {all_frame_files()}")
    data: FrameFile = _read(path)
    return data


def load_ids() -> dict[str, Any]:
    """``ids.json`` as a dict (``source``, ``call_ids``, ``other_ids``)."""
    data: dict[str, Any] = _read(CORPUS / "ids.json")
    return data


def call_ids(kind: str | None = None) -> list[str]:
    """Real call ids seen in public records, optionally only ``"sip"`` or ``"webrtc"`` ones."""
    entries: list[CallId] = load_ids()["call_ids"]
    return [e["id"] for e in entries if kind is None or e["kind"] == kind]


def load_webhooks() -> dict[str, Any]:
    """``webhooks/realtime_call_incoming.json`` (source, notes, deliveries with headers)."""
    data: dict[str, Any] = _read(CORPUS / "webhooks" / "realtime_call_incoming.json")
    return data
