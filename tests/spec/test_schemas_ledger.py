"""The ledger and security object schemas, their examples and their requirements.

Every valid example validates; every invalid example breaks exactly the requirement its
``expected.yaml`` names; the signatures, key ids and proofs inside the valid examples
are real; and the generator reproduces the examples byte for byte.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from jwcrypto.common import base64url_decode, base64url_encode
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from bmdx.reference._internal.canonical import canonical_bytes, signing_payload
from bmdx.reference._internal.errors import DocumentError
from bmdx.reference._internal.merkle import leaf_hash, verify_consistency, verify_inclusion
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.specdata import spec_dir
from bmdx.reference._internal.subset import check_schema
from tests.spec.examplekit import (
    invalid_cases,
    load_catalogue,
    load_json,
    valid_files,
    x_requirements,
)

SPEC = spec_dir()
SCHEMAS = SPEC / "schemas" / "json"
CATALOGUE = SPEC / "requirements" / "data-model-ledger.yaml"
GENERATOR = SPEC.parent / "tools" / "examples" / "gen_ledger_examples.py"

# File stem -> object type, for every schema this catalogue file governs.
OBJECTS = {
    "participant": "Participant",
    "public-key": "PublicKey",
    "key-rotation": "KeyRotation",
    "key-revocation": "KeyRevocation",
    "validator-set": "ValidatorSet",
    "jws": "Jws",
    "jwe": "Jwe",
    "transaction": "Transaction",
    "block": "Block",
    "checkpoint": "Checkpoint",
    "inclusion-proof": "InclusionProof",
    "consistency-proof": "ConsistencyProof",
    "capability-document": "CapabilityDocument",
    "error-response": "ErrorResponse",
}
ID_RANGE = range(1, 100)


# --- schemas -------------------------------------------------------------------------


@pytest.mark.parametrize(("stem", "object_type"), OBJECTS.items(), ids=list(OBJECTS))
def test_schema_compiles_and_names_its_object_type(stem: str, object_type: str) -> None:
    schema = load_json(SCHEMAS / f"{stem}.json")
    assert schema["x-object"] == object_type
    assert schema["$id"] == f"https://bmdx.org/spec/1/schemas/{stem}.json"
    assert object_type in schema_set().object_types
    assert schema_set().validator_for(object_type) is not None


@pytest.mark.requirement("BMDX-SPEC-002")
@pytest.mark.parametrize("stem", [*OBJECTS, "common"])
def test_schema_stays_inside_the_subset(stem: str) -> None:
    schemas = {p.name: load_json(p) for p in SCHEMAS.glob("*.json")}
    assert check_schema(schemas[f"{stem}.json"], f"{stem}.json", schemas=schemas) == []


def test_every_annotated_requirement_is_in_the_catalogue() -> None:
    catalogue = load_catalogue(CATALOGUE)
    used: set[str] = set()
    for stem in OBJECTS:
        used |= x_requirements(load_json(SCHEMAS / f"{stem}.json"))
    common = load_json(SCHEMAS / "common.json")["$defs"]
    used |= x_requirements({k: common[k] for k in ("signature", "signatures")})
    assert used <= set(catalogue), sorted(used - set(catalogue))
    for stem, object_type in OBJECTS.items():
        root = load_json(SCHEMAS / f"{stem}.json")["x-requirement"]
        assert object_type in catalogue[root].get("objects", []), (stem, root)


def test_catalogue_ids_stay_in_range() -> None:
    for requirement_id in load_catalogue(CATALOGUE):
        match = re.fullmatch(r"BMDX-DM-([0-9]{3})", requirement_id)
        assert match is not None, requirement_id
        assert int(match.group(1)) in ID_RANGE


@pytest.mark.requirement("BMDX-DM-001")
@pytest.mark.parametrize(
    ("document", "reason"),
    [
        pytest.param({"objectType": "MedicalRecord"}, "unknown-object-type", id="unknown"),
        pytest.param({"id": "urn:bmdx:participant:x"}, "missing-object-type", id="missing"),
        pytest.param(["Participant"], "not-an-object", id="array"),
    ],
)
def test_documents_without_a_known_object_type_are_rejected(document: Any, reason: str) -> None:
    with pytest.raises(DocumentError) as info:
        schema_set().validate(document)
    assert info.value.requirement == "BMDX-DM-001"
    assert info.value.reason == reason


# --- examples ------------------------------------------------------------------------


@pytest.mark.parametrize("stem", list(OBJECTS))
def test_each_type_has_enough_examples(stem: str) -> None:
    valid = list((SPEC / "examples" / "valid" / stem).glob("*.json"))
    invalid_dir = SPEC / "examples" / "invalid" / stem
    invalid = {p.name for p in invalid_dir.glob("*.json")}
    expected = yaml.safe_load((invalid_dir / "expected.yaml").read_text(encoding="utf-8"))
    assert len(valid) >= 2
    assert len(invalid) >= 2
    assert {name for name in expected if name.endswith(".json")} == invalid


@pytest.mark.parametrize("path", valid_files(OBJECTS))
def test_valid_example_validates(path: Path) -> None:
    document = load_json(path)
    assert schema_set().document_violations(document) == []
    assert schema_set().validate_document(document) == OBJECTS[path.parent.name]


@pytest.mark.parametrize("path", valid_files(OBJECTS))
def test_valid_example_is_pretty_printed_in_schema_order(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize(("path", "requirement"), invalid_cases(OBJECTS))
def test_invalid_example_breaks_exactly_its_requirement(path: Path, requirement: str) -> None:
    document = load_json(path)
    if document.get("objectType") not in schema_set().object_types:
        with pytest.raises(DocumentError) as info:  # nothing to validate against
            schema_set().document_violations(document)
        assert info.value.requirement == requirement
        return
    # The full validation: the schema, then the rules checked by code (semantic.py).
    violations = schema_set().document_violations(document)
    assert violations
    assert {v.requirement for v in violations} == {requirement}


# --- the examples are real -----------------------------------------------------------


def _examples(stem: str) -> dict[str, Any]:
    directory = SPEC / "examples" / "valid" / stem
    return {p.stem: load_json(p) for p in sorted(directory.glob("*.json"))}


def _public_keys(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [k for item in node for k in _public_keys(item)]
    if not isinstance(node, dict):
        return []
    found = [node] if node.get("objectType") == "PublicKey" else []
    return found + [k for value in node.values() for k in _public_keys(value)]


def _known_keys() -> dict[str, dict[str, Any]]:
    """Every public key the valid examples publish (directly or registered), by kid."""
    return {
        key["kid"]: key
        for stem in OBJECTS
        for doc in _examples(stem).values()
        for key in _public_keys(doc)
    }


def _jwk(public_key: dict[str, Any]) -> JWK:
    members = {k: public_key[k] for k in ("kty", "crv", "x", "y") if k in public_key}
    return JWK(**members)


def _verify(signatures: list[dict[str, str]], payload: bytes, keys: dict[str, Any]) -> list[str]:
    """Verify each detached signature with jwcrypto; return the signing kids."""
    kids = []
    for entry in signatures:
        header = json.loads(base64url_decode(entry["protected"]))
        key = keys[header["kid"]]
        assert header["alg"] == key["alg"]
        token = {
            "payload": base64url_encode(payload),
            "protected": entry["protected"],
            "signature": entry["signature"],
        }
        JWS().deserialize(json.dumps(token), _jwk(key), alg=header["alg"])
        kids.append(header["kid"])
    return kids


@pytest.mark.requirement("BMDX-DM-022")
def test_example_key_ids_are_rfc7638_thumbprints() -> None:
    keys = _known_keys()
    assert len(keys) >= 6
    for kid, key in keys.items():
        assert _jwk(key).thumbprint() == kid


@pytest.mark.requirement("BMDX-DM-023")
def test_example_ec_keys_carry_y_and_okp_keys_do_not() -> None:
    for key in _known_keys().values():
        assert ("y" in key) == (key["kty"] == "EC")


@pytest.mark.requirement("BMDX-DM-030")
def test_signed_examples_carry_real_signatures() -> None:
    keys = _known_keys()
    checked = 0
    for stem in ("key-rotation", "key-revocation", "transaction", "checkpoint"):
        for doc in _examples(stem).values():
            kids = _verify(doc["signatures"], signing_payload(doc), keys)
            checked += len(kids)
    for block in _examples("block").values():
        _verify(block["tail"]["signatures"], canonical_bytes(block["header"]), keys)
        for tx in block["body"]["transactions"]:
            _verify(tx["signatures"], signing_payload(tx), keys)
    assert checked >= 10


@pytest.mark.requirement("BMDX-DM-026")
def test_example_rotations_are_signed_by_the_old_key() -> None:
    keys = _known_keys()
    for doc in _examples("key-rotation").values():
        assert _verify(doc["signatures"], signing_payload(doc), keys) == [doc["oldKid"]]
        assert doc["newKey"]["kid"] != doc["oldKid"]


@pytest.mark.requirement("BMDX-DM-061")
def test_example_blocks_chain_and_count() -> None:
    blocks = sorted(_examples("block").values(), key=lambda b: b["header"]["height"])
    assert [b["header"]["height"] for b in blocks] == list(range(len(blocks)))
    previous, size = "sha-256:" + "0" * 64, 0
    for block in blocks:
        header = block["header"]
        assert header["previous"] == previous
        assert header["txCount"] == len(block["body"]["transactions"])
        size += header["txCount"]
        assert header["treeSize"] == size
        previous = "sha-256:" + hashlib.sha256(canonical_bytes(header)).hexdigest()


@pytest.mark.requirement("BMDX-DM-071")
def test_example_inclusion_proofs_verify_against_their_blocks() -> None:
    blocks = {b["header"]["height"]: b for b in _examples("block").values()}
    leaves = [
        leaf_hash(canonical_bytes(tx))
        for height in sorted(blocks)
        for tx in blocks[height]["body"]["transactions"]
    ]
    for proof in _examples("inclusion-proof").values():
        header = blocks[proof["height"]]["header"]
        assert proof["leafIndex"] < proof["treeSize"] == header["treeSize"]
        assert proof["rootHash"] == header["treeRoot"]
        leaf = bytes.fromhex(proof["leafHash"][8:])
        assert leaf == leaves[proof["leafIndex"]]
        path = [bytes.fromhex(h[8:]) for h in proof["path"]]
        root = bytes.fromhex(proof["rootHash"][8:])
        assert verify_inclusion(leaf, proof["leafIndex"], proof["treeSize"], path, root)


@pytest.mark.requirement("BMDX-DM-076")
def test_example_consistency_proofs_verify() -> None:
    roots = {b["header"]["treeSize"]: b["header"]["treeRoot"] for b in _examples("block").values()}
    for proof in _examples("consistency-proof").values():
        assert proof["firstSize"] <= proof["secondSize"]
        assert proof["firstRoot"] == roots[proof["firstSize"]]
        assert proof["secondRoot"] == roots[proof["secondSize"]]
        path = [bytes.fromhex(h[8:]) for h in proof["path"]]
        first = bytes.fromhex(proof["firstRoot"][8:])
        second = bytes.fromhex(proof["secondRoot"][8:])
        assert verify_consistency(proof["firstSize"], proof["secondSize"], path, first, second)


@pytest.mark.requirement("BMDX-DM-034")
def test_example_validator_thresholds_are_in_range() -> None:
    for doc in _examples("validator-set").values():
        assert 1 <= doc["threshold"] <= len(doc["validators"])
        participants = [v["participant"] for v in doc["validators"]]
        assert len(set(participants)) == len(participants)


@pytest.mark.requirement("BMDX-DM-048")
def test_example_jwes_use_a256gcm() -> None:
    for doc in _examples("jwe").values():
        assert json.loads(base64url_decode(doc["protected"]))["enc"] == "A256GCM"


# --- the generator -------------------------------------------------------------------


def test_generator_reproduces_the_examples(tmp_path: Path) -> None:
    shutil.copytree(SCHEMAS, tmp_path / "schemas" / "json")
    # The hand-written XML lines of expected.yaml are kept by the generator.
    shutil.copytree(SPEC / "examples", tmp_path / "examples")
    loader = importlib.util.spec_from_file_location("gen_ledger_examples", GENERATOR)
    assert loader is not None
    assert loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    module.write(tmp_path)
    for stem in OBJECTS:
        for kind in ("valid", "invalid"):
            fresh = tmp_path / "examples" / kind / stem
            committed = SPEC / "examples" / kind / stem
            names = sorted(p.name for p in fresh.iterdir() if p.suffix in {".json", ".yaml"})
            assert names == sorted(
                p.name for p in committed.iterdir() if p.suffix in {".json", ".yaml"}
            )
            for name in names:
                assert (fresh / name).read_bytes() == (committed / name).read_bytes(), name
