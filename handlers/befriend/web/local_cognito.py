"""Local mode only: the dashboard's way to moto's Cognito, `POST /dev/cognito`.

In AWS the dashboard signs in on the user pool's hosted page; moto has none, so under
`befriend serve` it sends a user name and password with Cognito's own API instead
(InitiateAuth with USER_PASSWORD_AUTH, then REFRESH_TOKEN_AUTH; GlobalSignOut to sign
out, as moto has no RevokeToken). Those calls come here, on the page's own origin, so the
page's Content-Security-Policy stays `connect-src 'self'`, and go on to moto with the same
body: only these, only for the dashboard's app client. Nothing is logged but the action,
and moto's error messages (which repeat the token they refuse) are not passed on.

Registered by `create_app` only when `BEFRIEND_LOCAL=1`."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from flask import Blueprint, Response, request

from befriend.web.services import services

bp = Blueprint("local_cognito", __name__, url_prefix="/dev")
log = logging.getLogger("befriend")
TARGET = "AWSCognitoIdentityProviderService."
# Cognito's action -> the boto3 method that sends it.
ACTIONS = {
    "InitiateAuth": "initiate_auth",
    "GlobalSignOut": "global_sign_out",
}
FLOWS = ("USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH")
JSON_11 = "application/x-amz-json-1.1"


@bp.post("/cognito")
def cognito() -> Response:
    action = request.headers.get("X-Amz-Target", "").removeprefix(TARGET)
    if action not in ACTIONS:
        return _error(400, "UnknownOperationException", "Only sign-in and sign-out pass here")
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        return _error(400, "SerializationException", "The body must be a JSON object")
    settings = services().settings
    client_id = body.get("ClientId")
    if action != "GlobalSignOut" and client_id != settings.user_pool_client:
        return _error(400, "ResourceNotFoundException", "Not the dashboard's app client")
    if action == "InitiateAuth" and body.get("AuthFlow") not in FLOWS:
        return _error(400, "InvalidParameterException", "Sign in with a user name and password")
    idp: Any = boto3.client(
        "cognito-idp", region_name=settings.region, endpoint_url=settings.cognito_endpoint
    )
    try:
        if action == "GlobalSignOut":
            answer = _sign_out_everywhere(idp, body)
        else:
            answer = getattr(idp, ACTIONS[action])(**body)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        return _error(status, code, "Cognito refused this")
    except ParamValidationError:
        return _error(400, "InvalidParameterException", "The request's fields are not Cognito's")
    except BotoCoreError:
        log.warning("moto's Cognito did not answer %s", action)
        return _error(503, "ServiceUnavailable", "moto's Cognito did not answer")
    answer.pop("ResponseMetadata", None)
    return Response(json.dumps(answer), 200, content_type=JSON_11)


def _sign_out_everywhere(idp: Any, body: dict[str, Any]) -> dict[str, Any]:
    """GlobalSignOut as Cognito does it: every token of the access token's user ends.

    moto's server looks for the token of an unsigned GlobalSignOut in its default region
    only (an unsigned request names none), so the user is found as GetUser finds it, in
    any region, and signed out with the admin call, which is signed with the pool's."""
    user = idp.get_user(AccessToken=body.get("AccessToken", ""))
    pool = services().settings.user_pool
    idp.admin_user_global_sign_out(UserPoolId=pool, Username=user["Username"])
    return {}


def _error(status: int, code: str, message: str) -> Response:
    """An error as Cognito writes one, so the page reads both alike."""
    return Response(json.dumps({"__type": code, "message": message}), status, content_type=JSON_11)
