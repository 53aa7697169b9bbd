"""JOSE attacks on JWE: each refused, on the right requirement, and indistinguishably."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import x25519

from bmdx.reference._internal import jwe
from bmdx.reference._internal.b64 import b64url_decode
from bmdx.reference._internal.errors import DecryptionError
from bmdx.reference._internal.specdata import spec_dir

VECTORS = spec_dir() / "vectors" / "jwe"


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_bytes())


def keys_by_kid() -> dict[str, dict[str, Any]]:
    data = load("keys.json")
    out = {k["kid"]: k for k in data["recipients"].values()}
    out[data["outsider"]["kid"]] = data["outsider"]
    return out


CASES = load("attacks.json")["cases"]


def open_case(case: dict[str, Any]) -> bytes:
    value = case["jwe"] if "jwe" in case else jwe.parse_jwe(case["jwe_text"])
    return jwe.decrypt(value, keys_by_kid()[case["key"]])


def attempt(case: dict[str, Any]) -> DecryptionError:
    with pytest.raises(DecryptionError) as info:
        open_case(case)
    return info.value


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_attack_is_refused_on_its_requirement(case: dict[str, Any], request: Any) -> None:
    request.node.add_marker(pytest.mark.requirement(case["requirement"]))
    error = attempt(case)
    assert (error.reason, error.violated) == (case["reason"], case["requirement"])


@pytest.mark.requirement("BMDX-SEC-114")
def test_every_refusal_looks_the_same() -> None:
    seen = set()
    for case in CASES:
        error = attempt(case)
        seen.add(
            (str(error), error.message, error.requirement, error.status, repr(error.problem()))
        )
    assert len(seen) == 1
    [(text, message, requirement, status, _)] = seen
    assert (text, message, requirement, status) == (
        "BMDX-SEC-114: decryption failed",
        "decryption failed",
        "BMDX-SEC-114",
        422,
    )
    assert len(CASES) >= 40


def test_attacks_cover_the_issue_list() -> None:
    names = {c["name"] for c in CASES}
    for required in (
        "epk-wrong-curve",
        "epk-off-curve",
        "x25519-low-order-zero",
        "tag-truncated",
        "zip-deflate",
        "alg-rsa1_5",
        "alg-pbes2",
        "alg-none",
        "alg-dir",
        "embedded-jwk",
        "jku",
        "crit-unknown",
        "header-duplicate-name",
        "header-b64-padding",
    ):
        assert required in names


@pytest.mark.requirement("BMDX-SEC-103")
def test_low_order_points_fail_in_pyca_itself() -> None:
    """The guard relies on pyca refusing an all-zero X25519 shared secret."""
    own = x25519.X25519PrivateKey.generate()
    for case in CASES:
        if case["reason"] != "low-order-point":
            continue
        point = case["jwe"]["recipients"][0]["header"]["epk"]["x"]
        peer = x25519.X25519PublicKey.from_public_bytes(b64url_decode(point))
        with pytest.raises(ValueError, match="shared key"):
            own.exchange(peer)
