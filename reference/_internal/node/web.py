"""The HTTP edge of a node: intake, problem documents, operations, content negotiation.

Every request passes :class:`Intake` first, a plain ASGI middleware, which

1. refuses a body larger than the profile's ``max_body_bytes`` with 413 *before* reading
   more than that (by ``Content-Length``, or while streaming) [BMDX-API-006];
2. verifies the RFC 9421 signature of every request but the unauthenticated operations
   of the interface document (``GET /.well-known/bmdx``) and answers a refusal with 401,
   an ``Accept-Signature`` field and a problem document [BMDX-API-015]; nothing
   downstream runs, so nothing changes;
3. turns any exception that escapes into a generic problem document (logged, never
   shown) [BMDX-API-004].

An operation of ``spec/api/openapi.yaml`` is then served by :func:`route`, which checks
the parameters against their schemas (400), negotiates the response media type (406),
checks the request's Content-Type (415), reads the body as I-JSON or safe XML (400)
and validates it against the operation's object types (422) before the handler runs.
Handlers are synchronous and run in the thread pool; they return a :class:`Reply`.
This is the one place where :class:`BmdxError` becomes an HTTP response.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import http_sf
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header, parse_options_header

from bmdx.reference._internal import ijson
from bmdx.reference._internal.errors import (
    DOCS_REQUIREMENT_URL,
    ApiError,
    BmdxError,
    RequestAuthError,
)
from bmdx.reference._internal.httpsig import RequestVerifier
from bmdx.reference._internal.limits import limits
from bmdx.reference._internal.node.openapi import Operation, operations
from bmdx.reference._internal.node.service import Caller, NodeService
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.schema import schema_set

__all__ = [
    "Context",
    "Handler",
    "Intake",
    "Reply",
    "http_exception_response",
    "problem_response",
    "route",
]

log = logging.getLogger("bmdx.node")

REQ_ERRORS = "BMDX-API-003"
REQ_NO_500 = "BMDX-API-004"
REQ_TOO_LARGE = "BMDX-API-006"
REQ_SCHEMA = "BMDX-API-008"
REQ_MEDIA_TYPE = "BMDX-API-009"
REQ_NOT_ACCEPTABLE = "BMDX-API-012"
REQ_PARAMETERS = "BMDX-API-014"
REQ_METHOD = "BMDX-API-016"
REQ_BODY_LIMIT = "BMDX-FMT-007"

PROBLEM = "application/problem+json"
JSON = "application/json"
XML = "application/xml"
TEXT = "text/plain"

_MAX_DETAIL = 4096
_MAX_LOCATION = 2048
_MAX_VIOLATIONS = 1000
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
STATE_CALLER = "bmdx.caller"
STATE_BODY = "bmdx.body"


# -- problem documents ------------------------------------------------------------------


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _text(value: object) -> str:
    """``value`` as the ErrorResponse's free text: XML-safe characters, at most 4096.

    Messages quote the offending input, which may be long or hold characters that
    common.json#/$defs/text excludes.
    """
    return _NOT_TEXT.sub("\N{REPLACEMENT CHARACTER}", str(value))[:_MAX_DETAIL]


def _location(value: str) -> str:
    """A pointer or XPath of at most 2048 characters: the deepest ancestor that fits."""
    if len(value) <= _MAX_LOCATION:
        return value
    cut = value.rfind("/", 0, _MAX_LOCATION + 1)
    return value[:cut]


def problem_document(error: BmdxError) -> dict[str, Any]:
    """``error`` as an ErrorResponse (RFC 9457), within the ErrorResponse schema."""
    body = dict(error.problem())
    body["objectType"] = "ErrorResponse"
    body["status"] = error.status
    body["detail"] = _text(body.get("detail") or error.reason)
    pointer = body.get("pointer")
    if isinstance(pointer, str):
        body["pointer"] = _location(pointer)
    violations = body.get("violations")
    if isinstance(violations, list):
        kept = []
        for violation in violations[:_MAX_VIOLATIONS]:
            item = dict(violation)
            item["message"] = _text(item["message"])
            for name in ("pointer", "xpath"):
                if isinstance(item.get(name), str):
                    item[name] = _location(item[name])
            kept.append(item)
        body["violations"] = kept
    return body


def _accept_signature() -> str:
    profile = security_profile().http_signatures
    members: list[Any] = [(c, {}) for c in profile.components]
    params = dict.fromkeys(sorted(profile.parameters), True)
    signature_field: Any = {profile.label: (members, params)}
    return str(http_sf.ser(signature_field))


def problem_response(error: BmdxError) -> Response:
    """The HTTP response of ``error``: its status, a problem document, and hints."""
    headers: dict[str, str] = {}
    if isinstance(error, RequestAuthError) and error.status == 401:
        headers["Accept-Signature"] = _accept_signature()
        headers["WWW-Authenticate"] = 'Signature realm="bmdx"'
    return Response(
        _json_bytes(problem_document(error)),
        status_code=error.status,
        media_type=PROBLEM,
        headers=headers,
    )


def _internal_error() -> Response:
    body = {
        "objectType": "ErrorResponse",
        "type": DOCS_REQUIREMENT_URL.format(id=REQ_NO_500),
        "title": "InternalError",
        "status": 500,
        "detail": "the node failed to handle this request; the failure is logged",
        "requirement": REQ_NO_500,
        "reason": "internal-error",
    }
    return Response(_json_bytes(body), status_code=500, media_type=PROBLEM)


def http_exception_response(exc: HTTPException) -> Response:
    """Starlette's routing errors (no route, wrong method) as problem documents."""
    if exc.status_code == 405:
        error = ApiError(
            "the path does not support this method",
            status=405,
            reason="method-not-allowed",
            requirement=REQ_METHOD,
        )
        response = problem_response(error)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response
    return problem_response(
        ApiError(
            "no such resource" if exc.status_code == 404 else str(exc.detail),
            status=exc.status_code,
            reason="not-found" if exc.status_code == 404 else "http-error",
            requirement=REQ_PARAMETERS if exc.status_code == 404 else REQ_ERRORS,
        )
    )


