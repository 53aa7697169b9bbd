"""``bmdx encrypt`` / ``bmdx decrypt``: round trip, digest checks, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from jwcrypto.jwk import JWK

from bmdx.reference.cli import cli


def keypair(tmp_path: Path, name: str, kty: str, crv: str) -> tuple[Path, Path]:
    key = JWK.generate(kty=kty, crv=crv)
    private, public = tmp_path / f"{name}.jwk", tmp_path / f"{name}.pub.jwk"
    private.write_text(key.export(private_key=True))
    public.write_text(key.export_public())
    return private, public


def test_round_trip_with_digest(tmp_path: Path) -> None:
    a_priv, a_pub = keypair(tmp_path, "a", "EC", "P-256")
    b_priv, b_pub = keypair(tmp_path, "b", "OKP", "X25519")
    payload = tmp_path / "payload.json"
    payload.write_bytes(b'{"resourceType":"Patient"}\r\n')
    runner = CliRunner()
    out = runner.invoke(
        cli,
        [
            "encrypt",
            str(payload),
            "--to",
            str(a_pub),
            "--to",
            str(b_pub),
            "-o",
            str(tmp_path / "e.jwe.json"),
            "--digest-out",
            str(tmp_path / "digest"),
        ],
    )
    assert out.exit_code == 0, out.output
    digest = (tmp_path / "digest").read_text().strip()
    header = tmp_path / "header.json"
    header.write_text(json.dumps({"objectType": "RecordHeader", "plaintextDigest": digest}))
    for key in (a_priv, b_priv):
        out = runner.invoke(
            cli,
            [
                "decrypt",
                str(tmp_path / "e.jwe.json"),
                "--key",
                str(key),
                "--header",
                str(header),
                "-o",
                str(tmp_path / "out"),
            ],
        )
        assert out.exit_code == 0, out.output
        assert (tmp_path / "out").read_bytes() == payload.read_bytes()


def test_decryption_failures_exit_1_uniformly(tmp_path: Path) -> None:
    _, a_pub = keypair(tmp_path, "a", "EC", "P-256")
    c_priv, _ = keypair(tmp_path, "c", "EC", "P-256")
    payload = tmp_path / "p"
    payload.write_bytes(b"data")
    runner = CliRunner()
    assert (
        runner.invoke(
            cli, ["encrypt", str(payload), "--to", str(a_pub), "-o", str(tmp_path / "e")]
        ).exit_code
        == 0
    )
    wrong_key = runner.invoke(cli, ["decrypt", str(tmp_path / "e"), "--key", str(c_priv)])
    value = json.loads((tmp_path / "e").read_text())
    value["recipients"][0]["header"]["jku"] = "https://attacker.example/"
    (tmp_path / "bad").write_text(json.dumps(value))
    a_priv = tmp_path / "a.jwk"
    bad_header = runner.invoke(cli, ["decrypt", str(tmp_path / "bad"), "--key", str(a_priv)])
    wrong_digest = runner.invoke(
        cli,
        ["decrypt", str(tmp_path / "e"), "--key", str(a_priv), "--digest", "sha-256:" + "0" * 64],
    )
    for result, reason in (
        (wrong_key, "no-recipient"),
        (bad_header, "key-reference-forbidden"),
        (wrong_digest, "digest-mismatch"),
    ):
        assert result.exit_code == 1
        first = result.output.splitlines()[0]
        assert first.endswith("error: BMDX-SEC-114: decryption failed")
        assert reason in result.output


def test_unreadable_inputs_and_usage(tmp_path: Path) -> None:
    payload = tmp_path / "p"
    payload.write_bytes(b"data")
    not_a_key = tmp_path / "k.jwk"
    not_a_key.write_text('{"kty":"EC","kty":"EC"}')
    runner = CliRunner()
    result = runner.invoke(cli, ["encrypt", str(payload), "--to", str(not_a_key)])
    assert result.exit_code == 3
    assert "BMDX-FMT-003" in result.output
    rsa = tmp_path / "rsa.jwk"
    rsa.write_text(JWK.generate(kty="RSA", size=2048).export_public())
    result = runner.invoke(cli, ["encrypt", str(payload), "--to", str(rsa)])
    assert result.exit_code == 3
    assert "curve-not-allowed" in result.output
    assert runner.invoke(cli, ["encrypt", str(payload)]).exit_code == 2
