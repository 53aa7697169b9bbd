"""Request authentication over HTTP: RFC 9421 signatures under the BMDX profile.

Every refused request here is a write that the node would otherwise accept: a patient's
``consent.grant`` of a fresh consent for a fresh subject.  Each test asserts the 401,
the problem document naming the requirement broken, and that nothing moved: the head,
the pool, the sender's sequence, and no live version of the consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from http_message_signatures import ContentDigest
from jwcrypto import jwk

from bmdx.conformance._internal.http_client import (
    NodeClient,
    NodeState,
    Signing,
    consent_document,
    new_keys,
    pseudonym,
    register_participant,
)
from bmdx.conformance._internal.verifiers.objects import violations

PERMIT_TREATMENT = {"type": "permit", "actors": [{"role": "hospital"}], "purposes": ["treatment"]}


@dataclass
class Probe:
    """A signed write and the state it must not move when refused."""

    client: NodeClient
    body: dict[str, Any]
    consent_id: str
    before: NodeState


def _settled_state(client: NodeClient) -> NodeState:
    """The node's state once its pool is empty, so a later commit cannot move it."""
    client.wait_committed_pool()
    return client.state()


@pytest.fixture
def writer(participants: tuple[NodeClient, ...]) -> NodeClient:
    """The participant the probes write as: the patient when there is one."""
    for client in participants:
        if client.participant.role == "patient":
            return client
    return participants[0]


@pytest.fixture
def probe(writer: NodeClient) -> Probe:
    consent = consent_document(writer, pseudonym(), PERMIT_TREATMENT)
    body = writer.signed_transaction("consent.grant", [consent])
    return Probe(writer, body, consent["consentId"], _settled_state(writer))


def refused(probe: Probe, response: Any, requirement: str) -> None:
    """401, a valid problem document naming ``requirement``, and nothing changed."""
    client = probe.client
    assert response.status_code == 401, (
        f"expected 401 [{requirement}], got {response.status_code}: {response.text[:300]}"
    )
    problem = client.json(response)
    assert response.headers.get("content-type", "").startswith("application/problem+json")
    assert violations(problem, "ErrorResponse") == [], "the 401 is not an ErrorResponse"
    assert problem.get("requirement") == requirement, (
        f"the problem document names {problem.get('requirement')!r}, not {requirement}"
    )
    assert isinstance(problem.get("reason"), str), "the problem document names no reason"
    assert problem["reason"], "the problem document's reason is empty"
    assert client.state() == probe.before, f"a refused request changed the node [{requirement}]"
    assert client.live_version(probe.consent_id) is None, "the refused consent is live"


def send(probe: Probe, signing: Signing | None, **kw: Any) -> Any:
    return probe.client.post("/consents", json_body=probe.body, signing=signing, **kw)


def _limits(client: NodeClient) -> dict[str, int]:
    limits: dict[str, int] = client.capabilities().get("limits", {})
    return limits


@pytest.mark.requirement("BMDX-SEC-200:fd69b2a01fbb7a5a")
@pytest.mark.parametrize("case", ["unsigned", "two-signatures", "garbled", "other-label"])
def test_exactly_one_bmdx_signature(probe: Probe, case: str) -> None:
    """Every request to a BMDX node MUST carry exactly one RFC 9421 message signature,
    labelled bmdx, in the Signature-Input and Signature fields, and a node MUST answer a
    request without one, with several, or with fields it cannot parse with 401."""
    client = probe.client
    if case == "unsigned":
        response = send(probe, None)
    elif case == "other-label":
        response = send(probe, Signing(label="other"))
    else:
        request = client.build("POST", "/consents", json_body=probe.body)
        if case == "two-signatures":
            second = client.build("POST", "/consents", json_body=probe.body)
            request.headers["Signature-Input"] += ", " + second.headers["Signature-Input"].replace(
                "bmdx=", "second=", 1
            )
            request.headers["Signature"] += ", " + second.headers["Signature"].replace(
                "bmdx=", "second=", 1
            )
        else:
            request.headers["Signature-Input"] = 'bmdx=("@method" "@target-uri'
        response = client.send(request)
    refused(probe, response, "BMDX-SEC-200")


