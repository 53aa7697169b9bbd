"""The data-model rules that a JSON Schema of the BMDX subset cannot state.

The schema subset (``spec/conventions/schema-subset.md``) has no conditionals, no
arithmetic and no constraint that relates one member to another, so a requirement such
as "the threshold is at most the number of validators" or "net equals quantity times
unit price" is checked here, by code, after the schema has accepted the document.

Each rule is a pure function of one schema-valid object: it reads nothing but that
object (and the security profile, for the key types it admits) and yields
:class:`Violation` objects naming the requirement and the JSON pointer of the offending
value.  :data:`RULES` keys them by object type; :func:`rule_violations` applies them to
a document and to every object embedded in it (the keys of a participant, the outputs of
a transaction, the transactions of a block, the header and JWE of an envelope), so a
rule holds wherever its object appears.

Rules that need another document are not here, because one document cannot show them
broken: a signature against a key the ledger holds (BMDX-DM-026's signer,
BMDX-DM-190), the digest of a previous consent version (BMDX-DM-122's chain), the
adjudicated claim (the claim side of BMDX-DM-171), the decrypted payload
(BMDX-DM-103).  The ledger, consent and audit profiles check those.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from typing import Any

from bmdx.reference._internal import ijson
from bmdx.reference._internal.b64 import B64Error, b64url_decode
from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.errors import BmdxError, Violation
from bmdx.reference._internal.keys import thumbprint
from bmdx.reference._internal.profile import security_profile

__all__ = [
    "EMPTY_POLICY_HASH",
    "OUTPUT_TYPES",
    "RULES",
    "Rule",
    "rule_violations",
]

REQ_DISTINCT_KIDS = "BMDX-DM-012"
REQ_KEY_TYPE = "BMDX-DM-021"
REQ_KID_THUMBPRINT = "BMDX-DM-022"
REQ_KEY_Y = "BMDX-DM-023"
REQ_ROTATION = "BMDX-DM-026"
REQ_THRESHOLD = "BMDX-DM-034"
REQ_VALIDATOR_ONCE = "BMDX-DM-036"
REQ_EPHEMERAL_KEY = "BMDX-DM-047"
REQ_JWE_ENC = "BMDX-DM-048"
REQ_OUTPUT_TYPE = "BMDX-DM-053"
REQ_BLOCK_COUNTS = "BMDX-DM-061"
REQ_LEAF_INDEX = "BMDX-DM-071"
REQ_CONSISTENCY_SIZES = "BMDX-DM-076"
REQ_PAYLOAD_LOCATION = "BMDX-DM-111"
REQ_PAYLOAD_ALGORITHMS = "BMDX-DM-112"
REQ_PAYLOAD_RECIPIENTS = "BMDX-DM-113"
REQ_ACTOR = "BMDX-DM-121"
REQ_CONSENT_CHAIN = "BMDX-DM-122"
REQ_SEPARATE_CONSENT = "BMDX-DM-123"
REQ_CROSS_BORDER = "BMDX-DM-124"
REQ_REQUEST_SCOPE = "BMDX-DM-131"
REQ_BREAK_GLASS = "BMDX-DM-132"
REQ_EMPTY_POLICY = "BMDX-DM-137"
REQ_BREAK_GLASS_OBLIGATIONS = "BMDX-DM-138"
REQ_GTIN = "BMDX-DM-156"
REQ_EPCIS_STRUCTURE = "BMDX-DM-160"
REQ_CLAIM_ARITHMETIC = "BMDX-DM-168"
REQ_ADJUDICATION_ARITHMETIC = "BMDX-DM-171"
REQ_DEIDENTIFICATION = "BMDX-DM-176"
REQ_INDICATOR_ONCE = "BMDX-DM-181"
REQ_TIME_RANGE = "BMDX-DM-191"

#: The policy a decision cites when no consent is in force: SHA-256 of the bytes ``{}``.
EMPTY_POLICY_HASH = "sha-256:" + hashlib.sha256(b"{}").hexdigest()

#: The object type each transaction type admits as output (BMDX-DM-053).
OUTPUT_TYPES: Mapping[str, str] = {
    "participant.register": "Participant",
    "participant.update": "Participant",
    "key.rotate": "KeyRotation",
    "key.revoke": "KeyRevocation",
    "validator-set.change": "ValidatorSet",
    "record.anchor": "RecordHeader",
    "record.erase": "ErasureReceipt",
    "consent.grant": "Consent",
    "consent.revoke": "Consent",
    "audit.append": "AuditEvent",
    "alert.raise": "AnomalyAlert",
    "supply-chain.event": "SupplyChainEvent",
    "claim.submit": "InsuranceClaim",
    "claim.adjudicate": "ClaimAdjudication",
    "research.export": "ResearchExport",
    "quality.report": "QualityReport",
}

_GENESIS_PREVIOUS = "sha-256:" + "0" * 64
_SENSITIVE_DATA_CLASSES = frozenset({"mental-health", "sexual-health", "genetics", "substance-use"})
_SEPARATE_CONSENT_LABELS = frozenset({"V"})
_BREAK_GLASS_OBLIGATIONS = ("notify-patient", "review-queue")
_DEIDENTIFICATION_PARAMETER = {"k-anonymity": "k", "differential-privacy": "epsilon"}
_TIMESTAMP = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?Z$"
)

Rule = Callable[[Mapping[str, Any], str], Iterator[Violation]]
"""A rule: the object and its JSON pointer in the document -> the violations found."""


def _at(pointer: str, *tokens: str | int) -> str:
    return pointer + "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)


def _violation(requirement: str, pointer: str, message: str) -> Violation:
    return Violation(pointer=pointer, message=message, requirement=requirement)


def _instant(text: str) -> datetime | None:
    """The instant a schema timestamp names; second 60 is the next minute's second 0."""
    match = _TIMESTAMP.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = int((match.group(7) or "0").ljust(6, "0"))
    try:
        start = datetime(year, month, day, hour, minute, tzinfo=UTC)
    except ValueError:  # a calendar date the pattern admits but no calendar has
        return None
    return start + timedelta(seconds=second, microseconds=fraction)


