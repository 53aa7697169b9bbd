"""Wycheproof AES-GCM, AES key wrap and JWE vectors through the BMDX decryption paths.

What is in and out of the profile, per file and per flag, is data:
spec/security/wycheproof-profile.yaml.  Valid in-profile vectors must give the expected
output; every other vector must be refused (out-of-profile ones with the reason the
profile file names).  Zero vectors run is a failure.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from bmdx.reference._internal import jwe
from bmdx.reference._internal.b64 import B64Error, b64url_decode
from bmdx.reference._internal.errors import DecryptionError
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.specdata import spec_dir
from tests.thirdparty import files, require_vectors

PROFILE = yaml.safe_load((spec_dir() / "security" / "wycheproof-profile.yaml").read_text())[
    "encryption"
]


def wycheproof(section: str) -> dict[str, Any]:
    [path] = files("wycheproof", PROFILE[section]["file"])
    return json.loads(Path(path).read_bytes())


def check_flags(section: str, data: dict[str, Any]) -> None:
    """Every flag in the file is listed, and acceptable outcomes are stated."""
    listed = PROFILE[section]["flags"]
    for group in data["testGroups"]:
        for test in group["tests"]:
            for flag in test["flags"] or ["none"]:
                assert flag in listed, f"{section}: flag {flag} is not in wycheproof-profile.yaml"
            if test["result"] == "acceptable":
                for flag in test["flags"]:
                    assert flag in PROFILE[section]["acceptable"], (section, flag)


def out_of_profile_reason(section: str, params: dict[str, Any]) -> str | None:
    spec = PROFILE[section]
    for name, wanted in spec["in_profile"].items():
        if params[name] != wanted:
            return str(spec["out_of_profile_reasons"][name])
    return None


def run_primitive(section: str, data: dict[str, Any], call: Any, extra: Any) -> Counter[str]:
    outcome: Counter[str] = Counter()
    for group in data["testGroups"]:
        for test in group["tests"]:
            params = dict(group, **extra(test))
            reason = out_of_profile_reason(section, params)
            if reason is None and test["result"] == "valid":
                assert call(test) == bytes.fromhex(test["msg"]), test["tcId"]
                outcome["valid-accepted"] += 1
                continue
            with pytest.raises(DecryptionError) as info:
                call(test)
            if reason is not None:
                assert info.value.reason == reason, test["tcId"]
                for flag in test["flags"]:
                    verdict = PROFILE[section]["flags"][flag]["verdict"]
                    assert verdict in ("out-of-profile", "in-profile"), flag
                outcome["out-of-profile-refused"] += 1
            else:
                assert test["result"] == "invalid", test["tcId"]
                outcome["invalid-refused"] += 1
    return outcome


@pytest.mark.requirement("BMDX-SEC-100", "BMDX-SEC-118")
def test_aes_gcm() -> None:
    data = wycheproof("aes_gcm")
    check_flags("aes_gcm", data)

    def call(t: dict[str, Any]) -> bytes:
        h = bytes.fromhex
        return jwe.content_decrypt(h(t["key"]), h(t["iv"]), h(t["ct"]), h(t["tag"]), h(t["aad"]))

    outcome = run_primitive("aes_gcm", data, call, lambda t: {})
    require_vectors(outcome["valid-accepted"], "in-profile valid AES-GCM")
    require_vectors(outcome["invalid-refused"], "in-profile invalid AES-GCM")
    assert sum(outcome.values()) == data["numberOfTests"]


@pytest.mark.requirement("BMDX-SEC-101", "BMDX-SEC-118")
def test_aes_key_wrap() -> None:
    data = wycheproof("aes_wrap")
    check_flags("aes_wrap", data)

    def call(t: dict[str, Any]) -> bytes:
        return jwe.unwrap_content_key(bytes.fromhex(t["key"]), bytes.fromhex(t["ct"]))

    outcome = run_primitive("aes_wrap", data, call, lambda t: {"ctBytes": len(t["ct"]) // 2})
    require_vectors(outcome["valid-accepted"], "in-profile valid AES key wrap")
    require_vectors(outcome["invalid-refused"], "in-profile invalid AES key wrap")
    assert sum(outcome.values()) == data["numberOfTests"]


def _with_kid(token: dict[str, Any], kid: str | None) -> dict[str, Any]:
    """The profile file's `kid-from-test-group` transform (see there)."""
    if kid is None:
        return token
    try:
        protected = json.loads(b64url_decode(token["protected"]))
    except (B64Error, ValueError, TypeError):
        return token
    if isinstance(protected, dict) and "kid" not in protected:
        for recipient in token["recipients"]:
            recipient.setdefault("header", {})["kid"] = kid
    return token


@pytest.mark.requirement("BMDX-SEC-100", "BMDX-SEC-101")
def test_json_web_encryption() -> None:
    data = wycheproof("jwe")
    check_flags("jwe", data)
    spec = PROFILE["jwe"]
    outcome: Counter[str] = Counter()
    for group in data["testGroups"]:
        key = group["private"]
        for test in group["tests"]:
            try:
                token = jwe.parse_jwe(test["jwe"])
                header = json.loads(b64url_decode(token["protected"]))
            except (DecryptionError, ValueError):
                header = {}
            in_profile = all(header.get(k) == v for k, v in spec["in_profile"].items())
            if test["result"] == "valid" and in_profile:
                token = _with_kid(jwe.parse_jwe(test["jwe"]), key.get("kid"))
                assert jwe.decrypt(token, key) == bytes.fromhex(test["pt"]), test["tcId"]
                outcome["valid-accepted"] += 1
                continue
            with pytest.raises(DecryptionError) as info:
                jwe.decrypt(_with_kid(jwe.parse_jwe(test["jwe"]), key.get("kid")), key)
            if test["result"] == "valid":
                assert info.value.reason in spec["out_of_profile_reasons"], test["tcId"]
                outcome["out-of-profile-refused"] += 1
            else:
                outcome["invalid-refused"] += 1
    require_vectors(outcome["valid-accepted"], "in-profile valid JWE")
    assert sum(outcome.values()) == data["numberOfTests"]


def test_hkdf_and_rsa_oaep_stay_out_of_profile() -> None:
    """Not run, on purpose; this fails if the profile ever adopts either."""
    encryption = security_profile().encryption
    assert encryption.kdf == "concat-kdf-sha256"
    assert encryption.alg == "ECDH-ES+A256KW"
    for section in ("hkdf", "rsa_oaep"):
        assert PROFILE[section]["run"] is False
        assert "Out of profile" in PROFILE[section]["why"]
    assert "RSA1_5" in security_profile().forbidden.algorithms
