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
2,000 authorised reads/s with p99 under 20 ms on a 2-core machine.

The load generator shares the machine's cores with the node, so the CPU time of both
processes over the timed run is recorded: the node's CPU milliseconds per read (and
the reads per CPU-second that makes, the node's throughput were it given a core of its
own), and the load generator's.  Then, in this process and without HTTP, the same reads
run one at a time on a node of their own with the CPU time of each step measured:
request verification, consent decision, key release, audit append, rendering; the
remainder is the index look-ups and bookkeeping around them.  The node runs the steps
of a read under one interpreter lock, so the node's CPU time per read bounds its rate.

Results go to stdout and ``benchmarks/results/node_reads.json``: ``--record-as before``
or ``after`` (the default) names the entry this run replaces; the other one is kept.

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

import httptools
import httpx

from bmdx.reference._internal import jwe
from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.httpsig import RequestVerifier
from bmdx.reference._internal.keys import PrivateKey, import_private_jwk
from bmdx.reference._internal.node import NodeConfig, create_app, dev_node, web
from bmdx.reference._internal.node import exchange as exchange_module
from bmdx.reference._internal.node.client import RequestSigner, SignedClient
from bmdx.reference._internal.node.exchange import Attempt, Exchange, exchange_for, request_digest
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.signing import sign_document

RESULTS = Path(__file__).parent / "results" / "node_reads.json"
GOAL_RPS = 2000
GOAL_P99_MS = 20.0


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


class _Answer:
    """httptools callbacks collecting one response."""

    def __init__(self) -> None:
        self.body: list[bytes] = []
        self.complete = False

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class _RawConnection:
    """One keep-alive HTTP/1.1 connection sending pre-serialised requests.

    The lean load generator: requests are bytes prepared before the clock starts, and
    responses are read by httptools' parser, so the generator takes little of the CPU
    the node shares with it.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> _RawConnection:
        parsed = httpx.URL(url)
        return cls(*await asyncio.open_connection(parsed.host, parsed.port))

    async def send(self, wire: bytes) -> tuple[int, bytes]:
        answer = _Answer()
        parser = httptools.HttpResponseParser(answer)
        self.writer.write(wire)
        while not answer.complete:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("the node closed the connection")
            parser.feed_data(data)
        return parser.get_status_code(), b"".join(answer.body)

    def close(self) -> None:
        self.writer.close()


def _wire(request: httpx.Request) -> bytes:
    head = [request.method.encode() + b" " + request.url.raw_path + b" HTTP/1.1"]
    head += [name + b": " + value for name, value in request.headers.raw]
    return b"\r\n".join(head) + b"\r\n\r\n"


async def _load(
    url: str,
    reader: dict[str, Any],
    reader_kid: str,
    ids: list[str],
    count: int,
    concurrency: int,
    seconds: float,
    *,
    node_pid: int = 0,
    client_kind: str = "raw",
) -> dict[str, Any]:
    signer = RequestSigner(reader["id"], _key(reader))
    with httpx.Client(base_url=url) as builder:
        prepared = [
            signer.sign(
                builder.build_request(
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
    wires = {id(r): _wire(r) for r in prepared}
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    def check(status: int, body: bytes) -> None:
        if status != 200:
            failures.append(f"{status} {body[:200]!r}")
            return
        recipients = json.loads(body)["payload"]["recipients"]
        if [r["header"]["kid"] for r in recipients] != [reader_kid]:
            failures.append("the key was not released to the requester alone")

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def worker() -> None:
            connection = await _RawConnection.open(url) if client_kind == "raw" else None
            try:
                while not queue.empty() and time.perf_counter() < deadline:
                    request = queue.get_nowait()
                    started = time.perf_counter()
                    if connection is not None:
                        status, body = await connection.send(wires[id(request)])
                    else:
                        response = await client.send(request)
                        status, body = response.status_code, response.content
                    latencies.append(time.perf_counter() - started)
                    check(status, body)
            finally:
                if connection is not None:
                    connection.close()

        started = time.perf_counter()
        own_cpu = time.process_time()
        node_cpu = _cpu_seconds(node_pid) if node_pid else 0.0
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        node_cpu = _cpu_seconds(node_pid) - node_cpu if node_pid else 0.0
        own_cpu = time.process_time() - own_cpu
    if failures:
        raise SystemExit(f"{len(failures)} reads failed; first: {failures[0]}")
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    count = len(latencies)
    return {
        "requests": count,
        "seconds": round(elapsed, 3),
        "requests_per_second": round(count / elapsed, 1),
        "p50_ms": round(pct(0.50), 2),
        "p99_ms": round(pct(0.99), 2),
        "max_ms": round(latencies[-1] * 1000, 2),
        "node_cpu": {
            "ms_per_read": round(node_cpu / count * 1000, 3),
            "cores_busy": round(node_cpu / elapsed, 2),
            "reads_per_cpu_second": round(count / node_cpu, 1) if node_cpu else None,
        },
        "load_generator_cpu": {
            "ms_per_read": round(own_cpu / count * 1000, 3),
            "cores_busy": round(own_cpu / elapsed, 2),
        },
    }


class _Steps:
    """CPU time spent in named steps, by wrapping the functions that do them."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, owner: Any, attribute: str, step: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[step] = self.spent.get(step, 0.0) + time.process_time() - started

        setattr(owner, attribute, timed)