@pytest.mark.requirement("BMDX-SEC-201:570938a01c2498a7")
@pytest.mark.parametrize(
    "components",
    [
        ("@method", "@target-uri"),
        ("@target-uri", "content-digest"),
        ("@method", "content-digest"),
        ("@method", "@target-uri", "content-digest", "content-type"),
        ("@method", "@target-uri", "content-digest", "@authority"),
    ],
    ids=["no-digest", "no-method", "no-target", "extra-content-type", "extra-authority"],
)
def test_exact_covered_components(probe: Probe, components: tuple[str, ...]) -> None:
    """A request signature MUST cover exactly the components @method, @target-uri and
    content-digest, and a node MUST answer a signature that omits one of them or covers
    any other component with 401."""
    request = probe.client.build(
        "POST", "/consents", json_body=probe.body, signing=Signing(components=components)
    )
    refused(probe, probe.client.send(request), "BMDX-SEC-201")


@pytest.mark.requirement("BMDX-SEC-202:47cd146e1de8019c")
@pytest.mark.parametrize(
    "signing",
    [
        Signing(omit_parameters=frozenset({"nonce"})),
        Signing(omit_parameters=frozenset({"alg"})),
        Signing(expires_offset=60),
    ],
    ids=["no-nonce", "no-alg", "extra-expires"],
)
def test_exact_parameters(probe: Probe, signing: Signing) -> None:
    """A request signature MUST carry exactly the parameters created, keyid, nonce and
    alg, and a node MUST answer a signature that lacks one of them or carries any other
    with 401."""
    refused(probe, send(probe, signing), "BMDX-SEC-202")


@pytest.mark.requirement("BMDX-SEC-203:3c2b7a0182ffd1a1")
@pytest.mark.parametrize("case", ["other-body", "no-field"])
def test_content_digest(probe: Probe, case: str) -> None:
    """Every request MUST carry a Content-Digest field (RFC 9530) with the sha-256 digest
    of its body, an empty body included, and a node MUST answer a request whose
    Content-Digest is absent or does not match the received body with 401."""
    if case == "other-body":
        signing = Signing(digest=ContentDigest.create(b'{"objectType":"Transaction"}'))
    else:
        signing = Signing(send_digest=False)
    refused(probe, send(probe, signing), "BMDX-SEC-203")


@pytest.mark.requirement("BMDX-SEC-204:382fe2d38d9faa98")
def test_created_in_future(probe: Probe) -> None:
    """A node MUST answer with 401 a request whose signature created time lies more than
    the security profile's clock_skew_seconds after the node's clock."""
    skew = int(_limits(probe.client).get("clockSkewSeconds", 30))
    refused(probe, send(probe, Signing(created_offset=skew + 90)), "BMDX-SEC-204")


@pytest.mark.requirement("BMDX-SEC-205:54a3489cea8807a1")
def test_created_too_long_ago(probe: Probe) -> None:
    """A node MUST answer with 401 a request whose signature created time lies more than
    the security profile's replay_window_seconds before the node's clock."""
    window = int(_limits(probe.client).get("replayWindowSeconds", 300))
    refused(probe, send(probe, Signing(created_offset=-(window + 90))), "BMDX-SEC-205")


@pytest.mark.requirement("BMDX-SEC-206:a77a10b31ae905b9")
@pytest.mark.parametrize(
    "nonce", ["abc", "n" * 65, "not+base64url/nonce=====", "spaces in the nonce, 128 bits"]
)
def test_nonce_form(probe: Probe, nonce: str) -> None:
    """A request signature nonce MUST be 22 to 64 base64url characters carrying at least
    128 random bits, and a node MUST answer with 401 a request whose nonce is outside
    that form or was already accepted with the same keyid within the replay window."""
    refused(probe, send(probe, Signing(nonce=nonce)), "BMDX-SEC-206")


