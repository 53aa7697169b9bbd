"""badge.svg: the run's result and the count of claimed requirements that passed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

__all__ = ["render"]

_GREEN, _YELLOW, _RED = "#2e7d32", "#b58900", "#c62828"
_CHAR_WIDTH = 7


def render(report: Mapping[str, Any]) -> str:
    claimed = report["summary"]["claimed"]
    total = sum(claimed.values()) - claimed["notTestable"] - claimed["notCovered"]
    if report["summary"]["result"] == "conformant":
        colour = _YELLOW if claimed["expectedFail"] else _GREEN
        status = f"pass {claimed['pass']}/{total}"
    else:
        colour = _RED
        status = f"fail {claimed['pass']}/{total}"
    label = "BMDX conformance"
    left = len(label) * _CHAR_WIDTH + 10
    right = len(status) * _CHAR_WIDTH + 10
    width = left + right
    title = escape(f"{label}: {status} claimed requirements passed")
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{title}">
  <title>{title}</title>
  <rect width="{left}" height="20" fill="#555"/>
  <rect x="{left}" width="{right}" height="20" fill="{colour}"/>
  <g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">
    <text x="5" y="14">{escape(label)}</text>
    <text x="{left + 5}" y="14">{escape(status)}</text>
  </g>
</svg>
"""
