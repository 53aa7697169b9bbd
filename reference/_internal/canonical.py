"""The canonical form that hashes and signatures are computed over: RFC 8785 (JCS).

The ``rfc8785`` package writes the bytes; this module decides what may be
canonicalised.  Any I-JSON value can be (:func:`canonical_bytes`, used for the JCS
test data), but a *signed BMDX object* may hold integers only: decimals travel as
strings (BMDX-FMT-005), so no two implementations can disagree on how a number is
written.  :func:`signing_payload` is the payload of every BMDX signature: the object
without its ``signatures`` member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import rfc8785

from bmdx.reference._internal.errors import IJsonError
from bmdx.reference._internal.limits import limits

__all__ = [
    "REQ_CANONICAL",
    "SIGNATURES_MEMBER",
    "canonical_bytes",
    "signing_payload",
]

REQ_CANONICAL = "BMDX-FMT-030"
REQ_STRINGS = "BMDX-FMT-004"
REQ_NUMBERS = "BMDX-FMT-005"
REQ_DEPTH = "BMDX-FMT-006"
SIGNATURES_MEMBER = "signatures"


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _find_violation(value: Any, depth_limit: int, integers_only: bool) -> list[Any] | None:
    """The path to the first node that is too deep or (when signing) not an integer."""
    stack: list[tuple[Any, list[Any]]] = [(value, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict | list):
            if len(path) + 1 > depth_limit:
                return path
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend((v, [*path, k]) for k, v in items)
        elif integers_only and isinstance(node, float):
            return path
    return None


def _shape_ok(node: Any, depth: int, limit: int, integers_only: bool) -> bool:
    """True when nothing below ``node`` (at ``depth``) is too deep or (signing) a float.

    Recursive, and the recursion is bounded by ``limit``: it stops at the first
    container deeper than the profile allows.  Plain strings, integers, booleans and
    nulls, nearly every node of a BMDX object, are passed over without a call.
    """
    if isinstance(node, dict):
        children: Any = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return not (integers_only and isinstance(node, float))
    if depth > limit:
        return False
    for child in children:
        kind = type(child)
        if kind is str or kind is int or kind is bool or child is None:
            continue
        if not _shape_ok(child, depth + 1, limit, integers_only):
            return False
    return True


def _check_shape(value: Any, *, integers_only: bool) -> None:
    """What ``rfc8785`` does not check itself: nesting depth, and (signed) decimals.

    Strings, integer range and non-finite numbers are refused by ``rfc8785`` while it
    serialises, and mapped to their requirements in :func:`_dumps`.  The common case
    (nothing wrong) is one pass that builds no paths; verification is on the hot path.
    """
    depth_limit = limits().max_nesting_depth
    if _shape_ok(value, 1, depth_limit, integers_only):
        return
    path = _find_violation(value, depth_limit, integers_only) or []
    pointer = "".join("/" + _escape(str(k)) for k in path)
    if len(path) + 1 > depth_limit:
        raise IJsonError(
            f"nesting deeper than the profile's limit of {depth_limit}",
            requirement=REQ_DEPTH,
            reason="nesting-depth",
            pointer=pointer,
        )
    raise IJsonError(
        "a signed object holds a non-integer number; decimals travel as strings",
        requirement=REQ_NUMBERS,
        reason="non-integer-number",
        pointer=pointer,
        remedy="Write the value as a decimal string (common.json#/$defs/decimal).",
    )


def _dumps(value: Any) -> bytes:
    try:
        return rfc8785.dumps(value)
    except rfc8785.IntegerDomainError as e:
        raise IJsonError(
            f"integer beyond +/-(2^53-1): {e}", requirement=REQ_NUMBERS, reason="integer-range"
        ) from e
    except rfc8785.FloatDomainError as e:
        raise IJsonError(
            f"non-finite number: {e}", requirement=REQ_NUMBERS, reason="non-finite-number"
        ) from e
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as e:
        # rfc8785 refuses strings (values or member names) that are not Unicode
        # scalar values, i.e. lone surrogates, while encoding them.
        if isinstance(e, UnicodeEncodeError) or isinstance(e.__cause__, UnicodeEncodeError):
            raise IJsonError(
                "string holds a lone surrogate (not a Unicode scalar value)",
                requirement=REQ_STRINGS,
                reason="lone-surrogate",
            ) from e
        raise IJsonError(
            f"value has no RFC 8785 canonical form: {e}",
            requirement=REQ_CANONICAL,
            reason="not-canonicalizable",
        ) from e


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of an I-JSON value."""
    _check_shape(value, integers_only=False)
    return _dumps(value)


def signing_payload(document: Mapping[str, Any]) -> bytes:
    """The detached JWS payload of a BMDX object: its canonical form minus ``signatures``."""
    unsigned = {k: v for k, v in document.items() if k != SIGNATURES_MEMBER}
    _check_shape(unsigned, integers_only=True)
    return _dumps(unsigned)
