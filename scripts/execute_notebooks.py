#!/usr/bin/env python
"""Execute the notebooks top to bottom in a fresh kernel and save them with their outputs.

    .venv/bin/python scripts/execute_notebooks.py                 # all of notebooks/
    .venv/bin/python scripts/execute_notebooks.py notebooks/02_tools.ipynb

Why: the committed notebooks are both the documentation and nbval's reference outputs, so
they must come from a clean run-all (tests/notebooks/test_fresh.py checks this). This is the
one way to produce them: nbclient, a fresh kernel from this interpreter, the notebook's own
folder as the working directory, every Jupyter/IPython/matplotlib dir in a temp folder, no
per-cell timing metadata (it would change on every run).

Never: run with a real key. OPENAI_API_KEY, OPENAI_WEBHOOK_SECRET and OPENAI_BASE_URL are
removed from the kernel's environment unless ``--keep-openai-env`` is given, so the real-API
notebook records its "skipped" outputs and nothing reaches api.openai.com.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
OPENAI_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_WEBHOOK_SECRET",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
)
STATE_DIRS = (
    "JUPYTER_CONFIG_DIR",
    "JUPYTER_DATA_DIR",
    "JUPYTER_RUNTIME_DIR",
    "IPYTHONDIR",
    "MPLCONFIGDIR",
)


@contextmanager
def temp_jupyter_env(overrides: Mapping[str, str | None] | None = None) -> Iterator[Path]:
    """Point every Jupyter/IPython/matplotlib dir at a temp folder for the duration, and
    apply ``overrides`` (``None`` removes a variable). Restores os.environ afterwards."""
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="rtw-nbexec-") as tmp:
        base = Path(tmp)
        for name in STATE_DIRS:
            (base / name.lower()).mkdir()
            os.environ[name] = str(base / name.lower())
        os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), saved.get("PYTHONPATH", "")) if p
        )
        for key, value in (overrides or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        try:
            yield base
        finally:
            os.environ.clear()
            os.environ.update(saved)


def execute(
    path: Path,
    *,
    timeout: int = 300,
    store_widget_state: bool = False,
    cwd: Path | None = None,
) -> Any:
    """Run ``path`` top to bottom in a fresh kernel of this interpreter; return the result.

    The caller sets up the environment (see ``temp_jupyter_env``). A cell that raises stops
    the run with nbclient's ``CellExecutionError`` unless the cell is tagged
    ``raises-exception``.
    """
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd or path.parent)}},
        store_widget_state=store_widget_state,
        record_timing=False,
    )
    client.execute()
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: notebooks/)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    parser.add_argument(
        "--store-widget-state",
        action="store_true",
        help="save widget state in the notebook metadata (off: outputs only)",
    )
    parser.add_argument(
        "--keep-openai-env",
        action="store_true",
        help="pass OPENAI_* variables to the kernel (the real-API notebook will use them)",
    )
    args = parser.parse_args(argv)
    paths = args.paths or sorted((REPO / "notebooks").glob("*.ipynb"))
    if not paths:
        print("no notebooks found", file=sys.stderr)
        return 1
    overrides: dict[str, str | None] = {}
    if not args.keep_openai_env:
        overrides = dict.fromkeys(OPENAI_ENV)
    failed = 0
    with temp_jupyter_env(overrides):
        for path in paths:
            start = time.monotonic()
            try:
                nb = execute(path, timeout=args.timeout, store_widget_state=args.store_widget_state)
            except Exception as exc:  # report every notebook, then fail
                failed += 1
                print(f"FAILED {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            nbformat.write(nb, path)  # type: ignore[no-untyped-call]
            print(f"ok     {path}  ({time.monotonic() - start:.1f}s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
