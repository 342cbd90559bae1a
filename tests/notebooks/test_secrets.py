"""No secret reaches any file a notebook run writes (issue 7, "Secrets").

Why: notebooks get shared, committed and mailed around with their outputs and saved widget
state; captures and Parquet files get uploaded for analysis. With a fake API key and a fake
webhook secret in the environment, this runs every notebook in notebooks/ and the browser
test's console notebook (nbclient, widget state saved), in a temp folder that also holds
their captures, Parquet files and temp files, then searches every byte written for either
string. The key really is used: the console notebook authenticates its SDK client with it,
and the SIP notebook verifies its webhooks with the secret.

Never: let the fake key reach the network — OPENAI_BASE_URL points at a closed local port,
and the real-API notebook's cells skip without a call or Live session id.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import secrets
import shutil
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
BROWSER_NOTEBOOK = REPO / "tests" / "browser" / "notebooks" / "console.ipynb"


def _executor() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "rtw_execute_notebooks", REPO / "scripts" / "execute_notebooks.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _leaks(root: Path, needles: dict[str, bytes]) -> list[str]:
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{name} in {path.relative_to(root)}" for name, n in needles.items() if n in data]
    return found


def test_leak_search_finds_a_planted_secret(tmp_path: Path) -> None:
    """The search itself works: a secret in a nested binary file is found."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.parquet").write_bytes(b"\x00PAR1 sk-test-planted \x01")
    assert _leaks(tmp_path, {"key": b"sk-test-planted"}) == ["key in a/b/x.parquet"]
    assert _leaks(tmp_path, {"key": b"sk-test-absent"}) == []


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_no_secret_in_anything_a_notebook_run_writes(tmp_path: Path) -> None:
    assert NOTEBOOKS, "no notebooks in notebooks/"
    key = "sk-test-" + secrets.token_hex(20)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    work = tmp_path / "work"
    (work / "tmp").mkdir(parents=True)
    for nb in [*NOTEBOOKS, BROWSER_NOTEBOOK]:
        shutil.copy(nb, work / nb.name)

    executor = _executor()
    overrides: dict[str, str | None] = {
        "OPENAI_API_KEY": key,
        "OPENAI_WEBHOOK_SECRET": secret,
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # discard port: nothing leaves the host
        "TMPDIR": str(work / "tmp"),  # mkdtemp() in the notebooks writes under `work`
        "RTW_CALL_ID": None,
        "RTW_LIVE_SESSION_ID": None,
        "RTW_WAIT_FOR_SIP": None,
    }
    failures = []
    with executor.temp_jupyter_env(overrides):
        for path in sorted(work.glob("*.ipynb")):
            try:
                nb = executor.execute(path, timeout=180, store_widget_state=True, cwd=work)
            except Exception as exc:
                failures.append(f"{path.name}: {type(exc).__name__}: {str(exc)[-400:]}")
                continue
            path.write_text(json.dumps(nb), encoding="utf-8")
    assert failures == []

    written = [p for p in work.rglob("*") if p.is_file()]
    assert any(p.suffix == ".jsonl" for p in written), "no capture was written"
    assert any(p.suffix == ".parquet" for p in written), "no Parquet file was written"
    saved_state = [
        p.name
        for p in work.glob("*.ipynb")
        if json.loads(p.read_text()).get("metadata", {}).get("widgets")
    ]
    assert saved_state, "no notebook was saved with widget state"
    needles = {
        "OPENAI_API_KEY": key.encode(),
        "OPENAI_WEBHOOK_SECRET": secret.encode(),
        "webhook secret body": secret.removeprefix("whsec_").encode(),
    }
    assert _leaks(work, needles) == []
