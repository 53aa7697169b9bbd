"""The export layout: files, manifest, schemas, determinism, and what it refuses."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from bmdx.reference._internal import ijson
from bmdx.reference._internal.errors import ExportError
from bmdx.reference._internal.export import (
    MANIFEST,
    ExportReader,
    block_path,
    checkpoint_paths,
    write_export,
)
from bmdx.reference._internal.populate import PopulateResult, populate
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.storage import open_store

pytestmark = pytest.mark.requirement("BMDX-LED-040")

ORIGIN = "bmdx.ledger/export-test"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, PopulateResult]:
    db = tmp_path_factory.mktemp("export") / "ledger.db"
    url = f"sqlite:///{db}"
    return url, populate(url, 25, seed="export", block_size=8)


def _export(made: tuple[str, PopulateResult], out: Path) -> dict:  # type: ignore[type-arg]
    url, result = made
    with open_store(url) as store:
        return write_export(store, out, origin=ORIGIN, keys=result.validator_keys)


def test_layout_manifest_and_schemas(made: tuple[str, PopulateResult], tmp_path: Path) -> None:
    out = tmp_path / "export"
    progress: list[tuple[int, int]] = []
    url, result = made
    with open_store(url) as store:
        manifest = write_export(
            store,
            out,
            origin=ORIGIN,
            keys=result.validator_keys,
            progress=lambda d, t: progress.append((d, t)),
        )
        head = store.head()
    assert head is not None
    blocks = head.height + 1
    assert progress[-1] == (blocks, blocks)
    expected = {"validator-sets.json"}
    for height in range(blocks):
        expected.update((block_path(height), *checkpoint_paths(height)))
    present = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert present == expected | {MANIFEST}
    assert [f["path"] for f in manifest["files"]] == sorted(expected)
    for entry in manifest["files"]:
        data = (out / entry["path"]).read_bytes()
        assert entry["sha256"] == "sha-256:" + hashlib.sha256(data).hexdigest()
        assert entry["size"] == len(data)
        if entry["path"].endswith(".json"):
            document = ijson.loads(data)
            for item in document if isinstance(document, list) else [document]:
                assert schema_set().is_valid(item), entry["path"]
    on_disk = json.loads((out / MANIFEST).read_text())
    assert on_disk == manifest
    assert schema_set().is_valid(on_disk)
    assert (manifest["height"], manifest["treeSize"], manifest["headHash"]) == (
        head.height,
        head.tree_size,
        head.hash,
    )
    assert ijson.loads((out / block_path(0)).read_bytes())["header"]["height"] == 0
    assert (out / checkpoint_paths(1)[1]).read_text().startswith(f"{ORIGIN}\n")
    assert not (tmp_path / "export.partial").exists()


def test_exports_are_reproducible(made: tuple[str, PopulateResult], tmp_path: Path) -> None:
    first = _export(made, tmp_path / "a")
    second = _export(made, tmp_path / "b")
    assert first == second


def test_refuses_a_non_empty_directory(made: tuple[str, PopulateResult], tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(ExportError) as caught:
        _export(made, tmp_path / "out")
    assert caught.value.reason == "exists"
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


@pytest.mark.requirement("BMDX-LED-044")
def test_refuses_to_sign_checkpoints_below_threshold(
    made: tuple[str, PopulateResult], tmp_path: Path
) -> None:
    url, result = made
    with open_store(url) as store, pytest.raises(ExportError) as caught:
        write_export(store, tmp_path / "out", origin=ORIGIN, keys=result.validator_keys[:2])
    assert (caught.value.reason, caught.value.requirement, caught.value.height) == (
        "signers",
        "BMDX-LED-044",
        0,
    )
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "out.partial").exists()


def test_reader_refuses_what_is_not_an_export(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as caught:
        ExportReader(tmp_path)
    assert caught.value.reason == "not-an-export"
    (tmp_path / MANIFEST).write_text('{"objectType": "LedgerExport"}')
    with pytest.raises(ExportError) as caught:
        ExportReader(tmp_path)
    assert (caught.value.reason, caught.value.requirement) == ("schema", "BMDX-LED-040")
    (tmp_path / MANIFEST).write_text('{"a": 1, "a": 2}')
    with pytest.raises(ExportError) as caught:
        ExportReader(tmp_path)
    assert caught.value.reason == "malformed"


@pytest.mark.requirement("BMDX-LED-045")
def test_reader_checks_each_file_before_use(
    made: tuple[str, PopulateResult], tmp_path: Path
) -> None:
    out = tmp_path / "export"
    _export(made, out)
    reader = ExportReader(out)
    reader.check_layout()
    reader.check_digests()
    assert len(list(reader.blocks())) == reader.block_count
    (out / block_path(1)).write_bytes(b"{}")
    with pytest.raises(ExportError) as caught:
        list(reader.blocks())
    assert (caught.value.reason, caught.value.height) == ("digest-mismatch", 1)
