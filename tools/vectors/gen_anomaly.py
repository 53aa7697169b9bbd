"""Generate spec/vectors/anomaly/: anomaly rules over audit trails, with the alerts due.

Every case is written by hand below as a story: the rules in force (the defaults of
``spec/anomaly/rules.yaml`` with per-case overrides), the audit events (label, time,
actor, action, subject, ...), the evaluation instant, and the *intended* outcome: which
rule fires for which actor on which events, or which error refuses the input.  The
generator only dresses that outcome as AnomalyAlert documents (window, threshold,
severity, and the content-derived alertId of audit.md section 6.5, computed here with
``rfc8785`` and ``uuid``); it never runs a detector.  The project's tests run the
reference detector over every case and compare.

One file per case, ``<name>.json`` (``<name>_fail.json`` when the input is refused):
``{description, requirements, rules, events, now, expected}`` where ``expected`` is
``{"alerts": [...]}`` or ``{"error": {"requirement", "reason"}}``.

Run ``python tools/vectors/gen_anomaly.py [OUTDIR]``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import rfc8785
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "spec" / "vectors" / "anomaly"
RULES_FILE = ROOT / "spec" / "anomaly" / "rules.yaml"

# audit.md section 6.5: uuid5(NAMESPACE_URL, "https://bmdx.org/spec/1/anomaly-alert").
ALERT_NAMESPACE = uuid.UUID("c880a573-e30b-52ea-8983-6e7417c32b58")
_EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://bmdx.org/spec/1/vectors/anomaly")

ACTORS = {
    "A": ("urn:bmdx:participant:riverside-hospital", "hospital"),
    "B": ("urn:bmdx:participant:lakeside-laboratory", "laboratory"),
    "C": ("urn:bmdx:participant:acme-health-insurance", "insurer"),
}
PURPOSE_OF = {"hospital": "treatment", "laboratory": "treatment", "insurer": "payment"}

DAY = "2024-07-10"
NOW = f"{DAY}T14:00:00Z"


def _digest(label: str) -> str:
    return "sha-256:" + hashlib.sha256(f"bmdx-vector/anomaly/{label}".encode()).hexdigest()


def subject(label: str) -> str:
    raw = hashlib.sha256(f"bmdx-vector/anomaly/subject/{label}".encode()).digest()
    return "pseud:" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass
class Ev:
    """One hand-written audit event of a case."""

    label: str
    at: str
    actor: str = "A"
    action: str = "read"
    subject: str | None = "p1"
    outcome: str | None = None
    purpose: str | None = "default"


@dataclass
class Case:
    name: str
    description: str
    requirements: list[str]
    events: list[Ev]
    expect: list[tuple[str, str, list[str]]] = field(default_factory=list)
    rules: list[str] | None = None
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    now: str = NOW
    error: tuple[str, str] | None = None
    extra_rules: list[dict[str, Any]] = field(default_factory=list)
    duplicate: str | None = None


def t(hhmmss: str, day: str = DAY) -> str:
    return f"{day}T{hhmmss}Z"


def _event(case: Case, ev: Ev) -> dict[str, Any]:
    actor, role = ACTORS[ev.actor]
    outcome = ev.outcome or ("denied" if ev.action == "denial" else "success")
    purpose = PURPOSE_OF[role] if ev.purpose == "default" else ev.purpose
    if ev.action == "break-glass" and ev.purpose == "default":
        purpose = "emergency"
    out: dict[str, Any] = {
        "objectType": "AuditEvent",
        "eventId": f"urn:uuid:{uuid.uuid5(_EVENT_NAMESPACE, f'{case.name}/{ev.label}')}",
        "recorded": ev.at,
        "actor": actor,
        "actorRole": role,
        "action": ev.action,
    }
    if ev.subject is not None:
        out["subject"] = subject(ev.subject)
    if purpose is not None:
        out["purpose"] = purpose
    out["outcome"] = outcome
    out["policyHash"] = _digest(f"policy/{ev.subject}")
    out["requestDigest"] = _digest(f"{case.name}/request/{ev.label}")
    return out


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _text(moment: datetime) -> str:
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


def default_rules() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return {r["id"]: r for r in data["rules"]}


def _rules(case: Case) -> list[dict[str, Any]]:
    defaults = default_rules()
    out = []
    for rid in case.rules if case.rules is not None else list(defaults):
        rule = copy.deepcopy(defaults[rid])
        rule.update(case.overrides.get(rid, {}))
        out.append(rule)
    return out + case.extra_rules


def _alert(rule: dict[str, Any], actor: str, ids: list[str], now: str) -> dict[str, Any]:
    end = _instant(now)
    body = {
        "objectType": "AnomalyAlert",
        "rule": rule["id"],
        "actor": actor,
        "window": {"start": _text(end - timedelta(seconds=rule["window"])), "end": _text(end)},
        "observed": len(ids),
        "threshold": rule["threshold"],
        "events": ids,
        "raised": _text(end),
        "severity": rule["severity"],
    }
    name = rfc8785.dumps(body).decode("utf-8")
    alert_id = f"urn:uuid:{uuid.uuid5(ALERT_NAMESPACE, name)}"
    return {"objectType": "AnomalyAlert", "alertId": alert_id} | {
        k: v for k, v in body.items() if k != "objectType"
    }


def render(case: Case) -> dict[str, Any]:
    events = [_event(case, ev) for ev in case.events]
    if case.duplicate is not None:
        events.append(
            copy.deepcopy(
                next(
                    e
                    for e, ev in zip(events, case.events, strict=True)
                    if ev.label == case.duplicate
                )
            )
        )
    rules = _rules(case)
    by_label = {ev.label: e for ev, e in zip(case.events, events, strict=False)}
    expected: dict[str, Any]
    if case.error is not None:
        expected = {"error": {"requirement": case.error[0], "reason": case.error[1]}}
    else:
        by_id = {r["id"]: r for r in rules}
        alerts = []
        for rid, actor_key, labels in case.expect:
            chosen = sorted(
                (by_label[label] for label in labels),
                key=lambda e: (_instant(e["recorded"]), e["eventId"]),
            )
            ids = [e["eventId"] for e in chosen]
            alerts.append(_alert(by_id[rid], ACTORS[actor_key][0], ids, case.now))
        alerts.sort(key=lambda a: (a["rule"], a["actor"]))
        expected = {"alerts": alerts}
    return {
        "description": case.description,
        "requirements": case.requirements,
        "rules": rules,
        "events": events,
        "now": case.now,
        "expected": expected,
    }


def _tie_first(case_name: str, labels: list[str]) -> str:
    # The tie-break of audit.md section 6.1: equal times are ordered by eventId.
    return min(labels, key=lambda lb: str(uuid.uuid5(_EVENT_NAMESPACE, f"{case_name}/{lb}")))


VOL = {"volume-per-actor": {"threshold": 3}}
R_TRAIL = ["BMDX-AUD-030", "BMDX-AUD-031", "BMDX-AUD-033", "BMDX-AUD-037", "BMDX-AUD-038"]


def cases() -> list[Case]:
    three = [Ev(f"r{i}", t(f"13:{10 * i:02d}:00")) for i in (1, 2, 3)]
    out = [
        Case(
            "volume-at-threshold",
            "Three successful reads in the hour against a threshold of 3: the count must "
            "exceed the threshold, so nothing fires.",
            ["BMDX-AUD-033", "BMDX-AUD-034"],
            three,
            rules=["volume-per-actor"],
            overrides=VOL,
        ),
        Case(
            "volume-over-threshold",
            "Four successful reads in the hour against a threshold of 3 raise one alert "
            "listing all four.",
            [*R_TRAIL, "BMDX-AUD-034"],
            [*three, Ev("r4", t("13:55:00"))],
            [("volume-per-actor", "A", ["r1", "r2", "r3", "r4"])],
            rules=["volume-per-actor"],
            overrides=VOL,
        ),
        Case(
            "volume-window-start-inclusive",
            "An event recorded exactly at now minus the window is inside the closed window.",
            ["BMDX-AUD-031", "BMDX-AUD-034"],
            [*three, Ev("edge", t("13:00:00"))],
            [("volume-per-actor", "A", ["edge", "r1", "r2", "r3"])],
            rules=["volume-per-actor"],
            overrides=VOL,
        ),
        Case(
            "volume-before-window",
            "An event one microsecond before the window start is not counted.",
            ["BMDX-AUD-031", "BMDX-AUD-034"],
            [*three, Ev("early", t("12:59:59.999999"))],
            rules=["volume-per-actor"],
            overrides=VOL,
        ),
        Case(
            "volume-at-now-inclusive",
            "An event recorded exactly at now is counted; now written with a zero fraction "
            "is written without it in the alert.",
            ["BMDX-AUD-031", "BMDX-AUD-037"],
            [*three, Ev("now", t("14:00:00"))],
            [("volume-per-actor", "A", ["r1", "r2", "r3", "now"])],
            rules=["volume-per-actor"],
            overrides=VOL,
            now=t("14:00:00.000"),
        ),
        Case(
            "volume-after-now-ignored",
            "An event recorded after now is not part of the trail at now.",
            ["BMDX-AUD-031"],
            [*three, Ev("late", t("14:00:00.000001"))],
            rules=["volume-per-actor"],
            overrides=VOL,
        ),
        Case(
            "volume-fractional-now",
            "now has a fraction: the window starts at the same fraction one hour earlier, "
            "and an event exactly there counts.",
            ["BMDX-AUD-031", "BMDX-AUD-037"],
            [*three, Ev("edge", t("13:00:00.25"))],
            [("volume-per-actor", "A", ["edge", "r1", "r2", "r3"])],
            rules=["volume-per-actor"],
            overrides=VOL,
            now=t("14:00:00.250"),
        ),
        Case(
            "volume-mixed-actors",
            "Counts are per actor: four reads by one actor fire, three by another do not.",
            ["BMDX-AUD-033", "BMDX-AUD-034"],
            [
                *three,
                Ev("r4", t("13:40:00")),
                *[Ev(f"b{i}", t(f"13:{10 * i + 5:02d}:00"), actor="B") for i in (1, 2, 3)],
            ],
            [("volume-per-actor", "A", ["r1", "r2", "r3", "r4"])],
            rules=["volume-per-actor"],
            overrides=VOL,
        ),
        Case(
            "volume-outcomes-filtered",
            "Only outcomes the rule matches count: three successes, two denials and one "
            "failed read stay at the threshold.",
            ["BMDX-AUD-032", "BMDX-AUD-034"],
            [
                *three,
                Ev("d1", t("13:41:00"), action="denial"),
                Ev("d2", t("13:42:00"), action="denial"),
                Ev("e1", t("13:43:00"), outcome="error"),
            ],
            rules=["volume-per-actor"],
            overrides=VOL,
        ),
        Case(
            "volume-actions-filtered",
            "Read, query, share and key release count; publish and consent-change do not.",
            ["BMDX-AUD-032", "BMDX-AUD-034"],
            [
                Ev("read", t("13:10:00")),
                Ev("query", t("13:11:00"), action="query", subject=None),
                Ev("share", t("13:12:00"), action="share"),
                Ev("key", t("13:13:00"), action="key-release"),
                Ev("pub", t("13:14:00"), action="publish"),
                Ev("consent", t("13:15:00"), action="consent-change"),
            ],
            [("volume-per-actor", "A", ["read", "query", "share", "key"])],
            rules=["volume-per-actor"],
            overrides=VOL,
        ),
        Case(
            "denials-at-threshold",
            "Five refused attempts in the hour against the default threshold of 5: quiet.",
            ["BMDX-AUD-033", "BMDX-AUD-034"],
            [Ev(f"d{i}", t(f"13:{10 * i:02d}:00"), actor="C", action="denial") for i in range(5)],
            rules=["repeated-denials"],
        ),
        Case(
            "denials-over-threshold",
            "Six refused attempts in the hour raise a medium alert over all six.",
            [*R_TRAIL, "BMDX-AUD-034"],
            [Ev(f"d{i}", t(f"13:{9 * i:02d}:00"), actor="C", action="denial") for i in range(6)],
            [("repeated-denials", "C", [f"d{i}" for i in range(6)])],
            rules=["repeated-denials"],
        ),
        Case(
            "denials-across-subjects",
            "Denials are counted per actor whatever the subject.",
            ["BMDX-AUD-034"],
            [
                Ev(
                    f"d{i}",
                    t(f"13:{9 * i:02d}:30"),
                    actor="C",
                    action="denial",
                    subject=f"p{i % 3}",
                )
                for i in range(6)
            ],
            [("repeated-denials", "C", [f"d{i}" for i in range(6)])],
            rules=["repeated-denials"],
        ),
        Case(
            "denials-split-actors",
            "Three denials each for two actors: no actor exceeds the threshold.",
            ["BMDX-AUD-033", "BMDX-AUD-034"],
            [Ev(f"c{i}", t(f"13:{10 * i:02d}:00"), actor="C", action="denial") for i in range(3)]
            + [
                Ev(f"b{i}", t(f"13:{10 * i + 1:02d}:00"), actor="B", action="denial")
                for i in range(3)
            ],
            rules=["repeated-denials"],
        ),
        Case(
            "break-glass-single",
            "One break-glass access raises a high-severity alert (threshold 0).",
            [*R_TRAIL, "BMDX-AUD-034"],
            [Ev("bg", t("13:41:17.902"), action="break-glass")],
            [("break-glass-use", "A", ["bg"])],
            rules=["break-glass-use"],
        ),
        Case(
            "break-glass-before-window",
            "A break-glass access before the window raises nothing at now.",
            ["BMDX-AUD-031", "BMDX-AUD-034"],
            [Ev("bg", t("12:59:59"), action="break-glass")],
            rules=["break-glass-use"],
        ),
        Case(
            "break-glass-refused-is-a-denial",
            "An emergency request refused by policy is recorded as a denial, which "
            "break-glass-use does not count.",
            ["BMDX-AUD-032", "BMDX-AUD-034"],
            [Ev("refused", t("13:30:00"), action="denial", purpose="emergency")],
            rules=["break-glass-use"],
        ),
        Case(
            "break-glass-two-actors",
            "Two actors each break the glass: two alerts, ordered by actor.",
            ["BMDX-AUD-034", "BMDX-AUD-039"],
            [
                Ev("a", t("13:20:00"), action="break-glass"),
                Ev("b", t("13:10:00"), actor="B", action="break-glass"),
            ],
            [("break-glass-use", "A", ["a"]), ("break-glass-use", "B", ["b"])],
            rules=["break-glass-use"],
        ),
        Case(
            "off-hours-start-boundary",
            "Working hours start at 07:00 inclusive: 06:59:59.999999 is off hours, 07:00 is not.",
            [*R_TRAIL, "BMDX-AUD-035"],
            [Ev("before", t("06:59:59.999999")), Ev("at", t("07:00:00"))],
            [("off-hours", "A", ["before"])],
            rules=["off-hours"],
            now=t("07:30:00"),
        ),
        Case(
            "off-hours-end-boundary",
            "Working hours end at 19:00 exclusive: 18:59:59.999999 is within, 19:00 is off.",
            ["BMDX-AUD-035"],
            [Ev("within", t("18:59:59.999999")), Ev("at", t("19:00:00"))],
            [("off-hours", "A", ["at"])],
            rules=["off-hours"],
            now=t("19:30:00"),
        ),
        Case(
            "off-hours-daytime-quiet",
            "Accesses within working hours raise nothing.",
            ["BMDX-AUD-035"],
            three,
            rules=["off-hours"],
        ),
        Case(
            "off-hours-wrapping-range",
            "Working hours 22:00 to 06:00 wrap midnight: 21:59:59.999999 is off hours, 22:00 "
            "and 23:30 are within.",
            ["BMDX-AUD-035"],
            [Ev("off", t("21:59:59.999999")), Ev("in", t("22:00:00")), Ev("late", t("22:30:00"))],
            [("off-hours", "A", ["off"])],
            rules=["off-hours"],
            overrides={"off-hours": {"workingHours": {"start": "22:00", "end": "06:00"}}},
            now=t("22:45:00"),
        ),
        Case(
            "off-hours-break-glass-left-out",
            "A night-time break-glass access is not an off-hours event under the default "
            "match (break-glass-use reports it); a night-time denial is.",
            ["BMDX-AUD-032", "BMDX-AUD-035"],
            [
                Ev("bg", t("02:41:00"), action="break-glass"),
                Ev("refused", t("02:50:00"), actor="C", action="denial"),
            ],
            [("off-hours", "C", ["refused"])],
            rules=["off-hours"],
            now=t("03:00:00"),
        ),
        Case(
            "first-time-no-history",
            "An actor reads a subject it never accessed: first-time-actor fires.",
            [*R_TRAIL, "BMDX-AUD-036"],
            [Ev("r", t("13:30:00"))],
            [("first-time-actor", "A", ["r"])],
            rules=["first-time-actor"],
        ),
        Case(
            "first-time-with-history",
            "A successful read of the same subject 100 days earlier (within the 365-day "
            "lookback) means the actor is not new.",
            ["BMDX-AUD-036"],
            [Ev("old", t("10:00:00", "2024-04-01")), Ev("r", t("13:30:00"))],
            rules=["first-time-actor"],
        ),
        Case(
            "first-time-history-denied-only",
            "A prior refused attempt is no prior access: the later success is first-time.",
            ["BMDX-AUD-036"],
            [Ev("old", t("10:00:00", "2024-06-01"), action="denial"), Ev("r", t("13:30:00"))],
            [("first-time-actor", "A", ["r"])],
            rules=["first-time-actor"],
        ),
        Case(
            "first-time-lookback-inclusive",
            "A prior access exactly lookback seconds earlier still counts as history.",
            ["BMDX-AUD-036"],
            [Ev("old", t("13:30:00", "2024-07-09")), Ev("r", t("13:30:00"))],
            rules=["first-time-actor"],
            overrides={"first-time-actor": {"lookback": 86400}},
        ),
        Case(
            "first-time-lookback-expired",
            "A prior access one microsecond more than lookback seconds earlier is forgotten.",
            ["BMDX-AUD-036"],
            [Ev("old", t("13:29:59.999999", "2024-07-09")), Ev("r", t("13:30:00"))],
            [("first-time-actor", "A", ["r"])],
            rules=["first-time-actor"],
            overrides={"first-time-actor": {"lookback": 86400}},
        ),
        Case(
            "first-time-repeat-in-window",
            "Only an actor's first access to each subject counts: two reads of p1 and one of "
            "p2 in the window give two first-time events.",
            ["BMDX-AUD-036", "BMDX-AUD-037"],
            [
                Ev("p1-first", t("13:10:00")),
                Ev("p1-again", t("13:20:00")),
                Ev("p2-first", t("13:30:00"), subject="p2"),
            ],
            [("first-time-actor", "A", ["p1-first", "p2-first"])],
            rules=["first-time-actor"],
        ),
        Case(
            "first-time-other-actor-history",
            "History is per actor: another actor's earlier access does not make this one known.",
            ["BMDX-AUD-036"],
            [Ev("b-old", t("09:00:00", "2024-07-01"), actor="B"), Ev("r", t("13:30:00"))],
            [("first-time-actor", "A", ["r"])],
            rules=["first-time-actor"],
        ),
        Case(
            "first-time-no-subject",
            "An event without a subject (a query across subjects) is never first-time.",
            ["BMDX-AUD-036"],
            [Ev("q", t("13:30:00"), action="query", subject=None)],
            rules=["first-time-actor"],
        ),
        Case(
            "empty-trail",
            "No events, every default rule: no alerts.",
            ["BMDX-AUD-030"],
            [],
        ),
        Case(
            "rules-are-data",
            "Only the rules given apply: a break-glass access under the volume rule alone "
            "raises nothing.",
            ["BMDX-AUD-030"],
            [Ev("bg", t("13:30:00"), action="break-glass")],
            rules=["volume-per-actor"],
        ),
        Case(
            "night-scenario-default-rules",
            "The default rules over a night: a first break-glass access to a patient, an "
            "insurer refused six times, a laboratory reading a known patient.",
            [*R_TRAIL, "BMDX-AUD-034", "BMDX-AUD-035", "BMDX-AUD-036", "BMDX-AUD-039"],
            [
                Ev("bg", t("02:41:17.902"), action="break-glass"),
                *[
                    Ev(
                        f"d{i}",
                        t(f"02:{20 + 5 * i:02d}:45.14"),
                        actor="C",
                        action="denial",
                        subject="p2",
                    )
                    for i in range(6)
                ],
                Ev("b-old", t("10:00:00", "2024-06-10"), actor="B", subject="p3"),
                Ev("b-night", t("02:30:00"), actor="B", subject="p3"),
            ],
            [
                ("break-glass-use", "A", ["bg"]),
                ("first-time-actor", "A", ["bg"]),
                ("off-hours", "B", ["b-night"]),
                ("off-hours", "C", [f"d{i}" for i in range(6)]),
                ("repeated-denials", "C", [f"d{i}" for i in range(6)]),
            ],
            now=t("03:00:00"),
        ),
        Case(
            "duplicate-rule_fail",
            "The same rule id twice is refused.",
            ["BMDX-AUD-040"],
            three,
            rules=["volume-per-actor", "volume-per-actor"],
            error=("BMDX-AUD-040", "duplicate-rule"),
        ),
        Case(
            "negative-threshold_fail",
            "A rule outside rules.schema.json (a negative threshold) is refused.",
            ["BMDX-AUD-040"],
            three,
            rules=["volume-per-actor"],
            overrides={"volume-per-actor": {"threshold": -1}},
            error=("BMDX-AUD-040", "rule-invalid"),
        ),
        Case(
            "working-hours-on-wrong-rule_fail",
            "workingHours on a rule other than off-hours is refused.",
            ["BMDX-AUD-040"],
            three,
            rules=["volume-per-actor"],
            overrides={"volume-per-actor": {"workingHours": {"start": "07:00", "end": "19:00"}}},
            error=("BMDX-AUD-040", "rule-invalid"),
        ),
        Case(
            "working-hours-empty_fail",
            "Working hours whose start equals their end are refused.",
            ["BMDX-AUD-040"],
            three,
            rules=["off-hours"],
            overrides={"off-hours": {"workingHours": {"start": "07:00", "end": "07:00"}}},
            error=("BMDX-AUD-040", "working-hours-empty"),
        ),
        Case(
            "duplicate-event_fail",
            "A trail with one eventId twice is refused.",
            ["BMDX-AUD-041"],
            three,
            rules=["volume-per-actor"],
            duplicate="r2",
            error=("BMDX-AUD-041", "duplicate-event"),
        ),
    ]
    tie = ["x", "y"]
    first = _tie_first("first-time-same-instant", tie)
    out.append(
        Case(
            "first-time-same-instant",
            "Two reads of one subject at the same instant: the one whose eventId sorts "
            "first is the first-time access, the other has it as history.",
            ["BMDX-AUD-036"],
            [Ev(label, t("13:30:00")) for label in tie],
            [("first-time-actor", "A", [first])],
            rules=["first-time-actor"],
        )
    )
    return out


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def build() -> dict[str, bytes]:
    return {f"{case.name}.json": _dump(render(case)) for case in cases()}


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    for rel, data in build().items():
        (out / rel).write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
