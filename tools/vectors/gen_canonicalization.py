"""Generate spec/vectors/canonicalization/: RFC 8785 canonical forms of BMDX-shaped JSON.

Each case is JSON text (``input/NAME.json``) and the exact canonical bytes expected
(``output/NAME.json``), listed in ``cases.json``.  Cases ending in ``_fail`` are inputs a
receiver must reject before canonicalising (not I-JSON), with the requirement and
reason.  The expected bytes come from the ``rfc8785`` package; the number cases are
checked below against the values printed in RFC 8785 appendix B and section 3.2.2.3.

Run ``python tools/vectors/gen_canonicalization.py [OUTDIR]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bmdx.reference._internal import ijson
from bmdx.reference._internal.canonical import canonical_bytes, signing_payload
from bmdx.reference._internal.errors import IJsonError

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "canonicalization"

# name -> (description, JSON input text)
CASES: dict[str, tuple[str, str]] = {
    "member-order": (
        "Members sorted by UTF-16 code units, recursively; whitespace removed.",
        '{\n  "zeta": 1,\n  "alpha": {"b": 2, "a": 1},\n  "Beta": [3, 2, 1]\n}\n',
    ),
    "utf16-order": (
        "Sorting compares UTF-16 code units: U+1F600 (surrogates D83D DE00) sorts before U+FB33.",
        '{"\\ud83d\\ude00": "smiley", "\\ufb33": "dalet", "\\u00e9": "e-acute", "z": "z"}',
    ),
    "string-escapes": (
        "Only \\\", \\\\ and control characters are escaped; '/' and non-ASCII stay literal.",
        '{"s": "\\u0000\\u001f\\b\\f\\n\\r\\t\\"\\\\\\/\\u20ac\\u00e9<>&"}',
    ),
    "integers": (
        "Integers in minimal form, including the I-JSON limits +/-(2^53-1) and -0.",
        '{"a": 0, "b": -0, "c": 9007199254740991, "d": -9007199254740991, "e": 100}',
    ),
    "numbers-es6": (
        "Non-integer numbers use ECMAScript Number serialisation (RFC 8785 section 3.2.2.3).",
        '{"n": [1.0, 4.50, 2e-3, 1E30, 0.000001, 1e-7, 333333333.33333329, '
        "1e21, 1e20, -1.5e-10, 5e-324]}",
    ),
    "literals": (
        "true, false and null are written as-is; empty containers stay empty.",
        '{"t": true, "f": false, "n": null, "o": {}, "a": []}',
    ),
    "nested": (
        "Deep nesting: arrays keep their order, objects are sorted at every level.",
        '{"b": [{"y": 1, "x": [{"d": 4, "c": 3}]}, []], "a": {"c": {"b": {"a": {}}}}}',
    ),
    "participant": (
        "A BMDX Participant: the canonical bytes its signatures cover (no signatures member).",
        json.dumps(
            {
                "registered": 0,
                "roles": ["hospital", "laboratory"],
                "name": "Hôpital Saint-Éloi",
                "objectType": "Participant",
                "id": "urn:bmdx:participant:hopital-saint-eloi",
                "jurisdiction": "FR",
            },
            ensure_ascii=False,
            indent=2,
        ),
    ),
    "duplicate-key_fail": (
        "A member name twice: not I-JSON, rejected before canonicalisation.",
        '{"a": 1, "a": 2}',
    ),
    "lone-surrogate_fail": (
        "An escaped lone surrogate: not a Unicode scalar value.",
        '{"a": "\\ud800"}',
    ),
    "integer-range_fail": (
        "An integer beyond 2^53-1 cannot be represented exactly.",
        '{"a": 9007199254740992}',
    ),
}

# Signed BMDX objects hold integers only (BMDX-FMT-005): the signing payload refuses
# this one even though it has a canonical form.
SIGNED_FAIL = {
    "signed-decimal_fail": (
        "A non-integer number in an object being signed; decimals travel as strings.",
        '{"objectType": "Observation", "value": 98.6}',
    ),
}

# RFC 8785 appendix B / section 3.2.2.3: (input literal, canonical output).
RFC8785_NUMBERS = [
    ("333333333.33333329", b"333333333.3333333"),
    ("1E30", b"1e+30"),
    ("4.50", b"4.5"),
    ("2e-3", b"0.002"),
    ("0.000001", b"0.000001"),
    ("1e-7", b"1e-7"),
    ("1e21", b"1e+21"),
    ("1e20", b"100000000000000000000"),
    ("5e-324", b"5e-324"),
]


def _check_rfc_numbers() -> None:
    for literal, expected in RFC8785_NUMBERS:
        got = canonical_bytes(ijson.loads(literal))
        if got != expected:
            raise SystemExit(f"rfc8785 disagrees with RFC 8785 for {literal}: {got!r}")


def build() -> dict[str, bytes]:
    _check_rfc_numbers()
    files: dict[str, bytes] = {}
    manifest: list[dict[str, str]] = []
    for name, (description, text) in {**CASES, **SIGNED_FAIL}.items():
        files[f"input/{name}.json"] = text.encode("utf-8")
        entry = {"name": name, "description": description, "input": f"input/{name}.json"}
        try:
            value = ijson.loads(text)
            if name in SIGNED_FAIL:
                signing_payload(value)
            output = canonical_bytes(value)
        except IJsonError as e:
            if not name.endswith("_fail"):
                raise
            entry.update({"requirement": e.requirement, "reason": e.reason})
        else:
            if name.endswith("_fail"):
                raise SystemExit(f"case {name} was expected to fail")
            files[f"output/{name}.json"] = output
            entry["output"] = f"output/{name}.json"
            entry["output_hex"] = output.hex()
        entry["use"] = "signing-payload" if name in SIGNED_FAIL else "canonical"
        manifest.append(entry)
    files["cases.json"] = ijson.dumps(manifest)
    return files


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    for rel, data in build().items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


if __name__ == "__main__":
    main(sys.argv)
