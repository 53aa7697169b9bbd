"""What the suite certifies: one target per run, handed to every test.

The runner builds a :class:`Target` from the command line and stores it in the pytest
config stash under :data:`TARGET_KEY`; fixtures in ``bmdx.conformance.suite`` read it.
Tests that need a kind of target the run does not have are reported as *not observed*
(never as passed).

Each test's :class:`Evidence` (``config.stash[EVIDENCE_KEY][nodeid]``) becomes its
reproduction recipe in the report.  An exchange is a dict with ``transport`` and, for
``http``, ``request`` = {``method``, ``url``, ``headers``, ``body``} and ``response`` =
{``status``, ``headers``, ``body``} (bodies as text, or {``base64``: ...} for bytes); for
``adapter``, ``request`` and ``response`` are the JSON lines.  Fixtures that learn who
the implementation is (the adapter's ``start`` answer, the capability document) store a
:class:`TargetInfo` under :data:`TARGET_INFO_KEY` for the report and the certificate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

__all__ = [
    "EVIDENCE_KEY",
    "TARGET_INFO_KEY",
    "TARGET_KEY",
    "Evidence",
    "Participant",
    "Target",
    "TargetInfo",
    "TargetKind",
]

TargetKind = Literal["embedded", "http", "adapter", "artifacts"]


@dataclass(frozen=True)
class Participant:
    """A participant of the target configuration whose private key the suite may use.

    ``jwk`` holds the private key: the runner registers its private members as secrets,
    so they are scrubbed from every report even if a test leaks one into a message.
    """

    id: str
    jwk: dict[str, Any] = field(repr=False)
    role: str | None = None
    kid: str | None = None


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
    participants: tuple[Participant, ...] = ()
    governance: Participant | None = None


@dataclass
class TargetInfo:
    """What the target said about itself: ``implementation`` {name, version, ...}, the
    ``profiles`` it declares, and the rest of what it said (``capabilities``)."""

    implementation: dict[str, str] = field(default_factory=dict)
    profiles: tuple[str, ...] = ()
    capabilities: dict[str, Any] = field(default_factory=dict)


@dataclass
class Evidence:
    """What one test sent and received, for the report's reproduction recipe.

    Secrets never enter: callers record requests with keys and plaintexts redacted
    (the reports are scanned for them in the suite's own tests).
    """

    exchanges: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set, repr=False)

    def record(self, exchange: dict[str, Any]) -> None:
        self.exchanges.append(exchange)

    def record_http(
        self,
        *,
        method: str,
        url: str,
        headers: dict[str, str],
        body: str | None = None,
        status: int | None = None,
        response_headers: dict[str, str] | None = None,
        response_body: str | None = None,
    ) -> None:
        """One HTTP request and (when one came) its response."""
        request: dict[str, Any] = {"method": method, "url": url, "headers": dict(headers)}
        if body is not None:
            request["body"] = body
        response: dict[str, Any] | None = None
        if status is not None:
            response = {"status": status, "headers": dict(response_headers or {})}
            if response_body is not None:
                response["body"] = response_body
        self.record({"transport": "http", "request": request, "response": response})

    def secret(self, *values: str) -> None:
        """Values that must never appear in a report (tokens, passphrases, plaintexts)."""
        self.secrets.update(v for v in values if v)

    def note(self, text: str) -> None:
        self.notes.append(text)


TARGET_KEY = pytest.StashKey[Target]()
TARGET_INFO_KEY = pytest.StashKey[TargetInfo]()
EVIDENCE_KEY = pytest.StashKey[dict[str, Evidence]]()
