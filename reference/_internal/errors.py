"""Every failure of the reference implementation, one root per failure domain.

Each error names the requirement it enforces (``requirement``), a machine-checkable
``reason`` (stable, tested by value, never by message text), the HTTP status an entry
point maps it to, and where it can, the place in the document (``pointer``, an RFC 6901
JSON pointer, or an XPath for XML input).  Only entry points (the CLI, the HTTP API)
turn these into exit codes or responses.

::

    BmdxError
    ├── InputError                 the bytes could not be read as a BMDX document
    │   ├── IJsonError             not I-JSON (RFC 7493) or beyond the nesting limit
    │   ├── XmlSecurityError       DTD, entity, external reference (XML attacks)
    │   └── XmlSyntaxError         not well-formed XML, or not mappable
    ├── DocumentError              well-formed, but not a valid BMDX document
    │   ├── SchemaValidationError  one or more schema violations (``violations``)
    │   │   └── RuleViolationError valid against the schema, but breaks a rule checked by code
    │   └── ConsentError           inputs to consent evaluation that do not fit together
    ├── ConversionError            JSON <-> XML mapping failed
    ├── CryptoError                keys, signatures and encryption under the security profile
    │   ├── KeyImportError         a key that is malformed or outside the profile
    │   ├── KeyHistoryError        an invalid key rotation or revocation
    │   ├── SignatureError         any failed signature verification (uniform)
    │   ├── DecryptionError        any failed JWE decryption (uniform)
    │   └── RequestAuthError       an HTTP request whose RFC 9421 signature is refused
    ├── StorageError               the ledger database refused a write, is unreachable or corrupt
    ├── LedgerError                a transaction or block the ledger's rules reject
    │   ├── CheckpointError        a checkpoint (JSON or C2SP note) that does not verify
    │   └── ExportError            a ledger export whose layout or manifest is wrong
    ├── AuditError                 an audit trail or anomaly rule set the audit profile refuses
    ├── ApiError                   a request the HTTP interface refuses (403, 404, 406, 410, 413, 415)
    ├── SpecError                  the spec data itself is broken (a committee error)
    └── UsageError                 a tool was called wrongly
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "ApiError",
    "AuditError",
    "BmdxError",
    "CheckpointError",
    "ConsentError",
    "ConversionError",
    "CryptoError",
    "DecryptionError",
    "DocumentError",
    "ExportError",
    "IJsonError",
    "InputError",
    "KeyHistoryError",
    "KeyImportError",
    "LedgerError",
    "RequestAuthError",
    "RuleViolationError",
    "SchemaValidationError",
    "SignatureError",
    "SpecError",
    "StorageError",
    "UsageError",
    "Violation",
    "XmlSecurityError",
    "XmlSyntaxError",
]

DOCS_REQUIREMENT_URL = "https://bmdx.org/spec/requirements/#{id}"


class BmdxError(Exception):
    """Root of every BMDX error.

    ``requirement`` is the violated requirement id (``BMDX-AREA-NNN``); ``reason`` is a
    short kebab-case token that tests and clients match on; ``status`` is the HTTP
    status an API entry point answers with.
    """

    status: int = 400
    default_reason: str = "error"
    default_requirement: str = "BMDX-FMT-001"

    def __init__(
        self,
        message: str,
        *,
        requirement: str | None = None,
        reason: str | None = None,
        pointer: str | None = None,
        remedy: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.requirement = requirement or self.default_requirement
        self.reason = reason or self.default_reason
        self.pointer = pointer
        self.remedy = remedy

    def __str__(self) -> str:
        where = f" at {self.pointer}" if self.pointer else ""
        return f"{self.requirement} [{self.reason}]{where}: {self.message}"

    def problem(self) -> dict[str, object]:
        """This error as an RFC 9457 problem details object."""
        body: dict[str, object] = {
            "objectType": "ErrorResponse",
            "type": DOCS_REQUIREMENT_URL.format(id=self.requirement),
            "title": type(self).__name__,
            "status": self.status,
            "detail": self.message,
            "requirement": self.requirement,
            "reason": self.reason,
        }
        if self.pointer is not None:
            body["pointer"] = self.pointer
        return body


class InputError(BmdxError):
    """The input bytes could not be read as a document."""

    default_reason = "malformed"


class IJsonError(InputError):
    """JSON input that is not I-JSON (RFC 7493), or deeper than the profile allows.

    Reasons: ``syntax``, ``encoding``, ``bom``, ``duplicate-key``, ``lone-surrogate``,
    ``non-finite-number``, ``integer-range``, ``nesting-depth``, ``too-large``.
    """

    default_reason = "syntax"
    default_requirement = "BMDX-FMT-001"


class XmlSecurityError(InputError):
    """XML input that uses a DTD, entities, or external references.

    Reasons: ``forbidden-dtd``, ``entity`` (BMDX-FMT-010), ``external-reference``
    (BMDX-FMT-012).
    """

    default_reason = "forbidden-dtd"
    default_requirement = "BMDX-FMT-010"


class XmlSyntaxError(InputError):
    """XML input that is not well formed or does not follow the BMDX mapping.

    Reasons: ``xml-syntax``, ``namespace``, ``attribute``, ``comment``,
    ``processing-instruction``, ``mixed-content``, ``undefined-element`` (BMDX-FMT-011);
    ``encoding``, ``bom`` (BMDX-FMT-040); ``nesting-depth`` (BMDX-FMT-006);
    ``too-large`` (BMDX-FMT-007).
    """

    default_reason = "xml-syntax"
    default_requirement = "BMDX-FMT-011"


@dataclass(frozen=True, slots=True)
class Violation:
    """One schema violation: where, what, and which requirement it breaks."""

    pointer: str
    message: str
    requirement: str
    xpath: str | None = None

    def as_dict(self) -> dict[str, str]:
        out = {"pointer": self.pointer, "message": self.message, "requirement": self.requirement}
        if self.xpath is not None:
            out["xpath"] = self.xpath
        return out


class DocumentError(BmdxError):
    """A well-formed document that is not a valid BMDX document."""

    status = 422
    default_reason = "invalid-document"


class SchemaValidationError(DocumentError):
    """The document breaks its JSON Schema (or, for XML, its generated XSD)."""

    default_reason = "schema"

    def __init__(self, violations: list[Violation], *, object_type: str | None = None) -> None:
        if not violations:
            raise ValueError("a SchemaValidationError needs at least one violation")
        first = violations[0]
        what = f"{object_type} " if object_type else ""
        super().__init__(
            f"{what}document has {len(violations)} schema violation(s); first: {first.message}",
            requirement=first.requirement,
            pointer=first.xpath or first.pointer,
        )
        self.violations = violations
        self.object_type = object_type

    @property
    def requirements(self) -> frozenset[str]:
        return frozenset(v.requirement for v in self.violations)

    def problem(self) -> dict[str, object]:
        body = super().problem()
        body["violations"] = [v.as_dict() for v in self.violations]
        return body


class RuleViolationError(SchemaValidationError):
    """A document its schema accepts that breaks a data-model rule the schema subset
    cannot state (cross-member constraints, arithmetic, check digits), checked by
    ``semantic.py``; ``violations`` as for a schema violation."""

    default_reason = "rule"

    def __init__(self, violations: list[Violation], *, object_type: str | None = None) -> None:
        super().__init__(violations, object_type=object_type)
        what = f"{object_type} " if object_type else ""
        self.message = (
            f"{what}document breaks {len(violations)} data-model rule(s); "
            f"first: {violations[0].message}"
        )
        self.args = (self.message,)


class ConsentError(DocumentError):
    """Inputs to consent evaluation (consent.md) that are malformed or do not fit together.

    Reasons: ``schema`` (a document invalid against its schema; ``requirement`` is the
    violated one), ``actor-members``, ``inverted-period``, ``cross-border-jurisdictions``,
    ``request-scope``, ``requester-mismatch``, ``subject-mismatch``, ``multiple-consents``,
    ``consent-fork``, ``broken-chain``, ``issued-order``, ``no-records``,
    ``record-mismatch``, ``record-out-of-scope``, ``timestamp``.  ``pointer`` locates the
    defect in the evaluation's inputs (``/consents/1/previous``, ``/records/0/subject``).
    An access the consent does not allow is never an error: it is a deny decision.
    """

    default_reason = "consent-input"
    default_requirement = "BMDX-CON-002"


class ConversionError(BmdxError):
    """A document could not be mapped between JSON and XML."""

    status = 422
    default_reason = "conversion"
    default_requirement = "BMDX-FMT-020"


class CryptoError(BmdxError):
    """Keys, signatures and encryption that the security profile does not accept."""

    status = 422
    default_reason = "crypto"
    default_requirement = "BMDX-SEC-001"


class KeyImportError(CryptoError):
    """A key (JWK, PEM, DER or raw point) that is malformed or outside the profile.

    Reasons include ``kty-not-allowed``, ``curve-not-allowed``, ``alg-mismatch``,
    ``use-mismatch``, ``private-member``, ``invalid-point``, ``bad-base64url``,
    ``kid-not-thumbprint``, ``duplicate-kid``, ``passphrase``.
    """

    default_reason = "key-invalid"
    default_requirement = "BMDX-SEC-030"


class KeyHistoryError(CryptoError):
    """A key rotation or revocation that does not follow the key lifecycle rules."""

    default_reason = "key-history"
    default_requirement = "BMDX-SEC-040"


class _UniformFailureError(CryptoError):
    """A failure that must look the same whatever check failed (no oracle).

    The message, ``requirement`` and :meth:`problem` never vary; ``reason`` and
    ``violated`` (the precise requirement id) name the failed check for local
    diagnostics and tests only, and entry points never send them to a remote party.
    """

    MESSAGE = "verification failed"

    def __init__(self, *, reason: str, violated: str, remedy: str | None = None) -> None:
        super().__init__(self.MESSAGE, reason=reason, remedy=remedy)
        self.violated = violated

    def __str__(self) -> str:
        return f"{self.requirement}: {self.MESSAGE}"

    def problem(self) -> dict[str, object]:
        body = super().problem()
        body["detail"] = self.MESSAGE
        body["reason"] = self.default_reason
        body.pop("pointer", None)
        return body


class SignatureError(_UniformFailureError):
    """A signature did not verify.  Every failure looks the same from outside.

    The message, ``requirement`` (the general verification rule) and :meth:`problem`
    are identical whatever check failed, so that a verifier is no oracle for forging
    signatures or probing its key store.  ``reason`` and ``violated`` (the precise
    requirement id) name the check that failed; they are for local diagnostics and
    tests only: an entry point that faces an attacker (the HTTP API) must send the
    uniform :meth:`problem` and must not expose them.
    """

    default_reason = "signature-invalid"
    default_requirement = "BMDX-SEC-010"
    MESSAGE = "signature verification failed"


class DecryptionError(_UniformFailureError):
    """A JWE could not be decrypted.  Every failure looks the same from outside.

    Whatever failed -- a header outside the profile, an off-curve ephemeral key, a key
    unwrap, the content tag, the plaintext digest -- the message, ``requirement`` (the
    uniform-failure rule) and :meth:`problem` are identical, so that a decryptor is no
    oracle.  ``reason`` and ``violated`` (the precise requirement id) name the check
    that failed; they are for local diagnostics and tests only and are never sent to a
    remote party.
    """

    default_reason = "decryption-failed"
    default_requirement = "BMDX-SEC-114"
    MESSAGE = "decryption failed"


class RequestAuthError(CryptoError):
    """An HTTP request whose RFC 9421 message signature the node refuses (401).

    Reasons: ``missing-signature``, ``malformed-signature``, ``missing-component``,
    ``extra-component``, ``missing-parameter``, ``extra-parameter``, ``bad-nonce``,
    ``created-in-future``, ``expired``, ``replayed-nonce``, ``unknown-key``,
    ``revoked-key``, ``digest-mismatch``, ``algorithm-mismatch``, ``bad-signature``;
    ``replay-cache-full`` answers 503 (the verifier fails closed rather than forget
    a nonce that is still inside the replay window).
    """

    status = 401
    default_reason = "bad-signature"
    default_requirement = "BMDX-SEC-209"

    def __init__(
        self, message: str, *, reason: str, requirement: str, status: int | None = None
    ) -> None:
        super().__init__(message, reason=reason, requirement=requirement)
        if status is not None:
            self.status = status


class StorageError(BmdxError):
    """The ledger database refused a write, cannot be reached, or holds inconsistent data.

    Reasons: ``bad-url``, ``unavailable`` (503), ``corrupt``, ``version``, ``closed``,
    and for a refused block commit ``conflict`` (409: the height is taken), ``gap``
    (409: the height is not the next one), ``mismatch`` (422: the commit disagrees with
    itself or with the stored log) and ``integrity`` (409: a unique id is reused).  A
    refused commit leaves the store exactly as it was.
    """

    status = 500
    default_reason = "storage"
    default_requirement = "BMDX-LED-011"
    _STATUS_BY_REASON: ClassVar[Mapping[str, int]] = {
        "unavailable": 503,
        "conflict": 409,
        "gap": 409,
        "integrity": 409,
        "mismatch": 422,
    }

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        requirement: str | None = None,
        remedy: str | None = None,
    ) -> None:
        super().__init__(message, reason=reason, requirement=requirement, remedy=remedy)
        self.status = self._STATUS_BY_REASON.get(reason, type(self).status)


class LedgerError(BmdxError):
    """A transaction or a block that the ledger's state machine rejects (ledger.md).

    Transaction reasons, in the order the checks run: ``malformed``, ``schema``,
    ``unknown-sender``, ``bad-signature``, ``key-not-valid``, ``replay``,
    ``sequence-gap``, ``unknown-input``, ``spent-input``, ``type-rule``, ``timestamp``.
    Block reasons: ``bad-height``, ``bad-previous``, ``bad-count``, ``bad-tree``,
    ``bad-proposer``, ``insufficient-signatures``, ``bad-block-signature``, ``fork``
    (and ``malformed``, ``schema``, ``timestamp`` for the block itself).  ``height``
    and ``index`` locate the block and the transaction within it when known, ``txid``
    names the transaction.  A rejection changes nothing on the ledger.
    """

    status = 422
    default_reason = "rejected"
    default_requirement = "BMDX-LED-011"
    _STATUS_BY_REASON: ClassVar[Mapping[str, int]] = {
        "replay": 409,
        "sequence-gap": 409,
        "spent-input": 409,
        "fork": 409,
    }

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        requirement: str,
        pointer: str | None = None,
        remedy: str | None = None,
        height: int | None = None,
        index: int | None = None,
        txid: str | None = None,
    ) -> None:
        super().__init__(
            message, reason=reason, requirement=requirement, pointer=pointer, remedy=remedy
        )
        self.status = self._STATUS_BY_REASON.get(reason, type(self).status)
        self.height = height
        self.index = index
        self.txid = txid

    def located(
        self, *, height: int | None = None, index: int | None = None, txid: str | None = None
    ) -> LedgerError:
        """This error with the block height / transaction position filled in where unset."""
        if self.height is None:
            self.height = height
        if self.index is None:
            self.index = index
        if self.txid is None:
            self.txid = txid
        return self

    def __str__(self) -> str:
        where = []
        if self.height is not None:
            where.append(f"block {self.height}")
        if self.index is not None:
            where.append(f"transaction {self.index}")
        prefix = f"{', '.join(where)}: " if where else ""
        return prefix + super().__str__()


class CheckpointError(LedgerError):
    """A checkpoint that does not verify: a malformed C2SP note or checkpoint body, a bad
    signature by a known key, too few validators, or a tree head that is not the block's.

    Reasons: ``malformed-note``, ``malformed-checkpoint``, ``bad-origin``, ``key-type``,
    ``no-signers``, ``bad-signature``, ``unverified``, ``below-threshold``,
    ``origin-mismatch``, ``mismatch``.
    """

    default_reason = "checkpoint"
    default_requirement = "BMDX-LED-030"

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        requirement: str = "BMDX-LED-030",
        remedy: str | None = None,
        height: int | None = None,
    ) -> None:
        super().__init__(
            message, reason=reason, requirement=requirement, remedy=remedy, height=height
        )


class ExportError(LedgerError):
    """A ledger export that breaks its layout: a file missing, unlisted or altered (its
    SHA-256 differs from the manifest's), an object invalid against its schema, or a
    manifest that disagrees with the blocks.

    Reasons: ``not-an-export``, ``manifest``, ``missing-file``, ``unlisted-file``,
    ``digest-mismatch``, ``schema``, ``malformed``, ``bad-path``, ``exists``.
    """

    default_reason = "export"
    default_requirement = "BMDX-LED-040"

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        requirement: str = "BMDX-LED-040",
        pointer: str | None = None,
        remedy: str | None = None,
        height: int | None = None,
    ) -> None:
        super().__init__(
            message,
            reason=reason,
            requirement=requirement,
            pointer=pointer,
            remedy=remedy,
            height=height,
        )


class AuditError(BmdxError):
    """Audit events or anomaly rules that the audit profile refuses (audit.md).

    Reasons: ``rule-invalid`` (a rule not valid against spec/anomaly/rules.schema.json),
    ``duplicate-rule``, ``working-hours-empty``, ``duplicate-event``, ``now-invalid``.
    """

    status = 422
    default_reason = "audit"
    default_requirement = "BMDX-AUD-040"


class ApiError(BmdxError):
    """A request the HTTP interface refuses before or beside the ledger's rules.

    ``status`` is per occurrence: 403 (the caller may not), 404 (no such resource), 406
    (no acceptable media type), 410 (erased or retired), 413 (body too large), 415
    (unsupported Content-Type), 400/422 (parameters, operation preconditions).
    """

    default_reason = "refused"
    default_requirement = "BMDX-API-003"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        reason: str,
        requirement: str,
        pointer: str | None = None,
        remedy: str | None = None,
    ) -> None:
        super().__init__(
            message, requirement=requirement, reason=reason, pointer=pointer, remedy=remedy
        )
        self.status = status


class SpecError(BmdxError):
    """The spec data (schemas, requirements, vectors) is itself inconsistent."""

    status = 500
    default_reason = "spec"
    default_requirement = "BMDX-SPEC-001"


class UsageError(BmdxError):
    """A tool was called wrongly (bad option, missing file)."""

    default_reason = "usage"
    default_requirement = "BMDX-SPEC-001"
