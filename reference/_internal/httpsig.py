"""Request authentication: RFC 9421 HTTP Message Signatures under the BMDX profile.

``http-message-signatures`` builds and checks the signature base and the RFC 9530
``Content-Digest``; this module fixes what a BMDX request signature must be -- exactly
the covered components and parameters of ``spec/security/profile.yaml``, one of the
profile's algorithms on the key type it belongs to -- and adds what the library leaves
to its caller: the clock (injected), the replay window, the nonce cache, and key
status (unknown, revoked).

Checks run cheapest first and the nonce is remembered only after the signature and
the digest verified, so forged requests cannot fill the replay cache.  The cache is
bounded; when it is full of nonces still inside the window the verifier refuses
requests (503) rather than forget one, which would re-open a replay.
"""

from __future__ import annotations

import datetime
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import http_sf
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)

from bmdx.reference._internal.errors import KeyImportError, RequestAuthError
from bmdx.reference._internal.limits import Limits, limits
from bmdx.reference._internal.profile import HttpSignaturesProfile, security_profile

__all__ = [
    "PrivateKey",
    "PublicKey",
    "RequestKey",
    "RequestVerifier",
    "content_digest",
    "sign_request",
]

REQ_SIGNATURE = "BMDX-SEC-200"
REQ_COMPONENTS = "BMDX-SEC-201"
REQ_PARAMETERS = "BMDX-SEC-202"
REQ_DIGEST = "BMDX-SEC-203"
REQ_FUTURE = "BMDX-SEC-204"
REQ_EXPIRED = "BMDX-SEC-205"
REQ_REPLAY = "BMDX-SEC-206"
REQ_KEY = "BMDX-SEC-207"
REQ_ALGORITHM = "BMDX-SEC-208"
REQ_VERIFY = "BMDX-SEC-209"
REQ_CACHE = "BMDX-SEC-210"

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey

_LIBRARY_ALGORITHMS: dict[str, Any] = {
    "ed25519": algorithms.ED25519,
    "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256,
}


@dataclass(frozen=True, slots=True)
class RequestKey:
    """A participant's registered signing key as the verifier sees it."""

    kid: str
    public_key: PublicKey
    revoked: bool = False


KeyResolver = Callable[[str], RequestKey | None]


@dataclass(frozen=True, slots=True)
class _Message:
    """The request shape the library reads: ``method``, ``url``, ``headers``."""

    method: str
    url: str
    headers: dict[str, str]


def _key_type(key: PrivateKey | PublicKey) -> tuple[str, str]:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "OKP", "Ed25519"
    if isinstance(key.curve, ec.SECP256R1):
        return "EC", "P-256"
    return "EC", key.curve.name


def _algorithm_for(key: PrivateKey | PublicKey, profile: HttpSignaturesProfile) -> str | None:
    kty, crv = _key_type(key)
    for entry in profile.algorithms.values():
        if entry.kty == kty and entry.crv == crv:
            return entry.alg
    return None


