"""mkdocs-gen-files script: write the pages generated from spec/ into the site.

The generator is the ``bmdxdocs`` package beside this file; this script only locates the
spec (``BMDX_SPEC_DIR`` or the installed spec data) and writes what it returns.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mkdocs_gen_files
from mkdocs.structure.files import InclusionLevel

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bmdxdocs import generate_site  # noqa: E402

from bmdx.reference._internal.specdata import spec_dir  # noqa: E402

DOCS_DIR = HERE.parent
REPO_ROOT = DOCS_DIR.parent

site = generate_site(spec_dir(), REPO_ROOT, DOCS_DIR, run_tools=True)
for path, content in site.files.items():
    if isinstance(content, bytes):
        with mkdocs_gen_files.open(path, "wb") as fh:
            fh.write(content)
    else:
        with mkdocs_gen_files.open(path, "w", encoding="utf-8") as fh:
            fh.write(content)

# The navigation file feeds literate-nav; it is not a page of its own.
nav_file = mkdocs_gen_files.editor.FilesEditor.current().files.get_file_from_path("SUMMARY.md")
if nav_file is not None:
    nav_file.inclusion = InclusionLevel.EXCLUDED
