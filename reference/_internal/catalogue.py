"""The requirement catalogue (``spec/requirements/*.yaml``) and the tests that pin it.

Every requirement carries ``hash``: the first 16 hex digits of SHA-256 over its statement
with whitespace runs collapsed and trimmed.  Conformance tests cite requirements as
``@pytest.mark.requirement("BMDX-FMT-003:<hash16>")``; when a statement is edited, its
hash changes and every test pinned to the old hash shows up as stale, so a changed
requirement cannot silently keep its old tests.

The catalogue is read leniently (a half-edited file still yields what it can) because
its consumer is ``bmdx spec lint``, which reports every problem at once.  Conformance
files are parsed with :mod:`ast`, never imported: linting must not run the suite's code.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bmdx.reference._internal.errors import SpecError

__all__ = [
    "ID_PATTERN",
    "MUST_LEVELS",
    "Catalogue",
    "CatalogueFile",
    "IdLiteral",
    "Marker",
    "Requirement",
    "load_catalogue",
    "rehash_file",
    "scan_id_literals",
    "scan_markers",
    "statement_hash",
]

ID_PATTERN = re.compile(r"BMDX-[A-Z]{2,5}-[0-9]{3}")
_FULL_ID = re.compile(rf"^{ID_PATTERN.pattern}$")
_PIN = re.compile(rf"^(?P<id>{ID_PATTERN.pattern}):(?P<hash>[0-9a-f]{{16}})$")
_HASH = re.compile(r"^[0-9a-f]{16}$")
MUST_LEVELS = frozenset({"MUST", "MUST NOT"})
# libyaml when present: lint reads the whole catalogue on every run.  Rehashing edits
# text at the pure-Python composer's character offsets, so it keeps that composer.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def statement_hash(statement: str) -> str:
    """The catalogue hash of a statement: insensitive to line wrapping, nothing else."""
    normalised = re.sub(r"\s+", " ", statement).strip()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Requirement:
    """One catalogue entry, as written (``hash`` is the stored value, maybe stale)."""

    id: str
    level: str
    profile: str
    statement: str
    hash: str
    path: Path
    line: int
    not_testable: str | None = None
    see: tuple[str, ...] = ()

    @property
    def current_hash(self) -> str:
        return statement_hash(self.statement)

    @property
    def is_must(self) -> bool:
        return self.level in MUST_LEVELS


@dataclass(frozen=True, slots=True)
class CatalogueFile:
    """One YAML file of the catalogue, with its text kept for in-place edits."""

    path: Path
    text: str
    data: Any
    requirements: tuple[Requirement, ...]


@dataclass(slots=True)
class Catalogue:
    """All catalogue files; ``by_id`` keeps the first definition of a repeated id."""

    files: list[CatalogueFile] = field(default_factory=list)
    by_id: dict[str, Requirement] = field(default_factory=dict)

    def __contains__(self, requirement_id: object) -> bool:
        return requirement_id in self.by_id

    def all_requirements(self) -> Iterator[Requirement]:
        for f in self.files:
            yield from f.requirements


def _entry_nodes(root: yaml.Node | None) -> list[yaml.MappingNode]:
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "requirements" and isinstance(value, yaml.SequenceNode):
            return [n for n in value.value if isinstance(n, yaml.MappingNode)]
    return []


def _requirement(entry: Any, path: Path, line: int) -> Requirement | None:
    if not isinstance(entry, dict):
        return None
    fields = {k: entry.get(k) for k in ("id", "level", "profile", "statement")}
    if not all(isinstance(v, str) for v in fields.values()):
        return None
    text = {k: str(v) for k, v in fields.items()}
    see = entry.get("see")
    not_testable = entry.get("not_testable")
    return Requirement(
        id=text["id"],
        level=text["level"],
        profile=text["profile"],
        statement=text["statement"],
        hash=str(entry.get("hash", "")),
        path=path,
        line=line,
        not_testable=not_testable if isinstance(not_testable, str) else None,
        see=tuple(str(s) for s in see) if isinstance(see, list) else (),
    )


def read_catalogue_file(path: Path) -> CatalogueFile:
    """Parse one catalogue file; :class:`SpecError` when it is not readable YAML."""
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=_FAST_LOADER)
        data = yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 (a safe loader)
        nodes = _entry_nodes(node)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise SpecError(f"cannot read {path.name}: {e}", reason="spec-unreadable") from e
    entries = data.get("requirements") if isinstance(data, dict) else None
    requirements: list[Requirement] = []
    if isinstance(entries, list):
        for entry, node in zip(entries, nodes, strict=False):
            req = _requirement(entry, path, node.start_mark.line + 1)
            if req is not None:
                requirements.append(req)
    return CatalogueFile(path=path, text=text, data=data, requirements=tuple(requirements))


def catalogue_paths(spec_root: Path) -> list[Path]:
    return sorted((spec_root / "requirements").glob("*.yaml"))


def load_catalogue(spec_root: Path) -> Catalogue:
    """Every readable catalogue file of ``spec_root``; unreadable ones raise."""
    catalogue = Catalogue()
    for path in catalogue_paths(spec_root):
        cfile = read_catalogue_file(path)
        catalogue.files.append(cfile)
        for req in cfile.requirements:
            catalogue.by_id.setdefault(req.id, req)
    return catalogue


def _yaml_scalar(value: str) -> str:
    # A hex digest made only of digits would load back as an integer: quote it then.
    return value if yaml.safe_load(value) == value else f'"{value}"'


def rehash_text(
    text: str, only: Iterable[str] | None = None
) -> tuple[str, dict[str, tuple[str, str]]]:
    """Rewrite stale ``hash:`` values in ``text``; return it and ``{id: (old, new)}``.

    Only the value of each stale ``hash`` key changes; every other byte of the file is
    kept, so comments, wrapping and key order survive.
    """
    wanted = set(only) if only is not None else None
    edits: list[tuple[int, int, str]] = []
    changed: dict[str, tuple[str, str]] = {}
    for node in _entry_nodes(yaml.compose(text)):
        members = {k.value: v for k, v in node.value if isinstance(v, yaml.ScalarNode)}
        rid, statement, hash_node = members.get("id"), members.get("statement"), members.get("hash")
        if rid is None or statement is None or hash_node is None:
            continue
        if wanted is not None and rid.value not in wanted:
            continue
        new = statement_hash(statement.value)
        if hash_node.value != new:
            edits.append((hash_node.start_mark.index, hash_node.end_mark.index, _yaml_scalar(new)))
            changed[rid.value] = (hash_node.value, new)
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text, changed


def rehash_file(path: Path, only: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
    """Fix stale hashes of one catalogue file in place; return ``{id: (old, new)}``."""
    try:
        text = path.read_text(encoding="utf-8")
        new_text, changed = rehash_text(text, only)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise SpecError(f"cannot rehash {path.name}: {e}", reason="spec-unreadable") from e
    if changed:
        path.write_text(new_text, encoding="utf-8")
    return changed


# --- conformance markers and id literals -------------------------------------------


@dataclass(frozen=True, slots=True)
class Marker:
    """One argument of a ``requirement`` marker in a conformance test file.

    ``requirement`` and ``pinned`` are ``None`` when the argument is not a literal
    ``"BMDX-AREA-NNN:<hash16>"`` string (``raw`` then says what was found).
    """

    path: Path
    line: int
    raw: str
    requirement: str | None
    pinned: str | None


@dataclass(frozen=True, slots=True)
class IdLiteral:
    """A requirement id written as a string constant in Python code."""

    path: Path
    line: int
    requirement: str


def python_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.py") if "__pycache__" not in p.parts)


def parse_python(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError) as e:
        raise SpecError(f"cannot parse {path}: {e}", reason="python-unparseable") from e


def _is_requirement_mark(func: ast.expr) -> bool:
    # pytest.mark.requirement(...) or mark.requirement(...) after `from pytest import mark`
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "requirement"
        and (
            (isinstance(func.value, ast.Attribute) and func.value.attr == "mark")
            or (isinstance(func.value, ast.Name) and func.value.id == "mark")
        )
    )


def markers_in(tree: ast.Module, path: Path) -> Iterator[Marker]:
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_requirement_mark(node.func)):
            continue
        if not node.args:
            yield Marker(path, node.lineno, "requirement marker without arguments", None, None)
        for arg in node.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                match = _PIN.match(arg.value)
                if match:
                    yield Marker(path, arg.lineno, arg.value, match["id"], match["hash"])
                else:
                    yield Marker(path, arg.lineno, arg.value, None, None)
            else:
                yield Marker(path, arg.lineno, ast.unparse(arg), None, None)


def scan_markers(directory: Path) -> Iterator[Marker]:
    """Every requirement marker argument in the Python files under ``directory``."""
    for path in python_files(directory):
        yield from markers_in(parse_python(path), path)


def id_literals_in(tree: ast.Module, path: Path) -> Iterator[IdLiteral]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
            match = _PIN.match(value)
            if match:
                yield IdLiteral(path, node.lineno, match["id"])
            elif _FULL_ID.match(value):
                yield IdLiteral(path, node.lineno, value)


def scan_id_literals(directories: Iterable[Path]) -> Iterator[IdLiteral]:
    """Requirement ids written as whole string constants (``requirement="..."`` and co)."""
    for directory in directories:
        if directory.is_dir():
            for path in python_files(directory):
                yield from id_literals_in(parse_python(path), path)


def is_well_formed_id(value: str) -> bool:
    return bool(_FULL_ID.match(value))


def is_hash(value: str) -> bool:
    return bool(_HASH.match(value))


def stale_pins(markers: Iterable[Marker], current: Mapping[str, str]) -> list[Marker]:
    """Markers whose pinned hash differs from ``current[id]`` (unknown ids excluded)."""
    return [
        m
        for m in markers
        if m.requirement is not None
        and m.requirement in current
        and m.pinned != current[m.requirement]
    ]
