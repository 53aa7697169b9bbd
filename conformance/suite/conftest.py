"""Fixtures every conformance test may use: the target, its adapter, the spec data.

The runner puts the :class:`Target` in ``config.stash[TARGET_KEY]``.  A test that needs
an adapter on a run without one is skipped, which the report shows as *not observed*;
so is a test whose command the adapter does not list in its ``start`` answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bmdx.conformance._internal.adapter_client import AdapterClient
from bmdx.conformance._internal.http_client import NodeClient
from bmdx.conformance._internal.specdata import spec_dir
from bmdx.conformance._internal.targets import (
    EVIDENCE_KEY,
    TARGET_KEY,
    Evidence,
    Participant,
    Target,
)


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    found = pytestconfig.stash.get(TARGET_KEY, None)
    if found is None:
        pytest.skip("no target configured for this run")
    return found


@pytest.fixture(scope="session")
def spec_root() -> Path:
    return spec_dir()


def _timeout(target: Target) -> float:
    return float(target.options.get("adapter_timeout", 10.0))


@pytest.fixture(scope="session")
def adapter_session(target: Target) -> Iterator[AdapterClient]:
    if not target.adapter_command:
        pytest.skip("needs an adapter target")
    client = AdapterClient(target.adapter_command, timeout=_timeout(target))
    client.start()
    try:
        yield client
    finally:
        try:
            client.stop()
        finally:
            client.kill()


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    store = request.config.stash.setdefault(EVIDENCE_KEY, {})
    return store.setdefault(request.node.nodeid, Evidence())


@pytest.fixture
def adapter(adapter_session: AdapterClient, evidence: Evidence) -> Iterator[AdapterClient]:
    """The started adapter, recording into this test's evidence."""
    adapter_session.evidence = evidence
    try:
        yield adapter_session
    finally:
        if adapter_session.stderr:
            evidence.note(f"adapter stderr so far: {adapter_session.stderr[-4000:]}")


@pytest.fixture
def supports(adapter: AdapterClient) -> Callable[[str], None]:
    """``supports("sign")`` skips the test (not observed) unless the adapter lists it."""

    def require(cmd: str) -> None:
        if not adapter.supports(cmd):
            pytest.skip(f"the adapter does not implement {cmd}")

    return require


@pytest.fixture
def fresh_adapter(target: Target, evidence: Evidence) -> Iterator[Callable[[], AdapterClient]]:
    """Start private adapter processes (for tests of start, stop and end of input)."""
    if not target.adapter_command:
        pytest.skip("needs an adapter target")
    started: list[AdapterClient] = []

    def make() -> AdapterClient:
        assert target.adapter_command is not None
        client = AdapterClient(target.adapter_command, timeout=_timeout(target), evidence=evidence)
        client.spawn()
        started.append(client)
        return client

    yield make
    for client in started:
        client.kill()


# -- HTTP nodes ---------------------------------------------------------------------


def _node_target(target: Target) -> Target:
    if target.kind not in ("http", "embedded") or not target.url:
        pytest.skip("needs an HTTP node target")
    return target


def _client(target: Target, participant: Participant, evidence: Evidence) -> NodeClient:
    assert target.url is not None
    return NodeClient(
        target.url,
        participant,
        evidence=evidence,
        timeout=float(target.options.get("timeout", 30.0)),
    )


@pytest.fixture
def participants(target: Target, evidence: Evidence) -> Iterator[tuple[NodeClient, ...]]:
    """A signing client per configured participant, in the configuration's order."""
    _node_target(target)
    if not target.participants:
        pytest.skip("the target configuration names no participants")
    clients = tuple(_client(target, p, evidence) for p in target.participants)
    yield clients
    for client in clients:
        client.close()


@pytest.fixture
def node(participants: tuple[NodeClient, ...]) -> NodeClient:
    """The HTTP node under test, signed as the configuration's first participant."""
    return participants[0]


@pytest.fixture
def governance(target: Target, evidence: Evidence) -> Iterator[NodeClient]:
    """A client signing as the configuration's governance participant."""
    _node_target(target)
    if target.governance is None:
        pytest.skip("the target configuration names no governance key")
    client = _client(target, target.governance, evidence)
    yield client
    client.close()