# -- intake middleware ------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _BodyTooLargeError(Exception):
    """The body passed the limit while being read."""


def target_uri(scope: Scope) -> str:
    """The request's ``@target-uri`` as the client addressed it (RFC 9421 section 2.2.2)."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    host = headers.get("host")
    if host is None:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    path = raw.decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scope.get('scheme', 'http')}://{host}{path}" + (f"?{query}" if query else "")


class Intake:
    """Body limit, request authentication and the last-resort error answer."""

    def __init__(self, app: ASGIApp, *, service: NodeService, verifier: RequestVerifier) -> None:
        self.app = app
        self.service = service
        self.verifier = verifier
        self.max_body = limits().max_body_bytes
        self.open = {(op.method, op.path) for op in operations().values() if not op.authenticated}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._handle(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await _internal_error()(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await self._read_body(scope, receive)
        except _BodyTooLargeError:
            error = ApiError(
                f"the body exceeds the limit of {self.max_body} bytes",
                status=413,
                reason="too-large",
                requirement=REQ_BODY_LIMIT,
            )
            await problem_response(error)(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state[STATE_BODY] = body
        method = scope["method"]
        if (method, scope["path"]) not in self.open and not (
            method == "HEAD" and ("GET", scope["path"]) in self.open
        ):
            headers: dict[str, str] = {}
            for k, v in scope["headers"]:
                name = k.decode("latin-1")
                value = v.decode("latin-1")
                # Repeated fields combine as RFC 9110 section 5.3 says.
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            try:
                kid = await run_in_threadpool(
                    self.verifier.verify, method, target_uri(scope), headers, body
                )
                state[STATE_CALLER] = self.service.caller_for(kid)
            except BmdxError as error:
                await problem_response(error)(scope, receive, send)
                return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        for name, value in scope["headers"]:
            if name.lower() == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_body:
                    raise _BodyTooLargeError
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _BodyTooLargeError
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


# -- operations -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Context:
    """What a handler gets: the checked request."""

    service: NodeService
    request: Request
    caller: Caller | None
    params: Mapping[str, Any]
    document: Any
    media_type: str
    syntax: str | None

    @property
    def caller_required(self) -> Caller:
        if self.caller is None:
            raise ApiError(
                "this operation needs a signed request",
                status=401,
                reason="missing-signature",
                requirement="BMDX-SEC-200",
            )
        return self.caller


@dataclass(slots=True)
class Reply:
    """A handler's answer: a document (rendered per the negotiated type), or text."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Context], Reply]


