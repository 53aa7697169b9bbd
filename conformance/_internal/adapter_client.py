"""The suite's side of the adapter protocol (spec/conformance/adapter/README.md).

:class:`AdapterClient` starts the vendor's adapter command, sends one JSON line per
request and reads one JSON line per response, checking every line against the
protocol's own schemas in ``spec/conformance/adapter``: an adapter that breaks the
envelope (a stray line, a wrong id, an ill-formed result, no answer in time) raises
:class:`AdapterProtocolError` naming the BMDX-ADP requirement it broke, which the test
that was talking to it reports as failed.

Every exchange is recorded into the current test's :class:`Evidence` for the report's
reproduction recipe, with private key members and plaintext bytes redacted first.
Standard error is captured whole and attached as evidence too; it is otherwise ignored.
"""

from __future__ import annotations

import functools
import json
import queue
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import jsonschema_rs

from bmdx.conformance._internal.errors import TargetError
from bmdx.conformance._internal.specdata import spec_dir
from bmdx.conformance._internal.targets import Evidence

__all__ = [
    "PROTOCOL_VERSION",
    "AdapterClient",
    "AdapterError",
    "AdapterProtocolError",
    "AdapterTimeoutError",
    "Response",
    "StartInfo",
    "redact",
]

PROTOCOL_VERSION = 1
SCHEMA_BASE = "https://bmdx.org/spec/1/conformance/adapter/"
OBJECT_SCHEMA_BASE = "https://bmdx.org/spec/1/schemas/"

REQ_ENVELOPE = "BMDX-ADP-001"
REQ_ONE_RESPONSE = "BMDX-ADP-003"
REQ_ID_ECHO = "BMDX-ADP-004"
REQ_START = "BMDX-ADP-005"
REQ_STOP = "BMDX-ADP-008"
REQ_STDOUT = "BMDX-ADP-010"
REQ_RESULT = "BMDX-ADP-017"

_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_SECRET_BYTES = frozenset({"plaintext"})
_EOF = object()


class AdapterError(TargetError):
    """The adapter could not be talked to."""

    default_reason = "adapter"


