"""Authorised record reads over HTTP on loopback: requests per second, p50 and p99.

A ``bmdx node serve --dev`` subprocess (uvicorn, SQLite, the background committer on)
serves records published by its development hospital under the development patient's
consent.  This process is the load generator: it signs every request beforehand (RFC
9421, fresh nonce each, not timed) and then sends them over real loopback TCP with a
bounded number in flight, ``--concurrency``.  Each timed request goes all the way:
signature verification and replay check, consent decision, key release (the content
key re-wrapped for the requester's encryption key), audit append (an ``audit.append``
transaction signed by the node and validated into the pool) and the response.  Every
answer must be 200 and decrypt-ready (one recipient, the requester's key); any other
answer fails the run.

The run is bounded in count (``--requests``) and time (``--seconds``).  Goal: at least
2,000 authorised reads/s with p99 under 20 ms on a 2-core machine.  Results go to stdout
and ``benchmarks/results/node_reads.json``.

Run ``python benchmarks/bench_node_reads.py [--requests 4000] [--concurrency 16]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bmdx.reference._internal import jwe
from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.keys import PrivateKey, import_private_jwk
from bmdx.reference._internal.node.client import RequestSigner, SignedClient
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.signing import sign_document

RESULTS = Path(__file__).parent / "results" / "node_reads.json"
GOAL_RPS = 2000
GOAL_P99_MS = 20.0


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _start_node(workdir: Path, commit_interval_ms: int) -> tuple[subprocess.Popen[str], str, Any]:
    creds = workdir / "credentials.json"
    command = [
        shutil.which("bmdx") or sys.executable,
        *([] if shutil.which("bmdx") else ["-m", "bmdx.reference"]),
        "node",
        "serve",
        "--dev",
        "--db",
        f"sqlite:///{workdir / 'bench.db'}",
        "--port",
        "0",
        "--credentials-out",
        str(creds),
        "--commit-interval-ms",
        str(commit_interval_ms),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"the node did not start: {line!r}")
    url = line.strip().rsplit(" ", 1)[-1]
    return proc, url, json.loads(creds.read_text())


def _key(entry: dict[str, Any]) -> PrivateKey:
    return import_private_jwk(entry["jwk"])


def _envelope(
    author: str, key: PrivateKey, recipients: list[dict[str, Any]], subject: str, n: int
) -> dict[str, Any]:
    plaintext = json.dumps(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]},
            "valueQuantity": {
                "value": 90 + n,
                "unit": "mg/dL",
                "system": "http://unitsofmeasure.org",
                "code": "mg/dL",
            },
        }
    ).encode()
    salt = os.urandom(32)
    token = jwe.encrypt(plaintext, recipients)
    stored = canonical_bytes(token)
    header = {
        "objectType": "RecordHeader",
        "recordId": f"urn:uuid:{uuid.uuid4()}",
        "recordType": "lab-result",
        "subject": subject,
        "author": author,
        "created": _now(),
        "contentType": "application/fhir+json",
        "contentVersion": "4.0.1",
        "sensitivity": "N",
        "commitment": "sha-256:"
        + hashlib.sha256(salt + hashlib.sha256(plaintext).digest()).hexdigest(),
        "payload": {
            "objectType": "PayloadDescriptor",
            "location": "sha-256:" + hashlib.sha256(stored).hexdigest(),
            "size": len(stored),
            "mediaType": "application/jose+json",
            "encryption": {"enc": "A256GCM", "keyAgreement": "ECDH-ES+A256KW"},
            "recipients": len(token["recipients"]),
        },
    }
    signed = sign_document(header, key, typ=security_profile().signatures.typ)
    return {
        "objectType": "RecordEnvelope",
        "header": signed,
        "payload": token,
        "salt": base64.urlsafe_b64encode(salt).decode().rstrip("="),
    }


def _setup(url: str, creds: dict[str, Any], records: int) -> tuple[list[str], dict[str, Any]]:
    members = {p["id"].rsplit(":", 1)[-1]: p for p in creds["participants"]}
    hospital, patient, lab = (
        members["dev-hospital"],
        members["dev-patient"],
        members["dev-laboratory"],
    )
    with SignedClient(url, hospital["id"], _key(hospital)) as client:
        capability = client.get("/.well-known/bmdx").json()
        node_key = next(k for k in capability["nodeKeys"] if k["use"] == "enc")
        own = client.get(f"/participants/{hospital['id']}").json()
        own_key = next(k for k in own["keys"] if k["use"] == "enc")
        reader = client.get(f"/participants/{lab['id']}").json()
        reader_kid = next(k for k in reader["keys"] if k["use"] == "enc")["kid"]
        subject = (
            "pseud:" + base64.urlsafe_b64encode(hashlib.sha256(b"bench").digest()).decode()[:43]
        )
        ids = []
        for n in range(records):
            envelope = _envelope(hospital["id"], _key(hospital), [own_key, node_key], subject, n)
            response = client.post("/records", json=envelope)
            if response.status_code != 201:
                raise SystemExit(f"publish failed: {response.status_code} {response.text}")
            ids.append(envelope["header"]["recordId"])
    patient_key = _key(patient)
    with SignedClient(url, patient["id"], patient_key) as client:
        sequence = client.get(f"/participants/{patient['id']}/sequence").json()["next"]
        consent = {
            "objectType": "Consent",
            "consentId": f"urn:uuid:{uuid.uuid4()}",
            "version": 1,
            "subject": subject,
            "grantor": patient["id"],
            "status": "active",
            "issued": _now(),
            "provision": {
                "type": "deny",
                "provisions": [
                    {
                        "type": "permit",
                        "actors": [{"role": "laboratory"}],
                        "purposes": ["treatment"],
                    }
                ],
            },
            "separateConsent": False,
            "crossBorder": {"permitted": False},
        }
        typ = security_profile().signatures.typ
        tx = {
            "objectType": "Transaction",
            "type": "consent.grant",
            "sender": patient["id"],
            "sequence": sequence,
            "timestamp": _now(),
            "inputs": [],
            "outputs": [sign_document(consent, patient_key, typ=typ)],
        }
        response = client.post("/consents", json=sign_document(tx, patient_key, typ=typ))
        if response.status_code != 202:
            raise SystemExit(f"consent failed: {response.status_code} {response.text}")
    return ids, {"reader": lab, "reader_kid": reader_kid}


async def _load(
    url: str,
    reader: dict[str, Any],
    reader_kid: str,
    ids: list[str],
    count: int,
    concurrency: int,
    seconds: float,
) -> dict[str, Any]:
    signer = RequestSigner(reader["id"], _key(reader))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        prepared = [
            signer.sign(
                client.build_request(
                    "GET", f"/records/{ids[i % len(ids)]}", params={"purpose": "treatment"}
                )
            )
            for i in range(count)
        ]
        latencies: list[float] = []
        failures: list[str] = []
        queue: asyncio.Queue[httpx.Request] = asyncio.Queue()
        for request in prepared:
            queue.put_nowait(request)
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while not queue.empty() and time.perf_counter() < deadline:
                request = queue.get_nowait()
                started = time.perf_counter()
                response = await client.send(request)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    continue
                recipients = response.json()["payload"]["recipients"]
                if [r["header"]["kid"] for r in recipients] != [reader_kid]:
                    failures.append("the key was not released to the requester alone")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} reads failed; first: {failures[0]}")
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(pct(0.50), 2),
        "p99_ms": round(pct(0.99), 2),
        "max_ms": round(latencies[-1] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--commit-interval-ms", type=int, default=200)
    parser.add_argument("--check", action="store_true", help="Exit 1 when the goal is missed.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, creds = _start_node(Path(tmp), args.commit_interval_ms)
        try:
            ids, reader = _setup(url, creds, args.records)
            asyncio.run(_load(url, reader["reader"], reader["reader_kid"], ids, args.warmup, 4, 30))
            result = asyncio.run(
                _load(
                    url,
                    reader["reader"],
                    reader["reader_kid"],
                    ids,
                    args.requests,
                    args.concurrency,
                    args.seconds,
                )
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    report = {
        "benchmark": "node_reads",
        "description": "authorised GET /records/{id} over loopback HTTP: signature, consent "
        "decision, key release, audit append",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "concurrency": args.concurrency,
        "commit_interval_ms": args.commit_interval_ms,
        **result,
        "goal": {"requests_per_second": GOAL_RPS, "p99_ms": GOAL_P99_MS},
        "goal_met": result["requests_per_second"] >= GOAL_RPS and result["p99_ms"] < GOAL_P99_MS,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    if args.check and not report["goal_met"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
