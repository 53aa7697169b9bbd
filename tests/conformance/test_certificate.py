"""The certificate: issued over the report's bytes, verified offline, broken by any byte."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from jwcrypto import jwk, jws

from bmdx.conformance._internal.certificate import verify_certificate
from bmdx.conformance._internal.errors import CertificateError
from bmdx.conformance._internal.runner import RunResult
from bmdx.conformance.cli import cli

pytestmark = pytest.mark.usefixtures("fake_spec_env")

Run = Callable[..., tuple[RunResult, str]]


@pytest.fixture(scope="module")
def certifier(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    base = tmp_path_factory.mktemp("keys")
    private, public = base / "certifier.jwk", base / "certifier.pub.jwk"
    private.write_text(key.export_private())
    public.write_text(key.export_public())
    return private, public, key.thumbprint()


@pytest.fixture(scope="module")
def signed(module_run: Run, certifier: tuple[Path, Path, str]) -> RunResult:
    result, out = module_run(adapter="fail-002", certifier_key=certifier[0])
    assert f"certificate.jws signed by certifier key {certifier[2]}" in out
    return result


def _parts(result: RunResult) -> tuple[str, bytes]:
    return (result.report_dir / "certificate.jws").read_text(), (
        result.report_dir / "report.json"
    ).read_bytes()


def test_certificate_payload(signed: RunResult, certifier: tuple[Path, Path, str]) -> None:
    text, report = _parts(signed)
    verified = verify_certificate(
        text, key=jwk.JWK.from_json(certifier[1].read_text()), report_bytes=report
    )
    assert verified.key_source == "given"
    assert verified.thumbprint == certifier[2]
    assert verified.header["alg"] == "Ed25519"
    assert verified.header["typ"] == "bmdx-conformance-certificate+jws"
    assert "d" not in verified.header["jwk"]
    payload = verified.payload
    assert payload["verdict"]["result"] == "not-conformant"
    assert payload["seed"] == 7
    assert payload["targetKind"] == "adapter"
    assert payload["claim"]["source"] == "default"
    assert payload["specVersion"] == signed.report["specVersion"]
    assert payload["suite"] == signed.report["suite"]
    assert payload["implementation"] == {"name": "unknown", "version": "unknown"}


def test_self_signed_certificate_says_so(module_run: Run) -> None:
    result, out = module_run(adapter="fail-002")
    assert result.self_signed
    assert f"self-signed by an ephemeral key (thumbprint {result.certifier_thumbprint})" in out
    text, report = _parts(result)
    verified = verify_certificate(text, report_bytes=report)
    assert verified.key_source == "embedded"
    assert verified.thumbprint == result.certifier_thumbprint


def test_every_changed_byte_of_the_certificate_fails(signed: RunResult) -> None:
    text, report = _parts(signed)
    token = text.rstrip("\n")
    for index in range(len(text)):
        original = text[index]
        for replacement in {"A", "B", "."} - {original}:
            changed = text[:index] + replacement + text[index + 1 :]
            with pytest.raises(CertificateError):
                verify_certificate(changed, report_bytes=report)
    assert token.count(".") == 2


def test_a_changed_byte_of_the_report_fails(signed: RunResult) -> None:
    text, report = _parts(signed)
    for index in (0, len(report) // 2, len(report) - 1):
        changed = bytearray(report)
        changed[index] ^= 0x01
        with pytest.raises(CertificateError) as info:
            verify_certificate(text, report_bytes=bytes(changed))
        assert info.value.reason == "digest"


def test_a_certificate_re_signed_by_another_key_fails_with_the_trusted_key(
    signed: RunResult, certifier: tuple[Path, Path, str]
) -> None:
    text, _ = _parts(signed)
    forged_key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    header_b64, payload_b64, _ = text.strip().split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    header.update(
        kid=forged_key.thumbprint(),
        jwk={
            k: v
            for k, v in forged_key.export_public(as_dict=True).items()
            if k in ("kty", "crv", "x")
        },
    )
    token = jws.JWS(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
    token.add_signature(forged_key, alg="Ed25519", protected=json.dumps(header))
    forged = token.serialize(compact=True)
    assert verify_certificate(forged).key_source == "embedded"
    with pytest.raises(CertificateError) as info:
        verify_certificate(forged, key=jwk.JWK.from_json(certifier[1].read_text()))
    assert info.value.reason == "signature"


def test_verify_certificate_cli(
    signed: RunResult, certifier: tuple[Path, Path, str], tmp_path: Path
) -> None:
    cert = signed.report_dir / "certificate.jws"
    report = signed.report_dir / "report.json"
    runner = CliRunner()
    ok = runner.invoke(
        cli, ["verify-certificate", str(cert), "--report", str(report), "--key", str(certifier[1])]
    )
    assert ok.exit_code == 0, ok.output
    assert f"signed by the given key {certifier[2]}" in ok.output
    assert "report digest matches (sha256:" in ok.output
    embedded = runner.invoke(cli, ["verify-certificate", str(cert)])
    assert embedded.exit_code == 0
    assert "proves integrity only" in embedded.output
    assert "report not checked" in embedded.output
    changed = tmp_path / "report.json"
    data = bytearray(report.read_bytes())
    data[10] ^= 0x20
    changed.write_bytes(bytes(data))
    bad = runner.invoke(cli, ["verify-certificate", str(cert), "--report", str(changed)])
    assert bad.exit_code == 1
    assert "[digest]" in bad.output
    missing = runner.invoke(cli, ["verify-certificate", str(tmp_path / "nothing.jws")])
    assert missing.exit_code == 2
    assert "[unreadable]" in missing.output


def test_a_private_key_is_refused_as_a_certifier_public_key(tmp_path: Path) -> None:
    wrong = tmp_path / "p256.jwk"
    wrong.write_text(jwk.JWK.generate(kty="EC", crv="P-256").export_public())
    result = CliRunner().invoke(cli, ["verify-certificate", str(wrong), "--key", str(wrong)])
    assert result.exit_code == 2
    assert "[key]" in result.output
