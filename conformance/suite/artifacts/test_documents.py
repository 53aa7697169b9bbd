"""Documents of ``--artifacts DIR``, validated by the suite's own path, not an adapter.

JSON documents must be I-JSON within the profile's limits (``verifiers/ijson.py``) and
valid against the JSON Schema of their object type (``verifiers/objects.py``); XML
documents must be safe, well-formed XML in the BMDX namespace (defusedxml) and valid
against the XSD of their object type (xmlschema, with every external resource
refused).  These requirements belong to core-format: they are reported, and claimed
only when the claim file says so.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import xmlschema
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from bmdx.conformance._internal.specdata import spec_dir
from bmdx.conformance._internal.verifiers import ijson, objects

BMDX_NS = "urn:bmdx:1"


@functools.cache
def _xsd(object_type: str) -> xmlschema.XMLSchema10 | None:
    found = objects.schema_path(object_type)
    if found is None:
        return None
    xsd = spec_dir() / "schemas" / "xml" / (found.stem + ".xsd")
    return xmlschema.XMLSchema10(str(xsd), allow="local", defuse="always")


def _json_problem(path: Path) -> str | None:
    data = path.read_bytes()
    finding = ijson.check(data)
    if finding is not None:
        return f"{finding.requirement} {finding.reason}"
    problems = objects.violations(json.loads(data))
    return problems[0] if problems else None


def _xml_problem(path: Path) -> str | None:
    data = path.read_bytes()
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except (DefusedXmlException, SafeET.ParseError) as e:
        return f"not safe, well-formed XML: {e}"
    namespace, _, local = root.tag[1:].partition("}")
    if namespace != BMDX_NS:
        return f"the root element is not in the BMDX namespace {BMDX_NS}"
    schema = _xsd(local)
    if schema is None:
        return f"{local} is not an object type of the specification"
    errors = list(schema.iter_errors(data.decode("utf-8")))
    return str(errors[0].reason) if errors else None


def _problems(documents: tuple[Path, ...], suffix: str) -> tuple[int, list[str]]:
    check = _json_problem if suffix == ".json" else _xml_problem
    chosen = [p for p in documents if p.suffix == suffix]
    if not chosen:
        pytest.skip(f"no {suffix} document")
    found = [f"{p}: {problem}" for p in chosen if (problem := check(p)) is not None]
    return len(chosen), found


@pytest.mark.requirement("BMDX-DM-001:ac8af1f55d4e7fea", "BMDX-FMT-001:c5b0c7b77176a8b0")
def test_json_documents_are_valid(documents: tuple[Path, ...]) -> None:
    """A BMDX document MUST be a JSON object (or the XML element mapped from one) that
    names its object type in the objectType member, and a receiver MUST reject a document
    whose objectType is missing or is not an object type defined by the specification."""
    count, problems = _problems(documents, ".json")
    assert count
    assert problems == []


@pytest.mark.requirement("BMDX-FMT-013:b26e45b00d112a12", "BMDX-FMT-011:1e175046d6cf26d1")
def test_xml_documents_are_valid(documents: tuple[Path, ...]) -> None:
    """An XML document MUST be valid against the XSD generated from the JSON Schema of
    its object type."""
    count, problems = _problems(documents, ".xml")
    assert count
    assert problems == []
