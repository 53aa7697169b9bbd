"""The writer the crash test kills: commits synthetic blocks and acknowledges each one.

``python -m tests.storage.ingest URL BLOCKS PER_BLOCK`` prints ``ready`` once the store
is open, then ``ack <height>`` after each ``commit_block`` has returned, so every
acknowledged height is one the store promised to keep.
"""

from __future__ import annotations

import sys

from bmdx.reference._internal.storage import open_store
from tests.storage.chain import Chain


def main(argv: list[str]) -> int:
    url, blocks, per_block = argv[1], int(argv[2]), int(argv[3])
    with open_store(url) as store:
        chain = Chain(store)
        print("ready", flush=True)
        for _ in range(blocks):
            commit = chain.commit(per_block)
            print(f"ack {commit.block.height}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
