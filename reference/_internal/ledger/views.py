"""The committed ledger state as a :class:`~.state.LedgerView`: over a store, or in memory.

:class:`StoreView` reads a :class:`Store` and caches what validation reads per
transaction (parsed keys, key records, participants, sequences, validator sets).  The
caches are only trusted while the store's head is the head they were filled at: every
block goes through :meth:`StoreView.committed`, and :meth:`StoreView.sync` drops them
when another process moved the head (several API processes share one PostgreSQL store).

:class:`MemoryChain` holds the same state in dictionaries and the tree as its compact
frontier, for the offline verifier: memory grows with the live state (participants,
keys, object versions), never with the transactions' bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from bmdx.reference._internal import ijson
from bmdx.reference._internal.keys import PublicKey, import_public_jwk
from bmdx.reference._internal.ledger.state import MAX_HEIGHT, LedgerView, ValidatorSet
from bmdx.reference._internal.merkle import leaf_hash
from bmdx.reference._internal.storage import (
    BlockCommit,
    BlockRecord,
    KeyRecord,
    ObjectState,
    ParticipantRecord,
    Store,
)
from bmdx.reference._internal.storage.check import Frontier

__all__ = ["ChainView", "MemoryChain", "StoreView"]


class ChainView(LedgerView, Protocol):
    """A :class:`LedgerView` that also knows the chain: its head and its tree."""

    def head(self) -> BlockRecord | None: ...

    def block_hash(self, height: int) -> str | None: ...

    def next_tree_head(self, entries: Sequence[bytes]) -> tuple[int, bytes]: ...

    def commit(self, commit: BlockCommit) -> None:
        """Write a validated block atomically."""
        ...


class StoreView:
    """The committed state of a store, with caches invalidated by head changes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._head: BlockRecord | None = store.head()
        self._clear()

    def _clear(self) -> None:
        self._public: dict[str, PublicKey] = {}
        self._keys: dict[str, KeyRecord | None] = {}
        self._participants: dict[str, ParticipantRecord | None] = {}
        self._sequences: dict[str, int | None] = {}
        self._sets: dict[int, ValidatorSet | None] = {}
        self._versions: dict[str, dict[str, ObjectState]] = {}

    def sync(self) -> None:
        """Re-read the head; forget cached state if another writer moved it."""
        head = self.store.head()
        if (head is None) != (self._head is None) or (
            head is not None and self._head is not None and head.hash != self._head.hash
        ):
            self._clear()
        self._head = head

    def committed(self, commit: BlockCommit) -> None:
        """Keep the caches right after this process committed ``commit``."""
        self._head = commit.block
        self._versions.clear()
        for tx in commit.transactions:
            self._sequences[tx.sender] = tx.sequence
        for key in commit.keys_added:
            self._keys[key.kid] = key
        for retired in commit.keys_retired:
            self._keys.pop(retired.kid, None)
        for record in commit.participants:
            self._participants.pop(record.participant_id, None)
        if commit.validator_sets:
            self._sets.clear()

    # -- ChainView ------------------------------------------------------------------------

    def head(self) -> BlockRecord | None:
        return self._head

    def block_hash(self, height: int) -> str | None:
        record = self.store.block(height)
        return None if record is None else record.hash

    def next_tree_head(self, entries: Sequence[bytes]) -> tuple[int, bytes]:
        return self.store.next_tree_head(entries)

    def commit(self, commit: BlockCommit) -> None:
        self.store.commit_block(commit)
        self.committed(commit)

    # -- LedgerView -----------------------------------------------------------------------

    def last_sequence(self, sender: str) -> int | None:
        if sender not in self._sequences:
            self._sequences[sender] = self.store.last_sequence(sender)
        return self._sequences[sender]

    def participant(self, participant_id: str) -> ParticipantRecord | None:
        if participant_id not in self._participants:
            self._participants[participant_id] = self.store.participant(participant_id)
        return self._participants[participant_id]

    def key(self, kid: str) -> KeyRecord | None:
        if kid not in self._keys:
            self._keys[kid] = self.store.key(kid)
        return self._keys[kid]

    def public_key(self, kid: str) -> PublicKey | None:
        cached = self._public.get(kid)
        if cached is None:
            record = self.key(kid)
            if record is None:
                return None
            cached = import_public_jwk(ijson.loads(record.jwk))
            self._public[kid] = cached
        return cached

    def object_state(self, object_id: str, version: str) -> ObjectState | None:
        versions = self._versions.get(object_id)
        if versions is not None:
            return versions.get(version)
        record = self.store.object_version(object_id, version)
        return None if record is None else record.state

    def live_version(self, object_id: str) -> str | None:
        # One query answers this and the object_state() calls that follow for the object.
        records = self.store.object_versions(object_id)
        self._versions[object_id] = {r.version: r.state for r in records}
        live = [r.version for r in records if r.state == "live"]
        return live[-1] if live else None

    def validator_set_at(self, height: int) -> ValidatorSet | None:
        if height not in self._sets:
            record = self.store.validator_set_at(height)
            self._sets[height] = None if record is None else ValidatorSet.from_record(record)
        return self._sets[height]


