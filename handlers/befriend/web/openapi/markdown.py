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
    return "\n".join(out).rstrip() + "\n"


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
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
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
