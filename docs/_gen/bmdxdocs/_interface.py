"""The HTTP interface page (from spec/api/openapi.yaml) and the security profile page."""

from __future__ import annotations

import json
import re
from collections.abc import Container
from pathlib import Path
from typing import Any

from bmdxdocs._md import cell, code, generated_note, link_ids, rel
from bmdxdocs._model import Catalogue, load_yaml

API_PAGE = "api/index.md"
SECURITY_PAGE = "security.md"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _ref_text(ref: str, page: str, schema_pages: dict[str, str]) -> str:
    if ref.startswith("#/components/schemas/"):
        return code(ref.rsplit("/", 1)[-1])
    file = ref.rsplit("/", 1)[-1].partition("#")[0]
    if file in schema_pages:
        return f"[{file.removesuffix('.json')}]({rel(page, schema_pages[file])})"
    return code(ref)


def _schema_text(schema: Any, page: str, schema_pages: dict[str, str]) -> str:
    if not isinstance(schema, dict):
        return ""
    if isinstance(schema.get("$ref"), str):
        return _ref_text(schema["$ref"], page, schema_pages)
    if schema.get("type") == "array":
        return f"array of {_schema_text(schema.get('items'), page, schema_pages)}"
    if "oneOf" in schema:
        return " or ".join(_schema_text(s, page, schema_pages) for s in schema["oneOf"])
    kind = schema.get("type")
    return code(kind) if kind else ""


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    """Follow a local ``#/components/...`` reference (parameters, responses, bodies)."""
    ref = node.get("$ref") if isinstance(node, dict) else None
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = doc
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return target
    return node


class _Api:
    """Renders the operations of one OpenAPI document onto the API page."""

    def __init__(
        self, doc: dict[str, Any], page: str, schema_pages: dict[str, str], known: Container[str]
    ) -> None:
        self.doc, self.page, self.schema_pages, self.known = doc, page, schema_pages, known

    def schema(self, schema: Any) -> str:
        return _schema_text(schema, self.page, self.schema_pages)

    def operation(
        self, route: str, method: str, op: dict[str, Any], item: dict[str, Any]
    ) -> list[str]:
        anchor = op.get("operationId") or re.sub(r"[^A-Za-z0-9]+", "-", f"{method}{route}")
        lines = [f"### {method.upper()} `{route}` {{ #{anchor} }}", ""]
        if op.get("summary"):
            lines += [f"**{cell(op['summary'])}**", ""]
        if op.get("description"):
            lines += [link_ids(str(op["description"]).strip(), self.page, self.known), ""]
        params = [
            _resolve(self.doc, p)
            for p in (item.get("parameters") or []) + (op.get("parameters") or [])
        ]
        return lines + self.parameters(params) + self.body(op) + self.responses(op)

    def parameters(self, params: list[Any]) -> list[str]:
        if not params:
            return []
        lines = ["| parameter | in | required | type | description |", "|---|---|---|---|---|"]
        for param in params:
            p = param if isinstance(param, dict) else {}
            lines.append(
                f"| {code(p.get('name', '?'))} | {p.get('in', '')} "
                f"| {'yes' if p.get('required') else 'no'} | {self.schema(p.get('schema'))} "
                f"| {cell(p.get('description', ''))} |"
            )
        return [*lines, ""]

    def body(self, op: dict[str, Any]) -> list[str]:
        body = _resolve(self.doc, op.get("requestBody"))
        if not (isinstance(body, dict) and body.get("content")):
            return []
        lines = ["Request body:", ""]
        for media, content in body["content"].items():
            lines.append(f"- {code(media)} {self.schema((content or {}).get('schema'))}".rstrip())
        return [*lines, ""]

    def responses(self, op: dict[str, Any]) -> list[str]:
        responses = op.get("responses") or {}
        if not responses:
            return []
        lines = ["| status | description | content |", "|---|---|---|"]
        for status, raw in responses.items():
            resolved = _resolve(self.doc, raw)
            resp = resolved if isinstance(resolved, dict) else {}
            media = ", ".join(
                f"{code(m)} {self.schema((c or {}).get('schema'))}".strip()
                for m, c in (resp.get("content") or {}).items()
            )
            lines.append(f"| {code(status)} | {cell(resp.get('description', ''))} | {media} |")
        return [*lines, ""]


def api_page(spec_root: Path, cat: Catalogue, schema_pages: dict[str, str]) -> str:
    page = API_PAGE
    path = spec_root / "api" / "openapi.yaml"
    lines = ["# HTTP interface", ""]
    if not path.is_file():
        lines += [
            "The HTTP interface is specified in a later revision of the spec: this page is "
            "generated from `spec/api/openapi.yaml` and fills itself when that document is "
            "added. Until then, the [requirements](../requirements/index.md) and the "
            "[object types](../objects/index.md) define the exchanged documents.",
        ]
        lines.append(generated_note("`spec/api/`"))
        return "\n".join(lines)
    doc = load_yaml(path) or {}
    info = doc.get("info") or {}
    known = cat.requirements
    lines += [
        f"{info.get('title', 'BMDX API')}, version {code(info.get('version', '?'))}, "
        f"OpenAPI {code(doc.get('openapi', '?'))}. "
        f"Download the document: [openapi.yaml](openapi.yaml).",
        "",
    ]
    if info.get("description"):
        lines += [link_ids(str(info["description"]).strip(), page, known), ""]
    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    if schemes:
        lines += ["## Security schemes", ""]
        for name, scheme in schemes.items():
            desc = cell((scheme or {}).get("description", ""))
            lines.append(f"- {code(name)} ({(scheme or {}).get('type', '?')}): {desc}")
        lines.append("")
    lines += ["## Operations", ""]
    ctx = _Api(doc, page, schema_pages, known)
    for route, item in (doc.get("paths") or {}).items():
        for method in _METHODS:
            op = (item or {}).get(method)
            if isinstance(op, dict):
                lines += ctx.operation(route, method, op, item)
    lines.append(generated_note("`spec/api/openapi.yaml`"))
    return "\n".join(lines)


