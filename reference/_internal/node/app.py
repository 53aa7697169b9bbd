"""The node's ASGI application: the interface document's operations over a NodeService.

Routers are modules listed in :data:`ROUTERS`, one per area.  Each exports
``handlers(service) -> {operationId: handler}`` and ``PROFILES`` (the conformance
profiles it implements, which the capability document lists).  Every operationId a
router serves must exist in ``spec/api/openapi.yaml``; its path, method, parameters
and media types come from there (see :mod:`.web`).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from bmdx.reference._internal.errors import SpecError, UsageError
from bmdx.reference._internal.httpsig import RequestVerifier
from bmdx.reference._internal.ledger import Ledger
from bmdx.reference._internal.ledger.genesis import Founder
from bmdx.reference._internal.node.config import NodeConfig
from bmdx.reference._internal.node.openapi import operations
from bmdx.reference._internal.node.service import NodeService
from bmdx.reference._internal.node.web import Intake, http_exception_response, route

__all__ = ["ROUTERS", "create_app"]

#: One line per area; each module exports ``handlers(service)`` and ``PROFILES``.
ROUTERS: tuple[str, ...] = (
    "bmdx.reference._internal.node.wellknown",
    "bmdx.reference._internal.node.participants",
    "bmdx.reference._internal.node.ledger_api",
    "bmdx.reference._internal.node.records",
    "bmdx.reference._internal.node.consents",
    "bmdx.reference._internal.node.audit_api",
)

_PROFILE_ORDER = ("core-format", "security", "ledger", "consent", "audit", "exchange-api")


def _service_of(
    target: NodeService | Ledger,
    clock: Callable[[], datetime] | None,
    config: NodeConfig | None,
) -> NodeService:
    if isinstance(target, NodeService):
        return target
    if not target.validators:
        raise UsageError(
            "a node needs an identity: give a NodeService, or a Ledger holding a validator key"
        )
    first = target.validators[0]
    identity = Founder(
        id=first.participant, name=first.participant, roles=["validator"], signing=first.key
    )
    if clock is None:
        return NodeService(target, identity=identity, config=config)
    return NodeService(target, identity=identity, config=config, clock=clock)


def _routes(service: NodeService) -> tuple[list[BaseRoute], tuple[str, ...]]:
    known = operations()
    routes: list[BaseRoute] = []
    profiles: set[str] = set()
    for name in ROUTERS:
        module = importlib.import_module(name)
        profiles.update(module.PROFILES)
        for operation_id, handler in module.handlers(service).items():
            if operation_id not in known:
                raise SpecError(
                    f"{name} serves {operation_id}, which spec/api/openapi.yaml does not define",
                    reason="openapi",
                )
            routes.append(route(service, operation_id, handler))
    return routes, tuple(p for p in _PROFILE_ORDER if p in profiles)


def create_app(
    target: NodeService | Ledger,
    *,
    clock: Callable[[], datetime] | None = None,
    config: NodeConfig | None = None,
) -> Starlette:
    """The ASGI application of a node over ``target`` (a service, or a ledger to wrap).

    ``clock`` (default: the service's) drives request verification; tests inject one.
    The application starts the service's committer on startup and commits the pool on
    shutdown.
    """
    service = _service_of(target, clock, config)
    now = clock or service.clock
    verifier = RequestVerifier(service.request_key, now=lambda: int(now().timestamp()))
    routes, profiles = _routes(service)
    service.profiles = profiles

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    async def on_http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return http_exception_response(exc)

    app = Starlette(
        routes=routes,
        middleware=[Middleware(Intake, service=service, verifier=verifier)],
        exception_handlers={HTTPException: on_http_exception},
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.verifier = verifier
    return app
