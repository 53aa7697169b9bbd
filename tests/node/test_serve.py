"""``bmdx node serve``: a real process, a real socket, a graceful shutdown."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bmdx.reference._internal.keys import import_private_jwk
from bmdx.reference._internal.ledger.genesis import Founder
from bmdx.reference._internal.ledger.state import format_timestamp
from bmdx.reference._internal.node import SignedClient
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.storage import open_store


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, Path, subprocess.Popen[str]]]:
    db = tmp_path / "node.db"
    credentials = tmp_path / "target.json"
    with (tmp_path / "stderr.txt").open("wb") as errors:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bmdx.reference",
                "node",
                "serve",
                "--dev",
                "--db",
                f"sqlite:///{db}",
                "--port",
                "0",
                "--credentials-out",
                str(credentials),
                "--commit-interval-ms",
                "600000",
            ],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith("bmdx node listening on http://127.0.0.1:"), line
            yield line.rsplit(" ", 1)[1].strip(), db, credentials, process
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=30)


@pytest.mark.requirement("BMDX-API-001")
@pytest.mark.requirement("BMDX-API-031")
def test_dev_node_serves_and_commits_on_sigterm(
    served: tuple[str, Path, Path, subprocess.Popen[str]],
) -> None:
    url, db, credentials, process = served
    capability = httpx.get(f"{url}/.well-known/bmdx", timeout=30)
    assert capability.status_code == 200
    schema_set().validate(capability.json(), "CapabilityDocument")

    target = json.loads(credentials.read_text())
    schema = json.loads(
        (
            Path(__file__).resolve().parents[2] / "spec/conformance/target-config.schema.json"
        ).read_text()
    )
    import jsonschema  # noqa: PLC0415

    jsonschema.validate(target, schema)
    assert target["node"]["url"] == url
    hospital = next(p for p in target["participants"] if p["role"] == "hospital")
    key = import_private_jwk(hospital["jwk"])
    assert key.kid == hospital["kid"]
    member = Founder(id=hospital["id"], name="hospital", roles=["hospital"], signing=key)
    with SignedClient(url, hospital["id"], key) as client:
        assert client.get("/ledger/head").json()["height"] == 1
        sequence = client.get(f"/participants/{member.id}/sequence").json()["next"]
        now = format_timestamp(datetime.now(UTC))
        event = {
            "objectType": "AuditEvent",
            "eventId": f"urn:uuid:{uuid.uuid4()}",
            "recorded": now,
            "actor": member.id,
            "actorRole": "hospital",
            "action": "read",
            "outcome": "success",
            "policyHash": "sha-256:" + hashlib.sha256(b"policy").hexdigest(),
            "requestDigest": "sha-256:" + hashlib.sha256(b"request").hexdigest(),
        }
        tx = member.sign(
            {
                "objectType": "Transaction",
                "type": "audit.append",
                "sender": member.id,
                "sequence": sequence,
                "timestamp": now,
                "inputs": [],
                "outputs": [event],
            }
        )
        receipt = client.post("/ledger/transactions", json=tx)
        assert receipt.status_code == 202, receipt.text
        txid = receipt.json()["txid"]
        assert client.get(f"/ledger/transactions/{txid}").json()["status"] == "pending"
    assert httpx.get(f"{url}/ledger/head", timeout=30).status_code == 401
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    with open_store(f"sqlite:///{db}") as store:
        head = store.head()
        assert head is not None
        assert head.height == 2
        stored = store.transaction_by_id(txid)
        assert stored is not None
        assert stored.height == 2
