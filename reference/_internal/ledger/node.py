"""The ledger node: a pool of validated transactions, block commits, received blocks, reads.

:class:`Ledger` orchestrates; the rules are in :mod:`.state` (transactions) and
:mod:`.blocks` (blocks).  A submitted transaction is validated at once against the
committed state plus the transactions already pooled (the pool *is* the next block's
pending state), so :meth:`Ledger.commit_pending` never validates twice: it seals the
pool, has the validators this process holds sign it, and writes it in one store
transaction.  A block from elsewhere goes through :meth:`Ledger.apply_block`, which
validates it in full; the pool is then re-validated on top of it, and transactions the
new block made invalid (a replayed sequence, a spent input) are dropped.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from bmdx.reference._internal import ijson
from bmdx.reference._internal.errors import LedgerError, StorageError
from bmdx.reference._internal.jws import KnownGood
from bmdx.reference._internal.ledger.ahead import AheadVerifier, Job
from bmdx.reference._internal.ledger.blocks import (
    BlockBuilder,
    SealedBlock,
    Validator,
    validate_block,
)
from bmdx.reference._internal.ledger.state import (
    Effects,
    Prepared,
    ValidatorSet,
    prepare_transaction,
)
from bmdx.reference._internal.ledger.views import StoreView
from bmdx.reference._internal.merkle import leaf_hash
from bmdx.reference._internal.storage import BlockCommit, BlockRecord, Store, open_store

__all__ = ["Ledger", "Receipt"]

REQ_FORK = "BMDX-LED-023"
# Transactions per unit of work of Ledger.submit_many: enough to amortise a hand-off
# to a worker process, few enough to keep the workers ahead of the state machine.
_AHEAD_CHUNK = 256
# A chunk under way: its prepared transactions (or their step-1 refusals), the signature
# jobs sent ahead, and the indices of those that verified (None: there were none).
_Chunk = tuple[list[Prepared | LedgerError], list[Job], Future[list[int]] | None]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Receipt:
    """A transaction accepted into the pool: its id and where it will be committed."""

    txid: str
    sender: str
    sequence: int
    height: int
    index: int


class Ledger:
    """One node's ledger over a :class:`Store`.

    ``validators`` are the block-signing identities this process holds (one for a
    production node, several in a :class:`~.devnet.DevNetwork`); a node holding none
    can validate and apply blocks but not commit its own.  ``clock`` supplies "now"
    whenever a ``now=`` argument is left out.
    """

    def __init__(
        self,
        store: Store,
        *,
        validators: Sequence[Validator] = (),
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.view = StoreView(store)
        self.validators = tuple(validators)
        self._clock = clock
        self._builder: BlockBuilder | None = None
        self._ahead: AheadVerifier | None = None

    @classmethod
    def open(
        cls,
        url: str,
        *,
        validators: Sequence[Validator] = (),
        clock: Callable[[], datetime] = _utc_now,
    ) -> Ledger:
        return cls(open_store(url), validators=validators, clock=clock)

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _now(self, now: datetime | str | None) -> datetime | str:
        return self._clock() if now is None else now

    # -- writing ---------------------------------------------------------------------------

    def _pool(self, now: datetime | str) -> BlockBuilder:
        if self._builder is None:
            self.view.sync()
            self._builder = BlockBuilder(self.view, now=now)
        return self._builder

    @property
    def pending(self) -> tuple[Effects, ...]:
        """The pooled transactions' effects, in the order they will be committed."""
        return () if self._builder is None else tuple(self._builder.pending)

    def submit(
        self, tx: Any, *, now: datetime | str | None = None, known_good: KnownGood = ()
    ) -> Receipt:
        """Validate ``tx`` (bytes or a parsed document) into the pool, or raise :class:`LedgerError`.

        A rejected transaction changes neither the pool nor the store.  ``known_good``
        holds signatures verified ahead (see :meth:`submit_many`).
        """
        builder = self._pool(self._now(now))
        effects = builder.add(tx, now=self._now(now), known_good=known_good)
        return Receipt(
            effects.txid, effects.sender, effects.sequence, builder.height, len(builder) - 1
        )

    def submit_many(
        self, txs: Iterable[Any], *, now: datetime | str | None = None, workers: int | None = None
    ) -> list[Receipt | LedgerError]:
        """Validate ``txs`` into the pool in order: what :meth:`submit` would do one by one.

        Each transaction gets a receipt or the :class:`LedgerError` that refused it (a
        refusal changes nothing, and the next transaction is validated on).  Bulk
        ingestion goes faster: while this process runs the state machine on one chunk,
        ``workers`` processes (default: one per processor; see :mod:`.ahead`) verify the
        signatures of the chunks after it.  The state machine still resolves every key
        and runs every check; it only skips the arithmetic of a signature that verified
        ahead with the very key it resolves.  The workers stay up until :meth:`close`.
        """
        count = max(1, workers if workers is not None else (os.cpu_count() or 1))
        if self._ahead is None or self._ahead.workers != count:
            if self._ahead is not None:
                self._ahead.close()
            self._ahead = AheadVerifier(count)
        ahead = self._ahead
        results: list[Receipt | LedgerError] = []
        chunks: deque[_Chunk] = deque()

        def drain() -> None:
            prepared, jobs, future = chunks.popleft()
            known = ahead.known_good(jobs, ahead.verified(future))
            for item in prepared:
                if isinstance(item, LedgerError):
                    results.append(item)
                    continue
                try:
                    results.append(self.submit(item, now=now, known_good=known))
                except LedgerError as e:
                    results.append(e)

        batch: list[Any] = []
        for tx in txs:
            batch.append(tx)
            if len(batch) == _AHEAD_CHUNK:
                chunks.append(self._prepare_chunk(batch, ahead, now))
                batch = []
                if len(chunks) > count:
                    drain()
        if batch:
            chunks.append(self._prepare_chunk(batch, ahead, now))
        while chunks:
            drain()
        return results

    def _prepare_chunk(
        self, batch: Sequence[Any], ahead: AheadVerifier, now: datetime | str | None
    ) -> _Chunk:
        view = self._pool(self._now(now)).pending
        prepared: list[Prepared | LedgerError] = []
        for tx in batch:
            try:
                prepared.append(prepare_transaction(tx, view))
            except LedgerError as e:
                prepared.append(e)
        jobs: list[Job] = [job for p in prepared if isinstance(p, Prepared) for job in p.jobs]
        return prepared, jobs, ahead.submit(jobs) if jobs else None

    def _signers(self, builder: BlockBuilder) -> tuple[str, list[Validator]]:
        vset = builder.pending.validator_set_at(builder.height)
        if vset is None:
            raise LedgerError(
                f"no validator set is in force at height {builder.height}",
                reason="insufficient-signatures",
                requirement="BMDX-LED-021",
                height=builder.height,
            )
        members = set(vset.members)
        held = [v for v in self.validators if (v.participant, v.key.kid) in members]
        signers = list({v.participant: v for v in held}.values())[: max(vset.threshold, 1)]
        if len(signers) < vset.threshold:
            raise LedgerError(
                f"this node holds {len(signers)} key(s) of validator set version "
                f"{vset.version}; a block needs {vset.threshold}",
                reason="insufficient-signatures",
                requirement="BMDX-LED-021",
                height=builder.height,
            )
        proposer = signers[builder.height % len(signers)].participant
        return proposer, signers

    def seal_pending(self, now: datetime | str | None = None) -> SealedBlock:
        """Seal and sign the pool as the next block, without writing it."""
        builder = self._pool(self._now(now))
        proposer, signers = self._signers(builder)
        return builder.seal(proposer=proposer, signers=signers, now=self._now(now))

    def commit_pending(
        self, now: datetime | str | None = None, *, allow_empty: bool = False
    ) -> BlockRecord | None:
        """Commit the pool as one signed block; ``None`` when the pool is empty."""
        if not allow_empty and not self.pending:
            return None
        sealed = self.seal_pending(now)
        try:
            self._write(sealed.commit)
        finally:
            self._builder = None
        return sealed.commit.block

    def apply_block(self, block: Any) -> BlockRecord:
        """Validate a block received from another node and commit it; re-pool what still fits."""
        pooled = [fx.document for fx in self.pending]
        self.view.sync()
        commit = validate_block(block, self.view)
        self._write(commit)
        self._builder = None
        for doc in pooled:
            try:
                self.submit(doc, now=self._now(None))
            except LedgerError:
                continue  # made invalid by the received block (replay, spent input)
        return commit.block

    def _write(self, commit: BlockCommit) -> None:
        try:
            self.view.commit(commit)
        except StorageError as exc:
            self.view.sync()
            if exc.reason == "conflict":
                raise LedgerError(
                    f"another block was committed at height {commit.block.height}: {exc.message}",
                    reason="fork",
                    requirement=REQ_FORK,
                    height=commit.block.height,
                ) from exc
            raise

    # -- reading ---------------------------------------------------------------------------

    def head(self) -> BlockRecord | None:
        return self.store.head()

    def _document(self, record: BlockRecord) -> dict[str, Any]:
        transactions = [
            ijson.loads(t.canonical)
            for t in self.store.iter_transactions(record.first_leaf, record.tree_size)
        ]
        return {
            "objectType": "Block",
            "header": ijson.loads(record.header),
            "body": {"transactions": transactions},
            "tail": ijson.loads(record.tail),
        }

    def block(self, height: int) -> dict[str, Any] | None:
        """The ``Block`` document at ``height``."""
        record = self.store.block(height)
        return None if record is None else self._document(record)

    def blocks(self, start: int = 0, end: int | None = None) -> Iterator[dict[str, Any]]:
        """``Block`` documents from ``start`` up to ``end`` (default: the head), streamed."""
        for record in self.store.blocks(start, end):
            yield self._document(record)

    def transaction(self, txid: str) -> dict[str, Any] | None:
        stored = self.store.transaction_by_id(txid)
        return None if stored is None else ijson.loads(stored.canonical)

    def validator_set_at(self, height: int) -> dict[str, Any] | None:
        vset: ValidatorSet | None = self.view.validator_set_at(height)
        return None if vset is None else ijson.loads(vset.document)

    def inclusion_proof(self, txid: str, *, height: int | None = None) -> dict[str, Any]:
        """An ``InclusionProof`` of ``txid`` against block ``height`` (default: the head)."""
        stored = self.store.transaction_by_id(txid)
        if stored is None:
            raise LedgerError(
                f"no transaction {txid} on the ledger",
                reason="unknown-transaction",
                requirement="BMDX-LED-004",
            )
        record = self.store.head() if height is None else self.store.block(height)
        if record is None or record.height < stored.height:
            raise LedgerError(
                f"block {height} does not exist or precedes the transaction's block {stored.height}",
                reason="unknown-block",
                requirement="BMDX-LED-004",
            )
        path = self.store.inclusion_proof(stored.leaf_index, record.tree_size)
        return {
            "objectType": "InclusionProof",
            "leafIndex": stored.leaf_index,
            "treeSize": record.tree_size,
            "leafHash": "sha-256:" + leaf_hash(stored.canonical).hex(),
            "rootHash": "sha-256:" + record.tree_root.hex(),
            "path": ["sha-256:" + h.hex() for h in path],
            "height": record.height,
        }

    def consistency_proof(
        self, first_height: int, second_height: int | None = None
    ) -> dict[str, Any]:
        """A ``ConsistencyProof`` between the tree heads of two blocks."""
        first = self.store.block(first_height)
        second = self.store.head() if second_height is None else self.store.block(second_height)
        if (
            first is None
            or second is None
            or first.tree_size > second.tree_size
            or first.tree_size == 0
        ):
            raise LedgerError(
                "the blocks do not exist, are out of order, or the first has an empty tree",
                reason="unknown-block",
                requirement="BMDX-LED-005",
            )
        path = self.store.consistency_proof(first.tree_size, second.tree_size)
        return {
            "objectType": "ConsistencyProof",
            "firstSize": first.tree_size,
            "secondSize": second.tree_size,
            "firstRoot": "sha-256:" + first.tree_root.hex(),
            "secondRoot": "sha-256:" + second.tree_root.hex(),
            "path": ["sha-256:" + h.hex() for h in path],
        }
