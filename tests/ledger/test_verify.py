"""verify_path: what it accepts, the order of its checks, and its progress reports."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from bmdx.reference._internal.errors import ExportError, UsageError
from bmdx.reference._internal.export import MANIFEST, write_export
from bmdx.reference._internal.populate import populate
from bmdx.reference._internal.storage import open_store
from bmdx.reference._internal.verify import verify_path

pytestmark = pytest.mark.requirement("BMDX-LED-041")


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("verify")
    url = f"sqlite:///{root / 'ledger.db'}"
    result = populate(url, 30, seed="verify", block_size=10)
    with open_store(url) as store:
        write_export(store, root / "export", origin="bmdx.ledger/v", keys=result.validator_keys)
    return root / "export"


def test_progress_reports_digests_then_blocks(export: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    report = verify_path(export, progress=lambda s, d, t: seen.append((s, d, t)))
    stages = [s for s, _, _ in seen]
    assert stages.index("blocks") > stages.index("digests")
    assert seen[-1] == ("blocks", report.result.blocks, report.result.blocks)
    db = export.parent / "ledger.db"
    assert verify_path(db).result == report.result
    assert verify_path(f"sqlite:///{db}").kind == "database"


def test_unknown_paths_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        verify_path(tmp_path / "absent")
    assert caught.value.reason == "no-such-ledger"


def _rewrite_manifest(export: Path, tmp_path: Path, **changes: object) -> Path:
    import shutil  # noqa: PLC0415

    copy = tmp_path / "export"
    shutil.copytree(export, copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest.update(changes)
    (copy / MANIFEST).write_text(json.dumps(manifest))
    return copy


@pytest.mark.requirement("BMDX-LED-045")
def test_manifest_head_must_be_the_blocks_head(export: Path, tmp_path: Path) -> None:
    copy = _rewrite_manifest(export, tmp_path, treeRoot="sha-256:" + "ab" * 32)
    with pytest.raises(ExportError) as caught:
        verify_path(copy)
    assert (caught.value.reason, caught.value.requirement) == ("manifest", "BMDX-LED-045")


def test_validator_sets_file_must_match_the_replay(export: Path, tmp_path: Path) -> None:
    copy = _rewrite_manifest(export, tmp_path)
    sets = json.loads((copy / "validator-sets.json").read_text())
    data = json.dumps(sets[:1]).encode()
    (copy / "validator-sets.json").write_bytes(data)
    manifest = json.loads((copy / MANIFEST).read_text())
    for entry in manifest["files"]:
        if entry["path"] == "validator-sets.json":
            entry.update(sha256="sha-256:" + hashlib.sha256(data).hexdigest(), size=len(data))
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ExportError) as caught:
        verify_path(copy)
    assert (caught.value.reason, caught.value.requirement) == ("validator-sets", "BMDX-LED-040")
