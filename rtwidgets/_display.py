"""Make ``display(call)`` and ``display(recording)`` show the call console.

Why here and not as ``Call._repr_mimebundle_``: the call layer must not import the widgets
above it (architecture.md, "each layer imports only the layers below it"). The top-level
package is the one place that sees every layer, so it binds the view to the objects by
registering a mimebundle printer with IPython — by *name*, so nothing is imported until an
object is actually displayed. Outside IPython this does nothing.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["register_display"]

_TYPES = (
    ("rtwidgets._call", "Call"),
    ("rtwidgets._recording", "Recording"),
    ("rtwidgets._recording", "Replay"),
)


def _console_bundle(obj: Any) -> Any:
    from .widgets import console_mimebundle

    return console_mimebundle(obj)


def register_display() -> bool:
    """Register the console as the rich display of calls and recordings; ``True`` if done."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    if shell is None:
        return False
    formatter = shell.display_formatter.mimebundle_formatter
    for module, name in _TYPES:
        formatter.for_type_by_name(module, name, _console_bundle)
    return True
