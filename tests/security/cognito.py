"""A user pool in moto for the tests of marketers' accounts: users in groups, signed in
with their password, and the tokens they get, taken apart and put together again."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any

from tests.security.conftest import ROLES

PASSWORD = "Correct-Horse-Battery-9"


@dataclass
class Pool:
    """A user pool in moto with the dashboard's app client and a second client."""

    idp: Any  # boto3's cognito-idp client on moto
    id: str
    client: str
    other_client: str
    endpoint: str

    def user(self, *groups: str) -> str:
        """A new confirmed user in `groups`; their name."""
        name = f"user-{uuid.uuid4().hex[:10]}"
        self.idp.admin_create_user(
            UserPoolId=self.id, Username=name, TemporaryPassword=PASSWORD, MessageAction="SUPPRESS"
        )
        self.idp.admin_set_user_password(
            UserPoolId=self.id, Username=name, Password=PASSWORD, Permanent=True
        )
        for group in groups:
            self.idp.admin_add_user_to_group(UserPoolId=self.id, Username=name, GroupName=group)
        return name

    def tokens(self, name: str, client: str | None = None) -> dict[str, Any]:
        """What signing in with the user's password gives (USER_PASSWORD_AUTH)."""
        answer = self.idp.initiate_auth(
            ClientId=client or self.client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD},
        )
        found: dict[str, Any] = answer["AuthenticationResult"]
        return found

    def access(self, *groups: str) -> str:
        return str(self.tokens(self.user(*groups))["AccessToken"])


def make_pool(idp: Any, endpoint: str) -> Pool:
    pool = idp.create_user_pool(PoolName=f"befriend-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    clients = [
        idp.create_user_pool_client(
            UserPoolId=pool,
            ClientName=name,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        for name in ("dashboard", "another app")
    ]
    for group in (*ROLES, "unrelated"):
        idp.create_group(UserPoolId=pool, GroupName=group)
    return Pool(idp, pool, clients[0], clients[1], endpoint)


def segments(token: str) -> list[Any]:
    """A token's header and claims, read without checking anything, and its signature."""
    head, body, signature = token.split(".")
    parts = [json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in (head, body)]
    return [*parts, signature]


def encode(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def tampered(token: str, **claims: Any) -> str:
    """The token with its claims changed and its signature kept."""
    header, payload, signature = segments(token)
    return f"{encode(header)}.{encode({**payload, **claims})}.{signature}"
