"""One certification run: target up, pytest with the suite's plugin, verdicts, reports.

pytest runs in-process on the ``bmdx.conformance.suite`` package with a configuration
of the suite's own (never the surrounding project's), its terminal output replaced by
the progress display.  Everything the run decides is computed from the plugin's test
records afterwards, so a crash in a report writer never changes a verdict.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import importlib.util
import secrets
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pytest
from jwcrypto import jwk

from bmdx.conformance._internal import fixtures
from bmdx.conformance._internal.certificate import (
    generate_certifier_key,
    issue_certificate,
    load_certifier_key,
)
from bmdx.conformance._internal.claim import Claim, default_claim, load_claim
from bmdx.conformance._internal.config import TargetConfig, load_target_config
from bmdx.conformance._internal.embedded import (
    EmbeddedNode,
    fetch_capabilities,
    reference_adapter_command,
    reference_node_command,
)
from bmdx.conformance._internal.errors import ReportError, SuiteError, TargetError, UsageError
from bmdx.conformance._internal.expected import ExpectedFailure, load_expected_failures
from bmdx.conformance._internal.plugin import ConformancePlugin, ProgressSink
from bmdx.conformance._internal.progress import choose_progress
from bmdx.conformance._internal.redact import Redactor
from bmdx.conformance._internal.report import ReportInputs, build_report, write_reports
from bmdx.conformance._internal.requirements import (
    PROFILES_FILE,
    Requirement,
    catalogue,
    implemented_profiles,
)
from bmdx.conformance._internal.specdata import spec_version
from bmdx.conformance._internal.targets import TARGET_INFO_KEY, Evidence, Target, TargetInfo
from bmdx.conformance._internal.verdicts import judge

__all__ = ["RunOptions", "RunResult", "collect", "run", "suite_directory"]

PYTEST_CONFIG = Path(__file__).resolve().parent / "pytest-suite.toml"
SEED_LIMIT = 2**32


def suite_directory() -> Path:
    """The directory of ``bmdx.conformance.suite`` as the import system sees it."""
    found = importlib.util.find_spec("bmdx.conformance.suite")
    locations = list(found.submodule_search_locations or []) if found else []
    if not locations:
        raise SuiteError("the conformance tests (bmdx.conformance.suite) are not installed")
    return Path(locations[0])


@dataclass
class RunOptions:
    target_url: str | None = None
    config: Path | None = None
    adapter: str | None = None
    artifacts: Path | None = None
    seed: int | None = None
    profiles: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    claim: Path | None = None
    expected_failures: Path | None = None
    report_dir: Path = Path("conformance-report")
    certifier_key: Path | None = None
    implementation_name: str | None = None
    implementation_version: str | None = None
    rich_progress: bool = True
    # Evidence in report.json: "failures" (failed and erroneous tests) or "all".
    evidence: str = "failures"
    out: TextIO = field(default_factory=lambda: sys.stdout)
    # What tests substitute: the node program, the suite directory, the profiles list.
    node_command: Sequence[str] | None = None
    # A substitute built from the reference (a kill-matrix variant) runs like it: as a
    # development node writing its credentials, with its own adapter program beside it.
    node_dev: bool = False
    node_adapter_command: Sequence[str] | None = None
    node_startup_timeout: float = 60.0
    suite_dir: Path | None = None
    profiles_file: Path = PROFILES_FILE
    now: Callable[[], dt.datetime] = field(default_factory=lambda: lambda: dt.datetime.now(dt.UTC))
    extra_plugins: Sequence[object] = ()


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    report_dir: Path
    report: Mapping[str, Any]
    self_signed: bool
    certifier_thumbprint: str


def _kind(options: RunOptions) -> str:
    given = [
        name
        for name, value in (
            ("--target", options.target_url),
            ("--adapter", options.adapter),
            ("--artifacts", options.artifacts),
        )
        if value
    ]
    if len(given) > 1:
        raise UsageError(f"give one target at most, not {' and '.join(given)}")
    if options.config is not None and options.target_url is None:
        raise UsageError("--config goes with --target URL")
    if options.target_url:
        return "http"
    if options.adapter:
        return "adapter"
    if options.artifacts:
        return "artifacts"
    return "embedded"


def _pytest_args(suite: Path, seed: int, *, collect_only: bool = False) -> list[str]:
    args = [
        "-c", str(PYTEST_CONFIG),
        "--rootdir", str(suite),
        "--confcutdir", str(suite),
        "-p", "no:cacheprovider",
        "-p", "no:terminal",
        # Hermetic: whatever pytest plugins the environment installs (and the time
        # spent importing them) stay out of a certification run.
        "--disable-plugin-autoload",
    ]  # fmt: skip
    if importlib.util.find_spec("hypothesis") is not None:
        args += ["-p", "_hypothesis_pytestplugin", f"--hypothesis-seed={seed}"]
    if collect_only:
        args.append("--collect-only")
    args.append(str(suite))
    return args


def _invoke_pytest(args: list[str], plugins: Sequence[object]) -> int:
    code = pytest.main(args, plugins=list(plugins))
    if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        raise SuiteError(
            f"pytest could not run the suite (exit code {int(code)})", reason="collection"
        )
    if code == pytest.ExitCode.INTERRUPTED:
        raise SuiteError("the run was interrupted", reason="interrupted")
    return int(code)


def collect(*, suite_dir: Path | None = None) -> ConformancePlugin:
    """Collect the suite without running it (for ``requirements``): pins and suite errors."""
    plugin = ConformancePlugin(catalogue=catalogue())
    _invoke_pytest(
        _pytest_args(suite_dir or suite_directory(), 0, collect_only=True), [plugin, fixtures]
    )
    return plugin


@contextlib.contextmanager
def _target(
    options: RunOptions, kind: str, seed: int, config: TargetConfig | None
) -> Iterator[tuple[Target, TargetInfo]]:
    if kind == "embedded":
        substitute = options.node_command is not None
        command = options.node_command or reference_node_command()
        if not substitute:
            adapter: tuple[str, ...] | None = reference_adapter_command()
        elif options.node_adapter_command:
            adapter = tuple(options.node_adapter_command)
        else:
            adapter = None
        with EmbeddedNode(
            command,
            startup_timeout=options.node_startup_timeout,
            credentials=not substitute or options.node_dev,
        ) as node:
            dev = node.config
            yield (
                Target(
                    kind="embedded",
                    url=node.url,
                    adapter_command=adapter,
                    seed=seed,
                    participants=dev.participants if dev else (),
                    governance=dev.governance if dev else None,
                ),
                _info(node.capabilities),
            )
        return
    if kind == "http":
        url = options.target_url
        assert url is not None
        verify: bool | str = str(config.ca_file) if config and config.ca_file else True
        target = Target(
            kind="http",
            url=url,
            config=options.config,
            seed=seed,
            participants=config.participants if config else (),
            governance=config.governance if config else None,
            options={"timeout": config.timeout} if config and config.timeout else {},
        )
        yield target, _info(fetch_capabilities(url, verify=verify))
        return
    if kind == "adapter":
        assert options.adapter is not None
        command = tuple(shlex.split(options.adapter))
        if not command:
            raise UsageError("--adapter needs a command")
        yield Target(kind="adapter", adapter_command=command, seed=seed), TargetInfo()
        return
    assert options.artifacts is not None
    if not options.artifacts.is_dir():
        raise TargetError(f"{options.artifacts} is not a directory", reason="artifacts-missing")
    yield Target(kind="artifacts", artifacts=options.artifacts, seed=seed), TargetInfo()


def _info(capabilities: Mapping[str, Any] | None) -> TargetInfo:
    if not capabilities:
        return TargetInfo()
    profiles = capabilities.get("profiles")
    keep = {
        k: capabilities[k]
        for k in ("objectType", "specVersion", "profiles", "algorithms", "limits")
        if k in capabilities
    }
    return TargetInfo(
        profiles=tuple(p for p in profiles if isinstance(p, str))
        if isinstance(profiles, list)
        else (),
        capabilities=keep,
    )


def _adapter_info(evidence: Mapping[str, Any]) -> TargetInfo | None:
    """The adapter's ``start`` answer, when a test recorded one."""
    for record in evidence.values():
        for exchange in getattr(record, "exchanges", ()):
            request, response = exchange.get("request"), exchange.get("response")
            if not (
                isinstance(request, dict)
                and request.get("cmd") == "start"
                and isinstance(response, dict)
            ):
                continue
            result = response.get("result")
            if (
                response.get("ok")
                and isinstance(result, dict)
                and isinstance(result.get("implementation"), dict)
            ):
                impl = {k: v for k, v in result["implementation"].items() if isinstance(v, str)}
                profiles = result.get("profiles")
                return TargetInfo(
                    implementation=impl,
                    profiles=tuple(profiles) if isinstance(profiles, list) else (),
                    capabilities={"commands": result.get("commands", [])},
                )
    return None


