"""Batcher: first poke after idle flushes at once; then at most one flush per interval."""

from __future__ import annotations

import asyncio

import pytest

from rtwidgets.widgets._batcher import Batcher


async def test_first_poke_flushes_now_then_waits_for_the_interval() -> None:
    calls: list[float] = []
    loop = asyncio.get_running_loop()
    b = Batcher(lambda: calls.append(loop.time()), interval=0.05)
    b.poke()
    assert len(calls) == 1
    b.poke()
    b.poke()
    assert len(calls) == 1
    assert b.pending
    await asyncio.sleep(0.08)
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.049
    assert not b.pending
    b.close()


async def test_flush_rate_is_bounded_under_constant_pokes() -> None:
    count = 0

    def flush() -> None:
        nonlocal count
        count += 1

    b = Batcher(flush, interval=0.05)
    loop = asyncio.get_running_loop()
    end = loop.time() + 0.5
    while loop.time() < end:
        b.poke()
        await asyncio.sleep(0.001)
    assert 5 <= count <= 12  # 0.5 s / 0.05 s = 10, plus the immediate one
    b.close()


async def test_close_cancels_the_scheduled_flush() -> None:
    calls: list[int] = []
    b = Batcher(lambda: calls.append(1), interval=0.02)
    b.poke()
    b.poke()
    b.close()
    await asyncio.sleep(0.05)
    assert calls == [1]
    b.poke()
    assert calls == [1]


async def test_a_failing_flush_does_not_stop_later_flushes() -> None:
    calls: list[int] = []

    def flush() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")

    b = Batcher(flush, interval=0.01)
    b.poke()
    b.poke()
    await asyncio.sleep(0.03)
    assert len(calls) == 2
    b.close()


def test_without_a_loop_every_poke_flushes() -> None:
    calls: list[int] = []
    b = Batcher(lambda: calls.append(1))
    b.poke()
    b.poke()
    assert calls == [1, 1]


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"interval: 0 is not positive"):
        Batcher(lambda: None, interval=0)


async def test_a_poke_from_inside_the_flush_comes_back_after_an_interval() -> None:
    calls: list[float] = []
    loop = asyncio.get_running_loop()
    b: Batcher

    def flush() -> None:
        calls.append(loop.time())
        if len(calls) < 3:
            b.poke()  # e.g. "price me again later"

    b = Batcher(flush, interval=0.02)
    b.poke()
    assert len(calls) == 1
    await asyncio.sleep(0.1)
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.019
    assert calls[2] - calls[1] >= 0.019
    b.close()
