"""A click handled on a comm subshell thread runs its action on the source's own loop.

JupyterLab 4.4+ with ipykernel 7 may deliver widget messages on a subshell thread that runs
its own event loop. A ``Call``'s futures belong to the kernel's main loop, so an action
started on the subshell loop would never wake. ``View._spawn`` hops back to the loop the
source was bound on.
"""

from __future__ import annotations

import asyncio
import threading

from rtwidgets.widgets import EventLog

from .conftest import ScriptedSource


async def test_action_from_another_threads_loop_runs_on_the_home_loop(
    source: ScriptedSource,
) -> None:
    home = asyncio.get_running_loop()
    view = EventLog(source)
    ran_on: list[asyncio.AbstractEventLoop] = []
    done = asyncio.Event()

    async def action() -> None:
        ran_on.append(asyncio.get_running_loop())
        done.set()

    def click_on_subshell() -> None:
        async def handler() -> None:
            assert view._spawn(action(), label="test") is None  # hopped: no local task

        asyncio.run(handler())

    thread = threading.Thread(target=click_on_subshell)
    thread.start()
    await asyncio.wait_for(done.wait(), timeout=5)
    thread.join(timeout=5)
    assert ran_on == [home]
    view.close()


async def test_action_on_the_home_loop_is_a_local_task(source: ScriptedSource) -> None:
    view = EventLog(source)

    async def action() -> int:
        return 7

    task = view._spawn(action(), label="test")
    assert task is not None
    assert await task == 7
    view.close()
