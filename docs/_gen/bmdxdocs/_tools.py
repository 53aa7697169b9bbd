"""What the hand-written pages show of the code: commands, their output, modules, examples.

The guides are written by hand, but nothing they show of the tools is: a hand-written
page places a marker on a line of its own, and the generator replaces it at build time.

``<!-- bmdx:example PATH -->``
    the file ``PATH`` (relative to the repository) as a titled code block;
``<!-- bmdx:help PROG [SUBCOMMAND...] -->``
    the ``--help`` text of a command of ``bmdx`` or ``bmdx-conformance``;
``<!-- bmdx:run NAME -->``
    the real output of one of :data:`RUNS` (``spec-lint``, ``spec-build-check``,
    ``spec-rehash``, ``spec-diff``), run when the site is built;
``<!-- bmdx:modules PACKAGE -->``
    the modules of ``reference/_internal`` or ``conformance/_internal``, each with the
    first line of its docstring;
``<!-- bmdx:import-contracts -->``
    the import-linter contracts of ``pyproject.toml``.

An unknown marker is an error, so a typo cannot publish an empty section.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

import click
import yaml

from bmdx.conformance.cli import cli as conformance_cli
from bmdx.reference._internal.catalogue import statement_hash
from bmdx.reference.cli import cli as reference_cli
from bmdxdocs._md import code, generated_note

CLI_PAGE = "cli.md"
MARKER = re.compile(r"^<!-- bmdx:([a-z-]+)((?: [^ >]+)*) -->[ \t]*$", re.M)
_LANG = {".toml": "toml", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".jsonl": "json"}
_WIDTH = 88
MAX_OUTPUT_LINES = 40

# The requirement the committee guide's worked example rewords, and how.
DEMO_REQUIREMENT = "BMDX-FMT-003"
DEMO_SCHEMA = ("participant.json", "keys")


class MarkerError(ValueError):
    """A hand-written page holds a marker the generator does not know."""


# --------------------------------------------------------------------------- commands


def _programs() -> dict[str, click.Group]:
    return {"bmdx": reference_cli, "bmdx-conformance": conformance_cli}


def _resolve(words: list[str]) -> tuple[click.Context, click.Command]:
    programs = _programs()
    if not words or words[0] not in programs:
        raise MarkerError(f"unknown program in {' '.join(words)!r}")
    command: click.Command = programs[words[0]]
    ctx = click.Context(
        command, info_name=words[0], terminal_width=_WIDTH, max_content_width=_WIDTH
    )
    for word in words[1:]:
        if not isinstance(command, click.Group):
            raise MarkerError(f"{' '.join(words)!r}: {word!r} is not a subcommand")
        sub = command.get_command(ctx, word)
        if sub is None:
            raise MarkerError(f"{' '.join(words)!r}: no subcommand {word!r}")
        command = sub
        ctx = click.Context(
            command, info_name=word, parent=ctx, terminal_width=_WIDTH, max_content_width=_WIDTH
        )
    return ctx, command


def help_text(words: list[str]) -> str:
    """The ``--help`` output of ``words`` (e.g. ``["bmdx-conformance", "run"]``)."""
    ctx, command = _resolve(words)
    return command.get_help(ctx)


def _walk(words: list[str]) -> list[list[str]]:
    ctx, command = _resolve(words)
    out = [words]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            out += _walk([*words, name])
    return out


def cli_page() -> str:
    """Every command of both programs with its ``--help``, anchored by its words."""
    lines = [
        "# Command line",
        "",
        "The two programs of the `bmdx` distribution, every command with its help text "
        "exactly as `--help` prints it. `bmdx` is the reference implementation's toolbox "
        "(spec tooling, documents, keys, ledger, node, adapter); `bmdx-conformance` is the "
        "conformance suite. Exit codes: 0 success, 1 the check failed, 2 usage error.",
        "",
    ]
    for prog in _programs():
        lines += [f"## `{prog}` {{ #{prog} }}", ""]
        for words in _walk([prog]):
            if len(words) > 1:
                anchor = "-".join(words)
                depth = min(len(words) + 1, 6)
                lines += [f"{'#' * depth} `{' '.join(words)}` {{ #{anchor} }}", ""]
            lines += ["```text", help_text(words).rstrip(), "```", ""]
    lines.append(generated_note("the `--help` of every command"))
    return "\n".join(lines)


# --------------------------------------------------------------------------- tool runs


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-m", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    return done.returncode, (done.stdout + done.stderr).rstrip()


def _excerpt(text: str, limit: int = MAX_OUTPUT_LINES) -> str:
    lines = text.splitlines()
    if len(lines) <= limit:
        return text
    head = lines[: limit - 4]
    return "\n".join([*head, f"[... {len(lines) - limit + 1} lines left out ...]", *lines[-3:]])


def _reword(spec: Path, rid: str) -> tuple[str, str]:
    """Reword ``rid`` in a spec copy as a committee member would; (old, new) statements."""
    for path in sorted((spec / "requirements").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for req in data.get("requirements") or ():
            if req.get("id") == rid:
                old = str(req["statement"])
                new = old.rstrip(".") + ", wherever in the document the duplicate occurs."
                req["statement"] = new
                path.write_text(
                    yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000),
                    encoding="utf-8",
                )
                return old, new
    raise MarkerError(f"{rid} is not in the catalogue")


def _narrow_schema(spec: Path) -> str | None:
    file, member = DEMO_SCHEMA
    path = spec / "schemas" / "json" / file
    if not path.is_file():
        return None
    schema = json.loads(path.read_bytes())
    prop = (schema.get("properties") or {}).get(member)
    if not isinstance(prop, dict) or not isinstance(prop.get("maxItems"), int):
        return None
    old = prop["maxItems"]
    prop["maxItems"] = max(1, old // 2)
    path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    return f"`{member}` of `{file}`: `maxItems` {old} → {prop['maxItems']}"


class ToolRuns:
    """Runs the committee's tools once per build, on the spec and on an edited copy."""

    def __init__(self, spec_root: Path, repo_root: Path | None) -> None:
        self.spec_root = spec_root
        self.repo_root = repo_root
        self._cache: dict[str, str] = {}
        self._demo: Path | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.edits: list[str] = []

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _env(self, spec: Path) -> dict[str, str]:
        env = dict(os.environ, BMDX_SPEC_DIR=str(spec), NO_COLOR="1", COLUMNS=str(_WIDTH))
        env.pop("FORCE_COLOR", None)
        return env

    def _cwd(self) -> Path:
        return self.repo_root or self.spec_root.parent

    def _conformance_args(self) -> list[str]:
        suite = self.repo_root / "conformance" if self.repo_root else None
        return ["--conformance-dir", str(suite)] if suite and suite.is_dir() else []

    def demo_spec(self) -> Path:
        """A copy of the spec with the worked example's edits applied."""
        if self._demo is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="bmdx-docs-")
            demo = Path(self._tmp.name) / "spec"
            shutil.copytree(self.spec_root, demo)
            old, new = _reword(demo, DEMO_REQUIREMENT)
            self.edits.append(
                f"{DEMO_REQUIREMENT} reworded to: “{new}” (hash "
                f"{code(statement_hash(old))} → {code(statement_hash(new))})"
            )
            narrowed = _narrow_schema(demo)
            if narrowed:
                self.edits.append(narrowed)
            self._demo = demo
        return self._demo

    def output(self, name: str) -> str:
        if name not in self._cache:
            if name not in RUNS:
                raise MarkerError(f"unknown tool run {name!r}; known: {', '.join(RUNS)}")
            self._cache[name] = RUNS[name](self)
        return self._cache[name]


