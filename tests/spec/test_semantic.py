"""The data-model rules checked by code (reference/_internal/semantic.py).

Each rule breaks on a copy of a valid example that its schema still accepts, with the
exact requirement and pointer; each holds on the valid examples and on edge cases just
inside its bound.  The rules are applied by full document validation (``bmdx
validate``, the adapter's validate and convert) and never by the schema-only API.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bmdx.reference._internal.adapter import Adapter
from bmdx.reference._internal.documents import validate_document_bytes
from bmdx.reference._internal.errors import RuleViolationError, SchemaValidationError
from bmdx.reference._internal.schema import schema_set, validate_document
from bmdx.reference._internal.semantic import (
    EMPTY_POLICY_HASH,
    OUTPUT_TYPES,
    RULES,
    rule_violations,
)
from bmdx.reference._internal.specdata import spec_dir

SPEC = spec_dir()
Mutation = Callable[[dict[str, Any]], None]


def _example(stem: str, name: str) -> dict[str, Any]:
    data = (SPEC / "examples" / "valid" / stem / f"{name}.json").read_bytes()
    return json.loads(data)  # type: ignore[no-any-return]


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _protected(doc: dict[str, Any]) -> dict[str, Any]:
    text = doc["protected"]
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))  # type: ignore[no-any-return]


def _get(doc: Any, path: str) -> Any:
    for part in filter(None, path.split("/")):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def _set(path: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        parent, _, last = path.rpartition("/")
        node = _get(doc, parent)
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        parent, _, last = path.rpartition("/")
        del _get(doc, parent)[last]

    return mutate


def _swap(path: str, first: str, last: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node = _get(doc, path)
        node[first], node[last] = node[last], node[first]

    return mutate


def _each(*mutations: Mutation) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(doc)

    return mutate


def _mutated(stem: str, name: str, mutate: Mutation) -> dict[str, Any]:
    doc = copy.deepcopy(_example(stem, name))
    mutate(doc)
    return doc


P256 = _example("public-key", "p256-signing")
ED = _example("public-key", "ed25519-signing")
HOSPITAL = _example("participant", "hospital")
OTHER_ENVELOPE = _example("record-envelope", "imaging-study-chest-xray")
JWE = _example("jwe", "two-recipients-with-aad")
REVOCATION = _example("key-revocation", "retired-encryption-key")


def _case(
    stem: str,
    name: str,
    mutate: Mutation,
    expected: list[tuple[str, str]],
    *,
    id: str,
) -> Any:
    requirements = sorted({r for _, r in expected})
    return pytest.param(
        stem,
        name,
        mutate,
        expected,
        id=id,
        marks=[pytest.mark.requirement(*requirements)],
    )


BREAKING = [
    # Participants, keys, rotations, validator sets
    _case(
        "participant",
        "hospital",
        _set("keys", [HOSPITAL["keys"][0], *HOSPITAL["keys"]]),
        [("/keys/1/kid", "BMDX-DM-012")],
        id="DM-012-same-kid-twice",
    ),
    _case(
        "public-key",
        "p256-signing",
        _set("alg", "Ed25519"),
        [("/alg", "BMDX-DM-021")],
        id="DM-021-signing-key-with-foreign-alg",
    ),
    _case(
        "public-key",
        "p256-encryption",
        _set("use", "sig"),
        [("/alg", "BMDX-DM-021")],
        id="DM-021-encryption-alg-on-signing-key",
    ),
    _case(
        "public-key",
        "x25519-encryption",
        _set("use", "sig"),
        [("/crv", "BMDX-DM-021")],
        id="DM-021-x25519-cannot-sign",
    ),
    _case(
        "public-key",
        "p256-signing",
        _set("kid", ED["kid"]),
        [("/kid", "BMDX-DM-022")],
        id="DM-022-kid-of-another-key",
    ),
    _case(
        "public-key",
        "p256-signing",
        _delete("y"),
        [("", "BMDX-DM-023")],
        id="DM-023-ec-without-y",
    ),
    _case(
        "public-key",
        "ed25519-signing",
        _set("y", P256["y"]),
        [("/y", "BMDX-DM-023")],
        id="DM-023-okp-with-y",
    ),
    _case(
        "participant",
        "hospital",
        _delete("keys/0/y"),
        [("/keys/0", "BMDX-DM-023")],
        id="DM-023-embedded-key",
    ),
    _case(
        "key-rotation",
        "hospital-p256",
        _set("newKey", HOSPITAL["keys"][0]),
        [("/newKey/kid", "BMDX-DM-026")],
        id="DM-026-rotation-to-itself",
    ),
    _case(
        "validator-set",
        "genesis-3-of-4",
        _set("threshold", 5),
        [("/threshold", "BMDX-DM-034")],
        id="DM-034-threshold-above-validators",
    ),
    _case(
        "capability-document",
        "full-node",
        _set("validatorSet/threshold", 5),
        [("/validatorSet/threshold", "BMDX-DM-034")],
        id="DM-034-embedded-set",
    ),
    _case(
        "validator-set",
        "genesis-3-of-4",
        lambda d: d["validators"].append({**d["validators"][1], "kid": ED["kid"]}),
        [("/validators/4/participant", "BMDX-DM-036")],
        id="DM-036-participant-twice",
    ),
    # JOSE
    _case(
        "jwe",
        "two-recipients-with-aad",
        _set("recipients/0/header/epk/crv", "X25519"),
        [("/recipients/0/header/epk/crv", "BMDX-DM-047")],
        id="DM-047-ec-epk-on-x25519",
    ),
    _case(
        "jwe",
        "two-recipients-with-aad",
        _set("recipients/1/header/epk/y", P256["y"]),
        [("/recipients/1/header/epk", "BMDX-DM-047")],
        id="DM-047-okp-epk-with-y",
    ),
    _case(
        "jwe",
        "two-recipients-with-aad",
        _set("protected", _b64({**_protected(JWE), "enc": "A128GCM"})),
        [("/protected", "BMDX-DM-048")],
        id="DM-048-enc-a128gcm",
    ),
    _case(
        "jwe",
        "two-recipients-with-aad",
        _set("protected", "bm90IGpzb24gYXQgYWxs"),
        [("/protected", "BMDX-DM-048")],
        id="DM-048-protected-not-json",
    ),
    # Transactions, blocks, proofs
    _case(
        "transaction",
        "key-rotate",
        _set("outputs", [REVOCATION]),
        [("/outputs/0/objectType", "BMDX-DM-053")],
        id="DM-053-output-of-another-type",
    ),
    _case(
        "block",
        "height-2-key-changes",
        _set("body/transactions/0/outputs", [REVOCATION]),
        [("/body/transactions/0/outputs/0/objectType", "BMDX-DM-053")],
        id="DM-053-inside-a-block",
    ),
    _case(
        "block",
        "height-2-key-changes",
        _set("header/txCount", 3),
        [("/header/txCount", "BMDX-DM-061")],
        id="DM-061-tx-count",
    ),
    _case(
        "block",
        "genesis",
        _set("header/treeSize", 1),
        [("/header/treeSize", "BMDX-DM-061")],
        id="DM-061-tree-smaller-than-count",
    ),
    _case(
        "block",
        "genesis",
        _set("header/previous", "sha-256:" + "0" * 63 + "1"),
        [("/header/previous", "BMDX-DM-061")],
        id="DM-061-genesis-previous",
    ),
    _case(
        "inclusion-proof",
        "key-rotate-at-height-2",
        lambda d: d.update(leafIndex=d["treeSize"]),
        [("/leafIndex", "BMDX-DM-071")],
        id="DM-071-leaf-outside-tree",
    ),
    _case(
        "consistency-proof",
        "height-1-to-height-2",
        _swap("", "firstSize", "secondSize"),
        [("/firstSize", "BMDX-DM-076")],
        id="DM-076-first-larger",
    ),
    # Records
    _case(
        "record-envelope",
        "lab-result-glucose",
        _set("header/payload/location", OTHER_ENVELOPE["header"]["payload"]["location"]),
        [("/header/payload/location", "BMDX-DM-111")],
        id="DM-111-location",
    ),
    _case(
        "record-envelope",
        "lab-result-glucose",
        lambda d: d["header"]["payload"].update(size=d["header"]["payload"]["size"] + 1),
        [("/header/payload/size", "BMDX-DM-111")],
        id="DM-111-size",
    ),
    _case(
        "record-envelope",
        "lab-result-glucose",
        _set("payload/protected", _b64({**_protected(JWE), "enc": "A128GCM"})),
        [
            ("/header/payload/encryption/enc", "BMDX-DM-112"),
            ("/header/payload/location", "BMDX-DM-111"),
            ("/header/payload/size", "BMDX-DM-111"),
            ("/payload/protected", "BMDX-DM-048"),
        ],
        id="DM-112-descriptor-and-jwe-disagree",
    ),
    _case(
        "record-envelope",
        "lab-result-glucose",
        _set("header/payload/recipients", 1),
        [("/header/payload/recipients", "BMDX-DM-113")],
        id="DM-113-recipient-count",
    ),
    # Consent
    _case(
        "consent",
        "treatment-and-billing-v1",
        _set(
            "provision/provisions/0/actors/0", {"participant": HOSPITAL["id"], "role": "hospital"}
        ),
        [("/provision/provisions/0/actors/0", "BMDX-DM-121")],
        id="DM-121-actor-with-both",
    ),
    _case(
        "consent",
        "treatment-and-billing-v1",
        _set("provision/provisions/0/actors/1", {}),
        [("/provision/provisions/0/actors/1", "BMDX-DM-121")],
        id="DM-121-empty-actor",
    ),
    _case(
        "consent",
        "treatment-and-billing-v1",
        _set("previous", "sha-256:" + "ab" * 32),
        [("/previous", "BMDX-DM-122")],
        id="DM-122-version-1-with-previous",
    ),
    _case(
        "consent",
        "research-cross-border-v2",
        _delete("previous"),
        [("", "BMDX-DM-122")],
        id="DM-122-version-2-without-previous",
    ),
    _case(
        "consent",
        "research-cross-border-v2",
        _set("separateConsent", False),
        [("/separateConsent", "BMDX-DM-123")],
        id="DM-123-genetics",
    ),
    _case(
        "consent",
        "treatment-and-billing-v1",
        _set("provision/provisions/0/sensitivity", ["N", "R", "V"]),
        [("/separateConsent", "BMDX-DM-123")],
        id="DM-123-very-restricted",
    ),
    _case(
        "consent",
        "treatment-and-billing-v1",
        _set("crossBorder", {"permitted": False, "jurisdictions": ["DE"]}),
        [("/crossBorder", "BMDX-DM-124")],
        id="DM-124-jurisdictions-without-permission",
    ),
    _case(
        "consent",
        "research-cross-border-v2",
        _delete("crossBorder/jurisdictions"),
        [("/crossBorder", "BMDX-DM-124")],
        id="DM-124-permission-without-jurisdictions",
    ),
    _case(
        "consent",
        "treatment-and-billing-v1",
        _swap("provision/provisions/0/period", "start", "end"),
        [("/provision/provisions/0/period/start", "BMDX-DM-191")],
        id="DM-191-consent-period",
    ),
    # Requests and decisions
    _case(
        "access-request",
        "named-record-treatment",
        _set("query", {"recordTypes": ["lab-result"]}),
        [("", "BMDX-DM-131")],
        id="DM-131-records-and-query",
    ),
    _case(
        "access-request",
        "query-without-consent",
        _delete("query"),
        [("", "BMDX-DM-131")],
        id="DM-131-neither",
    ),
    _case(
        "access-request",
        "break-glass-query",
        _set("purpose", "treatment"),
        [("/purpose", "BMDX-DM-132")],
        id="DM-132-not-emergency",
    ),
    _case(
        "access-request",
        "break-glass-query",
        _delete("justification"),
        [("", "BMDX-DM-132")],
        id="DM-132-no-justification",
    ),
    _case(
        "access-request",
        "break-glass-query",
        _set("justification", ""),
        [("/justification", "BMDX-DM-132")],
        id="DM-132-empty-justification",
    ),
    _case(
        "access-request",
        "break-glass-query",
        _set("query/to", "2023-06-30T23:59:59Z"),
        [("/query/from", "BMDX-DM-191")],
        id="DM-191-query",
    ),
    _case(
        "access-decision",
        "permit-by-consent",
        _delete("consent"),
        [("/consentVersionHash", "BMDX-DM-137")],
        id="DM-137-no-consent-but-a-version",
    ),
    _case(
        "access-decision",
        "permit-by-consent",
        _set("consentVersionHash", EMPTY_POLICY_HASH),
        [("/consent", "BMDX-DM-137")],
        id="DM-137-empty-policy-but-a-consent",
    ),
    _case(
        "access-decision",
        "break-glass-permit",
        _set("obligations", ["notify-patient"]),
        [("/obligations", "BMDX-DM-138")],
        id="DM-138-no-review",
    ),
    _case(
        "access-decision",
        "break-glass-permit",
        _delete("obligations"),
        [("", "BMDX-DM-138")],
        id="DM-138-no-obligations",
    ),
    _case(
        "anomaly-alert",
        "repeated-denials",
        _swap("window", "start", "end"),
        [("/window/start", "BMDX-DM-191")],
        id="DM-191-alert-window",
    ),
    # Domain objects
    _case(
        "supply-chain-event",
        "vaccine-commissioning",
        _set("product/gtin", "04012345070010"),
        [("/product/gtin", "BMDX-DM-156")],
        id="DM-156-check-digit",
    ),
    _case(
        "supply-chain-event",
        "vaccine-commissioning",
        _set("eventType", "TransformationEvent"),
        [("/action", "BMDX-DM-160")],
        id="DM-160-transformation-with-action",
    ),
    _case(
        "supply-chain-event",
        "vaccine-commissioning",
        _delete("action"),
        [("", "BMDX-DM-160")],
        id="DM-160-object-event-without-action",
    ),
    _case(
        "supply-chain-event",
        "pallet-shipping",
        _delete("parentID"),
        [("", "BMDX-DM-160")],
        id="DM-160-aggregation-without-parent",
    ),
    _case(
        "insurance-claim",
        "outpatient-glucose-test",
        _set("items/0/quantity", 2),
        [("/items/0/net", "BMDX-DM-168")],
        id="DM-168-net",
    ),
    _case(
        "insurance-claim",
        "outpatient-glucose-test",
        _set("total/value", "21.41"),
        [("/total/value", "BMDX-DM-168")],
        id="DM-168-total",
    ),
    _case(
        "insurance-claim",
        "outpatient-glucose-test",
        _set("items/1/sequence", 1),
        [("/items/1/sequence", "BMDX-DM-168")],
        id="DM-168-sequence-twice",
    ),
    _case(
        "insurance-claim",
        "outpatient-glucose-test",
        _set("items/1/currency", "EUR"),
        [("/items/1/currency", "BMDX-DM-168")],
        id="DM-168-currency",
    ),
    _case(
        "claim-adjudication",
        "partial-not-covered",
        _each(_set("items/1/benefit", "5.00"), _set("totalBenefit/value", "53.50")),
        [("/items/1/benefit", "BMDX-DM-171")],
        id="DM-171-benefit-above-eligible",
    ),
    _case(
        "claim-adjudication",
        "partial-not-covered",
        _set("totalBenefit/value", "48.5000001"),
        [("/totalBenefit/value", "BMDX-DM-171")],
        id="DM-171-total",
    ),
    _case(
        "research-export",
        "glucose-aggregates-dp",
        _delete("deidentification/epsilon"),
        [("/deidentification", "BMDX-DM-176")],
        id="DM-176-dp-without-epsilon",
    ),
    _case(
        "research-export",
        "glucose-aggregates-dp",
        _set("deidentification/epsilon", "0.0"),
        [("/deidentification/epsilon", "BMDX-DM-176")],
        id="DM-176-epsilon-zero",
    ),
    _case(
        "research-export",
        "diabetes-cohort-k-anonymity",
        _set("deidentification/epsilon", "1"),
        [("/deidentification/epsilon", "BMDX-DM-176")],
        id="DM-176-foreign-parameter",
    ),
    _case(
        "research-export",
        "diabetes-cohort-k-anonymity",
        _delete("deidentification/k"),
        [("/deidentification", "BMDX-DM-176")],
        id="DM-176-k-anonymity-without-k",
    ),
    _case(
        "research-export",
        "diabetes-cohort-k-anonymity",
        _set("deidentification", {"method": "pseudonymisation", "k": 5}),
        [("/deidentification/k", "BMDX-DM-176")],
        id="DM-176-pseudonymisation-with-k",
    ),
    _case(
        "research-export",
        "diabetes-cohort-k-anonymity",
        _swap("cohort", "from", "to"),
        [("/cohort/from", "BMDX-DM-191")],
        id="DM-191-cohort",
    ),
    _case(
        "quality-report",
        "hospital-quarterly",
        lambda d: d["indicators"].__setitem__(1, copy.deepcopy(d["indicators"][0])),
        [("/indicators/1/name", "BMDX-DM-181")],
        id="DM-181-indicator-twice",
    ),
    _case(
        "quality-report",
        "hospital-quarterly",
        _swap("period", "start", "end"),
        [("/period/start", "BMDX-DM-191")],
        id="DM-191-report-period",
    ),
]


@pytest.mark.parametrize(("stem", "name", "mutate", "expected"), BREAKING)
def test_rule_breaks(
    stem: str, name: str, mutate: Mutation, expected: list[tuple[str, str]]
) -> None:
    document = _mutated(stem, name, mutate)
    assert schema_set().violations(document) == [], "the case must be schema-valid"
    found = rule_violations(document)
    assert sorted((v.pointer, v.requirement) for v in found) == sorted(expected)
    assert all(v.message for v in found)
    assert schema_set().document_violations(document) == found


HOLDING = [
    pytest.param(
        "validator-set",
        "genesis-3-of-4",
        _set("threshold", 4),
        id="DM-034-threshold-equals-n",
        marks=pytest.mark.requirement("BMDX-DM-034"),
    ),
    pytest.param(
        "inclusion-proof",
        "key-rotate-at-height-2",
        lambda d: d.update(leafIndex=d["treeSize"] - 1),
        id="DM-071-last-leaf",
        marks=pytest.mark.requirement("BMDX-DM-071"),
    ),
    pytest.param(
        "consistency-proof",
        "height-1-to-height-2",
        lambda d: d.update(firstSize=d["secondSize"], firstRoot=d["secondRoot"]),
        id="DM-076-equal-sizes",
        marks=pytest.mark.requirement("BMDX-DM-076"),
    ),
    pytest.param(
        "block",
        "genesis",
        _set("header/treeSize", 7),
        id="DM-061-tree-larger-than-count",
        marks=pytest.mark.requirement("BMDX-DM-061"),
    ),
    pytest.param(
        "consent",
        "treatment-and-billing-v1",
        _set("provision/provisions/0/provisions/0/dataClasses", ["genetics"]),
        id="DM-123-deny-needs-no-separate-consent",
        marks=pytest.mark.requirement("BMDX-DM-123"),
    ),
    pytest.param(
        "consent",
        "treatment-and-billing-v1",
        _set(
            "provision/provisions/0/period",
            {"start": "2024-12-31T23:59:60Z", "end": "2025-01-01T00:00:00Z"},
        ),
        id="DM-191-leap-second-is-the-next-second",
        marks=pytest.mark.requirement("BMDX-DM-191"),
    ),
    pytest.param(
        "anomaly-alert",
        "repeated-denials",
        _set("window", {"start": "2024-07-10T13:00:00.5Z", "end": "2024-07-10T13:00:00.500001Z"}),
        id="DM-191-fractions-compare-as-numbers",
        marks=pytest.mark.requirement("BMDX-DM-191"),
    ),
    pytest.param(
        "access-decision",
        "deny-no-consent",
        lambda d: None,
        id="DM-137-empty-policy",
        marks=pytest.mark.requirement("BMDX-DM-137"),
    ),
    pytest.param(
        "access-decision",
        "permit-by-consent",
        _delete("obligations"),
        id="DM-138-ordinary-permit-without-obligations",
        marks=pytest.mark.requirement("BMDX-DM-138"),
    ),
    pytest.param(
        "supply-chain-event",
        "vaccine-commissioning",
        _each(_set("eventType", "TransformationEvent"), _delete("action")),
        id="DM-160-transformation-without-action",
        marks=pytest.mark.requirement("BMDX-DM-160"),
    ),
]


@pytest.mark.parametrize(("stem", "name", "mutate"), HOLDING)
def test_rule_holds(stem: str, name: str, mutate: Mutation) -> None:
    document = _mutated(stem, name, mutate)
    assert schema_set().violations(document) == []
    assert rule_violations(document) == []


@pytest.mark.requirement("BMDX-DM-168")
def test_claim_arithmetic_is_exact_beyond_binary_and_default_decimal_precision() -> None:
    price = "12345678901234567890.123456789012345678901"
    net = "86419752308641975230.864197523086419752307"  # 7 x price, 41 significant digits
    assert Decimal(net) != 7 * Decimal(price)  # what 28-digit default arithmetic makes of it
    claim = _mutated(
        "insurance-claim",
        "outpatient-glucose-test",
        _each(
            _set("items/0/quantity", 7),
            _set("items/0/unitPrice", price),
            _set("items/0/net", net),
            _set("total/value", "86419752308641975233.864197523086419752307"),
        ),
    )
    assert schema_set().violations(claim) == []
    assert rule_violations(claim) == []
    claim["items"][0]["net"] = net[:-1] + "8"
    found = [(v.pointer, v.requirement) for v in rule_violations(claim)]
    assert found == [("/items/0/net", "BMDX-DM-168"), ("/total/value", "BMDX-DM-168")]


@pytest.mark.requirement("BMDX-DM-156")
def test_gs1_check_digit_of_the_epcis_example_gtin() -> None:
    # GS1 EPCIS 2.0's example GTIN 04012345123456: 6 is its check digit.
    event = _mutated("supply-chain-event", "vaccine-commissioning", _delete("epcList"))
    event["product"]["gtin"] = "04012345123456"
    assert rule_violations(event) == []
    event["product"]["gtin"] = "04012345123457"
    assert [v.pointer for v in rule_violations(event)] == ["/product/gtin"]


def _valid_examples() -> list[Path]:
    found = sorted((SPEC / "examples" / "valid").glob("*/*.json"))
    assert found
    return found


@pytest.mark.parametrize("path", _valid_examples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_valid_example_keeps_every_rule(path: Path) -> None:
    assert rule_violations(json.loads(path.read_bytes())) == []


def test_the_rule_table_covers_the_types_it_names() -> None:
    types = set(schema_set().object_types)
    assert set(RULES) <= types
    assert set(OUTPUT_TYPES.values()) <= types
    transaction = schema_set().schema_for("Transaction")
    assert set(OUTPUT_TYPES) == set(transaction["properties"]["type"]["enum"])


# --- where the rules apply -----------------------------------------------------------


def _threshold_above() -> dict[str, Any]:
    return _mutated("validator-set", "genesis-3-of-4", _set("threshold", 5))


@pytest.mark.requirement("BMDX-DM-034")
def test_schema_only_api_ignores_the_rules_and_full_validation_applies_them() -> None:
    document = _threshold_above()
    assert schema_set().validate(document) == "ValidatorSet"
    assert schema_set().violations(document) == []
    with pytest.raises(RuleViolationError) as info:
        schema_set().validate_document(document)
    assert isinstance(info.value, SchemaValidationError)
    assert (info.value.reason, info.value.requirement) == ("rule", "BMDX-DM-034")
    assert info.value.pointer == "/threshold"
    assert info.value.object_type == "ValidatorSet"
    with pytest.raises(RuleViolationError):
        validate_document(document)


@pytest.mark.requirement("BMDX-DM-034", "BMDX-DM-036")
def test_schema_violations_come_first() -> None:
    # Zero validators break the schema (BMDX-DM-036's minItems) and the threshold rule;
    # only the schema's verdict is reported: the rules assume a schema-valid document.
    document = _mutated("validator-set", "genesis-3-of-4", _set("validators", []))
    found = schema_set().document_violations(document)
    assert {v.requirement for v in found} == {"BMDX-DM-036"}
    with pytest.raises(SchemaValidationError) as info:
        schema_set().validate_document(document)
    assert not isinstance(info.value, RuleViolationError)
    assert info.value.reason == "schema"


@pytest.mark.requirement("BMDX-DM-034")
def test_validate_reports_rules_in_json_and_in_xml_with_xpaths() -> None:
    report = validate_document_bytes(json.dumps(_threshold_above()).encode(), name="v.json")
    assert not report.valid
    assert report.error is not None
    assert report.error.reason == "rule"
    assert [(v.pointer, v.requirement, v.xpath) for v in report.violations] == [
        ("/threshold", "BMDX-DM-034", None)
    ]
    xml = SPEC / "examples" / "invalid" / "validator-set" / "threshold-above-validators.xml"
    report = validate_document_bytes(xml.read_bytes(), name=xml.name)
    assert (report.syntax, report.object_type) == ("xml", "ValidatorSet")
    assert [(v.pointer, v.requirement, v.xpath) for v in report.violations] == [
        ("/threshold", "BMDX-DM-034", "/ValidatorSet/threshold")
    ]


@pytest.mark.requirement("BMDX-DM-034")
def test_adapter_validate_and_convert_apply_the_rules() -> None:
    adapter = Adapter(root=SPEC)
    assert adapter.handle({"id": 1, "cmd": "start", "args": {"protocolVersion": 1}})["ok"]
    data = base64.urlsafe_b64encode(json.dumps(_threshold_above()).encode()).rstrip(b"=")
    validated = adapter.handle({"id": 2, "cmd": "validate", "args": {"input": data.decode()}})
    assert validated["result"]["valid"] is False
    assert validated["result"]["violations"] == [
        {
            "requirement": "BMDX-DM-034",
            "pointer": "/threshold",
            "message": validated["result"]["violations"][0]["message"],
        }
    ]
    converted = adapter.handle(
        {"id": 3, "cmd": "convert", "args": {"input": data.decode(), "to": "xml"}}
    )
    assert converted["ok"] is False
    assert (converted["error"]["requirement"], converted["error"]["reason"]) == (
        "BMDX-DM-034",
        "rule",
    )
    assert converted["error"]["pointer"] == "/threshold"
