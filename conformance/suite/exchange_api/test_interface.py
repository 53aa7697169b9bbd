"""The node's interface: capability document, problem details, hostile input, media types.

Each test cites one requirement of spec/requirements/api.yaml; every refusal is checked
for its status, its problem document and for the node's state not having moved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import http_sf
import pytest
from defusedxml import ElementTree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bmdx.conformance._internal.http_client import COMPONENTS, LABEL, PARAMETERS, NodeClient
from bmdx.conformance._internal.verifiers.objects import violations
from bmdx.conformance.suite.exchange_api._common import grant, no_leak, patient, problem


@pytest.mark.requirement("BMDX-API-001:e8d5365343e06c8e")
def test_capability_document(node: NodeClient) -> None:
    """A node MUST answer GET /.well-known/bmdx, without requiring a request signature,
    with status 200 and a CapabilityDocument in application/json."""
    response = node.get("/.well-known/bmdx", signing=None)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = node.json(response)
    assert violations(document, "CapabilityDocument") == []


@pytest.mark.requirement("BMDX-API-002:7e6d8245b11f1bec")
def test_capability_validator_set_is_in_force(node: NodeClient) -> None:
    """The validatorSet of a node's capability document MUST be the validator set in force
    at the height of the node's latest committed block, equal to the answer of GET
    /ledger/validator-sets/{height} for that height."""
    document = node.capabilities()
    height = node.head()["height"]
    assert document["validatorSet"] == node.read(f"/ledger/validator-sets/{height}")


@pytest.mark.requirement("BMDX-API-003:b09702bf0c63be76")
@pytest.mark.parametrize(
    ("method", "path", "kw", "status"),
    [
        ("GET", "/participants/urn:bmdx:participant:no-such-participant-0", {}, 404),
        ("GET", "/ledger/blocks/not-a-height", {}, 400),
        ("GET", "/ledger/head", {"signing": None}, 401),
        (
            "POST",
            "/ledger/transactions",
            {"content": b"x", "headers": {"Content-Type": "text/plain"}},
            415,
        ),
        ("GET", "/ledger/head", {"headers": {"Accept": "image/png"}}, 406),
        ("POST", "/ledger/transactions", {"json_body": {"objectType": "Transaction"}}, 422),
    ],
    ids=["404", "400", "401", "415", "406", "422"],
)
def test_problem_details_on_every_error(
    node: NodeClient, method: str, path: str, kw: dict[str, Any], status: int
) -> None:
    """Every response of a node with a 4xx or 5xx status MUST carry an RFC 9457 problem
    document in application/problem+json, valid against the ErrorResponse schema, whose
    status member equals the response status and whose requirement member names the
    requirement the request broke."""
    problem(node, node.request(method, path, **kw), status)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
HOSTILE_BYTES = st.one_of(
    st.binary(max_size=200),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda v, k: json.dumps({"objectType": "Transaction", k: v}).encode(),
        JSON_VALUES,
        st.sampled_from(["type", "sender", "sequence", "inputs", "outputs", "signatures"]),
    ),
)


@pytest.mark.requirement("BMDX-API-004:78643456b5dc62d7")
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=HOSTILE_BYTES, path=st.sampled_from(["/ledger/transactions", "/consents", "/participants"])
)
def test_never_500_or_internals(node: NodeClient, body: bytes, path: str) -> None:
    """A node MUST NOT answer any request, however malformed or hostile, with status 500,
    and MUST NOT reveal implementation internals such as stack traces, file paths or
    query text in a response."""
    response = node.post(path, content=body, headers={"Content-Type": "application/json"})
    no_leak(response)
    assert response.status_code in (400, 403, 409, 413, 422), response.text[:300]


@pytest.mark.requirement("BMDX-API-005:a484a98541581486")
def test_refused_requests_change_nothing(participants: tuple[NodeClient, ...]) -> None:
    """A request that a node answers with a 4xx status MUST change nothing: the ledger
    head, the transactions pooled for the next block, every participant's sequence
    number and every stored object stay as they were."""
    writer = patient(participants)
    tx, consent = grant(writer)
    gap = dict(tx, sequence=tx["sequence"] + 5)
    from bmdx.conformance._internal.http_client import sign_object  # noqa: PLC0415

    gap = sign_object({**gap, "signatures": []}, writer.key, kid=writer.kid)
    writer.wait_committed_pool()
    before = writer.state([p.id for p in participants])
    for body in (gap, {**tx, "signatures": []}, {**tx, "sender": participants[0].id}):
        response = writer.post("/consents", json_body=body)
        assert 400 <= response.status_code < 500, response.text[:300]
    assert writer.state([p.id for p in participants]) == before
    assert writer.live_version(consent["consentId"]) is None


@pytest.mark.requirement("BMDX-API-006:f6e9fa6042589438")
def test_oversized_body(node: NodeClient) -> None:
    """A node MUST answer a request whose body is larger than the max_body_bytes of its
    capability document's limits with 413, and MUST do so without reading more of the
    body than that limit."""
    limit = int(node.capabilities()["limits"]["maxBodyBytes"])
    body = b'{"objectType":"Transaction","pad":"' + b"a" * limit + b'"}'
    before = node.state()
    document = problem(
        node,
        node.post(
            "/ledger/transactions", content=body, headers={"Content-Type": "application/json"}
        ),
        413,
    )
    assert document["requirement"].startswith("BMDX-")
    assert node.state() == before


NOT_IJSON = {
    "duplicate-key": b'{"objectType":"Transaction","objectType":"Transaction"}',
    "lone-surrogate": b'{"objectType":"Transaction","sender":"\\ud800"}',
    "nan": b'{"objectType":"Transaction","sequence":NaN}',
    "big-integer": b'{"objectType":"Transaction","sequence":9007199254740993}',
    "not-utf8": b'{"objectType":"\xff"}',
    "trailing-garbage": b'{"objectType":"Transaction"} x',
}


@pytest.mark.requirement("BMDX-API-007:f602da1144625559")
@pytest.mark.parametrize("case", [*NOT_IJSON, "too-deep"])
def test_not_ijson_is_400(node: NodeClient, case: str) -> None:
    """A node MUST answer with 400 a request body that is not I-JSON or is not well-formed
    safe XML, or that nests deeper than the max_nesting_depth of its capability
    document's limits, and the problem document MUST name the BMDX-FMT requirement
    broken."""
    if case == "too-deep":
        depth = int(node.capabilities()["limits"]["maxNestingDepth"]) + 1
        body = ('{"a":' * depth + "1" + "}" * depth).encode()
    else:
        body = NOT_IJSON[case]
    before = node.state()
    response = node.post(
        "/ledger/transactions", content=body, headers={"Content-Type": "application/json"}
    )
    assert problem(node, response, 400)["requirement"].startswith("BMDX-FMT-")
    assert node.state() == before


def _xml_attack_files() -> list[Any]:
    from bmdx.conformance._internal.specdata import spec_dir  # noqa: PLC0415

    base = spec_dir() / "vectors" / "xml-attacks"
    files = sorted(p.name for p in base.glob("*.xml"))
    if not files:
        raise RuntimeError("no XML attack vectors in the spec: zero vectors would run")
    return [pytest.param(name, id=name.removesuffix(".xml")) for name in files]


@pytest.mark.requirement("BMDX-API-007:f602da1144625559")
@pytest.mark.parametrize("name", _xml_attack_files())
def test_xml_attacks_are_400(node: NodeClient, spec_root: Path, name: str) -> None:
    """A node MUST answer with 400 a request body that is not I-JSON or is not well-formed
    safe XML, or that nests deeper than the max_nesting_depth of its capability
    document's limits, and the problem document MUST name the BMDX-FMT requirement
    broken."""
    body = (spec_root / "vectors" / "xml-attacks" / name).read_bytes()
    before = node.state()
    response = node.post(
        "/ledger/transactions", content=body, headers={"Content-Type": "application/xml"}
    )
    no_leak(response)
    document = problem(node, response, response.status_code)
    assert response.status_code in (400, 422), response.text[:300]
    assert document["requirement"].startswith(("BMDX-FMT-", "BMDX-DM-", "BMDX-API-")), document
    assert node.state() == before


@pytest.mark.requirement("BMDX-API-008:ca713d5223b74ccb")
def test_schema_violations_listed(participants: tuple[NodeClient, ...]) -> None:
    """A node MUST answer with 422 a well-formed request body that is not valid against
    the schema the operation names, and the problem document MUST list every violation
    with its JSON pointer and the requirement it breaks."""
    writer = patient(participants)
    tx, _ = grant(writer)
    broken = {k: v for k, v in tx.items() if k != "timestamp"}
    broken["sequence"] = -1
    before = writer.state()
    document = problem(writer, writer.post("/consents", json_body=broken), 422)
    found = document.get("violations")
    assert isinstance(found, list), "no violations listed"
    assert len(found) >= 2, f"two violations expected (timestamp, sequence): {found}"
    for violation in found:
        assert "pointer" in violation
        assert str(violation.get("requirement", "")).startswith("BMDX-")
    assert writer.state() == before


@pytest.mark.requirement("BMDX-API-009:67e8ba9563c6c590")
@pytest.mark.parametrize(
    "media", ["text/plain", "application/x-www-form-urlencoded", "application/yaml"]
)
def test_unsupported_media_type(participants: tuple[NodeClient, ...], media: str) -> None:
    """A node MUST answer with 415 a request carrying a body whose Content-Type is not one
    the operation accepts (application/json, or application/xml for BMDX documents)."""
    writer = patient(participants)
    tx, consent = grant(writer)
    before = writer.state()
    body = json.dumps(tx).encode()
    problem(writer, writer.post("/consents", content=body, headers={"Content-Type": media}), 415)
    assert writer.state() == before
    assert writer.live_version(consent["consentId"]) is None


@pytest.mark.requirement("BMDX-API-010:1119fce88ff6b042")
@pytest.mark.parametrize("example", ["participant-register", "key-rotate", "key-revoke"])
def test_xml_and_json_same_outcome(node: NodeClient, spec_root: Path, example: str) -> None:
    """Every operation of spec/api/openapi.yaml that accepts a BMDX document in
    application/json MUST also accept it in application/xml, under the BMDX JSON-XML
    mapping, with the same outcome."""
    folder = spec_root / "examples" / "valid" / "transaction"
    as_json = node.post(
        "/ledger/transactions",
        content=(folder / f"{example}.json").read_bytes(),
        headers={"Content-Type": "application/json"},
    )
    as_xml = node.post(
        "/ledger/transactions",
        content=(folder / f"{example}.xml").read_bytes(),
        headers={"Content-Type": "application/xml"},
    )
    assert as_json.status_code == as_xml.status_code, (as_json.text[:300], as_xml.text[:300])
    first, second = node.json(as_json), node.json(as_xml)
    assert (first.get("requirement"), first.get("reason")) == (
        second.get("requirement"),
        second.get("reason"),
    )


@pytest.mark.requirement("BMDX-API-011:4ee90d31ac97a4f4")
def test_content_negotiation(node: NodeClient) -> None:
    """A node MUST answer a request for a BMDX document whose Accept field prefers
    application/xml with the document in application/xml under the BMDX JSON-XML
    mapping, and with application/json when Accept is absent or prefers it."""
    path = f"/participants/{node.id}"
    plain = node.get(path)
    assert plain.headers["content-type"].startswith("application/json")
    preferred = node.get(path, headers={"Accept": "application/json;q=1, application/xml;q=0.5"})
    assert preferred.headers["content-type"].startswith("application/json")
    xml = node.get(path, headers={"Accept": "application/xml, application/json;q=0.1"})
    assert xml.status_code == 200
    assert xml.headers["content-type"].startswith("application/xml")
    element = ElementTree.fromstring(xml.content)
    assert element.tag.rsplit("}", 1)[-1] == "Participant"
    assert node.json(plain)["id"] in xml.text


@pytest.mark.requirement("BMDX-API-012:9e776cb829fe5161")
@pytest.mark.parametrize("path", ["/ledger/head", "/participants/{id}", "/.well-known/bmdx"])
def test_not_acceptable(node: NodeClient, path: str) -> None:
    """A node MUST answer with 406 a request whose Accept field admits none of the media
    types the operation produces."""
    problem(node, node.get(path.format(id=node.id), headers={"Accept": "image/png"}), 406)


@pytest.mark.requirement("BMDX-API-015:1b5d430d31300fb7")
def test_unauthenticated_answer_describes_signature(node: NodeClient) -> None:
    """A node MUST answer every request that fails authentication with 401, an
    Accept-Signature field (RFC 9421 section 5.1) naming the label bmdx, the covered
    components and the parameters the profile requires, and a problem document naming
    the BMDX-SEC requirement and reason."""
    response = node.get("/ledger/head", signing=None)
    document = problem(node, response, 401)
    assert document["requirement"].startswith("BMDX-SEC-")
    parsed: Any = http_sf.parse(response.headers["accept-signature"].encode(), tltype="dictionary")
    assert LABEL in parsed, parsed
    members, params = parsed[LABEL]
    assert tuple(str(m[0]) for m in members) == COMPONENTS
    assert set(params) == set(PARAMETERS)


@pytest.mark.requirement("BMDX-API-016:21e163efa4477f26")
@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/ledger/head"), ("DELETE", "/consents"), ("PATCH", "/participants/{id}")],
)
def test_method_not_allowed(node: NodeClient, method: str, path: str) -> None:
    """A node MUST answer with 405 and an Allow field a request whose method the path
    does not support."""
    response = node.request(method, path.format(id=node.id))
    assert response.status_code == 405, response.text[:300]
    assert response.headers.get("allow"), "no Allow field"
    no_leak(response)