class AdapterProtocolError(AdapterError):
    """The adapter broke the protocol; ``requirement`` is the BMDX-ADP id it broke."""

    default_reason = "protocol"

    def __init__(self, message: str, *, requirement: str, reason: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.requirement = requirement


class AdapterTimeoutError(AdapterProtocolError):
    """No response within the per-request timeout."""

    default_reason = "timeout"


@dataclass(frozen=True)
class Response:
    """One answer: ``result`` when ``ok`` (empty otherwise), else ``error``."""

    id: Any
    ok: bool
    result: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None

    @property
    def requirement(self) -> str | None:
        return None if self.error is None else str(self.error["requirement"])

    @property
    def reason(self) -> str | None:
        return None if self.error is None else str(self.error["reason"])


@dataclass(frozen=True)
class StartInfo:
    """What the adapter said about itself in answer to ``start``."""

    implementation: dict[str, str]
    commands: frozenset[str]
    profiles: tuple[str, ...]


def redact(value: Any, *, key: str | None = None) -> Any:
    """``value`` with private JWK members and plaintext bytes replaced by markers."""
    if isinstance(value, dict):
        is_jwk = "kty" in value
        out: dict[str, Any] = {}
        for k, v in value.items():
            if is_jwk and k in _PRIVATE_JWK_MEMBERS:
                out[k] = "<redacted private key member>"
            else:
                out[k] = redact(v, key=k)
        return out
    if isinstance(value, list):
        return [redact(v, key=key) for v in value]
    if key in _SECRET_BYTES and isinstance(value, str):
        return f"<redacted {len(value)} base64url characters>"
    return value


@functools.cache
def _registry(root: Path) -> Any:
    schemas: dict[str, Any] = {}
    for path in sorted((root / "conformance" / "adapter").rglob("*.schema.json")):
        schema = json.loads(path.read_bytes())
        schemas[schema["$id"]] = schema
    for path in sorted((root / "schemas" / "json").glob("*.json")):
        schema = json.loads(path.read_bytes())
        schemas[schema["$id"]] = schema
    return jsonschema_rs.Registry(list(schemas.items()))


@functools.cache
def _validator(root: Path, ref: str) -> Any:
    return jsonschema_rs.validator_for(
        {"$ref": ref}, registry=_registry(root), offline=True, validate_formats=False
    )


def _first_error(validator: Any, instance: Any) -> str | None:
    for error in validator.iter_errors(instance):
        where = "".join(f"/{p}" for p in error.instance_path) or "/"
        return f"{where}: {error.message}"
    return None


class AdapterClient:
    """A running adapter process, spoken to one request at a time.

    ``argv`` is the adapter command; ``timeout`` the seconds one request may take.
    ``evidence`` receives every exchange; the suite's fixtures point it at the current
    test's :class:`Evidence` before each test.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        timeout: float = 10.0,
        root: Path | None = None,
        evidence: Evidence | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        if not argv:
            raise AdapterError("the adapter command is empty", reason="adapter-command")
        self.argv = tuple(argv)
        self.timeout = timeout
        self.root = root or spec_dir()
        self.evidence = evidence if evidence is not None else Evidence()
        self.env = env
        self.info: StartInfo | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[object] = queue.Queue()
        self._stderr: list[bytes] = []
        self._threads: list[threading.Thread] = []
        self._next_id = 0

    # -- process ---------------------------------------------------------------------

    def spawn(self) -> None:
        """Start the process without sending anything (protocol tests send by hand)."""
        try:
            self._process = subprocess.Popen(  # noqa: S603 - the vendor's own command
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.env,
            )
        except OSError as e:
            raise AdapterError(
                f"cannot start the adapter {' '.join(self.argv)}: {e}", reason="adapter-start"
            ) from e
        assert self._process.stdout is not None
        assert self._process.stderr is not None
        self._threads = [
            threading.Thread(target=self._pump, args=(self._process.stdout,), daemon=True),
            threading.Thread(target=self._drain, args=(self._process.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _pump(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self._lines.put(line)
        self._lines.put(_EOF)

    def _drain(self, stream: IO[bytes]) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):  # type: ignore[attr-defined]
            self._stderr.append(chunk)

    @property
    def stderr(self) -> str:
        """Everything the adapter wrote to standard error so far."""
        return b"".join(self._stderr).decode("utf-8", "replace")

    @property
    def process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise AdapterError("the adapter has not been started", reason="adapter-not-started")
        return self._process

    # -- lines -----------------------------------------------------------------------

    def send_line(self, line: bytes) -> None:
        """Write one raw line (``\\n`` appended) to the adapter."""
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(line + b"\n")
            stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise AdapterProtocolError(
                f"the adapter stopped reading its input: {e}", requirement=REQ_ONE_RESPONSE
            ) from e

    def close_input(self) -> None:
        stdin = self.process.stdin
        if stdin is not None and not stdin.closed:
            try:
                stdin.close()
            except BrokenPipeError:
                return

    def read_line(self, *, timeout: float | None = None) -> bytes | None:
        """The next output line, ``None`` at end of output; raises on timeout."""
        try:
            item = self._lines.get(timeout=self.timeout if timeout is None else timeout)
        except queue.Empty:
            raise AdapterTimeoutError(
                f"no response within {self.timeout} s", requirement=REQ_ONE_RESPONSE
            ) from None
        if item is _EOF:
            self._lines.put(_EOF)
            return None
        assert isinstance(item, bytes)
        return item

    def read_response(self) -> dict[str, Any]:
        """The next output line as a response object valid against response.schema.json."""
        line = self.read_line()
        if line is None:
            raise AdapterProtocolError(
                f"the adapter closed its output (exit status {self.process.poll()})",
                requirement=REQ_ONE_RESPONSE,
                reason="adapter-exited",
            )
        if not line.endswith(b"\n"):
            raise AdapterProtocolError(
                "a response line without a line feed", requirement=REQ_ENVELOPE
            )
        try:
            value = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise AdapterProtocolError(
                f"standard output holds a line that is not JSON: {line[:200]!r}",
                requirement=REQ_STDOUT,
                reason="stray-output",
            ) from e
        problem = _first_error(_validator(self.root, f"{SCHEMA_BASE}response.schema.json"), value)
        if problem is not None:
            raise AdapterProtocolError(
                f"response breaks response.schema.json at {problem}", requirement=REQ_ENVELOPE
            )
        assert isinstance(value, dict)
        return value

    # -- requests --------------------------------------------------------------------

    def request(self, cmd: str, args: dict[str, Any], *, request_id: Any = None) -> Response:
        """Send one request, read its response, check envelope, id and result schema."""
        if request_id is None:
            request_id = self._next_id
            self._next_id += 1
        request = {"id": request_id, "cmd": cmd, "args": args}
        line = json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_line(line)
        try:
            raw = self.read_response()
        except AdapterProtocolError:
            self._record(request, None)
            raise
        self._record(request, raw)
        if type(raw["id"]) is not type(request_id) or raw["id"] != request_id:
            raise AdapterProtocolError(
                f"response id {raw['id']!r} answers request id {request_id!r}",
                requirement=REQ_ID_ECHO,
            )
        response = Response(
            id=raw["id"], ok=raw["ok"], result=raw.get("result", {}), error=raw.get("error")
        )
        if response.ok:
            ref = f"{SCHEMA_BASE}commands/{cmd}.schema.json#/$defs/result"
            if (
                self.root / "conformance" / "adapter" / "commands" / f"{cmd}.schema.json"
            ).is_file():
                problem = _first_error(_validator(self.root, ref), response.result)
                if problem is not None:
                    raise AdapterProtocolError(
                        f"the result of {cmd} breaks its schema at {problem}",
                        requirement=REQ_RESULT,
                    )
        return response

    def call(self, cmd: str, **args: Any) -> Response:
        """``request(cmd, args)``, for the common case."""
        return self.request(cmd, args)

    def _record(self, request: dict[str, Any], response: dict[str, Any] | None) -> None:
        self.evidence.record(
            {
                "transport": "adapter",
                "request": redact(request),
                "response": None if response is None else redact(response),
            }
        )

    # -- session ---------------------------------------------------------------------

    def start(self) -> StartInfo:
        """Start the process and open the session with ``start``."""
        if self._process is None:
            self.spawn()
        response = self.call("start", protocolVersion=PROTOCOL_VERSION)
        if not response.ok:
            raise AdapterProtocolError(
                f"the adapter refused start: {response.error}", requirement=REQ_START
            )
        result = response.result
        self.info = StartInfo(
            implementation=dict(result["implementation"]),
            commands=frozenset(result["commands"]),
            profiles=tuple(result["profiles"]),
        )
        return self.info

    def supports(self, cmd: str) -> bool:
        return self.info is not None and cmd in self.info.commands

    def stop(self) -> int:
        """Send ``stop``; return the exit status once the process has ended."""
        process = self.process
        try:
            response = self.call("stop")
        finally:
            self.close_input()
        if not response.ok or response.result != {}:
            raise AdapterProtocolError(
                f"stop was answered {response.error or response.result}", requirement=REQ_STOP
            )
        try:
            status = process.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AdapterProtocolError(
                "the adapter did not exit after stop", requirement=REQ_STOP, reason="no-exit"
            ) from None
        extra = self.read_line(timeout=self.timeout)
        self._release()
        if extra is not None:
            raise AdapterProtocolError(
                f"output after the stop response: {extra[:200]!r}",
                requirement=REQ_STDOUT,
                reason="stray-output",
            )
        return status

    def kill(self) -> None:
        """End the process, whatever state it is in (the last resort of a fixture)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self.close_input()
            self._process.kill()
            self._process.wait()
        self._release()

    def _release(self) -> None:
        """Close the pipes once the reader threads have seen the end of them."""
        process = self.process
        self.close_input()
        for thread in self._threads:
            thread.join(timeout=self.timeout)
        for stream in (process.stdout, process.stderr):
            if stream is not None and not stream.closed:
                stream.close()
