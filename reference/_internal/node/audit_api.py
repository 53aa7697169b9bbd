"""The audit trail: a patient's access history, the trail for regulators, its exports, alerts."""

from __future__ import annotations

from collections.abc import Mapping

from bmdx.reference._internal.node.exchange import exchange_for
from bmdx.reference._internal.node.records import attempt_of
from bmdx.reference._internal.node.service import NodeService
from bmdx.reference._internal.node.web import Context, Handler, Reply

__all__ = ["PROFILES", "handlers"]

PROFILES: tuple[str, ...] = ("audit",)


def handlers(service: NodeService) -> Mapping[str, Handler]:
    exchange = exchange_for(service)

    def get_access_history(ctx: Context) -> Reply:
        return Reply(exchange.history(attempt_of(ctx), ctx.params["pseudonym"], ctx.params))

    def query_audit_events(ctx: Context) -> Reply:
        return Reply(exchange.audit_events(attempt_of(ctx), ctx.params))

    def get_audit_event(ctx: Context) -> Reply:
        return Reply(exchange.audit_event(attempt_of(ctx), ctx.params["eventId"]))

    def get_audit_event_fhir(ctx: Context) -> Reply:
        return Reply(exchange.audit_event_fhir(attempt_of(ctx), ctx.params["eventId"]))

    def get_audit_event_atna(ctx: Context) -> Reply:
        return Reply(exchange.audit_event_atna(attempt_of(ctx), ctx.params["eventId"]))

    def list_alerts(ctx: Context) -> Reply:
        return Reply(exchange.alerts(attempt_of(ctx), ctx.params))

    return {
        "getAccessHistory": get_access_history,
        "queryAuditEvents": query_audit_events,
        "getAuditEvent": get_audit_event,
        "getAuditEventFhir": get_audit_event_fhir,
        "getAuditEventAtna": get_audit_event_atna,
        "listAlerts": list_alerts,
    }