def _implementation(options: RunOptions, claim: Claim, info: TargetInfo) -> dict[str, str]:
    if options.implementation_name or options.implementation_version:
        return {
            "name": options.implementation_name or info.implementation.get("name", "unknown"),
            "version": options.implementation_version
            or info.implementation.get("version", "unknown"),
            "source": "command-line",
        }
    if claim.implementation:
        return {**claim.implementation, "source": "claim"}
    if info.implementation.get("name"):
        impl = {
            k: v
            for k, v in info.implementation.items()
            if k in ("name", "version", "vendor", "language", "url")
        }
        return {"version": "unknown", **impl, "source": "target"}
    return {"name": "unknown", "version": "unknown", "source": "unknown"}


def _target_description(target: Target, info: TargetInfo, options: RunOptions) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": target.kind}
    if target.url and target.kind == "http":
        out["url"] = target.url
    if target.adapter_command:
        out["adapterCommand"] = list(target.adapter_command)
    if target.artifacts:
        out["artifacts"] = str(target.artifacts)
    if options.config:
        out["config"] = str(options.config)
    ids = [p.id for p in target.participants] + (
        [target.governance.id] if target.governance else []
    )
    if ids:
        out["participants"] = ids
    if info.capabilities:
        out["capabilities"] = dict(info.capabilities)
    return out


