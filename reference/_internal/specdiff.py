"""What changed between two revisions of the spec, seen from a vendor about to upgrade.

``bmdx spec diff OLD NEW`` compares two copies of ``spec/``: directories, or git
revisions extracted with ``git archive``.  It reports

* requirements added, removed or reworded (the statement hash changed, so every
  conformance test pinned to the old hash needs review), and level or profile moves;
* schema changes, each classified *breaking* (a document valid under OLD may be
  invalid under NEW: a new required property, a removed property, a narrowed enum,
  pattern or limit, a type change) or *compatible* (OLD documents stay valid);
* vector files added, removed or changed, by set.

The classification is conservative: a changed ``pattern`` or ``$ref`` cannot be proven
wider, so it is reported as breaking.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bmdx.reference._internal.catalogue import Requirement, load_catalogue
from bmdx.reference._internal.errors import SpecError, UsageError

__all__ = [
    "RequirementChange",
    "SchemaChange",
    "SpecDiff",
    "VectorChange",
    "diff_spec_dirs",
    "diff_specs",
    "load_requirements",
    "open_spec",
]


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class RequirementChange:
    """One requirement that differs between the two revisions.

    ``kind`` is ``added``, ``removed`` or ``changed``; a changed requirement is
    ``reworded`` when its statement hash differs, and carries ``(old, new)`` pairs for a
    level or profile move.
    """

    id: str
    kind: str
    level: str
    statement: str
    old_statement: str | None = None
    reworded: bool = False
    level_change: tuple[str, str] | None = None
    profile_change: tuple[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "level": self.level}
        out["statement"] = self.statement
        if self.kind == "changed":
            out["reworded"] = self.reworded
            if self.reworded:
                out["old_statement"] = self.old_statement
            if self.level_change:
                out["level_change"] = list(self.level_change)
            if self.profile_change:
                out["profile_change"] = list(self.profile_change)
        return out


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """One change of a JSON Schema; ``breaking`` when OLD documents may stop validating."""

    schema: str
    pointer: str
    breaking: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "pointer": self.pointer,
            "breaking": self.breaking,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class VectorChange:
    """One vector file added, removed or changed (``path`` is relative to spec/vectors)."""

    set: str
    path: str
    kind: str

    def as_dict(self) -> dict[str, Any]:
        return {"set": self.set, "path": self.path, "kind": self.kind}


@dataclass(frozen=True, slots=True)
class SpecDiff:
    """Everything ``bmdx spec diff`` reports, in a stable order."""

    old: str
    new: str
    requirements: tuple[RequirementChange, ...] = ()
    schemas: tuple[SchemaChange, ...] = ()
    vectors: tuple[VectorChange, ...] = ()

    @property
    def breaking(self) -> tuple[SchemaChange, ...]:
        return tuple(c for c in self.schemas if c.breaking)

    @property
    def empty(self) -> bool:
        return not (self.requirements or self.schemas or self.vectors)

    def of_kind(self, kind: str) -> tuple[RequirementChange, ...]:
        return tuple(r for r in self.requirements if r.kind == kind)

    @property
    def reworded(self) -> tuple[RequirementChange, ...]:
        return tuple(r for r in self.requirements if r.reworded)

    def as_dict(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "requirements": {
                "added": [r.as_dict() for r in self.of_kind("added")],
                "removed": [r.as_dict() for r in self.of_kind("removed")],
                "changed": [r.as_dict() for r in self.of_kind("changed")],
            },
            "schemas": {
                "breaking": [c.as_dict() for c in self.schemas if c.breaking],
                "compatible": [c.as_dict() for c in self.schemas if not c.breaking],
            },
            "vectors": [v.as_dict() for v in self.vectors],
        }

    def to_text(self) -> str:
        """The report as plain text, one finding per line."""
        lines = [f"spec diff {self.old} -> {self.new}"]
        if self.empty:
            lines.append("no changes to requirements, schemas or vectors")
            return "\n".join(lines) + "\n"
        sections: list[tuple[str, list[str]]] = [
            (
                "requirements added",
                [f"{r.id} {r.level}: {r.statement}" for r in self.of_kind("added")],
            ),
            ("requirements removed", [f"{r.id} {r.level}" for r in self.of_kind("removed")]),
            ("requirements changed", [_change_line(r) for r in self.of_kind("changed")]),
            ("breaking schema changes", [_schema_line(c) for c in self.schemas if c.breaking]),
            (
                "compatible schema changes",
                [_schema_line(c) for c in self.schemas if not c.breaking],
            ),
            ("vectors", [f"{v.kind:<8} {v.path}" for v in self.vectors]),
        ]
        for title, rows in sections:
            if rows:
                lines.append("")
                lines.append(f"{title} ({len(rows)}):")
                lines.extend(f"  {row}" for row in rows)
        return "\n".join(lines) + "\n"


def _change_line(r: RequirementChange) -> str:
    notes = []
    if r.reworded:
        notes.append("reworded (pinned tests need review)")
    if r.level_change:
        notes.append(f"level {r.level_change[0]} -> {r.level_change[1]}")
    if r.profile_change:
        notes.append(f"profile {r.profile_change[0]} -> {r.profile_change[1]}")
    return f"{r.id}: " + "; ".join(notes)


def _schema_line(c: SchemaChange) -> str:
    return f"{c.schema}#{c.pointer}: {c.message}"


# --------------------------------------------------------------------------- loading


def _spec_root(path: Path) -> Path | None:
    """``path`` itself when it is a spec/ directory, its ``spec/`` child for a repo root."""
    if (path / "requirements").is_dir() or (path / "schemas").is_dir():
        return path
    if (path / "spec").is_dir():
        return path / "spec"
    return None


def _git(repo: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(repo), *args],  # noqa: S607 - git is found on PATH by design
            capture_output=True,
            check=False,
        )
    except OSError as e:
        raise UsageError(
            f"git is not available: {e}",
            reason="git-missing",
            remedy="Install git, or pass two spec directories.",
        ) from e
    if done.returncode != 0:
        raise UsageError(
            f"git {' '.join(args)} failed: {done.stderr.decode(errors='replace').strip()}",
            reason="unknown-revision",
            remedy="Pass a spec/ directory, a repository root, or a git revision of this repository.",
        )
    return done.stdout


@contextlib.contextmanager
def open_spec(where: str, *, repo: Path | None = None) -> Iterator[Path]:
    """Yield a spec/ directory for ``where``: a directory, or a git revision of ``repo``.

    A revision is extracted with ``git archive`` into a temporary directory that is
    removed on exit.
    """
    candidate = Path(where)
    if candidate.is_dir():
        root = _spec_root(candidate)
        if root is None:
            raise UsageError(
                f"{where} holds no spec: neither requirements/ and schemas/ nor a spec/ folder",
                reason="no-spec",
                remedy="Pass a spec/ directory or a repository root containing spec/.",
            )
        yield root.resolve()
        return
    repo = repo or Path.cwd()
    commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{where}^{{commit}}").decode().strip()
    top = _git(repo, "rev-parse", "--show-toplevel").decode().strip()
    listing = _git(Path(top), "ls-tree", "--name-only", commit, "spec").decode().strip()
    if not listing:
        raise UsageError(
            f"revision {where} has no spec/ folder",
            reason="no-spec",
            remedy="Pick a revision of the BMDX repository that contains spec/.",
        )
    archive = _git(Path(top), "archive", "--format=tar", commit, "spec")
    with tempfile.TemporaryDirectory(prefix="bmdx-spec-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp) / "spec"


def load_requirements(spec_root: Path) -> dict[str, Requirement]:
    """Every requirement of the catalogue, keyed by id (the first definition wins)."""
    return dict(load_catalogue(spec_root).by_id)


def _load_schemas(spec_root: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((spec_root / "schemas" / "json").glob("*.json")):
        try:
            schema = json.loads(path.read_bytes())
        except (OSError, ValueError) as e:
            raise SpecError(f"cannot read schema {path.name}: {e}", reason="spec-unreadable") from e
        if isinstance(schema, dict):
            out[path.name] = schema
    return out


def _vector_files(spec_root: Path) -> dict[str, str]:
    base = spec_root / "vectors"
    if not base.is_dir():
        return {}
    return {
        p.relative_to(base).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(base.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------- comparing


def _diff_requirements(
    old: Mapping[str, Requirement], new: Mapping[str, Requirement]
) -> list[RequirementChange]:
    out: list[RequirementChange] = []
    for rid in sorted(set(old) | set(new)):
        before, after = old.get(rid), new.get(rid)
        if before is None and after is not None:
            out.append(RequirementChange(rid, "added", after.level, after.statement))
        elif after is None and before is not None:
            out.append(RequirementChange(rid, "removed", before.level, before.statement))
        elif before is not None and after is not None:
            reworded = before.current_hash != after.current_hash
            lv = (before.level, after.level)
            pr = (before.profile, after.profile)
            if reworded or lv[0] != lv[1] or pr[0] != pr[1]:
                out.append(
                    RequirementChange(
                        rid,
                        "changed",
                        after.level,
                        after.statement,
                        old_statement=before.statement,
                        reworded=reworded,
                        level_change=lv if lv[0] != lv[1] else None,
                        profile_change=pr if pr[0] != pr[1] else None,
                    )
                )
    return out


def _esc(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class _SchemaComparer:
    """Walks two versions of one schema side by side, collecting classified changes."""

    # keyword -> True when a larger value accepts fewer documents
    _LOWER_BOUNDS = ("minLength", "minItems", "minimum", "exclusiveMinimum", "minProperties")
    _UPPER_BOUNDS = ("maxLength", "maxItems", "maximum", "exclusiveMaximum", "maxProperties")

    def __init__(self, name: str) -> None:
        self.name = name
        self.changes: list[SchemaChange] = []

    def note(self, pointer: str, breaking: bool, message: str) -> None:
        self.changes.append(SchemaChange(self.name, pointer or "/", breaking, message))

    def compare(self, old: Any, new: Any, ptr: str) -> None:
        if not isinstance(old, dict) or not isinstance(new, dict):
            if old != new:
                self.note(ptr, True, "schema replaced")
            return
        self._type(old, new, ptr)
        self._ref(old, new, ptr)
        self._enum(old, new, ptr)
        self._const(old, new, ptr)
        self._pattern(old, new, ptr)
        self._bounds(old, new, ptr)
        self._flags(old, new, ptr)
        self._properties(old, new, ptr)
        self._one_of(old, new, ptr)
        if "items" in old or "items" in new:
            if "items" in old and "items" in new:
                self.compare(old["items"], new["items"], f"{ptr}/items")
            elif "items" in new:
                self.note(f"{ptr}/items", True, "array items constrained")
            else:
                self.note(f"{ptr}/items", False, "array items constraint removed")
        self._defs(old.get("$defs", {}), new.get("$defs", {}), ptr)

    def _type(self, old: dict[str, Any], new: dict[str, Any], ptr: str) -> None:
        a, b = old.get("type"), new.get("type")
        if a != b:
            if a is None:
                self.note(ptr, True, f"type {b!r} imposed")
            elif b is None:
                self.note(ptr, False, f"type {a!r} no longer required")
            else:
                self.note(ptr, True, f"type changed from {a!r} to {b!r}")

    def _ref(self, old: dict[str, Any], new: dict[str, Any], ptr: str) -> None:
        a, b = old.get("$ref"), new.get("$ref")
        if a != b:
            if b is None:
                self.note(ptr, True, f"reference to {a} replaced by an inline schema")
            elif a is None:
                self.note(ptr, True, f"now refers to {b}")
            else:
                self.note(ptr, True, f"reference changed from {a} to {b}")

    def _enum(self, old: dict[str, Any], new: dict[str, Any], ptr: str) -> None:
        a, b = old.get("enum"), new.get("enum")
        if a == b:
            return
        if b is None:
            self.note(ptr, False, "enumeration removed")
        elif a is None:
            self.note(ptr, True, f"enumeration {b!r} imposed")
        else:
            removed = [v for v in a if v not in b]
            added = [v for v in b if v not in a]
            if removed:
                self.note(ptr, True, f"enumeration narrowed: {removed!r} no longer allowed")
            if added:
                self.note(ptr, False, f"enumeration widened: {added!r} allowed")

    def _const(self, old: dict[str, Any], new: dict[str, Any], ptr: str) -> None:
        if "const" in old and "const" not in new:
            self.note(ptr, False, f"constant {old['const']!r} no longer required")
        elif "const" in new and old.get("const", object()) != new["const"]:
            self.note(ptr, True, f"constant {new['const']!r} required")

    def _pattern(self, old: dict[str, Any], new: dict[str, Any], ptr: str) -> None:
        a, b = old.get("pattern"), new.get("pattern")
        if a == b:
            return
        if b is None:
            self.note(ptr, False, "pattern removed")
        elif a is None:
            self.note(ptr, True, f"pattern {b} imposed")
        else:
            self.note(ptr, True, f"pattern changed from {a} to {b}")

    def _bounds(self, old: dict[str, Any], new: dict[str, Any], ptr: str) -> None:
        for key in self._LOWER_BOUNDS + self._UPPER_BOUNDS:
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            lower = key in self._LOWER_BOUNDS
            if b is None:
                self.note(ptr, False, f"{key} {a} removed")
            elif a is None:
                self.note(ptr, True, f"{key} {b} imposed")
            else:
                narrowed = b > a if lower else b < a
                verb = "narrowed" if narrowed else "widened"
                self.note(ptr, narrowed, f"{key} {verb} from {a} to {b}")

    def _flags(self, old: dict[str, Any], new: dict[str, Any], ptr: str) -> None:
        if bool(old.get("uniqueItems")) != bool(new.get("uniqueItems")):
            imposed = bool(new.get("uniqueItems"))
            self.note(ptr, imposed, "uniqueItems " + ("imposed" if imposed else "removed"))
        a, b = old.get("additionalProperties", True), new.get("additionalProperties", True)
        if a is not False and b is False:
            self.note(ptr, True, "additional properties no longer allowed")
        elif a is False and b is not False:
            self.note(ptr, False, "additional properties now allowed")

    def _properties(self, old: dict[str, Any], new: dict[str, Any], ptr: str) -> None:
        p_old: dict[str, Any] = old.get("properties") or {}
        p_new: dict[str, Any] = new.get("properties") or {}
        r_old, r_new = set(old.get("required") or ()), set(new.get("required") or ())
        closed = new.get("additionalProperties", True) is False
        for name, before in p_old.items():
            sub = f"{ptr}/properties/{_esc(name)}"
            if name not in p_new:
                self.note(sub, closed, f"property {name!r} removed")
            else:
                self.compare(before, p_new[name], sub)
        for name in p_new:
            if name not in p_old:
                sub = f"{ptr}/properties/{_esc(name)}"
                if name in r_new:
                    self.note(sub, True, f"new required property {name!r}")
                else:
                    self.note(sub, False, f"new optional property {name!r}")
        for name in sorted(r_new - r_old):
            if name in p_old:
                self.note(f"{ptr}/required", True, f"property {name!r} is now required")
        for name in sorted(r_old - r_new):
            if name in p_new:
                self.note(f"{ptr}/required", False, f"property {name!r} is now optional")

    def _one_of(self, old: dict[str, Any], new: dict[str, Any], ptr: str) -> None:
        a = [json.dumps(b, sort_keys=True) for b in old.get("oneOf") or ()]
        b = [json.dumps(b, sort_keys=True) for b in new.get("oneOf") or ()]
        if a == b:
            return
        removed = [json.loads(x) for x in a if x not in b]
        added = [json.loads(x) for x in b if x not in a]
        for branch in removed:
            self.note(f"{ptr}/oneOf", True, f"alternative {_brief(branch)} removed")
        for branch in added:
            self.note(f"{ptr}/oneOf", not a, f"alternative {_brief(branch)} added")

    def _defs(self, old: Mapping[str, Any], new: Mapping[str, Any], ptr: str) -> None:
        for name in old:
            sub = f"{ptr}/$defs/{_esc(name)}"
            if name not in new:
                self.note(sub, True, f"definition {name!r} removed")
            else:
                self.compare(old[name], new[name], sub)
        for name in new:
            if name not in old:
                self.note(f"{ptr}/$defs/{_esc(name)}", False, f"definition {name!r} added")


def _brief(branch: Any) -> str:
    if isinstance(branch, dict) and isinstance(branch.get("$ref"), str):
        return str(branch["$ref"])
    return json.dumps(branch, sort_keys=True)[:60]


def _diff_schemas(
    old: Mapping[str, dict[str, Any]], new: Mapping[str, dict[str, Any]]
) -> list[SchemaChange]:
    out: list[SchemaChange] = []
    for name in sorted(set(old) | set(new)):
        if name not in new:
            out.append(SchemaChange(name, "/", True, "schema removed"))
        elif name not in old:
            what = new[name].get("x-object")
            label = f"object type {what}" if isinstance(what, str) else "schema"
            out.append(SchemaChange(name, "/", False, f"new {label}"))
        else:
            comparer = _SchemaComparer(name)
            comparer.compare(old[name], new[name], "")
            out.extend(comparer.changes)
    return out


def _diff_vectors(old: Mapping[str, str], new: Mapping[str, str]) -> list[VectorChange]:
    out: list[VectorChange] = []
    for path in sorted(set(old) | set(new)):
        vset = path.split("/", 1)[0] if "/" in path else ""
        if path not in new:
            out.append(VectorChange(vset, path, "removed"))
        elif path not in old:
            out.append(VectorChange(vset, path, "added"))
        elif old[path] != new[path]:
            out.append(VectorChange(vset, path, "changed"))
    return out


def diff_spec_dirs(old: Path, new: Path, *, old_label: str = "", new_label: str = "") -> SpecDiff:
    """Compare two spec/ directories."""
    return SpecDiff(
        old=old_label or str(old),
        new=new_label or str(new),
        requirements=tuple(_diff_requirements(load_requirements(old), load_requirements(new))),
        schemas=tuple(_diff_schemas(_load_schemas(old), _load_schemas(new))),
        vectors=tuple(_diff_vectors(_vector_files(old), _vector_files(new))),
    )


def diff_specs(old: str, new: str, *, repo: Path | None = None) -> SpecDiff:
    """Compare two revisions, each a directory or a git revision of ``repo`` (default: cwd)."""
    with open_spec(old, repo=repo) as a, open_spec(new, repo=repo) as b:
        return diff_spec_dirs(a, b, old_label=old, new_label=new)
