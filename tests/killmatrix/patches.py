"""The broken components of the kill-matrix variants, one function per variant.

Each function replaces or wraps exactly one component of the reference implementation
by assigning a module attribute, and is applied by ``launch.py`` inside the variant's
own process only, before the reference serves a single request.  Nothing here is
imported by the reference or by the conformance suite: the reference carries no test
hooks, and the suite certifies each variant as a stranger would.

The bugs are the ones real implementations ship: they are written to behave exactly
like the reference except at the one place they break.
"""

from __future__ import annotations

import base64
import builtins
import contextvars
import copy
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml.ElementTree import DefusedXMLParser
from jwcrypto import jwa
from rfc8785 import _impl

from bmdx.reference._internal import (
    adapter,
    anomaly,
    canonical,
    consent,
    documents,
    httpsig,
    ijson,
    jwe,
    jws,
    keys,
    merkle,
    schema,
    signing,
    xmlmap,
)
from bmdx.reference._internal.errors import ApiError, IJsonError, SignatureError
from bmdx.reference._internal.ledger import node as ledger_node
from bmdx.reference._internal.ledger import state as ledger_state
from bmdx.reference._internal.node import exchange as node_exchange
from bmdx.reference._internal.node import service as node_service
from bmdx.reference._internal.node import web
from bmdx.reference.cli import _adapter

__all__ = ["PATCHES", "apply"]

Patch = Callable[[], None]
PATCHES: dict[str, Patch] = {}


def _patch(name: str) -> Callable[[Patch], Patch]:
    def register(function: Patch) -> Patch:
        if name in PATCHES:
            raise ValueError(f"two patches are named {name}")
        PATCHES[name] = function
        return function

    return register


def apply(name: str) -> None:
    """Break the component ``name`` names; ``none`` leaves the reference intact."""
    if name == "none":
        return
    PATCHES[name]()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _header(entry: Any) -> dict[str, Any] | None:
    """The protected header of a signature entry, leniently decoded (as broken code does)."""
    try:
        value = json.loads(_b64decode(entry["protected"]))
    except (KeyError, TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


# --- JSON input and the canonical form --------------------------------------------------


@_patch("ijson-duplicate-keys")
def _duplicate_keys() -> None:
    """The parser keeps the last of two members with one name (Python's default)."""

    ijson._no_duplicates = dict  # type: ignore[assignment]


@_patch("ijson-nesting-unbounded")
def _nesting_unbounded() -> None:
    """The parser's depth limit is taken from a default far above the profile's."""

    original = ijson.check_ijson_value

    def unbounded(value: Any, *, max_depth: int | None = None) -> None:
        original(value, max_depth=10_000)

    ijson.check_ijson_value = unbounded
    original_shape = canonical._check_shape

    def shape(value: Any, *, integers_only: bool) -> None:
        if not integers_only:
            return
        original_shape(value, integers_only=True)

    canonical._check_shape = shape


@_patch("ijson-bom-accepted")
def _bom_accepted() -> None:
    """A leading UTF-8 byte-order mark is skipped instead of refused."""

    original = ijson.loads

    def loads(data: bytes | str, *, max_bytes: int | None = None) -> Any:
        if isinstance(data, bytes) and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        return original(data, max_bytes=max_bytes)

    ijson.loads = loads


@_patch("jcs-numbers-python-repr")
def _numbers_python_repr() -> None:
    """The canonicaliser writes numbers as Python does (1.0, 1e+21) instead of ES6."""

    def write(f: float, sink: Any) -> None:
        if f != f or f in (float("inf"), float("-inf")):
            raise _impl.FloatDomainError(f)
        sink.write(repr(f).encode("ascii"))

    _impl._serialize_float = write


@_patch("jcs-code-point-order")
def _code_point_order() -> None:
    """The canonicaliser sorts member names by code point instead of UTF-16 code unit."""

    def by_code_point(items: Any, key: Any = None) -> list[Any]:
        return builtins.sorted(items, key=lambda kv: kv[0])

    _impl.sorted = by_code_point  # type: ignore[attr-defined]


@_patch("signing-payload-keeps-decimals")
def _signing_keeps_decimals() -> None:
    """The signing payload lets decimals through, which no two signers write alike."""

    original = canonical._check_shape

    def shape(value: Any, *, integers_only: bool) -> None:
        original(value, integers_only=False)

    canonical._check_shape = shape


# --- signatures -------------------------------------------------------------------------


@_patch("jws-bad-signature-accepted")
def _bad_signature() -> None:
    """Every header check runs, but a signature that does not verify is let through."""

    original = jws.verify_raw

    def verify_raw(alg: Any, key: Any, message: bytes, signature: bytes, **kw: Any) -> None:
        try:
            original(alg, key, message, signature, **kw)
        except SignatureError as e:
            if e.reason != "signature-mismatch":
                raise

    jws.verify_raw = verify_raw


@_patch("jws-alg-none-accepted")
def _alg_none() -> None:
    """A signature whose header says alg none is taken as verified, unchecked."""

    original = jws.verify_signature

    def verify_signature(entry: Any, payload: bytes, keys: Mapping[str, Any], **kw: Any) -> Any:
        header = _header(entry)
        if header and str(header.get("alg", "")).lower() == "none" and header.get("kid") in keys:
            kid = header["kid"]
            return jws.VerifiedSignature(kid=kid, alg="none", key=keys[kid])
        return original(entry, payload, keys, **kw)

    jws.verify_signature = verify_signature


@_patch("jws-hmac-with-public-key")
def _hmac_confusion() -> None:
    """Algorithm confusion: an HS* header is verified as an HMAC keyed with the signer's
    public JWK (its JSON text), as libraries that take alg from the token do."""

    original = jws.verify_signature
    digests = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}

    def verify_signature(entry: Any, payload: bytes, keys: Mapping[str, Any], **kw: Any) -> Any:
        header = _header(entry)
        alg = header.get("alg") if header else None
        if header and alg in digests and header.get("kid") in keys:
            key = keys[header["kid"]]
            secret = json.dumps(dict(key.jwk), sort_keys=True).encode()
            message = jws.signing_input(entry["protected"], payload)
            expected = hmac.new(secret, message, digests[alg]).digest()
            if hmac.compare_digest(expected, _b64decode(entry.get("signature", ""))):
                return jws.VerifiedSignature(kid=header["kid"], alg=alg, key=key)
        return original(entry, payload, keys, **kw)

    jws.verify_signature = verify_signature


