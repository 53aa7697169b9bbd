"""A small network of participants, consents and records, set up over HTTP once per module.

Everything is done through the node's interface with the suite's own keys and crypto:
participants are registered by the governance key with encryption keys whose private
halves the suite holds (so it can open what a node releases), consents are granted by
a patient participant, records are published by a laboratory, encrypted with jwcrypto to
the laboratory and to the node's custodian key of the capability document.

Setup requests are batched (registrations and grants pooled together, one block waited
for) because every round trip counts.  Each test then rebinds the clients to its own
evidence, so its report carries the requests it sent.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bmdx.conformance._internal.http_client import (
    Member,
    NodeClient,
    NodeState,
    consent_document,
    custodian_key,
    digest,
    enrol,
    pseudonym,
    public_key_document,
    record_envelope,
    request_digest,
    timestamp,
    txid,
)
from bmdx.conformance._internal.targets import Evidence, Target
from bmdx.conformance._internal.verifiers.objects import violations

__all__ = [
    "PERMIT_HOSPITAL_TREATMENT",
    "Actor",
    "Grant",
    "World",
    "access_request",
    "audit_events_of",
    "build_world",
    "quiet_state",
    "same_state",
    "uniform_denial",
]

PERMIT_HOSPITAL_TREATMENT: dict[str, Any] = {
    "type": "permit",
    "actors": [{"role": "hospital"}],
    "purposes": ["treatment"],
}
UNIFORM = ("BMDX-API-061", "access-denied")


@dataclass
class Actor:
    """A registered participant: a signing client and its private encryption key."""

    client: NodeClient
    encryption_key: dict[str, Any] = field(repr=False)

    @property
    def id(self) -> str:
        return self.client.id

    @property
    def enc_kid(self) -> str:
        return str(self.encryption_key["kid"])

    def public_enc(self) -> dict[str, Any]:
        return public_key_document(self.encryption_key, "enc")


@dataclass
class Grant:
    """A subject and the consent versions its patient granted, in order."""

    subject: str
    versions: list[dict[str, Any]]
    txids: list[str]

    @property
    def consent(self) -> dict[str, Any]:
        return self.versions[-1]

    @property
    def consent_id(self) -> str:
        return str(self.versions[0]["consentId"])


@dataclass
class World:
    """The participants every consent and record test needs, and what they published."""

    governance: NodeClient
    patient: Actor
    hospital: Actor  # jurisdiction DE
    abroad: Actor  # a hospital in US
    lab: Actor  # the author of every record
    insurer: Actor  # not a care provider
    regulator: Actor
    node_key: dict[str, Any]
    pending: list[str] = field(default_factory=list)

    def actors(self) -> Iterable[Actor]:
        return (self.patient, self.hospital, self.abroad, self.lab, self.insurer, self.regulator)

    def bind(self, evidence: Evidence) -> None:
        """Record every client's exchanges into ``evidence`` (the running test's)."""
        self.governance.evidence = evidence
        for actor in self.actors():
            actor.client.evidence = evidence

    def close(self) -> None:
        for actor in self.actors():
            actor.client.close()
        self.governance.close()

    # -- consents ---------------------------------------------------------------------

    def grant(
        self,
        provision: Mapping[str, Any] | None = None,
        *,
        subject: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Grant:
        """Grant version 1 of a consent for a fresh subject (pooled; see :meth:`settle`)."""
        patient = self.patient.client
        subject = subject or pseudonym()
        consent = consent_document(
            patient, subject, provision or PERMIT_HOSPITAL_TREATMENT, extra=extra
        )
        tx = patient.signed_transaction("consent.grant", [consent])
        response = patient.post("/consents", json_body=tx)
        assert response.status_code == 202, (
            f"POST /consents answered {response.status_code}: {response.text[:400]}"
        )
        self.pending.append(txid(tx))
        return Grant(subject, [consent], [txid(tx)])

    def revoke(self, grant: Grant, *, issued_ago: int = 1) -> httpx.Response:
        """Post the revocation of ``grant``'s version in force; the node's answer."""
        patient = self.patient.client
        current = grant.consent
        revocation = consent_document(
            patient,
            grant.subject,
            current["provision"],
            consent_id=grant.consent_id,
            version=int(current["version"]) + 1,
            status="revoked",
            issued_ago=issued_ago,
            extra={"previous": digest(current)},
        )
        tx = patient.signed_transaction(
            "consent.revoke",
            [revocation],
            inputs=[{"objectId": grant.consent_id, "version": digest(current)}],
        )
        response = patient.post(f"/consents/{grant.consent_id}/revocations", json_body=tx)
        if response.status_code == 202:
            grant.versions.append(revocation)
            grant.txids.append(txid(tx))
        return response

    def settle(self) -> None:
        """Wait until every grant submitted so far is committed."""
        if self.pending:
            self.patient.client.wait_committed(self.pending[-1])
            self.pending.clear()

    # -- records ----------------------------------------------------------------------

    def publish(
        self,
        subject: str,
        *,
        plaintext: bytes | None = None,
        **header: Any,
    ) -> dict[str, Any]:
        """Publish a record by the laboratory; the envelope it sent (201 asserted)."""
        lab = self.lab.client
        body = plaintext or (
            b'{"resourceType":"Observation","status":"final","id":"'
            + secrets.token_hex(8).encode()
            + b'"}'
        )
        envelope = record_envelope(
            lab, subject, body, [self.lab.public_enc(), self.node_key], **header
        )
        response = lab.post("/records", json_body=envelope)
        assert response.status_code == 201, (
            f"POST /records answered {response.status_code}: {response.text[:400]} [BMDX-API-050]"
        )
        # Kept by the suite only, never sent again: the plaintext and the node's receipt.
        envelope["plaintext"] = body
        envelope["receipt"] = lab.json(response)
        return envelope


def _actor(governance: NodeClient, member: Member, url: str) -> Actor:
    client = NodeClient(url, member.participant, evidence=governance.evidence)
    return Actor(client, member.encryption_key)


def build_world(target: Target) -> World:
    """Register the participants (one block) and read the node's custodian key."""
    if target.kind not in ("http", "embedded") or not target.url:
        pytest.skip("needs an HTTP node target")
    if target.governance is None:
        pytest.skip("the target configuration names no governance key")
    governance = NodeClient(
        target.url,
        target.governance,
        evidence=Evidence(),
        timeout=float(target.options.get("timeout", 30.0)),
    )
    plan: list[tuple[str, str | None]] = [
        ("patient", None),
        ("hospital", "DE"),
        ("hospital", "US"),
        ("laboratory", "DE"),
        ("insurer", "DE"),
        ("regulator", "DE"),
    ]
    members = [enrol(governance, [role], jurisdiction=where) for role, where in plan]
    governance.wait_committed(members[-1].txid)
    patient, hospital, abroad, lab, insurer, regulator = (
        _actor(governance, m, target.url) for m in members
    )
    return World(
        governance,
        patient=patient,
        hospital=hospital,
        abroad=abroad,
        lab=lab,
        insurer=insurer,
        regulator=regulator,
        node_key=custodian_key(governance.capabilities()),
    )


