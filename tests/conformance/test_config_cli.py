"""Target configuration, the CLI's usage errors, and the collection used by `requirements`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from jwcrypto import jwk

from bmdx.conformance._internal.config import load_target_config
from bmdx.conformance._internal.errors import InputFileError
from bmdx.conformance._internal.runner import collect
from bmdx.conformance.cli import cli

from .conftest import FAKE_SUITE, run_fake

pytestmark = pytest.mark.usefixtures("fake_spec_env")


def _config(tmp_path: Path) -> tuple[Path, jwk.JWK, jwk.JWK]:
    hospital = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    governance = jwk.JWK.generate(kty="EC", crv="P-256")
    (tmp_path / "hospital.jwk").write_text(hospital.export_private())
    inline = json.loads(governance.export_private())
    members = ", ".join(f'{k} = "{v}"' for k, v in inline.items())
    path = tmp_path / "target.toml"
    path.write_text(
        "version = 1\n"
        '[[participants]]\nid = "urn:bmdx:participant:northgate"\nrole = "hospital"\nkey_file = "hospital.jwk"\n'
        f'[governance]\nid = "urn:bmdx:participant:authority"\njwk = {{ {members} }}\n'
    )
    return path, hospital, governance


def test_target_config_loads_keys(tmp_path: Path) -> None:
    path, hospital, governance = _config(tmp_path)
    config = load_target_config(path)
    assert [p.id for p in config.participants] == ["urn:bmdx:participant:northgate"]
    assert config.participants[0].jwk["d"] == hospital.export_private(as_dict=True)["d"]
    assert config.governance is not None
    assert config.governance.jwk["d"] == governance.export_private(as_dict=True)["d"]
    assert hospital.export_private(as_dict=True)["d"] not in repr(config.participants[0])


def test_target_config_needs_private_keys(tmp_path: Path) -> None:
    (tmp_path / "pub.jwk").write_text(jwk.JWK.generate(kty="OKP", crv="Ed25519").export_public())
    path = tmp_path / "target.toml"
    path.write_text('[[participants]]\nid = "urn:bmdx:participant:x"\nkey_file = "pub.jwk"\n')
    with pytest.raises(InputFileError) as info:
        load_target_config(path)
    assert info.value.reason == "key"
    path.write_text("[node]\nurl = 'http://x'\n")
    with pytest.raises(InputFileError) as info:
        load_target_config(path)
    assert info.value.reason == "schema"


def test_participant_keys_never_reach_the_reports(tmp_path: Path, fake_spec: Path) -> None:
    path, hospital, governance = _config(tmp_path)
    result, _ = run_fake(
        tmp_path / "r", fake_spec, adapter=None, target_url="http://127.0.0.1:9", config=path
    )
    assert result.report["target"]["participants"] == [
        "urn:bmdx:participant:northgate",
        "urn:bmdx:participant:authority",
    ]
    secrets = [
        hospital.export_private(as_dict=True)["d"],
        governance.export_private(as_dict=True)["d"],
    ]
    for file in result.report_dir.iterdir():
        text = file.read_text(encoding="utf-8")
        assert not any(s in text for s in secrets), file.name


def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["run", "--adapter", "x", "--target", "http://h", "--report-dir", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert "error: [usage] give one target at most, not --target and --adapter" in result.output


def test_cli_run_without_node_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(
        cli, ["run", "--report-dir", str(tmp_path / "r"), "--no-progress", "--seed", "1"]
    )
    assert result.exit_code == 1
    assert (
        "the embedded reference node is not available: `bmdx node serve` is not on PATH"
        in result.output
    )
    assert (
        "hint: Use --target URL --config FILE, --adapter CMD or --artifacts DIR." in result.output
    )
    assert not (tmp_path / "r").exists()


def test_collect_maps_tests_to_requirements() -> None:
    plugin = collect(suite_dir=FAKE_SUITE)
    pins = {nodeid: [str(p) for p in r.pins] for nodeid, r in plugin.records.items()}
    assert pins["test_probes.py::test_second_probe"] == ["BMDX-TST-002:7f6a57c0547b1879"]
    assert len(pins) == 6
    assert plugin.suite_errors == []
