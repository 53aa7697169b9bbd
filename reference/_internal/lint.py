"""``bmdx spec lint``: is the spec consistent, and is every MUST tested?

The spec is data edited by a committee; this module tells them at once what an edit
broke.  Each check yields :class:`Finding` objects with a stable ``code`` (matched by
tests and CI), the file it concerns, a message and, where there is one, the requirement
it concerns.  A finding is an ``error`` (lint fails), ``pending`` (a known gap that does
not fail lint yet) or ``info``.

Coverage is measured against the conformance suite, read as source and never imported:
a MUST (or MUST NOT) needs a test marked ``@pytest.mark.requirement("ID:<hash16>")`` or a
written ``not_testable`` reason.  The suite grows profile by profile, so it lists the
profiles it implements in ``conformance/profiles.yaml``; an untested MUST of an
implemented profile is an error, one of any other profile is pending.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

import jsonschema_rs
import referencing
import referencing.jsonschema
import yaml
from referencing.exceptions import Unresolvable

from bmdx.reference._internal import ijson
from bmdx.reference._internal.catalogue import (
    Catalogue,
    CatalogueFile,
    Requirement,
    catalogue_paths,
    is_well_formed_id,
    read_catalogue_file,
    scan_id_literals,
    scan_markers,
)
from bmdx.reference._internal.documents import detect_syntax
from bmdx.reference._internal.errors import (
    BmdxError,
    SchemaValidationError,
    SpecError,
)
from bmdx.reference._internal.schema import SchemaSet
from bmdx.reference._internal.subset import check_schema, iter_subschemas

__all__ = [
    "Finding",
    "LintReport",
    "Severity",
    "compare_generated",
    "default_conformance_dir",
    "generated_outputs",
    "lint",
    "render_text",
]

REQ_CONSISTENT = "BMDX-SPEC-001"
REQ_SUBSET = "BMDX-SPEC-002"
_EXAMPLE_SUFFIXES = (".json", ".xml")
_SKIPPED_SPEC_DIRS = frozenset({"examples", "vectors"})


class Severity(StrEnum):
    ERROR = "error"
    PENDING = "pending"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (or note) about the spec, stable enough to match in CI."""

    code: str
    path: str
    message: str
    requirement: str | None = None
    severity: Severity = Severity.ERROR

    def as_dict(self) -> dict[str, str | None]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "path": self.path,
            "message": self.message,
            "requirement": self.requirement,
        }


@dataclass(slots=True)
class LintReport:
    spec_dir: Path
    conformance_dir: Path | None
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    def of(self, severity: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity is severity]

    @property
    def ok(self) -> bool:
        return not self.of(Severity.ERROR)

    def codes(self, severity: Severity = Severity.ERROR) -> set[str]:
        return {f.code for f in self.of(severity)}

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "specDir": str(self.spec_dir),
            "conformanceDir": str(self.conformance_dir) if self.conformance_dir else None,
            "counts": {s.value: len(self.of(s)) for s in Severity},
            "findings": [f.as_dict() for f in self.findings],
        }


def default_conformance_dir() -> Path | None:
    """Where the installed conformance suite's sources are (without importing it)."""
    found = importlib.util.find_spec("bmdx.conformance")
    locations = list(found.submodule_search_locations or []) if found else []
    return Path(locations[0]).resolve() if locations else None


def _reference_dir() -> Path:
    return Path(__file__).resolve().parents[1]


