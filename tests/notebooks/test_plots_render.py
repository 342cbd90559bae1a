"""The analysis plots show as pictures in a fresh kernel without any ``%matplotlib`` magic.

Why: a bare matplotlib ``Figure`` built without pyplot shows in a notebook as the text
``<Figure size 1000x320 with 1 Axes>`` unless the user first runs ``%matplotlib inline``
(issue 14, point 4; notebook 06's plot cell held no image). Only a real kernel shows what a
notebook gets, so this executes a small notebook with nbclient (temp Jupyter/IPython state,
as scripts/execute_notebooks.py does for the documentation notebooks) and looks for an
``image/png`` output in each plot cell — and for exactly one, so no duplicate figure
appears once pyplot is imported too.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

from rtwidgets.analysis._synth import SyntheticCall, usage_block

REPO = Path(__file__).resolve().parents[2]


def _executor() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "rtw_execute_notebooks", REPO / "scripts" / "execute_notebooks.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _capture(folder: Path) -> Path:
    usage = usage_block(text_in=100, audio_in=50, text_out=10, audio_out=200)
    c = SyntheticCall()
    c.session(0.05)
    c.audio_turn(speech_start=1.0, speech_stop=2.0, created=2.3, first_text=2.5, audio=2.6,
                 done=4.0, transcript="What time is it?", reply="It is noon.", usage=usage,
                 audio_stop=6.0)
    c.text_turn(sent=10.0, added=10.05, created=10.1, first_text=10.4, done=11.0,
                text="typed question", reply="Typed reply", usage=usage)
    return c.write(folder / "call.jsonl")


@pytest.mark.timeout(240)
def test_timeline_and_latency_plots_output_an_image_without_magic(tmp_path: Path) -> None:
    capture = _capture(tmp_path)
    cells = [
        f"import rtwidgets\na = rtwidgets.analyze({str(capture)!r})",
        "a.timeline_plot()",
        "a.latency_plot()",
        # once a user imports pyplot (inline backend active), still one picture each
        "import matplotlib.pyplot as plt\na.timeline_plot()",
    ]
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]  # type: ignore[no-untyped-call]
    path = tmp_path / "plots.ipynb"
    nbformat.write(nb, path)  # type: ignore[no-untyped-call]
    executor = _executor()
    with executor.temp_jupyter_env({"MPLBACKEND": None}):
        done = executor.execute(path, timeout=120, cwd=tmp_path)
    for cell in done.cells[1:]:
        outputs = cell["outputs"]
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        errors = [o for o in outputs if o.get("output_type") == "error"]
        assert errors == [], cell["source"]
        assert len(images) == 1, (cell["source"], outputs)