def _rerun(kind: str, options: RunOptions) -> list[str]:
    argv = ["bmdx-conformance", "run"]
    if kind == "http":
        argv += ["--target", str(options.target_url)]
        if options.config:
            argv += ["--config", str(options.config)]
    elif kind == "adapter":
        argv += ["--adapter", str(options.adapter)]
    elif kind == "artifacts":
        argv += ["--artifacts", str(options.artifacts)]
    return argv


def _suite_version() -> str:
    try:
        return importlib.metadata.version("bmdx")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _timestamp(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class _Prepared:
    """Everything read and checked before the target starts: usage errors come first."""

    kind: str
    requirements: Mapping[str, Requirement]
    implemented: tuple[str, ...]
    known_profiles: frozenset[str]
    claim_file: Claim | None
    expected: tuple[ExpectedFailure, ...]
    config: TargetConfig | None
    key: jwk.JWK
    seed: int
    redactor: Redactor


def _prepare(options: RunOptions) -> _Prepared:
    kind = _kind(options)
    requirements = catalogue()
    implemented = implemented_profiles(options.profiles_file)
    known_profiles = frozenset({r.profile for r in requirements.values()} | set(implemented))
    unknown = sorted(set(options.profiles) - known_profiles)
    if unknown:
        raise UsageError(
            f"unknown profile(s): {', '.join(unknown)}",
            remedy=f"Choose from {', '.join(sorted(known_profiles))}.",
        )
    if options.seed is not None and not 0 <= options.seed < SEED_LIMIT:
        raise UsageError(f"--seed must be between 0 and {SEED_LIMIT - 1}")
    if (
        options.certifier_key
        and options.report_dir.resolve() in options.certifier_key.resolve().parents
    ):
        raise UsageError("the certifier key must not live inside the report directory")
    config = load_target_config(options.config) if options.config else None
    key = (
        load_certifier_key(options.certifier_key)
        if options.certifier_key
        else generate_certifier_key()
    )
    redactor = Redactor()
    if config:
        for participant in (
            *config.participants,
            *([config.governance] if config.governance else []),
        ):
            redactor.add_jwk(participant.jwk)
    redactor.add_jwk(key.export_private(as_dict=True))
    return _Prepared(
        kind=kind,
        requirements=requirements,
        implemented=implemented,
        known_profiles=known_profiles,
        claim_file=load_claim(options.claim, requirements) if options.claim else None,
        expected=load_expected_failures(options.expected_failures)
        if options.expected_failures
        else (),
        config=config,
        key=key,
        seed=options.seed if options.seed is not None else secrets.randbelow(SEED_LIMIT),
        redactor=redactor,
    )


def _execute(
    options: RunOptions, prep: _Prepared
) -> tuple[ConformancePlugin, Target, TargetInfo, dict[str, Evidence], float]:
    suite = options.suite_dir or suite_directory()
    progress: ProgressSink = choose_progress(options.out, rich_bar=options.rich_progress)
    started = time.monotonic()
    with _target(options, prep.kind, prep.seed, prep.config) as (target, declared):
        for participant in (*target.participants, *filter(None, [target.governance])):
            prep.redactor.add_jwk(participant.jwk)
        plugin = ConformancePlugin(
            catalogue=prep.requirements,
            target=target,
            profiles=options.profiles or None,
            tests=options.tests,
            progress=progress,
        )
        try:
            _invoke_pytest(
                _pytest_args(suite, prep.seed), [plugin, fixtures, *options.extra_plugins]
            )
        finally:
            progress.finish()
        stash_info = plugin.config.stash.get(TARGET_INFO_KEY, None) if plugin.config else None
        evidence = plugin.evidence()
    info = stash_info or _adapter_info(evidence) or declared
    return plugin, target, info, evidence, time.monotonic() - started


def run(options: RunOptions) -> RunResult:
    """Certify one target and write the reports; raises only for usage or setup errors."""
    prep = _prepare(options)
    options.out.write(f"seed: {prep.seed} (rerun with --seed {prep.seed})\n")
    plugin, target, info, evidence, duration = _execute(options, prep)

    claim = prep.claim_file or default_claim(prep.implemented, info.profiles)
    selected = options.profiles or None
    records = list(plugin.records.values())
    outcomes = judge(prep.requirements, records, claim, prep.expected, selected_profiles=selected)
    issued = _timestamp(options.now())
    inputs = ReportInputs(
        suite_version=_suite_version(),
        spec_version=spec_version(),
        generated=issued,
        seed=prep.seed,
        target=_target_description(target, info, options),
        implementation=_implementation(options, claim, info),
        claim=claim.summary(),
        implemented_profiles=prep.implemented,
        selected_profiles=sorted(selected or prep.known_profiles),
        rerun=_rerun(prep.kind, options),
        duration=duration,
        expected_file=str(options.expected_failures) if options.expected_failures else None,
        evidence=options.evidence,
    )
    report = build_report(
        inputs,
        records=records,
        evidence=evidence,
        outcomes=outcomes,
        suite_errors=[*plugin.suite_errors, *plugin.failed_self_checks()],
        redactor=prep.redactor,
    )
    report_dir = options.report_dir
    report_bytes = write_reports(report, report_dir, prep.redactor)
    certificate = issue_certificate(report_bytes, report, prep.key, issued=issued)
    if prep.redactor.leaks(certificate):
        raise ReportError(
            "the certificate would contain a secret; it was not written", reason="secret-leak"
        )
    try:
        (report_dir / "certificate.jws").write_text(certificate + "\n", encoding="ascii")
    except OSError as e:
        raise ReportError(f"cannot write the certificate: {e.strerror}", reason="report-dir") from e

    self_signed = options.certifier_key is None
    _print_summary(options.out, report, report_dir, prep.key, self_signed=self_signed)
    return RunResult(
        exit_code=int(report["summary"]["exitCode"]),
        report_dir=report_dir,
        report=report,
        self_signed=self_signed,
        certifier_thumbprint=prep.key.thumbprint(),
    )


def _print_summary(
    out: TextIO, report: Mapping[str, Any], report_dir: Path, key: jwk.JWK, *, self_signed: bool
) -> None:
    summary = report["summary"]
    claimed = summary["claimed"]
    lines = [
        f"{summary['result']}: claimed requirements {claimed['pass']} passed, {claimed['fail']} failed, "
        f"{claimed['expectedFail']} expected failures, {claimed['notObserved']} not observed",
    ]
    lines += [
        f"  claim failure: {r['id']} ({r['verdict']})"
        for r in report["requirements"]
        if r["claimFailure"]
    ][:20]
    lines += [f"  error: {e}" for e in report["expectedFailures"]["errors"]]
    lines += [f"  suite error: {e['message']}" for e in report["suiteErrors"]][:20]
    lines.append(f"reports written to {report_dir}/")
    if self_signed:
        lines.append(
            f"certificate.jws is self-signed by an ephemeral key (thumbprint {key.thumbprint()}); "
            "pass --certifier-key to sign with your certifier key"
        )
    else:
        lines.append(f"certificate.jws signed by certifier key {key.thumbprint()}")
    out.write("\n".join(lines) + "\n")
    out.flush()