def _bad_parameter(message: str, name: str) -> ApiError:
    return ApiError(
        message,
        status=400,
        reason="bad-parameter",
        requirement=REQ_PARAMETERS,
        remedy=f"Check the parameter {name} against the interface document.",
    )


def _parameters(op: Operation, request: Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for param in op.parameters:
        if param.location == "path":
            raw: str | None = request.path_params.get(param.name)
        else:
            values = request.query_params.getlist(param.name)
            if len(values) > 1:
                raise _bad_parameter(f"parameter {param.name} is given more than once", param.name)
            raw = values[0] if values else None
        if raw is None:
            if param.required:
                raise _bad_parameter(f"parameter {param.name} is required", param.name)
            continue
        value = param.convert(raw)
        if value is None or not param.validator.is_valid(value):
            raise _bad_parameter(f"parameter {param.name} is not a valid value", param.name)
        out[param.name] = value
    return out


@functools.lru_cache(maxsize=256)
def _best_match(header: str, offered: tuple[str, ...]) -> str | None:
    # Clients send the same few Accept values over and over; parse each once.
    choice = parse_accept_header(header, MIMEAccept).best_match(offered)
    return None if choice is None else str(choice)


def _negotiate(op: Operation, request: Request) -> str:
    offered = list(op.response_media_types) or [JSON]
    header = request.headers.get("accept", "").strip()
    if not header:
        return offered[0]
    choice = _best_match(header, tuple(offered))
    if choice is None:
        raise ApiError(
            f"none of the media types in Accept is available; this operation produces "
            f"{', '.join(offered)}",
            status=406,
            reason="not-acceptable",
            requirement=REQ_NOT_ACCEPTABLE,
        )
    return str(choice)


def _read_document(op: Operation, request: Request, body: bytes) -> tuple[Any, str | None]:
    if not op.request_media_types:
        return None, None
    media, _ = parse_options_header(request.headers.get("content-type", ""))
    media = media.lower()
    if media not in op.request_media_types:
        raise ApiError(
            f"Content-Type {media or '(none)'} is not accepted here; use "
            f"{' or '.join(op.request_media_types)}",
            status=415,
            reason="unsupported-media-type",
            requirement=REQ_MEDIA_TYPE,
        )
    schemas = schema_set()
    if media == XML:
        from bmdx.reference._internal.xmlmap import xml_to_json  # noqa: PLC0415

        document: Any = xml_to_json(body)
        syntax = "xml"
    else:
        document = ijson.loads(body)
        syntax = "json"
    object_type = schemas.object_type_of(document)
    if object_type not in op.request_object_types:
        raise ApiError(
            f"this operation takes {' or '.join(sorted(op.request_object_types))}, "
            f"not {object_type}",
            status=422,
            reason="unexpected-object-type",
            requirement=REQ_SCHEMA,
            pointer="/objectType",
        )
    schemas.validate(document, object_type)
    return document, syntax


def render(reply: Reply, media_type: str) -> Response:
    body = reply.body
    if isinstance(body, bytes | str):
        content = body.encode("utf-8") if isinstance(body, str) else body
    elif media_type == XML:
        from bmdx.reference._internal.xmlmap import json_to_xml  # noqa: PLC0415

        content = json_to_xml(body)
    else:
        content = _json_bytes(body)
    return Response(content, status_code=reply.status, media_type=media_type, headers=reply.headers)


def route(service: NodeService, operation_id: str, handler: Handler) -> Route:
    """The Starlette route serving ``operation_id`` of the interface document with ``handler``."""
    op = operations()[operation_id]

    async def endpoint(request: Request) -> Response:
        try:
            params = _parameters(op, request)
            media_type = _negotiate(op, request)
            body = request.scope.get("state", {}).get(STATE_BODY, b"")
            document, syntax = _read_document(op, request, body)
            caller = request.scope.get("state", {}).get(STATE_CALLER)
            ctx = Context(service, request, caller, params, document, media_type, syntax)
            reply = await run_in_threadpool(handler, ctx)
            return render(reply, media_type)
        except BmdxError as error:
            return problem_response(error)

    endpoint.__name__ = operation_id
    return Route(op.path, endpoint, methods=[op.method], name=operation_id)
