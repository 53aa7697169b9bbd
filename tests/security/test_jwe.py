"""JWE envelopes: encryption, several recipients, re-wrapping, shredding, vectors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jwcrypto.common import json_encode
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK

from bmdx.reference._internal import jwe
from bmdx.reference._internal.errors import DecryptionError, UsageError
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.specdata import spec_dir

VECTORS = spec_dir() / "vectors" / "jwe"
REPO = Path(__file__).resolve().parents[2]


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_bytes())


@pytest.fixture(scope="module")
def keys() -> dict[str, dict[str, Any]]:
    data = load("keys.json")
    out = {k["kid"]: k for k in data["recipients"].values()}
    out[data["outsider"]["kid"]] = data["outsider"]
    return out


def fresh(kty: str, crv: str) -> dict[str, Any]:
    return JWK.generate(kty=kty, crv=crv).export(as_dict=True)


def public(key: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in key.items() if k != "d"}


def test_library_decrypts_multi_recipient_jwe_with_one_key() -> None:
    """jwcrypto opens a several-recipient JWE given only one recipient's key."""
    a, b = JWK.generate(kty="EC", crv="P-256"), JWK.generate(kty="OKP", crv="X25519")
    token = JWE(b"payload", protected=json_encode({"enc": "A256GCM"}), flattened=False)
    token.add_recipient(a.public(), {"alg": "ECDH-ES+A256KW"})
    token.add_recipient(b.public(), {"alg": "ECDH-ES+A256KW"})
    for key in (a, b):
        reader = JWE()
        reader.deserialize(token.serialize(), key)
        assert reader.payload == b"payload"


@pytest.mark.requirement("BMDX-SEC-111")
def test_round_trip_each_recipient_alone() -> None:
    ec, x = fresh("EC", "P-256"), fresh("OKP", "X25519")
    value = jwe.encrypt(b"record bytes", [public(ec), public(x)])
    assert jwe.decrypt(value, ec) == b"record bytes"
    assert jwe.decrypt(value, x) == b"record bytes"
    assert [r["header"]["kid"] for r in value["recipients"]] == [
        jwe.recipient_kid(ec),
        jwe.recipient_kid(x),
    ]


def test_output_is_a_valid_jwe_document() -> None:
    value = jwe.encrypt(b"x", [public(fresh("EC", "P-256")), public(fresh("OKP", "X25519"))])
    schema_set().validate(value)


@pytest.mark.requirement("BMDX-SEC-115")
def test_every_encryption_is_fresh() -> None:
    key = fresh("EC", "P-256")
    one, two = (jwe.encrypt(b"same", [public(key)]) for _ in range(2))
    assert one["iv"] != two["iv"]
    assert one["recipients"][0]["encrypted_key"] != two["recipients"][0]["encrypted_key"]
    assert one["recipients"][0]["header"]["epk"] != two["recipients"][0]["header"]["epk"]


@pytest.mark.requirement("BMDX-SEC-110")
def test_plaintext_digest_is_checked() -> None:
    key = fresh("OKP", "X25519")
    value = jwe.encrypt(b"signed content", [public(key)])
    good = jwe.plaintext_digest(b"signed content")
    assert jwe.decrypt(value, key, expected_digest=good) == b"signed content"
    with pytest.raises(DecryptionError) as info:
        jwe.decrypt(value, key, expected_digest=jwe.plaintext_digest(b"other content"))
    assert (info.value.reason, info.value.violated) == ("digest-mismatch", "BMDX-SEC-110")
    with pytest.raises(DecryptionError) as info:
        jwe.decrypt(value, key, expected_digest="sha-256:ABC")
    assert info.value.reason == "digest-malformed"


@pytest.mark.requirement("BMDX-SEC-116")
def test_empty_payload_is_refused() -> None:
    with pytest.raises(UsageError) as info:
        jwe.encrypt(b"", [public(fresh("EC", "P-256"))])
    assert (info.value.reason, info.value.requirement) == ("empty-payload", "BMDX-SEC-116")


