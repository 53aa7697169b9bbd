"""The reference implementation's side of the conformance adapter protocol.

``spec/conformance/adapter/README.md`` is the protocol: JSON lines in, JSON lines out,
one response per request, in order, ids echoed.  This module is the dispatch only:
every command composes functions the reference already has (I-JSON input and RFC 8785,
document validation and the XML mapping, JWS, JWE, the Merkle tree), so that the suite
certifies the same code paths a node runs.

Every refusal of an input is an answer (``ok: false``) carrying the requirement and
reason of the :class:`BmdxError` that refused it; the uniform-failure errors
(:class:`SignatureError`, :class:`DecryptionError`) expose only their public
requirement, reason and message.  A fault of the reference itself answers
``BMDX-ADP-016 internal-error`` (the traceback goes to standard error) and the adapter
keeps serving: one bad request costs one answer, never the run.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import jsonschema_rs

from bmdx.reference._internal import anomaly, consent, ijson, jwe, merkle
from bmdx.reference._internal.b64 import B64Error, b64url_decode, b64url_encode
from bmdx.reference._internal.canonical import canonical_bytes, signing_payload
from bmdx.reference._internal.documents import load_document, validate_document_bytes
from bmdx.reference._internal.errors import (
    BmdxError,
    DecryptionError,
    DocumentError,
    IJsonError,
    SchemaValidationError,
    SignatureError,
    XmlSecurityError,
    XmlSyntaxError,
)
from bmdx.reference._internal.ijson import check_ijson_value
from bmdx.reference._internal.jws import verify_jws_object
from bmdx.reference._internal.keys import KeySet, import_private_jwk
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.signing import sign_document, verify_document
from bmdx.reference._internal.specdata import schema_by_id, spec_dir
from bmdx.reference._internal.xmlmap import json_to_xml

__all__ = ["MAX_LINE_BYTES", "PROTOCOL_VERSION", "Adapter", "serve"]

PROTOCOL_VERSION = 1
# BMDX-ADP-032: a body one byte over max_body_bytes, base64url-encoded, fits.
MAX_LINE_BYTES = 16 * 1024 * 1024

REQ_UNSUPPORTED = "BMDX-ADP-002"
REQ_PROTOCOL_VERSION = "BMDX-ADP-006"
REQ_NOT_STARTED = "BMDX-ADP-007"
REQ_MALFORMED = "BMDX-ADP-011"
REQ_INVALID_ARGS = "BMDX-ADP-012"
REQ_INTERNAL = "BMDX-ADP-016"
REQ_OBJECT = "BMDX-DM-001"

_PROFILES = ("adapter", "core-format", "security")
_SCHEMA_BASE = "https://bmdx.org/spec/1/conformance/adapter/"

Handler = Callable[["Adapter", dict[str, Any]], dict[str, Any]]


class _ProtocolError(Exception):
    """A request the protocol itself refuses (not a BMDX input refusal)."""

    def __init__(self, requirement: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.requirement = requirement
        self.reason = reason
        self.message = message


@functools.cache
def _protocol_schemas(root: Path) -> dict[str, Any]:
    folder = root / "conformance" / "adapter"
    out: dict[str, Any] = {}
    for path in sorted(folder.rglob("*.schema.json")):
        schema = json.loads(path.read_bytes())
        out[schema["$id"]] = schema
    return out


class _Validators:
    """Compiled protocol schemas: the envelope, and each command's args and result."""

    def __init__(self, root: Path) -> None:
        schemas = {**schema_by_id(root), **_protocol_schemas(root)}
        self._registry = jsonschema_rs.Registry(list(schemas.items()))
        self._cache: dict[str, Any] = {}
        self.request = self._compile(f"{_SCHEMA_BASE}request.schema.json")

    def _compile(self, ref: str) -> Any:
        validator = self._cache.get(ref)
        if validator is None:
            validator = jsonschema_rs.validator_for(
                {"$ref": ref}, registry=self._registry, offline=True, validate_formats=False
            )
            self._cache[ref] = validator
        return validator

    def args(self, cmd: str) -> Any:
        return self._compile(f"{_SCHEMA_BASE}commands/{cmd}.schema.json#/$defs/args")

    def result(self, cmd: str) -> Any:
        return self._compile(f"{_SCHEMA_BASE}commands/{cmd}.schema.json#/$defs/result")


def _bytes(value: str) -> bytes:
    try:
        return b64url_decode(value)
    except B64Error as e:  # the args schema admits canonical base64url only
        raise _ProtocolError(REQ_INVALID_ARGS, "invalid-args", f"binary value: {e}") from e


def _hex(value: str) -> bytes:
    return bytes.fromhex(value)


def _document(value: Any) -> dict[str, Any]:
    check_ijson_value(value)
    if not isinstance(value, dict):
        raise DocumentError(
            "a BMDX document is a JSON object",
            requirement=REQ_OBJECT,
            reason="not-an-object",
            pointer="",
        )
    return value


# --- commands --------------------------------------------------------------------------


