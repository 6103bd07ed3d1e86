"""The audit trail's one operation: read it (admin keys only; nothing writes it but the
reads it records)."""

from __future__ import annotations

from typing import Any

from befriend.core.contract import audit
from befriend.web.openapi.blocks import answer, header, json_body
from befriend.web.openapi.components import ref


def _audit_paths() -> dict[str, Any]:
    # Imported here: marketer.py imports this module for its paths.
    from befriend.web.openapi.marketer import marketer_operation

    def query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "description": description,
            "schema": schema,
        }

    text = {"type": "string", "minLength": 1, "maxLength": 200}
    return {
        "/api/audit": {
            "get": marketer_operation(
                "listAudit",
                "The audit trail: who read or exported whose data, newest first",
                "admin",
                {
                    "200": json_body(
                        ref(audit.AuditPage),
                        "A page of entries, newest first",
                        headers={"Link": header("Link")},
                    ),
                    "400": answer("Problem"),
                },
                parameters=[
                    query(
                        "since",
                        "From when: a day (from its start, UTC) or a moment with its offset; "
                        "30 days back when not given",
                        {"type": "string", "examples": ["2026-03-01", "2026-03-01T09:00:00Z"]},
                    ),
                    query("who", "Only what keys or accounts of this name did", text),
                    query("person", "Only what named this person (their id)", text),
                    query(
                        "cursor",
                        "`next` of the previous page, unchanged (with the same filters)",
                        {"type": "string", "minLength": 1, "maxLength": 3000},
                    ),
                    query(
                        "limit",
                        "Entries a page holds at most",
                        {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                    ),
                ],
                note="Every marketer action that gives out or takes in people's data is "
                "recorded before it is answered; when the record cannot be written, that "
                "request is answered 503 (`audit-unavailable`, Retry-After) and nothing is "
                "given out. Entries are kept the playbook's [audit] keep_days. There is no "
                "way to write, change or delete an entry through the API.",
            )
        }
    }
