"""Bulk ingestion (Ledger.submit_many): the same outcomes as one-by-one submission.

Signatures are verified ahead in worker processes; the state machine still runs every
step on every transaction, and only skips the arithmetic of a signature verified with
the very key it resolves itself.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from bmdx.reference._internal.errors import LedgerError, SignatureError
from bmdx.reference._internal.jws import sign_raw, verify_raw
from bmdx.reference._internal.keys import generate_key
from bmdx.reference._internal.ledger import Ledger
from bmdx.reference._internal.ledger import node as ledger_node
from bmdx.reference._internal.ledger.ahead import AheadVerifier, verify_batch
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.storage import open_store
from tests.ledger.kit import Net, snapshot


@pytest.fixture
def nets(tmp_path: Path) -> Iterator[tuple[Net, Net]]:
    """Two identical networks (same seed, same registrations) on two stores."""
    with (
        open_store(f"sqlite:///{tmp_path / 'one.db'}") as one,
        open_store(f"sqlite:///{tmp_path / 'many.db'}") as many,
    ):
        yield Net(one), Net(many)


def _traffic(net: Net) -> list[Any]:
    """Valid transactions across several chunks, with refusals of every kind among them."""
    stranger = net.net.member("stranger", ["hospital"])
    txs: list[Any] = [net.audit(net.lab if i % 3 else net.hospital) for i in range(150)]
    tampered = net.audit(net.lab)
    tampered["timestamp"] = net.net.time(1)  # after signing
    borrowed = net.audit(net.hospital)
    borrowed["signatures"] = copy.deepcopy(txs[1]["signatures"])  # valid, for another message
    txs.insert(5, tampered)
    txs.insert(40, copy.deepcopy(txs[10]))  # a replay of a transaction in an earlier chunk
    txs.insert(70, net.audit(stranger))
    txs.insert(100, b"[1, 2]")
    txs.insert(120, borrowed)
    txs.insert(130, net.audit(net.lab, signers=[net.lab, stranger]))
    return txs


def _outcome(result: Any) -> tuple[str, ...]:
    if isinstance(result, LedgerError):
        return ("refused", result.reason, result.requirement)
    return ("accepted", result.txid, str(result.index))


def _one_by_one(ledger: Ledger, txs: list[Any], now: str) -> list[tuple[str, ...]]:
    out = []
    for tx in txs:
        try:
            out.append(_outcome(ledger.submit(tx, now=now)))
        except LedgerError as e:
            out.append(_outcome(e))
    return out


@pytest.mark.requirement("BMDX-LED-011", "BMDX-LED-013", "BMDX-LED-015")
@pytest.mark.parametrize("workers", [1, 2])
def test_same_outcomes_as_one_by_one(
    nets: tuple[Net, Net], workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, many = nets
    txs = _traffic(one)
    expected = _one_by_one(one.ledger, txs, one.now())
    ahead: list[int] = []
    original = AheadVerifier.known_good

    def counting(jobs: Any, indices: Any) -> set[Any]:
        good = original(jobs, indices)
        ahead.append(len(good))
        return good

    monkeypatch.setattr(AheadVerifier, "known_good", staticmethod(counting))
    monkeypatch.setattr(ledger_node, "_AHEAD_CHUNK", 64)  # several chunks under way
    got = [_outcome(r) for r in many.ledger.submit_many(txs, now=many.now(), workers=workers)]
    assert got == expected
    assert len(ahead) == 3  # chunks of 64
    # Every distinct valid signature was verified ahead: the 150 valid transactions' (the
    # replay repeats one of them) and the laboratory's beside the stranger's.
    assert sum(ahead) == 150 + 1
    refusals = [o[1:] for o in expected if o[0] == "refused"]
    assert refusals == [
        ("bad-signature", "BMDX-LED-013"),
        ("replay", "BMDX-LED-015"),
        ("unknown-sender", "BMDX-LED-012"),
        ("malformed", "BMDX-FMT-001"),
        ("bad-signature", "BMDX-LED-013"),
        ("bad-signature", "BMDX-LED-013"),
    ]
    assert len(expected) - len(refusals) == 150
    assert snapshot(many.ledger, many.members) == snapshot(one.ledger, one.members)
    assert one.commit().hash == many.commit().hash
    many.ledger.close()  # stops the worker processes (the store closes twice: harmless)


def _wire(jobs: list[Any]) -> list[Any]:
    """Jobs as they travel to a worker process: algorithm name and public JWK."""
    return [(alg.alg, key.to_jwk(), message, sig) for alg, key, message, sig in jobs]


def test_a_verified_triple_skips_only_the_arithmetic() -> None:
    es256 = security_profile().signatures.algorithms["ES256"]
    signer, other = generate_key("ES256"), generate_key("ES256")
    message = b"eyJhbGciOiJFUzI1NiJ9.e30"
    signature = sign_raw(signer, message)
    jobs = [(es256, signer.public, message, signature)]
    good = AheadVerifier.known_good(jobs, verify_batch(_wire(jobs)))
    assert good == {(signer.public.thumbprint, message, signature)}
    verify_raw(es256, signer.public, message, signature, known_good=good)
    # The same signature presented with another key is verified, and fails.
    with pytest.raises(SignatureError) as info:
        verify_raw(es256, other.public, message, signature, known_good=good)
    assert (info.value.reason, info.value.violated) == ("signature-mismatch", "BMDX-SEC-010")
    # A signature that does not verify never enters the set.
    bad = bytes([signature[0] ^ 1]) + signature[1:]
    assert verify_batch(_wire([(es256, signer.public, message, bad)])) == []
    with pytest.raises(SignatureError):
        verify_raw(es256, signer.public, message, bad, known_good=good)
    # Profile checks still run first: a wrong-length signature is refused as such.
    with pytest.raises(SignatureError) as info:
        verify_raw(es256, signer.public, message, signature[:-1], known_good=good)
    assert info.value.reason == "signature-length"


@pytest.mark.requirement("BMDX-LED-011", "BMDX-LED-013")
def test_failed_workers_fall_back_to_the_state_machine(
    nets: tuple[Net, Net], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    one, many = nets
    txs = _traffic(one)
    expected = _one_by_one(one.ledger, txs, one.now())

    def broken(self: AheadVerifier, jobs: Any) -> Future[list[int]] | None:
        if self.failure is not None:
            return None
        future: Future[list[int]] = Future()
        future.set_exception(BrokenProcessPool("a worker died"))
        return future

    monkeypatch.setattr(AheadVerifier, "submit", broken)
    got = [_outcome(r) for r in many.ledger.submit_many(txs, now=many.now(), workers=2)]
    assert got == expected
    assert snapshot(many.ledger, many.members) == snapshot(one.ledger, one.members)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["verifying signatures ahead is off: BrokenProcessPool: a worker died"]
