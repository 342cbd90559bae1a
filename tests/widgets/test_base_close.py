"""SourceView.close(): a closed view gives back every widget it made, and only those.

A notebook re-runs the cell that makes a console many times; each closed view must leave no
widget registered with ipywidgets (``_instances``) and no open comm — layouts and styles
included — while widgets the caller passed in stay open, with what they hold. Also: the error
line a view shows in place never repeats a pasted key.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import ipywidgets as w
import ipywidgets.widgets.widget as ipw_widget
import pytest

from rtwidgets.widgets._base import SourceView, close_owned
from rtwidgets.widgets._console import CallConsole
from rtwidgets.widgets._event_log import EventLog
from rtwidgets.widgets._status import StatusBar
from rtwidgets.widgets._transcript import Transcript

from .conftest import ScriptedSource, assistant_turn, user_item


def registered() -> dict[str, Any]:
    return dict(ipw_widget._instances)


def left_over(before: dict[str, Any]) -> Counter[str]:
    return Counter(type(wd).__name__ for k, wd in registered().items() if k not in before)


class Panel(SourceView, w.VBox):  # type: ignore[misc]
    """A small view built like the forms: a tree, a control outside it, rows in a dict."""

    def __init__(self, source: Any = None, *, extra: Any = None, **kwargs: Any) -> None:
        self.hidden_button = w.Button(description="not in the tree")
        self.rows = {"a": w.Text(), "b": w.HBox([w.Checkbox(), w.Label("x")])}
        self.extra = extra
        own = w.HBox([w.Button(), w.VBox([w.IntSlider(), w.HTML("deep")])])
        children = [own, *self.rows.values()]
        if extra is not None:
            children.append(extra)
        super().__init__(source, children=children, **kwargs)


def test_a_closed_console_leaves_nothing_registered() -> None:
    before = registered()
    for _ in range(3):
        console = CallConsole()
        assert len(registered()) > len(before) + 100  # it really builds a lot
        console.close()
    assert left_over(before) == Counter()


@pytest.mark.parametrize("view_type", [CallConsole, EventLog, Transcript, StatusBar])
def test_a_bound_view_closed_leaves_no_widget_and_no_open_comm(
        view_type: Any, source: ScriptedSource) -> None:
    source.feed(user_item("item_1", "hello"))
    for ev in assistant_turn("resp_1", "item_2", ["Hi", " there"]):
        source.feed(ev)
    before = registered()
    view = view_type(source)
    made = [wd for k, wd in registered().items() if k not in before]
    assert made
    view.close()
    assert left_over(before) == Counter()
    assert [type(wd).__name__ for wd in made if wd.comm is not None] == []
    assert source.subscribers == 0


def test_widgets_the_caller_passed_in_stay_open() -> None:
    mine_inside = w.Button(description="mine")
    mine = w.HBox([mine_inside])
    my_layout = w.Layout(width="50%")
    before = registered()
    panel = Panel(extra=mine, layout=my_layout)
    panel.close()
    assert left_over(before) == Counter()
    for widget in (mine, mine_inside, my_layout, mine.layout, mine_inside.style):
        assert widget.comm is not None, type(widget).__name__
        assert widget.model_id in ipw_widget._instances
    assert panel.comm is None
    assert panel.hidden_button.comm is None  # held in an attribute, not in the tree
    assert all(row.comm is None for row in panel.rows.values())


def test_nested_views_close_what_the_parent_gave_them() -> None:
    # The console makes the event log's layout and hands it over; the event log must leave
    # it (not its own), and the console must close it (its own).
    console = CallConsole()
    handed = console.event_log.layout
    assert handed in console.event_log._rtw_foreign
    console.event_log.close()
    assert handed.comm is not None
    console.close()
    assert handed.comm is None


def test_closing_twice_and_a_closed_child_are_harmless() -> None:
    before = registered()
    panel = Panel()
    panel.rows["a"].close()  # the view closed one itself
    panel.close()
    panel.close()
    assert left_over(before) == Counter()
    assert panel.closed


def test_close_owned_counts_and_keeps_foreign_subtrees() -> None:
    keep_child = w.Button()
    keep = w.VBox([keep_child])
    gone = w.Button()
    root = w.VBox([keep, gone])
    # gone, its layout and its style, and the root's layout; nothing of keep's
    assert close_owned(root, [keep]) == 4
    assert gone.comm is None
    assert gone.style.comm is None
    assert root.layout.comm is None
    for widget in (keep, keep.layout, keep_child, keep_child.style):
        assert widget.comm is not None
    assert root.comm is not None  # the root is its owner's to close
    root.close()
    keep.close()
    keep_child.close()


def test_describe_error_masks_a_pasted_key() -> None:
    from rtwidgets.widgets._base import describe_error

    key = "sk-proj-SECRETKEY-must-not-leak-123"
    text = describe_error(RuntimeError(f"no call {key!r} here\nsecond line {key}"))
    assert text == "RuntimeError: no call 'sk-proj-…(hidden)' here"
