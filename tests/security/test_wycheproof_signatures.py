"""Wycheproof signature, key-agreement and JOSE vectors through our own verification paths.

Which vectors the profile accepts is data: spec/security/wycheproof-profile.yaml.  A
valid vector rejected, an invalid one accepted, an ``acceptable`` one judged against
its flags' verdicts, or a flag the profile does not list, fails the file's test; so
does a file that runs zero vectors.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from bmdx.reference._internal.b64 import b64url_encode
from bmdx.reference._internal.errors import BmdxError, CryptoError, KeyImportError
from bmdx.reference._internal.jws import verify_compact, verify_raw
from bmdx.reference._internal.keys import (
    KeySet,
    PrivateKey,
    derive_shared_secret,
    import_private_jwk,
    import_public_jwk,
    public_key_from_point,
    public_key_from_spki,
)
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.specdata import spec_dir
from tests.thirdparty import dataset, require_vectors

PROFILE: dict[str, Any] = yaml.safe_load(
    (spec_dir() / "security" / "wycheproof-profile.yaml").read_text()
)
ALGS = security_profile().signatures.algorithms


@dataclass
class Outcome:
    accepted: bool
    stage: str = ""
    error: BmdxError | None = None


class WrongResultError(AssertionError):
    """The operation succeeded but produced a different shared secret."""


def _attempt(stage: str, run: Callable[[], object]) -> Outcome | None:
    try:
        run()
    except CryptoError as e:
        return Outcome(False, stage, e)
    return None


def _strict_der_to_raw(sig: bytes) -> bytes | None:
    """r || s from an ASN.1 signature only if it is the strict DER of two 256-bit integers."""
    try:
        r, s = decode_dss_signature(sig)
    except ValueError:
        return None
    if encode_dss_signature(r, s) != sig or not (0 <= r < 2**256 and 0 <= s < 2**256):
        return None
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _raw_signature(alg: str, load_key: Callable[[dict[str, Any]], Any], der: bool = False):  # type: ignore[no-untyped-def]
    def run(group: dict[str, Any], test: dict[str, Any]) -> Outcome:
        holder: dict[str, Any] = {}
        failed = _attempt("key-import", lambda: holder.setdefault("key", load_key(group)))
        if failed:
            return failed
        sig = bytes.fromhex(test["sig"])
        if der:
            raw = _strict_der_to_raw(sig)
            if raw is None:
                return Outcome(False, "signature-encoding")
            sig = raw
        failed = _attempt(
            "verify",
            lambda: verify_raw(ALGS[alg], holder["key"], bytes.fromhex(test["msg"]), sig),
        )
        return failed or Outcome(True)

    return run


def _p256_group_key(group: dict[str, Any]) -> Any:
    if "publicKeyJwk" in group:
        return import_public_jwk(group["publicKeyJwk"], use="sig", kid_policy="declared")
    point = bytes.fromhex(group["publicKey"]["uncompressed"])
    return public_key_from_point("P-256", point, use="sig")


def _x25519_private(raw: bytes) -> PrivateKey:
    public = x25519.X25519PrivateKey.from_private_bytes(raw).public_key().public_bytes_raw()
    jwk = {"kty": "OKP", "crv": "X25519", "d": b64url_encode(raw), "x": b64url_encode(public)}
    return import_private_jwk(jwk, use="enc")


def _p256_private(hexstr: str) -> PrivateKey:
    numbers = ec.derive_private_key(int(hexstr, 16), ec.SECP256R1()).public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "d": b64url_encode(int(hexstr, 16).to_bytes(32, "big")),
        "x": b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.y.to_bytes(32, "big")),
    }
    return import_private_jwk(jwk, use="enc")


def _agreement(load_private: Callable[[str], PrivateKey], load_peer: Callable[[bytes], Any]):  # type: ignore[no-untyped-def]
    def run(group: dict[str, Any], test: dict[str, Any]) -> Outcome:
        private = load_private(test["private"])
        holder: dict[str, Any] = {}
        failed = _attempt(
            "key-import",
            lambda: holder.setdefault("peer", load_peer(bytes.fromhex(test["public"]))),
        )
        if failed:
            return failed
        failed = _attempt(
            "agree",
            lambda: holder.setdefault("shared", derive_shared_secret(private, holder["peer"])),
        )
        if failed:
            return failed
        if holder["shared"] != bytes.fromhex(test["shared"]):
            raise WrongResultError(f"tcId {test['tcId']}: wrong shared secret")
        return Outcome(True)

    return run


def _group_jwks(group: dict[str, Any]) -> dict[str, Any]:
    key = group.get("public") or group.get("private")
    return key if "keys" in key else {"keys": [key]}


def _jose(group: dict[str, Any], test: dict[str, Any]) -> Outcome:
    holder: dict[str, Any] = {}
    failed = _attempt(
        "key-import",
        lambda: holder.setdefault(
            "keys", KeySet.from_jwks(_group_jwks(group), use="sig", kid_policy="declared")
        ),
    )
    if failed:
        return failed
    failed = _attempt("verify", lambda: verify_compact(test["jws"], holder["keys"]))
    return failed or Outcome(True)


RUNNERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], Outcome]] = {
    "ecdsa_secp256r1_sha256_p1363_test.json": _raw_signature("ES256", _p256_group_key),
    "ecdsa_secp256r1_sha256_test.json": _raw_signature(
        "ES256",
        lambda g: public_key_from_point(
            "P-256", bytes.fromhex(g["publicKey"]["uncompressed"]), use="sig"
        ),
        der=True,
    ),
    "ed25519_test.json": _raw_signature(
        "Ed25519", lambda g: import_public_jwk(g["publicKeyJwk"], use="sig", kid_policy="declared")
    ),
    "x25519_test.json": _agreement(
        lambda h: _x25519_private(bytes.fromhex(h)),
        lambda b: public_key_from_point("X25519", b, use="enc"),
    ),
    "ecdh_secp256r1_ecpoint_test.json": _agreement(
        _p256_private, lambda b: public_key_from_point("P-256", b, use="enc")
    ),
    "ecdh_secp256r1_test.json": _agreement(
        _p256_private, lambda b: public_key_from_spki(b, use="enc")
    ),
    "json_web_signature_test.json": _jose,
    "json_web_key_test.json": _jose,
}


def _out_of_profile(rules: list[dict[str, Any]], group: dict[str, Any]) -> dict[str, Any] | None:
    if not rules:
        return None
    key = _group_jwks(group)["keys"][0]
    for rule in rules:
        if key.get("kty") == rule["kty"] and key.get("crv") == rule.get("crv", key.get("crv")):
            return rule
    return None


def _expected(entry: dict[str, Any], test: dict[str, Any]) -> bool:
    if test["result"] != "acceptable":
        return bool(test["result"] == "valid")
    verdicts = [entry["acceptable"][flag]["verdict"] for flag in test["flags"]]
    return "reject" not in verdicts


def test_profile_lists_exactly_the_files_we_run() -> None:
    assert set(PROFILE["files"]) == set(RUNNERS)
    assert PROFILE["source"].endswith("dac1dd4729fd1f8dd9e1e9f3dce51d783da6c166")
    for entry in PROFILE["files"].values():
        assert entry["path"]
        assert entry["requirements"]
        for rule in entry["acceptable"].values():
            assert rule["verdict"] in {"accept", "reject"}
            assert rule["why"]


@pytest.mark.requirement("BMDX-SEC-014", "BMDX-SEC-031", "BMDX-SEC-035")
@pytest.mark.parametrize("name", sorted(RUNNERS))
def test_wycheproof_file(name: str) -> None:
    path: Path = dataset("wycheproof") / name
    data = json.loads(path.read_bytes())
    entry = PROFILE["files"][name]
    acceptable_flags = {
        f
        for g in data["testGroups"]
        for t in g["tests"]
        if t["result"] == "acceptable"
        for f in t["flags"]
    }
    assert acceptable_flags == set(entry["acceptable"]), "profile must list every acceptable flag"
    run = RUNNERS[name]
    tally: Counter[str] = Counter()
    wrong: list[str] = []
    for group in data["testGroups"]:
        rule = _out_of_profile(entry["out_of_profile"], group)
        for test in group["tests"]:
            outcome = run(group, test)
            tally["run"] += 1
            where = f"tcId {test['tcId']} ({test['result']}, {test['flags']}, {test['comment']})"
            if rule is not None and test["result"] != "invalid":
                tally[f"out-of-profile {test['result']}"] += 1
                got = (outcome.accepted, outcome.stage, outcome.error and outcome.error.reason)
                if got != (False, rule["stage"], rule["reason"]):
                    wrong.append(f"{where}: out of profile, expected {rule}, got {got}")
                continue
            expected = _expected(entry, test)
            tally[f"{test['result']} {'accepted' if outcome.accepted else 'rejected'}"] += 1
            if outcome.accepted != expected:
                reason = outcome.error.reason if outcome.error else outcome.stage
                wrong.append(
                    f"{where}: expected {'accept' if expected else 'reject'}, got {reason}"
                )
    require_vectors(tally["run"], name)
    assert not wrong, "\n".join(wrong)
    assert tally["valid rejected"] == 0
    assert tally["invalid accepted"] == 0


@pytest.mark.requirement("BMDX-SEC-033", "BMDX-SEC-037")
def test_jwk_file_rejections_name_the_rule() -> None:
    data = json.loads((dataset("wycheproof") / "json_web_key_test.json").read_bytes())
    reasons = {}
    for group in data["testGroups"]:
        for test in group["tests"]:
            outcome = _jose(group, test)
            if outcome.error is not None:
                reasons[test["comment"]] = (type(outcome.error), outcome.error.reason)
    assert reasons["rejectsDuplicateKid"] == (KeyImportError, "duplicate-kid")
    assert reasons["mismatchedAlgAndCurve"] == (KeyImportError, "alg-mismatch")
    assert reasons["rejectsModifiedKey"][0] is KeyImportError
    require_vectors(len(reasons), "json_web_key rejections")