def access_request(
    requester: NodeClient,
    subject: str,
    record_id: str,
    purpose: str = "treatment",
    **members: Any,
) -> dict[str, Any]:
    """An AccessRequest of ``requester`` for one record (``members`` override)."""
    return {
        "objectType": "AccessRequest",
        "requestId": f"urn:uuid:{uuid.uuid4()}",
        "requester": requester.id,
        "subject": subject,
        "records": [record_id],
        "purpose": purpose,
        "breakGlass": False,
        "requested": timestamp(requester.clock()),
        **members,
    }


def uniform_denial(client: NodeClient, response: httpx.Response) -> dict[str, Any]:
    """The one refusal of a record access (BMDX-API-061): 403, access-denied."""
    assert response.status_code == 403, (
        f"a refused record access answered {response.status_code}, not the uniform 403: "
        f"{response.text[:300]} [BMDX-API-061]"
    )
    document: dict[str, Any] = client.json(response)
    assert violations(document, "ErrorResponse") == [], "not an ErrorResponse [BMDX-API-003]"
    assert (document.get("requirement"), document.get("reason")) == UNIFORM, (
        f"the refusal names {document.get('requirement')}/{document.get('reason')}, not the "
        f"uniform BMDX-API-061/access-denied"
    )
    return document


def audit_events_of(
    regulator: NodeClient, actor: str, requests: Iterable[httpx.Request]
) -> list[dict[str, Any]]:
    """The one AuditEvent of each request, found by its requestDigest (as a regulator).

    The suite recomputes each digest from what it sent, so a node cannot pass by
    auditing some other request (BMDX-API-070, BMDX-API-071).
    """
    page = regulator.read("/audit/events", params={"actor": actor, "limit": 1000})
    out = []
    for request in requests:
        wanted = request_digest(request)
        found = [e for e in page["items"] if e["requestDigest"] == wanted]
        assert len(found) == 1, (
            f"{len(found)} audit events carry the requestDigest of {request.method} "
            f"{request.url.path} (expected exactly one) [BMDX-API-070, BMDX-API-071]"
        )
        out.append(dict(found[0]))
    return out


def quiet_state(client: NodeClient, participants: Iterable[str]) -> NodeState:
    """The node's state once its pool is empty: what a refused request must not move."""
    client.wait_committed_pool()
    return client.state(list(participants))


def same_state(client: NodeClient, before: NodeState, participants: Iterable[str]) -> None:
    """Nothing but audit events changed since ``before`` (BMDX-API-005, BMDX-API-070).

    When the pool was empty and still is, equal state proves it with no extra request;
    otherwise the pool is waited out and every transaction committed since is read.
    """
    ids = list(participants)
    after = client.state(ids)
    if after == before:
        return
    head = client.wait_committed_pool()
    for height in range(before.height + 1, int(head["height"]) + 1):
        block = client.read(f"/ledger/blocks/{height}")
        kinds = {tx["type"] for tx in block["body"]["transactions"]}
        assert kinds <= {"audit.append", "alert.raise"}, (
            f"a refused request committed {sorted(kinds)} in block {height} [BMDX-API-005]"
        )
    assert client.state(ids).sequences == before.sequences, (
        "a refused request moved a participant's sequence number [BMDX-API-005]"
    )
