"""Drives a real JupyterLab in Debian's Chromium (used by conftest.py's fixtures).

Why this exists: the widgets only prove themselves in a browser. Python-side tests with a
swapped comm show what a view *sends*; only a real front end shows that the message arrives,
renders, and that a click travels back to the kernel. These fixtures start JupyterLab on
127.0.0.1 (free port, token off, `--allow-root`, `expose_app_in_browser`) in a temporary
root holding copies of the notebooks in `tests/browser/notebooks/`, launch `/usr/bin/chromium`
through Playwright with a temporary profile, and run notebooks through JupyterLab's command
API (`notebook:run-all-cells`), never key presses.

What it must never do: touch `$HOME` (every Jupyter, IPython, matplotlib and browser dir is
under pytest's tmp), reach beyond 127.0.0.1, or let a front-end error pass silently — every
console error, uncaught page exception, error output or "Loading widget" left showing fails
the test that caused it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page

CHROMIUM = Path(os.environ.get("RTW_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
NOTEBOOKS = Path(__file__).parent / "notebooks"
LAB_START_TIMEOUT = 90.0
# Kernel-side wait on the call's state (``call.wait_for`` only sees events still to come):
# a cell every browser test runs first.
UNTIL = """
import asyncio

async def until(condition, timeout=60.0):
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("condition not met in time")
"""
# Widget-renderer texts that mean a view never found its model (ipywidgets' JupyterLab
# renderer and anywidget). Any of them left on the page is a failed render.
BROKEN_WIDGET_TEXTS = ("Loading widget", "Error displaying widget", "model not found")

# Console lines JupyterLab itself prints as errors that say nothing about our widgets. Keep
# this list short; every entry needs its reason.
BENIGN_CONSOLE = (
    # The browser asks for /favicon.ico on some navigations; JupyterLab serves its own.
    "favicon.ico",
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def jupyter_env(base: Path) -> dict[str, str]:
    """An environment whose Jupyter/IPython/matplotlib state lives under ``base``."""
    env = dict(os.environ)
    dirs = {
        "JUPYTER_CONFIG_DIR": base / "jupyter-config",
        "JUPYTER_DATA_DIR": base / "jupyter-data",
        "JUPYTER_RUNTIME_DIR": base / "jupyter-runtime",
        "IPYTHONDIR": base / "ipython",
        "MPLCONFIGDIR": base / "matplotlib",
        "XDG_CACHE_HOME": base / "xdg-cache",
        "XDG_CONFIG_HOME": base / "xdg-config",
    }
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    # The kernel must import the checkout's rtwidgets even without an editable install.
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, env.get("PYTHONPATH", "")) if p)
    return env


@dataclass
class LabServer:
    """A running JupyterLab: its base URL, its root dir and its log."""

    url: str
    root: Path
    log: Path
    proc: subprocess.Popen[bytes]

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])


def _lab_settings(settings_dir: Path) -> None:
    """User settings that keep JupyterLab quiet and offline: no news, no update checks."""
    notif = settings_dir / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True, exist_ok=True)
    (notif / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )


def start_lab(base: Path, root: Path, env: dict[str, str]) -> LabServer:
    port = _free_port()
    settings = base / "lab-user-settings"
    workspaces = base / "lab-workspaces"
    _lab_settings(settings)
    workspaces.mkdir(parents=True, exist_ok=True)
    log = base / f"jupyterlab-{port}.log"
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={workspaces}",
    ]  # fmt: skip
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            cmd, env=env, cwd=root, stdout=fh, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    server = LabServer(url=f"http://127.0.0.1:{port}", root=root, log=log, proc=proc)
    deadline = time.monotonic() + LAB_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/api/status", timeout=2) as resp:
                if resp.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    stop_lab(proc)
    raise RuntimeError(f"JupyterLab did not answer in {LAB_START_TIMEOUT}s:\n{server.log_tail()}")


def stop_lab(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and its kernels (its own process group, started by us)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@dataclass
class LabPage:
    """One browser tab on JupyterLab, with the errors it has seen."""

    page: Page
    server: LabServer
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        where = msg.location.get("url", "") if msg.location else ""
        text = f"{msg.text} ({where})" if where else msg.text
        if not any(b in text for b in BENIGN_CONSOLE):
            self.console_errors.append(text)

    # -- driving JupyterLab through its command API ---------------------------------------

    def open_notebook(self, name: str, timeout: float = 60.0) -> None:
        """Open ``name`` from the lab root and wait for its kernel to be idle."""
        self.page.goto(f"{self.server.url}/lab/tree/{name}?reset")
        self.page.wait_for_function(
            """(name) => {
                const app = window.jupyterapp;
                if (!app) return false;
                const w = app.shell.currentWidget;
                if (!w || !w.context || w.context.path !== name) return false;
                const k = w.sessionContext && w.sessionContext.session &&
                    w.sessionContext.session.kernel;
                if (!k || k.status !== 'idle') return false;
                window.__rtwPanel = w;
                return true;
            }""",
            arg=name,
            timeout=timeout * 1000,
        )

    def run_all(self, timeout: float = 120.0) -> None:
        """Run every cell (``notebook:run-all-cells``) and wait until all have run."""
        self.page.evaluate(
            "() => { window.__rtwPanel.content.activate(); "
            "window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
        )
        deadline = time.monotonic() + timeout
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = self.cell_states()
            if state["errors"]:
                pytest.fail(f"a notebook cell raised: {state['errors']}")
            if state["kernel"] == "idle" and all(c is not None for c in state["counts"]):
                return
            self.page.wait_for_timeout(200)
        pytest.fail(f"cells did not finish in {timeout}s: {state}")

    def cell_states(self) -> dict[str, Any]:
        """Execution counts of code cells, error outputs and kernel status."""
        result: dict[str, Any] = self.page.evaluate(
            """() => {
                const p = window.__rtwPanel;
                const cells = p.content.widgets.filter(c => c.model.type === 'code');
                const errors = [];
                for (const c of cells) {
                    for (const o of c.model.outputs.toJSON()) {
                        if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
                    }
                }
                return {
                    counts: cells.map(c => c.model.executionCount),
                    errors,
                    kernel: p.sessionContext.session.kernel.status,
                };
            }"""
        )
        return result

    def kernel_exec(self, code: str, timeout: float = 60.0) -> str:
        """Run ``code`` in the notebook's kernel (top-level await allowed); return its
        stdout and results. A raised exception fails the test with its message."""
        result: dict[str, Any] = self.page.evaluate(
            """async ([code, timeoutMs]) => {
                const kernel = window.__rtwPanel.sessionContext.session.kernel;
                const future = kernel.requestExecute({code, store_history: false});
                let out = '';
                let err = null;
                future.onIOPub = (msg) => {
                    const t = msg.header.msg_type;
                    if (t === 'stream') out += msg.content.text;
                    else if (t === 'execute_result') out += msg.content.data['text/plain'] + '\\n';
                    else if (t === 'error') err = msg.content.ename + ': ' + msg.content.evalue;
                };
                const timer = new Promise((_, reject) =>
                    setTimeout(() => reject(new Error('kernel_exec timed out')), timeoutMs));
                await Promise.race([future.done, timer]);
                return {out, err};
            }""",
            [code, int(timeout * 1000)],
        )
        if result["err"] is not None:
            pytest.fail(f"kernel code raised {result['err']}\n--- code ---\n{code}")
        return str(result["out"])

    # -- checks ---------------------------------------------------------------------------

    def broken_widgets(self) -> list[str]:
        """Texts of widget outputs that failed to render (still loading or model lost)."""
        found: list[str] = self.page.evaluate(
            """(texts) => {
                const out = [];
                for (const el of document.querySelectorAll('.jp-OutputArea-output')) {
                    const t = el.innerText || '';
                    for (const s of texts) if (t.includes(s)) out.push(t.slice(0, 200));
                }
                return out;
            }""",
            list(BROKEN_WIDGET_TEXTS),
        )
        return found

    def wait_widgets_rendered(self, timeout: float = 30.0) -> None:
        """Wait until no widget output is left "Loading widget…"; fail if one stays."""
        deadline = time.monotonic() + timeout
        broken: list[str] = []
        while time.monotonic() < deadline:
            broken = self.broken_widgets()
            if not broken:
                return
            self.page.wait_for_timeout(200)
        pytest.fail(f"widgets did not render: {broken}")

    def assert_clean(self) -> None:
        """No console error, no uncaught exception, no broken widget, no error output."""
        problems: list[str] = []
        problems += [f"console error: {e}" for e in self.console_errors]
        problems += [f"uncaught exception: {e}" for e in self.page_errors]
        problems += [f"widget not rendered: {t}" for t in self.broken_widgets()]
        problems += [f"error output: {e}" for e in self.cell_states()["errors"]]
        if problems:
            pytest.fail("front end not clean:\n" + "\n".join(problems))

    def screenshot(self, selector: str, path: Path) -> None:
        """A picture of the first element matching ``selector``, whole. An element taller
        than the notebook's visible area is clipped by its scroll box (the picture then shows
        JupyterLab's status bar and empty grey instead): the viewport grows for the shot and
        shrinks back after it."""
        loc = self.page.locator(selector).first
        size = self.page.viewport_size
        box = loc.bounding_box()
        # JupyterLab's menus, toolbar and status bar take ~150 px of the viewport.
        grow = size is not None and box is not None and box["height"] + 300 > size["height"]
        if grow and size is not None and box is not None:
            self.page.set_viewport_size(
                {"width": size["width"], "height": int(box["height"]) + 300}
            )
        try:
            loc.screenshot(path=str(path))
        finally:
            if grow and size is not None:
                self.page.set_viewport_size(size)

    def shutdown_kernel(self) -> None:
        """Stop this notebook's kernel so the next test starts from a fresh one."""
        with contextlib.suppress(Exception):
            self.page.evaluate(
                "async () => { const p = window.__rtwPanel; "
                "if (p) await p.sessionContext.shutdown(); }"
            )
