"""Generate the documentation site's spec pages from spec/ (and the conformance suite).

``generate_site`` is a pure function of the files it reads: it returns every generated
file (site path -> text or bytes) plus the navigation, and the mkdocs-gen-files script
``docs/_gen/gen_pages.py`` only writes them.  Tests call it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bmdxdocs._changelog import PAGE as CHANGELOG_PAGE
from bmdxdocs._changelog import changelog_page, upgrade_impact
from bmdxdocs._interface import API_PAGE, SECURITY_PAGE, api_page, security_page
from bmdxdocs._model import attach_suite, load_catalogue, load_schemas
from bmdxdocs._objects import object_pages, objects_index, schema_page
from bmdxdocs._requirements import profile_page, profile_pages, profiles_index, requirements_page
from bmdxdocs._texts import convention_pages, static_files, vector_pages

__all__ = ["GeneratedSite", "generate_site"]

# Hand-written pages, in navigation order (they live in docs/).
HAND_WRITTEN = (
    ("Home", "index.md"),
    ("Vendor guide", "vendor-guide.md"),
    ("Committee guide", "committee-guide.md"),
)
TRAILING = (
    ("Architecture", "architecture.md"),
    ("Changelog", CHANGELOG_PAGE),
)


@dataclass(frozen=True)
class GeneratedSite:
    files: dict[str, str | bytes]

    def text(self, path: str) -> str:
        value = self.files[path]
        return value if isinstance(value, str) else value.decode("utf-8")


def _nav(entries: list[tuple[str, str | list[tuple[str, str]]]], indent: int = 0) -> list[str]:
    out: list[str] = []
    for title, target in entries:
        pad = "    " * indent
        if isinstance(target, str):
            out.append(f"{pad}- [{title}]({target})")
        else:
            out.append(f"{pad}- {title}")
            out += _nav(list(target), indent + 1)
    return out


def generate_site(spec_root: Path, repo_root: Path | None, docs_dir: Path) -> GeneratedSite:
    """Every generated file of the site, from ``spec_root`` (and the suite in ``repo_root``)."""
    cat = load_catalogue(spec_root)
    attach_suite(cat, repo_root)
    schemas = load_schemas(spec_root)
    obj_pages = {d.object_type: schema_page(d) for d in schemas if d.object_type}
    files: dict[str, str | bytes] = {}
    files["requirements/index.md"] = requirements_page(cat, obj_pages)
    files["profiles/index.md"] = profiles_index(cat)
    files.update(profile_pages(cat, obj_pages))
    files.update(object_pages(spec_root, schemas, cat))
    conventions, conv_nav = convention_pages(spec_root, cat)
    files.update(conventions)
    subset = (
        "conventions/schema-subset.md" if "conventions/schema-subset.md" in conventions else None
    )
    files["objects/index.md"] = objects_index(schemas, cat, subset)
    files[API_PAGE] = api_page(spec_root, cat, {d.file: schema_page(d) for d in schemas})
    files[SECURITY_PAGE] = security_page(spec_root, cat)
    vectors, vec_nav = vector_pages(spec_root, cat)
    files.update(vectors)
    files.update(static_files(spec_root))
    template = docs_dir / CHANGELOG_PAGE
    if template.is_file():
        files[CHANGELOG_PAGE] = changelog_page(
            template.read_text(encoding="utf-8"), upgrade_impact(spec_root, repo_root, cat)
        )

    spec_nav: list[tuple[str, str | list[tuple[str, str]]]] = [
        ("Requirements", "requirements/index.md"),
        (
            "Profiles",
            [("Overview", "profiles/index.md")] + [(p, profile_page(p)) for p in cat.profiles],
        ),
        (
            "Object types",
            [("Overview", "objects/index.md")]
            + [(d.title, schema_page(d)) for d in schemas if d.object_type]
            + [(d.title, schema_page(d)) for d in schemas if not d.object_type],
        ),
        ("HTTP interface", API_PAGE),
        ("Security profile", SECURITY_PAGE),
        ("Test vectors", [("Overview", "vectors/index.md"), *vec_nav]),
    ]
    if conv_nav:
        spec_nav.append(("Conventions", conv_nav))
    nav: list[tuple[str, str | list[tuple[str, str]]]] = [
        *((t, p) for t, p in HAND_WRITTEN if (docs_dir / p).is_file()),
        ("Specification", spec_nav),  # type: ignore[list-item]
        *((t, p) for t, p in TRAILING if (docs_dir / p).is_file()),
    ]
    files["SUMMARY.md"] = "\n".join(_nav(nav)) + "\n"
    return GeneratedSite(files)
