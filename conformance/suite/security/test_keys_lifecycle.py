"""Who may change a key, and what a key may be used for.

Over HTTP: key rotations and revocations that the wrong key signed, or that reach back
below the block that would include them, and record headers signed by a trusted key of
the wrong party, must be refused with a problem document naming the requirement and
must change nothing (ledger head, pool, sequences, the participant's registered keys,
and which keys authenticate).  The requirements a refusal may name are those the spec
states the rule in: the BMDX-SEC statement itself, the uniform signature error
BMDX-SEC-010 the key vectors (spec/vectors/keys) use for a signature by a key that may
not sign the object, and the ledger type rules (BMDX-LED-017, spec/conventions/ledger.md)
that restate them for ``key.rotate`` and ``key.revoke``.

Through the adapter: keys used outside their one purpose and low-order X25519 peer keys
must be refused.  A JWE whose content key is wrapped under the key derived from the
all-zero X25519 shared secret is built with pyca primitives (Concat KDF, AES key wrap,
AES-GCM), so that an implementation that skipped the check would decrypt it.

The participant key set is observed through registration: a Participant's ``keys`` is
the one key set a node receives from outside.
"""

from __future__ import annotations

import base64
import copy
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from jwcrypto import jwk

from bmdx.conformance._internal.adapter_client import AdapterClient, Response
from bmdx.conformance._internal.http_client import (
    Member,
    NodeClient,
    NodeState,
    custodian_key,
    enrol,
    new_keys,
    pseudonym,
    public_jwk,
    public_key_document,
    record_envelope,
    seal_record,
    sign_object,
)
from bmdx.conformance._internal.specdata import load_yaml
from bmdx.conformance._internal.targets import Evidence, Target
from bmdx.conformance.suite._spec import b64, unb64
from bmdx.conformance.suite.consent._world import quiet_state, same_state
from bmdx.conformance.suite.exchange_api._common import problem

# Signature by a key the object's rules do not admit: the BMDX-SEC statement, the
# uniform signature error of the key vectors, or the ledger type rule.
WRONG_ROTATION_SIGNER = {"BMDX-SEC-040", "BMDX-SEC-024", "BMDX-SEC-010", "BMDX-LED-017"}
WRONG_REVOCATION_SIGNER = {"BMDX-SEC-043", "BMDX-SEC-024", "BMDX-SEC-010", "BMDX-LED-017"}
RETROACTIVE = {"BMDX-SEC-045", "BMDX-LED-017"}
# BMDX-API-050: a refused envelope is answered 403 or 422 naming the broken requirement;
# the header-signature rule is BMDX-DM-190.
WRONG_HEADER_SIGNER = {"BMDX-SEC-024", "BMDX-DM-190", "BMDX-SEC-010"}
VERIFY_FAILED = ("BMDX-SEC-010", "signature-invalid")
DECRYPT_FAILED = ("BMDX-SEC-114", "decryption-failed")


# -- HTTP: participants whose keys the tests try to change ---------------------------


@dataclass
class Party:
    """A registered participant: its client (first signing key) and all its keys."""

    client: NodeClient
    member: Member

    @property
    def id(self) -> str:
        return self.client.id

    @property
    def keys(self) -> list[dict[str, Any]]:
        return self.member.signing_keys

    def as_key(self, key: dict[str, Any]) -> NodeClient:
        return self.client.with_key(key)


@dataclass
class Cast:
    governance: NodeClient
    owner: Party  # two signing keys and an encryption key; the author of records
    other: Party  # another participant, trusted by the node
    retired: Party  # its second signing key is revoked during setup
    node_key: dict[str, Any]

    def parties(self) -> tuple[Party, ...]:
        return (self.owner, self.other, self.retired)

    def bind(self, evidence: Evidence) -> None:
        self.governance.evidence = evidence
        for party in self.parties():
            party.client.evidence = evidence


