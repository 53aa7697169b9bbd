"""Consent evaluation: the one module that decides whether a subject's data is released.

``spec/conventions/consent.md`` is the algorithm; this module is its reference
implementation and follows the page step by step (the step numbers below are the
page's).  :func:`decide` is a pure function of its inputs and the spec data: the same
consent versions, request, requester, record headers and evaluation time always give
the same :class:`AccessDecision <access-decision.json>` document, which is what lets
anyone re-run a decision from the ledger and what the vectors of
``spec/vectors/consent/`` pin down.

Two kinds of outcome are kept strictly apart.  Inputs that are malformed or do not fit
together (a consent invalid against its schema, a broken version chain, headers of
another subject) raise :class:`ConsentError`: the caller, not the patient's consent,
is at fault.  Everything else is a *decision*: an access the consent does not allow,
including one for a purpose nobody has heard of, is a ``deny`` with machine-readable
reasons, never an error, so that the answer to a probing requester looks like any
other refusal.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.errors import ConsentError, DocumentError
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.specdata import SCHEMA_BASE, schema_by_id, spec_dir

__all__ = [
    "CARE_PROVIDER_ROLES",
    "EMPTY_POLICY_HASH",
    "IMPLIED_DATA_CLASS",
    "REASON_ORDER",
    "SENSITIVE_DATA_CLASSES",
    "ConsentChain",
    "consent_chain",
    "consent_version_hash",
    "decide",
    "effective_data_classes",
    "to_fhir_consent",
]

#: SHA-256 of the two bytes ``{}``: the policy cited when no consent version is in
#: force (BMDX-DM-137).
EMPTY_POLICY_HASH = "sha-256:" + hashlib.sha256(b"{}").hexdigest()

#: The data classes that need separate, explicit consent (consent.md, "Separate consent").
SENSITIVE_DATA_CLASSES = frozenset({"mental-health", "sexual-health", "genetics", "substance-use"})

#: The class a record header without ``dataClasses`` carries (consent.md, "Units").
IMPLIED_DATA_CLASS: Mapping[str, str] = {
    "emr-document": "diagnoses",
    "imaging-study": "imaging",
    "lab-result": "laboratory",
    "health-measurement": "vital-signs",
    "research-dataset": "research",
    "immunisation": "immunisations",
    "supply-chain-event": "medications",
    "insurance-claim": "financial",
}

#: The roles that may invoke break-glass emergency access.
CARE_PROVIDER_ROLES = frozenset({"hospital", "laboratory", "imaging-centre", "pharmacy"})

#: Every reason code, in the order a decision lists them (most specific first).
REASON_ORDER: tuple[str, ...] = (
    "break-glass",
    "break-glass-refused",
    "unknown-purpose",
    "regulator-metadata",
    "consent-revoked",
    "separate-consent-missing",
    "cross-border-not-permitted",
    "actor-not-permitted",
    "purpose-not-permitted",
    "data-class-not-permitted",
    "record-type-not-permitted",
    "sensitivity-not-permitted",
    "outside-period",
    "consent-deny",
    "no-matching-permit",
    "no-consent",
    "consent-permit",
)

_OBLIGATION_ORDER = ("notify-patient", "review-queue", "no-redisclosure", "de-identify")

# A provision's own criteria, in the order their failures are reported (step 6).
_CRITERIA: tuple[tuple[str, str], ...] = (
    ("actors", "actor-not-permitted"),
    ("purposes", "purpose-not-permitted"),
    ("dataClasses", "data-class-not-permitted"),
    ("recordTypes", "record-type-not-permitted"),
    ("sensitivity", "sensitivity-not-permitted"),
    ("period", "outside-period"),
)

REQ_INPUTS = "BMDX-CON-002"
REQ_TIME = "BMDX-CON-003"
REQ_ISSUED = "BMDX-CON-004"
REQ_ONE_CONSENT = "BMDX-CON-025"
REQ_ACTOR = "BMDX-DM-121"
REQ_CHAIN = "BMDX-DM-122"
REQ_CROSS_BORDER = "BMDX-DM-124"
REQ_SCOPE = "BMDX-DM-131"
REQ_RANGE = "BMDX-DM-191"

_TIMESTAMP = re.compile(
    r"^([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]|60)(?:\.([0-9]{1,6}))?Z$"
)


# --- values ----------------------------------------------------------------------------


@functools.cache
def _instant(text: str) -> datetime:
    """The instant a schema timestamp names (consent.md, "Time").

    The fraction is padded to microseconds; second 60 (a leap second) is the instant
    one second after second 59, so ``23:59:60Z`` equals the next day's ``00:00:00Z``.
    """
    match = _TIMESTAMP.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 UTC timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    micro = int((match.group(7) or "0").ljust(6, "0"))
    leap = second == 60
    value = datetime(year, month, day, hour, minute, 59 if leap else second, micro, tzinfo=UTC)
    return value + timedelta(seconds=1) if leap else value


def _at_or_before(a: str, b: str) -> bool:
    return _instant(a) <= _instant(b)


def consent_version_hash(consent: Mapping[str, Any]) -> str:
    """``sha-256:`` and the hex SHA-256 of the RFC 8785 form, signatures included."""
    return "sha-256:" + hashlib.sha256(canonical_bytes(consent)).hexdigest()


def effective_data_classes(header: Mapping[str, Any]) -> tuple[str, ...]:
    """The data classes a record carries: its own list, else the record type's class."""
    classes = header.get("dataClasses")
    if classes:
        return tuple(sorted(classes))
    return (IMPLIED_DATA_CLASS[header["recordType"]],)


