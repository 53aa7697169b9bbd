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
    │   └── SchemaValidationError  one or more schema violations (``violations``)
    ├── ConversionError            JSON <-> XML mapping failed
    ├── SpecError                  the spec data itself is broken (a committee error)
    └── UsageError                 a tool was called wrongly
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BmdxError",
    "ConversionError",
    "DocumentError",
    "IJsonError",
    "InputError",
    "SchemaValidationError",
    "SpecError",
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
    """XML input that uses a DTD, entities, or external references."""

    default_reason = "forbidden-dtd"
    default_requirement = "BMDX-FMT-010"


class XmlSyntaxError(InputError):
    """XML input that is not well formed or does not follow the BMDX mapping."""

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


class ConversionError(BmdxError):
    """A document could not be mapped between JSON and XML."""

    status = 422
    default_reason = "conversion"
    default_requirement = "BMDX-FMT-020"


class SpecError(BmdxError):
    """The spec data (schemas, requirements, vectors) is itself inconsistent."""

    status = 500
    default_reason = "spec"
    default_requirement = "BMDX-SPEC-001"


class UsageError(BmdxError):
    """A tool was called wrongly (bad option, missing file)."""

    default_reason = "usage"
    default_requirement = "BMDX-SPEC-001"
