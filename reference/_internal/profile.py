"""The security profile as one frozen object, read from ``spec/security/profile.yaml``.

The YAML file is the normative text; this module validates it against
``profile.schema.json`` once, then exposes it as typed, immutable data so that every
check in the reference reads the same numbers and names the committee wrote.

Each top-level section of the file has one parser in :data:`_SECTIONS` and one field
on :class:`SecurityProfile`; adding a section means adding both (and a property in
the schema).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs

from bmdx.reference._internal.errors import SpecError
from bmdx.reference._internal.limits import Limits, limits
from bmdx.reference._internal.specdata import load_yaml, spec_dir

__all__ = [
    "EncryptionProfile",
    "ForbiddenRules",
    "HttpSignatureAlgorithm",
    "HttpSignaturesProfile",
    "KeyType",
    "KeysProfile",
    "SecurityProfile",
    "SensitivityProtections",
    "SignatureAlgorithm",
    "SignaturesProfile",
    "security_profile",
]


@dataclass(frozen=True, slots=True)
class SignatureAlgorithm:
    """One JWS ``alg`` the profile admits, bound to the only key type it may use."""

    alg: str
    kty: str
    crv: str
    signature_bytes: int
    verify_only: bool = False


@dataclass(frozen=True, slots=True)
class SignaturesProfile:
    algorithms: Mapping[str, SignatureAlgorithm]
    protected_required: frozenset[str]
    protected_optional: frozenset[str]
    unprotected_allowed: frozenset[str]
    typ: str
    max_signatures: int

    @property
    def protected_allowed(self) -> frozenset[str]:
        return self.protected_required | self.protected_optional

    def signing_alg_for(self, kty: str, crv: str) -> SignatureAlgorithm | None:
        """The algorithm a new signature with a ``kty``/``crv`` key is written with."""
        for algorithm in self.algorithms.values():
            if algorithm.kty == kty and algorithm.crv == crv and not algorithm.verify_only:
                return algorithm
        return None


@dataclass(frozen=True, slots=True)
class KeyType:
    """A key the profile admits: ``name`` is what ``bmdx keys new --alg`` takes."""

    name: str
    kty: str
    crv: str
    use: str
    bits: int


@dataclass(frozen=True, slots=True)
class KeysProfile:
    types: Mapping[str, KeyType]
    max_jwks_keys: int

    def type_for(self, kty: str, crv: str, use: str | None = None) -> KeyType | None:
        for key_type in self.types.values():
            if key_type.kty == kty and key_type.crv == crv and use in (None, key_type.use):
                return key_type
        return None


@dataclass(frozen=True, slots=True)
class ForbiddenRules:
    """Algorithms and header parameters refused everywhere, each with the reason why."""

    algorithms: Mapping[str, str]
    header_parameters: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SensitivityProtections:
    """What a sensitivity label (N, R, V) requires of the records that carry it."""

    label: str
    description: str
    payload_encryption: str
    author_signature: str
    content_key: str
    key_release: str
    consent: str
    patient_notification: str
    break_glass: str
    max_recipients: int


@dataclass(frozen=True, slots=True)
class EncryptionProfile:
    """JWE payload encryption: the one content cipher and key agreement BMDX admits."""

    enc: str
    key_bits: int
    iv_bits: int
    tag_bits: int
    alg: str
    kdf: str
    curves: frozenset[str]
    wrapped_key_bytes: int
    header_parameters: frozenset[str]
    epk_members: Mapping[str, frozenset[str]]
    recipient_kid_required: bool
    max_recipients: int
    plaintext_digest: str
    min_plaintext_bytes: int


@dataclass(frozen=True, slots=True)
class HttpSignatureAlgorithm:
    """An RFC 9421 algorithm name and the only participant key type it may use."""

    alg: str
    kty: str
    crv: str


@dataclass(frozen=True, slots=True)
class HttpSignaturesProfile:
    """RFC 9421 request signing: what every request signature covers and carries."""

    label: str
    components: tuple[str, ...]
    parameters: frozenset[str]
    algorithms: Mapping[str, HttpSignatureAlgorithm]
    content_digest: str
    nonce_min_length: int
    nonce_max_length: int
    nonce_pattern: str


@dataclass(frozen=True, slots=True)
class SecurityProfile:
    """The whole security profile, validated and immutable."""

    version: str
    limits: Limits
    forbidden: ForbiddenRules
    signatures: SignaturesProfile
    keys: KeysProfile
    sensitivity: Mapping[str, SensitivityProtections]
    encryption: EncryptionProfile
    http_signatures: HttpSignaturesProfile


def _forbidden(section: dict[str, Any]) -> ForbiddenRules:
    return ForbiddenRules(
        algorithms={e["name"]: e["why"] for e in section["algorithms"]},
        header_parameters={e["name"]: e["why"] for e in section["header_parameters"]},
    )


def _signatures(section: dict[str, Any]) -> SignaturesProfile:
    algorithms = {
        e["alg"]: SignatureAlgorithm(
            alg=e["alg"],
            kty=e["kty"],
            crv=e["crv"],
            signature_bytes=e["signature_bytes"],
            verify_only=e.get("verify_only", False),
        )
        for e in section["algorithms"]
    }
    return SignaturesProfile(
        algorithms=algorithms,
        protected_required=frozenset(section["protected_header"]["required"]),
        protected_optional=frozenset(section["protected_header"]["optional"]),
        unprotected_allowed=frozenset(section["unprotected_header"]),
        typ=section["typ"],
        max_signatures=section["max_signatures"],
    )


def _keys(section: dict[str, Any]) -> KeysProfile:
    types = {e["name"]: KeyType(**e) for e in section["types"]}
    return KeysProfile(types=types, max_jwks_keys=section["max_jwks_keys"])


def _sensitivity(section: dict[str, Any]) -> dict[str, SensitivityProtections]:
    return {label: SensitivityProtections(label=label, **body) for label, body in section.items()}


def _encryption(section: dict[str, Any]) -> EncryptionProfile:
    content, km = section["content"], section["key_management"]
    return EncryptionProfile(
        enc=content["enc"],
        key_bits=content["key_bits"],
        iv_bits=content["iv_bits"],
        tag_bits=content["tag_bits"],
        alg=km["alg"],
        kdf=km["kdf"],
        curves=frozenset(km["curves"]),
        wrapped_key_bytes=km["wrapped_key_bytes"],
        header_parameters=frozenset(section["header_parameters"]),
        epk_members={k: frozenset(v) for k, v in section["epk_members"].items()},
        recipient_kid_required=section["recipient_kid"] == "required",
        max_recipients=section["max_recipients"],
        plaintext_digest=section["plaintext_digest"],
        min_plaintext_bytes=section["min_plaintext_bytes"],
    )


def _http_signatures(section: dict[str, Any]) -> HttpSignaturesProfile:
    return HttpSignaturesProfile(
        label=section["label"],
        components=tuple(section["components"]),
        parameters=frozenset(section["parameters"]),
        algorithms={e["alg"]: HttpSignatureAlgorithm(**e) for e in section["algorithms"]},
        content_digest=section["content_digest"],
        nonce_min_length=section["nonce"]["min_length"],
        nonce_max_length=section["nonce"]["max_length"],
        nonce_pattern=section["nonce"]["pattern"],
    )


# section name -> (SecurityProfile field, parser).  `limits` is parsed by limits.py.
_SECTIONS: dict[str, tuple[str, Callable[[dict[str, Any]], object]]] = {
    "forbidden": ("forbidden", _forbidden),
    "signatures": ("signatures", _signatures),
    "keys": ("keys", _keys),
    "sensitivity": ("sensitivity", _sensitivity),
    "encryption": ("encryption", _encryption),
    "http_signatures": ("http_signatures", _http_signatures),
}


def _check_consistency(profile: SecurityProfile) -> None:
    overlap = set(profile.signatures.algorithms) & set(profile.forbidden.algorithms)
    if overlap:
        raise SpecError(
            f"security profile both allows and forbids {sorted(overlap)}", reason="profile"
        )
    header_overlap = profile.signatures.protected_allowed & set(profile.forbidden.header_parameters)
    if header_overlap:
        raise SpecError(
            f"security profile both allows and forbids header {sorted(header_overlap)}",
            reason="profile",
        )
    for algorithm in profile.signatures.algorithms.values():
        if profile.keys.type_for(algorithm.kty, algorithm.crv, "sig") is None:
            raise SpecError(
                f"signature algorithm {algorithm.alg} has no signing key type", reason="profile"
            )


@functools.cache
def _load(root: Path) -> SecurityProfile:
    path = root / "security" / "profile.yaml"
    data = load_yaml(path)
    try:
        schema = json.loads((root / "security" / "profile.schema.json").read_bytes())
    except (OSError, ValueError) as e:
        raise SpecError(
            f"cannot read the security profile schema: {e}", reason="spec-unreadable"
        ) from e
    errors = sorted(
        f"{'/'.join(map(str, e.instance_path)) or '/'}: {e.message}"
        for e in jsonschema_rs.validator_for(schema).iter_errors(data)
    )
    if errors:
        raise SpecError(
            f"{path.name} does not match profile.schema.json: {'; '.join(errors)}",
            reason="profile",
        )
    parsed = {field: parse(data[name]) for name, (field, parse) in _SECTIONS.items()}
    profile = SecurityProfile(version=data["version"], limits=limits(root), **parsed)  # type: ignore[arg-type]
    _check_consistency(profile)
    return profile


def security_profile(root: Path | None = None) -> SecurityProfile:
    """The profile in force (validated once per spec directory, then cached)."""
    return _load(root or spec_dir())
