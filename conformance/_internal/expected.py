"""Expected failures: known failures of one implementation, kept honest.

Strict in both directions (tuf-conformance, the OpenID suites): an entry whose
requirement or test passes now is an error ("remove it from the list"), and so is an
entry that matches nothing this suite could run; only a real failure is excused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bmdx.conformance._internal.files import load_checked

__all__ = ["ExpectedFailure", "load_expected_failures"]


@dataclass(frozen=True)
class ExpectedFailure:
    kind: Literal["requirement", "test"]
    entry: str
    reason: str


def load_expected_failures(path: Path) -> tuple[ExpectedFailure, ...]:
    data = load_checked(path, "expected-failures")
    out = []
    for item in data["failures"]:
        if "requirement" in item:
            out.append(ExpectedFailure("requirement", item["requirement"], item["reason"]))
        else:
            out.append(ExpectedFailure("test", item["test"], item["reason"]))
    return tuple(out)
