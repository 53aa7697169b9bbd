"""The target configuration of an HTTP node (``--config target.toml``).

Names the participants whose keys the suite may sign with, or a governance key allowed
to register test participants.  Key files are read relative to the configuration file;
private members are handed to the redactor by the runner and never reach a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jwcrypto import jwk
from jwcrypto.common import JWException

from bmdx.conformance._internal.errors import InputFileError
from bmdx.conformance._internal.files import load_checked, strict_json_loads
from bmdx.conformance._internal.targets import Participant

__all__ = ["TargetConfig", "load_target_config", "participant_entry"]


@dataclass(frozen=True)
class TargetConfig:
    path: Path
    url: str | None
    ca_file: Path | None
    timeout: float | None
    participants: tuple[Participant, ...]
    governance: Participant | None


def _private_jwk(data: Any, where: str) -> dict[str, Any]:
    try:
        key = jwk.JWK(**data)
    except (JWException, TypeError, ValueError) as e:
        raise InputFileError(f"{where}: not a JWK ({type(e).__name__})", reason="key") from e
    if not key.has_private:
        raise InputFileError(f"{where}: the JWK has no private part", reason="key")
    exported: dict[str, Any] = key.export_private(as_dict=True)
    return exported


def participant_entry(entry: dict[str, Any], base: Path) -> Participant:
    """A participant of a target configuration, its key read (relative to ``base``)."""
    where = f"participant {entry['id']}"
    if "jwk" in entry:
        data = entry["jwk"]
    else:
        key_path = base / entry["key_file"]
        try:
            data = strict_json_loads(key_path.read_bytes())
        except OSError as e:
            raise InputFileError(
                f"{where}: cannot read {key_path}: {e.strerror}", reason="unreadable"
            ) from e
    return Participant(
        id=entry["id"], jwk=_private_jwk(data, where), role=entry.get("role"), kid=entry.get("kid")
    )


def load_target_config(path: Path) -> TargetConfig:
    data = load_checked(path, "target-config")
    if path.suffix.lower() != ".toml":
        raise InputFileError(
            f"{path}: a target configuration is a .toml file", reason="unknown-format"
        )
    base = path.resolve().parent
    node = data.get("node", {})
    ca_file = node.get("ca_file")
    governance = data.get("governance")
    return TargetConfig(
        path=path,
        url=node.get("url"),
        ca_file=base / ca_file if ca_file else None,
        timeout=node.get("timeout_seconds"),
        participants=tuple(participant_entry(p, base) for p in data.get("participants", ())),
        governance=participant_entry(governance, base) if governance else None,
    )
