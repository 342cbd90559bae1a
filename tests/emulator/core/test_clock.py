"""The virtual clock: processes run in call time, ties in scheduling order, waits wake on a
predicate or a deadline, cancel stops a process, a failing process is reported."""

from __future__ import annotations

from rtwidgets.emulator.core.clock import Process, ProcessGen, Scheduler, Until


def test_sleeps_run_in_call_time_and_ties_in_order() -> None:
    log: list[tuple[str, float]] = []
    sched = Scheduler()

    def proc(name: str, times: list[float]) -> ProcessGen:
        for t in times:
            yield t
            log.append((name, sched.now))

    sched.spawn("a", proc("a", [10, 30]))
    sched.spawn("b", proc("b", [10, 20]))
    assert sched.next_deadline() == 0
    sched.run_until(15)
    assert log == [("a", 10), ("b", 10)]
    assert sched.now == 15
    assert sched.next_deadline() == 20
    sched.run_until(100)
    assert log[2:] == [("b", 20), ("a", 30)]
    assert sched.next_deadline() is None


def test_until_wakes_on_the_predicate_or_the_deadline() -> None:
    flag = {"set": False}
    results: list[tuple[bool, float]] = []
    sched = Scheduler()

    def waiter(deadline: float) -> ProcessGen:
        ok = yield Until(lambda: flag["set"], deadline)
        results.append((ok, sched.now))

    sched.spawn("w1", waiter(50))
    sched.spawn("w2", waiter(500))
    sched.run_until(60)
    assert results == [(False, 50)]
    flag["set"] = True
    sched.settle()
    assert results == [(False, 50), (True, 60)]


def test_cancel_and_errors() -> None:
    errors: list[tuple[str, str]] = []
    sched = Scheduler(on_error=lambda p, e: errors.append((p.name, str(e))))
    ran: list[str] = []

    def later() -> ProcessGen:
        yield 10
        ran.append("later")

    def broken() -> ProcessGen:
        yield 5
        raise RuntimeError("script bug")

    proc: Process = sched.spawn("later", later())
    sched.spawn("broken", broken())
    sched.run_until(1)
    sched.cancel(proc)
    sched.run_until(100)
    assert ran == []
    assert errors == [("broken", "script bug")]
    assert proc.done