def _breakdown(db: Path, creds: dict[str, Any], ids: list[str], count: int) -> dict[str, Any]:
    """Per-read CPU time of each step, in-process, one read at a time, no HTTP."""
    members = {p["id"].rsplit(":", 1)[-1]: p for p in creds["participants"]}
    reader = members["dev-laboratory"]
    dev = dev_node(f"sqlite:///{db}", config=NodeConfig(dev=True, commit_interval_ms=0))
    service = dev.service
    verifier = create_app(service).state.verifier
    exchange = exchange_for(service)
    signer = RequestSigner(reader["id"], _key(reader))
    builder = httpx.Client(base_url="http://node.test")
    warmup = 50
    prepared = []
    for i in range(count + warmup):
        request = signer.sign(
            builder.build_request(
                "GET", f"/records/{ids[i % len(ids)]}", params={"purpose": "treatment"}
            )
        )
        prepared.append((request.method, str(request.url), dict(request.headers)))
    builder.close()

    def read(method: str, url: str, headers: dict[str, str]) -> None:
        kid = verifier.verify(method, url, headers, b"")
        attempt = Attempt(service.caller_for(kid), request_digest(method, url, headers))
        record = url.split("/records/", 1)[1].split("?", 1)[0]
        _, _, envelope = exchange.read(attempt, record, purpose="treatment")
        web.render(web.Reply(envelope), "application/json")

    for request in prepared[:warmup]:
        read(*request)
    service.commit_now()
    steps = _Steps()
    steps.wrap(RequestVerifier, "verify", "request verification (RFC 9421, replay, key)")
    steps.wrap(exchange_module, "decide", "consent decision")
    steps.wrap(Exchange, "_release", "key release (payload, ECDH-ES+A256KW wrap)")
    steps.wrap(Exchange, "_audit", "audit append (sign, validate into the pool)")
    steps.wrap(web, "render", "response rendering (JSON)")
    steps.wrap(service, "commit_now", "block commits (share)")
    started = time.process_time()
    for n, request in enumerate(prepared[warmup:], 1):
        read(*request)
        if n % 256 == 0:
            service.commit_now()
    service.commit_now()
    total = time.process_time() - started
    service.close()
    per_read = {step: round(spent / count * 1000, 3) for step, spent in steps.spent.items()}
    per_read["index, look-ups and bookkeeping (rest)"] = round(
        (total - sum(steps.spent.values())) / count * 1000, 3
    )
    return {
        "reads": count,
        "ms_per_read": round(total / count * 1000, 3),
        "steps_ms_per_read": per_read,
        "reads_per_cpu_second": round(count / total, 1),
    }


def _report(args: argparse.Namespace, result: dict[str, Any], steps: dict[str, Any]) -> None:
    run = {
        "recorded": _now(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1min": round(os.getloadavg()[0], 2),
        },
        "concurrency": args.concurrency,
        "commit_interval_ms": args.commit_interval_ms,
        "load_generator": args.client,
        **result,
        "in_process_breakdown": steps,
    }
    previous: dict[str, Any] = {}
    if RESULTS.exists():
        previous = json.loads(RESULTS.read_text(encoding="utf-8"))
    runs = {k: previous[k] for k in ("before", "after") if isinstance(previous.get(k), dict)}
    runs[args.record_as] = run
    latest = runs.get("after", run)
    report = {
        "benchmark": "node_reads",
        "description": "authorised GET /records/{id} over loopback HTTP: signature, consent "
        "decision, key release, audit append",
        "goal": {"requests_per_second": GOAL_RPS, "p99_ms": GOAL_P99_MS},
        "goal_met": latest["requests_per_second"] >= GOAL_RPS and latest["p99_ms"] < GOAL_P99_MS,
        **runs,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"goal_met": report["goal_met"], args.record_as: run}, indent=2))
    if args.check and not report["goal_met"]:
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--commit-interval-ms", type=int, default=200)
    parser.add_argument("--breakdown", type=int, default=500, help="In-process reads (0: none).")
    parser.add_argument("--record-as", choices=("before", "after"), default="after")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="Load generator: pre-serialised requests over asyncio streams, or httpx.",
    )
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
                    node_pid=proc.pid,
                    client_kind=args.client,
                )
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        steps = (
            _breakdown(Path(tmp) / "bench.db", creds, ids, args.breakdown) if args.breakdown else {}
        )
    _report(args, result, steps)


if __name__ == "__main__":
    main()
