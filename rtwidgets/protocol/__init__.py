"""The sans-I/O protocol core: event catalog, ids, client-event builders, the state reducer.

Nothing in this package opens a socket, touches asyncio or reads a clock.
"""
