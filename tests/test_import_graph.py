"""No import circles inside rtwidgets.

Why: a circle makes the import order decide whether a name exists yet (a module half
initialised when its partner asks for it), and it welds two rooms together so neither can be
moved or tested alone. Issue 11 item 7 removed the last ones (``analysis._tables`` ↔
``analysis._many``; ``_capture`` → the package root → ``_display`` → widgets → ``_call`` →
``_capture``); this test keeps them from coming back. The layer contracts in pyproject.toml
(``lint-imports``, a step of scripts/test.sh) say which way imports may go between layers;
this finds any circle, also inside one layer and through a package's ``__init__``.

What counts: every import that runs, at module level or inside a function (grimp reads the
source; nothing is imported). Imports under ``if TYPE_CHECKING:`` are left out here: they
never run, so they cannot make a circle at import time (the layer contracts still count them).
"""

from __future__ import annotations

try:
    import grimp
except ModuleNotFoundError as exc:  # a setup problem: say which extra brings it
    raise ModuleNotFoundError(
        "tests/test_import_graph.py needs grimp, from the test extra: "
        "pip install -e '.[test,dev]' (bash scripts/test.sh does this when pyproject changes)"
    ) from exc

PACKAGE = "rtwidgets"


def import_circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module, each sorted (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    # Iterative depth-first search: (module, its imports still to visit).
    work: list[tuple[str, list[str]]] = []

    def enter(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        work.append((module, sorted(graph.find_modules_directly_imported_by(module))))

    for root in sorted(graph.modules):
        if root in index:
            continue
        enter(root)
        while work:
            module, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    enter(nxt)
                elif nxt in on_stack:
                    low[module] = min(low[module], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return sorted(circles)


def describe(graph: grimp.ImportGraph, circle: list[str]) -> str:
    """The imports that join the circle's modules, with their lines, for the failure."""
    members = set(circle)
    lines = []
    for importer in circle:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
            details = graph.get_import_details(importer=importer, imported=imported)
            at = ", ".join(f"l.{d['line_number']}" for d in details)
            lines.append(f"    {importer} -> {imported} ({at})")
    return "\n".join(lines)


def test_rtwidgets_has_no_import_circles() -> None:
    graph = grimp.build_graph(PACKAGE, exclude_type_checking_imports=True, cache_dir=None)
    assert len(graph.modules) > 40, "grimp did not find the package's modules"
    circles = import_circles(graph)
    report = "\n".join(
        f"  circle of {len(c)} modules:\n{describe(graph, c)}" for c in circles
    )
    assert not circles, (
        "import circles in rtwidgets (fix: move the shared piece down into a module both "
        "can import, or pass the value in; see docs/architecture.md 'The layers'):\n" + report
    )


def test_the_finder_sees_a_circle_through_a_package_root_and_a_lazy_import() -> None:
    """The finder itself: the two shapes of circle that issue 11 removed are found."""
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.sub", "pkg.sub.x", "pkg.sub.y", "pkg.ok"):
        graph.add_module(module)
    # A package root that imports a child, which imports the root back (for __version__).
    graph.add_import(importer="pkg", imported="pkg.a")
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg")
    # Two siblings, one of them importing the other inside a function.
    graph.add_import(importer="pkg.sub.x", imported="pkg.sub.y")
    graph.add_import(importer="pkg.sub.y", imported="pkg.sub.x")
    # Not a circle: a diamond.
    graph.add_import(importer="pkg.ok", imported="pkg.sub.x")
    graph.add_import(importer="pkg.ok", imported="pkg.a")
    assert import_circles(graph) == [["pkg", "pkg.a", "pkg.b"], ["pkg.sub.x", "pkg.sub.y"]]
    assert "pkg.b -> pkg" in describe(graph, ["pkg", "pkg.a", "pkg.b"])
