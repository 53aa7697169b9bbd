"""Signatures verified ahead, in worker processes, for bulk ingestion.

:meth:`~bmdx.reference._internal.ledger.node.Ledger.submit_many` prepares transactions
(step 1 of the state machine) and hands their signatures to an :class:`AheadVerifier`;
while its worker processes verify one chunk, the state machine runs on the chunk before.
Worker *processes*, not threads: pyca/cryptography releases the GIL while it verifies,
but a thread waiting for the GIL behind a busy interpreter gets it back only every few
milliseconds, so a verifying thread next to the state machine manages a few hundred
signatures a second.

What comes back is only which signatures verified; the state machine still resolves
every key itself and skips the arithmetic of a signature only when it holds the very
``(key thumbprint, message, signature)`` triple that verified
(:data:`~bmdx.reference._internal.jws.KnownGood`).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from bmdx.reference._internal.errors import BmdxError
from bmdx.reference._internal.jws import verify_raw
from bmdx.reference._internal.keys import PublicKey, import_public_jwk
from bmdx.reference._internal.profile import SignatureAlgorithm, security_profile

__all__ = ["AheadVerifier", "Job", "verify_batch"]

Job = tuple[SignatureAlgorithm, PublicKey, bytes, bytes]
# In a worker process: the keys it has imported, by their public JWK.
_KEYS: dict[tuple[tuple[str, str], ...], PublicKey] = {}
log = logging.getLogger(__name__)


def verify_batch(jobs: Sequence[tuple[str, dict[str, str], bytes, bytes]]) -> list[int]:
    """The indices of ``jobs`` (alg, public JWK, message, signature) whose signatures verify.

    Runs in a worker process.  A job that fails for any reason is simply not listed:
    the state machine verifies it again and reports the failure.
    """
    algorithms = security_profile().signatures.algorithms
    good = []
    for index, (alg, jwk, message, signature) in enumerate(jobs):
        try:
            name = tuple(sorted(jwk.items()))
            key = _KEYS.get(name)
            if key is None:
                key = _KEYS[name] = import_public_jwk(jwk, use="sig")
            verify_raw(algorithms[alg], key, message, signature)
        except (BmdxError, KeyError):
            continue
        good.append(index)
    return good


class AheadVerifier:
    """A pool of worker processes verifying signatures; started on first use."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.failure: str | None = None
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, jobs: Sequence[Job]) -> Future[list[int]] | None:
        """Verify ``jobs`` in a worker; the future holds the indices that verified.

        ``None`` once the workers have failed (see :meth:`verified`): from then on the
        state machine verifies everything itself.
        """
        if self.failure is not None:
            return None
        if self._pool is None:
            # spawn: a worker never inherits the parent's threads, locks or database
            # connections, whatever the parent is running.
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        payload = [(alg.alg, key.to_jwk(), message, sig) for alg, key, message, sig in jobs]
        return self._pool.submit(verify_batch, payload)

    def verified(self, future: Future[list[int]] | None) -> list[int]:
        """The indices a submitted batch verified; none when the workers failed.

        Worker processes can fail to start (a ``__main__`` that cannot be re-imported,
        no permission to fork) or die; ingestion then goes on without them, logged once.
        """
        if future is None:
            return []
        try:
            return future.result()
        except Exception as e:  # noqa: BLE001 - any failure of the workers, not of the data
            if self.failure is None:
                self.failure = f"{type(e).__name__}: {e}"
                log.warning("verifying signatures ahead is off: %s", self.failure)
            return []

    @staticmethod
    def known_good(jobs: Sequence[Job], indices: Sequence[int]) -> set[tuple[str, bytes, bytes]]:
        """The ``known_good`` triples of the jobs at ``indices``."""
        return {(jobs[i][1].thumbprint, jobs[i][2], jobs[i][3]) for i in indices}

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
