"""Certify a variant node as the embedded target: ``python -m tests.killmatrix.certify_node``.

    python -m tests.killmatrix.certify_node VARIANT --report-dir DIR --seed N [--test ID]...

``bmdx-conformance run`` with no target certifies the reference node it starts itself.
This runs the same certification with the node program and the adapter program
replaced by the variant's (``python -m tests.killmatrix.launch VARIANT node serve`` and
``... VARIANT adapter``): the variant is the reference with one component broken, so
it runs exactly as the reference would, as a development node writing its
credentials.  The exit status is the run's (0 pass, 1 fail, 2 usage error).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bmdx.conformance._internal.errors import ConformanceError
from bmdx.conformance._internal.runner import RunOptions, run


def launcher(variant: str, *face: str) -> list[str]:
    return [sys.executable, "-m", "tests.killmatrix.launch", variant, *face]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.killmatrix.certify_node")
    parser.add_argument("variant")
    parser.add_argument("--report-dir", type=Path, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--test", dest="tests", action="append", default=[])
    parser.add_argument("--profile", dest="profiles", action="append", default=[])
    args = parser.parse_args(argv)
    options = RunOptions(
        seed=args.seed,
        tests=tuple(args.tests),
        profiles=tuple(args.profiles),
        report_dir=args.report_dir,
        rich_progress=False,
        node_command=launcher(args.variant, "node", "serve"),
        node_dev=True,
        node_adapter_command=launcher(args.variant, "adapter"),
    )
    try:
        result = run(options)
    except ConformanceError as e:
        sys.stderr.write(f"error: {e}\n")
        return 2
    return result.exit_code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
