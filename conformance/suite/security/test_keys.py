"""Participant keys over HTTP: what a node registers, and key validity by height.

Registrations go through the configuration's governance participant as bare
Participant documents (a development node signs them for the governance); each carries
one key that breaks one rule of the security profile's key section and must be refused
with 422, naming the BMDX-SEC requirement, the data-model rule (BMDX-DM-020 to -022) or
the ledger type rule (BMDX-LED-017) that states the same constraint for a registration,
and must leave the participant unregistered.  Rotation and revocation take effect at their effective
height: the rotated-out or revoked key is then refused (401 revoked-key) and the new
key accepted.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import rfc8785
from jwcrypto import jwk

from bmdx.conformance._internal.http_client import (
    NodeClient,
    enrol,
    new_keys,
    public_key_document,
)
from bmdx.conformance._internal.targets import Target

# The rules that restate the profile's key constraints for a registration: the
# Participant schema and key rules (BMDX-DM-020 to -022) and the ledger's type rule for a
# new key (BMDX-LED-017, spec/conventions/ledger.md).
KEY_RULES = ("BMDX-DM-020", "BMDX-DM-021", "BMDX-DM-022", "BMDX-LED-017")


@pytest.fixture(scope="module")
def governance_client(target: Target) -> Iterator[NodeClient]:
    if target.kind not in ("http", "embedded") or not target.url or target.governance is None:
        pytest.skip("needs an HTTP node target with a governance participant")
    client = NodeClient(target.url, target.governance)
    yield client
    client.close()


def _thumbprint(key: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 of the required members in lexicographic order (RFC 8785 form)."""
    required = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}.get(key["kty"])
    members = {m: key[m] for m in required} if required else dict(key)
    return (
        base64.urlsafe_b64encode(hashlib.sha256(rfc8785.dumps(members)).digest())
        .rstrip(b"=")
        .decode("ascii")
    )


def _register(governance: NodeClient, key: dict[str, Any]) -> tuple[str, Any]:
    _, enc = new_keys()
    pid = "urn:bmdx:participant:conformance-" + secrets.token_hex(8)
    document = {
        "objectType": "Participant",
        "id": pid,
        "name": "Conformance key test",
        "roles": ["hospital"],
        "keys": [key, public_key_document(enc, "enc")],
        "registered": int(governance.head()["height"]) + 1,
    }
    return pid, governance.post("/participants", json_body=document)


def _refused(governance: NodeClient, key: dict[str, Any], requirement: str) -> None:
    pid, response = _register(governance, key)
    assert response.status_code == 422, (
        f"a key breaking {requirement} was accepted for registration ({response.status_code})"
    )
    problem = governance.json(response)
    assert problem.get("requirement") in (requirement, *KEY_RULES), problem
    assert governance.get(f"/participants/{pid}").status_code == 404


def _signing_key() -> dict[str, Any]:
    return public_key_document(new_keys()[0], "sig")


@pytest.mark.requirement("BMDX-SEC-030:16ebc506f76f1e90")
@pytest.mark.parametrize("kind", ["RSA", "oct", "EC-P384", "OKP-Ed448"])
def test_key_types_outside_profile_refused(governance_client: NodeClient, kind: str) -> None:
    """A public key MUST be a JWK of a key type of the security profile (kty EC with crv
    P-256, or kty OKP with crv Ed25519 or X25519); a receiver MUST reject any other key
    type, including RSA and symmetric (oct) keys."""
    if kind == "RSA":
        public = jwk.JWK.generate(kty="RSA", size=2048).export_public(as_dict=True)
        alg = "RS256"
    elif kind == "oct":
        public = {"kty": "oct", "k": base64.urlsafe_b64encode(b"k" * 32).decode().rstrip("=")}
        alg = "HS256"
    elif kind == "EC-P384":
        public = jwk.JWK.generate(kty="EC", crv="P-384").export_public(as_dict=True)
        alg = "ES384"
    else:
        public = {
            "kty": "OKP",
            "crv": "Ed448",
            "x": base64.urlsafe_b64encode(b"\x01" * 57).decode().rstrip("="),
        }
        alg = "EdDSA"
    key = {"objectType": "PublicKey", **public, "use": "sig", "alg": alg}
    key["kid"] = _thumbprint(public)
    _refused(governance_client, key, "BMDX-SEC-030")