@_patch("jws-embedded-jwk-trusted")
def _embedded_jwk() -> None:
    """A key embedded in the header is imported and trusted for its own signature."""

    original_verify = jws.verify_signature
    original_parse = jws._parse_protected

    def parse_protected(protected: str) -> Any:
        header = _header({"protected": protected})
        if header is not None and "jwk" in header:
            del header["jwk"]
            stripped = json.dumps(header, separators=(",", ":")).encode()
            return original_parse(base64.urlsafe_b64encode(stripped).rstrip(b"=").decode())
        return original_parse(protected)

    def verify_signature(entry: Any, payload: bytes, trusted: Mapping[str, Any], **kw: Any) -> Any:
        header = _header(entry)
        if header and isinstance(header.get("jwk"), dict):
            embedded = keys.import_public_jwk(header["jwk"], use="sig")
            trusted = {**trusted, str(header.get("kid")): embedded}
        return original_verify(entry, payload, trusted, **kw)

    jws._parse_protected = parse_protected
    jws.verify_signature = verify_signature


@_patch("jws-any-signature-suffices")
def _any_signature() -> None:
    """A multi-signed object verifies when any one of its signatures does."""

    original = jws.verify_signatures

    def verify_signatures(entries: Any, payload: bytes, keys: Mapping[str, Any], **kw: Any) -> Any:
        if isinstance(entries, list):
            for entry in entries:
                try:
                    return original([entry], payload, keys, **kw)
                except SignatureError:
                    continue
        return original(entries, payload, keys, **kw)

    jws.verify_signatures = verify_signatures
    signing.verify_signatures = verify_signatures


# --- encryption -------------------------------------------------------------------------


@_patch("jwe-tag-ignored")
def _tag_ignored() -> None:
    """AES-GCM content decryption runs the counter mode and never checks the tag."""

    def decrypt(self: Any, k: bytes, aad: bytes, iv: bytes, e: bytes, t: bytes) -> bytes:
        counter = iv + (2).to_bytes(4, "big")  # GCM: J0 = IV || 1; data from J0 + 1
        decryptor = Cipher(algorithms.AES(k), modes.CTR(counter)).decryptor()
        return decryptor.update(e) + decryptor.finalize()

    jwa._AesGcm.decrypt = decrypt


