"""Participant keys under the security profile: import, generation, storage, thumbprints.

Every public key enters through :func:`import_public_jwk` (JWK) or the two adapters
that turn other encodings into a JWK first (:func:`public_key_from_spki`,
:func:`public_key_from_point`), so there is one place where a key is checked: its
type and curve are in the profile, its point is on the curve, it carries no private
members, its declared ``use``/``key_ops``/``alg`` agree with what it is used for, and
its ``kid`` is its RFC 7638 thumbprint.  pyca/cryptography does the curve arithmetic
and jwcrypto computes thumbprints; nothing here is hand-written cryptography.

Private keys are stored as PKCS#8 PEM, encrypted with the best scheme pyca offers
when a passphrase is given (BMDX-SEC-036).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from jwcrypto.jwk import JWK

from bmdx.reference._internal.b64 import B64Error, b64url_decode, b64url_encode
from bmdx.reference._internal.errors import KeyImportError
from bmdx.reference._internal.profile import KeyType, security_profile

__all__ = [
    "PUBLIC_KEY_OBJECT_TYPE",
    "KeySet",
    "PrivateKey",
    "PublicKey",
    "PublicKeyObject",
    "derive_shared_secret",
    "generate_key",
    "import_private_jwk",
    "import_public_jwk",
    "load_private_pem",
    "private_key_to_pem",
    "public_key_from_point",
    "public_key_from_spki",
    "thumbprint",
]

REQ_KEY_TYPE = "BMDX-SEC-030"
REQ_KEY_VALUE = "BMDX-SEC-031"
REQ_KEY_PURPOSE = "BMDX-SEC-032"
REQ_PRIVATE_MEMBER = "BMDX-SEC-033"
REQ_KID = "BMDX-SEC-034"
REQ_KEY_AGREEMENT = "BMDX-SEC-035"
REQ_KEY_STORAGE = "BMDX-SEC-036"
REQ_KEY_SET = "BMDX-SEC-037"

Use = Literal["sig", "enc"]
KidPolicy = Literal["thumbprint", "declared"]
PublicKeyObject = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | x25519.X25519PublicKey
PrivateKeyObject = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey

PUBLIC_KEY_OBJECT_TYPE = "PublicKey"
_PUBLIC_MEMBERS = frozenset({"kty", "crv", "x", "y", "kid", "use", "alg", "key_ops", "objectType"})
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
_KEY_OPS = {"sig": frozenset({"verify", "sign"}), "enc": frozenset({"deriveKey", "deriveBits"})}
_COORDINATE_BYTES = 32


def _reject(reason: str, message: str, requirement: str = REQ_KEY_TYPE) -> KeyImportError:
    return KeyImportError(message, requirement=requirement, reason=reason)


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a JWK, base64url without padding."""
    try:
        return str(JWK(**dict(jwk)).thumbprint())
    except Exception as e:
        raise _reject("thumbprint", f"no RFC 7638 thumbprint for this JWK: {e}", REQ_KID) from e


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A public key the profile admits, with its thumbprint ``kid`` and purpose ``use``."""

    kid: str
    key_type: KeyType
    thumbprint: str
    jwk: Mapping[str, str] = field(repr=False)
    key: PublicKeyObject = field(repr=False, compare=False)

    @property
    def use(self) -> str:
        return self.key_type.use

    @property
    def signing_alg(self) -> str | None:
        """The JWS ``alg`` this key signs with, or ``None`` for a key-agreement key."""
        algorithm = security_profile().signatures.signing_alg_for(
            self.key_type.kty, self.key_type.crv
        )
        return algorithm.alg if algorithm and self.use == "sig" else None

    @property
    def alg(self) -> str:
        """The one algorithm the key is used with (its JWK ``alg``)."""
        return self.signing_alg or security_profile().encryption.alg

    def to_jwk(self) -> dict[str, str]:
        """The public JWK as registered: key members, ``kid``, ``use`` and ``alg``."""
        out = {k: self.jwk[k] for k in _THUMBPRINT_MEMBERS[self.key_type.kty]}
        out["kid"] = self.thumbprint
        out["use"] = self.use
        out["alg"] = self.alg
        return dict(sorted(out.items()))

    def to_public_key_object(self) -> dict[str, str]:
        """The key as a BMDX ``PublicKey`` object (public-key.json)."""
        return {"objectType": PUBLIC_KEY_OBJECT_TYPE, **self.to_jwk()}


@dataclass(frozen=True, slots=True)
class PrivateKey:
    """A private key together with its public half."""

    public: PublicKey
    key: PrivateKeyObject = field(repr=False, compare=False)

    @property
    def kid(self) -> str:
        return self.public.kid


def _coordinate(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise _reject("missing-member", f"JWK member {name!r} is missing", REQ_KEY_VALUE)
    try:
        raw = b64url_decode(value)
    except B64Error as e:
        raise _reject("bad-base64url", f"JWK member {name!r}: {e}", REQ_KEY_VALUE) from e
    if len(raw) != _COORDINATE_BYTES:
        raise _reject(
            "invalid-point",
            f"JWK member {name!r} is {len(raw)} bytes, not {_COORDINATE_BYTES}",
            REQ_KEY_VALUE,
        )
    return raw


def _check_purpose(jwk: Mapping[str, Any], key_type: KeyType) -> None:
    declared_use = jwk.get("use")
    if declared_use is not None and declared_use != key_type.use:
        raise _reject(
            "use-mismatch",
            f"key declares use {declared_use!r}, needed {key_type.use!r}",
            REQ_KEY_PURPOSE,
        )
    key_ops = jwk.get("key_ops")
    if key_ops is not None:
        allowed = _KEY_OPS[key_type.use]
        if (
            not isinstance(key_ops, list)
            or not key_ops
            or len(set(key_ops)) != len(key_ops)
            or not set(key_ops) <= allowed
        ):
            raise _reject(
                "key-ops-mismatch",
                f"key_ops {key_ops!r} do not fit a {key_type.use!r} key",
                REQ_KEY_PURPOSE,
            )
    alg = jwk.get("alg")
    if alg is None:
        return
    profile = security_profile()
    if not isinstance(alg, str) or alg in profile.forbidden.algorithms:
        raise _reject("alg-not-allowed", f"key declares forbidden alg {alg!r}", REQ_KEY_PURPOSE)
    algorithm = profile.signatures.algorithms.get(alg)
    if key_type.use == "sig":
        if algorithm is None or (algorithm.kty, algorithm.crv) != (key_type.kty, key_type.crv):
            raise _reject(
                "alg-mismatch",
                f"alg {alg!r} is not the profile's signature algorithm for {key_type.crv}",
                REQ_KEY_PURPOSE,
            )
    elif alg != profile.encryption.alg:
        raise _reject(
            "alg-mismatch",
            f"a key-agreement key declares alg {alg!r}, not {profile.encryption.alg!r}",
            REQ_KEY_PURPOSE,
        )


def _purpose_of(jwk: Mapping[str, Any], kty: str, crv: str, use: Use | None) -> KeyType:
    keys = security_profile().keys
    wanted = use or jwk.get("use")
    if wanted is None and isinstance(jwk.get("alg"), str):
        wanted = "sig" if jwk["alg"] in security_profile().signatures.algorithms else "enc"
    candidates = [
        t for t in keys.types.values() if (t.kty, t.crv) == (kty, crv) and wanted in (None, t.use)
    ]
    if not candidates:
        raise _reject(
            "curve-not-allowed" if wanted is None else "use-mismatch",
            f"no {wanted or ''} key type of the profile has kty {kty!r} and crv {crv!r}".replace(
                "  ", " "
            ),
            REQ_KEY_TYPE if wanted is None else REQ_KEY_PURPOSE,
        )
    if len(candidates) > 1:
        raise _reject(
            "use-missing",
            f"a {crv} key must say whether it signs or agrees keys ('use' or 'alg')",
            REQ_KEY_PURPOSE,
        )
    return candidates[0]


def _check_members(jwk: Any) -> None:
    if not isinstance(jwk, Mapping):
        raise _reject("not-a-jwk", "a JWK is a JSON object", REQ_KEY_VALUE)
    if jwk.get("kty") not in _THUMBPRINT_MEMBERS:
        raise _reject("kty-not-allowed", f"key type {jwk.get('kty')!r} is not in the profile")
    private = sorted(set(jwk) & _PRIVATE_MEMBERS)
    if private:
        raise _reject(
            "private-member", f"public key holds private members {private}", REQ_PRIVATE_MEMBER
        )
    unknown = sorted(set(jwk) - _PUBLIC_MEMBERS)
    if unknown:
        raise _reject(
            "member-not-allowed", f"JWK members {unknown} are not in the profile", REQ_KEY_VALUE
        )
    if jwk.get("objectType", PUBLIC_KEY_OBJECT_TYPE) != PUBLIC_KEY_OBJECT_TYPE:
        raise _reject("not-a-jwk", "objectType of a key must be 'PublicKey'", REQ_KEY_VALUE)
    if "y" in jwk and jwk.get("kty") == "OKP":
        raise _reject("member-not-allowed", "an OKP key has no 'y' member", REQ_KEY_VALUE)


def import_public_jwk(
    jwk: Any, *, use: Use | None = None, kid_policy: KidPolicy = "thumbprint"
) -> PublicKey:
    """Check a public JWK against the profile and load it.

    ``use`` is what the caller will do with the key (``sig``: verify signatures,
    ``enc``: key agreement); a key declaring another purpose is refused.  With
    ``kid_policy="thumbprint"`` (everything BMDX registers) a ``kid`` member must equal
    the key's thumbprint; ``"declared"`` keeps the JWK's own ``kid`` for foreign key
    sets (used to run third-party JOSE vectors through the same checks).
    """
    _check_members(jwk)
    kty, crv = jwk["kty"], jwk.get("crv")
    if not isinstance(crv, str) or security_profile().keys.type_for(kty, crv) is None:
        raise _reject("curve-not-allowed", f"curve {crv!r} is not in the profile for {kty}")
    key_type = _purpose_of(jwk, kty, crv, use)
    _check_purpose(jwk, key_type)
    x = _coordinate(jwk, "x")
    key: PublicKeyObject
    try:
        if kty == "EC":
            y = _coordinate(jwk, "y")
            key = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
            ).public_key()
        elif crv == "Ed25519":
            key = ed25519.Ed25519PublicKey.from_public_bytes(x)
        else:
            key = x25519.X25519PublicKey.from_public_bytes(x)
    except (ValueError, UnsupportedAlgorithm) as e:
        raise _reject("invalid-point", f"not a point of {crv}: {e}", REQ_KEY_VALUE) from e
    members = {k: jwk[k] for k in _THUMBPRINT_MEMBERS[kty]}
    kid = key_thumbprint = thumbprint(members)
    declared = jwk.get("kid")
    if declared is not None:
        if not isinstance(declared, str) or not declared:
            raise _reject("kid-not-thumbprint", "kid must be a non-empty string", REQ_KID)
        if kid_policy == "thumbprint" and declared != kid:
            raise _reject(
                "kid-not-thumbprint",
                f"kid {declared!r} is not the key's RFC 7638 thumbprint {kid!r}",
                REQ_KID,
            )
        kid = declared
    return PublicKey(kid=kid, key_type=key_type, thumbprint=key_thumbprint, jwk=members, key=key)


def _jwk_of(key: PublicKeyObject) -> dict[str, str]:
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise _reject("curve-not-allowed", f"curve {key.curve.name} is not in the profile")
        numbers = key.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(numbers.x.to_bytes(_COORDINATE_BYTES, "big")),
            "y": b64url_encode(numbers.y.to_bytes(_COORDINATE_BYTES, "big")),
        }
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    crv = "Ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else "X25519"
    return {"kty": "OKP", "crv": crv, "x": b64url_encode(raw)}


def public_key_from_spki(der: bytes, *, use: Use | None = None) -> PublicKey:
    """Load a DER SubjectPublicKeyInfo, accepting only its one strict encoding.

    Explicit curve parameters, compressed points and any BER leniency are refused:
    the SPKI must be byte-identical to pyca's re-encoding of the key it holds.
    """
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm) as e:
        raise _reject("invalid-spki", f"not a usable public key: {e}", REQ_KEY_VALUE) from e
    if not isinstance(
        key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | x25519.X25519PublicKey
    ):
        raise _reject("kty-not-allowed", f"{type(key).__name__} is not in the profile")
    canonical = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if canonical != der:
        raise _reject(
            "non-canonical-spki",
            "SubjectPublicKeyInfo is not in its strict DER form (uncompressed, named curve)",
            REQ_KEY_VALUE,
        )
    return import_public_jwk(_jwk_of(key), use=use)


def public_key_from_point(crv: str, point: bytes, *, use: Use | None = None) -> PublicKey:
    """Load a raw public key: a 65-byte uncompressed SEC1 point, or 32 bytes for OKP.

    Compressed points never occur in the profile (a JWK carries both coordinates).
    """
    if crv == "P-256":
        if len(point) != 1 + 2 * _COORDINATE_BYTES or point[0] != 0x04:
            raise _reject(
                "point-encoding",
                "only uncompressed P-256 points (0x04 || X || Y) are accepted",
                REQ_KEY_VALUE,
            )
        jwk = {
            "kty": "EC",
            "crv": crv,
            "x": b64url_encode(point[1:33]),
            "y": b64url_encode(point[33:]),
        }
    elif crv in ("Ed25519", "X25519"):
        jwk = {"kty": "OKP", "crv": crv, "x": b64url_encode(point)}
    else:
        raise _reject("curve-not-allowed", f"curve {crv!r} is not in the profile")
    return import_public_jwk(jwk, use=use)


def import_private_jwk(jwk: Any, *, use: Use = "sig") -> PrivateKey:
    """Load a private JWK (``d`` plus the public members); the halves must match.

    For fixed test keys (RFC 8032, RFC 6979) and vectors; participants keep their
    private keys in encrypted PKCS#8 files.
    """
    if not isinstance(jwk, Mapping) or not isinstance(jwk.get("d"), str):
        raise _reject("not-a-jwk", "a private JWK has a 'd' member", REQ_KEY_VALUE)
    public = import_public_jwk({k: v for k, v in jwk.items() if k != "d"}, use=use)
    try:
        d = b64url_decode(jwk["d"])
    except B64Error as e:
        raise _reject("bad-base64url", f"JWK member 'd': {e}", REQ_KEY_VALUE) from e
    key: PrivateKeyObject
    try:
        if public.key_type.kty == "EC":
            key = ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())
        elif public.key_type.crv == "Ed25519":
            key = ed25519.Ed25519PrivateKey.from_private_bytes(d)
        else:
            key = x25519.X25519PrivateKey.from_private_bytes(d)
    except ValueError as e:
        raise _reject("invalid-private-key", f"not a private key: {e}", REQ_KEY_VALUE) from e
    if _jwk_of(key.public_key()) != dict(public.jwk):
        raise _reject("key-mismatch", "'d' does not belong to the public key", REQ_KEY_VALUE)
    return PrivateKey(public=public, key=key)


def _key_type(name: str) -> KeyType:
    types = security_profile().keys.types
    try:
        return types[name]
    except KeyError:
        raise _reject(
            "kty-not-allowed", f"unknown key type {name!r}; the profile has {sorted(types)}"
        ) from None


def _private_key(key: PrivateKeyObject, key_type: KeyType) -> PrivateKey:
    jwk = _jwk_of(key.public_key())
    public = import_public_jwk(jwk, use=key_type.use)  # type: ignore[arg-type]
    return PrivateKey(public=public, key=key)


def generate_key(name: str) -> PrivateKey:
    """A fresh private key of a profile key type (``ES256``, ``Ed25519``, ``P-256``, ``X25519``)."""
    key_type = _key_type(name)
    key: PrivateKeyObject
    if key_type.kty == "EC":
        key = ec.generate_private_key(ec.SECP256R1())
    elif key_type.crv == "Ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        key = x25519.X25519PrivateKey.generate()
    return _private_key(key, key_type)


def private_key_to_pem(key: PrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM; encrypted with pyca's best available scheme when a passphrase is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def load_private_pem(
    data: bytes, *, passphrase: bytes | None = None, use: Use = "sig"
) -> PrivateKey:
    """Load a PKCS#8 PEM private key for ``use`` (a P-256 key may sign or agree keys)."""
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError as e:
        needed = passphrase is None
        raise KeyImportError(
            "the private key is encrypted: give its passphrase"
            if needed
            else "the private key is not encrypted, but a passphrase was given",
            requirement=REQ_KEY_STORAGE,
            reason="passphrase-required" if needed else "passphrase-unexpected",
            remedy="Use --passphrase-env VAR with the variable holding the passphrase."
            if needed
            else None,
        ) from e
    except (ValueError, UnsupportedAlgorithm) as e:
        raise KeyImportError(
            "cannot read the private key (wrong passphrase, or not a PKCS#8 PEM key)",
            requirement=REQ_KEY_STORAGE,
            reason="passphrase" if passphrase else "invalid-private-key",
        ) from e
    if not isinstance(
        key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey
    ):
        raise _reject("kty-not-allowed", f"{type(key).__name__} is not in the profile")
    jwk = _jwk_of(key.public_key())
    key_type = security_profile().keys.type_for(jwk["kty"], jwk["crv"], use)
    if key_type is None:
        raise _reject(
            "use-mismatch", f"a {jwk['crv']} key cannot be used for {use!r}", REQ_KEY_PURPOSE
        )
    return _private_key(key, key_type)


