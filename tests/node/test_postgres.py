"""The node over PostgreSQL, the store several API processes share."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.merkle import leaf_hash, verify_inclusion
from bmdx.reference._internal.node import AsyncSignedClient, DevNode, create_app
from tests.node.conftest import BASE, Clock, conforms, make_node
from tests.node.kit import audit_tx
from tests.storage.conftest import postgres_url  # noqa: F401 - the fixture

pytestmark = pytest.mark.anyio


@pytest.fixture
def pg_nodes(postgres_url: str, clock: Clock) -> Iterator[tuple[DevNode, DevNode]]:  # noqa: F811
    """Two node processes' services over one database: the first founds the ledger."""
    first = make_node(postgres_url, clock)
    second = make_node(postgres_url, clock)
    yield first, second
    first.service.close()
    second.service.close()


def _client(http: httpx.AsyncClient, node: DevNode, clock: Clock) -> AsyncSignedClient:
    hospital = node.members["dev-hospital"]
    return AsyncSignedClient(http, hospital.id, hospital.signing, now=clock.seconds)


@pytest.mark.requirement("BMDX-API-036")
async def test_a_commit_by_one_process_is_served_by_another(
    pg_nodes: tuple[DevNode, DevNode], clock: Clock
) -> None:
    writer, reader = pg_nodes
    hospital = writer.members["dev-hospital"]
    transport_w = httpx.ASGITransport(app=create_app(writer.service))
    transport_r = httpx.ASGITransport(app=create_app(reader.service))
    async with (
        httpx.AsyncClient(transport=transport_w, base_url=BASE) as http_w,
        httpx.AsyncClient(transport=transport_r, base_url=BASE) as http_r,
    ):
        tx = audit_tx(writer, hospital, 1)
        response = await _client(http_w, writer, clock).post("/ledger/transactions", json=tx)
        txid = conforms("submitTransaction", response)["txid"]
        writer.service.commit_now()
        client = _client(http_r, reader, clock)
        assert (await client.get("/ledger/head")).json()["height"] == 2
        proof = conforms(
            "getInclusionProof",
            await client.get("/ledger/proofs/inclusion", params={"txid": txid}),
        )
        assert verify_inclusion(
            leaf_hash(canonical_bytes(tx)),
            proof["leafIndex"],
            proof["treeSize"],
            [bytes.fromhex(p[8:]) for p in proof["path"]],
            bytes.fromhex(proof["rootHash"][8:]),
        )
        capability = conforms("getCapabilityDocument", await http_r.get("/.well-known/bmdx"))
        assert capability["validatorSet"]["threshold"] == 3
