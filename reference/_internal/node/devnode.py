"""A development node: the governance keys in-process, test participants, credentials.

``bmdx node serve --dev`` runs one.  The validators' and the platform's keys are
derived from a seed (:class:`~bmdx.reference._internal.ledger.DevNetwork`), so a node
restarted on the same database with the same seed holds the same keys.  On an empty
database it commits the genesis block, then registers :data:`TEST_MEMBERS` in one
governance transaction.  The protocol never assumes any of this: it is how a local
node and the conformance suite get participants whose keys they can sign with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jwcrypto import jwk

from bmdx.reference._internal.ledger import DevNetwork
from bmdx.reference._internal.ledger.genesis import Founder
from bmdx.reference._internal.node.config import NodeConfig
from bmdx.reference._internal.node.service import NodeService
from bmdx.reference._internal.storage import Store, open_store

__all__ = ["TEST_MEMBERS", "DevNode", "credentials", "dev_node", "private_jwk"]

#: Participants a development node registers: (slug, roles).
TEST_MEMBERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dev-hospital", ("hospital",)),
    ("dev-laboratory", ("laboratory",)),
    ("dev-patient", ("patient",)),
    ("dev-regulator", ("regulator",)),
)


@dataclass(frozen=True, slots=True)
class DevNode:
    """A development node's service, its network and the members it registered."""

    service: NodeService
    network: DevNetwork
    members: dict[str, Founder]

    @property
    def governance(self) -> Founder:
        return self.network.platform


def dev_node(
    store: Store | str,
    *,
    seed: str = "devnet",
    config: NodeConfig | None = None,
    clock: Callable[[], datetime] | None = None,
) -> DevNode:
    """Open (and on an empty store, found) a development network's node."""
    net = DevNetwork(seed=seed)
    opened = open_store(store) if isinstance(store, str) else store
    kwargs: dict[str, Any] = {} if clock is None else {"clock": clock}
    ledger = net.ledger(opened, **kwargs)
    service = NodeService(
        ledger,
        identity=net.platform,
        config=config or NodeConfig(dev=True),
        governance=net.governance,
        store_url=store if isinstance(store, str) else None,
        **kwargs,
    )
    members = {slug: net.member(slug, list(roles)) for slug, roles in TEST_MEMBERS}
    missing = [m for m in members.values() if opened.participant(m.id) is None]
    if missing:
        height = service.head().height + 1
        service.submit_own(
            "participant.register",
            [m.document(height) for m in missing],
            signers=[g for g in net.governance if g.id != net.platform.id],
        )
        service.commit_now()
    return DevNode(service, net, members)


def private_jwk(founder: Founder) -> dict[str, Any]:
    """The private signing JWK of ``founder`` (development keys only)."""
    exported: dict[str, Any] = jwk.JWK.from_pyca(founder.signing.key).export_private(as_dict=True)
    exported["kid"] = founder.kid
    return exported


def _entry(founder: Founder) -> dict[str, Any]:
    return {
        "id": founder.id,
        "role": founder.roles[0],
        "kid": founder.kid,
        "jwk": private_jwk(founder),
    }


def credentials(node: DevNode, url: str) -> dict[str, Any]:
    """A conformance target configuration (spec/conformance/target-config.schema.json)."""
    return {
        "version": 1,
        "node": {"url": url},
        "participants": [_entry(m) for m in node.members.values()],
        "governance": _entry(node.governance),
    }
