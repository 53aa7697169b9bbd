"""The anomaly detector: refusals, properties and the alert id derivation."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from bmdx.reference._internal.anomaly import (
    ALERT_NAMESPACE,
    Rule,
    detect,
    format_instant,
    load_rules,
    parse_instant,
)
from bmdx.reference._internal.errors import AuditError, SchemaValidationError
from tests.vectors import vector_dir

NIGHT = json.loads((vector_dir("anomaly") / "night-scenario-default-rules.json").read_bytes())
ACTORS = [
    "urn:bmdx:participant:riverside-hospital",
    "urn:bmdx:participant:lakeside-laboratory",
    "urn:bmdx:participant:acme-health-insurance",
]
ACTIONS = ["read", "query", "share", "key-release", "denial", "break-glass", "publish", "export"]
SUBJECTS = ["pseud:" + c * 43 for c in "ABC"]
BASE = datetime(2024, 7, 10, 12, 0, tzinfo=UTC)
NOW = "2024-07-10T14:00:00Z"


def _rules(**thresholds: int) -> list[dict[str, Any]]:
    rules = load_rules()
    for rule in rules:
        rule["threshold"] = thresholds.get(rule["id"], rule["threshold"])
    return rules


def _event(i: int, actor: int, action: int, subject: int, minute: int) -> dict[str, Any]:
    name = ACTIONS[action]
    return {
        "objectType": "AuditEvent",
        "eventId": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_OID, str(i))}",
        "recorded": format_instant(parse_instant(BASE + timedelta(minutes=minute))),
        "actor": ACTORS[actor],
        "actorRole": ["hospital", "laboratory", "insurer"][actor],
        "action": name,
        "subject": SUBJECTS[subject],
        "purpose": "emergency" if name == "break-glass" else "treatment",
        "outcome": "denied" if name == "denial" else "success",
        "policyHash": "sha-256:" + "0" * 64,
        "requestDigest": "sha-256:" + f"{i:064x}",
    }


events_strategy = st.lists(
    st.tuples(
        st.integers(0, 2), st.integers(0, len(ACTIONS) - 1), st.integers(0, 2), st.integers(0, 150)
    ),
    max_size=30,
).map(lambda rows: [_event(i, *row) for i, row in enumerate(rows)])


@pytest.mark.requirement("BMDX-AUD-030")
def test_default_rules_load_and_cover_every_rule_id() -> None:
    rules = load_rules()
    assert [r["id"] for r in rules] == [
        "volume-per-actor",
        "repeated-denials",
        "break-glass-use",
        "off-hours",
        "first-time-actor",
    ]
    for rule in rules:
        assert Rule.from_dict(rule).id == rule["id"]


@pytest.mark.requirement("BMDX-AUD-038")
def test_alert_id_is_uuid5_of_canonical_alert_without_id() -> None:
    assert (
        uuid.uuid5(uuid.NAMESPACE_URL, "https://bmdx.org/spec/1/anomaly-alert") == ALERT_NAMESPACE
    )
    alerts = detect(NIGHT["events"], NIGHT["rules"], now=NIGHT["now"])
    assert len(alerts) == 5
    for alert in alerts:
        body = {k: v for k, v in alert.items() if k != "alertId"}
        name = rfc8785.dumps(body).decode("utf-8")
        assert alert["alertId"] == f"urn:uuid:{uuid.uuid5(ALERT_NAMESPACE, name)}"


@pytest.mark.requirement("BMDX-AUD-031")
@pytest.mark.parametrize("now", ["2024-07-10 14:00:00Z", "2024-07-10T14:00:00+00:00", "", 5])
def test_now_must_be_a_bmdx_timestamp(now: Any) -> None:
    with pytest.raises(AuditError) as info:
        detect([], load_rules(), now=now)
    assert (info.value.requirement, info.value.reason) == ("BMDX-AUD-031", "now-invalid")


@pytest.mark.requirement("BMDX-AUD-031")
def test_now_as_aware_datetime_equals_text() -> None:
    at = datetime(2024, 7, 10, 3, 0, tzinfo=UTC)
    assert detect(NIGHT["events"], NIGHT["rules"], now=at) == NIGHT["expected"]["alerts"]
    with pytest.raises(AuditError) as info:
        detect([], [], now=at.replace(tzinfo=None))
    assert info.value.reason == "now-invalid"


def test_leap_second_is_last_microsecond_of_minute() -> None:
    assert parse_instant("2016-12-31T23:59:60Z") == parse_instant("2016-12-31T23:59:59.999999Z")
    assert format_instant(parse_instant("2024-07-10T14:00:00.500000Z")) == "2024-07-10T14:00:00.5Z"
    assert format_instant(parse_instant("0001-01-01T00:00:00Z") - 1) == "0001-01-01T00:00:00Z"


@pytest.mark.requirement("BMDX-AUD-040")
@pytest.mark.parametrize(
    ("change", "reason", "pointer"),
    [
        (lambda r: r.update(threshold=-1), "rule-invalid", "/rules/0/threshold"),
        (lambda r: r.update(unknown=1), "rule-invalid", "/rules/0"),
        (lambda r: r.update(id="volume"), "rule-invalid", "/rules/0/id"),
        (lambda r: r.update(lookback=60), "rule-invalid", "/rules/0"),
        (lambda r: r["match"].update(actions=[]), "rule-invalid", "/rules/0/match/actions"),
        (lambda r: r.pop("match"), "rule-invalid", "/rules/0"),
    ],
)
def test_invalid_rule_refused(change: Any, reason: str, pointer: str) -> None:
    rule = copy.deepcopy(load_rules()[0])
    change(rule)
    with pytest.raises(AuditError) as info:
        detect([], [rule], now=NOW)
    assert (info.value.requirement, info.value.reason) == ("BMDX-AUD-040", reason)
    assert info.value.pointer == pointer


@pytest.mark.requirement("BMDX-AUD-040")
def test_rules_must_be_objects() -> None:
    with pytest.raises(AuditError) as info:
        detect([], ["volume-per-actor"], now=NOW)  # type: ignore[list-item]
    assert info.value.reason == "rule-invalid"


def test_invalid_event_refused_as_schema_violation() -> None:
    event = copy.deepcopy(NIGHT["events"][0])
    event["outcome"] = "maybe"
    with pytest.raises(SchemaValidationError) as info:
        detect([event], load_rules(), now=NOW)
    assert info.value.requirement == "BMDX-DM-140"
    assert info.value.violations[0].pointer == "/outcome"


@pytest.mark.requirement("BMDX-AUD-039")
@settings(max_examples=60, deadline=None)
@given(events=events_strategy, seed=st.randoms(use_true_random=False))
def test_alerts_do_not_depend_on_event_order(events: list[dict[str, Any]], seed: Any) -> None:
    rules = _rules(**{"volume-per-actor": 2, "repeated-denials": 1})
    shuffled = list(events)
    seed.shuffle(shuffled)
    assert detect(shuffled, rules, now=NOW) == detect(events, rules, now=NOW)


@pytest.mark.requirement("BMDX-AUD-033")
@settings(max_examples=60, deadline=None)
@given(mine=events_strategy, others=events_strategy)
def test_other_actors_never_remove_an_actors_alerts(
    mine: list[dict[str, Any]], others: list[dict[str, Any]]
) -> None:
    rules = _rules(**{"volume-per-actor": 2, "repeated-denials": 1})
    actor = ACTORS[0]
    own = [e for e in mine if e["actor"] == actor]
    foreign = [
        e | {"eventId": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_DNS, e['eventId'])}"}
        for e in others
        if e["actor"] != actor
    ]
    alone = detect(own, rules, now=NOW)
    together = [a for a in detect(own + foreign, rules, now=NOW) if a["actor"] == actor]
    assert together == alone


@pytest.mark.requirement("BMDX-AUD-031")
@settings(max_examples=40, deadline=None)
@given(events=events_strategy)
def test_events_after_now_change_nothing(events: list[dict[str, Any]]) -> None:
    rules = load_rules()
    now = "2024-07-10T13:00:00Z"
    before = [e for e in events if parse_instant(e["recorded"]) <= parse_instant(now)]
    assert detect(events, rules, now=now) == detect(before, rules, now=now)


@pytest.mark.requirement("BMDX-AUD-037")
@settings(max_examples=40, deadline=None)
@given(events=events_strategy)
def test_every_alert_lists_its_actors_events_in_its_window(events: list[dict[str, Any]]) -> None:
    by_id = {e["eventId"]: e for e in events}
    for alert in detect(events, _rules(**{"volume-per-actor": 1}), now=NOW):
        assert alert["observed"] == len(alert["events"]) > alert["threshold"]
        start, end = (parse_instant(alert["window"][k]) for k in ("start", "end"))
        keys = []
        for event_id in alert["events"]:
            event = by_id[event_id]
            assert event["actor"] == alert["actor"]
            assert start <= parse_instant(event["recorded"]) <= end
            keys.append((parse_instant(event["recorded"]), event_id))
        assert keys == sorted(keys)
