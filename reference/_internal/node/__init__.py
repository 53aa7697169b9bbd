"""The reference node: the HTTP interface of ``spec/api/openapi.yaml`` over the ledger.

API::

    service = NodeService(ledger, identity=founder, config=NodeConfig(...), clock=...)
    app = create_app(service)                 # Starlette; uvicorn serves it
    node = dev_node("sqlite:///dev.db")       # a development node with test participants
    client = SignedClient(url, participant_id, private_key)   # signs every request
"""

from __future__ import annotations

from bmdx.reference._internal.node.app import ROUTERS, create_app
from bmdx.reference._internal.node.client import AsyncSignedClient, RequestSigner, SignedClient
from bmdx.reference._internal.node.config import NodeConfig
from bmdx.reference._internal.node.devnode import TEST_MEMBERS, DevNode, credentials, dev_node
from bmdx.reference._internal.node.service import Caller, NodeService, TransactionState
from bmdx.reference._internal.node.web import Context, Handler, Reply

__all__ = [
    "ROUTERS",
    "TEST_MEMBERS",
    "AsyncSignedClient",
    "Caller",
    "Context",
    "DevNode",
    "Handler",
    "NodeConfig",
    "NodeService",
    "Reply",
    "RequestSigner",
    "SignedClient",
    "TransactionState",
    "create_app",
    "credentials",
    "dev_node",
]
