"""Every consent decision vector of spec/vectors/consent/ through the reference."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from bmdx.reference._internal.consent import (
    EMPTY_POLICY_HASH,
    ConsentChain,
    consent_chain,
    consent_version_hash,
    decide,
)
from bmdx.reference._internal.errors import ConsentError, DocumentError
from bmdx.reference._internal.schema import schema_set
from tests import vectors
from tests.thirdparty import require_vectors
from tools.vectors import gen_consent

FILES = sorted(vectors.vector_dir("consent").glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(path.read_bytes())
    return value


def _params() -> list[Any]:
    return [
        pytest.param(
            path, id=path.stem, marks=pytest.mark.requirement(*_load(path)["requirements"])
        )
        for path in FILES
    ]


def _run(case: dict[str, Any]) -> dict[str, Any]:
    return decide(
        case["consents"], case["request"], case["requester"], case["records"], now=case["now"]
    )


def test_the_set_is_not_empty() -> None:
    require_vectors(len(FILES), "consent")
    decided = [p for p in FILES if not p.stem.endswith("_fail")]
    assert len(decided) >= 60


@pytest.mark.requirement("BMDX-CON-001")
@pytest.mark.parametrize("path", _params())
def test_vector(path: Path) -> None:
    case = _load(path)
    expected = case["expected"]
    if path.stem.endswith("_fail"):
        with pytest.raises(ConsentError) as caught:
            _run(case)
        assert isinstance(caught.value, DocumentError)
        assert caught.value.status == 422
        assert {"requirement": caught.value.requirement, "reason": caught.value.reason} == (
            expected["error"]
        )
        return
    decision = _run(case)
    schema_set().validate(decision, "AccessDecision")
    assert decision["objectType"] == "AccessDecision"
    assert decision["requestId"] == case["request"]["requestId"]
    assert decision["decided"] == case["now"]
    observed = {
        "decision": decision["decision"],
        "reasons": decision["reasons"],
        "consentVersionHash": decision["consentVersionHash"],
        "consent": decision.get("consent"),
        "breakGlass": decision["breakGlass"],
        "scope": decision.get("scope"),
        "obligations": decision.get("obligations", []),
    }
    assert observed == expected
    assert set(decision) <= {"objectType", "requestId", "decided", *expected}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector_documents_are_schema_valid(path: Path) -> None:
    case = _load(path)
    schemas = schema_set()
    for document in [*case["consents"], *case["records"], case["requester"]]:
        assert schemas.violations(document) == []
    request = case["request"]
    if "unknown-purpose" in case["expected"].get("reasons", ()):
        assert [v.pointer for v in schemas.violations(request)] == ["/purpose"]
    else:
        assert schemas.violations(request) == []


@pytest.mark.requirement("BMDX-CON-006")
def test_cited_hashes_are_sha256_of_the_canonical_version() -> None:
    checked = 0
    for path in FILES:
        case = _load(path)
        expected = case["expected"]
        if "error" in expected:
            continue
        digests = {
            "sha-256:" + hashlib.sha256(rfc8785.dumps(c)).hexdigest() for c in case["consents"]
        }
        assert expected["consentVersionHash"] in digests | {EMPTY_POLICY_HASH}
        assert (expected["consent"] is None) is (
            expected["consentVersionHash"] == EMPTY_POLICY_HASH
        )
        checked += 1
    require_vectors(checked, "consent hash")


def test_version_hash_includes_signatures() -> None:
    consent = _load(FILES[0])["consents"][0]
    unsigned = {k: v for k, v in consent.items() if k != "signatures"}
    assert consent_version_hash(consent) != consent_version_hash(unsigned)
    assert "sha-256:" + hashlib.sha256(b"{}").hexdigest() == EMPTY_POLICY_HASH


def test_committed_vectors_are_what_the_generator_writes() -> None:
    vectors.assert_regenerates("consent", gen_consent.build)


def test_vectors_cover_every_reason_and_obligation() -> None:
    reasons: set[str] = set()
    obligations: set[str] = set()
    errors: set[str] = set()
    for path in FILES:
        expected = _load(path)["expected"]
        if "error" in expected:
            errors.add(expected["error"]["reason"])
            continue
        reasons.update(expected["reasons"])
        obligations.update(expected["obligations"])
    schema = schema_set().schema_for("AccessDecision")
    assert reasons == set(schema["$defs"]["reason"]["enum"])
    assert obligations == set(schema["$defs"]["obligation"]["enum"])
    assert {"broken-chain", "consent-fork", "multiple-consents", "issued-order"} <= errors


def _outcome(call: Any) -> Any:
    try:
        return call()
    except ConsentError as e:
        return ("error", e.requirement, e.reason, e.pointer)


@pytest.mark.requirement("BMDX-CON-001")
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_chain_checked_once_decides_as_the_plain_versions(path: Path) -> None:
    """A node checks a subject's chain once and decides many reads under it: same answer."""
    case = _load(path)
    plain = _outcome(lambda: _run(case))
    subject = case["request"].get("subject") if isinstance(case["request"], dict) else None
    chain = _outcome(lambda: consent_chain(case["consents"], str(subject)))
    if isinstance(chain, ConsentChain):
        checked = _outcome(
            lambda: decide(
                chain, case["request"], case["requester"], case["records"], now=case["now"]
            )
        )
        assert checked == plain
        assert len(chain.hashes) == len(chain.versions)
        assert list(chain.hashes) == [consent_version_hash(c) for c in chain.versions]
    else:  # the chain itself is what the vector breaks: the same error either way
        assert plain[0] == "error"
        assert chain == plain


def test_a_checked_chain_of_another_subject_is_refused() -> None:
    case = next(c for c in map(_load, FILES) if c["consents"] and "error" not in c["expected"])
    chain = consent_chain(case["consents"], case["request"]["subject"])
    other = {**case["request"], "subject": "pseud:" + "A" * 43}
    records = [{**h, "subject": other["subject"]} for h in case["records"]]
    with pytest.raises(ConsentError) as caught:
        decide(chain, other, case["requester"], records, now=case["now"])
    assert (caught.value.requirement, caught.value.reason) == ("BMDX-CON-002", "subject-mismatch")