@functools.cache
def _purposes() -> frozenset[str]:
    common = schema_by_id(spec_dir())[SCHEMA_BASE + "common.json"]
    return frozenset(common["$defs"]["purpose"]["enum"])


@dataclass(frozen=True, slots=True)
class _Unit:
    """One data class of one record: the grain at which provisions are matched."""

    record_id: str
    record_type: str
    data_class: str
    sensitivity: str


@dataclass(frozen=True, slots=True)
class _Outcome:
    """The ordinary evaluation of one unit (step 6)."""

    permit: bool
    reasons: frozenset[str]
    path: tuple[Mapping[str, Any], ...] | None  # root .. deciding provision


@dataclass(frozen=True, slots=True)
class _Request:
    requester_id: str
    roles: frozenset[str]
    jurisdiction: str | None
    purpose: str
    now: str


# --- step 1: inputs --------------------------------------------------------------------


def _fail(
    message: str, *, reason: str, pointer: str, requirement: str = REQ_INPUTS
) -> ConsentError:
    return ConsentError(message, requirement=requirement, reason=reason, pointer=pointer)


def _check_instant(text: Any, pointer: str) -> None:
    """The schemas check a timestamp's form; this checks that the date exists."""
    try:
        _instant(text)
    except (TypeError, ValueError) as e:
        raise _fail(
            f"{text!r} is not an RFC 3339 UTC timestamp of a real date",
            reason="timestamp",
            pointer=pointer,
            requirement=REQ_TIME,
        ) from e


def _check_schema(document: Any, object_type: str, where: str) -> None:
    if not isinstance(document, dict):
        raise _fail(f"{where} is not a JSON object", reason="schema", pointer=where)
    try:
        found = schema_set().violations(document, object_type)
    except DocumentError as e:  # pragma: no cover - object_type is always known
        raise _fail(e.message, reason="schema", pointer=where) from e
    if found:
        first = found[0]
        raise _fail(
            f"{object_type} at {where or '/'} is invalid: {first.message}",
            reason="schema",
            pointer=where + first.pointer,
            requirement=first.requirement,
        )


