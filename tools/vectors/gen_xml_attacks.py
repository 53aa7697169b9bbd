"""Generate spec/vectors/xml-attacks: hostile XML documents every BMDX receiver refuses.

The documents are written here, from the attack descriptions (billion laughs, quadratic
blow-up, external entities and DTDs, XInclude, schema locations), around a valid BMDX
root element so that only the attack can be the reason for refusal.  Deterministic:
running it twice gives the same bytes.  Usage: ``python tools/vectors/gen_xml_attacks.py``
(``--check`` compares instead of writing).

``LISTENER`` in a document stands for the URL of a local listener that the conformance
test starts and substitutes, so the test can observe that the receiver never connects
(BMDX-FMT-012).  ``LOCAL-FILE`` stands for the path of a file the test writes, holding a
marker that must never appear in any answer.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "xml-attacks"
NS = "urn:bmdx:1"
DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

# The smallest valid BMDX document: a PublicKey (RFC 8032 TEST 1 Ed25519 key).
KEY_BODY = (
    "<kty>OKP</kty><crv>Ed25519</crv>"
    "<x>11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo</x>"
    "<kid>kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k</kid>"
    "<use>sig</use><alg>Ed25519</alg>"
)


def _doc(doctype: str, body: str, *, root_attrs: str = "") -> str:
    return f'{DECL}{doctype}<PublicKey xmlns="{NS}"{root_attrs}>{body}</PublicKey>\n'


def _billion_laughs() -> str:
    lines = ['<!ENTITY lol "lol">']
    for i in range(1, 10):
        prev = "lol" if i == 1 else f"lol{i - 1}"
        lines.append(f'<!ENTITY lol{i} "{("&" + prev + ";") * 10}">')
    doctype = "<!DOCTYPE PublicKey [\n  " + "\n  ".join(lines) + "\n]>\n"
    return _doc(doctype, KEY_BODY.replace("<use>sig</use>", "<use>&lol9;</use>"))


def _quadratic() -> str:
    doctype = f'<!DOCTYPE PublicKey [\n  <!ENTITY a "{"x" * 40000}">\n]>\n'
    return _doc(doctype, KEY_BODY.replace("<use>sig</use>", f"<use>{'&a;' * 40000}</use>"))


CASES: list[dict[str, str]] = [
    {
        "name": "billion-laughs_fail",
        "description": "Nested internal entities expanding to 10^9 'lol's (exponential blow-up).",
        "requirement": "BMDX-FMT-010",
        "xml": _billion_laughs(),
    },
    {
        "name": "quadratic-blowup_fail",
        "description": "One 40 kB internal entity referenced 40,000 times (quadratic blow-up, no nesting).",
        "requirement": "BMDX-FMT-010",
        "xml": _quadratic(),
    },
    {
        "name": "external-entity-file_fail",
        "description": "An external general entity naming a local file (XXE file disclosure).",
        "requirement": "BMDX-FMT-010",
        "xml": _doc(
            '<!DOCTYPE PublicKey [\n  <!ENTITY xxe SYSTEM "file://LOCAL-FILE">\n]>\n',
            KEY_BODY.replace("<use>sig</use>", "<use>&xxe;</use>"),
        ),
    },
    {
        "name": "external-entity-http_fail",
        "description": "An external general entity naming an HTTP URL (XXE server-side request forgery).",
        "requirement": "BMDX-FMT-010",
        "xml": _doc(
            '<!DOCTYPE PublicKey [\n  <!ENTITY xxe SYSTEM "LISTENER/entity">\n]>\n',
            KEY_BODY.replace("<use>sig</use>", "<use>&xxe;</use>"),
        ),
    },
    {
        "name": "external-dtd_fail",
        "description": "A document type declaration whose external subset is an HTTP URL.",
        "requirement": "BMDX-FMT-010",
        "xml": _doc('<!DOCTYPE PublicKey SYSTEM "LISTENER/bmdx.dtd">\n', KEY_BODY),
    },
    {
        "name": "parameter-entity_fail",
        "description": "An external parameter entity fetched while the DTD is read (out-of-band XXE).",
        "requirement": "BMDX-FMT-010",
        "xml": _doc(
            '<!DOCTYPE PublicKey [\n  <!ENTITY % remote SYSTEM "LISTENER/param.dtd">\n  %remote;\n]>\n',
            KEY_BODY,
        ),
    },
    {
        "name": "internal-dtd_fail",
        "description": "A harmless-looking internal DTD subset: any document type declaration is refused.",
        "requirement": "BMDX-FMT-010",
        "xml": _doc("<!DOCTYPE PublicKey [\n  <!ELEMENT PublicKey ANY>\n]>\n", KEY_BODY),
    },
    {
        "name": "undeclared-entity_fail",
        "description": "A reference to an entity that is not one of the five predefined ones.",
        "requirement": "BMDX-FMT-010",
        "xml": _doc("", KEY_BODY.replace("<use>sig</use>", "<use>&nbsp;</use>")),
    },
    {
        "name": "xinclude_fail",
        "description": "An XInclude element pulling in a local file; a foreign element in a BMDX document.",
        "requirement": "BMDX-FMT-011",
        "xml": _doc(
            "",
            KEY_BODY
            + '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://LOCAL-FILE" parse="text"/>',
        ),
    },
    {
        "name": "schema-location_fail",
        "description": "An xsi:schemaLocation pointing at a remote XSD; BMDX elements carry no attributes.",
        "requirement": "BMDX-FMT-011",
        "xml": _doc(
            "",
            KEY_BODY,
            root_attrs=' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
            ' xsi:schemaLocation="urn:bmdx:1 LISTENER/public-key.xsd"',
        ),
    },
    {
        "name": "not-well-formed_fail",
        "description": "An element that is never closed.",
        "requirement": "BMDX-FMT-011",
        "xml": f'{DECL}<PublicKey xmlns="{NS}">{KEY_BODY}\n',
    },
    {
        "name": "foreign-namespace_fail",
        "description": "A well-formed document outside the BMDX namespace.",
        "requirement": "BMDX-FMT-011",
        "xml": f'{DECL}<PublicKey xmlns="urn:example:other">{KEY_BODY}</PublicKey>\n',
    },
    {
        "name": "deep-nesting_fail",
        "description": "Elements nested 1,000 deep, far beyond max_nesting_depth (64).",
        "requirement": "BMDX-FMT-006",
        "xml": _doc(
            "",
            KEY_BODY.replace("<use>sig</use>", "<use>" + "<a>" * 1000 + "</a>" * 1000 + "</use>"),
        ),
    },
]

README = """# XML attack vectors