def _block(command: str, rc: int, text: str) -> str:
    return "\n".join(
        [
            f'```console title="{command}  (exit status {rc})"',
            f"$ {command}",
            _excerpt(text),
            "```",
        ]
    )


def _lint(t: ToolRuns) -> str:
    rc, out = _run(
        ["bmdx.reference", "spec", "lint", "--spec-dir", str(t.spec_root), *t._conformance_args()],
        t._env(t.spec_root),
        t._cwd(),
    )
    return _block("bmdx spec lint", rc, out)


def _build_check(t: ToolRuns) -> str:
    rc, out = _run(
        ["bmdx.reference", "spec", "build", "--check", "--spec-dir", str(t.spec_root)],
        t._env(t.spec_root),
        t._cwd(),
    )
    return _block("bmdx spec build --check", rc, out or "(no output)")


def _rehash(t: ToolRuns) -> str:
    demo = t.demo_spec()
    rc, out = _run(
        ["bmdx.reference", "spec", "rehash", "--spec-dir", str(demo), *t._conformance_args()],
        t._env(demo),
        t._cwd(),
    )
    out = out.replace(str(demo), "spec")
    return _block("bmdx spec rehash", rc, out)


def _diff(t: ToolRuns) -> str:
    demo = t.demo_spec()
    rc, out = _run(
        ["bmdx.reference", "spec", "diff", str(t.spec_root), str(demo)],
        t._env(demo),
        t._cwd(),
    )
    out = out.replace(str(demo), "edited/spec").replace(str(t.spec_root), "spec")
    return _block("bmdx spec diff spec edited/spec", rc, out)