def _walk(provision: Mapping[str, Any], pointer: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    yield provision, pointer
    for i, child in enumerate(provision.get("provisions", ())):
        yield from _walk(child, f"{pointer}/provisions/{i}")


def _check_range(period: Mapping[str, Any], start: str, end: str, pointer: str) -> None:
    for bound in (start, end):
        if bound in period:
            _check_instant(period[bound], f"{pointer}/{bound}")
    if start in period and end in period and not _at_or_before(period[start], period[end]):
        raise _fail(
            f"{start} {period[start]} is after {end} {period[end]}",
            reason="inverted-period",
            pointer=pointer,
            requirement=REQ_RANGE,
        )


def _check_consent(consent: Mapping[str, Any], where: str) -> None:
    _check_schema(consent, "Consent", where)
    _check_instant(consent["issued"], f"{where}/issued")
    for provision, pointer in _walk(consent["provision"], f"{where}/provision"):
        for i, actor in enumerate(provision.get("actors", ())):
            if len(actor) != 1:
                raise _fail(
                    "an actor names exactly one participant or one role",
                    reason="actor-members",
                    pointer=f"{pointer}/actors/{i}",
                    requirement=REQ_ACTOR,
                )
        if "period" in provision:
            _check_range(provision["period"], "start", "end", f"{pointer}/period")
    cross = consent["crossBorder"]
    if ("jurisdictions" in cross) != cross["permitted"]:
        raise _fail(
            "crossBorder lists jurisdictions exactly when transfer is permitted",
            reason="cross-border-jurisdictions",
            pointer=f"{where}/crossBorder",
            requirement=REQ_CROSS_BORDER,
        )


def _check_request(request: Any) -> None:
    if not isinstance(request, dict):
        raise _fail("the request is not a JSON object", reason="schema", pointer="/request")
    probe = request
    purpose = request.get("purpose")
    if isinstance(purpose, str) and purpose not in _purposes():
        # An unknown purpose is decided (step 3), not refused: check everything else.
        probe = {**request, "purpose": "treatment"}
    _check_schema(probe, "AccessRequest", "/request")
    if ("records" in request) == ("query" in request):
        raise _fail(
            "a request has exactly one of records and query",
            reason="request-scope",
            pointer="/request",
            requirement=REQ_SCOPE,
        )
    if "query" in request:
        _check_range(request["query"], "from", "to", "/request/query")


def _in_query(header: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    if header["recordType"] not in query["recordTypes"]:
        return False
    wanted = query.get("dataClasses")
    if wanted is not None and not set(effective_data_classes(header)) & set(wanted):
        return False
    if "from" in query and not _at_or_before(query["from"], header["created"]):
        return False
    return not ("to" in query and not _at_or_before(header["created"], query["to"]))


def _check_records(records: Any, request: Mapping[str, Any]) -> None:
    if not isinstance(records, list) or not records:
        raise _fail(
            "at least one record header is evaluated", reason="no-records", pointer="/records"
        )
    seen: set[str] = set()
    for i, header in enumerate(records):
        _check_schema(header, "RecordHeader", f"/records/{i}")
        _check_instant(header["created"], f"/records/{i}/created")
        if header["subject"] != request["subject"]:
            raise _fail(
                "the record is about another subject than the request",
                reason="subject-mismatch",
                pointer=f"/records/{i}/subject",
            )
        if header["recordId"] in seen:
            raise _fail(
                "a record header is given twice", reason="record-mismatch", pointer=f"/records/{i}"
            )
        seen.add(header["recordId"])
        if "query" in request and not _in_query(header, request["query"]):
            raise _fail(
                "the record is not selected by the request's query",
                reason="record-out-of-scope",
                pointer=f"/records/{i}",
            )
    if "records" in request and seen != set(request["records"]):
        raise _fail(
            "the record headers are not exactly the records the request names",
            reason="record-mismatch",
            pointer="/records",
        )


@dataclass(frozen=True, slots=True)
class ConsentChain:
    """A subject's consent versions that passed step 1, ordered by version.

    ``hashes[i]`` is the version hash of ``versions[i]``.  Made by
    :func:`consent_chain`; a caller that decides many requests under one unchanged
    chain (a node serving reads) checks it once and hands it to :func:`decide`.  The
    versions are read, never changed: build a new chain when a version is added.
    """

    subject: str
    versions: tuple[Mapping[str, Any], ...]
    hashes: tuple[str, ...]


def consent_chain(consents: Any, subject: str) -> ConsentChain:
    """Check a subject's consent versions (consent.md, step 1) and order them."""
    if not isinstance(consents, list):
        raise _fail("consents is a list of Consent versions", reason="schema", pointer="/consents")
    by_version: dict[int, tuple[int, Mapping[str, Any], bytes]] = {}
    consent_id: str | None = None
    for i, consent in enumerate(consents):
        where = f"/consents/{i}"
        _check_consent(consent, where)
        if consent["subject"] != subject:
            raise _fail(
                "the consent governs another subject than the request's",
                reason="subject-mismatch",
                pointer=f"{where}/subject",
            )
        if consent_id is not None and consent["consentId"] != consent_id:
            raise _fail(
                "a subject has one consent; these versions belong to two",
                reason="multiple-consents",
                pointer=f"{where}/consentId",
                requirement=REQ_ONE_CONSENT,
            )
        consent_id = consent["consentId"]
        data = canonical_bytes(consent)
        known = by_version.get(consent["version"])
        if known is not None and known[2] != data:
            raise _fail(
                f"two different documents claim version {consent['version']}",
                reason="consent-fork",
                pointer=f"{where}/version",
                requirement=REQ_CHAIN,
            )
        if known is None:
            by_version[consent["version"]] = (i, consent, data)
    ordered: list[Mapping[str, Any]] = []
    hashes: list[str] = []
    for version in sorted(by_version):
        i, consent, data = by_version[version]
        where = f"/consents/{i}"
        if version != len(ordered) + 1:
            raise _fail(
                f"version {len(ordered) + 1} is missing before version {version}",
                reason="broken-chain",
                pointer=f"{where}/version",
                requirement=REQ_CHAIN,
            )
        expected = hashes[-1] if hashes else None
        if consent.get("previous") != expected:
            raise _fail(
                f"version {version} does not chain to version {version - 1}",
                reason="broken-chain",
                pointer=f"{where}/previous",
                requirement=REQ_CHAIN,
            )
        if ordered and not _at_or_before(ordered[-1]["issued"], consent["issued"]):
            raise _fail(
                f"version {version} is issued before version {version - 1}",
                reason="issued-order",
                pointer=f"{where}/issued",
                requirement=REQ_ISSUED,
            )
        ordered.append(consent)
        hashes.append("sha-256:" + hashlib.sha256(data).hexdigest())
    return ConsentChain(subject, tuple(ordered), tuple(hashes))


def _check_inputs(
    consents: Any, request: Any, requester: Any, records: Any, now: Any
) -> ConsentChain:
    _check_instant(now, "/now")
    _check_request(request)
    _check_schema(requester, "Participant", "/requester")
    if requester["id"] != request["requester"]:
        raise _fail(
            "the requester's participant record is not the request's requester",
            reason="requester-mismatch",
            pointer="/requester/id",
        )
    _check_records(records, request)
    if isinstance(consents, ConsentChain):
        if consents.subject != request["subject"]:
            raise _fail(
                "the consent governs another subject than the request's",
                reason="subject-mismatch",
                pointer="/consents/0/subject",
            )
        return consents
    return consent_chain(consents, request["subject"])


# --- steps 5 and 6: provisions ---------------------------------------------------------


def _failures(provision: Mapping[str, Any], unit: _Unit, ctx: _Request) -> tuple[str, ...]:
    """The reason codes of the provision's own criteria that ``unit`` does not meet."""
    failed: list[str] = []
    for member, reason in _CRITERIA:
        if member not in provision:
            continue
        value = provision[member]
        if member == "actors":
            ok = any(
                a.get("participant") == ctx.requester_id or a.get("role") in ctx.roles
                for a in value
            )
        elif member == "purposes":
            ok = ctx.purpose in value
        elif member == "dataClasses":
            ok = unit.data_class in value
        elif member == "recordTypes":
            ok = unit.record_type in value
        elif member == "sensitivity":
            ok = unit.sensitivity in value
        else:
            ok = ("start" not in value or _at_or_before(value["start"], ctx.now)) and (
                "end" not in value or _at_or_before(ctx.now, value["end"])
            )
        if not ok:
            failed.append(reason)
    return tuple(failed)


def _deciding_path(
    provision: Mapping[str, Any], unit: _Unit, ctx: _Request
) -> tuple[Mapping[str, Any], ...] | None:
    """Step 5: the innermost matching provision, with its ancestors; deny wins ties."""
    if _failures(provision, unit, ctx):
        return None
    found = [
        path
        for child in provision.get("provisions", ())
        if (path := _deciding_path(child, unit, ctx)) is not None
    ]
    if not found:
        return (provision,)
    chosen = next((p for p in found if p[-1]["type"] == "deny"), found[0])
    return (provision, *chosen)


def _near_misses(root: Mapping[str, Any], unit: _Unit, ctx: _Request) -> frozenset[str]:
    """Step 6: criterion reasons from the permit provisions that came closest."""
    misses = [_failures(p, unit, ctx) for p, _ in _walk(root, "") if p["type"] == "permit"]
    if not misses or any(not m for m in misses):
        return frozenset()
    fewest = min(len(m) for m in misses)
    return frozenset(r for m in misses if len(m) == fewest for r in m)


def _needs_separate_consent(unit: _Unit) -> bool:
    protections = security_profile().sensitivity[unit.sensitivity]
    return unit.data_class in SENSITIVE_DATA_CLASSES or protections.consent == "separate"


def _separate_consent_given(
    consent: Mapping[str, Any], path: tuple[Mapping[str, Any], ...], unit: _Unit
) -> bool:
    if not consent["separateConsent"]:
        return False
    if unit.data_class in SENSITIVE_DATA_CLASSES and not any(
        unit.data_class in p.get("dataClasses", ()) for p in path
    ):
        return False
    protections = security_profile().sensitivity[unit.sensitivity]
    return protections.consent != "separate" or any(
        unit.sensitivity in p.get("sensitivity", ()) for p in path
    )


def _cross_border_allowed(consent: Mapping[str, Any], ctx: _Request) -> bool:
    home = consent.get("jurisdiction")
    if home is None or ctx.jurisdiction == home:
        return True
    cross = consent["crossBorder"]
    return bool(cross["permitted"]) and ctx.jurisdiction in cross.get("jurisdictions", ())


def _evaluate(consent: Mapping[str, Any] | None, unit: _Unit, ctx: _Request) -> _Outcome:
    """Step 6: the ordinary (non-emergency) decision for one unit."""
    if consent is None:
        return _Outcome(False, frozenset({"no-consent"}), None)
    if consent["status"] == "revoked":
        return _Outcome(False, frozenset({"consent-revoked"}), None)
    root = consent["provision"]
    path = _deciding_path(root, unit, ctx)
    if path is None or path[-1]["type"] == "deny":
        base = "no-matching-permit" if path is None else "consent-deny"
        return _Outcome(False, frozenset({base}) | _near_misses(root, unit, ctx), path)
    if _needs_separate_consent(unit) and not _separate_consent_given(consent, path, unit):
        return _Outcome(False, frozenset({"separate-consent-missing"}), path)
    if not _cross_border_allowed(consent, ctx):
        return _Outcome(False, frozenset({"cross-border-not-permitted"}), path)
    return _Outcome(True, frozenset({"consent-permit"}), path)


def _emergency_refused(outcome: _Outcome, unit: _Unit) -> bool:
    """Step 7: a unit that break-glass may not open."""
    if security_profile().sensitivity[unit.sensitivity].break_glass == "forbidden":
        return True
    deciding = outcome.path[-1] if outcome.path else None
    return (
        deciding is not None
        and deciding["type"] == "deny"
        and "emergency" in deciding.get("purposes", ())
    )


# --- steps 2 to 8 ----------------------------------------------------------------------


def _units(records: Sequence[Mapping[str, Any]]) -> list[_Unit]:
    return [
        _Unit(h["recordId"], h["recordType"], data_class, h["sensitivity"])
        for h in records
        for data_class in effective_data_classes(h)
    ]


def _ordered(values: set[str] | frozenset[str], order: Sequence[str]) -> list[str]:
    return [v for v in order if v in values]


def _payload_obligations(
    units: Sequence[_Unit], purpose: str, *, break_glass: bool
) -> tuple[str, ...]:
    profile = security_profile()
    wanted = {"no-redisclosure"}
    if break_glass:
        wanted |= {"notify-patient", "review-queue"}
    if any(profile.sensitivity[u.sensitivity].patient_notification == "each-access" for u in units):
        wanted.add("notify-patient")
    if purpose == "research":
        wanted.add("de-identify")
    return tuple(_ordered(wanted, _OBLIGATION_ORDER))


def _valid_break_glass(request: Mapping[str, Any], roles: frozenset[str]) -> bool:
    return (
        request["purpose"] == "emergency"
        and bool(request.get("justification"))
        and bool(roles & CARE_PROVIDER_ROLES)
    )


@dataclass(frozen=True, slots=True)
class _Verdict:
    permit: bool
    reasons: frozenset[str]
    scope: str | None = None
    obligations: tuple[str, ...] = ()


def _verdict(
    governing: Mapping[str, Any] | None,
    request: Mapping[str, Any],
    requester: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    now: str,
) -> _Verdict:
    """Steps 3 to 7: what the decision says, before it is written down."""
    break_glass = bool(request["breakGlass"])
    roles = frozenset(requester["roles"])
    purpose = request["purpose"]
    # Step 3: a purpose outside the vocabulary is refused, never an error.
    if purpose not in _purposes():
        return _Verdict(
            False,
            frozenset({"unknown-purpose"} | ({"break-glass-refused"} if break_glass else set())),
        )
    # Step 4: break-glass needs emergency, a justification and a care-provider role.
    if break_glass and not _valid_break_glass(request, roles):
        return _Verdict(False, frozenset({"break-glass-refused"}))
    # Step 5: a regulator's supervisory access reaches metadata, never payloads.
    if not break_glass and "regulator" in roles:
        return _Verdict(True, frozenset({"regulator-metadata"}), scope="metadata-only")
    # Step 6: the ordinary decision, unit by unit, all or nothing.
    ctx = _Request(
        requester_id=requester["id"],
        roles=roles,
        jurisdiction=requester.get("jurisdiction"),
        purpose=purpose,
        now=now,
    )
    units = _units(records)
    outcomes = [(u, _evaluate(governing, u, ctx)) for u in units]
    denied = [(u, o) for u, o in outcomes if not o.permit]
    reasons = frozenset().union(*(o.reasons for _, o in denied)) or frozenset({"consent-permit"})
    if denied and not break_glass:
        return _Verdict(False, reasons)
    # Step 7: break-glass opens what consent refused, unless a unit may not be opened.
    if break_glass and any(_emergency_refused(o, u) for u, o in denied):
        return _Verdict(False, reasons | {"break-glass-refused"})
    obligations = _payload_obligations(units, purpose, break_glass=break_glass)
    flag = frozenset({"break-glass"}) if break_glass else frozenset()
    return _Verdict(True, reasons | flag, scope="payload", obligations=obligations)


def decide(
    consents: Sequence[Mapping[str, Any]] | ConsentChain,
    request: Mapping[str, Any],
    requester: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    *,
    now: str,
) -> dict[str, Any]:
    """Decide ``request`` under the subject's consent at ``now`` (consent.md).

    ``consents`` are every version of the subject's consent known at evaluation time,
    revoked ones included, in any order (or a :class:`ConsentChain` of them, checked
    before); ``requester`` is the requester's Participant
    document; ``records`` the headers of the records in scope.  Returns an
    AccessDecision document.  Raises :class:`ConsentError` for malformed inputs only.
    """
    chain = _check_inputs(consents, request, requester, records, now)
    # Step 2: the governing version is the latest one issued at or before now.
    in_force = [i for i, c in enumerate(chain.versions) if _at_or_before(c["issued"], now)]
    governing = chain.versions[in_force[-1]] if in_force else None
    verdict = _verdict(governing, request, requester, records, now)
    # Step 8: the decision document.
    decision: dict[str, Any] = {
        "objectType": "AccessDecision",
        "requestId": request["requestId"],
        "decision": "permit" if verdict.permit else "deny",
        "consentVersionHash": chain.hashes[in_force[-1]] if in_force else EMPTY_POLICY_HASH,
    }
    if governing is not None:
        decision["consent"] = governing["consentId"]
    decision["breakGlass"] = bool(request["breakGlass"])
    decision["reasons"] = _ordered(verdict.reasons, REASON_ORDER)
    decision["decided"] = now
    if verdict.scope is not None:
        decision["scope"] = verdict.scope
    if verdict.obligations:
        decision["obligations"] = list(verdict.obligations)
    return decision


# --- FHIR R4 --------------------------------------------------------------------------

_FHIR_PURPOSE = {
    "treatment": "TREAT",
    "payment": "HPAYMT",
    "research": "HRESCH",
    "public-health": "PUBHLTH",
    "emergency": "ETREAT",
}
_V3_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
_V3_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
_V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_V3_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
_LOINC = "http://loinc.org"
_URI = "urn:ietf:rfc:3986"
_BMDX = "https://bmdx.org/spec/1/fhir/"
FHIR_SYSTEMS: Mapping[str, str] = {
    "pseudonym": "urn:bmdx:pseudonym",
    "role": _BMDX + "CodeSystem/participant-role",
    "data-class": _BMDX + "CodeSystem/data-class",
    "record-type": _BMDX + "CodeSystem/record-type",
    "separate-consent": _BMDX + "StructureDefinition/separate-consent",
    "cross-border": _BMDX + "StructureDefinition/cross-border",
    "jurisdiction": _BMDX + "StructureDefinition/jurisdiction",
}


def _fhir_actor(actor: Mapping[str, str]) -> dict[str, Any]:
    if "participant" in actor:
        reference: dict[str, Any] = {"identifier": {"system": _URI, "value": actor["participant"]}}
    else:
        reference = {
            "type": "Group",
            "identifier": {"system": FHIR_SYSTEMS["role"], "value": actor["role"]},
            "display": f"every participant with role {actor['role']}",
        }
    role = {"coding": [{"system": _V3_PARTICIPATION, "code": "IRCP"}]}
    return {"role": role, "reference": reference}


def _fhir_provision(provision: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": provision["type"]}
    if "period" in provision:
        out["period"] = dict(provision["period"])
    if "actors" in provision:
        out["actor"] = [_fhir_actor(a) for a in provision["actors"]]
    if "purposes" in provision:
        out["purpose"] = [
            {"system": _V3_ACT_REASON, "code": _FHIR_PURPOSE[p]} for p in provision["purposes"]
        ]
    if "sensitivity" in provision:
        out["securityLabel"] = [
            {"system": _V3_CONFIDENTIALITY, "code": s} for s in provision["sensitivity"]
        ]
    classes = [
        {"system": FHIR_SYSTEMS["record-type"], "code": t} for t in provision.get("recordTypes", ())
    ] + [
        {"system": FHIR_SYSTEMS["data-class"], "code": c} for c in provision.get("dataClasses", ())
    ]
    if classes:
        out["class"] = classes
    if "provisions" in provision:
        out["provision"] = [_fhir_provision(p) for p in provision["provisions"]]
    return out


def to_fhir_consent(consent: Mapping[str, Any]) -> dict[str, Any]:
    """The consent version as a FHIR R4 Consent resource (consent.md, "FHIR R4").

    Nothing is lost that evaluation reads: provisions map one to one, and the three
    BMDX members FHIR has no element for travel as extensions.
    """
    fhir_id = consent.get("fhirConsent") or (
        consent["consentId"].removeprefix("urn:uuid:") + f"-v{consent['version']}"
    )
    cross = consent["crossBorder"]
    cross_ext: list[dict[str, Any]] = [{"url": "permitted", "valueBoolean": cross["permitted"]}]
    cross_ext += [{"url": "jurisdiction", "valueCode": j} for j in cross.get("jurisdictions", ())]
    extensions: list[dict[str, Any]] = [
        {"url": FHIR_SYSTEMS["separate-consent"], "valueBoolean": consent["separateConsent"]},
        {"url": FHIR_SYSTEMS["cross-border"], "extension": cross_ext},
    ]
    if "jurisdiction" in consent:
        extensions.append(
            {"url": FHIR_SYSTEMS["jurisdiction"], "valueCode": consent["jurisdiction"]}
        )
    root = consent["provision"]
    return {
        "resourceType": "Consent",
        "id": fhir_id,
        "meta": {"versionId": str(consent["version"])},
        "extension": extensions,
        "identifier": [{"system": _URI, "value": consent["consentId"]}],
        "status": "active" if consent["status"] == "active" else "inactive",
        "scope": {"coding": [{"system": _CONSENT_SCOPE, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": _LOINC, "code": "59284-0"}]}],
        "patient": {
            "identifier": {"system": FHIR_SYSTEMS["pseudonym"], "value": consent["subject"]}
        },
        "dateTime": consent["issued"],
        "performer": [{"identifier": {"system": _URI, "value": consent["grantor"]}}],
        "policyRule": {
            "coding": [
                {"system": _V3_ACT_CODE, "code": "OPTIN" if root["type"] == "deny" else "OPTOUT"}
            ]
        },
        "provision": _fhir_provision(root),
    }
