"""Generate the examples of the ledger and security object types.

Writes ``spec/examples/valid/<stem>/*.json`` and ``spec/examples/invalid/<stem>/*.json``
(with ``expected.yaml``) for participant, public-key, key-rotation, key-revocation,
validator-set, jws, jwe, transaction, block, checkpoint, inclusion-proof,
consistency-proof, capability-document and error-response.

The examples come from one small, real ledger: four validators, a hospital, a
laboratory and a patient; keys derived from fixed labels, signatures made and checked
with jwcrypto, tree heads and proofs from the reference RFC 9162 tree, payloads
encrypted with jwcrypto.  Every random input (private keys, ECDSA nonces, JWE content
keys, IVs and ephemeral keys) is derived from fixed labels, so a rerun writes identical
bytes.  The derived keys are published here and are for examples only.

Run ``python -m tools.examples.gen_ledger_examples [SPEC_DIR]``.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import jwcrypto.jwa
import jwcrypto.jwk
import rfc8785
import yaml
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from jwcrypto.common import base64url_decode, base64url_encode
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from bmdx.reference._internal.errors import DocumentError, SchemaValidationError
from bmdx.reference._internal.merkle import (
    MerkleTree,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from bmdx.reference._internal.schema import schema_set
from tools.examples import hand_written_expectations

DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "spec"
STEMS = (
    "participant",
    "public-key",
    "key-rotation",
    "key-revocation",
    "validator-set",
    "jws",
    "jwe",
    "transaction",
    "block",
    "checkpoint",
    "inclusion-proof",
    "consistency-proof",
    "capability-document",
    "error-response",
)
ORIGIN = "bmdx.ledger/north-sea-health-consortium"
JWS_TYP = "bmdx+jws"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


# --- deterministic randomness ---------------------------------------------------------


def _seed(label: str, length: int = 32) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"bmdx-example/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:length]


class _Stream:
    """A labelled byte stream standing in for the OS random source."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._n = 0

    def take(self, length: int) -> bytes:
        self._n += 1
        return _seed(f"{self._label}/{self._n}", length)


def _private_key(kind: str, label: str) -> JWK:
    raw = _seed(f"key/{label}")
    if kind == "P-256":
        scalar = int.from_bytes(raw, "big") % (P256_ORDER - 1) + 1
        return JWK.from_pyca(ec.derive_private_key(scalar, ec.SECP256R1()))
    if kind == "Ed25519":
        return JWK.from_pyca(ed25519.Ed25519PrivateKey.from_private_bytes(raw))
    if kind == "X25519":
        return JWK.from_pyca(x25519.X25519PrivateKey.from_private_bytes(raw))
    raise ValueError(kind)


@contextlib.contextmanager
def _deterministic(label: str) -> Iterator[None]:
    """Make jwcrypto's nonces, content keys, IVs and ephemeral keys reproducible."""
    stream = _Stream(label)
    real_ecdsa = ec.ECDSA

    def randombits(bits: int) -> bytes:
        return stream.take(bits // 8)

    def generate(cls: type[JWK], **params: Any) -> JWK:
        return _private_key(params["crv"], f"{label}/epk/{stream.take(8).hex()}")

    def ecdsa(algorithm: Any) -> Any:
        return real_ecdsa(algorithm, deterministic_signing=True)

    with (
        mock.patch.object(jwcrypto.jwa, "_randombits", randombits),
        mock.patch.object(jwcrypto.jwk.JWK, "generate", classmethod(generate)),
        mock.patch.object(jwcrypto.jwa, "ec", SimpleNamespace(**{**vars(ec), "ECDSA": ecdsa})),
    ):
        yield


# --- keys and signatures --------------------------------------------------------------

_ALG = {
    ("P-256", "sig"): "ES256",
    ("Ed25519", "sig"): "Ed25519",
    ("P-256", "enc"): "ECDH-ES+A256KW",
    ("X25519", "enc"): "ECDH-ES+A256KW",
}


class Key:
    """A labelled key pair and its PublicKey document."""

    def __init__(self, curve: str, use: str, label: str) -> None:
        self.jwk = _private_key(curve, label)
        self.alg = _ALG[(curve, use)]
        self.kid = self.jwk.thumbprint()
        public = self.jwk.export_public(as_dict=True)
        doc: dict[str, Any] = {"objectType": "PublicKey", "kty": public["kty"]}
        doc["crv"] = public["crv"]
        doc["x"] = public["x"]
        if "y" in public:
            doc["y"] = public["y"]
        doc.update(kid=self.kid, use=use, alg=self.alg)
        self.public = doc


def canonical(value: Any) -> bytes:
    return bytes(rfc8785.dumps(value))


def digest(value: Any) -> str:
    return "sha-256:" + hashlib.sha256(canonical(value)).hexdigest()


def sign_payload(payload: bytes, keys: list[Key], label: str) -> list[dict[str, str]]:
    """Detached JWS signatures over ``payload``, one per key, checked before returning."""
    out = []
    for key in keys:
        protected = json.dumps(
            {"alg": key.alg, "kid": key.kid, "typ": JWS_TYP}, separators=(",", ":")
        )
        with _deterministic(f"sign/{label}/{key.kid}"):
            jws = JWS(payload)
            jws.add_signature(key.jwk, None, protected)
        token = json.loads(jws.serialize())
        check = JWS()
        check.deserialize(json.dumps(token), key.jwk, alg=key.alg)
        if check.payload != payload:
            raise AssertionError("signature does not round-trip")
        out.append({"protected": token["protected"], "signature": token["signature"]})
    return out


def signed(document: dict[str, Any], keys: list[Key], label: str) -> dict[str, Any]:
    unsigned = {k: v for k, v in document.items() if k != "signatures"}
    document["signatures"] = sign_payload(canonical(unsigned), keys, label)
    return document


# --- the network ----------------------------------------------------------------------


class Party:
    def __init__(self, slug: str, name: str, roles: list[str], jurisdiction: str | None) -> None:
        self.id = f"urn:bmdx:participant:{slug}"
        self.slug = slug
        self.name = name
        self.roles = roles
        self.jurisdiction = jurisdiction
        self.keys: list[Key] = []

    def add_key(self, curve: str, use: str, generation: int = 1) -> Key:
        key = Key(curve, use, f"{self.slug}/{curve}/{use}/{generation}")
        self.keys.append(key)
        return key

    @property
    def sig(self) -> Key:
        return next(k for k in self.keys if k.public["use"] == "sig")

    def document(self, registered: int) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "objectType": "Participant",
            "id": self.id,
            "name": self.name,
            "roles": self.roles,
        }
        if self.jurisdiction:
            doc["jurisdiction"] = self.jurisdiction
        doc["keys"] = [k.public for k in self.keys]
        doc["registered"] = registered
        return doc