def _edits(t: ToolRuns) -> str:
    t.demo_spec()
    return "\n".join(f"- {e}" for e in t.edits)


RUNS: dict[str, Callable[[ToolRuns], str]] = {
    "spec-lint": _lint,
    "spec-build-check": _build_check,
    "spec-rehash": _rehash,
    "spec-diff": _diff,
    "demo-edits": _edits,
}


# --------------------------------------------------------------------------- modules


def _first_line(path: Path) -> str:
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    except (SyntaxError, OSError, UnicodeDecodeError):
        return ""
    first = " ".join((doc or "").split("\n\n", 1)[0].split())
    first = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", first)
    return first.replace("``", "`")


def modules_table(repo_root: Path, package: str) -> str:
    """The modules under ``<package>/_internal``, each with its docstring's first paragraph."""
    base = repo_root / package / "_internal"
    if not base.is_dir():
        raise MarkerError(f"no such package: {package}/_internal")
    rows = ["| module | what it is for |", "|---|---|"]
    for path in sorted(base.rglob("*.py")):
        relpath = path.relative_to(repo_root / package).as_posix()
        if path.name == "__init__.py":
            if path.parent == base:
                continue
            relpath = relpath.removesuffix("/__init__.py") + "/"
        summary = _first_line(path).replace("|", "\\|") or "—"
        rows.append(f"| {code(relpath)} | {summary} |")
    return "\n".join(rows)


def import_contracts(repo_root: Path) -> str:
    pyproject = repo_root / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text(encoding="utf-8")) if pyproject.is_file() else {}
    contracts = ((data.get("tool") or {}).get("importlinter") or {}).get("contracts") or []
    if not contracts:
        raise MarkerError("pyproject.toml declares no import-linter contract")
    rows = ["| contract | kind | modules | may not import |", "|---|---|---|---|"]
    for c in contracts:
        rows.append(
            f"| {c.get('name', '?')} | {c.get('type', '?')} "
            f"| {', '.join(code(m) for m in c.get('source_modules') or ())} "
            f"| {', '.join(code(m) for m in c.get('forbidden_modules') or ())} |"
        )
    return "\n".join(rows)


# --------------------------------------------------------------------------- markers


def example_block(repo_root: Path, relpath: str) -> str:
    path = repo_root / relpath
    if not path.is_file():
        raise MarkerError(f"example file {relpath} does not exist")
    lang = _LANG.get(path.suffix, "text")
    return "\n".join(
        [f'````{lang} title="{path.name}"', path.read_text(encoding="utf-8").rstrip(), "````"]
    )


def _call(produce: Callable[[], str], _args: list[str]) -> str:
    return produce()


def expand_markers(
    text: str,
    repo_root: Path,
    tools: ToolRuns | None,
    extra: dict[str, Callable[[], str]] | None = None,
) -> str:
    """Replace every ``<!-- bmdx:... -->`` marker line of a hand-written page."""

    def run(args: list[str]) -> str:
        if tools is None:
            return f"*The output of `{args[0]}` is inserted here when the site is built.*"
        return tools.output(args[0])

    # marker name -> (number of arguments, None for any; what the marker becomes)
    handlers: dict[str, tuple[int | None, Callable[[list[str]], str]]] = {
        "help": (None, lambda a: "\n".join(["```text", help_text(a).rstrip(), "```"])),
        "run": (1, run),
        "example": (1, lambda a: example_block(repo_root, a[0])),
        "modules": (1, lambda a: modules_table(repo_root, a[0])),
        "import-contracts": (0, lambda _: import_contracts(repo_root)),
    }
    for name, produce in (extra or {}).items():
        handlers[name] = (0, functools.partial(_call, produce))

    def replace(m: re.Match[str]) -> str:
        arity, handler = handlers.get(m.group(1), (-1, None))
        args = m.group(2).split()
        if handler is None or (arity is not None and arity != len(args)):
            raise MarkerError(f"unknown marker {m.group(0)!r}")
        return handler(args)

    return MARKER.sub(replace, text)
