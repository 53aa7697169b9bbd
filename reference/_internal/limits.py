"""Security limits, in one object, read from ``spec/security/profile.yaml``."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from bmdx.reference._internal.errors import SpecError
from bmdx.reference._internal.specdata import load_yaml, spec_dir

__all__ = ["Limits", "limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """The profile's numeric limits; see ``spec/security/profile.yaml`` for each meaning."""

    max_body_bytes: int
    max_nesting_depth: int
    max_safe_integer: int
    replay_window_seconds: int
    clock_skew_seconds: int
    replay_cache_entries: int


@functools.cache
def _load(root: Path) -> Limits:
    data = load_yaml(root / "security" / "profile.yaml")
    try:
        section = data["limits"]
        return Limits(**{k: int(section[k]) for k in Limits.__dataclass_fields__})
    except (KeyError, TypeError, ValueError) as e:
        raise SpecError(f"security profile limits are incomplete: {e}", reason="profile") from e


def limits(root: Path | None = None) -> Limits:
    """The limits in force (cached per spec directory)."""
    return _load(root or spec_dir())