def content_digest(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` field value of ``body`` (sha-256)."""
    return ContentDigest.create(body)


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    key: PrivateKey,
    kid: str,
    created: int,
    nonce: str,
) -> dict[str, str]:
    """``headers`` plus ``Content-Digest``, ``Signature-Input`` and ``Signature``.

    ``created`` (Unix seconds) and ``nonce`` are explicit so that callers own the clock
    and the randomness (a nonce carries at least 128 random bits, base64url).
    """
    profile = security_profile().http_signatures
    alg = _algorithm_for(key, profile)
    if alg is None:
        raise KeyImportError(
            "request signing keys are Ed25519 or P-256",
            requirement=REQ_ALGORITHM,
            reason="curve-not-allowed",
        )
    message = _Message(method, url, dict(headers))
    signer = HTTPMessageSigner(
        signature_algorithm=_LIBRARY_ALGORITHMS[alg],
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={kid: key}),
    )
    signer.sign(
        message,
        key_id=kid,
        created=datetime.datetime.fromtimestamp(created, tz=datetime.UTC),
        nonce=nonce,
        label=profile.label,
        covered_component_ids=[c for c in profile.components if c != "content-digest"],
        body=body,
        use_existing_digest=True,
    )
    return message.headers


class _ReplayCache:
    """Nonces seen per key, each kept until no request carrying it can be accepted."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._expiry: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def _purge(self, now: int, *, everything: bool) -> None:
        if everything:
            for entry in [k for k, exp in self._expiry.items() if exp < now]:
                del self._expiry[entry]
            return
        while self._expiry:
            entry, exp = next(iter(self._expiry.items()))
            if exp >= now:
                break
            del self._expiry[entry]

    def seen(self, kid: str, nonce: str, now: int) -> bool:
        with self._lock:
            return self._seen(kid, nonce, now)

    def _seen(self, kid: str, nonce: str, now: int) -> bool:
        self._purge(now, everything=False)
        exp = self._expiry.get((kid, nonce))
        return exp is not None and exp >= now

    def claim(self, kid: str, nonce: str, expires: int, now: int) -> None:
        """Record a nonce, atomically refusing one already recorded."""
        with self._lock:
            if self._seen(kid, nonce, now):
                raise _reject("nonce already used", "replayed-nonce", REQ_REPLAY)
            if len(self._expiry) >= self._capacity:
                self._purge(now, everything=True)
            if len(self._expiry) >= self._capacity:
                raise RequestAuthError(
                    "the replay cache is full of live nonces; try again later",
                    reason="replay-cache-full",
                    requirement=REQ_CACHE,
                    status=503,
                )
            self._expiry[(kid, nonce)] = expires


class _ClockedVerifier(HTTPMessageVerifier):
    """The library's verifier with its wall-clock checks replaced by ours.

    ``created`` has already been checked against the injected clock and the profile's
    window before the library is called; the library's own check reads the system
    clock, which would make verification depend on wall time.
    """

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        return None


class _OneKey(HTTPSignatureKeyResolver):
    def __init__(self, kid: str, key: PublicKey) -> None:
        self._kid, self._key = kid, key

    def resolve_public_key(self, key_id: str) -> PublicKey | None:
        return self._key if key_id == self._kid else None

    def resolve_private_key(self, key_id: str) -> Any:
        raise KeyError(key_id)


def _reject(message: str, reason: str, requirement: str) -> RequestAuthError:
    return RequestAuthError(message, reason=reason, requirement=requirement)


class RequestVerifier:
    """Verifies signed requests for one node: the profile, the clock, the replay cache.

    ``key_resolver`` maps a ``keyid`` to the participant's registered key (or ``None``);
    ``now`` returns the time in Unix seconds.  One instance per process: its replay
    cache is what makes a nonce single-use.
    """

    def __init__(
        self,
        key_resolver: KeyResolver,
        *,
        now: Callable[[], int] | None = None,
        limits: Limits | None = None,
    ) -> None:
        self._resolve = key_resolver
        self._now = now or (lambda: int(time.time()))
        self._limits = limits or _default_limits()
        self._profile = security_profile().http_signatures
        self._nonce = re.compile(self._profile.nonce_pattern)
        self._cache = _ReplayCache(self._limits.replay_cache_entries)

    @property
    def cached_nonces(self) -> int:
        return len(self._cache)

    def verify(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> str:
        """The ``keyid`` of a request that passes every check; else RequestAuthError."""
        fields = {name.lower(): value for name, value in headers.items()}
        components, params = self._parse(fields)
        self._check_components(components)
        created, kid, nonce, alg = self._check_parameters(params)
        now = self._now()
        if created > now + self._limits.clock_skew_seconds:
            raise _reject("created lies in the future", "created-in-future", REQ_FUTURE)
        if now - created > self._limits.replay_window_seconds:
            raise _reject("the signature is older than the replay window", "expired", REQ_EXPIRED)
        key = self._resolve(kid)
        if key is None:
            raise _reject(f"no registered key {kid!r}", "unknown-key", REQ_KEY)
        if key.revoked:
            raise _reject(f"key {kid!r} is revoked", "revoked-key", REQ_KEY)
        if (
            alg not in self._profile.algorithms
            or _algorithm_for(key.public_key, self._profile) != alg
        ):
            raise _reject(
                f"alg {alg!r} does not fit key {kid!r}", "algorithm-mismatch", REQ_ALGORITHM
            )
        if "content-digest" not in fields:
            raise _reject("no Content-Digest field", "digest-mismatch", REQ_DIGEST)
        if self._cache.seen(kid, nonce, now):
            raise _reject("nonce already used", "replayed-nonce", REQ_REPLAY)
        verifier = _ClockedVerifier(
            signature_algorithm=_LIBRARY_ALGORITHMS[alg], key_resolver=_OneKey(kid, key.public_key)
        )
        try:
            verifier.verify(
                _Message(method, url, dict(headers)),
                max_age=None,
                require_components=self._profile.components,
            )
        except (InvalidSignature, HTTPMessageSignaturesException) as e:
            raise _reject("the signature does not verify", "bad-signature", REQ_VERIFY) from e
        try:
            ContentDigest.verify(fields["content-digest"], body)
        except (InvalidSignature, HTTPMessageSignaturesException) as e:
            raise _reject(
                "Content-Digest does not match the body", "digest-mismatch", REQ_DIGEST
            ) from e
        self._cache.claim(kid, nonce, created + self._limits.replay_window_seconds, now)
        return kid

    def _parse(self, fields: Mapping[str, str]) -> tuple[list[Any], dict[str, Any]]:
        if "signature-input" not in fields or "signature" not in fields:
            raise _reject("the request is not signed", "missing-signature", REQ_SIGNATURE)

        def duplicate(name: str, context: str) -> None:
            raise ValueError(f"duplicate {context} member {name!r}")

        try:
            inputs = http_sf.parse(
                fields["signature-input"].encode("ascii"),
                tltype="dictionary",
                on_duplicate_key=duplicate,
            )
            signatures = http_sf.parse(
                fields["signature"].encode("ascii"),
                tltype="dictionary",
                on_duplicate_key=duplicate,
            )
        except (ValueError, TypeError, UnicodeEncodeError) as e:
            raise _reject(
                "unreadable signature fields", "malformed-signature", REQ_SIGNATURE
            ) from e
        if not isinstance(inputs, dict) or not isinstance(signatures, dict):
            raise _reject("unreadable signature fields", "malformed-signature", REQ_SIGNATURE)
        if list(inputs) != [self._profile.label] or list(signatures) != [self._profile.label]:
            raise _reject(
                f"exactly one signature labelled {self._profile.label!r} is required",
                "malformed-signature",
                REQ_SIGNATURE,
            )
        label = self._profile.label
        entry: Any = inputs[label]
        signature: Any = signatures[label]
        members, params = entry
        value, _ = signature
        if not isinstance(members, list) or not isinstance(value, bytes):
            raise _reject("unreadable signature fields", "malformed-signature", REQ_SIGNATURE)
        return members, dict(params)

    def _check_components(self, members: list[Any]) -> None:
        names = [
            value if isinstance(value, str) and not item_params else repr((value, item_params))
            for value, item_params in members
        ]
        required = set(self._profile.components)
        if len(set(names)) != len(names) or set(names) - required:
            extra = sorted(set(names) - required) or ["a repeated component"]
            raise _reject(f"covers {', '.join(extra)}", "extra-component", REQ_COMPONENTS)
        if required - set(names):
            missing = ", ".join(sorted(required - set(names)))
            raise _reject(f"does not cover {missing}", "missing-component", REQ_COMPONENTS)

    def _check_parameters(self, params: dict[str, Any]) -> tuple[int, str, str, str]:
        required = self._profile.parameters
        if set(params) - required:
            extra = ", ".join(sorted(set(params) - required))
            raise _reject(f"unexpected parameters {extra}", "extra-parameter", REQ_PARAMETERS)
        if required - set(params):
            missing = ", ".join(sorted(required - set(params)))
            raise _reject(f"missing parameters {missing}", "missing-parameter", REQ_PARAMETERS)
        created, kid, nonce, alg = (
            params["created"],
            params["keyid"],
            params["nonce"],
            params["alg"],
        )
        if type(created) is not int or not all(isinstance(v, str) for v in (kid, nonce, alg)):
            raise _reject("parameters of the wrong type", "malformed-signature", REQ_PARAMETERS)
        prof = self._profile
        if not prof.nonce_min_length <= len(
            nonce
        ) <= prof.nonce_max_length or not self._nonce.fullmatch(nonce):
            raise _reject("nonce outside the profile", "bad-nonce", REQ_REPLAY)
        return created, kid, nonce, alg


def _default_limits() -> Limits:
    return limits()
