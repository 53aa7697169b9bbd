"""Reading a BMDX document in either syntax, and validating it as a whole.

A document is XML when its first non-whitespace byte (after an optional UTF-8 byte-order
mark, which XML allows and JSON does not) is ``<``; anything else is read as JSON, so
that a JSON reader's precise I-JSON errors reach the user.  Both syntaxes end as one JSON
value validated against the same JSON Schemas, then against the data-model rules the
schemas cannot state (``semantic.py``); XML input is first checked by the XML mapping
(safe parsing, the generated XSD) in ``xmlmap``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bmdx.reference._internal import ijson
from bmdx.reference._internal.errors import (
    BmdxError,
    IJsonError,
    InputError,
    RuleViolationError,
    SchemaValidationError,
    SpecError,
    Violation,
)
from bmdx.reference._internal.schema import schema_set

__all__ = [
    "DocumentReport",
    "Syntax",
    "detect_syntax",
    "load_document",
    "validate_document_bytes",
]

Syntax = Literal["json", "xml"]

_XML_LEADING = b" \t\r\n"
_UTF8_BOM = b"\xef\xbb\xbf"


def detect_syntax(data: bytes) -> Syntax:
    """``"xml"`` when the first non-whitespace byte is ``<``, else ``"json"``."""
    body = data.removeprefix(_UTF8_BOM) if data.startswith(_UTF8_BOM) else data
    return "xml" if body.lstrip(_XML_LEADING).startswith(b"<") else "json"


def load_document(
    data: bytes, *, name: str | None = None, root: Path | None = None
) -> tuple[Any, Syntax]:
    """Parse ``data`` as a BMDX document; return its JSON form and its syntax.

    Raises :class:`~bmdx.reference._internal.errors.IJsonError` for bad JSON, and the
    XML mapping's ``XmlSecurityError`` / ``XmlSyntaxError`` / ``SchemaValidationError``
    for XML.  ``name`` (a file name) only sharpens the advice of a JSON error when the
    file claims to be XML.
    """
    if detect_syntax(data) == "xml":
        from bmdx.reference._internal.xmlmap import xml_to_json  # noqa: PLC0415

        return xml_to_json(data, root=root), "xml"
    try:
        return ijson.loads(data), "json"
    except InputError as e:
        if name is not None and name.lower().endswith(".xml") and e.remedy is None:
            e.remedy = f"{name} is named .xml but does not start with '<'; is it XML at all?"
        raise


@dataclass(frozen=True, slots=True)
class DocumentReport:
    """The outcome of validating one document.

    ``error`` is what stopped validation (``None`` when valid); ``violations`` flattens
    it into located messages with requirement ids, one per schema violation, or one for
    an input error.
    """

    name: str
    syntax: Syntax
    object_type: str | None
    error: BmdxError | None
    violations: tuple[Violation, ...]

    @property
    def valid(self) -> bool:
        return self.error is None

    @property
    def requirements(self) -> frozenset[str]:
        return frozenset(v.requirement for v in self.violations)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.name,
            "syntax": self.syntax,
            "objectType": self.object_type,
            "valid": self.valid,
            "errors": [v.as_dict() for v in self.violations],
        }
        if self.error is not None:
            out["reason"] = self.error.reason
        return out


def _violations(error: BmdxError, syntax: Syntax) -> tuple[Violation, ...]:
    if isinstance(error, SchemaValidationError):
        return tuple(error.violations)
    where = error.pointer or ""
    is_xpath = syntax == "xml" and where.startswith("/") and not isinstance(error, IJsonError)
    return (
        Violation(
            pointer="" if is_xpath else where,
            message=error.message,
            requirement=error.requirement,
            xpath=where if is_xpath else None,
        ),
    )


def _with_xpaths(error: RuleViolationError, root: Path | None) -> RuleViolationError:
    """The same violations located in the XML document as well (XPath beside pointer)."""
    from bmdx.reference._internal.xmlmap import pointer_to_xpath  # noqa: PLC0415

    object_type = error.object_type or ""
    return RuleViolationError(
        [
            Violation(
                pointer=v.pointer,
                message=v.message,
                requirement=v.requirement,
                xpath=pointer_to_xpath(v.pointer, object_type, root=root),
            )
            for v in error.violations
        ],
        object_type=error.object_type,
    )


def validate_document_bytes(
    data: bytes, *, name: str = "<document>", root: Path | None = None
) -> DocumentReport:
    """Read and validate one document in either syntax; never raises for bad input.

    Errors of the spec itself (:class:`SpecError`, a broken schema) still raise: they
    are not the document's fault.
    """
    syntax = detect_syntax(data)
    object_type: str | None = None
    try:
        document, syntax = load_document(data, name=name, root=root)
        if isinstance(document, dict) and isinstance(document.get("objectType"), str):
            object_type = document["objectType"]
        try:
            schema_set(root).validate_document(document)
        except RuleViolationError as e:
            if syntax == "xml":
                raise _with_xpaths(e, root) from e
            raise
    except SpecError:
        raise
    except BmdxError as e:
        if isinstance(e, SchemaValidationError) and e.object_type:
            object_type = e.object_type
        return DocumentReport(name, syntax, object_type, e, _violations(e, syntax))
    return DocumentReport(name, syntax, object_type, None, ())