@pytest.mark.requirement("BMDX-SEC-206:a77a10b31ae905b9")
def test_replayed_request(probe: Probe) -> None:
    """A request signature nonce MUST be 22 to 64 base64url characters carrying at least
    128 random bits, and a node MUST answer with 401 a request whose nonce is outside
    that form or was already accepted with the same keyid within the replay window."""
    client = probe.client
    request = client.build("GET", f"/participants/{client.id}/sequence")
    first = client.send(request)
    assert first.status_code == 200, f"the original request was refused: {first.text[:300]}"
    # The same signed write twice: the first is accepted, the replay refused.
    write = client.build("POST", "/consents", json_body=probe.body)
    accepted = client.send(write)
    assert accepted.status_code == 202, f"the original write was refused: {accepted.text[:300]}"
    client.wait_committed_pool()
    after_first = client.state()
    replay = client.send(write)
    probe.before = after_first
    assert replay.status_code == 401
    problem = client.json(replay)
    assert problem.get("requirement") == "BMDX-SEC-206", problem
    assert client.state() == after_first, "the replayed write changed the node"
    again = client.send(request)
    assert again.status_code == 401, "a replayed read was accepted"
    assert client.json(again).get("requirement") == "BMDX-SEC-206"


@pytest.mark.requirement("BMDX-SEC-207:fd0e4b73a8d483f8")
def test_unknown_key(probe: Probe) -> None:
    """A node MUST answer with 401 a request whose keyid names no registered participant
    key or names a key that is revoked."""
    stranger, _ = new_keys()
    signing = Signing(key=stranger, kid=stranger["kid"])
    refused(probe, send(probe, signing), "BMDX-SEC-207")


@pytest.mark.requirement("BMDX-SEC-207:fd0e4b73a8d483f8")
def test_revoked_key(governance: NodeClient) -> None:
    """A node MUST answer with 401 a request whose keyid names no registered participant
    key or names a key that is revoked."""
    member, keys = register_participant(governance, ["hospital"], signing_keys=2)
    first = governance.as_participant(member)
    retired = first.with_key(keys[1])
    assert retired.get("/ledger/head").status_code == 200, "the second key was never valid"
    first.revoke_key(keys[1]["kid"])
    response = retired.get(f"/participants/{member.id}/sequence")
    assert response.status_code == 401
    problem = retired.json(response)
    assert problem.get("requirement") == "BMDX-SEC-207", problem
    assert problem.get("reason") == "revoked-key", problem
    assert first.get("/ledger/head").status_code == 200, "the remaining key stopped working"


@pytest.mark.requirement("BMDX-SEC-208:29e3bf1819178f80")
@pytest.mark.parametrize("case", ["hmac", "p256-under-ed25519-kid"])
def test_algorithm_bound_to_key(probe: Probe, case: str) -> None:
    """The alg parameter of a request signature MUST be ed25519 for an Ed25519 key or
    ecdsa-p256-sha256 for a P-256 key, and a node MUST answer with 401 a signature whose
    alg is another algorithm or does not match the type of the key named by keyid."""
    client = probe.client
    if case == "hmac":
        signing = Signing(alg="hmac-sha256")
    else:
        other = "P-256" if client.key.get("crv") == "Ed25519" else "Ed25519"
        key, _ = new_keys(signing_curve=other)
        alg = "ecdsa-p256-sha256" if other == "P-256" else "ed25519"
        signing = Signing(alg=alg, key=key)
    refused(probe, send(probe, signing), "BMDX-SEC-208")


@pytest.mark.requirement("BMDX-SEC-209:afa5a082c4551810")
@pytest.mark.parametrize("case", ["other-key", "method-changed", "target-changed"])
def test_signature_verifies(probe: Probe, case: str) -> None:
    """A node MUST answer with 401 a request whose signature does not verify over the RFC
    9421 signature base with the key named by keyid."""
    client = probe.client
    if case == "other-key":
        same_type = jwk.JWK.generate(kty=client.key["kty"], crv=client.key["crv"])
        signing = Signing(key=same_type.export_private(as_dict=True))
    elif case == "method-changed":
        signing = Signing(signed_method="PUT")
    else:
        signing = Signing(signed_url=client.url("/consents/elsewhere"))
    refused(probe, send(probe, signing), "BMDX-SEC-209")
