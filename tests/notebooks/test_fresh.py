"""The committed notebooks are executed, in order, from a fresh kernel.

Why: the notebooks in notebooks/ are the documentation *and* a test (nbval replays them and
compares outputs). nbval can only catch "out of date with the code" if the committed file
holds the outputs of a clean top-to-bottom run; a notebook saved unexecuted, half-run or run
out of order would make that comparison meaningless. This module checks the saved files
themselves, without running a kernel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
EXPECTED = [
    "01_quickstart.ipynb",
    "02_tools.ipynb",
    "03_session.ipynb",
    "04_sip.ipynb",
    "05_webrtc.ipynb",
    "06_analysis.ipynb",
    "07_teaching.ipynb",
    "08_real_api.ipynb",
    "09_live.ipynb",
]
# Saved widget state may hold at most a small summary (the widgets' contract): the views
# stream their data as messages and sync no transcript, arguments or instructions.
MAX_WIDGET_STATE_BYTES = 64_000


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    return data


def _code_cells(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _source(cell: dict[str, Any]) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else str(src)


def problems_of(nb: dict[str, Any]) -> list[str]:
    """Everything that says ``nb`` was not saved straight after a clean run-all."""
    problems: list[str] = []
    counts: list[int] = []
    for index, cell in enumerate(_code_cells(nb)):
        where = f"code cell {index + 1} ({_source(cell).strip().splitlines()[:1]})"
        if not _source(cell).strip():
            continue
        count = cell.get("execution_count")
        if count is None:
            problems.append(f"{where} was never executed")
            continue
        counts.append(count)
        tags = cell.get("metadata", {}).get("tags", [])
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and "raises-exception" not in tags:
                problems.append(f"{where} saved with an error: {out.get('ename')}")
        for out in cell.get("outputs", []):
            if out.get("output_type") == "execute_result" and out.get("execution_count") != count:
                problems.append(f"{where}: its result comes from another run")
    if counts and counts != list(range(1, len(counts) + 1)):
        problems.append(
            f"cells were run out of order or not from a fresh kernel: counts {counts}; "
            "re-run with scripts/execute_notebooks.py"
        )
    state = nb.get("metadata", {}).get("widgets", {})
    size = len(json.dumps(state))
    if size > MAX_WIDGET_STATE_BYTES:
        problems.append(f"saved widget state is {size} bytes (limit {MAX_WIDGET_STATE_BYTES})")
    return problems


def test_every_documented_notebook_is_committed() -> None:
    present = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert present == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_saved_after_a_clean_run(name: str) -> None:
    if not (NOTEBOOKS / name).exists():
        pytest.fail(f"notebooks/{name} is missing")
    nb = _load(name)
    assert _code_cells(nb), f"{name} has no code cells"
    assert problems_of(nb) == []


# The checker itself must catch what it claims to catch.


def _nb(*cells: dict[str, Any]) -> dict[str, Any]:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _cell(count: int | None, outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "source": "x = 1",
        "execution_count": count,
        "metadata": {},
        "outputs": outputs or [],
    }


def test_checker_accepts_a_clean_run() -> None:
    assert problems_of(_nb(_cell(1), {"cell_type": "markdown", "source": "hi"}, _cell(2))) == []


def test_checker_catches_an_unexecuted_cell() -> None:
    assert any("never executed" in p for p in problems_of(_nb(_cell(1), _cell(None))))


def test_checker_catches_out_of_order_and_stale_kernels() -> None:
    assert any("out of order" in p for p in problems_of(_nb(_cell(2), _cell(1))))
    assert any("out of order" in p for p in problems_of(_nb(_cell(5), _cell(6))))


def test_checker_catches_saved_errors_and_foreign_results() -> None:
    err = {"output_type": "error", "ename": "ValueError", "evalue": "x", "traceback": []}
    assert any("saved with an error" in p for p in problems_of(_nb(_cell(1, [err]))))
    res = {"output_type": "execute_result", "execution_count": 7, "data": {}, "metadata": {}}
    assert any("another run" in p for p in problems_of(_nb(_cell(1, [res]))))


def test_checker_catches_bulky_widget_state() -> None:
    nb = _nb(_cell(1))
    nb["metadata"]["widgets"] = {"state": "x" * (MAX_WIDGET_STATE_BYTES + 1)}
    assert any("widget state" in p for p in problems_of(nb))
