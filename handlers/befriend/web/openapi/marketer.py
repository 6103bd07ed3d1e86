"""The marketer's API: its schemas and paths, each operation needing an API key."""

from __future__ import annotations

from typing import Any

from befriend.core.engagement import OUTCOMES
from befriend.core.playbook import Playbook
from befriend.web.openapi.blocks import TEXT, Schema, _answer, _header, _json, _obj, _op, _ref

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
