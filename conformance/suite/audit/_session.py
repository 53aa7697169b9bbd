"""A scripted session of access attempts, shared by the audit tests of one module.

Fresh participants are registered for each session, so that the actors' trails hold
only the session's attempts; the subjects are fresh pseudonyms.  Every request goes
through clients that record into one :class:`Evidence`, which the :class:`AuditOracle`
reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from bmdx.conformance._internal.http_client import (
    NodeClient,
    consent_document,
    custodian_key,
    enrol,
    pseudonym,
    record_envelope,
    timestamp,
)
from bmdx.conformance._internal.oracle import AuditOracle
from bmdx.conformance._internal.targets import Evidence, Target


@dataclass
class Network:
    """The session's participants (fresh), its subjects and the node's custodian key."""

    evidence: Evidence
    governance: NodeClient
    clients: dict[str, NodeClient]
    node_key: dict[str, Any]
    subjects: dict[str, str] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> NodeClient:
        return self.clients[name]

    def grant(self, patient: str, subject: str, provision: dict[str, Any]) -> dict[str, Any]:
        """A consent of ``patient`` on ``subject``, sent and answered 202."""
        client = self[patient]
        consent = consent_document(client, subject, provision)
        tx = client.signed_transaction("consent.grant", [consent])
        response = client.post("/consents", json_body=tx)
        assert response.status_code == 202, f"POST /consents: {response.text[:300]}"
        return consent

    def publish(
        self, author: str, subject: str, name: str, *, sensitivity: str = "N"
    ) -> dict[str, Any]:
        """A record of ``subject`` published by ``author`` (201), remembered as ``name``."""
        client = self[author]
        envelope = record_envelope(
            client,
            subject,
            f'{{"resourceType":"Observation","id":"{name}"}}'.encode(),
            [self.node_key],
            sensitivity=sensitivity,
        )
        response = client.post("/records", json_body=envelope)
        assert response.status_code == 201, f"POST /records: {response.text[:300]}"
        header: dict[str, Any] = envelope["header"]
        self.records[name] = header
        return header


@contextmanager
def network(target: Target, roles: dict[str, str]) -> Iterator[Network]:
    """Register one fresh participant per ``roles`` entry (name -> role), in one block."""
    if target.kind not in ("http", "embedded") or not target.url:
        pytest.skip("needs an HTTP node target")
    if target.governance is None:
        pytest.skip("the target configuration names no governance key")
    evidence = Evidence()
    timeout = float(target.options.get("timeout", 30.0))
    governance = NodeClient(target.url, target.governance, timeout=timeout)
    clients: dict[str, NodeClient] = {}
    try:
        members = {name: enrol(governance, [role]) for name, role in roles.items()}
        for member in members.values():
            governance.wait_committed(member.txid)
        for name, member in members.items():
            clients[name] = NodeClient(
                target.url, member.participant, evidence=evidence, timeout=timeout
            )
        node_key = custodian_key(governance.capabilities())
        yield Network(evidence, governance, clients, node_key)
    finally:
        for client in clients.values():
            client.close()
        governance.close()


def oracle_of(net: Network) -> AuditOracle:
    return AuditOracle(list(net.clients.values()), evidence=net.evidence)


def fresh_subjects(net: Network, *names: str) -> None:
    for name in names:
        net.subjects[name] = pseudonym()


def access_request(
    requester: NodeClient,
    subject: str,
    record: str,
    purpose: str,
    *,
    break_glass: bool = False,
    justification: str | None = None,
) -> dict[str, Any]:
    """An AccessRequest of ``requester`` for one record (POST /records/{id}/access)."""
    request: dict[str, Any] = {
        "objectType": "AccessRequest",
        "requestId": f"urn:uuid:{uuid.uuid4()}",
        "requester": requester.id,
        "subject": subject,
        "records": [record],
        "purpose": purpose,
        "breakGlass": break_glass,
        "requested": timestamp(requester.clock() - 1),
    }
    if justification is not None:
        request["justification"] = justification
    return request
