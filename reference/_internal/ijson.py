"""Strict JSON input: I-JSON (RFC 7493) within the profile's limits.

The standard library parser does the parsing; this module refuses what I-JSON forbids
and what it cannot see: duplicate member names, lone surrogates, NaN and infinities,
integers beyond 2^53-1, a leading byte-order mark, invalid UTF-8, and nesting deeper
than the security profile allows.  Every refusal is an :class:`IJsonError` naming the
requirement it enforces.
"""

from __future__ import annotations

import json
import math
from typing import Any

from bmdx.reference._internal.errors import IJsonError
from bmdx.reference._internal.limits import limits

__all__ = ["check_ijson_value", "dumps", "loads"]

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")

REQ_SYNTAX = "BMDX-FMT-001"
REQ_ENCODING = "BMDX-FMT-002"
REQ_DUPLICATE = "BMDX-FMT-003"
REQ_STRINGS = "BMDX-FMT-004"
REQ_NUMBERS = "BMDX-FMT-005"
REQ_DEPTH = "BMDX-FMT-006"
REQ_SIZE = "BMDX-FMT-007"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise IJsonError(
                f"member name {key!r} appears twice in one object",
                requirement=REQ_DUPLICATE,
                reason="duplicate-key",
                remedy="Remove the repeated member; I-JSON objects have unique names.",
            )
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise IJsonError(
        f"{name} is not a JSON number",
        requirement=REQ_NUMBERS,
        reason="non-finite-number",
    )


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise IJsonError(
            f"number {text} overflows to infinity",
            requirement=REQ_NUMBERS,
            reason="non-finite-number",
        )
    return value


def _int_parser(max_int: int) -> Any:
    def parse(text: str) -> int:
        value = int(text)
        if abs(value) > max_int:
            raise IJsonError(
                f"integer {text} is beyond the interoperable range of +/-(2^53-1)",
                requirement=REQ_NUMBERS,
                reason="integer-range",
                remedy="Send large or exact quantities as strings.",
            )
        return value

    return parse


def _check_string(text: str, pointer: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise IJsonError(
            "string holds a lone surrogate (not a Unicode scalar value)",
            requirement=REQ_STRINGS,
            reason="lone-surrogate",
            pointer=pointer,
        ) from e


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def check_ijson_value(value: Any, *, max_depth: int | None = None) -> None:
    """Check an already-parsed value: string scalars, integer range, nesting depth."""
    lim = limits()
    depth_limit = lim.max_nesting_depth if max_depth is None else max_depth
    # Iterative walk: the depth check must not itself recurse without bound.
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        node, pointer, depth = stack.pop()
        if isinstance(node, dict | list) and depth > depth_limit:
            raise IJsonError(
                f"nesting deeper than the profile's limit of {depth_limit}",
                requirement=REQ_DEPTH,
                reason="nesting-depth",
                pointer=pointer,
            )
        if isinstance(node, dict):
            for key, child in node.items():
                child_pointer = f"{pointer}/{_escape(key)}"
                _check_string(key, child_pointer)
                stack.append((child, child_pointer, depth + 1))
        elif isinstance(node, list):
            for index, child in enumerate(node):
                stack.append((child, f"{pointer}/{index}", depth + 1))
        elif isinstance(node, str):
            _check_string(node, pointer)
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if abs(node) > lim.max_safe_integer:
                raise IJsonError(
                    "integer beyond +/-(2^53-1)",
                    requirement=REQ_NUMBERS,
                    reason="integer-range",
                    pointer=pointer,
                )
        elif isinstance(node, float) and not math.isfinite(node):
            raise IJsonError(
                "non-finite number", requirement=REQ_NUMBERS, reason="non-finite-number"
            )


def loads(data: bytes | str, *, max_bytes: int | None = None) -> Any:
    """Parse I-JSON text, refusing everything RFC 7493 and the profile forbid."""
    lim = limits()
    size_limit = lim.max_body_bytes if max_bytes is None else max_bytes
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > size_limit:
        raise IJsonError(
            f"document of {len(raw)} bytes exceeds the limit of {size_limit}",
            requirement=REQ_SIZE,
            reason="too-large",
        )
    if raw.startswith(_BOMS):
        raise IJsonError(
            "document starts with a byte-order mark",
            requirement=REQ_ENCODING,
            reason="bom",
            remedy="Save the file as UTF-8 without a BOM.",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise IJsonError(
            f"document is not valid UTF-8 (byte {e.start})",
            requirement=REQ_ENCODING,
            reason="encoding",
        ) from e
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constants,
            parse_float=_float,
            parse_int=_int_parser(lim.max_safe_integer),
        )
    except IJsonError:
        raise
    except RecursionError as e:
        raise IJsonError(
            f"nesting deeper than the profile's limit of {lim.max_nesting_depth}",
            requirement=REQ_DEPTH,
            reason="nesting-depth",
        ) from e
    except json.JSONDecodeError as e:
        raise IJsonError(
            f"not JSON: {e.msg} (line {e.lineno}, column {e.colno})",
            requirement=REQ_SYNTAX,
            reason="syntax",
        ) from e
    except ValueError as e:  # e.g. int() limits on absurdly long digit strings
        raise IJsonError(f"not JSON: {e}", requirement=REQ_SYNTAX, reason="syntax") from e
    check_ijson_value(value)
    return value


def dumps(value: Any) -> bytes:
    """Human-readable JSON (2-space indent, UTF-8, insertion order, trailing newline)."""
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
