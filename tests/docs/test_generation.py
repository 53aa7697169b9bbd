"""The documentation pages are generated from spec/: editing the spec changes the site."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from bmdxdocs import generate_site
from bmdxdocs._changelog import MARKER
from bmdxdocs._md import link_ids, rewrite_links
from bmdxdocs._model import load_catalogue
from bmdxdocs._requirements import NO_TESTS

from bmdx.reference._internal.catalogue import statement_hash
from tests.docs.conftest import REPO_ROOT, build_site

SPEC = REPO_ROOT / "spec"
DOCS = REPO_ROOT / "docs"
NEW_STATEMENT = (
    "A receiver MUST reject JSON input that fails to parse under RFC 8259, before anything else."
)


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "spec"
    shutil.copytree(SPEC, copy)
    return copy


def _reword(spec: Path, rid: str, statement: str) -> str:
    """Change one requirement's statement in the copy; return the old statement."""
    for path in sorted((spec / "requirements").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        for req in data["requirements"]:
            if req["id"] == rid:
                old = req["statement"]
                req["statement"] = statement
                req["hash"] = statement_hash(statement)
                path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
                return str(old)
    raise AssertionError(f"{rid} is not in the catalogue")


def test_every_requirement_is_a_stable_anchor() -> None:
    site = generate_site(SPEC, None, DOCS)
    page = site.text("requirements/index.md")
    catalogue = load_catalogue(SPEC)
    assert catalogue.requirements
    for rid in catalogue.requirements:
        assert f"### {rid} {{ #{rid} }}" in page


def test_rewording_a_requirement_changes_the_generated_pages(spec_copy: Path) -> None:
    old = _reword(spec_copy, "BMDX-FMT-001", NEW_STATEMENT)
    site = generate_site(spec_copy, None, DOCS)
    for page in ("requirements/index.md", "profiles/core-format.md"):
        text = site.text(page)
        assert NEW_STATEMENT in text
        assert old not in text
    assert f"`{statement_hash(NEW_STATEMENT)}`" in site.text("requirements/index.md")


@pytest.mark.slow
def test_rewording_a_requirement_changes_the_built_site(spec_copy: Path, tmp_path: Path) -> None:
    old = _reword(spec_copy, "BMDX-FMT-001", NEW_STATEMENT)
    out = tmp_path / "site"
    done = build_site(out, spec_dir=spec_copy)
    assert done.returncode == 0, done.stderr[-4000:]
    html = (out / "requirements" / "index.html").read_text(encoding="utf-8")
    assert NEW_STATEMENT in html
    assert old not in html


def test_profile_pages_list_their_requirements_and_link_to_the_catalogue() -> None:
    site = generate_site(SPEC, None, DOCS)
    catalogue = load_catalogue(SPEC)
    for profile in catalogue.profiles:
        text = site.text(f"profiles/{profile}.md")
        for req in catalogue.in_profile(profile):
            assert f"[{req.id}](../../requirements/index.md#{req.id})" not in text
            assert f"[{req.id}](../requirements/index.md#{req.id})" in text
    assert NO_TESTS in site.text("profiles/core-format.md")


def test_conformance_markers_and_kill_matrix_fill_the_pages(tmp_path: Path) -> None:
    catalogue = load_catalogue(SPEC)
    current = statement_hash(catalogue.requirements["BMDX-FMT-001"].statement)
    suite = tmp_path / "conformance" / "tests"
    suite.mkdir(parents=True)
    (suite / "test_json.py").write_text(
        "import pytest\n\n"
        f'@pytest.mark.requirement("BMDX-FMT-001:{current}")\n'
        "def test_rejects_malformed(): ...\n\n"
        "class TestDuplicates:\n"
        '    @pytest.mark.requirement("BMDX-FMT-001:0000000000000000", "BMDX-FMT-003:1")\n'
        "    def test_duplicate_names(self): ...\n"
    )
    (tmp_path / "conformance" / "kill-matrix.yaml").write_text(
        yaml.safe_dump(
            {
                "variants": [
                    {
                        "name": "lenient-json",
                        "description": "accepts trailing commas",
                        "requirements": ["BMDX-FMT-001"],
                    }
                ]
            }
        )
    )
    site = generate_site(SPEC, tmp_path, DOCS)
    page = site.text("requirements/index.md")
    entry = page.split("### BMDX-FMT-001 ", 1)[1].split("\n### ", 1)[0]
    assert "`conformance/tests/test_json.py::test_rejects_malformed`\n" in entry
    assert (
        "`conformance/tests/test_json.py::TestDuplicates::test_duplicate_names` — pinned to an "
        "earlier statement, under review" in entry
    )
    assert "`lenient-json`: accepts trailing commas" in entry
    assert NO_TESTS not in entry


def test_interface_page_fills_itself_when_openapi_appears(spec_copy: Path) -> None:
    before = generate_site(spec_copy, None, DOCS).text("api/index.md")
    (spec_copy / "api").mkdir(exist_ok=True)
    (spec_copy / "api" / "openapi.yaml").write_text(
        yaml.safe_dump(
            {
                "openapi": "3.1.0",
                "info": {"title": "BMDX node API", "version": "1.0"},
                "paths": {
                    "/participants/{id}": {
                        "get": {
                            "operationId": "getParticipant",
                            "summary": "Read a participant",
                            "parameters": [
                                {
                                    "name": "id",
                                    "in": "path",
                                    "required": True,
                                    "schema": {"type": "string"},
                                }
                            ],
                            "responses": {
                                "200": {
                                    "description": "The participant",
                                    "content": {
                                        "application/json": {
                                            "schema": {"$ref": "../schemas/json/participant.json"}
                                        }
                                    },
                                }
                            },
                        }
                    }
                },
            }
        )
    )
    site = generate_site(spec_copy, None, DOCS)
    after = site.text("api/index.md")
    assert "specified in a later revision" in before
    assert "specified in a later revision" not in after
    assert "### GET `/participants/{id}` { #getParticipant }" in after
    assert "`application/json` [participant](../objects/participant.md)" in after
    assert "api/openapi.yaml" in site.files


def test_object_page_shows_fields_requirements_and_examples_side_by_side(spec_copy: Path) -> None:
    schema = json.loads((spec_copy / "schemas" / "json" / "participant.json").read_text())
    valid = spec_copy / "examples" / "valid" / "participant"
    valid.mkdir(parents=True, exist_ok=True)
    for stale in valid.glob("*"):
        stale.unlink()
    (valid / "zz-test.json").write_text('{\n  "objectType": "Participant"\n}\n')
    (valid / "zz-test.xml").write_text('<Participant xmlns="urn:bmdx:1"/>\n')
    page = generate_site(spec_copy, None, DOCS).text("objects/participant.md")

    assert page.startswith("# Participant\n")
    for name in schema["properties"]:
        assert re.search(rf"^\| `{name}` \|", page, re.M), name
    assert "[BMDX-DM-011](../requirements/index.md#BMDX-DM-011)" in page
    grid = page.split("### zz-test", 1)[1].split("</div>", 1)[0]
    assert '<div class="grid" markdown>' in grid
    assert '````json title="zz-test.json"' in grid
    assert '````xml title="zz-test.xml"' in grid
    assert '<Participant xmlns="urn:bmdx:1"/>' in grid


def test_changelog_says_when_there_is_no_previous_release(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "changelog.md").write_text(f"# Changelog\n\n{MARKER}\n")
    site = generate_site(SPEC, None, docs)
    text = site.text("changelog.md")
    assert MARKER not in text
    assert "There is no previous release to compare with" in text


def test_changelog_shows_the_upgrade_impact_since_the_base(
    spec_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "old-spec"
    shutil.copytree(SPEC, old)
    _reword(spec_copy, "BMDX-FMT-001", NEW_STATEMENT)
    monkeypatch.setenv("BMDX_DOCS_DIFF_BASE", str(old))
    site = generate_site(spec_copy, tmp_path, DOCS)
    text = site.text("changelog.md")
    assert "#### Requirements changed (1)" in text
    assert "| [BMDX-FMT-001](requirements/index.md#BMDX-FMT-001) | reworded" in text


def test_embedded_text_links_ids_and_drops_unpublished_links() -> None:
    known = {"BMDX-FMT-001"}
    text = "See BMDX-FMT-001 and `BMDX-FMT-001` and BMDX-ZZZ-999.\n\n```\nBMDX-FMT-001\n```\n"
    linked = link_ids(text, "vectors/x/index.md", known)
    assert linked.startswith(
        "See [BMDX-FMT-001](../../requirements/index.md#BMDX-FMT-001) and `BMDX-FMT-001`"
    )
    assert "`BMDX-ZZZ-999`" in linked
    assert "```\nBMDX-FMT-001\n```" in linked

    published = {"vectors/x/data.json": "vectors/x/data.json"}
    rewritten = rewrite_links(
        "[data](data.json) [gen](../../../tools/gen.py) [web](https://example.org/)",
        "vectors/x/index.md",
        "vectors/x/README.md",
        published.get,
    )
    assert (
        rewritten == "[data](data.json) gen (`../../../tools/gen.py`) [web](https://example.org/)"
    )
