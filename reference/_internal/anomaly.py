"""Anomaly rules over the audit trail: the algorithm of spec/conventions/audit.md section 6.

The rules are data (``spec/anomaly/rules.yaml``, shape ``rules.schema.json``): this
module holds only the five predicates the rule ids name and the one counting scheme they
share, so that a network tunes windows and thresholds without code, and a second
implementation can be checked against ``spec/vectors/anomaly/`` alert for alert.

:func:`detect` is a pure function of its arguments: it reads no clock (``now`` is given),
keeps no state, and its output does not depend on the order of the events.  Alert ids
are derived from the alert's content, so two nodes evaluating the same trail at the same
instant raise byte-identical alerts.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs

from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.errors import AuditError, SpecError
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.specdata import SCHEMA_BASE, load_yaml, schema_by_id, spec_dir

__all__ = [
    "ALERT_NAMESPACE",
    "RULE_IDS",
    "Rule",
    "detect",
    "format_instant",
    "load_rules",
    "parse_instant",
]

REQ_RULES = "BMDX-AUD-040"
REQ_EVENTS = "BMDX-AUD-041"
REQ_NOW = "BMDX-AUD-031"

RULE_IDS = (
    "volume-per-actor",
    "repeated-denials",
    "break-glass-use",
    "off-hours",
    "first-time-actor",
)
# uuid5(NAMESPACE_URL, "https://bmdx.org/spec/1/anomaly-alert"), written out so that the
# spec text and the code state the same constant (audit.md section 6.5).
ALERT_NAMESPACE = uuid.UUID("c880a573-e30b-52ea-8983-6e7417c32b58")

_RULES_SCHEMA_ID = "https://bmdx.org/spec/1/anomaly/rules.schema.json"
_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A window reaching before year 1 starts there: no earlier instant has a timestamp.
_FIRST_US = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // _US


# --- instants ------------------------------------------------------------------------


@functools.cache
def _timestamp_pattern(root: Path) -> re.Pattern[str]:
    common = schema_by_id(root)[SCHEMA_BASE + "common.json"]
    return re.compile(common["$defs"]["timestamp"]["pattern"])


def parse_instant(value: object, *, root: Path | None = None) -> int:
    """Microseconds since the Unix epoch of a BMDX timestamp (common.json#/$defs/timestamp).

    Integer microseconds make window arithmetic exact.  A leap second (``:60``) is the
    last microsecond of its minute, since Python's datetime has no 61st second.  An aware
    datetime is accepted too; anything else is refused (``now-invalid``).
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise AuditError(
                "a naive datetime names no instant; pass an aware one",
                requirement=REQ_NOW,
                reason="now-invalid",
            )
        return (value - _EPOCH) // _US
    if not isinstance(value, str) or not _timestamp_pattern(root or spec_dir()).fullmatch(value):
        raise AuditError(
            f"{value!r} is not an RFC 3339 UTC timestamp with a 'Z' suffix",
            requirement=REQ_NOW,
            reason="now-invalid",
        )
    text = value
    if len(text) >= 20 and text[17:19] == "60":
        text = text[:17] + "59.999999Z"
    return (datetime.fromisoformat(text) - _EPOCH) // _US


def format_instant(us: int) -> str:
    """The one textual form of an instant in alerts: trailing fraction zeros dropped."""
    moment = _EPOCH + max(us, _FIRST_US) * _US
    whole = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return f"{whole}.{fraction}Z" if fraction else f"{whole}Z"


# --- rules ---------------------------------------------------------------------------


@functools.cache
def _rule_validator(root: Path) -> Any:
    schema = schema_by_id(root).get(_RULES_SCHEMA_ID)
    if schema is None:
        path = root / "anomaly" / "rules.schema.json"
        try:
            schema = json.loads(path.read_bytes())
        except (OSError, ValueError) as e:
            raise SpecError(f"cannot read {path}: {e}", reason="spec-unreadable") from e
    rule_schema = {"$ref": f"{_RULES_SCHEMA_ID}#/$defs/rule"}
    registry = jsonschema_rs.Registry([(_RULES_SCHEMA_ID, schema)])
    return jsonschema_rs.validator_for(rule_schema, registry=registry, offline=True)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True, slots=True)
