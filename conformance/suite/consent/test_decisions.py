"""Consent decisions through the adapter: every vector of spec/vectors/consent.

One test per requirement of the ``consent`` profile that the vectors exercise, each run
over the vectors whose ``requirements`` name it (the vector's file stem is the test id).
A decided vector must be answered with its full expected decision, member for member;
a ``_fail`` vector must be refused with its requirement and reason, and no decision.
The suite also recomputes each cited ``consentVersionHash`` itself (RFC 8785, SHA-256)
from the vector's consent versions, so a vector can never cite a version it lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bmdx.conformance._internal.adapter_client import AdapterClient
from bmdx.conformance._internal.http_client import EMPTY_POLICY_HASH, digest
from bmdx.conformance._internal.specdata import spec_dir
from bmdx.conformance.suite._spec import vector_json

_FOLDER = spec_dir() / "vectors" / "consent"
_ALL = sorted(p.stem for p in _FOLDER.glob("[0-9]*.json"))
if not _ALL:
    raise RuntimeError("no consent vectors in the spec: zero vectors would run")


def _vectors(requirement: str | None = None) -> list[Any]:
    """The vectors naming ``requirement`` (every vector when None), as pytest params."""
    out = []
    for stem in _ALL:
        case = vector_json("consent", f"{stem}.json")
        if requirement is None or requirement in case["requirements"]:
            out.append(pytest.param(case, id=stem))
    if not out:
        raise RuntimeError(f"no consent vector names {requirement}: zero vectors would run")
    return out


def _replay(adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]) -> None:
    supports("consent-decide")
    response = adapter.call(
        "consent-decide",
        consents=case["consents"],
        request=case["request"],
        requester=case["requester"],
        records=case["records"],
        now=case["now"],
    )
    expected = case["expected"]
    label = case["description"]
    if "error" in expected:
        want = (expected["error"]["requirement"], expected["error"]["reason"])
        assert not response.ok, (
            f"{label}: inputs that must be refused with {want} were decided "
            f"{response.result.get('decision')} [BMDX-CON-002]"
        )
        assert (response.requirement, response.reason) == want, (
            f"{label}: refused as {(response.requirement, response.reason)}, not {want}"
        )
        return
    assert response.ok, f"{label}: refused {response.error}, must be decided [BMDX-CON-002]"
    # The adapter client has checked the decision against access-decision.json.
    decision = response.result["decision"]
    cited = {digest(c) for c in case["consents"]} | {EMPTY_POLICY_HASH}
    assert expected["consentVersionHash"] in cited, f"{label}: the vector cites no version"
    observed = {
        "decision": decision["decision"],
        "reasons": decision["reasons"],
        "consentVersionHash": decision["consentVersionHash"],
        "consent": decision.get("consent"),
        "breakGlass": decision["breakGlass"],
        "scope": decision.get("scope"),
        "obligations": decision.get("obligations", []),
        "objectType": decision["objectType"],
        "requestId": decision["requestId"],
        "decided": decision["decided"],
    }
    wanted = {
        **expected,
        "objectType": "AccessDecision",
        "requestId": case["request"]["requestId"],
        "decided": case["now"],
    }
    differing = {k: (observed[k], wanted[k]) for k in wanted if observed[k] != wanted[k]}
    assert not differing, f"{label}: (observed, expected) differ in {differing}"
    if "obligations" in decision:
        assert decision["obligations"], f"{label}: an empty obligations member [BMDX-CON-020]"


@pytest.mark.requirement("BMDX-CON-001:4c3ac940c9ae471f")
@pytest.mark.parametrize("case", _vectors())
def test_con_001_same_decision_as_every_vector(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """Given the same consent versions, access request, requester participant, record
    headers and evaluation time, an implementation MUST reach the AccessDecision that
    spec/conventions/consent.md specifies, with the same decision, reasons,
    consentVersionHash, consent, breakGlass, scope and obligations as the matching vector
    of spec/vectors/consent."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-002:5f0a6c13fe265fc6")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-002"))
def test_con_002_malformed_inputs_refused(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """An implementation MUST refuse to evaluate inputs that are malformed or inconsistent
    (a document invalid against its schema, a requester participant that is not the
    request's requester, record headers of another subject or not exactly the records in
    the request's scope, consent versions of another subject) with an error naming the
    requirement and the reason of spec/conventions/consent.md step 1, and MUST NOT return
    a decision for them."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-003:abebc832912e3bc9")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-003"))
def test_con_003_timestamps_are_instants(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """Consent evaluation MUST compare timestamps as the instants they name (fraction
    padded to microseconds, second 60 equal to the following second 0) and MUST compare
    consent times with the evaluation time only, never with the request's requested
    time."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-004:3bce279f0d864ba1")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-004"))
def test_con_004_governing_version(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """The governing consent version MUST be the version with the highest version number
    among the subject's versions issued at or before the evaluation time; a version
    issued later MUST NOT be applied, and versions whose issued times decrease from one
    version to the next MUST be refused as issued-order."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-005:8652e9b40a56f2d5")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-005"))
def test_con_005_revocation(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """When the governing consent version has status revoked, every access that is not
    break-glass or regulator access MUST be denied with reason consent-revoked, including
    an access requested before the revocation's issued time and evaluated at or after
    it."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-006:685fcc7acbf4a574")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-006"))
