"""Markdown helpers: escaping, relative links, requirement-id links, embedded spec text."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Container

from bmdxdocs._model import REQ_ID

REQUIREMENTS_PAGE = "requirements/index.md"


def rel(from_page: str, to_path: str) -> str:
    """A relative link from one site file to another (both relative to docs/)."""
    return posixpath.relpath(to_path, posixpath.dirname(from_page) or ".")


def cell(text: object) -> str:
    """Text safe inside one Markdown table cell."""
    return re.sub(r"\s+", " ", str(text)).replace("|", "\\|").strip()


def code(text: object) -> str:
    value = str(text)
    fence = "``" if "`" in value else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def req_link(page: str, rid: str, known: Container[str]) -> str:
    """A link to the requirement's stable anchor, or the bare id if it is not in the catalogue."""
    if rid in known:
        return f"[{rid}]({rel(page, REQUIREMENTS_PAGE)}#{rid})"
    return code(rid)


_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
# inline code, existing links/images (text and target), autolinks, raw HTML tags
_PROTECTED = re.compile(r"`+[^`]*`+|!?\[[^\]]*\]\([^)]*\)|<[^>\n]+>")
_LINK = re.compile(r"(!?\[[^\]]*\])\(([^)\s]+)(\s+\"[^\"]*\")?\)")


def _split_fences(text: str) -> list[tuple[bool, str]]:
    parts: list[tuple[bool, str]] = []
    pos = 0
    for m in _FENCE.finditer(text):
        parts.append((False, text[pos : m.start()]))
        parts.append((True, m.group(0)))
        pos = m.end()
    parts.append((False, text[pos:]))
    return parts


def link_ids(text: str, page: str, known: Container[str]) -> str:
    """Turn bare requirement ids in prose into links to their anchors (not in code or links)."""

    def prose(segment: str) -> str:
        out: list[str] = []
        pos = 0
        for m in _PROTECTED.finditer(segment):
            out.append(
                REQ_ID.sub(lambda r: req_link(page, r.group(0), known), segment[pos : m.start()])
            )
            out.append(m.group(0))
            pos = m.end()
        out.append(REQ_ID.sub(lambda r: req_link(page, r.group(0), known), segment[pos:]))
        return "".join(out)

    return "".join(seg if fenced else prose(seg) for fenced, seg in _split_fences(text))


def rewrite_links(text: str, page: str, source: str, resolve: Callable[[str], str | None]) -> str:
    """Re-point relative links of a spec file embedded as ``page``.

    ``source`` is the file's path inside spec/; ``resolve`` maps a spec path to the site
    path that publishes it (or None).  Links to anything unpublished become plain text,
    so the strict build never sees a dangling link.
    """

    def fix(m: re.Match[str]) -> str:
        label, target = m.group(1), m.group(2)
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "/")):
            return m.group(0)
        path, _, fragment = target.partition("#")
        spec_path = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
        site_path = None if spec_path.startswith("..") else resolve(spec_path)
        if site_path is None:
            shown = label[1:-1] if label.startswith("[") else label
            return f"{shown} ({code(spec_path if not spec_path.startswith('..') else path)})"
        anchor = f"#{fragment}" if fragment and site_path.endswith(".md") else ""
        return f"{label}({rel(page, site_path)}{anchor})"

    return "".join(seg if fenced else _LINK.sub(fix, seg) for fenced, seg in _split_fences(text))


def generated_note(sources: str) -> str:
    return (
        f'\n\n<small class="bmdx-generated">Generated from {sources} at build time: '
        "edit the spec, not this page.</small>\n"
    )
