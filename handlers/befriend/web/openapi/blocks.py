"""The small pieces the operations are built from: answers, headers and operations (the
schemas themselves come from the contract's types, in `components`)."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

HTML_PAGE: Schema = {"text/html": {"schema": {"type": "string"}}}


def answer(name: str) -> Schema:
    return {"$ref": f"#/components/responses/{name}"}


def json_body(schema: Schema, description: str, **extra: Any) -> Schema:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


def header(name: str) -> Schema:
    return {"$ref": f"#/components/headers/{name}"}


def operation(
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
        answers |= {"401": answer("Unauthorized"), "403": answer("Problem")}
    if key is not None:  # an API key whose role allows `key`
        op["security"] = [{"marketerKey": []}]
        answers |= {"401": answer("KeyUnauthorized"), "403": answer("Problem")}
    answers["500"] = answer("Problem")
    if tag != "public":  # every other operation reads or writes the table
        answers.setdefault("503", answer("Busy"))
    op["responses"] = dict(sorted(answers.items()))
    return op


# The answers said in a language: asked for by `?lang=` (a language the playbook lists),
# else the page the request came from (`Referer`), else `Accept-Language`, else the default.
LANG: Schema = {
    "name": "lang",
    "in": "query",
    "required": False,
    "description": "The language to answer in, one the playbook lists (otherwise the "
    "language of the site's page the request came from, then `Accept-Language`, then the "
    "playbook's default)",
    "schema": {"type": "string", "maxLength": 20, "examples": ["de"]},
}
CONTENT_LANGUAGE: Schema = {
    "description": "The language the answer's words are in",
    "schema": {"type": "string", "examples": ["de"]},
}
