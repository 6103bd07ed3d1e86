"""The OpenAPI 3.1 document of the API, built from the playbook so enums stay true.

Tests check that every route Flask serves is described here and that real answers match
the schemas, so the document cannot drift from the code. Schemas describe exactly what the
code returns: objects the API builds itself are closed (`additionalProperties: false`);
problem documents stay open, as RFC 9457 allows extension members.
"""

from __future__ import annotations

from typing import Any

from befriend.core.engagement import OUTCOMES
from befriend.core.ledger import SOURCES
from befriend.core.playbook import CHANNEL_KINDS, HOW_OFTEN, Playbook
from befriend.core.receipts import VERSION as RECEIPT_VERSION

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
    op["responses"] = dict(sorted(answers.items()))
    return op


def _each(keys: list[str], schema: Schema) -> Schema:
    """An object with exactly `keys`, each holding `schema`."""
    return _obj(dict.fromkeys(keys, schema))


def _some(keys: list[str], schema: Schema) -> Schema:
    """An object with any of `keys`, each holding `schema`."""
    return _obj(dict.fromkeys(keys, schema), [])


def _offered(pb: Playbook) -> list[Schema]:
    """Each channel with the purposes it offers: a pair must match one of them."""
    return [
        {
            "properties": {
                "channel": {"const": cid},
                "purpose": {"enum": [p for c, p in pb.grid() if c == cid]},
            }
        }
        for cid in pb.channels
        if any(c == cid for c, _ in pb.grid())
    ]


def _permission_state(pb: Playbook) -> Schema:
    schema = _obj(
        {
            "channel": {"enum": list(pb.channels)},
            "purpose": {"enum": list(pb.purposes)},
            "state": {"enum": STATES},
            "since": MAYBE_STAMP,
            "source": {"enum": [*SOURCES, None]},
            "policy_version": {"type": ["string", "null"]},
        },
        anyOf=_offered(pb),
    )
    # "never" is the one state without a history; the others always have one.
    history = ("since", "source", "policy_version")
    schema["if"] = {"properties": {"state": {"const": "never"}}}
    schema["then"] = {"properties": {key: {"type": "null"} for key in history}}
    schema["else"] = {"properties": {key: {"type": "string"} for key in history}}
    return schema