def _parties() -> dict[str, Party]:
    parties = {
        "northgate": Party(
            "northgate-university-hospital",
            "Northgate University Hospital",
            ["hospital", "validator"],
            "NL",
        ),
        "riverside": Party(
            "riverside-medical-centre", "Riverside Medical Centre", ["hospital", "validator"], "DE"
        ),
        "authority": Party(
            "north-sea-health-data-authority",
            "North Sea Health Data Authority",
            ["regulator", "validator"],
            "NL",
        ),
        "platform": Party(
            "medexchange-platform", "MedExchange Platform", ["platform", "validator"], "DK"
        ),
        "hospital": Party("st-brigids-hospital", "St Brigid's Hospital", ["hospital"], "IE"),
        "lab": Party(
            "clearwater-clinical-laboratory",
            "Clearwater Clinical Laboratory",
            ["laboratory"],
            "DE",
        ),
        "patient": Party("p-7f3a9c21e04b", "Patient 7F3A-9C21", ["patient"], None),
    }
    for key in ("northgate", "riverside", "authority", "platform"):
        parties[key].add_key("Ed25519", "sig")
    parties["platform"].add_key("X25519", "enc")
    parties["hospital"].add_key("P-256", "sig")
    parties["hospital"].add_key("P-256", "enc")
    parties["lab"].add_key("P-256", "sig")
    parties["lab"].add_key("P-256", "enc")
    parties["patient"].add_key("Ed25519", "sig")
    parties["patient"].add_key("X25519", "enc")
    return parties


VALIDATORS = ("northgate", "riverside", "authority", "platform")


def validator_set(parties: Mapping[str, Party]) -> dict[str, Any]:
    return {
        "objectType": "ValidatorSet",
        "version": 1,
        "threshold": 3,
        "validators": [
            {"participant": parties[v].id, "kid": parties[v].sig.kid} for v in VALIDATORS
        ],
        "effectiveHeight": 0,
    }


def transaction(
    tx_type: str,
    sender: Party,
    sequence: int,
    timestamp: str,
    *,
    inputs: list[dict[str, str]],
    outputs: list[dict[str, Any]],
    signers: list[Key],
) -> dict[str, Any]:
    doc = {
        "objectType": "Transaction",
        "type": tx_type,
        "sender": sender.id,
        "sequence": sequence,
        "timestamp": timestamp,
        "inputs": inputs,
        "outputs": outputs,
    }
    return signed(doc, signers, f"tx/{sender.slug}/{sequence}")


