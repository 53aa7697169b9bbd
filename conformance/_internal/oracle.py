"""The audit oracle: what the suite sent, against what the node's audit trail says.

The suite knows every request it sent (its :class:`Evidence`), and spec/conventions/audit.md
section 2 says which event each access attempt must leave: who (the participant whose key
signed the request, in its role), what (``action``, ``record``, ``subject``), why
(``purpose``), the ``outcome``, the decision and ``policyHash`` that governed it, and the
``requestDigest`` of the signed request (BMDX-API-071), which ties each event to exactly
one request.  :class:`AuditOracle` derives those expectations from the evidence alone,
then reads the node's trail the two ways the spec offers it, the patient's access
history and the regulator's ``GET /audit/events``, and reports every discrepancy as a
:class:`Discrepancy` naming the requirement it breaks:

* an attempt without its event, an event recorded twice, an event no attempt explains,
  a wrong actor, action, record or purpose: BMDX-AUD-001 (the table of section 2);
* ``denial`` / ``denied`` spelt otherwise: BMDX-AUD-002; break-glass not recorded as
  ``break-glass`` with ``emergency``: BMDX-AUD-004;
* a decision or policy hash other than the governing decision's: BMDX-AUD-003 (BMDX-DM-141
  where no decision governed);
* a history that misses or adds events, or is out of order: BMDX-AUD-005; an entry whose
  inclusion proof does not verify against a checkpoint the suite verified itself, or a
  later checkpoint not consistent with the earlier one: BMDX-AUD-006;
* a regulator answer carrying anything but AuditEvent members: BMDX-AUD-007; an alert
  retrieval left unaudited: BMDX-AUD-008.

Three rows of section 2 have requirements of their own, which a wrong member names: a
consent change's ``policyHash`` (BMDX-AUD-009), a refusal on a record the node treats as
unknown (BMDX-AUD-043), a metadata-only permit recorded as a query (BMDX-AUD-044).

Checkpoints are verified by replaying the served blocks with the suite's own ledger
verifier (``verifiers/ledger.py``: the Checkpoint document's validator signatures and the
C2SP note), proofs by its RFC 9162 transcription (``verifiers/merkle.py``).  Where the
spec leaves a member open (the ``subject`` of a refused read of a record the suite did not
publish, which the node may hold; a query's decision), the expectation admits each
reading the text allows and no other.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from bmdx.conformance._internal.errors import InputFileError
from bmdx.conformance._internal.files import strict_json_loads
from bmdx.conformance._internal.http_client import (
    EMPTY_POLICY_HASH,
    NodeClient,
    digest,
    request_digest,
)
from bmdx.conformance._internal.targets import Evidence
from bmdx.conformance._internal.verifiers import merkle
from bmdx.conformance._internal.verifiers.ledger import Ledger, LedgerFaultError, leaf_hash
from bmdx.conformance._internal.verifiers.objects import violations

__all__ = [
    "ABSENT",
    "ANY",
    "Attempt",
    "AuditOracle",
    "Discrepancy",
    "Expectation",
    "Findings",
    "TreeHead",
    "instant",
]

AUD_ONE_EVENT = "BMDX-AUD-001"
AUD_DENIAL = "BMDX-AUD-002"
AUD_DECISION = "BMDX-AUD-003"
AUD_BREAK_GLASS = "BMDX-AUD-004"
AUD_HISTORY = "BMDX-AUD-005"
AUD_PROOF = "BMDX-AUD-006"
AUD_METADATA = "BMDX-AUD-007"
AUD_ALERTS = "BMDX-AUD-008"
AUD_CONSENT_CHANGE = "BMDX-AUD-009"
AUD_UNKNOWN_RECORD = "BMDX-AUD-043"
AUD_METADATA_QUERY = "BMDX-AUD-044"
DM_EVENT = "BMDX-DM-140"
DM_POLICY = "BMDX-DM-141"

PURPOSES = frozenset({"treatment", "payment", "research", "public-health", "emergency"})
_PAGE = 1000
_KEYID = re.compile(r'keyid="([^"]*)"')
_MEMBERS = (
    "action",
    "outcome",
    "actor",
    "actorRole",
    "subject",
    "record",
    "purpose",
    "decision",
    "policyHash",
    "eventId",
)


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: An expected member that must be absent from the event.
ABSENT: Any = _Marker("<absent>")
#: An expected member that must be present, with any value.
ANY: Any = _Marker("<any>")


_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d):(\d\d)(?:\.(\d{1,9}))?Z$")


def instant(text: str) -> dt.datetime:
    """A BMDX timestamp as an instant, to the microsecond; ``hh:mm:60`` is the
    microsecond before the next minute (spec/conventions/audit.md section 6.1)."""
    found = _TIMESTAMP.match(text)
    if found is None:
        raise ValueError(f"not a BMDX timestamp: {text!r}")
    minute, second, fraction = found.groups()
    if second == "60":
        second, fraction = "59", "999999"
    micros = (fraction or "").ljust(6, "0")[:6]
    return dt.datetime.fromisoformat(f"{minute}:{second}.{micros}+00:00")


@dataclass(frozen=True)
class Attempt:
    """One request the suite sent, as its evidence recorded it."""

    index: int
    method: str
    url: str
    path: str
    params: Mapping[str, str]
    actor: str | None
    role: str | None
    status: int | None
    body: Any
    answer: Any
    digest: str

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        who = self.actor or "an unknown signer"
        return f"{self.method} {self.path}{'?' + query if query else ''} by {who} ({self.status})"


@dataclass
class Expectation:
    """The event an attempt must leave: each member's acceptable values.

    ``tolerated`` attempts are those the spec does not make access attempts for certain
    (a malformed request that never reached the decision point): they may leave one
    event or none.  ``governed`` says an access decision governed the operation.
    ``cites`` names, per member, the requirement a wrong value breaks when it is a
    narrower one than the table's (a consent change's policyHash, for one).
    """

    attempt: Attempt
    fields: dict[str, frozenset[Any]]
    governed: bool = False
    tolerated: bool = False
    cites: Mapping[str, str] = field(default_factory=dict)

    def allows(self, member: str, value: Any) -> bool:
        wanted = self.fields.get(member)
        if wanted is None:
            return True
        if value is ABSENT:
            return ABSENT in wanted
        return value in wanted or ANY in wanted

    @property
    def subjects(self) -> frozenset[Any]:
        return self.fields.get("subject", frozenset({ABSENT}))


@dataclass(frozen=True)
class Discrepancy:
    """One way the node's trail differs from what the spec demands."""

    requirement: str
    message: str

    def __str__(self) -> str:
        return f"[{self.requirement}] {self.message}"