def _schemas(pb: Playbook) -> dict[str, Schema]:
    channels = list(pb.channels)
    purposes = list(pb.purposes)
    topics = list(pb.topics)
    handle = {
        cid: {"type": "string", "pattern": ch.handle_pattern}
        if ch.handle_pattern
        else {"type": "string"}
        for cid, ch in pb.channels.items()
        if ch.kind == "social"
    }
    grid = pb.grid()
    quiet = _obj({"from": CLOCK, "until": CLOCK})
    person: dict[str, Schema] = {
        "id": {"type": "string", "minLength": 1},
        "email": {"type": "string", "format": "email"},
        "name": {"type": "string", "maxLength": 200},
        "status": {"const": "active"},
        "created_at": STAMP,
        "confirmed_at": STAMP,
        "permissions": {
            "type": "array",
            "description": "Every channel x purpose pair on offer, in playbook order.",
            "minItems": len(grid),
            "maxItems": len(grid),
            "items": _ref("PermissionState"),
        },
        "interests": {
            "type": "array",
            "items": {"enum": topics},
            "uniqueItems": True,
            "maxItems": len(topics),
        },
        "settings": _obj(
            {
                "time_zone": TEXT,
                "quiet_hours": _each(
                    channels,
                    {
                        "oneOf": [
                            {"type": "null"},
                            _obj(
                                {**quiet["properties"], "own": FLAG},
                                description="`own` is false when the playbook default applies",
                            ),
                        ]
                    },
                ),
                "max_per_week": _each(
                    channels,
                    {"type": ["integer", "null"], "minimum": 0, "maximum": pb.max_per_week},
                ),
                "paused_until": MAYBE_STAMP,
                "handles": _obj(
                    {cid: {**schema, "type": ["string", "null"]} for cid, schema in handle.items()}
                ),
            }
        ),
        "relationship": _obj(
            {
                "stage": _obj(
                    {"id": {"enum": [x.id for x in pb.stages]}, "label": TEXT, "says": TEXT}
                ),
                "circle": _obj(
                    {"id": {"enum": [x.id for x in pb.circles]}, "label": TEXT, "says": TEXT}
                ),
                "scores": _obj({"engagement": SCORE, "loyalty": SCORE, "influence": SCORE}),
                "next_steps": {"type": "array", "items": _ref("Step")},
            },
            description="Where we think the person stands, and why: nothing is hidden",
        ),
    }
    purpose_receipt = _obj(
        {
            "purpose": TEXT,
            "purposeId": TEXT,
            "purposeCategory": {"type": "array", "items": TEXT, "minItems": 1},
            "consentType": {"const": "EXPLICIT"},
            "piiCategory": {"type": "array", "items": TEXT},
            "primaryPurpose": FLAG,
            "termination": TEXT,
            "thirdPartyDisclosure": FLAG,
            "status": {"enum": STATES},
            "previousStatus": {"enum": STATES},
        }
    )
    return {
        "Problem": _obj(
            {
                "type": {"type": "string", "format": "uri"},
                "title": TEXT,
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": TEXT,
                "errors": {
                    "type": "array",
                    "description": "With 422 invalid-input: every field that is wrong",
                    "minItems": 1,
                    "items": _obj({"field": TEXT, "message": TEXT}),
                },
            },
            ["type", "title", "status"],
            closed=False,
        ),
        "Pair": _obj(
            {"channel": {"enum": channels}, "purpose": {"enum": purposes}},
            anyOf=_offered(pb),
        ),
        "PermissionChange": _obj(
            {"channel": {"enum": channels}, "purpose": {"enum": purposes}, "granted": FLAG},
            anyOf=_offered(pb),
        ),
        "PermissionState": _permission_state(pb),
        "Step": _obj(
            {
                "play": {
                    "type": "string",
                    "description": "A play of the playbook, or refresh-<channel>-<purpose>",
                },
                "kind": {"enum": ["message", "ask"]},
                "says": TEXT,
                "channel": {"enum": [*channels, "site"]},
                "purpose": {"type": ["string", "null"]},
                "asks": {"oneOf": [{"type": "null"}, _ref("Pair")]},
                "reason": TEXT,
                "earliest": {"type": "string", "format": "date-time"},
            },
            description="A next step on offer, and the earliest moment it may be used",
        ),
        "Person": _obj(person, description="The person as they see themselves"),
        "PersonWithToken": _obj(
            {**person, "manage_token": TEXT},
            description="The person, with a fresh manage token replacing every older one",
        ),
        "Signup": _obj(
            {
                "email": {"type": "string", "format": "email", "maxLength": 254},
                "name": {"type": "string", "maxLength": 200},
                "interests": {"type": "array", "items": {"enum": topics}},
                "permissions": {"type": "array", "items": _ref("Pair"), "maxItems": 200},
                "time_zone": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 64,
                    "examples": ["Europe/Berlin"],
                },
                "policy_version": {"const": pb.policy.version},
            },
            ["email", "policy_version"],
        ),
        "SignupForm": _obj(
            {
                "email": TEXT,
                "name": TEXT,
                "time_zone": TEXT,
                "policy_version": {"const": pb.policy.version},
                "interests": {"type": "array", "items": {"enum": topics}},
                "permissions": {
                    "type": "array",
                    "items": {"enum": [f"{c}:{p}" for c, p in grid]},
                },
            },
            ["email", "policy_version"],
            description="The no-JavaScript form; `permissions` repeats as `channel:purpose`",
        ),
        "SettingsPatch": _obj(
            {
                "name": {"type": "string"},
                "time_zone": {"type": "string", "minLength": 1, "maxLength": 64},
                "quiet_hours": _some(channels, {"oneOf": [{"type": "null"}, quiet]}),
                "max_per_week": _some(
                    channels,
                    {"type": ["integer", "null"], "minimum": 0, "maximum": pb.max_per_week},
                ),
                "paused_until": {
                    "type": ["string", "null"],
                    "maxLength": 40,
                    "description": "A future ISO 8601 date or date-time; null ends a pause",
                },
                "handles": _obj(
                    {cid: {"oneOf": [{"type": "null"}, schema]} for cid, schema in handle.items()},
                    [],
                ),
            },
            [],
            minProperties=1,
            description="Only the keys sent change; null means back to the default",
        ),
        "Accepted": _obj({"status": {"const": "accepted"}, "detail": TEXT}),
        "Unsubscribed": _obj(
            {
                "status": {"const": "unsubscribed"},
                "channel": {"type": ["string", "null"]},
                "purpose": {
                    "type": ["string", "null"],
                    "description": "null: every purpose on the channel",
                },
            }
        ),
        "Receipt": _obj(
            {
                "version": {"const": RECEIPT_VERSION},
                "jurisdiction": TEXT,
                "consentTimestamp": {"type": "integer", "description": "Unix seconds"},
                "collectionMethod": TEXT,
                "consentReceiptID": TEXT,
                "language": TEXT,
                "piiPrincipalId": TEXT,
                "piiControllers": {
                    "type": "array",
                    "minItems": 1,
                    "items": _obj(
                        {
                            "piiController": TEXT,
                            "contact": TEXT,
                            "address": TEXT,
                            "email": TEXT,
                            "piiControllerUrl": TEXT,
                        }
                    ),
                },
                "policyUrl": TEXT,
                "policyVersion": TEXT,
                "services": {
                    "type": "array",
                    "minItems": 1,
                    "items": _obj(
                        {
                            "service": TEXT,
                            "channel": TEXT,
                            "purposes": {"type": "array", "minItems": 1, "items": purpose_receipt},
                        }
                    ),
                },
                "sensitive": FLAG,
                "spiCat": {"type": "array", "items": TEXT},
                "gpc": FLAG,
                "ledgerSeq": {"type": "integer", "minimum": 1},
                "ledgerHash": HASH,
            },
            description="Kantara Consent Receipt v1.1; `status`, `previousStatus`, `channel`, "
            "`gpc`, `ledgerSeq` and `ledgerHash` are befriend's additions. Channels and "
            "purposes are historic: they need not be in today's playbook.",
        ),
        "LedgerEntry": _obj(
            {
                "person_id": TEXT,
                "seq": {"type": "integer", "minimum": 1},
                "at": STAMP,
                "action": {"type": "string", "examples": ["signup", "confirm", "permissions"]},
                "source": {"enum": list(SOURCES)},
                "changes": {
                    "type": "array",
                    "items": _obj({"what": TEXT, "old": {}, "new": {}}),
                },
                "policy_version": TEXT,
                "evidence": {
                    "oneOf": [{"type": "null"}, _obj({"client": TEXT, "agent": TEXT})],
                    "description": "Keyed hashes of the client address and user agent",
                },
                "gpc": FLAG,
                "prev": HASH,
                "hash": HASH,
            },
            description="One hash-chained ledger entry: `hash` is SHA-256 over the canonical "
            "JSON of every other field.",
        ),
        "Export": _obj(
            {
                "format": {"const": "befriend-export/1"},
                "exported_at": STAMP,
                "controller": _obj({"name": TEXT, "contact": TEXT}),
                "person": _ref("Person"),
                # The stored record as it is, including what the playbook no longer shows.
                "stored": _obj(
                    {
                        "id": TEXT,
                        "email": {"type": "string", "format": "email"},
                        "name": {"type": "string"},
                        "status": {"enum": ["active"]},
                        "created_at": STAMP,
                        "confirmed_at": STAMP,
                        "permissions": {"type": "object"},
                        "interests": {"type": "array", "items": {"type": "string"}},
                        "preferences": {"type": "object"},
                        "token_generation": COUNT,
                        "seq": COUNT,
                        "head": HASH,
                        "request": {"type": "null"},
                        "expires_at": {"type": "null"},
                        "relationship": {"type": "object"},
                    }
                ),
                "ledger": {"type": "array", "items": _ref("LedgerEntry")},
                "transitions": {
                    "type": "array",
                    "items": _obj({"from": TEXT, "to": TEXT, "at": STAMP, "cause": TEXT}),
                },
                "receipts": {"type": "array", "items": _ref("Receipt")},
            }
        ),
        "Playbook": _obj(
            {
                "organisation": _obj({"name": TEXT, "contact": TEXT}),
                "policy": _obj(
                    {"version": {"const": pb.policy.version}, "url": TEXT, "text": TEXT}
                ),
                "channels": {
                    "type": "array",
                    "minItems": len(channels),
                    "maxItems": len(channels),
                    "items": _obj(
                        {
                            "id": {"enum": channels},
                            "label": TEXT,
                            "kind": {"enum": list(CHANNEL_KINDS)},
                            "quiet_hours": {"oneOf": [{"type": "null"}, quiet]},
                        }
                    ),
                },
                "purposes": {
                    "type": "array",
                    "minItems": len(purposes),
                    "maxItems": len(purposes),
                    "items": _obj(
                        {
                            "id": {"enum": purposes},
                            "label": TEXT,
                            "description": TEXT,
                            "channels": {
                                "type": "array",
                                "minItems": 1,
                                "uniqueItems": True,
                                "items": {"enum": channels},
                            },
                            "gpc_opt_out": FLAG,
                        }
                    ),
                },
                "topics": {
                    "type": "array",
                    "minItems": len(topics),
                    "maxItems": len(topics),
                    "items": _obj({"id": {"enum": topics}, "label": TEXT}),
                },
                "max_per_week": {"const": pb.max_per_week},
                "stages": {
                    "type": "array",
                    "items": _obj(
                        {"id": {"enum": [x.id for x in pb.stages]}, "label": TEXT, "says": TEXT}
                    ),
                },
                "circles": {
                    "type": "array",
                    "items": _obj(
                        {"id": {"enum": [x.id for x in pb.circles]}, "label": TEXT, "says": TEXT}
                    ),
                },
                "survey": {
                    "oneOf": [
                        {"type": "null"},
                        _obj(
                            {
                                "found_us": {
                                    "type": "array",
                                    "items": _obj({"id": TEXT, "label": TEXT}),
                                },
                                "how_often": {
                                    "type": "array",
                                    "items": _obj({"id": TEXT, "label": TEXT}),
                                },
                            }
                        ),
                    ]
                },
            }
        ),
    }


