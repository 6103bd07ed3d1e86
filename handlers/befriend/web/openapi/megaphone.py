"""The megaphone's operations: a person's invite link (`/api/me/invite`) and marketers'
tracked sign-up links (`/api/links`)."""

from __future__ import annotations

from typing import Any

from befriend.core.contract import megaphone, requests
from befriend.web.openapi.blocks import answer, json_body, operation
from befriend.web.openapi.components import ref
from befriend.web.openapi.marketer import marketer_operation


def _megaphone_paths() -> dict[str, Any]:
    invite = json_body(ref(megaphone.Invite), "The invite link, and how many joined through it")
    conflict = {"409": answer("Conflict")}
    invalid = {
        "400": answer("Problem"),
        "413": answer("Problem"),
        "415": answer("Problem"),
        "422": answer("Problem"),
    }
    return {
        "/api/me/invite": {
            "get": operation(
                "getInvite",
                "My invite link, and how many joined through me (never who)",
                {"200": invite},
                auth=True,
            ),
            "post": operation(
                "replaceInvite",
                "A new invite link; the old one stops",
                {"200": invite, **conflict},
                auth=True,
            ),
            "delete": operation(
                "turnOffInvite",
                "Turn my invite link off",
                {"200": invite, **conflict},
                auth=True,
            ),
        },
        "/api/me/invite/inviter": {
            "put": operation(
                "showInviter",
                "Whether my page says who invited me",
                {**invalid, "200": invite, **conflict},
                auth=True,
                body=ref(requests.InviterShown),
            )
        },
        "/api/links": {
            "get": marketer_operation(
                "listTrackedLinks",
                "Every tracked sign-up link, newest first",
                "reader",
                {"200": json_body(ref(megaphone.TrackedLinks), "Newest first")},
            ),
            "post": marketer_operation(
                "createTrackedLink",
                "A tracked sign-up link for a campaign",
                "admin",
                {
                    **invalid,
                    "201": json_body(ref(megaphone.TrackedLink), "Made: share its url"),
                },
                body=ref(requests.TrackedLinkIn),
            ),
        },
    }
