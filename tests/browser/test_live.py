"""The call console on a GPT-Live session, in a real JupyterLab (issue 13, Tests).

Why: a Live session reaches the views through another codec (item-less transcript
fragments, a tool call delegated to a Responses backend, usage billed in seconds). Python-side
view tests show what the views compute; only a browser shows that the transcript of both sides
renders, that the delegated call is listed and answered by a click, and that the answer
travels back as the two Live frames (``response.item.create`` with a ``function_call_output``,
then ``response.create``) the emulator needs to go on.

The notebook (notebooks/live.ipynb) starts the emulator's seeded GPT-Live session with the
``tools`` scenario under Responses delegation, with no ``@call.tool`` handler, so the delegated
``get_weather`` waits for the form. The README's picture docs/screenshots/live.png is written
only with RTW_UPDATE_SCREENSHOT=1 (otherwise the shot goes to the test's temp folder).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from labdriver import UNTIL, LabPage

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "screenshots" / "live.png"
TOOL_OUTPUT = {"temperature": 18, "conditions": "sunny"}
# The sideband frames the emulator received from the call, in order (types and items only).
RECEIVED = """
import json
got = [r['event'] for r in emu.record(session_id) if r['direction'] == 'received' and r['event']]
print(json.dumps([{'type': e['type'], 'item': e.get('item')} for e in got]))
"""


def _tab(lab: LabPage, title: str) -> None:
    """Select a tab of the console's forms by its title."""
    lab.page.locator(".rtw-console .rtw-forms .lm-TabBar-tab", has_text=title).first.click()


def _field(lab: LabPage, name: str) -> str:
    """The text of one StatusBar field (``status``, ``usage``, ``cost``, ...)."""
    loc = lab.page.locator(f'.rtw-console .rtw-status-bar [data-field="{name}"]').first
    return loc.inner_text()


