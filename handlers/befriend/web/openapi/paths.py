"""The paths of the public reads, the visitor's API and one-click unsubscribe."""

from __future__ import annotations

from typing import Any

from befriend.core.playbook import HOW_OFTEN, Playbook
from befriend.web.openapi.blocks import HTML_PAGE, TEXT, _answer, _header, _json, _obj, _op, _ref

CONFIRM_TOKEN = {
    "type": "string",
    "minLength": 1,
    "maxLength": 1000,
    "description": "The token of the confirmation link (`/confirm/#t=…`)",
}


def _visitor_paths(pb: Playbook) -> dict[str, Any]:
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
    return {
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
                    "429": _answer("TooManyRequests"),
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
                    "429": _answer("TooManyRequests"),
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
        "/api/confirm/preview": {
            "post": _op(
                "previewConfirmation",
                "What confirming would grant; changes nothing",
                {
                    **invalid,
                    "200": _json(_ref("ConfirmationPreview"), "Shown before the person decides"),
                    "401": _answer("Unauthorized"),
                    "403": _answer("Problem"),
                    "410": _answer("LinkSpent"),
                },
                body=_obj({"token": CONFIRM_TOKEN}),
                description="The confirmation page shows this and grants nothing until the "
                "person presses its button: opening, prefetching or scanning a link changes "
                "nothing.",
            )
        },
        "/api/confirm": {
            "post": _op(
                "confirm",
                "Confirm the sign-up: grants what the person kept ticked",
                {
                    **invalid,
                    "200": _json(
                        _obj({"person": _ref("Person"), "manage_token": TEXT}),
                        "Confirmed. Sent again within ten minutes, the same answer and token",
                    ),
                    "401": _answer("Unauthorized"),
                    "403": _answer("Problem"),
                    "409": _answer("Conflict"),
                    "410": _answer("LinkSpent"),
                },
                body=_obj(
                    {
                        "token": CONFIRM_TOKEN,
                        "permissions": {
                            "type": "array",
                            "items": _ref("Pair"),
                            "maxItems": 200,
                            "description": "The requested permissions to grant (default: all"
                            " of them); one that was not requested is refused",
                        },
                        "keep_name": {
                            "type": "boolean",
                            "description": "Keep the name typed at sign-up (default true)",
                        },
                    },
                    ["token"],
                ),
                description="A confirmation link works once: a retry within ten minutes (a "
                "lost answer) gets the same answer; any later use, or a link a newer sign-up "
                "replaced, is refused with 410 and an offer of a fresh link.",
            )
        },
        "/api/confirm/fresh-link": {
            "post": _op(
                "mailFreshLink",
                "Mail a fresh link for a spent or replaced confirmation link",
                {
                    **invalid,
                    "202": _json(_ref("Accepted"), "Accepted: mailed to the address it was for"),
                    "401": _answer("Unauthorized"),
                    "403": _answer("Problem"),
                    "429": _answer("TooManyRequests"),
                },
                body=_obj({"token": CONFIRM_TOKEN}),
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
                parameters=idem,
                description="An answer adds to the scores at most once every "
                f"{pb.survey.score_every_days} days (the playbook's `survey.score_every_days`): "
                "answers sooner than that after the last one that counted still change interests "
                "and the weekly cap and are recorded, but add nothing to the scores."
                if pb.survey
                else "The playbook has no survey: answers add nothing to the scores.",
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
