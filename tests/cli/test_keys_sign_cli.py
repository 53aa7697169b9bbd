"""``bmdx keys``, ``bmdx sign`` and ``bmdx verify``: files, exit codes and messages."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from bmdx.reference.cli import cli
from tests import vectors

DOC = {"objectType": "Participant", "id": "urn:bmdx:participant:x", "registered": 1}


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "doc.json").write_text(json.dumps(DOC))
    return tmp_path


@pytest.mark.requirement("BMDX-SEC-036")
@pytest.mark.parametrize("alg", ["ES256", "Ed25519", "P-256", "X25519"])
def test_keys_new_writes_an_encrypted_private_key_and_a_public_key(workdir: Path, alg: str) -> None:
    code, out, _ = _run(
        "keys",
        "new",
        "--alg",
        alg,
        "--out",
        "k.pem",
        "--passphrase-env",
        "PP",
        env={"PP": "s3cret"},
    )
    assert code == 0
    pem = (workdir / "k.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE((workdir / "k.pem").stat().st_mode) == 0o600
    public = json.loads((workdir / "k.pem.pub.jwk").read_text())
    assert public["objectType"] == "PublicKey"
    assert "d" not in public
    assert f"kid {public['kid']}" in out
    code, out, _ = _run("keys", "thumbprint", "k.pem.pub.jwk")
    assert (code, out.strip()) == (0, public["kid"])
    code, out, _ = _run(
        "keys", "thumbprint", "k.pem", "--passphrase-env", "PP", env={"PP": "s3cret"}
    )
    assert (code, out.strip()) == (0, public["kid"])


def test_keys_new_refuses_to_overwrite_and_needs_the_variable_set(workdir: Path) -> None:
    assert _run("keys", "new", "--alg", "Ed25519", "--out", "k.pem")[0] == 0
    code, _, err = _run("keys", "new", "--alg", "Ed25519", "--out", "k.pem")
    assert code == 2
    assert "[file-exists]" in err
    code, _, err = _run(
        "keys", "new", "--alg", "Ed25519", "--out", "k2.pem", "--passphrase-env", "NOPE_NOT_SET"
    )
    assert code == 2
    assert "[passphrase-missing]" in err
    assert _run("keys", "new", "--alg", "RS256", "--out", "r.pem")[0] == 2


@pytest.mark.requirement("BMDX-SEC-011")
def test_sign_then_verify(workdir: Path) -> None:
    for alg in ("ES256", "Ed25519"):
        assert _run("keys", "new", "--alg", alg, "--out", f"{alg}.pem")[0] == 0
    assert _run("sign", "doc.json", "--key", "ES256.pem", "--out", "one.json")[0] == 0
    assert _run("sign", "one.json", "--key", "Ed25519.pem", "--typ", "--out", "two.json")[0] == 0
    signed = json.loads((workdir / "two.json").read_text())
    assert len(signed["signatures"]) == 2
    jwks = {
        "keys": [
            json.loads((workdir / f"{a}.pem.pub.jwk").read_text()) for a in ("ES256", "Ed25519")
        ]
    }
    for key in jwks["keys"]:
        key.pop("objectType")
    (workdir / "keys.json").write_text(json.dumps(jwks))
    code, out, _ = _run("verify", "two.json", "--keys", "keys.json")
    assert code == 0
    assert "valid, signed by" in out
    assert "(ES256)" in out
    assert "(Ed25519)" in out
    code, _, err = _run("verify", "two.json", "--key", "Ed25519.pem.pub.jwk")
    assert code == 1
    assert "INVALID: BMDX-SEC-010: signature verification failed" in err
    assert "diagnostic" not in err
    code, _, err = _run("verify", "two.json", "--key", "Ed25519.pem.pub.jwk", "--explain")
    assert "diagnostic: unknown-kid [BMDX-SEC-021]" in err
    code, stdout, _ = _run("sign", "doc.json", "--key", "Ed25519.pem")
    assert code == 0
    assert json.loads(stdout)["signatures"][0]["protected"]


@pytest.mark.requirement("BMDX-SEC-010")
def test_verify_exit_codes(workdir: Path) -> None:
    assert _run("keys", "new", "--alg", "Ed25519", "--out", "k.pem")[0] == 0
    assert _run("sign", "doc.json", "--key", "k.pem", "--out", "s.json")[0] == 0
    tampered = json.loads((workdir / "s.json").read_text())
    tampered["registered"] = 2
    (workdir / "t.json").write_text(json.dumps(tampered))
    assert _run("verify", "t.json", "--key", "k.pem.pub.jwk")[0] == 1
    assert _run("verify", "s.json")[0] == 2  # neither --key nor --keys
    assert _run("verify", "s.json", "--key", "missing.jwk")[0] == 2
    assert _run("verify", "missing.json", "--key", "k.pem.pub.jwk")[0] == 2
    (workdir / "dup.json").write_text('{"objectType": "Participant", "objectType": "X"}')
    assert _run("verify", "dup.json", "--key", "k.pem.pub.jwk")[0] == 1
    (workdir / "dec.json").write_text('{"objectType": "Participant", "v": 1.5}')
    code, _, err = _run("sign", "dec.json", "--key", "k.pem")
    assert code == 1
    assert "BMDX-FMT-005" in err


def test_verify_accepts_the_signature_vectors_keys_and_standalone_jws(workdir: Path) -> None:
    cases = {c["name"]: c for c in vectors.load("signatures", "cases.json")}
    (workdir / "keys.json").write_text(
        json.dumps(vectors.load("signatures", "keys.json")["trusted"])
    )
    (workdir / "jws.json").write_text(json.dumps(cases["jws-attached"]["jws"]))
    code, out, _ = _run("verify", "jws.json", "--keys", "keys.json")
    assert code == 0
    assert "jws.json: valid, signed by" in out
    (workdir / "detached.json").write_text(json.dumps(cases["jws-detached"]["jws"]))
    (workdir / "payload.bin").write_bytes(bytes.fromhex(cases["jws-detached"]["payload_hex"]))
    assert (
        _run("verify", "detached.json", "--keys", "keys.json", "--payload", "payload.bin")[0] == 0
    )
    assert _run("verify", "detached.json", "--keys", "keys.json")[0] == 1
    (workdir / "none.json").write_text(json.dumps(cases["alg-none_fail"]["document"]))
    assert _run("verify", "none.json", "--keys", "keys.json")[0] == 1
