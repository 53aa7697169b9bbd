"""Payload encryption: JWE envelopes under the BMDX security profile.

jwcrypto (over pyca ``cryptography``) does the JOSE work -- ECDH-ES key agreement with
the Concat KDF, AES key wrap, AES-GCM.  This module decides *what* it may be asked to
do: every header of every recipient is parsed here (strict I-JSON, strict base64url)
and checked against ``spec/security/profile.yaml`` *before* the library sees a byte,
because a JOSE library's defaults (several algorithms, ``zip``, embedded keys,
``crit``) are an attack surface the profile closes.

A payload is encrypted once under a fresh content key (CEK); the CEK is wrapped for
each recipient.  Adding or removing a recipient therefore touches only the wraps,
never the ciphertext, and destroying every wrap (:func:`shred`) leaves a ciphertext
nobody can open: the crypto-shredding primitive erasure builds on.

Every failure to decrypt raises :class:`DecryptionError` with one message whatever
failed; ``reason`` and ``violated`` say what, for local diagnostics only.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap
from jwcrypto.common import JWException, base64url_encode, json_decode
from jwcrypto.jwa import JWA
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK

from bmdx.reference._internal.b64 import B64Error, b64url_decode, b64url_encode
from bmdx.reference._internal.errors import (
    DecryptionError,
    IJsonError,
    KeyImportError,
    UsageError,
)
from bmdx.reference._internal.ijson import loads
from bmdx.reference._internal.keys import REQ_KEY_AGREEMENT, REQ_KEY_PURPOSE, import_public_jwk
from bmdx.reference._internal.profile import EncryptionProfile, security_profile

__all__ = [
    "Deterministic",
    "Recipient",
    "add_recipient",
    "check_plaintext_digest",
    "content_decrypt",
    "decrypt",
    "encrypt",
    "open_content_key",
    "parse_jwe",
    "plaintext_digest",
    "recipient",
    "recipient_kid",
    "remove_recipient",
    "shred",
    "unwrap_content_key",
    "wrap_content_key",
]

REQ_CONTENT = "BMDX-SEC-100"
REQ_ALG = "BMDX-SEC-101"
REQ_EPK = "BMDX-SEC-102"
REQ_LOW_ORDER = "BMDX-SEC-103"
REQ_ZIP = "BMDX-SEC-104"
REQ_CRIT = "BMDX-SEC-105"
REQ_KEY_REFS = "BMDX-SEC-106"
REQ_KID = "BMDX-SEC-107"
REQ_HEADERS = "BMDX-SEC-108"
REQ_BASE64URL = "BMDX-SEC-109"
REQ_DIGEST = "BMDX-SEC-110"
REQ_RECIPIENTS = "BMDX-SEC-111"
REQ_REWRAP = "BMDX-SEC-112"
REQ_SHRED = "BMDX-SEC-113"
REQ_UNIFORM = "BMDX-SEC-114"
REQ_FRESH = "BMDX-SEC-115"
REQ_NONEMPTY = "BMDX-SEC-116"
REQ_STRUCTURE = "BMDX-SEC-117"
REQ_AUTHENTIC = "BMDX-SEC-118"

_MEMBERS = frozenset({"objectType", "protected", "recipients", "aad", "iv", "ciphertext", "tag"})
_RECIPIENT_MEMBERS = frozenset({"header", "encrypted_key"})
_KEY_REFERENCES = frozenset({"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"})
_DIGEST = re.compile(r"sha-256:[0-9a-f]{64}")
_CURVE_KTY = {"P-256": "EC", "X25519": "OKP"}
_COORDINATE_BYTES = 32


def _fail(reason: str, violated: str) -> DecryptionError:
    return DecryptionError(reason=reason, violated=violated)


def _profile() -> EncryptionProfile:
    return security_profile().encryption


# --- digests -------------------------------------------------------------------------


def plaintext_digest(plaintext: bytes) -> str:
    """The record header's ``plaintextDigest`` of ``plaintext`` (``sha-256:<hex>``)."""
    return "sha-256:" + hashlib.sha256(plaintext).hexdigest()


