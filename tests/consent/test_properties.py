"""Invariants of consent evaluation over generated consents, requests and records.

The documents (participants, record headers, a signature entry) are taken from the
committed vectors; the consent trees, version chains and requests are generated.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bmdx.reference._internal.consent import (
    EMPTY_POLICY_HASH,
    REASON_ORDER,
    consent_version_hash,
    decide,
)
from bmdx.reference._internal.schema import schema_set
from tests import vectors

_FILES = sorted(vectors.vector_dir("consent").glob("*.json"))
_CASES = [json.loads(p.read_bytes()) for p in _FILES if not p.stem.endswith("_fail")]
_TEMPLATE = _CASES[0]["consents"][0]
_SUBJECT = _TEMPLATE["subject"]
REQUESTERS = list({c["requester"]["id"]: c["requester"] for c in _CASES}.values())
RECORDS = list(
    {r["recordId"]: r for c in _CASES for r in c["records"] if r["subject"] == _SUBJECT}.values()
)
INSTANTS = [
    "2025-01-01T00:00:00Z",
    "2025-03-01T00:00:00Z",
    "2025-05-31T23:59:59.999999Z",
    "2025-06-01T00:00:00Z",
    "2025-06-01T00:00:00.5Z",
    "2025-09-01T12:00:00Z",
    "2026-01-01T00:00:00Z",
]
PURPOSES = ["treatment", "payment", "research", "public-health", "emergency"]
CLASSES = [
    "diagnoses",
    "laboratory",
    "imaging",
    "financial",
    "mental-health",
    "genetics",
    "research",
]
TYPES = ["emr-document", "lab-result", "imaging-study", "insurance-claim", "research-dataset"]
ROLES = ["hospital", "laboratory", "pharmacy", "insurer", "research-body", "regulator"]
STRANGER = "urn:bmdx:participant:unrelated-party"
CRITERION_REASONS = set(REASON_ORDER[7:13])

_actor = st.one_of(
    st.builds(lambda r: {"role": r}, st.sampled_from(ROLES)),
    st.builds(lambda p: {"participant": p["id"]}, st.sampled_from(REQUESTERS)),
)


@st.composite
def _period(draw: st.DrawFn) -> dict[str, str]:
    first, second = sorted(
        draw(st.lists(st.integers(0, len(INSTANTS) - 1), min_size=2, max_size=2))
    )
    out = {}
    if draw(st.booleans()):
        out["start"] = INSTANTS[first]
    if draw(st.booleans()) or not out:
        out["end"] = INSTANTS[second]
    return out


def _criteria() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"type": st.sampled_from(["permit", "deny"])},
        optional={
            "actors": st.lists(_actor, min_size=1, max_size=2),
            "purposes": st.lists(st.sampled_from(PURPOSES), min_size=1, max_size=3, unique=True),
            "dataClasses": st.lists(st.sampled_from(CLASSES), min_size=1, max_size=3, unique=True),
            "recordTypes": st.lists(st.sampled_from(TYPES), min_size=1, max_size=2, unique=True),
            "sensitivity": st.lists(st.sampled_from("NRV"), min_size=1, max_size=2, unique=True),
            "period": _period(),
        },
    )


def _provision(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    if depth == 0:
        return _criteria()
    children = st.lists(_provision(depth - 1), min_size=1, max_size=3)
    return st.builds(
        lambda p, kids: {**p, "provisions": kids} if kids else p,
        _criteria(),
        st.one_of(st.none(), children),
    )


@dataclass(frozen=True)
class Spec:
    provision: dict[str, Any]
    status: str
    issued: str
    separate: bool
    cross: dict[str, Any]
    jurisdiction: str | None


_cross = st.one_of(
    st.just({"permitted": False}),
    st.builds(
        lambda js: {"permitted": True, "jurisdictions": js},
        st.lists(st.sampled_from(["DE", "FR", "NL"]), min_size=1, max_size=2, unique=True),
    ),
)


@st.composite
def _specs(draw: st.DrawFn) -> list[Spec]:
    count = draw(st.integers(0, 3))
    # INSTANTS is in time order; string order differs ('Z' sorts after '.').
    issued = sorted(
        draw(st.lists(st.sampled_from(INSTANTS), min_size=count, max_size=count)),
        key=INSTANTS.index,
    )
    return [
        Spec(
            provision=draw(_provision(2)),
            status=draw(st.sampled_from(["active", "active", "revoked"])),
            issued=when,
            separate=draw(st.booleans()),
            cross=draw(_cross),
            jurisdiction=draw(st.sampled_from([None, "DE", "FR"])),
        )
        for when in issued
    ]


def build_chain(specs: list[Spec]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for number, spec in enumerate(specs, start=1):
        doc: dict[str, Any] = {
            "objectType": "Consent",
            "consentId": _TEMPLATE["consentId"],
            "version": number,
        }
        if out:
            doc["previous"] = consent_version_hash(out[-1])
        doc.update(
            subject=_SUBJECT,
            grantor=_TEMPLATE["grantor"],
            status=spec.status,
            issued=spec.issued,
            provision=copy.deepcopy(spec.provision),
            separateConsent=spec.separate,
            crossBorder=spec.cross,
            signatures=_TEMPLATE["signatures"],
        )
        if spec.jurisdiction is not None:
            doc["jurisdiction"] = spec.jurisdiction
        out.append(doc)
    return out


@st.composite
def _inputs(draw: st.DrawFn) -> tuple[list[Spec], dict[str, Any], dict[str, Any], list[Any], str]:
    requester = draw(st.sampled_from(REQUESTERS))
    records = draw(
        st.lists(
            st.sampled_from(RECORDS), min_size=1, max_size=3, unique_by=lambda r: r["recordId"]
        )
    )
    break_glass = draw(st.booleans())
    request: dict[str, Any] = {
        "objectType": "AccessRequest",
        "requestId": "urn:uuid:00000000-0000-4000-8000-000000000001",
        "requester": requester["id"],
        "subject": _SUBJECT,
        "records": [r["recordId"] for r in records],
        "purpose": draw(st.sampled_from([*PURPOSES, "emergency", "marketing"])),
        "breakGlass": break_glass,
        "requested": "2025-01-01T00:00:00Z",
    }
    if draw(st.booleans()):
        request["justification"] = draw(st.sampled_from(["", "Cardiac arrest on arrival."]))
    return draw(_specs()), request, requester, records, draw(st.sampled_from(INSTANTS))


def _run(specs: list[Spec], request: Any, requester: Any, records: Any, now: str) -> dict[str, Any]:
    return decide(build_chain(specs), request, requester, records, now=now)


def _add_to_root(spec: Spec, extra: dict[str, Any]) -> Spec:
    root = copy.deepcopy(spec.provision)
    root["provisions"] = [*root.get("provisions", []), extra]
    return replace(spec, provision=root)


_SETTINGS = settings(max_examples=150, deadline=None, database=None, derandomize=True)


@pytest.mark.requirement("BMDX-CON-006", "BMDX-CON-007", "BMDX-CON-022")
@_SETTINGS
@given(_inputs())
def test_every_decision_is_valid_and_cites_an_input(inputs: Any) -> None:
    specs, request, requester, records, now = inputs
    consents = build_chain(specs)
    decision = decide(consents, request, requester, records, now=now)
    schema_set().validate(decision, "AccessDecision")
    cited = decision["consentVersionHash"]
    assert cited in {consent_version_hash(c) for c in consents} | {EMPTY_POLICY_HASH}
    assert ("consent" in decision) is (cited != EMPTY_POLICY_HASH)
    assert ("scope" in decision) is (decision["decision"] == "permit")
    assert decision["decided"] == now
    assert decision["breakGlass"] is request["breakGlass"]
    assert decision["reasons"] == [r for r in REASON_ORDER if r in decision["reasons"]]


@pytest.mark.requirement("BMDX-CON-004")
@_SETTINGS
@given(_inputs(), st.randoms(use_true_random=False))
def test_the_order_of_the_versions_does_not_matter(inputs: Any, rnd: Any) -> None:
    specs, request, requester, records, now = inputs
    consents = build_chain(specs)
    shuffled = list(consents)
    rnd.shuffle(shuffled)
    assert decide(shuffled, request, requester, records, now=now) == decide(
        consents, request, requester, records, now=now
    )


@pytest.mark.requirement("BMDX-CON-009", "BMDX-CON-011")
@_SETTINGS
@given(_inputs(), _criteria())
def test_a_provision_for_another_actor_changes_nothing_but_the_hash(
    inputs: Any, extra: Any
) -> None:
    specs, request, requester, records, now = inputs
    extra = {**extra, "actors": [{"participant": STRANGER}]}
    before = _run(specs, request, requester, records, now)
    after = _run([_add_to_root(s, extra) for s in specs], request, requester, records, now)
    if extra["type"] == "deny":
        # A deny that never matches is invisible, criterion reasons included.
        del before["consentVersionHash"], after["consentVersionHash"]
        assert after == before
        return
    # A permit that never matches may only be a nearer miss: criterion reasons aside,
    # the decision is the same.
    for decision in (before, after):
        del decision["consentVersionHash"]
        decision["reasons"] = [r for r in decision["reasons"] if r not in CRITERION_REASONS]
    assert after == before


@pytest.mark.requirement("BMDX-CON-005")
@_SETTINGS
@given(_inputs())
def test_a_revoked_consent_never_permits_after_its_revocation(inputs: Any) -> None:
    specs, request, requester, records, now = inputs
    specs = [
        *specs,
        Spec({"type": "deny"}, "revoked", INSTANTS[2], False, {"permitted": False}, None),
    ]
    specs = sorted(specs, key=lambda s: INSTANTS.index(s.issued))
    decision = _run(specs, request, requester, records, now)
    governing = [s for s in specs if INSTANTS.index(s.issued) <= INSTANTS.index(now)]
    if governing and governing[-1].status == "revoked" and decision["decision"] == "permit":
        assert {"break-glass", "regulator-metadata"} & set(decision["reasons"])


@pytest.mark.requirement("BMDX-CON-007", "BMDX-CON-012")
@_SETTINGS
@given(_inputs())
def test_without_consent_only_break_glass_or_a_regulator_is_permitted(inputs: Any) -> None:
    _, request, requester, records, now = inputs
    decision = _run([], request, requester, records, now)
    assert "consent" not in decision
    if decision["decision"] == "permit":
        assert decision["reasons"] in (["break-glass", "no-consent"], ["regulator-metadata"])
    elif request["purpose"] in PURPOSES and not request["breakGlass"]:
        assert decision["reasons"] == ["no-consent"]
