"""Generate spec/vectors/keys/: RFC 7638 thumbprints and key lifecycle chains.

``thumbprints.json``: JWKs and their RFC 7638 SHA-256 thumbprints, starting with the
two published in RFCs (RFC 7638 section 3.1, RSA; RFC 8037 appendix A.3, Ed25519)
and continuing with the fixed keys used by the BMDX vectors.

``chains.json``: key histories.  Each chain is a list of steps applied in order
(``register``, ``rotation``, ``revocation``), each with the verdict a ledger must
reach (accepted, or rejected with the error class, requirement and reason), then a
table of (kid, height, valid) a verifier must reproduce.  Keys are the published
test keys of RFC 8032 section 7.1 (Ed25519, TESTs 1-3), RFC 6979 A.2.5 (P-256) and
RFC 7748 section 6.1 (X25519), so every signature here is deterministic.

Run ``python tools/vectors/gen_keys.py [OUTDIR]``.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

from bmdx.reference._internal import ijson
from bmdx.reference._internal.b64 import b64url_encode
from bmdx.reference._internal.errors import BmdxError
from bmdx.reference._internal.keyhistory import (
    KeyHistory,
    make_key_revocation,
    make_key_rotation,
)
from bmdx.reference._internal.keys import (
    PrivateKey,
    import_private_jwk,
    import_public_jwk,
    thumbprint,
)
from bmdx.reference._internal.signing import sign_document

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "keys"

RFC7638_RSA = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6t"
    "Soc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGj"
    "QR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFT"
    "WhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
RFC8037_ED25519 = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def _okp(crv: str, d: str, x: str) -> dict[str, str]:
    return {"kty": "OKP", "crv": crv, "d": _b(d), "x": _b(x)}


def _b(hexstr: str) -> str:
    return b64url_encode(bytes.fromhex(hexstr))


PRIVATE = {
    "ed1": _okp(
        "Ed25519",
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    ),
    "ed2": _okp(
        "Ed25519",
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    ),
    "ed3": _okp(
        "Ed25519",
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    ),
    "p256": {
        "kty": "EC",
        "crv": "P-256",
        "d": _b("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"),
        "x": _b("60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"),
        "y": _b("7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"),
    },
    "x1": _okp(
        "X25519",
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
    ),
    "x2": _okp(
        "X25519",
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
    ),
}
HOSPITAL = "urn:bmdx:participant:hopital-saint-eloi"
LAB = "urn:bmdx:participant:labo-central"


def _keys() -> dict[str, PrivateKey]:
    return {
        name: import_private_jwk(jwk, use="enc" if jwk["crv"] == "X25519" else "sig")
        for name, jwk in PRIVATE.items()
    }


def _register(participant: str, key: PrivateKey, height: int) -> dict[str, Any]:
    return {
        "op": "register",
        "participant": participant,
        "key": key.public.to_public_key_object(),
        "height": height,
        "expected": {"accepted": True},
    }


def _step(op: str, obj: dict[str, Any], included_at: int | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {"op": op, "object": obj}
    if included_at is not None:
        step["included_at"] = included_at
    return step


def _chains(k: dict[str, PrivateKey]) -> list[dict[str, Any]]:
    ed1, ed2, ed3, p256, x1, x2 = (k[n] for n in ("ed1", "ed2", "ed3", "p256", "x1", "x2"))
    rotation = make_key_rotation(HOSPITAL, ed1, ed2.public, 10)
    tampered = copy.deepcopy(rotation)
    tampered["effectiveHeight"] = 5
    return [
        {
            "name": "rotate-then-revoke",
            "description": "ed1 rotates to ed2 at 10; ed2 is revoked at 20 by the hospital's "
            "other signing key (p256).",
            "steps": [
                _register(HOSPITAL, ed1, 0),
                _register(HOSPITAL, p256, 0),
                _step("rotation", rotation, included_at=8),
                _step(
                    "revocation",
                    make_key_revocation(HOSPITAL, ed2.kid, 20, "compromised", p256),
                    included_at=15,
                ),
            ],
            "validity": [
                [ed1.kid, 0, True],
                [ed1.kid, 9, True],
                [ed1.kid, 10, False],
                [ed2.kid, 9, False],
                [ed2.kid, 10, True],
                [ed2.kid, 19, True],
                [ed2.kid, 20, False],
                [p256.kid, 1000, True],
            ],
        },
        {
            "name": "self-revocation-then-chain",
            "description": "ed1 rotates to ed2 at 5 and ed2 to ed3 at 12; ed3 revokes itself "
            "(retired) at 30.",
            "steps": [
                _register(HOSPITAL, ed1, 0),
                _step("rotation", make_key_rotation(HOSPITAL, ed1, ed2.public, 5)),
                _step("rotation", make_key_rotation(HOSPITAL, ed2, ed3.public, 12)),
                _step("revocation", make_key_revocation(HOSPITAL, ed3.kid, 30, "retired", ed3)),
            ],
            "validity": [
                [ed1.kid, 4, True],
                [ed1.kid, 5, False],
                [ed2.kid, 5, True],
                [ed2.kid, 11, True],
                [ed2.kid, 12, False],
                [ed3.kid, 12, True],
                [ed3.kid, 29, True],
                [ed3.kid, 30, False],
            ],
        },
        {
            "name": "encryption-key-rotation",
            "description": "The X25519 key x1 rotates to x2 at 7, vouched for by the hospital's "
            "signing key (a key-agreement key cannot sign).",
            "steps": [
                _register(HOSPITAL, ed1, 0),
                _register(HOSPITAL, x1, 0),
                _step(
                    "rotation",
                    _rotation_signed_by(HOSPITAL, x1, x2, 7, ed1),
                ),
            ],
            "validity": [[x1.kid, 6, True], [x1.kid, 7, False], [x2.kid, 7, True]],
        },
        {
            "name": "rejections",
            "description": "Rotations and revocations a ledger must refuse; state is unchanged "
            "by each refusal.",
            "steps": [
                _register(HOSPITAL, ed1, 0),
                _register(HOSPITAL, p256, 0),
                _register(LAB, ed3, 0),
                _fails(
                    _step("rotation", _rotation_signed_by(HOSPITAL, ed1, ed2, 10, p256)),
                    "SignatureError",
                    "BMDX-SEC-010",
                    "unknown-kid",
                ),
                _fails(
                    _step("rotation", tampered),
                    "SignatureError",
                    "BMDX-SEC-010",
                    "signature-mismatch",
                ),
                _fails(
                    _step(
                        "rotation", make_key_rotation(HOSPITAL, ed1, ed2.public, 10), included_at=11
                    ),
                    "KeyHistoryError",
                    "BMDX-SEC-045",
                    "retroactive",
                ),
                _fails(
                    _step("rotation", make_key_rotation(LAB, ed1, ed2.public, 10)),
                    "KeyHistoryError",
                    "BMDX-SEC-040",
                    "unknown-key",
                ),
                _fails(
                    _step("rotation", make_key_rotation(HOSPITAL, ed1, ed3.public, 10)),
                    "KeyHistoryError",
                    "BMDX-SEC-044",
                    "kid-reused",
                ),
                _fails(
                    _step(
                        "revocation", make_key_revocation(HOSPITAL, ed1.kid, 10, "compromised", ed3)
                    ),
                    "SignatureError",
                    "BMDX-SEC-010",
                    "unknown-kid",
                ),
                _step("rotation", rotation),
                _fails(
                    _step("rotation", make_key_rotation(HOSPITAL, ed1, ed3.public, 15)),
                    "KeyHistoryError",
                    "BMDX-SEC-040",
                    "key-not-valid",
                ),
                _step("revocation", make_key_revocation(HOSPITAL, ed2.kid, 20, "retired", ed2)),
                _fails(
                    _step(
                        "revocation",
                        make_key_revocation(HOSPITAL, ed2.kid, 25, "compromised", p256),
                    ),
                    "KeyHistoryError",
                    "BMDX-SEC-042",
                    "already-revoked",
                ),
                _fails(
                    _step("revocation", make_key_revocation(LAB, ed3.kid, 0, "superseded", ed3)),
                    "KeyHistoryError",
                    "BMDX-SEC-045",
                    "retroactive",
                )
                | {"included_at": 3},
            ],
            "validity": [
                [ed1.kid, 9, True],
                [ed1.kid, 10, False],
                [ed2.kid, 10, True],
                [ed2.kid, 20, False],
                [ed3.kid, 3, True],
            ],
        },
    ]


def _rotation_signed_by(
    participant: str, old: PrivateKey, new: PrivateKey, height: int, signer: PrivateKey
) -> dict[str, Any]:
    """A rotation of ``old`` signed by ``signer`` instead (the old key cannot, or must not)."""
    rotation = make_key_rotation(participant, signer, new.public, height)
    rotation["oldKid"] = old.kid
    del rotation["signatures"]
    return sign_document(rotation, signer)


def _fails(step: dict[str, Any], error: str, requirement: str, reason: str) -> dict[str, Any]:
    step["expected"] = {
        "accepted": False,
        "error": error,
        "requirement": requirement,
        "reason": reason,
    }
    return step


def run_chain(chain: dict[str, Any]) -> tuple[list[dict[str, Any]], list[list[Any]]]:
    """Apply a chain to a fresh history; return each step's verdict and the validity table."""
    history = KeyHistory()
    verdicts: list[dict[str, Any]] = []
    for step in chain["steps"]:
        try:
            if step["op"] == "register":
                history.register(
                    step["participant"], import_public_jwk(step["key"]), step["height"]
                )
            elif step["op"] == "rotation":
                history.apply_rotation(step["object"], included_at=step.get("included_at"))
            else:
                history.apply_revocation(step["object"], included_at=step.get("included_at"))
        except BmdxError as e:
            verdicts.append(
                {
                    "accepted": False,
                    "error": type(e).__name__,
                    "requirement": e.requirement,
                    "reason": e.reason,
                }
            )
        else:
            verdicts.append({"accepted": True})
    table = [[kid, h, history.valid_at(kid, h)] for kid, h, _ in chain["validity"]]
    return verdicts, table