def _ordered(obj: Mapping[str, Any], pointer: str, first: str, last: str) -> Iterator[Violation]:
    if first not in obj or last not in obj:
        return
    start, end = _instant(obj[first]), _instant(obj[last])
    if start is not None and end is not None and start > end:
        yield _violation(
            REQ_TIME_RANGE,
            _at(pointer, first),
            f"{first} {obj[first]} is later than {last} {obj[last]}",
        )


def _exact(values: Sequence[str]) -> Context:
    """A decimal context wide enough that sums and products of ``values`` are exact."""
    digits = sum(len(v) for v in values) + 16
    return Context(
        prec=digits, Emax=digits, Emin=-digits, traps=[Inexact, InvalidOperation, Overflow]
    )


# --- keys, participants, validator sets ------------------------------------------------


def _participant_kids(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    seen: dict[str, int] = {}
    for i, key in enumerate(obj["keys"]):
        kid = key["kid"]
        if kid in seen:
            yield _violation(
                REQ_DISTINCT_KIDS,
                _at(pointer, "keys", i, "kid"),
                f"kid {kid} is also the kid of keys/{seen[kid]}",
            )
        else:
            seen[kid] = i


def _key_type(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    profile = security_profile()
    kty, crv, use, alg = obj["kty"], obj["crv"], obj["use"], obj["alg"]
    if profile.keys.type_for(kty, crv, use) is None:
        yield _violation(
            REQ_KEY_TYPE,
            _at(pointer, "crv"),
            f"no key type of the security profile has kty {kty}, crv {crv} and use {use}",
        )
        return
    if use == "sig":
        signing = profile.signatures.signing_alg_for(kty, crv)
        wanted = signing.alg if signing is not None else None
    else:
        wanted = profile.encryption.alg
    if alg != wanted:
        yield _violation(
            REQ_KEY_TYPE, _at(pointer, "alg"), f"a {crv} {use} key has alg {wanted}, not {alg}"
        )


def _key_y(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    if obj["kty"] == "EC" and "y" not in obj:
        yield _violation(REQ_KEY_Y, pointer, "an EC key carries the member y")
    elif obj["kty"] == "OKP" and "y" in obj:
        yield _violation(REQ_KEY_Y, _at(pointer, "y"), "an OKP key has no member y")


def _key_kid(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    members = ("crv", "kty", "x", "y") if obj["kty"] == "EC" else ("crv", "kty", "x")
    if any(m not in obj for m in members):
        return  # an incomplete key is BMDX-DM-023's finding; it has no thumbprint
    try:
        expected = thumbprint({m: obj[m] for m in members})
    except BmdxError:
        return
    if obj["kid"] != expected:
        yield _violation(
            REQ_KID_THUMBPRINT,
            _at(pointer, "kid"),
            f"kid is not the key's RFC 7638 thumbprint {expected}",
        )


def _rotation(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    if obj["newKey"]["kid"] == obj["oldKid"]:
        yield _violation(
            REQ_ROTATION, _at(pointer, "newKey", "kid"), "the new key is the key it replaces"
        )


def _threshold(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    count = len(obj["validators"])
    if obj["threshold"] > count:
        yield _violation(
            REQ_THRESHOLD,
            _at(pointer, "threshold"),
            f"threshold {obj['threshold']} exceeds the {count} validator(s) of the set",
        )


def _validators_once(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    seen: dict[str, int] = {}
    for i, validator in enumerate(obj["validators"]):
        participant = validator["participant"]
        if participant in seen:
            yield _violation(
                REQ_VALIDATOR_ONCE,
                _at(pointer, "validators", i, "participant"),
                f"{participant} is already validators/{seen[participant]}",
            )
        else:
            seen[participant] = i


# --- JOSE containers -------------------------------------------------------------------


def _ephemeral_keys(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    encryption = security_profile().encryption
    keys = security_profile().keys
    for i, recipient in enumerate(obj["recipients"]):
        epk = recipient["header"]["epk"]
        where = _at(pointer, "recipients", i, "header", "epk")
        kty, crv = epk["kty"], epk["crv"]
        if crv not in encryption.curves or keys.type_for(kty, crv, "enc") is None:
            yield _violation(
                REQ_EPHEMERAL_KEY,
                _at(where, "crv"),
                f"no key-agreement key has kty {kty}, crv {crv}",
            )
        elif set(epk) != encryption.epk_members[kty]:
            wanted = ", ".join(sorted(encryption.epk_members[kty]))
            yield _violation(
                REQ_EPHEMERAL_KEY, where, f"an {kty} ephemeral key has exactly the members {wanted}"
            )


def _protected_header(protected: str) -> Any:
    try:
        return ijson.loads(b64url_decode(protected))
    except (B64Error, BmdxError):
        return None


def _jwe_enc(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    wanted = security_profile().encryption.enc
    header = _protected_header(obj["protected"])
    if not isinstance(header, dict):
        yield _violation(
            REQ_JWE_ENC, _at(pointer, "protected"), "the protected header is not a JSON object"
        )
    elif header.get("enc") != wanted:
        yield _violation(
            REQ_JWE_ENC,
            _at(pointer, "protected"),
            f"the protected header names enc {header.get('enc')!r}, not {wanted}",
        )


# --- transactions, blocks, proofs ------------------------------------------------------


def _output_types(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    wanted = OUTPUT_TYPES.get(obj["type"])
    for i, output in enumerate(obj["outputs"]):
        if wanted is not None and output["objectType"] != wanted:
            yield _violation(
                REQ_OUTPUT_TYPE,
                _at(pointer, "outputs", i, "objectType"),
                f"a {obj['type']} transaction outputs {wanted}, not {output['objectType']}",
            )


def _block_counts(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    header = obj["header"]
    count = len(obj["body"]["transactions"])
    if header["txCount"] != count:
        yield _violation(
            REQ_BLOCK_COUNTS,
            _at(pointer, "header", "txCount"),
            f"txCount {header['txCount']} but the body holds {count} transaction(s)",
        )
    if header["treeSize"] < header["txCount"]:
        yield _violation(
            REQ_BLOCK_COUNTS,
            _at(pointer, "header", "treeSize"),
            f"treeSize {header['treeSize']} is less than txCount {header['txCount']}",
        )
    if header["height"] == 0 and header["previous"] != _GENESIS_PREVIOUS:
        yield _violation(
            REQ_BLOCK_COUNTS,
            _at(pointer, "header", "previous"),
            f"the block at height 0 has previous {_GENESIS_PREVIOUS}",
        )


def _leaf_index(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    if obj["leafIndex"] >= obj["treeSize"]:
        yield _violation(
            REQ_LEAF_INDEX,
            _at(pointer, "leafIndex"),
            f"leafIndex {obj['leafIndex']} is not less than treeSize {obj['treeSize']}",
        )


def _consistency_sizes(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    if obj["firstSize"] > obj["secondSize"]:
        yield _violation(
            REQ_CONSISTENCY_SIZES,
            _at(pointer, "firstSize"),
            f"firstSize {obj['firstSize']} exceeds secondSize {obj['secondSize']}",
        )


# --- records ---------------------------------------------------------------------------


def _envelope(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    descriptor, jwe = obj["header"]["payload"], obj["payload"]
    where = _at(pointer, "header", "payload")
    stored = canonical_bytes(jwe)
    location = "sha-256:" + hashlib.sha256(stored).hexdigest()
    if descriptor["location"] != location:
        yield _violation(
            REQ_PAYLOAD_LOCATION,
            _at(where, "location"),
            f"the payload's canonical bytes hash to {location}",
        )
    if descriptor["size"] != len(stored):
        yield _violation(
            REQ_PAYLOAD_LOCATION,
            _at(where, "size"),
            f"the payload's canonical form is {len(stored)} bytes long",
        )
    header = _protected_header(jwe["protected"])
    enc = header.get("enc") if isinstance(header, dict) else None
    if enc != descriptor["encryption"]["enc"]:
        yield _violation(
            REQ_PAYLOAD_ALGORITHMS,
            _at(where, "encryption", "enc"),
            f"the payload is encrypted with {enc!r}",
        )
    agreement = descriptor["encryption"]["keyAgreement"]
    for i, recipient in enumerate(jwe["recipients"]):
        if recipient["header"]["alg"] != agreement:
            yield _violation(
                REQ_PAYLOAD_ALGORITHMS,
                _at(pointer, "payload", "recipients", i, "header", "alg"),
                f"the descriptor declares key agreement {agreement}",
            )
    if descriptor["recipients"] != len(jwe["recipients"]):
        yield _violation(
            REQ_PAYLOAD_RECIPIENTS,
            _at(where, "recipients"),
            f"the payload has {len(jwe['recipients'])} recipient(s)",
        )


# --- consent, requests, decisions ------------------------------------------------------


def _provisions(
    provision: Mapping[str, Any], pointer: str
) -> Iterator[tuple[Mapping[str, Any], str]]:
    yield provision, pointer
    for i, child in enumerate(provision.get("provisions", ())):
        yield from _provisions(child, _at(pointer, "provisions", i))


def _consent_actors(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    for provision, where in _provisions(obj["provision"], _at(pointer, "provision")):
        for i, actor in enumerate(provision.get("actors", ())):
            if len(actor) != 1:
                yield _violation(
                    REQ_ACTOR,
                    _at(where, "actors", i),
                    "an actor has exactly one member, participant or role",
                )


def _consent_chain(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    if obj["version"] == 1 and "previous" in obj:
        yield _violation(
            REQ_CONSENT_CHAIN, _at(pointer, "previous"), "version 1 has no previous version"
        )
    elif obj["version"] > 1 and "previous" not in obj:
        yield _violation(
            REQ_CONSENT_CHAIN,
            pointer,
            f"version {obj['version']} names the digest of its previous version",
        )


def _separate_consent(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    # A permit that names a sensitive class or label needs the flag.  A permit leaving
    # the criterion unrestricted releases no sensitive unit (consent.md step 5 wants an
    # explicit listing), so the flag is not demanded for it here.
    if obj["separateConsent"]:
        return
    for provision, where in _provisions(obj["provision"], _at(pointer, "provision")):
        if provision["type"] != "permit":
            continue
        classes = sorted(set(provision.get("dataClasses", ())) & _SENSITIVE_DATA_CLASSES)
        labels = sorted(set(provision.get("sensitivity", ())) & _SEPARATE_CONSENT_LABELS)
        if classes or labels:
            yield _violation(
                REQ_SEPARATE_CONSENT,
                _at(pointer, "separateConsent"),
                f"the permit at {where} covers {', '.join(classes + labels)}, "
                "which needs separateConsent true",
            )
            return


def _cross_border(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    # Both directions, as consent.md step 1 reads BMDX-DM-124.
    cross = obj["crossBorder"]
    if ("jurisdictions" in cross) != cross["permitted"]:
        yield _violation(
            REQ_CROSS_BORDER,
            _at(pointer, "crossBorder"),
            "jurisdictions are listed exactly when a transfer abroad is permitted",
        )


def _consent_periods(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    for provision, where in _provisions(obj["provision"], _at(pointer, "provision")):
        if "period" in provision:
            yield from _ordered(provision["period"], _at(where, "period"), "start", "end")


def _request_scope(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    if ("records" in obj) == ("query" in obj):
        yield _violation(
            REQ_REQUEST_SCOPE,
            pointer,
            "a request has exactly one of records and query, "
            + ("not both" if "records" in obj else "not neither"),
        )


def _break_glass(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    if not obj["breakGlass"]:
        return
    if obj["purpose"] != "emergency":
        yield _violation(
            REQ_BREAK_GLASS,
            _at(pointer, "purpose"),
            f"a break-glass request has purpose emergency, not {obj['purpose']}",
        )
    if not obj.get("justification"):
        yield _violation(
            REQ_BREAK_GLASS,
            _at(pointer, "justification") if "justification" in obj else pointer,
            "a break-glass request carries a non-empty justification",
        )


def _request_period(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    if "query" in obj:
        yield from _ordered(obj["query"], _at(pointer, "query"), "from", "to")


def _empty_policy(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    cites_empty = obj["consentVersionHash"] == EMPTY_POLICY_HASH
    if "consent" not in obj and not cites_empty:
        yield _violation(
            REQ_EMPTY_POLICY,
            _at(pointer, "consentVersionHash"),
            f"a decision without a consent cites the empty policy {EMPTY_POLICY_HASH}",
        )
    elif "consent" in obj and cites_empty:
        yield _violation(
            REQ_EMPTY_POLICY,
            _at(pointer, "consent"),
            "a decision that cites the empty policy names no consent",
        )


def _break_glass_obligations(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    if obj["decision"] != "permit" or not obj["breakGlass"]:
        return
    missing = [o for o in _BREAK_GLASS_OBLIGATIONS if o not in obj.get("obligations", ())]
    if missing:
        yield _violation(
            REQ_BREAK_GLASS_OBLIGATIONS,
            _at(pointer, "obligations") if "obligations" in obj else pointer,
            f"a break-glass permit has the obligations {', '.join(missing)}",
        )


def _alert_window(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    yield from _ordered(obj["window"], _at(pointer, "window"), "start", "end")


# --- domain objects --------------------------------------------------------------------


def _gs1_check_digit(digits: str) -> str:
    """The GS1 check digit of ``digits`` (weights 3 and 1 from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def _gtin(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    if "product" not in obj:
        return
    gtin = obj["product"]["gtin"]
    check = _gs1_check_digit(gtin[:13])
    if gtin[13] != check:
        yield _violation(
            REQ_GTIN,
            _at(pointer, "product", "gtin"),
            f"the GS1 check digit of {gtin[:13]} is {check}, not {gtin[13]}",
        )


def _epcis_structure(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    transformation = obj["eventType"] == "TransformationEvent"
    if transformation and "action" in obj:
        yield _violation(
            REQ_EPCIS_STRUCTURE, _at(pointer, "action"), "a TransformationEvent has no action"
        )
    elif not transformation and "action" not in obj:
        yield _violation(REQ_EPCIS_STRUCTURE, pointer, f"an {obj['eventType']} has an action")
    if obj["eventType"] == "AggregationEvent" and "parentID" not in obj:
        yield _violation(REQ_EPCIS_STRUCTURE, pointer, "an AggregationEvent has a parentID")


def _claim_arithmetic(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    items, total = obj["items"], obj["total"]
    ctx = _exact([total["value"], *(i["net"] for i in items), *(i["unitPrice"] for i in items)])
    seen: dict[int, int] = {}
    for n, item in enumerate(items):
        where = _at(pointer, "items", n)
        if item["sequence"] in seen:
            yield _violation(
                REQ_CLAIM_ARITHMETIC,
                _at(where, "sequence"),
                f"sequence {item['sequence']} is also items/{seen[item['sequence']]}",
            )
        else:
            seen[item["sequence"]] = n
        product = ctx.multiply(Decimal(item["quantity"]), Decimal(item["unitPrice"]))
        if Decimal(item["net"]) != product:
            yield _violation(
                REQ_CLAIM_ARITHMETIC,
                _at(where, "net"),
                f"net {item['net']} is not quantity x unitPrice = {product}",
            )
        if item["currency"] != total["currency"]:
            yield _violation(
                REQ_CLAIM_ARITHMETIC,
                _at(where, "currency"),
                f"the item is in {item['currency']}, the total in {total['currency']}",
            )
    expected = Decimal(0)
    for item in items:
        expected = ctx.add(expected, Decimal(item["net"]))
    if Decimal(total["value"]) != expected:
        yield _violation(
            REQ_CLAIM_ARITHMETIC,
            _at(pointer, "total", "value"),
            f"total {total['value']} is not the sum of the items' net amounts, {expected}",
        )


def _adjudication_arithmetic(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    items, total = obj["items"], obj["totalBenefit"]
    ctx = _exact([total["value"], *(i["benefit"] for i in items)])
    expected = Decimal(0)
    for n, item in enumerate(items):
        if Decimal(item["benefit"]) > Decimal(item["eligible"]):
            yield _violation(
                REQ_ADJUDICATION_ARITHMETIC,
                _at(pointer, "items", n, "benefit"),
                f"benefit {item['benefit']} exceeds the eligible amount {item['eligible']}",
            )
        expected = ctx.add(expected, Decimal(item["benefit"]))
    if Decimal(total["value"]) != expected:
        yield _violation(
            REQ_ADJUDICATION_ARITHMETIC,
            _at(pointer, "totalBenefit", "value"),
            f"totalBenefit {total['value']} is not the sum of the benefits, {expected}",
        )


def _deidentification(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    method = obj["deidentification"]
    where = _at(pointer, "deidentification")
    wanted = _DEIDENTIFICATION_PARAMETER.get(method["method"])
    for parameter in _DEIDENTIFICATION_PARAMETER.values():
        if parameter in method and parameter != wanted:
            yield _violation(
                REQ_DEIDENTIFICATION,
                _at(where, parameter),
                f"{parameter} is not a parameter of {method['method']}",
            )
    if wanted is not None and wanted not in method:
        yield _violation(REQ_DEIDENTIFICATION, where, f"{method['method']} gives {wanted}")
    if wanted == "epsilon" and "epsilon" in method and Decimal(method["epsilon"]) <= 0:
        yield _violation(
            REQ_DEIDENTIFICATION, _at(where, "epsilon"), "epsilon is greater than zero"
        )


def _cohort_period(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    yield from _ordered(obj["cohort"], _at(pointer, "cohort"), "from", "to")


def _indicators_once(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    seen: dict[str, int] = {}
    for i, indicator in enumerate(obj["indicators"]):
        name = indicator["name"]
        if name in seen:
            yield _violation(
                REQ_INDICATOR_ONCE,
                _at(pointer, "indicators", i, "name"),
                f"indicator {name} is already indicators/{seen[name]}",
            )
        else:
            seen[name] = i


def _report_period(obj: Mapping[str, Any], pointer: str) -> Iterator[Violation]:
    yield from _ordered(obj["period"], _at(pointer, "period"), "start", "end")


#: The rules of each object type, in the order they are reported.
RULES: Mapping[str, tuple[Rule, ...]] = {
    "Participant": (_participant_kids,),
    "PublicKey": (_key_type, _key_y, _key_kid),
    "KeyRotation": (_rotation,),
    "ValidatorSet": (_threshold, _validators_once),
    "Jwe": (_ephemeral_keys, _jwe_enc),
    "Transaction": (_output_types,),
    "Block": (_block_counts,),
    "InclusionProof": (_leaf_index,),
    "ConsistencyProof": (_consistency_sizes,),
    "RecordEnvelope": (_envelope,),
    "Consent": (
        _consent_actors,
        _consent_chain,
        _separate_consent,
        _cross_border,
        _consent_periods,
    ),
    "AccessRequest": (_request_scope, _break_glass, _request_period),
    "AccessDecision": (_empty_policy, _break_glass_obligations),
    "AnomalyAlert": (_alert_window,),
    "SupplyChainEvent": (_gtin, _epcis_structure),
    "InsuranceClaim": (_claim_arithmetic,),
    "ClaimAdjudication": (_adjudication_arithmetic,),
    "ResearchExport": (_deidentification, _cohort_period),
    "QualityReport": (_indicators_once, _report_period),
}


def rule_violations(document: Any) -> list[Violation]:
    """Every rule violation of a schema-valid ``document`` and the objects it embeds.

    The result is sorted like :meth:`SchemaSet.violations` (pointer, requirement,
    message).  A document the schema refuses may make a rule fail on a missing member:
    validate against the schema first.
    """
    found: list[Violation] = []
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, dict):
            object_type = node.get("objectType")
            if isinstance(object_type, str):
                for rule in RULES.get(object_type, ()):
                    found.extend(rule(node, pointer))
            stack.extend(
                (v, _at(pointer, k)) for k, v in node.items() if isinstance(v, dict | list)
            )
        elif isinstance(node, list):
            stack.extend(
                (v, _at(pointer, i)) for i, v in enumerate(node) if isinstance(v, dict | list)
            )
    found.sort(key=lambda v: (v.pointer, v.requirement, v.message))
    return found
