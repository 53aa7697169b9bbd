"""Reading the spec's vectors and examples, for parametrising the conformance tests.

Each loader returns ``(case id, case)`` pairs in a stable order; a directory or file
that yields nothing is an error at collection, never a silently empty test (a run that
executes zero vectors fails).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bmdx.conformance._internal.specdata import load_yaml, spec_dir

__all__ = [
    "Example",
    "b64",
    "cases",
    "invalid_examples",
    "unb64",
    "valid_examples",
    "vector_json",
]


def b64(data: bytes) -> str:
    """Canonical unpadded base64url, as the adapter protocol carries bytes."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def vector_json(*parts: str) -> Any:
    path = spec_dir().joinpath("vectors", *parts)
    return json.loads(path.read_bytes())


def cases(items: list[tuple[str, Any]], what: str) -> list[Any]:
    """``pytest.param`` per item, ids from the case names; none at all is an error."""
    if not items:
        raise RuntimeError(f"no {what} found in the spec: zero vectors would run")
    return [pytest.param(case, id=name) for name, case in items]


@dataclass(frozen=True)
class Example:
    path: Path
    object_dir: str
    requirement: str | None

    @property
    def syntax(self) -> str:
        return "xml" if self.path.suffix == ".xml" else "json"


def _examples(kind: str) -> Iterator[Path]:
    base = spec_dir() / "examples" / kind
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        for path in sorted(folder.iterdir()):
            if path.suffix in {".json", ".xml"}:
                yield path


def valid_examples(syntax: str | None = None) -> list[tuple[str, Example]]:
    out = []
    for path in _examples("valid"):
        example = Example(path, path.parent.name, None)
        if syntax is None or example.syntax == syntax:
            out.append((f"{path.parent.name}/{path.name}", example))
    return out


def invalid_examples() -> list[tuple[str, Example]]:
    out = []
    base = spec_dir() / "examples" / "invalid"
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        expected = load_yaml(folder / "expected.yaml") or {}
        for name, requirement in sorted(expected.items()):
            path = folder / name
            out.append((f"{folder.name}/{name}", Example(path, folder.name, str(requirement))))
    return out
