"""Reading the files a vendor hands the suite: strict, schema-checked, typed errors.

Claims and expected-failures lists may be JSON, YAML or TOML (by extension); a target
config is TOML.  Every one is validated against its schema in ``spec/conformance/``
before anything reads a field of it.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import yaml

from bmdx.conformance._internal.errors import InputFileError
from bmdx.conformance._internal.specdata import schema_violations

__all__ = ["load_checked", "strict_json_loads"]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InputFileError(f"member {key!r} appears twice", reason="duplicate-key")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise InputFileError(f"{name} is not a JSON number", reason="syntax")


def strict_json_loads(data: bytes | str) -> Any:
    """JSON with duplicate members and NaN/Infinity refused (I-JSON's two traps for config)."""
    try:
        return json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except ValueError as e:
        raise InputFileError(f"not valid JSON: {e}", reason="syntax") from e


class _UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise InputFileError(f"key {key!r} appears twice", reason="duplicate-key")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _parse(path: Path, raw: bytes) -> Any:
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return strict_json_loads(raw)
        if suffix in {".yaml", ".yml"}:
            return yaml.load(raw, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
        if suffix == ".toml":
            return tomllib.loads(raw.decode("utf-8"))
    except (yaml.YAMLError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputFileError(f"{path}: not valid {suffix[1:].upper()}: {e}", reason="syntax") from e
    raise InputFileError(
        f"{path}: unknown file type {suffix or '(none)'}",
        reason="unknown-format",
        remedy="Use a .json, .yaml or .toml file.",
    )


def load_checked(path: Path, schema: str) -> Any:
    """The content of ``path``, valid against ``spec/conformance/<schema>.schema.json``."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputFileError(f"cannot read {path}: {e.strerror}", reason="unreadable") from e
    try:
        data = _parse(path, raw)
    except InputFileError as e:
        if e.reason == "unknown-format":
            raise
        raise InputFileError(f"{path}: {e.message}", reason=e.reason) from e
    violations = schema_violations(schema, data)
    if violations:
        raise InputFileError(
            f"{path} is not a valid {schema} file",
            reason="schema",
            violations=violations,
            remedy=f"See spec/conformance/{schema}.schema.json and spec/conformance/README.md.",
        )
    return data
