"""The requirement catalogue pages: /requirements/ (every id an anchor) and one page per profile."""

from __future__ import annotations

from collections import Counter

from bmdxdocs._md import REQUIREMENTS_PAGE, cell, code, generated_note, link_ids, rel, req_link
from bmdxdocs._model import Catalogue, Requirement

NO_TESTS = "no conformance tests cover this requirement yet"
NO_VARIANTS = "no kill-matrix variant tests this requirement yet"


def profile_page(profile: str) -> str:
    return f"profiles/{profile}.md"


def _details(
    req: Requirement, page: str, cat: Catalogue, object_pages: dict[str, str]
) -> list[str]:
    known = cat.requirements
    lines = [
        f"**{req.level}** · profile [{req.profile}]({rel(page, profile_page(req.profile))})"
        f" · statement hash {code(req.hash)}",
        "",
        f"> {link_ids(req.statement, page, known)}",
        "",
        f"- **Rationale:** {link_ids(req.rationale, page, known)}",
        f"- **Source:** {link_ids(req.source, page, known)}",
    ]
    if req.objects:
        links = [
            f"[{o}]({rel(page, object_pages[o])})" if o in object_pages else code(o)
            for o in req.objects
        ]
        lines.append(f"- **Object types:** {', '.join(links)}")
    if req.see:
        lines.append(f"- **See also:** {link_ids(', '.join(req.see), page, known)}")
    if req.not_testable:
        lines.append(f"- **Not testable:** {req.not_testable}")
    if req.tests:
        lines.append("- **Conformance tests:**")
        for t in req.tests:
            pin = "" if t.current else " — pinned to an earlier statement, under review"
            lines.append(f"    - {code(t.node)}{pin}")
    else:
        lines.append(f"- **Conformance tests:** {NO_TESTS}.")
    if req.variants:
        lines.append("- **Kill-matrix variants:**")
        lines.extend(
            f"    - {code(v.name)}" + (f": {cell(v.description)}" if v.description else "")
            for v in req.variants
        )
    else:
        lines.append(f"- **Kill-matrix variants:** {NO_VARIANTS}.")
    return [*lines, ""]


def requirements_page(cat: Catalogue, object_pages: dict[str, str]) -> str:
    page = REQUIREMENTS_PAGE
    levels = Counter(r.level for r in cat.requirements.values())
    out = [
        "# Requirements",
        "",
        f"The BMDX requirement catalogue: {len(cat.requirements)} requirements "
        f"({', '.join(f'{n} {lvl}' for lvl, n in sorted(levels.items()))}). Keywords follow "
        "RFC 2119 and RFC 8174. Every identifier below is a stable anchor "
        "(`/requirements/#BMDX-AREA-NNN`): error messages, problem documents and conformance "
        "reports link here. The statement hash pins the wording: conformance tests cite "
        "`ID:hash`, so a reworded requirement flags its tests for review.",
        "",
    ]
    for area in cat.areas:
        reqs = cat.in_area(area.code)
        out += [f"## {area.code} — {area.title} {{ #area-{area.code} }}", ""]
        if area.description:
            out += [link_ids(area.description.strip(), page, cat.requirements), ""]
        out += [f"Source: `spec/requirements/{area.file}`.", ""]
        for req in reqs:
            out += [f"### {req.id} {{ #{req.id} }}", ""]
            out += _details(req, page, cat, object_pages)
    out.append(generated_note("`spec/requirements/` and the conformance suite's markers"))
    return "\n".join(out)


def profiles_index(cat: Catalogue) -> str:
    page = "profiles/index.md"
    out = [
        "# Profiles",
        "",
        "A profile groups the requirements an implementation claims together in its "
        "conformance claim. Each page lists the profile's requirements with their "
        "conformance tests and the kill-matrix variants that exercise them.",
        "",
        "| profile | requirements | MUST / MUST NOT | SHOULD / SHOULD NOT | MAY | tested |",
        "|---|---|---|---|---|---|",
    ]
    for profile in cat.profiles:
        reqs = cat.in_profile(profile)
        must = sum(r.level.startswith("MUST") for r in reqs)
        should = sum(r.level.startswith("SHOULD") for r in reqs)
        may = sum(r.level == "MAY" for r in reqs)
        tested = sum(bool(r.tests) for r in reqs)
        out.append(
            f"| [{profile}]({rel(page, profile_page(profile))}) | {len(reqs)} | {must} | {should} "
            f"| {may} | {tested} |"
        )
    out.append(generated_note("`spec/requirements/`"))
    return "\n".join(out)


def profile_pages(cat: Catalogue, object_pages: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for profile in cat.profiles:
        page = profile_page(profile)
        reqs = cat.in_profile(profile)
        lines = [f"# Profile `{profile}`", ""]
        if not reqs:
            lines += ["No requirements are assigned to this profile yet.", ""]
        else:
            tested = sum(bool(r.tests) for r in reqs)
            untestable = sum(bool(r.not_testable) for r in reqs)
            lines += [
                f"{len(reqs)} requirements; {tested} covered by conformance tests; "
                f"{untestable} not testable by a black-box test (with the reason stated). "
                "Each id links to its entry in the [requirement catalogue]"
                f"({rel(page, REQUIREMENTS_PAGE)}), the stable address reports cite.",
                "",
            ]
            # No heading per requirement here: the catalogue's anchor stays the one
            # search result and link target for an id.
            for req in reqs:
                lines += [f"**{req_link(page, req.id, cat.requirements)}**", ""]
                lines += _details(req, page, cat, object_pages)
        lines.append(generated_note("`spec/requirements/`"))
        out[page] = "\n".join(lines)
    return out