@_patch("jwe-zip-accepted")
def _zip_accepted() -> None:
    """A compressed JWE (zip DEF) is inflated instead of refused."""

    original = jwe._check_header

    def check_header(header: dict[str, Any], prof: Any) -> None:
        original({k: v for k, v in header.items() if k != "zip"}, prof)

    jwe._check_header = check_header


@_patch("jwe-alg-header-ignored")
def _alg_ignored() -> None:
    """The key-management alg of the header is not checked (RSA1_5, PBES2, dir, none all
    pass): the decryptor uses its own algorithm whatever the JWE says."""

    original = jwe._open

    def open_(token: Mapping[str, Any], key: Any) -> tuple[bytes, bytes]:
        fixed = copy.deepcopy(dict(token))
        for recipient in fixed.get("recipients") or ():
            header = recipient.get("header") if isinstance(recipient, dict) else None
            if isinstance(header, dict) and "alg" in header:
                header["alg"] = jwe._profile().alg
        return original(fixed, key)

    jwe._open = open_


@_patch("jwe-digest-unchecked")
def _digest_unchecked() -> None:
    """The plaintext is released without comparing it to the record's plaintextDigest."""

    def check(plaintext: bytes, expected: str) -> None:
        return None

    jwe.check_plaintext_digest = check


# --- XML --------------------------------------------------------------------------------


@_patch("xml-entities-expanded")
def _entities_expanded() -> None:
    """The XML parser is configured to allow DTDs and expand internal entities."""

    class Permissive(DefusedXMLParser):  # type: ignore[misc]
        def __init__(self, **kwargs: Any) -> None:
            kwargs.update(forbid_dtd=False, forbid_entities=False)
            super().__init__(**kwargs)

    xmlmap.DefusedXMLParser = Permissive


# --- documents --------------------------------------------------------------------------


@_patch("schema-additional-properties-ignored")
def _additional_properties() -> None:
    """Validation reports no violation for members the schema does not define."""

    original = schema.SchemaSet.violations

    def violations(self: Any, document: Any, object_type: str | None = None) -> Any:
        return [
            v
            for v in original(self, document, object_type)
            if "Additional properties" not in v.message and "unevaluated" not in v.message.lower()
        ]

    schema.SchemaSet.violations = violations  # type: ignore[method-assign]


@_patch("schema-enum-ignored")
def _enum_ignored() -> None:
    """Validation accepts any string where the schema lists the allowed codes."""

    original = schema.SchemaSet.violations

    def violations(self: Any, document: Any, object_type: str | None = None) -> Any:
        return [
            v for v in original(self, document, object_type) if " is not one of " not in v.message
        ]

    schema.SchemaSet.violations = violations  # type: ignore[method-assign]


@_patch("xml-drops-empty-arrays")
def _drops_empty_arrays() -> None:
    """JSON -> XML writes nothing for an empty array, so the way back loses it."""

    original = xmlmap.json_to_xml

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if v != []}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    def json_to_xml(document: dict[str, Any], **kw: Any) -> bytes:
        return original(strip(document), **kw)

    xmlmap.json_to_xml = json_to_xml
    adapter.json_to_xml = json_to_xml


# --- Merkle trees -----------------------------------------------------------------------


@_patch("merkle-no-leaf-prefix")
def _no_leaf_prefix() -> None:
    """Leaves are hashed without the RFC 9162 0x00 prefix."""

    def leaf_hash(entry: bytes) -> bytes:
        return hashlib.sha256(entry).digest()

    merkle.leaf_hash = leaf_hash


@_patch("merkle-no-node-prefix")
def _no_node_prefix() -> None:
    """Interior nodes are hashed without the RFC 9162 0x01 prefix."""

    def node_hash(left: bytes, right: bytes) -> bytes:
        return hashlib.sha256(left + right).digest()

    merkle.node_hash = node_hash


@_patch("merkle-inclusion-ignores-size")
def _inclusion_ignores_size() -> None:
    """The inclusion verifier folds the path by the leaf index alone and accepts when the
    root matches, never checking that the path fits a tree of the claimed size."""

    original = merkle.verify_inclusion

    def verify_inclusion(leaf: bytes, index: int, size: int, proof: Any, root: bytes) -> bool:
        if not 0 <= index < size:
            return False
        fn, r = index, leaf
        for p in proof:
            r = merkle.node_hash(p, r) if fn & 1 else merkle.node_hash(r, p)
            fn >>= 1
        return r == root or original(leaf, index, size, proof, root)

    merkle.verify_inclusion = verify_inclusion


