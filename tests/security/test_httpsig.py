"""RFC 9421 request authentication: vectors, every refusal reason, the replay cache."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from bmdx.reference._internal.errors import RequestAuthError
from bmdx.reference._internal.httpsig import (
    RequestKey,
    RequestVerifier,
    content_digest,
    sign_request,
)
from bmdx.reference._internal.limits import limits
from bmdx.reference._internal.specdata import spec_dir

VECTORS = spec_dir() / "vectors" / "http-signatures"
REPO = Path(__file__).resolve().parents[2]


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_bytes())


def resolver() -> Any:
    keys = {}
    for kid, entry in load("keys.json").items():
        public = serialization.load_pem_public_key(entry["public"].encode())
        assert isinstance(public, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey)
        keys[kid] = RequestKey(kid, public, revoked=entry.get("revoked", False))
    return keys.get


def send(verifier: RequestVerifier, req: dict[str, Any]) -> str:
    return verifier.verify(req["method"], req["url"], req["headers"], req["body"].encode("utf-8"))


@pytest.mark.requirement("BMDX-SEC-200", "BMDX-SEC-209")
@pytest.mark.parametrize("case", load("valid.json")["valid"], ids=lambda c: c["name"])
def test_valid_vectors_verify(case: dict[str, Any]) -> None:
    now = load("valid.json")["now"]
    assert send(RequestVerifier(resolver(), now=lambda: now), case["request"]) == case["kid"]


def test_ed25519_vector_is_reproduced() -> None:
    [case] = [c for c in load("valid.json")["valid"] if c["deterministic"]]
    entry = load("keys.json")[case["kid"]]
    key = serialization.load_pem_private_key(entry["private"].encode(), password=None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    req = case["request"]
    params = req["headers"]["Signature-Input"]
    created = int(params.split("created=")[1].split(";")[0])
    nonce = params.split('nonce="')[1].split('"')[0]
    headers = sign_request(
        req["method"],
        req["url"],
        {"Content-Type": req["headers"]["Content-Type"]},
        req["body"].encode(),
        key=key,
        kid=case["kid"],
        created=created,
        nonce=nonce,
    )
    assert headers == req["headers"]
    assert headers["Content-Digest"] == content_digest(req["body"].encode())


@pytest.mark.parametrize("case", load("invalid.json")["invalid"], ids=lambda c: c["name"])
def test_invalid_vectors_are_refused(case: dict[str, Any], request: Any) -> None:
    request.node.add_marker(pytest.mark.requirement(case["requirement"]))
    verifier = RequestVerifier(resolver(), now=lambda: case["now"])
    if case.get("replay"):
        send(verifier, case["request"])
    with pytest.raises(RequestAuthError) as info:
        send(verifier, case["request"])
    assert (info.value.reason, info.value.requirement, info.value.status) == (
        case["reason"],
        case["requirement"],
        401,
    )


def test_every_reason_has_a_vector() -> None:
    reasons = {c["reason"] for c in load("invalid.json")["invalid"]}
    assert reasons >= {
        "missing-signature",
        "missing-component",
        "extra-component",
        "created-in-future",
        "expired",
        "replayed-nonce",
        "unknown-key",
        "revoked-key",
        "digest-mismatch",
        "algorithm-mismatch",
        "bad-signature",
    }


@pytest.mark.requirement("BMDX-SEC-204", "BMDX-SEC-205")
def test_window_edges() -> None:
    [case] = [c for c in load("valid.json")["valid"] if c["name"] == "ed25519-post"]
    created = int(case["request"]["headers"]["Signature-Input"].split("created=")[1].split(";")[0])
    lim = limits()
    for now in (created - lim.clock_skew_seconds, created + lim.replay_window_seconds):
        assert send(RequestVerifier(resolver(), now=lambda n=now: n), case["request"])


@pytest.mark.requirement("BMDX-SEC-206")
def test_nonce_is_remembered_per_key_and_forgotten_after_the_window() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    clock = [1_800_000_000]
    verifier = RequestVerifier(lambda kid: RequestKey(kid, key.public_key()), now=lambda: clock[0])

    def signed(kid: str, created: int) -> dict[str, str]:
        return sign_request(
            "GET", "https://n.example/x", {}, b"", key=key, kid=kid, created=created, nonce="N" * 22
        )

    verifier.verify("GET", "https://n.example/x", signed("a", clock[0]), b"")
    verifier.verify("GET", "https://n.example/x", signed("b", clock[0]), b"")  # other key
    with pytest.raises(RequestAuthError) as info:
        verifier.verify("GET", "https://n.example/x", signed("a", clock[0]), b"")
    assert info.value.reason == "replayed-nonce"
    clock[0] += limits().replay_window_seconds + 1
    verifier.verify("GET", "https://n.example/x", signed("a", clock[0]), b"")
    assert verifier.cached_nonces == 1


@pytest.mark.requirement("BMDX-SEC-210")
def test_full_replay_cache_fails_closed() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    small = dataclasses.replace(limits(), replay_cache_entries=2)
    now = 1_800_000_000
    verifier = RequestVerifier(
        lambda kid: RequestKey(kid, key.public_key()), now=lambda: now, limits=small
    )
    for i in range(2):
        h = sign_request(
            "GET", "https://n.example/", {}, b"", key=key, kid="k", created=now, nonce=f"{i:022d}"
        )
        verifier.verify("GET", "https://n.example/", h, b"")
    h = sign_request(
        "GET", "https://n.example/", {}, b"", key=key, kid="k", created=now, nonce="2" * 22
    )
    with pytest.raises(RequestAuthError) as info:
        verifier.verify("GET", "https://n.example/", h, b"")
    assert (info.value.reason, info.value.status, info.value.requirement) == (
        "replay-cache-full",
        503,
        "BMDX-SEC-210",
    )


def test_forged_requests_do_not_fill_the_cache() -> None:
    key, other = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    now = 1_800_000_000
    verifier = RequestVerifier(lambda kid: RequestKey(kid, key.public_key()), now=lambda: now)
    h = sign_request(
        "GET", "https://n.example/", {}, b"", key=other, kid="k", created=now, nonce="F" * 22
    )
    with pytest.raises(RequestAuthError) as info:
        verifier.verify("GET", "https://n.example/", h, b"")
    assert info.value.reason == "bad-signature"
    assert verifier.cached_nonces == 0


def test_vectors_regenerate_identically(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "vectors" / "gen_http_signatures.py"), str(tmp_path)],
        check=True,
        cwd=REPO,
    )
    for name in ("keys.json", "valid.json", "invalid.json"):
        assert (tmp_path / name).read_bytes() == (VECTORS / name).read_bytes(), name
