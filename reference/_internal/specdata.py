"""The spec as package data: located once, loaded once, addressed by ``$id``.

``spec/`` ships inside the distribution as ``bmdx/spec``; an editable checkout reaches
the same files through ``src/bmdx/spec``.  ``BMDX_SPEC_DIR`` points the tools at another
copy of the spec (a committee's working tree, or an older release for ``spec diff``).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from bmdx.reference._internal.errors import SpecError

__all__ = [
    "SCHEMA_BASE",
    "XML_NAMESPACE",
    "load_yaml",
    "object_schemas",
    "schema_by_id",
    "spec_dir",
]

SCHEMA_BASE = "https://bmdx.org/spec/1/schemas/"
XML_NAMESPACE = "urn:bmdx:1"


# Every signature verification asks for the spec directory (through the profile and
# its limits), and ``os.environ.get`` of an unset name costs about a microsecond (it
# raises and catches KeyError).  CPython's ``os.environ`` keeps its data in a plain dict
# under encoded keys; reading that dict directly still sees every change made through
# ``os.environ`` (tests set BMDX_SPEC_DIR that way).  Elsewhere the plain lookup is used.
_ENV_DATA: Any = getattr(os.environ, "_data", None)
_ENV_KEY: Any = os.environ.encodekey("BMDX_SPEC_DIR") if hasattr(os.environ, "encodekey") else None


def _spec_dir_override() -> str | None:
    if isinstance(_ENV_DATA, dict) and _ENV_KEY is not None:
        raw = _ENV_DATA.get(_ENV_KEY)
        return None if raw is None else os.environ.decodevalue(raw)
    return os.environ.get("BMDX_SPEC_DIR")


def spec_dir() -> Path:
    """The directory holding the spec data this process works with."""
    override = _spec_dir_override()
    if override:
        return _resolved(override)
    return _installed_spec_dir()


@functools.cache
def _resolved(path: str) -> Path:
    # Hot paths (every decryption, every signed request) ask for the spec directory;
    # resolving it costs a filesystem walk, so it is done once per distinct setting.
    return Path(path).resolve()


@functools.cache
def _installed_spec_dir() -> Path:
    found = importlib.util.find_spec("bmdx.spec")
    locations = list(found.submodule_search_locations or []) if found else []
    if not locations:
        raise SpecError(
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
        raise SpecError(f"cannot read {path}: {e}", reason="spec-unreadable") from e


def _json_schema_files(root: Path) -> Iterator[Path]:
    yield from sorted((root / "schemas" / "json").glob("*.json"))


@functools.cache
def _schemas(root: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in _json_schema_files(root):
        try:
            schema = json.loads(path.read_bytes())
        except (OSError, ValueError) as e:
            raise SpecError(f"cannot read schema {path.name}: {e}", reason="spec-unreadable") from e
        sid = schema.get("$id") if isinstance(schema, dict) else None
        if not isinstance(sid, str):
            raise SpecError(f"schema {path.name} has no $id", reason="schema-id")
        out[sid] = schema
    return out


def schema_by_id(root: Path | None = None) -> Mapping[str, dict[str, Any]]:
    """Every JSON Schema of the spec, keyed by ``$id``."""
    return _schemas(root or spec_dir())


def object_schemas(root: Path | None = None) -> dict[str, dict[str, Any]]:
    """The schemas of top-level object types, keyed by ``objectType`` (= XML root)."""
    out: dict[str, dict[str, Any]] = {}
    for schema in schema_by_id(root).values():
        name = schema.get("x-object")
        if isinstance(name, str):
            out[name] = schema
    return out