@dataclass(frozen=True)
class TreeHead:
    """A checkpoint the suite verified itself: block height, tree size and root."""

    height: int
    tree_size: int
    root: bytes
    timestamp: str


@dataclass
class Findings:
    """What :meth:`AuditOracle.check` observed."""

    discrepancies: list[Discrepancy] = field(default_factory=list)
    expectations: list[Expectation] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    matched: dict[int, dict[str, Any]] = field(default_factory=dict)  # attempt -> event
    before: TreeHead | None = None
    after: TreeHead | None = None

    def of(self, *requirements: str) -> list[Discrepancy]:
        return [d for d in self.discrepancies if d.requirement in requirements]

    def report(self, *requirements: str) -> str:
        found = self.of(*requirements)
        return "\n".join(str(d) for d in found[:25]) + (
            f"\n... and {len(found) - 25} more" if len(found) > 25 else ""
        )

    def event_of(self, attempt: Attempt) -> dict[str, Any] | None:
        return self.matched.get(attempt.index)


def _json(text: Any) -> Any:
    if not isinstance(text, str) or not text:
        return None
    try:
        return strict_json_loads(text.encode("utf-8"))
    except (InputFileError, ValueError):
        return None


def _one(*values: Any) -> frozenset[Any]:
    return frozenset(values)