@pytest.fixture(scope="module")
def cast(target: Target) -> Iterator[Cast]:
    if target.kind not in ("http", "embedded") or not target.url or target.governance is None:
        pytest.skip("needs an HTTP node target with a governance participant")
    url = target.url
    timeout = float(target.options.get("timeout", 30.0))
    governance = NodeClient(url, target.governance, timeout=timeout)
    members = [
        enrol(governance, ["laboratory"], signing_keys=2),
        enrol(governance, ["hospital"]),
        enrol(governance, ["hospital"], signing_keys=2),
    ]
    governance.wait_committed(members[-1].txid)
    owner, other, retired = (
        Party(NodeClient(url, m.participant, timeout=timeout), m) for m in members
    )
    retired.client.revoke_key(retired.keys[1]["kid"])
    built = Cast(governance, owner, other, retired, custodian_key(governance.capabilities()))
    yield built
    for party in built.parties():
        party.client.close()
    governance.close()


@pytest.fixture(autouse=True)
def _bound(request: pytest.FixtureRequest, evidence: Evidence) -> None:
    if "cast" in request.fixturenames:
        request.getfixturevalue("cast").bind(evidence)


@dataclass(frozen=True)
class Trusted:
    """What a refused key change must leave as it was."""

    state: NodeState
    participant: Any


def _trusted(cast: Cast, party: Party) -> Trusted:
    ids = [p.id for p in cast.parties()]
    return Trusted(quiet_state(party.client, ids), party.client.read(f"/participants/{party.id}"))


def _unchanged(cast: Cast, party: Party, before: Trusted, still_valid: dict[str, Any]) -> None:
    client = party.client
    same_state(client, before.state, [p.id for p in cast.parties()])
    assert client.read(f"/participants/{party.id}") == before.participant, (
        "a refused key change altered the participant's registered keys"
    )
    probe = party.as_key(still_valid)
    try:
        response = probe.get(f"/participants/{party.id}")
        assert response.status_code == 200, (
            f"after a refused key change, key {still_valid['kid']} no longer authenticates "
            f"({response.status_code})"
        )
    finally:
        probe.close()


def _submit(party: Party, tx_type: str, output: dict[str, Any], path: str) -> httpx.Response:
    client = party.client
    version = client.live_version(party.id)
    assert version is not None, f"{party.id} has no live version"
    tx = client.signed_transaction(
        tx_type, [output], inputs=[{"objectId": party.id, "version": version}]
    )
    return client.post(path, json_body=tx)


def _refused(client: NodeClient, response: httpx.Response, allowed: set[str]) -> dict[str, Any]:
    assert response.status_code in (403, 422), (
        f"a key change the spec forbids was answered {response.status_code}: {response.text[:400]}"
    )
    document = problem(client, response, response.status_code)
    assert document["requirement"] in allowed, (
        f"the refusal names {document['requirement']}, not one of {sorted(allowed)}"
    )
    return document


def _rotation(party: Party, old_kid: str, new_key: dict[str, Any], height: int) -> dict[str, Any]:
    return {
        "objectType": "KeyRotation",
        "participant": party.id,
        "oldKid": old_kid,
        "newKey": new_key,
        "effectiveHeight": height,
    }


def _revocation(party: Party, kid: str, height: int) -> dict[str, Any]:
    return {
        "objectType": "KeyRevocation",
        "participant": party.id,
        "kid": kid,
        "effectiveHeight": height,
        "reason": "compromised",
    }


def _next_height(client: NodeClient) -> int:
    return int(client.head()["height"]) + 1


def _rotate(cast: Cast, party: Party, output: dict[str, Any], signer: dict[str, Any]) -> None:
    """Submit a rotation of ``party`` whose KeyRotation ``signer`` signed; expect refusal."""
    before = _trusted(cast, party)
    signed = sign_object(output, signer)
    response = _submit(party, "key.rotate", signed, f"/participants/{party.id}/keys/rotations")
    _refused(party.client, response, WRONG_ROTATION_SIGNER)
    _unchanged(cast, party, before, party.client.key)
    new_kid = output["newKey"]["kid"]
    assert new_kid not in json.dumps(party.client.read(f"/participants/{party.id}")), (
        "the refused rotation's new key is registered"
    )


_ROTATIONS = ["other-signing-key", "other-participant", "old-key-of-other", "enc-key", "invalid"]