class Ledger:
    """Blocks built over one RFC 9162 tree, signed by the validators."""

    def __init__(self, parties: Mapping[str, Party]) -> None:
        self.parties = parties
        self.tree = MerkleTree()
        self.blocks: list[dict[str, Any]] = []
        self.transactions: list[dict[str, Any]] = []

    def add_block(self, timestamp: str, txs: list[dict[str, Any]], signers: list[str]) -> None:
        for tx in txs:
            self.tree.append(canonical(tx))
            self.transactions.append(tx)
        height = len(self.blocks)
        previous = digest(self.blocks[-1]["header"]) if self.blocks else "sha-256:" + "0" * 64
        header = {
            "height": height,
            "previous": previous,
            "timestamp": timestamp,
            "txCount": len(txs),
            "treeSize": self.tree.size,
            "treeRoot": "sha-256:" + self.tree.root().hex(),
            "proposer": self.parties[signers[0]].id,
        }
        keys = [self.parties[s].sig for s in signers]
        tail = {"signatures": sign_payload(canonical(header), keys, f"block/{height}")}
        block = {
            "objectType": "Block",
            "header": header,
            "body": {"transactions": txs},
            "tail": tail,
        }
        self.blocks.append(block)

    def checkpoint(self, height: int, signers: list[str]) -> dict[str, Any]:
        header = self.blocks[height]["header"]
        doc = {
            "objectType": "Checkpoint",
            "origin": ORIGIN,
            "treeSize": header["treeSize"],
            "rootHash": header["treeRoot"],
            "height": height,
            "timestamp": header["timestamp"],
        }
        keys = [self.parties[s].sig for s in signers]
        return signed(doc, keys, f"checkpoint/{height}")

    def inclusion_proof(self, index: int, height: int) -> dict[str, Any]:
        size = self.blocks[height]["header"]["treeSize"]
        path = self.tree.inclusion_proof(index, size)
        leaf = leaf_hash(canonical(self.transactions[index]))
        root = self.tree.root(size)
        if not verify_inclusion(leaf, index, size, path, root):
            raise AssertionError("inclusion proof does not verify")
        return {
            "objectType": "InclusionProof",
            "leafIndex": index,
            "treeSize": size,
            "leafHash": "sha-256:" + leaf.hex(),
            "rootHash": "sha-256:" + root.hex(),
            "path": ["sha-256:" + h.hex() for h in path],
            "height": height,
        }

    def consistency_proof(self, first: int, second: int) -> dict[str, Any]:
        path = self.tree.consistency_proof(first, second)
        r1, r2 = self.tree.root(first), self.tree.root(second)
        if not verify_consistency(first, second, path, r1, r2):
            raise AssertionError("consistency proof does not verify")
        return {
            "objectType": "ConsistencyProof",
            "firstSize": first,
            "secondSize": second,
            "firstRoot": "sha-256:" + r1.hex(),
            "secondRoot": "sha-256:" + r2.hex(),
            "path": ["sha-256:" + h.hex() for h in path],
        }


# --- payload encryption ---------------------------------------------------------------


def observation(code: str, display: str, value: str, unit: str, *, ucum: str, when: str) -> bytes:
    """A pseudonymous FHIR R4 Observation (the subject is a pseudonym reference)."""
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]},
        "subject": {"reference": "Patient/pseud-0d4c1f7e"},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": float(value) if "." in value else int(value),
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": ucum,
        },
    }
    return json.dumps(resource, separators=(",", ":")).encode()


def encrypt(
    plaintext: bytes, recipients: list[Key], cty: str, label: str, aad: bytes | None = None
) -> dict[str, Any]:
    protected = json.dumps({"enc": "A256GCM", "cty": cty}, separators=(",", ":"))
    with _deterministic(f"jwe/{label}"):
        jwe = JWE(plaintext, protected=protected, aad=aad)
        for key in recipients:
            jwe.add_recipient(key.jwk, json.dumps({"alg": key.alg, "kid": key.kid}))
        token = json.loads(jwe.serialize())
    for key in recipients:
        check = JWE()
        check.deserialize(json.dumps(token), key.jwk)
        if check.payload != plaintext:
            raise AssertionError("JWE does not round-trip")
    if "recipients" not in token:  # jwcrypto flattens a single recipient (RFC 7516 7.2.2)
        token["recipients"] = [
            {"header": token.pop("header"), "encrypted_key": token.pop("encrypted_key")}
        ]
    out: dict[str, Any] = {"objectType": "Jwe", **token}
    for recipient in out["recipients"]:
        epk = recipient["header"]["epk"]
        recipient["header"]["epk"] = {k: epk[k] for k in ("kty", "crv", "x", "y") if k in epk}
    return out


# --- ordering and writing -------------------------------------------------------------


class SchemaOrder:
    """Orders a document's members as its schema lists its properties."""

    def __init__(self, schema_dir: Path) -> None:
        self._files = {p.name: json.loads(p.read_text()) for p in schema_dir.glob("*.json")}
        self._by_type = {s["x-object"]: name for name, s in self._files.items() if "x-object" in s}

    def _resolve(self, node: Mapping[str, Any], file: str) -> tuple[Mapping[str, Any], str]:
        while "$ref" in node:
            ref = node["$ref"]
            target, _, fragment = ref.partition("#")
            file = target or file
            node = self._files[file]
            for part in fragment.strip("/").split("/") if fragment else []:
                node = node[part]
        return node, file

    def order(self, value: Any, node: Mapping[str, Any] | None = None, file: str = "") -> Any:
        if node is None:
            file = self._by_type[value["objectType"]]
            node = self._files[file]
        node, file = self._resolve(node, file)
        if "oneOf" in node and isinstance(value, dict):
            file = self._by_type[value["objectType"]]
            node = self._files[file]
        if isinstance(value, dict) and "properties" in node:
            props = node["properties"]
            known = [k for k in props if k in value]
            extra = [k for k in value if k not in props]
            return {
                **{k: self.order(value[k], props[k], file) for k in known},
                **{k: value[k] for k in extra},
            }
        if isinstance(value, list) and "items" in node:
            return [self.order(v, node["items"], file) for v in value]
        return value


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