class Rule:
    """One anomaly rule, valid by construction (see :meth:`from_dict`)."""

    id: str
    severity: str
    window: int
    threshold: int
    actions: frozenset[str]
    outcomes: frozenset[str]
    purposes: frozenset[str] | None
    working_hours: tuple[int, int] | None
    lookback: int | None

    @classmethod
    def from_dict(cls, data: Any, *, root: Path | None = None, pointer: str = "") -> Rule:
        validator = _rule_validator(root or spec_dir())
        errors = list(validator.iter_errors(data))
        if errors:
            first = errors[0]
            at = pointer + "".join(f"/{p}" for p in first.instance_path)
            raise AuditError(
                f"anomaly rule is not valid against rules.schema.json: {first.message}",
                requirement=REQ_RULES,
                reason="rule-invalid",
                pointer=at,
                remedy="Write rules as spec/anomaly/rules.schema.json#/$defs/rule defines them.",
            )
        hours = None
        if "workingHours" in data:
            hours = (_minutes(data["workingHours"]["start"]), _minutes(data["workingHours"]["end"]))
            if hours[0] == hours[1]:
                raise AuditError(
                    "workingHours start and end are equal, so no instant is within them",
                    requirement=REQ_RULES,
                    reason="working-hours-empty",
                    pointer=f"{pointer}/workingHours",
                )
        match = data["match"]
        return cls(
            id=data["id"],
            severity=data["severity"],
            window=data["window"],
            threshold=data["threshold"],
            actions=frozenset(match["actions"]),
            outcomes=frozenset(match["outcomes"]),
            purposes=frozenset(match["purposes"]) if "purposes" in match else None,
            working_hours=hours,
            lookback=data.get("lookback"),
        )


def load_rules(root: Path | None = None) -> list[dict[str, Any]]:
    """The network's default rules (spec/anomaly/rules.yaml), each checked, as plain data."""
    base = root or spec_dir()
    data = load_yaml(base / "anomaly" / "rules.yaml")
    if (
        not isinstance(data, dict)
        or data.get("version") != 1
        or not isinstance(data.get("rules"), list)
    ):
        raise SpecError("spec/anomaly/rules.yaml is not a version 1 rule file", reason="spec")
    try:
        _parse_rules(data["rules"], root=base)
    except AuditError as e:
        raise SpecError(f"spec/anomaly/rules.yaml: {e}", reason="spec") from e
    rules: list[dict[str, Any]] = data["rules"]
    return rules


def _parse_rules(rules: Sequence[Any], *, root: Path | None) -> list[Rule]:
    parsed: list[Rule] = []
    seen: set[str] = set()
    for i, data in enumerate(rules):
        rule = Rule.from_dict(data, root=root, pointer=f"/rules/{i}")
        if rule.id in seen:
            raise AuditError(
                f"rule {rule.id!r} is given twice",
                requirement=REQ_RULES,
                reason="duplicate-rule",
                pointer=f"/rules/{i}/id",
            )
        seen.add(rule.id)
        parsed.append(rule)
    return parsed


# --- the trail -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Event:
    at: int
    event_id: str
    actor: str
    action: str
    outcome: str
    subject: str | None
    purpose: str | None

    @property
    def key(self) -> tuple[int, str]:
        # The total order of the trail: time, then eventId (audit.md section 6.1).
        return (self.at, self.event_id)


def _trail(events: Iterable[Any], now: int, root: Path | None) -> list[_Event]:
    schemas = schema_set(root)
    seen: set[str] = set()
    out: list[_Event] = []
    for i, event in enumerate(events):
        schemas.validate(event, "AuditEvent")
        if event["eventId"] in seen:
            raise AuditError(
                f"eventId {event['eventId']} appears twice in the trail",
                requirement=REQ_EVENTS,
                reason="duplicate-event",
                pointer=f"/events/{i}/eventId",
            )
        seen.add(event["eventId"])
        at = parse_instant(event["recorded"], root=root)
        if at > now:
            continue  # not yet part of the trail at ``now``
        out.append(
            _Event(
                at=at,
                event_id=event["eventId"],
                actor=event["actor"],
                action=event["action"],
                outcome=event["outcome"],
                subject=event.get("subject"),
                purpose=event.get("purpose"),
            )
        )
    out.sort(key=lambda e: e.key)
    return out


