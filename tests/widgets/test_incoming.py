"""IncomingCalls over a real WebhookInbox fed by the emulator's signed SIP webhooks.

The emulator rings a SIP call (``start_call(transport="sip")``), signs the
``realtime.call.incoming`` webhook and posts it to the inbox on 127.0.0.1; the form lists
the call and its buttons (driven from Python, as clicks) go through ``IncomingCall`` and the
SDK to the emulator's calls API, which records every request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import ipywidgets.widgets.widget as ipw_widget
import openai
import pytest

from rtwidgets._webhooks import WebhookInbox
from rtwidgets.emulator import Emulator
from rtwidgets.protocol.errors import ValidationError
from rtwidgets.widgets._incoming import IncomingCalls
from rtwidgets.widgets._session_editor import SessionEditor

WEBHOOK_SECRET = "whsec_" + "c2VjcmV0LWZvci10ZXN0cy1vbmx5LW5vdC1yZWFs"  # fake
API_KEY = "sk-test-not-a-real-key"


class Rig:
    def __init__(self, emu: Emulator, inbox: WebhookInbox, client: openai.AsyncOpenAI) -> None:
        self.emu = emu
        self.inbox = inbox
        self.client = client

    def requests(self, call_id: str, action: str) -> list[dict[str, Any]]:
        return [
            r
            for r in self.emu.requests
            if r.get("call_id") == call_id and str(r["path"]).endswith("/" + action)
        ]

    def all_actions(self, call_id: str) -> list[str]:
        return [
            str(r["path"]).rsplit("/", 1)[-1]
            for r in self.emu.requests
            if r.get("call_id") == call_id and r["method"] == "POST"
        ]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    # The inbox's client must point at the emulator, and the emulator must know the inbox's
    # URL: start the inbox first, then aim its client at the emulator once it is up.
    client = openai.AsyncOpenAI(api_key=API_KEY, base_url="http://127.0.0.1:9/v1")
    inbox = await WebhookInbox(secret=WEBHOOK_SECRET, client=client).start()
    assert inbox.url is not None
    emu = await Emulator.start(
        speed=50,
        seed=7,
        scenario="conversation",
        webhook_url=inbox.url,
        webhook_secret=WEBHOOK_SECRET,
    )
    client.base_url = emu.base_url
    client.websocket_base_url = emu.websocket_base_url
    try:
        yield Rig(emu, inbox, client)
    finally:
        await inbox.close()
        await emu.close()
        await client.close()


async def ring(rig: Rig, view: IncomingCalls) -> str:
    call_id = await rig.emu.start_call(transport="sip")
    for _ in range(400):
        if call_id in view.calls:
            return call_id
        await asyncio.sleep(0.01)
    raise AssertionError(f"{call_id} never reached the form")


def states_text(root: Any) -> str:
    seen: set[str] = set()
    out: list[Any] = []
    todo = [root]
    while todo:
        widget = todo.pop()
        if widget.model_id in seen:
            continue
        seen.add(widget.model_id)
        state = widget.get_state()
        out.append(state)
        text = json.dumps(state)
        for part in text.split('"IPY_MODEL_')[1:]:
            child = ipw_widget._instances.get(part.split('"', 1)[0])
            if child is not None:
                todo.append(child)
    return json.dumps(out)


async def test_incoming_call_is_listed_with_from_to_and_headers(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox)
    call_id = await ring(rig, view)
    row = view.row(call_id)
    assert call_id in row.header.value
    assert "ringing" in row.header.value
    incoming = rig.inbox.seen[-1]
    assert incoming.from_ is not None
    assert f"From: {incoming.from_}" in row.headers.text
    assert f"To:   {incoming.to}" in row.headers.text
    # Caller numbers are private: not in any synced trait.
    assert incoming.from_ not in states_text(view)
    assert not row.accept.disabled
    assert row.attach.disabled  # not accepted yet
    view.close()


async def test_repr_says_what_it_shows_without_secrets(rig: Rig) -> None:
    # Issue 13: the repr read "unbound" while the view listed calls (an inbox has no
    # call_id, which the base repr looked for).
    view = IncomingCalls(rig.inbox)
    assert repr(view) == f"<IncomingCalls calls=0 attached=0 inbox={rig.inbox.url}>"
    await ring(rig, view)
    text = repr(view)
    assert text == f"<IncomingCalls calls=1 attached=0 inbox={rig.inbox.url}>"
    assert "unbound" not in text
    assert WEBHOOK_SECRET not in text
    assert API_KEY not in text
    incoming = rig.inbox.seen[-1]
    assert incoming.from_ is not None
    assert incoming.from_ not in text
    view.close()
    assert repr(view).endswith(", closed>")
    assert repr(IncomingCalls()) == "<IncomingCalls unbound>"


async def test_repr_masks_a_secret_shaped_inbox_path() -> None:
    inbox = await WebhookInbox(secret=WEBHOOK_SECRET, path=f"/hook/{WEBHOOK_SECRET}").start()
    try:
        view = IncomingCalls(inbox, consume=False)
        text = repr(view)
        assert WEBHOOK_SECRET not in text
        assert "whsec_…(hidden)" in text
        view.close()
    finally:
        await inbox.close()


async def test_accept_with_json_session_reaches_the_emulator(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox)
    call_id = await ring(rig, view)
    view.session_json.text = json.dumps(
        {"type": "realtime", "instructions": "Answer as the front desk."}
    )
    view.row(call_id).accept.click()
    await view.wait_actions()
    sent = rig.requests(call_id, "accept")
    assert len(sent) == 1
    assert sent[0]["body"]["instructions"] == "Answer as the front desk."
    assert rig.emu.call(call_id).session["instructions"] == "Answer as the front desk."
    assert "accepted" in view.row(call_id).header.value
    assert not view.row(call_id).attach.disabled
    assert view.row(call_id).accept.disabled
    view.close()


async def test_accept_with_the_session_editor_fields(rig: Rig) -> None:
    editor = SessionEditor()
    editor.set_field("instructions", "Be the night operator.")
    editor.set_field("voice", "cedar")
    view = IncomingCalls(rig.inbox, editor=editor)
    assert view.session_from.value == "editor"
    call_id = await ring(rig, view)
    await view.accept(call_id)
    body = rig.requests(call_id, "accept")[0]["body"]
    assert body["type"] == "realtime"
    assert body["instructions"] == "Be the night operator."
    assert body["audio"]["output"]["voice"] == "cedar"
    view.close()


async def test_bad_accept_json_sends_nothing(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox)
    call_id = await ring(rig, view)
    view.session_json.text = '{"type": "realtime", "instructions": '
    view.row(call_id).accept.click()
    await view.wait_actions()
    assert "session" in view.row(call_id).error.value
    assert "not valid JSON" in view.row(call_id).error.value
    view.session_json.text = json.dumps({"type": "realtime", "voice": "marin"})
    with pytest.raises(ValidationError) as info:
        await view.accept(call_id)
    assert info.value.field == "session.voice"
    assert rig.all_actions(call_id) == []
    assert "ringing" in view.row(call_id).header.value
    view.close()


async def test_reject_with_status_code(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox)
    call_id = await ring(rig, view)
    row = view.row(call_id)
    row.status_code.value = 486
    row.reject.click()
    await view.wait_actions()
    assert rig.requests(call_id, "reject")[0]["body"] == {"status_code": 486}
    assert await rig.emu.wait_ended(call_id, timeout=5) == "rejected (486)"
    assert "rejected" in row.header.value
    assert row.accept.disabled
    assert row.reject.disabled
    view.close()


async def test_bad_reject_code_and_refer_uri_send_nothing(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox)
    call_id = await ring(rig, view)
    with pytest.raises(ValidationError) as info:
        await view.reject(call_id, status_code=200)
    assert info.value.field == "status_code"
    assert "status_code" in view.row(call_id).error.value
    with pytest.raises(ValidationError) as info:
        await view.refer(call_id, "https://example.com")
    assert info.value.field == "target_uri"
    with pytest.raises(ValidationError) as info:
        await view.accept(call_id, session=["type", "realtime"])  # type: ignore[arg-type]
    assert info.value.field == "session"
    view.session_json.text = '{"type": "realtime", "max_output_tokens": NaN}'
    with pytest.raises(ValidationError, match="NaN"):
        await view.accept(call_id)
    view.session_json.text = '{"type": "realtime"}'
    with pytest.raises(ValidationError) as info:
        await view.accept("rtc_u0_" + "0" * 32)
    assert info.value.field == "call_id"
    assert rig.all_actions(call_id) == []
    view.close()


async def test_refer_after_accept(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox)
    call_id = await ring(rig, view)
    await view.accept(call_id, session={"type": "realtime"})
    row = view.row(call_id)
    assert not row.refer.disabled
    row.target.text = "tel:+14155550123"
    row.refer.click()
    await view.wait_actions()
    assert rig.requests(call_id, "refer")[0]["body"] == {"target_uri": "tel:+14155550123"}
    assert await rig.emu.wait_ended(call_id, timeout=5) == "referred"
    assert "referred" in row.header.value
    view.close()


async def test_server_refusal_is_shown_on_the_row(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox)
    call_id = await ring(rig, view)
    await rig.emu.hangup(call_id)  # the caller hangs up before anyone answers
    view.row(call_id).accept.click()
    await view.wait_actions()
    assert "Accept failed" in view.row(call_id).error.value
    assert len(rig.requests(call_id, "accept")) == 1
    view.close()


async def test_attach_calls_on_attach_with_the_call(rig: Rig) -> None:
    pytest.importorskip("rtwidgets._call")
    attached: list[Any] = []
    view = IncomingCalls(
        rig.inbox, on_attach=attached.append, attach_options={"capture": False, "client": None}
    )
    call_id = await ring(rig, view)
    await view.accept(call_id, session={"type": "realtime"})
    call = await view.attach(call_id)
    try:
        assert attached == [call]
        assert call.call_id == call_id
        assert "attached" in view.row(call_id).header.value
        await rig.emu.wait_attached(call_id, timeout=5)
    finally:
        await call.close()
    view.close()


async def test_attach_without_callback_shows_a_console_below_the_list(rig: Rig) -> None:
    import rtwidgets.widgets  # noqa: F401  (the console registers itself as the factory)

    view = IncomingCalls(rig.inbox, attach_options={"capture": False})
    call_id = await ring(rig, view)
    await view.accept(call_id, session={"type": "realtime"})
    view.row(call_id).attach.click()
    await view.wait_actions()
    call = view.attached[call_id]
    try:
        [console] = view.console_area.children
        assert type(console).__name__ == "CallConsole"
        assert console.source is call
        assert console is view.console
        # not inside the row: the row is one compact line
        row = view.row(call_id)
        assert console not in row.box.children
        assert row.buttons.layout.display == "none"
        assert row.headers.layout.display == "none"
        assert row.summary.layout.display == ""
        assert row.open_console.layout.display == ""
    finally:
        await call.close()
    view.close()
    assert console.closed  # the console this view made is closed with it


async def test_consume_drains_the_inbox_queue(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox)  # consume=True
    await ring(rig, view)
    for _ in range(100):
        if rig.inbox.pending == 0:
            break
        await asyncio.sleep(0.01)
    assert rig.inbox.pending == 0
    view.close()
    assert view.closed


async def test_consume_false_leaves_the_queue_to_user_code(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox, consume=False)
    call_id = await ring(rig, view)
    incoming = await rig.inbox.get(timeout=2)
    assert incoming.call_id == call_id
    # A call already seen before the view existed is listed at bind.
    later = IncomingCalls(rig.inbox, consume=False)
    assert later.calls == [call_id]
    view.close()
    later.close()


def test_bind_refuses_a_non_inbox() -> None:
    with pytest.raises(TypeError, match="WebhookInbox"):
        IncomingCalls(object())


async def test_accept_clicked_on_a_comm_subshell_thread(rig: Rig) -> None:
    """JupyterLab 4.4+ handles widget messages on a subshell thread with its own loop."""
    import threading

    view = IncomingCalls(rig.inbox)
    call_id = await ring(rig, view)

    async def handler() -> None:
        view.row(call_id).accept.click()

    thread = threading.Thread(target=lambda: asyncio.run(handler()))
    thread.start()
    thread.join()
    for _ in range(300):
        if "accepted" in view.row(call_id).header.value:
            break
        await asyncio.sleep(0.01)
    assert "accepted" in view.row(call_id).header.value, view.row(call_id).error.value
    assert len(rig.requests(call_id, "accept")) == 1
    view.close()


async def test_close_releases_every_widget(rig: Rig) -> None:
    def open_widgets() -> set[str]:
        return {
            k
            for k, w in ipw_widget._instances.items()
            if not type(w).__name__.endswith(("Layout", "Style"))
        }

    first = IncomingCalls(rig.inbox, consume=False)
    await ring(rig, first)
    first.close()
    before = open_widgets()
    for _ in range(3):
        view = IncomingCalls(rig.inbox, consume=False)
        assert view.calls  # a row with its controls exists
        view.close()
    assert open_widgets() - before == set()


async def test_ringing_call_is_pinned_above_an_attached_one(rig: Rig) -> None:
    import rtwidgets.widgets  # noqa: F401

    view = IncomingCalls(rig.inbox, attach_options={"capture": False})
    first = await ring(rig, view)
    await view.accept(first, session={"type": "realtime"})
    call = await view.attach(first)
    try:
        second = await ring(rig, view)  # rings after the first was attached
        assert view.status_of(second) == "ringing"
        assert view.rows_box.children[0] is view.row(second).box
        assert view.rows_box.children[1] is view.row(first).box
        # the attached call ends: its row says so, its actions are off, it stays below
        await rig.emu.hangup(first)
        await call.wait_ended(timeout=5)
        row = view.row(first)
        assert view.status_of(first) == "ended"
        assert "ended" in row.header.value
        assert row.refer.disabled
        assert row.accept.disabled
        assert row.attach.disabled
        assert row.reject.disabled
        assert row.target.disabled
        assert "rtw-incoming-ended" in row.box._dom_classes
        assert view.rows_box.children[0] is view.row(second).box
    finally:
        await call.close()
    view.close()


async def test_from_and_to_are_printed_once_and_sip_status_is_explained(rig: Rig) -> None:
    from rtwidgets.widgets._incoming import sip_status_text

    view = IncomingCalls(rig.inbox)
    call_id = await ring(rig, view)
    row = view.row(call_id)
    text = row.headers.text
    lines = [line.lower() for line in text.splitlines()]
    assert sum(line.startswith("from:") for line in lines) == 1  # was twice: SIP From again
    assert sum(line.startswith("to:") for line in lines) == 1
    assert "603 Decline" in row.status_note.value
    row.status_code.value = 486
    assert "486 Busy Here" in row.status_note.value
    row.reject.click()
    await view.wait_actions()
    assert "rejected (486 Busy Here)" in row.header.value
    assert sip_status_text(499) == "499 (client error)"
    assert sip_status_text(603) == "603 Decline"
    view.close()
