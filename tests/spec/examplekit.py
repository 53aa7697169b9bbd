"""The example corpus as pytest parameters, shared by the object-model tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bmdx.reference._internal.specdata import spec_dir

SPEC = spec_dir()


def valid_files(stems: Iterable[str]) -> list[Any]:
    """Every valid JSON example of ``stems``, one parameter each."""
    return [
        pytest.param(path, id=f"{stem}/{path.stem}")
        for stem in stems
        for path in sorted((SPEC / "examples" / "valid" / stem).glob("*.json"))
    ]


def invalid_cases(stems: Iterable[str]) -> list[Any]:
    """Every invalid JSON example of ``stems`` with the requirement it is labelled with."""
    out = []
    for stem in stems:
        directory = SPEC / "examples" / "invalid" / stem
        expected = yaml.safe_load((directory / "expected.yaml").read_text(encoding="utf-8"))
        for name, requirement in sorted(expected.items()):
            if not name.endswith(".json"):
                continue  # XML counterparts are checked by tests/xml and bmdx spec lint
            out.append(
                pytest.param(
                    directory / name,
                    requirement,
                    id=f"{stem}/{Path(name).stem}",
                    marks=pytest.mark.requirement(requirement),
                )
            )
    return out


def x_requirements(node: Any) -> set[str]:
    """Every ``x-requirement`` annotation in a schema (or part of one)."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("x-requirement"), str):
            found.add(node["x-requirement"])
        for value in node.values():
            found |= x_requirements(value)
    elif isinstance(node, list):
        for value in node:
            found |= x_requirements(value)
    return found


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def load_catalogue(path: Path) -> dict[str, dict[str, Any]]:
    """The requirements of one catalogue file, by id."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {r["id"]: r for r in data["requirements"]}
