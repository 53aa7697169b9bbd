"""Keeping secrets out of every report file.

Two passes over the whole report: the first *learns* secrets (private JWK members,
credentials in ``Authorization`` headers, passphrases and tokens, payload plaintexts,
and whatever the tests and the target config declared), the second removes them from
the structure *and* from every string, so a secret a test echoed into an assertion
message is scrubbed too.  The second pass also elides strings too long to quote (see
:data:`ELIDE_ABOVE`), content and all.  After writing, the runner scans the files for every learned
secret and refuses a report that still contains one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["ELIDE_ABOVE", "MARK", "PRIVATE_JWK_MEMBERS", "Redactor", "elided"]

MARK = "[redacted]"
# Strings longer than this (the oversized bodies of limit tests, for one) are replaced
# by their length and digest: a report stays readable, and a body too large to quote is
# reproduced from the test id and the run's seed instead.
ELIDE_ABOVE = 16384
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_SECRET_KEYS = frozenset(
    {
        "passphrase",
        "password",
        "secret",
        "token",
        "access_token",
        "refresh_token",
        "client_secret",
        "api_key",
        "apikey",
        "plaintext",
        "privatekey",
        "private_key",
    }
)
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
_OPAQUE_HEADERS = frozenset({"cookie", "set-cookie", "x-api-key"})
_SHORTEST_SECRET = 4
# A private JWK member quoted inside text (a repr or JSON dump in a failure message).
_JWK_MEMBER_TEXT = re.compile(
    r"""(?P<q>["'])(?P<m>d|p|q|dp|dq|qi|k)(?P=q)\s*:\s*(?P<v>["'])[A-Za-z0-9_=+/-]{8,}(?P=v)"""
)
_BEARER_TEXT = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}")
_SIGNATURE_VALUE = re.compile(r"=:[A-Za-z0-9+/=_-]+:")


def elided(text: str) -> str:
    """What a report shows for a string longer than :data:`ELIDE_ABOVE`: no content."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"[elided: {len(text)} characters, sha256 {digest}]"


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *values: str) -> None:
        self.secrets.update(v for v in values if len(v) >= _SHORTEST_SECRET)

    def add_jwk(self, jwk: dict[str, Any]) -> None:
        """Learn the private members of ``jwk`` (a target config's participant key)."""
        self.learn(jwk)

    # -- pass 1 ----------------------------------------------------------------------

    def learn(self, value: Any, key: str | None = None) -> None:
        if isinstance(value, dict):
            is_jwk = "kty" in value
            for k, v in value.items():
                name = str(k).lower()
                if (is_jwk and k in PRIVATE_JWK_MEMBERS and isinstance(v, str)) or (
                    name in _SECRET_KEYS and isinstance(v, str)
                ):
                    self.add(v)
                elif name == "headers":
                    self._learn_headers(v)
                else:
                    self.learn(v, str(k))
        elif isinstance(value, list):
            for v in value:
                self.learn(v, key)

    def _learn_headers(self, headers: Any) -> None:
        for name, value in _header_items(headers):
            lowered = name.lower()
            if lowered in _CREDENTIAL_HEADERS:
                self.add(value.split(" ", 1)[-1].strip())
            elif lowered in _OPAQUE_HEADERS:
                self.add(value)

    # -- pass 2 ----------------------------------------------------------------------

    def scrub(self, value: Any) -> Any:
        """``value`` with every known and recognisable secret replaced by :data:`MARK`."""
        if isinstance(value, dict):
            is_jwk = "kty" in value
            out: dict[str, Any] = {}
            for k, v in value.items():
                name = str(k).lower()
                if (is_jwk and k in PRIVATE_JWK_MEMBERS) or (
                    name in _SECRET_KEYS and isinstance(v, str)
                ):
                    out[k] = MARK
                elif name == "headers":
                    out[k] = self._scrub_headers(v)
                else:
                    out[k] = self.scrub(v)
            return out
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, str):
            if len(value) > ELIDE_ABOVE:
                return elided(value)
            return self.text(value)
        return value

    def _scrub_headers(self, headers: Any) -> Any:
        def clean(name: str, value: str) -> str:
            lowered = name.lower()
            if lowered in _CREDENTIAL_HEADERS:
                scheme = value.split(" ", 1)[0] if " " in value else ""
                return f"{scheme} {MARK}".strip()
            if lowered in _OPAQUE_HEADERS:
                return MARK
            if lowered == "signature":
                return _SIGNATURE_VALUE.sub(f"=:{MARK}:", value)
            return self.text(value)

        if isinstance(headers, dict):
            return {
                k: clean(str(k), v) if isinstance(v, str) else self.scrub(v)
                for k, v in headers.items()
            }
        if isinstance(headers, list):
            out: list[Any] = []
            for pair in headers:
                if (
                    isinstance(pair, list | tuple)
                    and len(pair) == 2
                    and all(isinstance(p, str) for p in pair)
                ):
                    out.append([pair[0], clean(pair[0], pair[1])])
                else:
                    out.append(self.scrub(pair))
            return out
        return self.scrub(headers)

    def text(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MARK)
        text = _JWK_MEMBER_TEXT.sub(
            lambda m: f"{m['q']}{m['m']}{m['q']}: {m['v']}{MARK}{m['v']}", text
        )
        return _BEARER_TEXT.sub(lambda m: f"{m.group(1)} {MARK}", text)

    def leaks(self, text: str) -> list[str]:
        """The learned secrets still present in ``text`` (shown shortened, never whole)."""
        return [f"{s[:3]}...({len(s)} characters)" for s in self.secrets if s in text]


def _header_items(headers: Any) -> list[tuple[str, str]]:
    if isinstance(headers, dict):
        return [(str(k), v) for k, v in headers.items() if isinstance(v, str)]
    if isinstance(headers, list):
        return [
            (p[0], p[1])
            for p in headers
            if isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(x, str) for x in p)
        ]
    return []
