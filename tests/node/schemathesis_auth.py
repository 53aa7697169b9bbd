"""A live ``bmdx node serve --dev`` and RFC 9421 signing for ``requests``-based tools.

schemathesis sends its cases with ``requests``; :class:`SignatureAuth` signs each
prepared request as a dev participant, over the target URI and the body bytes exactly
as they go on the wire, with :class:`~bmdx.reference._internal.node.client.RequestSigner`.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bmdx.reference._internal.keys import import_private_jwk
from bmdx.reference._internal.node import RequestSigner

START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0


class SignatureAuth(requests.auth.AuthBase):
    """Signs every request ``requests`` prepares, as one participant."""

    def __init__(self, signer: RequestSigner) -> None:
        self.signer = signer

    @property
    def participant(self) -> str:
        return self.signer.participant_id

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body
        if body is None:
            raw = b""
        elif isinstance(body, bytes):
            raw = body
        elif isinstance(body, str):
            # http.client sends a str body encoded as ISO-8859-1.
            raw = body.encode("iso-8859-1")
        else:
            raise TypeError(f"cannot sign a streamed body ({type(body).__name__})")
        assert request.method is not None
        assert request.url is not None
        request.headers.update(self.signer.fields(request.method, request.url, raw))
        return request


@dataclass(frozen=True, slots=True)
class LiveNode:
    """A running dev node: its URL, its credentials file and the participants in it."""

    url: str
    credentials: dict[str, Any]
    process: subprocess.Popen[bytes]

    def entry(self, role: str) -> dict[str, Any]:
        """The credentials entry of the dev participant with ``role`` (or ``governance``)."""
        if role == "governance":
            entry: dict[str, Any] = self.credentials["governance"]
            return entry
        return next(p for p in self.credentials["participants"] if p["role"] == role)

    def signer(self, role: str) -> RequestSigner:
        entry = self.entry(role)
        key = import_private_jwk(entry["jwk"])
        return RequestSigner(entry["id"], key)

    def auth(self, role: str) -> SignatureAuth:
        return SignatureAuth(self.signer(role))


def _read_line(stream: Any, deadline: float) -> bytes:
    """One line of ``stream``, or whatever was read when ``deadline`` passed."""
    line = b""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                break
            chunk = os.read(stream.fileno(), 256)
            if not chunk:
                break
            line += chunk
    return line


@contextmanager
def live_node(tmp: Path, *extra: str) -> Iterator[LiveNode]:
    """``bmdx node serve --dev --port 0`` on a fresh SQLite database in ``tmp``.

    Waits (bounded) for the node to say it listens, and stops it with SIGTERM, which
    makes it commit its pool and exit 0; a node that does not stop in time is killed
    and the test fails.
    """
    credentials = tmp / "creds.json"
    stderr = (tmp / "node-stderr.txt").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bmdx.reference",
            "node",
            "serve",
            "--dev",
            "--port",
            "0",
            "--db",
            f"sqlite:///{tmp / 'node.db'}",
            "--credentials-out",
            str(credentials),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    try:
        assert process.stdout is not None
        line = _read_line(process.stdout, time.monotonic() + START_TIMEOUT).decode()
        assert "listening on http://" in line, (
            f"the node did not start: {line!r}\n{(tmp / 'node-stderr.txt').read_text()}"
        )
        url = line.rsplit(" ", 1)[1].strip()
        yield LiveNode(url, json.loads(credentials.read_text()), process)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=STOP_TIMEOUT)
        assert code == 0, f"the node exited {code}:\n{(tmp / 'node-stderr.txt').read_text()}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
        if process.stdout is not None:
            process.stdout.close()
        stderr.close()
