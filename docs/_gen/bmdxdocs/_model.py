"""The spec as the documentation sees it: read from spec/ and the suite, never restated.

Everything here tolerates files that do not exist yet (no conformance suite, no OpenAPI
document, no kill matrix): the pages then say so, and fill themselves when the files
appear.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bmdx.reference._internal.catalogue import statement_hash

REQ_ID = re.compile(r"\bBMDX-[A-Z]{2,5}-[0-9]{3}\b")


def load_yaml(path: Path) -> Any:
    with path.open("rb") as fh:
        return yaml.safe_load(fh)


@dataclass(frozen=True)
class CoveringTest:
    """A conformance test that cites a requirement, and whether its pin is current."""

    node: str
    pinned_hash: str | None
    current: bool


@dataclass(frozen=True)
class KillVariant:
    """A deliberately broken implementation that the suite must reject on these ids."""

    name: str
    description: str
    requirements: tuple[str, ...]
    target: str = ""
    expected: tuple[str, ...] = ()
    pins: tuple[str, ...] = ()  # as recorded: ``ID:hash`` or a bare id


@dataclass
class Requirement:
    id: str
    level: str
    profile: str
    statement: str
    rationale: str
    source: str
    hash: str
    area: str
    not_testable: str | None = None
    objects: tuple[str, ...] = ()
    see: tuple[str, ...] = ()
    tests: list[CoveringTest] = field(default_factory=list)
    variants: list[KillVariant] = field(default_factory=list)


@dataclass(frozen=True)
class Area:
    code: str
    title: str
    description: str
    file: str


@dataclass
class Catalogue:
    areas: list[Area]
    requirements: dict[str, Requirement]
    profiles: list[str]

    def in_area(self, code: str) -> list[Requirement]:
        return [r for r in self.requirements.values() if r.area == code]

    def in_profile(self, profile: str) -> list[Requirement]:
        return [r for r in self.requirements.values() if r.profile == profile]


def load_catalogue(spec_root: Path) -> Catalogue:
    """Read spec/requirements/*.yaml (in file name order) and the profile list."""
    areas: list[Area] = []
    reqs: dict[str, Requirement] = {}
    req_dir = spec_root / "requirements"
    for path in sorted(req_dir.glob("*.yaml")):
        data = load_yaml(path) or {}
        code = str(data.get("area", path.stem.upper()))
        areas.append(
            Area(code, str(data.get("title", code)), str(data.get("description", "")), path.name)
        )
        for item in data.get("requirements") or ():
            if not (isinstance(item, dict) and isinstance(item.get("id"), str)):
                continue  # a half-edited entry: bmdx spec lint reports it
            rid = item["id"]
            reqs[rid] = Requirement(
                id=rid,
                level=str(item.get("level", "")),
                profile=str(item.get("profile", "")),
                statement=str(item.get("statement", "")),
                rationale=str(item.get("rationale", "")),
                source=str(item.get("source", "")),
                hash=str(item.get("hash", "")),
                area=code,
                not_testable=item.get("not_testable"),
                objects=tuple(item.get("objects") or ()),
                see=tuple(item.get("see") or ()),
            )
    profiles: list[str] = []
    meta = req_dir / "catalogue.schema.json"
    if meta.is_file():
        schema = json.loads(meta.read_bytes())
        enum = (
            schema.get("properties", {})
            .get("requirements", {})
            .get("items", {})
            .get("properties", {})
            .get("profile", {})
            .get("enum", [])
        )
        profiles.extend(str(p) for p in enum)
    for r in reqs.values():
        if r.profile and r.profile not in profiles:
            profiles.append(r.profile)
    return Catalogue(areas, reqs, profiles)


# --------------------------------------------------------------------------- the suite


def _marker_pins(decorators: list[ast.expr]) -> list[str]:
    pins: list[str] = []
    for deco in decorators:
        if not isinstance(deco, ast.Call):
            continue
        target = ast.unparse(deco.func)
        if target.endswith("mark.requirement"):
            pins.extend(
                a.value
                for a in deco.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            )
    return pins


def _module_pins(tree: ast.Module) -> list[str]:
    pins: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            values = (
                node.value.elts if isinstance(node.value, ast.List | ast.Tuple) else [node.value]
            )
            pins.extend(_marker_pins(list(values)))
    return pins


def scan_conformance_tests(suite_dir: Path) -> dict[str, list[tuple[str, str | None]]]:
    """requirement id -> [(pytest node id, pinned hash)], from ``requirement`` markers."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    if not suite_dir.is_dir():
        return found
    base = suite_dir.parent
    for path in sorted(suite_dir.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        rel = path.relative_to(base).as_posix()
        module_pins = _module_pins(tree)

        def visit(body: list[ast.stmt], prefix: str, inherited: list[str], rel: str = rel) -> None:
            for node in body:
                if isinstance(node, ast.ClassDef):
                    visit(
                        node.body,
                        f"{prefix}::{node.name}",
                        inherited + _marker_pins(node.decorator_list),
                    )
                elif isinstance(
                    node, ast.FunctionDef | ast.AsyncFunctionDef
                ) and node.name.startswith("test"):
                    for pin in inherited + _marker_pins(node.decorator_list):
                        rid, _, pinned = pin.partition(":")
                        found.setdefault(rid, []).append(
                            (f"{rel}{prefix}::{node.name}", pinned or None)
                        )

        visit(tree.body, "", module_pins)
    return found


def kill_matrix_files(suite_dir: Path) -> list[Path]:
    if not suite_dir.is_dir():
        return []
    return sorted(
        p
        for pattern in ("kill-matrix.yaml", "kill-matrix.yml", "kill-matrix.json")
        for p in suite_dir.rglob(pattern)
    )


def load_kill_matrix(suite_dir: Path) -> list[KillVariant]:
    """The suite's self-test variants, from ``kill-matrix.yaml`` or ``.json`` in the suite.

    Each variant names the requirement ids the suite must fail it on (``requirements``,
    or ``kills``).
    """
    out: list[KillVariant] = []
    for path in kill_matrix_files(suite_dir):
        data = load_yaml(path) if path.suffix != ".json" else json.loads(path.read_bytes())
        items = data.get("variants", []) if isinstance(data, dict) else data
        for item in items or ():
            if not isinstance(item, dict):
                continue
            ids = item.get("requirements") or item.get("kills") or ()
            out.append(
                KillVariant(
                    name=str(item.get("name") or item.get("id") or "?"),
                    description=" ".join(str(item.get("description", "")).split()),
                    requirements=tuple(str(i).partition(":")[0] for i in ids),
                    target=str(item.get("target", "")),
                    expected=tuple(str(i) for i in item.get("expected") or ()),
                    pins=tuple(str(i) for i in ids),
                )
            )
    return out


def attach_suite(catalogue: Catalogue, repo_root: Path | None) -> None:
    """Fill each requirement's covering tests and kill-matrix variants."""
    if repo_root is None:
        return
    suite = repo_root / "conformance"
    for rid, nodes in scan_conformance_tests(suite).items():
        req = catalogue.requirements.get(rid)
        if req is None:
            continue
        current = statement_hash(req.statement)
        for node, pinned in nodes:
            req.tests.append(CoveringTest(node, pinned, pinned is None or pinned == current))
    for variant in load_kill_matrix(suite):
        for rid in variant.requirements:
            if rid in catalogue.requirements:
                catalogue.requirements[rid].variants.append(variant)


# --------------------------------------------------------------------------- schemas


@dataclass(frozen=True)
class SchemaDoc:
    """One JSON Schema file and the page it gets."""

    file: str
    stem: str
    schema: dict[str, Any]

    @property
    def object_type(self) -> str | None:
        name = self.schema.get("x-object")
        return name if isinstance(name, str) else None

    @property
    def title(self) -> str:
        return self.object_type or str(self.schema.get("title") or self.stem)


def load_schemas(spec_root: Path) -> list[SchemaDoc]:
    out: list[SchemaDoc] = []
    for path in sorted((spec_root / "schemas" / "json").glob("*.json")):
        schema = json.loads(path.read_bytes())
        if isinstance(schema, dict):
            out.append(SchemaDoc(path.name, path.stem, schema))
    return out


def requirement_annotations(node: Any) -> list[str]:
    """Every ``x-requirement`` id in a schema, in document order, each once."""
    seen: list[str] = []

    def walk(n: Any) -> None:
        if isinstance(n, dict):
            rid = n.get("x-requirement")
            if isinstance(rid, str) and rid not in seen:
                seen.append(rid)
            for v in n.values():
                walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)

    walk(node)
    return seen
