"""Generators of the spec examples (spec/examples/)."""

from __future__ import annotations

from pathlib import Path

import yaml

__all__ = ["hand_written_expectations"]


def hand_written_expectations(expected_yaml: Path) -> dict[str, str]:
    """The entries of an ``expected.yaml`` that no generator writes (the XML ones).

    The JSON invalid examples are generated; their XML counterparts are written by hand
    and listed in the same file, so a generator rewriting the file keeps those lines.
    """
    if not expected_yaml.is_file():
        return {}
    entries = yaml.safe_load(expected_yaml.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in entries.items() if not str(k).endswith(".json")}
