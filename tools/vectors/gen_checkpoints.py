"""Generate spec/vectors/checkpoints/: C2SP tlog-checkpoint signed notes of BMDX blocks.

Fixed test keys (``keys.json``): four validator Ed25519 keys and one witness key, each
private seed the SHA-256 of a published label.  Ed25519 signing is deterministic, so
every byte is reproducible.  The notes are assembled here directly from the C2SP
signed-note and tlog-checkpoint rules with hashlib, base64 and pyca/cryptography, not
with the reference's checkpoint module; the generator then opens every case with that
module and stops if it disagrees with the declared outcome, so the files are checked by
two independent constructions.

``notes.json`` lists each case: the note, the verifier keys (Go ``note`` vkey
encoding) a verifier trusts, the expected origin, the threshold of distinct keys, and
the outcome: ``valid`` with the tree head, or the reason and requirement of the first
check that fails.  Cases whose name ends in ``_fail`` are negative.

Run ``python tools/vectors/gen_checkpoints.py [OUTDIR]``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "checkpoints"
ORIGIN = "bmdx.ledger/vector-network"
EM_DASH = "\u2014"
VALIDATORS = ("validator-1", "validator-2", "validator-3", "validator-4")
WITNESS_NAME = "witness.example/w1"
TREE_SIZE = 6
HEIGHT = 2
ROOT = hashlib.sha256(b"bmdx-vector/checkpoints/root").digest()
EMPTY_ROOT = hashlib.sha256(b"").digest()


def _seed(label: str) -> bytes:
    return hashlib.sha256(f"bmdx-vector/checkpoints/{label}".encode()).digest()


def _private(label: str) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(_seed(label))


def _raw_public(key: ed25519.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]


def _vkey(name: str, label: str) -> str:
    public = _raw_public(_private(label))
    encoded = _b64(bytes([1]) + public)
    return f"{name}+{_key_id(name, public).hex()}+{encoded}"


def _body(
    origin: str = ORIGIN, size: str = str(TREE_SIZE), root: str = "", height: str = f"{HEIGHT}"
) -> str:
    return f"{origin}\n{size}\n{root or _b64(ROOT)}\nheight {height}\n"


def _line(text: str, label: str, name: str = ORIGIN, *, flip: bool = False) -> str:
    key = _private(label)
    signature = bytearray(key.sign(text.encode()))
    if flip:
        signature[0] ^= 0x01
    return f"{EM_DASH} {name} {_b64(_key_id(name, _raw_public(key)) + bytes(signature))}\n"


def _note(text: str, *labels: str) -> str:
    return text + "\n" + "".join(_line(text, label) for label in labels)


def _validators(*labels: str) -> list[str]:
    return [_vkey(ORIGIN, label) for label in labels]


ALL = _validators(*VALIDATORS)


def _valid(text: str, verified: list[str], size: int = TREE_SIZE, root: bytes = ROOT) -> dict:
    return {
        "valid": True,
        "origin": text.split("\n", 1)[0],
        "treeSize": size,
        "rootHash": "sha-256:" + root.hex(),
        "height": int(text.split("\n")[3].split(" ")[1]),
        "verified": verified,
    }


def _fail(reason: str, requirement: str) -> dict:
    return {"valid": False, "reason": reason, "requirement": requirement}


FORMAT, NOTE_VERIFY = "BMDX-LED-030", "BMDX-LED-043"
MALFORMED = _fail("malformed-note", FORMAT)
BAD_BODY = _fail("malformed-checkpoint", FORMAT)


def cases() -> list[dict[str, Any]]:
    text = _body()
    out: list[dict[str, Any]] = []

    def case(name: str, note: str, expect: dict, *, threshold: int = 1, verifiers=ALL) -> None:
        out.append(
            {
                "name": name,
                "note": note,
                "origin": ORIGIN,
                "verifiers": verifiers,
                "threshold": threshold,
                "expect": expect,
            }
        )

    v1, v2, v3 = ALL[0], ALL[1], ALL[2]
    case("one_signature", _note(text, "validator-1"), _valid(text, [v1]))
    case(
        "three_of_four",
        _note(text, "validator-1", "validator-2", "validator-3"),
        _valid(text, [v1, v2, v3]),
        threshold=3,
    )
    case(
        "unknown_witness_line_is_ignored",
        _note(text, "validator-2") + _line(text, "witness", WITNESS_NAME),
        _valid(text, [v2]),
    )
    genesis = _body(size="0", root=_b64(EMPTY_ROOT), height="0")
    case(
        "empty_tree_at_genesis",
        _note(genesis, "validator-1", "validator-2"),
        _valid(genesis, [v1, v2], 0, EMPTY_ROOT),
        threshold=2,
    )
    case(
        "repeated_signature_counts_once_fail",
        _note(text, "validator-1", "validator-1"),
        _fail("below-threshold", NOTE_VERIFY),
        threshold=2,
    )
    case(
        "below_threshold_fail",
        _note(text, "validator-1"),
        _fail("below-threshold", NOTE_VERIFY),
        threshold=3,
    )
    good = _note(text, "validator-1")
    case("hyphen_instead_of_em_dash_fail", good.replace(EM_DASH, "-"), MALFORMED)
    case("en_dash_instead_of_em_dash_fail", good.replace(EM_DASH, "\u2013"), MALFORMED)
    case("two_spaces_after_dash_fail", good.replace(EM_DASH + " ", EM_DASH + "  "), MALFORMED)
    case("missing_final_newline_fail", good[:-1], MALFORMED)
    case("crlf_line_endings_fail", good.replace("\n", "\r\n"), MALFORMED)
    tabbed = _body(origin=ORIGIN + "\t")
    case("tab_in_text_fail", _note(tabbed, "validator-1"), MALFORMED)
    case("no_blank_line_fail", good.replace("\n\n", "\n"), MALFORMED)
    case("no_signature_lines_fail", text + "\n", MALFORMED)
    case(
        "bad_signature_by_known_key_fail",
        text + "\n" + _line(text, "validator-1", flip=True),
        _fail("bad-signature", NOTE_VERIFY),
    )
    case(
        "good_then_bad_known_signature_fail",
        text + "\n" + _line(text, "validator-2") + _line(text, "validator-1", flip=True),
        _fail("bad-signature", NOTE_VERIFY),
    )
    case(
        "unknown_keys_only_fail",
        text + "\n" + _line(text, "witness", WITNESS_NAME),
        _fail("unverified", NOTE_VERIFY),
    )
    case(
        "key_name_not_the_origin_fail",
        text + "\n" + _line(text, "validator-1", "bmdx.ledger/other"),
        _fail("unverified", NOTE_VERIFY),
    )
    case(
        "key_name_with_plus_fail",
        text + "\n" + _line(text, "validator-1", "bad+name"),
        MALFORMED,
    )
    sig = good.rsplit(" ", 1)[1].rstrip("\n")
    case("signature_without_padding_fail", good.replace(sig, sig.rstrip("=")), MALFORMED)
    case(
        "signature_too_short_fail",
        text + "\n" + f"{EM_DASH} {ORIGIN} {_b64(b'abcd')}\n",
        MALFORMED,
    )
    many = text + "\n" + _line(text, "validator-1") + _line(text, "witness", WITNESS_NAME) * 100
    case("more_than_100_signature_lines_fail", many, MALFORMED)
    for name, body in (
        ("tree_size_leading_zero_fail", _body(size="06")),
        ("tree_size_negative_fail", _body(size="-6")),
        (
            "root_hash_urlsafe_alphabet_fail",
            _body(root=_b64(ROOT).replace("+", "-").replace("/", "_")),
        ),
        ("root_hash_not_32_bytes_fail", _body(root=_b64(ROOT[:31]))),
        ("height_line_missing_fail", f"{ORIGIN}\n{TREE_SIZE}\n{_b64(ROOT)}\n"),
        ("height_keyword_misspelt_fail", _body().replace("height", "Height")),
        ("extra_extension_line_fail", _body() + "timestamp 2025-04-01T11:05:00Z\n"),
    ):
        case(name, _note(body, "validator-1"), BAD_BODY)
    other = _body(origin="bmdx.ledger/another-network")
    case(
        "origin_of_another_log_fail",
        _note(other, "validator-1"),
        _fail("origin-mismatch", NOTE_VERIFY),
    )
    return out


def keys() -> dict[str, Any]:
    entries = []
    for label in (*VALIDATORS, "witness"):
        key = _private(label)
        name = WITNESS_NAME if label == "witness" else ORIGIN
        public = _raw_public(key)
        entries.append(
            {
                "label": label,
                "name": name,
                "seed": _seed(label).hex(),
                "public": public.hex(),
                "keyId": _key_id(name, public).hex(),
                "vkey": _vkey(name, label),
            }
        )
    return {"origin": ORIGIN, "keys": entries}


def _check(case: dict[str, Any]) -> None:
    """Open a case with the reference checkpoint module; it must agree with ``expect``."""
    from bmdx.reference._internal.checkpoints import (  # noqa: PLC0415
        CheckpointBody,
        NoteVerifier,
        open_note,
    )
    from bmdx.reference._internal.errors import CheckpointError  # noqa: PLC0415

    expect = case["expect"]
    try:
        opened = open_note(case["note"], [NoteVerifier.from_vkey(v) for v in case["verifiers"]])
        body = CheckpointBody.from_text(opened.text)
        if body.origin != case["origin"]:
            raise CheckpointError("origin", reason="origin-mismatch", requirement=NOTE_VERIFY)
        if len(opened.verified) < case["threshold"]:
            raise CheckpointError("few", reason="below-threshold", requirement=NOTE_VERIFY)
    except CheckpointError as exc:
        got = _fail(exc.reason, exc.requirement)
    else:
        got = _valid(opened.text, [v.vkey for v in opened.verified], body.tree_size, body.root_hash)
    if got != expect:
        raise SystemExit(f"case {case['name']}: reference says {got}, declared {expect}")


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def build(check: Callable[[dict[str, Any]], None] = _check) -> dict[str, bytes]:
    all_cases = cases()
    for case in all_cases:
        check(case)
    return {"keys.json": _dump(keys()), "notes.json": _dump(all_cases)}


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    for rel, data in build().items():
        (out / rel).write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
