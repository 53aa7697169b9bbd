"""Synthetic traffic: realistic, signed, reproducible, and accepted by the verifier."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from click.testing import CliRunner

from bmdx.reference._internal import ijson
from bmdx.reference._internal.errors import UsageError
from bmdx.reference._internal.keys import load_private_pem
from bmdx.reference._internal.populate import populate
from bmdx.reference._internal.storage import open_store
from bmdx.reference._internal.verify import verify_path
from bmdx.reference.cli import cli


def test_traffic_covers_participants_governance_and_objects(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    result = populate(url, 120, seed="s", block_size=25)
    assert result.transactions == 120
    with open_store(url) as store:
        types = collections.Counter(t.type for t in store.iter_transactions())
        roles = {
            role
            for t in store.iter_transactions()
            if t.type == "participant.register"
            for p in ijson.loads(t.canonical)["outputs"]
            for role in p["roles"]
        }
        head = store.head()
        assert head is not None
        last_set = store.validator_set_at(head.height)
        assert last_set is not None
        assert ijson.loads(last_set.document)["version"] == 2
    assert types["key.rotate"] == 1
    assert types["validator-set.change"] == 2  # genesis and the fifth validator
    for kind in ("record.anchor", "consent.grant", "audit.append", "claim.submit"):
        assert types[kind] > 0, kind
    assert {"hospital", "laboratory", "pharmacy", "insurer", "regulator", "patient"} <= roles
    assert sum(types.values()) == 122
    assert verify_path(url).result.transactions == 122


def test_same_seed_same_ledger(tmp_path: Path) -> None:
    heads = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.db"
        populate(url, 30, seed="same", block_size=7)
        with open_store(url) as store:
            heads.append(store.head())
    assert heads[0] == heads[1]


def test_refuses_a_database_that_holds_a_ledger(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    populate(url, 2)
    with pytest.raises(UsageError) as caught:
        populate(url, 2)
    assert caught.value.reason == "not-empty"


def test_cli_populate_then_export_checkpoint_prove(tmp_path: Path) -> None:
    runner = CliRunner()
    db, keys = tmp_path / "l.db", tmp_path / "keys"
    result = runner.invoke(
        cli,
        ["ledger", "populate", "--db", str(db), "--transactions", "40", "--keys-dir", str(keys)],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("40 transactions")
    assert len(list(keys.glob("*.pem"))) == 5
    load_private_pem((keys / "validator-1.pem").read_bytes())
    out = tmp_path / "export"
    result = runner.invoke(cli, ["ledger", "export", str(db), str(out), "--keys-dir", str(keys)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["ledger", "verify", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["ledger", "checkpoint", str(db), "--keys-dir", str(keys)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("bmdx.ledger/devnet\n42\n")
    assert result.output.count("\n\u2014 bmdx.ledger/devnet ") >= 3
    result = runner.invoke(cli, ["ledger", "prove", str(db), "5", "--height", "3"])
    assert result.exit_code == 0, result.output
    proof = ijson.loads(result.output)
    assert (proof["objectType"], proof["leafIndex"], proof["height"]) == ("InclusionProof", 5, 3)
    result = runner.invoke(cli, ["ledger", "export", str(db), str(out), "--keys-dir", str(keys)])
    assert result.exit_code == 2, result.output
    result = runner.invoke(cli, ["ledger", "checkpoint", str(db)])
    assert result.exit_code == 2, result.output
    assert "no-keys" in result.output
    result = runner.invoke(cli, ["ledger", "prove", str(db), "sha-256:" + "0" * 64])
    assert result.exit_code == 1, result.output
    assert "BMDX-LED-004" in result.output
    result = runner.invoke(cli, ["ledger", "verify", str(tmp_path / "nothing")])
    assert result.exit_code == 2, result.output
