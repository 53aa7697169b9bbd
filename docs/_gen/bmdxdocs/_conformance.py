"""The conformance section: the suite's file formats, the adapter protocol, the kill matrix.

Every page here is rendered from ``spec/conformance/`` (README files and JSON Schemas)
and from the suite's recorded kill matrix (``conformance/kill-matrix.yaml``).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import Counter
from pathlib import Path
from typing import Any

from bmdxdocs._md import cell, code, generated_note, link_ids, rel, req_link, rewrite_links
from bmdxdocs._model import Catalogue, kill_matrix_files, load_kill_matrix
from bmdxdocs._schema_tables import SchemaTables

INDEX_PAGE = "conformance/index.md"
ADAPTER_PAGE = "conformance/adapter.md"
KILL_MATRIX_PAGE = "conformance/kill-matrix.md"
SCHEMA_DOWNLOADS = "conformance/schemas"

# The example of each vendor-written file format, in docs/examples/ (validated against
# its schema by tests/docs/test_examples.py, shown on the format page and in the guide).
EXAMPLES: dict[str, str] = {
    "target-config": "target.toml",
    "claim": "claim.json",
    "expected-failures": "expected-failures.yaml",
}
_LANG = {".toml": "toml", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".jsonl": "json"}


def format_page(stem: str) -> str:
    return f"conformance/{stem}.md"


def _stem(path: Path) -> str:
    return path.name.removesuffix(".json").removesuffix(".schema")


def _title(text: str, fallback: str) -> str:
    m = re.search(r"^#\s+(.+?)\s*$", text, re.M)
    return m.group(1) if m else fallback


def conformance_site_path(spec_root: Path, spec_path: str) -> str | None:
    """Where a file of ``spec/conformance/`` is published (``spec_path`` inside spec/)."""
    parts = spec_path.split("/")
    if parts[0] != "conformance" or not (spec_root / spec_path).exists():
        return None
    rest = parts[1:]
    if not rest or rest == ["README.md"]:
        return INDEX_PAGE
    if rest[0] == "adapter":
        return ADAPTER_PAGE if len(rest) == 1 or rest[-1] == "README.md" else None
    if len(rest) == 1 and rest[0].endswith(".schema.json"):
        return format_page(_stem(Path(rest[0])))
    return None


def _linker(spec_root: Path, page: str) -> Any:
    """Resolve a ``$ref`` of a conformance schema to the page (and anchor) rendering it."""

    def link(target: str, name: str) -> str | None:
        parts = target.split("/")
        if parts[:2] == ["conformance", "adapter"]:
            stem = _stem(Path(parts[-1]))
            prefix = "common-" if stem == "common" else f"{stem}-"
            anchor = f"#{prefix}{name}" if name else ""
            return f"{rel(page, ADAPTER_PAGE)}{anchor}"
        if parts[0] == "conformance" and len(parts) == 2:
            site = format_page(_stem(Path(parts[1])))
            return f"{rel(page, site)}#def-{name}" if name else rel(page, site)
        return None

    return link


def _example_block(repo_root: Path | None, name: str, page: str) -> list[str]:
    if repo_root is None:
        return []
    path = repo_root / "docs" / "examples" / name
    if not path.is_file():
        return []
    lang = _LANG.get(path.suffix, "text")
    return [
        "## Example",
        "",
        f"`docs/examples/{name}`, checked against this schema by the documentation tests:",
        "",
        f'````{lang} title="{name}"',
        path.read_text(encoding="utf-8").rstrip(),
        "````",
        "",
    ]


def format_pages(
    spec_root: Path, repo_root: Path | None, cat: Catalogue
) -> tuple[dict[str, str | bytes], list[tuple[str, str]]]:
    """One page per schema of ``spec/conformance/`` (and the schema files to download)."""
    out: dict[str, str | bytes] = {}
    nav: list[tuple[str, str]] = []
    base = spec_root / "conformance"
    for path in sorted(base.glob("*.schema.json")) if base.is_dir() else ():
        stem = _stem(path)
        page = format_page(stem)
        schema = json.loads(path.read_bytes())
        title = str(schema.get("title") or stem)
        short = re.sub(r"^BMDX conformance\s+", "", title)
        short = short[:1].upper() + short[1:]
        source = f"conformance/{path.name}"
        out[f"{SCHEMA_DOWNLOADS}/{path.name}"] = path.read_bytes()
        lines = [f"# {short}", ""]
        if schema.get("description"):
            lines += [link_ids(str(schema["description"]), page, cat.requirements), ""]
        lines += [
            f"`$id` {code(schema.get('$id', ''))} · JSON Schema "
            f"[{path.name}]({rel(page, f'{SCHEMA_DOWNLOADS}/{path.name}')}) · "
            f"described in the [conformance suite overview]({rel(page, INDEX_PAGE)}).",
            "",
        ]
        tables = SchemaTables(
            schema, source, page, cat.requirements, linker=_linker(spec_root, page)
        )
        lines += tables.render()
        if stem in EXAMPLES:
            lines += _example_block(repo_root, EXAMPLES[stem], page)
        lines.append(generated_note(f"`spec/{source}`"))
        out[page] = "\n".join(lines)
        nav.append((short, page))
    return out, nav


def index_page(spec_root: Path, cat: Catalogue, formats: list[tuple[str, str]]) -> str:
    page = INDEX_PAGE
    readme = spec_root / "conformance" / "README.md"
    if not readme.is_file():
        return "# Conformance\n\nThe conformance suite's file formats are not specified yet.\n"
    text = readme.read_text(encoding="utf-8")

    def resolve(spec_path: str) -> str | None:
        return conformance_site_path(spec_root, spec_path)

    body = rewrite_links(text, page, "conformance/README.md", resolve)
    body = link_ids(body, page, cat.requirements)
    # The README names each schema file in its table: link them to their pages.
    for _, fpage in formats:
        stem = posixpath.basename(fpage).removesuffix(".md")
        body = body.replace(
            f"| `{stem}.schema.json` |", f"| [`{stem}.schema.json`]({rel(page, fpage)}) |"
        )
    extra = [
        "",
        "## On this site",
        "",
        *(
            f"- [{title}]({rel(page, fpage)}): every member of the format"
            for title, fpage in formats
        ),
        f"- [Adapter protocol]({rel(page, ADAPTER_PAGE)}): the envelope and every command",
        f"- [Kill matrix]({rel(page, KILL_MATRIX_PAGE)}): the broken variants the suite rejects",
        f"- [Command line]({rel(page, 'cli.md')}#bmdx-conformance): every option of "
        "`bmdx-conformance`",
        f"- [Vendor guide]({rel(page, 'vendor-guide.md')}): a run from start to finish",
    ]
    return body.rstrip() + "\n" + "\n".join(extra) + generated_note("`spec/conformance/README.md`")


# --------------------------------------------------------------------------- adapter


def _fields_summary(schema: Any, tables: SchemaTables) -> str:
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        ref = str(schema["$ref"])
        if ref.endswith("/$defs/empty"):
            return "(empty object)"
        return tables.type_of(schema)
    props = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    return ", ".join(code(n) + ("" if n in required else " (optional)") for n in props)


def adapter_page(spec_root: Path, cat: Catalogue) -> dict[str, str | bytes]:
    page = ADAPTER_PAGE
    base = spec_root / "conformance" / "adapter"
    if not base.is_dir():
        return {}
    out: dict[str, str | bytes] = {}
    readme = base / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else "# Adapter protocol\n"
    body = rewrite_links(
        text, page, "conformance/adapter/README.md", lambda p: conformance_site_path(spec_root, p)
    )
    body = link_ids(body, page, cat.requirements)
    lines = [body.rstrip(), ""]

    files = [base / "request.schema.json", base / "response.schema.json"]
    commands = sorted((base / "commands").glob("*.schema.json"))
    lines += [
        "## Command schemas",
        "",
        "Generated from `spec/conformance/adapter/commands/*.schema.json`: the members of "
        "each command's `args` and of its `result`.",
        "",
        "| cmd | what it does | args | result |",
        "|---|---|---|---|",
    ]
    details: list[str] = []
    for path in commands:
        cmd = _stem(path)
        schema = json.loads(path.read_bytes())
        source = f"conformance/adapter/commands/{path.name}"
        tables = SchemaTables(
            schema,
            source,
            page,
            cat.requirements,
            linker=_linker(spec_root, page),
            anchor_prefix=f"{cmd}-",
        )
        defs = schema.get("$defs") or {}
        lines.append(
            f"| [`{cmd}`](#cmd-{cmd}) "
            f"| {link_ids(cell(schema.get('description', '')), page, cat.requirements)} "
            f"| {cell(_fields_summary(defs.get('args'), tables))} "
            f"| {cell(_fields_summary(defs.get('result'), tables))} |"
        )
        details += [f"### `{cmd}` {{ #cmd-{cmd} }}", ""]
        if schema.get("description"):
            details += [link_ids(str(schema["description"]), page, cat.requirements), ""]
        details += [
            f"Schema: [{path.name}]({rel(page, f'{SCHEMA_DOWNLOADS}/adapter/commands/{path.name}')}).",
            "",
        ]
        details += tables.render(level=4)
        out[f"{SCHEMA_DOWNLOADS}/adapter/commands/{path.name}"] = path.read_bytes()
    lines += ["", *details]

    lines += ["## Envelope and shared definitions", ""]
    for path in [*files, base / "common.schema.json"]:
        if not path.is_file():
            continue
        schema = json.loads(path.read_bytes())
        stem = _stem(path)
        out[f"{SCHEMA_DOWNLOADS}/adapter/{path.name}"] = path.read_bytes()
        lines += [f"### {schema.get('title', stem)} {{ #schema-{stem} }}", ""]
        if schema.get("description"):
            lines += [link_ids(str(schema["description"]), page, cat.requirements), ""]
        lines += [
            f"Schema: [{path.name}]({rel(page, f'{SCHEMA_DOWNLOADS}/adapter/{path.name}')}).",
            "",
        ]
        prefix = "common-" if stem == "common" else f"{stem}-"
        tables = SchemaTables(
            schema,
            f"conformance/adapter/{path.name}",
            page,
            cat.requirements,
            linker=_linker(spec_root, page),
            anchor_prefix=prefix,
        )
        for i, branch in enumerate(schema.get("oneOf") or (), 1):
            if isinstance(branch, dict) and isinstance(branch.get("properties"), dict):
                lines += [f"Form {i}:", ""]
                lines += tables.table(branch, f"{stem}-form{i}", 4)
        lines += tables.render(level=4)
    lines.append(generated_note("`spec/conformance/adapter/`"))
    out[page] = "\n".join(lines)
    return out


# --------------------------------------------------------------------------- kill matrix


def kill_matrix_page(repo_root: Path | None, cat: Catalogue) -> str:
    page = KILL_MATRIX_PAGE
    known = cat.requirements
    suite = repo_root / "conformance" if repo_root is not None else None
    files = kill_matrix_files(suite) if suite is not None else []
    variants = load_kill_matrix(suite) if suite is not None else []
    lines = [
        "# Kill matrix",
        "",
        "The suite tests itself: each variant below is the reference implementation with "
        "one component deliberately broken (replaced or wrapped from outside, never by a "
        "hook inside the reference). The suite must certify every variant as "
        "*not conformant*, failing it on at least the requirements the variant was built "
        "to break; the unmodified reference passes the same tests. The matrix records "
        "which requirements each run actually failed.",
        "",
    ]
    if not variants:
        lines += [
            "No kill matrix is recorded yet. It is written to `conformance/kill-matrix.yaml` "
            "when the suite's self-test runs, and this page fills itself from it.",
        ]
        lines.append(generated_note("`conformance/kill-matrix.yaml`"))
        return "\n".join(lines)

    sources = ", ".join(code(p.relative_to(repo_root).as_posix()) for p in files if repo_root)
    missed_total = [v for v in variants if set(v.expected) - set(v.requirements)]
    stale = sorted(
        {
            pin
            for v in variants
            for pin in v.pins
            if ":" in pin
            and pin.partition(":")[0] in known
            and known[pin.partition(":")[0]].hash != pin.partition(":")[2]
        }
    )
    caught = Counter(rid for v in variants for rid in set(v.requirements))
    lines += [
        f"{len(variants)} variants, recorded in {sources}. "
        f"{len(variants) - len(missed_total)} were failed on every requirement they break; "
        f"{len(caught)} distinct requirements caught at least one variant.",
        "",
    ]
    if missed_total:
        lines += [
            '!!! warning "Variants not failed on what they break"',
            "",
            *(
                f"    - {code(v.name)}: expected "
                + ", ".join(sorted(set(v.expected) - set(v.requirements)))
                for v in missed_total
            ),
            "",
        ]
    if stale:
        lines += [
            "Recorded with a statement hash that no longer matches the catalogue (the "
            "requirement was reworded since; the matrix is re-recorded with the suite): "
            + ", ".join(code(p) for p in stale)
            + ".",
            "",
        ]
    lines += [
        "## Variants",
        "",
        "| variant | what is broken | target | must fail on | failed on |",
        "|---|---|---|---|---|",
    ]
    for v in variants:
        expected = ", ".join(req_link(page, r, known) for r in v.expected) or "—"
        failed = ", ".join(
            ("**" + req_link(page, r, known) + "**")
            if r in v.expected
            else req_link(page, r, known)
            for r in dict.fromkeys(v.requirements)
        )
        lines.append(
            f'| <span id="{_anchor(v.name)}"></span>{code(v.name)} '
            f"| {cell(v.description)} | {v.target or '—'} | {expected} | {failed or '—'} |"
        )
    lines += [
        "",
        "In *failed on*, the requirements a variant was built to break are in bold.",
        "",
        "## By requirement",
        "",
        "| requirement | level | variants it caught |",
        "|---|---|---|",
    ]
    for rid in sorted(caught):
        req = known.get(rid)
        names = [v.name for v in variants if rid in v.requirements]
        lines.append(
            f"| {req_link(page, rid, known)} | {req.level if req else '?'} "
            f"| {', '.join(f'[{n}](#{_anchor(n)})' for n in names)} |"
        )
    lines.append(generated_note(sources or "`conformance/kill-matrix.yaml`"))
    return "\n".join(lines)


def _anchor(name: str) -> str:
    return "variant-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
