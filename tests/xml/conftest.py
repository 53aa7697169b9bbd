"""Shared fixtures of the XML tests: a spec built from the fixture schemas, and an
audit-hook recorder proving that parsing opens no file and no connection."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bmdx.reference._internal.specdata import spec_dir

FIXTURES = Path(__file__).parent / "fixtures"

# Audit events that reach outside the process: files, sockets, URLs, subprocesses.
_WATCHED = frozenset(
    {
        "open",
        "os.listdir",
        "os.scandir",
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "urllib.Request",
        "subprocess.Popen",
    }
)


class Recorder:
    """The outside accesses audited while a ``with`` block ran."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []

    def foreign(self) -> list[tuple[str, tuple[Any, ...]]]:
        """Every access other than a read of the packaged spec data."""
        root = str(spec_dir())
        return [
            (event, args)
            for event, args in self.events
            if not (event == "open" and isinstance(args[0], str) and args[0].startswith(root))
        ]


_recorders: list[Recorder] = []
_hook_installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recorders and event in _WATCHED:
        _recorders[-1].events.append((event, args))


@contextmanager
def _record() -> Iterator[Recorder]:
    global _hook_installed  # noqa: PLW0603 - an audit hook cannot be removed: install once
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True
    recorder = Recorder()
    _recorders.append(recorder)
    try:
        yield recorder
    finally:
        _recorders.pop()


@pytest.fixture
def record_io() -> Callable[[], Any]:
    """``with record_io() as io:`` audits every file or network access inside."""
    return _record


@pytest.fixture(scope="session")
def fixture_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spec directory holding the fixture schemas (every construct of the subset)."""
    root = tmp_path_factory.mktemp("fixture-spec")
    shutil.copytree(FIXTURES / "schemas", root / "schemas")
    (root / "security").mkdir()
    shutil.copy(spec_dir() / "security" / "profile.yaml", root / "security" / "profile.yaml")
    return root.resolve()
