"""The paths of the public reads, the visitor's API, one-click unsubscribe and the
redirect of a play mail's links."""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from befriend.core.contract import answers, requests
from befriend.core.playbook import Playbook
from befriend.web.openapi.blocks import (
    CONTENT_LANGUAGE,
    HTML_PAGE,
    LANG,
    Schema,
    answer,
    header,
    json_body,
    operation,
)
from befriend.web.openapi.components import ref


def _visitor_paths(pb: Playbook) -> dict[str, Any]:
    accepted = json_body(
        ref(answers.Accepted),
        "Accepted. The same answer whether or not the address is known.",
        headers={"Idempotent-Replayed": header("Idempotent-Replayed")},
    )
    me = json_body(ref(answers.Person), "The person as they are now")
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
        "400": answer("Problem"),
        "413": answer("Problem"),
        "415": answer("Problem"),
        "422": answer("Problem"),
    }
    # A confirmation link that does not work: forged or expired (401), or spent (410).
    spent = {
        "401": answer("Unauthorized"),
        "403": answer("Problem"),
        "410": answer("LinkSpent"),
    }

    def change(operation_id: str, summary: str, body: type[Struct]) -> Schema:
        """A change to the person's own page: answered with the person as they are now."""
        responses = {**invalid, "200": me, "409": answer("Conflict")}
        return operation(operation_id, summary, responses, auth=True, body=ref(body))

    return {
        "/api/health": {
            "get": operation(
                "health",
                "Liveness",
                {"200": json_body(ref(answers.Health), "Up")},
                tag="public",
            )
        },
        "/api/playbook": {
            "get": operation(
                "getPlaybook",
                "The public part of the playbook",
                {
                    "200": json_body(
                        ref(answers.Playbook),
                        "Channels, purposes, topics and the policy, in the language asked for",
                        headers={"Content-Language": CONTENT_LANGUAGE},
                    )
                },
                tag="public",
                parameters=[LANG],
            )
        },
        "/api/openapi.json": {
            "get": operation(
                "getOpenApi",
                "This document",
                {
                    "200": json_body(
                        ref(answers.OpenApi),
                        "OpenAPI 3.1",
                    )
                },
                tag="public",
            )
        },
        "/api/signup": {
            "post": operation(
                "signup",
                "Sign up (double opt-in)",
                {
                    **invalid,
                    "202": accepted,
                    "303": answer("SeeOther"),
                    "422": answer("FormErrors"),
                    "429": answer("TooManyRequests"),
                },
                parameters=idem,
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {"schema": ref(requests.Signup)},
                        "application/x-www-form-urlencoded": {"schema": ref(requests.SignupForm)},
                    },
                },
            )
        },
        "/api/link": {
            "post": operation(
                "requestLink",
                "Mail me a fresh link to my preferences",
                {
                    **invalid,
                    "202": json_body(
                        ref(answers.Accepted), "Accepted, whether or not the address is known"
                    ),
                    "303": answer("SeeOther"),
                    "422": answer("FormErrors"),
                    "429": answer("TooManyRequests"),
                },
                requestBody={
                    "required": True,
                    "content": {
                        media: {"schema": ref(requests.EmailOnly)}
                        for media in ("application/json", "application/x-www-form-urlencoded")
                    },
                },
            )
        },
        "/api/confirm/preview": {
            "post": operation(
                "previewConfirmation",
                "What confirming would grant; changes nothing",
                {
                    **invalid,
                    "200": json_body(
                        ref(answers.ConfirmationPreview), "Shown before the person decides"
                    ),
                    **spent,
                },
                body=ref(requests.TokenOnly),
                description="The confirmation page shows this and grants nothing until the "
                "person presses its button: opening, prefetching or scanning a link changes "
                "nothing.",
            )
        },
        "/api/confirm": {
            "post": operation(
                "confirm",
                "Confirm the sign-up: grants what the person kept ticked",
                {
                    **invalid,
                    "200": json_body(
                        ref(answers.Confirmed),
                        "Confirmed. Sent again within ten minutes, the same answer and token",
                    ),
                    **spent,
                    "409": answer("Conflict"),
                },
                body=ref(requests.Confirm),
                description="A confirmation link works once: a retry within ten minutes (a "
                "lost answer) gets the same answer; any later use, or a link a newer sign-up "
                "replaced, is refused with 410 and an offer of a fresh link.",
            )
        },
        "/api/confirm/fresh-link": {
            "post": operation(
                "mailFreshLink",
                "Mail a fresh link for a spent or replaced confirmation link",
                {
                    **invalid,
                    "202": json_body(
                        ref(answers.Accepted), "Accepted: mailed to the address it was for"
                    ),
                    "401": answer("Unauthorized"),
                    "403": answer("Problem"),
                    "429": answer("TooManyRequests"),
                },
                body=ref(requests.TokenOnly),
            )
        },
        "/api/me": {
            "get": operation("getMe", "Everything about me and my choices", {"200": me}, auth=True),
            "delete": operation(
                "eraseMe",
                "Erase me (GDPR Art. 17)",
                {
                    "204": {"description": "Erased; only a suppression hash remains"},
                    "409": answer("Conflict"),
                },
                auth=True,
            ),
        },
        "/api/me/permissions": {
            "patch": change(
                "changePermissions", "Grant or withdraw permissions", requests.PermissionChanges
            )
        },
        "/api/me/interests": {
            "put": change("setInterests", "Replace my interests", requests.Interests)
        },
        "/api/me/settings": {
            "patch": change(
                "updateSettings",
                "Change name, time zone, quiet hours, caps, pause, handles",
                requests.SettingsPatch,
            )
        },
        "/api/me/withdraw-all": {
            "post": operation(
                "withdrawAll",
                "Withdraw every permission at once",
                {"200": me, "409": answer("Conflict")},
                auth=True,
            )
        },
        "/api/me/next-steps/{play_id}/decline": {
            "post": operation(
                "declineStep",
                "No thanks: the step rests for its cooldown",
                {"200": me, "404": answer("Problem"), "409": answer("Conflict")},
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
            "post": operation(
                "answerSurvey",
                "The engagement survey: updates interests, the weekly cap and the scores",
                {
                    "200": me,
                    "400": answer("Problem"),
                    "409": answer("Conflict"),
                    "413": answer("Problem"),
                    "415": answer("Problem"),
                    "422": answer("Problem"),
                },
                auth=True,
                body=ref(requests.Survey),
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
            "post": operation(
                "signOutEverywhere",
                "Revoke every manage link; answers with a fresh token for this page",
                {
                    "200": json_body(ref(answers.PersonWithToken), "Signed out elsewhere"),
                    "409": answer("Conflict"),
                },
                auth=True,
            )
        },
        "/api/me/receipts": {
            "get": operation(
                "listReceipts",
                "My consent receipts (Kantara CR v1.1)",
                {
                    "200": json_body(
                        ref(answers.Receipts),
                        "Oldest first",
                    )
                },
                auth=True,
            )
        },
        "/api/me/export": {
            "get": operation(
                "exportMe",
                "Everything held about me (GDPR Art. 15/20)",
                {
                    "200": json_body(
                        ref(answers.Export),
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
        **_email_paths(invalid),
        **_postal_paths(invalid, me),
        **_phone_paths(invalid, me),
        "/api/r/{token}": {
            "get": operation(
                "followLink",
                "Follow a play mail's link: counted as a click once per mail, then 302 on",
                {
                    "302": {
                        "description": "On to the link's destination (the site, or a host of "
                        "the playbook's `link_hosts`), with `Referrer-Policy: no-referrer` and "
                        "`Cache-Control: no-store`. HEAD answers the same and counts nothing",
                        "headers": {"Location": header("Location")},
                    },
                    "401": {
                        "description": "The link is altered, forged, expired or not a link's "
                        "token at all: a problem, or a page for a browser; never a redirect",
                        "content": {
                            "application/problem+json": {"schema": ref(answers.Problem)},
                            **HTML_PAGE,
                        },
                    },
                    "403": {
                        "description": "Its destination is not allowed (any more): a problem, "
                        "or a page for a browser; never a redirect",
                        "content": {
                            "application/problem+json": {"schema": ref(answers.Problem)},
                            **HTML_PAGE,
                        },
                    },
                },
                tag="links",
                parameters=[
                    {
                        "name": "token",
                        "in": "path",
                        "required": True,
                        "description": "The signed link from the mail (person, play, send and "
                        "destination)",
                        "schema": {"type": "string"},
                    }
                ],
            )
        },
        "/api/unsubscribe/{token}": {
            "get": operation(
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
            "post": operation(
                "unsubscribeOneClick",
                "One-click unsubscribe (RFC 8058)",
                {
                    "200": {
                        "description": "Withdrawn (also when nothing was granted). A browser "
                        "that prefers HTML gets a page.",
                        "content": {
                            "application/json": {"schema": ref(answers.Unsubscribed)},
                            **HTML_PAGE,
                        },
                    },
                    "400": answer("Problem"),
                    "401": {
                        "description": "The link is not valid: a problem, or a page for a browser",
                        "headers": {
                            "WWW-Authenticate": {
                                "description": "Sent with the problem, not with the page",
                                "schema": {"type": "string", "pattern": "^Bearer"},
                            }
                        },
                        "content": {
                            "application/problem+json": {"schema": ref(answers.Problem)},
                            **HTML_PAGE,
                        },
                    },
                    "409": answer("Conflict"),
                    "413": answer("Problem"),
                },
                tag="one-click",
                parameters=token_param,
                requestBody={
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {"schema": ref(requests.OneClick)}
                    },
                },
            ),
        },
    }


def _phone_paths(invalid: dict[str, Any], me: dict[str, Any]) -> dict[str, Any]:
    """A phone number, verified by a texted code (core/phones.py, mailing/sms.py)."""
    return {
        "/api/me/contacts/phone": {
            "post": operation(
                "giveNumber",
                "Give my phone number: a six-digit code is texted to it",
                {
                    **invalid,
                    "202": json_body(
                        ref(answers.Person),
                        "Accepted: the person as they are now, the number unverified. The same"
                        " answer and work whoever holds the number; the code goes out after the"
                        " answer, at most 3 an hour to one number",
                    ),
                    "409": answer("Conflict"),
                },
                auth=True,
                body=ref(requests.PhoneNumber),
                description="The number is read with its country code and must be from a "
                "country one of the playbook's phone channels allows (`countries`); malformed, "
                "disallowed and premium-rate numbers are a 422 naming `number`. A new number "
                "ends every permission given for the old one (ledger source `contact-change`); "
                "with `carry_over` they are asked again for the new one, granted once it is "
                "verified. The same number again sends a new code.",
            )
        },
        "/api/me/contacts/phone/verify": {
            "post": operation(
                "verifyNumber",
                "Verify my number with the code texted to it",
                {**invalid, "200": me, "409": answer("Conflict")},
                auth=True,
                body=ref(requests.PhoneCode),
                description="A code is good for 10 minutes and 5 tries, and only for the number "
                "it was sent to; a wrong, expired, used-up or superseded code is a 422 naming "
                "`code`. Verified, the phone-channel permissions asked for "
                "(`contacts.phone_asked`) are granted.",
            )
        },
    }


def _email_paths(invalid: dict[str, Any]) -> dict[str, Any]:
    """Changing one's email address: asked for, confirmed from the new address, undone
    from the old one (core/email_change.py)."""
    moved = json_body(
        ref(answers.Confirmed), "The person as they are now, and a manage token for the page"
    )
    link = {"401": answer("Unauthorized"), "403": answer("Problem")}
    return {
        "/api/me/contacts/email": {
            "post": operation(
                "changeEmail",
                "Move my sign-up to another address, once it is confirmed from there",
                {
                    **invalid,
                    "202": json_body(
                        ref(answers.Accepted),
                        "Accepted. The same answer whether the address is free, someone's or"
                        " erased; nothing changes until the link mailed to it is opened",
                    ),
                    "429": answer("TooManyRequests"),
                },
                auth=True,
                body=ref(requests.NewEmail),
                description="The new address gets a confirmation link (double opt-in, under "
                "the sign-up's limits); the person's own address again is a 422 naming "
                "`email`. Once confirmed, the old address gets a notice with a link that "
                "undoes the change within 7 days. Permissions stay with the person.",
            )
        },
        "/api/contacts/email/confirm": {
            "post": operation(
                "confirmEmailChange",
                "Confirm the new address: the address and its lookup move together",
                {**invalid, "200": moved, **link, "409": answer("Conflict")},
                body=ref(requests.EmailLink),
                description="The token of the link mailed to the new address (`/email/#t=…`). "
                "A link works for the change it was mailed for: sent again once the address "
                "is moved, the same answer; once another change was made, 401. 409 when the "
                "address was taken or erased meanwhile (nothing changes).",
            )
        },
        "/api/contacts/email/undo": {
            "post": operation(
                "undoEmailChange",
                "Undo an address change from the old address, within 7 days",
                {**invalid, "200": moved, **link, "409": answer("Conflict")},
                body=ref(requests.EmailLink),
                description="The token of the link in the notice mailed to the old address "
                "(`/email/#undo=…`). The address moves back and every manage link issued so "
                "far stops working (the answer holds a fresh one). After 7 days, or once "
                "undone, 401.",
            )
        },
    }


def _postal_paths(invalid: dict[str, Any], me: dict[str, Any]) -> dict[str, Any]:
    """The postal address (core/postal.py)."""
    return {
        "/api/me/contacts/postal": {
            "put": operation(
                "setPostalAddress",
                "Give or replace my postal address",
                {**invalid, "200": me, "409": answer("Conflict")},
                auth=True,
                body=ref(requests.PostalAddressIn),
                description="Checked for shape only: control characters, a line over 100 "
                "characters, more than 4 lines or a country that is not ISO 3166-1 alpha-2 is "
                "a 422 naming the field. A new address ends the postal permissions given for "
                "the old one (source `contact-change`) unless `carry_over` is true; the same "
                "address again changes nothing. A permission for post needs an address first: "
                "post asked for at sign-up (`contacts.postal_asked`) is granted now.",
            ),
            "delete": operation(
                "removePostalAddress",
                "Remove my postal address; the postal permissions end",
                {"200": me, "409": answer("Conflict")},
                auth=True,
            ),
        }
    }
