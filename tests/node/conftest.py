"""A development node on SQLite in ``tmp_path``, a test clock, and signing clients.

The node runs no background committer (``commit_interval_ms=0``): tests commit with
``service.commit_now()``.  Requests go through ``httpx.ASGITransport``, so nothing
listens on a socket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bmdx.reference._internal.keys import PrivateKey
from bmdx.reference._internal.node import (
    AsyncSignedClient,
    DevNode,
    NodeConfig,
    create_app,
    dev_node,
)
from bmdx.reference._internal.node.openapi import response_validator

BASE = "http://testserver"


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.value = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += timedelta(seconds=seconds)

    def seconds(self) -> int:
        return int(self.value.timestamp())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_node(url: str, clock: Clock) -> DevNode:
    return dev_node(url, clock=clock, config=NodeConfig(dev=True, commit_interval_ms=0))


@pytest.fixture
def node(tmp_path: Path, clock: Clock) -> Iterator[DevNode]:
    made = make_node(f"sqlite:///{tmp_path / 'node.db'}", clock)
    yield made
    made.service.close()


@pytest.fixture
async def http(node: DevNode) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(node.service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


Signed = Callable[..., AsyncSignedClient]


@pytest.fixture
def signed(http: httpx.AsyncClient, node: DevNode, clock: Clock) -> Signed:
    """``signed("dev-hospital")`` or ``signed(participant_id, key)``: a signing client."""

    def make(who: str, key: PrivateKey | None = None, **kw: Any) -> AsyncSignedClient:
        if key is None:
            founder = node.network.platform if who == "platform" else node.members[who]
            return AsyncSignedClient(http, founder.id, founder.signing, now=clock.seconds, **kw)
        return AsyncSignedClient(http, who, key, now=clock.seconds, **kw)

    return make


def conforms(operation_id: str, response: httpx.Response) -> Any:
    """Assert ``response`` is one the interface document declares; return its JSON body."""
    media = response.headers["content-type"].split(";")[0]
    validator = response_validator(operation_id, response.status_code, media)
    assert validator is not None, (
        f"{operation_id} declares no {response.status_code} {media}: {response.text[:500]}"
    )
    if media == "application/xml" or media == "text/plain":
        return response.text
    body = response.json()
    errors = [e.message for e in validator.iter_errors(body)]
    assert not errors, errors
    return body


def problem(response: httpx.Response, status: int, requirement: str, reason: str) -> Any:
    """Assert ``response`` is the problem document naming ``requirement`` and ``reason``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert (body["requirement"], body["reason"]) == (requirement, reason), body
    from bmdx.reference._internal.schema import schema_set  # noqa: PLC0415

    schema_set().validate(body, "ErrorResponse")
    return body