def _responses() -> dict[str, Schema]:
    problem = {"application/problem+json": {"schema": _ref("Problem")}}
    return {
        "Problem": {"description": "RFC 9457 problem", "content": problem},
        "Unauthorized": {
            "description": "No manage token, or one that is forged, expired, signed out or "
            "names no one any more",
            "headers": {"WWW-Authenticate": _header("WWW-Authenticate")},
            "content": problem,
        },
        "KeyUnauthorized": {
            "description": "No API key, or one that is unknown or revoked (a manage token is "
            "not an API key)",
            "headers": {"WWW-Authenticate": _header("WWW-Authenticate")},
            "content": problem,
        },
        "Conflict": {
            "description": "Changed elsewhere at the same time, more often than we retry",
            "headers": {"Retry-After": _header("Retry-After")},
            "content": problem,
        },
        "MailUnavailable": {
            "description": "The mail service refused; nothing is lost",
            "headers": {"Retry-After": _header("Retry-After")},
            "content": problem,
        },
        "FormErrors": {
            "description": "Invalid fields: a problem for JSON, an HTML page for a form post",
            "content": {**problem, **HTML_PAGE},
        },
        "SeeOther": {
            "description": "Form post: on to the next page",
            "headers": {
                "Location": _header("Location"),
                "Idempotent-Replayed": _header("Idempotent-Replayed"),
            },
        },
    }


