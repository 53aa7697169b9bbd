"""The conformance claim: what the vendor says its implementation conforms to.

Claiming a profile claims every MUST and MUST NOT of it.  Optional requirements (SHOULD,
SHOULD NOT, MAY) are claimed one by one with ``include``; ``exclude`` records optional
requirements of a claimed profile the implementation does not implement (excluding a
mandatory one is refused: it would be a claim of non-conformance).  Without a claim
file the suite claims every MUST of the profiles it implements, narrowed to the
profiles the target declares when it declares any.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bmdx.conformance._internal.errors import InputFileError
from bmdx.conformance._internal.files import load_checked
from bmdx.conformance._internal.requirements import Requirement

__all__ = ["Claim", "ClaimStatus", "default_claim", "load_claim"]

ClaimStatus = Literal["claimed", "not-claimed", "excluded"]


@dataclass(frozen=True)
class Claim:
    source: Literal["file", "default"]
    profiles: tuple[str, ...]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    implementation: Mapping[str, str] | None = None
    file: str | None = None

    def status(
        self, requirement: Requirement, selected: Iterable[str] | None = None
    ) -> ClaimStatus:
        """Whether ``requirement`` is claimed; ``selected`` narrows to the profiles run."""
        if selected is not None and requirement.profile not in set(selected):
            return "not-claimed"
        if requirement.id in self.exclude:
            return "excluded"
        if requirement.id in self.include:
            return "claimed"
        if requirement.profile in self.profiles and requirement.mandatory:
            return "claimed"
        return "not-claimed"

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source,
            "profiles": list(self.profiles),
            "include": list(self.include),
            "exclude": list(self.exclude),
        }
        if self.file is not None:
            out["file"] = self.file
        return out


def load_claim(path: Path, catalogue: Mapping[str, Requirement]) -> Claim:
    """The claim in ``path`` (JSON, YAML or TOML), checked against the schema and catalogue."""
    data = load_checked(path, "claim")
    include = tuple(data.get("include", ()))
    exclude = tuple(data.get("exclude", ()))
    unknown = [rid for rid in (*include, *exclude) if rid not in catalogue]
    if unknown:
        raise InputFileError(
            f"{path} names requirements the spec does not have: {', '.join(unknown)}",
            reason="unknown-requirement",
        )
    mandatory = [rid for rid in exclude if catalogue[rid].mandatory]
    if mandatory:
        raise InputFileError(
            f"{path} excludes mandatory requirements: {', '.join(mandatory)}",
            reason="mandatory-excluded",
            remedy="Remove the profile from the claim, or list the failure in an "
            "expected-failures file.",
        )
    both = sorted(set(include) & set(exclude))
    if both:
        raise InputFileError(
            f"{path} both includes and excludes {', '.join(both)}", reason="schema"
        )
    return Claim(
        source="file",
        profiles=tuple(data["profiles"]),
        include=include,
        exclude=exclude,
        implementation=dict(data["implementation"]),
        file=str(path),
    )


def default_claim(implemented: Iterable[str], declared: Iterable[str] = ()) -> Claim:
    """Every MUST of the suite's implemented profiles (those the target declares, if any)."""
    profiles = tuple(implemented)
    declared_set = set(declared)
    if declared_set:
        profiles = tuple(p for p in profiles if p in declared_set)
    return Claim(source="default", profiles=profiles)