def check_plaintext_digest(plaintext: bytes, expected: str) -> None:
    """Refuse a plaintext that is not the one the (signed) record header commits to."""
    if not _DIGEST.fullmatch(expected):
        raise _fail("digest-malformed", REQ_DIGEST)
    if not hmac.compare_digest(plaintext_digest(plaintext), expected):
        raise _fail("digest-mismatch", REQ_DIGEST)


# --- keys ----------------------------------------------------------------------------


def _as_jwk(key: Mapping[str, Any] | JWK) -> JWK:
    if isinstance(key, JWK):
        return key
    try:
        return JWK(**dict(key))
    except (JWException, ValueError, TypeError) as e:
        raise KeyImportError(f"not a usable JWK: {e}", reason="key-invalid") from e


def _check_encryption_key(key: JWK) -> str:
    """The key's curve, if it is an encryption key the profile admits."""
    crv = key.get("crv")
    if crv == "Ed25519":
        raise KeyImportError(
            "an Ed25519 key signs; it cannot be a key-agreement recipient",
            requirement=REQ_KEY_PURPOSE,
            reason="use-mismatch",
            remedy="Wrap for the recipient's registered P-256 or X25519 'enc' key.",
        )
    if crv not in _profile().curves or key.get("kty") != _CURVE_KTY.get(crv):
        raise KeyImportError(
            f"encryption keys are P-256 or X25519, not {key.get('kty')}/{crv}",
            reason="curve-not-allowed",
            remedy="Register a P-256 or X25519 key with use 'enc'.",
        )
    return str(crv)


def _check_recipient_key(key: JWK) -> None:
    """A recipient key must be declared for key agreement and give a contributory secret.

    Its ``use``, ``key_ops`` and ``alg`` are checked by the key module's rules for an
    'enc' key (BMDX-SEC-032).  An X25519 point of small order would make every wrap
    derive from the all-zero secret (RFC 7748 section 6.1): since clamping makes the
    result the same for every ephemeral scalar, one trial agreement detects it
    (BMDX-SEC-035).
    """
    public = json_decode(key.export_public())
    import_public_jwk(public, use="enc", kid_policy="declared")
    if public.get("crv") == "X25519":
        try:
            x25519.X25519PrivateKey.generate().exchange(
                x25519.X25519PublicKey.from_public_bytes(b64url_decode(public["x"]))
            )
        except ValueError as e:
            raise KeyImportError(
                "the X25519 recipient key is a point of small order",
                requirement=REQ_KEY_AGREEMENT,
                reason="low-order-point",
            ) from e


def recipient_kid(key: Mapping[str, Any] | JWK) -> str:
    """The ``kid`` a recipient is named by: the key's own, else its RFC 7638 thumbprint."""
    jwk = _as_jwk(key)
    kid = jwk.get("kid")
    return str(kid) if kid else str(jwk.thumbprint())


# --- deterministic encryption for normative vectors ----------------------------------


@dataclass
class Deterministic:
    """Fixed content key, IV and ephemeral keys, so that JWE vectors reproduce.

    For ``tools/vectors/gen_jwe.py`` and tests only.  Never use it for real data:
    a repeated IV under one key destroys AES-GCM, and a known ephemeral key reveals
    the wrapped content key (BMDX-SEC-115).
    """

    cek: bytes
    iv: bytes
    ephemeral_keys: list[JWK] = field(default_factory=list)

    def next_ephemeral(self) -> JWK:
        if not self.ephemeral_keys:
            raise UsageError("no fixed ephemeral key left for the next recipient")
        return self.ephemeral_keys.pop(0)


_EcdhEsA256Kw: Any = type(JWA.keymgmt_alg("ECDH-ES+A256KW"))
_A256Gcm: Any = type(JWA.encryption_alg("A256GCM"))


