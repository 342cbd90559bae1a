"""The local Realtime emulator: calls API, sideband WebSocket, SIP webhooks, scripted calls.

A separate program inside the package: it imports nothing from rtwidgets except
``rtwidgets.protocol``. Start it in a kernel or a test with ``await Emulator.start()``, or
from a shell with ``rtwidgets emulator``; run a whole scripted call without a server in
virtual time with ``run_scenario``. Reference: docs/emulator.md, docs/scenarios.md.
"""

from ._call import EmulatorOptions
from ._faults import FAULT_KINDS, Fault, FaultError, parse_faults
from ._load import LoadCall, LoadResult
from ._scenario import Scenario, ScenarioError, list_scenarios, load_scenario
from ._server import Emulator
from ._virtual import VirtualCall, run_scenario
from ._webhooks import sign_webhook

__all__ = [
    "FAULT_KINDS",
    "Emulator",
    "EmulatorOptions",
    "Fault",
    "FaultError",
    "LoadCall",
    "LoadResult",
    "Scenario",
    "ScenarioError",
    "VirtualCall",
    "list_scenarios",
    "load_scenario",
    "parse_faults",
    "run_scenario",
    "sign_webhook",
]
