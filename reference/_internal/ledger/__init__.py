"""The ledger engine: transaction state machine, blocks, governance, a node, a dev network.

API (stable; everything else in this package is internal)::

    # one node over a store (sqlite:///path.db or postgresql://...)
    ledger = Ledger.open(url, validators=[Validator(participant_id, private_key), ...])
    ledger = Ledger(store, validators=..., clock=...)
    ledger.submit(tx, now=None) -> Receipt          # validate into the pool, or LedgerError
    ledger.commit_pending(now=None) -> BlockRecord | None   # seal, sign, commit (one DB tx)
    ledger.apply_block(block) -> BlockRecord        # a received Block (dict or bytes)
    ledger.head() / .block(h) / .blocks(start, end) / .transaction(txid)
    ledger.inclusion_proof(txid, height=None) -> InclusionProof dict
    ledger.consistency_proof(first_height, second_height=None) -> ConsistencyProof dict
    ledger.validator_set_at(h) -> ValidatorSet dict | None

    # offline verification (exports, databases): streams blocks from genesis
    verify_ledger(blocks_iterable, *, on_progress=None, chain=None) -> VerifyResult
        # raises LedgerError(reason, requirement, height, index, txid) at the first fault

    # a development network: all validator keys in one process, keys from a seed
    net = DevNetwork(validators=4, threshold=3, alg="Ed25519", seed="devnet", start=...)
    ledger = net.ledger(url_or_store)               # commits genesis into an empty store
    net.member(slug, roles) -> Founder;  net.registration([members], height=h) -> tx
    net.transaction(sender, type, outputs, inputs=..., timestamp=..., signers=...) -> tx

    # the rules themselves
    validate_transaction(tx, view, *, height, block_time) -> Effects
    build_block(view, txs, *, proposer, signers, now) -> SealedBlock
    validate_block(block, view) -> BlockCommit
"""

from __future__ import annotations

from bmdx.reference._internal.ledger.blocks import (
    GENESIS_PREVIOUS,
    BlockBuilder,
    SealedBlock,
    Validator,
    block_hash,
    build_block,
    validate_block,
)
from bmdx.reference._internal.ledger.devnet import DevNetwork, derive_key
from bmdx.reference._internal.ledger.genesis import Founder, genesis_block
from bmdx.reference._internal.ledger.node import Ledger, Receipt
from bmdx.reference._internal.ledger.state import (
    TYPE_RULES,
    Effects,
    LedgerView,
    PendingView,
    TypeRule,
    ValidatorSet,
    validate_transaction,
)
from bmdx.reference._internal.ledger.verify import VerifyResult, verify_ledger
from bmdx.reference._internal.ledger.views import ChainView, MemoryChain, StoreView

__all__ = [
    "GENESIS_PREVIOUS",
    "TYPE_RULES",
    "BlockBuilder",
    "ChainView",
    "DevNetwork",
    "Effects",
    "Founder",
    "Ledger",
    "LedgerView",
    "MemoryChain",
    "PendingView",
    "Receipt",
    "SealedBlock",
    "StoreView",
    "TypeRule",
    "Validator",
    "ValidatorSet",
    "VerifyResult",
    "block_hash",
    "build_block",
    "derive_key",
    "genesis_block",
    "validate_block",
    "validate_transaction",
    "verify_ledger",
]
