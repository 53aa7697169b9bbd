"""A small network for the exchange tests: a node, institutions, a patient, a regulator.

Everything runs in-process over ``httpx.ASGITransport`` with an injected clock; the
node commits only when a test says so (``commit_interval_ms=0``).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bmdx.reference._internal import jwe
from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.consent import consent_version_hash
from bmdx.reference._internal.ledger import DevNetwork
from bmdx.reference._internal.ledger.genesis import Founder
from bmdx.reference._internal.ledger.state import format_timestamp
from bmdx.reference._internal.node import AsyncSignedClient, NodeConfig, NodeService, create_app
from bmdx.reference._internal.node.exchange import Exchange, exchange_for

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

MEMBERS: tuple[tuple[str, str], ...] = (
    ("north-hospital", "hospital"),
    ("south-hospital", "hospital"),
    ("central-lab", "laboratory"),
    ("patient-ada", "patient"),
    ("patient-bo", "patient"),
    ("acme-insurer", "insurer"),
    ("health-regulator", "regulator"),
)


def pseudonym(label: str) -> str:
    digest = hashlib.sha256(label.encode()).digest()
    return "pseud:" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += timedelta(seconds=seconds)


@dataclass
class World:
    net: DevNetwork
    service: NodeService
    clock: Clock
    http: httpx.AsyncClient
    members: dict[str, Founder]
    uuids: Iterator[int] = field(default_factory=lambda: iter(range(1, 1_000_000)))

    @property
    def exchange(self) -> Exchange:
        return exchange_for(self.service)

    @property
    def node_key(self) -> dict[str, str]:
        assert self.service.identity.encryption is not None
        return self.service.identity.encryption.public.to_jwk()

    def client(self, slug: str) -> AsyncSignedClient:
        member = self.members[slug]
        return AsyncSignedClient(
            self.http, member.id, member.signing, now=lambda: int(self.clock().timestamp())
        )

    def new_id(self) -> str:
        n = next(self.uuids)
        return f"urn:uuid:00000000-0000-4000-8000-{n:012x}"

    def now(self) -> str:
        return format_timestamp(self.clock())

    def commit(self) -> None:
        self.service.commit_now()

    # -- documents -------------------------------------------------------------------

    def envelope(
        self,
        author: str,
        subject: str,
        plaintext: bytes,
        *,
        record_type: str = "emr-document",
        content_type: str = "application/fhir+json",
        content_version: str = "4.0.1",
        sensitivity: str = "N",
        data_classes: Sequence[str] | None = None,
        extra_recipients: Sequence[dict[str, str]] = (),
        salt: bytes | None = None,
    ) -> dict[str, Any]:
        """A RecordEnvelope by ``author`` for the node as custodian, signed."""
        member = self.members[author]
        assert member.encryption is not None
        salt = os.urandom(32) if salt is None else salt
        token = jwe.encrypt(
            plaintext, [member.encryption.public.to_jwk(), self.node_key, *extra_recipients]
        )
        stored = canonical_bytes(token)
        header: dict[str, Any] = {
            "objectType": "RecordHeader",
            "recordId": self.new_id(),
            "recordType": record_type,
            "subject": subject,
            "author": member.id,
            "created": self.now(),
            "contentType": content_type,
            "contentVersion": content_version,
            "sensitivity": sensitivity,
            "commitment": "sha-256:"
            + hashlib.sha256(salt + hashlib.sha256(plaintext).digest()).hexdigest(),
            "payload": {
                "objectType": "PayloadDescriptor",
                "location": "sha-256:" + hashlib.sha256(stored).hexdigest(),
                "size": len(stored),
                "mediaType": "application/jose+json",
                "encryption": {"enc": "A256GCM", "keyAgreement": "ECDH-ES+A256KW"},
                "recipients": len(token["recipients"]),
            },
        }
        if data_classes:
            header["dataClasses"] = list(data_classes)
        return {
            "objectType": "RecordEnvelope",
            "header": member.sign(header),
            "payload": token,
            "salt": base64.urlsafe_b64encode(salt).decode().rstrip("="),
        }

    def consent(
        self,
        patient: str,
        subject: str,
        provisions: list[dict[str, Any]],
        *,
        version: int = 1,
        consent_id: str | None = None,
        previous: dict[str, Any] | None = None,
        status: str = "active",
    ) -> dict[str, Any]:
        document: dict[str, Any] = {
            "objectType": "Consent",
            "consentId": consent_id or self.new_id(),
            "version": version,
            "subject": subject,
            "grantor": self.members[patient].id,
            "status": status,
            "issued": self.now(),
            "provision": {"type": "deny", "provisions": provisions},
            "separateConsent": False,
            "crossBorder": {"permitted": False},
        }
        if previous is not None:
            document["previous"] = consent_version_hash(previous)
        return self.members[patient].sign(document)

    def transaction(
        self,
        slug: str,
        tx_type: str,
        outputs: list[dict[str, Any]],
        inputs: Sequence[dict[str, str]] = (),
    ) -> dict[str, Any]:
        member = self.members[slug]
        _, sequence = self.service.sequence(member.id)
        return self.net.transaction(
            member, tx_type, outputs, inputs=inputs, timestamp=self.now(), sequence=sequence
        )


def treatment_permit(*roles: str, purposes: Sequence[str] = ("treatment",)) -> dict[str, Any]:
    return {
        "type": "permit",
        "actors": [{"role": r} for r in roles],
        "purposes": list(purposes),
    }


async def make_world(tmp_path: Path) -> AsyncIterator[World]:
    clock = Clock(START)
    net = DevNetwork(seed="exchange-tests", start=START - timedelta(minutes=5))
    ledger = net.ledger(f"sqlite:///{tmp_path / 'node.db'}", clock=clock)
    service = NodeService(
        ledger,
        identity=net.platform,
        config=NodeConfig(commit_interval_ms=0, dev=True),
        clock=clock,
        governance=net.governance,
    )
    members = {slug: net.member(slug, [role]) for slug, role in MEMBERS}
    height = service.head().height + 1
    service.submit_own(
        "participant.register",
        [m.document(height) for m in members.values()],
        signers=[g for g in net.governance if g.id != net.platform.id],
    )
    service.commit_now()
    app = create_app(service, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        world = World(net, service, clock, http, members)
        world.exchange._new_id = world.new_id  # reproducible ids in tests
        yield world
    exchange_for(service).payloads.close()
    service.close()