@pytest.mark.requirement("BMDX-SEC-040:99c5aaf4540ed20c")
@pytest.mark.parametrize("case", _ROTATIONS)
def test_rotation_needs_the_old_key(cast: Cast, case: str) -> None:
    """A key rotation MUST be a KeyRotation object whose signatures include one by the old
    key (for a key-agreement key, which cannot sign, by a signing key of the same
    participant valid at the effective height); the old key MUST be registered to the
    same participant and valid at the effective height, and a ledger MUST reject any
    rotation that breaks these rules."""
    owner, other, retired = cast.owner, cast.other, cast.retired
    new_sig = public_key_document(new_keys()[0], "sig")
    height = _next_height(owner.client)
    if case == "other-signing-key":
        # The owner's second signing key is valid, but it is not the key rotated out.
        _rotate(cast, owner, _rotation(owner, owner.keys[0]["kid"], new_sig, height), owner.keys[1])
    elif case == "other-participant":
        _rotate(cast, owner, _rotation(owner, owner.keys[0]["kid"], new_sig, height), other.keys[0])
    elif case == "old-key-of-other":
        # Signed by the old key itself, but that key belongs to another participant.
        _rotate(cast, owner, _rotation(owner, other.keys[0]["kid"], new_sig, height), other.keys[0])
    elif case == "enc-key":
        # A key-agreement key vouched for by a signing key of another participant.
        new_enc = public_key_document(new_keys()[1], "enc")
        output = _rotation(owner, owner.member.encryption_key["kid"], new_enc, height)
        _rotate(cast, owner, output, other.keys[0])
    else:
        # Signed by the old key, which is revoked: not valid at the effective height.
        _rotate(
            cast,
            retired,
            _rotation(retired, retired.keys[1]["kid"], new_sig, height),
            retired.keys[1],
        )


@pytest.mark.requirement("BMDX-SEC-043:cedf9ca01ec5d843")
@pytest.mark.parametrize("case", ["other-participant", "revoked-key-of-owner"])
def test_revocation_needs_a_key_of_the_participant(cast: Cast, case: str) -> None:
    """A KeyRevocation MUST be signed by the revoked key or by another signing key of the
    same participant that is valid at the effective height, or, in a key.revoke
    transaction of the governance, by at least the threshold of the validator set in
    force; a ledger MUST reject any other revocation."""
    if case == "other-participant":
        party, signer = cast.owner, cast.other.keys[0]
    else:
        party, signer = cast.retired, cast.retired.keys[1]  # revoked during setup
    kid = party.keys[0]["kid"]
    before = _trusted(cast, party)
    output = sign_object(_revocation(party, kid, _next_height(party.client)), signer)
    response = _submit(party, "key.revoke", output, f"/participants/{party.id}/keys/revocations")
    _refused(party.client, response, WRONG_REVOCATION_SIGNER)
    _unchanged(cast, party, before, party.keys[0])


@pytest.mark.requirement("BMDX-SEC-045:136eb8a5957de5f6")
@pytest.mark.parametrize("kind", ["rotation", "revocation"])
def test_retroactive_key_change_refused(cast: Cast, kind: str) -> None:
    """The effective height of a KeyRotation or KeyRevocation MUST NOT be lower than the
    height of the block that includes it; a ledger MUST reject a retroactive one."""
    owner = cast.owner
    before = _trusted(cast, owner)
    # The head's own height: any block that could include the change lies above it.
    height = before.state.height
    registered = int(before.participant["registered"])
    assert height >= registered, "the head lies below the participant's registration"
    if kind == "rotation":
        output = _rotation(
            owner, owner.keys[0]["kid"], public_key_document(new_keys()[0], "sig"), height
        )
        path, tx_type = f"/participants/{owner.id}/keys/rotations", "key.rotate"
    else:
        output = _revocation(owner, owner.keys[1]["kid"], height)
        path, tx_type = f"/participants/{owner.id}/keys/revocations", "key.revoke"
    response = _submit(owner, tx_type, sign_object(output, owner.keys[0]), path)
    _refused(owner.client, response, RETROACTIVE)
    _unchanged(cast, owner, before, owner.keys[0])
    _unchanged(cast, owner, before, owner.keys[1])


