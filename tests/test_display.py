"""``display(call)`` shows the console: the printer is registered by name with IPython."""

from __future__ import annotations

import pytest

from rtwidgets import _display


def test_without_ipython_shell_nothing_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert _display.register_display() is False


def test_registers_call_recording_and_replay_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython

    registered: list[tuple[str, str]] = []

    class Formatter:
        def for_type_by_name(self, module: str, name: str, func: object) -> None:
            assert callable(func)
            registered.append((module, name))

    class Shell:
        class display_formatter:  # mirrors IPython's attribute name
            mimebundle_formatter = Formatter()

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    assert _display.register_display() is True
    assert registered == [
        ("rtwidgets._call", "Call"),
        ("rtwidgets._recording", "Recording"),
        ("rtwidgets._recording", "Replay"),
    ]
