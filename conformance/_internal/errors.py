"""Every failure of the conformance suite itself, one root per failure domain.

These are the suite's errors, not the implementation's: a requirement the target breaks
is a *verdict* in the report, never an exception.  Each error carries a machine-checkable
``reason`` (stable, tested by value), an optional ``remedy`` shown on the command line,
and the ``exit_code`` the CLI ends with.  Only the CLI turns them into exit codes.

::

    ConformanceError
    ├── UsageError             the command line or an input file is wrong (exit 2)
    │   └── InputFileError     a claim, target config or expected-failures file is
    │                          unreadable or invalid against its schema (``violations``)
    ├── SpecDataError          the spec data the suite reads is missing or broken
    ├── TargetError            the target could not be started or reached
    ├── SuiteError             the test suite is inconsistent with the spec (stale pin,
    │                          unknown requirement id, a test citing nothing)
    ├── ReportError            a report could not be written, or failed its own schema
    └── CertificateError       a certificate does not verify (one uniform failure)
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CertificateError",
    "ConformanceError",
    "InputFileError",
    "ReportError",
    "SpecDataError",
    "SuiteError",
    "TargetError",
    "UsageError",
]


class ConformanceError(Exception):
    """Root of every error of the conformance suite."""

    default_reason: str = "error"
    exit_code: int = 1

    def __init__(
        self, message: str, *, reason: str | None = None, remedy: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.remedy = remedy

    def __str__(self) -> str:
        return f"[{self.reason}] {self.message}"


class UsageError(ConformanceError):
    """The tool was called wrongly."""

    default_reason = "usage"
    exit_code = 2


class InputFileError(UsageError):
    """A file the user handed the suite cannot be used.

    Reasons: ``unreadable``, ``syntax``, ``duplicate-key``, ``schema``, ``unknown-format``,
    ``unknown-requirement``, ``unknown-profile``, ``mandatory-excluded``.
    """

    default_reason = "schema"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        remedy: str | None = None,
        violations: Sequence[str] = (),
    ) -> None:
        super().__init__(message, reason=reason, remedy=remedy)
        self.violations = tuple(violations)


class SpecDataError(ConformanceError):
    """The spec data is missing or broken: a committee or packaging error."""

    default_reason = "spec-data"


class TargetError(ConformanceError):
    """The implementation under test could not be started or reached.

    Reasons: ``node-unavailable``, ``node-start``, ``node-timeout``, ``unreachable``,
    ``artifacts-missing``.
    """

    default_reason = "unreachable"


class SuiteError(ConformanceError):
    """The test suite does not match the spec it runs against.

    Reasons: ``stale-pin``, ``unknown-requirement``, ``bad-pin``, ``no-requirement``,
    ``collection``.
    """

    default_reason = "collection"


class ReportError(ConformanceError):
    """A report could not be produced."""

    default_reason = "report"


class CertificateError(ConformanceError):
    """A certificate failed verification.

    One failure whatever broke inside (signature, header, payload, digest), so a
    verifier cannot be steered by its detail; ``reason`` says only which check failed:
    ``malformed``, ``signature``, ``schema``, ``digest``, ``key``.
    """

    default_reason = "signature"
