"""Shared helpers of the ledger engine tests: a dev network on a store, and state snapshots."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from bmdx.reference._internal.errors import LedgerError
from bmdx.reference._internal.ledger import DevNetwork, Ledger, Validator
from bmdx.reference._internal.ledger.blocks import sign_header
from bmdx.reference._internal.ledger.genesis import Founder
from bmdx.reference._internal.ledger.state import object_id_of, version_of
from bmdx.reference._internal.storage import Store, StoreStats, open_store


@dataclass(frozen=True)
class Snapshot:
    """Everything a rejection must leave as it was."""

    head: str | None
    stats: StoreStats
    sequences: dict[str, int | None]
    objects: dict[str, list[tuple[str, str]]]
    pending: tuple[str, ...]


def snapshot(ledger: Ledger, members: Sequence[Founder]) -> Snapshot:
    store = ledger.store
    head = store.head()
    return Snapshot(
        head=None if head is None else head.hash,
        stats=store.stats(),
        sequences={m.id: store.last_sequence(m.id) for m in members},
        objects={
            m.id: [(r.version, r.state) for r in store.object_versions(m.id)] for m in members
        },
        pending=tuple(fx.txid for fx in ledger.pending),
    )


class Net:
    """A dev network with a ledger on a store, a laboratory and a hospital registered."""

    def __init__(self, store: Store) -> None:
        self.net = DevNetwork()
        self.ledger = self.net.ledger(store)
        self.lab = self.net.member("clearwater-lab", ["laboratory"], alg="ES256")
        self.hospital = self.net.member("st-brigids", ["hospital"])
        self.clock = 10
        self.submit(self.net.registration([self.lab, self.hospital], height=1))
        self.commit()

    @property
    def members(self) -> list[Founder]:
        return [self.net.platform, *self.net.validator_members, self.lab, self.hospital]

    def now(self) -> str:
        return self.net.time(self.clock)

    def tick(self, seconds: int = 10) -> str:
        self.clock += seconds
        return self.now()

    def submit(self, tx: Any) -> Any:
        return self.ledger.submit(tx, now=self.now())

    def commit(self) -> Any:
        block = self.ledger.commit_pending(self.tick())
        assert block is not None
        return block

    @property
    def height(self) -> int:
        """The height of the block being built."""
        head = self.ledger.head()
        return 0 if head is None else head.height + 1

    def audit(
        self,
        sender: Founder,
        *,
        event: dict[str, Any] | None = None,
        inputs: Sequence[dict[str, Any]] = (),
        **kwargs: Any,
    ) -> dict[str, Any]:
        output = event or self.net.audit_event(sender)
        return self.net.transaction(
            sender,
            "audit.append",
            [output],
            inputs=inputs,
            timestamp=kwargs.pop("timestamp", self.now()),
            **kwargs,
        )

    def expect_rejected(self, tx: Any, reason: str, requirement: str) -> LedgerError:
        """Submit ``tx``; it must be refused exactly so, and change nothing."""
        before = snapshot(self.ledger, self.members)
        with pytest.raises(LedgerError) as info:
            self.ledger.submit(tx, now=self.now())
        assert (info.value.reason, info.value.requirement) == (reason, requirement), str(info.value)
        assert snapshot(self.ledger, self.members) == before
        return info.value

    def expect_block_rejected(self, block: Any, reason: str, requirement: str) -> LedgerError:
        before = snapshot(self.ledger, self.members)
        with pytest.raises(LedgerError) as info:
            self.ledger.apply_block(block)
        assert (info.value.reason, info.value.requirement) == (reason, requirement), str(info.value)
        assert snapshot(self.ledger, self.members) == before
        return info.value


def ref(output: dict[str, Any]) -> dict[str, str]:
    """An input naming the version ``output`` created."""
    version = version_of(output)
    return {"objectId": object_id_of(output, version), "version": version}


def resign(block: dict[str, Any], signers: Sequence[Validator]) -> dict[str, Any]:
    """A copy of ``block`` whose tail is re-signed over its (possibly edited) header."""
    out = copy.deepcopy(block)
    out["tail"] = {"signatures": sign_header(out["header"], signers)}
    return out


def open_net(url: str) -> Iterator[Net]:
    with open_store(url) as store:
        yield Net(store)
