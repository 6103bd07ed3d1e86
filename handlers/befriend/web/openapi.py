"""The OpenAPI 3.1 document of the API, built from the playbook so enums stay true.

Tests check that every route Flask serves is described here and that real answers match
the schemas, so the document cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from befriend.core.playbook import Playbook

Schema = dict[str, Any]
PROBLEM = {"$ref": "#/components/responses/Problem"}
STAMP: Schema = {"type": ["string", "null"], "format": "date-time"}


def _obj(props: dict[str, Schema], required: list[str] | None = None, **extra: Any) -> Schema:
    return {"type": "object", "properties": props,
            "required": list(props) if required is None else required, **extra}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _op(summary: str, responses: dict[str, Any], *, body: Schema | None = None,
        auth: bool = False, tag: str = "visitor", **extra: Any) -> Schema:
    op: Schema = {"summary": summary, "tags": [tag], "responses": responses, **extra}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if auth:
        op["security"] = [{"manageToken": []}]
        op["responses"] = {**responses, "401": PROBLEM, "403": PROBLEM}
    return op


def _schemas(pb: Playbook) -> dict[str, Schema]:
    channels = list(pb.channels)
    purposes = list(pb.purposes)
    topics = list(pb.topics)
    by_channel = lambda s: _obj(dict.fromkeys(channels, s), [])  # noqa: E731
    quiet = _obj({"from": {"type": "string"}, "until": {"type": "string"}})
    return {
        "Problem": _obj({
            "type": {"type": "string", "format": "uri"}, "title": {"type": "string"},
            "status": {"type": "integer"}, "detail": {"type": "string"},
            "errors": {"type": "array", "items": _obj({"field": {"type": "string"},
                                                       "message": {"type": "string"}})},
        }, ["type", "title", "status"]),
        "Pair": _obj({"channel": {"enum": channels}, "purpose": {"enum": purposes}},
                     additionalProperties=False),
        "Person": _obj({
            "id": {"type": "string"}, "email": {"type": "string", "format": "email"},
            "name": {"type": "string"}, "status": {"enum": ["active"]},
            "created_at": STAMP, "confirmed_at": STAMP,
            "permissions": {"type": "array", "items": _obj({
                "channel": {"enum": channels}, "purpose": {"enum": purposes},
                "state": {"enum": ["granted", "withdrawn", "never"]},
                "since": STAMP, "source": {"type": ["string", "null"]},
                "policy_version": {"type": ["string", "null"]},
            })},
            "interests": {"type": "array", "items": {"enum": topics}},
            "settings": _obj({
                "time_zone": {"type": "string"},
                "quiet_hours": by_channel({"oneOf": [
                    {"type": "null"},
                    _obj({**quiet["properties"], "own": {"type": "boolean"}})]}),
                "max_per_week": by_channel({"type": ["integer", "null"]}),
                "paused_until": STAMP,
                "handles": {"type": "object",
                            "additionalProperties": {"type": ["string", "null"]}},
            }),
        }),
        "Signup": _obj({
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "name": {"type": "string", "maxLength": 200},
            "interests": {"type": "array", "items": {"enum": topics}},
            "permissions": {"type": "array", "items": _ref("Pair")},
            "time_zone": {"type": "string", "examples": ["Europe/Berlin"]},
            "policy_version": {"const": pb.policy.version},
        }, ["email", "policy_version"], additionalProperties=False),
        "SettingsPatch": _obj({
            "name": {"type": "string"},
            "time_zone": {"type": "string"},
            "quiet_hours": by_channel({"oneOf": [{"type": "null"}, quiet]}),
            "max_per_week": by_channel({"type": ["integer", "null"], "minimum": 0,
                                        "maximum": pb.max_per_week}),
            "paused_until": {"type": ["string", "null"], "format": "date-time"},
            "handles": {"type": "object",
                        "additionalProperties": {"type": ["string", "null"]}},
        }, [], additionalProperties=False, minProperties=1),
        "Accepted": _obj({"status": {"const": "accepted"}, "detail": {"type": "string"}}),
        "Receipt": {"type": "object", "required": [
            "version", "jurisdiction", "consentTimestamp", "collectionMethod",
            "consentReceiptID", "piiPrincipalId", "piiControllers", "policyUrl", "services",
            "sensitive", "spiCat"]},
    }


def document(pb: Playbook) -> Schema:
    """The whole OpenAPI 3.1 document for this playbook."""
    accepted = _json(_ref("Accepted"), "Accepted. The same answer whether or not the "
                     "address is known.")
    me = _json(_ref("Person"), "The person as they are now")
    idem = [{"name": "Idempotency-Key", "in": "header", "required": False,
             "schema": {"type": "string", "maxLength": 255},
             "description": "Repeat a request safely: the first answer is replayed."}]
    token_param = [{"name": "token", "in": "path", "required": True,
                    "schema": {"type": "string"}}]
    paths: dict[str, Any] = {
        "/api/health": {"get": _op("Liveness", {"200": _json(
            _obj({"status": {"const": "ok"}}), "Up")}, tag="public")},
        "/api/playbook": {"get": _op("The public part of the playbook", {"200": _json(
            {"type": "object"}, "Channels, purposes, topics and the consent policy")},
            tag="public")},
        "/api/openapi.json": {"get": _op("This document", {"200": _json(
            {"type": "object"}, "OpenAPI 3.1")}, tag="public")},
        "/api/signup": {"post": {
            **_op("Sign up (double opt-in)", {
                "202": accepted, "303": {"description": "Form post: on to the thank-you page"},
                "400": PROBLEM, "413": PROBLEM, "415": PROBLEM, "422": PROBLEM,
                "503": PROBLEM}, parameters=idem),
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("Signup")},
                "application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
        }},
        "/api/link": {"post": _op("Mail me a fresh link to my preferences", {
            "202": accepted, "303": {"description": "Form post: on to the sent page"},
            "400": PROBLEM, "413": PROBLEM, "415": PROBLEM, "422": PROBLEM, "503": PROBLEM},
            body=_obj({"email": {"type": "string", "format": "email"}},
                      additionalProperties=False))},
        "/api/confirm": {"post": _op("Confirm the address; grants what was asked for", {
            "200": _json(_obj({"person": _ref("Person"), "manage_token": {"type": "string"}}),
                         "Confirmed, with a fresh manage token"),
            "400": PROBLEM, "401": PROBLEM, "403": PROBLEM, "409": PROBLEM, "413": PROBLEM,
            "415": PROBLEM, "422": PROBLEM},
            body=_obj({"token": {"type": "string"}}, additionalProperties=False),
            parameters=idem)},
        "/api/me": {
            "get": _op("Everything about me and my choices", {"200": me}, auth=True),
            "delete": _op("Erase me (GDPR Art. 17)", {
                "204": {"description": "Erased; only a suppression hash remains"},
                "409": PROBLEM}, auth=True),
        },
        "/api/me/permissions": {"patch": _op("Grant or withdraw permissions", {
            "200": me, "400": PROBLEM, "409": PROBLEM, "413": PROBLEM, "415": PROBLEM,
            "422": PROBLEM}, auth=True, body=_obj({"changes": {
                "type": "array", "minItems": 1, "items": _obj({
                    "channel": {"enum": list(pb.channels)},
                    "purpose": {"enum": list(pb.purposes)},
                    "granted": {"type": "boolean"}}, additionalProperties=False)}},
                additionalProperties=False))},
        "/api/me/interests": {"put": _op("Replace my interests", {
            "200": me, "400": PROBLEM, "409": PROBLEM, "413": PROBLEM, "415": PROBLEM,
            "422": PROBLEM}, auth=True, body=_obj({"interests": {
                "type": "array", "items": {"enum": list(pb.topics)}}},
                additionalProperties=False))},
        "/api/me/settings": {"patch": _op("Change time zone, quiet hours, caps, pause, handles",
            {"200": me, "400": PROBLEM, "409": PROBLEM, "413": PROBLEM, "415": PROBLEM,
             "422": PROBLEM}, auth=True, body=_ref("SettingsPatch"))},
        "/api/me/withdraw-all": {"post": _op("Withdraw every permission at once", {
            "200": me, "409": PROBLEM}, auth=True)},
        "/api/me/sign-out-everywhere": {"post": _op(
            "Revoke every manage link; answers with a fresh token for this page", {
                "200": _json({"allOf": [_ref("Person"), _obj(
                    {"manage_token": {"type": "string"}})]}, "Signed out elsewhere"),
                "409": PROBLEM}, auth=True)},
        "/api/me/receipts": {"get": _op("My consent receipts (Kantara CR v1.1)", {
            "200": _json(_obj({"receipts": {"type": "array", "items": _ref("Receipt")}}),
                         "Oldest first")}, auth=True)},
        "/api/me/export": {"get": _op("Everything held about me (GDPR Art. 15/20)", {
            "200": _json(_obj({"format": {"const": "befriend-export/1"},
                               "exported_at": STAMP, "controller": {"type": "object"},
                               "person": _ref("Person"), "stored": {"type": "object"},
                               "ledger": {"type": "array"},
                               "receipts": {"type": "array"}}), "A JSON download")},
            auth=True)},
        "/api/unsubscribe/{token}": {
            "get": _op("A page asking to confirm; changes nothing", {
                "200": {"description": "HTML page", "content": {"text/html": {}}},
                "401": {"description": "HTML page", "content": {"text/html": {}}}},
                parameters=token_param),
            "post": {**_op("One-click unsubscribe (RFC 8058)", {
                "200": _json(_obj({"status": {"const": "unsubscribed"},
                                   "channel": {"type": ["string", "null"]},
                                   "purpose": {"type": ["string", "null"]}}), "Withdrawn"),
                "400": PROBLEM, "401": PROBLEM}, parameters=token_param),
                "requestBody": {"required": True, "content": {
                    "application/x-www-form-urlencoded": {"schema": _obj(
                        {"List-Unsubscribe": {"const": "One-Click"}})}}}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": f"befriend API · {pb.organisation.name}", "version": "1",
                 "description": "Visitors manage their own permissions; every decision is "
                                "recorded in a hash-chained consent ledger."},
        "paths": paths,
        "components": {
            "schemas": _schemas(pb),
            "responses": {"Problem": {"description": "RFC 9457 problem", "content": {
                "application/problem+json": {"schema": _ref("Problem")}}}},
            "securitySchemes": {"manageToken": {
                "type": "http", "scheme": "bearer",
                "description": "The manage token from the link in your mail (URL fragment)."}},
        },
    }
