"""A read is decided outside the service lock: what is pooled meanwhile still governs it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from bmdx.reference._internal.node import exchange as exchange_module
from bmdx.reference._internal.node.exchange import Attempt
from bmdx.reference._internal.node.service import Caller
from tests.node.conftest import problem
from tests.node.exchange_world import World, make_world, pseudonym, treatment_permit
from tests.node.test_records_exchange import FHIR, audit_actions, grant, publish, sha_doc

pytestmark = pytest.mark.anyio

ADA = pseudonym("ada")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for made in make_world(tmp_path):
        yield made


def _revoke(world: World, consent: dict[str, Any]) -> None:
    """Pool the patient's revocation of ``consent``, as POST .../revocations does."""
    patient = world.members["patient-ada"]
    revoked = world.consent(
        "patient-ada",
        ADA,
        [treatment_permit("hospital")],
        version=2,
        consent_id=consent["consentId"],
        previous=consent,
        status="revoked",
    )
    tx = world.transaction(
        "patient-ada",
        "consent.revoke",
        [revoked],
        inputs=[{"objectId": consent["consentId"], "version": sha_doc(consent)}],
    )
    attempt = Attempt(Caller(patient.id, patient.signing.kid), "sha-256:" + "0" * 64)
    world.exchange.consent_change(attempt, tx, "consent.revoke", consent["consentId"])


@pytest.mark.requirement("BMDX-API-062")
async def test_a_revocation_pooled_while_a_read_is_decided_governs_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    envelope = world.envelope("north-hospital", ADA, FHIR)
    assert (await publish(world, envelope)).status_code == 201
    consent = await grant(world, "patient-ada", ADA, treatment_permit("hospital"))
    world.commit()
    decide = exchange_module.decide
    decisions: list[str] = []

    def racing(
        consents: Sequence[Mapping[str, Any]], request: Mapping[str, Any], *args: Any, **kw: Any
    ) -> dict[str, Any]:
        decision: dict[str, Any] = decide(consents, request, *args, **kw)
        decisions.append(decision["decision"])
        if len(decisions) == 1:
            _revoke(world, consent)  # lands after this decision, before the read's audit
        return decision

    monkeypatch.setattr(exchange_module, "decide", racing)
    world.clock.advance(1)
    path = f"/records/{envelope['header']['recordId']}"
    response = await world.client("south-hospital").get(path, params={"purpose": "treatment"})
    problem(response, 403, "BMDX-API-061", "access-denied")
    assert decisions == ["permit", "deny"]
    assert audit_actions(world)[-2:] == [("consent-change", "success"), ("denial", "denied")]


@pytest.mark.requirement("BMDX-API-060")
async def test_a_read_nothing_raced_is_decided_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    envelope = world.envelope("north-hospital", ADA, FHIR)
    assert (await publish(world, envelope)).status_code == 201
    await grant(world, "patient-ada", ADA, treatment_permit("hospital"))
    world.commit()
    decide = exchange_module.decide
    calls: list[int] = []

    def counted(*args: Any, **kw: Any) -> dict[str, Any]:
        calls.append(1)
        result: dict[str, Any] = decide(*args, **kw)
        return result

    monkeypatch.setattr(exchange_module, "decide", counted)
    path = f"/records/{envelope['header']['recordId']}"
    response = await world.client("south-hospital").get(path, params={"purpose": "treatment"})
    assert response.status_code == 200, response.text
    assert len(calls) == 1
    assert audit_actions(world)[-1] == ("read", "success")
