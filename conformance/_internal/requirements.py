"""The requirement catalogue as the suite sees it, and the pins tests carry.

A test cites ``BMDX-FMT-003:9277a5a4ffed4cc5``: the id and the hash of the statement
it was written against.  When a committee edits the statement its hash changes, the
pin goes stale, and the run reports the test for review instead of certifying a
statement the test was never written for.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bmdx.conformance._internal.errors import SpecDataError
from bmdx.conformance._internal.specdata import load_yaml, spec_dir

__all__ = [
    "MANDATORY_LEVELS",
    "PROFILES_FILE",
    "Pin",
    "Requirement",
    "catalogue",
    "implemented_profiles",
    "parse_pin",
    "statement_hash",
]

MANDATORY_LEVELS = frozenset({"MUST", "MUST NOT"})
PROFILES_FILE = Path(__file__).resolve().parent.parent / "profiles.yaml"

_PIN = re.compile(r"^(BMDX-[A-Z]{2,5}-[0-9]{3}):([0-9a-f]{16})$")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Requirement:
    """One entry of ``spec/requirements/*.yaml``."""

    id: str
    level: str
    profile: str
    statement: str
    hash: str
    not_testable: str | None = None

    @property
    def mandatory(self) -> bool:
        return self.level in MANDATORY_LEVELS


@dataclass(frozen=True)
class Pin:
    """A requirement id and the statement hash a test was written against."""

    id: str
    hash: str

    def __str__(self) -> str:
        return f"{self.id}:{self.hash}"


def statement_hash(statement: str) -> str:
    """First 16 hex digits of SHA-256 over the whitespace-collapsed statement."""
    collapsed = _WHITESPACE.sub(" ", statement).strip()
    return hashlib.sha256(collapsed.encode("utf-8")).hexdigest()[:16]


def parse_pin(text: str) -> Pin:
    """``BMDX-AREA-NNN:hash16`` as a :class:`Pin`; ``ValueError`` when malformed."""
    match = _PIN.match(text)
    if match is None:
        raise ValueError(f"not a requirement pin 'BMDX-AREA-NNN:<16 hex>': {text!r}")
    return Pin(match.group(1), match.group(2))


def catalogue(root: Path | None = None) -> Mapping[str, Requirement]:
    """Every requirement of the spec, by id, in id order."""
    return _catalogue(root or spec_dir())


@functools.cache
def _catalogue(root: Path) -> dict[str, Requirement]:
    found: dict[str, Requirement] = {}
    files = sorted((root / "requirements").glob("*.yaml"))
    if not files:
        raise SpecDataError(f"no requirement files in {root / 'requirements'}", reason="catalogue")
    for path in files:
        data = load_yaml(path)
        entries = data.get("requirements") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise SpecDataError(f"{path.name} has no requirements list", reason="catalogue")
        for entry in entries:
            requirement = _requirement(entry, path.name)
            if requirement.id in found:
                raise SpecDataError(f"{requirement.id} is defined twice", reason="catalogue")
            found[requirement.id] = requirement
    return dict(sorted(found.items()))


def _requirement(entry: object, source: str) -> Requirement:
    if not isinstance(entry, dict):
        raise SpecDataError(f"{source}: a requirement is not a mapping", reason="catalogue")
    try:
        fields = {name: entry[name] for name in ("id", "level", "profile", "statement", "hash")}
    except KeyError as e:
        raise SpecDataError(f"{source}: a requirement lacks {e}", reason="catalogue") from e
    if not all(isinstance(v, str) for v in fields.values()):
        raise SpecDataError(f"{source}: {fields['id']} has a non-text field", reason="catalogue")
    if statement_hash(fields["statement"]) != fields["hash"]:
        raise SpecDataError(
            f"{source}: the hash of {fields['id']} does not match its statement",
            reason="catalogue-hash",
            remedy="Run `bmdx spec rehash` on the requirement file.",
        )
    not_testable = entry.get("not_testable")
    return Requirement(
        **fields, not_testable=not_testable if isinstance(not_testable, str) else None
    )


def implemented_profiles(path: Path = PROFILES_FILE) -> tuple[str, ...]:
    """The profiles whose tests are complete (``conformance/profiles.yaml``)."""
    data = load_yaml(path)
    if data is None:
        return ()
    if not isinstance(data, list) or not all(isinstance(p, str) for p in data):
        raise SpecDataError(f"{path} is not a list of profile names", reason="profiles")
    return tuple(data)
