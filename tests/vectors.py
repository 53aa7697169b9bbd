"""The one way tests read the normative vectors of spec/vectors/.

Each vector set is a folder with a README and a generator under tools/vectors/ whose
``build()`` returns ``{relative path: bytes}``.  :func:`load` reads a file of a set
(counting a set with no vectors as a failure), and :func:`assert_regenerates` checks
that the committed files are exactly what the generator writes today.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.thirdparty import REPO_ROOT, require_vectors

VECTORS = REPO_ROOT / "spec" / "vectors"


def vector_dir(name: str) -> Path:
    return VECTORS / name


def load(name: str, file: str) -> Any:
    """A JSON file of a vector set; a list or mapping with no entries fails the run."""
    value = json.loads((vector_dir(name) / file).read_bytes())
    if isinstance(value, list | dict):
        require_vectors(len(value), f"{name}/{file}")
    return value


def assert_regenerates(name: str, build: Callable[[], dict[str, bytes]]) -> None:
    """The committed files of a set equal a fresh generation, file for file."""
    fresh = build()
    assert (vector_dir(name) / "README.md").is_file(), f"vector set {name} has no README"
    for rel, data in fresh.items():
        path = vector_dir(name) / rel
        assert path.is_file(), f"{name}/{rel} is generated but not committed"
        assert path.read_bytes() == data, f"{name}/{rel} differs from the generator's output"
    committed = {
        p.relative_to(vector_dir(name)).as_posix()
        for p in vector_dir(name).rglob("*")
        if p.is_file() and p.name != "README.md"
    }
    assert committed == set(fresh), f"{name}: files not written by the generator"