def _header_fields(envelope: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in envelope["header"].items() if k not in {"signatures", "payload"}}


@pytest.mark.requirement("BMDX-SEC-024:895ecd531675a2b6")
@pytest.mark.parametrize("signer", ["other-participant", "governance"])
def test_header_signed_by_the_wrong_party(cast: Cast, signer: str) -> None:
    """A verifier MUST require the signatures that the object's rules call for (for
    example the author's key, or the old key of a key rotation) and MUST NOT accept an
    object because a signature by some other trusted key verifies."""
    author = cast.owner.client
    enc = public_key_document(cast.owner.member.encryption_key, "enc")
    body = b'{"resourceType":"Observation","status":"final"}'
    valid = record_envelope(author, pseudonym(), body, [enc, cast.node_key])
    forger = cast.other.client if signer == "other-participant" else cast.governance
    salt = unb64(valid["salt"])
    forged = seal_record(forger, _header_fields(valid), valid["payload"], salt)
    assert forged["header"]["author"] == author.id
    before = _trusted(cast, cast.owner)
    response = author.post("/records", json_body=forged)
    _refused(author, response, WRONG_HEADER_SIGNER)
    _unchanged(cast, cast.owner, before, cast.owner.keys[0])
    record_id = forged["header"]["recordId"]
    assert author.live_version(record_id) is None, "a record signed by the wrong party was anchored"


# -- HTTP: the participant's key set ---------------------------------------------------


KEY_SET_RULES = {"BMDX-SEC-037", "BMDX-DM-010", "BMDX-DM-012", "BMDX-LED-017"}


@pytest.mark.requirement("BMDX-SEC-037:229769b0c6e9187c")
@pytest.mark.parametrize("case", ["empty", "over-limit", "shared-kid"])
def test_participant_key_set_limits(cast: Cast, spec_root: Path, case: str) -> None:
    """A receiver MUST reject a JWK Set that is not an object with a non-empty keys array,
    that holds more keys than the profile's max_jwks_keys, or in which two keys share a
    kid."""
    profile = load_yaml(spec_root / "security" / "profile.yaml")
    limit = int(profile["keys"]["max_jwks_keys"])
    governance = cast.governance
    enc = public_key_document(new_keys()[1], "enc")
    if case == "empty":
        keys: list[dict[str, Any]] = []
    elif case == "over-limit":
        keys = [public_key_document(new_keys()[0], "sig") for _ in range(limit)] + [enc]
    else:
        sig = public_key_document(new_keys()[0], "sig")
        keys = [sig, copy.deepcopy(sig), enc]
    pid = "urn:bmdx:participant:conformance-" + os.urandom(8).hex()
    document = {
        "objectType": "Participant",
        "id": pid,
        "name": "Conformance key set test",
        "roles": ["hospital"],
        "keys": keys,
        "registered": int(governance.head()["height"]) + 1,
    }
    ids = [p.id for p in cast.parties()]
    before = quiet_state(governance, ids)
    response = governance.post("/participants", json_body=document)
    assert response.status_code == 422, (
        f"a key set breaking BMDX-SEC-037 ({case}) was answered {response.status_code}"
    )
    found = problem(governance, response, 422)
    assert found["requirement"] in KEY_SET_RULES, found
    same_state(governance, before, ids)
    assert governance.get(f"/participants/{pid}").status_code == 404


# -- Adapter: one purpose per key, validated peer keys ---------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_DOCUMENT = {
    "objectType": "KeyRevocation",
    "participant": "urn:bmdx:participant:conformance-purpose",
    "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
    "reason": "superseded",
    "effectiveHeight": 7,
}


def _signing_pair() -> tuple[dict[str, Any], dict[str, Any]]:
    private = new_keys()[0]
    return private, public_jwk(private)


def _refusal(response: Response, requirement: str) -> None:
    assert not response.ok, f"an input breaking {requirement} was accepted"
    assert response.requirement == requirement, (
        f"the refusal names {response.requirement}/{response.reason}, not {requirement}"
    )


