"""Records: publish an envelope, query headers, retrieve under consent, erase.

Thin: every rule is in :mod:`.exchange`; this module maps operations to it.
"""

from __future__ import annotations

from collections.abc import Mapping

from bmdx.reference._internal.node.exchange import Attempt, exchange_for, request_digest
from bmdx.reference._internal.node.service import NodeService
from bmdx.reference._internal.node.web import Context, Handler, Reply, target_uri

__all__ = ["PROFILES", "attempt_of", "handlers"]

PROFILES: tuple[str, ...] = ("exchange-api", "consent")


def attempt_of(ctx: Context) -> Attempt:
    """The authenticated caller and the digest of its signed request (BMDX-API-071)."""
    request = ctx.request
    digest = request_digest(request.method, target_uri(request.scope), dict(request.headers))
    return Attempt(ctx.caller_required, digest)


def handlers(service: NodeService) -> Mapping[str, Handler]:
    exchange = exchange_for(service)

    def publish_record(ctx: Context) -> Reply:
        receipt, _ = exchange.publish(attempt_of(ctx), ctx.document)
        return Reply(receipt, status=201, headers={"Location": f"/records/{receipt['recordId']}"})

    def query_records(ctx: Context) -> Reply:
        return Reply(exchange.query(attempt_of(ctx), ctx.params))

    def get_record(ctx: Context) -> Reply:
        _, _, envelope = exchange.read(
            attempt_of(ctx), ctx.params["recordId"], purpose=ctx.params["purpose"]
        )
        return Reply(envelope)

    def request_record_access(ctx: Context) -> Reply:
        decision, event, envelope = exchange.read(
            attempt_of(ctx), ctx.params["recordId"], ctx.document, payload_required=False
        )
        body = {"decision": decision, "auditEvent": event}
        if envelope is not None:
            body["envelope"] = envelope
        return Reply(body)

    def erase_record(ctx: Context) -> Reply:
        return Reply(exchange.erase(attempt_of(ctx), ctx.params["recordId"]))

    return {
        "publishRecord": publish_record,
        "queryRecords": query_records,
        "getRecord": get_record,
        "requestRecordAccess": request_record_access,
        "eraseRecord": erase_record,
    }
