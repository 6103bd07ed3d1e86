"""The component schemas of the visitor's and the public API, with enums from the playbook."""

from __future__ import annotations

from befriend.core.ledger import SOURCES
from befriend.core.playbook import CHANNEL_KINDS, Playbook
from befriend.core.receipts import VERSION as RECEIPT_VERSION
from befriend.web.openapi.blocks import (
    CLOCK,
    COUNT,
    FLAG,
    HASH,
    MAYBE_STAMP,
    SCORE,
    STAMP,
    STATES,
    TEXT,
    Schema,
    _each,
    _obj,
    _ref,
    _some,
)


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
        "ConfirmationPreview": _obj(
            {
                "email": {"type": "string"},
                "name": {"type": ["string", "null"]},
                "requested_at": {"type": "string", "format": "date-time"},
                "time_zone": TEXT,
                "permissions": {
                    "type": "array",
                    "items": _obj(
                        {
                            "channel": {"enum": channels},
                            "purpose": {"enum": purposes},
                            "channel_label": TEXT,
                            "purpose_label": TEXT,
                            "withheld_by_gpc": FLAG,
                        }
                    ),
                },
                "interests": {
                    "type": "array",
                    "items": _obj({"id": {"enum": topics}, "label": TEXT}),
                },
                "policy": _obj({"version": TEXT, "url": TEXT}),
                "organisation": _obj({"name": TEXT, "contact": TEXT}),
            },
            description="What confirming would grant, and the name typed at sign-up",
        ),
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
                        "confirmed_request": {
                            "type": ["string", "null"],
                            "description": "Which sign-up request was confirmed (its link"
                            " works once)",
                        },
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
