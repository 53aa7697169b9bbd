"""BMDX objects against the spec's JSON Schemas, by the suite's own validation path.

The schemas of ``spec/schemas/json`` are loaded once into one jsonschema-rs registry,
addressed by ``$id``; the schema of a document is the one whose ``x-object`` is the
document's ``objectType``.  Nothing here comes from the reference implementation.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema_rs

from bmdx.conformance._internal.specdata import spec_dir

__all__ = ["schema_path", "violations"]


@functools.cache
def _files(root: Path) -> dict[str, Path]:
    """The schema file of each object type (its ``x-object``)."""
    found = {}
    for path in sorted((root / "schemas" / "json").glob("*.json")):
        schema = json.loads(path.read_bytes())
        if isinstance(schema.get("x-object"), str):
            found[schema["x-object"]] = path
    return found


@functools.cache
def _schemas(root: Path) -> tuple[Any, dict[str, str]]:
    resources: list[tuple[str, Any]] = []
    by_object: dict[str, str] = {}
    for path in sorted((root / "schemas" / "json").glob("*.json")):
        schema = json.loads(path.read_bytes())
        resources.append((schema["$id"], schema))
        if isinstance(schema.get("x-object"), str):
            by_object[schema["x-object"]] = schema["$id"]
    return jsonschema_rs.Registry(resources), by_object


def schema_path(object_type: str, root: Path | None = None) -> Path | None:
    """The JSON Schema file of ``object_type``, or ``None`` when the spec has none."""
    return _files(root or spec_dir()).get(object_type)


@functools.cache
def _validator(root: Path, schema_id: str) -> Any:
    registry, _ = _schemas(root)
    return jsonschema_rs.validator_for(
        {"$ref": schema_id}, registry=registry, offline=True, validate_formats=True
    )


def violations(
    instance: Any, object_type: str | None = None, root: Path | None = None
) -> list[str]:
    """Every violation of its object type's schema by ``instance``, as ``pointer: message``.

    ``object_type`` defaults to the instance's own ``objectType``; an instance that names
    no known type is one violation.
    """
    base = root or spec_dir()
    _, by_object = _schemas(base)
    wanted = object_type
    if wanted is None:
        wanted = instance.get("objectType") if isinstance(instance, dict) else None
    if not isinstance(wanted, str) or wanted not in by_object:
        return [f"/objectType: {wanted!r} is not an object type of the specification"]
    out = []
    for error in _validator(base, by_object[wanted]).iter_errors(instance):
        where = "".join(f"/{p}" for p in error.instance_path) or "/"
        out.append(f"{where}: {error.message}")
    return out
