"""How a node runs: its network name, its commit policy, its mode."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NodeConfig"]


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Settings of one node process.

    ``commit_interval_ms`` and ``commit_max_transactions`` are the commit policy: the
    background committer seals the pool as a block once its oldest transaction has
    waited ``commit_interval_ms`` or once it holds ``commit_max_transactions``,
    whichever comes first.  ``commit_interval_ms = 0`` runs no committer at all (tests
    commit with :meth:`NodeService.commit_now`).  ``network`` names the log in
    checkpoint origins (``bmdx.ledger/<network>``).  ``dev`` marks a node that holds the
    governance keys itself; only such a node signs registrations on the governance's
    behalf.
    """

    network: str = "dev"
    spec_version: str = "1.0"
    commit_interval_ms: int = 200
    commit_max_transactions: int = 256
    dev: bool = False

    def __post_init__(self) -> None:
        if self.commit_interval_ms < 0 or self.commit_max_transactions < 1:
            raise ValueError("commit interval must be >= 0 and max transactions >= 1")
