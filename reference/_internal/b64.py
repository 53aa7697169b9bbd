"""Strict base64url (RFC 4648 section 5, no padding), as JOSE requires (RFC 7515 section 2).

The standard library decoder is lenient: it skips characters outside the alphabet
(without ``validate``), accepts padding, and ignores non-zero bits in the last
character.  Each of these gives one value several encodings, which is how
signature-malleability and filter-bypass tricks start (Wycheproof ``base64`` cases).
Here a string decodes only if it is the one canonical encoding of its bytes.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["B64Error", "b64url_decode", "b64url_encode"]

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")
_URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# The characters that may end an encoding of length 4n + r: the unused low bits of the
# last character (4 of them when r = 2, 2 when r = 3) must be zero.
_LAST_CHARACTER = {
    2: frozenset(_URLSAFE[i] for i in range(0, 64, 16)),
    3: frozenset(_URLSAFE[i] for i in range(0, 64, 4)),
}


class B64Error(ValueError):
    """Not the canonical unpadded base64url encoding of any byte string."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not _ALPHABET.fullmatch(text):
        raise B64Error("characters outside the base64url alphabet, or padding")
    if len(text) % 4 == 1:
        raise B64Error("impossible base64url length")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as e:
        raise B64Error(str(e)) from e
    if len(text) % 4 and text[-1] not in _LAST_CHARACTER[len(text) % 4]:
        raise B64Error("non-zero unused bits in the last character")
    return data
