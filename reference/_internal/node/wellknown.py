"""``GET /.well-known/bmdx``: the capability document (BMDX-API-001, BMDX-API-002)."""

from __future__ import annotations

from collections.abc import Mapping

from bmdx.reference._internal.node.service import NodeService
from bmdx.reference._internal.node.web import Context, Handler, Reply

__all__ = ["PROFILES", "handlers"]

PROFILES: tuple[str, ...] = ("core-format", "security", "exchange-api")


def handlers(service: NodeService) -> Mapping[str, Handler]:
    def get_capability_document(ctx: Context) -> Reply:
        return Reply(service.capability())

    return {"getCapabilityDocument": get_capability_document}