Hostile XML documents that every BMDX receiver refuses (BMDX-FMT-006, BMDX-FMT-010,
BMDX-FMT-011) without opening a network connection or reading a local file
(BMDX-FMT-012).  Each wraps the smallest valid BMDX document (a `PublicKey`) so that only
the attack can be the reason for refusal.

| file | content |
|---|---|
| `cases.json` | one entry per case: `name` (ending `_fail`), `description`, `file`, and the `requirement` the document breaks |
| `NAME.xml` | the document |

Placeholders: `LISTENER` stands for the base URL of a local HTTP listener that the test
starts and substitutes (the test then checks that nothing connected to it);
`LOCAL-FILE` stands for the absolute path of a file the test writes, holding a marker
that must appear in no answer.  Documents without placeholders are sent as they are.

An implementation conforms when it refuses every case with the case's requirement
(the BMDX-FMT-010 cases may also be refused as not well-formed, BMDX-FMT-011, only
where the parser cannot tell them apart: the tests accept exactly the listed id).

The defusedxml project's attack files (see `../shared/data/SOURCES.md`) are run by the
project's own tests but not shipped with the suite.

Provenance: written by `python tools/vectors/gen_xml_attacks.py` from the attack
descriptions (billion laughs, quadratic blow-up, XXE with `file://` and `http://`, an
external DTD, a parameter entity, XInclude, `xsi:schemaLocation`); the project's tests
check the committed files byte for byte against a fresh generation.
"""


def render() -> dict[str, bytes]:
    files: dict[str, bytes] = {"README.md": README.encode()}
    index = []
    for case in CASES:
        file = case["name"].removesuffix("_fail") + ".xml"
        files[file] = case["xml"].encode("utf-8")
        index.append(
            {
                "name": case["name"],
                "description": case["description"],
                "file": file,
                "requirement": case["requirement"],
            }
        )
    files["cases.json"] = (json.dumps(index, indent=2) + "\n").encode()
    return files


def main(argv: list[str]) -> int:
    files = render()
    if "--check" in argv:
        stale = [
            n
            for n, data in files.items()
            if not (OUT / n).is_file() or (OUT / n).read_bytes() != data
        ]
        for name in stale:
            print(f"stale: spec/vectors/xml-attacks/{name}", file=sys.stderr)
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (OUT / name).write_bytes(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
