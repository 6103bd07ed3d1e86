"""Feedback in: the paths other sending tools post to, and the admin's registry of them."""

from __future__ import annotations

from typing import Any

from befriend.core.contract import answers, requests
from befriend.web.openapi.blocks import Schema, answer, json_body, operation
from befriend.web.openapi.components import ref
from befriend.web.openapi.marketer import marketer_operation

SOURCE = {"name": "source_id", "in": "path", "required": True, "schema": {"type": "string"}}
SECRET = {"name": "secret", "in": "path", "required": True, "schema": {"type": "string"}}
REFUSED = {
    "description": "Not verified: an unknown source, a wrong secret, a bad signature or a "
    "timestamp more than five minutes away (one answer for all, so no source is revealed)",
    "headers": {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}},
    "content": {"application/problem+json": {"schema": ref(answers.Problem)}},
}
TAKEN = json_body(
    ref(answers.Accepted),
    "Taken: recorded once for the active person it names, nothing for anyone else (the "
    "answer is the same either way)",
)


def _feedback_paths() -> dict[str, Any]:
    malformed = {
        "400": answer("Problem"),
        "413": answer("Problem"),
        "415": answer("Problem"),
        "422": answer("Problem"),
    }
    generic = requests.ToolFeedbackIn
    tool_body: Schema = {
        "anyOf": [
            ref(generic),
            {"type": "object", "description": "A Brevo webhook event, as Brevo documents it"},
            {"type": "array", "items": {"type": "object"}, "maxItems": 100},
        ]
    }
    return {
        "/api/feedback/{source_id}": {
            "post": operation(
                "toolFeedback",
                "An unsubscribe, complaint or bounce another tool reports (generic or Brevo)",
                {"202": TAKEN, "401": REFUSED, **malformed},
                tag="feedback",
                parameters=[SOURCE],
                body=tool_body,
                description="A generic source's notice is signed per Standard Webhooks "
                "(`webhook-id`, `webhook-timestamp`, `webhook-signature` with its `whsec_` "
                "secret); a Brevo source's call carries its secret as `Authorization: Bearer` "
                "or as the password of basic authentication. See docs/integrations.md.",
            )
        },
        "/api/feedback/{source_id}/{secret}": {
            "get": operation(
                "mailchimpCheck",
                "Mailchimp's check that the webhook URL answers",
                {"200": json_body(ref(answers.Accepted), "The URL works"), "401": REFUSED},
                tag="feedback",
                parameters=[SOURCE, SECRET],
            ),
            "post": operation(
                "mailchimpFeedback",
                "A Mailchimp webhook: unsubscribe or cleaned",
                {"202": TAKEN, "401": REFUSED, **malformed},
                tag="feedback",
                parameters=[SOURCE, SECRET],
                requestBody={
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "type": {"type": "string"},
                                    "fired_at": {"type": "string"},
                                    "data[email]": {"type": "string"},
                                    "data[reason]": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                description="Mailchimp signs nothing: the secret in the URL is the credential. "
                "Other types (subscribe, profile, upemail, campaign) are taken and left.",
            ),
        },
        "/api/feedback-sources": {
            "get": marketer_operation(
                "listFeedbackSources",
                "The tools registered to report what came back",
                "admin",
                {"200": json_body(ref(answers.FeedbackSourceList), "Every source, oldest first")},
            ),
            "post": marketer_operation(
                "addFeedbackSource",
                "Register a tool to report unsubscribes, complaints and bounces",
                "admin",
                {
                    "201": json_body(
                        ref(answers.FeedbackSourceMade), "The source and its secret, shown once"
                    ),
                    **malformed,
                },
                body=ref(requests.FeedbackSourceIn),
            ),
        },
        "/api/feedback-sources/{source_id}": {
            "delete": marketer_operation(
                "removeFeedbackSource",
                "Remove a source: its notices are refused from now on",
                "admin",
                {
                    "200": json_body(ref(answers.FeedbackSource), "The source removed"),
                    "404": answer("Problem"),
                },
                parameters=[SOURCE],
            )
        },
    }