def _start(adapter: Adapter, args: dict[str, Any]) -> dict[str, Any]:
    version = args["protocolVersion"]
    if version != PROTOCOL_VERSION:
        raise _ProtocolError(
            REQ_PROTOCOL_VERSION,
            "protocol-version",
            f"this adapter speaks protocol version {PROTOCOL_VERSION}, not {version}",
        )
    adapter.started = True
    return {
        "implementation": {
            "name": "bmdx-reference",
            "version": importlib.metadata.version("bmdx"),
            "language": f"Python {sys.version_info.major}.{sys.version_info.minor}",
        },
        "protocolVersion": PROTOCOL_VERSION,
        "commands": sorted(_HANDLERS),
        "profiles": list(_PROFILES),
    }


def _stop(adapter: Adapter, args: dict[str, Any]) -> dict[str, Any]:
    adapter.stopped = True
    return {}


def _canonicalize(adapter: Adapter, args: dict[str, Any]) -> dict[str, Any]:
    value = ijson.loads(_bytes(args["input"]))
    if args.get("mode", "canonical") == "signing-payload":
        return {"output": b64url_encode(signing_payload(_document(value)))}
    return {"output": b64url_encode(canonical_bytes(value))}


def _validate(adapter: Adapter, args: dict[str, Any]) -> dict[str, Any]:
    report = validate_document_bytes(_bytes(args["input"]), root=adapter.root)
    violations = []
    for v in report.violations:
        entry = {
            "requirement": v.requirement,
            "pointer": _text(v.pointer),
            "message": _text(v.message),
        }
        if v.xpath is not None:
            entry["xpath"] = v.xpath
        violations.append(entry)
    return {
        "valid": report.valid,
        "syntax": report.syntax,
        "objectType": report.object_type,
        "violations": violations,
    }


def _convert(adapter: Adapter, args: dict[str, Any]) -> dict[str, Any]:
    document, _ = load_document(_bytes(args["input"]), root=adapter.root)
    schema_set(adapter.root).validate_document(document)
    if args["to"] == "xml":
        return {"output": b64url_encode(json_to_xml(document, root=adapter.root))}
    return {"output": b64url_encode(ijson.dumps(document))}


def _sign(adapter: Adapter, args: dict[str, Any]) -> dict[str, Any]:
    key = import_private_jwk(args["key"], use="sig")
    return {"document": sign_document(_document(args["document"]), key)}


def _verify(adapter: Adapter, args: dict[str, Any]) -> dict[str, Any]:
    keys = KeySet.from_jwks({"keys": args["keys"]}, use="sig")
    document = _document(args["document"])
    if document.get("objectType") == "Jws":
        payload = _bytes(args["payload"]) if "payload" in args else None
        _, verified = verify_jws_object(document, keys, payload=payload)
    else:
        verified = verify_document(document, keys)
    return {"kids": [v.kid for v in verified]}


def _encrypt(adapter: Adapter, args: dict[str, Any]) -> dict[str, Any]:
    token = jwe.encrypt(_bytes(args["plaintext"]), args["recipients"], cty=args.get("cty"))
    return {"jwe": token}


def _decrypt(adapter: Adapter, args: dict[str, Any]) -> dict[str, Any]:
    token = args["jwe"] if "jwe" in args else jwe.parse_jwe(_bytes(args["jweText"]))
    plaintext = jwe.decrypt(token, args["key"], expected_digest=args.get("plaintextDigest"))
    return {"plaintext": b64url_encode(plaintext)}


def _merkle_root(adapter: Adapter, args: dict[str, Any]) -> dict[str, Any]:
    tree = merkle.MerkleTree()
    for entry in args["entries"]:
        tree.append(_bytes(entry))
    return {"root": tree.root().hex(), "size": tree.size}


def _verify_inclusion(adapter: Adapter, args: dict[str, Any]) -> dict[str, Any]:
    valid = merkle.verify_inclusion(
        _hex(args["leafHash"]),
        args["leafIndex"],
        args["treeSize"],
        [_hex(h) for h in args["path"]],
        _hex(args["root"]),
    )
    return {"valid": valid}


def _verify_consistency(adapter: Adapter, args: dict[str, Any]) -> dict[str, Any]:
    valid = merkle.verify_consistency(
        args["firstSize"],
        args["secondSize"],
        [_hex(h) for h in args["path"]],
        _hex(args["firstRoot"]),
        _hex(args["secondRoot"]),
    )
    return {"valid": valid}


def _consent_decide(adapter: Adapter, args: dict[str, Any]) -> dict[str, Any]:
    decision = consent.decide(
        args["consents"], args["request"], args["requester"], args["records"], now=args["now"]
    )
    return {"decision": decision}


def _anomaly_detect(adapter: Adapter, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "alerts": anomaly.detect(args["events"], args["rules"], now=args["now"], root=adapter.root)
    }


_HANDLERS: Mapping[str, Handler] = {
    "start": _start,
    "stop": _stop,
    "canonicalize": _canonicalize,
    "validate": _validate,
    "convert": _convert,
    "sign": _sign,
    "verify": _verify,
    "encrypt": _encrypt,
    "decrypt": _decrypt,
    "merkle-root": _merkle_root,
    "verify-inclusion": _verify_inclusion,
    "verify-consistency": _verify_consistency,
    "anomaly-detect": _anomaly_detect,
    "consent-decide": _consent_decide,
}


