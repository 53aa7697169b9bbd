"""Validating BMDX documents against the spec's JSON Schemas.

All schemas are loaded once into one registry keyed by ``$id``; a document names its
type in ``objectType``.  Each violation is reported with its JSON pointer and the
requirement it breaks: the nearest ``x-requirement`` annotation along the schema's
evaluation path (following ``$ref``), else the root annotation of the object type.

The rules a schema of the subset cannot state are code (``semantic.py``):
:meth:`SchemaSet.validate_document` and :meth:`SchemaSet.document_violations` apply
them once the schema holds.  :meth:`SchemaSet.validate` and
:meth:`SchemaSet.violations` stay schema-only: the XML mapping is defined for every
schema-valid document, and the ledger and consent modules report their own rules with
their own reasons.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import jsonschema_rs

from bmdx.reference._internal.errors import (
    DocumentError,
    RuleViolationError,
    SchemaValidationError,
    SpecError,
    Violation,
)
from bmdx.reference._internal.semantic import rule_violations
from bmdx.reference._internal.specdata import schema_by_id, spec_dir

__all__ = [
    "REQ_OBJECT_TYPE",
    "SchemaSet",
    "schema_set",
    "validate_document",
]

REQ_OBJECT_TYPE = "BMDX-DM-001"


def _any_text(value: str) -> bool:
    return True


def _pointer(parts: Sequence[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _resolve_pointer(document: Any, fragment: str) -> Any:
    node = document
    if not fragment:
        return node
    for raw in fragment.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


class SchemaSet:
    """The spec's schemas, compiled once; validates documents of any object type."""

    def __init__(self, schemas: Mapping[str, dict[str, Any]]) -> None:
        self._by_id = dict(schemas)
        try:
            self._registry = jsonschema_rs.Registry(list(self._by_id.items()))
        except (ValueError, jsonschema_rs.ReferencingError) as e:
            raise SpecError(f"the schemas do not resolve: {e}", reason="dangling-ref") from e
        self._types: dict[str, dict[str, Any]] = {}
        for schema in self._by_id.values():
            name = schema.get("x-object")
            if isinstance(name, str):
                self._types[name] = schema
        self._validators: dict[str, Any] = {}

    @property
    def object_types(self) -> list[str]:
        return sorted(self._types)

    def schema_for(self, object_type: str) -> dict[str, Any]:
        try:
            return self._types[object_type]
        except KeyError:
            raise DocumentError(
                f"unknown objectType {object_type!r}",
                requirement=REQ_OBJECT_TYPE,
                reason="unknown-object-type",
                pointer="/objectType",
                remedy=f"Use one of: {', '.join(self.object_types)}.",
            ) from None

    def validator_for(self, object_type: str) -> Any:
        validator = self._validators.get(object_type)
        if validator is None:
            schema = self.schema_for(object_type)
            try:
                validator = jsonschema_rs.validator_for(
                    schema,
                    registry=self._registry,
                    offline=True,
                    # date-time and date are assertions: a timestamp must name a real
                    # instant (no 30 February).  A uri is already bounded by its pattern.
                    validate_formats=True,
                    formats={"uri": _any_text},
                )
            except (ValueError, jsonschema_rs.ReferencingError) as e:
                raise SpecError(
                    f"schema of {object_type} does not compile: {e}", reason="schema-compile"
                ) from e
            self._validators[object_type] = validator
        return validator

    def object_type_of(self, document: Any) -> str:
        if not isinstance(document, dict):
            raise DocumentError(
                "a BMDX document is a JSON object",
                requirement=REQ_OBJECT_TYPE,
                reason="not-an-object",
                pointer="",
            )
        object_type = document.get("objectType")
        if not isinstance(object_type, str):
            raise DocumentError(
                "document has no objectType member",
                requirement=REQ_OBJECT_TYPE,
                reason="missing-object-type",
                pointer="/objectType",
            )
        self.schema_for(object_type)
        return object_type

    def is_valid(self, document: Any) -> bool:
        try:
            object_type = self.object_type_of(document)
        except DocumentError:
            return False
        return bool(self.validator_for(object_type).is_valid(document))

    def violations(self, document: Any, object_type: str | None = None) -> list[Violation]:
        """Every schema violation of ``document`` (empty when valid)."""
        object_type = object_type or self.object_type_of(document)
        root = self.schema_for(object_type)
        errors = self.validator_for(object_type).iter_errors(document)
        out = [
            Violation(
                pointer=_pointer(list(e.instance_path)),
                message=e.message,
                requirement=self._requirement_for(root, list(e.evaluation_path)),
            )
            for e in errors
        ]
        out.sort(key=lambda v: (v.pointer, v.requirement, v.message))
        return out

    def validate(self, document: Any, object_type: str | None = None) -> str:
        """Raise :class:`SchemaValidationError` unless valid; return the object type."""
        object_type = object_type or self.object_type_of(document)
        found = self.violations(document, object_type)
        if found:
            raise SchemaValidationError(found, object_type=object_type)
        return object_type

    def document_violations(self, document: Any, object_type: str | None = None) -> list[Violation]:
        """The schema violations of ``document``; when there are none, the violations of
        the data-model rules checked by code (``semantic.py``).  Empty when valid."""
        object_type = object_type or self.object_type_of(document)
        if not self.validator_for(object_type).is_valid(document):
            return self.violations(document, object_type)
        return rule_violations(document)

    def validate_document(self, document: Any, object_type: str | None = None) -> str:
        """:meth:`validate`, then the rules checked by code: raise
        :class:`RuleViolationError` when one breaks; return the object type."""
        object_type = self.validate(document, object_type)
        found = rule_violations(document)
        if found:
            raise RuleViolationError(found, object_type=object_type)
        return object_type

    def _requirement_for(self, root: dict[str, Any], path: list[str]) -> str:
        requirement = str(root.get("x-requirement", REQ_OBJECT_TYPE))
        base = str(root["$id"])
        node: Any = root
        for segment in path:
            if isinstance(node, dict) and isinstance(node.get("x-requirement"), str):
                requirement = node["x-requirement"]
            try:
                if segment == "$ref" and isinstance(node, dict):
                    target = urljoin(base, node["$ref"])
                    base, fragment = urldefrag(target)
                    node = _resolve_pointer(self._by_id[base], fragment)
                elif isinstance(node, list):
                    node = node[int(segment)]
                else:
                    node = node[segment]
            except (KeyError, IndexError, ValueError, TypeError):
                break
        if isinstance(node, dict) and isinstance(node.get("x-requirement"), str):
            requirement = node["x-requirement"]
        return requirement


@functools.cache
def _schema_set(root: Path) -> SchemaSet:
    return SchemaSet(schema_by_id(root))


def schema_set(root: Path | None = None) -> SchemaSet:
    """The compiled schemas of the spec at ``root`` (default: the installed spec)."""
    return _schema_set(root or spec_dir())


def validate_document(document: Any, *, root: Path | None = None) -> str:
    """Validate a parsed JSON document in full (schema, then the rules checked by
    code); return its object type."""
    return schema_set(root).validate_document(document)
