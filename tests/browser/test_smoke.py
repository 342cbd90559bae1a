"""Proves the browser harness itself: JupyterLab starts, Chromium renders an ipywidgets
Button and an anywidget component, and clicks travel back to the kernel. If this fails, the
console test's failures say nothing about rtwidgets."""

from __future__ import annotations

from labdriver import LabPage


def test_ipywidgets_and_anywidget_render_and_round_trip(lab: LabPage) -> None:
    lab.open_notebook("smoke.ipynb")
    lab.run_all()
    lab.wait_widgets_rendered()

    button = lab.page.locator(".rtw-smoke-button")
    counter = lab.page.locator(".rtw-smoke-counter")
    button.wait_for(state="visible", timeout=30_000)
    counter.wait_for(state="visible", timeout=30_000)
    assert counter.inner_text() == "count is 0"

    button.click()
    counter.click()
    counter.click()
    lab.page.wait_for_function(
        "() => document.querySelector('.rtw-smoke-counter').textContent === 'count is 2'"
    )
    # The kernel saw both kinds of click: the browser → kernel direction works.
    out = lab.kernel_exec(
        "import asyncio\n"
        "for _ in range(100):\n"
        "    if counter.value == 2 and len(clicks) == 1:\n"
        "        break\n"
        "    await asyncio.sleep(0.05)\n"
        "print(counter.value, len(clicks))"
    )
    assert out.strip() == "2 1"

    # Kernel → browser: a trait set in Python reaches the view.
    lab.kernel_exec("counter.value = 41")
    lab.page.wait_for_function(
        "() => document.querySelector('.rtw-smoke-counter').textContent === 'count is 41'"
    )
    lab.assert_clean()
