"""The guides' example files are real: valid against their schemas, accepted by the suite.

Each file under docs/examples/ is shown verbatim on the site (``<!-- bmdx:example -->``);
these tests keep it from drifting away from the formats and commands it illustrates.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
import referencing
import yaml
from bmdxdocs._conformance import EXAMPLES
from bmdxdocs._tools import MARKER, help_text
from jwcrypto import jwk

from bmdx.conformance._internal.claim import load_claim
from bmdx.conformance._internal.config import load_target_config
from bmdx.conformance._internal.errors import InputFileError
from bmdx.conformance._internal.expected import load_expected_failures
from bmdx.conformance._internal.requirements import catalogue
from bmdx.conformance.cli import cli as conformance_cli
from tests.docs.conftest import REPO_ROOT

SPEC = REPO_ROOT / "spec"
EXAMPLES_DIR = REPO_ROOT / "docs" / "examples"
ADAPTER_DIR = SPEC / "conformance" / "adapter"
SUITE = REPO_ROOT / "conformance" / "suite"
GUIDES = [REPO_ROOT / "docs" / p for p in ("vendor-guide.md", "committee-guide.md")]


def _load(path: Path) -> Any:
    raw = path.read_bytes()
    if path.suffix == ".toml":
        return tomllib.loads(raw.decode("utf-8"))
    if path.suffix in (".yaml", ".yml"):
        return yaml.safe_load(raw)
    return json.loads(raw)


def _registry() -> referencing.Registry[Any]:
    resources = []
    for path in sorted((SPEC / "conformance").rglob("*.schema.json")):
        schema = json.loads(path.read_bytes())
        resource = referencing.Resource.from_contents(
            schema, default_specification=referencing.jsonschema.DRAFT202012
        )
        resources.append((schema["$id"], resource))
    return referencing.Registry().with_resources(resources)


def _validator(schema_path: Path) -> jsonschema.Draft202012Validator:
    schema = json.loads(schema_path.read_bytes())
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def _errors(validator: jsonschema.Draft202012Validator, instance: Any) -> list[str]:
    return [
        f"/{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


@pytest.mark.parametrize(("stem", "name"), sorted(EXAMPLES.items()))
def test_example_is_valid_against_its_schema(stem: str, name: str) -> None:
    path = EXAMPLES_DIR / name
    validator = _validator(SPEC / "conformance" / f"{stem}.schema.json")
    assert _errors(validator, _load(path)) == []


def test_every_vendor_file_format_has_an_example() -> None:
    # The formats a vendor writes, per spec/conformance/README.md's table.
    assert set(EXAMPLES) == {"target-config", "claim", "expected-failures"}
    for stem in EXAMPLES:
        assert (SPEC / "conformance" / f"{stem}.schema.json").is_file()


def test_example_schemas_reject_a_broken_copy() -> None:
    """The validation above can fail: a claim without profiles is refused."""
    claim = _load(EXAMPLES_DIR / EXAMPLES["claim"])
    del claim["profiles"]
    errors = _errors(_validator(SPEC / "conformance" / "claim.schema.json"), claim)
    assert errors == ["/: 'profiles' is a required property"]


def test_claim_is_accepted_by_the_suite() -> None:
    reqs = catalogue(SPEC)
    claim = load_claim(EXAMPLES_DIR / EXAMPLES["claim"], reqs)
    data = _load(EXAMPLES_DIR / EXAMPLES["claim"])
    # include and exclude name optional requirements of the claimed profiles, as the
    # guide says they must.
    for rid in (*data.get("include", ()), *data.get("exclude", ())):
        assert not reqs[rid].mandatory, rid
        assert reqs[rid].profile in data["profiles"], rid
    assert claim.summary()["profiles"] == data["profiles"]


def test_expected_failures_name_real_requirements_and_tests() -> None:
    path = EXAMPLES_DIR / EXAMPLES["expected-failures"]
    entries = load_expected_failures(path)
    assert len(entries) == len(_load(path)["failures"])
    reqs = catalogue(SPEC)
    for item in _load(path)["failures"]:
        if "requirement" in item:
            assert item["requirement"] in reqs
        else:
            # core_format/test_x.py::test_name[param]: the file, function and param exist.
            m = re.fullmatch(r"([\w/]+\.py)::(\w+)(?:\[([^\]]+)\])?", item["test"])
            assert m, item["test"]
            source = (SUITE / m.group(1)).read_text(encoding="utf-8")
            assert re.search(rf"^def {m.group(2)}\(", source, re.M), item["test"]
            if m.group(3):
                assert f'id="{m.group(3)}"' in source, item["test"]


def test_target_config_is_accepted_by_the_suite(tmp_path: Path) -> None:
    config = tmp_path / "target.toml"
    config.write_bytes((EXAMPLES_DIR / EXAMPLES["target-config"]).read_bytes())
    data = _load(config)
    entries = [*data["participants"], data["governance"]]
    for entry in entries:
        key_path = tmp_path / entry["key_file"]
        key_path.parent.mkdir(parents=True, exist_ok=True)
        key_path.write_text(jwk.JWK.generate(kty="OKP", crv="Ed25519").export_private())
    loaded = load_target_config(config)
    assert [p.id for p in loaded.participants] == [p["id"] for p in data["participants"]]
    assert {p.role for p in loaded.participants} == {
        "hospital",
        "laboratory",
        "patient",
        "regulator",
    }
    assert loaded.governance is not None
    assert loaded.ca_file == tmp_path / "ca.pem"

    # The loader refuses what the guide says it refuses: a key file without a private part.
    public = json.loads(jwk.JWK.generate(kty="OKP", crv="Ed25519").export_public())
    (tmp_path / entries[0]["key_file"]).write_text(json.dumps(public))
    with pytest.raises(InputFileError) as caught:
        load_target_config(config)
    assert caught.value.reason == "key"


# --------------------------------------------------------------------------- adapter


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_adapter_transcript_follows_the_protocol_schemas() -> None:
    requests = _lines(EXAMPLES_DIR / "adapter" / "requests.jsonl")
    responses = _lines(EXAMPLES_DIR / "adapter" / "responses.jsonl")
    request_schema = _validator(ADAPTER_DIR / "request.schema.json")
    response_schema = _validator(ADAPTER_DIR / "response.schema.json")
    assert requests[0]["cmd"] == "start"
    assert requests[-1]["cmd"] == "stop"
    assert {r["cmd"] for r in requests} >= {"start", "canonicalize", "stop"}
    assert [r["id"] for r in requests] == [r["id"] for r in responses]
    registry = _registry()
    for request, response in zip(requests, responses, strict=True):
        assert _errors(request_schema, request) == []
        assert _errors(response_schema, response) == []
        command = json.loads(
            (ADAPTER_DIR / "commands" / f"{request['cmd']}.schema.json").read_bytes()
        )
        args = jsonschema.Draft202012Validator(
            {"$ref": f"{command['$id']}#/$defs/args"}, registry=registry
        )
        assert _errors(args, request["args"]) == [], request
        if response["ok"]:
            result = jsonschema.Draft202012Validator(
                {"$ref": f"{command['$id']}#/$defs/result"}, registry=registry
            )
            assert _errors(result, response["result"]) == [], response
    start = responses[0]["result"]
    assert {"start", "stop"} <= set(start["commands"])
    assert {r["cmd"] for r in requests} <= set(start["commands"])


def test_reference_adapter_answers_the_transcript() -> None:
    """After start, ``bmdx adapter`` answers exactly the lines the guide shows."""
    requests = (EXAMPLES_DIR / "adapter" / "requests.jsonl").read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "bmdx.reference", "adapter"],
        input=requests,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answered = [json.loads(line) for line in done.stdout.splitlines()]
    shown = _lines(EXAMPLES_DIR / "adapter" / "responses.jsonl")
    assert answered[0]["ok"] is True
    assert answered[1:] == shown[1:]


# --------------------------------------------------------------------------- commands


def _commands(text: str) -> list[list[str]]:
    """Every ``bmdx-conformance ...`` command line in code blocks (continuations joined)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    out: list[list[str]] = []
    for line in joined.splitlines():
        m = re.search(r"(?:^|\s)(bmdx-conformance\s.*)$", line)
        if m and not line.lstrip().startswith("#"):
            words = shlex.split(m.group(1).split(" || ")[0], comments=True)
            out.append(words)
    return out


