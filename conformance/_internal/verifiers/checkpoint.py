"""C2SP signed notes carrying BMDX checkpoints, read from the C2SP texts and the spec.

Written from the C2SP ``signed-note`` and ``tlog-checkpoint`` specifications and
spec/conventions/ledger.md, never from the reference implementation.  :func:`open_note`
runs the checks in the order of spec/vectors/checkpoints/README.md and raises
:class:`NoteError` naming the first one that fails, with its reason and requirement:

1. a well-formed signed note (``malformed-note``, BMDX-LED-030);
2. every line by a trusted key verifies (``bad-signature``), and one does at least
   (``unverified``), BMDX-LED-043; lines by unknown keys are ignored;
3. the text is a BMDX tlog-checkpoint (``malformed-checkpoint``, BMDX-LED-030);
4. the origin is the expected one (``origin-mismatch``, BMDX-LED-043);
5. ``threshold`` distinct trusted keys signed (``below-threshold``, BMDX-LED-043).

Ed25519 is pyca/cryptography's; base64 and SHA-256 are the standard library's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "Checkpoint",
    "NoteError",
    "NoteKey",
    "key_id",
    "open_note",
    "signature_keys",
]

REQ_FORM = "BMDX-LED-030"
REQ_VERIFY = "BMDX-LED-043"

EM_DASH = "\u2014"
MAX_NOTE_BYTES = 1_000_000
MAX_SIGNATURE_LINES = 100
ED25519_TYPE = b"\x01"
_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)$")


class NoteError(Exception):
    """The first check a note fails: ``reason`` as in the vectors, and the requirement."""

    def __init__(self, message: str, *, reason: str, requirement: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.requirement = requirement


@dataclass(frozen=True)
class NoteKey:
    """A verifier key: its key name, 4-byte key id and raw Ed25519 public key."""

    name: str
    key_id: bytes
    public: bytes

    @classmethod
    def ed25519(cls, name: str, public: bytes) -> NoteKey:
        return cls(name, key_id(name, public), public)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteKey:
        """A verifier key in the ``<name>+<hex id>+<base64(0x01 || key)>`` encoding."""
        name, hex_id, encoded = vkey.split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        if raw[:1] != ED25519_TYPE or len(raw) != 33:
            raise ValueError(f"not an Ed25519 verifier key: {vkey}")
        key = cls.ed25519(name, raw[1:])
        if key.key_id.hex() != hex_id:
            raise ValueError(f"the key id of {vkey} is not its key's")
        return key

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(ED25519_TYPE + self.public).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"


@dataclass(frozen=True)
class Checkpoint:
    """The tree head a note states, and the trusted keys that signed it, in line order."""

    origin: str
    tree_size: int
    root_hash: bytes
    height: int
    signers: tuple[NoteKey, ...]


def key_id(name: str, public: bytes) -> bytes:
    """C2SP signed-note: SHA-256(key name || 0x0A || signature type || public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_TYPE + public).digest()[:4]


def _malformed(message: str) -> NoteError:
    return NoteError(message, reason="malformed-note", requirement=REQ_FORM)


def _canonical_b64(text: str) -> bytes | None:
    """Standard, padded base64 that re-encodes to the same text, else ``None``."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def _split(note: bytes) -> tuple[str, list[tuple[str, bytes]]]:
    if len(note) > MAX_NOTE_BYTES:
        raise _malformed("the note is longer than 1,000,000 bytes")
    try:
        text = note.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _malformed("the note is not UTF-8") from e
    if any((ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F for c in text):
        raise _malformed("the note holds a control character other than newline")
    cut = text.rfind("\n\n")
    if cut < 0:
        raise _malformed("the note has no blank line before its signatures")
    body, block = text[: cut + 1], text[cut + 2 :]
    if body in ("", "\n") or not body.endswith("\n"):
        raise _malformed("the note text is empty")
    if not block.endswith("\n"):
        raise _malformed("the signature lines do not end with a newline")
    lines = block[:-1].split("\n")
    if not 1 <= len(lines) <= MAX_SIGNATURE_LINES:
        raise _malformed(f"a note has 1 to {MAX_SIGNATURE_LINES} signature lines")
    out = []
    for line in lines:
        if not line.startswith(EM_DASH + " "):
            raise _malformed("a signature line does not start with an em dash and a space")
        parts = line[2:].split(" ")
        if len(parts) != 2:
            raise _malformed("a signature line is not '— <name> <signature>'")
        name, encoded = parts
        if not name or "+" in name or any(c.isspace() for c in name):
            raise _malformed("a key name is empty or holds white space or '+'")
        raw = _canonical_b64(encoded)
        if raw is None or len(raw) < 5:
            raise _malformed("a signature is not canonical padded base64 of at least 5 bytes")
        out.append((name, raw))
    return body, out


def _body(text: str) -> tuple[str, int, bytes, int]:
    lines = text[:-1].split("\n")

    def bad(why: str) -> NoteError:
        return NoteError(why, reason="malformed-checkpoint", requirement=REQ_FORM)

    if len(lines) != 4:
        raise bad(f"the checkpoint text has {len(lines)} lines, not 4")
    origin, size, root, extension = lines
    if not origin or any(c.isspace() for c in origin):
        raise bad("the origin line is empty or holds white space")
    if not _DECIMAL.match(size):
        raise bad("the tree size is not a decimal without leading zeros")
    root_hash = _canonical_b64(root)
    if root_hash is None or len(root_hash) != 32:
        raise bad("the root hash is not canonical padded base64 of 32 bytes")
    keyword, _, height = extension.partition(" ")
    if keyword != "height" or not _DECIMAL.match(height):
        raise bad("the extension line is not 'height <decimal>'")
    return origin, int(size), root_hash, int(height)


def open_note(
    note: bytes | str, trusted: Sequence[NoteKey], *, origin: str, threshold: int
) -> Checkpoint:
    """Verify a checkpoint note; raise :class:`NoteError` at the first failed check."""
    data = note.encode("utf-8") if isinstance(note, str) else note
    text, lines = _split(data)
    by_id = {(k.name, k.key_id): k for k in trusted}
    signers: list[NoteKey] = []
    for name, raw in lines:
        key = by_id.get((name, raw[:4]))
        if key is None:
            continue  # a witness or another log's key: ignored
        try:
            Ed25519PublicKey.from_public_bytes(key.public).verify(raw[4:], text.encode("utf-8"))
        except (InvalidSignature, ValueError) as e:
            raise NoteError(
                f"the signature by {key.vkey} does not verify",
                reason="bad-signature",
                requirement=REQ_VERIFY,
            ) from e
        signers.append(key)
    if not signers:
        raise NoteError(
            "no signature line is by a trusted key", reason="unverified", requirement=REQ_VERIFY
        )
    found_origin, size, root_hash, height = _body(text)
    if found_origin != origin:
        raise NoteError(
            f"the note names origin {found_origin!r}, not {origin!r}",
            reason="origin-mismatch",
            requirement=REQ_VERIFY,
        )
    distinct = {(k.name, k.key_id) for k in signers}
    if len(distinct) < threshold:
        raise NoteError(
            f"{len(distinct)} distinct trusted key(s) signed; {threshold} are needed",
            reason="below-threshold",
            requirement=REQ_VERIFY,
        )
    return Checkpoint(found_origin, size, root_hash, height, tuple(signers))


def signature_keys(note: bytes | str) -> list[tuple[str, bytes]]:
    """The (key name, key id) of every signature line of a well-formed note, in order."""
    data = note.encode("utf-8") if isinstance(note, str) else note
    _, lines = _split(data)
    return [(name, raw[:4]) for name, raw in lines]