class _FixedEpkEcdhEs(_EcdhEsA256Kw):  # type: ignore[misc]
    """The library's ECDH-ES+A256KW with the ephemeral key supplied, not generated."""

    def __init__(self, epk: JWK) -> None:
        super().__init__()
        self._epk = epk

    def wrap(self, key: JWK, bitsize: int, cek: bytes, headers: dict[str, Any]) -> Any:
        self._check_key(key)
        dk = self._derive(
            self._epk.get_op_key("unwrapKey"),
            key.get_op_key("wrapKey"),
            headers["alg"],
            self.keysize,
            headers,
        )
        kek = JWK(kty="oct", use="enc", k=base64url_encode(dk))
        wrapped = JWA.keymgmt_alg("A256KW").wrap(kek, bitsize, cek, headers)
        epk = json_decode(self._epk.export_public())
        wrapped["header"] = {"epk": {k: epk[k] for k in ("kty", "crv", "x", "y") if k in epk}}
        return wrapped


class _FixedIvA256Gcm(_A256Gcm):  # type: ignore[misc]
    """AES-256-GCM with the IV supplied, not drawn at random."""

    def __init__(self, iv: bytes) -> None:
        super().__init__()
        self._iv = iv

    def encrypt(self, k: bytes, aad: bytes, m: bytes) -> tuple[bytes, bytes, bytes]:
        sealed = AESGCM(k).encrypt(self._iv, m, aad)
        return self._iv, sealed[:-16], sealed[-16:]


class _DeterministicJWE(JWE):  # type: ignore[misc]
    def __init__(self, *args: Any, deterministic: Deterministic, **kwargs: Any) -> None:
        self._deterministic = deterministic
        super().__init__(*args, **kwargs)
        self.cek = deterministic.cek

    def _jwa_keymgmt(self, name: str) -> Any:
        super()._jwa_keymgmt(name)  # the allowed-algorithms check
        return _FixedEpkEcdhEs(self._deterministic.next_ephemeral())

    def _jwa_enc(self, name: str) -> Any:
        super()._jwa_enc(name)
        return _FixedIvA256Gcm(self._deterministic.iv)


# --- encryption ----------------------------------------------------------------------


