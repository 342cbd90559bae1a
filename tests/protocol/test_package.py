"""rtwidgets.protocol re-exports: every listed name resolves to the private module's object."""

from __future__ import annotations

import rtwidgets.protocol as protocol
from rtwidgets.protocol import builders, session, state


def test_all_names_resolve() -> None:
    for name in protocol.__all__:
        assert getattr(protocol, name) is not None, name


def test_reexports_are_the_same_objects() -> None:
    assert protocol.SessionState is state.SessionState
    assert protocol.merge_session is session.merge_session
    assert protocol.validate_client_event is builders.validate_client_event
    assert sorted(protocol.__all__) == sorted(set(protocol.__all__))
