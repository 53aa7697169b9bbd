"""Property: for every object type, JSON -> XML (valid against the generated XSD) ->
JSON gives the identical document and the identical RFC 8785 bytes.

Documents are generated from the JSON Schemas themselves by hypothesis-jsonschema.  It
needs one self-contained schema without recursion, so :func:`self_contained` inlines
every ``$ref`` and cuts recursion after a few levels (a cut branch becomes ``false``:
optional members and array entries simply stop there).  Runs are derandomised, so CI
sees the same examples every time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest
import rfc8785
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.specdata import schema_by_id, spec_dir
from bmdx.reference._internal.xmlmap import json_to_xml, xml_to_json

MAX_EXAMPLES = 25
# Types that embed a union of many object types (Transaction, Block) cost seconds per
# generated document; each embedded type also runs on its own with the full budget.
LARGE_SCHEMA = 10_000
MAX_EXAMPLES_LARGE = 5
RECURSION = 2
MAX_ITEMS = 2  # keeps documents of the large types (Block, Transaction) quick to generate
# Keywords that only annotate: hypothesis-jsonschema need not see them (``format`` is an
# annotation in BMDX; the pattern beside it is what constrains).
_DROPPED = {"$schema", "$id", "$defs", "$comment", "title", "description", "examples", "format"}


def _resolve(document: Any, fragment: str) -> Any:
    node = document
    for token in [t for t in fragment.split("/") if t]:
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def self_contained(object_type: str, root: Path) -> dict[str, Any]:
    """The schema of ``object_type`` with every reference inlined, recursion bounded."""
    by_id = schema_by_id(root)
    start = schema_set(root).schema_for(object_type)

    def inline(node: Any, base: str, trail: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(entry, base, trail) for entry in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        if "$ref" in node:
            target = urljoin(base, node["$ref"])
            if trail.count(target) >= RECURSION:
                return False
            document, fragment = urldefrag(target)
            resolved = inline(_resolve(by_id[document], fragment), document, (*trail, target))
            rest = {k: v for k, v in node.items() if k != "$ref"}
            rest = inline(rest, base, trail)
            return {"allOf": [resolved, rest]} if rest else resolved
        for key, value in node.items():
            if key in _DROPPED or key.startswith("x-"):
                continue
            if key == "properties":
                out[key] = {name: inline(sub, base, trail) for name, sub in value.items()}
            elif key == "oneOf":
                # Branches are object types told apart by their objectType const, so
                # anyOf means the same and spares the generator an exactly-one filter.
                out["anyOf"] = inline(value, base, trail)
            else:
                out[key] = inline(value, base, trail)
        if out.get("type") == "array":
            out["maxItems"] = min(
                out.get("maxItems", MAX_ITEMS), max(out.get("minItems", 0), MAX_ITEMS)
            )
        return out

    return dict(inline(start, start["$id"], ()))


def _roundtrip(document: dict[str, Any], root: Path) -> None:
    assume(schema_set(root).is_valid(document))
    xml = json_to_xml(document, root=root)
    back = xml_to_json(xml, root=root)  # validates against the generated XSD first
    assert back == document
    assert rfc8785.dumps(back) == rfc8785.dumps(document)


def _property(object_type: str, root: Path) -> Any:
    schema = self_contained(object_type, root)
    large = len(rfc8785.dumps(schema)) > LARGE_SCHEMA
    strategy = from_schema(schema)

    @settings(
        max_examples=MAX_EXAMPLES_LARGE if large else MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )
    @given(document=strategy)
    def check(document: dict[str, Any]) -> None:
        _roundtrip(document, root)

    return check


@pytest.mark.requirement("BMDX-FMT-013", "BMDX-FMT-020", "BMDX-FMT-030")
@pytest.mark.parametrize("object_type", schema_set(spec_dir()).object_types)
def test_every_object_type_round_trips(object_type: str) -> None:
    _property(object_type, spec_dir())()


@pytest.mark.requirement("BMDX-FMT-020", "BMDX-FMT-030")
@pytest.mark.parametrize("object_type", ["Alpha", "Beta"])
def test_every_subset_construct_round_trips(object_type: str, fixture_spec: Path) -> None:
    _property(object_type, fixture_spec)()


@pytest.mark.requirement("BMDX-FMT-020")
@settings(max_examples=50, derandomize=True, deadline=None, database=None)
@given(text=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40))
def test_any_xml_character_survives(text: str, fixture_spec: Path) -> None:
    legal = "".join(c for c in text if c in "\t\n\r" or (c >= " " and c not in "\ufffe\uffff"))
    _roundtrip({"objectType": "Beta", "value": legal}, fixture_spec)