def _comments(text: str) -> dict[str, str]:
    """The ``#`` comment lines directly above each key, by dotted key path.

    YAML loaders drop comments; the security profile documents each setting in one.
    """
    out: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
            continue
        m = re.match(r"^(\s*)([A-Za-z0-9_.-]+):", raw)
        if not m:
            pending = []
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group(2)))
        if pending:
            out[".".join(k for _, k in stack)] = " ".join(pending)
        pending = []
    return out


def _schema_description(schema: Any, keys: list[str]) -> str:
    node = schema
    for key in keys:
        if not isinstance(node, dict):
            return ""
        node = (node.get("properties") or {}).get(key)
    return str(node.get("description", "")) if isinstance(node, dict) else ""


def _value(value: Any) -> str:
    if value == []:
        return "none"
    if isinstance(value, list):
        return ", ".join(code(v if isinstance(v, str) else json.dumps(v)) for v in value)
    if isinstance(value, str):
        return code(value)
    return code(json.dumps(value))


class _ProfileTables:
    """Tables of the security profile's settings, each explained by its comment or schema."""

    def __init__(
        self, notes: dict[str, str], schema: Any, page: str, known: Container[str]
    ) -> None:
        self.notes, self.schema, self.page, self.known = notes, schema, page, known

    def heading(self, keys: list[str]) -> list[str]:
        dotted = ".".join(keys)
        out = [f"{'#' * min(len(keys) + 2, 6)} {code(dotted)}", ""]
        if self.notes.get(dotted):
            out += [link_ids(self.notes[dotted], self.page, self.known), ""]
        return out

    def _cell(self, value: Any) -> str:
        if isinstance(value, str):
            return cell(link_ids(value, self.page, self.known))
        return cell(_value(value))

    def records(self, items: list[dict[str, Any]], keys: list[str]) -> list[str]:
        columns = list(dict.fromkeys(k for item in items for k in item))
        out = self.heading(keys)
        out += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for item in items:
            row = [self._cell(item[c]) if c in item else "" for c in columns]
            out.append("| " + " | ".join(row) + " |")
        return [*out, ""]

    def table(self, mapping: dict[str, Any], keys: list[str]) -> list[str]:
        rows = ["| setting | value | meaning |", "|---|---|---|"]
        later: list[str] = []
        for key, value in mapping.items():
            path = [*keys, key]
            if isinstance(value, dict):
                later += self.heading(path) + self.table(value, path)
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                later += self.records(value, path)
            else:
                meaning = self.notes.get(".".join(path)) or _schema_description(self.schema, path)
                rows.append(
                    f"| {code(key)} | {cell(_value(value))} "
                    f"| {cell(link_ids(meaning, self.page, self.known))} |"
                )
        return ([*rows, ""] if len(rows) > 2 else []) + later


def security_page(spec_root: Path, cat: Catalogue) -> str:
    page = SECURITY_PAGE
    path = spec_root / "security" / "profile.yaml"
    lines = ["# Security profile", ""]
    if not path.is_file():
        lines += ["The security profile (`spec/security/profile.yaml`) is not written yet."]
        lines.append(generated_note("`spec/security/`"))
        return "\n".join(lines)
    text = path.read_text(encoding="utf-8")
    data = load_yaml(path) or {}
    notes = _comments(text)
    schema_file = spec_root / "security" / "profile.schema.json"
    schema = json.loads(schema_file.read_bytes()) if schema_file.is_file() else {}
    known = cat.requirements
    lines += [
        "The algorithms, key sizes, time windows and limits every BMDX implementation "
        "enforces, as data. The reference node and the conformance suite both read this file. "
        f"The requirements of the [security profile]({rel(page, 'profiles/security.md')}) "
        "state the rules these values parameterise.",
        "",
        f"Profile {code(data.get('profile', '?'))}, version {code(data.get('version', '?'))}.",
        "",
    ]

    tables = _ProfileTables(notes, schema, page, known)

    for section, value in data.items():
        if section in ("profile", "version"):
            continue
        lines += [f"## {section.replace('_', ' ').capitalize()} {{ #{section} }}", ""]
        described = notes.get(section) or _schema_description(schema, [section])
        if described:
            lines += [link_ids(described, page, known), ""]
        if isinstance(value, dict):
            lines += tables.table(value, [section])
        else:
            lines += [_value(value), ""]
    lines += [
        "## The profile file",
        "",
        '??? note "spec/security/profile.yaml"',
        "",
        "    ```yaml",
        *("    " + line if line else "" for line in text.rstrip().splitlines()),
        "    ```",
    ]
    lines.append(generated_note("`spec/security/profile.yaml`"))
    return "\n".join(lines)
