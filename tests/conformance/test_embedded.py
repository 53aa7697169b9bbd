"""The embedded target: a node program started, waited for, certified and stopped."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import httpx
import pytest

from bmdx.conformance._internal.embedded import EmbeddedNode, reference_node_command
from bmdx.conformance._internal.errors import TargetError

from .conftest import FIXTURES, run_fake

FAKE_NODE = [sys.executable, str(FIXTURES / "fake_node.py")]


def test_node_starts_answers_and_stops() -> None:
    node = EmbeddedNode(FAKE_NODE, startup_timeout=30)
    with node:
        assert node.capabilities is not None
        assert node.capabilities["profiles"] == ["core-format"]
        assert httpx.get(node.url + "/.well-known/bmdx", timeout=5).status_code == 200
        process = node.process
        assert process is not None
    assert process.poll() is not None
    assert node.process is None


def test_a_crashing_node_reports_its_stderr() -> None:
    with pytest.raises(TargetError) as info:
        EmbeddedNode([*FAKE_NODE, "--crash"], startup_timeout=30).start()
    assert info.value.reason == "node-start"
    assert "exited with status 3" in info.value.message
    assert "fake node: cannot open the store" in info.value.message


def test_a_silent_node_times_out() -> None:
    ticks = iter([0.0, 5.0, 11.0])
    silent = [
        sys.executable,
        "-c",
        "import sys, time; sys.stderr.write('still loading'); sys.stderr.flush(); time.sleep(60)",
    ]
    node = EmbeddedNode(silent, startup_timeout=10, clock=lambda: next(ticks))
    with pytest.raises(TargetError) as info:
        node.start()
    assert info.value.reason == "node-timeout"
    assert "did not answer /.well-known/bmdx within 10 s" in info.value.message
    assert node.process is None


def test_run_without_a_target_certifies_the_embedded_node(tmp_path: Path, fake_spec: Path) -> None:
    result, _ = run_fake(
        tmp_path / "r", fake_spec, adapter=None, node_command=FAKE_NODE, node_startup_timeout=30
    )
    report = result.report
    assert report["target"]["kind"] == "embedded"
    assert report["target"]["capabilities"]["profiles"] == ["core-format"]
    assert report["claim"]["profiles"] == ["core-format"]  # narrowed to what the node declares
    assert "url" not in report["target"]


def _fake_bmdx(directory: Path, script: str) -> None:
    path = directory / "bmdx"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.mark.parametrize(
    ("script", "why"),
    [
        (None, "is not on PATH"),
        ("echo \"No such command 'node'.\" >&2; exit 2", "does not exist in this installation"),
    ],
)
def test_missing_reference_node_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str | None, why: str
) -> None:
    if script is not None:
        _fake_bmdx(tmp_path, script)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TargetError) as info:
        reference_node_command()
    assert info.value.reason == "node-unavailable"
    assert why in info.value.message
    assert info.value.remedy == "Use --target URL --config FILE, --adapter CMD or --artifacts DIR."


def test_reference_node_found_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_bmdx(tmp_path, "exit 0")
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    assert reference_node_command() == [str(tmp_path / "bmdx"), "node", "serve"]
