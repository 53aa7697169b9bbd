from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
GEN_DIR = REPO_ROOT / "docs" / "_gen"

if str(GEN_DIR) not in sys.path:
    sys.path.insert(0, str(GEN_DIR))


def build_site(out_dir: Path, *, spec_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``mkdocs build --strict`` of the repository's site into ``out_dir``."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", DISABLE_MKDOCS_2_WARNING="true")
    if spec_dir is not None:
        env["BMDX_SPEC_DIR"] = str(spec_dir)
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out_dir)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = build_site(out)
    assert done.returncode == 0, done.stderr[-4000:]
    return out
