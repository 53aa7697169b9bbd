"""Malformed inputs to consent evaluation are refused with typed errors, never decided."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from bmdx.reference._internal.consent import (
    IMPLIED_DATA_CLASS,
    SENSITIVE_DATA_CLASSES,
    decide,
    effective_data_classes,
)
from bmdx.reference._internal.errors import ConsentError
from bmdx.reference._internal.specdata import SCHEMA_BASE, schema_by_id, spec_dir
from tests import vectors

BASE: dict[str, Any] = json.loads(
    next(vectors.vector_dir("consent").glob("001-*.json")).read_bytes()
)


def _inputs() -> dict[str, Any]:
    return copy.deepcopy(
        {k: BASE[k] for k in ("consents", "request", "requester", "records", "now")}
    )


def _refused(inputs: dict[str, Any]) -> ConsentError:
    with pytest.raises(ConsentError) as caught:
        decide(
            inputs["consents"],
            inputs["request"],
            inputs["requester"],
            inputs["records"],
            now=inputs["now"],
        )
    return caught.value


def test_the_base_case_is_decided() -> None:
    inputs = _inputs()
    decision = decide(
        inputs["consents"],
        inputs["request"],
        inputs["requester"],
        inputs["records"],
        now=inputs["now"],
    )
    assert decision["decision"] == "permit"


@pytest.mark.requirement("BMDX-CON-003")
@pytest.mark.parametrize("now", ["2025-06-01T12:00:00+00:00", "2025-06-01", "", 1748779200])
def test_now_must_be_a_utc_timestamp(now: Any) -> None:
    inputs = _inputs()
    inputs["now"] = now
    error = _refused(inputs)
    assert (error.requirement, error.reason, error.pointer) == ("BMDX-CON-003", "timestamp", "/now")


@pytest.mark.requirement("BMDX-CON-002")
def test_a_schema_violation_names_its_requirement_and_place() -> None:
    inputs = _inputs()
    inputs["consents"][0]["subject"] = "Jane Doe"
    error = _refused(inputs)
    assert (error.requirement, error.reason, error.pointer) == (
        "BMDX-DM-101",
        "schema",
        "/consents/0/subject",
    )


@pytest.mark.requirement("BMDX-CON-015")
def test_an_unknown_purpose_does_not_hide_other_defects() -> None:
    inputs = _inputs()
    inputs["request"]["purpose"] = "marketing"
    del inputs["request"]["requestId"]
    error = _refused(inputs)
    assert (error.reason, error.pointer) == ("schema", "/request")


@pytest.mark.requirement("BMDX-CON-002")
def test_a_non_string_purpose_is_malformed() -> None:
    inputs = _inputs()
    inputs["request"]["purpose"] = 7
    error = _refused(inputs)
    assert (error.requirement, error.reason, error.pointer) == (
        "BMDX-DM-125",
        "schema",
        "/request/purpose",
    )


@pytest.mark.requirement("BMDX-CON-002")
def test_a_request_with_both_records_and_query_is_refused() -> None:
    inputs = _inputs()
    inputs["request"]["query"] = {"recordTypes": ["lab-result"]}
    error = _refused(inputs)
    assert (error.requirement, error.reason) == ("BMDX-DM-131", "request-scope")


@pytest.mark.requirement("BMDX-CON-002")
def test_an_inverted_query_range_is_refused() -> None:
    inputs = _inputs()
    del inputs["request"]["records"]
    inputs["request"]["query"] = {
        "recordTypes": ["lab-result"],
        "from": "2025-02-01T00:00:00Z",
        "to": "2025-01-01T00:00:00Z",
    }
    error = _refused(inputs)
    assert (error.requirement, error.reason, error.pointer) == (
        "BMDX-DM-191",
        "inverted-period",
        "/request/query",
    )


@pytest.mark.requirement("BMDX-CON-002")
def test_an_inverted_provision_period_is_refused() -> None:
    inputs = _inputs()
    care = inputs["consents"][0]["provision"]["provisions"][0]
    care["period"] = {"start": "2026-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}
    error = _refused(inputs)
    assert (error.requirement, error.reason, error.pointer) == (
        "BMDX-DM-191",
        "inverted-period",
        "/consents/0/provision/provisions/0/period",
    )


@pytest.mark.requirement("BMDX-CON-002")
def test_jurisdictions_without_permission_are_refused() -> None:
    inputs = _inputs()
    inputs["consents"][0]["crossBorder"] = {"permitted": False, "jurisdictions": ["FR"]}
    error = _refused(inputs)
    assert (error.requirement, error.reason) == ("BMDX-DM-124", "cross-border-jurisdictions")


@pytest.mark.requirement("BMDX-CON-002")
@pytest.mark.parametrize(
    ("field", "value", "reason", "pointer"),
    [
        ("records", [], "no-records", "/records"),
        ("records", "all", "no-records", "/records"),
        ("consents", {}, "schema", "/consents"),
        ("request", [], "schema", "/request"),
        ("requester", None, "schema", "/requester"),
    ],
)
def test_inputs_of_the_wrong_shape_are_refused(
    field: str, value: Any, reason: str, pointer: str
) -> None:
    inputs = _inputs()
    inputs[field] = value
    error = _refused(inputs)
    assert (error.reason, error.pointer) == (reason, pointer)


@pytest.mark.requirement("BMDX-CON-002")
def test_a_header_given_twice_is_refused() -> None:
    inputs = _inputs()
    inputs["records"] = inputs["records"] * 2
    error = _refused(inputs)
    assert (error.reason, error.pointer) == ("record-mismatch", "/records/1")


@pytest.mark.requirement("BMDX-CON-008")
def test_the_implied_class_covers_every_record_type() -> None:
    common = schema_by_id(spec_dir())[SCHEMA_BASE + "common.json"]["$defs"]
    assert set(IMPLIED_DATA_CLASS) == set(common["recordType"]["enum"])
    assert set(IMPLIED_DATA_CLASS.values()) <= set(common["dataClass"]["enum"])
    assert set(common["dataClass"]["enum"]) >= SENSITIVE_DATA_CLASSES
    header = copy.deepcopy(BASE["records"][0])
    del header["dataClasses"]
    header["recordType"] = "supply-chain-event"
    assert effective_data_classes(header) == ("medications",)
    header["dataClasses"] = ["genetics", "diagnoses"]
    assert effective_data_classes(header) == ("diagnoses", "genetics")


@pytest.mark.requirement("BMDX-CON-003")
@pytest.mark.parametrize(
    ("place", "pointer", "requirement", "reason"),
    [
        # Inside documents, the schema's date-time format refuses a day that does not
        # exist, naming the document's requirement; the evaluation time is checked here.
        (
            lambda i: i["consents"][0].update(issued="2025-02-30T00:00:00Z"),
            "/consents/0/issued",
            "BMDX-DM-120",
            "schema",
        ),
        (
            lambda i: i["records"][0].update(created="2025-04-31T08:00:00Z"),
            "/records/0/created",
            "BMDX-DM-100",
            "schema",
        ),
        (
            lambda i: i["consents"][0]["provision"]["provisions"][0]["period"].update(
                end="2027-02-29T00:00:00Z"
            ),
            "/consents/0/provision/provisions/0/period/end",
            "BMDX-DM-191",
            "schema",
        ),
        (lambda i: i.update(now="2025-06-31T12:00:00Z"), "/now", "BMDX-CON-003", "timestamp"),
    ],
)
def test_a_date_that_does_not_exist_is_refused(
    place: Any, pointer: str, requirement: str, reason: str
) -> None:
    inputs = _inputs()
    place(inputs)
    error = _refused(inputs)
    assert (error.requirement, error.reason, error.pointer) == (requirement, reason, pointer)
