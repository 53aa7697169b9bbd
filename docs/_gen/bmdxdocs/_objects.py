"""One page per JSON Schema: description, field tables, examples in JSON and XML, requirements."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bmdxdocs._md import cell, code, generated_note, link_ids, rel, req_link
from bmdxdocs._model import Catalogue, SchemaDoc, load_yaml, requirement_annotations

SCHEMA_BASE = "https://bmdx.org/spec/1/schemas/"


def schema_page(doc: SchemaDoc) -> str:
    return f"objects/{doc.stem}.md"


class _Renderer:
    def __init__(
        self, doc: SchemaDoc, pages: dict[str, str], cat: Catalogue, titles: dict[str, str]
    ) -> None:
        self.titles = titles  # schema file name -> object type or title
        self.doc = doc
        self.page = schema_page(doc)
        self.pages = pages  # schema file name -> site page
        self.cat = cat

    def ref(self, ref: str) -> str:
        target = ref.removeprefix(SCHEMA_BASE)
        file, _, fragment = target.partition("#")
        name = fragment.rsplit("/", 1)[-1] if fragment.startswith("/$defs/") else ""
        label = name or (file.removesuffix(".json") if file else ref)
        if not file:
            return f"[{label}](#def-{name})" if name else code(ref)
        page = self.pages.get(file)
        if page is None:
            return code(ref)
        anchor = f"#def-{name}" if name else ""
        if not name:
            label = self._title_of(file)
        return f"[{label}]({rel(self.page, page)}{anchor})"

    def _title_of(self, file: str) -> str:
        return self.titles.get(file, file.removesuffix(".json"))

    def type_of(self, schema: Any) -> str:
        if not isinstance(schema, dict):
            return code(json.dumps(schema))
        if "$ref" in schema:
            return self.ref(str(schema["$ref"]))
        if "oneOf" in schema:
            return "one of " + ", ".join(self.type_of(b) for b in schema["oneOf"])
        kind = schema.get("type")
        if kind == "array":
            return f"array of {self.type_of(schema.get('items', {}))}"
        return code(kind) if kind else "any"

    @staticmethod
    def constraints(schema: Any) -> str:
        if not isinstance(schema, dict):
            return ""
        parts: list[str] = []
        if "const" in schema:
            parts.append(f"always {code(json.dumps(schema['const']))}")
        if "enum" in schema:
            parts.append("one of " + ", ".join(code(json.dumps(v)) for v in schema["enum"]))
        if "pattern" in schema:
            parts.append(f"pattern {code(schema['pattern'])}")
        for key, label in (
            ("minLength", "min length"),
            ("maxLength", "max length"),
            ("minItems", "min items"),
            ("maxItems", "max items"),
            ("minimum", "minimum"),
            ("exclusiveMinimum", "greater than"),
            ("maximum", "maximum"),
        ):
            if key in schema:
                parts.append(f"{label} {schema[key]}")
        if schema.get("uniqueItems"):
            parts.append("items unique")
        if "format" in schema:
            parts.append(f"format {code(schema['format'])}")
        return "; ".join(parts)

    def field_table(self, schema: dict[str, Any]) -> list[str]:
        props: dict[str, Any] = schema.get("properties") or {}
        if not props:
            return []
        required = set(schema.get("required") or ())
        rows = [
            "| field | type | required | description | constraints | requirement |",
            "|---|---|---|---|---|---|",
        ]
        for name, raw in props.items():
            sub = raw if isinstance(raw, dict) else {}
            rids = [sub.get("x-requirement")]
            if isinstance(sub.get("items"), dict):
                rids.append(sub["items"].get("x-requirement"))
            links = ", ".join(
                req_link(self.page, r, self.cat.requirements) for r in rids if isinstance(r, str)
            )
            constraints = self.constraints(sub)
            if isinstance(sub.get("items"), dict) and "$ref" not in sub["items"]:
                inner = self.constraints(sub["items"])
                constraints = "; ".join(
                    x for x in (constraints, f"items: {inner}" if inner else "") if x
                )
            rows.append(
                f"| {code(name)} | {self.type_of(sub)} | {'yes' if name in required else 'no'} "
                f"| {cell(sub.get('description', ''))} | {cell(constraints)} | {links} |"
            )
        return [*rows, ""]

    def definitions(self) -> list[str]:
        defs: dict[str, Any] = self.doc.schema.get("$defs") or {}
        if not defs:
            return []
        out = ["## Definitions", ""]
        for name, raw in defs.items():
            sub = raw if isinstance(raw, dict) else {}
            out += [f"### {name} {{ #def-{name} }}", ""]
            if sub.get("description"):
                out += [link_ids(str(sub["description"]), self.page, self.cat.requirements), ""]
            out.append(f"- **Type:** {self.type_of(sub)}")
            if self.constraints(sub):
                out.append(f"- **Constraints:** {self.constraints(sub)}")
            if isinstance(sub.get("x-requirement"), str):
                out.append(
                    f"- **Requirement:** {req_link(self.page, sub['x-requirement'], self.cat.requirements)}"
                )
            out.append("")
            out += self.field_table(sub)
        return out


constraints = _Renderer.constraints


def _examples(spec_root: Path, stem: str) -> tuple[list[str], list[str]]:
    valid_dir = spec_root / "examples" / "valid" / stem
    out: list[str] = []
    for path in sorted(valid_dir.glob("*.json")) if valid_dir.is_dir() else ():
        xml = path.with_suffix(".xml")
        out += [f"### {path.stem}", "", '<div class="grid" markdown>', ""]
        out += [
            f'````json title="{path.name}"',
            path.read_text(encoding="utf-8").rstrip(),
            "````",
            "",
        ]
        if xml.is_file():
            out += [
                f'````xml title="{xml.name}"',
                xml.read_text(encoding="utf-8").rstrip(),
                "````",
                "",
            ]
        else:
            out += [
                f"No XML counterpart of `{path.name}` is committed yet; "
                f"`bmdx convert {path.name}` writes it.",
                "",
            ]
        out += ["</div>", ""]
    invalid_dir = spec_root / "examples" / "invalid" / stem
    bad: list[str] = []
    expected_file = invalid_dir / "expected.yaml"
    if expected_file.is_file():
        expected = load_yaml(expected_file) or {}
        bad = [f"{name}\t{rid}" for name, rid in sorted(expected.items())]
    return out, bad


def _examples_section(spec_root: Path, doc: SchemaDoc, page: str, cat: Catalogue) -> list[str]:
    title = doc.title
    lines: list[str] = []
    valid, invalid = _examples(spec_root, doc.stem)
    lines += ["## Examples", ""]
    if valid:
        lines += valid
    else:
        lines += [f"No valid example of {title} is committed yet.", ""]
    if invalid:
        lines += [
            "### Invalid examples",
            "",
            "Each of these documents in `spec/examples/invalid/"
            f"{doc.stem}/` breaks exactly one requirement; a conforming receiver "
            "rejects it naming that requirement.",
            "",
            "| document | breaks |",
            "|---|---|",
        ]
        for row in invalid:
            name, rid = row.split("\t")
            lines.append(f"| {code(name)} | {req_link(page, rid, cat.requirements)} |")
        lines.append("")
    return lines


def _requirements_section(doc: SchemaDoc, page: str, cat: Catalogue) -> list[str]:
    schema = doc.schema
    lines: list[str] = []
    rids = [
        rid
        for rid, req in cat.requirements.items()
        if doc.object_type and doc.object_type in req.objects
    ]
    rids += [rid for rid in requirement_annotations(schema) if rid not in rids]
    lines += ["## Requirements", ""]
    if rids:
        for rid in rids:
            req = cat.requirements.get(rid)
            text = f" ({req.level}) {cell(req.statement)}" if req else ""
            lines.append(f"- {req_link(page, rid, cat.requirements)}{text}")
    else:
        lines.append("No requirement names this schema yet.")
    return lines


def object_pages(spec_root: Path, schemas: list[SchemaDoc], cat: Catalogue) -> dict[str, str]:
    pages = {d.file: schema_page(d) for d in schemas}
    titles = {d.file: d.title for d in schemas}
    xsd_dir = spec_root / "schemas" / "xml"
    out: dict[str, str] = {}
    for doc in schemas:
        r = _Renderer(doc, pages, cat, titles)
        page = r.page
        schema = doc.schema
        title = doc.title
        lines = [f"# {title}", ""]
        if schema.get("description"):
            lines += [link_ids(str(schema["description"]), page, cat.requirements), ""]
        files = [f"JSON Schema [{doc.file}]({rel(page, f'schemas/json/{doc.file}')})"]
        xsd = xsd_dir / f"{doc.stem}.xsd"
        if xsd.is_file():
            files.append(f"XML Schema [{xsd.name}]({rel(page, f'schemas/xml/{xsd.name}')})")
        lines += [f"`$id` {code(schema.get('$id', ''))} · " + " · ".join(files), ""]
        if doc.object_type:
            lines += [
                f"In XML the root element is `{doc.object_type}` in namespace `urn:bmdx:1`; "
                "in JSON, `objectType` names the type.",
                "",
            ]
        table = r.field_table(schema)
        if table:
            lines += ["## Fields", "", *table]
        lines += r.definitions()
        if doc.object_type:
            lines += _examples_section(spec_root, doc, page, cat)
        lines += _requirements_section(doc, page, cat)
        lines.append(generated_note(f"`spec/schemas/json/{doc.file}` and `spec/examples/`"))
        out[page] = "\n".join(lines)
    return out


def objects_index(schemas: list[SchemaDoc], cat: Catalogue, subset_page: str | None) -> str:
    page = "objects/index.md"
    lines = [
        "# Object types",
        "",
        "Every BMDX object type is defined once, as a JSON Schema in `spec/schemas/json/`, "
        "and written as JSON or XML (the XML Schemas are generated from the JSON Schemas).",
        "",
    ]
    if subset_page:
        lines += [
            f"The [schema subset and mapping]({rel(page, subset_page)}) states the rules.",
            "",
        ]
    lines += [
        "| object type | schema | description |",
        "|---|---|---|",
    ]
    for doc in schemas:
        if doc.object_type:
            lines.append(
                f"| [{doc.object_type}]({rel(page, schema_page(doc))}) | {code(doc.file)} "
                f"| {cell(doc.schema.get('description', ''))} |"
            )
    shared = [d for d in schemas if not d.object_type]
    if shared:
        lines += ["", "Shared definitions:", ""]
        lines += [f"- [{d.title}]({rel(page, schema_page(d))}) ({code(d.file)})" for d in shared]
    lines.append(generated_note("`spec/schemas/json/`"))
    return "\n".join(lines)
