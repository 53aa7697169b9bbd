"""Keys: import checks, thumbprints, storage at rest, key agreement, lifecycle chains."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bmdx.reference._internal.b64 import b64url_decode, b64url_encode
from bmdx.reference._internal.errors import KeyHistoryError, KeyImportError, SignatureError
from bmdx.reference._internal.keyhistory import (
    KeyHistory,
    key_valid_at,
    make_key_revocation,
    make_key_rotation,
)
from bmdx.reference._internal.keys import (
    KeySet,
    derive_shared_secret,
    generate_key,
    import_private_jwk,
    import_public_jwk,
    load_private_pem,
    private_key_to_pem,
    public_key_from_point,
    public_key_from_spki,
    thumbprint,
)
from bmdx.reference._internal.schema import schema_set
from tests import vectors
from tools.vectors import gen_keys

THUMBPRINTS = vectors.load("keys", "thumbprints.json")
CHAINS = vectors.load("keys", "chains.json")
PRIVATE = vectors.load("keys", "private-keys.json")


def _rejected(jwk: Any, reason: str, requirement: str, **kwargs: Any) -> None:
    with pytest.raises(KeyImportError) as info:
        import_public_jwk(jwk, **kwargs)
    assert (info.value.reason, info.value.requirement) == (reason, requirement)


@pytest.mark.requirement("BMDX-SEC-034")
@pytest.mark.parametrize("case", THUMBPRINTS, ids=[c["source"] for c in THUMBPRINTS])
def test_thumbprint_vector(case: dict[str, Any]) -> None:
    assert thumbprint(case["jwk"]) == case["thumbprint"]
    if case["jwk"]["kty"] != "RSA":
        use = "enc" if case["jwk"]["crv"] == "X25519" else "sig"
        assert import_public_jwk(case["jwk"], use=use).kid == case["thumbprint"]


@pytest.mark.requirement("BMDX-SEC-041", "BMDX-SEC-042")
@pytest.mark.parametrize("chain", CHAINS, ids=[c["name"] for c in CHAINS])
def test_chain_vector(chain: dict[str, Any]) -> None:
    verdicts, table = gen_keys.run_chain(chain)
    assert verdicts == [s["expected"] for s in chain["steps"]]
    assert table == chain["validity"]
    for step in chain["steps"]:
        if step["op"] != "register":
            schema_set().validate(step["object"])


def test_committed_vectors_are_what_the_generator_writes() -> None:
    vectors.assert_regenerates("keys", gen_keys.build)


@pytest.mark.requirement("BMDX-SEC-030")
def test_key_types_outside_the_profile() -> None:
    _rejected({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "kty-not-allowed", "BMDX-SEC-030")
    _rejected({"kty": "oct", "k": "AAAA"}, "kty-not-allowed", "BMDX-SEC-030")
    _rejected(
        {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}, "curve-not-allowed", "BMDX-SEC-030"
    )
    _rejected({"kty": "OKP", "crv": "Ed448", "x": "AA"}, "curve-not-allowed", "BMDX-SEC-030")
    _rejected("not a key", "not-a-jwk", "BMDX-SEC-031")


@pytest.mark.requirement("BMDX-SEC-031")
def test_malformed_and_off_curve_keys() -> None:
    good = generate_key("ES256").public.to_jwk()
    x, y = good["x"], good["y"]
    flipped = int.from_bytes(b64url_decode(y), "big") ^ 1
    off_curve = dict(good, y=b64url_encode(flipped.to_bytes(32, "big")))
    off_curve.pop("kid")
    _rejected(off_curve, "invalid-point", "BMDX-SEC-031")
    _rejected(dict(good, x=x + "="), "bad-base64url", "BMDX-SEC-031")
    _rejected(dict(good, x=x[:-3]), "invalid-point", "BMDX-SEC-031")
    _rejected({k: v for k, v in good.items() if k != "y"}, "missing-member", "BMDX-SEC-031")
    _rejected(dict(good, x5c=["MIIB"]), "member-not-allowed", "BMDX-SEC-031")
    ed = generate_key("Ed25519").public.to_jwk()
    _rejected(dict(ed, y=ed["x"]), "member-not-allowed", "BMDX-SEC-031")
    with pytest.raises(KeyImportError) as info:
        public_key_from_point("P-256", bytes.fromhex("02" + "11" * 32))
    assert info.value.reason == "point-encoding"
    pub = ec.generate_private_key(ec.SECP384R1()).public_key()
    der = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyImportError) as info:
        public_key_from_spki(der)
    assert info.value.reason == "curve-not-allowed"


@pytest.mark.requirement("BMDX-SEC-032")
def test_purpose_is_enforced() -> None:
    sig = generate_key("ES256").public.to_jwk()
    _rejected(sig, "use-mismatch", "BMDX-SEC-032", use="enc")
    _rejected(dict(sig, key_ops=["encrypt"]), "key-ops-mismatch", "BMDX-SEC-032")
    _rejected(dict(sig, alg="ES384"), "alg-mismatch", "BMDX-SEC-032")
    _rejected(dict(sig, alg="HS256"), "alg-not-allowed", "BMDX-SEC-032")
    bare = {k: sig[k] for k in ("kty", "crv", "x", "y")}
    _rejected(bare, "use-missing", "BMDX-SEC-032")
    assert import_public_jwk(bare, use="sig").use == "sig"
    assert import_public_jwk(dict(bare, alg="ECDH-ES+A256KW")).use == "enc"
    x = generate_key("X25519").public.to_jwk()
    _rejected(x, "use-mismatch", "BMDX-SEC-032", use="sig")
    _rejected(dict(x, alg="Ed25519"), "alg-mismatch", "BMDX-SEC-032")


@pytest.mark.requirement("BMDX-SEC-033")
def test_private_members_are_refused_in_public_keys() -> None:
    _rejected(PRIVATE["ed1"], "private-member", "BMDX-SEC-033")
    with pytest.raises(KeyImportError) as info:
        KeySet.from_jwks({"keys": [generate_key("Ed25519").public.to_jwk(), PRIVATE["ed2"]]})
    assert info.value.reason == "private-member"


@pytest.mark.requirement("BMDX-SEC-034")
def test_kid_must_be_the_thumbprint() -> None:
    key = generate_key("Ed25519").public
    _rejected(dict(key.to_jwk(), kid="my-key"), "kid-not-thumbprint", "BMDX-SEC-034")
    assert (
        import_public_jwk(dict(key.to_jwk(), kid="my-key"), kid_policy="declared").kid == "my-key"
    )
    registered = key.to_public_key_object()
    schema_set().validate(registered)
    assert import_public_jwk(registered).kid == key.kid == registered["kid"]


@pytest.mark.requirement("BMDX-SEC-037")
def test_key_sets() -> None:
    a, b = generate_key("Ed25519").public, generate_key("ES256").public
    keys = KeySet.from_jwks({"keys": [a.to_jwk(), b.to_jwk()]})
    assert set(keys) == {a.kid, b.kid}
    assert KeySet.from_jwks(keys.to_jwks()).to_jwks() == keys.to_jwks()
    for bad, reason in (
        ({"keys": []}, "not-a-jwks"),
        ({"keys": [a.to_jwk(), a.to_jwk()]}, "duplicate-kid"),
        ([a.to_jwk()], "not-a-jwks"),
        ({"keys": [a.to_jwk()] * 65}, "too-many-keys"),
    ):
        with pytest.raises(KeyImportError) as info:
            KeySet.from_jwks(bad)
        assert (info.value.reason, info.value.requirement) == (reason, "BMDX-SEC-037")


@pytest.mark.requirement("BMDX-SEC-036")
@pytest.mark.parametrize("name", ["ES256", "Ed25519", "P-256", "X25519"])
def test_private_keys_at_rest(name: str) -> None:
    key = generate_key(name)
    use = key.public.use
    pem = private_key_to_pem(key, b"correct horse")
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert load_private_pem(pem, passphrase=b"correct horse", use=use).public == key.public  # type: ignore[arg-type]
    for passphrase, reason in ((None, "passphrase-required"), (b"wrong", "passphrase")):
        with pytest.raises(KeyImportError) as info:
            load_private_pem(pem, passphrase=passphrase, use=use)  # type: ignore[arg-type]
        assert (info.value.reason, info.value.requirement) == (reason, "BMDX-SEC-036")
    plain = private_key_to_pem(key)
    assert b"BEGIN PRIVATE KEY" in plain
    assert load_private_pem(plain, use=use).kid == key.kid  # type: ignore[arg-type]


def test_private_jwk_must_match_its_public_half() -> None:
    mixed = dict(PRIVATE["ed1"], x=PRIVATE["ed2"]["x"])
    with pytest.raises(KeyImportError) as info:
        import_private_jwk(mixed)
    assert info.value.reason == "key-mismatch"


@pytest.mark.requirement("BMDX-SEC-035")
def test_key_agreement() -> None:
    a, b = generate_key("X25519"), generate_key("X25519")
    assert derive_shared_secret(a, b.public) == derive_shared_secret(b, a.public)
    with pytest.raises(KeyImportError) as info:
        derive_shared_secret(a, generate_key("P-256").public)
    assert info.value.reason == "curve-mismatch"
    with pytest.raises(KeyImportError) as info:
        derive_shared_secret(generate_key("Ed25519"), b.public)
    assert info.value.reason == "use-mismatch"
    low_order = public_key_from_point("X25519", bytes(32), use="enc")
    with pytest.raises(KeyImportError) as info:
        derive_shared_secret(a, low_order)
    assert (info.value.reason, info.value.requirement) == ("low-order-point", "BMDX-SEC-035")


PARTICIPANT = "urn:bmdx:participant:test"


@pytest.mark.requirement("BMDX-SEC-040", "BMDX-SEC-041")
def test_rotation_semantics_and_state_unchanged_on_refusal() -> None:
    old, new, other = (generate_key("Ed25519") for _ in range(3))
    history = KeyHistory()
    history.register(PARTICIPANT, old.public, 5)
    forged = make_key_rotation(PARTICIPANT, other, new.public, 10)
    forged["oldKid"] = old.kid
    with pytest.raises(SignatureError):
        history.apply_rotation(forged)
    assert list(history) == [old.kid]
    assert key_valid_at(old.kid, 100, history)
    history.apply_rotation(make_key_rotation(PARTICIPANT, old, new.public, 10))
    assert [key_valid_at(old.kid, h, history) for h in (4, 5, 9, 10)] == [False, True, True, False]
    assert [key_valid_at(new.kid, h, history) for h in (9, 10, 10**6)] == [False, True, True]
    assert set(history.keys_at(9)) == {old.kid}
    assert set(history.keys_at(10)) == {new.kid}
    assert not key_valid_at("unknown", 10, history)


@pytest.mark.requirement("BMDX-SEC-043", "BMDX-SEC-044", "BMDX-SEC-045")
def test_revocation_rules() -> None:
    a, b, stranger = (generate_key("Ed25519") for _ in range(3))
    history = KeyHistory()
    history.register(PARTICIPANT, a.public, 0)
    history.register(PARTICIPANT, b.public, 0)
    history.register("urn:bmdx:participant:other", stranger.public, 0)
    with pytest.raises(SignatureError) as info:
        history.apply_revocation(
            make_key_revocation(PARTICIPANT, a.kid, 3, "compromised", stranger)
        )
    assert info.value.reason == "unknown-kid"
    with pytest.raises(KeyHistoryError) as e:
        history.apply_revocation(
            make_key_revocation(PARTICIPANT, a.kid, 3, "compromised", b), included_at=4
        )
    assert (e.value.reason, e.value.requirement) == ("retroactive", "BMDX-SEC-045")
    history.apply_revocation(make_key_revocation(PARTICIPANT, a.kid, 3, "compromised", b))
    assert [key_valid_at(a.kid, h, history) for h in (2, 3)] == [True, False]
    with pytest.raises(KeyHistoryError) as e:
        history.register(PARTICIPANT, a.public, 10)
    assert (e.value.reason, e.value.requirement) == ("kid-reused", "BMDX-SEC-044")
    with pytest.raises(KeyHistoryError) as e:
        history.apply_rotation(make_key_rotation(PARTICIPANT, b, a.public, 10))
    assert e.value.reason == "kid-reused"
