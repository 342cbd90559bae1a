"""Shared fixtures: a local emulator on 127.0.0.1 and a fake API key.

``emulator`` starts ``rtwidgets.emulator.Emulator.start(...)`` on 127.0.0.1 (a free port) and
closes it after the test. Defaults: speed 50 (a scripted call lasts about a second), seed 7.
Override any ``Emulator.start`` option for one test with the marker
``@pytest.mark.emulator(speed=20, scenario="tools", session_created_on_attach=True, ...)``.
``emulator_factory`` starts more emulators (each closed at teardown). Nothing here talks to
anything but 127.0.0.1, and the key is fake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

FAKE_API_KEY = "sk-test-not-a-real-key"
EMULATOR_DEFAULTS: dict[str, Any] = {"speed": 50.0, "seed": 7}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "emulator(**options): Emulator.start options for the `emulator` fixture")


@pytest.fixture
async def emulator_factory() -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """``await emulator_factory(**options)`` → a started Emulator, closed at teardown."""
    from rtwidgets.emulator import Emulator

    started: list[Emulator] = []

    async def make(**options: Any) -> Emulator:
        opts = {**EMULATOR_DEFAULTS, **options, "host": "127.0.0.1"}
        emu = await Emulator.start(**opts)
        started.append(emu)
        return emu

    try:
        yield make
    finally:
        for emu in reversed(started):
            await emu.close()


@pytest.fixture
async def emulator(request: pytest.FixtureRequest,
                   emulator_factory: Callable[..., Awaitable[Any]]) -> Any:
    """A started emulator on 127.0.0.1 (options from ``@pytest.mark.emulator(...)``)."""
    marker = request.node.get_closest_marker("emulator")
    options = dict(marker.kwargs) if marker is not None else {}
    return await emulator_factory(**options)