def derive_shared_secret(private: PrivateKey, peer: PublicKey) -> bytes:
    """ECDH (P-256) or X25519 between two key-agreement keys of one curve.

    An all-zero X25519 result means the peer sent a low-order point; it is refused
    (RFC 7748 section 6.1), so no contributory-behaviour attack can fix the secret.
    """
    if private.public.use != "enc" or peer.use != "enc":
        raise _reject("use-mismatch", "key agreement needs two 'enc' keys", REQ_KEY_PURPOSE)
    if private.public.key_type.crv != peer.key_type.crv:
        raise _reject(
            "curve-mismatch",
            f"cannot agree a key between {private.public.key_type.crv} and {peer.key_type.crv}",
            REQ_KEY_AGREEMENT,
        )
    try:
        if isinstance(private.key, ec.EllipticCurvePrivateKey) and isinstance(
            peer.key, ec.EllipticCurvePublicKey
        ):
            return private.key.exchange(ec.ECDH(), peer.key)
        if isinstance(private.key, x25519.X25519PrivateKey) and isinstance(
            peer.key, x25519.X25519PublicKey
        ):
            return private.key.exchange(peer.key)
    except ValueError as e:
        raise _reject(
            "low-order-point",
            "key agreement produced an all-zero secret (low-order peer point)",
            REQ_KEY_AGREEMENT,
        ) from e
    raise _reject("use-mismatch", "these keys cannot agree a secret", REQ_KEY_PURPOSE)


