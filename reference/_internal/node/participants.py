"""Participants and their keys: registration by governance, rotation, revocation.

Every change is a signed transaction whose sender signed the request (BMDX-API-013);
the ledger's state machine decides the rest (BMDX-API-021).  A development node that
holds the governance keys also registers a bare ``Participant`` sent by the platform
participant, signing the ``participant.register`` on the governance's behalf.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bmdx.reference._internal.errors import ApiError
from bmdx.reference._internal.ledger import Receipt
from bmdx.reference._internal.node.service import NodeService, forbidden
from bmdx.reference._internal.node.web import Context, Handler, Reply

__all__ = ["PROFILES", "accepted", "handlers"]

PROFILES: tuple[str, ...] = ("ledger",)

REQ_PATH = "BMDX-API-013"


def accepted(receipt: Receipt) -> Reply:
    """The 202 answer to a pooled transaction (BMDX-API-031)."""
    return Reply(
        {
            "txid": receipt.txid,
            "sender": receipt.sender,
            "sequence": receipt.sequence,
            "status": "pending",
            "height": receipt.height,
        },
        status=202,
        headers={"Location": f"/ledger/transactions/{receipt.txid}"},
    )


def _outputs_name(participant: str, object_type: str) -> Any:
    def check(tx: Mapping[str, Any]) -> None:
        for i, output in enumerate(tx.get("outputs", [])):
            if output.get("objectType") == object_type and output.get("participant") != participant:
                raise ApiError(
                    f"the {object_type} names {output.get('participant')}, the path {participant}",
                    status=422,
                    reason="path-mismatch",
                    requirement=REQ_PATH,
                    pointer=f"/outputs/{i}/participant",
                )

    return check


def handlers(service: NodeService) -> Mapping[str, Handler]:
    def register_participants(ctx: Context) -> Reply:
        caller = ctx.caller_required
        if ctx.document["objectType"] == "Participant":
            return accepted(service.register_on_behalf(ctx.document, caller=caller))
        return accepted(
            service.submit(ctx.document, caller=caller, types=frozenset({"participant.register"}))
        )

    def get_participant(ctx: Context) -> Reply:
        return Reply(service.participant(ctx.params["participantId"]))

    def get_participant_sequence(ctx: Context) -> Reply:
        participant = ctx.params["participantId"]
        committed, following = service.sequence(participant)
        body: dict[str, Any] = {"participant": participant, "next": following}
        if committed is not None:
            body["lastCommitted"] = committed
        return Reply(body)

    def rotate_key(ctx: Context) -> Reply:
        caller = ctx.caller_required
        participant = ctx.params["participantId"]
        service.participant_record(participant)
        if caller.participant != participant:
            raise forbidden(
                f"{caller.participant} may not rotate the keys of {participant}",
                reason="not-owner",
            )
        return accepted(
            service.submit(
                ctx.document,
                caller=caller,
                types=frozenset({"key.rotate"}),
                check=_outputs_name(participant, "KeyRotation"),
            )
        )

    def revoke_key(ctx: Context) -> Reply:
        caller = ctx.caller_required
        participant = ctx.params["participantId"]
        service.participant_record(participant)
        return accepted(
            service.submit(
                ctx.document,
                caller=caller,
                types=frozenset({"key.revoke"}),
                check=_outputs_name(participant, "KeyRevocation"),
            )
        )

    return {
        "registerParticipants": register_participants,
        "getParticipant": get_participant,
        "getParticipantSequence": get_participant_sequence,
        "rotateKey": rotate_key,
        "revokeKey": revoke_key,
    }
