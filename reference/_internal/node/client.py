"""Clients that sign every request as a registered participant (RFC 9421).

For the reference's tools and tests.  The conformance suite has its own signer and
never imports this.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import x25519

from bmdx.reference._internal.errors import KeyImportError
from bmdx.reference._internal.httpsig import content_digest, sign_request
from bmdx.reference._internal.keys import PrivateKey

__all__ = ["AsyncSignedClient", "RequestSigner", "SignedClient"]


class RequestSigner:
    """Signs ``httpx`` requests with one participant key.

    ``now`` supplies the signature's created time in Unix seconds and ``nonce`` a fresh
    nonce (at least 128 random bits by default); tests inject both.
    """

    def __init__(
        self,
        participant_id: str,
        private_key: PrivateKey,
        *,
        now: Callable[[], int] | None = None,
        nonce: Callable[[], str] | None = None,
    ) -> None:
        self.participant_id = participant_id
        self.key = private_key
        self.now = now or (lambda: int(time.time()))
        self.nonce = nonce or (lambda: secrets.token_urlsafe(18))

    def sign(self, request: httpx.Request) -> httpx.Request:
        """``request`` with Content-Digest, Signature-Input and Signature added."""
        for name, value in self.fields(request.method, str(request.url), request.read()).items():
            request.headers[name] = value
        return request

    def fields(self, method: str, url: str, body: bytes) -> dict[str, str]:
        """The Content-Digest, Signature-Input and Signature fields of one request.

        For clients that build requests themselves (e.g. ``requests``-based tools):
        ``url`` must be the target URI exactly as sent and ``body`` the bytes on the wire,
        or the node computes another signature base and answers 401.
        """
        key = self.key.key
        if isinstance(key, x25519.X25519PrivateKey):
            raise KeyImportError(
                "an X25519 key agrees keys; requests are signed with Ed25519 or P-256",
                requirement="BMDX-SEC-208",
                reason="use-mismatch",
            )
        return sign_request(
            method,
            url,
            {"content-digest": content_digest(body)},
            body,
            key=key,
            kid=self.key.kid,
            created=self.now(),
            nonce=self.nonce(),
        )


def _build(
    client: httpx.Client | httpx.AsyncClient,
    method: str,
    path: str,
    *,
    json: Any = None,
    content: bytes | None = None,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Request:
    return client.build_request(
        method, path, json=json, content=content, params=params, headers=headers
    )


class SignedClient:
    """Synchronous requests to ``base_url``, each signed as ``participant_id``."""

    def __init__(
        self,
        base_url: str,
        participant_id: str,
        private_key: PrivateKey,
        *,
        client: httpx.Client | None = None,
        now: Callable[[], int] | None = None,
        nonce: Callable[[], str] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.signer = RequestSigner(participant_id, private_key, now=now, nonce=nonce)
        self.client = (
            client if client is not None else httpx.Client(base_url=base_url, timeout=timeout)
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> SignedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def build(self, method: str, path: str, *, sign: bool = True, **kw: Any) -> httpx.Request:
        """The request, signed unless ``sign`` is false."""
        request = _build(self.client, method, path, **kw)
        return self.signer.sign(request) if sign else request

    def send(self, request: httpx.Request) -> httpx.Response:
        return self.client.send(request)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.send(self.build(method, path, **kw))

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)


class AsyncSignedClient:
    """The same over an ``httpx.AsyncClient`` (e.g. with ``httpx.ASGITransport``)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        participant_id: str,
        private_key: PrivateKey,
        *,
        now: Callable[[], int] | None = None,
        nonce: Callable[[], str] | None = None,
    ) -> None:
        self.signer = RequestSigner(participant_id, private_key, now=now, nonce=nonce)
        self.client = client

    def build(self, method: str, path: str, *, sign: bool = True, **kw: Any) -> httpx.Request:
        request = _build(self.client, method, path, **kw)
        return self.signer.sign(request) if sign else request

    async def send(self, request: httpx.Request) -> httpx.Response:
        return await self.client.send(request)

    async def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.send(self.build(method, path, **kw))

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> httpx.Response:
        return await self.request("POST", path, **kw)

    async def delete(self, path: str, **kw: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kw)
