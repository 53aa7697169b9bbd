"""Hostile and malformed input: 413 before reading, parse errors 400, schema errors 422."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from bmdx.reference._internal.limits import limits
from bmdx.reference._internal.node import DevNode
from tests.node.conftest import Signed, problem
from tests.node.kit import audit_tx, snapshot
from tests.thirdparty import files, require_vectors

pytestmark = pytest.mark.anyio

JSON = {"Content-Type": "application/json"}
XML = {"Content-Type": "application/xml"}


@pytest.mark.requirement("BMDX-API-006")
@pytest.mark.requirement("BMDX-FMT-007")
async def test_oversized_body_by_content_length_is_413_before_authentication(
    node: DevNode, http: httpx.AsyncClient
) -> None:
    before = snapshot(node)
    body = b"[" * (limits().max_body_bytes + 1)
    response = await http.post("/ledger/transactions", content=body, headers=JSON)
    problem(response, 413, "BMDX-FMT-007", "too-large")
    assert snapshot(node) == before


@pytest.mark.requirement("BMDX-API-006")
async def test_oversized_streamed_body_is_413_without_reading_it_all(
    node: DevNode, http: httpx.AsyncClient
) -> None:
    chunk = b" " * 65536
    sent = 0
    total_chunks = limits().max_body_bytes // len(chunk) + 64

    async def stream() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(total_chunks):
            sent += 1
            yield chunk

    before = snapshot(node)
    response = await http.post("/ledger/transactions", content=stream(), headers=JSON)
    problem(response, 413, "BMDX-FMT-007", "too-large")
    assert sent < total_chunks
    assert snapshot(node) == before


@pytest.mark.requirement("BMDX-API-007")
@pytest.mark.requirement("BMDX-FMT-006")
async def test_deep_nesting_is_400(node: DevNode, signed: Signed) -> None:
    depth = limits().max_nesting_depth + 1
    body = b'{"a":' * depth + b"1" + b"}" * depth
    response = await signed("dev-hospital").post("/ledger/transactions", content=body, headers=JSON)
    problem(response, 400, "BMDX-FMT-006", "nesting-depth")


@pytest.mark.requirement("BMDX-API-007")
@pytest.mark.requirement("BMDX-FMT-003")
async def test_duplicate_member_is_400(node: DevNode, signed: Signed) -> None:
    body = b'{"objectType": "Transaction", "objectType": "Transaction"}'
    response = await signed("dev-hospital").post("/ledger/transactions", content=body, headers=JSON)
    problem(response, 400, "BMDX-FMT-003", "duplicate-key")


@pytest.mark.requirement("BMDX-API-008")
async def test_schema_violation_is_422_with_every_violation(node: DevNode, signed: Signed) -> None:
    tx = audit_tx(node, node.members["dev-hospital"])
    tx["sequence"] = 0
    tx["sender"] = "not a participant id"
    before = snapshot(node)
    response = await signed("dev-hospital").post("/ledger/transactions", json=tx)
    body = problem(response, 422, "BMDX-DM-050", "schema")
    pointers = {v["pointer"]: v["requirement"] for v in body["violations"]}
    assert set(pointers) == {"/sequence", "/sender"}
    assert snapshot(node) == before


@pytest.mark.requirement("BMDX-API-008")
async def test_other_object_type_is_422(node: DevNode, signed: Signed) -> None:
    event = node.network.audit_event(node.members["dev-hospital"])
    response = await signed("dev-hospital").post("/ledger/transactions", json=event)
    body = problem(response, 422, "BMDX-API-008", "unexpected-object-type")
    assert body["pointer"] == "/objectType"


@pytest.mark.requirement("BMDX-API-009")
async def test_unsupported_content_type_is_415(node: DevNode, signed: Signed) -> None:
    tx = json.dumps(audit_tx(node, node.members["dev-hospital"])).encode()
    response = await signed("dev-hospital").post(
        "/ledger/transactions", content=tx, headers={"Content-Type": "text/plain"}
    )
    problem(response, 415, "BMDX-API-009", "unsupported-media-type")


@pytest.mark.requirement("BMDX-API-010")
async def test_transaction_in_xml_is_accepted(node: DevNode, signed: Signed) -> None:
    from bmdx.reference._internal.xmlmap import json_to_xml  # noqa: PLC0415

    tx = audit_tx(node, node.members["dev-hospital"])
    response = await signed("dev-hospital").post(
        "/ledger/transactions", content=json_to_xml(tx), headers=XML
    )
    assert response.status_code == 202, response.text
    assert [fx.document for fx in node.service.ledger.pending] == [tx]


@pytest.mark.requirement("BMDX-API-007")
@pytest.mark.requirement("BMDX-API-004")
@pytest.mark.requirement("BMDX-FMT-010")
async def test_every_xml_attack_is_refused(
    node: DevNode, signed: Signed, network_blocked: list[object]
) -> None:
    attacks = files("xml-attacks", "*.x*")
    outcomes = {}
    before = snapshot(node)
    for path in attacks:
        response = await signed("dev-hospital").post(
            "/ledger/transactions", content=path.read_bytes(), headers=XML
        )
        body = response.json()
        outcomes[path.name] = (response.status_code, body["requirement"], body["reason"])
    require_vectors(len(outcomes), "xml-attacks")
    # Every attack document declares a DTD; the XSD is not a BMDX document at all.
    expected = {
        name: (400, "BMDX-FMT-011", "namespace")
        if name.endswith(".xsd")
        else (400, "BMDX-FMT-010", "forbidden-dtd")
        for name in outcomes
    }
    assert outcomes == expected
    assert network_blocked == []
    assert snapshot(node) == before