def _trusted_key_refused(response: Response, requirement: str) -> None:
    """A verify refused because of the verifier's own trusted keys.

    A failed verification is answered uniformly (BMDX-ADP-015); a trusted key the
    verifier may not use at all is refused when the key set is read, before any
    signature is looked at (the key-import stage of spec/security/wycheproof-profile.yaml),
    naming the rule the key set breaks.  The keys are the verifier's own input, so
    naming the rule tells a remote party nothing about the signature.  Either answer
    refuses the document.
    """
    assert not response.ok, f"a document was verified with a key set breaking {requirement}"
    if response.requirement != VERIFY_FAILED[0]:
        _refusal(response, requirement)
    else:
        assert response.reason == VERIFY_FAILED[1], response.error


@pytest.mark.requirement("BMDX-SEC-032:beb8e09c61b6bb97")
@pytest.mark.parametrize(
    "declared",
    [
        pytest.param({"use": "enc"}, id="use-enc"),
        pytest.param({"key_ops": ["deriveKey"]}, id="key-ops-derive"),
        pytest.param({"alg": "ECDH-ES+A256KW"}, id="alg-ecdh"),
    ],
)
def test_key_purpose(
    adapter: AdapterClient, supports: Callable[[str], None], declared: dict[str, Any]
) -> None:
    """A key MUST be used only for its one purpose: a key declaring use, key_ops or alg
    MUST be rejected for an operation those members do not allow, a signing key MUST NOT
    be used for key agreement, and a key-agreement key MUST NOT be used to verify
    signatures."""
    supports("verify")
    private, public = _signing_pair()
    signed = sign_object(_DOCUMENT, private)
    control = adapter.call("verify", document=signed, keys=[public])
    assert control.ok, f"the control signature did not verify: {control.error}"
    answer = adapter.call("verify", document=signed, keys=[{**public, **declared}])
    _trusted_key_refused(answer, "BMDX-SEC-032")
    if adapter.supports("sign"):
        _refusal(
            adapter.call("sign", document=_DOCUMENT, key={**private, **declared}), "BMDX-SEC-032"
        )


@pytest.mark.requirement("BMDX-SEC-032:beb8e09c61b6bb97")
def test_agreement_key_does_not_sign_or_verify(
    adapter: AdapterClient, supports: Callable[[str], None]
) -> None:
    """A key MUST be used only for its one purpose: a key declaring use, key_ops or alg
    MUST be rejected for an operation those members do not allow, a signing key MUST NOT
    be used for key agreement, and a key-agreement key MUST NOT be used to verify
    signatures."""
    supports("verify")
    private, _ = _signing_pair()
    agreement = new_keys()[1]
    # The signature names the X25519 key's kid; the verifier must not use that key.
    signed = sign_object(_DOCUMENT, private, kid=agreement["kid"], alg="EdDSA")
    _trusted_key_refused(
        adapter.call("verify", document=signed, keys=[public_jwk(agreement)]), "BMDX-SEC-032"
    )
    if adapter.supports("sign"):
        _refusal(adapter.call("sign", document=_DOCUMENT, key=agreement), "BMDX-SEC-032")


def _p256_public() -> dict[str, Any]:
    return public_jwk(new_keys(signing_curve="P-256")[0])


# A signing key offered for key agreement: an Ed25519 key (whose curve is no key-agreement
# curve of the profile, BMDX-SEC-001), and key-agreement curves declaring a signing use.
_SIGNING_RECIPIENTS = {
    "ed25519": lambda: public_jwk(new_keys()[0]),
    "p256-use-sig": lambda: {**_p256_public(), "use": "sig"},
    "p256-key-ops-verify": lambda: {**_p256_public(), "key_ops": ["verify"]},
    "p256-alg-es256": lambda: {**_p256_public(), "alg": "ES256"},
    "x25519-use-sig": lambda: {**public_jwk(new_keys()[1]), "use": "sig"},
}


