"""Payload encryption: spec/vectors/jwe, a round trip through jwcrypto, tampering."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from jwcrypto import jwe, jwk
from jwcrypto.common import base64url_decode, base64url_encode

from bmdx.conformance._internal.adapter_client import AdapterClient, Response
from bmdx.conformance.suite._spec import b64, unb64, vector_json

UNIFORM = ("BMDX-SEC-114", "decryption-failed")

_BREAKS = {
    "BMDX-FMT-003": pytest.mark.requirement(
        "BMDX-FMT-003:9277a5a4ffed4cc5", "BMDX-SEC-108:cd614beeacdc1abd"
    ),
    "BMDX-SEC-100": pytest.mark.requirement("BMDX-SEC-100:23ba013b3c8ae9e5"),
    "BMDX-SEC-101": pytest.mark.requirement(
        "BMDX-SEC-101:73b6befbc90c4504", "BMDX-SEC-002:4b672568e4fbfd25"
    ),
    "BMDX-SEC-102": pytest.mark.requirement("BMDX-SEC-102:6bc074dc638b3976"),
    "BMDX-SEC-103": pytest.mark.requirement("BMDX-SEC-103:7f0f7969138f6a64"),
    "BMDX-SEC-104": pytest.mark.requirement(
        "BMDX-SEC-104:b4242216bd82fed9", "BMDX-SEC-023:56d8670bbfaa6d99"
    ),
    "BMDX-SEC-105": pytest.mark.requirement("BMDX-SEC-105:fa1f36a2f9a7a6af"),
    "BMDX-SEC-106": pytest.mark.requirement("BMDX-SEC-106:9fc3e2fb29c9e371"),
    "BMDX-SEC-107": pytest.mark.requirement("BMDX-SEC-107:7743857bffeb7be4"),
    "BMDX-SEC-108": pytest.mark.requirement("BMDX-SEC-108:cd614beeacdc1abd"),
    "BMDX-SEC-109": pytest.mark.requirement("BMDX-SEC-109:e2a7f8d5c41b76fc"),
    "BMDX-SEC-111": pytest.mark.requirement("BMDX-SEC-111:e5b37acc886a9aed"),
    "BMDX-SEC-113": pytest.mark.requirement("BMDX-SEC-113:d2abecc673c764b6"),
    "BMDX-SEC-116": pytest.mark.requirement("BMDX-SEC-116:b5ac14148fa3a7ec"),
    "BMDX-SEC-117": pytest.mark.requirement("BMDX-SEC-117:acafdfb48e0206df"),
    "BMDX-SEC-118": pytest.mark.requirement("BMDX-SEC-118:2bec4fe712d14972"),
}


def _keys_by_kid() -> dict[str, dict[str, Any]]:
    keys = vector_json("jwe", "keys.json")
    found = {k["kid"]: k for k in keys["recipients"].values()}
    found[keys["outsider"]["kid"]] = keys["outsider"]
    return found


def _public(private: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in private.items() if k != "d"}


def _assert_uniform_refusal(response: Response) -> None:
    assert not response.ok, "a JWE outside the profile was decrypted"
    assert (response.requirement, response.reason) == UNIFORM


def _encrypt_cases() -> list[Any]:
    data = vector_json("jwe", "encrypt.json")
    out = [
        pytest.param(case, kid, id=f"{case['name']}/{kid[:8]}")
        for case in data["cases"]
        for kid in case["recipients"]
    ]
    if not out:
        raise RuntimeError("no JWE vectors in the spec: zero vectors would run")
    return out


@pytest.mark.requirement(
    "BMDX-ADP-026:a32a8db0819ee8b2",
    "BMDX-SEC-111:e5b37acc886a9aed",
    "BMDX-SEC-110:922adb613264aaa3",
)
@pytest.mark.parametrize(("case", "kid"), _encrypt_cases())
def test_decrypt_vectors(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any], kid: str
) -> None:
    """A payload for several recipients MUST be encrypted once, with the content key
    wrapped separately for each recipient, so that each recipient decrypts it with its own
    private key alone."""
    supports("decrypt")
    data = vector_json("jwe", "encrypt.json")
    plaintext = data["plaintext"].encode()
    key = _keys_by_kid()[kid]
    response = adapter.call(
        "decrypt", jwe=case["jwe"], key=key, plaintextDigest=data["plaintextDigest"]
    )
    assert response.ok, response.error
    assert unb64(response.result["plaintext"]) == plaintext
    # The digest is checked: the same JWE against another digest is refused.
    wrong = "sha-256:" + "0" * 64
    _assert_uniform_refusal(
        adapter.call("decrypt", jwe=case["jwe"], key=key, plaintextDigest=wrong)
    )


def _attack_cases() -> list[Any]:
    out = [
        pytest.param(
            case,
            id=case["name"],
            marks=[
                _BREAKS[case["requirement"]],
                pytest.mark.requirement("BMDX-ADP-015:e31776740ff52c55"),
            ],
        )
        for case in vector_json("jwe", "attacks.json")["cases"]
    ]
    if not out:
        raise RuntimeError("no JWE attack vectors in the spec: zero vectors would run")
    return out


@pytest.mark.requirement("BMDX-SEC-114:f8f88492d9cd4eaf")
@pytest.mark.parametrize("case", _attack_cases())
def test_jwe_attacks_are_refused(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """A party that fails to decrypt a JWE MUST report the failure identically to remote
    parties whatever check failed (header profile, key agreement, key unwrap, tag, or
    plaintext digest), with the same status and the same response body."""
    supports("decrypt")
    key = _keys_by_kid()[case["key"]]
    if "jwe_text" in case:
        response = adapter.call("decrypt", jweText=b64(case["jwe_text"].encode()), key=key)
    else:
        response = adapter.call("decrypt", jwe=case["jwe"], key=key)
    _assert_uniform_refusal(response)


@pytest.mark.requirement("BMDX-SEC-112:a24f0b7572e13a24", "BMDX-SEC-113:d2abecc673c764b6")
def test_rewrap_and_shred_vectors(adapter: AdapterClient, supports: Callable[[str], None]) -> None:
    """Adding or removing a recipient of a stored payload MUST change only the recipients
    of its JWE and MUST leave the protected header, IV, ciphertext and tag byte-for-byte
    unchanged; erasure MUST destroy every wrapped content key, after which no participant
    key decrypts it."""
    supports("decrypt")
    data = vector_json("jwe", "recipients.json")
    plaintext = vector_json("jwe", "encrypt.json")["plaintext"].encode()
    keys = _keys_by_kid()
    start = data["start"]
    for step in ("add", "remove"):
        result = data[step]["result"]
        for member in ("protected", "iv", "ciphertext", "tag"):
            assert result[member] == start[member]
        for recipient in result["recipients"]:
            kid = recipient["header"]["kid"]
            answer = adapter.call("decrypt", jwe=result, key=keys[kid])
            assert answer.ok, answer.error
            assert unb64(answer.result["plaintext"]) == plaintext
    removed = data["remove"]["kid"]
    _assert_uniform_refusal(
        adapter.call("decrypt", jwe=data["remove"]["result"], key=keys[removed])
    )
    for kid in data["shred"]["formerly"]:
        _assert_uniform_refusal(adapter.call("decrypt", jwe=data["shred"]["result"], key=keys[kid]))


def _recipient_keys() -> list[dict[str, Any]]:
    return list(vector_json("jwe", "keys.json")["recipients"].values())


@pytest.mark.requirement(
    "BMDX-ADP-025:354dd389115ef171",
    "BMDX-SEC-100:23ba013b3c8ae9e5",
    "BMDX-SEC-101:73b6befbc90c4504",
    "BMDX-SEC-107:7743857bffeb7be4",
    "BMDX-SEC-111:e5b37acc886a9aed",
)
def test_encrypt_round_trip(adapter: AdapterClient, supports: Callable[[str], None]) -> None:
    """Every recipient of a JWE MUST use the key management algorithm ECDH-ES+A256KW, the
    content encryption MUST be A256GCM with a 96-bit IV and a 128-bit tag, and each
    recipient decrypts the one ciphertext with its own private key alone."""
    supports("encrypt")
    plaintext = b'{"resourceType":"Observation","status":"final"}'
    recipients = _recipient_keys()
    response = adapter.call(
        "encrypt",
        plaintext=b64(plaintext),
        recipients=[_public(k) for k in recipients],
        cty="application/fhir+json",
    )
    assert response.ok, response.error
    token = response.result["jwe"]
    protected = json.loads(base64url_decode(token["protected"]))
    assert protected["enc"] == "A256GCM"
    assert len(base64url_decode(token["iv"])) == 12
    assert len(base64url_decode(token["tag"])) == 16
    assert len(token["recipients"]) == len(recipients)
    kids = [r["header"]["kid"] for r in token["recipients"]]
    assert sorted(kids) == sorted(k["kid"] for k in recipients)
    for recipient in token["recipients"]:
        assert recipient["header"]["alg"] == "ECDH-ES+A256KW"
        assert len(base64url_decode(recipient["encrypted_key"])) == 40
    # Third-party oracle: jwcrypto decrypts each recipient's copy with that key alone.
    for private in recipients:
        mine = [r for r in token["recipients"] if r["header"]["kid"] == private["kid"]]
        single = {k: v for k, v in token.items() if k not in {"objectType", "recipients"}}
        single["recipients"] = mine
        opened = jwe.JWE()
        opened.deserialize(json.dumps(single), key=jwk.JWK(**private))
        assert opened.payload == plaintext


@pytest.mark.requirement("BMDX-SEC-115:33af434aeab0c296")
def test_every_encryption_is_fresh(adapter: AdapterClient, supports: Callable[[str], None]) -> None:
    """Every encryption MUST draw a fresh random content key and a fresh random 96-bit IV,
    and every recipient wrap MUST use a fresh ephemeral key pair, so that two encryptions
    of the same payload to the same recipients share no content key, IV or ephemeral key."""
    supports("encrypt")
    recipients = [_public(k) for k in _recipient_keys()]
    tokens = [
        adapter.call("encrypt", plaintext=b64(b"same payload"), recipients=recipients).result["jwe"]
        for _ in range(2)
    ]
    assert tokens[0]["iv"] != tokens[1]["iv"]
    assert tokens[0]["ciphertext"] != tokens[1]["ciphertext"]
    epks = [json.dumps(r["header"]["epk"], sort_keys=True) for t in tokens for r in t["recipients"]]
    assert len(set(epks)) == len(epks)


@pytest.mark.requirement(
    "BMDX-SEC-118:2bec4fe712d14972",
    "BMDX-SEC-114:f8f88492d9cd4eaf",
    "BMDX-ADP-015:e31776740ff52c55",
)
@pytest.mark.parametrize("member", ["tag", "ciphertext", "iv", "protected"])
def test_tampering_is_refused(
    adapter: AdapterClient, supports: Callable[[str], None], member: str
) -> None:
    """A receiver MUST reject a JWE whose wrapped content key fails the AES key wrap
    integrity check or whose ciphertext, protected header or aad fails the AES-GCM tag
    check, and MUST NOT release any part of the plaintext before both checks passed."""
    for cmd in ("encrypt", "decrypt"):
        supports(cmd)
    private = _recipient_keys()[0]
    token = adapter.call(
        "encrypt", plaintext=b64(b"tamper with me"), recipients=[_public(private)]
    ).result["jwe"]
    if member == "protected":
        header = json.loads(base64url_decode(token["protected"]))
        header["cty"] = "text/plain"
        token[member] = base64url_encode(json.dumps(header, separators=(",", ":")))
    else:
        raw = bytearray(base64url_decode(token[member]))
        raw[-1] ^= 0x01
        token[member] = base64url_encode(bytes(raw))
    _assert_uniform_refusal(adapter.call("decrypt", jwe=token, key=private))


@pytest.mark.requirement("BMDX-SEC-116:b5ac14148fa3a7ec")
def test_empty_payload_is_not_encrypted(
    adapter: AdapterClient, supports: Callable[[str], None]
) -> None:
    """A record payload MUST be at least one byte long."""
    supports("encrypt")
    response = adapter.call("encrypt", plaintext="", recipients=[_public(_recipient_keys()[0])])
    assert not response.ok
    assert response.requirement == "BMDX-SEC-116"
