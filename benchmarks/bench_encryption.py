"""Encryption throughput: BMDX JWE envelopes against the raw pyca primitives.

For 1 KiB and 64 KiB payloads and 1 and 3 recipients, measures ``jwe.encrypt`` and
``jwe.decrypt`` (the profile checks, jwcrypto, pyca) in operations per second, and in
the same run the bare work underneath: per recipient an ephemeral key generation,
ECDH, Concat KDF and AES key wrap, plus one AES-256-GCM over the payload (decryption:
one ECDH, KDF, unwrap and AES-GCM).  The ratio says what the envelope costs over the
cryptography itself.  Prints a table and writes ``benchmarks/results/encryption.json``.

Run ``python benchmarks/bench_encryption.py [--seconds S]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cryptography
import jwcrypto
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap
from jwcrypto.jwk import JWK

from bmdx.reference._internal import jwe

RESULTS = Path(__file__).resolve().parent / "results" / "encryption.json"
CURVES = ["P-256", "X25519", "P-256"]  # the recipients, in order, for 3-recipient runs


def rate(fn: Callable[[], object], seconds: float) -> float:
    fn()  # warm up
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        count += 1
    return count / elapsed


def _kdf(shared: bytes) -> bytes:
    otherinfo = b"\x00\x00\x00\x0eECDH-ES+A256KW" + b"\x00" * 8 + b"\x00\x00\x01\x00"
    return ConcatKDFHash(hashes.SHA256(), 32, otherinfo).derive(shared)


def _agree(private: Any, peer: Any) -> bytes:
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return private.exchange(ec.ECDH(), peer)
    return bytes(private.exchange(peer))


def _generate(curve: str) -> Any:
    if curve == "P-256":
        return ec.generate_private_key(ec.SECP256R1())
    return x25519.X25519PrivateKey.generate()


def raw_encrypt(payload: bytes, publics: list[Any], curves: list[str]) -> None:
    cek, iv = os.urandom(32), os.urandom(12)
    for curve, peer in zip(curves, publics, strict=True):
        eph = _generate(curve)
        aes_key_wrap(_kdf(_agree(eph, peer)), cek)
    AESGCM(cek).encrypt(iv, payload, b"header")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for size in (1024, 64 * 1024):
        payload = os.urandom(size)
        for n in (1, 3):
            curves = CURVES[:n]
            keys = [JWK.generate(kty="EC" if c == "P-256" else "OKP", crv=c) for c in curves]
            public = [k.export_public(as_dict=True) for k in keys]
            private = keys[0].export(as_dict=True)
            token = jwe.encrypt(payload, public)
            pyca_private = [k.get_op_key("unwrapKey") for k in keys]
            pyca_public = [k.get_op_key("wrapKey") for k in keys]
            cek, iv = os.urandom(32), os.urandom(12)
            sealed = AESGCM(cek).encrypt(iv, payload, b"header")
            eph = _generate(curves[0])
            peer = eph.public_key()
            wrapped = aes_key_wrap(_kdf(_agree(pyca_private[0], peer)), cek)

            def raw_decrypt(
                own: Any = pyca_private[0],
                peer: Any = peer,
                wrapped: bytes = wrapped,
                iv: bytes = iv,
                sealed: bytes = sealed,
            ) -> None:
                key = aes_key_unwrap(_kdf(_agree(own, peer)), wrapped)
                AESGCM(key).decrypt(iv, sealed, b"header")

            measured = {
                "encrypt_api": rate(lambda p=payload, k=public: jwe.encrypt(p, k), args.seconds),
                "encrypt_raw": rate(
                    lambda p=payload, k=pyca_public, c=curves: raw_encrypt(p, k, c), args.seconds
                ),
                "decrypt_api": rate(lambda t=token, k=private: jwe.decrypt(t, k), args.seconds),
                "decrypt_raw": rate(raw_decrypt, args.seconds),
            }
            rows.append(
                {
                    "payload_bytes": size,
                    "recipients": n,
                    "curves": curves,
                    **{k: round(v, 1) for k, v in measured.items()},
                    "encrypt_ratio": round(measured["encrypt_api"] / measured["encrypt_raw"], 3),
                    "decrypt_ratio": round(measured["decrypt_api"] / measured["decrypt_raw"], 3),
                }
            )
    print(
        f"{'payload':>8} {'rcpt':>4} {'enc/s':>9} {'raw/s':>9} {'ratio':>6}"
        f" {'dec/s':>9} {'raw/s':>9} {'ratio':>6}"
    )
    for r in rows:
        print(
            f"{r['payload_bytes']:>8} {r['recipients']:>4} {r['encrypt_api']:>9.0f} "
            f"{r['encrypt_raw']:>9.0f} {r['encrypt_ratio']:>6.2f} {r['decrypt_api']:>9.0f} "
            f"{r['decrypt_raw']:>9.0f} {r['decrypt_ratio']:>6.2f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "encryption",
                "unit": "operations per second; ratio = BMDX API / raw pyca in the same run",
                "seconds_per_measurement": args.seconds,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cryptography": cryptography.__version__,
                "jwcrypto": getattr(jwcrypto, "__version__", "unknown"),
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