@_patch("merkle-consistency-first-root-unchecked")
def _consistency_first_root() -> None:
    """The consistency verifier checks the new root the proof implies, never the old."""

    def verify_consistency(
        first: int, second: int, proof: Any, first_root: bytes, second_root: bytes
    ) -> bool:
        if not 0 < first <= second:
            return False
        if first == second:
            return not proof and first_root == second_root
        if not proof:
            return False
        path = list(proof)
        if first & (first - 1) == 0:
            path.insert(0, first_root)
        fn, sn = first - 1, second - 1
        while fn & 1:
            fn >>= 1
            sn >>= 1
        sr = path[0]
        for c in path[1:]:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                sr = merkle.node_hash(c, sr)
                if not fn & 1:
                    while fn & 1 == 0 and fn != 0:
                        fn >>= 1
                        sn >>= 1
            else:
                sr = merkle.node_hash(sr, c)
            fn >>= 1
            sn >>= 1
        return sr == second_root and sn == 0

    merkle.verify_consistency = verify_consistency


# --- the adapter protocol ---------------------------------------------------------------


@_patch("adapter-id-as-string")
def _id_as_string() -> None:
    """Responses echo a numeric request id as a string."""

    original = adapter.Adapter.handle

    def handle(self: Any, request: dict[str, Any]) -> dict[str, Any]:
        response = original(self, request)
        if isinstance(response.get("id"), int):
            response["id"] = str(response["id"])
        return response

    adapter.Adapter.handle = handle  # type: ignore[method-assign]


@_patch("adapter-banner-on-stdout")
def _banner() -> None:
    """The adapter greets on standard output before its first answer."""

    original = adapter.serve

    def serve(stdin: Any, stdout: Any, **kw: Any) -> int:
        stdout.write(b"bmdx adapter ready\n")
        stdout.flush()
        return original(stdin, stdout, **kw)

    adapter.serve = serve
    _adapter.serve = serve


@_patch("adapter-serves-before-start")
def _serves_before_start() -> None:
    """Requests before start are answered as if the session had started."""

    original = adapter.Adapter._run

    def run(self: Any, cmd: str, args: dict[str, Any]) -> dict[str, Any]:
        self.started = True
        return original(self, cmd, args)

    adapter.Adapter._run = run  # type: ignore[method-assign]


@_patch("adapter-exits-on-refusal")
def _exits_on_refusal() -> None:
    """The adapter answers an input refusal, then stops serving."""

    original = adapter.Adapter.handle

    def handle(self: Any, request: dict[str, Any]) -> dict[str, Any]:
        response = original(self, request)
        error = response.get("error") or {}
        if not response.get("ok") and not str(error.get("requirement", "")).startswith("BMDX-ADP-"):
            self.stopped = True
        return response

    adapter.Adapter.handle = handle  # type: ignore[method-assign]


# --- audit ------------------------------------------------------------------------------


@_patch("anomaly-threshold-off-by-one")
def _threshold_off_by_one() -> None:
    """A count rule fires when the count reaches its threshold (>=), not above it (>)."""

    parse_rules, alert = anomaly._parse_rules, anomaly._alert

    def lowered(rules: Any, **kw: Any) -> Any:
        return [dataclasses.replace(r, threshold=r.threshold - 1) for r in parse_rules(rules, **kw)]

    def restored(rule: Any, *args: Any) -> Any:
        return alert(dataclasses.replace(rule, threshold=rule.threshold + 1), *args)

    anomaly._parse_rules = lowered
    anomaly._alert = restored


# --- adapter commands -------------------------------------------------------------------


@_patch("validate-lenient-json")
def _validate_lenient_json() -> None:
    """validate reads JSON with the platform parser when the strict one refuses it for a
    duplicate name, a lone surrogate or a number outside I-JSON, and judges the schema
    only (canonicalize stays strict)."""

    original = documents.load_document
    lenient = {"BMDX-FMT-003", "BMDX-FMT-004", "BMDX-FMT-005"}

    def load_document(data: bytes, **kw: Any) -> tuple[Any, Any]:
        try:
            return original(data, **kw)
        except IJsonError as e:
            if e.requirement not in lenient:
                raise
            return json.loads(data), "json"

    documents.load_document = load_document


# --- the node: request authentication ---------------------------------------------------

_UNSIGNED: contextvars.ContextVar[bool] = contextvars.ContextVar("unsigned", default=False)


