"""The view contract's failure rule (widgets/_base.py): a view that cannot show a frame, or
whose timed redraw raises, shows the error in place and keeps taking frames; the source's
receive loop never sees the exception (issue 11 item 8)."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from rtwidgets.widgets._base import SourceView, StreamView, wire_safe
from rtwidgets.widgets._status import StatusBar

from .conftest import ScriptedSource, custom_messages, user_item


class Fragile(SourceView, w.VBox):  # type: ignore[misc]
    """Raises on every frame whose item id says so."""

    def __init__(self, source: Any = None) -> None:
        self.shown: list[str] = []
        self.errors: list[str] = []
        super().__init__(source=source)

    def _on_frame(self, frame: Any) -> None:
        item_id = frame.event["item"]["id"]
        if item_id.startswith("boom"):
            raise RuntimeError(f"cannot show {item_id}")
        self.shown.append(item_id)

    def _show_error(self, label: str, exc: BaseException) -> None:
        self.errors.append(f"{label}: {exc}")


def test_a_frame_a_view_cannot_show_is_an_error_in_place(source: ScriptedSource) -> None:
    view = Fragile(source)
    source.feed(user_item("item_A", "a"))
    source.feed(user_item("boom_1", "b"))  # would raise into the source's dispatch
    source.feed(user_item("item_C", "c"))
    assert view.shown == ["item_A", "item_C"]  # it kept taking frames
    assert view.frame_errors == 1
    assert view.errors == ["showing a frame: cannot show boom_1"]
    assert view.last_error == "showing a frame failed: RuntimeError: cannot show boom_1"
    view.close()


class FragileStream(StreamView):
    _esm = "export default { render() {} }"

    def _snapshot(self) -> dict[str, Any]:
        return {"kind": "snapshot"}

    def _drain(self) -> dict[str, Any] | None:
        raise ValueError("cannot build the batch")

    def _on_frame(self, frame: Any) -> None:
        self._mark_dirty()


def test_a_stream_view_whose_batch_raises_sends_the_error(source: ScriptedSource) -> None:
    view = FragileStream(source)
    source.feed(user_item("item_A", "a"))
    view._batcher.flush_now()
    assert view.last_error == "update failed: ValueError: cannot build the batch"
    assert custom_messages(view, "error")[-1]["message"] == view.last_error
    view.close()


def test_a_status_redraw_that_raises_is_shown_not_logged_as_a_loop_failure(
        source: ScriptedSource) -> None:
    bar = StatusBar(source, cost=False)

    def broken() -> dict[str, Any]:
        raise KeyError("status")

    bar.summary = broken  # type: ignore[method-assign]
    source.feed(user_item("item_A", "a"))
    bar._batcher.flush_now()
    assert bar.last_error is not None
    assert bar.last_error.startswith("redraw failed: KeyError")
    del bar.summary
    bar.close()


def test_wire_safe_makes_any_parsed_value_sendable() -> None:
    import json

    from jupyter_client.session import json_packer

    value = json.loads('{"rows": [{"sum": "a\\ud800", "n": NaN, "ms": Infinity}], "k": 1}')
    safe = wire_safe(value)
    assert safe == {"rows": [{"sum": "a\ufffd", "n": None, "ms": None}], "k": 1}
    json_packer(safe)
    clean = {"rows": [{"sum": "ok", "n": 1.5}]}
    assert wire_safe(clean) is clean  # no copy when nothing changes