@pytest.mark.requirement("BMDX-SEC-031:3c5f61f7733fa048")
@pytest.mark.parametrize("fault", ["short-x", "off-curve", "extra-member"])
def test_malformed_public_keys_refused(governance_client: NodeClient, fault: str) -> None:
    """A receiver MUST reject a public key whose coordinates are not exactly 32 octets,
    whose EC point is not on the curve, or that carries members outside the profile's JWK
    subset."""
    if fault == "short-x":
        key = _signing_key()
        key["x"] = base64.urlsafe_b64encode(b"\x07" * 31).decode().rstrip("=")
    elif fault == "off-curve":
        key = public_key_document(new_keys(signing_curve="P-256")[0], "sig")
        key["y"] = base64.urlsafe_b64encode(b"\x00" * 31 + b"\x01").decode().rstrip("=")
    else:
        key = _signing_key()
        key["x5c"] = ["MIIB"]
    key["kid"] = _thumbprint(key)
    _refused(governance_client, key, "BMDX-SEC-031")


@pytest.mark.requirement("BMDX-SEC-033:056a0ad5ac1fb644")
def test_private_members_refused(governance_client: NodeClient) -> None:
    """A registered public key, and every key of a public key set, MUST NOT contain private
    key members (d, or the RSA and symmetric private members)."""
    private = new_keys()[0]
    key = {**public_key_document(private, "sig"), "d": private["d"]}
    _refused(governance_client, key, "BMDX-SEC-033")


@pytest.mark.requirement("BMDX-SEC-034:3294e5df2c450afc")
def test_kid_must_be_thumbprint(governance_client: NodeClient) -> None:
    """The key id of a registered key MUST be its RFC 7638 SHA-256 thumbprint, base64url
    without padding; a receiver MUST reject a registered key whose kid differs from its
    thumbprint."""
    key = _signing_key()
    assert key["kid"] == _thumbprint(key), "the suite's own thumbprint disagrees with jwcrypto"
    key["kid"] = _thumbprint(_signing_key())
    _refused(governance_client, key, "BMDX-SEC-034")


@pytest.mark.requirement("BMDX-SEC-044:2c56e6f6ba609b78")
def test_seen_kid_never_registered_again(governance_client: NodeClient) -> None:
    """A ledger MUST NOT register, rotate in, or revive a key whose kid it has seen before,
    for any participant."""
    key = _signing_key()
    pid, response = _register(governance_client, key)
    assert response.status_code == 202, response.text[:300]
    governance_client.wait_committed(str(governance_client.json(response)["txid"]))
    again, response = _register(governance_client, key)
    assert response.status_code == 422, "a kid seen before was registered again"
    assert governance_client.get(f"/participants/{again}").status_code == 404
    assert governance_client.get(f"/participants/{pid}").status_code == 200


def _member(governance: NodeClient) -> tuple[NodeClient, list[dict[str, Any]]]:
    member = enrol(governance, ["hospital"], signing_keys=2)
    governance.wait_committed(member.txid)
    return NodeClient(governance.base_url, member.participant), member.signing_keys


@pytest.mark.requirement("BMDX-SEC-041:a5d50db21455e181")
def test_rotation_takes_effect_at_its_height(governance_client: NodeClient) -> None:
    """From a rotation's effective height on, a verifier MUST reject signatures by the old
    key and MUST accept the new key; below that height the old key stays valid and the new
    key is not yet valid."""
    client, _ = _member(governance_client)
    new_key, _ = new_keys()
    before = client.with_key(new_key)
    assert before.get(f"/participants/{client.id}").status_code == 401, (
        "a key not yet rotated in was accepted"
    )
    client.rotate_key(new_key)
    refused = client.get(f"/participants/{client.id}")
    assert refused.status_code == 401
    assert client.json(refused).get("reason") == "revoked-key"
    assert before.get(f"/participants/{client.id}").status_code == 200
    before.close()
    client.close()


@pytest.mark.requirement("BMDX-SEC-042:293c525024818ead")
def test_revocation_takes_effect_at_its_height(governance_client: NodeClient) -> None:
    """A key revocation MUST be a KeyRevocation object with an effective height no lower
    than the key's registration; from that height on a verifier MUST reject signatures by
    the revoked key, and signatures in blocks below it stay valid."""
    client, keys = _member(governance_client)
    second = client.with_key(keys[1])
    assert second.get(f"/participants/{client.id}").status_code == 200
    client.revoke_key(keys[1]["kid"])
    refused = second.get(f"/participants/{client.id}")
    assert refused.status_code == 401
    assert second.json(refused).get("reason") == "revoked-key"
    assert client.get(f"/participants/{client.id}").status_code == 200
    second.close()
    client.close()
