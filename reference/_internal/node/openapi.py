"""The operations of ``spec/api/openapi.yaml``, as the node enforces them.

The interface document is the single source of truth for what the node serves: a
route exists only for an ``operationId`` of the document, and its path, method,
parameters (names, where, required, schema), accepted request media types and object
types, and produced media types are read from there, never restated in code.  A
handler therefore receives parameters already checked against their schemas and a
body already parsed and schema-valid.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urldefrag

import jsonschema_rs

from bmdx.reference._internal.errors import SpecError
from bmdx.reference._internal.specdata import SCHEMA_BASE, load_yaml, schema_by_id, spec_dir

__all__ = ["Operation", "Parameter", "operations", "response_validator"]

_METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True, slots=True)
class Parameter:
    """One path or query parameter and the schema its (string) value must meet."""

    name: str
    location: str
    required: bool
    kind: str
    validator: Any

    def convert(self, raw: str) -> Any:
        """The typed value of ``raw``, or ``None`` when it cannot be one."""
        if self.kind == "integer":
            if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 20:
                return None
            return int(raw)
        if self.kind == "boolean":
            return {"true": True, "false": False}.get(raw)
        return raw


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation: where it lives and what it takes and gives."""

    operation_id: str
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    request_media_types: tuple[str, ...]
    request_object_types: frozenset[str]
    response_media_types: tuple[str, ...]
    requirements: tuple[str, ...]
    authenticated: bool


def _local_ref(document: Mapping[str, Any], ref: str) -> Any:
    node: Any = document
    for token in ref.removeprefix("#/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def _absolute(ref: str) -> str:
    """A ``../schemas/json/x.json#/frag`` reference as the schema's ``$id`` URL."""
    target, fragment = urldefrag(ref)
    name = PurePosixPath(target).name
    return SCHEMA_BASE + name + (f"#{fragment}" if fragment else "")


def _rebase(schema: Any, document: Mapping[str, Any]) -> Any:
    """``schema`` with OpenAPI-relative references made absolute (or inlined when local)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref.startswith("#/"):
                return _rebase(_local_ref(document, ref), document)
            return {"$ref": _absolute(ref)}
        return {k: _rebase(v, document) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_rebase(v, document) for v in schema]
    return schema


def _kind(schema: Mapping[str, Any], by_id: Mapping[str, dict[str, Any]]) -> str:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        base, fragment = urldefrag(ref)
        node: Any = by_id[base]
        for token in fragment.lstrip("/").split("/") if fragment else []:
            node = node[token]
        return _kind(node, by_id)
    kind = schema.get("type", "string")
    return kind if isinstance(kind, str) else "string"


def _object_types(schema: Any, by_id: Mapping[str, dict[str, Any]]) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    found: set[str] = set()
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = by_id.get(urldefrag(ref)[0])
        if target is not None and isinstance(target.get("x-object"), str):
            found.add(target["x-object"])
    for alternative in schema.get("oneOf", []):
        found |= _object_types(alternative, by_id)
    return found


def _parameter(
    spec: Mapping[str, Any], document: Mapping[str, Any], registry: Any, by_id: Any
) -> Parameter:
    if "$ref" in spec:
        spec = _local_ref(document, spec["$ref"])
    schema = _rebase(spec["schema"], document)
    try:
        # Formats are assertions here: a parameter such as from=2026-02-30T00:00:00Z
        # matches the timestamp pattern but names no instant (BMDX-API-014).
        validator = jsonschema_rs.validator_for(
            schema, registry=registry, offline=True, validate_formats=True
        )
    except (ValueError, jsonschema_rs.ReferencingError) as e:
        raise SpecError(
            f"parameter {spec['name']} of the interface does not compile: {e}",
            reason="openapi",
        ) from e
    return Parameter(
        name=spec["name"],
        location=spec["in"],
        required=bool(spec.get("required", False)),
        kind=_kind(schema, by_id),
        validator=validator,
    )


def _success_media_types(responses: Mapping[str, Any], document: Mapping[str, Any]) -> list[str]:
    for status in sorted(responses):
        if status.startswith("2"):
            response = responses[status]
            if "$ref" in response:
                response = _local_ref(document, response["$ref"])
            return list(response.get("content", {}))
    return []


@functools.cache
def _load(root: Path) -> dict[str, Operation]:
    document = load_yaml(root / "api" / "openapi.yaml")
    by_id = schema_by_id(root)
    registry = jsonschema_rs.Registry(list(by_id.items()))
    default_security = document.get("security", [])
    out: dict[str, Operation] = {}
    for path, item in document.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            parameters = tuple(
                _parameter(p, document, registry, by_id)
                for p in [*shared, *op.get("parameters", [])]
            )
            body = op.get("requestBody", {}).get("content", {})
            object_types: set[str] = set()
            for media in body.values():
                object_types |= _object_types(_rebase(media.get("schema", {}), document), by_id)
            security = op.get("security", default_security)
            out[op["operationId"]] = Operation(
                operation_id=op["operationId"],
                method=method.upper(),
                path=path,
                parameters=parameters,
                request_media_types=tuple(body),
                request_object_types=frozenset(object_types),
                response_media_types=tuple(_success_media_types(op["responses"], document)),
                requirements=tuple(op.get("x-requirements", [])),
                authenticated=bool(security),
            )
    return out


def operations(root: Path | None = None) -> Mapping[str, Operation]:
    """Every operation of the interface document, by ``operationId``."""
    return _load(root or spec_dir())


@functools.cache
def _response_validator(root: Path, operation_id: str, status: str, media_type: str) -> Any:
    document = load_yaml(root / "api" / "openapi.yaml")
    by_id = schema_by_id(root)
    for item in document.get("paths", {}).values():
        for method in _METHODS:
            op = item.get(method)
            if op is None or op.get("operationId") != operation_id:
                continue
            response = op["responses"].get(status)
            if response is None:
                return None
            if "$ref" in response:
                response = _local_ref(document, response["$ref"])
            media = response.get("content", {}).get(media_type)
            if media is None or "schema" not in media:
                return None
            registry = jsonschema_rs.Registry(list(by_id.items()))
            return jsonschema_rs.validator_for(
                _rebase(media["schema"], document),
                registry=registry,
                offline=True,
                validate_formats=False,
            )
    return None


def response_validator(
    operation_id: str, status: int, media_type: str, *, root: Path | None = None
) -> Any:
    """A validator of the body the interface document declares for this response, or
    ``None`` when it declares no such status or media type (or no schema for it)."""
    return _response_validator(root or spec_dir(), operation_id, str(status), media_type)
