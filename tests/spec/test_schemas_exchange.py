"""The record, consent, audit and domain object schemas, their examples and requirements.

Every valid example validates; every invalid example breaks exactly the requirement its
``expected.yaml`` names; the values inside the valid examples are real (digests,
commitments, content addresses, signatures, consent chain, GS1 check digits, event
hashes, claim arithmetic); and the generator reproduces the examples byte for byte.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest
import yaml
from epcis_event_hash_generator import hash_generator, xml_to_py

from bmdx.reference._internal.b64 import b64url_decode
from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.errors import DocumentError
from bmdx.reference._internal.jwe import decrypt
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.signing import verify_document
from bmdx.reference._internal.specdata import schema_by_id, spec_dir
from bmdx.reference._internal.subset import check_schema
from tests.spec.examplekit import (
    invalid_cases,
    load_catalogue,
    load_json,
    valid_files,
    x_requirements,
)

SPEC = spec_dir()
SCHEMAS = SPEC / "schemas" / "json"
CATALOGUE = SPEC / "requirements" / "data-model-exchange.yaml"
GENERATOR = SPEC.parent / "tools" / "examples" / "gen_exchange_examples.py"

# File stem -> object type, for every schema this catalogue file governs.
OBJECTS = {
    "record-header": "RecordHeader",
    "payload-descriptor": "PayloadDescriptor",
    "record-envelope": "RecordEnvelope",
    "consent": "Consent",
    "access-request": "AccessRequest",
    "access-decision": "AccessDecision",
    "audit-event": "AuditEvent",
    "anomaly-alert": "AnomalyAlert",
    "erasure-receipt": "ErasureReceipt",
    "supply-chain-event": "SupplyChainEvent",
    "insurance-claim": "InsuranceClaim",
    "claim-adjudication": "ClaimAdjudication",
    "research-export": "ResearchExport",
    "quality-report": "QualityReport",
}
# common.json definitions this catalogue file owns.
COMMON_DEFS = (
    "objectId",
    "count",
    "recordType",
    "dataClass",
    "dataClasses",
    "purpose",
    "participantRole",
    "mediaType",
    "countryCode",
    "currency",
    "period",
    "interval",
    "fhirId",
    "code",
    "coding",
    "money",
)
ID_RANGE = range(100, 200)
EMPTY_POLICY = "sha-256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
SENSITIVE_CLASSES = {"mental-health", "sexual-health", "genetics", "substance-use"}


def _sha256(data: bytes) -> str:
    return "sha-256:" + hashlib.sha256(data).hexdigest()


def _examples(stem: str) -> dict[str, Any]:
    directory = SPEC / "examples" / "valid" / stem
    return {p.stem: load_json(p) for p in sorted(directory.glob("*.json"))}


@cache
def _generator() -> ModuleType:
    loader = importlib.util.spec_from_file_location("gen_exchange_examples", GENERATOR)
    assert loader is not None
    assert loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    sys.modules[loader.name] = module  # dataclasses resolve annotations through it
    loader.loader.exec_module(module)
    return module


# --- schemas -------------------------------------------------------------------------


@pytest.mark.parametrize(("stem", "object_type"), OBJECTS.items(), ids=list(OBJECTS))
def test_schema_compiles_and_names_its_object_type(stem: str, object_type: str) -> None:
    schema = load_json(SCHEMAS / f"{stem}.json")
    assert schema["x-object"] == object_type
    assert schema["title"] == object_type
    assert schema["$id"] == f"https://bmdx.org/spec/1/schemas/{stem}.json"
    assert object_type in schema_set().object_types
    assert schema_set().validator_for(object_type) is not None


@pytest.mark.requirement("BMDX-SPEC-002")
@pytest.mark.parametrize("stem", [*OBJECTS, "common"])
def test_schema_stays_inside_the_subset(stem: str) -> None:
    schemas = {p.name: load_json(p) for p in SCHEMAS.glob("*.json")}
    assert check_schema(schemas[f"{stem}.json"], f"{stem}.json", schemas=schemas) == []


def test_every_annotated_requirement_is_in_the_catalogue() -> None:
    catalogue = load_catalogue(CATALOGUE)
    used: set[str] = set()
    for stem in OBJECTS:
        used |= x_requirements(load_json(SCHEMAS / f"{stem}.json"))
    common = load_json(SCHEMAS / "common.json")["$defs"]
    used |= x_requirements({k: common[k] for k in COMMON_DEFS})
    mine = {r for r in used if int(r.rsplit("-", 1)[1]) in ID_RANGE}
    assert mine <= set(catalogue), sorted(mine - set(catalogue))
    for stem, object_type in OBJECTS.items():
        root = load_json(SCHEMAS / f"{stem}.json")["x-requirement"]
        assert object_type in catalogue[root].get("objects", []), (stem, root)


def test_catalogue_ids_stay_in_range() -> None:
    for requirement_id in load_catalogue(CATALOGUE):
        match = re.fullmatch(r"BMDX-DM-([0-9]{3})", requirement_id)
        assert match is not None
        assert int(match.group(1)) in ID_RANGE


def test_catalogue_objects_exist() -> None:
    known = set(schema_set().object_types)
    for requirement in load_catalogue(CATALOGUE).values():
        assert set(requirement.get("objects", [])) <= known, requirement["id"]


# --- examples ------------------------------------------------------------------------


@pytest.mark.parametrize("stem", list(OBJECTS))
def test_each_type_has_enough_examples(stem: str) -> None:
    valid = list((SPEC / "examples" / "valid" / stem).glob("*.json"))
    invalid_dir = SPEC / "examples" / "invalid" / stem
    invalid = {p.name for p in invalid_dir.glob("*.json")}
    expected = yaml.safe_load((invalid_dir / "expected.yaml").read_text(encoding="utf-8"))
    assert len(valid) >= 2
    assert len(invalid) >= 2
    assert {name for name in expected if name.endswith(".json")} == invalid


@pytest.mark.parametrize("path", valid_files(OBJECTS))
def test_valid_example_validates(path: Path) -> None:
    document = load_json(path)
    assert schema_set().document_violations(document) == []
    assert schema_set().validate_document(document) == OBJECTS[path.parent.name]


def _resolve(schema: dict[str, Any], base: str) -> tuple[dict[str, Any], str]:
    while "$ref" in schema:
        target = urljoin(base, schema["$ref"])
        base, fragment = urldefrag(target)
        node: Any = schema_by_id()[base]
        for token in filter(None, fragment.split("/")):
            node = node[token]
        schema = node
    return schema, base


def _assert_schema_order(value: Any, schema: dict[str, Any], base: str, where: str) -> None:
    schema, base = _resolve(schema, base)
    if isinstance(value, dict):
        order = list(schema.get("properties", {}))
        keys = list(value)
        assert keys == sorted(keys, key=order.index), where
        for key, item in value.items():
            _assert_schema_order(item, schema["properties"][key], base, f"{where}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _assert_schema_order(item, schema["items"], base, f"{where}/{i}")


@pytest.mark.parametrize("path", valid_files(OBJECTS))
def test_valid_example_is_pretty_printed_in_schema_order(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
    schema = load_json(SCHEMAS / f"{path.parent.name}.json")
    _assert_schema_order(json.loads(text), schema, schema["$id"], "")


@pytest.mark.parametrize(("path", "requirement"), invalid_cases(OBJECTS))
def test_invalid_example_breaks_exactly_its_requirement(path: Path, requirement: str) -> None:
    document = load_json(path)
    if document.get("objectType") not in schema_set().object_types:
        with pytest.raises(DocumentError) as info:  # nothing to validate against
            schema_set().document_violations(document)
        assert info.value.requirement == requirement
        return
    # The full validation: the schema, then the rules checked by code (semantic.py).
    violations = schema_set().document_violations(document)
    assert violations
    assert {v.requirement for v in violations} == {requirement}


def test_generator_reproduces_the_examples() -> None:
    generated = _generator().files(_generator().build(), SPEC)
    on_disk = {
        str(p.relative_to(SPEC / "examples")): p.read_text(encoding="utf-8")
        for kind in ("valid", "invalid")
        for stem in OBJECTS
        for p in (SPEC / "examples" / kind / stem).iterdir()
        if p.suffix in {".json", ".yaml"}
    }
    assert sorted(generated) == sorted(on_disk)
    for relative, text in generated.items():
        assert on_disk[relative] == text, relative


# --- the examples are real -----------------------------------------------------------


@pytest.mark.requirement("BMDX-DM-101")
@pytest.mark.parametrize("path", valid_files(OBJECTS))
def test_patients_are_pseudonymous(path: Path) -> None:
    def patients(node: Any) -> list[str]:
        if isinstance(node, list):
            return [p for item in node for p in patients(item)]
        if not isinstance(node, dict):
            return []
        found = [node[k] for k in ("patient", "administeredTo") if k in node]
        if "subject" in node and node.get("objectType") != "QualityReport":
            found.append(node["subject"])
        return found + [p for v in node.values() for p in patients(v)]

    for value in patients(load_json(path)):
        assert re.fullmatch(r"pseud:[A-Za-z0-9_-]{43}", value)


@pytest.mark.requirement("BMDX-DM-111")
@pytest.mark.requirement("BMDX-DM-112")
@pytest.mark.requirement("BMDX-DM-113")
@pytest.mark.parametrize("name", list(_examples("record-envelope")))
def test_envelope_payload_matches_its_descriptor(name: str) -> None:
    envelope = _examples("record-envelope")[name]
    descriptor = envelope["header"]["payload"]
    stored = canonical_bytes(envelope["payload"])
    assert descriptor["location"] == _sha256(stored)
    assert descriptor["size"] == len(stored)
    assert descriptor["recipients"] == len(envelope["payload"]["recipients"])
    protected = json.loads(b64url_decode(envelope["payload"]["protected"]))
    assert descriptor["encryption"]["enc"] == protected["enc"]
    for recipient in envelope["payload"]["recipients"]:
        assert recipient["header"]["alg"] == descriptor["encryption"]["keyAgreement"]


@pytest.mark.requirement("BMDX-DM-102")
@pytest.mark.requirement("BMDX-DM-103")
def test_plaintext_digest_and_commitment_match_the_decrypted_payload() -> None:
    gen = _generator()
    cases = {
        "lab-result-glucose": (
            "glucose",
            [("central-lab", "X25519"), ("riverside-hospital", "P-256")],
        ),
        "imaging-study-chest-xray": ("chest-xray", [("northside-imaging", "X25519")]),
    }
    envelopes = _examples("record-envelope")
    assert set(cases) == set(envelopes)
    for name, (label, holders) in cases.items():
        header, jwe = envelopes[name]["header"], envelopes[name]["payload"]
        for holder, curve in holders:
            plaintext = decrypt(jwe, gen.encryption_key(holder, curve))
            assert header["plaintextDigest"] == _sha256(plaintext)
            raw_digest = hashlib.sha256(plaintext).digest()
            salt = gen._secret(f"{label}:salt")
            assert len(salt) == 32
            assert header["commitment"] == _sha256(salt + raw_digest)
        assert header == _examples("record-header")[name]
        assert header["payload"] in _examples("payload-descriptor").values()


@pytest.mark.requirement("BMDX-DM-190")
def test_signatures_verify_with_the_named_signer() -> None:
    gen = _generator()
    signed = [
        *(("RecordHeader", d, d["author"]) for d in _examples("record-header").values()),
        *(("Consent", d, d["grantor"]) for d in _examples("consent").values()),
        *(("ErasureReceipt", d, gen.NODE) for d in _examples("erasure-receipt").values()),
        *(
            ("ClaimAdjudication", d, d["adjudicator"])
            for d in _examples("claim-adjudication").values()
        ),
        *(("QualityReport", d, gen.REGULATOR) for d in _examples("quality-report").values()),
    ]
    assert len(signed) == 10
    for object_type, document, signer in signed:
        assert document["objectType"] == object_type
        key = gen.signing_key(signer).public
        verified = verify_document(document, {key.kid: key}, signers=[key.kid])
        assert [v.kid for v in verified] == [key.kid]


@pytest.mark.requirement("BMDX-DM-122")
@pytest.mark.requirement("BMDX-DM-123")
@pytest.mark.requirement("BMDX-DM-124")
def test_consent_versions_chain_and_flag_sensitive_data() -> None:
    consents = sorted(_examples("consent").values(), key=lambda c: c["version"])
    assert [c["version"] for c in consents] == [1, 2]
    assert "previous" not in consents[0]
    assert consents[1]["previous"] == _sha256(canonical_bytes(consents[0]))
    assert consents[1]["consentId"] == consents[0]["consentId"]

    def permitted_classes(provision: dict[str, Any]) -> set[str]:
        own = set(provision.get("dataClasses", [])) if provision["type"] == "permit" else set()
        return own.union(*(permitted_classes(p) for p in provision.get("provisions", [])))

    for consent in consents:
        sensitive = bool(permitted_classes(consent["provision"]) & SENSITIVE_CLASSES)
        assert consent["separateConsent"] is sensitive
        cross = consent["crossBorder"]
        assert ("jurisdictions" in cross) is cross["permitted"]


@pytest.mark.requirement("BMDX-DM-131")
@pytest.mark.requirement("BMDX-DM-132")
def test_requests_have_one_scope_and_justify_break_glass() -> None:
    for request in _examples("access-request").values():
        assert ("records" in request) != ("query" in request)
        if request["breakGlass"]:
            assert request["purpose"] == "emergency"
            assert request["justification"].strip()


@pytest.mark.requirement("BMDX-DM-136")
@pytest.mark.requirement("BMDX-DM-137")
@pytest.mark.requirement("BMDX-DM-138")
@pytest.mark.requirement("BMDX-DM-141")
def test_decisions_and_audit_events_cite_what_they_rest_on() -> None:
    assert hashlib.sha256(b"{}").hexdigest() == EMPTY_POLICY.removeprefix("sha-256:")
    consents = list(_examples("consent").values())
    requests = {r["requestId"]: r for r in _examples("access-request").values()}
    decisions = {d["requestId"]: d for d in _examples("access-decision").values()}
    for decision in decisions.values():
        if "consent" in decision:
            cited = [c for c in consents if c["consentId"] == decision["consent"]]
            hashes = {_sha256(canonical_bytes(c)) for c in cited}
            assert decision["consentVersionHash"] in hashes
        else:
            assert decision["consentVersionHash"] == EMPTY_POLICY
        if decision["breakGlass"] and decision["decision"] == "permit":
            assert {"notify-patient", "review-queue"} <= set(decision["obligations"])
    for event in _examples("audit-event").values():
        request = requests[event["decision"]]
        assert event["requestDigest"] == _sha256(canonical_bytes(request))
        assert event["policyHash"] == decisions[event["decision"]]["consentVersionHash"]


@pytest.mark.requirement("BMDX-DM-151")
def test_erasure_receipts_keep_the_header_commitment() -> None:
    headers = {h["recordId"]: h for h in _examples("record-header").values()}
    for receipt in _examples("erasure-receipt").values():
        header = headers[receipt["recordId"]]
        assert receipt["commitment"] == header["commitment"]
        assert receipt["wrapsDestroyed"] == header["payload"]["recipients"]


def _gs1_check_digit_ok(number: str) -> bool:
    weights = [3 if i % 2 == 0 else 1 for i in range(len(number) - 1)]
    total = sum(int(d) * w for d, w in zip(reversed(number[:-1]), weights, strict=True))
    return (total + int(number[-1])) % 10 == 0


@pytest.mark.requirement("BMDX-DM-156")
@pytest.mark.requirement("BMDX-DM-157")
def test_gtins_carry_check_digits_and_match_their_sgtins() -> None:
    assert _gs1_check_digit_ok("04012345123456")  # the GS1 EPCIS specification's example GTIN
    assert not _gs1_check_digit_ok("04012345123457")
    for event in _examples("supply-chain-event").values():
        if "product" not in event:
            continue
        gtin = event["product"]["gtin"]
        assert _gs1_check_digit_ok(gtin)
        for epc in event.get("epcList", []):
            prefix, item, serial = epc.removeprefix("urn:epc:id:sgtin:").split(".")
            assert item[0] + prefix + item[1:] == gtin[:13]
            if "serial" in event["product"] and len(event["epcList"]) == 1:
                assert serial == event["product"]["serial"]


@pytest.mark.requirement("BMDX-DM-159")
@pytest.mark.requirement("BMDX-DM-160")
@pytest.mark.parametrize("name", list(_examples("supply-chain-event")))
def test_event_hash_is_the_cbv_hash_of_the_epcis_event(name: str) -> None:
    event = _examples("supply-chain-event")[name]
    epcis = _generator().epcis_document(event)
    (expected,) = hash_generator.epcis_hashes_from_events(
        xml_to_py.event_list_from_epcis_document_str(epcis)
    )
    assert event["eventHash"] == expected
    assert ("action" in event) is (event["eventType"] != "TransformationEvent")
    if event["eventType"] == "AggregationEvent":
        assert "parentID" in event


@pytest.mark.requirement("BMDX-DM-168")
@pytest.mark.requirement("BMDX-DM-171")
def test_claim_and_adjudication_arithmetic() -> None:
    claims = {c["claimId"]: c for c in _examples("insurance-claim").values()}
    for claim in claims.values():
        currency = claim["total"]["currency"]
        assert len({i["sequence"] for i in claim["items"]}) == len(claim["items"])
        for item in claim["items"]:
            assert Decimal(item["net"]) == item["quantity"] * Decimal(item["unitPrice"])
            assert item["currency"] == currency
        assert Decimal(claim["total"]["value"]) == sum(Decimal(i["net"]) for i in claim["items"])
    for adjudication in _examples("claim-adjudication").values():
        claim = claims[adjudication["claimId"]]
        nets = {i["sequence"]: Decimal(i["net"]) for i in claim["items"]}
        for item in adjudication["items"]:
            assert Decimal(item["benefit"]) <= Decimal(item["eligible"]) <= nets[item["sequence"]]
        total = adjudication["totalBenefit"]
        assert total["currency"] == claim["total"]["currency"]
        assert Decimal(total["value"]) == sum(Decimal(i["benefit"]) for i in adjudication["items"])


@pytest.mark.requirement("BMDX-DM-176")
@pytest.mark.requirement("BMDX-DM-177")
def test_research_exports_state_their_parameters_and_consent() -> None:
    consents = {c["consentId"] for c in _examples("consent").values()}
    for export in _examples("research-export").values():
        method = export["deidentification"]
        assert ("k" in method) is (method["method"] == "k-anonymity")
        assert ("epsilon" in method) is (method["method"] == "differential-privacy")
        if "epsilon" in method:
            assert Decimal(method["epsilon"]) > 0
        assert export["purpose"] == "research"
        assert consents & set(export["consentBasis"])


@pytest.mark.requirement("BMDX-DM-181")
def test_quality_reports_list_each_indicator_once() -> None:
    for report in _examples("quality-report").values():
        names = [i["name"] for i in report["indicators"]]
        assert len(names) == len(set(names))


@pytest.mark.requirement("BMDX-DM-191")
@pytest.mark.parametrize("path", valid_files(OBJECTS))
def test_time_ranges_are_ordered(path: Path) -> None:
    def ranges(node: Any) -> list[tuple[str, str]]:
        if isinstance(node, list):
            return [r for item in node for r in ranges(item)]
        if not isinstance(node, dict):
            return []
        found = [
            (node[a], node[b])
            for a, b in (("start", "end"), ("from", "to"))
            if a in node and b in node
        ]
        return found + [r for v in node.values() for r in ranges(v)]

    for start, end in ranges(load_json(path)):
        assert start <= end
