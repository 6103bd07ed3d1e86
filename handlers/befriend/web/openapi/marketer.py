"""The marketer's API: its paths, each operation needing an API key."""

from __future__ import annotations

from typing import Any

from befriend.core.audiences import COLUMNS
from befriend.core.contract import accounts, answers, requests, webhooks
from befriend.core.dispatch import TASK_COLUMNS
from befriend.core.playbook import Playbook
from befriend.web.openapi.audit import _audit_paths
from befriend.web.openapi.blocks import Schema, answer, header, json_body, operation
from befriend.web.openapi.components import ref

ROLE_NOTE = "Needs an API key or an account with the role {role} (or admin)."
ADMIN_NOTE = "Needs an API key or an account with the role admin."


def marketer_operation(
    operation_id: str, summary: str, role: str, responses: dict[str, Any], **extra: Any
) -> Schema:
    """An operation of the marketer's API, open to keys with `role` (or admin)."""
    needs = ROLE_NOTE.format(role=role) if role != "admin" else ADMIN_NOTE
    note = " ".join([needs, extra.pop("note", "")]).strip()
    return operation(
        operation_id, summary, responses, key=role, tag="marketer", description=note, **extra
    )


def _marketer_paths(pb: Playbook) -> dict[str, Any]:
    op = marketer_operation

    person_param = [
        {"name": "person_id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    play_param = {
        "name": "play_id",
        "in": "path",
        "required": True,
        "schema": {"enum": list(pb.plays)},
    }
    unknown = {"404": answer("Problem")}

    def about_person(operation_id: str, summary: str, found: Schema, **extra: Any) -> Schema:
        responses = {**unknown, "200": found}
        return op(operation_id, summary, "reader", responses, parameters=person_param, **extra)

    ingest_refusals = {
        "400": answer("Problem"),
        "409": answer("Conflict"),
        "413": answer("Problem"),
        "415": answer("Problem"),
        "422": answer("Problem"),
    }
    return {
        **_webhook_paths(),
        **_audit_paths(),
        **_sign_in_paths(),
        "/api/people/{person_id}": {
            "get": about_person(
                "getPerson",
                "A person as they see themselves, and where they stand",
                json_body(ref(answers.Person), "The person, as GET /api/me shows"),
                note="Pending, erasing and unknown people are not found.",
            )
        },
        "/api/people/{person_id}/next-steps": {
            "get": about_person(
                "getNextSteps",
                "The plays that suit a person now, best first",
                json_body(ref(answers.NextSteps), "Stage, circle and next steps"),
            )
        },
        "/api/plays": {
            "get": op(
                "listPlays",
                "Every play of the playbook",
                "reader",
                {"200": json_body(ref(answers.Plays), "In playbook order")},
            )
        },
        "/api/plays/{play_id}/audience": {
            "get": op(
                "getAudience",
                "The people a play is eligible for now, a page at a time",
                "ingest",
                {
                    **unknown,
                    "200": {
                        "description": "One page. Each page reads at most `limit` index items",
                        "headers": {
                            "Link": header("Link"),
                            "Content-Disposition": {
                                "description": "With format=csv",
                                "schema": {"type": "string", "pattern": "^attachment; filename="},
                            },
                        },
                        "content": {
                            "application/json": {"schema": ref(answers.Audience)},
                            "text/csv": {
                                "schema": {
                                    "type": "string",
                                    "pattern": "^" + ",".join(COLUMNS) + "\\r\\n",
                                    "description": "A header row, then one row a person, the "
                                    "JSON's fields in its order (`contact`: the one contact "
                                    "point the play's channel needs). A cell starting with "
                                    "=, +, -, @, tab or CR gets a leading apostrophe, so no "
                                    "spreadsheet runs it as a formula.",
                                }
                            },
                        },
                    },
                    "400": answer("Problem"),
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
        "/api/plays/{play_id}/audience/exports": {
            "post": op(
                "startAudienceExport",
                "Export a play's whole audience to a CSV file, as a job",
                "ingest",
                {
                    **unknown,
                    "202": {
                        "description": "Started: follow Location for its state",
                        "headers": {"Location": header("Location")},
                        "content": {"application/json": {"schema": ref(answers.AudienceExport)}},
                    },
                    "501": answer("Problem"),
                },
                parameters=[play_param],
                note="The job runs in pieces from the work queue: each stage and shard of "
                "the play is read at once, each candidate afresh as the pages do, and the "
                "file is written to S3. A deployment without a work queue answers 501: "
                "read the pages instead.",
            )
        },
        "/api/plays/{play_id}/audience/exports/{job_id}": {
            "get": op(
                "getAudienceExport",
                "An audience export's state and, once done, its download link",
                "ingest",
                {
                    **unknown,
                    "200": json_body(ref(answers.AudienceExport), "The export"),
                },
                parameters=[
                    play_param,
                    {
                        "name": "job_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                ],
            )
        },
        "/api/events": {
            "post": op(
                "ingestEvents",
                "What people did: each event accepted, a duplicate, or rejected",
                "ingest",
                {
                    **ingest_refusals,
                    "200": json_body(ref(answers.EventsAnswer), "One result an event"),
                },
                body=ref(requests.Events),
                note="Idempotent by event id for 30 days: an id sent again within 30 days "
                "of its first recording is a duplicate and changes nothing; after that the id "
                "is forgotten, and an event sent again with it is recorded as a new one. An "
                "event that does not fit is rejected on its own, with a reason; the others "
                "are still recorded. Events never create a person and never grant anything.",
            )
        },
        "/api/sends": {
            "post": op(
                "claimSend",
                "Claim one contact through the send gate, before it goes out",
                "ingest",
                {
                    **ingest_refusals,
                    "201": json_body(
                        ref(answers.Send),
                        "Granted: recorded as the play sent; a replay of the same key says "
                        "so in Idempotent-Replayed",
                        headers={"Idempotent-Replayed": header("Idempotent-Replayed")},
                    ),
                    "404": answer("Problem"),
                    "409": _refused(
                        "Refused (send-refused: why, and from when it would be granted; "
                        "nothing was claimed)",
                        answers.SendRefused,
                    ),
                },
                body=ref(requests.SendIn),
                note="Granted only if, at this moment, the person allows the play's channel "
                "and purpose, it is outside their quiet hours (in their own time zone), under "
                "their weekly maximum, the channel's and the playbook's, not paused, not "
                "within the play's cooldown, and the contact point is verified and "
                "deliverable: exactly when the play is among the person's next steps with "
                "`earliest` come. The grant is written in the same transaction as the check, "
                "so claims at once never pass a cap and a withdrawal written first always "
                "wins. A grant counts as the play sent (weekly caps, cooldown, reports). The "
                "same `idempotency_key` for the same play and person within 24 hours is "
                "answered with the first grant again (`Idempotent-Replayed: true`); "
                "refusals are not kept, so the same key is decided afresh. Unknown play or "
                "person: 404.",
            )
        },
        "/api/sends/{send_id}/outcome": {
            "post": op(
                "recordSendOutcome",
                "What came of one claimed send: accepted or declined, once",
                "ingest",
                {
                    **ingest_refusals,
                    "200": json_body(ref(answers.SendOutcome), "The outcome kept for the send"),
                    "404": answer("Problem"),
                    "409": _refused(
                        "The send has another outcome already (send-answered)", answers.Problem
                    ),
                },
                parameters=[
                    {
                        "name": "send_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                body=ref(requests.SendOutcomeIn),
                note="Declined rests the play for its cooldown, as on the person's page. A "
                "send answers once: the same outcome again is answered as the first time, "
                "another one is refused (409 send-answered). Sends are kept 30 days.",
            )
        },
        "/api/tasks": {
            "get": op(
                "listTasks",
                "The open tasks: contacts of plays befriend delivers that people must make",
                "ingest",
                {
                    "200": {
                        "description": "A page of the open tasks, oldest first (with "
                        "format=csv: every open task)",
                        "headers": {
                            "Content-Disposition": {
                                "description": "With format=csv",
                                "schema": {"type": "string", "pattern": "^attachment; filename="},
                            },
                            "Link": header("Link"),
                        },
                        "content": {
                            "application/json": {"schema": ref(answers.TaskList)},
                            "text/csv": {
                                "schema": {
                                    "type": "string",
                                    "pattern": "^" + ",".join(TASK_COLUMNS) + "\\r\\n",
                                    "description": "A header row, then one row a task, the "
                                    "JSON's fields in its order. A cell starting with =, +, "
                                    "-, @, tab or CR gets a leading apostrophe.",
                                }
                            },
                        },
                    },
                    "400": answer("Problem"),
                },
                parameters=[
                    {
                        "name": "cursor",
                        "in": "query",
                        "required": False,
                        "description": "`next` of the previous page, unchanged",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 2000},
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
                note='A play the playbook says befriend delivers (`delivery = "befriend"`) '
                "on a channel befriend cannot deliver itself (a call, post, a social network, "
                "events) is claimed through the gate when it is due, announced on the bus "
                "(`Play Due`) and listed here until it is done. Each is a claimed send: it "
                "already counts against the caps and rests the play.",
            )
        },
        "/api/tasks/{send_id}/done": {
            "post": op(
                "closeTask",
                "Close one task: the contact was made",
                "ingest",
                {
                    "200": json_body(ref(answers.TaskDone), "The task, closed"),
                    "404": answer("Problem"),
                },
                parameters=[
                    {
                        "name": "send_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                note="Closing a task again answers as the first time. Unknown task: 404.",
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
                    "200": json_body(ref(answers.OutcomesAnswer), "One result an outcome"),
                },
                parameters=[play_param],
                body=ref(requests.Outcomes),
                note="Sent counts against the channel's weekly cap and rests the play for its "
                "cooldown; declined rests it too. Nothing is granted: only the person grants.",
            )
        },
    }


def _refused(description: str, kind: type[Any]) -> Schema:
    """409: the request refused as the problem `kind` says, or changed elsewhere more often
    than we retry (concurrent-change, which alone carries Retry-After)."""
    return {
        "description": f"{description}, or changed elsewhere more often than we retry "
        "(concurrent-change, with Retry-After)",
        "headers": {
            "Retry-After": {
                "description": "With concurrent-change: seconds to wait",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        },
        "content": {
            "application/problem+json": {"schema": {"anyOf": [ref(kind), ref(answers.Problem)]}}
        },
    }


def _webhook_paths() -> dict[str, Any]:
    """Webhook subscriptions: admin keys only (docs/design.md "Webhooks out")."""

    def op(operation_id: str, summary: str, responses: dict[str, Any], **extra: Any) -> Schema:
        return marketer_operation(operation_id, summary, "admin", responses, **extra)

    webhook_param = [
        {"name": "webhook_id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    unknown = {"404": answer("Problem")}
    return {
        "/api/webhooks": {
            "post": op(
                "addWebhook",
                "Register an endpoint befriend tells of changes, signed per Standard Webhooks",
                {
                    "201": json_body(ref(webhooks.WebhookMade), "The subscription and its secret"),
                    "400": answer("Problem"),
                    "409": answer("Problem"),
                    "413": answer("Problem"),
                    "415": answer("Problem"),
                    "422": answer("Problem"),
                },
                body=ref(webhooks.WebhookIn),
                note="The secret (`whsec_…`) is shown in this answer only. Every delivery is "
                "a POST of `{type, timestamp, data}` with the headers webhook-id (the same on "
                "every retry), webhook-timestamp and webhook-signature. At most 50.",
            ),
            "get": op(
                "listWebhooks",
                "The webhook subscriptions, oldest first (never their secrets)",
                {"200": json_body(ref(webhooks.WebhookList), "Every subscription")},
            ),
        },
        "/api/webhooks/{webhook_id}": {
            "delete": op(
                "removeWebhook",
                "Remove a subscription: nothing more is sent to it",
                {"204": {"description": "Removed"}, **unknown},
                parameters=webhook_param,
            )
        },
        "/api/webhooks/{webhook_id}/test": {
            "post": op(
                "testWebhook",
                "Send one signed webhook.test to the endpoint now",
                {
                    "200": json_body(ref(webhooks.WebhookTried), "What the endpoint answered"),
                    **unknown,
                },
                parameters=webhook_param,
                note="Tried once, with the deliveries' timeouts (3 s to connect, 5 s to answer).",
            )
        },
    }


def _sign_in_paths() -> dict[str, Any]:
    return {
        "/api/sign-in": {
            "get": operation(
                "getSignIn",
                "How the dashboard signs a marketer in",
                {"200": json_body(ref(accounts.SignIn), "With a key, and with an account")},
                tag="public",
                description="Nothing in it is secret: the dashboard's app client has none.",
            )
        },
        "/api/whoami": {
            "get": operation(
                "whoAmI",
                "Who the bearer token speaks for, and its roles",
                {"200": json_body(ref(accounts.WhoAmI), "The key or the account")},
                key="any",
                tag="marketer",
                description="Needs an API key or an account with any role.",
            )
        },
    }
