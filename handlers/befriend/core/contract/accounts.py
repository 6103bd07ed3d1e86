"""How the dashboard signs marketers in (`GET /api/sign-in`, public) and who a bearer token
speaks for (`GET /api/whoami`). Nothing here is a secret: an app client of a browser page
has none, and the addresses are Cognito's own."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

from befriend.core.contract.answer import Answer

Role = Literal["reader", "ingest", "admin"]
Url = Annotated[str, Meta(description="An absolute https:// address of the hosted sign-in")]


class AccountSignIn(Answer):
    """Where and how a marketer signs in with an account. `hosted`: the pool's hosted page,
    the authorization code with PKCE, then `token` for the tokens and their refresh, and
    `revoke` and `logout` to sign out. `password`: a user name and password sent with
    Cognito's own API (InitiateAuth, USER_PASSWORD_AUTH) to `endpoint`, only under
    `befriend serve`, where moto has no hosted page."""

    how: Literal["hosted", "password"]
    client_id: Annotated[str, Meta(description="The dashboard's app client (no secret)")]
    authorize: Url | None = None
    token: Url | None = None
    revoke: Url | None = None
    logout: Url | None = None
    endpoint: Annotated[
        str | None, Meta(description="Where Cognito's API answers (a path of this origin)")
    ] = None


class SignIn(Answer):
    """How the dashboard may sign in: always with an API key; with an account when the
    deployment has a user pool (null: it has none)."""

    keys: Literal[True]
    accounts: AccountSignIn | None


class WhoAmI(Answer):
    """Who the bearer token speaks for and every role it holds."""

    kind: Annotated[Literal["key", "user"], Meta(description="An API key, or a person signed in")]
    name: Annotated[str, Meta(description="The key's name, or the account's user name")]
    roles: Annotated[list[Role], Meta(description="Admin may do what any role may")]


TYPES_OF_CONTRACT: tuple[type[Struct], ...] = (AccountSignIn, SignIn, WhoAmI)