class _OpenWhenUnsigned(set[tuple[str, str]]):
    """The node's unauthenticated operations, plus every operation of an unsigned request."""

    def __contains__(self, item: object) -> bool:
        return _UNSIGNED.get() or super().__contains__(item)


@_patch("node-unsigned-requests-served")
def _unsigned_served() -> None:
    """Authentication is optional: a request without signature fields is served as an
    anonymous one (operations that need a caller still refuse it)."""

    original_init, original_handle = web.Intake.__init__, web.Intake._handle

    def init(self: Any, app: Any, **kw: Any) -> None:
        original_init(self, app, **kw)
        self.open = _OpenWhenUnsigned(self.open)

    async def handle(self: Any, scope: Any, receive: Any, send: Any) -> None:
        names = {name.lower() for name, _ in scope["headers"]}
        token = _UNSIGNED.set(b"signature" not in names and b"signature-input" not in names)
        try:
            await original_handle(self, scope, receive, send)
        finally:
            _UNSIGNED.reset(token)

    web.Intake.__init__ = init  # type: ignore[method-assign]
    web.Intake._handle = handle  # type: ignore[method-assign]


@_patch("node-nonce-cache-disabled")
def _nonce_cache_disabled() -> None:
    """The RFC 9421 nonce cache remembers nothing: a request replayed within the window
    verifies again."""

    def seen(self: Any, kid: str, nonce: str, now: int) -> bool:
        return False

    def claim(self: Any, kid: str, nonce: str, expires: int, now: int) -> None:
        return None

    httpsig._ReplayCache.seen = seen  # type: ignore[method-assign]
    httpsig._ReplayCache.claim = claim  # type: ignore[method-assign]


@_patch("node-body-limit-removed")
def _body_limit_removed() -> None:
    """The intake reads bodies of any size; only the parser behind it has a limit."""

    original = web.Intake.__init__

    def init(self: Any, app: Any, **kw: Any) -> None:
        original(self, app, **kw)
        self.max_body = 2**62

    web.Intake.__init__ = init  # type: ignore[method-assign]


# --- the node: the ledger's state machine and what it serves ----------------------------


@_patch("ledger-sequence-unchecked")
def _sequence_unchecked() -> None:
    """Step 6 of the transaction state machine is skipped: any sequence number passes."""

    def check_sequence(tx: Any) -> None:
        return None

    ledger_state._check_sequence = check_sequence


@_patch("ledger-spent-input-accepted")
def _spent_input_accepted() -> None:
    """Step 7 checks that each input exists on the ledger, not that it is still live."""

    def check_inputs(tx: Any) -> None:
        for i, ref in enumerate(tx.doc["inputs"]):
            if tx.view.object_state(ref["objectId"], ref["version"]) is None:
                raise ledger_state._reject(
                    "unknown-input",
                    f"input {ref['objectId']} version {ref['version']} is not on the ledger",
                    pointer=f"/inputs/{i}",
                )

    ledger_state._check_inputs = check_inputs


@_patch("ledger-bad-signature-accepted")
def _ledger_bad_signature() -> None:
    """Transaction signatures: every header check runs, but a signature that does not
    verify is taken as made by the key its kid names."""

    original = ledger_state.verify_signatures  # type: ignore[attr-defined]

    def verify_signatures(entries: Any, payload: bytes, keys: Any, **kw: Any) -> Any:
        try:
            return original(entries, payload, keys, **kw)
        except SignatureError as e:
            if e.reason != "signature-mismatch":
                raise
            out = []
            for entry in entries:
                header = _header(entry) or {}
                kid = str(header.get("kid"))
                key = keys.get(kid)
                if key is None:
                    raise
                out.append(jws.VerifiedSignature(kid=kid, alg=str(header.get("alg")), key=key))
            return out

    ledger_state.verify_signatures = verify_signatures  # type: ignore[attr-defined]


@_patch("node-blocks-served-short-of-threshold")
def _blocks_short_of_threshold() -> None:
    """Blocks are served with the last validator signature of their tail dropped: k-1
    signatures where the validator set needs k."""

    original = node_service.block_document  # type: ignore[attr-defined]

    def block_document(store: Any, record: Any) -> dict[str, Any]:
        document = original(store, record)
        document["tail"]["signatures"] = document["tail"]["signatures"][:-1]
        return document

    node_service.block_document = block_document  # type: ignore[attr-defined]


