"""What the suite certifies: one target per run, handed to every test.

The runner builds a :class:`Target` from the command line and stores it in the pytest
config stash under :data:`TARGET_KEY`; fixtures in ``bmdx.conformance.suite`` read it.
Tests that need a kind of target the run does not have are reported as *not observed*
(never as passed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

__all__ = ["TARGET_KEY", "EVIDENCE_KEY", "Evidence", "Target", "TargetKind"]

TargetKind = Literal["embedded", "http", "adapter", "artifacts"]


@dataclass(frozen=True)
class Target:
    """The implementation under test.

    ``embedded`` is the reference node started by the suite (an ``http`` target whose
    ``url`` the runner fills in once the node listens).  ``adapter_command`` is the argv
    of an adapter-protocol program; ``artifacts`` a directory of exported ledgers and
    documents; ``config`` the target configuration file of an HTTP node.
    """

    kind: TargetKind
    url: str | None = None
    config: Path | None = None
    adapter_command: tuple[str, ...] | None = None
    artifacts: Path | None = None
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Evidence:
    """What one test sent and received, for the report's reproduction recipe.

    Secrets never enter: callers record requests with keys and plaintexts redacted
    (the reports are scanned for them in the suite's own tests).
    """

    exchanges: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def record(self, exchange: dict[str, Any]) -> None:
        self.exchanges.append(exchange)

    def note(self, text: str) -> None:
        self.notes.append(text)


TARGET_KEY = pytest.StashKey[Target]()
EVIDENCE_KEY = pytest.StashKey[dict[str, Evidence]]()
