"""The server shell's process-wide tuning (``_server.tune_gc_for_serving``): start-up objects
are frozen out of the cyclic GC's full collections, and garbage is collected first."""

from __future__ import annotations

import gc

from rtwidgets.cli import main
from rtwidgets.emulator._server import tune_gc_for_serving


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_tune_gc_freezes_start_up_objects_after_collecting_garbage() -> None:
    assert gc.get_freeze_count() == 0
    _Cycle()                                   # garbage: must be collected, not frozen
    try:
        assert tune_gc_for_serving() is True
        assert gc.get_freeze_count() > 1000    # modules, classes, functions ...
        assert not any(isinstance(o, _Cycle) for o in gc.get_objects())
        # a second call (or a process whose GC someone else froze) leaves it alone
        assert tune_gc_for_serving() is False
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_the_command_run_in_process_gives_the_gc_back() -> None:
    # tests/emulator/test_cli.py runs ``main`` in-process; the freeze must not outlive it.
    assert main(["demo", "--speed", "50", "--seed", "2"]) == 0
    assert gc.get_freeze_count() == 0
