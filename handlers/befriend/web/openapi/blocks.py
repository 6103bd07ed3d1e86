"""The small pieces the OpenAPI document is built from: common schemas, objects, references
and operations."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

STATES = ["granted", "withdrawn", "never"]
STAMP: Schema = {
    "type": "string",
    "format": "date-time",
    "examples": ["2026-11-23T12:00:00.000000Z"],
}
MAYBE_STAMP: Schema = {"type": ["string", "null"], "format": "date-time"}
HASH: Schema = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
CLOCK: Schema = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
TEXT: Schema = {"type": "string"}
FLAG: Schema = {"type": "boolean"}
COUNT: Schema = {"type": "integer", "minimum": 0}
HTML_PAGE: Schema = {"text/html": {"schema": {"type": "string"}}}


SCORE: Schema = {"type": "number", "minimum": 0}


def _obj(
    props: dict[str, Schema],
    required: list[str] | None = None,
    *,
    closed: bool = True,
    **extra: Any,
) -> Schema:
    """An object with `props`, all required unless `required` says otherwise."""
    schema: Schema = {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
    }
    if closed:
        schema["additionalProperties"] = False
    return {**schema, **extra}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _answer(name: str) -> Schema:
    return {"$ref": f"#/components/responses/{name}"}


def _json(schema: Schema, description: str, **extra: Any) -> Schema:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


def _header(name: str) -> Schema:
    return {"$ref": f"#/components/headers/{name}"}


def _op(
    operation_id: str,
    summary: str,
    responses: dict[str, Any],
    *,
    body: Schema | None = None,
    auth: bool = False,
    key: str | None = None,
    tag: str = "visitor",
    **extra: Any,
) -> Schema:
    op: Schema = {"operationId": operation_id, "summary": summary, "tags": [tag], **extra}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    answers = dict(responses)
    if auth:
        op["security"] = [{"manageToken": []}]
        answers |= {"401": _answer("Unauthorized"), "403": _answer("Problem")}
    if key is not None:  # an API key whose role allows `key`
        op["security"] = [{"marketerKey": []}]
        answers |= {"401": _answer("KeyUnauthorized"), "403": _answer("Problem")}
    answers["500"] = _answer("Problem")
    if tag != "public":  # every other operation reads or writes the table
        answers.setdefault("503", _answer("Busy"))
    op["responses"] = dict(sorted(answers.items()))
    return op


def _each(keys: list[str], schema: Schema) -> Schema:
    """An object with exactly `keys`, each holding `schema`."""
    return _obj(dict.fromkeys(keys, schema))


def _some(keys: list[str], schema: Schema) -> Schema:
    """An object with any of `keys`, each holding `schema`."""
    return _obj(dict.fromkeys(keys, schema), [])
