"""The incoming SIP calls list in a real JupyterLab: one call attached, a second one ringing.

Why: issue 14 found the list unusable with an attached call — the call's whole console
(~1000 px) opened inside its row, the next ringing call appeared below it, off screen, and the
row still said "attached" after the call ended. Only a browser shows where rows land on the
page, so this test compares what a person sees: bounding boxes of the rows and the console,
the row's text, and which buttons can still be pressed.
"""

from __future__ import annotations

import os
from pathlib import Path

from labdriver import UNTIL, LabPage

REPO = Path(__file__).resolve().parents[2]
# Refreshed only on request (RTW_UPDATE_SCREENSHOT=1), so a test run leaves the tree clean.
SCREENSHOT = REPO / "docs" / "screenshots" / "incoming.png"
ACTIONS = (".rtw-accept", ".rtw-reject", ".rtw-refer", ".rtw-attach")


def _box(lab: LabPage, selector: str, call_id: str) -> dict[str, float]:
    """The on-page bounding box of the row of ``call_id`` (``selector`` inside it)."""
    loc = lab.page.locator(".rtw-incoming-call", has_text=call_id).first
    if selector:
        loc = loc.locator(selector).first
    box = loc.bounding_box()
    assert box is not None, f"{selector or 'row'} of {call_id} is not rendered"
    return box


def _start_sip(lab: LabPage, scenario: str) -> str:
    """Ring a SIP call from the emulator; return its id once the list shows it."""
    call_id = lab.kernel_exec(
        f"cid = await emu.start_call(transport='sip', scenario={scenario})\n"
        "await until(lambda: cid in calls.calls)\n"
        "print(cid)"
    ).strip()
    assert call_id.startswith("rtc_")
    return call_id


def test_a_ringing_call_stays_in_view_above_an_attached_one(
    lab: LabPage, tmp_path: Path
) -> None:
    lab.open_notebook("incoming.ipynb")
    lab.run_all()
    lab.wait_widgets_rendered()
    page = lab.page
    page.locator(".rtw-incoming", has_text="no incoming call yet").first.wait_for(timeout=30_000)
    lab.kernel_exec(UNTIL)

    # The first call rings; accept and attach it with the row's buttons.
    first = _start_sip(lab, "FIRST")
    row1 = page.locator(".rtw-incoming-call", has_text=first).first
    row1.locator(".rtw-badge", has_text="ringing").wait_for(timeout=30_000)
    row1.locator(".rtw-accept").click()
    row1.locator(".rtw-badge", has_text="accepted").wait_for(timeout=30_000)
    row1.locator(".rtw-attach").click()
    row1.locator(".rtw-badge", has_text="attached").wait_for(timeout=30_000)
    # Its console opens below the list, and its words arrive there.
    console = page.locator(".rtw-incoming-console .rtw-console").first
    console.locator(".rtw-transcript", has_text="Chez Emulator").first.wait_for(timeout=30_000)

    # A second call rings while the first is attached.
    second = _start_sip(lab, "SECOND")
    row2 = page.locator(".rtw-incoming-call", has_text=second).first
    row2.locator(".rtw-badge", has_text="ringing").wait_for(timeout=30_000)
    # A person looking at the list (its top at the top of the notebook's view) sees the
    # ringing call without scrolling: inside the viewport, above the attached row.
    page.locator(".rtw-incoming").first.evaluate("el => el.scrollIntoView({block: 'start'})")
    viewport = page.viewport_size
    assert viewport is not None
    ringing, attached = _box(lab, "", second), _box(lab, "", first)
    assert ringing["y"] >= 0
    assert ringing["y"] + ringing["height"] <= viewport["height"], (ringing, viewport)
    assert ringing["y"] + ringing["height"] <= attached["y"], (ringing, attached)
    for action in (".rtw-accept", ".rtw-reject"):
        assert row2.locator(action).is_visible()
        assert row2.locator(action).is_enabled()
    # The attached row is one compact line: no console, no header list, no action buttons
    # inside it; the console sits below both rows.
    assert row1.locator(".rtw-console").count() == 0
    assert not row1.locator(".rtw-sip-headers").is_visible()
    assert row1.locator(".rtw-open-console").is_visible()
    one_line = _box(lab, ".rtw-open-console", first)["height"]
    assert attached["height"] < 3 * one_line, (attached, one_line)
    console_box = console.bounding_box()
    assert console_box is not None
    assert console_box["y"] >= attached["y"] + attached["height"]
    lab.assert_clean()
    shot = SCREENSHOT if os.environ.get("RTW_UPDATE_SCREENSHOT") else tmp_path / "incoming.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    _shot_of_list(lab, shot)
    assert shot.stat().st_size > 10_000  # a rendered list, not an empty box

    # The first caller hangs up: its row says "ended" (not "attached") and nothing on it
    # can be pressed any more but "open console"; the ringing call keeps its place on top.
    lab.kernel_exec(f"await emu.hangup({first!r})")
    row1.locator(".rtw-badge", has_text="ended").wait_for(timeout=30_000)
    assert "attached" not in row1.locator(".rtw-badge").first.inner_text()
    for action in ACTIONS:
        button = row1.locator(action)
        assert not button.is_visible() or button.is_disabled(), action
    assert _box(lab, "", second)["y"] < _box(lab, "", first)["y"]
    assert row2.locator(".rtw-accept").is_enabled()
    lab.assert_clean()
    lab.kernel_exec(
        f"await calls.attached[{first!r}].close()\nawait emu.close()\nawait inbox.close()"
    )


def _shot_of_list(lab: LabPage, path: Path) -> None:
    """The list and the first lines of the console below it (the whole console is ~1000 px
    tall and has its own picture)."""
    page = lab.page
    top = page.locator(".rtw-incoming").first.bounding_box()
    console = page.locator(".rtw-incoming-console .rtw-console").first.bounding_box()
    assert top is not None
    assert console is not None
    bottom = console["y"] + min(console["height"], 380)
    page.screenshot(
        path=str(path),
        clip={"x": top["x"], "y": top["y"], "width": top["width"], "height": bottom - top["y"]},
    )
