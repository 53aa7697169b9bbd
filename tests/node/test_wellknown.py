"""The capability document (BMDX-API-001, BMDX-API-002) and content negotiation."""

from __future__ import annotations

import importlib

import httpx
import pytest

from bmdx.reference._internal.node import ROUTERS
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.xmlmap import xml_to_json
from tests.node.conftest import Signed, conforms, problem

pytestmark = pytest.mark.anyio


@pytest.mark.requirement("BMDX-API-001")
@pytest.mark.requirement("BMDX-DM-080")
async def test_capability_document_needs_no_signature(http: httpx.AsyncClient) -> None:
    response = await http.get("/.well-known/bmdx")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = conforms("getCapabilityDocument", response)
    assert schema_set().validate(body) == "CapabilityDocument"
    assert body["specVersion"] == "1.0"
    served = set().union(*(importlib.import_module(m).PROFILES for m in ROUTERS))
    assert set(body["profiles"]) == served
    assert {"core-format", "security", "ledger", "exchange-api"} <= served
    assert body["algorithms"]["signature"] == ["ES256", "Ed25519"]
    assert body["limits"] == {
        "maxBodyBytes": 10485760,
        "maxNestingDepth": 64,
        "replayWindowSeconds": 300,
        "clockSkewSeconds": 30,
    }


@pytest.mark.requirement("BMDX-API-002")
async def test_validator_set_is_the_one_in_force_at_the_head(
    http: httpx.AsyncClient, signed: Signed
) -> None:
    capability = (await http.get("/.well-known/bmdx")).json()
    client = signed("dev-hospital")
    head = (await client.get("/ledger/head")).json()
    in_force = await client.get(f"/ledger/validator-sets/{head['height']}")
    assert capability["validatorSet"] == conforms("getValidatorSet", in_force)
    assert len(capability["validatorSet"]["validators"]) == 4
    assert capability["validatorSet"]["threshold"] == 3


@pytest.mark.requirement("BMDX-API-011")
async def test_xml_on_request_maps_back_to_the_json_document(http: httpx.AsyncClient) -> None:
    as_json = (await http.get("/.well-known/bmdx")).json()
    response = await http.get(
        "/.well-known/bmdx", headers={"Accept": "application/json;q=0.5, application/xml"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    assert xml_to_json(response.content) == as_json


@pytest.mark.requirement("BMDX-API-012")
async def test_unacceptable_media_type_is_406(http: httpx.AsyncClient) -> None:
    response = await http.get("/.well-known/bmdx", headers={"Accept": "text/html"})
    problem(response, 406, "BMDX-API-012", "not-acceptable")


@pytest.mark.requirement("BMDX-API-016")
async def test_unsupported_method_is_405_with_allow(signed: Signed) -> None:
    response = await signed("dev-hospital").delete("/ledger/head")
    problem(response, 405, "BMDX-API-016", "method-not-allowed")
    assert "GET" in response.headers["allow"]


@pytest.mark.requirement("BMDX-API-014")
async def test_unknown_path_is_404_after_authentication(
    http: httpx.AsyncClient, signed: Signed
) -> None:
    problem(await http.get("/no/such/thing"), 401, "BMDX-SEC-200", "missing-signature")
    problem(await signed("dev-hospital").get("/no/such/thing"), 404, "BMDX-API-014", "not-found")
