"""Field tables for the JSON Schemas that are not BMDX object types.

The conformance suite's own files (target configuration, claim, expected failures,
report, certificate), the adapter protocol's commands and the anomaly rules are
specified by JSON Schemas in ``spec/``; their pages show every member of every object,
nested objects and ``$defs`` included, so that no page restates a schema by hand.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Container
from typing import Any

from bmdxdocs._md import cell, code, link_ids
from bmdxdocs._objects import constraints

# Maps a schema reference (the target file's path inside spec/, resolved against the
# referring schema) to a site link, or None when it is not published.
Linker = Callable[[str, str], str | None]


class SchemaTables:
    """Renders one schema's members as Markdown tables, one per object it defines."""

    def __init__(
        self,
        schema: dict[str, Any],
        source: str,
        page: str,
        known: Container[str],
        *,
        linker: Linker | None = None,
        anchor_prefix: str = "def-",
    ) -> None:
        self.schema = schema
        self.source = source  # the schema's path inside spec/
        self.page = page
        self.known = known
        self.linker = linker
        self.prefix = anchor_prefix

    def ref(self, ref: str) -> str:
        file, _, fragment = ref.partition("#")
        name = fragment.rsplit("/", 1)[-1] if fragment.startswith("/$defs/") else ""
        if not file:
            return f"[{name}](#{self.prefix}{name})" if name else code(ref)
        target = posixpath.normpath(posixpath.join(posixpath.dirname(self.source), file))
        link = self.linker(target, name) if self.linker else None
        label = name or posixpath.basename(file).removesuffix(".json").removesuffix(".schema")
        return f"[{label}]({link})" if link else code(ref)

    def type_of(self, schema: Any) -> str:  # noqa: PLR0911 - one answer per schema form
        if not isinstance(schema, dict):
            return code(json.dumps(schema))
        if "$ref" in schema:
            return self.ref(str(schema["$ref"]))
        for key in ("oneOf", "anyOf"):
            if key in schema and "type" not in schema:
                branches = [b for b in schema[key] if isinstance(b, dict)]
                if branches and all("required" in b and len(b) == 1 for b in branches):
                    break  # alternatives of required members, not of types
                return "one of " + ", ".join(self.type_of(b) for b in branches)
        if "const" in schema:
            return code(json.dumps(schema["const"]))
        if "enum" in schema and "type" not in schema:
            return "enum"
        kind = schema.get("type")
        if kind == "array":
            return f"array of {self.type_of(schema.get('items', {}))}"
        if isinstance(kind, list):
            return " or ".join(code(k) for k in kind)
        return code(kind) if kind else "any"

    @staticmethod
    def alternatives(schema: dict[str, Any]) -> list[str]:
        """``oneOf``/``anyOf`` branches that only require members, said in words."""
        out: list[str] = []
        for key, words in (("oneOf", "exactly one of"), ("anyOf", "at least one of")):
            branches = schema.get(key)
            if not isinstance(branches, list):
                continue
            names = [
                ", ".join(code(n) for n in b["required"])
                for b in branches
                if isinstance(b, dict) and set(b) == {"required"}
            ]
            if names and len(names) == len(branches):
                out.append(f"Requires {words}: {' or '.join(names)}.")
        return out

    def _nested(self, sub: dict[str, Any]) -> dict[str, Any] | None:
        if isinstance(sub.get("properties"), dict) and "$ref" not in sub:
            return sub
        items = sub.get("items")
        if isinstance(items, dict) and isinstance(items.get("properties"), dict):
            return items
        return None

    def table(self, schema: dict[str, Any], title: str, level: int) -> list[str]:
        """The table of ``schema``'s members, then one section per inline nested object."""
        props: dict[str, Any] = schema.get("properties") or {}
        out: list[str] = []
        later: list[str] = []
        if schema.get("description") and level > 2:
            out += [link_ids(cell(schema["description"]), self.page, self.known), ""]
        out += self.alternatives(schema) and [*self.alternatives(schema), ""]
        if not props:
            return out
        required = set(schema.get("required") or ())
        closed = schema.get("additionalProperties") is False
        out += [
            "| member | type | required | description | constraints |",
            "|---|---|---|---|---|",
        ]
        for name, raw in props.items():
            sub = raw if isinstance(raw, dict) else {}
            extra = constraints(sub)
            if isinstance(sub.get("items"), dict) and "$ref" not in sub["items"]:
                inner = constraints(sub["items"])
                extra = "; ".join(x for x in (extra, f"items: {inner}" if inner else "") if x)
            if "default" in sub:
                extra = "; ".join(
                    x for x in (extra, f"default {code(json.dumps(sub['default']))}") if x
                )
            nested = self._nested(sub)
            kind = self.type_of(sub)
            if nested is not None:
                path = f"{title}.{name}" if title else name
                if nested is not sub:
                    path += "[]"
                slug = _slug(self.prefix + path)
                kind = f"[object](#{slug})" if nested is sub else f"array of [object](#{slug})"
                later += [f"{'#' * min(level + 1, 6)} `{path}` {{ #{slug} }}", ""]
                later += self.table(nested, path, level + 1)
            out.append(
                f"| {code(name)} | {kind} | {'yes' if name in required else 'no'} "
                f"| {link_ids(cell(sub.get('description', '')), self.page, self.known)} "
                f"| {cell(extra)} |"
            )
        out.append("")
        if closed:
            out += ["No other member is allowed.", ""]
        return out + later

    def render(self, level: int = 2) -> list[str]:
        """Top-level members, then every ``$defs`` entry under its own anchor."""
        out: list[str] = []
        if isinstance(self.schema.get("properties"), dict) or self.alternatives(self.schema):
            out += [f"{'#' * level} Members", ""]
            out += self.table(self.schema, "", level)
        for name, raw in (self.schema.get("$defs") or {}).items():
            sub = raw if isinstance(raw, dict) else {}
            out += [f"{'#' * level} {name} {{ #{self.prefix}{name} }}", ""]
            if sub.get("description"):
                out += [link_ids(cell(sub["description"]), self.page, self.known), ""]
            if not isinstance(sub.get("properties"), dict):
                line = f"Type: {self.type_of(sub)}"
                if constraints(sub):
                    line += f"; {constraints(sub)}"
                out += [line + ".", ""]
            out += self.table(sub, name, level)
        return out


def _slug(path: str) -> str:
    return "m-" + "".join(c if c.isalnum() else "-" for c in path).strip("-").lower()