def test_live_console_shows_both_sides_and_answers_a_delegated_tool_from_the_form(
    lab: LabPage, tmp_path: Path
) -> None:
    lab.open_notebook("live.ipynb")
    lab.run_all()
    lab.wait_widgets_rendered()
    page = lab.page
    lab.kernel_exec(UNTIL)
    assert lab.kernel_exec("print(call.api, session_id[:5])").strip() == "live live_"

    # The transcript fills from Live's input/output transcript deltas: the caller's words and
    # the agent's lead-in, each on its own line.
    transcript = page.locator(".rtw-console .rtw-transcript").first
    transcript.get_by_text("weather like in Paris").first.wait_for(timeout=30_000)
    transcript.get_by_text("Let me check that for you").first.wait_for(timeout=30_000)
    page.locator(".rtw-console .rtw-eventlog .rtw-row").first.wait_for(timeout=30_000)
    # The status bar: a live session, billed by the second (no token count, no price).
    page.locator('.rtw-console .rtw-status-bar [data-field="usage"]').first.wait_for(
        timeout=10_000
    )
    assert "live" in _field(lab, "status")
    assert "usage only" in _field(lab, "cost")
    assert page.locator('.rtw-console .rtw-status-bar [data-field="tokens"]').count() == 0

    # The backend delegated get_weather and nothing in the kernel answers it: the call is
    # pending. Wait until the lead-in is said whole, so the form stops changing under the
    # clicks. (Live sends no "done" for the voice's speech: the codec keeps that voice
    # response open, so "no active response" is no signal here.)
    lab.kernel_exec(
        "await until(lambda: call.state.pending_tool_calls() and any("
        "'Let me check that for you.' in (it.text or '') for it in call.state.transcript()))"
    )
    pending = lab.kernel_exec(
        "p = call.state.pending_tool_calls()\nprint(len(p), p[0].name, p[0].arguments)"
    )
    assert pending.split(" ", 2)[:2] == ["1", "get_weather"], pending
    assert json.loads(pending.split(" ", 2)[2]) == {"city": "Paris", "unit": "celsius"}
    # Nothing was sent to the session yet: the answer is the form's to give.
    assert json.loads(lab.kernel_exec(RECEIVED)) == []

    _tab(lab, "Tool calls")
    tools = page.locator(".rtw-console .rtw-toolcalls").first
    row = tools.locator(".rtw-toolcall", has_text="get_weather").first
    row.wait_for(timeout=10_000)
    tools.locator(".rtw-toolcall", has_text="pending").first.wait_for(timeout=10_000)
    assert "Paris" in row.inner_text()
    tools.screenshot(path=str(tmp_path / "pending.png"))
    output = row.locator("textarea").first
    output.fill(json.dumps(TOOL_OUTPUT))
    assert json.loads(output.input_value()) == TOOL_OUTPUT
    # The editor sends its text to the kernel debounced (and on blur); a loaded machine may
    # deliver the click first. Blur, then wait until the kernel holds what was typed.
    output.blur()
    lab.kernel_exec(
        "tc = console.tool_calls\n"
        "await until(lambda: any(r.output.text.strip() for r in tc._rows.values()))"
    )
    row.locator("button", has_text="Send and respond").first.click()

    # The agent's follow-up, built from our output, reaches the browser's transcript...
    transcript.get_by_text("18 degrees and sunny").first.wait_for(timeout=30_000)
    # ...and the session received exactly the Live round trip: one response.item.create
    # carrying a function_call_output with our JSON for that call, then one response.create.
    lab.kernel_exec(
        "await until(lambda: any('18 degrees and sunny' in (it.text or '')"
        " for it in call.state.transcript()))"
    )
    events = json.loads(lab.kernel_exec(RECEIVED))
    types = [e["type"] for e in events]
    assert types == ["response.item.create", "response.create"], types
    item = events[0]["item"]
    assert item["type"] == "function_call_output"
    call_id = lab.kernel_exec("print(p[0].call_id)").strip()
    assert item["call_id"] == call_id
    assert json.loads(item["output"]) == TOOL_OUTPUT
    answered = lab.kernel_exec(
        "r = call.state.tool_calls[p[0].call_id]\nprint(r.status, r.answered_by)"
    )
    assert answered.split()[0] == "answered", answered
    tools.locator(".rtw-toolcall", has_text="answered").first.wait_for(timeout=10_000)

    # The caller says goodbye and hangs up; the server closes the session with the billed
    # seconds, which the status bar shows as usage (a WebRTC session bills at least 15 s).
    transcript.get_by_text("Goodbye").first.wait_for(timeout=60_000)
    lab.kernel_exec("await until(lambda: call.status.state == 'ended')")
    page.locator(
        '.rtw-console .rtw-status-bar [data-field="status"]', has_text="ended"
    ).first.wait_for(timeout=30_000)
    page.wait_for_function(
        "() => /\\d s$/.test((document.querySelector("
        "'.rtw-console .rtw-status-bar [data-field=\"usage\"]') || {}).innerText || '')",
        timeout=30_000,
    )
    usage = _field(lab, "usage")
    seconds = float(re.sub(r"^usage\s*|\s*s$", "", usage))
    billed = float(lab.kernel_exec("print(call.state.usage_seconds)"))
    assert seconds == billed >= 15, (usage, billed)
    assert "remote_hangup" in _field(lab, "status")
    assert "usage only" in _field(lab, "cost")
    # The API the console watches is named: Live.
    api = _field(lab, "api")
    assert "live" in api.lower(), api

    # Both sides, in order, as lines of the transcript.
    text = transcript.inner_text()
    order = [text.find(s) for s in ("weather like in Paris", "Let me check that for you",
                                     "18 degrees and sunny", "Great, thank you", "Goodbye")]
    assert -1 not in order, (order, text)
    assert order == sorted(order), (order, text)

    lab.assert_clean()
    shot = SCREENSHOT if os.environ.get("RTW_UPDATE_SCREENSHOT") else tmp_path / "live.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    lab.screenshot(".rtw-console", shot)
    assert shot.stat().st_size > 10_000  # a rendered console, not an empty box
    lab.kernel_exec("await call.close()\nawait emu.close()")