class MemoryChain:
    """The whole ledger state in memory, the tree as its frontier; for verification."""

    def __init__(self) -> None:
        self._head: BlockRecord | None = None
        self._hashes: list[str] = []
        self._frontier = Frontier()
        self._sequences: dict[str, int] = {}
        self._participants: dict[str, ParticipantRecord] = {}
        self._keys: dict[str, KeyRecord] = {}
        self._public: dict[str, PublicKey] = {}
        self._objects: dict[tuple[str, str], ObjectState] = {}
        self._live: dict[str, str] = {}
        self._sets: list[ValidatorSet] = []

    def head(self) -> BlockRecord | None:
        return self._head

    def block_hash(self, height: int) -> str | None:
        return self._hashes[height] if 0 <= height < len(self._hashes) else None

    def next_tree_head(self, entries: Sequence[bytes]) -> tuple[int, bytes]:
        frontier = Frontier()
        frontier._stack = list(self._frontier._stack)
        frontier.size = self._frontier.size
        for entry in entries:
            frontier.append(leaf_hash(entry))
        return frontier.size, frontier.root()

    def commit(self, commit: BlockCommit) -> None:
        for tx in commit.transactions:
            self._frontier.append(leaf_hash(tx.canonical))
            self._sequences[tx.sender] = tx.sequence
        for created in commit.objects_created:
            self._objects[created.object_id, created.version] = "live"
            self._live[created.object_id] = created.version
        for used in commit.objects_consumed:
            self._objects[used.object_id, used.version] = "consumed"
            if self._live.get(used.object_id) == used.version:
                del self._live[used.object_id]
        for key in commit.keys_added:
            self._keys[key.kid] = key
        for retired in commit.keys_retired:
            self._keys[retired.kid] = replace(
                self._keys[retired.kid], valid_until=retired.valid_until
            )
        for record in commit.participants:
            self._participants[record.participant_id] = record
        for vset in commit.validator_sets:
            self._sets.append(ValidatorSet.from_document(ijson.loads(vset.document), vset.document))
        self._head = commit.block
        self._hashes.append(commit.block.hash)

    def last_sequence(self, sender: str) -> int | None:
        return self._sequences.get(sender)

    def participant(self, participant_id: str) -> ParticipantRecord | None:
        return self._participants.get(participant_id)

    def key(self, kid: str) -> KeyRecord | None:
        return self._keys.get(kid)

    def public_key(self, kid: str) -> PublicKey | None:
        cached = self._public.get(kid)
        if cached is None:
            record = self._keys.get(kid)
            if record is None:
                return None
            cached = import_public_jwk(ijson.loads(record.jwk))
            self._public[kid] = cached
        return cached

    def object_state(self, object_id: str, version: str) -> ObjectState | None:
        return self._objects.get((object_id, version))

    def live_version(self, object_id: str) -> str | None:
        return self._live.get(object_id)

    def validator_set_at(self, height: int) -> ValidatorSet | None:
        candidates = [s for s in self._sets if s.effective_height <= min(height, MAX_HEIGHT)]
        return max(candidates, key=lambda s: s.effective_height) if candidates else None
