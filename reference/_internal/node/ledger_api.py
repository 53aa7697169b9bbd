"""The ledger over HTTP: head, transactions, blocks, checkpoints, validator sets, proofs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bmdx.reference._internal.node.participants import accepted
from bmdx.reference._internal.node.service import NodeService
from bmdx.reference._internal.node.web import TEXT, Context, Handler, Reply

__all__ = ["PROFILES", "handlers"]

PROFILES: tuple[str, ...] = ("ledger",)


def handlers(service: NodeService) -> Mapping[str, Handler]:
    def get_ledger_head(ctx: Context) -> Reply:
        head, pending = service.head_and_pending()
        return Reply(
            {
                "height": head.height,
                "blockHash": head.hash,
                "timestamp": head.timestamp,
                "treeSize": head.tree_size,
                "treeRoot": "sha-256:" + head.tree_root.hex(),
                "pending": pending,
            }
        )

    def submit_transaction(ctx: Context) -> Reply:
        return accepted(service.submit(ctx.document, caller=ctx.caller_required))

    def get_transaction(ctx: Context) -> Reply:
        state = service.transaction(ctx.params["txid"])
        body: dict[str, Any] = {
            "txid": state.txid,
            "status": "committed" if state.committed else "pending",
            "transaction": state.document,
        }
        if state.committed:
            body["height"] = state.height
            body["leafIndex"] = state.leaf_index
        return Reply(body)

    def get_block(ctx: Context) -> Reply:
        return Reply(service.block(ctx.params["height"]))

    def get_checkpoint(ctx: Context) -> Reply:
        document, note = service.checkpoint(ctx.params["height"])
        return Reply(note if ctx.media_type == TEXT else document)

    def get_validator_set(ctx: Context) -> Reply:
        return Reply(service.validator_set_at(ctx.params["height"]))

    def get_ledger_object(ctx: Context) -> Reply:
        object_id = ctx.params["objectId"]
        version, committed = service.live_version(object_id)
        status = "committed" if committed else "pending"
        return Reply({"objectId": object_id, "version": version, "status": status})

    def get_inclusion_proof(ctx: Context) -> Reply:
        return Reply(service.inclusion_proof(ctx.params["txid"], ctx.params.get("height")))

    def get_consistency_proof(ctx: Context) -> Reply:
        return Reply(service.consistency_proof(ctx.params["first"], ctx.params.get("second")))

    return {
        "getLedgerHead": get_ledger_head,
        "submitTransaction": submit_transaction,
        "getTransaction": get_transaction,
        "getBlock": get_block,
        "getCheckpoint": get_checkpoint,
        "getValidatorSet": get_validator_set,
        "getLedgerObject": get_ledger_object,
        "getInclusionProof": get_inclusion_proof,
        "getConsistencyProof": get_consistency_proof,
    }
