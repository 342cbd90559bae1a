"""The emulator's sans-I/O core: a session core per API on a virtual clock.

Why: the python-websockets lesson, for the server. Everything a call *does* lives here, pure
and synchronous: ``realtime.RealtimeSession`` (the Realtime GA protocol), the scripted
``caller.ScriptedCaller`` and ``model.ScriptedModel`` it hosts, and ``clock.Scheduler`` that
runs their scripts in call time. A shell drives a core with ``receive(frame, now)``,
``advance(now)`` and ``next_deadline()`` and does the I/O: the aiohttp server
(``emulator/_call.py``, ``_server.py``) maps wall time to call time by ``speed``; a virtual
run (``emulator/_virtual.py``) needs no clock at all. So with a seed the events of a call are
a function of the scenario and of the client events with the call time they arrived at.

The second protocol, GPT-Live (live-protocol.md), is the second session core
``live.LiveSession``: it hosts the same caller and model (``caller.CallerHost``) over the same
scenario files and returns the same ``outputs.Out`` to the same shells. What the two cores
do alike (the sans-I/O face, the output buffer, event stamping, how a call ends) is one base,
``base.SessionCore``.

Never: sockets, asyncio, threads or a clock.
"""

from .caller import CallerHost, ScriptedCaller
from .clock import Scheduler, Until
from .live import LiveSession
from .model import ScriptedModel
from .outputs import Out
from .realtime import CoreOptions, RealtimeSession

__all__ = ["CallerHost", "CoreOptions", "LiveSession", "Out", "RealtimeSession", "Scheduler",
           "ScriptedCaller", "ScriptedModel", "Until"]
