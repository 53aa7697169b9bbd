"""Generate spec/vectors/consent/: decision vectors for consent evaluation (consent.md).

Each vector is one file ``NNN-short-name.json`` (``NNN-short-name_fail.json`` for inputs
that must be refused) holding the evaluation's inputs -- consent versions, access
request, requester participant, record headers, ``now`` -- and the expected outcome.

The expected outcomes are the :data:`CASES` table below, written by hand from the text
of spec/conventions/consent.md; nothing here calls the reference's consent evaluation,
so the vectors are an independent oracle for it and for every other implementation.
The generator only builds the documents (valid against the schemas, chained and
signed) and turns the table's "version N decides" into the digest that version has:
``sha-256:`` and the hex SHA-256 of its RFC 8785 bytes, computed here with ``rfc8785``.

Deterministic: identifiers are UUIDv5 of fixed labels, signing keys are derived from
fixed labels (Ed25519 signatures are deterministic), so a run reproduces the files byte
for byte (the test suite checks this).  Run ``python -m tools.vectors.gen_consent [OUTDIR]``.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from bmdx.reference._internal.b64 import b64url_encode
from bmdx.reference._internal.keys import PrivateKey, load_private_pem
from bmdx.reference._internal.signing import sign_document

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "consent"
EMPTY_POLICY = "sha-256:" + hashlib.sha256(b"{}").hexdigest()
_NAMESPACE = uuid.UUID("3d0c6a8e-5b2f-5f43-8f0e-6c1b7e2d9a41")

NOW = "2025-06-01T12:00:00Z"
REQUESTED = "2025-06-01T11:59:58Z"
ISSUED = "2025-01-01T00:00:00Z"


def _secret(label: str) -> bytes:
    return hashlib.sha256(b"BMDX consent vectors:" + label.encode()).digest()


def object_id(label: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, label)}"


def digest(data: bytes) -> str:
    return "sha-256:" + hashlib.sha256(data).hexdigest()


def version_hash(document: dict[str, Any]) -> str:
    return digest(rfc8785.dumps(document))


def _key(label: str) -> PrivateKey:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(_secret("key:" + label))
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return load_private_pem(pem)


def _signed(document: dict[str, Any], signer: str) -> dict[str, Any]:
    unsigned = {k: v for k, v in document.items() if k != "signatures"}
    return sign_document(unsigned, _key(signer))


def pid(slug: str) -> str:
    return f"urn:bmdx:participant:{slug}"


SUBJECT = "pseud:" + b64url_encode(
    hmac.new(_secret("pseudonymisation"), b"patient-a", hashlib.sha256).digest()
)
OTHER_SUBJECT = "pseud:" + b64url_encode(
    hmac.new(_secret("pseudonymisation"), b"patient-b", hashlib.sha256).digest()
)
PATIENT = pid("patient-a")


# --- requesters -----------------------------------------------------------------------


def participant(slug: str, roles: list[str], jurisdiction: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "objectType": "Participant",
        "id": pid(slug),
        "name": slug.replace("-", " ").title(),
        "roles": roles,
    }
    if jurisdiction is not None:
        doc["jurisdiction"] = jurisdiction
    doc["keys"] = [_key(slug).public.to_public_key_object()]
    doc["registered"] = 1
    return doc


HOSP = participant("riverside-hospital", ["hospital"], "DE")
HOSP2 = participant("harbour-hospital", ["hospital"], "DE")
HOSP_FR = participant("lyon-hospital", ["hospital"], "FR")
HOSP_NOJ = participant("offshore-clinic", ["hospital"], None)
LAB = participant("central-lab", ["laboratory"], "DE")
PHARM = participant("northside-pharmacy", ["pharmacy"], "DE")
INS = participant("acme-insurance", ["insurer"], "DE")
RES = participant("city-university-research", ["research-body"], "DE")
REG = participant("federal-health-regulator", ["regulator"], "DE")


# --- record headers --------------------------------------------------------------------


def header(  # as anchored on the ledger: without a plaintextDigest
    label: str,
    record_type: str,
    classes: list[str] | None,
    sensitivity: str,
    *,
    created: str = "2025-03-01T08:30:00Z",
    subject: str = SUBJECT,
) -> dict[str, Any]:
    plaintext = f"BMDX consent vector payload {label}".encode()
    plain_digest = hashlib.sha256(plaintext).digest()
    salt = _secret("salt:" + label)
    ciphertext_address = digest(b"JWE of " + plaintext)
    doc: dict[str, Any] = {
        "objectType": "RecordHeader",
        "recordId": object_id("record:" + label),
        "recordType": record_type,
    }
    if classes is not None:
        doc["dataClasses"] = classes
    doc.update(
        {
            "subject": subject,
            "author": LAB["id"],
            "created": created,
            "contentType": "application/fhir+json",
            "contentVersion": "4.0.1",
            "sensitivity": sensitivity,
            "commitment": digest(salt + plain_digest),
            "payload": {
                "objectType": "PayloadDescriptor",
                "location": ciphertext_address,
                "size": 1024,
                "mediaType": "application/jose+json",
                "encryption": {"enc": "A256GCM", "keyAgreement": "ECDH-ES+A256KW"},
                "recipients": 1,
            },
        }
    )
    return _signed(doc, "central-lab")


R_LAB = header("glucose", "lab-result", ["laboratory"], "N")
R_LAB_R = header("hiv-viral-load", "lab-result", ["laboratory"], "R")
R_EMR = header("discharge-summary", "emr-document", None, "N")
R_EMR_MH = header("psychiatric-note", "emr-document", ["mental-health"], "R")
R_GEN_R = header("brca-panel", "lab-result", ["genetics"], "R")
R_V = header("sealed-note", "emr-document", ["diagnoses"], "V")
R_IMG = header("chest-xray", "imaging-study", None, "N")
R_CLAIM = header("claim-2025-17", "insurance-claim", ["financial"], "N")
R_IMM = header("influenza-vaccination", "immunisation", None, "N")
R_MIX = header("addiction-clinic-letter", "emr-document", ["diagnoses", "substance-use"], "R")
R_RESEARCH = header("cohort-extract", "research-dataset", ["research"], "N")
R_OTHER = header("other-patient-glucose", "lab-result", ["laboratory"], "N", subject=OTHER_SUBJECT)


# --- provisions and consents -----------------------------------------------------------


def prov(kind: str, *kids: dict[str, Any], **criteria: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind}
    names = {"record_types": "recordTypes", "data_classes": "dataClasses"}
    for name, value in criteria.items():
        out[names.get(name, name)] = value
    if kids:
        out["provisions"] = list(kids)
    return out


def role(*names: str) -> list[dict[str, str]]:
    return [{"role": n} for n in names]


def who(*participants: dict[str, Any]) -> list[dict[str, str]]:
    return [{"participant": p["id"]} for p in participants]


CARE = prov(
    "permit",
    prov("deny", actors=who(PHARM), data_classes=["diagnoses"]),
    actors=role("hospital", "laboratory", "pharmacy"),
    purposes=["treatment", "emergency"],
    data_classes=[
        "diagnoses",
        "laboratory",
        "imaging",
        "vital-signs",
        "immunisations",
        "medications",
    ],
    sensitivity=["N", "R"],
    period={"start": "2025-01-01T00:00:00Z", "end": "2027-12-31T23:59:59Z"},
)
BILLING = prov(
    "permit",
    actors=role("insurer"),
    purposes=["payment"],
    data_classes=["financial"],
    record_types=["insurance-claim"],
    sensitivity=["N"],
)
STANDARD = prov("deny", CARE, BILLING)


@dataclass
class Version:
    """One consent version of a case; the chain members are filled in by the generator."""

    provision: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(STANDARD))
    status: str = "active"
    issued: str = ISSUED
    separate: bool = False
    cross: dict[str, Any] = field(default_factory=lambda: {"permitted": False})
    jurisdiction: str | None = "DE"
    consent_label: str = "consent:patient-a"


def chain(*versions: Version) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for number, v in enumerate(versions, start=1):
        doc: dict[str, Any] = {
            "objectType": "Consent",
            "consentId": object_id(v.consent_label),
            "version": number,
        }
        if docs:
            doc["previous"] = version_hash(docs[-1])
        doc.update(
            {
                "subject": SUBJECT,
                "grantor": PATIENT,
                "status": v.status,
                "issued": v.issued,
                "provision": v.provision,
                "separateConsent": v.separate,
                "crossBorder": v.cross,
            }
        )
        if v.jurisdiction is not None:
            doc["jurisdiction"] = v.jurisdiction
        docs.append(_signed(doc, "patient-a"))
    return docs


def resign(document: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return _signed({**document, **changes}, "patient-a")


# --- the table -------------------------------------------------------------------------


@dataclass
class Case:
    """One vector: its inputs and the outcome consent.md prescribes, written by hand.

    ``decides`` is the version number of the governing consent version (``None`` for
    the empty policy); ``error`` is ``(requirement, reason)`` for refused inputs.
    """

    name: str
    description: str
    requirements: list[str]
    consents: list[dict[str, Any]]
    requester: dict[str, Any]
    records: list[dict[str, Any]]
    purpose: str = "treatment"
    decision: str | None = None
    reasons: list[str] = field(default_factory=list)
    decides: int | None = 1
    obligations: list[str] = field(default_factory=list)
    scope: str | None = None
    break_glass: bool = False
    justification: str | None = None
    query: dict[str, Any] | None = None
    now: str = NOW
    requested: str = REQUESTED
    error: tuple[str, str] | None = None
    adjust: Callable[[dict[str, Any]], None] | None = None


PERMIT = {"decision": "permit", "reasons": ["consent-permit"], "scope": "payload"}
JUSTIFIED = "Unconscious patient in the emergency department; current results are needed."


def std(**kw: Any) -> list[dict[str, Any]]:
    return chain(Version(**kw))


def single(permit: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    """A consent: deny everything except one permit provision."""
    return chain(Version(provision=prov("deny", permit), **kw))


def revoked_chain(revoked_at: str) -> list[dict[str, Any]]:
    return chain(Version(), Version(status="revoked", issued=revoked_at))


def cases() -> list[Case]:  # noqa: PLR0915 - one table, read top to bottom
    c: list[Case] = []
    add = c.append
    nr = ["no-redisclosure"]
    bg_obl = ["notify-patient", "review-queue", "no-redisclosure"]

    # -- actors, purposes, classes, types, sensitivity -----------------------------------
    add(
        Case(
            "permit-by-role",
            "A hospital reads a normal lab result for treatment; the care provision permits its role.",
            ["BMDX-CON-001", "BMDX-CON-009", "BMDX-CON-006"],
            std(),
            HOSP,
            [R_LAB],
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "permit-by-participant-id",
            "A provision naming one participant permits that participant.",
            ["BMDX-CON-009"],
            single(
                prov(
                    "permit",
                    actors=who(HOSP2),
                    purposes=["treatment"],
                    data_classes=["laboratory"],
                    sensitivity=["N"],
                )
            ),
            HOSP2,
            [R_LAB],
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "deny-other-participant-id",
            "A provision naming one participant does not permit another with the same role; the criterion reason names the actor.",
            ["BMDX-CON-009", "BMDX-CON-021"],
            single(
                prov(
                    "permit",
                    actors=who(HOSP2),
                    purposes=["treatment"],
                    data_classes=["laboratory"],
                    sensitivity=["N"],
                )
            ),
            HOSP,
            [R_LAB],
            decision="deny",
            reasons=["actor-not-permitted", "consent-deny"],
        )
    )
    add(
        Case(
            "deny-role-not-listed",
            "An insurer asks for a lab result for treatment: the care provision misses only on the actor, the billing one on three criteria; the nearest miss is reported.",
            ["BMDX-CON-009", "BMDX-CON-021"],
            std(),
            INS,
            [R_LAB],
            decision="deny",
            reasons=["actor-not-permitted", "consent-deny"],
        )
    )
    add(
        Case(
            "deny-purpose-not-listed",
            "A hospital asks for research use; no provision permits that purpose.",
            ["BMDX-CON-009", "BMDX-CON-021"],
            std(),
            HOSP,
            [R_LAB],
            purpose="research",
            decision="deny",
            reasons=["purpose-not-permitted", "consent-deny"],
        )
    )
    add(
        Case(
            "deny-data-class-not-listed",
            "A hospital asks for an insurance claim for treatment: the financial class is outside the care provision.",
            ["BMDX-CON-009", "BMDX-CON-021"],
            std(),
            HOSP,
            [R_CLAIM],
            decision="deny",
            reasons=["data-class-not-permitted", "consent-deny"],
        )
    )
    types_only = prov(
        "permit",
        actors=role("hospital"),
        record_types=["lab-result", "imaging-study"],
        data_classes=["laboratory", "imaging", "diagnoses"],
        sensitivity=["N"],
    )
    add(
        Case(
            "deny-record-type-not-listed",
            "The permit lists record types; an EMR document is not among them.",
            ["BMDX-CON-009", "BMDX-CON-021"],
            single(types_only),
            HOSP,
            [R_EMR],
            decision="deny",
            reasons=["record-type-not-permitted", "consent-deny"],
        )
    )
    add(
        Case(
            "permit-record-type-listed",
            "The permit lists imaging-study; an imaging study (implied class imaging) is permitted.",
            ["BMDX-CON-009", "BMDX-CON-008"],
            single(types_only),
            HOSP,
            [R_IMG],
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "deny-sensitivity-not-listed",
            "A very restricted (V) record is outside a provision limited to N and R.",
            ["BMDX-CON-009", "BMDX-CON-021"],
            std(),
            HOSP,
            [R_V],
            decision="deny",
            reasons=["sensitivity-not-permitted", "consent-deny"],
        )
    )
    add(
        Case(
            "permit-restricted-notifies-patient",
            "A restricted (R) lab result is permitted; the security profile asks that the patient be notified of each access.",
            ["BMDX-CON-020"],
            std(),
            HOSP,
            [R_LAB_R],
            **PERMIT,
            obligations=["notify-patient", "no-redisclosure"],
        )
    )
    add(
        Case(
            "permit-payment-insurer",
            "An insurer reads a claim for payment under the billing provision.",
            ["BMDX-CON-009"],
            std(),
            INS,
            [R_CLAIM],
            purpose="payment",
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "permit-research-de-identify",
            "A research body reads a research dataset for research: the permit carries de-identify.",
            ["BMDX-CON-020"],
            single(
                prov(
                    "permit",
                    actors=role("research-body"),
                    purposes=["research"],
                    data_classes=["research", "laboratory"],
                    sensitivity=["N"],
                )
            ),
            RES,
            [R_RESEARCH],
            purpose="research",
            **PERMIT,
            obligations=["no-redisclosure", "de-identify"],
        )
    )
    add(
        Case(
            "permit-emergency-purpose-without-break-glass",
            "Purpose emergency without break-glass is an ordinary request; the care provision lists emergency.",
            ["BMDX-CON-009", "BMDX-CON-019"],
            std(),
            HOSP,
            [R_LAB],
            purpose="emergency",
            **PERMIT,
            obligations=nr,
        )
    )

    # -- periods ---------------------------------------------------------------------------
    def timed(period: dict[str, str]) -> list[dict[str, Any]]:
        return single(
            prov(
                "permit",
                actors=role("hospital"),
                data_classes=["laboratory"],
                sensitivity=["N"],
                period=period,
            )
        )

    add(
        Case(
            "period-start-inclusive",
            "The provision starts exactly at now: the start bound is inclusive.",
            ["BMDX-CON-010"],
            timed({"start": NOW}),
            HOSP,
            [R_LAB],
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "period-end-inclusive",
            "The provision ends exactly at now: the end bound is inclusive.",
            ["BMDX-CON-010"],
            timed({"end": NOW}),
            HOSP,
            [R_LAB],
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "period-expired",
            "The provision ended one microsecond before now.",
            ["BMDX-CON-010", "BMDX-CON-021"],
            timed({"end": "2025-06-01T11:59:59.999999Z"}),
            HOSP,
            [R_LAB],
            decision="deny",
            reasons=["outside-period", "consent-deny"],
        )
    )
    add(
        Case(
            "period-not-yet-valid",
            "The provision starts one microsecond after now.",
            ["BMDX-CON-010", "BMDX-CON-021"],
            timed({"start": "2025-06-01T12:00:00.000001Z"}),
            HOSP,
            [R_LAB],
            decision="deny",
            reasons=["outside-period", "consent-deny"],
        )
    )
    add(
        Case(
            "period-fraction-padding",
            "An end of 12:00:00.000Z is the same instant as a now of 12:00:00Z; compare instants, not strings.",
            ["BMDX-CON-003", "BMDX-CON-010"],
            timed({"end": "2025-06-01T12:00:00.000Z"}),
            HOSP,
            [R_LAB],
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "period-fraction-string-trap",
            "An end of 12:00:00Z is before a now of 12:00:00.1Z, although 'Z' sorts after '.' when the strings are compared.",
            ["BMDX-CON-003", "BMDX-CON-010"],
            timed({"end": "2025-06-01T12:00:00Z"}),
            HOSP,
            [R_LAB],
            now="2025-06-01T12:00:00.1Z",
            decision="deny",
            reasons=["outside-period", "consent-deny"],
        )
    )
    add(
        Case(
            "period-leap-second-end",
            "An end at 23:59:60Z is the instant of the next day's 00:00:00Z.",
            ["BMDX-CON-003", "BMDX-CON-010"],
            timed({"end": "2025-06-30T23:59:60Z"}),
            HOSP,
            [R_LAB],
            now="2025-07-01T00:00:00Z",
            requested="2025-06-30T23:59:00Z",
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "period-after-leap-second",
            "One microsecond after the leap second the provision has ended.",
            ["BMDX-CON-003", "BMDX-CON-010"],
            timed({"end": "2025-06-30T23:59:60Z"}),
            HOSP,
            [R_LAB],
            now="2025-07-01T00:00:00.000001Z",
            requested="2025-06-30T23:59:00Z",
            decision="deny",
            reasons=["outside-period", "consent-deny"],
        )
    )

    # -- nesting and precedence -------------------------------------------------------------
    add(
        Case(
            "nested-deny-exception",
            "The pharmacy is excluded from diagnoses by a nested deny: the exception overrides its parent permit; no criterion reason since the parent matched.",
            ["BMDX-CON-011", "BMDX-CON-012", "BMDX-CON-021"],
            std(),
            PHARM,
            [R_EMR],
            decision="deny",
            reasons=["consent-deny"],
        )
    )
    add(
        Case(
            "nested-deny-not-matching",
            "The nested deny covers diagnoses only; the pharmacy's lab result is permitted by the parent.",
            ["BMDX-CON-011"],
            std(),
            PHARM,
            [R_LAB],
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "nested-deny-other-actor",
            "The nested deny names the pharmacy; a laboratory reading diagnoses is permitted.",
            ["BMDX-CON-011"],
            std(),
            LAB,
            [R_EMR],
            **PERMIT,
            obligations=nr,
        )
    )
    deep = prov(
        "deny",
        prov(
            "permit",
            prov("deny", prov("permit", actors=who(HOSP)), data_classes=["diagnoses"]),
            actors=role("hospital"),
            purposes=["treatment"],
            data_classes=["diagnoses", "laboratory"],
            sensitivity=["N"],
        ),
    )
    add(
        Case(
            "nesting-depth-three-permit",
            "permit > deny(diagnoses) > permit(this hospital): the innermost matching provision, three levels down, permits.",
            ["BMDX-CON-011"],
            chain(Version(provision=deep)),
            HOSP,
            [R_EMR],
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "nesting-depth-three-deny",
            "Another hospital stops at the deny two levels down, since the innermost permit names someone else.",
            ["BMDX-CON-011"],
            chain(Version(provision=deep)),
            HOSP2,
            [R_EMR],
            decision="deny",
            reasons=["consent-deny"],
        )
    )
    add(
        Case(
            "nesting-depth-three-parent-class",
            "A lab result is outside the nested deny; the level-one permit decides.",
            ["BMDX-CON-011"],
            chain(Version(provision=deep)),
            HOSP2,
            [R_LAB],
            **PERMIT,
            obligations=nr,
        )
    )
    siblings = prov(
        "deny",
        prov("permit", actors=role("hospital"), data_classes=["laboratory"], sensitivity=["N"]),
        prov("deny", actors=role("hospital"), purposes=["treatment"]),
    )
    add(
        Case(
            "siblings-deny-overrides-permit",
            "Two sibling provisions both match: the deny wins over the permit at the same level.",
            ["BMDX-CON-011", "BMDX-CON-012"],
            chain(Version(provision=siblings)),
            HOSP,
            [R_LAB],
            decision="deny",
            reasons=["consent-deny"],
        )
    )
    siblings_b = prov(
        "deny",
        prov("deny", actors=role("hospital"), purposes=["research"]),
        prov("permit", actors=role("hospital"), data_classes=["laboratory"], sensitivity=["N"]),
    )
    add(
        Case(
            "siblings-deny-not-matching",
            "The sibling deny is for research only; for treatment the permit decides.",
            ["BMDX-CON-011"],
            chain(Version(provision=siblings_b)),
            HOSP,
            [R_LAB],
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "siblings-deny-matching-listed-first",
            "Listed first, the matching sibling deny still wins for research.",
            ["BMDX-CON-011", "BMDX-CON-021"],
            chain(Version(provision=siblings_b)),
            HOSP,
            [R_LAB],
            purpose="research",
            decision="deny",
            reasons=["consent-deny"],
        )
    )
    open_root = prov("permit", prov("deny", actors=role("insurer")))
    add(
        Case(
            "root-permit-with-exception",
            "A root permit with no criteria, and a nested deny for insurers: a hospital is permitted.",
            ["BMDX-CON-011"],
            chain(Version(provision=open_root, separate=True)),
            HOSP,
            [R_LAB],
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "root-permit-exception-applies",
            "The same consent denies the insurer through the nested exception.",
            ["BMDX-CON-011", "BMDX-CON-012"],
            chain(Version(provision=open_root, separate=True)),
            INS,
            [R_CLAIM],
            purpose="payment",
            decision="deny",
            reasons=["consent-deny"],
        )
    )
    add(
        Case(
            "root-not-matching-default-deny",
            "The root provision names hospitals only; an insurer matches nothing and the default is deny.",
            ["BMDX-CON-012", "BMDX-CON-021"],
            chain(Version(provision=prov("permit", actors=role("hospital")), separate=True)),
            INS,
            [R_LAB],
            decision="deny",
            reasons=["actor-not-permitted", "no-matching-permit"],
        )
    )
    unmatched_parent = prov(
        "deny", prov("permit", prov("permit", actors=role("hospital")), actors=role("laboratory"))
    )
    add(
        Case(
            "children-of-unmatched-parent-ignored",
            "A permit for hospitals nested under a permit for laboratories is never reached by a hospital; no criterion reason since that nested permit's own criteria match.",
            ["BMDX-CON-011", "BMDX-CON-021"],
            chain(Version(provision=unmatched_parent, separate=True)),
            HOSP,
            [R_LAB],
            decision="deny",
            reasons=["consent-deny"],
        )
    )
    add(
        Case(
            "near-miss-union-of-ties",
            "Two permit provisions each miss on one criterion (actor, purpose): both reasons are given.",
            ["BMDX-CON-021"],
            chain(
                Version(
                    provision=prov(
                        "deny",
                        prov(
                            "permit",
                            actors=role("laboratory"),
                            purposes=["treatment"],
                            data_classes=["laboratory"],
                            sensitivity=["N"],
                        ),
                        prov(
                            "permit",
                            actors=role("hospital"),
                            purposes=["payment"],
                            data_classes=["laboratory"],
                            sensitivity=["N"],
                        ),
                    )
                )
            ),
            HOSP,
            [R_LAB],
            decision="deny",
            reasons=["actor-not-permitted", "purpose-not-permitted", "consent-deny"],
        )
    )

    # -- records and units ------------------------------------------------------------------
    add(
        Case(
            "two-records-permitted",
            "Both records are permitted, so the request is.",
            ["BMDX-CON-008"],
            std(),
            HOSP,
            [R_LAB, R_IMG],
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "two-records-one-denied",
            "A request is all or nothing: the claim is refused, so the lab result is not released either.",
            ["BMDX-CON-008"],
            std(),
            HOSP,
            [R_LAB, R_CLAIM],
            decision="deny",
            reasons=["data-class-not-permitted", "consent-deny"],
        )
    )
    add(
        Case(
            "record-with-two-classes",
            "A letter carrying diagnoses and substance-use: the diagnoses permit does not release the substance-use class.",
            ["BMDX-CON-008", "BMDX-CON-014"],
            std(),
            HOSP,
            [R_MIX],
            decision="deny",
            reasons=["data-class-not-permitted", "consent-deny"],
        )
    )
    diag_only = prov(
        "permit", actors=role("hospital"), data_classes=["diagnoses"], sensitivity=["N"]
    )
    add(
        Case(
            "implied-class-permitted",
            "An EMR document without dataClasses carries the implied class diagnoses.",
            ["BMDX-CON-008"],
            single(diag_only),
            HOSP,
            [R_EMR],
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "implied-class-denied",
            "An immunisation without dataClasses carries the implied class immunisations, which the permit does not list.",
            ["BMDX-CON-008", "BMDX-CON-021"],
            single(diag_only),
            HOSP,
            [R_IMM],
            decision="deny",
            reasons=["data-class-not-permitted", "consent-deny"],
        )
    )
    add(
        Case(
            "query-scope",
            "A query for lab results selects two headers; both are permitted, one is restricted.",
            ["BMDX-CON-008", "BMDX-CON-020"],
            std(),
            HOSP,
            [R_LAB, R_LAB_R],
            query={"recordTypes": ["lab-result"], "from": "2025-01-01T00:00:00Z"},
            **PERMIT,
            obligations=["notify-patient", "no-redisclosure"],
        )
    )

    # -- separate consent -------------------------------------------------------------------
    mh = prov(
        "permit",
        actors=role("hospital"),
        purposes=["treatment"],
        data_classes=["mental-health"],
        sensitivity=["N", "R"],
    )
    add(
        Case(
            "separate-consent-flag-missing",
            "Mental-health data named explicitly, but the consent was not given separately (separateConsent false).",
            ["BMDX-CON-014"],
            single(mh),
            HOSP,
            [R_EMR_MH],
            decision="deny",
            reasons=["separate-consent-missing"],
        )
    )
    add(
        Case(
            "separate-consent-given",
            "Mental-health data named explicitly in a separate consent is permitted; the restricted label notifies the patient.",
            ["BMDX-CON-014", "BMDX-CON-020"],
            single(mh, separate=True),
            HOSP,
            [R_EMR_MH],
            **PERMIT,
            obligations=["notify-patient", "no-redisclosure"],
        )
    )
    add(
        Case(
            "separate-consent-class-unrestricted",
            "A permit that leaves data classes unrestricted does not name mental-health explicitly.",
            ["BMDX-CON-014"],
            single(prov("permit", actors=role("hospital")), separate=True),
            HOSP,
            [R_EMR_MH],
            decision="deny",
            reasons=["separate-consent-missing"],
        )
    )
    add(
        Case(
            "separate-consent-v-named",
            "A very restricted record is permitted when the separate consent lists V explicitly.",
            ["BMDX-CON-014"],
            single(
                prov(
                    "permit", actors=role("hospital"), data_classes=["diagnoses"], sensitivity=["V"]
                ),
                separate=True,
            ),
            HOSP,
            [R_V],
            **PERMIT,
            obligations=["notify-patient", "no-redisclosure"],
        )
    )
    add(
        Case(
            "separate-consent-v-unrestricted",
            "A permit that leaves sensitivity unrestricted does not name V explicitly.",
            ["BMDX-CON-014"],
            single(
                prov("permit", actors=role("hospital"), data_classes=["diagnoses"]), separate=True
            ),
            HOSP,
            [R_V],
            decision="deny",
            reasons=["separate-consent-missing"],
        )
    )
    add(
        Case(
            "separate-consent-class-on-ancestor",
            "The genetics class is named by the enclosing provision on the deciding path, which is explicit enough.",
            ["BMDX-CON-014", "BMDX-CON-011"],
            chain(
                Version(
                    provision=prov(
                        "deny", prov("permit", actors=role("hospital")), data_classes=["genetics"]
                    ),
                    separate=True,
                )
            ),
            HOSP,
            [R_GEN_R],
            **PERMIT,
            obligations=["notify-patient", "no-redisclosure"],
        )
    )

    # -- cross-border -----------------------------------------------------------------------
    add(
        Case(
            "cross-border-denied",
            "A hospital in FR asks under a DE consent that does not permit transfer abroad.",
            ["BMDX-CON-013"],
            std(),
            HOSP_FR,
            [R_LAB],
            decision="deny",
            reasons=["cross-border-not-permitted"],
        )
    )
    add(
        Case(
            "cross-border-permitted-listed",
            "Transfer abroad is permitted to FR and NL.",
            ["BMDX-CON-013"],
            std(cross={"permitted": True, "jurisdictions": ["FR", "NL"]}),
            HOSP_FR,
            [R_LAB],
            **PERMIT,
            obligations=nr,
        )
    )
    add(
        Case(
            "cross-border-not-listed",
            "Transfer abroad is permitted to NL only.",
            ["BMDX-CON-013"],
            std(cross={"permitted": True, "jurisdictions": ["NL"]}),
            HOSP_FR,
            [R_LAB],
            decision="deny",
            reasons=["cross-border-not-permitted"],
        )
    )
    add(
        Case(
            "cross-border-requester-without-jurisdiction",
            "A requester that states no jurisdiction is treated as abroad.",
            ["BMDX-CON-013"],
            std(cross={"permitted": True, "jurisdictions": ["FR"]}),
            HOSP_NOJ,
            [R_LAB],
            decision="deny",
            reasons=["cross-border-not-permitted"],
        )
    )
    add(
        Case(
            "cross-border-consent-without-jurisdiction",
            "A consent that names no jurisdiction places no territorial limit.",
            ["BMDX-CON-013"],
            std(jurisdiction=None),
            HOSP_FR,
            [R_LAB],
            **PERMIT,
            obligations=nr,
        )
    )

    # -- purposes ---------------------------------------------------------------------------
    add(
        Case(
            "unknown-purpose",
            "A purpose outside the vocabulary is denied, not answered with an error.",
            ["BMDX-CON-015"],
            std(),
            HOSP,
            [R_LAB],
            purpose="marketing",
            decision="deny",
            reasons=["unknown-purpose"],
        )
    )
    add(
        Case(
            "unknown-purpose-hl7-code",
            "The HL7 code TREAT is not a BMDX purpose value.",
            ["BMDX-CON-015"],
            std(),
            HOSP,
            [R_LAB],
            purpose="TREAT",
            decision="deny",
            reasons=["unknown-purpose"],
        )
    )
    add(
        Case(
            "unknown-purpose-break-glass",
            "A break-glass request with an unknown purpose is refused on both counts.",
            ["BMDX-CON-015", "BMDX-CON-019"],
            std(),
            HOSP,
            [R_LAB],
            purpose="ETREAT",
            break_glass=True,
            justification=JUSTIFIED,
            decision="deny",
            reasons=["break-glass-refused", "unknown-purpose"],
        )
    )
    add(
        Case(
            "unknown-purpose-no-consent",
            "An unknown purpose with no consent cites the empty policy.",
            ["BMDX-CON-015", "BMDX-CON-007"],
            [],
            HOSP,
            [R_LAB],
            purpose="marketing",
            decision="deny",
            reasons=["unknown-purpose"],
            decides=None,
        )
    )

    # -- no consent, regulators ----------------------------------------------------------------
    add(
        Case(
            "no-consent",
            "No consent at all: deny, citing the empty policy.",
            ["BMDX-CON-007"],
            [],
            HOSP,
            [R_LAB],
            decision="deny",
            reasons=["no-consent"],
            decides=None,
        )
    )
    add(
        Case(
            "no-consent-yet-in-force",
            "The only version is issued after now: the empty policy governs.",
            ["BMDX-CON-004", "BMDX-CON-007"],
            std(issued="2025-06-01T12:00:01Z"),
            HOSP,
            [R_LAB],
            decision="deny",
            reasons=["no-consent"],
            decides=None,
        )
    )
    add(
        Case(
            "regulator-no-consent",
            "A regulator's supervisory access is metadata-only and needs no consent.",
            ["BMDX-CON-017", "BMDX-CON-022"],
            [],
            REG,
            [R_LAB],
            purpose="public-health",
            decision="permit",
            reasons=["regulator-metadata"],
            scope="metadata-only",
            decides=None,
        )
    )
    add(
        Case(
            "regulator-consent-denies",
            "The consent does not name regulators; the regulator still sees metadata only.",
            ["BMDX-CON-017"],
            std(),
            REG,
            [R_V],
            purpose="public-health",
            decision="permit",
            reasons=["regulator-metadata"],
            scope="metadata-only",
        )
    )
    add(
        Case(
            "regulator-after-revocation",
            "Revocation does not end supervision; the decision cites the revocation.",
            ["BMDX-CON-017", "BMDX-CON-006"],
            revoked_chain("2025-05-01T00:00:00Z"),
            REG,
            [R_LAB],
            purpose="public-health",
            decision="permit",
            reasons=["regulator-metadata"],
            scope="metadata-only",
            decides=2,
        )
    )
    add(
        Case(
            "regulator-break-glass-refused",
            "A regulator is not a care provider and cannot break the glass.",
            ["BMDX-CON-016"],
            std(),
            REG,
            [R_LAB],
            purpose="emergency",
            break_glass=True,
            justification=JUSTIFIED,
            decision="deny",
            reasons=["break-glass-refused"],
        )
    )

    # -- versions and revocation ----------------------------------------------------------------
    research_only = prov(
        "deny",
        prov(
            "permit",
            actors=role("hospital"),
            purposes=["research"],
            data_classes=["laboratory"],
            sensitivity=["N"],
        ),
    )
    two = chain(Version(), Version(provision=research_only, issued="2025-05-01T00:00:00Z"))
    add(
        Case(
            "version-2-supersedes",
            "Version 2 narrows the consent to research; it governs after its issue.",
            ["BMDX-CON-004", "BMDX-CON-006"],
            two,
            HOSP,
            [R_LAB],
            decision="deny",
            reasons=["purpose-not-permitted", "consent-deny"],
            decides=2,
        )
    )
    add(
        Case(
            "versions-in-any-order",
            "The versions are given newest first; the governing version is chosen by number.",
            ["BMDX-CON-004"],
            list(reversed(two)),
            HOSP,
            [R_LAB],
            decision="deny",
            reasons=["purpose-not-permitted", "consent-deny"],
            decides=2,
        )
    )
    later = chain(Version(), Version(provision=research_only, issued="2025-06-01T12:00:01Z"))
    add(
        Case(
            "version-2-not-yet-issued",
            "Version 2 is issued one second after now; version 1 still governs.",
            ["BMDX-CON-004"],
            later,
            HOSP,
            [R_LAB],
            **PERMIT,
            obligations=nr,
            decides=1,
        )
    )
    add(
        Case(
            "version-2-issued-at-now",
            "Version 2 issued exactly at now governs.",
            ["BMDX-CON-004"],
            chain(Version(), Version(provision=research_only, issued=NOW)),
            HOSP,
            [R_LAB],
            decision="deny",
            reasons=["purpose-not-permitted", "consent-deny"],
            decides=2,
        )
    )
    add(
        Case(
            "duplicate-version-copies",
            "The same version given twice counts once.",
            ["BMDX-CON-004"],
            [*two, two[1]],
            HOSP,
            [R_LAB],
            decision="deny",
            reasons=["purpose-not-permitted", "consent-deny"],
            decides=2,
        )
    )
    add(
        Case(
            "revoked-before-now",
            "The consent was revoked a month ago.",
            ["BMDX-CON-005"],
            revoked_chain("2025-05-01T00:00:00Z"),
            HOSP,
            [R_LAB],
            decision="deny",
            reasons=["consent-revoked"],
            decides=2,
        )
    )
    add(
        Case(
            "revocation-race-at-now",
            "Requested before the revocation, evaluated exactly at its issue: denied.",
            ["BMDX-CON-005", "BMDX-CON-003"],
            revoked_chain(NOW),
            HOSP,
            [R_LAB],
            decision="deny",
            reasons=["consent-revoked"],
            decides=2,
        )
    )
    add(
        Case(
            "revocation-race-requested-before",
            "Requested a minute before the revocation and evaluated half a second after it: denied, whatever requested says.",
            ["BMDX-CON-005", "BMDX-CON-003"],
            revoked_chain("2025-06-01T11:59:59.5Z"),
            HOSP,
            [R_LAB],
            requested="2025-06-01T11:59:00Z",
            decision="deny",
            reasons=["consent-revoked"],
            decides=2,
        )
    )
    add(
        Case(
            "revocation-after-now",
            "The revocation is issued one microsecond after now; version 1 still governs.",
            ["BMDX-CON-005", "BMDX-CON-004"],
            revoked_chain("2025-06-01T12:00:00.000001Z"),
            HOSP,
            [R_LAB],
            **PERMIT,
            obligations=nr,
            decides=1,
        )
    )
    add(
        Case(
            "regrant-after-revocation",
            "A new active version after a revocation is a new grant and governs.",
            ["BMDX-CON-004", "BMDX-CON-005"],
            chain(
                Version(),
                Version(status="revoked", issued="2025-03-01T00:00:00Z"),
                Version(issued="2025-04-01T00:00:00Z"),
            ),
            HOSP,
            [R_LAB],
            **PERMIT,
            obligations=nr,
            decides=3,
        )
    )

    # -- break-glass ------------------------------------------------------------------------
    eg = {"purpose": "emergency", "break_glass": True, "justification": JUSTIFIED}
    add(
        Case(
            "break-glass-no-consent",
            "Emergency access without any consent: permitted, flagged, reported to the patient and queued for review.",
            ["BMDX-CON-018", "BMDX-CON-019", "BMDX-CON-007"],
            [],
            HOSP,
            [R_LAB],
            **eg,
            decision="permit",
            reasons=["break-glass", "no-consent"],
            scope="payload",
            obligations=bg_obl,
            decides=None,
        )
    )
    billing_only = chain(Version(provision=prov("deny", copy.deepcopy(BILLING))))
    add(
        Case(
            "break-glass-overrides-deny",
            "The consent permits billing only; break-glass opens the lab result and records what it overrode.",
            ["BMDX-CON-018", "BMDX-CON-021"],
            billing_only,
            HOSP,
            [R_LAB],
            **eg,
            decision="permit",
            reasons=[
                "break-glass",
                "actor-not-permitted",
                "purpose-not-permitted",
                "data-class-not-permitted",
                "record-type-not-permitted",
                "consent-deny",
            ],
            scope="payload",
            obligations=bg_obl,
        )
    )
    add(
        Case(
            "break-glass-consent-permits",
            "The consent already permits emergency use by hospitals: permitted, and still flagged.",
            ["BMDX-CON-018", "BMDX-CON-019"],
            std(),
            HOSP,
            [R_LAB],
            **eg,
            decision="permit",
            reasons=["break-glass", "consent-permit"],
            scope="payload",
            obligations=bg_obl,
        )
    )
    add(
        Case(
            "break-glass-without-justification",
            "A break-glass request without a justification is refused.",
            ["BMDX-CON-016"],
            std(),
            HOSP,
            [R_LAB],
            purpose="emergency",
            break_glass=True,
            decision="deny",
            reasons=["break-glass-refused"],
        )
    )
    add(
        Case(
            "break-glass-empty-justification",
            "An empty justification is no justification.",
            ["BMDX-CON-016"],
            std(),
            HOSP,
            [R_LAB],
            purpose="emergency",
            break_glass=True,
            justification="",
            decision="deny",
            reasons=["break-glass-refused"],
        )
    )
    add(
        Case(
            "break-glass-wrong-purpose",
            "Break-glass for treatment instead of emergency is refused.",
            ["BMDX-CON-016"],
            std(),
            HOSP,
            [R_LAB],
            purpose="treatment",
            break_glass=True,
            justification=JUSTIFIED,
            decision="deny",
            reasons=["break-glass-refused"],
        )
    )
    add(
        Case(
            "break-glass-not-care-provider",
            "An insurer cannot break the glass.",
            ["BMDX-CON-016"],
            std(),
            INS,
            [R_LAB],
            **eg,
            decision="deny",
            reasons=["break-glass-refused"],
        )
    )
    add(
        Case(
            "break-glass-very-restricted-forbidden",
            "The security profile forbids break-glass on V records.",
            ["BMDX-CON-018"],
            std(),
            HOSP,
            [R_V],
            **eg,
            decision="deny",
            reasons=["break-glass-refused", "sensitivity-not-permitted", "consent-deny"],
        )
    )
    no_emergency = prov(
        "deny",
        prov(
            "permit",
            actors=role("hospital"),
            purposes=["treatment"],
            data_classes=["laboratory"],
            sensitivity=["N"],
        ),
        prov("deny", actors=role("hospital"), purposes=["emergency"]),
    )
    add(
        Case(
            "break-glass-explicit-emergency-deny",
            "The patient explicitly refused emergency access by hospitals; that refusal is honoured.",
            ["BMDX-CON-018"],
            chain(Version(provision=no_emergency)),
            HOSP,
            [R_LAB],
            **eg,
            decision="deny",
            reasons=["break-glass-refused", "purpose-not-permitted", "consent-deny"],
        )
    )
    add(
        Case(
            "break-glass-after-revocation",
            "Break-glass overrides a revocation; the decision cites the revoking version.",
            ["BMDX-CON-018", "BMDX-CON-006"],
            revoked_chain("2025-05-01T00:00:00Z"),
            HOSP,
            [R_LAB],
            **eg,
            decision="permit",
            reasons=["break-glass", "consent-revoked"],
            scope="payload",
            obligations=bg_obl,
            decides=2,
        )
    )
    add(
        Case(
            "break-glass-cross-border",
            "Emergency treatment abroad: break-glass overrides the cross-border limit.",
            ["BMDX-CON-018", "BMDX-CON-013"],
            std(),
            HOSP_FR,
            [R_LAB],
            **eg,
            decision="permit",
            reasons=["break-glass", "cross-border-not-permitted"],
            scope="payload",
            obligations=bg_obl,
        )
    )
    add(
        Case(
            "break-glass-restricted-without-separate-consent",
            "Restricted mental-health data without separate consent: break-glass may open R records.",
            ["BMDX-CON-018", "BMDX-CON-014"],
            single(prov("permit", actors=role("hospital")), separate=False),
            HOSP,
            [R_EMR_MH],
            **eg,
            decision="permit",
            reasons=["break-glass", "separate-consent-missing"],
            scope="payload",
            obligations=bg_obl,
        )
    )

    # -- refused inputs ---------------------------------------------------------------------
    def broken_previous(docs: dict[str, Any]) -> None:
        docs["consents"][1] = resign(docs["consents"][1], previous=EMPTY_POLICY)

    add(
        Case(
            "broken-chain-previous",
            "Version 2 does not chain to version 1.",
            ["BMDX-CON-002"],
            two,
            HOSP,
            [R_LAB],
            error=("BMDX-DM-122", "broken-chain"),
            adjust=broken_previous,
        )
    )
    three = chain(
        Version(), Version(issued="2025-02-01T00:00:00Z"), Version(issued="2025-03-01T00:00:00Z")
    )
    add(
        Case(
            "missing-version",
            "Versions 1 and 3 without version 2.",
            ["BMDX-CON-002"],
            [three[0], three[2]],
            HOSP,
            [R_LAB],
            error=("BMDX-DM-122", "broken-chain"),
        )
    )
    fork = chain(Version(), Version(provision=research_only, issued="2025-05-01T00:00:00Z"))[1]
    add(
        Case(
            "consent-fork",
            "Two different documents claim version 2.",
            ["BMDX-CON-002"],
            [*two[:1], three[1], fork],
            HOSP,
            [R_LAB],
            error=("BMDX-DM-122", "consent-fork"),
        )
    )
    other = chain(Version(consent_label="consent:patient-a:second"))
    add(
        Case(
            "multiple-consents",
            "Versions of two consents for one subject.",
            ["BMDX-CON-025"],
            [*std(), *other],
            HOSP,
            [R_LAB],
            error=("BMDX-CON-025", "multiple-consents"),
        )
    )
    add(
        Case(
            "issued-order",
            "Version 2 is issued before version 1.",
            ["BMDX-CON-004"],
            chain(Version(issued="2025-02-01T00:00:00Z"), Version(issued="2025-01-15T00:00:00Z")),
            HOSP,
            [R_LAB],
            error=("BMDX-CON-004", "issued-order"),
        )
    )
    add(
        Case(
            "record-of-other-subject",
            "A header of another patient.",
            ["BMDX-CON-002"],
            std(),
            HOSP,
            [R_LAB, R_OTHER],
            error=("BMDX-CON-002", "subject-mismatch"),
            adjust=lambda d: d["request"].update(records=[R_LAB["recordId"], R_OTHER["recordId"]]),
        )
    )
    add(
        Case(
            "records-not-requested",
            "The headers are not the records the request names.",
            ["BMDX-CON-002"],
            std(),
            HOSP,
            [R_LAB],
            error=("BMDX-CON-002", "record-mismatch"),
            adjust=lambda d: d["request"].update(records=[R_IMG["recordId"]]),
        )
    )
    add(
        Case(
            "requester-mismatch",
            "The requester participant is not the request's requester.",
            ["BMDX-CON-002"],
            std(),
            HOSP,
            [R_LAB],
            error=("BMDX-CON-002", "requester-mismatch"),
            adjust=lambda d: d.update(requester=HOSP2),
        )
    )
    add(
        Case(
            "record-outside-query",
            "A header the query does not select (created before from).",
            ["BMDX-CON-002"],
            std(),
            HOSP,
            [R_LAB],
            query={"recordTypes": ["lab-result"], "from": "2025-04-01T00:00:00Z"},
            error=("BMDX-CON-002", "record-out-of-scope"),
        )
    )

    def two_member_actor(docs: dict[str, Any]) -> None:
        provision = prov(
            "deny", prov("permit", actors=[{"participant": HOSP["id"], "role": "hospital"}])
        )
        docs["consents"][0] = resign(docs["consents"][0], provision=provision)

    add(
        Case(
            "actor-with-two-members",
            "An actor naming both a participant and a role.",
            ["BMDX-CON-002"],
            std(),
            HOSP,
            [R_LAB],
            error=("BMDX-DM-121", "actor-members"),
            adjust=two_member_actor,
        )
    )
    return c


# --- rendering -------------------------------------------------------------------------


def request_for(case: Case) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "objectType": "AccessRequest",
        "requestId": object_id("request:" + case.name),
        "requester": case.requester["id"],
        "subject": SUBJECT,
    }
    if case.query is not None:
        doc["query"] = case.query
    else:
        doc["records"] = [r["recordId"] for r in case.records]
    doc["purpose"] = case.purpose
    doc["breakGlass"] = case.break_glass
    if case.justification is not None:
        doc["justification"] = case.justification
    doc["requested"] = case.requested
    return doc


def expected_for(case: Case, consents: list[dict[str, Any]]) -> dict[str, Any]:
    if case.error is not None:
        return {"error": {"requirement": case.error[0], "reason": case.error[1]}}
    if case.decides is None:
        cited, consent_id = EMPTY_POLICY, None
    else:
        deciding = [c for c in consents if c["version"] == case.decides]
        cited, consent_id = version_hash(deciding[0]), deciding[0]["consentId"]
    return {
        "decision": case.decision,
        "reasons": case.reasons,
        "consentVersionHash": cited,
        "consent": consent_id,
        "breakGlass": case.break_glass,
        "scope": case.scope,
        "obligations": case.obligations,
    }


def vector(case: Case) -> dict[str, Any]:
    docs: dict[str, Any] = {
        "consents": copy.deepcopy(case.consents),
        "request": request_for(case),
        "requester": copy.deepcopy(case.requester),
        "records": copy.deepcopy(case.records),
    }
    if case.adjust is not None:
        case.adjust(docs)
    return {
        "description": case.description,
        "requirements": case.requirements,
        **docs,
        "now": case.now,
        "expected": expected_for(case, docs["consents"]),
    }


def build() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    table = cases()
    names = [c.name for c in table]
    if len(set(names)) != len(names):
        raise ValueError("case names repeat")
    for number, case in enumerate(table, start=1):
        suffix = "_fail" if case.error is not None else ""
        name = f"{number:03d}-{case.name}{suffix}.json"
        text = json.dumps(vector(case), indent=2, ensure_ascii=False) + "\n"
        out[name] = text.encode("utf-8")
    return out


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.json"):
        stale.unlink()
    for name, data in build().items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    main(sys.argv)