def test_con_006_cites_the_governing_version(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """Every access decision taken under a consent version MUST carry consentVersionHash
    equal to 'sha-256:' followed by the lower-case hex SHA-256 of the RFC 8785 canonical
    bytes of the governing version, signatures included, and consent equal to its
    consentId."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-007:8a361f4d4277d585")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-007"))
def test_con_007_empty_policy(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """When no consent version is in force at the evaluation time, the decision MUST omit
    consent, MUST cite the empty-policy digest
    sha-256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a, and MUST
    deny with reason no-consent unless break-glass or regulator access applies."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-008:b21d7ac25571a86c")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-008"))
def test_con_008_units(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """Consent evaluation MUST decide each data class of each record in scope separately,
    taking a header without dataClasses as carrying only the class its record type
    implies in spec/conventions/consent.md, and MUST permit the request only when every
    such unit is permitted."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-009:0c96f2f7dc8bdfe4")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-009"))
def test_con_009_provision_criteria(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """A consent provision MUST match a unit only when each of its present criteria
    matches (actors by participant id or by one of the requester's roles, purposes,
    dataClasses, recordTypes, sensitivity, period), and an absent criterion MUST match
    every unit."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-010:faf09f143e562956")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-010"))
def test_con_010_period_bounds(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """A provision's period MUST include both its start and its end instants, and a
    provision whose period starts after, or ends before, the evaluation time MUST NOT
    match."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-011:54330cd4531bc369")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-011"))
def test_con_011_tree_walk(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """The deciding provision MUST be found by the tree walk of spec/conventions/consent.md,
    so that the innermost matching provision decides, a nested provision overrides its
    parent at any depth, a deny overrides a permit among matching siblings, and the
    nested provisions of a provision that does not match are never considered."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-012:366d1f7c4bb0d1ab")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-012"))
def test_con_012_default_deny(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """A unit for which no provision matches MUST be denied with reason
    no-matching-permit, and a unit whose deciding provision is a deny MUST be denied with
    reason consent-deny."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-013:6f06c7f98e55e13c")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-013"))
def test_con_013_cross_border(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """When the governing consent version names a jurisdiction and the requester's
    jurisdiction differs from it or is absent, a unit MUST be denied with reason
    cross-border-not-permitted unless crossBorder.permitted is true and
    crossBorder.jurisdictions lists the requester's jurisdiction."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-014:74c48ae60eaadcff")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-014"))
def test_con_014_separate_consent(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """A unit of a sensitive data class (mental-health, sexual-health, genetics,
    substance-use) or of a sensitivity label whose security profile consent is separate
    MUST be denied with reason separate-consent-missing unless the governing version has
    separateConsent true and a provision on the deciding path names that class, and that
    label, explicitly."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-015:47b0cb35359a356d")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-015"))
def test_con_015_unknown_purpose(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """A request whose purpose is not one of treatment, payment, research, public-health
    or emergency MUST be decided deny with reason unknown-purpose (plus
    break-glass-refused when breakGlass is true), and MUST NOT be answered with an
    error."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-016:f3b5a53c7a94694a")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-016"))
def test_con_016_break_glass_validity(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """A break-glass request MUST be denied with reason break-glass-refused unless its
    purpose is emergency, its justification is not empty and the requester holds one of
    the roles hospital, laboratory, imaging-centre or pharmacy."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-017:5de0726b20c5ad5c")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-017"))
def test_con_017_regulators(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """A request that is not break-glass from a requester holding the regulator role MUST
    be decided permit with reason regulator-metadata and scope metadata-only, whatever
    the consent says."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-018:84315758cc349744")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-018"))
def test_con_018_break_glass_override(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """A valid break-glass request MUST be permitted with reason break-glass even when
    consent refuses it, unless a denied unit has a sensitivity label whose security
    profile break_glass is forbidden or was refused by a deciding deny provision that
    lists emergency in its purposes, in which case it MUST be denied with reason
    break-glass-refused."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-019:2d24428200270339")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-019"))
def test_con_019_break_glass_flagged(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """An access decision MUST have breakGlass equal to the request's breakGlass, and a
    permitted break-glass request MUST carry the obligations notify-patient and
    review-queue."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-020:d6211ea38789402a")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-020"))
def test_con_020_obligations(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """A permit with scope payload MUST carry exactly the obligations of
    spec/conventions/consent.md step 8 (notify-patient for break-glass or for a label
    whose security profile patient_notification is each-access, review-queue for
    break-glass, no-redisclosure always, de-identify for research), in that order."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-021:bdee32641eb0b781")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-021"))
def test_con_021_reasons(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """An access decision MUST list each of its reasons once, in the order of the reason
    table of spec/conventions/consent.md, with the criterion reasons that step 6 derives
    from the permit provisions with the fewest failed criteria."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-022:c92b2a4187419850")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-022"))
def test_con_022_decided_and_scope(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """An access decision MUST have decided equal to the evaluation time, and MUST have a
    scope (payload or metadata-only) exactly when its decision is permit."""
    _replay(adapter, supports, case)


@pytest.mark.requirement("BMDX-CON-025:0d42530fde777ba9")
@pytest.mark.parametrize("case", _vectors("BMDX-CON-025"))
def test_con_025_one_consent_per_subject(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """A subject MUST have at most one consent; a node MUST refuse a version 1 of a new
    consentId for a subject that already has a consent, and consent evaluation MUST
    refuse versions of more than one consentId as multiple-consents."""
    _replay(adapter, supports, case)
