"""Checkpoints: a block's tree head as a C2SP ``tlog-checkpoint`` signed note, and as JSON.

A transparency-log witness knows nothing of BMDX blocks; it knows the C2SP signed-note
format (the text of Go's ``golang.org/x/mod/sumdb/note``) and the ``tlog-checkpoint``
body inside it.  So every block's tree head is also written as::

    bmdx.ledger/<network>
    <tree size>
    <base64 root hash>
    height <block height>

    — bmdx.ledger/<network> <base64(key id || Ed25519 signature)>
    ...

one signature line per validator (BMDX-LED-030, BMDX-LED-042).  The key name is the
log's origin, so a witness configures one log, by origin, with the validators' keys;
the key id tells the keys apart: ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``.

Parsing is strict where the format is (an em dash and one space open each signature
line, the text ends in a newline, no control characters but the newline, canonical
base64), and lenient only where the format asks it to be: a signature line by a key the
verifier does not know is ignored, while one by a known key that fails rejects the whole
note (BMDX-LED-043).  pyca/cryptography does the Ed25519 arithmetic.

The JSON :func:`checkpoint_document` carries the same tree head with the block's
timestamp, signed as any BMDX object (detached JWS over its canonical form).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from bmdx.reference._internal.errors import CheckpointError, SignatureError
from bmdx.reference._internal.keys import PrivateKey, PublicKey
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.signing import sign_document, verify_document

__all__ = [
    "ORIGIN_PREFIX",
    "CheckpointBody",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "OpenedNote",
    "checkpoint_body",
    "checkpoint_document",
    "checkpoint_note",
    "key_id",
    "open_note",
    "origin_for",
    "parse_note",
    "sign_note",
    "verify_checkpoint_against_block",
    "verify_checkpoint_document",
    "verify_checkpoint_note",
]

REQ_FORMAT = "BMDX-LED-030"
REQ_SIGNERS = "BMDX-LED-042"
REQ_NOTE_VERIFY = "BMDX-LED-043"
REQ_CHECKPOINT = "BMDX-LED-044"
REQ_FORK = "BMDX-LED-023"

ORIGIN_PREFIX = "bmdx.ledger/"
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
ALG_ED25519 = 0x01
KEY_ID_BYTES = 4
ED25519_SIGNATURE_BYTES = 64
ED25519_KEY_BYTES = 32
HASH_BYTES = 32
# Go's note.Open refuses notes over 1e6 bytes and stops after 100 signatures; so do we.
MAX_NOTE_BYTES = 1_000_000
MAX_SIGNATURE_LINES = 100
MAX_SAFE_INTEGER = 2**53 - 1

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,15}")
_NETWORK = re.compile(r"[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*")
_ORIGIN = re.compile(r"[a-z0-9][a-z0-9.-]*(/[A-Za-z0-9._~-]+)+")


def _malformed(message: str, requirement: str = REQ_FORMAT) -> CheckpointError:
    return CheckpointError(message, reason="malformed-note", requirement=requirement)


def origin_for(network: str) -> str:
    """The origin line of a network's log: ``bmdx.ledger/<network>``."""
    if not _NETWORK.fullmatch(network) or len(ORIGIN_PREFIX) + len(network) > 255:
        raise CheckpointError(
            f"network name {network!r} cannot form an origin",
            reason="bad-origin",
            requirement=REQ_FORMAT,
            remedy="Use letters, digits and . _ ~ - (segments separated by /).",
        )
    return ORIGIN_PREFIX + network


