from __future__ import annotations

import socket
from typing import Any

import pytest


class NetworkAccessError(AssertionError):
    """Raised when code under test tries to open a network connection."""


@pytest.fixture
def network_blocked(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Refuse every outgoing connection and name resolution; yield the attempts."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise NetworkAccessError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts
