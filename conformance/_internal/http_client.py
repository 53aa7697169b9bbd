"""The suite's own HTTP client: every request signed as a participant (RFC 9421).

A :class:`NodeClient` speaks for one participant of the target configuration.  It signs
each request with ``http-message-signatures`` exactly as spec/security/profile.yaml
section ``http_signatures`` fixes it (label ``bmdx``; components ``@method``,
``@target-uri``, ``content-digest``; parameters ``created``, ``keyid``, ``nonce``,
``alg``; an RFC 9530 sha-256 ``Content-Digest`` of every body, the empty one included)
and records each exchange into the test's :class:`Evidence`, so that a failure carries
the exact requests and a curl line.

Tests of request authentication need requests that break the profile on purpose: a
:class:`Signing` describes one deviation (a created time, a nonce, components,
parameters, an algorithm, a key) and :meth:`NodeClient.send` sends the request exactly
as built, without following redirects or retrying.

BMDX documents are signed by the suite itself too: :func:`sign_object` adds a detached
JWS (protected header ``alg``, ``kid``, ``typ``; ES256 raw r||s or Ed25519) over the RFC
8785 bytes of the object without its ``signatures``, with jwcrypto.  The suite never
imports the reference implementation.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import secrets
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import rfc8785
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSigner,
    HTTPSignatureKeyResolver,
    algorithms,
)
from jwcrypto import jwe, jwk, jws

from bmdx.conformance._internal.files import strict_json_loads
from bmdx.conformance._internal.targets import Evidence, Participant

__all__ = [
    "COMPONENTS",
    "EMPTY_POLICY_HASH",
    "LABEL",
    "PARAMETERS",
    "Member",
    "NodeClient",
    "NodeState",
    "Signing",
    "canonical",
    "commitment",
    "consent_document",
    "custodian_key",
    "digest",
    "encrypt_payload",
    "enrol",
    "fresh_nonce",
    "new_keys",
    "open_payload",
    "pseudonym",
    "public_jwk",
    "public_key_document",
    "record_envelope",
    "register_participant",
    "request_algorithm",
    "request_digest",
    "seal_record",
    "sign_object",
    "signature_headers",
    "timestamp",
    "tls_context",
    "transaction",
    "txid",
]

LABEL = "bmdx"
COMPONENTS: tuple[str, ...] = ("@method", "@target-uri", "content-digest")
PARAMETERS: tuple[str, ...] = ("created", "keyid", "nonce", "alg")
JWS_TYP = "bmdx+jws"

# RFC 9421 algorithm names of the profile, by the (kty, crv) of the key they need.
_HTTP_ALGORITHMS: dict[tuple[str, str], str] = {
    ("OKP", "Ed25519"): "ed25519",
    ("EC", "P-256"): "ecdsa-p256-sha256",
}
_LIBRARY_ALGORITHMS: dict[str, Any] = {
    "ed25519": algorithms.ED25519,
    "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256,
    "hmac-sha256": algorithms.HMAC_SHA256,
}
# JWS algorithm names of the profile (spec/security/profile.yaml, signatures).
_JWS_ALGORITHMS: dict[tuple[str, str], str] = {
    ("OKP", "Ed25519"): "Ed25519",
    ("EC", "P-256"): "ES256",
}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k"})
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


@functools.cache
def tls_context(verify: bool | str) -> ssl.SSLContext | bool:
    """One TLS context per trust setting, shared by every client of the run.

    Loading the trust store costs tens of milliseconds; a run opens hundreds of clients.
    ``False`` (no verification) stays ``False``.
    """
    if verify is False:
        return False
    return httpx.create_ssl_context(verify=verify)


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical bytes (the ``rfc8785`` package)."""
    return rfc8785.dumps(value)


def digest(value: Any) -> str:
    """``sha-256:`` and the hex SHA-256 of the canonical bytes: txids, version ids."""
    return "sha-256:" + hashlib.sha256(canonical(value)).hexdigest()


def txid(tx: Mapping[str, Any]) -> str:
    """The transaction id of spec/conventions/ledger.md (signatures included)."""
    return digest(dict(tx))


def fresh_nonce() -> str:
    """A request nonce: 144 random bits in 24 base64url characters."""
    return secrets.token_urlsafe(18)


def timestamp(when: float) -> str:
    """An RFC 3339 UTC timestamp with second precision, as BMDX documents carry them."""
    moment = dt.datetime.fromtimestamp(int(when), tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _key_type(key: Mapping[str, Any]) -> tuple[str, str]:
    return str(key.get("kty")), str(key.get("crv"))


def request_algorithm(key: Mapping[str, Any]) -> str:
    """The RFC 9421 ``alg`` the profile binds to this JWK's type."""
    found = _HTTP_ALGORITHMS.get(_key_type(key))
    if found is None:
        raise ValueError(f"no request signature algorithm for a {_key_type(key)} key")
    return found


def public_jwk(key: Mapping[str, Any]) -> dict[str, Any]:
    """``key`` without its private members."""
    return {k: v for k, v in key.items() if k not in _PRIVATE_MEMBERS}


def _pyca_private(key: Mapping[str, Any]) -> Any:
    return jwk.JWK(**dict(key)).get_op_key("sign")


def sign_object(
    document: Mapping[str, Any],
    key: Mapping[str, Any],
    *,
    kid: str | None = None,
    typ: str | None = JWS_TYP,
    alg: str | None = None,
) -> dict[str, Any]:
    """``document`` with one more detached-JWS signature entry by ``key``.

    The payload is the canonical form of the document without ``signatures``; the entry
    is ``{"protected", "signature"}``.  ``alg`` overrides the profile's algorithm for
    the key (tests of algorithm confusion); ``kid`` defaults to the key's ``kid``.
    """
    body = {k: v for k, v in document.items() if k != "signatures"}
    name = alg or _JWS_ALGORITHMS.get(_key_type(key))
    if name is None:
        raise ValueError(f"no JWS algorithm for a {_key_type(key)} key")
    header: dict[str, Any] = {"alg": name, "kid": kid or key.get("kid") or _thumbprint(key)}
    if typ is not None:
        header["typ"] = typ
    token = jws.JWS(canonical(body))
    token.allowed_algs = [name]
    token.add_signature(
        jwk.JWK(**dict(key)), alg=name, protected=json.dumps(header, separators=(",", ":"))
    )
    general = json.loads(token.serialize(compact=False))
    entry = {"protected": general["protected"], "signature": general["signature"]}
    return {**body, "signatures": [*document.get("signatures", []), entry]}


def _thumbprint(key: Mapping[str, Any]) -> str:
    return str(jwk.JWK(**dict(key)).thumbprint())


def transaction(
    tx_type: str,
    sender: str,
    sequence: int,
    outputs: Sequence[Mapping[str, Any]],
    *,
    when: float,
    inputs: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """An unsigned Transaction; sign it with :func:`sign_object`."""
    return {
        "objectType": "Transaction",
        "type": tx_type,
        "sender": sender,
        "sequence": sequence,
        "timestamp": timestamp(when),
        "inputs": [dict(i) for i in inputs],
        "outputs": [dict(o) for o in outputs],
        "signatures": [],
    }


@dataclass(frozen=True)
class Signing:
    """How one request is signed; the defaults are the profile's exact signature.

    Every field exists so that a test can break one rule and nothing else:
    ``created_offset`` (seconds added to the client's clock), ``nonce``, ``components``
    (covered, in order), ``expires_offset`` (adds an ``expires`` parameter),
    ``omit_parameters`` (of created, nonce, alg), ``alg`` (``hmac-sha256`` for algorithm
    confusion), ``key`` / ``kid`` (sign with another key or name another key id),
    ``digest`` (the Content-Digest value signed and sent; None = computed), ``send_digest``,
    ``label``, ``signed_method`` / ``signed_url`` (sign another request than the one sent).
    """

    created_offset: int = 0
    nonce: str | None = None
    components: tuple[str, ...] = COMPONENTS
    expires_offset: int | None = None
    omit_parameters: frozenset[str] = frozenset()
    alg: str | None = None
    key: Mapping[str, Any] | bytes | None = None
    kid: str | None = None
    digest: str | None = None
    send_digest: bool = True
    label: str = LABEL
    signed_method: str | None = None
    signed_url: str | None = None


class _Message:
    """The request shape ``http-message-signatures`` reads and writes."""

    def __init__(self, method: str, url: str, headers: Mapping[str, str]) -> None:
        self.method = method
        self.url = url
        self.headers: dict[str, str] = dict(headers)


class _OneKey(HTTPSignatureKeyResolver):
    def __init__(self, key: Any) -> None:
        self.key = key

    def resolve_private_key(self, key_id: str) -> Any:
        return self.key

    def resolve_public_key(self, key_id: str) -> Any:
        raise LookupError("the suite only signs requests; verifying them is the node's job")


def signature_headers(
    method: str,
    url: str,
    body: bytes,
    *,
    key: Mapping[str, Any],
    kid: str,
    created: int,
    signing: Signing | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``Content-Digest``, ``Signature-Input`` and ``Signature`` for one request.

    ``headers`` are the request's other fields, for a signature that covers one of them.
    """
    signing = signing or Signing()
    content_digest = signing.digest or ContentDigest.create(body)
    alg = signing.alg or request_algorithm(key)
    if alg == "hmac-sha256":
        # Algorithm confusion: a MAC keyed with bytes the attacker knows (the key id).
        private: Any = signing.key if isinstance(signing.key, bytes) else kid.encode("utf-8")
    else:
        private = _pyca_private(signing.key or key)  # type: ignore[arg-type]
        if not isinstance(private, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError("request signatures use Ed25519 or P-256 keys")
    message = _Message(
        signing.signed_method or method,
        signing.signed_url or url,
        {**(headers or {}), "Content-Digest": content_digest},
    )
    omit = signing.omit_parameters
    signer = HTTPMessageSigner(
        signature_algorithm=_LIBRARY_ALGORITHMS[alg], key_resolver=_OneKey(private)
    )
    signer.sign(
        message,
        key_id=kid,
        created=None
        if "created" in omit
        else dt.datetime.fromtimestamp(created + signing.created_offset, tz=dt.UTC),
        expires=None
        if signing.expires_offset is None
        else dt.datetime.fromtimestamp(created + signing.expires_offset, tz=dt.UTC),
        nonce=None if "nonce" in omit else (signing.nonce or fresh_nonce()),
        label=signing.label,
        include_alg="alg" not in omit,
        covered_component_ids=list(signing.components),
        use_existing_digest=True,
    )
    out = {
        "Signature-Input": message.headers["Signature-Input"],
        "Signature": message.headers["Signature"],
    }
    if signing.send_digest:
        out["Content-Digest"] = content_digest
    return out


def _redact_body(body: bytes, secrets_: Iterable[str]) -> str | None:
    if not body:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return f"[{len(body)} bytes, not UTF-8]"
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if parsed is not None and _has_private(parsed):
        text = json.dumps(_strip_private(parsed))
    for secret in secrets_:
        text = text.replace(secret, "[redacted]")
    return text


def _has_private(value: Any) -> bool:
    if isinstance(value, dict):
        if "kty" in value and _PRIVATE_MEMBERS & set(value):
            return True
        return any(_has_private(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_private(v) for v in value)
    return False


def _strip_private(value: Any) -> Any:
    if isinstance(value, dict):
        is_jwk = "kty" in value
        return {
            k: "[redacted]" if is_jwk and k in _PRIVATE_MEMBERS else _strip_private(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_strip_private(v) for v in value]
    return value


class NodeClient:
    """Requests to the node at ``base_url``, signed as ``participant``.

    ``key`` is the participant's private JWK (by default the participant's own);
    ``clock`` supplies Unix seconds for ``created`` and transaction timestamps;
    ``evidence`` receives every exchange.  Responses are ``httpx.Response`` objects.
    """

    def __init__(
        self,
        base_url: str,
        participant: Participant,
        key: Mapping[str, Any] | None = None,
        *,
        evidence: Evidence | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
        verify: bool | str = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.participant = participant
        self.key: dict[str, Any] = dict(key if key is not None else participant.jwk)
        self.kid: str = participant.kid or str(self.key.get("kid") or _thumbprint(self.key))
        self.evidence = evidence
        self.clock = clock
        self._client = httpx.Client(
            timeout=timeout,
            verify=tls_context(verify),
            transport=transport,
            follow_redirects=False,
        )

    @property
    def id(self) -> str:
        return self.participant.id

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def as_participant(
        self, participant: Participant, key: Mapping[str, Any] | None = None
    ) -> NodeClient:
        """A client for another participant sharing this one's evidence and clock."""
        return NodeClient(
            self.base_url,
            participant,
            key,
            evidence=self.evidence,
            clock=self.clock,
            transport=None,
        )

    def with_key(self, key: Mapping[str, Any], kid: str | None = None) -> NodeClient:
        """This participant signing with another key (a rotated-in or revoked one)."""
        person = replace(self.participant, jwk=dict(key), kid=kid or key.get("kid"))
        return self.as_participant(person, key)

    # -- requests --------------------------------------------------------------------

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        url = httpx.URL(self.base_url + path)
        if params:
            url = url.copy_merge_params({k: v for k, v in params.items() if v is not None})
        return str(url)

    def build(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        signing: Signing | None = Signing(),
    ) -> httpx.Request:
        """The request as it will be sent; ``signing=None`` leaves it unsigned."""
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
        body = content or b""
        sent: dict[str, str] = {}
        if json_body is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        url = self.url(path, params)
        if signing is not None:
            sent.update(
                signature_headers(
                    method,
                    url,
                    body,
                    key=self.key,
                    kid=signing.kid or self.kid,
                    created=int(self.clock()),
                    signing=signing,
                    headers=sent,
                )
            )
        return self._client.build_request(method, url, content=body, headers=sent)

    def send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` exactly as built and record the exchange."""
        try:
            response = self._client.send(request)
        except httpx.HTTPError as e:
            self._record(request, None)
            raise AssertionError(
                f"{request.method} {request.url} failed at the transport level: {e}"
            ) from e
        response.read()
        self._record(request, response)
        return response

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.send(self.build(method, path, **kw))

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def _record(self, request: httpx.Request, response: httpx.Response | None) -> None:
        if self.evidence is None:
            return
        secrets_ = sorted(self.evidence.secrets, key=len, reverse=True)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _SECRET_HEADERS}
        self.evidence.record_http(
            method=request.method,
            url=str(request.url),
            headers=headers,
            body=_redact_body(request.content, secrets_),
            status=response.status_code if response is not None else None,
            response_headers=dict(response.headers) if response is not None else None,
            response_body=_redact_body(response.content[:20000], secrets_)
            if response is not None
            else None,
        )

    # -- common reads ----------------------------------------------------------------

    def json(self, response: httpx.Response) -> Any:
        """The strict-JSON body of ``response`` (duplicate keys and NaN refused)."""
        return strict_json_loads(response.content)

    def read(self, path: str, **kw: Any) -> Any:
        """GET ``path`` and its JSON body, asserting 200."""
        response = self.get(path, **kw)
        assert response.status_code == 200, (
            f"GET {path} answered {response.status_code}: {response.text[:500]}"
        )
        return self.json(response)

    def capabilities(self) -> dict[str, Any]:
        response = self.get("/.well-known/bmdx", signing=None)
        assert response.status_code == 200, f"/.well-known/bmdx answered {response.status_code}"
        document: dict[str, Any] = self.json(response)
        return document

    def head(self) -> dict[str, Any]:
        head: dict[str, Any] = self.read("/ledger/head")
        return head

    def next_sequence(self, participant: str | None = None) -> int:
        state = self.read(f"/participants/{participant or self.id}/sequence")
        return int(state["next"])

    def live_version(self, object_id: str) -> str | None:
        response = self.get(f"/ledger/objects/{object_id}")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, f"/ledger/objects answered {response.status_code}"
        return str(self.json(response)["version"])

    def signed_transaction(
        self,
        tx_type: str,
        outputs: Sequence[Mapping[str, Any]],
        *,
        inputs: Sequence[Mapping[str, Any]] = (),
        sequence: int | None = None,
        signers: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """A transaction sent by this participant, signed by it (and ``signers``)."""
        tx = transaction(
            tx_type,
            self.id,
            sequence if sequence is not None else self.next_sequence(),
            outputs,
            inputs=inputs,
            when=self.clock(),
        )
        tx = sign_object(tx, self.key, kid=self.kid)
        for extra in signers:
            tx = sign_object(tx, extra)
        return tx

    # -- waiting and state -----------------------------------------------------------

    def wait_committed(
        self, tx_id: str, *, timeout: float = 15.0, then: NodeClient | None = None
    ) -> dict[str, Any]:
        """Poll ``GET /ledger/transactions/{txid}`` until the node reports it committed.

        ``then`` asks instead once this client is refused (its key rotated out).

        A node commits on its own schedule; the suite waits for it, bounded by
        ``timeout`` seconds of the monotonic clock, and fails the test past it.
        """
        deadline = time.monotonic() + timeout
        delay = 0.02
        asker = self
        while True:
            response = asker.get(f"/ledger/transactions/{tx_id}")
            if response.status_code == 401 and then is not None and asker is self:
                asker = then  # this client's key went out of force with the transaction
                continue
            if response.status_code == 200:
                status: dict[str, Any] = self.json(response)
                if status.get("status") == "committed":
                    return status
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"transaction {tx_id} was not committed within {timeout:g} s "
                    f"(last answer {response.status_code}: {response.text[:300]}) [BMDX-API-031]"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def wait_height(self, height: int, *, timeout: float = 15.0) -> dict[str, Any]:
        """Poll the head until the node committed a block at ``height`` or above."""
        deadline = time.monotonic() + timeout
        while True:
            head = self.head()
            if head["height"] >= height:
                return head
            if time.monotonic() >= deadline:
                raise AssertionError(f"the node did not reach height {height} in {timeout:g} s")
            time.sleep(0.02)

    def wait_committed_pool(self, *, timeout: float = 15.0) -> dict[str, Any]:
        """Poll the head until the node's pool is empty (every accepted write committed)."""
        deadline = time.monotonic() + timeout
        while True:
            head = self.head()
            if int(head["pending"]) == 0:
                return head
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"the node still pools {head['pending']} transaction(s) after {timeout:g} s "
                    "[BMDX-API-031]"
                )
            time.sleep(0.02)

    def _key_change(
        self,
        tx_type: str,
        output: dict[str, Any],
        path: str,
        then: NodeClient | None = None,
    ) -> dict[str, Any]:
        version = self.live_version(self.id)
        assert version is not None, f"{self.id} has no live version"
        output = sign_object(output, self.key, kid=self.kid)
        tx = self.signed_transaction(
            tx_type, [output], inputs=[{"objectId": self.id, "version": version}]
        )
        response = self.post(path, json_body=tx)
        assert response.status_code == 202, (
            f"POST {path} answered {response.status_code}: {response.text[:500]}"
        )
        self.wait_committed(txid(tx), then=then)
        (then or self).wait_height(int(output["effectiveHeight"]))
        return tx

    def revoke_key(self, kid: str) -> dict[str, Any]:
        """Revoke one of this participant's keys (signed with the current key) and wait
        until the revocation is in force."""
        output = {
            "objectType": "KeyRevocation",
            "participant": self.id,
            "kid": kid,
            "effectiveHeight": int(self.head()["height"]) + 1,
            "reason": "retired",
        }
        return self._key_change("key.revoke", output, f"/participants/{self.id}/keys/revocations")

    def rotate_key(self, new_key: Mapping[str, Any]) -> dict[str, Any]:
        """Rotate this client's key out for ``new_key`` and wait until it is in force."""
        output = {
            "objectType": "KeyRotation",
            "participant": self.id,
            "oldKid": self.kid,
            "newKey": public_key_document(new_key, "sig"),
            "effectiveHeight": int(self.head()["height"]) + 1,
        }
        return self._key_change(
            "key.rotate",
            output,
            f"/participants/{self.id}/keys/rotations",
            then=self.with_key(new_key),
        )

    def state(self, participants: Iterable[str] = ()) -> NodeState:
        """What a refused request must leave unchanged (BMDX-API-005)."""
        head = self.head()
        sequences = {p: self.next_sequence(p) for p in (self.id, *participants)}
        return NodeState(
            height=int(head["height"]),
            tree_size=int(head["treeSize"]),
            tree_root=str(head["treeRoot"]),
            pending=int(head["pending"]),
            sequences=tuple(sorted(sequences.items())),
        )


@dataclass(frozen=True)
class NodeState:
    """The trusted state a refused request must not move: head, pool, sequences."""

    height: int
    tree_size: int
    tree_root: str
    pending: int
    sequences: tuple[tuple[str, int], ...]


def new_keys(*, signing_curve: str = "Ed25519") -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh private signing JWK and a fresh private X25519 encryption JWK, with kids."""
    if signing_curve == "P-256":
        sig = jwk.JWK.generate(kty="EC", crv="P-256")
    else:
        sig = jwk.JWK.generate(kty="OKP", crv=signing_curve)
    enc = jwk.JWK.generate(kty="OKP", crv="X25519")
    out = []
    for key in (sig, enc):
        exported: dict[str, Any] = key.export_private(as_dict=True)
        exported["kid"] = key.thumbprint()
        out.append(exported)
    return out[0], out[1]


def public_key_document(key: Mapping[str, Any], use: str) -> dict[str, Any]:
    """The ``PublicKey`` object of a private JWK (``use`` sig or enc)."""
    public = public_jwk(key)
    alg = _JWS_ALGORITHMS[_key_type(key)] if use == "sig" else "ECDH-ES+A256KW"
    doc = {"objectType": "PublicKey", **public, "use": use, "alg": alg}
    doc["kid"] = key.get("kid") or _thumbprint(key)
    return doc


# -- BMDX documents the suite writes -------------------------------------------------


def pseudonym() -> str:
    """A fresh subject pseudonym (``pseud:`` and 256 random bits)."""
    return "pseud:" + secrets.token_urlsafe(32)


def consent_document(
    grantor: NodeClient,
    subject: str,
    provision: Mapping[str, Any],
    *,
    consent_id: str | None = None,
    version: int = 1,
    status: str = "active",
    issued_ago: int = 5,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A Consent version signed by ``grantor``, issued ``issued_ago`` seconds ago.

    ``extra`` sets or overrides members (``previous``, ``separateConsent``,
    ``crossBorder``, ``jurisdiction``) before the grantor signs.
    """
    document = {
        "objectType": "Consent",
        "consentId": consent_id or f"urn:uuid:{uuid.uuid4()}",
        "version": version,
        "subject": subject,
        "grantor": grantor.id,
        "status": status,
        "issued": timestamp(grantor.clock() - issued_ago),
        "provision": dict(provision),
        "separateConsent": False,
        "crossBorder": {"permitted": False},
        **(extra or {}),
    }
    return sign_object(document, grantor.key, kid=grantor.kid)


@dataclass(frozen=True)
class Member:
    """A participant the suite registered: its signing keys and its encryption key.

    ``encryption_key`` is the private X25519 JWK whose public half the participant
    registered with ``use`` enc: the key a node wraps released payload keys for.
    ``txid`` is the registration transaction.
    """

    participant: Participant
    signing_keys: list[dict[str, Any]] = field(repr=False)
    encryption_key: dict[str, Any] = field(repr=False)
    txid: str


def enrol(
    governance: NodeClient,
    roles: Sequence[str],
    *,
    signing_keys: int = 1,
    jurisdiction: str | None = None,
) -> Member:
    """Submit the registration of a fresh participant, without waiting for its block.

    Several registrations pooled together cost one block: submit them all, then wait
    for the last ``txid``.
    """
    keys = [new_keys()[0] for _ in range(signing_keys)]
    _, enc = new_keys()
    pid = "urn:bmdx:participant:conformance-" + secrets.token_hex(8)
    height = int(governance.head()["height"])
    document: dict[str, Any] = {
        "objectType": "Participant",
        "id": pid,
        "name": "Conformance test participant",
        "roles": list(roles),
        "keys": [*(public_key_document(k, "sig") for k in keys), public_key_document(enc, "enc")],
        "registered": height + 1,
    }
    if jurisdiction is not None:
        document["jurisdiction"] = jurisdiction
    response = governance.post("/participants", json_body=document)
    assert response.status_code == 202, (
        f"POST /participants answered {response.status_code}: {response.text[:500]} [BMDX-API-020]"
    )
    person = Participant(id=pid, jwk=keys[0], role=roles[0], kid=keys[0]["kid"])
    return Member(person, keys, enc, str(governance.json(response)["txid"]))


def register_participant(
    governance: NodeClient, roles: Sequence[str], *, signing_keys: int = 1
) -> tuple[Participant, list[dict[str, Any]]]:
    """Register a fresh participant through the governance key and wait for its block.

    Returns the participant (signing with its first key) and its private signing keys.
    The node must accept a bare Participant from the governance participant (a
    development node) or a test fails here with the node's answer.
    """
    member = enrol(governance, roles, signing_keys=signing_keys)
    governance.wait_committed(member.txid)
    return member.participant, member.signing_keys


# -- records the suite publishes ------------------------------------------------------

#: The digest an access decision cites when no consent version governs (BMDX-CON-007).
EMPTY_POLICY_HASH = "sha-256:" + hashlib.sha256(b"{}").hexdigest()
_SALT_BYTES = 32


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def custodian_key(capabilities: Mapping[str, Any]) -> dict[str, Any]:
    """The node's encryption key (capability document ``nodeKeys``, ``use`` enc)."""
    for key in capabilities.get("nodeKeys", ()):
        if key.get("use") == "enc":
            return dict(key)
    raise AssertionError("the capability document lists no encryption key [BMDX-API-054]")


def encrypt_payload(plaintext: bytes, recipients: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A BMDX Jwe of ``plaintext`` (A256GCM) for each public JWK in ``recipients``.

    jwcrypto does the JOSE work; the suite only reshapes its JSON serialization into the
    general form with ``objectType`` that spec/schemas/json/jwe.json fixes.
    """
    token = jwe.JWE(plaintext, protected=json.dumps({"enc": "A256GCM"}))
    for key in recipients:
        header = {"alg": "ECDH-ES+A256KW", "kid": key["kid"]}
        token.add_recipient(jwk.JWK(**public_jwk(key)), header=json.dumps(header))
    general: dict[str, Any] = json.loads(token.serialize(compact=False))
    if "recipients" not in general:  # jwcrypto flattens a single recipient
        general["recipients"] = [
            {"header": general.pop("header"), "encrypted_key": general.pop("encrypted_key")}
        ]
    return {"objectType": "Jwe", **general}


def open_payload(token: Mapping[str, Any], key: Mapping[str, Any]) -> bytes:
    """The plaintext of a BMDX Jwe, decrypted by jwcrypto with the private JWK ``key``."""
    opened = jwe.JWE()
    opened.deserialize(
        json.dumps({k: v for k, v in token.items() if k != "objectType"}), key=jwk.JWK(**key)
    )
    return bytes(opened.payload)


def commitment(salt: bytes, plaintext: bytes) -> str:
    """The salted commitment of BMDX-DM-102: SHA-256 over salt || SHA-256(plaintext)."""
    return "sha-256:" + hashlib.sha256(salt + hashlib.sha256(plaintext).digest()).hexdigest()


def seal_record(
    author: NodeClient,
    header: Mapping[str, Any],
    token: Mapping[str, Any],
    salt: bytes | None,
) -> dict[str, Any]:
    """A RecordEnvelope: ``header`` with the payload descriptor of ``token``, signed.

    ``header`` holds every other member (the commitment included), so a test can seal a
    header that lies about its payload and still carries a valid author signature.
    """
    data = canonical(dict(token))
    fields = {k: v for k, v in header.items() if k != "signatures"}
    fields["payload"] = {
        "objectType": "PayloadDescriptor",
        "location": "sha-256:" + hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "mediaType": "application/jose+json",
        "encryption": {"enc": "A256GCM", "keyAgreement": "ECDH-ES+A256KW"},
        "recipients": len(token["recipients"]),
        **header.get("payload", {}),
    }
    envelope: dict[str, Any] = {
        "objectType": "RecordEnvelope",
        "header": sign_object(fields, author.key, kid=author.kid),
        "payload": dict(token),
    }
    if salt is not None:
        envelope["salt"] = _b64url(salt)
    return envelope


def record_envelope(
    author: NodeClient,
    subject: str,
    plaintext: bytes,
    recipients: Sequence[Mapping[str, Any]],
    *,
    record_type: str = "lab-result",
    sensitivity: str = "N",
    data_classes: Sequence[str] | None = None,
    created_ago: int = 60,
) -> dict[str, Any]:
    """A valid RecordEnvelope by ``author`` about ``subject``, encrypted to ``recipients``
    (public encryption JWKs: the node's custodian key among them), with a fresh salt."""
    salt = secrets.token_bytes(_SALT_BYTES)
    header: dict[str, Any] = {
        "objectType": "RecordHeader",
        "recordId": f"urn:uuid:{uuid.uuid4()}",
        "recordType": record_type,
        "subject": subject,
        "author": author.id,
        "created": timestamp(author.clock() - created_ago),
        "contentType": "application/fhir+json",
        "contentVersion": "4.0.1",
        "sensitivity": sensitivity,
        "commitment": commitment(salt, plaintext),
    }
    if data_classes is not None:
        header["dataClasses"] = list(data_classes)
    return seal_record(author, header, encrypt_payload(plaintext, recipients), salt)


def request_digest(request: httpx.Request) -> str:
    """The ``requestDigest`` an AuditEvent of this request carries (BMDX-API-071)."""
    parts = {
        "method": request.method.upper(),
        "targetUri": str(request.url),
        "contentDigest": request.headers.get("content-digest", ""),
        "signatureInput": request.headers.get("signature-input", ""),
        "signature": request.headers.get("signature", ""),
    }
    return digest(parts)
