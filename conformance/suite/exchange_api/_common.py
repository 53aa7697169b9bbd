"""What the exchange-api tests share: problem-document checks and a valid probe write."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from bmdx.conformance._internal.http_client import (
    NodeClient,
    consent_document,
    pseudonym,
)
from bmdx.conformance._internal.verifiers.objects import violations

PERMIT_TREATMENT = {"type": "permit", "actors": [{"role": "hospital"}], "purposes": ["treatment"]}
REQUIREMENT_ID = re.compile(r"^BMDX-[A-Z]+-\d{3}$")
LEAKS = ("Traceback", "site-packages", 'File "', "sqlite3.", "psycopg", "SELECT ", "INSERT ")


def problem(client: NodeClient, response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of an error ``response`` with ``status`` (BMDX-API-003)."""
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.text[:400]}"
    )
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("application/problem+json"), (
        f"a {status} answered {content_type!r}, not application/problem+json [BMDX-API-003]"
    )
    document: dict[str, Any] = client.json(response)
    found = violations(document, "ErrorResponse")
    assert found == [], f"the problem document is not an ErrorResponse: {found} [BMDX-API-003]"
    assert document["status"] == status, "the problem's status differs from the response's"
    assert REQUIREMENT_ID.match(str(document["requirement"])), "no requirement id"
    no_leak(response)
    return document


def no_leak(response: httpx.Response) -> None:
    """Neither a 500 nor implementation internals (BMDX-API-004)."""
    assert response.status_code != 500, f"the node answered 500: {response.text[:400]}"
    for marker in LEAKS:
        assert marker not in response.text, f"the answer reveals internals ({marker!r})"


def patient(participants: tuple[NodeClient, ...]) -> NodeClient:
    return by_role(participants, "patient")


def by_role(participants: tuple[NodeClient, ...], role: str) -> NodeClient:
    found = next((c for c in participants if c.participant.role == role), None)
    if found is None:
        pytest.skip(f"the target configuration names no {role} participant")
    return found


def grant(writer: NodeClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """A valid consent.grant transaction of ``writer`` and its Consent (not sent)."""
    consent = consent_document(writer, pseudonym(), PERMIT_TREATMENT)
    return writer.signed_transaction("consent.grant", [consent]), consent