@pytest.mark.requirement("BMDX-SEC-112")
def test_rewrap_leaves_the_ciphertext_alone() -> None:
    a, b, c = fresh("EC", "P-256"), fresh("OKP", "X25519"), fresh("EC", "P-256")
    value = jwe.encrypt(b"payload", [public(a), public(b)])
    added = jwe.add_recipient(value, b, public(c))
    assert jwe.decrypt(added, c) == b"payload"
    removed = jwe.remove_recipient(added, jwe.recipient_kid(a))
    for changed in (added, removed):
        for member in ("protected", "iv", "ciphertext", "tag"):
            assert changed[member] == value[member]
    with pytest.raises(DecryptionError) as info:
        jwe.decrypt(removed, a)
    assert (info.value.reason, info.value.violated) == ("no-recipient", "BMDX-SEC-111")
    assert jwe.decrypt(removed, c) == b"payload"
    assert len(value["recipients"]) == 2  # inputs untouched


def test_only_a_holder_can_add_a_recipient() -> None:
    a, outsider, c = fresh("EC", "P-256"), fresh("EC", "P-256"), fresh("OKP", "X25519")
    value = jwe.encrypt(b"payload", [public(a)])
    with pytest.raises(DecryptionError) as info:
        jwe.add_recipient(value, outsider, public(c))
    assert info.value.reason == "no-recipient"


def test_remove_recipient_errors() -> None:
    a = fresh("EC", "P-256")
    value = jwe.encrypt(b"payload", [public(a)])
    with pytest.raises(UsageError) as info:
        jwe.remove_recipient(value, jwe.recipient_kid(a))
    assert info.value.reason == "last-recipient"
    with pytest.raises(UsageError) as info:
        jwe.remove_recipient(value, "nobody")
    assert info.value.reason == "no-such-recipient"


@pytest.mark.requirement("BMDX-SEC-113")
def test_shredding_destroys_every_wrap() -> None:
    a, b = fresh("EC", "P-256"), fresh("OKP", "X25519")
    value = jwe.encrypt(b"erase me", [public(a), public(b)])
    shredded = jwe.shred(value)
    assert shredded["recipients"] == []
    assert shredded["ciphertext"] == value["ciphertext"]
    for key in (a, b):
        with pytest.raises(DecryptionError) as info:
            jwe.decrypt(shredded, key)
        assert (info.value.reason, info.value.violated) == ("no-wrapped-keys", "BMDX-SEC-113")


# --- normative vectors ----------------------------------------------------------------


def encrypt_cases() -> list[dict[str, Any]]:
    return list(load("encrypt.json")["cases"])


@pytest.mark.requirement("BMDX-SEC-111")
@pytest.mark.parametrize("case", encrypt_cases(), ids=lambda c: c["name"])
def test_vector_decrypts_for_every_recipient(
    case: dict[str, Any], keys: dict[str, dict[str, Any]]
) -> None:
    data = load("encrypt.json")
    for kid in case["recipients"]:
        plaintext = jwe.decrypt(case["jwe"], keys[kid], expected_digest=data["plaintextDigest"])
        assert plaintext == data["plaintext"].encode("utf-8")
    schema_set().validate(case["jwe"])


@pytest.mark.requirement("BMDX-SEC-112", "BMDX-SEC-113")
def test_recipient_lifecycle_vectors(keys: dict[str, dict[str, Any]]) -> None:
    data, plaintext = load("recipients.json"), load("encrypt.json")["plaintext"].encode()
    start, added = data["start"], data["add"]["result"]
    removed, shredded = data["remove"]["result"], data["shred"]["result"]
    for value in (added, removed, shredded):
        assert {m: value[m] for m in ("protected", "iv", "ciphertext", "tag")} == {
            m: start[m] for m in ("protected", "iv", "ciphertext", "tag")
        }
    assert jwe.decrypt(added, keys[data["add"]["new_recipient"]]) == plaintext
    assert data["remove"]["kid"] not in [r["header"]["kid"] for r in removed["recipients"]]
    with pytest.raises(DecryptionError):
        jwe.decrypt(removed, keys[data["remove"]["kid"]])
    assert shredded["recipients"] == []
    for kid in data["shred"]["formerly"]:
        with pytest.raises(DecryptionError):
            jwe.decrypt(shredded, keys[kid])


def test_vectors_regenerate_identically(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "vectors" / "gen_jwe.py"), str(tmp_path)],
        check=True,
        cwd=REPO,
    )
    for name in ("keys.json", "encrypt.json", "recipients.json", "attacks.json"):
        assert (tmp_path / name).read_bytes() == (VECTORS / name).read_bytes(), name
