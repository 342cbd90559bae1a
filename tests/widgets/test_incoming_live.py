"""IncomingCalls with GPT-Live offers: one row per call with both ids, two accept actions.

Signed webhooks go to a real ``WebhookInbox`` on 127.0.0.1; the rows' buttons (clicked from
Python) go through ``IncomingCall`` and the SDK to a recording stub API (``_live_api_stub``).
The comm is swapped (conftest), so nothing reaches a browser.
"""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from _live_api_stub import REAL_LIVE_IDS, REAL_RTC_ID, LiveApiStub
from _webhook_signing import SECRET, event_body, post

from rtwidgets._control import AlreadyAcceptedError
from rtwidgets._webhooks import WebhookInbox
from rtwidgets.protocol.errors import ValidationError
from rtwidgets.widgets._incoming import IncomingCalls

from .test_incoming import states_text

LIVE = REAL_LIVE_IDS[0]
RTC = REAL_RTC_ID


class Rig:
    def __init__(self, stub: LiveApiStub, inbox: WebhookInbox,
                 http: aiohttp.ClientSession) -> None:
        self.stub = stub
        self.inbox = inbox
        self.http = http

    async def announce(self, view: IncomingCalls, kind: str, the_id: str,
                       key: str | None = None) -> None:
        assert self.inbox.url is not None
        before = self.inbox.stats
        assert await post(self.http, self.inbox.url, event_body(kind, the_id)) == 200
        stats = self.inbox.stats
        assert (stats.accepted, stats.merged) != (before.accepted, before.merged)
        assert (key or the_id) in view.calls


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with LiveApiStub() as stub, stub.client() as client, aiohttp.ClientSession() as http:
        inbox = await WebhookInbox(secret=SECRET, client=client).start()
        try:
            yield Rig(stub, inbox, http)
        finally:
            await inbox.close()


def shown(widget: Any) -> bool:
    return widget.layout.display != "none"


async def both_ways(rig: Rig, view: IncomingCalls) -> str:
    await rig.announce(view, "realtime.call.incoming", RTC)
    await rig.announce(view, "live.transport.incoming", LIVE, key=RTC)
    return RTC


async def test_a_call_offered_both_ways_is_one_row_with_both_ids_and_two_accepts(
    rig: Rig,
) -> None:
    view = IncomingCalls(rig.inbox)
    await both_ways(rig, view)
    assert view.calls == [RTC]
    row = view.row(RTC)
    assert RTC in row.header.value
    assert LIVE in row.header.value
    assert "Realtime" in row.header.value
    assert "Live" in row.header.value
    assert shown(row.accept)
    assert shown(row.accept_live)
    assert row.accept.description == "Accept as Realtime"
    assert row.accept_live.description == "Accept as Live"
    assert not row.accept.disabled
    assert not row.accept_live.disabled
    assert shown(view.live_session_json)
    assert "+142555512112" not in states_text(view)  # caller numbers stay private
    view.close()


async def test_one_id_one_accept(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox)
    await rig.announce(view, "realtime.call.incoming", RTC)
    row = view.row(RTC)
    assert shown(row.accept)
    assert row.accept.description == "Accept"
    assert not shown(row.accept_live)
    assert not shown(view.live_session_json)  # nothing Live yet
    await rig.announce(view, "live.transport.incoming", REAL_LIVE_IDS[2],
                       key=RTC)  # same Call-ID, From and To: joins this row
    assert view.calls == [RTC]
    assert shown(row.accept_live)
    view.close()


async def test_a_live_only_call_has_only_accept_as_live(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox)
    await rig.announce(view, "live.transport.incoming", LIVE)
    row = view.row(LIVE)
    assert not shown(row.accept)
    assert shown(row.accept_live)
    assert shown(view.live_session_json)
    view.close()


async def test_accept_as_live_sends_the_live_json_and_the_row_says_so(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox)
    await both_ways(rig, view)
    view.live_session_json.text = json.dumps(
        {"type": "live", "model": "gpt-live-1", "instructions": "Front desk."})
    row = view.row(RTC)
    row.accept_live.click()
    await view.wait_actions()
    assert [(r.path, r.body) for r in rig.stub.requests] == [
        (f"/v1/live/sessions/{LIVE}/accept",
         {"session": {"type": "live", "model": "gpt-live-1", "instructions": "Front desk."}}),
    ]
    assert "accepted as Live" in row.header.value
    assert row.accept.disabled
    assert row.accept_live.disabled
    assert not row.attach.disabled
    # The first accept decided: the other is refused on the row, and nothing is sent.
    row.accept.click()  # a disabled button still fires from Python
    await view.wait_actions()
    with pytest.raises(AlreadyAcceptedError):
        await view.accept(RTC, api="realtime")
    assert "accepted as Live" in html.unescape(row.error.value)
    assert len(rig.stub.requests) == 1
    view.close()


async def test_accept_as_realtime_first_then_live_is_refused(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox)
    await both_ways(rig, view)
    row = view.row(RTC)
    row.accept.click()
    await view.wait_actions()
    assert rig.stub.paths() == [f"/v1/realtime/calls/{RTC}/accept"]
    assert rig.stub.requests[0].body == {"type": "realtime"}
    assert "accepted as Realtime" in row.header.value
    row.accept_live.click()
    await view.wait_actions()
    assert "Accept as Live failed" in html.unescape(row.error.value)
    assert len(rig.stub.requests) == 1
    view.close()


async def test_bad_live_json_names_the_field_and_sends_nothing(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox)
    await both_ways(rig, view)
    row = view.row(RTC)
    view.live_session_json.text = '{"type": "live", "instructions": "no model"}'
    row.accept_live.click()
    await view.wait_actions()
    assert "session.model" in html.unescape(row.error.value)
    view.live_session_json.text = '{"type": "live", "model": '
    with pytest.raises(ValidationError) as err:
        await view.accept(RTC, api="live")
    assert err.value.field == "session"
    with pytest.raises(ValidationError) as err:
        await view.accept(RTC)  # offered both ways: which?
    assert err.value.field == "api"
    with pytest.raises(ValidationError) as err:
        await view.accept(RTC, api="beta")
    assert err.value.field == "api"
    assert rig.stub.requests == []
    assert "ringing" in row.header.value
    view.close()


async def test_a_connected_live_session_is_a_row_with_only_attach(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox)
    await rig.announce(view, "live.transport.connected", REAL_LIVE_IDS[1])
    await rig.announce(view, "realtime.call.incoming", RTC)
    row = view.row(REAL_LIVE_IDS[1])
    assert view.status_of(REAL_LIVE_IDS[1]) == "connected"
    assert "connected" in row.header.value
    assert not shown(row.accept)
    assert not shown(row.accept_live)
    assert not row.attach.disabled
    assert row.refer.disabled
    assert row.reject.disabled
    # the ringing call is pinned above it
    assert view.rows_box.children[0] is view.row(RTC).box
    view.close()


async def test_the_later_announcement_updates_the_row_in_place(rig: Rig) -> None:
    view = IncomingCalls(rig.inbox, consume=False)
    await rig.announce(view, "live.transport.incoming", LIVE)
    row = view.row(LIVE)
    assert not shown(row.accept)
    await rig.announce(view, "realtime.call.incoming", RTC, key=LIVE)
    assert view.calls == [LIVE]
    assert view.row(LIVE) is row
    assert shown(row.accept)
    assert RTC in row.header.value
    assert rig.inbox.pending == 1  # queued once, for user code
    view.close()