def _std_b64decode(text: str) -> bytes:
    """Strict standard base64 with padding: only the one canonical encoding decodes."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _malformed("not standard padded base64") from None
    if base64.b64encode(data).decode("ascii") != text:
        raise _malformed("not the canonical base64 encoding of its bytes")
    return data


def _std_b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def valid_key_name(name: str) -> bool:
    """A signed-note key name: non-empty, no Unicode white space, no ``+``."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, public_key: bytes) -> bytes:
    """The C2SP key id of an Ed25519 key: ``SHA-256(name || 0x0A || 0x01 || key)[:4]``."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key)
    return digest.digest()[:KEY_ID_BYTES]


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """One trusted Ed25519 key under a key name, as a witness configures it."""

    name: str
    public_key: bytes
    _key: ed25519.Ed25519PublicKey = field(repr=False, compare=False)

    def __init__(self, name: str, public_key: bytes) -> None:
        if not valid_key_name(name):
            raise _malformed(f"invalid key name {name!r}")
        if len(public_key) != ED25519_KEY_BYTES:
            raise _malformed("an Ed25519 public key is 32 bytes")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "public_key", bytes(public_key))
        object.__setattr__(
            self, "_key", ed25519.Ed25519PublicKey.from_public_bytes(bytes(public_key))
        )

    @classmethod
    def from_public_key(cls, name: str, key: PublicKey) -> NoteVerifier:
        """The verifier of a registered BMDX Ed25519 signing key."""
        if not isinstance(key.key, ed25519.Ed25519PublicKey) or key.use != "sig":
            raise CheckpointError(
                f"key {key.kid} is not an Ed25519 signing key; checkpoint notes are Ed25519",
                reason="key-type",
                requirement=REQ_SIGNERS,
            )
        raw = key.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return cls(name, raw)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse ``<name>+<hex key id>+<base64(0x01 || key)>`` (the Go ``note`` encoding)."""
        name, sep1, rest = vkey.partition("+")
        hex_id, sep2, b64 = rest.partition("+")
        if not (sep1 and sep2) or not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise _malformed("a verifier key is <name>+<hex key id>+<base64 key>")
        raw = _std_b64decode(b64)
        if len(raw) != 1 + ED25519_KEY_BYTES or raw[0] != ALG_ED25519:
            raise _malformed("only Ed25519 verifier keys (type 0x01) are supported")
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != hex_id:
            raise _malformed("the verifier key's id does not match its name and key")
        return verifier

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{_std_b64(bytes([ALG_ED25519]) + self.public_key)}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != ED25519_SIGNATURE_BYTES:
            return False
        try:
            self._key.verify(signature, text)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """A validator's Ed25519 private key under the log's key name."""

    name: str
    key: PrivateKey

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier.from_public_key(self.name, self.key.public)

    def sign(self, text: str) -> NoteSignature:
        if not isinstance(self.key.key, ed25519.Ed25519PrivateKey):
            raise CheckpointError(
                f"key {self.key.kid} is not an Ed25519 key; checkpoint notes are Ed25519",
                reason="key-type",
                requirement=REQ_SIGNERS,
            )
        return NoteSignature(
            self.name, self.verifier.key_id, self.key.key.sign(text.encode("utf-8"))
        )


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: key name, 4-byte key id, and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {_std_b64(self.key_id + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A syntactically valid signed note, signatures not yet checked."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def serialize(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def _check_text(text: str) -> None:
    if not text or not text.endswith("\n"):
        raise _malformed("the note text must be non-empty and end with a newline")
    if "\n\n" in text:
        raise _malformed("the note text must not contain a blank line")
    for ch in text:
        if ch < " " and ch != "\n":
            raise _malformed(f"the note holds control character U+{ord(ch):04X}")


def sign_note(text: str, signers: Iterable[NoteSigner]) -> str:
    """The signed note of ``text``, one signature line per signer, in order."""
    _check_text(text)
    signatures = tuple(s.sign(text) for s in signers)
    if not signatures:
        raise CheckpointError("a signed note needs a signature", reason="no-signers")
    note = Note(text, signatures).serialize()
    if len(note.encode("utf-8")) > MAX_NOTE_BYTES or len(signatures) > MAX_SIGNATURE_LINES:
        raise _malformed("the note would exceed the format's size limits")
    return note


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise _malformed("a signature line must start with an em dash (U+2014) and a space")
    name, sep, b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not sep or not b64 or not valid_key_name(name):
        raise _malformed("a signature line is '\u2014 <key name> <base64>'")
    raw = _std_b64decode(b64)
    if len(raw) <= KEY_ID_BYTES:
        raise _malformed("a signature holds a 4-byte key id and at least one byte")
    return NoteSignature(name, raw[:KEY_ID_BYTES], raw[KEY_ID_BYTES:])


def parse_note(data: bytes | str) -> Note:
    """Split and check the syntax of a signed note (C2SP signed-note, as Go's note.Open)."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_NOTE_BYTES:
        raise _malformed(f"the note is over {MAX_NOTE_BYTES} bytes")
    try:
        message = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise _malformed("the note is not UTF-8") from None
    for ch in message:
        if ch < " " and ch != "\n":
            raise _malformed(f"the note holds control character U+{ord(ch):04X}")
    split = message.rfind("\n\n")
    if split < 0:
        raise _malformed("no blank line separates the text from the signatures")
    text, signature_block = message[: split + 1], message[split + 2 :]
    if not signature_block or not signature_block.endswith("\n"):
        raise _malformed("the signature lines must be present and end with a newline")
    lines = signature_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURE_LINES:
        raise _malformed(f"more than {MAX_SIGNATURE_LINES} signature lines")
    _check_text(text)
    return Note(text, tuple(_parse_signature_line(line) for line in lines))


@dataclass(frozen=True, slots=True)
class OpenedNote:
    """A note whose signatures by known keys all verified."""

    text: str
    verified: tuple[NoteVerifier, ...]
    unverified: tuple[NoteSignature, ...]


def open_note(data: bytes | str, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """Parse ``data`` and check every signature line by a known key.

    A line whose (name, key id) matches no verifier is kept as unverified; a line that
    matches and fails rejects the note; a note without one verified line is refused.
    """
    note = parse_note(data)
    known = {(v.name, v.key_id): v for v in verifiers}
    text = note.text.encode("utf-8")
    verified: dict[tuple[str, bytes], NoteVerifier] = {}
    unverified: list[NoteSignature] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        if not verifier.verify(text, sig.signature):
            raise CheckpointError(
                f"the signature of key {sig.name}+{sig.key_id.hex()} does not verify",
                reason="bad-signature",
                requirement=REQ_NOTE_VERIFY,
            )
        verified[sig.name, sig.key_id] = verifier
    if not verified:
        raise CheckpointError(
            "no signature on the note is by a known key",
            reason="unverified",
            requirement=REQ_NOTE_VERIFY,
        )
    return OpenedNote(note.text, tuple(verified.values()), tuple(unverified))


# --- the tlog-checkpoint body -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckpointBody:
    """The tree head a checkpoint note states: origin, size, root, and the block height."""

    origin: str
    tree_size: int
    root_hash: bytes
    height: int

    def __post_init__(self) -> None:
        if not _ORIGIN.fullmatch(self.origin) or len(self.origin) > 255:
            raise CheckpointError(
                f"origin {self.origin!r} is not a BMDX log origin",
                reason="bad-origin",
                requirement=REQ_FORMAT,
            )
        if len(self.root_hash) != HASH_BYTES:
            raise CheckpointError(
                "a root hash is 32 bytes", reason="malformed-checkpoint", requirement=REQ_FORMAT
            )
        for name, value in (("tree size", self.tree_size), ("height", self.height)):
            if not 0 <= value <= MAX_SAFE_INTEGER:
                raise CheckpointError(
                    f"{name} {value} is out of range",
                    reason="malformed-checkpoint",
                    requirement=REQ_FORMAT,
                )

    @property
    def root_digest(self) -> str:
        return "sha-256:" + self.root_hash.hex()

    def text(self) -> str:
        return (
            f"{self.origin}\n{self.tree_size}\n{_std_b64(self.root_hash)}\nheight {self.height}\n"
        )

    @classmethod
    def from_text(cls, text: str) -> CheckpointBody:
        """Parse a BMDX checkpoint body: exactly four lines, the last ``height N``."""

        def bad(why: str) -> CheckpointError:
            return CheckpointError(why, reason="malformed-checkpoint", requirement=REQ_FORMAT)

        if not text.endswith("\n"):
            raise bad("the checkpoint body must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) != 4:  # origin, size, root, height
            raise bad(f"a BMDX checkpoint has 4 lines, this one {len(lines)}")
        origin, size, root, extension = lines
        if not _DECIMAL.fullmatch(size):
            raise bad("the tree size is not a decimal without leading zeros")
        keyword, sep, height = extension.partition(" ")
        if keyword != "height" or not sep or not _DECIMAL.fullmatch(height):
            raise bad("the extension line must be 'height <decimal>'")
        try:
            root_hash = _std_b64decode(root)
        except CheckpointError:
            raise bad("the root hash is not standard padded base64") from None
        return cls(origin, int(size), root_hash, int(height))


def _digest_bytes(digest: str) -> bytes:
    if not re.fullmatch(r"sha-256:[0-9a-f]{64}", digest):
        raise CheckpointError(
            f"{digest!r} is not a sha-256 digest",
            reason="malformed-checkpoint",
            requirement=REQ_CHECKPOINT,
        )
    return bytes.fromhex(digest[len("sha-256:") :])


def checkpoint_body(document: Mapping[str, Any]) -> CheckpointBody:
    """The note body of a JSON ``Checkpoint`` (or of a block ``header`` with an origin)."""
    return CheckpointBody(
        str(document["origin"]),
        int(document["treeSize"]),
        _digest_bytes(str(document.get("rootHash", document.get("treeRoot", "")))),
        int(document["height"]),
    )


def checkpoint_note(body: CheckpointBody, keys: Iterable[PrivateKey]) -> str:
    """The signed C2SP note of ``body``, one line per validator key, key name = origin."""
    return sign_note(body.text(), [NoteSigner(body.origin, k) for k in keys])


def _validator_kids(validator_set: Mapping[str, Any]) -> dict[str, str]:
    return {str(v["kid"]): str(v["participant"]) for v in validator_set["validators"]}


def _threshold_error(signed: int, validator_set: Mapping[str, Any], what: str) -> CheckpointError:
    return CheckpointError(
        f"{what} is signed by {signed} distinct validator(s); validator set "
        f"{validator_set['version']} requires {validator_set['threshold']}",
        reason="below-threshold",
        requirement=REQ_NOTE_VERIFY if what == "the note" else REQ_CHECKPOINT,
    )


def verify_checkpoint_note(
    data: bytes | str,
    *,
    origin: str,
    validator_set: Mapping[str, Any],
    keys: Mapping[str, PublicKey],
) -> CheckpointBody:
    """Open a checkpoint note of log ``origin`` against the validator set in force.

    ``keys`` maps key ids to the public keys valid at the checkpoint's height (the
    caller's key history); validators without an Ed25519 key cannot sign notes.
    """
    validators = _validator_kids(validator_set)
    owners: dict[bytes, str] = {}
    verifiers = []
    for kid, participant in validators.items():
        key = keys.get(kid)
        if key is None or not isinstance(key.key, ed25519.Ed25519PublicKey):
            continue
        verifier = NoteVerifier.from_public_key(origin, key)
        verifiers.append(verifier)
        owners[verifier.key_id] = participant
    opened = open_note(data, verifiers)
    body = CheckpointBody.from_text(opened.text)
    if body.origin != origin:
        raise CheckpointError(
            f"the note is for log {body.origin!r}, not {origin!r}",
            reason="origin-mismatch",
            requirement=REQ_NOTE_VERIFY,
        )
    signers = {owners[v.key_id] for v in opened.verified}
    if len(signers) < int(validator_set["threshold"]):
        raise _threshold_error(len(signers), validator_set, "the note")
    return body


# --- the JSON Checkpoint ----------------------------------------------------------------


def checkpoint_document(
    origin: str, header: Mapping[str, Any], keys: Sequence[PrivateKey]
) -> dict[str, Any]:
    """The ``Checkpoint`` of a block header, signed by ``keys`` (validators' keys)."""
    document: dict[str, Any] = {
        "objectType": "Checkpoint",
        "origin": origin,
        "treeSize": header["treeSize"],
        "rootHash": header["treeRoot"],
        "height": header["height"],
        "timestamp": header["timestamp"],
    }
    typ = security_profile().signatures.typ
    for key in keys:
        document = sign_document(document, key, typ=typ)
    schema_set().validate(document, "Checkpoint")
    return document


def _fork_or_mismatch(name: str, got: Any, want: Any, height: int) -> CheckpointError:
    """A validly signed tree head that is not the block's: a second history (BMDX-LED-023)."""
    if name in {"treeSize", "rootHash", "timestamp"}:
        return CheckpointError(
            f"validators signed a checkpoint at height {height} with {name} {got!r}, but the "
            f"block at that height has {want!r}: two histories were signed",
            reason="fork",
            requirement=REQ_FORK,
            height=height,
        )
    return CheckpointError(
        f"checkpoint {name} {got!r} differs from the block's {want!r}",
        reason="mismatch",
        requirement=REQ_CHECKPOINT,
        height=height,
    )


def verify_checkpoint_document(
    document: Mapping[str, Any],
    *,
    header: Mapping[str, Any],
    origin: str,
    validator_set: Mapping[str, Any],
    keys: Mapping[str, PublicKey],
) -> None:
    """Check a ``Checkpoint`` against its block's header and the validator set in force.

    Every signature must verify under a validator's key valid at the height, and at
    least the threshold of distinct validators must have signed (BMDX-LED-044).  A
    checkpoint so signed for the block's height whose tree head differs from the
    block's is evidence of a fork (BMDX-LED-023).
    """
    height = int(header["height"])
    validators = _validator_kids(validator_set)
    trusted = {kid: key for kid, key in keys.items() if kid in validators}
    try:
        verified = verify_document(document, trusted)
    except SignatureError as exc:
        raise CheckpointError(
            "a checkpoint signature is not a valid signature by a validator in force",
            reason="bad-signature",
            requirement=REQ_CHECKPOINT,
            height=height,
        ) from exc
    signers: Collection[str] = {validators[v.kid] for v in verified}
    if len(signers) < int(validator_set["threshold"]):
        raise _threshold_error(len(signers), validator_set, "the checkpoint")
    expected = {
        "height": header["height"],
        "origin": origin,
        "treeSize": header["treeSize"],
        "rootHash": header["treeRoot"],
        "timestamp": header["timestamp"],
    }
    for name, value in expected.items():
        if document.get(name) != value:
            raise _fork_or_mismatch(name, document.get(name), value, height)


def verify_checkpoint_against_block(
    note: bytes | str,
    *,
    header: Mapping[str, Any],
    origin: str,
    validator_set: Mapping[str, Any],
    keys: Mapping[str, PublicKey],
) -> CheckpointBody:
    """Open the note of block ``header`` and compare its tree head with the block's."""
    height = int(header["height"])
    try:
        body = verify_checkpoint_note(note, origin=origin, validator_set=validator_set, keys=keys)
    except CheckpointError as exc:
        exc.located(height=height)
        raise
    if body.height != height:
        raise _fork_or_mismatch("height", body.height, height, height)
    if body.tree_size != header["treeSize"]:
        raise _fork_or_mismatch("treeSize", body.tree_size, header["treeSize"], height)
    if body.root_digest != header["treeRoot"]:
        raise _fork_or_mismatch("rootHash", body.root_digest, header["treeRoot"], height)
    return body
