"""protocol/_text.py: text every view and table can show, whatever a frame carried.

A JSON string may hold a lone surrogate escape (``"\\ud800"``) and a JSON value may be
nested far deeper than a recursive walk survives; both parse, and both once made a layer
above raise (issue 11 item 8).
"""

from __future__ import annotations

import json

from rtwidgets.protocol._text import (
    MAX_SHOWN_DEPTH,
    clip_depth,
    displayable,
    displayable_tree,
)


def test_displayable_replaces_lone_surrogates_and_keeps_everything_else() -> None:
    lone = json.loads('"a\\ud800b\\udfff"')
    assert displayable(lone) == "a\ufffdb\ufffd"
    displayable(lone).encode("utf-8")  # now encodable
    for text in ("plain", "é🙂", json.loads('"\\ud83d\\ude00"'), ""):
        assert displayable(text) is text


def test_displayable_tree_copies_only_what_changes() -> None:
    value = json.loads('{"a": ["x", "\\ud800"], "b": {"c": 1}, "\\udc00": NaN}')
    out = displayable_tree(value)
    assert out["a"] == ["x", "\ufffd"]
    assert out["b"] is value["b"]
    assert "\ufffd" in out
    assert out["\ufffd"] != out["\ufffd"]  # NaN kept without finite=
    assert displayable_tree(value, finite=True)["\ufffd"] is None
    clean = {"a": [1, 2.5, "x"]}
    assert displayable_tree(clean) is clean


def test_displayable_tree_walks_a_value_as_deep_as_the_parser_takes() -> None:
    deep = json.loads("[" * 900 + '"\\ud800"' + "]" * 900)
    out = displayable_tree(deep)  # clipped first instead of raising RecursionError
    json.dumps(out)


def test_clip_depth_notes_what_it_cut_and_leaves_shallow_values_alone() -> None:
    deep = json.loads('{"a":' * 800 + "{}" + "}" * 800)
    out = clip_depth(deep)
    node = out
    for _ in range(MAX_SHOWN_DEPTH):
        node = node["a"]
    assert isinstance(node, str)
    assert "deeper than" in node
    json.dumps(out, indent=2)  # an indented dump no longer hits the recursion limit
    shallow = {"a": [{"b": 1}]}
    assert clip_depth(shallow) is shallow