def _guide_texts() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in GUIDES]
    texts.append((EXAMPLES_DIR / "ci-conformance.sh").read_text(encoding="utf-8"))
    return texts


def _parse(words: list[str], where: Path) -> click.Context:
    """Parse one command line as click would, with the files it names present."""
    for word in words[2:]:
        if not word.startswith(("-", "http", "$")) and re.search(
            r"\.(json|jws|toml|yaml|jwk)$", word
        ):
            (where / word).parent.mkdir(parents=True, exist_ok=True)
            (where / word).write_text("{}")
    sub = conformance_cli.get_command(click.Context(conformance_cli), words[1])
    assert sub is not None, words
    return sub.make_context(words[1], words[2:], parent=click.Context(conformance_cli))


def test_conformance_commands_in_the_guides_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ``bmdx-conformance`` command the guides show is accepted by its parser."""
    monkeypatch.chdir(tmp_path)
    commands = [c for text in _guide_texts() for c in _commands(text)]
    assert len(commands) >= 5
    used: set[str] = set()
    for words in commands:
        if words[1].startswith("-"):
            continue
        ctx = _parse(words, tmp_path)
        assert ctx.params is not None
        used |= {w.split("=")[0] for w in words if w.startswith("--")}
    assert {
        "--target",
        "--config",
        "--adapter",
        "--claim",
        "--expected-failures",
        "--report-dir",
        "--seed",
        "--report",
    } <= used


def test_a_wrong_option_would_be_caught(tmp_path: Path) -> None:
    with pytest.raises(click.NoSuchOption):
        _parse(["bmdx-conformance", "run", "--targett", "http://x"], tmp_path)
    with pytest.raises(click.BadParameter):
        _parse(["bmdx-conformance", "run", "--claim", "missing-claim.txt"], tmp_path)


def test_markers_of_the_hand_written_pages_are_known() -> None:
    for page in sorted((REPO_ROOT / "docs").glob("*.md")):
        for m in MARKER.finditer(page.read_text(encoding="utf-8")):
            name, args = m.group(1), m.group(2).split()
            if name == "example":
                assert (REPO_ROOT / args[0]).is_file(), (page.name, args)
            elif name == "help":
                assert help_text(args)
            else:
                assert name in {"run", "modules", "import-contracts", "upgrade-impact"}, m.group(0)
