"""The embedded target: the reference node, started as a program, certified over HTTP.

The suite never imports the reference implementation; it runs ``bmdx node serve`` found
on ``PATH`` on a temporary SQLite store, waits until ``/.well-known/bmdx`` answers, and
stops it afterwards.  The node's standard error is kept for the error message when it
does not come up.

With ``credentials=True`` the node runs as a development node (``--dev``) and writes its
test participants' keys as a target configuration (``--credentials-out``); the suite
then signs as those participants, exactly as it would with ``--config`` against any node.
A development node also commits its pool every ``DEV_COMMIT_INTERVAL_MS`` milliseconds
(``--commit-interval-ms``) rather than at the production cadence, so that the suite's
many write-then-read checks do not spend the run waiting for blocks.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from bmdx.conformance._internal.config import TargetConfig, participant_entry
from bmdx.conformance._internal.errors import InputFileError, TargetError
from bmdx.conformance._internal.files import load_checked, strict_json_loads

__all__ = [
    "CAPABILITY_PATH",
    "DEV_COMMIT_INTERVAL_MS",
    "EmbeddedNode",
    "fetch_capabilities",
    "load_credentials",
    "reference_node_command",
]

CAPABILITY_PATH = "/.well-known/bmdx"
_POLL_SECONDS = 0.1
DEV_COMMIT_INTERVAL_MS = 20
_STDERR_TAIL = 4000


def reference_node_command() -> list[str]:
    """``bmdx node serve`` from ``PATH``, or a clear error when it is not available."""
    unavailable = (
        "the embedded reference node is not available: `bmdx node serve` "
        "{why}; certify a target instead"
    )
    remedy = "Use --target URL --config FILE, --adapter CMD or --artifacts DIR."
    program = shutil.which("bmdx")
    if program is None:
        raise TargetError(
            unavailable.format(why="is not on PATH"), reason="node-unavailable", remedy=remedy
        )
    try:
        probe = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
            [program, "node", "serve", "--help"], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise TargetError(
            unavailable.format(why=f"cannot run ({e})"), reason="node-unavailable", remedy=remedy
        ) from e
    if probe.returncode != 0:
        raise TargetError(
            unavailable.format(why="does not exist in this installation"),
            reason="node-unavailable",
            remedy=remedy,
        )
    return [program, "node", "serve"]


def reference_adapter_command() -> tuple[str, ...]:
    """``bmdx adapter`` beside ``bmdx node serve``: the embedded reference's library face.

    Certifying the embedded reference covers both of its faces, the node over HTTP and
    the library through the adapter protocol, so that profiles whose requirements are
    observed through the adapter (core-format, for one) are observed too.
    """
    program = shutil.which("bmdx")
    if program is None:
        raise TargetError("`bmdx` is not on PATH", reason="node-unavailable")
    return (program, "adapter")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def fetch_capabilities(
    url: str, *, timeout: float = 5.0, verify: bool | str = True
) -> dict[str, Any] | None:
    """The capability document of the node at ``url``, or None when it does not answer with one."""
    try:
        response = httpx.get(url.rstrip("/") + CAPABILITY_PATH, timeout=timeout, verify=verify)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        document = strict_json_loads(response.content)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def load_credentials(path: Path) -> TargetConfig:
    """The target configuration a development node wrote (JSON, target-config schema)."""
    data = load_checked(path, "target-config")
    base = path.resolve().parent
    governance = data.get("governance")
    node = data.get("node", {})
    return TargetConfig(
        path=path,
        url=node.get("url"),
        ca_file=None,
        timeout=node.get("timeout_seconds"),
        participants=tuple(participant_entry(p, base) for p in data.get("participants", ())),
        governance=participant_entry(governance, base) if governance else None,
    )


class EmbeddedNode:
    """A node program run for the length of one certification."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        startup_timeout: float = 60.0,
        host: str = "127.0.0.1",
        clock: Callable[[], float] = time.monotonic,
        credentials: bool = False,
    ) -> None:
        self.base_command = list(command)
        self.credentials = credentials
        self.config: TargetConfig | None = None
        self.startup_timeout = startup_timeout
        self.host = host
        self.clock = clock
        self.url = ""
        self.capabilities: dict[str, Any] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr_path: Path | None = None

    def __enter__(self) -> EmbeddedNode:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._process

    def stderr_tail(self) -> str:
        if self._stderr_path is None or not self._stderr_path.exists():
            return ""
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")[-_STDERR_TAIL:]

    def start(self) -> None:
        self._workdir = tempfile.TemporaryDirectory(prefix="bmdx-conformance-node-")
        work = Path(self._workdir.name)
        port = _free_port(self.host)
        self.url = f"http://{self.host}:{port}"
        self._stderr_path = work / "node.stderr"
        command = [
            *self.base_command,
            "--db",
            f"sqlite:///{work / 'ledger.db'}",
            "--port",
            str(port),
        ]
        if self.credentials:
            command += [
                "--dev",
                "--credentials-out",
                str(work / "credentials.json"),
                "--commit-interval-ms",
                str(DEV_COMMIT_INTERVAL_MS),
            ]
        with self._stderr_path.open("wb") as stderr:
            try:
                self._process = subprocess.Popen(  # noqa: S603 - the node program the user runs
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    cwd=work,
                )
            except OSError as e:
                self.stop()
                raise TargetError(f"cannot start the node: {e}", reason="node-start") from e
        try:
            self._wait_ready()
            if self.credentials:
                self.config = self._load_credentials(work / "credentials.json")
        except TargetError:
            self.stop()
            raise

    @staticmethod
    def _load_credentials(path: Path) -> TargetConfig:
        try:
            return load_credentials(path)
        except InputFileError as e:
            raise TargetError(
                f"the development node wrote no usable credentials: {e.message}",
                reason="node-start",
            ) from e

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = self.clock() + self.startup_timeout
        while True:
            document = fetch_capabilities(self.url, timeout=1.0)
            if document is not None:
                self.capabilities = document
                return
            try:
                code = self._process.wait(timeout=_POLL_SECONDS)
            except subprocess.TimeoutExpired:
                code = None
            if code is not None:
                raise TargetError(
                    f"the node exited with status {code} before answering {CAPABILITY_PATH}; "
                    f"its standard error:\n{self.stderr_tail()}",
                    reason="node-start",
                )
            if self.clock() >= deadline:
                raise TargetError(
                    f"the node did not answer {CAPABILITY_PATH} within {self.startup_timeout:g} s; "
                    f"its standard error:\n{self.stderr_tail()}",
                    reason="node-timeout",
                )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None
