"""Fixtures the runner's plugin gives every test, whatever its conftest provides.

The suite's own conftest may override them; both write evidence to the same stash
entry, so the report finds it either way.
"""

from __future__ import annotations

import random

import pytest

from bmdx.conformance._internal.targets import EVIDENCE_KEY, TARGET_KEY, Evidence

__all__ = ["evidence", "rng"]


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """This test's evidence: what it sent and received, for the reproduction recipe."""
    store = request.config.stash.setdefault(EVIDENCE_KEY, {})
    return store.setdefault(request.node.nodeid, Evidence())


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """A generator seeded by the run's ``--seed`` and the test id: reruns repeat inputs."""
    target = request.config.stash.get(TARGET_KEY, None)
    seed = target.seed if target is not None else 0
    # Not used for keys or nonces: only to pick generated test inputs repeatably.
    return random.Random(f"{seed}:{request.node.nodeid}")  # noqa: S311
