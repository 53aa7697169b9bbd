"""The changelog's generated "upgrade impact" section: ``bmdx spec diff`` since the last release."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bmdx.reference._internal.errors import BmdxError
from bmdx.reference._internal.specdiff import SpecDiff, diff_spec_dirs, open_spec
from bmdxdocs._md import cell, code, req_link
from bmdxdocs._model import Catalogue

MARKER = "<!-- bmdx:upgrade-impact -->"
PAGE = "changelog.md"


def previous_release(repo_root: Path) -> str | None:
    """The newest release tag reachable from HEAD (``BMDX_DOCS_DIFF_BASE`` overrides)."""
    override = os.environ.get("BMDX_DOCS_DIFF_BASE")
    if override:
        return override
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(repo_root), "describe", "--tags", "--abbrev=0", "--match", "v*"],  # noqa: S607
            capture_output=True,
            check=False,
            text=True,
        )
    except OSError:
        return None
    tag = done.stdout.strip()
    return tag if done.returncode == 0 and tag else None


def render_diff(diff: SpecDiff, cat: Catalogue) -> list[str]:
    page = PAGE
    known = cat.requirements
    if diff.empty:
        return ["No requirement, schema or vector has changed since that release.", ""]
    out: list[str] = []
    added, removed, changed = (
        diff.of_kind("added"),
        diff.of_kind("removed"),
        diff.of_kind("changed"),
    )
    if added:
        out += [
            f"#### Requirements added ({len(added)})",
            "",
            "| id | level | statement |",
            "|---|---|---|",
        ]
        out += [
            f"| {req_link(page, r.id, known)} | {r.level} | {cell(r.statement)} |" for r in added
        ]
        out.append("")
    if removed:
        out += [
            f"#### Requirements removed ({len(removed)})",
            "",
            "| id | level | statement |",
            "|---|---|---|",
        ]
        out += [f"| {code(r.id)} | {r.level} | {cell(r.statement)} |" for r in removed]
        out.append("")
    if changed:
        out += [
            f"#### Requirements changed ({len(changed)})",
            "",
            "| id | change | statement now |",
            "|---|---|---|",
        ]
        for r in changed:
            notes = []
            if r.reworded:
                notes.append("reworded: tests pinned to the old hash need review")
            if r.level_change:
                notes.append(f"level {r.level_change[0]} → {r.level_change[1]}")
            if r.profile_change:
                notes.append(f"profile {r.profile_change[0]} → {r.profile_change[1]}")
            out.append(
                f"| {req_link(page, r.id, known)} | {cell('; '.join(notes))} | {cell(r.statement)} |"
            )
        out.append("")
    for title, rows in (
        ("Breaking schema changes", [c for c in diff.schemas if c.breaking]),
        ("Compatible schema changes", [c for c in diff.schemas if not c.breaking]),
    ):
        if rows:
            out += [
                f"#### {title} ({len(rows)})",
                "",
                "| schema | where | change |",
                "|---|---|---|",
            ]
            out += [f"| {code(c.schema)} | {code(c.pointer)} | {cell(c.message)} |" for c in rows]
            out.append("")
    if diff.vectors:
        out += [
            f"#### Vector files changed ({len(diff.vectors)})",
            "",
            "| file | change |",
            "|---|---|",
        ]
        out += [f"| {code(v.path)} | {v.kind} |" for v in diff.vectors]
        out.append("")
    return out


def upgrade_impact(spec_root: Path, repo_root: Path | None, cat: Catalogue) -> str:
    lines = [
        "## Upgrade impact since the last release { #upgrade-impact }",
        "",
        "Generated at build time by `bmdx spec diff OLD NEW` between the previous release "
        "and this revision of `spec/`: requirements added, removed and reworded, schema "
        "changes that break existing documents, and changed vectors. Run the same command "
        "between any two revisions before upgrading.",
        "",
    ]
    base = previous_release(repo_root) if repo_root is not None else None
    if base is None:
        lines += [
            "There is no previous release to compare with: this is the first revision of "
            "the spec, so everything in it is new.",
            "",
        ]
        return "\n".join(lines)
    try:
        with open_spec(base, repo=repo_root) as old:
            diff = diff_spec_dirs(old, spec_root, old_label=base, new_label="this revision")
    except BmdxError as e:
        lines += [f"The previous release {code(base)} could not be read: {cell(e)}.", ""]
        return "\n".join(lines)
    lines += [f"Compared with release {code(base)}:", ""]
    lines += render_diff(diff, cat)
    return "\n".join(lines)


def changelog_page(template: str, section: str) -> str:
    if MARKER in template:
        return template.replace(MARKER, section)
    return template.rstrip() + "\n\n" + section
