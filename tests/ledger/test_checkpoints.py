"""Checkpoints: the C2SP signed note of a block's tree head, and the JSON Checkpoint."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from bmdx.reference._internal.b64 import b64url_encode
from bmdx.reference._internal.checkpoints import (
    CheckpointBody,
    NoteSigner,
    NoteVerifier,
    checkpoint_body,
    checkpoint_document,
    checkpoint_note,
    key_id,
    open_note,
    origin_for,
    parse_note,
    sign_note,
    verify_checkpoint_document,
    verify_checkpoint_note,
)
from bmdx.reference._internal.errors import CheckpointError
from bmdx.reference._internal.keys import PrivateKey, generate_key, import_private_jwk
from tests.vectors import assert_regenerates, load
from tools.vectors import gen_checkpoints

pytestmark = pytest.mark.requirement("BMDX-LED-030")

CASES = load("checkpoints", "notes.json")
KEYS = load("checkpoints", "keys.json")


# --- an independent, literal transcription of C2SP signed-note + tlog-checkpoint -------


class RejectedError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def transcribed_open(note: str, vkeys: list[str], origin: str, threshold: int) -> dict[str, Any]:
    """Written from the C2SP text, sharing no code with the module under test."""
    data = note.encode("utf-8")
    if len(data) > 1_000_000:
        raise RejectedError("malformed-note")
    if any(ch < " " and ch != "\n" for ch in note):
        raise RejectedError("malformed-note")
    cut = note.rfind("\n\n")
    if cut == -1:
        raise RejectedError("malformed-note")
    text, sigs = note[: cut + 1], note[cut + 2 :]
    if text == "" or not sigs.endswith("\n"):
        raise RejectedError("malformed-note")
    trusted = {}
    for vkey in vkeys:
        name, hex_id, b64 = vkey.split("+", 2)
        raw = base64.b64decode(b64)
        trusted[(name, bytes.fromhex(hex_id))] = raw[1:]
    lines = sigs.split("\n")[:-1]
    if not 1 <= len(lines) <= 100:
        raise RejectedError("malformed-note")
    parsed = []
    for line in lines:
        if line[:2] != "\u2014 ":
            raise RejectedError("malformed-note")
        parts = line[2:].split(" ")
        if len(parts) != 2:
            raise RejectedError("malformed-note")
        name, b64 = parts
        if name == "" or "+" in name or any(c.isspace() for c in name):
            raise RejectedError("malformed-note")
        try:
            blob = base64.b64decode(b64, validate=True)
        except ValueError:
            raise RejectedError("malformed-note") from None
        if base64.b64encode(blob).decode() != b64 or len(blob) < 5:
            raise RejectedError("malformed-note")
        parsed.append((name, blob[:4], blob[4:]))
    good = []
    for name, kid, signature in parsed:
        public = trusted.get((name, kid))
        if public is None:
            continue
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(public).verify(signature, text.encode())
        except InvalidSignature:
            raise RejectedError("bad-signature") from None
        if (name, kid) not in good:
            good.append((name, kid))
    if not good:
        raise RejectedError("unverified")
    body = text.split("\n")[:-1]
    if len(body) != 4:
        raise RejectedError("malformed-checkpoint")
    log, size, root, extension = body
    if not size.isdigit() or (size != "0" and size.startswith("0")) or not size.isascii():
        raise RejectedError("malformed-checkpoint")
    if not extension.startswith("height ") or not extension[7:].isdigit():
        raise RejectedError("malformed-checkpoint")
    height = extension[7:]
    if height != "0" and height.startswith("0"):
        raise RejectedError("malformed-checkpoint")
    try:
        root_bytes = base64.b64decode(root, validate=True)
    except ValueError:
        raise RejectedError("malformed-checkpoint") from None
    if len(root_bytes) != 32 or base64.b64encode(root_bytes).decode() != root:
        raise RejectedError("malformed-checkpoint")
    if log != origin:
        raise RejectedError("origin-mismatch")
    if len(good) < threshold:
        raise RejectedError("below-threshold")
    return {"treeSize": int(size), "rootHash": "sha-256:" + root_bytes.hex(), "height": int(height)}


# --- vectors ----------------------------------------------------------------------------


def test_committed_vectors_are_what_the_generator_writes() -> None:
    assert_regenerates("checkpoints", gen_checkpoints.build)


def test_key_ids_follow_the_c2sp_formula() -> None:
    for entry in KEYS["keys"]:
        public = bytes.fromhex(entry["public"])
        expected = hashlib.sha256(entry["name"].encode() + b"\n\x01" + public).digest()[:4]
        assert key_id(entry["name"], public) == expected
        assert expected.hex() == entry["keyId"]
        verifier = NoteVerifier.from_vkey(entry["vkey"])
        assert (verifier.name, verifier.public_key, verifier.vkey) == (
            entry["name"],
            public,
            entry["vkey"],
        )


def _open_checked(case: dict[str, Any], verifiers: list[NoteVerifier]) -> None:
    opened = open_note(case["note"], verifiers)
    body = CheckpointBody.from_text(opened.text)
    if body.origin != case["origin"]:
        raise CheckpointError("origin", reason="origin-mismatch", requirement="BMDX-LED-043")
    if len(opened.verified) < case["threshold"]:
        raise CheckpointError("few", reason="below-threshold", requirement="BMDX-LED-043")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
@pytest.mark.requirement("BMDX-LED-043")
def test_vector_outcome(case: dict[str, Any]) -> None:
    expect = case["expect"]
    verifiers = [NoteVerifier.from_vkey(v) for v in case["verifiers"]]
    if expect["valid"]:
        opened = open_note(case["note"], verifiers)
        body = CheckpointBody.from_text(opened.text)
        assert body.origin == case["origin"] == expect["origin"]
        assert (body.tree_size, body.root_digest, body.height) == (
            expect["treeSize"],
            expect["rootHash"],
            expect["height"],
        )
        assert [v.vkey for v in opened.verified] == expect["verified"]
        assert len(opened.verified) >= case["threshold"]
        assert (
            transcribed_open(case["note"], case["verifiers"], case["origin"], 1)["height"]
            == (expect["height"])
        )
        return
    with pytest.raises(CheckpointError) as caught:
        _open_checked(case, verifiers)
    assert (caught.value.reason, caught.value.requirement) == (
        expect["reason"],
        expect["requirement"],
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_independent_transcription_agrees_with_every_vector(case: dict[str, Any]) -> None:
    expect = case["expect"]
    if expect["valid"]:
        got = transcribed_open(case["note"], case["verifiers"], case["origin"], case["threshold"])
        assert got == {k: expect[k] for k in ("treeSize", "rootHash", "height")}
    else:
        with pytest.raises(RejectedError) as caught:
            transcribed_open(case["note"], case["verifiers"], case["origin"], case["threshold"])
        assert caught.value.reason == expect["reason"]


def _vector_key(label: str) -> PrivateKey:
    entry = next(k for k in KEYS["keys"] if k["label"] == label)
    seed = bytes.fromhex(entry["seed"])
    public = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    return import_private_jwk(
        {"kty": "OKP", "crv": "Ed25519", "d": b64url_encode(seed), "x": b64url_encode(public)}
    )


def test_signing_reproduces_the_valid_vectors_byte_for_byte() -> None:
    labels = {k["vkey"]: k["label"] for k in KEYS["keys"]}
    checked = 0
    for case in CASES:
        expect = case["expect"]
        if not expect["valid"] or "witness" in case["note"]:
            continue
        body = CheckpointBody.from_text(parse_note(case["note"]).text)
        keys = [_vector_key(labels[v]) for v in expect["verified"]]
        assert checkpoint_note(body, keys) == case["note"]
        checked += 1
    assert checked >= 3


# --- the module's own rules -------------------------------------------------------------


def test_origin_for_a_network() -> None:
    assert origin_for("north-sea") == "bmdx.ledger/north-sea"
    for bad in ("", "has space", "a+b", "x\n"):
        with pytest.raises(CheckpointError) as caught:
            origin_for(bad)
        assert caught.value.reason == "bad-origin"


def test_sign_note_refuses_text_that_cannot_be_a_note() -> None:
    signer = NoteSigner("bmdx.ledger/n", generate_key("Ed25519"))
    for text in ("", "no newline", "blank\n\nline\n", "tab\there\n"):
        with pytest.raises(CheckpointError) as caught:
            sign_note(text, [signer])
        assert (caught.value.reason, caught.value.requirement) == ("malformed-note", "BMDX-LED-030")


@pytest.mark.requirement("BMDX-LED-042")
def test_es256_keys_cannot_sign_notes() -> None:
    with pytest.raises(CheckpointError) as caught:
        NoteSigner("bmdx.ledger/n", generate_key("ES256")).sign("x\n")
    assert (caught.value.reason, caught.value.requirement) == ("key-type", "BMDX-LED-042")


# --- checkpoints against a validator set ------------------------------------------------


ORIGIN = "bmdx.ledger/test-network"


@pytest.fixture(scope="module")
def validators() -> list[PrivateKey]:
    return [generate_key("Ed25519") for _ in range(4)]


def _set(keys: list[PrivateKey], threshold: int = 3) -> dict[str, Any]:
    return {
        "objectType": "ValidatorSet",
        "version": 1,
        "threshold": threshold,
        "validators": [
            {"participant": f"urn:bmdx:participant:validator-{i}", "kid": k.kid}
            for i, k in enumerate(keys, 1)
        ],
        "effectiveHeight": 0,
    }


HEADER = {
    "height": 7,
    "previous": "sha-256:" + "1" * 64,
    "timestamp": "2025-03-01T12:00:00Z",
    "txCount": 2,
    "treeSize": 12,
    "treeRoot": "sha-256:" + hashlib.sha256(b"root").hexdigest(),
    "proposer": "urn:bmdx:participant:validator-1",
}


@pytest.mark.requirement("BMDX-LED-043")
def test_note_needs_the_threshold_of_validators(validators: list[PrivateKey]) -> None:
    keys = {k.kid: k.public for k in validators}
    body = checkpoint_body({"origin": ORIGIN, **HEADER})
    note = checkpoint_note(body, validators[:3])
    got = verify_checkpoint_note(note, origin=ORIGIN, validator_set=_set(validators), keys=keys)
    assert got == body
    short = checkpoint_note(body, validators[:2])
    with pytest.raises(CheckpointError) as caught:
        verify_checkpoint_note(short, origin=ORIGIN, validator_set=_set(validators), keys=keys)
    assert (caught.value.reason, caught.value.requirement) == ("below-threshold", "BMDX-LED-043")
    with pytest.raises(CheckpointError) as caught:
        verify_checkpoint_note(
            note, origin="bmdx.ledger/elsewhere", validator_set=_set(validators), keys=keys
        )
    assert caught.value.reason == "unverified"


@pytest.mark.requirement("BMDX-LED-044")
def test_json_checkpoint_verifies_against_its_block(validators: list[PrivateKey]) -> None:
    keys = {k.kid: k.public for k in validators}
    document = checkpoint_document(ORIGIN, HEADER, validators[:3])
    assert document["rootHash"] == HEADER["treeRoot"]
    verify_checkpoint_document(
        document, header=HEADER, origin=ORIGIN, validator_set=_set(validators), keys=keys
    )
    changes = (
        ({"treeSize": 11}, "fork", "BMDX-LED-023"),
        ({"treeRoot": "sha-256:" + "2" * 64}, "fork", "BMDX-LED-023"),
        ({"timestamp": "2025-03-01T12:00:01Z"}, "fork", "BMDX-LED-023"),
        ({"height": 6}, "mismatch", "BMDX-LED-044"),
    )
    for change, reason, requirement in changes:
        with pytest.raises(CheckpointError) as caught:
            verify_checkpoint_document(
                document,
                header={**HEADER, **change},
                origin=ORIGIN,
                validator_set=_set(validators),
                keys=keys,
            )
        assert (caught.value.reason, caught.value.requirement) == (reason, requirement)
    two = checkpoint_document(ORIGIN, HEADER, validators[:2])
    with pytest.raises(CheckpointError) as caught:
        verify_checkpoint_document(
            two, header=HEADER, origin=ORIGIN, validator_set=_set(validators), keys=keys
        )
    assert caught.value.reason == "below-threshold"
    outsider = generate_key("Ed25519")
    foreign = checkpoint_document(ORIGIN, HEADER, [*validators[:3], outsider])
    with pytest.raises(CheckpointError) as caught:
        verify_checkpoint_document(
            foreign,
            header=HEADER,
            origin=ORIGIN,
            validator_set=_set(validators),
            keys={**keys, outsider.kid: outsider.public},
        )
    assert (caught.value.reason, caught.value.requirement) == ("bad-signature", "BMDX-LED-044")
