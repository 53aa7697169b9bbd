"""What a signature of a signed data-model object covers (BMDX-DM-190), through verify.

The suite signs each signed example itself, with its own JOSE library (jwcrypto) and a
key of spec/vectors/signatures, over the RFC 8785 canonical form of the object without
its ``signatures`` member, and asks the implementation to verify.  Signatures over any
other bytes of the same object must be refused.  Which participant's registered key
must have signed (the author, the grantor, ...) is a ledger rule, tested with the
ledger profile.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785
from jwcrypto import jwk, jws

from bmdx.conformance._internal.adapter_client import AdapterClient, Response
from bmdx.conformance.suite._spec import Example, cases, valid_examples, vector_json

UNIFORM = ("BMDX-SEC-010", "signature-invalid")
# The object types BMDX-DM-190 names, by example folder.
SIGNED = ("record-header", "consent", "erasure-receipt", "claim-adjudication", "quality-report")
ALG = "ES256"


def _key() -> tuple[jwk.JWK, dict[str, Any]]:
    private = vector_json("signatures", "keys.json")["private"]["p256"]
    public = {k: v for k, v in private.items() if k != "d"}
    return jwk.JWK(**private), public


def _signature(payload: bytes, key: jwk.JWK) -> dict[str, str]:
    """One BMDX signature entry over ``payload``, made by jwcrypto (detached)."""
    token = jws.JWS(payload)
    token.allowed_algs = [ALG]
    header = {"alg": ALG, "kid": key.thumbprint(), "typ": "bmdx+jws"}
    token.add_signature(key, alg=ALG, protected=json.dumps(header))
    general = json.loads(token.serialize())
    entry = general["signatures"][0] if "signatures" in general else general
    return {"protected": entry["protected"], "signature": entry["signature"]}


def _unsigned(example: Example) -> dict[str, Any]:
    document = json.loads(example.path.read_bytes())
    assert "signatures" in document, f"{example.path.name} is not a signed object"
    return {k: v for k, v in document.items() if k != "signatures"}


def _tampered(unsigned: dict[str, Any]) -> dict[str, Any]:
    """The object with the last character of its identifier (its second member) changed."""
    name = list(unsigned)[1]
    value = unsigned[name]
    assert isinstance(value, str), name
    assert value.startswith("urn:uuid:"), name
    return {**unsigned, name: value[:-1] + ("1" if value[-1] != "1" else "2")}


def _assert_uniform_refusal(response: Response) -> None:
    assert not response.ok, "a signature over other bytes than the canonical object verified"
    assert (response.requirement, response.reason) == UNIFORM


def _signed_examples() -> list[Any]:
    return cases(
        [(name, e) for name, e in valid_examples("json") if e.object_dir in SIGNED],
        "signed data-model examples",
    )


@pytest.mark.requirement(
    "BMDX-DM-190:dd82d3ff73986fb0",
    "BMDX-SEC-010:c5d8b13cca510d8d",
    "BMDX-ADP-024:8afaf906bf5cdaf2",
)
@pytest.mark.parametrize("example", _signed_examples())
def test_signature_covers_the_canonical_object(
    adapter: AdapterClient, supports: Callable[[str], None], example: Example
) -> None:
    """Each signature of a signed data-model object MUST verify over the RFC 8785
    canonical form of the object without its signatures member, with a key registered to
    the signer the object names."""
    supports("verify")
    key, public = _key()
    unsigned = _unsigned(example)
    canonical = rfc8785.dumps(unsigned)

    signed = {**unsigned, "signatures": [_signature(canonical, key)]}
    response = adapter.call("verify", document=signed, keys=[public])
    assert response.ok, response.error
    assert response.result == {"kids": [key.thumbprint()]}

    # The same object, signed over bytes that are not its canonical form.
    pretty = json.dumps(unsigned, indent=2, ensure_ascii=False).encode("utf-8")
    assert pretty != canonical
    other = {**unsigned, "signatures": [_signature(pretty, key)]}
    _assert_uniform_refusal(adapter.call("verify", document=other, keys=[public]))

    # Signed with its signatures member inside the payload.
    original = json.loads(example.path.read_bytes())
    covered = {**unsigned, "signatures": [_signature(rfc8785.dumps(original), key)]}
    _assert_uniform_refusal(adapter.call("verify", document=covered, keys=[public]))

    # A member changed after signing.
    changed = {**_tampered(unsigned), "signatures": signed["signatures"]}
    _assert_uniform_refusal(adapter.call("verify", document=changed, keys=[public]))