@dataclass
class _Knowledge:
    """What the evidence tells about records and consents, in order of the requests."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    consents: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    grantors: dict[str, str] = field(default_factory=dict)
    event_subjects: dict[str, str] = field(default_factory=dict)

    def learn(self, attempt: Attempt) -> None:
        ok = attempt.status is not None and 200 <= attempt.status < 300
        if not ok:
            return
        if attempt.method == "POST" and attempt.path == "/records":
            header = (attempt.body or {}).get("header")
            if isinstance(header, dict) and "recordId" in header:
                self.records[header["recordId"]] = header
        elif attempt.method == "POST" and attempt.path.startswith("/consents"):
            for output in (attempt.body or {}).get("outputs", []):
                if isinstance(output, dict) and output.get("objectType") == "Consent":
                    subject = output["subject"]
                    self.consents.setdefault(subject, []).append((attempt.index, output))
                    if attempt.actor is not None:
                        self.grantors.setdefault(subject, attempt.actor)
        elif attempt.method == "GET" and attempt.path.startswith("/audit/events/"):
            answer = attempt.answer
            if (
                isinstance(answer, dict)
                and answer.get("objectType") == "AuditEvent"
                and "subject" in answer
            ):
                self.event_subjects[answer["eventId"]] = answer["subject"]

    def policies(self, subject: str | None, before: int) -> frozenset[str]:
        """The consentVersionHash a decision on ``subject`` may cite at that point."""
        versions = [c for i, c in self.consents.get(subject or "", []) if i < before]
        if not versions:
            return _one(EMPTY_POLICY_HASH)
        latest: dict[str, dict[str, Any]] = {}
        for consent in versions:
            known = latest.get(consent["consentId"])
            if known is None or consent["version"] >= known["version"]:
                latest[consent["consentId"]] = consent
        return frozenset(digest(c) for c in latest.values())


Fields = dict[str, frozenset[Any]]


def _expect(attempt: Attempt, known: _Knowledge) -> Expectation | None:
    """The event spec/conventions/audit.md section 2 demands for ``attempt``, or None."""
    status = attempt.status
    if status is None or status == 401:
        return None  # never authenticated: no actor, no decision point
    parts = attempt.path.strip("/").split("/")
    if parts[0] not in {"records", "subjects", "audit", "alerts", "consents"}:
        return None
    fields: Fields = {
        "actor": _one(attempt.actor) if attempt.actor else _one(ANY),
        "actorRole": _one(attempt.role) if attempt.role else _one(ANY),
    }
    if status in (400, 405, 406, 413, 415, 422) or (status == 404 and parts[0] == "records"):
        # The request did not reach the decision point.
        return Expectation(attempt, fields, tolerated=True)
    rules = _Rules(attempt, known, fields)
    if parts[0] == "records":
        return rules.records(parts)
    if parts[0] == "consents":
        return rules.consents()
    return rules.trail(parts)


class _Rules:
    """The rows of the table of spec/conventions/audit.md section 2, per operation."""

    def __init__(self, attempt: Attempt, known: _Knowledge, fields: Fields) -> None:
        self.attempt = attempt
        self.known = known
        self.fields = fields
        self.status = attempt.status
        purpose = attempt.params.get("purpose")
        self.declared = _one(purpose) if purpose in PURPOSES else _one(ABSENT)
        self.refused = self.status in (403, 404)
        self.tolerated = Expectation(attempt, fields, tolerated=True)

    def denial(self, extra: Fields) -> Expectation:
        out: Fields = {**self.fields, "action": _one("denial"), "outcome": _one("denied")}
        out["decision"] = _one(ANY, ABSENT)
        out.update(extra)
        governed = ABSENT not in out["decision"]
        if not governed and "policyHash" not in out:
            lenient = out["decision"] != _one(ABSENT)
            out["policyHash"] = _one(EMPTY_POLICY_HASH, *([ANY] if lenient else []))
        return Expectation(self.attempt, out, governed=governed)

    def done(self, action: str, outcome: str, extra: Fields) -> Expectation:
        out: Fields = {**self.fields, "action": _one(action), "outcome": _one(outcome), **extra}
        governed = "decision" in out and ABSENT not in out["decision"]
        if "decision" in out and not governed and "policyHash" not in out:
            out["policyHash"] = _one(EMPTY_POLICY_HASH)
        return Expectation(self.attempt, out, governed=governed)

    def records(self, parts: Sequence[str]) -> Expectation:  # noqa: PLR0911
        attempt, method = self.attempt, self.attempt.method
        if len(parts) == 1 and method == "POST":
            header = (attempt.body or {}).get("header") or {}
            if self.status != 201:
                return self.tolerated
            return self.done(
                "publish",
                "success",
                {
                    "subject": _one(header.get("subject", ANY)),
                    "record": _one(header.get("recordId", ANY)),
                    "purpose": _one(ABSENT),
                    "decision": _one(ABSENT),
                    "policyHash": _one(EMPTY_POLICY_HASH),
                },
            )
        if len(parts) == 1 and method == "GET":
            named = attempt.params.get("subject")
            policies = self.known.policies(named, attempt.index) if named else frozenset()
            common: Fields = {
                "subject": _one(named) if named else _one(ABSENT),
                "record": _one(ABSENT),
                "purpose": self.declared,
            }
            if self.refused:
                return self.denial(common)
            if self.status != 200:
                return self.tolerated
            common["decision"] = _one(ANY, ABSENT)
            common["policyHash"] = frozenset({EMPTY_POLICY_HASH, *policies})
            return self.done("query", "success", common)
        record = parts[1]
        header = self.known.records.get(record)
        owner = header["subject"] if header else None
        policies = self.known.policies(owner, attempt.index)
        if method == "GET" and len(parts) == 2:
            return self.read(record, owner, policies)
        if method == "DELETE" and len(parts) == 2:
            return self.erase(record, owner, policies)
        if method == "POST" and len(parts) == 3 and parts[2] == "access":
            return _expect_access(attempt, self.fields, record, owner, policies)
        return self.tolerated

    def read(self, record: str, owner: str | None, policies: frozenset[str]) -> Expectation:
        common: Fields = {"record": _one(record), "purpose": self.declared}
        if owner is None:
            # The uniform refusal of a record the suite does not know (BMDX-API-061).
            common["subject"] = _one(ABSENT, ANY)
            return self.denial(common) if self.refused else self.tolerated
        common["subject"] = _one(owner)
        common["decision"] = _one(ANY)
        common["policyHash"] = policies
        if self.refused:
            return self.denial(common)
        outcome = {200: "success", 410: "error"}.get(self.status or 0)
        return self.tolerated if outcome is None else self.done("read", outcome, common)

    def erase(self, record: str, owner: str | None, policies: frozenset[str]) -> Expectation:
        common: Fields = {"record": _one(record), "purpose": _one(ABSENT, *PURPOSES)}
        if self.refused:
            common["subject"] = _one(owner, ABSENT) if owner else _one(ANY, ABSENT)
            return self.denial(common)
        outcome = {200: "success", 410: "error"}.get(self.status or 0)
        if outcome is None:
            return self.tolerated
        common["subject"] = _one(owner) if owner else _one(ANY, ABSENT)
        common["decision"] = _one(ANY, ABSENT)
        common["policyHash"] = frozenset({EMPTY_POLICY_HASH, *policies})
        return self.done("erasure", outcome, common)

    def consents(self) -> Expectation:
        attempt = self.attempt
        if attempt.method != "POST" or self.status != 202:
            return self.tolerated  # reading a consent is not an access attempt of section 2
        outputs = [
            o
            for o in (attempt.body or {}).get("outputs", [])
            if isinstance(o, dict) and o.get("objectType") == "Consent"
        ]
        if len(outputs) != 1:
            return self.tolerated
        consent = outputs[0]
        # No decision governs a consent change; it cites the version it publishes.
        expectation = self.done(
            "consent-change",
            "success",
            {
                "subject": _one(consent["subject"]),
                "record": _one(ABSENT),
                "purpose": _one(ABSENT),
                "decision": _one(ABSENT),
                "policyHash": _one(digest(consent)),
            },
        )
        expectation.cites = {"policyHash": AUD_CONSENT_CHANGE, "decision": AUD_CONSENT_CHANGE}
        return expectation

    def trail(self, parts: Sequence[str]) -> Expectation:
        """A patient's history, the regulator's views, exports and alerts: queries."""
        common: Fields = {"record": _one(ABSENT), "purpose": _one(ABSENT)}
        if parts[0] == "subjects" and len(parts) == 3 and parts[2] == "access-history":
            common["subject"] = _one(parts[1])
        elif parts[0] == "audit" and len(parts) >= 3:
            about = self.known.event_subjects.get(parts[2])
            common["subject"] = _one(about, ABSENT) if about else _one(ANY, ABSENT)
        elif parts[0] == "audit":
            named = self.attempt.params.get("subject")
            common["subject"] = _one(named) if named else _one(ABSENT)
            if self.refused and named:
                common["subject"] = _one(named, ABSENT)
        elif parts[0] == "alerts":
            common["subject"] = _one(ABSENT)
        else:
            return self.tolerated
        common["decision"] = _one(ABSENT, ANY)
        if self.refused:
            return self.denial(common)
        return self.done("query", "success", common) if self.status == 200 else self.tolerated


def _expect_access(
    attempt: Attempt, fields: Fields, record: str, owner: str | None, policies: frozenset[str]
) -> Expectation:
    """POST /records/{id}/access: the AccessRequest and, on 200, the AccessResult."""
    request = attempt.body if isinstance(attempt.body, dict) else {}
    break_glass = request.get("breakGlass") is True
    purpose = request.get("purpose")
    declared = _one(purpose) if purpose in PURPOSES else _one(ABSENT)
    consistent = owner is not None and request.get("subject") == owner
    base: dict[str, frozenset[Any]] = {**fields, "record": _one(record), "purpose": declared}
    status = attempt.status
    answer = attempt.answer if isinstance(attempt.answer, dict) else {}
    if status == 200 and isinstance(answer.get("decision"), dict):
        decision = answer["decision"]
        cites: dict[str, str] = {}
        base["eventId"] = _one(answer.get("auditEvent", ANY))
        base["subject"] = _one(owner or request.get("subject", ANY))
        base["decision"] = _one(decision.get("requestId", ANY))
        base["policyHash"] = _one(decision.get("consentVersionHash", ANY))
        if decision.get("decision") != "permit":
            base.update(action=_one("denial"), outcome=_one("denied"))
        elif decision.get("breakGlass") is True:
            base.update(action=_one("break-glass"), outcome=_one("success"))
            base["purpose"] = _one("emergency")
        elif "envelope" in answer:
            base.update(action=_one("read"), outcome=_one("success"))
        else:
            # A metadata-only permit delivers the record's header: a query (section 2).
            base.update(action=_one("query"), outcome=_one("success"))
            cites = dict.fromkeys(("action", "record", "purpose", "decision"), AUD_METADATA_QUERY)
        return Expectation(attempt, base, governed=True, cites=cites)
    if status == 403:
        base.update(action=_one("denial"), outcome=_one("denied"))
        if consistent:
            base["subject"] = _one(owner)
            base["decision"] = _one(request.get("requestId", ANY))
            base["policyHash"] = policies
            return Expectation(attempt, base, governed=True)
        # Refused before any decision: a record of another subject, or none at all.
        cited: dict[str, str] = {}
        if owner is not None:
            # The suite published the record: the node knows it, and treats it as
            # unknown to this request (BMDX-AUD-043).
            base["subject"] = _one(ABSENT)
            base["decision"] = _one(ABSENT)
            cited = dict.fromkeys(("subject", "decision", "record"), AUD_UNKNOWN_RECORD)
        else:
            # A record the suite did not publish: the node may hold it and decide.
            base["subject"] = frozenset({ABSENT, *(s for s in [request.get("subject")] if s)})
            base["decision"] = _one(ABSENT, ANY)
        return Expectation(attempt, base, cites=cited)
    if status == 410 and consistent:
        action = "break-glass" if break_glass else "read"
        base.update(action=_one(action), outcome=_one("error"), subject=_one(owner))
        base["decision"] = _one(request.get("requestId", ANY))
        base["policyHash"] = policies
        return Expectation(attempt, base, governed=True)
    return Expectation(attempt, base, tolerated=True)


def _member(event: Mapping[str, Any], name: str) -> Any:
    return event.get(name, ABSENT)


def _field_requirement(expectation: Expectation, name: str, event: Mapping[str, Any]) -> str:
    cited = expectation.cites.get(name)
    return cited if cited is not None else _table_requirement(expectation, name, event)


def _table_requirement(expectation: Expectation, name: str, event: Mapping[str, Any]) -> str:
    if name in ("action", "outcome"):
        seen = {
            *expectation.fields.get("action", ()),
            *expectation.fields.get("outcome", ()),
            event.get("action"),
            event.get("outcome"),
        }
        if "break-glass" in seen:
            return AUD_BREAK_GLASS
        if "denial" in seen or "denied" in seen:
            return AUD_DENIAL
        return AUD_ONE_EVENT
    if name == "purpose" and "break-glass" in expectation.fields.get("action", ()):
        return AUD_BREAK_GLASS
    if name in ("decision", "policyHash"):
        return AUD_DECISION if expectation.governed else DM_POLICY
    return AUD_ONE_EVENT


class AuditOracle:
    """Derives the expected trail from ``evidence`` and checks the node's trail.

    ``node_clients`` are the clients whose requests ``evidence`` records (their keys
    identify the actor of each request); the one with the role ``regulator`` reads the
    regulator's view.  Call :meth:`checkpoint` before the scripted requests and
    :meth:`check` after them.
    """

    def __init__(self, node_clients: Sequence[NodeClient], *, evidence: Evidence) -> None:
        if not node_clients:
            raise ValueError("the oracle needs at least one client")
        self.clients = list(node_clients)
        self.evidence = evidence
        self._by_kid = {c.kid: c for c in self.clients}
        self._by_id = {c.id: c for c in self.clients}
        self._reader = self.clients[0]
        self.ledger = Ledger()
        self._origin: str | None = None
        self._heads: dict[int, TreeHead] = {}
        self._mark: int | None = None
        self.problems: list[Discrepancy] = []
        self.before: TreeHead | None = None

    # -- checkpoints -----------------------------------------------------------------

    def _replay(self, height: int) -> None:
        for at in range(len(self.ledger.hashes), height + 1):
            self.ledger.add_block(self._reader.read(f"/ledger/blocks/{at}"))

    def tree_head(self, height: int) -> TreeHead | None:
        """The checkpoint of block ``height``, verified by replay (None when it fails)."""
        if height in self._heads:
            return self._heads[height]
        try:
            self._replay(height)
            document = self._reader.read(f"/ledger/checkpoints/{height}")
            self._origin = self._origin or str(document.get("origin"))
            self.ledger.check_checkpoint(document, origin=self._origin, height=height)
            note = self._reader.get(
                f"/ledger/checkpoints/{height}", headers={"Accept": "text/plain"}
            )
            self.ledger.check_note(note.content, origin=self._origin, height=height)
        except LedgerFaultError as fault:
            self.problems.append(
                Discrepancy(
                    AUD_PROOF,
                    f"the checkpoint of block {height} does not verify, so no proof can be "
                    f"checked against it: {fault}",
                )
            )
            return None
        header = self.ledger.headers[height]
        head = TreeHead(
            height,
            int(header["treeSize"]),
            bytes.fromhex(str(header["treeRoot"]).removeprefix("sha-256:")),
            str(header["timestamp"]),
        )
        self._heads[height] = head
        return head

    def checkpoint(self) -> TreeHead | None:
        """Verify the node's current checkpoint once every pooled write is committed.

        The first call marks where the scripted requests start.
        """
        head = self._reader.wait_committed_pool()
        found = self.tree_head(int(head["height"]))
        if self._mark is None:
            self._mark = len(self.evidence.exchanges)
            self.before = found
        return found

    # -- attempts and expectations ---------------------------------------------------

    def attempts(self, *, since: int | None = None, until: int | None = None) -> list[Attempt]:
        """Every HTTP request the evidence recorded from ``since`` (default: the mark)."""
        start = self._mark if since is None else since
        exchanges = self.evidence.exchanges[start or 0 : until]
        out = []
        for offset, exchange in enumerate(exchanges, start=start or 0):
            if exchange.get("transport") != "http":
                continue
            out.append(self._attempt(offset, exchange))
        return out

    def _attempt(self, index: int, exchange: Mapping[str, Any]) -> Attempt:
        request = exchange["request"]
        response = exchange.get("response") or {}
        headers = dict(request.get("headers", {}))
        lowered = {k.lower(): v for k, v in headers.items()}
        match = _KEYID.search(lowered.get("signature-input", ""))
        client = self._by_kid.get(match.group(1)) if match else None
        split = urlsplit(request["url"])
        built = httpx.Request(request["method"], request["url"], headers=headers)
        return Attempt(
            index=index,
            method=request["method"].upper(),
            url=request["url"],
            path=split.path,
            params=dict(parse_qsl(split.query)),
            actor=client.id if client else None,
            role=client.participant.role if client else None,
            status=response.get("status"),
            body=_json(request.get("body")),
            answer=_json(response.get("body")),
            digest=request_digest(built),
        )

    def expectations(self, *, until: int | None = None) -> list[Expectation]:
        """The events the scripted requests (up to evidence index ``until``) must leave."""
        known = _Knowledge()
        out = []
        for attempt in self.attempts(since=0, until=until):
            if self._mark is not None and attempt.index >= self._mark:
                found = _expect(attempt, known)
                if found is not None:
                    out.append(found)
            known.learn(attempt)
        return out

    # -- the check -------------------------------------------------------------------

    def _pages(self, client: NodeClient, path: str, params: Mapping[str, Any]) -> list[Any]:
        """Every item of a paged answer; the page objects are checked for AUD-007."""
        items: list[Any] = []
        cursor = None
        for _ in range(100):
            response = client.get(path, params={**params, "limit": _PAGE, "cursor": cursor})
            assert response.status_code == 200, (
                f"GET {path} {dict(params)} as {client.id} answered {response.status_code}: "
                f"{response.text[:300]}"
            )
            page = client.json(response)
            extra = set(page) - {"items", "next"}
            if extra:
                self.problems.append(
                    Discrepancy(AUD_METADATA, f"GET {path} answered members {sorted(extra)}")
                )
            items.extend(page.get("items", []))
            cursor = page.get("next")
            if cursor is None:
                return items
        raise AssertionError(f"GET {path} kept answering pages past 100")

    def _regulator(self) -> NodeClient:
        for client in self.clients:
            if client.participant.role == "regulator":
                return client
        raise AssertionError("the audit oracle needs a regulator among its clients")

    def check(self, subjects: Iterable[str]) -> Findings:
        """Read the trail of ``subjects`` and of every actor, and compare (module docstring)."""
        findings = Findings(before=self.before)
        findings.discrepancies.extend(self.problems)
        after = self.checkpoint()
        findings.after = after
        self._consistency(findings)
        known = _Knowledge()
        for attempt in self.attempts(since=0):
            known.learn(attempt)
        for subject in subjects:
            self._history(findings, subject, known)
        self._reader.wait_committed_pool()
        regulator = self._regulator()
        actors = {a.actor for a in self.attempts() if a.actor is not None}
        for subject in subjects:
            self._view(findings, regulator, {"subject": subject})
        for actor in sorted(actors - {regulator.id}):
            self._view(findings, regulator, {"actor": actor})
        self._reader.wait_committed_pool()
        self._view(findings, regulator, {"actor": regulator.id})
        findings.discrepancies.extend(p for p in self.problems if p not in findings.discrepancies)
        findings.expectations = self.expectations()
        return findings

    def _consistency(self, findings: Findings) -> None:
        before, after = findings.before, findings.after
        if before is None or after is None or before.tree_size == 0:
            return
        if before.height == after.height:
            return
        proof = self._reader.read(
            "/ledger/proofs/consistency", params={"first": before.height, "second": after.height}
        )
        path = [bytes.fromhex(str(p).removeprefix("sha-256:")) for p in proof.get("path", [])]
        if not merkle.verify_consistency(
            before.tree_size, after.tree_size, path, before.root, after.root
        ):
            findings.discrepancies.append(
                Discrepancy(
                    AUD_PROOF,
                    f"the checkpoint of block {after.height} is not consistent with the one "
                    f"of block {before.height} the patient held",
                )
            )

    def _history(self, findings: Findings, subject: str, known: _Knowledge) -> None:
        grantor = known.grantors.get(subject)
        client = self._by_id.get(grantor or "")
        if client is None:
            raise AssertionError(
                f"no client granted a consent of {subject}: who reads its history?"
            )
        mark = len(self.evidence.exchanges)
        entries = self._pages(client, f"/subjects/{subject}/access-history", {})
        findings.history[subject] = entries
        events = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or set(entry) != {"event", "txid", "proof"}:
                findings.discrepancies.append(
                    Discrepancy(AUD_PROOF, f"history entry {i} is not {{event, txid, proof}}")
                )
                continue
            events.append(entry["event"])
            self._entry_proof(findings, subject, i, entry)
        order = sorted(
            events, key=lambda e: (instant(e.get("recorded", "0001-01-01T00:00:00Z")), e["eventId"])
        )
        if [e.get("eventId") for e in order] != [e.get("eventId") for e in events]:
            findings.discrepancies.append(
                Discrepancy(
                    AUD_HISTORY, f"the history of {subject} is not ordered by recorded, eventId"
                )
            )
        self._compare(
            findings,
            f"the access history of {subject}",
            events,
            self.expectations(until=mark),
            lambda exp: _scope(exp, subject),
            AUD_HISTORY,
        )

    def _entry_proof(
        self, findings: Findings, subject: str, i: int, entry: Mapping[str, Any]
    ) -> None:
        where = f"history entry {i} of {subject} ({entry['event'].get('eventId')})"
        proof = entry["proof"]
        found = violations(proof, "InclusionProof")
        if found:
            findings.discrepancies.append(Discrepancy(AUD_PROOF, f"{where}: {found[0]}"))
            return
        head = self.tree_head(int(proof["height"]))
        if head is None:
            return
        response = self._reader.get(f"/ledger/transactions/{entry['txid']}")
        status = self._reader.json(response) if response.status_code == 200 else {}
        tx = status.get("transaction", {})
        if status.get("status") != "committed" or entry["event"] not in tx.get("outputs", []):
            findings.discrepancies.append(
                Discrepancy(AUD_PROOF, f"{where}: transaction {entry['txid']} does not carry it")
            )
            return
        leaf = leaf_hash(tx)
        ok = (
            (proof["treeSize"], proof["rootHash"]) == (head.tree_size, "sha-256:" + head.root.hex())
            and proof["leafHash"] == "sha-256:" + leaf.hex()
            and merkle.verify_inclusion(
                leaf,
                int(proof["leafIndex"]),
                head.tree_size,
                [bytes.fromhex(str(p).removeprefix("sha-256:")) for p in proof["path"]],
                head.root,
            )
        )
        if not ok:
            findings.discrepancies.append(
                Discrepancy(
                    AUD_PROOF,
                    f"{where}: its inclusion proof does not verify against the checkpoint of "
                    f"block {head.height}",
                )
            )

    def _view(self, findings: Findings, regulator: NodeClient, params: Mapping[str, str]) -> None:
        mark = len(self.evidence.exchanges)
        events = self._pages(regulator, "/audit/events", params)
        for event in events:
            problems = violations(event, "AuditEvent") if isinstance(event, dict) else ["/"]
            if problems:
                findings.discrepancies.append(
                    Discrepancy(
                        AUD_METADATA,
                        f"the regulator's view {dict(params)} holds a non-AuditEvent item: "
                        f"{problems[0]}",
                    )
                )
        events = [e for e in events if isinstance(e, dict) and "eventId" in e]
        if "actor" in params:
            actor = params["actor"]

            def scope(exp: Expectation) -> bool | None:
                return exp.attempt.actor == actor

        else:
            subject = params["subject"]

            def scope(exp: Expectation) -> bool | None:
                return _scope(exp, subject)

        self._compare(
            findings,
            f"the regulator's view of {dict(params)}",
            events,
            self.expectations(until=mark),
            scope,
            AUD_ONE_EVENT,
        )

    def _compare(  # noqa: PLR0917
        self,
        findings: Findings,
        view: str,
        events: Sequence[dict[str, Any]],
        expectations: Sequence[Expectation],
        scope: Callable[[Expectation], bool | None],
        completeness: str,
    ) -> None:
        by_digest: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for event in events:
            by_digest[str(event.get("requestDigest"))].append(event)
            if "eventId" in event:
                findings.events[event["eventId"]] = event
        report = findings.discrepancies.append
        for exp in expectations:
            found = by_digest.pop(exp.attempt.digest, [])
            wanted = scope(exp)
            if len(found) > 1:
                report(
                    Discrepancy(
                        AUD_ONE_EVENT,
                        f"{view}: {len(found)} events record one attempt ({exp.attempt})",
                    )
                )
            if not found:
                if wanted is True and not exp.tolerated:
                    report(Discrepancy(completeness, f"{view}: no event records {exp.attempt}"))
                    if completeness != AUD_ONE_EVENT:
                        report(Discrepancy(AUD_ONE_EVENT, f"no event records {exp.attempt}"))
                    if exp.attempt.path == "/alerts":
                        report(Discrepancy(AUD_ALERTS, f"{view}: {exp.attempt} left no event"))
                continue
            if wanted is False:
                report(
                    Discrepancy(
                        completeness,
                        f"{view} lists event {found[0].get('eventId')} of {exp.attempt}, "
                        f"which is not about this subject",
                    )
                )
            self._fields(findings, exp, found[0])
        for rest in by_digest.values():
            for event in rest:
                report(
                    Discrepancy(
                        completeness,
                        f"{view} lists event {event.get('eventId')} ({event.get('action')} by "
                        f"{event.get('actor')}) whose requestDigest is no request the suite "
                        "sent" + (" [BMDX-API-071]" if completeness == AUD_ONE_EVENT else ""),
                    )
                )
                if completeness != AUD_ONE_EVENT:
                    report(
                        Discrepancy(
                            AUD_ONE_EVENT,
                            f"event {event.get('eventId')} records no attempt the suite made",
                        )
                    )

    def _fields(self, findings: Findings, exp: Expectation, event: dict[str, Any]) -> None:
        previous = findings.matched.get(exp.attempt.index)
        findings.matched[exp.attempt.index] = event
        if previous is not None and previous.get("eventId") == event.get("eventId"):
            if previous == event:
                return  # already checked through another view
            findings.discrepancies.append(
                Discrepancy(
                    AUD_ONE_EVENT,
                    f"event {event.get('eventId')} reads differently in two views",
                )
            )
        problems = violations(event, "AuditEvent")
        if problems:
            findings.discrepancies.append(
                Discrepancy(DM_EVENT, f"event {event.get('eventId')}: {problems[0]}")
            )
        if exp.tolerated:
            return
        for name in _MEMBERS:
            value = _member(event, name)
            if not exp.allows(name, value):
                wanted = sorted(map(repr, exp.fields[name]))
                findings.discrepancies.append(
                    Discrepancy(
                        _field_requirement(exp, name, event),
                        f"event {event.get('eventId')} of {exp.attempt}: {name} is {value!r}, "
                        f"expected {' or '.join(wanted)}",
                    )
                )
        action, outcome = event.get("action"), event.get("outcome")
        if (action == "denial") != (outcome == "denied"):
            findings.discrepancies.append(
                Discrepancy(
                    AUD_DENIAL,
                    f"event {event.get('eventId')} combines action {action} with outcome {outcome}",
                )
            )


def _scope(exp: Expectation, subject: str) -> bool | None:
    subjects = exp.subjects
    if subjects == frozenset({subject}):
        return True
    if subject in subjects or ANY in subjects:
        return None
    return False
