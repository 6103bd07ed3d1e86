"""The OpenAPI 3.1 document of the API, built from the playbook so enums stay true.

The schemas are derived from the contract's types (`core/contract/`, via `components`);
this package adds the operations: paths, parameters, responses and security. Tests check
that every route Flask serves is described here and that real answers match the schemas,
so the document cannot drift from the code. Objects the API builds itself are closed
(`additionalProperties: false`); problem documents stay open, as RFC 9457 allows
extension members.
"""

from __future__ import annotations

from befriend.core.playbook import Playbook
from befriend.web.openapi.blocks import Schema
from befriend.web.openapi.components import components
from befriend.web.openapi.feedback import _feedback_paths
from befriend.web.openapi.marketer import _marketer_paths
from befriend.web.openapi.megaphone import _megaphone_paths
from befriend.web.openapi.paths import _visitor_paths
from befriend.web.openapi.reports import _report_paths
from befriend.web.openapi.responses import _headers, _responses

__all__ = ["document"]


def document(pb: Playbook) -> Schema:
    """The whole OpenAPI 3.1 document for this playbook."""
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
                "name": "links",
                "description": "A play mail's links: counted once per mail, then on to the site "
                "or a host the playbook allows",
            },
            {
                "name": "marketer",
                "description": "People, plays, audiences and reports out; events and "
                "outcomes in. "
                "Needs an API key (`befriend keys create`)",
            },
            {
                "name": "feedback",
                "description": "Unsubscribes, complaints and bounces other sending tools "
                "report; each source is registered by an admin (docs/integrations.md)",
            },
        ],
        "paths": {
            **_visitor_paths(pb),
            **_marketer_paths(pb),
            **_report_paths(),
            **_feedback_paths(),
            **_megaphone_paths(),
        },
        "components": {
            "schemas": components(pb),
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
                    "role reader, ingest or admin; or a person's Cognito access token from "
                    "the dashboard's sign-in (`GET /api/sign-in`), whose groups reader, ingest "
                    "and admin are its roles.",
                },
            },
        },
    }