@pytest.mark.requirement("BMDX-SEC-032:beb8e09c61b6bb97")
@pytest.mark.parametrize("recipient", sorted(_SIGNING_RECIPIENTS))
def test_signing_key_not_used_for_agreement(
    adapter: AdapterClient, supports: Callable[[str], None], recipient: str
) -> None:
    """A key MUST be used only for its one purpose: a key declaring use, key_ops or alg
    MUST be rejected for an operation those members do not allow, a signing key MUST NOT
    be used for key agreement, and a key-agreement key MUST NOT be used to verify
    signatures."""
    supports("encrypt")
    control = adapter.call("encrypt", plaintext=b64(b"x"), recipients=[_p256_public()])
    assert control.ok, f"the control encryption was refused: {control.error}"
    answer = adapter.call(
        "encrypt", plaintext=b64(b"x"), recipients=[_SIGNING_RECIPIENTS[recipient]()]
    )
    assert not answer.ok, f"a payload was encrypted to a signing key ({recipient})"
    allowed = {"BMDX-SEC-032", "BMDX-SEC-001"} if recipient == "ed25519" else {"BMDX-SEC-032"}
    assert answer.requirement in allowed, (
        f"the refusal names {answer.requirement}/{answer.reason}, not one of {sorted(allowed)}"
    )


@pytest.mark.requirement("BMDX-SEC-037:229769b0c6e9187c")
@pytest.mark.parametrize("case", ["over-limit", "shared-kid"])
def test_verifier_key_set_limits(
    adapter: AdapterClient, supports: Callable[[str], None], spec_root: Path, case: str
) -> None:
    """A receiver MUST reject a JWK Set that is not an object with a non-empty keys array,
    that holds more keys than the profile's max_jwks_keys, or in which two keys share a
    kid."""
    supports("verify")
    limit = int(load_yaml(spec_root / "security" / "profile.yaml")["keys"]["max_jwks_keys"])
    private, public = _signing_pair()
    signed = sign_object(_DOCUMENT, private)
    if case == "over-limit":
        fillers = [public_jwk(new_keys()[0]) for _ in range(limit - 1)]
        control = adapter.call("verify", document=signed, keys=[public, *fillers])
        assert control.ok, f"a set of {limit} keys was refused: {control.error}"
        keys = [public, *fillers, public_jwk(new_keys()[0])]
    else:
        keys = [public, dict(public)]
    _trusted_key_refused(adapter.call("verify", document=signed, keys=keys), "BMDX-SEC-037")


# Low-order points of Curve25519 (u-coordinates, little-endian): 0, 1, the two points of
# order 8, and p-1, p, p+1 (non-canonical encodings of the same points).  The suite
# checks with pyca that each yields the all-zero shared secret before using it.
_LOW_ORDER = {
    "zero": "00" * 32,
    "one": "01" + "00" * 31,
    "order-8-a": "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "order-8-b": "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "p-minus-1": "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "p": "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "p-plus-1": "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
}


def _low_order(name: str) -> bytes:
    """The point, once pyca confirmed that it yields the all-zero shared secret."""
    point = bytes.fromhex(_LOW_ORDER[name])
    peer = x25519.X25519PublicKey.from_public_bytes(point)
    try:
        x25519.X25519PrivateKey.generate().exchange(peer)
    except ValueError:
        return point
    raise AssertionError(f"suite self-check: {name} is not a low-order point")


def _low_order_jwe(point: bytes, kid: str, plaintext: bytes) -> dict[str, Any]:
    """A JWE whose content key is wrapped under the KEK of the all-zero shared secret.

    RFC 7518 section 4.6: Concat KDF (SHA-256) over Z, with AlgorithmID the alg, empty
    PartyUInfo and PartyVInfo, SuppPubInfo the key length in bits (256).
    """
    alg = b"ECDH-ES+A256KW"
    other = (
        len(alg).to_bytes(4, "big") + alg
        + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
        + (256).to_bytes(4, "big")
    )  # fmt: skip
    kek = ConcatKDFHash(algorithm=hashes.SHA256(), length=32, otherinfo=other).derive(b"\0" * 32)
    cek, iv = os.urandom(32), os.urandom(12)
    protected = _b64url(json.dumps({"enc": "A256GCM"}, separators=(",", ":")).encode())
    sealed = AESGCM(cek).encrypt(iv, plaintext, protected.encode("ascii"))
    epk = {"kty": "OKP", "crv": "X25519", "x": _b64url(point)}
    return {
        "objectType": "Jwe",
        "protected": protected,
        "recipients": [
            {
                "header": {"alg": "ECDH-ES+A256KW", "kid": kid, "epk": epk},
                "encrypted_key": _b64url(aes_key_wrap(kek, cek)),
            }
        ],
        "iv": _b64url(iv),
        "ciphertext": _b64url(sealed[:-16]),
        "tag": _b64url(sealed[-16:]),
    }


