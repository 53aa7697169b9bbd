"""``bmdx node serve``: run a reference node (the HTTP interface of spec/api/openapi.yaml).

``--db`` is a store URL: ``sqlite:///PATH`` (the default, ``sqlite:///bmdx-node.db`` in
the working directory) or ``postgresql://...`` (one node process per database: the
node numbers its own audit transactions in memory, see docs/decisions.md).  ``--port 0`` picks a free port; the node prints its URL on stdout either
way, then serves until SIGINT or SIGTERM, on which it commits the pooled transactions
and stops.

``--dev`` runs a development node: the validators' and the platform's keys are derived
from ``--seed`` and held in-process; on an empty database it creates the genesis block
and registers test participants.  ``--credentials-out FILE`` writes their private keys
as a conformance target configuration (JSON).  Development keys must never protect real
data.  Without ``--dev`` the node acts as ``--participant ID`` with the private signing
key ``--key FILE`` (PKCS#8 PEM; ``--encryption-key FILE`` optional), signs blocks with
that key when it is one of the validators in force, and needs an existing ledger.

Exit codes: 0 stopped cleanly; 1 the ledger or database refused to start; 2 usage.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bmdx.reference._internal.errors import BmdxError, StorageError, UsageError
from bmdx.reference.cli._output import report_error

if TYPE_CHECKING:
    from bmdx.reference._internal.node import DevNode, NodeService

__all__ = ["node"]

EXIT_BAD = 1
EXIT_USAGE = 2
DEFAULT_DB = "sqlite:///bmdx-node.db"


def _fail(error: BmdxError) -> None:
    report_error(error)
    usage = isinstance(error, UsageError) or (
        isinstance(error, StorageError) and error.reason in {"bad-url", "unavailable", "version"}
    )
    sys.exit(EXIT_USAGE if usage else EXIT_BAD)


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket; binding here (not in uvicorn) lets ``--port 0`` report its port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port}: {e.strerror}",
            remedy="Choose another --port (0 picks a free one).",
        ) from e
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _service(
    db: str,
    *,
    dev: bool,
    seed: str,
    participant: str | None,
    key: Path | None,
    encryption_key: Path | None,
    commit_interval: int,
    commit_max: int,
    network: str,
) -> tuple[NodeService, DevNode | None]:
    from bmdx.reference._internal.keys import load_private_pem  # noqa: PLC0415
    from bmdx.reference._internal.ledger import Ledger, Validator  # noqa: PLC0415
    from bmdx.reference._internal.ledger.genesis import Founder  # noqa: PLC0415
    from bmdx.reference._internal.node import NodeConfig, NodeService, dev_node  # noqa: PLC0415

    config = NodeConfig(
        network=network,
        commit_interval_ms=commit_interval,
        commit_max_transactions=commit_max,
        dev=dev,
    )
    if dev:
        node = dev_node(db, seed=seed, config=config)
        return node.service, node
    if participant is None or key is None:
        raise UsageError(
            "a node that is not --dev needs --participant ID and --key FILE",
            remedy="Give the node's participant id and its PKCS#8 signing key, or use --dev.",
        )
    try:
        signing = load_private_pem(key.read_bytes())
        encryption = (
            load_private_pem(encryption_key.read_bytes(), use="enc") if encryption_key else None
        )
    except OSError as e:
        raise UsageError(f"cannot read a key file: {e.strerror}") from e
    ledger = Ledger.open(db, validators=[Validator(participant, signing)])
    if ledger.head() is None:
        ledger.close()
        raise UsageError(
            f"the ledger at {db} is empty",
            remedy="Create it with a genesis ceremony, or run a development node with --dev.",
        )
    record = ledger.store.participant(participant)
    if record is None:
        ledger.close()
        raise UsageError(f"{participant} is not registered on this ledger")
    roles = json.loads(record.document)["roles"]
    identity = Founder(
        id=participant, name=participant, roles=roles, signing=signing, encryption=encryption
    )
    return NodeService(ledger, identity=identity, config=config, store_url=db), None


@click.group()
def node() -> None:
    """Run a reference node."""


@node.command()
@click.option("--db", default=DEFAULT_DB, show_default=True, help="Store URL.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="0 picks a free port.")
@click.option("--dev", is_flag=True, help="Development node: keys in-process, test participants.")
@click.option("--seed", default="devnet", show_default=True, help="Seed of the dev keys.")
@click.option(
    "--credentials-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the dev participants' keys here (conformance target config, JSON).",
)
@click.option("--participant", help="The node's participant id (not --dev).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--encryption-key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--network", default="dev", show_default=True, help="Log origin bmdx.ledger/NAME.")
@click.option("--commit-interval-ms", default=200, show_default=True, type=int)
@click.option("--commit-max-transactions", default=256, show_default=True, type=int)
@click.option("--log-level", default="warning", show_default=True)
def serve(
    *,
    db: str,
    host: str,
    port: int,
    dev: bool,
    seed: str,
    credentials_out: Path | None,
    participant: str | None,
    key: Path | None,
    encryption_key: Path | None,
    network: str,
    commit_interval_ms: int,
    commit_max_transactions: int,
    log_level: str,
) -> None:
    """Serve the BMDX HTTP interface over the ledger in DB."""
    import uvicorn  # noqa: PLC0415

    from bmdx.reference._internal.node import create_app, credentials  # noqa: PLC0415

    try:
        service, dev_info = _service(
            db,
            dev=dev,
            seed=seed,
            participant=participant,
            key=key,
            encryption_key=encryption_key,
            commit_interval=commit_interval_ms,
            commit_max=commit_max_transactions,
            network=network,
        )
        sock = _bind(host, port)
    except BmdxError as e:
        _fail(e)
        return
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    url = f"http://{shown}:{bound[1]}"
    if dev_info is not None and credentials_out is not None:
        data = credentials(dev_info, url)
        credentials_out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    click.echo(f"bmdx node listening on {url}", err=False)
    sys.stdout.flush()
    app = create_app(service)
    config = uvicorn.Config(app, log_level=log_level, lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal under
    # the handlers it found; these make that re-raise a no-op, so a clean stop exits 0.
    stopped: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, frame: stopped.append(number))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        service.close()