class _Lint:
    """One lint run: shared state of the checks, and the findings they add."""

    def __init__(self, root: Path, conformance_dir: Path | None) -> None:
        self.root = root
        self.conformance_dir = conformance_dir
        self.findings: list[Finding] = []
        self.catalogue = Catalogue()
        self.catalogue_schema: dict[str, Any] | None = None
        self.spec_schemas: dict[Path, Any] = {}
        self.object_schemas: dict[str, Any] = {}  # file name -> schemas/json schema
        self.schema_set: SchemaSet | None = None

    # -- helpers --------------------------------------------------------------------

    def rel(self, path: Path) -> str:
        for base, prefix in ((self.root, ""), (self.conformance_dir, "conformance/")):
            if base is not None:
                try:
                    return prefix + path.resolve().relative_to(base).as_posix()
                except ValueError:
                    continue
        try:
            return path.resolve().relative_to(_reference_dir().parent).as_posix()
        except ValueError:
            return str(path)

    def add(
        self,
        code: str,
        path: Path | str,
        message: str,
        requirement: str | None = REQ_CONSISTENT,
        severity: Severity = Severity.ERROR,
    ) -> None:
        where = path if isinstance(path, str) else self.rel(path)
        self.findings.append(Finding(code, where, message, requirement, severity))

    def read_json(self, path: Path, code: str) -> Any:
        try:
            return ijson.loads(path.read_bytes())
        except (OSError, BmdxError) as e:
            self.add(code, path, f"cannot read: {e}")
            return None

    def known(self, requirement_id: str) -> bool:
        return requirement_id in self.catalogue

    # -- catalogue ------------------------------------------------------------------

    def check_catalogue(self) -> None:
        schema_path = self.root / "requirements" / "catalogue.schema.json"
        validator = None
        if schema_path.is_file():
            self.catalogue_schema = self.read_json(schema_path, "schema-unreadable")
            if isinstance(self.catalogue_schema, dict):
                try:
                    validator = jsonschema_rs.validator_for(self.catalogue_schema)
                except (ValueError, jsonschema_rs.ReferencingError) as e:
                    self.add("metaschema", schema_path, f"catalogue schema does not compile: {e}")
        else:
            self.add(
                "catalogue-schema-missing",
                schema_path,
                "requirements/catalogue.schema.json is missing",
            )
        paths = catalogue_paths(self.root)
        if not paths:
            self.add("catalogue-empty", "requirements", "no requirement catalogue files")
        seen: dict[str, Requirement] = {}
        for path in paths:
            try:
                cfile = read_catalogue_file(path)
            except SpecError as e:
                self.add("catalogue-unreadable", path, e.message)
                continue
            self.catalogue.files.append(cfile)
            if validator is not None:
                for error in validator.iter_errors(cfile.data):
                    pointer = "".join(f"/{p}" for p in error.instance_path)
                    self.add("catalogue-invalid", path, f"{pointer or '/'}: {error.message}")
            self.check_catalogue_file(cfile, seen)

    def check_catalogue_file(self, cfile: CatalogueFile, seen: dict[str, Requirement]) -> None:
        area = cfile.data.get("area") if isinstance(cfile.data, dict) else None
        where = self.rel(cfile.path)
        for req in cfile.requirements:
            here = f"{where}:{req.line}"
            if not is_well_formed_id(req.id):
                self.add("malformed-id", here, f"{req.id!r} is not BMDX-<AREA>-<NNN>", None)
                continue
            if req.id.split("-")[1] != area:
                self.add("area-mismatch", here, f"{req.id} is filed under area {area!r}", req.id)
            first = seen.get(req.id)
            if first is not None:
                self.add(
                    "duplicate-id",
                    here,
                    f"{req.id} is already defined at {self.rel(first.path)}:{first.line}",
                    req.id,
                )
                continue
            seen[req.id] = req
            self.catalogue.by_id[req.id] = req
            if req.hash != req.current_hash:
                self.add(
                    "stale-hash",
                    here,
                    f"statement edited without rehash: stored hash {req.hash!r}, statement "
                    f"hashes to {req.current_hash}; run `bmdx spec rehash {req.id}` and review "
                    "the tests pinned to it",
                    req.id,
                )
            if req.level not in req.statement:
                self.add(
                    "level-keyword",
                    here,
                    f"{req.id} is {req.level} but its statement does not say {req.level}",
                    req.id,
                )

    def check_catalogue_references(self) -> None:
        for req in self.catalogue.all_requirements():
            for ref in req.see:
                if is_well_formed_id(ref) and not self.known(ref):
                    self.add(
                        "unknown-requirement",
                        f"{self.rel(req.path)}:{req.line}",
                        f"{req.id} refers to {ref}, which is not in the catalogue",
                        ref,
                    )

    # -- schemas --------------------------------------------------------------------

    def schema_files(self) -> list[Path]:
        out = []
        for path in sorted(self.root.rglob("*.json")):
            parts = path.relative_to(self.root).parts
            if parts[0] in _SKIPPED_SPEC_DIRS:
                continue
            if (
                parts[:2] == ("schemas", "json")
                or path.name.endswith(".schema.json")
                or parts[0] == "conformance"
            ):
                out.append(path)
        return out

    def check_schemas(self) -> None:
        ids: dict[str, Path] = {}
        for path in self.schema_files():
            schema = self.read_json(path, "schema-unreadable")
            if not isinstance(schema, dict):
                if schema is not None:
                    self.add("metaschema", path, "a schema file holds a JSON object")
                continue
            self.spec_schemas[path] = schema
            try:
                jsonschema_rs.meta.validate(schema)
            except jsonschema_rs.ValidationError as e:
                at = "".join(f"/{p}" for p in e.instance_path) or "/"
                self.add("metaschema", path, f"{at}: {e.message}")
            except jsonschema_rs.ReferencingError as e:
                self.add("metaschema", path, f"unknown meta-schema: {e}")
            sid = schema.get("$id")
            if not isinstance(sid, str):
                self.add("schema-id", path, "schema has no $id")
            elif sid in ids:
                self.add("schema-id", path, f"$id {sid} is also the $id of {self.rel(ids[sid])}")
            else:
                ids[sid] = path
            if path.parent == self.root / "schemas" / "json":
                self.object_schemas[path.name] = schema
        for name, schema in self.object_schemas.items():
            path = self.root / "schemas" / "json" / name
            for f in check_schema(schema, name, schemas=self.object_schemas):
                self.add(f.code, path, f"{f.pointer or '/'}: {f.message}", REQ_SUBSET)
        self.check_refs(ids)
        self.compile_schemas()

    def check_refs(self, ids: Mapping[str, Path]) -> None:
        registry: referencing.Registry[Any] = referencing.Registry()
        for sid, path in ids.items():
            schema = self.spec_schemas[path]
            resource = referencing.jsonschema.DRAFT202012.create_resource(schema)
            registry = registry.with_resource(sid, resource)
        for sid, path in ids.items():
            stack: list[tuple[str, str]] = []
            for pointer, sub in iter_subschemas(self.spec_schemas[path]):
                while stack and not pointer.startswith(stack[-1][0] + "/"):
                    stack.pop()
                base = stack[-1][1] if stack else sid
                if isinstance(sub, dict) and isinstance(sub.get("$id"), str) and pointer:
                    base = urljoin(base, sub["$id"])
                stack.append((pointer, base))
                ref = sub.get("$ref") if isinstance(sub, dict) else None
                if not isinstance(ref, str):
                    continue
                try:
                    registry.resolver(base).lookup(ref)
                except Unresolvable as e:
                    self.add(
                        "dangling-ref",
                        path,
                        f"{pointer or '/'}: $ref {ref!r} does not resolve ({type(e).__name__})",
                    )

    def compile_schemas(self) -> None:
        by_id = {s["$id"]: s for s in self.object_schemas.values() if isinstance(s.get("$id"), str)}
        try:
            schema_set = SchemaSet(by_id)
            for object_type in schema_set.object_types:
                schema_set.validator_for(object_type)
        except SpecError as e:
            self.add("schema-compile", "schemas/json", e.message)
            return
        self.schema_set = schema_set

    def check_schema_requirements(self) -> None:
        for path, schema in self.spec_schemas.items():
            for pointer, node in _walk_objects(schema):
                value = node.get("x-requirement")
                if isinstance(value, str) and is_well_formed_id(value) and not self.known(value):
                    self.add(
                        "unknown-requirement",
                        path,
                        f"{pointer or '/'}: x-requirement {value} is not in the catalogue",
                        value,
                    )

    # -- OpenAPI --------------------------------------------------------------------

    def check_openapi(self) -> None:
        path = self.root / "api" / "openapi.yaml"
        if not path.is_file():
            self.add(
                "openapi-absent",
                "api",
                "api/openapi.yaml does not exist yet; skipped",
                None,
                Severity.INFO,
            )
            return
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            self.add("openapi-invalid", path, f"cannot read: {e}")
            return
        from openapi_spec_validator import OpenAPIV31SpecValidator  # noqa: PLC0415

        validator = OpenAPIV31SpecValidator(document, base_uri=path.as_uri())
        for error in validator.iter_errors():
            self.add("openapi-invalid", path, str(getattr(error, "message", error)))
        for pointer, ref in _refs_in(document):
            self.check_openapi_ref(path, document, pointer, ref)

    def check_openapi_ref(self, path: Path, document: Any, pointer: str, ref: str) -> None:
        target, fragment = urldefrag(ref)
        if target and "://" in target:
            self.add("dangling-ref", path, f"{pointer}: $ref {ref!r} leaves the spec")
            return
        resolved = (path.parent / unquote(target)).resolve() if target else path
        try:
            resolved.relative_to(self.root)
        except ValueError:
            self.add("dangling-ref", path, f"{pointer}: $ref {ref!r} points outside spec/")
            return
        if target:
            if not resolved.is_file():
                self.add("dangling-ref", path, f"{pointer}: $ref {ref!r}: no such file")
                return
            if resolved.suffix == ".json":
                document = self.read_json(resolved, "schema-unreadable")
            else:
                document = yaml.safe_load(resolved.read_text(encoding="utf-8"))
        if _resolve_fragment(document, unquote(fragment)) is _MISSING:
            self.add("dangling-ref", path, f"{pointer}: $ref {ref!r}: fragment does not resolve")

    # -- examples -------------------------------------------------------------------

    def check_examples(self) -> None:
        if self.schema_set is None:
            self.add(
                "examples-unchecked",
                "examples",
                "the schemas do not compile; examples were not checked",
            )
            return
        stems = {Path(name).stem: s.get("x-object") for name, s in self.object_schemas.items()}
        have: dict[str, set[str]] = defaultdict(set)
        for kind in ("valid", "invalid"):
            base = self.root / "examples" / kind
            for folder in sorted(p for p in base.glob("*") if p.is_dir()) if base.is_dir() else []:
                object_type = stems.get(folder.name)
                if not isinstance(object_type, str):
                    self.add("example-unknown-type", folder, f"no object schema {folder.name}.json")
                    continue
                files = sorted(p for p in folder.iterdir() if p.suffix in _EXAMPLE_SUFFIXES)
                for stray in sorted(folder.iterdir()):
                    if stray.suffix not in _EXAMPLE_SUFFIXES and stray.name not in {
                        "expected.yaml",
                        "README.md",
                    }:
                        self.add(
                            "example-stray-file", stray, "neither an example nor expected.yaml"
                        )
                if kind == "valid":
                    for path in files:
                        self.check_valid_example(path, object_type)
                else:
                    self.check_invalid_folder(folder, files)
                for path in files:
                    have[object_type].add(f"{kind} {path.suffix[1:]}")
        wanted = {f"{k} {s}" for k in ("valid", "invalid") for s in ("json", "xml")}
        for object_type in self.schema_set.object_types:
            missing = sorted(wanted - have[object_type])
            if missing:
                self.add(
                    "example-coverage",
                    "examples",
                    f"{object_type} has no {', no '.join(missing)} example",
                )

    def example_outcome(self, path: Path) -> tuple[Any, set[str], str]:
        """(document or None, violated requirement ids, summary) of one example."""
        data = path.read_bytes()
        try:
            if detect_syntax(data) == "xml":
                from bmdx.reference._internal.xmlmap import xml_to_json  # noqa: PLC0415

                document = xml_to_json(data, root=self.root)
            else:
                document = ijson.loads(data)
            assert self.schema_set is not None
            violations = self.schema_set.document_violations(document)
        except SchemaValidationError as e:
            return None, set(e.requirements), e.message
        except SpecError:
            raise
        except BmdxError as e:
            return None, {e.requirement}, f"{type(e).__name__} [{e.reason}]: {e.message}"
        summary = "; ".join(
            f"{v.pointer or '/'}: {v.message} [{v.requirement}]" for v in violations[:3]
        )
        return document, {v.requirement for v in violations}, summary

    def check_valid_example(self, path: Path, object_type: str) -> None:
        try:
            document, violated, summary = self.example_outcome(path)
        except (ImportError, SpecError) as e:
            self.add("example-unchecked", path, f"cannot validate: {e}")
            return
        if violated:
            self.add("example-not-valid", path, f"valid example fails: {summary}", min(violated))
        elif isinstance(document, dict) and document.get("objectType") != object_type:
            self.add(
                "example-wrong-type",
                path,
                f"is a {document.get('objectType')}, not a {object_type}",
            )

    def check_invalid_folder(self, folder: Path, files: list[Path]) -> None:
        expected_path = folder / "expected.yaml"
        expected: dict[str, str] = {}
        if expected_path.is_file():
            try:
                raw = yaml.safe_load(expected_path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
                raw = None
                self.add("expected-invalid", expected_path, f"cannot read: {e}")
            if isinstance(raw, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
            ):
                expected = raw
            elif raw is not None:
                self.add(
                    "expected-invalid",
                    expected_path,
                    "expected.yaml maps file names to requirement ids",
                )
        for name, requirement in sorted(expected.items()):
            if not (folder / name).is_file():
                self.add(
                    "example-missing",
                    expected_path,
                    f"lists {name}, which does not exist",
                    requirement,
                )
            if not is_well_formed_id(requirement) or not self.known(requirement):
                self.add(
                    "unknown-requirement",
                    expected_path,
                    f"{name} is labelled {requirement!r}, which is not in the catalogue",
                    requirement,
                )
        for path in files:
            if path.name not in expected:
                self.add("example-unlisted", path, "invalid example not listed in expected.yaml")
                continue
            requirement = expected[path.name]
            try:
                _, violated, summary = self.example_outcome(path)
            except (ImportError, SpecError) as e:
                self.add("example-unchecked", path, f"cannot validate: {e}", requirement)
                continue
            if not violated:
                self.add(
                    "example-not-failing", path, f"labelled {requirement} but is valid", requirement
                )
            elif requirement not in violated:
                self.add(
                    "example-wrong-requirement",
                    path,
                    f"labelled {requirement} but breaks {', '.join(sorted(violated))}: {summary}",
                    requirement,
                )

    # -- generated files ------------------------------------------------------------

    def check_generated(self) -> None:
        try:
            outputs = generated_outputs(self.root)
        except ImportError as e:
            self.add(
                "generator-missing",
                "schemas/xml",
                f"the XSD/XML generator is not available: {e}",
                REQ_SUBSET,
            )
            return
        except BmdxError as e:
            self.add("generator-failed", "schemas/xml", f"bmdx spec build fails: {e}", REQ_SUBSET)
            return
        stale, missing, extra = compare_generated(self.root, outputs)
        for name in stale:
            self.add("stale-generated", name, "out of date; run `bmdx spec build`", REQ_SUBSET)
        for name in missing:
            self.add(
                "missing-generated", name, "not generated yet; run `bmdx spec build`", REQ_SUBSET
            )
        for name in extra:
            self.add(
                "extra-generated", name, "not produced by `bmdx spec build`; delete it", REQ_SUBSET
            )

    # -- code and conformance -------------------------------------------------------

    def check_code_ids(self) -> None:
        dirs = [_reference_dir()]
        if self.conformance_dir is not None:
            dirs.append(self.conformance_dir)
        try:
            literals = list(scan_id_literals(dirs))
        except SpecError as e:
            self.add("python-unparseable", "reference", e.message)
            return
        for literal in literals:
            if not self.known(literal.requirement):
                self.add(
                    "unknown-requirement",
                    f"{self.rel(literal.path)}:{literal.line}",
                    f"code cites {literal.requirement}, which is not in the catalogue",
                    literal.requirement,
                )

    def implemented_profiles(self) -> set[str]:
        if self.conformance_dir is None or not self.conformance_dir.is_dir():
            self.add(
                "conformance-absent",
                "conformance",
                "no conformance suite found; every untested MUST is pending",
                None,
                Severity.INFO,
            )
            return set()
        path = self.conformance_dir / "profiles.yaml"
        if not path.is_file():
            self.add("profiles-invalid", path, "conformance/profiles.yaml is missing")
            return set()
        try:
            listed = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            self.add("profiles-invalid", path, f"cannot read: {e}")
            return set()
        if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
            self.add("profiles-invalid", path, "profiles.yaml is a list of profile names")
            return set()
        known = _profiles(self.catalogue_schema)
        for name in listed:
            if known and name not in known:
                self.add("unknown-profile", path, f"{name!r} is not a profile of the catalogue")
        return set(listed)

    def check_conformance(self) -> None:
        implemented = self.implemented_profiles()
        covered: set[str] = set()
        if self.conformance_dir is not None and self.conformance_dir.is_dir():
            try:
                markers = list(scan_markers(self.conformance_dir))
            except SpecError as e:
                self.add("python-unparseable", "conformance", e.message)
                markers = []
            for m in markers:
                where = f"{self.rel(m.path)}:{m.line}"
                if m.requirement is None:
                    self.add(
                        "malformed-pin", where, f"{m.raw!r} is not 'BMDX-AREA-NNN:<hash16>'", None
                    )
                elif not self.known(m.requirement):
                    self.add(
                        "unknown-requirement",
                        where,
                        f"test cites {m.requirement}, not in the catalogue",
                        m.requirement,
                    )
                else:
                    covered.add(m.requirement)
                    current = self.catalogue.by_id[m.requirement].current_hash
                    if m.pinned != current:
                        self.add(
                            "stale-pin",
                            where,
                            f"pins {m.requirement}:{m.pinned} but the statement now hashes to "
                            f"{current}; review the test against the statement, then update the pin",
                            m.requirement,
                        )
        pending = 0
        for req in self.catalogue.by_id.values():
            if not req.is_must or req.not_testable or req.id in covered:
                continue
            here = f"{self.rel(req.path)}:{req.line}"
            if req.profile in implemented:
                self.add(
                    "coverage-gap",
                    here,
                    f"{req.level} requirement without a conformance test or not_testable reason",
                    req.id,
                )
            else:
                pending += 1
                self.add(
                    "coverage-gap",
                    here,
                    f"{req.level} requirement of profile {req.profile!r} has no conformance test yet",
                    req.id,
                    Severity.PENDING,
                )
        if pending:
            self.add(
                "coverage-pending",
                "conformance/profiles.yaml",
                f"{pending} untested MUST(s) in profiles the suite does not implement yet "
                f"(implemented: {', '.join(sorted(implemented)) or 'none'}); they become errors "
                "once their profile is listed in conformance/profiles.yaml",
                None,
                Severity.INFO,
            )

    def run(self) -> None:
        checks: list[Callable[[], None]] = [
            self.check_catalogue,
            self.check_catalogue_references,
            self.check_schemas,
            self.check_schema_requirements,
            self.check_openapi,
            self.check_examples,
            self.check_generated,
            self.check_code_ids,
            self.check_conformance,
        ]
        for check in checks:
            check()


_MISSING = object()


def _resolve_fragment(document: Any, fragment: str) -> Any:
    node = document
    if not fragment:
        return node
    if not fragment.startswith("/"):
        return _MISSING
    for raw in fragment[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(token)] if isinstance(node, list) else node[token]
        except (KeyError, IndexError, ValueError, TypeError):
            return _MISSING
    return node


def _walk_objects(value: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        yield pointer, value
        for key, child in value.items():
            yield from _walk_objects(
                child, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
            )
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk_objects(child, f"{pointer}/{index}")


def _refs_in(document: Any) -> Iterator[tuple[str, str]]:
    for pointer, node in _walk_objects(document):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield pointer or "/", ref


def _profiles(catalogue_schema: Any) -> set[str]:
    node = _resolve_fragment(
        catalogue_schema, "/properties/requirements/items/properties/profile/enum"
    )
    return {p for p in node if isinstance(p, str)} if isinstance(node, list) else set()


def generated_outputs(root: Path) -> dict[str, bytes]:
    """What ``bmdx spec build`` writes: paths relative to ``root`` -> bytes."""
    from bmdx.reference._internal.xmlbuild import build_outputs  # noqa: PLC0415

    return build_outputs(root)


def compare_generated(
    root: Path, outputs: Mapping[str, bytes]
) -> tuple[list[str], list[str], list[str]]:
    """``(stale, missing, extra)`` relative paths of generated files under ``root``.

    *Extra* files are those in a folder the generator writes to, with a suffix it writes
    there, that it did not produce: leftovers of a renamed or removed source.
    """
    stale, missing = [], []
    for name, data in sorted(outputs.items()):
        path = root / name
        if not path.is_file():
            missing.append(name)
        elif path.read_bytes() != data:
            stale.append(name)
    kinds = {(str(Path(n).parent), Path(n).suffix) for n in outputs}
    extra = sorted(
        p.relative_to(root).as_posix()
        for folder, suffix in kinds
        for p in (root / folder).glob(f"*{suffix}")
        if p.relative_to(root).as_posix() not in outputs
    )
    return stale, missing, extra


def lint(spec_root: Path, *, conformance_dir: Path | None) -> LintReport:
    """Run every check over the spec at ``spec_root``."""
    started = time.perf_counter()
    run = _Lint(spec_root.resolve(), conformance_dir.resolve() if conformance_dir else None)
    run.run()
    order = {Severity.ERROR: 0, Severity.PENDING: 1, Severity.INFO: 2}
    findings = sorted(run.findings, key=lambda f: (order[f.severity], f.code, f.path, f.message))
    return LintReport(
        spec_dir=run.root,
        conformance_dir=run.conformance_dir,
        findings=findings,
        seconds=time.perf_counter() - started,
    )


_HEADINGS = {
    Severity.ERROR: "errors (lint fails)",
    Severity.PENDING: "pending (untested MUSTs of profiles not yet in conformance/profiles.yaml; "
    "they do not fail lint)",
    Severity.INFO: "notes",
}


def render_text(report: LintReport, *, verbose: bool = False) -> str:
    """Findings grouped by severity and code; pending ones summarised unless ``verbose``."""
    lines: list[str] = []
    for severity in Severity:
        found = report.of(severity)
        if not found:
            continue
        lines.append(f"{_HEADINGS[severity]}: {len(found)}")
        groups: dict[str, list[Finding]] = defaultdict(list)
        for f in found:
            groups[f.code].append(f)
        for code, items in groups.items():
            lines.append(f"  {code} ({len(items)})")
            shown = items if verbose or severity is not Severity.PENDING else items[:10]
            for f in shown:
                tag = f" [{f.requirement}]" if f.requirement else ""
                lines.append(f"    {f.path}: {f.message}{tag}")
            if len(shown) < len(items):
                lines.append(f"    ... and {len(items) - len(shown)} more (--verbose lists all)")
    counts = ", ".join(f"{len(report.of(s))} {s.value}" for s in Severity)
    verdict = "clean" if report.ok else "FAILED"
    lines.append(f"spec lint {verdict}: {counts} ({report.seconds:.1f} s, {report.spec_dir})")
    return "\n".join(lines)


def findings_json(report: LintReport) -> str:
    return json.dumps(report.as_dict(), indent=2)