@pytest.mark.requirement("BMDX-SEC-035:12365d998961564d")
@pytest.mark.parametrize("point", sorted(_LOW_ORDER))
def test_low_order_x25519_peer_refused(
    adapter: AdapterClient, supports: Callable[[str], None], point: str
) -> None:
    """Before key agreement, an implementation MUST validate the peer's public key as in
    BMDX-SEC-031 and MUST reject an X25519 exchange whose shared secret is all zeros (a
    low-order peer point)."""
    supports("decrypt")
    raw = _low_order(point)
    recipient = new_keys()[1]
    plaintext = b'{"resourceType":"Observation"}'
    token = _low_order_jwe(raw, recipient["kid"], plaintext)
    # Self-check: the token is well formed; with a fresh epk the same construction opens.
    control = adapter.call("decrypt", jwe=_valid_twin(token, recipient, plaintext), key=recipient)
    assert control.ok, f"the suite's control JWE did not decrypt: {control.error}"
    answer = adapter.call("decrypt", jwe=token, key=recipient)
    assert not answer.ok, "a JWE agreed with a low-order peer point was decrypted"
    assert (answer.requirement, answer.reason) == DECRYPT_FAILED


def _valid_twin(
    token: dict[str, Any], recipient: dict[str, Any], plaintext: bytes
) -> dict[str, Any]:
    """The same construction with a fresh ephemeral key agreed with ``recipient``."""
    ephemeral = x25519.X25519PrivateKey.generate()
    peer = x25519.X25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(recipient["x"] + "="))
    shared = ephemeral.exchange(peer)
    alg = b"ECDH-ES+A256KW"
    other = (
        len(alg).to_bytes(4, "big") + alg
        + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
        + (256).to_bytes(4, "big")
    )  # fmt: skip
    kek = ConcatKDFHash(algorithm=hashes.SHA256(), length=32, otherinfo=other).derive(shared)
    cek, iv = os.urandom(32), os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, plaintext, token["protected"].encode("ascii"))
    epk_x = ephemeral.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    twin = copy.deepcopy(token)
    twin["recipients"][0]["header"]["epk"]["x"] = _b64url(epk_x)
    twin["recipients"][0]["encrypted_key"] = _b64url(aes_key_wrap(kek, cek))
    twin["iv"], twin["ciphertext"], twin["tag"] = (
        _b64url(iv),
        _b64url(sealed[:-16]),
        _b64url(sealed[-16:]),
    )
    return twin


@pytest.mark.requirement("BMDX-SEC-035:12365d998961564d")
@pytest.mark.parametrize("point", sorted(_LOW_ORDER))
def test_low_order_x25519_recipient_refused(
    adapter: AdapterClient, supports: Callable[[str], None], point: str
) -> None:
    """Before key agreement, an implementation MUST validate the peer's public key as in
    BMDX-SEC-031 and MUST reject an X25519 exchange whose shared secret is all zeros (a
    low-order peer point)."""
    supports("encrypt")
    peer = {"kty": "OKP", "crv": "X25519", "x": _b64url(_low_order(point))}
    peer["kid"] = jwk.JWK(**peer).thumbprint()
    answer = adapter.call("encrypt", plaintext=b64(b"x"), recipients=[peer])
    assert not answer.ok, "a payload was encrypted to a low-order X25519 key"
    assert answer.requirement in ("BMDX-SEC-035", "BMDX-SEC-031"), (
        f"the refusal names {answer.requirement}/{answer.reason}, not BMDX-SEC-035 "
        "(or the key validation of BMDX-SEC-031)"
    )
