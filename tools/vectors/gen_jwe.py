"""Generate spec/vectors/jwe/: BMDX JWE envelopes and the attacks a receiver must refuse.

Deterministic: every key is derived from a fixed seed, and the content key, IV and
ephemeral keys are injected through ``jwe.Deterministic`` so that the expected JWEs
reproduce byte for byte.  The keys here are public test keys; never use them for data.
Run ``python tools/vectors/gen_jwe.py [OUTDIR]``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, x25519
from jwcrypto.common import json_encode
from jwcrypto.jwk import JWK

from bmdx.reference._internal import jwe
from bmdx.reference._internal.b64 import b64url_decode, b64url_encode

__all__ = ["build", "main", "render"]

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "jwe"

PLAINTEXT = (
    b'{"resourceType":"Observation","status":"final","code":{"coding":[{"system":'
    b'"http://loinc.org","code":"2339-0","display":"Glucose"}]},"valueQuantity":'
    b'{"value":"6.3","unit":"mmol/L"}}'
)
# Points of small order on Curve25519 (the list libsodium refuses), little-endian.
LOW_ORDER_X25519 = {
    "zero": bytes(32),
    "one": (1).to_bytes(32, "little"),
    "order-8-a": bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    "order-8-b": bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    "p-minus-1": (2**255 - 20).to_bytes(32, "little"),
    "p": (2**255 - 19).to_bytes(32, "little"),
}


def _seed(label: str) -> bytes:
    return hashlib.sha256(b"BMDX test vector key " + label.encode()).digest()


def p256_key(label: str) -> JWK:
    scalar = int.from_bytes(_seed(label), "big") % (2**256 - 2**224 - 1) or 1
    private = ec.derive_private_key(scalar, ec.SECP256R1())
    return _with_kid(JWK.from_pyca(private))


def x25519_key(label: str) -> JWK:
    private = x25519.X25519PrivateKey.from_private_bytes(_seed(label))
    return _with_kid(JWK.from_pyca(private))


def _with_kid(key: JWK) -> JWK:
    data = key.export(as_dict=True)
    data["kid"] = key.thumbprint()
    return JWK(**data)


def public(key: JWK) -> dict[str, Any]:
    return key.export_public(as_dict=True)


def private(key: JWK) -> dict[str, Any]:
    return key.export(as_dict=True)


RECIPIENTS = {
    "hospital-p256": p256_key("recipient hospital"),
    "patient-x25519": x25519_key("recipient patient"),
    "lab-p256": p256_key("recipient lab"),
    "insurer-x25519": x25519_key("recipient insurer"),
}
OUTSIDER = p256_key("outsider")
CEK = hashlib.sha256(b"BMDX test vector content key").digest()
IV = hashlib.sha256(b"BMDX test vector iv").digest()[:12]


def ephemeral(label: str, like: JWK) -> JWK:
    return (
        p256_key("ephemeral " + label) if like["kty"] == "EC" else x25519_key("ephemeral " + label)
    )


def fixed(names: list[str], tag: str) -> jwe.Deterministic:
    return jwe.Deterministic(
        cek=CEK,
        iv=IV,
        ephemeral_keys=[ephemeral(f"{tag} {n}", RECIPIENTS[n]) for n in names],
    )


def seal(names: list[str], tag: str, **kwargs: Any) -> dict[str, Any]:
    return jwe.encrypt(
        PLAINTEXT,
        [public(RECIPIENTS[n]) for n in names],
        deterministic=fixed(names, tag),
        **kwargs,
    )


def case(name: str, names: list[str], value: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "recipients": [RECIPIENTS[n]["kid"] for n in names],
        "jwe": value,
    }


def positive() -> list[dict[str, Any]]:
    single_ec = seal(["hospital-p256"], "single-p256")
    single_x = seal(["patient-x25519"], "single-x25519")
    multi = seal(["hospital-p256", "patient-x25519", "lab-p256"], "multi")
    with_cty = seal(["hospital-p256"], "cty", cty="application/fhir+json")
    return [
        case("single-p256", ["hospital-p256"], single_ec, "one P-256 recipient"),
        case("single-x25519", ["patient-x25519"], single_x, "one X25519 recipient"),
        case(
            "multi-recipient",
            ["hospital-p256", "patient-x25519", "lab-p256"],
            multi,
            "three recipients; each decrypts with its own key alone",
        ),
        case("content-type", ["hospital-p256"], with_cty, "cty in the protected header"),
    ]


def lifecycle(multi: dict[str, Any]) -> dict[str, Any]:
    """Re-wrap (add, remove) and shred, starting from the multi-recipient case."""
    holder = private(RECIPIENTS["patient-x25519"])
    added = jwe.add_recipient(
        multi,
        holder,
        public(RECIPIENTS["insurer-x25519"]),
        deterministic=jwe.Deterministic(
            cek=b"",
            iv=b"",
            ephemeral_keys=[ephemeral("rewrap insurer", RECIPIENTS["insurer-x25519"])],
        ),
    )
    removed = jwe.remove_recipient(added, RECIPIENTS["lab-p256"]["kid"])
    return {
        "start": multi,
        "add": {
            "holder": RECIPIENTS["patient-x25519"]["kid"],
            "new_recipient": RECIPIENTS["insurer-x25519"]["kid"],
            "result": added,
        },
        "remove": {"kid": RECIPIENTS["lab-p256"]["kid"], "result": removed},
        "shred": {
            "result": jwe.shred(removed),
            "formerly": [r["header"]["kid"] for r in removed["recipients"]],
        },
    }


# --- attacks ---------------------------------------------------------------------------


def _raw_protected(header: dict[str, Any], names: list[str], tag: str) -> dict[str, Any]:
    """A JWE correctly encrypted under a protected header BMDX forbids."""
    det = fixed(names, tag)
    token = jwe._DeterministicJWE(  # the library, asked for what our encrypt() never does
        PLAINTEXT,
        protected=json_encode(header),
        algs=["ECDH-ES+A256KW", "A256GCM"],
        flattened=False,
        deterministic=det,
    )
    for n in names:
        kid = RECIPIENTS[n]["kid"]
        token.add_recipient(
            JWK(**public(RECIPIENTS[n])), json_encode({"alg": "ECDH-ES+A256KW", "kid": kid})
        )
    out: dict[str, Any] = {"objectType": "Jwe", **json.loads(token.serialize())}
    return out


def _mutate(base: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    out = json.loads(json.dumps(base))
    change(out)
    return out


def _rheader(index: int, **members: Any) -> Callable[[dict[str, Any]], None]:
    def change(value: dict[str, Any]) -> None:
        value["recipients"][index]["header"].update(members)

    return change


def _set(**members: Any) -> Callable[[dict[str, Any]], None]:
    def change(value: dict[str, Any]) -> None:
        value.update(members)

    return change


def _flip_last_byte(member: str) -> Callable[[dict[str, Any]], None]:
    def change(value: dict[str, Any]) -> None:
        raw = bytearray(b64url_decode(value[member]))
        raw[-1] ^= 0x01
        value[member] = b64url_encode(bytes(raw))

    return change


def _flip_wrapped_key(value: dict[str, Any]) -> None:
    raw = bytearray(b64url_decode(value["recipients"][0]["encrypted_key"]))
    raw[0] ^= 0x80
    value["recipients"][0]["encrypted_key"] = b64url_encode(bytes(raw))


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _protected(header: dict[str, Any]) -> str:
    return b64url_encode(json.dumps(header, separators=(",", ":")).encode())


def attacks(single_ec: dict[str, Any], single_x: dict[str, Any]) -> list[dict[str, Any]]:
    ec_kid = RECIPIENTS["hospital-p256"]["kid"]
    x_kid = RECIPIENTS["patient-x25519"]["kid"]
    other_p256 = public(p256_key("attacker"))
    p384 = JWK.from_pyca(
        ec.derive_private_key(int.from_bytes(_seed("p384"), "big"), ec.SECP384R1())
    )
    p384_pub = {k: v for k, v in public(p384).items() if k in ("kty", "crv", "x", "y")}
    epk = single_ec["recipients"][0]["header"]["epk"]
    y = int.from_bytes(b64url_decode(epk["y"]), "big")
    off_curve = dict(epk, y=b64url_encode(((y + 1) % 2**256).to_bytes(32, "big")))
    x_epk = single_x["recipients"][0]["header"]["epk"]
    ephemeral_private = private(ephemeral("single-p256 hospital-p256", RECIPIENTS["hospital-p256"]))

    rows: list[tuple[str, str, str, str, Any, str]] = [
        # name, requirement, reason, decrypting kid, jwe (object or JSON text), description
        (
            "zip-deflate",
            "BMDX-SEC-104",
            "zip-forbidden",
            ec_kid,
            _raw_protected({"enc": "A256GCM", "zip": "DEF"}, ["hospital-p256"], "zip"),
            "correctly encrypted, but with zip DEF in the protected header",
        ),
        (
            "crit-unknown",
            "BMDX-SEC-105",
            "crit-forbidden",
            ec_kid,
            _raw_protected(
                {"enc": "A256GCM", "crit": ["bmdx-x"], "bmdx-x": True}, ["hospital-p256"], "crit"
            ),
            "correctly encrypted, with an unknown critical extension",
        ),
        (
            "embedded-jwk",
            "BMDX-SEC-106",
            "key-reference-forbidden",
            ec_kid,
            _mutate(single_ec, _rheader(0, jwk=other_p256)),
            "a key embedded in the header",
        ),
        (
            "jku",
            "BMDX-SEC-106",
            "key-reference-forbidden",
            ec_kid,
            _mutate(single_ec, _rheader(0, jku="https://attacker.example/keys")),
            "a key URL",
        ),
        (
            "x5u",
            "BMDX-SEC-106",
            "key-reference-forbidden",
            ec_kid,
            _mutate(single_ec, _rheader(0, x5u="https://attacker.example/cert")),
            "a certificate URL",
        ),
        (
            "alg-rsa1_5",
            "BMDX-SEC-101",
            "alg-not-allowed",
            ec_kid,
            _mutate(single_ec, _rheader(0, alg="RSA1_5")),
            "RSA PKCS#1 v1.5 key transport",
        ),
        (
            "alg-pbes2",
            "BMDX-SEC-101",
            "alg-not-allowed",
            ec_kid,
            _mutate(
                single_ec,
                _rheader(0, alg="PBES2-HS256+A128KW", p2s="c2FsdHNhbHRzYWx0", p2c=1000000),
            ),
            "password-based key wrap with a huge iteration count",
        ),
        (
            "alg-none",
            "BMDX-SEC-101",
            "alg-not-allowed",
            ec_kid,
            _mutate(single_ec, _rheader(0, alg="none")),
            "alg none",
        ),
        (
            "alg-dir",
            "BMDX-SEC-101",
            "alg-not-allowed",
            ec_kid,
            _mutate(single_ec, _rheader(0, alg="dir")),
            "direct use of a shared key",
        ),
        (
            "alg-ecdh-es-direct",
            "BMDX-SEC-101",
            "alg-not-allowed",
            ec_kid,
            _mutate(single_ec, _rheader(0, alg="ECDH-ES")),
            "ECDH-ES without key wrap",
        ),
        (
            "alg-a256kw",
            "BMDX-SEC-101",
            "alg-not-allowed",
            ec_kid,
            _mutate(single_ec, _rheader(0, alg="A256KW")),
            "symmetric key wrap",
        ),
        (
            "enc-a128gcm",
            "BMDX-SEC-100",
            "enc-not-allowed",
            ec_kid,
            _mutate(single_ec, _set(protected=_protected({"enc": "A128GCM"}))),
            "a weaker content cipher",
        ),
        (
            "enc-cbc-hs",
            "BMDX-SEC-100",
            "enc-not-allowed",
            ec_kid,
            _mutate(single_ec, _set(protected=_protected({"enc": "A256CBC-HS512"}))),
            "CBC with HMAC",
        ),
        (
            "iv-128-bits",
            "BMDX-SEC-100",
            "iv-length",
            ec_kid,
            _mutate(single_ec, _set(iv=b64url_encode(IV + b"\x00\x00\x00\x00"))),
            "a 128-bit IV",
        ),
        (
            "tag-truncated",
            "BMDX-SEC-100",
            "tag-length",
            ec_kid,
            _mutate(single_ec, lambda v: v.update(tag=b64url_encode(b64url_decode(v["tag"])[:15]))),
            "tag truncated to 120 bits",
        ),
        (
            "tag-truncated-64",
            "BMDX-SEC-100",
            "tag-length",
            ec_kid,
            _mutate(single_ec, lambda v: v.update(tag=b64url_encode(b64url_decode(v["tag"])[:8]))),
            "tag truncated to 64 bits",
        ),
        (
            "tag-modified",
            "BMDX-SEC-118",
            "authentication-failed",
            ec_kid,
            _mutate(single_ec, _flip_last_byte("tag")),
            "one tag bit flipped",
        ),
        (
            "ciphertext-modified",
            "BMDX-SEC-118",
            "authentication-failed",
            ec_kid,
            _mutate(single_ec, _flip_last_byte("ciphertext")),
            "one ciphertext bit flipped",
        ),
        (
            "wrapped-key-modified",
            "BMDX-SEC-118",
            "authentication-failed",
            ec_kid,
            _mutate(single_ec, _flip_wrapped_key),
            "one bit of the wrapped key flipped",
        ),
        (
            "protected-modified",
            "BMDX-SEC-118",
            "authentication-failed",
            ec_kid,
            _mutate(single_ec, _set(protected=_protected({"cty": "text/plain", "enc": "A256GCM"}))),
            "protected header changed after encryption (it is the AAD)",
        ),
        (
            "aad-added",
            "BMDX-SEC-118",
            "authentication-failed",
            ec_kid,
            _mutate(single_ec, _set(aad=b64url_encode(b"injected"))),
            "aad added after encryption",
        ),
        (
            "epk-wrong-curve",
            "BMDX-SEC-102",
            "epk-curve-not-allowed",
            ec_kid,
            _mutate(single_ec, _rheader(0, epk=p384_pub)),
            "epk on P-384",
        ),
        (
            "epk-curve-mismatch",
            "BMDX-SEC-102",
            "epk-curve-mismatch",
            ec_kid,
            _mutate(single_ec, _rheader(0, epk=x_epk)),
            "X25519 epk for a P-256 recipient",
        ),
        (
            "epk-off-curve",
            "BMDX-SEC-102",
            "epk-off-curve",
            ec_kid,
            _mutate(single_ec, _rheader(0, epk=off_curve)),
            "epk y coordinate moved off the curve",
        ),
        (
            "epk-private",
            "BMDX-SEC-102",
            "epk-private",
            ec_kid,
            _mutate(single_ec, _rheader(0, epk=dict(epk, d=ephemeral_private["d"]))),
            "epk carrying its private scalar",
        ),
        (
            "epk-missing",
            "BMDX-SEC-102",
            "epk-missing",
            ec_kid,
            _mutate(single_ec, lambda v: v["recipients"][0]["header"].pop("epk")),
            "no epk",
        ),
        (
            "missing-kid",
            "BMDX-SEC-107",
            "missing-kid",
            ec_kid,
            _mutate(single_ec, lambda v: v["recipients"][0]["header"].pop("kid")),
            "recipient without kid",
        ),
        (
            "duplicate-kid",
            "BMDX-SEC-107",
            "duplicate-recipient",
            ec_kid,
            _mutate(
                single_ec,
                lambda v: v["recipients"].append(json.loads(json.dumps(v["recipients"][0]))),
            ),
            "two recipients with one kid",
        ),
        (
            "header-collision",
            "BMDX-SEC-108",
            "header-collision",
            ec_kid,
            _mutate(single_ec, _set(protected=_protected({"enc": "A256GCM", "kid": ec_kid}))),
            "kid in both the protected and the per-recipient header",
        ),
        (
            "header-unknown-member",
            "BMDX-SEC-108",
            "header-not-allowed",
            ec_kid,
            _mutate(single_ec, _rheader(0, apu="QWxpY2U")),
            "apu is not in the profile",
        ),
        (
            "header-duplicate-name",
            "BMDX-SEC-108",
            "duplicate-header",
            ec_kid,
            _mutate(single_ec, _set(protected=b64url_encode(b'{"enc":"A256GCM","enc":"A128GCM"}'))),
            "the protected header names enc twice",
        ),
        (
            "header-b64-padding",
            "BMDX-SEC-109",
            "bad-base64url",
            ec_kid,
            _mutate(single_ec, lambda v: v.update(iv=v["iv"] + "==")),
            "padded base64url",
        ),
        (
            "b64-non-canonical",
            "BMDX-SEC-109",
            "bad-base64url",
            ec_kid,
            _mutate(
                single_ec,
                lambda v: v.update(tag=v["tag"][:-1] + _B64[_B64.index(v["tag"][-1]) | 1]),
            ),
            "tag with non-zero unused bits in its last character",
        ),
        (
            "b64-alphabet",
            "BMDX-SEC-109",
            "bad-base64url",
            ec_kid,
            _mutate(
                single_ec,
                lambda v: v.update(ciphertext=v["ciphertext"].replace(v["ciphertext"][3], "+", 1)),
            ),
            "standard base64 alphabet instead of base64url",
        ),
        (
            "not-a-recipient",
            "BMDX-SEC-111",
            "no-recipient",
            OUTSIDER["kid"],
            single_ec,
            "decrypted with a key the JWE was not wrapped for",
        ),
        (
            "shredded",
            "BMDX-SEC-113",
            "no-wrapped-keys",
            ec_kid,
            jwe.shred(single_ec),
            "every wrapped key destroyed",
        ),
        (
            "empty-ciphertext",
            "BMDX-SEC-116",
            "empty-payload",
            ec_kid,
            _mutate(single_ec, _set(ciphertext="")),
            "empty payload",
        ),
        (
            "extra-member",
            "BMDX-SEC-117",
            "not-a-jwe",
            ec_kid,
            _mutate(single_ec, _set(unprotected={"cty": "x"})),
            "a shared unprotected header",
        ),
        (
            "too-many-recipients",
            "BMDX-SEC-117",
            "too-many-recipients",
            ec_kid,
            _mutate(single_ec, lambda v: v.update(recipients=v["recipients"] * 33)),
            "33 recipients",
        ),
    ]
    for label, point in LOW_ORDER_X25519.items():
        rows.append(
            (
                f"x25519-low-order-{label}",
                "BMDX-SEC-103",
                "low-order-point",
                x_kid,
                _mutate(
                    single_x,
                    _rheader(0, epk={"kty": "OKP", "crv": "X25519", "x": b64url_encode(point)}),
                ),
                f"X25519 epk of small order ({label})",
            )
        )
    out = []
    for name, requirement, reason, kid, value, description in rows:
        out.append(
            {
                "name": name,
                "description": description,
                "requirement": requirement,
                "reason": reason,
                "key": kid,
                "jwe": value,
            }
        )
    # The outer document itself repeats a member: refused while reading (I-JSON).
    text = json.dumps(single_ec, separators=(",", ":"))
    out.append(
        {
            "name": "outer-duplicate-member",
            "description": "the JWE document names iv twice",
            "requirement": "BMDX-FMT-003",
            "reason": "not-ijson",
            "key": ec_kid,
            "jwe_text": text[:-1] + ',"iv":' + json.dumps(single_ec["iv"]) + "}",
        }
    )
    return out


def build() -> dict[str, Any]:
    cases = positive()
    by_name = {c["name"]: c["jwe"] for c in cases}
    keys = {
        "recipients": {name: private(key) for name, key in RECIPIENTS.items()},
        "outsider": private(OUTSIDER),
    }
    return {
        "keys.json": keys,
        "encrypt.json": {
            "plaintext": PLAINTEXT.decode("utf-8"),
            "plaintextDigest": jwe.plaintext_digest(PLAINTEXT),
            "cek": CEK.hex(),
            "iv": IV.hex(),
            "ephemeral_key_seed": "sha256('BMDX test vector key ephemeral <case> <recipient>')",
            "cases": cases,
        },
        "recipients.json": lifecycle(by_name["multi-recipient"]),
        "attacks.json": {
            "plaintext": PLAINTEXT.decode("utf-8"),
            "plaintextDigest": jwe.plaintext_digest(PLAINTEXT),
            "cases": attacks(by_name["single-p256"], by_name["single-x25519"]),
        },
    }


def render(value: object) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    for name, value in build().items():
        (out / name).write_bytes(render(value))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