# --- the envelope ----------------------------------------------------------------------


def _text(value: str) -> str:
    """``value`` made UTF-8-encodable: a refused input's lone surrogates, escaped."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _error(request_id: Any, requirement: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "id": request_id,
        "ok": False,
        "error": {"requirement": requirement, "reason": reason, "message": _text(message)},
    }


def _refusal(request_id: Any, error: BmdxError) -> dict[str, Any]:
    if isinstance(error, SignatureError | DecryptionError):
        # Uniform failures (BMDX-ADP-015): the public face only, never the check.
        return _error(request_id, error.requirement, type(error).default_reason, error.MESSAGE)
    out = _error(request_id, error.requirement, error.reason, error.message)
    pointer, xpath = error.pointer, None
    if isinstance(error, SchemaValidationError):
        pointer, xpath = error.violations[0].pointer, error.violations[0].xpath
    elif isinstance(error, XmlSecurityError | XmlSyntaxError):
        pointer, xpath = None, error.pointer
    if pointer is not None:
        out["error"]["pointer"] = _text(pointer)
    if xpath is not None:
        out["error"]["xpath"] = _text(xpath)
    return out


def _readable_id(line: bytes) -> Any:
    """The id of a request line that failed the envelope checks, if it has a valid one."""
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    candidate = value.get("id")
    if isinstance(candidate, bool):
        return None
    if isinstance(candidate, int) and 0 <= candidate <= 2**53 - 1:
        return candidate
    if isinstance(candidate, str) and 1 <= len(candidate) <= 128:
        return candidate
    return None


class Adapter:
    """One adapter session: turns request lines into response objects."""

    def __init__(self, *, root: Path | None = None, log: IO[str] | None = None) -> None:
        self.root = root or spec_dir()
        self.log = log if log is not None else sys.stderr
        self.started = False
        self.stopped = False
        self._validators = _Validators(self.root)

    def handle_line(self, line: bytes) -> dict[str, Any]:
        """The response to one request line (without its line feed)."""
        try:
            request = ijson.loads(line, max_bytes=MAX_LINE_BYTES)
        except IJsonError as e:
            return _error(_readable_id(line), REQ_MALFORMED, "malformed-request", e.message)
        if not self._validators.request.is_valid(request):
            first = next(iter(self._validators.request.iter_errors(request)))
            return _error(
                _readable_id(line), REQ_MALFORMED, "malformed-request", f"request: {first.message}"
            )
        return self.handle(request)

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """The response to one envelope-valid request."""
        request_id, cmd, args = request["id"], request["cmd"], request["args"]
        try:
            result = self._run(cmd, args)
        except _ProtocolError as e:
            return _error(request_id, e.requirement, e.reason, e.message)
        except BmdxError as e:
            return _refusal(request_id, e)
        except Exception as e:  # noqa: BLE001 - BMDX-ADP-016: a fault must not end the run
            traceback.print_exc(file=self.log)
            return _error(request_id, REQ_INTERNAL, "internal-error", type(e).__name__)
        return {"id": request_id, "ok": True, "result": result}

    def _run(self, cmd: str, args: dict[str, Any]) -> dict[str, Any]:
        if not self.started and cmd != "start":
            raise _ProtocolError(REQ_NOT_STARTED, "not-started", "the first request is start")
        handler = _HANDLERS.get(cmd)
        if handler is None:
            raise _ProtocolError(
                REQ_UNSUPPORTED, "unsupported", f"command {cmd!r} is not implemented"
            )
        errors = list(self._validators.args(cmd).iter_errors(args))
        if errors:
            where = "".join(f"/{p}" for p in errors[0].instance_path) or "/"
            raise _ProtocolError(
                REQ_INVALID_ARGS, "invalid-args", f"args of {cmd} at {where}: {errors[0].message}"
            )
        result = handler(self, args)
        if not self._validators.result(cmd).is_valid(result):
            raise RuntimeError(f"the result of {cmd} breaks its own schema")
        return result


def _encode(response: dict[str, Any]) -> bytes:
    try:
        return json.dumps(response, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as e:  # BMDX-ADP-016: answer, never die mid-stream
        fallback = _error(response.get("id"), REQ_INTERNAL, "internal-error", type(e).__name__)
        return json.dumps(fallback, ensure_ascii=False).encode("utf-8")


def serve(stdin: IO[bytes], stdout: IO[bytes], *, adapter: Adapter | None = None) -> int:
    """Serve requests until ``stop`` or end of input; the process exit status."""
    session = adapter or Adapter()
    while not session.stopped:
        line = stdin.readline(MAX_LINE_BYTES + 1)
        if not line:
            return 0
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # drop the rest of the oversized line
                line = stdin.readline(MAX_LINE_BYTES)
            response = _error(None, REQ_MALFORMED, "malformed-request", "request line over 16 MiB")
        else:
            response = session.handle_line(line.rstrip(b"\r\n"))
        stdout.write(_encode(response) + b"\n")
        stdout.flush()
    return 0
