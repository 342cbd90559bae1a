"""Fixtures for the browser tests: one JupyterLab and one Chromium per session, a fresh tab
per test. The machinery lives in labdriver.py; see its docstring for what it guarantees."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from labdriver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    NOTEBOOKS,
    LabPage,
    LabServer,
    jupyter_env,
    start_lab,
    stop_lab,
)
from playwright.sync_api import BrowserContext, sync_playwright


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser test (selectable with ``-m browser``)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="session")
def lab_server(browser_tmp: Path) -> Iterator[LabServer]:
    """JupyterLab serving a temp root with copies of tests/browser/notebooks/*.ipynb."""
    root = browser_tmp / "root"
    root.mkdir()
    for nb in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(nb, root / nb.name)
    env = jupyter_env(browser_tmp / "state")
    server: LabServer | None = None
    # A free port can be taken between our probe and Jupyter's bind; try a few.
    error: Exception | None = None
    for _ in range(3):
        try:
            server = start_lab(browser_tmp, root, env)
            break
        except RuntimeError as exc:
            error = exc
    if server is None:
        pytest.fail(f"could not start JupyterLab: {error}")
    try:
        yield server
    finally:
        stop_lab(server.proc)


@pytest.fixture(scope="module")
def browser(browser_tmp: Path, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    """Debian's Chromium through Playwright, with a throwaway profile.

    Module-scoped on purpose: Playwright's sync API keeps its own event loop marked as
    running in this thread while it is open, which would break every pytest-asyncio test
    that runs after it. Closing it at the end of each browser module gives the thread back.
    """
    if not CHROMIUM.exists():
        pytest.fail(
            f"browser tests need Chromium at {CHROMIUM}: run `apt-get install -y chromium` "
            "(scripts/test.sh does this), or set RTW_CHROMIUM to another binary"
        )
    profile = browser_tmp / f"chromium-profile-{request.module.__name__}"
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1500, "height": 1100},
            downloads_path=str(browser_tmp / "downloads"),
        )
        try:
            yield context
        finally:
            context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item, so the ``lab`` fixture knows a test failed."""
    report = yield
    setattr(item, f"rtw_report_{report.when}", report)
    return report


@pytest.fixture
def lab(
    request: pytest.FixtureRequest, lab_server: LabServer, browser: BrowserContext
) -> Iterator[LabPage]:
    """A fresh tab on JupyterLab. On failure, a screenshot and the page's HTML are kept
    (RTW_ARTIFACTS, default: the session's temp dir) and their paths printed."""
    page = browser.new_page()
    lab_page = LabPage(page=page, server=lab_server)
    page.on("console", lab_page._on_console)
    page.on("pageerror", lambda exc: lab_page.page_errors.append(str(exc)))
    try:
        yield lab_page
    finally:
        report = getattr(request.node, "rtw_report_call", None)
        if report is not None and report.failed:
            out = Path(os.environ.get("RTW_ARTIFACTS", str(lab_server.root.parent / "failures")))
            out.mkdir(parents=True, exist_ok=True)
            stem = out / request.node.name
            with contextlib.suppress(Exception):
                page.screenshot(path=f"{stem}.png", full_page=True)
                Path(f"{stem}.html").write_text(page.content(), encoding="utf-8")
                print(f"\nbrowser artifacts: {stem}.png {stem}.html")
        lab_page.shutdown_kernel()
        page.close()
