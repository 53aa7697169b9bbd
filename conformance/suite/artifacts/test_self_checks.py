"""Self-checks: the suite's ledger verifier rejects broken exports on the right rule.

These tests cite no requirement: they check the suite, not the target.  From the
export under test the suite makes tampered copies (a flipped byte, a dropped block,
one validator signature short, transactions reordered, a file truncated, a replayed
transaction, a forged note signature, ...) and requires its own verifier to name, for
each, the requirement the tamper breaks.  A verifier that let one through would make
the export's pass worthless, so a failure here is a suite error that fails the run.
The checkpoint-note verifier is checked against spec/vectors/checkpoints as well.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bmdx.conformance._internal.specdata import spec_dir
from bmdx.conformance._internal.verifiers import checkpoint as notes
from bmdx.conformance._internal.verifiers.ledger import Ledger, LedgerFaultError, verify_export
from bmdx.conformance.suite._spec import cases, vector_json
from bmdx.conformance.suite.artifacts._tamper import TAMPERS, NotApplicableError, Tamper
from bmdx.conformance.suite.artifacts.conftest import ExportVerdict


@pytest.mark.parametrize("tamper", cases([(t.name, t) for t in TAMPERS], "export tampers"))
def test_verifier_names_the_tamper(
    export_verdict: ExportVerdict, tamper: Tamper, tmp_path: Path
) -> None:
    if export_verdict.fault is not None:
        pytest.skip("the export itself does not verify; tampering it proves nothing")
    source = export_verdict.exports[0]
    try:
        broken = tamper.make(source, tmp_path / "export")
    except NotApplicableError as e:
        pytest.skip(f"{tamper.name} does not apply to {source}: {e}")
    with pytest.raises(LedgerFaultError) as caught:
        verify_export(broken)
    assert (caught.value.requirement, caught.value.reason) == (tamper.requirement, tamper.reason)


def _note_cases() -> list[Any]:
    return cases(
        [(c["name"], c) for c in vector_json("checkpoints", "notes.json")], "checkpoint notes"
    )


@pytest.mark.parametrize("case", _note_cases())
def test_note_verifier_agrees_with_the_vectors(case: dict[str, Any]) -> None:
    trusted = [notes.NoteKey.from_vkey(v) for v in case["verifiers"]]
    expect = case["expect"]
    if expect["valid"]:
        opened = notes.open_note(
            case["note"], trusted, origin=case["origin"], threshold=case["threshold"]
        )
        assert (opened.origin, opened.tree_size, opened.height) == (
            expect["origin"],
            expect["treeSize"],
            expect["height"],
        )
        assert "sha-256:" + opened.root_hash.hex() == expect["rootHash"]
        assert [k.vkey for k in opened.signers] == expect["verified"]
    else:
        with pytest.raises(notes.NoteError) as caught:
            notes.open_note(
                case["note"], trusted, origin=case["origin"], threshold=case["threshold"]
            )
        assert (caught.value.reason, caught.value.requirement) == (
            expect["reason"],
            expect["requirement"],
        )


def test_ledger_verifier_accepts_the_example_chain() -> None:
    """The spec's example blocks are one chain from genesis; their checkpoints verify."""
    examples = spec_dir() / "examples" / "valid"
    blocks = sorted((examples / "block").glob("*.json"))
    assert blocks, "no example blocks"
    ledger = Ledger()
    for path in sorted(blocks, key=lambda p: json.loads(p.read_bytes())["header"]["height"]):
        ledger.add_block(json.loads(path.read_bytes()))
    checked = 0
    for path in sorted((examples / "checkpoint").glob("*.json")):
        document = json.loads(path.read_bytes())
        ledger.check_checkpoint(document, origin=document["origin"], height=document["height"])
        checked += 1
    assert checked
