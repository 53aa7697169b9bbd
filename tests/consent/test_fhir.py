"""The FHIR R4 mapping of consent versions (consent.md, "FHIR R4 Consent").

Each mapped resource is validated with ``fhir.resources`` (its R4B models: the Consent
resource is unchanged between R4 and R4B), and compared field by field with the BMDX
version it came from and with the published FHIR R4 consent example.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fhir.resources.R4B.consent import Consent as FhirConsent

from bmdx.reference._internal.consent import FHIR_SYSTEMS, to_fhir_consent
from tests import vectors
from tests.thirdparty import REPO_ROOT, files, require_vectors

ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
PURPOSE_CODES = {
    "treatment": "TREAT",
    "payment": "HPAYMT",
    "research": "HRESCH",
    "public-health": "PUBHLTH",
    "emergency": "ETREAT",
}


def _consents() -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(vectors.vector_dir("consent").glob("*.json")):
        for consent in json.loads(path.read_bytes())["consents"]:
            found[json.dumps(consent, sort_keys=True)] = consent
    for path in sorted((REPO_ROOT / "spec" / "examples" / "valid" / "consent").glob("*.json")):
        consent = json.loads(path.read_bytes())
        found[json.dumps(consent, sort_keys=True)] = consent
    return list(found.values())


CONSENTS = _consents()


def _pairs(bmdx: dict[str, Any], fhir: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    yield bmdx, fhir
    for child, mapped in zip(bmdx.get("provisions", ()), fhir.get("provision", ()), strict=True):
        yield from _pairs(child, mapped)


def test_there_are_consents_to_map() -> None:
    require_vectors(len(CONSENTS), "consent version")
    assert len(CONSENTS) >= 20


@pytest.mark.requirement("BMDX-CON-026")
@pytest.mark.parametrize(
    "consent", CONSENTS, ids=lambda c: f"{c['consentId'][-8:]}-v{c['version']}"
)
def test_maps_to_a_valid_r4_consent(consent: dict[str, Any]) -> None:
    resource = to_fhir_consent(consent)
    parsed = FhirConsent.model_validate(resource)
    assert parsed.status == ("active" if consent["status"] == "active" else "inactive")
    assert resource["meta"]["versionId"] == str(consent["version"])
    assert resource["identifier"] == [
        {"system": "urn:ietf:rfc:3986", "value": consent["consentId"]}
    ]
    assert resource["patient"]["identifier"]["value"] == consent["subject"]
    assert resource["performer"][0]["identifier"]["value"] == consent["grantor"]
    assert resource["dateTime"] == consent["issued"]
    rule = resource["policyRule"]["coding"][0]["code"]
    assert rule == ("OPTIN" if consent["provision"]["type"] == "deny" else "OPTOUT")
    extensions = {e["url"]: e for e in resource["extension"]}
    assert (
        extensions[FHIR_SYSTEMS["separate-consent"]]["valueBoolean"] is consent["separateConsent"]
    )
    cross = extensions[FHIR_SYSTEMS["cross-border"]]["extension"]
    assert cross[0] == {"url": "permitted", "valueBoolean": consent["crossBorder"]["permitted"]}
    assert [e["valueCode"] for e in cross[1:]] == consent["crossBorder"].get("jurisdictions", [])
    assert (FHIR_SYSTEMS["jurisdiction"] in extensions) is ("jurisdiction" in consent)
    for bmdx, fhir in _pairs(consent["provision"], resource["provision"]):
        assert fhir["type"] == bmdx["type"]
        assert fhir.get("period") == bmdx.get("period")
        assert [p["code"] for p in fhir.get("purpose", [])] == [
            PURPOSE_CODES[p] for p in bmdx.get("purposes", [])
        ]
        assert {p["system"] for p in fhir.get("purpose", [])} <= {ACT_REASON}
        assert [s["code"] for s in fhir.get("securityLabel", [])] == bmdx.get("sensitivity", [])
        assert {s["system"] for s in fhir.get("securityLabel", [])} <= {CONFIDENTIALITY}
        classes = [(c["system"], c["code"]) for c in fhir.get("class", [])]
        assert classes == [
            (FHIR_SYSTEMS["record-type"], t) for t in bmdx.get("recordTypes", [])
        ] + [(FHIR_SYSTEMS["data-class"], d) for d in bmdx.get("dataClasses", [])]
        actors = [a["reference"]["identifier"]["value"] for a in fhir.get("actor", [])]
        assert actors == [a.get("participant") or a["role"] for a in bmdx.get("actors", [])]
        for actor in fhir.get("actor", []):
            assert actor["role"]["coding"][0]["code"] == "IRCP"


@pytest.mark.requirement("BMDX-CON-026")
def test_scope_and_category_are_those_of_the_fhir_example() -> None:
    examples = files("fhir-r4", "examples/consent-*.json")
    reference = json.loads(examples[0].read_bytes())
    FhirConsent.model_validate(reference)
    mapped = to_fhir_consent(CONSENTS[0])
    assert mapped["scope"] == reference["scope"]
    assert mapped["category"] == reference["category"]
    assert {c["system"] for c in mapped["policyRule"]["coding"]} == {
        c["system"] for c in reference["policyRule"]["coding"]
    }
    assert set(mapped) - {"extension", "meta", "identifier", "performer"} <= set(reference) | {
        "dateTime"
    }


def test_nested_provisions_keep_their_depth() -> None:
    def depth(node: dict[str, Any], key: str) -> int:
        return 1 + max((depth(c, key) for c in node.get(key, ())), default=0)

    deepest = max(CONSENTS, key=lambda c: depth(c["provision"], "provisions"))
    assert depth(deepest["provision"], "provisions") >= 4
    mapped = to_fhir_consent(deepest)
    assert depth(mapped["provision"], "provision") == depth(deepest["provision"], "provisions")