def _headers() -> dict[str, Schema]:
    return {
        "WWW-Authenticate": {
            "required": True,
            "schema": {"type": "string", "pattern": "^Bearer"},
        },
        "Retry-After": {
            "required": True,
            "description": "Seconds to wait",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        },
        "Location": {"required": True, "schema": {"type": "string", "minLength": 1}},
        "Link": {
            "description": "The next page (RFC 8288), while there is one",
            "schema": {"type": "string", "pattern": '^<[^>]+>; rel="next"$'},
        },
        "Idempotent-Replayed": {
            "description": "`true` when this is the kept answer to an earlier request",
            "schema": {"const": "true"},
        },
    }


def document(pb: Playbook) -> Schema:
    """The whole OpenAPI 3.1 document for this playbook."""
    accepted = _json(
        _ref("Accepted"),
        "Accepted. The same answer whether or not the address is known.",
        headers={"Idempotent-Replayed": _header("Idempotent-Replayed")},
    )
    me = _json(_ref("Person"), "The person as they are now")
    idem = [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": "Repeat a request safely: the first answer is replayed. Reusing a "
            "key for a different request is refused (422).",
        }
    ]
    token_param = [
        {
            "name": "token",
            "in": "path",
            "required": True,
            "description": "The unsubscribe token from the mail's List-Unsubscribe header",
            "schema": {"type": "string"},
        }
    ]
    invalid = {
        "400": _answer("Problem"),
        "413": _answer("Problem"),
        "415": _answer("Problem"),
        "422": _answer("Problem"),
    }
    paths: dict[str, Any] = {
        "/api/health": {
            "get": _op(
                "health",
                "Liveness",
                {"200": _json(_obj({"status": {"const": "ok"}}), "Up")},
                tag="public",
            )
        },
        "/api/playbook": {
            "get": _op(
                "getPlaybook",
                "The public part of the playbook",
                {"200": _json(_ref("Playbook"), "Channels, purposes, topics and the policy")},
                tag="public",
            )
        },
        "/api/openapi.json": {
            "get": _op(
                "getOpenApi",
                "This document",
                {
                    "200": _json(
                        _obj(
                            {"openapi": {"const": "3.1.0"}, "info": {}, "paths": {}},
                            ["openapi", "info", "paths"],
                            closed=False,
                        ),
                        "OpenAPI 3.1",
                    )
                },
                tag="public",
            )
        },
        "/api/signup": {
            "post": _op(
                "signup",
                "Sign up (double opt-in)",
                {
                    **invalid,
                    "202": accepted,
                    "303": _answer("SeeOther"),
                    "422": _answer("FormErrors"),
                    "503": _answer("MailUnavailable"),
                },
                parameters=idem,
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {"schema": _ref("Signup")},
                        "application/x-www-form-urlencoded": {"schema": _ref("SignupForm")},
                    },
                },
            )
        },
        "/api/link": {
            "post": _op(
                "requestLink",
                "Mail me a fresh link to my preferences",
                {
                    **invalid,
                    "202": _json(_ref("Accepted"), "Accepted, whether or not the address is known"),
                    "303": _answer("SeeOther"),
                    "422": _answer("FormErrors"),
                    "503": _answer("MailUnavailable"),
                },
                requestBody={
                    "required": True,
                    "content": {
                        media: {"schema": _obj({"email": {"type": "string", "format": "email"}})}
                        for media in ("application/json", "application/x-www-form-urlencoded")
                    },
                },
            )
        },
        "/api/confirm": {
            "post": _op(
                "confirm",
                "Confirm the address; grants what was asked for",
                {
                    **invalid,
                    "200": _json(
                        _obj({"person": _ref("Person"), "manage_token": TEXT}),
                        "Confirmed (again), with a fresh manage token",
                        headers={"Idempotent-Replayed": _header("Idempotent-Replayed")},
                    ),
                    "401": _answer("Unauthorized"),
                    "403": _answer("Problem"),
                    "409": _answer("Conflict"),
                },
                body=_obj({"token": {"type": "string", "minLength": 1, "maxLength": 1000}}),
                parameters=idem,
            )
        },
        "/api/me": {
            "get": _op("getMe", "Everything about me and my choices", {"200": me}, auth=True),
            "delete": _op(
                "eraseMe",
                "Erase me (GDPR Art. 17)",
                {
                    "204": {"description": "Erased; only a suppression hash remains"},
                    "409": _answer("Conflict"),
                },
                auth=True,
            ),
        },
        "/api/me/permissions": {
            "patch": _op(
                "changePermissions",
                "Grant or withdraw permissions",
                {**invalid, "200": me, "409": _answer("Conflict")},
                auth=True,
                body=_obj(
                    {
                        "changes": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 200,
                            "items": _ref("PermissionChange"),
                        }
                    }
                ),
            )
        },
        "/api/me/interests": {
            "put": _op(
                "setInterests",
                "Replace my interests",
                {**invalid, "200": me, "409": _answer("Conflict")},
                auth=True,
                body=_obj({"interests": {"type": "array", "items": {"enum": list(pb.topics)}}}),
            )
        },
        "/api/me/settings": {
            "patch": _op(
                "updateSettings",
                "Change name, time zone, quiet hours, caps, pause, handles",
                {**invalid, "200": me, "409": _answer("Conflict")},
                auth=True,
                body=_ref("SettingsPatch"),
            )
        },
        "/api/me/withdraw-all": {
            "post": _op(
                "withdrawAll",
                "Withdraw every permission at once",
                {"200": me, "409": _answer("Conflict")},
                auth=True,
            )
        },
        "/api/me/next-steps/{play_id}/decline": {
            "post": _op(
                "declineStep",
                "No thanks: the step rests for its cooldown",
                {"200": me, "404": _answer("Problem"), "409": _answer("Conflict")},
                auth=True,
                parameters=[
                    {
                        "name": "play_id",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": list(pb.plays)},
                    }
                ],
            )
        },
        "/api/me/survey": {
            "post": _op(
                "answerSurvey",
                "The engagement survey: updates interests, the weekly cap and the scores",
                {
                    "200": me,
                    "400": _answer("Problem"),
                    "409": _answer("Conflict"),
                    "413": _answer("Problem"),
                    "415": _answer("Problem"),
                    "422": _answer("Problem"),
                },
                auth=True,
                body=_obj(
                    {
                        "found_us": {"enum": list(pb.survey.found_us) if pb.survey else []},
                        "how_often": {"enum": list(HOW_OFTEN)},
                        "preferred_channel": {"enum": list(pb.channels)},
                        "interests": {"type": "array", "items": {"enum": list(pb.topics)}},
                        "recommend": {"type": "integer", "minimum": 0, "maximum": 10},
                    },
                    [],
                    minProperties=1,
                ),
            )
        },
        "/api/me/sign-out-everywhere": {
            "post": _op(
                "signOutEverywhere",
                "Revoke every manage link; answers with a fresh token for this page",
                {
                    "200": _json(_ref("PersonWithToken"), "Signed out elsewhere"),
                    "409": _answer("Conflict"),
                },
                auth=True,
            )
        },
        "/api/me/receipts": {
            "get": _op(
                "listReceipts",
                "My consent receipts (Kantara CR v1.1)",
                {
                    "200": _json(
                        _obj({"receipts": {"type": "array", "items": _ref("Receipt")}}),
                        "Oldest first",
                    )
                },
                auth=True,
            )
        },
        "/api/me/export": {
            "get": _op(
                "exportMe",
                "Everything held about me (GDPR Art. 15/20)",
                {
                    "200": _json(
                        _ref("Export"),
                        "A JSON download",
                        headers={
                            "Content-Disposition": {
                                "required": True,
                                "schema": {"type": "string", "pattern": "^attachment; filename="},
                            }
                        },
                    )
                },
                auth=True,
            )
        },
        "/api/unsubscribe/{token}": {
            "get": _op(
                "unsubscribePage",
                "A page asking to confirm; changes nothing",
                {
                    "200": {"description": "HTML page with one button", "content": HTML_PAGE},
                    "401": {
                        "description": "HTML page: the link is not valid",
                        "content": HTML_PAGE,
                    },
                },
                tag="one-click",
                parameters=token_param,
            ),
            "post": _op(
                "unsubscribeOneClick",
                "One-click unsubscribe (RFC 8058)",
                {
                    "200": {
                        "description": "Withdrawn (also when nothing was granted). A browser "
                        "that prefers HTML gets a page.",
                        "content": {
                            "application/json": {"schema": _ref("Unsubscribed")},
                            **HTML_PAGE,
                        },
                    },
                    "400": _answer("Problem"),
                    "401": {
                        "description": "The link is not valid: a problem, or a page for a browser",
                        "headers": {
                            "WWW-Authenticate": {
                                "description": "Sent with the problem, not with the page",
                                "schema": {"type": "string", "pattern": "^Bearer"},
                            }
                        },
                        "content": {
                            "application/problem+json": {"schema": _ref("Problem")},
                            **HTML_PAGE,
                        },
                    },
                    "409": _answer("Conflict"),
                    "413": _answer("Problem"),
                },
                tag="one-click",
                parameters=token_param,
                requestBody={
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": _obj({"List-Unsubscribe": {"const": "One-Click"}})
                        }
                    },
                },
            ),
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"befriend API · {pb.organisation.name}",
            "version": "1",
            "description": "Visitors manage their own permissions; every decision is "
            "recorded in a hash-chained consent ledger. Errors are RFC 9457 problems.",
        },
        "tags": [
            {"name": "public", "description": "Unauthenticated reads"},
            {"name": "visitor", "description": "Sign-up and a person's own preferences"},
            {"name": "one-click", "description": "RFC 8058 unsubscribe from a mail header"},
            {
                "name": "marketer",
                "description": "People, plays and audiences out; events and outcomes in. "
                "Needs an API key (`befriend keys create`)",
            },
        ],
        "paths": {**paths, **_marketer_paths(pb)},
        "components": {
            "schemas": {**_schemas(pb), **_marketer_schemas(pb)},
            "responses": _responses(),
            "headers": _headers(),
            "securitySchemes": {
                "manageToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The manage token from the link in your mail (URL fragment).",
                },
                "marketerKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key (`bfk_…`) from `befriend keys create`, with the "
                    "role reader, ingest or admin.",
                },
            },
        },
    }


