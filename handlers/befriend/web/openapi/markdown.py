"""The OpenAPI document as a Markdown page (docs/api.md), so the reference a reader finds
in the repository is the document the API serves, never a second copy kept by hand.

    python -m befriend.web.openapi.markdown > docs/api.md     (or `make docs`)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from befriend.core.playbook import load_playbook
from befriend.web.openapi import document

METHODS = ("get", "post", "put", "patch", "delete")


def markdown(doc: dict[str, Any]) -> str:
    info = doc["info"]
    out = [
        "# befriend API",
        "",
        "<!-- Generated from the OpenAPI document by `make docs`; do not edit by hand. -->",
        "",
        info["description"],
        "",
        "The machine-readable document is served at `/api/openapi.json` (OpenAPI "
        f"{doc['openapi']}). Every error is an RFC 9457 problem (`application/problem+json`) "
        "with a `type`, `title`, `status` and `detail`, and invalid fields listed in `errors`.",
        "",
        "## Authentication",
        "",
    ]
    for name, scheme in doc["components"]["securitySchemes"].items():
        out.append(f"- **{name}**: `Authorization: Bearer …`. {scheme['description']}")
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                by_tag.setdefault(op["tags"][0], []).append((method, path, op))
    for tag in doc["tags"]:
        ops = by_tag.get(tag["name"], [])
        if not ops:
            continue
        out += ["", f"## {tag['name'].capitalize()}", "", tag["description"] + "."]
        for method, path, op in ops:
            out += _operation(method, path, op)
    out += _types(doc["components"]["schemas"])
    return "\n".join(out).rstrip() + "\n"


def _types(schemas: dict[str, Any]) -> list[str]:
    """Each request body and answer, field by field (from the contract's types)."""
    out = ["", "## Types", "", "The request bodies and answers the operations above refer to."]
    for name, schema in schemas.items():
        out += ["", f"### `{name}`"]
        if schema.get("description"):
            out += ["", _cell(schema["description"])]
        props = schema.get("properties")
        if not props:
            out += ["", f"One of: {_schema(schema)}."]
            continue
        required = set(schema.get("required", []))
        out += ["", "| field | schema | required | meaning |", "| --- | --- | --- | --- |"]
        for field, sub in props.items():
            out.append(
                f"| `{field}` | {_schema(sub)} | {'yes' if field in required else 'no'} | "
                f"{_cell(sub.get('description', ''))} |"
            )
    return out


def _operation(method: str, path: str, op: dict[str, Any]) -> list[str]:
    out = ["", f"### `{method.upper()} {path}`", "", f"{op['summary']}."]
    if op.get("description"):
        out += ["", op["description"]]
    security = [name for entry in op.get("security", []) for name in entry]
    out += ["", f"Authentication: {', '.join(security) if security else 'none'}."]
    params = op.get("parameters", [])
    if params:
        out += [
            "",
            "| parameter | in | required | schema | meaning |",
            "| --- | --- | --- | --- | --- |",
        ]
        for p in params:
            if "$ref" in p:
                continue
            out.append(
                f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} | "
                f"{_schema(p.get('schema', {}))} | {_cell(p.get('description', ''))} |"
            )
    body = op.get("requestBody")
    if body:
        kinds = ", ".join(f"`{k}`" for k in body.get("content", {}))
        schemas = ", ".join(_schema(c.get("schema", {})) for c in body.get("content", {}).values())
        out += ["", f"Body ({kinds}): {schemas}."]
    out += ["", "| status | meaning |", "| --- | --- |"]
    for status, answer in op["responses"].items():
        text = answer.get("description") or answer.get("$ref", "").rsplit("/", 1)[-1]
        out.append(f"| {status} | {_cell(text)} |")
    return out


def _schema(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[-1]}`"
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in schema["enum"]) or "none"
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    for key in ("anyOf", "oneOf"):
        if key in schema and "type" not in schema:
            return " or ".join(_schema(s) for s in schema[key])
    if schema.get("type") == "array" and "items" in schema:
        return f"list of {_schema(schema['items'])}"
    kind = schema.get("type", "any")
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def main() -> None:
    pb_path = Path(__file__).resolve().parents[2] / "playbook.toml"
    doc = document(load_playbook(pb_path.read_text(encoding="utf-8")))
    # Round-trip through JSON: the page shows exactly what /api/openapi.json serves.
    sys.stdout.write(markdown(json.loads(json.dumps(doc))))


if __name__ == "__main__":
    main()
