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
from bmdxdocs._conformance import adapter_page, format_pages, kill_matrix_page
from bmdxdocs._data import anomaly_page, benchmarks_page
from bmdxdocs._md import link_ids, rewrite_links
from bmdxdocs._model import load_catalogue
from bmdxdocs._requirements import NO_TESTS
from bmdxdocs._tools import DEMO_REQUIREMENT, MarkerError, ToolRuns, expand_markers

from bmdx.reference._internal.catalogue import statement_hash
from bmdx.reference._internal.specdata import spec_dir
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


def test_interface_page_follows_the_openapi_document(
    spec_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generated from whichever spec BMDX_SPEC_DIR names: with the document, without it,
    and after it appears again with other operations."""
    monkeypatch.setenv("BMDX_SPEC_DIR", str(spec_copy))
    assert spec_dir() == spec_copy.resolve()
    api = spec_copy / "api" / "openapi.yaml"
    document = yaml.safe_load(api.read_text(encoding="utf-8"))

    present = generate_site(spec_dir(), None, DOCS)
    page = present.text("api/index.md")
    assert "specified in a later revision" not in page
    for route, item in document["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                assert f"### {method.upper()} `{route}` {{ #{op['operationId']} }}" in page
    assert present.files["api/openapi.yaml"] == api.read_bytes()

    shutil.rmtree(spec_copy / "api")
    absent = generate_site(spec_dir(), None, DOCS)
    assert "specified in a later revision" in absent.text("api/index.md")
    assert "api/openapi.yaml" not in absent.files

    (spec_copy / "api").mkdir()
    api.write_text(
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
    site = generate_site(spec_dir(), None, DOCS)
    after = site.text("api/index.md")
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


# --------------------------------------------------------------------------- new sections


def test_navigation_lists_every_section() -> None:
    nav = generate_site(SPEC, REPO_ROOT, DOCS).text("SUMMARY.md")
    for entry in (
        "[Consent evaluation](conventions/consent.md)",
        "[The audit trail, its exports and the anomaly rules](conventions/audit.md)",
        "(conventions/ledger.md)",
        "(conventions/schema-subset.md)",
        "[Anomaly rules](anomaly.md)",
        "[Wycheproof profile](security-wycheproof.md)",
        "[Target configuration](conformance/target-config.md)",
        "[Claim](conformance/claim.md)",
        "[Expected failures](conformance/expected-failures.md)",
        "[Report](conformance/report.md)",
        "(conformance/certificate.md)",
        "[Adapter protocol](conformance/adapter.md)",
        "[Kill matrix](conformance/kill-matrix.md)",
        "[Command line](cli.md)",
        "[Benchmarks](benchmarks.md)",
        "[Design decisions](decisions.md)",
    ):
        assert entry in nav, entry


def test_format_pages_show_every_member_of_their_schema() -> None:
    cat = load_catalogue(SPEC)
    files, nav = format_pages(SPEC, REPO_ROOT, cat)
    schemas = sorted((SPEC / "conformance").glob("*.schema.json"))
    assert len(nav) == len(schemas)
    for path in schemas:
        schema = json.loads(path.read_bytes())
        page = str(files[f"conformance/{path.name.removesuffix('.schema.json')}.md"])
        for name in schema.get("properties", {}):
            assert re.search(rf"^\| `{name}` \|", page, re.M), (path.name, name)
        for name, sub in schema.get("$defs", {}).items():
            assert f"## {name} {{ #def-{name} }}" in page
            for member in sub.get("properties", {}):
                assert re.search(rf"^\| `{member}` \|", page, re.M), (path.name, name, member)
        assert files[f"conformance/schemas/{path.name}"] == path.read_bytes()
    assert '````toml title="target.toml"' in str(files["conformance/target-config.md"])


def test_adapter_page_has_a_row_and_a_section_per_command(spec_copy: Path) -> None:
    cat = load_catalogue(spec_copy)
    commands = sorted((spec_copy / "conformance" / "adapter" / "commands").glob("*.schema.json"))
    page = str(adapter_page(spec_copy, cat)["conformance/adapter.md"])
    assert page.startswith("# The BMDX adapter protocol")
    for path in commands:
        cmd = path.name.removesuffix(".schema.json")
        assert f"| [`{cmd}`](#cmd-{cmd}) |" in page
        assert f"### `{cmd}` {{ #cmd-{cmd} }}" in page
    # A new command schema appears in the table without any docs change.
    new = json.loads((commands[0]).read_bytes())
    new["description"] = "Says hello (a command added by the committee)."
    (commands[0].parent / "hello.schema.json").write_text(json.dumps(new))
    page = str(adapter_page(spec_copy, cat)["conformance/adapter.md"])
    assert "| [`hello`](#cmd-hello) | Says hello (a command added by the committee). |" in page


def test_kill_matrix_page_is_generated_from_the_recorded_matrix(tmp_path: Path) -> None:
    cat = load_catalogue(SPEC)
    assert "No kill matrix is recorded yet" in kill_matrix_page(tmp_path, cat)
    current = cat.requirements["BMDX-FMT-003"].hash
    (tmp_path / "conformance").mkdir()
    (tmp_path / "conformance" / "kill-matrix.yaml").write_text(
        yaml.safe_dump(
            {
                "variants": [
                    {
                        "name": "ijson-duplicate-keys",
                        "description": "keeps the last duplicate",
                        "target": "adapter",
                        "expected": ["BMDX-FMT-003"],
                        "requirements": [
                            f"BMDX-FMT-003:{current}",
                            "BMDX-FMT-030:0000000000000000",
                        ],
                    },
                    {
                        "name": "missed-variant",
                        "description": "not caught",
                        "target": "adapter",
                        "expected": ["BMDX-FMT-002"],
                        "requirements": [],
                    },
                ]
            }
        )
    )
    page = kill_matrix_page(tmp_path, cat)
    assert "2 variants, recorded in `conformance/kill-matrix.yaml`. 1 were failed" in page
    row = next(line for line in page.splitlines() if "`ijson-duplicate-keys` |" in line)
    assert "| keeps the last duplicate | adapter |" in row
    assert "**[BMDX-FMT-003](../requirements/index.md#BMDX-FMT-003)**" in row
    assert "    - `missed-variant`: expected BMDX-FMT-002" in page
    assert "`BMDX-FMT-030:0000000000000000`" in page  # a stale pin is named
    assert "[ijson-duplicate-keys](#variant-ijson-duplicate-keys)" in page


def test_anomaly_page_follows_the_rules_file(spec_copy: Path) -> None:
    rules_file = spec_copy / "anomaly" / "rules.yaml"
    rules = yaml.safe_load(rules_file.read_text())
    page = anomaly_page(spec_copy, load_catalogue(spec_copy))
    assert page is not None
    for rule in rules["rules"]:
        assert f"| `{rule['id']}` | {rule['severity']} |" in page
    rules["rules"][1]["threshold"] = 17
    rules_file.write_text(yaml.safe_dump(rules, sort_keys=False))
    page = anomaly_page(spec_copy, load_catalogue(spec_copy))
    assert page is not None
    assert (
        f"| `{rules['rules'][1]['id']}` | {rules['rules'][1]['severity']} | 3600 s (1 h) | 17 |"
        in page
    )


def test_benchmarks_page_shows_the_recorded_figures(tmp_path: Path) -> None:
    cat = load_catalogue(SPEC)
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    validation = json.loads((REPO_ROOT / "benchmarks" / "results" / "validation.json").read_bytes())
    validation["jsonschema_rs"]["docsPerSecond"] = 12345.6
    validation["ratio"] = 9.5
    validation["meetsGoal"] = False
    (results / "validation.json").write_text(json.dumps(validation))
    (results / "future.json").write_text(json.dumps({"benchmark": "future", "speed": {"x": 3}}))
    page = benchmarks_page(tmp_path, cat)
    assert page is not None
    row = next(line for line in page.splitlines() if line.startswith("| documents validated"))
    assert "| 12,345.6 docs/s |" in row
    assert "| 9.5x | at least 10x | **not met** |" in row
    assert "| `speed.x` | 3 |" in page  # an unknown format is shown as recorded
    assert "No benchmark results are recorded yet." in str(benchmarks_page(tmp_path / "x", cat))


def test_markers_are_replaced_and_unknown_ones_fail() -> None:
    text = "# Page\n\n<!-- bmdx:example docs/examples/claim.json -->\n\n<!-- bmdx:help bmdx spec lint -->\n"
    out = expand_markers(text, REPO_ROOT, None)
    assert '````json title="claim.json"' in out
    assert (REPO_ROOT / "docs" / "examples" / "claim.json").read_text().strip() in out
    assert "Usage: bmdx spec lint [OPTIONS]" in out
    assert "<!-- bmdx:" not in out
    assert "*The output of `spec-lint` is inserted here" in expand_markers(
        "<!-- bmdx:run spec-lint -->\n", REPO_ROOT, None
    )
    with pytest.raises(MarkerError):
        expand_markers("<!-- bmdx:exmaple docs/examples/claim.json -->\n", REPO_ROOT, None)
    with pytest.raises(MarkerError):
        expand_markers("<!-- bmdx:help bmdx no-such-command -->\n", REPO_ROOT, None)


def test_architecture_page_lists_the_real_modules() -> None:
    page = generate_site(SPEC, REPO_ROOT, DOCS).text("architecture.md")
    for package in ("reference", "conformance"):
        for path in (REPO_ROOT / package / "_internal").glob("*.py"):
            if path.name != "__init__.py":
                assert f"| `_internal/{path.name}` |" in page, path
    assert "| The conformance suite never imports the reference implementation | forbidden" in page


def test_tool_runs_show_the_real_output_of_rehash_and_diff() -> None:
    tools = ToolRuns(SPEC, REPO_ROOT)
    try:
        diff = tools.output("spec-diff")
        rehash = tools.output("spec-rehash")
    finally:
        tools.close()
    assert "bmdx spec diff spec edited/spec  (exit status 0)" in diff
    assert f"{DEMO_REQUIREMENT}: reworded" in diff
    assert "participant.json#/properties/keys: maxItems narrowed" in diff
    old = load_catalogue(SPEC).requirements[DEMO_REQUIREMENT].hash
    assert f"{DEMO_REQUIREMENT}: {old} -> " in rehash
    assert f"pins {DEMO_REQUIREMENT}:{old}; review" in rehash