def _dumps(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _prepare_recipients(
    recipients: Sequence[Mapping[str, Any] | JWK],
) -> list[tuple[str, JWK]]:
    prof = _profile()
    if not recipients:
        raise UsageError("a JWE needs at least one recipient", reason="no-recipients")
    if len(recipients) > prof.max_recipients:
        raise UsageError(
            f"{len(recipients)} recipients exceed the profile's {prof.max_recipients}",
            requirement=REQ_STRUCTURE,
            reason="too-many-recipients",
        )
    out: list[tuple[str, JWK]] = []
    for recipient in recipients:
        jwk = _as_jwk(recipient)
        _check_encryption_key(jwk)
        _check_recipient_key(jwk)
        kid = recipient_kid(jwk)
        if any(kid == seen for seen, _ in out):
            raise UsageError(f"recipient {kid} named twice", reason="duplicate-recipient")
        public = JWK(**json_decode(jwk.export_public()))
        out.append((kid, public))
    return out


def encrypt(
    plaintext: bytes,
    recipients: Sequence[Mapping[str, Any] | JWK],
    *,
    cty: str | None = None,
    aad: bytes | None = None,
    deterministic: Deterministic | None = None,
) -> dict[str, Any]:
    """Encrypt ``plaintext`` once and wrap its content key for every recipient.

    Returns a ``Jwe`` object (spec/schemas/json/jwe.json).  ``deterministic`` is for
    normative vectors only (see :class:`Deterministic`).
    """
    prof = _profile()
    if len(plaintext) < prof.min_plaintext_bytes:
        raise UsageError(
            "an envelope's payload must not be empty",
            requirement=REQ_NONEMPTY,
            reason="empty-payload",
        )
    prepared = _prepare_recipients(recipients)
    protected: dict[str, str] = {"enc": prof.enc}
    if cty is not None:
        protected["cty"] = cty
    options: dict[str, Any] = {
        "protected": _dumps(protected),
        "algs": [prof.alg, prof.enc],
        "flattened": False,
    }
    if aad is not None:
        options["aad"] = aad
    token = (
        JWE(plaintext, **options)
        if deterministic is None
        else _DeterministicJWE(plaintext, deterministic=deterministic, **options)
    )
    for kid, public in prepared:
        token.add_recipient(public, _dumps({"alg": prof.alg, "kid": kid}))
    serialized = json_decode(token.serialize())
    out: dict[str, Any] = {
        "objectType": "Jwe",
        "protected": serialized["protected"],
        "recipients": [
            {
                "header": {k: r["header"][k] for k in ("alg", "kid", "epk")},
                "encrypted_key": r["encrypted_key"],
            }
            for r in serialized["recipients"]
        ],
        "iv": serialized["iv"],
        "ciphertext": serialized["ciphertext"],
        "tag": serialized["tag"],
    }
    if aad is not None:
        out["aad"] = serialized["aad"]
    return out


# --- parsing and the profile checks ---------------------------------------------------


def _b64(value: Any) -> bytes:
    try:
        return b64url_decode(value)
    except B64Error as e:
        raise _fail("bad-base64url", REQ_BASE64URL) from e


def _header_json(raw: bytes) -> dict[str, Any]:
    try:
        value = loads(raw)
    except IJsonError as e:
        reason = "duplicate-header" if e.reason == "duplicate-key" else "header-not-ijson"
        raise _fail(reason, REQ_HEADERS) from e
    if not isinstance(value, dict):
        raise _fail("header-not-object", REQ_HEADERS)
    return value


def parse_jwe(data: bytes | str) -> dict[str, Any]:
    """Read a JWE in any serialisation (compact, flattened or general JSON).

    The result has the ``Jwe`` object's shape (general serialisation); nothing is
    checked against the profile yet -- :func:`decrypt` does that.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if raw.lstrip().startswith(b"{"):
        try:
            value = loads(raw)
        except IJsonError as e:
            raise _fail("not-ijson", e.requirement) from e
        if not isinstance(value, dict):
            raise _fail("not-a-jwe", REQ_STRUCTURE)
        if "recipients" in value:
            return value
        flattened = {k: v for k, v in value.items() if k not in _RECIPIENT_MEMBERS}
        flattened["recipients"] = [{k: value[k] for k in _RECIPIENT_MEMBERS if k in value}]
        return flattened
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as e:
        raise _fail("bad-base64url", REQ_BASE64URL) from e
    parts = text.strip().split(".")
    if len(parts) != 5:
        raise _fail("not-a-jwe", REQ_STRUCTURE)
    protected, encrypted_key, iv, ciphertext, tag = parts
    return {
        "protected": protected,
        "recipients": [{"encrypted_key": encrypted_key}],
        "iv": iv,
        "ciphertext": ciphertext,
        "tag": tag,
    }


@dataclass(frozen=True, slots=True)
class _Recipient:
    header: dict[str, Any]  # the JOSE header: protected + per-recipient
    encrypted_key: bytes
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Parsed:
    protected_b64: str
    iv: bytes
    ciphertext: bytes
    tag: bytes
    recipients: list[_Recipient]


def _merge(*headers: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for header in headers:
        for name, value in header.items():
            if name in merged:
                raise _fail("header-collision", REQ_HEADERS)
            merged[name] = value
    return merged


def _check_header(header: dict[str, Any], prof: EncryptionProfile) -> None:
    forbidden = security_profile().forbidden.header_parameters
    for name in header:
        if name == "zip":
            raise _fail("zip-forbidden", REQ_ZIP)
        if name == "crit":
            raise _fail("crit-forbidden", REQ_CRIT)
        if name in _KEY_REFERENCES:
            raise _fail("key-reference-forbidden", REQ_KEY_REFS)
        if name in forbidden:
            raise _fail("header-not-allowed", REQ_HEADERS)
    if header.get("alg") != prof.alg:
        raise _fail("alg-not-allowed", REQ_ALG)
    if header.get("enc") != prof.enc:
        raise _fail("enc-not-allowed", REQ_CONTENT)
    if not set(header) <= prof.header_parameters:
        raise _fail("header-not-allowed", REQ_HEADERS)
    kid = header.get("kid")
    if prof.recipient_kid_required and (not isinstance(kid, str) or not kid):
        raise _fail("missing-kid", REQ_KID)
    if "cty" in header and not isinstance(header["cty"], str):
        raise _fail("header-not-allowed", REQ_HEADERS)
    _check_epk_shape(header.get("epk"), prof)


def _check_epk_shape(epk: Any, prof: EncryptionProfile) -> None:
    if not isinstance(epk, dict):
        raise _fail("epk-missing", REQ_EPK)
    crv, kty = epk.get("crv"), epk.get("kty")
    if crv not in prof.curves or kty != _CURVE_KTY.get(crv):
        raise _fail("epk-curve-not-allowed", REQ_EPK)
    if set(epk) != prof.epk_members[str(kty)]:
        reason = "epk-private" if "d" in epk else "epk-members"
        raise _fail(reason, REQ_EPK)
    for coordinate in ("x", "y") if kty == "EC" else ("x",):
        if len(_b64(epk[coordinate])) != _COORDINATE_BYTES:
            raise _fail("epk-length", REQ_EPK)


def _parse(jwe: Mapping[str, Any]) -> _Parsed:
    prof = _profile()
    if not isinstance(jwe, Mapping):
        raise _fail("not-a-jwe", REQ_STRUCTURE)
    if not set(jwe) <= _MEMBERS or not {"protected", "iv", "ciphertext", "tag"} <= set(jwe):
        raise _fail("not-a-jwe", REQ_STRUCTURE)
    if "objectType" in jwe and jwe["objectType"] != "Jwe":
        raise _fail("not-a-jwe", REQ_STRUCTURE)
    recipients = jwe.get("recipients")
    if not isinstance(recipients, list):
        raise _fail("not-a-jwe", REQ_STRUCTURE)
    if not recipients:
        raise _fail("no-wrapped-keys", REQ_SHRED)
    if len(recipients) > prof.max_recipients:
        raise _fail("too-many-recipients", REQ_STRUCTURE)
    protected_b64 = jwe["protected"]
    protected = _header_json(_b64(protected_b64))
    iv, ciphertext, tag = _b64(jwe["iv"]), _b64(jwe["ciphertext"]), _b64(jwe["tag"])
    if "aad" in jwe:
        _b64(jwe["aad"])
    parsed = [_parse_recipient(entry, protected, prof) for entry in recipients]
    kids = [r.header["kid"] for r in parsed]
    if len(set(kids)) != len(kids):
        raise _fail("duplicate-recipient", REQ_KID)
    _check_content_parameters(iv, tag)
    if len(ciphertext) < prof.min_plaintext_bytes:
        raise _fail("empty-payload", REQ_NONEMPTY)
    return _Parsed(protected_b64, iv, ciphertext, tag, parsed)


def _parse_recipient(entry: Any, protected: dict[str, Any], prof: EncryptionProfile) -> _Recipient:
    if not isinstance(entry, dict) or not set(entry) <= _RECIPIENT_MEMBERS:
        raise _fail("not-a-jwe", REQ_STRUCTURE)
    own = entry.get("header", {})
    if not isinstance(own, dict):
        raise _fail("header-not-object", REQ_HEADERS)
    header = _merge(protected, own)
    _check_header(header, prof)
    encrypted_key = _b64(entry.get("encrypted_key", ""))
    if len(encrypted_key) != prof.wrapped_key_bytes:
        raise _fail("wrapped-key-length", REQ_ALG)
    return _Recipient(header, encrypted_key, entry)


def _check_content_parameters(iv: bytes, tag: bytes) -> None:
    prof = _profile()
    if len(iv) * 8 != prof.iv_bits:
        raise _fail("iv-length", REQ_CONTENT)
    if len(tag) * 8 != prof.tag_bits:
        raise _fail("tag-length", REQ_CONTENT)


def _check_agreement(epk: dict[str, Any], private: JWK) -> None:
    """The ephemeral key is a valid point on the recipient key's own curve."""
    crv = _check_encryption_key(private)
    if epk["crv"] != crv:
        raise _fail("epk-curve-mismatch", REQ_EPK)
    own = private.get_op_key("unwrapKey")
    if crv == "X25519":
        peer = x25519.X25519PublicKey.from_public_bytes(_b64(epk["x"]))
        try:
            own.exchange(peer)
        except ValueError as e:  # pyca refuses an all-zero shared secret
            raise _fail("low-order-point", REQ_LOW_ORDER) from e
        return
    try:
        ec.EllipticCurvePublicNumbers(
            int.from_bytes(_b64(epk["x"]), "big"),
            int.from_bytes(_b64(epk["y"]), "big"),
            ec.SECP256R1(),
        ).public_key()
    except ValueError as e:
        raise _fail("epk-off-curve", REQ_EPK) from e


def _private_jwk(key: Mapping[str, Any] | JWK) -> JWK:
    jwk = _as_jwk(key)
    if not jwk.has_private:
        raise KeyImportError("decryption needs the private key", reason="not-private")
    _check_encryption_key(jwk)
    return jwk


def _open(jwe: Mapping[str, Any], key: Mapping[str, Any] | JWK) -> tuple[bytes, bytes]:
    """Plaintext and content key, after every profile check."""
    parsed = _parse(jwe)
    private = _private_jwk(key)
    kid = recipient_kid(private)
    mine = [r for r in parsed.recipients if r.header["kid"] == kid]
    if not mine:
        raise _fail("no-recipient", REQ_RECIPIENTS)
    recipient = mine[0]
    _check_agreement(recipient.header["epk"], private)
    prof = _profile()
    single: dict[str, Any] = {
        "protected": parsed.protected_b64,
        "encrypted_key": recipient.raw["encrypted_key"],
        "iv": jwe["iv"],
        "ciphertext": jwe["ciphertext"],
        "tag": jwe["tag"],
    }
    if "aad" in jwe:
        single["aad"] = jwe["aad"]
    if "header" in recipient.raw:
        single["header"] = recipient.raw["header"]
    token = JWE(algs=[prof.alg, prof.enc])
    try:
        token.deserialize(json.dumps(single))
        token.decrypt(private)
    except (JWException, ValueError, TypeError, KeyError) as e:
        raise _fail("authentication-failed", REQ_AUTHENTIC) from e
    return bytes(token.plaintext), bytes(token.cek)


def decrypt(
    jwe: Mapping[str, Any],
    key: Mapping[str, Any] | JWK,
    *,
    expected_digest: str | None = None,
) -> bytes:
    """Decrypt the recipient's copy of ``jwe`` with its private ``key``.

    ``expected_digest`` is the record header's ``plaintextDigest``; when given, the
    plaintext must match it (BMDX-SEC-110).  Any failure raises
    :class:`DecryptionError` (uniform; see its docstring).
    """
    plaintext, _ = _open(jwe, key)
    if expected_digest is not None:
        check_plaintext_digest(plaintext, expected_digest)
    return plaintext


# --- recipients and shredding --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recipient:
    """A recipient key checked once under the profile, ready to have content keys wrapped.

    Made by :func:`recipient`: the key is an 'enc' key of an admitted curve, declared
    for key agreement and not a point of small order (BMDX-SEC-032, BMDX-SEC-035).
    """

    kid: str
    public: JWK


def recipient(key: Mapping[str, Any] | JWK) -> Recipient:
    """Check ``key`` as a recipient once; wrap for it any number of times after."""
    [(kid, public)] = _prepare_recipients([key])
    return Recipient(kid, public)


def open_content_key(jwe: Mapping[str, Any], holder_key: Mapping[str, Any] | JWK) -> bytes:
    """The content key of ``jwe``, unwrapped by a current recipient's private key.

    The whole token is decrypted and authenticated first, as :func:`decrypt` does: a
    content key only comes out of a token that opens (BMDX-SEC-118).
    """
    return _open(jwe, holder_key)[1]


def wrap_content_key(
    cek: bytes, target: Recipient, *, deterministic: Deterministic | None = None
) -> dict[str, Any]:
    """One recipient entry: ``cek`` wrapped for ``target`` by ECDH-ES+A256KW.

    The ephemeral key is fresh for every wrap (BMDX-SEC-115); the entry goes beside
    the token's others, under its protected header.
    """
    prof = _profile()
    if len(cek) * 8 != prof.key_bits:
        raise UsageError("a content key is 256 bits", requirement=REQ_CONTENT, reason="key-length")
    header = {"alg": prof.alg, "enc": prof.enc, "kid": target.kid}
    algorithm = (
        JWA.keymgmt_alg(prof.alg)
        if deterministic is None
        else _FixedEpkEcdhEs(deterministic.next_ephemeral())
    )
    wrapped = algorithm.wrap(target.public, prof.key_bits, cek, header)
    return {
        "header": {"alg": prof.alg, "kid": target.kid, "epk": wrapped["header"]["epk"]},
        "encrypted_key": b64url_encode(wrapped["ek"]),
    }


def add_recipient(
    jwe: Mapping[str, Any],
    holder_key: Mapping[str, Any] | JWK,
    new_recipient: Mapping[str, Any] | JWK,
    *,
    deterministic: Deterministic | None = None,
) -> dict[str, Any]:
    """Wrap the content key for one more recipient; the ciphertext is not touched.

    ``holder_key`` is a current recipient's private key: only someone who can read
    the payload can grant it to another.
    """
    cek = open_content_key(jwe, holder_key)
    prof = _profile()
    target = recipient(new_recipient)
    if any(r.get("header", {}).get("kid") == target.kid for r in jwe["recipients"]):
        raise UsageError(f"{target.kid} is already a recipient", reason="duplicate-recipient")
    if len(jwe["recipients"]) >= prof.max_recipients:
        raise UsageError(
            f"a JWE holds at most {prof.max_recipients} recipients",
            requirement=REQ_STRUCTURE,
            reason="too-many-recipients",
        )
    entry = wrap_content_key(cek, target, deterministic=deterministic)
    out = copy.deepcopy(dict(jwe))
    out["recipients"].append(entry)
    return out


def remove_recipient(jwe: Mapping[str, Any], kid: str) -> dict[str, Any]:
    """Drop one recipient's wrapped key; the ciphertext is not touched.

    Removing the last recipient is erasure: use :func:`shred`, which says so.
    """
    kept = [r for r in jwe["recipients"] if r.get("header", {}).get("kid") != kid]
    if len(kept) == len(jwe["recipients"]):
        raise UsageError(f"{kid} is not a recipient", reason="no-such-recipient")
    if not kept:
        raise UsageError(
            "removing the last recipient erases the payload",
            reason="last-recipient",
            remedy="Call shred() to erase the payload deliberately.",
        )
    out = copy.deepcopy(dict(jwe))
    out["recipients"] = kept
    return out


def shred(jwe: Mapping[str, Any]) -> dict[str, Any]:
    """Destroy every wrapped content key: crypto-shredding (BMDX-SEC-113).

    The result keeps the protected header, IV, ciphertext and tag but no recipient,
    so no key can open it; it is deliberately no longer a valid ``Jwe`` document.
    """
    out = copy.deepcopy(dict(jwe))
    out["recipients"] = []
    return out


# --- the primitives under the profile, for known-answer tests ------------------------


def content_decrypt(key: bytes, iv: bytes, ciphertext: bytes, tag: bytes, aad: bytes) -> bytes:
    """AES-256-GCM decryption as JWE content decryption does it, under the profile.

    The same IV and tag checks as :func:`decrypt`, then the library's A256GCM.
    """
    if len(key) * 8 != _profile().key_bits:
        raise _fail("key-length", REQ_CONTENT)
    _check_content_parameters(iv, tag)
    try:
        return bytes(JWA.encryption_alg(_profile().enc).decrypt(key, aad, iv, ciphertext, tag))
    except (InvalidTag, JWException, ValueError) as e:
        raise _fail("authentication-failed", REQ_AUTHENTIC) from e


def unwrap_content_key(kek: bytes, wrapped: bytes) -> bytes:
    """AES-256 key unwrap of a content key, as ECDH-ES+A256KW does it, under the profile."""
    prof = _profile()
    if len(kek) * 8 != prof.key_bits:
        raise _fail("kek-length", REQ_ALG)
    if len(wrapped) != prof.wrapped_key_bytes:
        raise _fail("wrapped-key-length", REQ_ALG)
    kw = JWA.keymgmt_alg("A256KW")
    kek_jwk = JWK(kty="oct", k=b64url_encode(kek))
    try:
        return bytes(kw.unwrap(kek_jwk, prof.key_bits, wrapped, {}))
    except (InvalidUnwrap, JWException, ValueError) as e:
        raise _fail("unwrap-failed", REQ_AUTHENTIC) from e
