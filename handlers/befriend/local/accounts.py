"""Marketers' accounts for `befriend serve`: a Cognito user pool in moto, its groups, and
one user in each of `reader`, `ingest` and `admin`, whose names and passwords the server
prints, so the marketer API can be tried with a person's access token as well as a key.

What differs from AWS (docs/design.md, "Accounts"): moto has no hosted sign-in page, so the
local app client allows signing in with a user name and password (USER_PASSWORD_AUTH),
which the deployed dashboard's client does not; moto signs every pool's tokens with one
key of its own and publishes it at the pool's JWKS address on its server."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import boto3

from befriend.credentials.keys import ROLES


@dataclass(frozen=True)
class LocalUser:
    name: str
    password: str  # shown once, when the server starts; never logged


@dataclass(frozen=True)
class LocalPool:
    id: str
    client: str
    users: dict[str, LocalUser]  # role -> its user


def local_pool(region: str, name: str = "befriend-local") -> LocalPool:
    """A user pool in moto (AWS_ENDPOINT_URL points boto3 at it) with the dashboard's app
    client, the three groups and a user in each."""
    idp: Any = boto3.client("cognito-idp", region_name=region)
    pool = idp.create_user_pool(
        PoolName=name,
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 14,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": True,
            }
        },
    )["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="dashboard",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    users = {}
    for role in ROLES:
        idp.create_group(UserPoolId=pool, GroupName=role)
        user = LocalUser(f"local-{role}", _password())
        idp.admin_create_user(
            UserPoolId=pool,
            Username=user.name,
            TemporaryPassword=user.password,
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(
            UserPoolId=pool, Username=user.name, Password=user.password, Permanent=True
        )
        idp.admin_add_user_to_group(UserPoolId=pool, Username=user.name, GroupName=role)
        users[role] = user
    return LocalPool(pool, client, users)


def _password() -> str:
    """Random, and of every kind the pool's policy asks for."""
    return f"{secrets.token_urlsafe(15)}-Aa9"