# --- the examples ---------------------------------------------------------------------

Examples = dict[str, dict[str, Any]]
Invalid = dict[str, tuple[dict[str, Any], str]]


def _mutate(doc: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    change(out)
    return out


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return change


def build() -> tuple[dict[str, Examples], dict[str, Invalid]]:
    p = _parties()
    valid: dict[str, Examples] = {stem: {} for stem in STEMS}
    invalid: dict[str, Invalid] = {stem: {} for stem in STEMS}
    vset = validator_set(p)
    governance = [p["platform"].sig, p["northgate"].sig, p["authority"].sig]

    # Block 0: the consortium registers its validators and their set.
    validator_docs = [p[v].document(0) for v in VALIDATORS]
    tx0 = transaction(
        "participant.register",
        p["platform"],
        1,
        "2025-03-03T08:00:00Z",
        inputs=[],
        outputs=validator_docs,
        signers=[p["platform"].sig, p["northgate"].sig, p["riverside"].sig, p["authority"].sig],
    )
    tx1 = transaction(
        "validator-set.change",
        p["platform"],
        2,
        "2025-03-03T08:00:05Z",
        inputs=[],
        outputs=[vset],
        signers=[p["platform"].sig, p["northgate"].sig, p["riverside"].sig, p["authority"].sig],
    )
    ledger = Ledger(p)
    ledger.add_block(
        "2025-03-03T08:00:10Z", [tx0, tx1], ["platform", "northgate", "riverside", "authority"]
    )

    # Block 1: a hospital, a laboratory and a patient join.
    hospital_doc = p["hospital"].document(1)
    lab_doc = p["lab"].document(1)
    patient_doc = p["patient"].document(1)
    tx2 = transaction(
        "participant.register",
        p["platform"],
        3,
        "2025-03-10T09:12:41Z",
        inputs=[],
        outputs=[hospital_doc, lab_doc],
        signers=governance,
    )
    tx3 = transaction(
        "participant.register",
        p["platform"],
        4,
        "2025-03-10T09:15:02.318Z",
        inputs=[],
        outputs=[patient_doc],
        signers=governance,
    )
    ledger.add_block("2025-03-10T09:15:30Z", [tx2, tx3], ["northgate", "riverside", "authority"])

    # Block 2: the hospital rotates its signing key; the laboratory retires its
    # encryption key.
    old_key = p["hospital"].sig
    new_key = Key("P-256", "sig", "st-brigids-hospital/P-256/sig/2")
    rotation = signed(
        {
            "objectType": "KeyRotation",
            "participant": p["hospital"].id,
            "oldKid": old_key.kid,
            "newKey": new_key.public,
            "effectiveHeight": 3,
        },
        [old_key],
        "rotation/hospital",
    )
    lab_enc = p["lab"].keys[1]
    revocation = signed(
        {
            "objectType": "KeyRevocation",
            "participant": p["lab"].id,
            "kid": lab_enc.kid,
            "effectiveHeight": 3,
            "reason": "retired",
        },
        [p["lab"].sig],
        "revocation/lab",
    )
    tx4 = transaction(
        "key.rotate",
        p["hospital"],
        1,
        "2025-04-01T07:30:00Z",
        inputs=[{"objectId": p["hospital"].id, "version": digest(hospital_doc)}],
        outputs=[rotation],
        signers=[old_key],
    )
    tx5 = transaction(
        "key.revoke",
        p["lab"],
        1,
        "2025-04-01T11:04:19Z",
        inputs=[{"objectId": p["lab"].id, "version": digest(lab_doc)}],
        outputs=[revocation],
        signers=[p["lab"].sig],
    )
    ledger.add_block("2025-04-01T11:05:00Z", [tx4, tx5], ["riverside", "authority", "platform"])

    # A patient revokes a signing key believed compromised (signed by that key).
    compromised = signed(
        {
            "objectType": "KeyRevocation",
            "participant": p["patient"].id,
            "kid": p["patient"].sig.kid,
            "effectiveHeight": 3,
            "reason": "compromised",
        },
        [p["patient"].sig],
        "revocation/patient",
    )
    patient_new = Key("Ed25519", "sig", "p-7f3a9c21e04b/Ed25519/sig/2")
    patient_rotation = signed(
        {
            "objectType": "KeyRotation",
            "participant": p["patient"].id,
            "oldKid": p["patient"].sig.kid,
            "newKey": patient_new.public,
            "effectiveHeight": 12,
        },
        [p["patient"].sig],
        "rotation/patient",
    )

    valid["participant"] = {
        "hospital": hospital_doc,
        "patient": patient_doc,
        "validator-regulator": validator_docs[2],
    }
    valid["public-key"] = {
        "p256-signing": p["hospital"].sig.public,
        "p256-encryption": p["hospital"].keys[1].public,
        "ed25519-signing": p["patient"].sig.public,
        "x25519-encryption": p["patient"].keys[1].public,
    }
    valid["key-rotation"] = {"hospital-p256": rotation, "patient-ed25519": patient_rotation}
    valid["key-revocation"] = {
        "retired-encryption-key": revocation,
        "compromised-signing-key": compromised,
    }
    vset2 = {
        "objectType": "ValidatorSet",
        "version": 2,
        "threshold": 2,
        "validators": vset["validators"][:3],
        "effectiveHeight": 1840,
    }
    valid["validator-set"] = {"genesis-3-of-4": vset, "version-2-2-of-3": vset2}

    # JWS: a detached multi-signature over a canonical object, and an attached one.
    vset_payload = canonical(vset)
    valid["jws"] = {
        "detached-two-signers": {
            "objectType": "Jws",
            "signatures": sign_payload(
                vset_payload, [p["northgate"].sig, p["authority"].sig], "jws/detached"
            ),
        },
        "attached-es256": {
            "objectType": "Jws",
            "payload": _b64(canonical(hospital_doc)),
            "signatures": sign_payload(
                canonical(hospital_doc), [p["hospital"].sig], "jws/attached"
            ),
        },
    }

    # JWE: a heart-rate observation for the patient's device; a glucose result for the
    # hospital and the patient, bound to its record id.
    heart = observation(
        "8867-4", "Heart rate", "72", "beats/minute", ucum="/min", when="2025-03-14T07:42:00Z"
    )
    glucose = observation(
        "2345-7",
        "Glucose [Mass/volume] in Serum or Plasma",
        "98",
        "mg/dL",
        ucum="mg/dL",
        when="2025-03-12T10:05:00Z",
    )
    fhir = "application/fhir+json; fhirVersion=4.0"
    valid["jwe"] = {
        "one-recipient-x25519": encrypt(heart, [p["patient"].keys[1]], fhir, "heart"),
        "two-recipients-with-aad": encrypt(
            glucose,
            [p["hospital"].keys[1], p["patient"].keys[1]],
            fhir,
            "glucose",
            aad=b"urn:uuid:6f1d2c4a-93b7-4e0f-8a52-1c7d9e3b5a60",
        ),
    }
    valid["transaction"] = {"participant-register": tx2, "key-rotate": tx4, "key-revoke": tx5}
    valid["block"] = {
        "genesis": ledger.blocks[0],
        "height-1-registrations": ledger.blocks[1],
        "height-2-key-changes": ledger.blocks[2],
    }
    valid["checkpoint"] = {
        "height-1": ledger.checkpoint(1, ["northgate", "riverside", "authority"]),
        "height-2": ledger.checkpoint(2, ["riverside", "authority", "platform"]),
    }
    valid["inclusion-proof"] = {
        "key-rotate-at-height-2": ledger.inclusion_proof(4, 2),
        "genesis-register-at-height-1": ledger.inclusion_proof(0, 1),
    }
    valid["consistency-proof"] = {
        "genesis-to-height-2": ledger.consistency_proof(2, 6),
        "height-1-to-height-2": ledger.consistency_proof(4, 6),
    }
    limits = {
        "maxBodyBytes": 10485760,
        "maxNestingDepth": 64,
        "replayWindowSeconds": 300,
        "clockSkewSeconds": 30,
    }
    valid["capability-document"] = {
        "full-node": {
            "objectType": "CapabilityDocument",
            "specVersion": "1.0",
            "profiles": ["core-format", "security", "ledger", "consent", "audit", "exchange-api"],
            "algorithms": {
                "signature": ["ES256", "Ed25519"],
                "keyAgreement": ["ECDH-ES+A256KW"],
                "contentEncryption": ["A256GCM"],
                "curves": ["P-256", "Ed25519", "X25519"],
            },
            "validatorSet": vset,
            "nodeKeys": [p["platform"].sig.public, p["platform"].keys[1].public],
            "limits": limits,
        },
        "ledger-only-node": {
            "objectType": "CapabilityDocument",
            "specVersion": "1.0",
            "profiles": ["core-format", "security", "ledger"],
            "algorithms": {
                "signature": ["Ed25519"],
                "keyAgreement": ["ECDH-ES+A256KW"],
                "contentEncryption": ["A256GCM"],
                "curves": ["Ed25519", "X25519"],
            },
            "validatorSet": vset,
            "nodeKeys": [p["authority"].sig.public],
            "limits": limits,
        },
    }

    _add_invalid(invalid, valid, p)
    _add_rule_breaking(invalid, valid, p)
    _add_error_responses(valid, invalid)
    return valid, invalid


def _b64(data: bytes) -> str:
    return str(base64url_encode(data))


def _add_invalid(
    invalid: dict[str, Invalid], valid: dict[str, Examples], p: Mapping[str, Party]
) -> None:
    hospital = valid["participant"]["hospital"]
    invalid["participant"] = {
        "empty-roles": (_mutate(hospital, _set("roles", [])), "BMDX-DM-011"),
        "unknown-role": (_mutate(hospital, _set("roles", ["hospital", "clinic"])), "BMDX-DM-011"),
        "duplicate-role": (
            _mutate(hospital, _set("roles", ["hospital", "hospital"])),
            "BMDX-DM-011",
        ),
        "id-not-a-urn": (_mutate(hospital, _set("id", "st-brigids-hospital")), "BMDX-DM-010"),
        "key-with-private-d": (
            _mutate(hospital, _set("keys/0/d", _private_d(p["hospital"].sig))),
            "BMDX-DM-020",
        ),
    }
    p256 = valid["public-key"]["p256-signing"]
    ed = valid["public-key"]["ed25519-signing"]
    invalid["public-key"] = {
        "private-member-d": (_mutate(ed, _set("d", _private_d(p["patient"].sig))), "BMDX-DM-020"),
        "x-with-padding": (_mutate(p256, _set("x", p256["x"] + "=")), "BMDX-DM-020"),
        "curve-p384": (_mutate(p256, _set("crv", "P-384")), "BMDX-DM-021"),
        "alg-rs256": (_mutate(p256, _set("alg", "RS256")), "BMDX-DM-021"),
        "kty-rsa": (_mutate(ed, _set("kty", "RSA")), "BMDX-DM-021"),
        "kid-hex-sha256": (
            _mutate(p256, _set("kid", hashlib.sha256(p256["x"].encode()).hexdigest())),
            "BMDX-DM-022",
        ),
    }
    rotation = valid["key-rotation"]["hospital-p256"]
    invalid["key-rotation"] = {
        "missing-old-kid": (_mutate(rotation, _delete("oldKid")), "BMDX-DM-025"),
        "no-signatures": (_mutate(rotation, _set("signatures", [])), "BMDX-DM-030"),
        "new-key-with-private-d": (
            _mutate(rotation, _set("newKey/d", _private_d(p["hospital"].sig))),
            "BMDX-DM-020",
        ),
    }
    revocation = valid["key-revocation"]["retired-encryption-key"]
    invalid["key-revocation"] = {
        "reason-lost": (_mutate(revocation, _set("reason", "lost")), "BMDX-DM-028"),
        "negative-height": (_mutate(revocation, _set("effectiveHeight", -1)), "BMDX-DM-027"),
        "truncated-signature": (
            _mutate(
                revocation,
                _set("signatures/0/signature", revocation["signatures"][0]["signature"][:64]),
            ),
            "BMDX-DM-030",
        ),
        "unprotected-alg": (
            _mutate(revocation, _set("signatures/0/header", {"alg": "none"})),
            "BMDX-DM-030",
        ),
    }
    vset = valid["validator-set"]["genesis-3-of-4"]
    invalid["validator-set"] = {
        "threshold-zero": (_mutate(vset, _set("threshold", 0)), "BMDX-DM-034"),
        "duplicate-validator": (
            _mutate(vset, _set("validators", [*vset["validators"], vset["validators"][0]])),
            "BMDX-DM-036",
        ),
        "no-validators": (_mutate(vset, _set("validators", [])), "BMDX-DM-036"),
        "version-zero": (_mutate(vset, _set("version", 0)), "BMDX-DM-033"),
    }
    jws = valid["jws"]["attached-es256"]
    invalid["jws"] = {
        "payload-with-padding": (
            _mutate(jws, _set("payload", jws["payload"] + "==")),
            "BMDX-DM-040",
        ),
        "compact-serialisation": (
            {
                "objectType": "Jws",
                "payload": jws["payload"],
                "protected": jws["signatures"][0]["protected"],
                "signature": jws["signatures"][0]["signature"],
            },
            "BMDX-DM-040",
        ),
        "signature-standard-base64": (
            _mutate(
                jws,
                _set(
                    "signatures/0/signature",
                    jws["signatures"][0]["signature"].replace("-", "+").replace("_", "/") + "==",
                ),
            ),
            "BMDX-DM-030",
        ),
    }
    jwe = valid["jwe"]["two-recipients-with-aad"]
    invalid["jwe"] = {
        "iv-128-bits": (_mutate(jwe, _set("iv", _b64(_seed("iv128", 16)))), "BMDX-DM-046"),
        "tag-96-bits": (_mutate(jwe, _set("tag", _b64(_seed("tag96", 12)))), "BMDX-DM-046"),
        "recipient-rsa-oaep": (
            _mutate(jwe, _set("recipients/0/header/alg", "RSA-OAEP-256")),
            "BMDX-DM-047",
        ),
        "epk-with-private-d": (
            _mutate(jwe, _set("recipients/1/header/epk/d", _b64(_seed("epk-d")))),
            "BMDX-DM-047",
        ),
        "missing-ciphertext": (_mutate(jwe, _delete("ciphertext")), "BMDX-DM-045"),
    }
    tx = valid["transaction"]["key-rotate"]
    invalid["transaction"] = {
        "unknown-type": (_mutate(tx, _set("type", "record.delete")), "BMDX-DM-052"),
        "output-public-key": (
            _mutate(tx, _set("outputs", [valid["public-key"]["p256-signing"]])),
            "BMDX-DM-051",
        ),
        "output-invalid-rotation": (
            _mutate(tx, _delete("outputs/0/effectiveHeight")),
            "BMDX-DM-051",
        ),
        "sequence-zero": (_mutate(tx, _set("sequence", 0)), "BMDX-DM-050"),
        "unsigned": (_mutate(tx, _delete("signatures")), "BMDX-DM-050"),
    }
    block = valid["block"]["height-2-key-changes"]
    invalid["block"] = {
        "missing-tail": (_mutate(block, _delete("tail")), "BMDX-DM-060"),
        "previous-not-a-digest": (
            _mutate(block, _set("header/previous", block["header"]["previous"][8:])),
            "BMDX-DM-060",
        ),
        "tail-without-signatures": (_mutate(block, _set("tail/signatures", [])), "BMDX-DM-030"),
        "transaction-of-unknown-type": (
            _mutate(block, _set("body/transactions/0/type", "key.delete")),
            "BMDX-DM-052",
        ),
    }
    checkpoint = valid["checkpoint"]["height-2"]
    invalid["checkpoint"] = {
        "origin-url": (_mutate(checkpoint, _set("origin", "https://" + ORIGIN)), "BMDX-DM-065"),
        "root-hash-upper-case": (
            _mutate(checkpoint, _set("rootHash", checkpoint["rootHash"].upper())),
            "BMDX-DM-065",
        ),
        "negative-tree-size": (_mutate(checkpoint, _set("treeSize", -6)), "BMDX-DM-065"),
    }
    inclusion = valid["inclusion-proof"]["key-rotate-at-height-2"]
    invalid["inclusion-proof"] = {
        "path-hex-without-prefix": (
            _mutate(inclusion, _set("path/0", inclusion["path"][0][8:])),
            "BMDX-DM-070",
        ),
        "negative-leaf-index": (_mutate(inclusion, _set("leafIndex", -1)), "BMDX-DM-070"),
        "empty-tree": (_mutate(inclusion, _set("treeSize", 0)), "BMDX-DM-070"),
    }
    consistency = valid["consistency-proof"]["height-1-to-height-2"]
    invalid["consistency-proof"] = {
        "first-size-zero": (_mutate(consistency, _set("firstSize", 0)), "BMDX-DM-075"),
        "root-as-base64": (
            _mutate(
                consistency, _set("firstRoot", _b64(bytes.fromhex(consistency["firstRoot"][8:])))
            ),
            "BMDX-DM-075",
        ),
    }
    capability = valid["capability-document"]["full-node"]
    invalid["capability-document"] = {
        "signature-rs256": (
            _mutate(capability, _set("algorithms/signature", ["ES256", "RS256"])),
            "BMDX-DM-081",
        ),
        "key-agreement-plain-ecdh-es": (
            _mutate(capability, _set("algorithms/keyAgreement", ["ECDH-ES"])),
            "BMDX-DM-081",
        ),
        "unknown-profile": (
            _mutate(capability, _set("profiles", ["core-format", "blockchain"])),
            "BMDX-DM-080",
        ),
        "missing-validator-set": (_mutate(capability, _delete("validatorSet")), "BMDX-DM-080"),
    }


def _add_rule_breaking(
    invalid: dict[str, Invalid], valid: dict[str, Examples], p: Mapping[str, Party]
) -> None:
    """Documents their schema accepts that break a rule checked by code (semantic.py)."""
    hospital = valid["participant"]["hospital"]
    invalid["participant"]["same-key-twice"] = (
        _mutate(hospital, _set("keys", [hospital["keys"][0], *hospital["keys"]])),
        "BMDX-DM-012",
    )
    p256 = valid["public-key"]["p256-signing"]
    ed = valid["public-key"]["ed25519-signing"]
    invalid["public-key"].update(
        {
            "ec-without-y": (_mutate(p256, _delete("y")), "BMDX-DM-023"),
            "okp-with-y": (_mutate(ed, _set("y", p256["y"])), "BMDX-DM-023"),
            "kid-of-another-key": (_mutate(p256, _set("kid", ed["kid"])), "BMDX-DM-022"),
            "p256-signing-key-with-alg-ed25519": (
                _mutate(p256, _set("alg", "Ed25519")),
                "BMDX-DM-021",
            ),
        }
    )
    rotation = valid["key-rotation"]["hospital-p256"]
    old = p["hospital"].sig
    to_itself = {k: v for k, v in rotation.items() if k != "signatures"}
    to_itself["newKey"] = old.public
    invalid["key-rotation"]["rotation-to-the-same-key"] = (
        signed(to_itself, [old], "rotation/to-itself"),
        "BMDX-DM-026",
    )
    vset = valid["validator-set"]["genesis-3-of-4"]
    first = vset["validators"][0]
    second_key = Key("Ed25519", "sig", f"{p['northgate'].slug}/Ed25519/sig/2")
    invalid["validator-set"].update(
        {
            "threshold-above-validators": (
                _mutate(vset, _set("threshold", len(vset["validators"]) + 1)),
                "BMDX-DM-034",
            ),
            "participant-twice-with-two-keys": (
                _mutate(
                    vset,
                    _set(
                        "validators",
                        [*vset["validators"], {**first, "kid": second_key.kid}],
                    ),
                ),
                "BMDX-DM-036",
            ),
        }
    )
    jwe = valid["jwe"]["two-recipients-with-aad"]
    protected = json.loads(base64url_decode(jwe["protected"]))
    invalid["jwe"].update(
        {
            "epk-ec-on-x25519": (
                _mutate(jwe, _set("recipients/0/header/epk/crv", "X25519")),
                "BMDX-DM-047",
            ),
            "enc-a128gcm": (
                _mutate(
                    jwe,
                    _set(
                        "protected",
                        _b64(json.dumps({**protected, "enc": "A128GCM"}).encode()),
                    ),
                ),
                "BMDX-DM-048",
            ),
        }
    )
    tx = valid["transaction"]["key-rotate"]
    invalid["transaction"]["rotate-outputs-a-revocation"] = (
        _mutate(tx, _set("outputs", [valid["key-revocation"]["retired-encryption-key"]])),
        "BMDX-DM-053",
    )
    block = valid["block"]["height-2-key-changes"]
    genesis = valid["block"]["genesis"]
    invalid["block"].update(
        {
            "tx-count-not-the-body": (
                _mutate(block, _set("header/txCount", block["header"]["txCount"] + 1)),
                "BMDX-DM-061",
            ),
            "genesis-with-a-previous-block": (
                _mutate(genesis, _set("header/previous", block["header"]["previous"])),
                "BMDX-DM-061",
            ),
        }
    )
    inclusion = valid["inclusion-proof"]["key-rotate-at-height-2"]
    invalid["inclusion-proof"]["leaf-index-beyond-tree"] = (
        _mutate(inclusion, _set("leafIndex", inclusion["treeSize"])),
        "BMDX-DM-071",
    )
    consistency = valid["consistency-proof"]["height-1-to-height-2"]
    invalid["consistency-proof"]["first-larger-than-second"] = (
        _mutate(
            _mutate(consistency, _set("firstSize", consistency["secondSize"])),
            _set("secondSize", consistency["firstSize"]),
        ),
        "BMDX-DM-076",
    )


def _private_d(key: Key) -> str:
    return str(key.jwk.export_private(as_dict=True)["d"])


def _problem(error: DocumentError) -> dict[str, Any]:
    """An error response exactly as the reference builds it, with its objectType."""
    return {"objectType": "ErrorResponse", **error.problem()}


def _add_error_responses(valid: dict[str, Examples], invalid: dict[str, Invalid]) -> None:
    schemas = schema_set()
    bad_participant = invalid["participant"]["duplicate-role"][0]
    schema_error = SchemaValidationError(
        schemas.violations(bad_participant), object_type="Participant"
    )
    unknown = DocumentError(
        "unknown objectType 'MedicalRecord'",
        requirement="BMDX-DM-001",
        reason="unknown-object-type",
        pointer="/objectType",
    )
    schema_problem = _problem(schema_error)
    schema_problem["instance"] = "/participants"
    valid["error-response"] = {
        "schema-violation": schema_problem,
        "unknown-object-type": _problem(unknown),
    }
    base = valid["error-response"]["unknown-object-type"]
    invalid["error-response"] = {
        "requirement-without-prefix": (_mutate(base, _set("requirement", "DM-001")), "BMDX-DM-091"),
        "violation-requirement-lower-case": (
            _mutate(schema_problem, _set("violations/0/requirement", "bmdx-dm-011")),
            "BMDX-DM-091",
        ),
        "status-700": (_mutate(base, _set("status", 700)), "BMDX-DM-090"),
        "missing-reason": (_mutate(base, _delete("reason")), "BMDX-DM-090"),
    }


def write(spec: Path) -> None:
    valid, invalid = build()
    order = SchemaOrder(spec / "schemas" / "json")
    for stem in STEMS:
        vdir = spec / "examples" / "valid" / stem
        idir = spec / "examples" / "invalid" / stem
        for directory in (vdir, idir):
            directory.mkdir(parents=True, exist_ok=True)
            for old in directory.glob("*.json"):
                old.unlink()
        for name, doc in valid[stem].items():
            (vdir / f"{name}.json").write_text(_dump(order.order(doc)), encoding="utf-8")
        expected = {}
        for name, (doc, requirement) in invalid[stem].items():
            (idir / f"{name}.json").write_text(_dump(order.order(doc)), encoding="utf-8")
            expected[f"{name}.json"] = requirement
        expected.update(hand_written_expectations(idir / "expected.yaml"))
        header = f"# Each invalid {stem} example and the requirement it breaks.\n"
        body = yaml.safe_dump(expected, sort_keys=True, default_flow_style=False)
        (idir / "expected.yaml").write_text(header + body, encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SPEC)
