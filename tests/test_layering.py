"""Views, analysis and the engine name no wire event: only ``protocol/`` (the codecs) and the
emulator know the wire (issue 11 item 3, docs/architecture.md "The codec seam").

The scan reads every module of ``rtwidgets/`` outside ``protocol/`` and ``emulator/``: the
Python string constants (with ``ast``, so prose in docstrings and comments is not counted)
and the ``.js`` files' string literals, and fails on any that is a client or server event
type of a codec's catalog. ``"error"`` is also an ordinary field name: it counts only where
it is compared with something or is the value of a ``"type"`` key, not as a mapping key.

``NOT_YET``: modules still to be routed through the codec, each with the reason it waits.
The test fails if one of them becomes clean (remove it from the list) — the list only
shrinks — and on any name anywhere else.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from rtwidgets.protocol.live.codec import LIVE
from rtwidgets.protocol.realtime import REALTIME

ROOT = Path(__file__).resolve().parents[1] / "rtwidgets"
WIRE_NAMES = (REALTIME.client_event_types | REALTIME.server_event_types
              | LIVE.client_event_types | LIVE.server_event_types)
_AMBIGUOUS = frozenset({"error"})  # a wire type that is also an everyday field name

NOT_YET: dict[str, str] = {}


def _is_key(node: ast.Constant, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    if isinstance(parent, ast.Subscript) and parent.slice is node:
        return True
    if isinstance(parent, ast.Dict) and any(k is node for k in parent.keys):
        return True
    return bool(isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute)
                and parent.func.attr in ("get", "pop", "setdefault") and parent.args
                and parent.args[0] is node)


def _type_value(node: ast.Constant, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    if isinstance(parent, ast.Compare):
        return True
    if isinstance(parent, ast.Tuple | ast.List | ast.Set):
        return isinstance(parents.get(parent), ast.Compare)
    if isinstance(parent, ast.Dict):
        for key, value in zip(parent.keys, parent.values, strict=True):
            if value is node and isinstance(key, ast.Constant) and key.value == "type":
                return True
    return False


def wire_names_in_python(source: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        name = node.value
        if name not in WIRE_NAMES:
            continue
        if name in _AMBIGUOUS and (_is_key(node, parents) or not _type_value(node, parents)):
            continue
        found.append((node.lineno, name))
    return found


_JS_STRING = re.compile(r"""(["'`])([A-Za-z_.]+)\1""")


def wire_names_in_js(source: str) -> list[tuple[int, str]]:
    found = []
    for lineno, line in enumerate(source.splitlines(), 1):
        for m in _JS_STRING.finditer(line):
            name = m.group(2)
            if name in WIRE_NAMES and name not in _AMBIGUOUS:
                found.append((lineno, name))
    return found


def _scanned() -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = {}
    for path in sorted(ROOT.rglob("*")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in ("protocol", "emulator") or path.suffix not in (".py", ".js"):
            continue
        text = path.read_text(encoding="utf-8")
        names = wire_names_in_python(text) if path.suffix == ".py" else wire_names_in_js(text)
        out[rel.as_posix()] = names
    return out


def test_no_wire_event_name_outside_the_codecs_and_the_emulator() -> None:
    scanned = _scanned()
    assert len(scanned) > 20
    offenders = {mod: names for mod, names in scanned.items()
                 if names and mod not in NOT_YET}
    assert offenders == {}, "route these through the codec (protocol/): " + repr(offenders)


def test_the_not_yet_list_only_shrinks() -> None:
    scanned = _scanned()
    clean = [mod for mod in NOT_YET if not scanned.get(mod)]
    assert clean == [], "these modules name no wire event any more: remove them from NOT_YET"


def test_the_scan_finds_what_it_looks_for() -> None:
    sample = (
        'X = "response.done"\n'
        'if ev.get("type") == "error": pass\n'
        'err = ev.get("error")\n'
        'row = {"kind": "error", "type": "error"}\n'
        '"""A docstring naming response.done is prose."""\n'
    )
    assert wire_names_in_python(sample) == [(1, "response.done"), (2, "error"), (4, "error")]
    assert wire_names_in_js('case "session.updated":\ncase "error":') == [
        (1, "session.updated")]