# --- the marketer's API ---

PERSON_REF: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 254,
    "description": "A person id, or the person's email address",
}
EVENT_AT: Schema = {
    "type": "string",
    "format": "date-time",
    "maxLength": 40,
    "description": "ISO 8601 with an offset; at most a day ahead",
    "examples": ["2026-11-23T12:00:00+01:00"],
}
ROLE_NOTE = "Needs an API key with the role {role} (or admin)."


def _marketer_schemas(pb: Playbook) -> dict[str, Schema]:
    stages = [x.id for x in pb.stages]
    circles = [x.id for x in pb.circles]
    rejected = {"const": "rejected"}
    reason: Schema = {
        "type": "string",
        "description": "Why: malformed, unknown person, unknown type, or a timestamp more "
        "than a day in the future",
    }
    count = {"type": "integer", "minimum": 0, "maximum": 500}
    return {
        "Play": _obj(
            {
                "id": {"enum": list(pb.plays)},
                "kind": {"enum": ["message", "ask"]},
                "says": TEXT,
                "stages": {"type": "array", "minItems": 1, "items": {"enum": stages}},
                "circles": {
                    "type": "array",
                    "items": {"enum": circles},
                    "description": "Empty: any circle",
                },
                "channel": {"enum": [*pb.channels, "site"]},
                "purpose": {"enum": [*pb.purposes, None]},
                "interests": {
                    "type": "array",
                    "items": {"enum": list(pb.topics)},
                    "description": "Any of these; empty: everyone",
                },
                "cooldown_days": {"type": "integer", "minimum": 0, "maximum": 3650},
                "priority": {"type": "integer", "minimum": 0, "maximum": 1000},
                "asks": {"oneOf": [{"type": "null"}, _ref("Pair")]},
            },
            description="A play of the playbook: a next step, and whom it suits",
        ),
        "NextSteps": _obj(
            {
                "person": TEXT,
                "stage": {"enum": stages},
                "circle": {"enum": circles},
                "next_steps": {"type": "array", "items": _ref("Step")},
            }
        ),
        "AudienceMember": _obj(
            {
                "id": TEXT,
                "email": {"type": "string", "format": "email"},
                "name": TEXT,
                "stage": {"enum": stages},
                "circle": {"enum": circles},
                "earliest": {"type": "string", "format": "date-time"},
            }
        ),
        "Audience": _obj(
            {
                "play": {"enum": list(pb.plays)},
                "people": {"type": "array", "maxItems": 200, "items": _ref("AudienceMember")},
                "next": {
                    "type": ["string", "null"],
                    "description": "The cursor of the next page; null once every stage and "
                    "shard has been read. A page may hold fewer people than `limit`.",
                },
            }
        ),
        "EventIn": _obj(
            {
                "id": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "description": "Your id for the event: a second event with it is a duplicate",
                },
                "person": PERSON_REF,
                "type": {"enum": list(pb.events)},
                "at": EVENT_AT,
                "value": {"type": "number", "description": "Checked; not stored yet"},
            },
            ["id", "person", "type", "at"],
        ),
        "EventResult": {
            "oneOf": [
                _obj(
                    {
                        "id": {"type": "string", "minLength": 1, "maxLength": 200},
                        "result": {"enum": ["accepted", "duplicate"]},
                    }
                ),
                _obj(
                    {
                        "id": {
                            "type": ["string", "null"],
                            "description": "null when the event had no usable id",
                        },
                        "result": rejected,
                        "reason": reason,
                    }
                ),
            ]
        },
        "EventsAnswer": _obj(
            {
                "results": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 500,
                    "items": _ref("EventResult"),
                    "description": "One per event, in the order sent",
                },
                "accepted": count,
                "duplicates": count,
                "rejected": count,
            }
        ),
        "OutcomeIn": _obj(
            {"person": PERSON_REF, "outcome": {"enum": list(OUTCOMES)}, "at": EVENT_AT}
        ),
        "OutcomeResult": {
            "oneOf": [
                _obj({"person": PERSON_REF, "result": {"const": "accepted"}}),
                _obj(
                    {
                        "person": {"type": ["string", "null"]},
                        "result": rejected,
                        "reason": reason,
                    }
                ),
            ]
        },
        "OutcomesAnswer": _obj(
            {
                "results": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 500,
                    "items": _ref("OutcomeResult"),
                    "description": "One per outcome, in the order sent",
                },
                "accepted": count,
                "rejected": count,
            }
        ),
    }