def build() -> dict[str, bytes]:
    if thumbprint(RFC7638_RSA) != RFC7638_THUMBPRINT:
        raise SystemExit("thumbprint does not reproduce RFC 7638 section 3.1")
    if thumbprint(RFC8037_ED25519) != RFC8037_THUMBPRINT:
        raise SystemExit("thumbprint does not reproduce RFC 8037 appendix A.3")
    keys = _keys()
    thumbprints = [
        {"source": "RFC 7638 section 3.1", "jwk": RFC7638_RSA, "thumbprint": RFC7638_THUMBPRINT},
        {
            "source": "RFC 8037 appendix A.3",
            "jwk": RFC8037_ED25519,
            "thumbprint": RFC8037_THUMBPRINT,
        },
    ] + [
        {
            "source": f"BMDX fixed key {name}",
            "jwk": {k: v for k, v in PRIVATE[name].items() if k != "d"},
            "thumbprint": key.kid,
        }
        for name, key in keys.items()
    ]
    chains = _chains(keys)
    for chain in chains:
        for step in chain["steps"]:
            step.setdefault("expected", {"accepted": True})
        verdicts, table = run_chain(chain)
        wanted = [s["expected"] for s in chain["steps"]]
        if verdicts != wanted:
            raise SystemExit(f"chain {chain['name']}: expected {wanted}, got {verdicts}")
        if table != chain["validity"]:
            raise SystemExit(f"chain {chain['name']}: validity {table} != {chain['validity']}")
    return {
        "thumbprints.json": ijson.dumps(thumbprints),
        "chains.json": ijson.dumps(chains),
        "private-keys.json": ijson.dumps(PRIVATE),
    }


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    for rel, data in build().items():
        (out / rel).write_bytes(data)


if __name__ == "__main__":
    main(sys.argv)
