"""Request authentication at the node: every refusal is 401 and changes nothing."""

from __future__ import annotations

import json

import httpx
import pytest

from bmdx.reference._internal.keys import generate_key
from bmdx.reference._internal.node import DevNode
from tests.node.conftest import Clock, Signed, conforms, problem
from tests.node.kit import audit_tx, snapshot

pytestmark = pytest.mark.anyio


def _body(node: DevNode) -> bytes:
    return json.dumps(audit_tx(node, node.members["dev-hospital"])).encode()


async def _refused(
    node: DevNode, client: httpx.AsyncClient, request: httpx.Request, requirement: str, reason: str
) -> None:
    before = snapshot(node)
    response = await client.send(request)
    problem(response, 401, requirement, reason)
    assert response.headers["accept-signature"] == (
        'bmdx=("@method" "@target-uri" "content-digest");alg;created;keyid;nonce'
    )
    assert response.headers["www-authenticate"] == 'Signature realm="bmdx"'
    assert snapshot(node) == before


def _post(signed: Signed, node: DevNode, **kw: object) -> httpx.Request:
    client = signed("dev-hospital", **kw)
    return client.build(
        "POST",
        "/ledger/transactions",
        content=_body(node),
        headers={"Content-Type": "application/json"},
    )


@pytest.mark.requirement("BMDX-SEC-200")
@pytest.mark.requirement("BMDX-API-015")
@pytest.mark.requirement("BMDX-API-005")
async def test_unsigned_request(node: DevNode, http: httpx.AsyncClient, signed: Signed) -> None:
    request = signed("dev-hospital").build(
        "POST",
        "/ledger/transactions",
        content=_body(node),
        sign=False,
        headers={"Content-Type": "application/json"},
    )
    await _refused(node, http, request, "BMDX-SEC-200", "missing-signature")


@pytest.mark.requirement("BMDX-SEC-206")
async def test_replayed_request(node: DevNode, http: httpx.AsyncClient, signed: Signed) -> None:
    request = _post(signed, node)
    first = await http.send(request)
    receipt = conforms("submitTransaction", first)
    assert first.status_code == 202
    await _refused(node, http, request, "BMDX-SEC-206", "replayed-nonce")
    assert [fx.txid for fx in node.service.ledger.pending] == [receipt["txid"]]


@pytest.mark.requirement("BMDX-SEC-205")
async def test_expired_request(
    node: DevNode, http: httpx.AsyncClient, signed: Signed, clock: Clock
) -> None:
    request = _post(
        signed,
        node,
    )
    clock.advance(301)
    await _refused(node, http, request, "BMDX-SEC-205", "expired")


@pytest.mark.requirement("BMDX-SEC-204")
async def test_request_from_the_future(
    node: DevNode, http: httpx.AsyncClient, signed: Signed, clock: Clock
) -> None:
    clock.advance(31)
    request = _post(signed, node)
    clock.advance(-31)
    await _refused(node, http, request, "BMDX-SEC-204", "created-in-future")


@pytest.mark.requirement("BMDX-SEC-207")
async def test_unknown_key(node: DevNode, http: httpx.AsyncClient, signed: Signed) -> None:
    stranger = signed("urn:bmdx:participant:stranger", generate_key("Ed25519"))
    request = stranger.build(
        "POST",
        "/ledger/transactions",
        content=_body(node),
        headers={"Content-Type": "application/json"},
    )
    await _refused(node, http, request, "BMDX-SEC-207", "unknown-key")


@pytest.mark.requirement("BMDX-SEC-207")
async def test_encryption_key_cannot_sign_requests(
    node: DevNode, http: httpx.AsyncClient, signed: Signed
) -> None:
    hospital = node.members["dev-hospital"]
    assert hospital.encryption is not None
    forged = signed(hospital.id, generate_key("Ed25519"))
    request = forged.build("GET", "/ledger/head")
    # Claim the registered encryption key's id: the node knows it, but not for signing.
    request.headers["signature-input"] = request.headers["signature-input"].replace(
        forged.signer.key.kid, hospital.encryption.kid
    )
    await _refused(node, http, request, "BMDX-SEC-207", "unknown-key")


@pytest.mark.requirement("BMDX-SEC-203")
async def test_body_changed_after_signing(
    node: DevNode, http: httpx.AsyncClient, signed: Signed
) -> None:
    request = _post(signed, node)
    tampered = httpx.Request(
        "POST",
        request.url,
        headers=request.headers,
        content=_body(node).replace(b"success", b"failure"),
    )
    await _refused(node, http, tampered, "BMDX-SEC-203", "digest-mismatch")


@pytest.mark.requirement("BMDX-SEC-209")
async def test_url_changed_after_signing(
    node: DevNode, http: httpx.AsyncClient, signed: Signed
) -> None:
    request = signed("dev-hospital").build("GET", "/ledger/blocks/0")
    moved = httpx.Request("GET", "http://testserver/ledger/blocks/1", headers=request.headers)
    await _refused(node, http, moved, "BMDX-SEC-209", "bad-signature")


@pytest.mark.requirement("BMDX-API-013")
async def test_transaction_of_another_sender_is_403(node: DevNode, signed: Signed) -> None:
    before = snapshot(node)
    lab_tx = audit_tx(node, node.members["dev-laboratory"])
    response = await signed("dev-hospital").post("/ledger/transactions", json=lab_tx)
    problem(response, 403, "BMDX-API-013", "sender-mismatch")
    assert snapshot(node) == before