def _marketer_paths(pb: Playbook) -> dict[str, Any]:
    def op(
        operation_id: str, summary: str, role: str, responses: dict[str, Any], **extra: Any
    ) -> Schema:
        note = " ".join([ROLE_NOTE.format(role=role), extra.pop("note", "")]).strip()
        return _op(
            operation_id, summary, responses, key=role, tag="marketer", description=note, **extra
        )

    person_param = [
        {"name": "person_id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    play_param = {
        "name": "play_id",
        "in": "path",
        "required": True,
        "schema": {"enum": list(pb.plays)},
    }
    unknown = {"404": _answer("Problem")}
    ingest_refusals = {
        "400": _answer("Problem"),
        "409": _answer("Conflict"),
        "413": _answer("Problem"),
        "415": _answer("Problem"),
        "422": _answer("Problem"),
    }
    batch = {"type": "array", "minItems": 1, "maxItems": 500}
    return {
        "/api/people/{person_id}": {
            "get": op(
                "getPerson",
                "A person as they see themselves, and where they stand",
                "reader",
                {**unknown, "200": _json(_ref("Person"), "The person, as GET /api/me shows")},
                parameters=person_param,
                note="Pending, erasing and unknown people are not found.",
            )
        },
        "/api/people/{person_id}/next-steps": {
            "get": op(
                "getNextSteps",
                "The plays that suit a person now, best first",
                "reader",
                {**unknown, "200": _json(_ref("NextSteps"), "Stage, circle and next steps")},
                parameters=person_param,
            )
        },
        "/api/plays": {
            "get": op(
                "listPlays",
                "Every play of the playbook",
                "reader",
                {
                    "200": _json(
                        _obj({"plays": {"type": "array", "items": _ref("Play")}}),
                        "In playbook order",
                    )
                },
            )
        },
        "/api/plays/{play_id}/audience": {
            "get": op(
                "getAudience",
                "The people a play is eligible for now, a page at a time",
                "reader",
                {
                    **unknown,
                    "200": {
                        "description": "One page. Each page reads at most `limit` index items",
                        "headers": {
                            "Link": _header("Link"),
                            "Content-Disposition": {
                                "description": "With format=csv",
                                "schema": {"type": "string", "pattern": "^attachment; filename="},
                            },
                        },
                        "content": {
                            "application/json": {"schema": _ref("Audience")},
                            "text/csv": {
                                "schema": {
                                    "type": "string",
                                    "pattern": "^id,email,name,stage,circle,earliest\\r\\n",
                                    "description": "A header row, then one row a person. A "
                                    "cell starting with =, +, -, @, tab or CR gets a leading "
                                    "apostrophe, so no spreadsheet runs it as a formula.",
                                }
                            },
                        },
                    },
                    "400": _answer("Problem"),
                },
                parameters=[
                    play_param,
                    {
                        "name": "cursor",
                        "in": "query",
                        "required": False,
                        "description": "`next` of the previous page, unchanged",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 1000},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                    },
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": ["json", "csv"], "default": "json"},
                    },
                ],
            )
        },
        "/api/events": {
            "post": op(
                "ingestEvents",
                "What people did: each event accepted, a duplicate, or rejected",
                "ingest",
                {**ingest_refusals, "200": _json(_ref("EventsAnswer"), "One result an event")},
                body=_obj({"events": {**batch, "items": _ref("EventIn")}}),
                note="Idempotent by event id. An event that does not fit is rejected on its "
                "own, with a reason; the others are still recorded. Events never create a "
                "person and never grant anything.",
            )
        },
        "/api/plays/{play_id}/outcomes": {
            "post": op(
                "recordOutcomes",
                "What came of a play: sent, accepted or declined",
                "ingest",
                {
                    **ingest_refusals,
                    **unknown,
                    "200": _json(_ref("OutcomesAnswer"), "One result an outcome"),
                },
                parameters=[play_param],
                body=_obj({"outcomes": {**batch, "items": _ref("OutcomeIn")}}),
                note="Sent counts against the channel's weekly cap and rests the play for its "
                "cooldown; declined rests it too. Nothing is granted: only the person grants.",
            )
        },
    }
