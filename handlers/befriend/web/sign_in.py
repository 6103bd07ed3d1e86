"""How the dashboard signs a marketer in: `GET /api/sign-in`, public, read before anyone has
signed in, to offer an account's sign-in beside the API key's. In AWS that is the user
pool's hosted page (authorization code with PKCE); under `befriend serve`, where moto has
no hosted page, a user name and password sent to Cognito's own API through `/dev/cognito`
(web/local_cognito.py). Nothing in it is secret: a browser page's app client has none."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from befriend.config import Settings
from befriend.web.answers import json_answer
from befriend.web.services import services

bp = Blueprint("sign_in", __name__, url_prefix="/api")
# Where the local dashboard sends Cognito's API calls (the local proxy to moto).
LOCAL_COGNITO = "/dev/cognito"


@bp.get("/sign-in")
def sign_in() -> Response:
    return json_answer({"keys": True, "accounts": account_sign_in(services().settings)})


def account_sign_in(settings: Settings) -> dict[str, Any] | None:
    """How an account signs in here, or None when this deployment has no user pool."""
    client = settings.user_pool_client
    if not (settings.user_pool and client):
        return None
    if settings.sign_in_url:
        base = settings.sign_in_url
        return {
            "how": "hosted",
            "client_id": client,
            "authorize": f"{base}/oauth2/authorize",
            "token": f"{base}/oauth2/token",
            "revoke": f"{base}/oauth2/revoke",
            "logout": f"{base}/logout",
        }
    if settings.local:
        return {"how": "password", "client_id": client, "endpoint": LOCAL_COGNITO}
    return None  # a pool without its hosted page: tokens are checked, none is handed out
