"""The spec as the suite reads it: located once, its files validated at the boundary.

The suite finds the spec the way an installed tool must, as the package data
``bmdx.spec`` (``BMDX_SPEC_DIR`` points it at another copy), and never through the
reference implementation.  The suite's own file formats (target config, claim,
expected failures, report, certificate) are JSON Schemas in ``spec/conformance/``,
addressed by ``$id`` in one registry.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from bmdx.conformance._internal.errors import SpecDataError

__all__ = [
    "CONFORMANCE_SCHEMA_BASE",
    "load_yaml",
    "schema_violations",
    "spec_dir",
    "spec_version",
]

CONFORMANCE_SCHEMA_BASE = "https://bmdx.org/spec/1/conformance/"


def spec_dir() -> Path:
    """The spec directory this run certifies against."""
    override = os.environ.get("BMDX_SPEC_DIR")
    if override:
        return Path(override).resolve()
    return _installed_spec_dir()


@functools.cache
def _installed_spec_dir() -> Path:
    found = importlib.util.find_spec("bmdx.spec")
    locations = list(found.submodule_search_locations or []) if found else []
    if not locations:
        raise SpecDataError(
            "the spec data (bmdx/spec) is not installed",
            reason="spec-missing",
            remedy="Reinstall bmdx, or set BMDX_SPEC_DIR to a spec/ directory.",
        )
    return Path(locations[0]).resolve()


def load_yaml(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            return yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as e:
        raise SpecDataError(f"cannot read {path}: {e}", reason="spec-unreadable") from e


def spec_version(root: Path | None = None) -> str:
    """The version of the spec: ``spec/VERSION`` when present, else the security profile's."""
    base = root or spec_dir()
    version_file = base / "VERSION"
    if version_file.is_file():
        return version_file.read_text(encoding="utf-8").strip()
    profile = load_yaml(base / "security" / "profile.yaml")
    if not isinstance(profile, dict) or not isinstance(profile.get("version"), str):
        raise SpecDataError("spec/security/profile.yaml has no version", reason="spec-version")
    return str(profile["version"])


@functools.cache
def _validators(root: Path) -> dict[str, Draft202012Validator]:
    resources: list[tuple[str, Resource[Any]]] = []
    schemas: dict[str, dict[str, Any]] = {}
    for path in sorted((root / "conformance").glob("*.schema.json")):
        try:
            schema = json.loads(path.read_bytes())
        except (OSError, ValueError) as e:
            raise SpecDataError(f"cannot read {path.name}: {e}", reason="spec-unreadable") from e
        sid = schema.get("$id") if isinstance(schema, dict) else None
        if not isinstance(sid, str) or not sid.startswith(CONFORMANCE_SCHEMA_BASE):
            raise SpecDataError(f"{path.name} has no conformance $id", reason="schema-id")
        Draft202012Validator.check_schema(schema)
        schemas[sid] = schema
        resources.append((sid, Resource.from_contents(schema)))
    registry: Registry[Any] = Registry().with_resources(resources)
    return {
        sid.removeprefix(CONFORMANCE_SCHEMA_BASE).removesuffix(
            ".schema.json"
        ): Draft202012Validator(
            schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        for sid, schema in schemas.items()
    }


def schema_violations(name: str, instance: Any, root: Path | None = None) -> list[str]:
    """Every violation of ``spec/conformance/<name>.schema.json`` by ``instance``, as text."""
    validators = _validators(root or spec_dir())
    validator = validators.get(name)
    if validator is None:
        raise SpecDataError(
            f"spec/conformance/{name}.schema.json is missing", reason="schema-missing"
        )
    out = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        out.append(f"{where}: {error.message}")
    return out
