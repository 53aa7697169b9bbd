"""The spec's XML build outputs: generated XSDs and the XML form of each valid example.

``bmdx spec build`` writes what :func:`build_outputs` returns; ``bmdx spec lint`` fails
when a committed file differs from it (stale) or is missing.  Hand-written invalid XML
examples are sources, not outputs, and are not listed here.
"""

from __future__ import annotations

from pathlib import Path

from bmdx.reference._internal import ijson
from bmdx.reference._internal.errors import BmdxError, SpecError
from bmdx.reference._internal.specdata import spec_dir
from bmdx.reference._internal.xmlmap import json_to_xml
from bmdx.reference._internal.xsdgen import BUILD_COMMAND, generate_xsds

__all__ = ["build_outputs"]

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _example_xml(path: Path, relative: str, root: Path) -> bytes:
    try:
        document = ijson.loads(path.read_bytes())
        xml = json_to_xml(document, root=root)
    except OSError as e:
        raise SpecError(f"cannot read {relative}: {e}", reason="spec-unreadable") from e
    except BmdxError as e:
        raise SpecError(
            f"valid example {relative} is not a valid document: {e}",
            reason="example-invalid",
            remedy="Fix the example (or its schema) before building.",
        ) from e
    # A comment in the prolog: readers accept it, and it marks the file as generated.
    header = f"<!-- Generated from {relative} by `{BUILD_COMMAND}`. DO NOT EDIT. -->\n"
    return _DECLARATION + header.encode("utf-8") + xml.removeprefix(_DECLARATION)


def build_outputs(root: Path | None = None) -> dict[str, bytes]:
    """Path relative to ``spec/`` -> content, for every generated XML artifact."""
    where = root or spec_dir()
    out = {f"schemas/xml/{name}": content for name, content in generate_xsds(where).items()}
    for path in sorted((where / "examples" / "valid").glob("*/*.json")):
        relative = path.relative_to(where).as_posix()
        if "--" in relative:
            raise SpecError(f"example name {relative} contains '--'", reason="example-name")
        out[relative.removesuffix(".json") + ".xml"] = _example_xml(path, relative, where)
    return out
