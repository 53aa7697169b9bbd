"""Consents: grant a version, revoke, read the version in force (its grantor only)."""

from __future__ import annotations

from collections.abc import Mapping

from bmdx.reference._internal.node.exchange import exchange_for
from bmdx.reference._internal.node.participants import accepted
from bmdx.reference._internal.node.records import attempt_of
from bmdx.reference._internal.node.service import NodeService
from bmdx.reference._internal.node.web import Context, Handler, Reply

__all__ = ["PROFILES", "handlers"]

PROFILES: tuple[str, ...] = ("consent",)


def handlers(service: NodeService) -> Mapping[str, Handler]:
    exchange = exchange_for(service)

    def grant_consent(ctx: Context) -> Reply:
        return accepted(exchange.consent_change(attempt_of(ctx), ctx.document, "consent.grant"))

    def revoke_consent(ctx: Context) -> Reply:
        return accepted(
            exchange.consent_change(
                attempt_of(ctx), ctx.document, "consent.revoke", ctx.params["consentId"]
            )
        )

    def get_consent(ctx: Context) -> Reply:
        return Reply(exchange.consent(attempt_of(ctx), ctx.params["consentId"]))

    return {
        "grantConsent": grant_consent,
        "revokeConsent": revoke_consent,
        "getConsent": get_consent,
    }