@_patch("node-proof-leaf-unprefixed")
def _proof_leaf_unprefixed() -> None:
    """Served inclusion proofs state a leaf hash computed without the RFC 9162 0x00 prefix."""

    def leaf_hash(entry: bytes) -> bytes:
        return hashlib.sha256(entry).digest()

    ledger_node.leaf_hash = leaf_hash  # type: ignore[attr-defined]


# --- the node: records, consent and the audit trail -------------------------------------


@_patch("node-404-for-unknown-records")
def _unknown_records_404() -> None:
    """A read of a record that does not exist is answered 404, not the uniform 403: the
    answer tells who may not read a record whether it exists."""

    original = node_exchange.Exchange.read

    def read(self: Any, attempt: Any, record_id: str, *args: Any, **kw: Any) -> Any:
        try:
            return original(self, attempt, record_id, *args, **kw)
        except ApiError as e:
            with self.service.lock:
                known = record_id in self.refresh().records
            if e.reason != "access-denied" or known:
                raise
            raise ApiError(
                "no such record", status=404, reason="not-found", requirement="BMDX-API-014"
            ) from e

    node_exchange.Exchange.read = read  # type: ignore[method-assign]


@_patch("node-query-ignores-subject")
def _query_ignores_subject() -> None:
    """GET /records drops the subject criterion: it answers every record the requester's
    consents permit, other patients' records included."""

    original = node_exchange.Exchange.query

    def query(self: Any, attempt: Any, params: Mapping[str, Any]) -> Any:
        return original(self, attempt, {k: v for k, v in params.items() if k != "subject"})

    node_exchange.Exchange.query = query  # type: ignore[method-assign]


@_patch("consent-revocation-ignored")
def _revocation_ignored() -> None:
    """A revoked governing consent version is evaluated on its provisions as if active."""

    original = consent._evaluate

    def evaluate(governing: Any, unit: Any, ctx: Any) -> Any:
        if governing is not None and governing.get("status") == "revoked":
            governing = {**governing, "status": "active"}
        return original(governing, unit, ctx)

    consent._evaluate = evaluate  # type: ignore[assignment]


@_patch("node-break-glass-not-flagged")
def _break_glass_not_flagged() -> None:
    """A break-glass access is audited as an ordinary read: no break-glass event, so no
    alert and no review."""

    original = node_exchange.Exchange._prepare

    def prepare(self: Any, *args: Any, **kw: Any) -> Any:
        outcome = original(self, *args, **kw)
        if outcome.action == "break-glass":
            outcome.action = "read"
        return outcome

    node_exchange.Exchange._prepare = prepare  # type: ignore[method-assign]


@_patch("node-denials-unaudited")
def _denials_unaudited() -> None:
    """Refused attempts leave no audit event; only permitted ones are recorded."""

    original = node_exchange.Exchange._audit

    def audit(self: Any, attempt: Any, action: str, outcome: str, **kw: Any) -> str:
        if action == "denial":
            return str(self._new_id())
        return str(original(self, attempt, action, outcome, **kw))

    node_exchange.Exchange._audit = audit  # type: ignore[method-assign]


@_patch("node-audit-purpose-dropped")
def _audit_purpose_dropped() -> None:
    """Audit events are recorded without the purpose of use of the attempt."""

    original = node_exchange.Exchange._audit

    def audit(self: Any, attempt: Any, action: str, outcome: str, **kw: Any) -> str:
        kw.pop("purpose", None)
        return str(original(self, attempt, action, outcome, **kw))

    node_exchange.Exchange._audit = audit  # type: ignore[method-assign]


class _KeepingPayloads:
    """A payload store whose ``destroy`` keeps everything."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def destroy(self, location: str) -> None:
        return None


@_patch("node-erasure-keeps-wraps")
def _erasure_keeps_wraps() -> None:
    """Erasure puts its signed receipt on the ledger but shreds nothing: the stored JWE
    keeps every wrap, and reads go on releasing the content key."""

    original = node_exchange.Exchange.erase

    def erase(self: Any, attempt: Any, record_id: str) -> Any:
        payloads = self.payloads
        self.payloads = _KeepingPayloads(payloads)
        try:
            receipt = original(self, attempt, record_id)
        finally:
            self.payloads = payloads
        with self.service.lock:
            entry = self.refresh().records.get(record_id)
            if entry is not None:
                entry.erasure = None
        return receipt

    node_exchange.Exchange.erase = erase  # type: ignore[method-assign]
