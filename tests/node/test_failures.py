"""The node's last line of defence, and its commit policy."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from bmdx.reference._internal import httpsig
from bmdx.reference._internal.limits import limits
from bmdx.reference._internal.node import AsyncSignedClient, DevNode, NodeService, create_app
from tests.node.conftest import BASE, Clock, Signed, conforms, problem
from tests.node.kit import audit_tx

pytestmark = pytest.mark.anyio


class _BrokenService(NodeService):
    """A service with a defect: reading the head fails unexpectedly."""

    def head(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("/secret/path/ledger.db: table blocks is missing")


@pytest.mark.requirement("BMDX-API-004")
async def test_unexpected_failure_is_a_generic_problem(
    node: DevNode, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    broken = _BrokenService(
        node.service.ledger,
        identity=node.network.platform,
        config=node.service.config,
        clock=clock,
    )
    app = create_app(broken)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        hospital = node.members["dev-hospital"]
        client = AsyncSignedClient(http, hospital.id, hospital.signing, now=clock.seconds)
        response = await client.get("/ledger/head")
    assert response.status_code == 500
    assert response.json() == {
        "objectType": "ErrorResponse",
        "type": "https://bmdx.org/spec/requirements/#BMDX-API-004",
        "title": "InternalError",
        "status": 500,
        "detail": "the node failed to handle this request; the failure is logged",
        "requirement": "BMDX-API-004",
        "reason": "internal-error",
    }
    assert "secret" not in response.text
    assert "table blocks is missing" in caplog.text


@pytest.mark.requirement("BMDX-API-031")
async def test_stop_commits_the_pool(node: DevNode, signed: Signed) -> None:
    hospital = node.members["dev-hospital"]
    response = await signed("dev-hospital").post(
        "/ledger/transactions", json=audit_tx(node, hospital, 1)
    )
    txid = conforms("submitTransaction", response)["txid"]
    block = node.service.stop()
    assert block is not None
    stored = node.service.ledger.store.transaction_by_id(txid)
    assert stored is not None
    assert stored.height == block.height == response.json()["height"]
    assert node.service.stop() is None


@pytest.mark.requirement("BMDX-SEC-210")
async def test_full_replay_cache_answers_the_declared_503(
    node: DevNode, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = dataclasses.replace(limits(), replay_cache_entries=1)
    monkeypatch.setattr(httpsig, "_default_limits", lambda: tiny)
    app = create_app(node.service, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        hospital = node.members["dev-hospital"]
        client = AsyncSignedClient(http, hospital.id, hospital.signing, now=clock.seconds)
        first = await client.get("/ledger/head")
        conforms("getLedgerHead", first)
        second = await client.get("/ledger/head")
    problem(second, 503, "BMDX-SEC-210", "replay-cache-full")
    conforms("getLedgerHead", second)
    assert app.state.verifier.cached_nonces == 1