class KeySet(Mapping[str, PublicKey]):
    """Public keys by ``kid``: where verifiers look keys up (never in the message)."""

    def __init__(self, keys: Iterable[PublicKey]) -> None:
        by_kid: dict[str, PublicKey] = {}
        for key in keys:
            if key.kid in by_kid:
                raise _reject("duplicate-kid", f"two keys share kid {key.kid!r}", REQ_KEY_SET)
            by_kid[key.kid] = key
        limit = security_profile().keys.max_jwks_keys
        if len(by_kid) > limit:
            raise _reject(
                "too-many-keys",
                f"key set holds {len(by_kid)} keys; the limit is {limit}",
                REQ_KEY_SET,
            )
        self._by_kid = by_kid

    @classmethod
    def from_jwks(
        cls, jwks: Any, *, use: Use | None = "sig", kid_policy: KidPolicy = "thumbprint"
    ) -> KeySet:
        """Load an RFC 7517 JWK Set of public keys; one bad key rejects the whole set."""
        keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(keys, list) or not keys:
            raise _reject(
                "not-a-jwks", "a JWK Set is an object with a non-empty 'keys'", REQ_KEY_SET
            )
        limit = security_profile().keys.max_jwks_keys
        if len(keys) > limit:
            raise _reject(
                "too-many-keys",
                f"key set holds {len(keys)} keys; the limit is {limit}",
                REQ_KEY_SET,
            )
        declared = [k.get("kid") for k in keys if isinstance(k, Mapping) and "kid" in k]
        if len(declared) != len(set(map(str, declared))):
            raise _reject("duplicate-kid", "two keys of the set share a kid", REQ_KEY_SET)
        return cls(import_public_jwk(k, use=use, kid_policy=kid_policy) for k in keys)

    def __getitem__(self, kid: str) -> PublicKey:
        return self._by_kid[kid]

    def get(self, kid: str, default: Any = None) -> Any:  # the verifier's hot path
        return self._by_kid.get(kid, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_kid)

    def __len__(self) -> int:
        return len(self._by_kid)

    def to_jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [k.to_jwk() for k in self._by_kid.values()]}
