"""The security profile file: valid against its schema, and loaded into one frozen object."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml

from bmdx.reference._internal.errors import SpecError
from bmdx.reference._internal.limits import limits
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.specdata import spec_dir


def _spec_copy(tmp_path: Path, edit: dict[str, object]) -> Path:
    root = tmp_path / "spec"
    (root / "security").mkdir(parents=True)
    for name in ("profile.yaml", "profile.schema.json"):
        shutil.copy(spec_dir() / "security" / name, root / "security" / name)
    data = yaml.safe_load((root / "security" / "profile.yaml").read_text())
    for dotted, value in edit.items():
        node = data
        *parents, last = dotted.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    (root / "security" / "profile.yaml").write_text(yaml.safe_dump(data))
    return root


@pytest.mark.requirement("BMDX-SEC-001")
def test_signature_algorithms_are_exactly_es256_and_ed25519() -> None:
    sig = security_profile().signatures
    assert {a: (x.kty, x.crv, x.signature_bytes) for a, x in sig.algorithms.items()} == {
        "ES256": ("EC", "P-256", 64),
        "Ed25519": ("OKP", "Ed25519", 64),
        "EdDSA": ("OKP", "Ed25519", 64),
    }
    assert sig.algorithms["EdDSA"].verify_only
    assert sig.signing_alg_for("OKP", "Ed25519").alg == "Ed25519"  # type: ignore[union-attr]
    assert sig.protected_required == {"alg", "kid"}
    assert sig.protected_optional == {"typ"}
    assert sig.unprotected_allowed == frozenset()


@pytest.mark.requirement("BMDX-SEC-002")
def test_forbidden_algorithms_and_headers() -> None:
    forbidden = security_profile().forbidden
    assert {"none", "HS256", "HS384", "HS512", "RSA1_5"} <= set(forbidden.algorithms)
    assert any(a.startswith("PBES2") for a in forbidden.algorithms)
    assert {"jwk", "jku", "x5u", "x5c", "crit", "b64", "zip"} <= set(forbidden.header_parameters)
    assert all(forbidden.algorithms.values())  # every entry says why


def test_key_types() -> None:
    types = security_profile().keys.types
    assert {n: (t.kty, t.crv, t.use) for n, t in types.items()} == {
        "ES256": ("EC", "P-256", "sig"),
        "Ed25519": ("OKP", "Ed25519", "sig"),
        "P-256": ("EC", "P-256", "enc"),
        "X25519": ("OKP", "X25519", "enc"),
    }


@pytest.mark.requirement("BMDX-SEC-050")
def test_sensitivity_labels_map_to_graded_protections() -> None:
    labels = security_profile().sensitivity
    assert set(labels) == {"N", "R", "V"}
    assert all(p.payload_encryption == "required" for p in labels.values())
    assert [labels[x].break_glass for x in "NRV"] == [
        "permitted",
        "permitted-with-review",
        "forbidden",
    ]
    assert labels["V"].consent == "separate"
    assert labels["V"].key_release == "per-access"
    assert labels["N"].max_recipients > labels["R"].max_recipients > labels["V"].max_recipients


def test_profile_is_frozen_and_shares_limits() -> None:
    profile = security_profile()
    assert profile.limits == limits()
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.version = "2.0"  # type: ignore[misc]


def test_profile_that_breaks_its_schema_is_a_spec_error(tmp_path: Path) -> None:
    root = _spec_copy(tmp_path, {"signatures.payload_encoding": "none"})
    with pytest.raises(SpecError) as info:
        security_profile(root)
    assert info.value.reason == "profile"
    assert "signatures/payload_encoding" in info.value.message


def test_profile_that_allows_a_forbidden_algorithm_is_a_spec_error(tmp_path: Path) -> None:
    root = _spec_copy(
        tmp_path,
        {"forbidden.algorithms": [{"name": "ES256", "why": "testing the consistency check"}]},
    )
    with pytest.raises(SpecError) as info:
        security_profile(root)
    assert info.value.reason == "profile"
    assert "ES256" in info.value.message
