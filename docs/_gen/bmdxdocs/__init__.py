"""Generate the documentation site's spec pages from spec/ (and the conformance suite).

``generate_site`` is a pure function of the files it reads: it returns every generated
file (site path -> text or bytes) plus the navigation, and the mkdocs-gen-files script
``docs/_gen/gen_pages.py`` only writes them.  Tests call it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bmdxdocs._changelog import MARKER as UPGRADE_MARKER
from bmdxdocs._changelog import PAGE as CHANGELOG_PAGE
from bmdxdocs._changelog import upgrade_impact
from bmdxdocs._conformance import (
    ADAPTER_PAGE,
    INDEX_PAGE,
    KILL_MATRIX_PAGE,
    adapter_page,
    format_pages,
    index_page,
    kill_matrix_page,
)
from bmdxdocs._data import (
    ANOMALY_PAGE,
    BENCHMARKS_PAGE,
    WYCHEPROOF_PAGE,
    anomaly_page,
    benchmarks_page,
    wycheproof_page,
)
from bmdxdocs._interface import API_PAGE, SECURITY_PAGE, api_page, security_page
from bmdxdocs._md import link_ids
from bmdxdocs._model import Catalogue, attach_suite, load_catalogue, load_schemas
from bmdxdocs._objects import object_pages, objects_index, schema_page
from bmdxdocs._requirements import profile_page, profile_pages, profiles_index, requirements_page
from bmdxdocs._texts import convention_pages, static_files, vector_pages
from bmdxdocs._tools import CLI_PAGE, ToolRuns, cli_page, expand_markers

__all__ = ["GeneratedSite", "generate_site"]

# Hand-written pages, in navigation order (they live in docs/).
HAND_WRITTEN = (
    ("Home", "index.md"),
    ("Vendor guide", "vendor-guide.md"),
    ("Committee guide", "committee-guide.md"),
)
TRAILING = (
    ("Architecture", "architecture.md"),
    ("Design decisions", "decisions.md"),
    ("Changelog", CHANGELOG_PAGE),
)


@dataclass(frozen=True)
class GeneratedSite:
    files: dict[str, str | bytes]

    def text(self, path: str) -> str:
        value = self.files[path]
        return value if isinstance(value, str) else value.decode("utf-8")


def _nav(entries: list[tuple[str, Any]], indent: int = 0) -> list[str]:
    out: list[str] = []
    for title, target in entries:
        pad = "    " * indent
        if isinstance(target, str):
            out.append(f"{pad}- [{title}]({target})")
        else:
            out.append(f"{pad}- {title}")
            out += _nav(list(target), indent + 1)
    return out


Nav = list[tuple[str, Any]]  # a title and a page, or a title and a nested Nav


def _conformance_section(
    spec_root: Path, repo_root: Path | None, cat: Catalogue, files: dict[str, str | bytes]
) -> Nav:
    formats, formats_nav = format_pages(spec_root, repo_root, cat)
    files.update(formats)
    nav: Nav = []
    if (spec_root / "conformance").is_dir():
        files[INDEX_PAGE] = index_page(spec_root, cat, formats_nav)
        nav.append(("Overview", INDEX_PAGE))
        if formats_nav:
            nav.append(("File formats", list(formats_nav)))
        adapter = adapter_page(spec_root, cat)
        if adapter:
            files.update(adapter)
            nav.append(("Adapter protocol", ADAPTER_PAGE))
    files[KILL_MATRIX_PAGE] = kill_matrix_page(repo_root, cat)
    nav.append(("Kill matrix", KILL_MATRIX_PAGE))
    return nav


def _hand_written_pages(
    spec_root: Path,
    repo_root: Path | None,
    docs_dir: Path,
    cat: Catalogue,
    files: dict[str, str | bytes],
    *,
    run_tools: bool,
) -> None:
    tools = ToolRuns(spec_root, repo_root) if run_tools else None
    extra = {
        UPGRADE_MARKER[len("<!-- bmdx:") : -len(" -->")]: lambda: upgrade_impact(
            spec_root, repo_root, cat
        )
    }
    try:
        for _, page in (*HAND_WRITTEN, *TRAILING):
            template = docs_dir / page
            if template.is_file():
                text = expand_markers(
                    template.read_text(encoding="utf-8"), docs_dir.parent, tools, extra
                )
                files[page] = link_ids(text, page, cat.requirements)
    finally:
        if tools is not None:
            tools.close()


def generate_site(
    spec_root: Path, repo_root: Path | None, docs_dir: Path, *, run_tools: bool = False
) -> GeneratedSite:
    """Every generated file of the site, from ``spec_root`` (and the suite in ``repo_root``).

    ``run_tools`` runs the committee's tools (``bmdx spec lint``, ``rehash``, ``diff``)
    for the outputs the guides show; without it those places say the output is inserted
    at build time (the tests of the generator run without it, the site build with it).
    """
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

    data_nav: Nav = []
    for title, page, content in (
        ("Wycheproof profile", WYCHEPROOF_PAGE, wycheproof_page(spec_root, cat)),
        ("Anomaly rules", ANOMALY_PAGE, anomaly_page(spec_root, cat)),
    ):
        if content is not None:
            files[page] = content
            data_nav.append((title, page))

    conformance_nav = _conformance_section(spec_root, repo_root, cat, files)
    files[CLI_PAGE] = cli_page()
    bench = benchmarks_page(repo_root, cat)
    if bench is not None:
        files[BENCHMARKS_PAGE] = bench

    # Markers of the hand-written pages resolve against the repository holding docs/.
    _hand_written_pages(spec_root, repo_root, docs_dir, cat, files, run_tools=run_tools)

    spec_nav: Nav = [
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
    ]
    if conv_nav:
        spec_nav.append(("Conventions", list(conv_nav)))
    spec_nav += [
        ("HTTP interface", API_PAGE),
        ("Security profile", SECURITY_PAGE),
        *data_nav,
        ("Test vectors", [("Overview", "vectors/index.md"), *vec_nav]),
    ]
    nav: Nav = [
        *((t, p) for t, p in HAND_WRITTEN if (docs_dir / p).is_file()),
        ("Specification", spec_nav),
        ("Conformance", conformance_nav),
        ("Command line", CLI_PAGE),
    ]
    if bench is not None:
        nav.append(("Benchmarks", BENCHMARKS_PAGE))
    nav += [(t, p) for t, p in TRAILING if (docs_dir / p).is_file()]
    files["SUMMARY.md"] = "\n".join(_nav(nav)) + "\n"
    return GeneratedSite(files)