def _matches(rule: Rule, event: _Event) -> bool:
    if event.action not in rule.actions or event.outcome not in rule.outcomes:
        return False
    return rule.purposes is None or event.purpose in rule.purposes


def _off_hours(rule: Rule, event: _Event) -> bool:
    assert rule.working_hours is not None
    start, end = rule.working_hours
    minute_of_day = (event.at // 60_000_000) % 1440
    within = (
        start <= minute_of_day < end
        if start < end
        else minute_of_day >= start or minute_of_day < end
    )
    return not within


def _first_time(rule: Rule, matching: Sequence[_Event]) -> set[str]:
    """eventIds of matching events with no earlier matching event, same actor and subject,
    recorded no more than ``lookback`` seconds before them."""
    assert rule.lookback is not None
    lookback = rule.lookback * 1_000_000
    latest: dict[tuple[str, str], int] = {}
    first: set[str] = set()
    for event in matching:  # in trail order, so ``latest`` holds the latest prior one
        if event.subject is None:
            continue
        pair = (event.actor, event.subject)
        prior = latest.get(pair)
        if prior is None or prior < event.at - lookback:
            first.add(event.event_id)
        latest[pair] = event.at
    return first


def _counted(rule: Rule, trail: Sequence[_Event], now: int) -> dict[str, list[_Event]]:
    start = now - rule.window * 1_000_000
    matching = [e for e in trail if _matches(rule, e)]
    first = _first_time(rule, matching) if rule.id == "first-time-actor" else None
    by_actor: dict[str, list[_Event]] = defaultdict(list)
    for event in matching:
        if event.at < start:
            continue
        if rule.id == "off-hours" and not _off_hours(rule, event):
            continue
        if first is not None and event.event_id not in first:
            continue
        by_actor[event.actor].append(event)
    return by_actor


def _alert(rule: Rule, actor: str, counted: Sequence[_Event], now: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "objectType": "AnomalyAlert",
        "rule": rule.id,
        "actor": actor,
        "window": {
            "start": format_instant(now - rule.window * 1_000_000),
            "end": format_instant(now),
        },
        "observed": len(counted),
        "threshold": rule.threshold,
        "events": [e.event_id for e in counted],
        "raised": format_instant(now),
        "severity": rule.severity,
    }
    name = canonical_bytes(body).decode("utf-8")
    alert = {
        "objectType": "AnomalyAlert",
        "alertId": f"urn:uuid:{uuid.uuid5(ALERT_NAMESPACE, name)}",
    }
    alert.update((k, v) for k, v in body.items() if k != "objectType")
    return alert


def detect(
    events: Iterable[Mapping[str, Any]],
    rules: Sequence[Mapping[str, Any]],
    *,
    now: str | datetime,
    root: Path | None = None,
) -> list[dict[str, Any]]:
    """The AnomalyAlerts the ``rules`` raise over the audit ``events`` at ``now``.

    At most one alert per (rule, actor), ordered by rule id then actor.  Raises
    :class:`AuditError` for invalid rules or a reused eventId, and
    :class:`SchemaValidationError` for an event that is not a valid AuditEvent.
    """
    at = parse_instant(now, root=root)
    parsed = _parse_rules(rules, root=root)
    trail = _trail(events, at, root)
    alerts: list[dict[str, Any]] = []
    for rule in parsed:
        for actor, counted in _counted(rule, trail, at).items():
            if len(counted) > rule.threshold:
                alerts.append(_alert(rule, actor, counted, at))
    alerts.sort(key=lambda a: (a["rule"], a["actor"]))
    schemas = schema_set(root)
    for alert in alerts:
        schemas.validate(alert, "AnomalyAlert")
    return alerts
