"""A strict I-JSON (RFC 7493) check, written from the RFC and the BMDX format rules.

:func:`check` names the first BMDX-FMT requirement a JSON text breaks, or ``None`` for
I-JSON within the security profile's limits.  The suite uses it as the oracle for its
hostile inputs (a case is only sent because the suite itself knows which requirement
it breaks) and to check that what an implementation answers is I-JSON.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bmdx.conformance._internal.specdata import load_yaml, spec_dir

__all__ = ["Finding", "Limits", "check", "profile_limits"]

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Finding:
    """Why a text is not acceptable I-JSON: the requirement and a diagnostic reason."""

    requirement: str
    reason: str


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int
    max_nesting_depth: int
    max_safe_integer: int


@functools.cache
def _limits(root: Path) -> Limits:
    section = load_yaml(root / "security" / "profile.yaml")["limits"]
    return Limits(
        max_body_bytes=int(section["max_body_bytes"]),
        max_nesting_depth=int(section["max_nesting_depth"]),
        max_safe_integer=int(section["max_safe_integer"]),
    )


def profile_limits(root: Path | None = None) -> Limits:
    """The limits of spec/security/profile.yaml."""
    return _limits(root or spec_dir())


class _RefusedError(Exception):
    def __init__(self, requirement: str, reason: str) -> None:
        super().__init__(reason)
        self.finding = Finding(requirement, reason)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise _RefusedError("BMDX-FMT-003", "duplicate-key")
    return dict(pairs)


def _constant(name: str) -> Any:
    raise _RefusedError("BMDX-FMT-005", "non-finite-number")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _RefusedError("BMDX-FMT-005", "non-finite-number")
    return value


def _walk(value: Any, limits: Limits) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list) and depth > limits.max_nesting_depth:
            raise _RefusedError("BMDX-FMT-006", "nesting-depth")
        if isinstance(node, dict):
            for name, child in node.items():
                _scalar_string(name)
                stack.append((child, depth + 1))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, str):
            _scalar_string(node)
        elif (
            isinstance(node, int)
            and not isinstance(node, bool)
            and abs(node) > limits.max_safe_integer
        ):
            raise _RefusedError("BMDX-FMT-005", "integer-range")


def _scalar_string(text: str) -> None:
    # A lone surrogate escape decodes to a code point UTF-8 cannot encode.
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise _RefusedError("BMDX-FMT-004", "lone-surrogate")


def _bytes_finding(data: bytes, limits: Limits) -> Finding | None:
    if len(data) > limits.max_body_bytes:
        return Finding("BMDX-FMT-007", "too-large")
    if data.startswith(_BOMS):
        return Finding("BMDX-FMT-002", "bom")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return Finding("BMDX-FMT-002", "encoding")
    return None


def check(data: bytes, *, root: Path | None = None) -> Finding | None:
    """The first rule ``data`` breaks as BMDX JSON input, or ``None``."""
    limits = profile_limits(root)
    early = _bytes_finding(data, limits)
    if early is not None:
        return early
    text = data.decode("utf-8")
    try:
        value = json.loads(
            text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float
        )
        _walk(value, limits)
    except _RefusedError as e:
        return e.finding
    except RecursionError:
        return Finding("BMDX-FMT-006", "nesting-depth")
    except ValueError:
        return Finding("BMDX-FMT-001", "syntax")
    return None
