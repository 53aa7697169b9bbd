"""``bmdx spec diff``: what an upgrade from one spec revision to another changes for vendors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from bmdx.reference._internal.catalogue import statement_hash
from bmdx.reference._internal.errors import UsageError
from bmdx.reference._internal.specdiff import diff_spec_dirs, diff_specs
from bmdx.reference.cli._spec_diff import diff as diff_command

BASE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://bmdx.org/spec/1/schemas/widget.json",
    "x-object": "Widget",
    "type": "object",
    "additionalProperties": False,
    "required": ["objectType", "colour"],
    "properties": {
        "objectType": {"const": "Widget", "type": "string"},
        "colour": {"type": "string", "enum": ["red", "green", "blue"]},
        "label": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 64},
        "size": {"type": "integer", "minimum": 0},
    },
}


def _requirement(rid: str, statement: str, level: str = "MUST") -> dict[str, Any]:
    return {
        "id": rid,
        "level": level,
        "profile": "core-format",
        "statement": statement,
        "rationale": "Because.",
        "source": "test",
        "hash": statement_hash(statement),
    }


def write_spec(
    root: Path,
    requirements: list[dict[str, Any]],
    schema: dict[str, Any] | None = None,
    vectors: dict[str, str] | None = None,
) -> Path:
    (root / "requirements").mkdir(parents=True)
    (root / "requirements" / "test.yaml").write_text(
        yaml.safe_dump({"area": "TST", "title": "Test", "requirements": requirements})
    )
    (root / "schemas" / "json").mkdir(parents=True)
    (root / "schemas" / "json" / "widget.json").write_text(json.dumps(schema or BASE_SCHEMA))
    for rel, content in (vectors or {}).items():
        path = root / "vectors" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def _schema(**changes: Any) -> dict[str, Any]:
    schema = json.loads(json.dumps(BASE_SCHEMA))
    for dotted, value in changes.items():
        node = schema
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return schema


REQS = [
    _requirement("BMDX-TST-001", "A receiver MUST reject a widget without a colour."),
    _requirement("BMDX-TST-002", "A sender MUST write labels in lower case."),
    _requirement("BMDX-TST-003", "A receiver SHOULD log widgets.", level="SHOULD"),
]


def test_requirements_added_removed_reworded_and_level_changes(tmp_path: Path) -> None:
    old = write_spec(tmp_path / "old", REQS)
    new_reqs = [
        # whitespace only: the hash is whitespace-insensitive, so not reworded
        _requirement("BMDX-TST-001", "A receiver MUST  reject a widget\n without a colour."),
        _requirement("BMDX-TST-003", "A receiver MUST log widgets."),
        _requirement("BMDX-TST-004", "A receiver MUST reject an unknown colour."),
    ]
    new_reqs[1]["level"] = "MUST"
    new = write_spec(tmp_path / "new", new_reqs)

    result = diff_spec_dirs(old, new)

    assert [(r.id, r.kind) for r in result.requirements] == [
        ("BMDX-TST-002", "removed"),
        ("BMDX-TST-003", "changed"),
        ("BMDX-TST-004", "added"),
    ]
    changed = result.of_kind("changed")[0]
    assert changed.reworded is True
    assert changed.level_change == ("SHOULD", "MUST")
    assert changed.old_statement == "A receiver SHOULD log widgets."
    assert result.reworded == (changed,)
    assert result.schemas == ()
    assert result.vectors == ()


@pytest.mark.parametrize(
    ("changes", "message", "breaking"),
    [
        pytest.param(
            {
                "properties__serial": {"type": "string", "pattern": "^[0-9]+$"},
                "required": ["objectType", "colour", "serial"],
            },
            "new required property 'serial'",
            True,
            id="new-required-property",
        ),
        pytest.param(
            {"properties__serial": {"type": "string", "pattern": "^[0-9]+$"}},
            "new optional property 'serial'",
            False,
            id="new-optional-property",
        ),
        pytest.param(
            {"properties__size": None}, "property 'size' removed", True, id="removed-property"
        ),
        pytest.param(
            {"required": ["objectType", "colour", "size"]},
            "property 'size' is now required",
            True,
            id="now-required",
        ),
        pytest.param(
            {"properties__colour__enum": ["red", "green"]},
            "enumeration narrowed: ['blue'] no longer allowed",
            True,
            id="enum-narrowed",
        ),
        pytest.param(
            {"properties__colour__enum": ["red", "green", "blue", "black"]},
            "enumeration widened: ['black'] allowed",
            False,
            id="enum-widened",
        ),
        pytest.param(
            {"properties__label__pattern": "^[a-z]{1,8}$"},
            "pattern changed from ^[a-z]+$ to ^[a-z]{1,8}$",
            True,
            id="pattern-changed",
        ),
        pytest.param(
            {"properties__label__maxLength": 32},
            "maxLength narrowed from 64 to 32",
            True,
            id="max-length-narrowed",
        ),
        pytest.param(
            {"properties__label__maxLength": 128},
            "maxLength widened from 64 to 128",
            False,
            id="max-length-widened",
        ),
        pytest.param(
            {"properties__size__minimum": 1},
            "minimum narrowed from 0 to 1",
            True,
            id="minimum-raised",
        ),
        pytest.param(
            {"properties__size__type": "string"},
            "type changed from 'integer' to 'string'",
            True,
            id="type-change",
        ),
    ],
)
def test_schema_changes_are_classified(
    tmp_path: Path, changes: dict[str, Any], message: str, breaking: bool
) -> None:
    old = write_spec(tmp_path / "old", REQS)
    new = write_spec(tmp_path / "new", REQS, schema=_schema(**changes))

    result = diff_spec_dirs(old, new)

    assert [(c.schema, c.message, c.breaking) for c in result.schemas] == [
        ("widget.json", message, breaking)
    ]
    assert result.breaking == (tuple(result.schemas) if breaking else ())


def test_removed_and_added_schemas(tmp_path: Path) -> None:
    old = write_spec(tmp_path / "old", REQS)
    new = write_spec(tmp_path / "new", REQS)
    (old / "schemas" / "json" / "gadget.json").write_text(json.dumps({"x-object": "Gadget"}))
    (new / "schemas" / "json" / "gizmo.json").write_text(json.dumps({"x-object": "Gizmo"}))

    result = diff_spec_dirs(old, new)

    assert [(c.schema, c.message, c.breaking) for c in result.schemas] == [
        ("gadget.json", "schema removed", True),
        ("gizmo.json", "new object type Gizmo", False),
    ]


def test_changed_vectors(tmp_path: Path) -> None:
    old = write_spec(
        tmp_path / "old", REQS, vectors={"a/one.json": "1", "a/two.json": "2", "b/x": "x"}
    )
    new = write_spec(
        tmp_path / "new", REQS, vectors={"a/one.json": "1", "a/two.json": "22", "c/y": "y"}
    )

    result = diff_spec_dirs(old, new)

    assert [(v.set, v.path, v.kind) for v in result.vectors] == [
        ("a", "a/two.json", "changed"),
        ("b", "b/x", "removed"),
        ("c", "c/y", "added"),
    ]


def test_identical_specs_report_nothing(tmp_path: Path) -> None:
    old = write_spec(tmp_path / "old", REQS, vectors={"a/one.json": "1"})
    new = write_spec(tmp_path / "new", REQS, vectors={"a/one.json": "1"})

    result = diff_spec_dirs(old, new)

    assert result.empty
    assert "no changes" in result.to_text()


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
    )


def test_git_revisions_are_compared(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_spec(repo / "spec", REQS)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "one")
    _git(repo, "tag", "v1.0.0")
    (repo / "spec" / "requirements" / "test.yaml").write_text(
        yaml.safe_dump({"area": "TST", "title": "Test", "requirements": REQS[:2]})
    )
    _git(repo, "commit", "-q", "-am", "two")

    result = diff_specs("v1.0.0", "HEAD", repo=repo)
    assert [(r.id, r.kind) for r in result.requirements] == [("BMDX-TST-003", "removed")]

    # a revision against the working tree given as a repository root
    same = diff_specs("HEAD", str(repo), repo=repo)
    assert same.empty


def test_unknown_revision_and_missing_spec_are_usage_errors(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_spec(repo / "spec", REQS)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "one")
    with pytest.raises(UsageError) as bad_rev:
        diff_specs("no-such-tag", "HEAD", repo=repo)
    assert bad_rev.value.reason == "unknown-revision"
    assert bad_rev.value.requirement == "BMDX-SPEC-001"

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError) as no_spec:
        diff_specs(str(empty), "HEAD", repo=repo)
    assert no_spec.value.reason == "no-spec"


def test_cli_prints_text_and_json(tmp_path: Path) -> None:
    old = write_spec(tmp_path / "old", REQS)
    new = write_spec(
        tmp_path / "new",
        [*REQS, _requirement("BMDX-TST-009", "A node MUST answer.")],
        schema=_schema(properties__size=None),
    )
    runner = CliRunner()

    text = runner.invoke(diff_command, [str(old), str(new)])
    assert text.exit_code == 0, text.output
    assert "requirements added (1):" in text.output
    assert "  BMDX-TST-009 MUST: A node MUST answer." in text.output
    assert "breaking schema changes (1):" in text.output
    assert "widget.json#/properties/size: property 'size' removed" in text.output

    as_json = runner.invoke(diff_command, [str(old), str(new), "--format", "json"])
    assert as_json.exit_code == 0
    body = json.loads(as_json.output)
    assert [r["id"] for r in body["requirements"]["added"]] == ["BMDX-TST-009"]
    assert body["schemas"]["breaking"] == [
        {
            "schema": "widget.json",
            "pointer": "/properties/size",
            "breaking": True,
            "message": "property 'size' removed",
        }
    ]
    assert body["vectors"] == []


def test_cli_reports_unreadable_revision_with_exit_2(tmp_path: Path) -> None:
    old = write_spec(tmp_path / "old", REQS)
    empty = tmp_path / "empty"
    empty.mkdir()

    done = CliRunner().invoke(diff_command, [str(old), str(empty)])

    assert done.exit_code == 2
    assert "[no-spec]" in done.output
