"""Spec files published as they are: normative conventions, vector sets with their READMEs,
and the schema, XSD and OpenAPI files offered for download."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from bmdxdocs._conformance import conformance_site_path
from bmdxdocs._md import cell, code, generated_note, link_ids, rel, rewrite_links
from bmdxdocs._model import Catalogue


def _vector_path(parts: list[str], spec_path: str) -> str:
    if len(parts) == 2 or (len(parts) == 3 and parts[2] == "README.md"):
        return f"vectors/{parts[1]}/index.md"
    return spec_path


def site_path_for(spec_root: Path, spec_path: str) -> str | None:
    """Where a file of spec/ is published on the site, if it is."""
    parts = spec_path.split("/")
    found: str | None = None
    if not (spec_root / spec_path).exists():
        found = None
    elif parts[0] == "conventions" and len(parts) == 2 and spec_path.endswith(".md"):
        found = spec_path
    elif parts[0] == "vectors" and len(parts) >= 2:
        found = _vector_path(parts, spec_path)
    elif parts[0] == "schemas" and len(parts) == 3 and parts[1] in ("json", "xml"):
        found = spec_path
    elif parts[0] == "api":
        found = "api/openapi.yaml" if spec_path.endswith(".yaml") else "api/index.md"
    elif parts[0] == "conformance":
        found = conformance_site_path(spec_root, spec_path)
    elif parts[0] == "anomaly":
        found = "anomaly.md"
    elif spec_path == "security/wycheproof-profile.yaml":
        found = "security-wycheproof.md"
    elif parts[0] == "examples" and len(parts) >= 3:
        schema = spec_root / "schemas" / "json" / f"{parts[2]}.json"
        found = f"objects/{parts[2]}.md" if schema.is_file() else None
    else:
        found = {"requirements": "requirements/index.md", "security": "security.md"}.get(parts[0])
    return found


def _title(text: str, fallback: str) -> str:
    m = re.search(r"^#\s+(.+?)\s*$", text, re.M)
    return m.group(1) if m else fallback


def _first_paragraph(text: str) -> str:
    body = re.sub(r"^#.*$", "", text, count=1, flags=re.M).strip()
    return body.split("\n\n", 1)[0] if body else ""


def convention_pages(
    spec_root: Path, cat: Catalogue
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    pages: dict[str, str] = {}
    nav: list[tuple[str, str]] = []
    for path in sorted((spec_root / "conventions").glob("*.md")):
        page = f"conventions/{path.name}"
        text = path.read_text(encoding="utf-8")
        body = rewrite_links(text, page, page, lambda p: site_path_for(spec_root, p))
        body = link_ids(body, page, cat.requirements)
        if not re.match(r"^#\s", body):
            body = f"# {path.stem.replace('-', ' ').capitalize()}\n\n{body}"
        pages[page] = body.rstrip() + generated_note(f"`spec/{page}`")
        nav.append((_title(text, path.stem), page))
    return pages, nav


def vector_pages(
    spec_root: Path, cat: Catalogue
) -> tuple[dict[str, str | bytes], list[tuple[str, str]]]:
    out: dict[str, str | bytes] = {}
    nav: list[tuple[str, str]] = []
    base = spec_root / "vectors"
    sets = sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    index = [
        "# Test vectors",
        "",
        "Normative vectors: each set is generated deterministically by a checked-in "
        "generator, documented by its README, and executed by the conformance suite. "
        "An implementation that disagrees with a vector does not conform.",
        "",
    ]
    if sets:
        index += ["| set | files | summary |", "|---|---|---|"]
    else:
        index += ["No vector sets are committed yet.", ""]
    for vset in sets:
        page = f"vectors/{vset.name}/index.md"
        readme = vset / "README.md"
        text = readme.read_text(encoding="utf-8") if readme.is_file() else f"# {vset.name}\n"
        source = f"vectors/{vset.name}/README.md"
        body = rewrite_links(text, page, source, lambda p: site_path_for(spec_root, p))
        body = link_ids(body, page, cat.requirements)
        if not re.match(r"^#\s", body):
            body = f"# {vset.name}\n\n{body}"
        files = sorted(p for p in vset.rglob("*") if p.is_file() and p != readme)
        listing = ["", "## Files", "", "| file | bytes | SHA-256 |", "|---|---|---|"]
        for f in files:
            relpath = f.relative_to(vset).as_posix()
            data = f.read_bytes()
            out[f"vectors/{vset.name}/{relpath}"] = data
            listing.append(
                f"| [{relpath}]({relpath}) | {len(data)} | {code(hashlib.sha256(data).hexdigest())} |"
            )
        if not files:
            listing.append("| (none) | | |")
        out[page] = (
            body.rstrip()
            + "\n"
            + "\n".join(listing)
            + generated_note(f"`spec/vectors/{vset.name}/`")
        )
        title = _title(text, vset.name)
        nav.append((title, page))
        summary = link_ids(_first_paragraph(text), "vectors/index.md", cat.requirements)
        summary = rewrite_links(
            summary, "vectors/index.md", source, lambda p: site_path_for(spec_root, p)
        )
        index.append(
            f"| [{vset.name}]({rel('vectors/index.md', page)}) | {len(files)} | {cell(summary)} |"
        )
    out["vectors/index.md"] = "\n".join(index) + generated_note("`spec/vectors/`")
    return out, nav


def static_files(spec_root: Path) -> dict[str, str | bytes]:
    """Schemas, XSDs and the OpenAPI document, downloadable from the site."""
    out: dict[str, str | bytes] = {}
    for sub, pattern in (("json", "*.json"), ("xml", "*.xsd")):
        for path in sorted((spec_root / "schemas" / sub).glob(pattern)):
            out[f"schemas/{sub}/{path.name}"] = path.read_bytes()
    api = spec_root / "api" / "openapi.yaml"
    if api.is_file():
        out["api/openapi.yaml"] = api.read_bytes()
    return out
