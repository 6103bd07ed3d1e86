"""Check real HTTP answers (and the bodies we send) against the OpenAPI 3.1 document.

`check_response` finds the operation, picks the documented response for the status code
(exact code, then `4XX`-style range, then `default`), follows `$ref`s, and validates:

* the media type is one the response documents (a bodiless response must have no body);
* a JSON body (`application/json`, `application/problem+json`, any `+json`) against its
  schema with a Draft 2020-12 validator, formats checked, `$ref`s resolved inside the
  document through a `referencing` registry;
* a problem document's `status` equals the HTTP status (RFC 9457 section 3.1.4);
* every header the response marks `required` is present and matches its schema.

Any mismatch raises `ContractError`, an AssertionError, so pytest shows it as a failure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from werkzeug.wrappers import Response

BASE = "https://befriend.invalid/openapi.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
FORMATS = Draft202012Validator.FORMAT_CHECKER

Document = Mapping[str, Any]


class ContractError(AssertionError):
    """An answer or a request body does not match the OpenAPI document."""


def is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def operations(document: Document) -> set[tuple[str, str]]:
    """Every documented (method, path template), methods upper-case."""
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def check_response(document: Document, method: str, path_template: str, response: Response) -> None:
    """Raise ContractError unless `response` is what the document promises for the call."""
    where = f"{method.upper()} {path_template} -> {response.status_code}"
    op_pointer = _operation(document, method, path_template)
    responses = _resolve(document, f"{op_pointer}/responses")[1]
    status = str(response.status_code)
    key = next(
        (k for k in (status, f"{status[0]}XX", "default") if k in responses),
        None,
    )
    if key is None:
        raise ContractError(
            f"{where}: status {status} is not documented; documented: {sorted(responses)}"
        )
    pointer, documented = _resolve(document, f"{op_pointer}/responses/{_escape(key)}")
    _check_headers(document, where, pointer, documented, response)

    content: Mapping[str, Any] = documented.get("content") or {}
    body = response.get_data()
    mimetype = response.mimetype or ""
    if not content:
        if body:
            raise ContractError(f"{where}: documented without a body, got {len(body)} bytes")
        return
    media = _media(content, mimetype)
    if media is None:
        raise ContractError(
            f"{where}: content type {mimetype!r} is not documented; documented: {sorted(content)}"
        )
    schema_pointer = f"{pointer}/content/{_escape(media)}/schema"
    if "schema" not in content[media]:
        return
    if is_json(mimetype):
        try:
            value = json.loads(body)
        except ValueError as exc:
            raise ContractError(f"{where}: the body is not JSON: {exc}") from exc
    else:
        value = response.get_data(as_text=True)
    _validate(document, schema_pointer, value, where)
    problem = mimetype == "application/problem+json" and isinstance(value, dict)
    if problem and value.get("status") != response.status_code:
        raise ContractError(
            f"{where}: the problem says status {value.get('status')!r}, "
            f"the answer is {response.status_code}"
        )


def request_errors(
    document: Document,
    method: str,
    path_template: str,
    body: Any,
    media_type: str = "application/json",
) -> list[str]:
    """What the documented request body schema finds wrong with `body` (empty: it fits)."""
    where = f"{method.upper()} {path_template} request"
    op_pointer = _operation(document, method, path_template)
    op = _resolve(document, op_pointer)[1]
    if "requestBody" not in op:
        raise ContractError(f"{where}: no request body is documented")
    pointer, request_body = _resolve(document, f"{op_pointer}/requestBody")
    if media_type not in request_body.get("content", {}):
        raise ContractError(f"{where}: {media_type!r} is not documented")
    schema_pointer = f"{pointer}/content/{_escape(media_type)}/schema"
    return _errors(document, schema_pointer, body)


def check_request(
    document: Document,
    method: str,
    path_template: str,
    body: Any,
    media_type: str = "application/json",
) -> None:
    """Raise ContractError unless `body` fits the documented request body."""
    errors = request_errors(document, method, path_template, body, media_type)
    if errors:
        raise ContractError(f"{method.upper()} {path_template} request: " + "; ".join(errors))


# --- internals ---


def _operation(document: Document, method: str, path_template: str) -> str:
    item = document["paths"].get(path_template)
    if item is None or method.lower() not in item:
        raise ContractError(f"{method.upper()} {path_template} is not documented")
    return f"/paths/{_escape(path_template)}/{method.lower()}"


def _escape(token: str) -> str:
    """One JSON Pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def _at(document: Document, pointer: str) -> Any:
    node: Any = document
    for token in pointer.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _resolve(document: Document, pointer: str) -> tuple[str, Any]:
    """The node at `pointer`, following local `$ref`s; returns its final pointer too."""
    seen = set()
    node = _at(document, pointer)
    while isinstance(node, Mapping) and "$ref" in node:
        ref = str(node["$ref"])
        if not ref.startswith("#/") or ref in seen:
            raise ContractError(f"cannot follow $ref {ref!r} at {pointer}")
        seen.add(ref)
        pointer = ref[1:]
        node = _at(document, pointer)
    return pointer, node


def _media(content: Mapping[str, Any], mimetype: str) -> str | None:
    """The documented media type range that covers `mimetype`, most specific first."""
    for candidate in (mimetype, f"{mimetype.partition('/')[0]}/*", "*/*"):
        if candidate in content:
            return candidate
    return None


def _check_headers(
    document: Document, where: str, pointer: str, documented: Mapping[str, Any], response: Response
) -> None:
    for name in documented.get("headers") or {}:
        header_pointer, header = _resolve(document, f"{pointer}/headers/{_escape(name)}")
        value = response.headers.get(name)
        if value is None:
            if header.get("required"):
                raise ContractError(f"{where}: the required header {name} is missing")
            continue
        if "schema" in header:
            _validate(document, f"{header_pointer}/schema", value, f"{where}: header {name}")


def _validator(document: Document, schema_pointer: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(
        BASE, DRAFT202012.create_resource(dict(document))
    )
    return Draft202012Validator(
        {"$ref": f"{BASE}#{quote(schema_pointer, safe='/~')}"},
        registry=registry,
        format_checker=FORMATS,
    )


def _errors(document: Document, schema_pointer: str, value: Any) -> list[str]:
    found = _validator(document, schema_pointer).iter_errors(value)
    return [
        f"at {error.json_path}: {error.message}"
        for error in sorted(found, key=lambda e: [str(p) for p in e.absolute_path])
    ]


def _validate(document: Document, schema_pointer: str, value: Any, where: str) -> None:
    errors = _errors(document, schema_pointer, value)
    if errors:
        shown = "\n  ".join(errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise ContractError(f"{where}: does not match {schema_pointer}:\n  {shown}{more}")
