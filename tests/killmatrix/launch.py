"""Start the reference with one component broken: ``python -m tests.killmatrix.launch``.

    python -m tests.killmatrix.launch VARIANT adapter
    python -m tests.killmatrix.launch VARIANT node serve --dev --port 0 ...

The patch named VARIANT (``patches.py``; ``none`` for the intact reference) is applied
in this process only, then the ``bmdx`` command line runs as usual.  This is what
``bmdx-conformance run --adapter`` (or a variant node under ``--target``) certifies.
"""

from __future__ import annotations

import sys

from bmdx.reference.cli import main as bmdx
from tests.killmatrix import patches


def main(argv: list[str]) -> int:
    if len(argv) < 2 or (argv[0] != "none" and argv[0] not in patches.PATCHES):
        known = ", ".join(sorted(patches.PATCHES))
        sys.stderr.write(f"usage: launch VARIANT adapter|node ARGS...; variants: none, {known}\n")
        return 2
    patches.apply(argv[0])
    bmdx(argv[1:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
