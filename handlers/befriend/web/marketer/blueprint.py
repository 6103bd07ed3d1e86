"""The marketer's blueprint, and the check every one of its routes makes first: an API key
(a machine) or a Cognito access token (a person signed in, credentials/accounts.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Blueprint, Response, current_app, g, request

from befriend.core.errors import Unavailable
from befriend.core.words import N_, Phrase
from befriend.credentials.keys import PREFIX, ApiKey, Keys
from befriend.credentials.principal import Principal
from befriend.web.problems import Problem
from befriend.web.services import services

if TYPE_CHECKING:
    from befriend.credentials.accounts import Accounts

bp = Blueprint("marketer", __name__, url_prefix="/api")
REALM = 'Bearer realm="befriend-marketer"'

V = TypeVar("V", bound=Callable[..., Response])


def requires(role: str) -> Callable[[V], V]:
    """The view answers only to a live API key or a signed-in account whose role allows
    `role`; checked first. The view finds who asked in `principal()`."""

    def wrap(view: V) -> V:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Response:
            g.principal = who(role)
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return wrap


def who(role: str) -> Principal:
    """The API key (`bfk_…`) or the account the request's bearer token speaks for, acting
    in `role`: 401 when it is missing or refused, 403 (recorded in the audit trail) when
    it is known and `role` is not one it holds."""
    found = signed_in()
    if not found.allows(role):
        _refuse(found, role)
    return found.acting(role)


def signed_in() -> Principal:
    """Whoever the bearer token speaks for, with every role it holds: 401 when it is
    missing or refused."""
    secret = _bearer()
    accounts = None if secret.startswith(PREFIX) else _accounts()
    if accounts is None:
        return Principal.of_key(api_key())
    return account(accounts, secret)


def _bearer() -> str:
    """The request's bearer token: 401 when there is none."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Problem(
            401,
            "missing-api-key",
            N_("An API key is required"),
            N_("Send it as `Authorization: Bearer <key>`; `befriend keys create` makes one."),
            headers={"WWW-Authenticate": REALM},
        )
    return secret


def api_key() -> ApiKey:
    """The request's API key: 401 when missing, unknown or revoked."""
    key = Keys(services().store).find(_bearer())
    if key is None:
        raise Problem(
            401,
            "invalid-api-key",
            N_("This API key does not work"),
            N_("It is unknown or was revoked. A manage token from a mail is not an API key."),
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )
    return key


def _refuse(found: Principal, role: str) -> None:
    """403 for a known key or account whose roles do not allow `role`; the attempt is
    recorded first (under the highest role it holds), so an admin sees who tried what."""
    # Imported here: the audit module builds on this blueprint.
    from befriend.web.marketer.audit import record_refusal

    record_refusal(found, role)
    held = ", ".join(found.held)
    if found.kind == "key":
        raise _out_of_role(
            N_("This API key may not do this"),
            N_("This needs a key with the role %(role)s (or admin); this key is %(held)s."),
            {"role": role, "held": held},
        )
    raise _out_of_role(
        N_("This account may not do this"),
        N_("This needs an account in the group %(role)s (or admin); this one is %(held)s."),
        {"role": role, "held": held},
    )


def _out_of_role(title: str, detail: str, values: dict[str, object] | None = None) -> Problem:
    """403: the key or account is known, its role does not allow what was asked."""
    return Problem(
        403,
        "insufficient-role",
        title,
        detail,
        values or {},
        headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope"'},
    )


def _accounts() -> Accounts | None:
    """The pool's token checker, made on the first token this container sees (None: no
    pool is configured, so every bearer token is taken for an API key)."""
    found: Accounts | None = current_app.extensions.get("befriend.accounts")
    settings = services().settings
    if found is None and settings.user_pool and settings.user_pool_client:
        # Imported here, not above: the account check (the pool's keys, the RS256 check,
        # Cognito's client) is for requests carrying an access token alone, never for a
        # visitor's cold start (docs/design.md, "Accounts").
        from befriend.credentials.accounts import Accounts, Pool

        pool = Pool(
            settings.user_pool,
            settings.user_pool_client,
            settings.region,
            settings.cognito_endpoint,
        )
        found = current_app.extensions.setdefault(
            "befriend.accounts", Accounts(pool, services().clock)
        )
    return found


def account(accounts: Accounts, token: str) -> Principal:
    """The account a Cognito access token speaks for: 401 when the token is refused (bad,
    expired, another pool's or client's, its user disabled or deleted), 403 when it is in
    none of the groups, 503 when Cognito cannot be asked."""
    from befriend.credentials.accounts import NoRole, Refused, Unreachable

    try:
        found = accounts.principal(token)
    except Refused as refused:
        raise Problem(
            401,
            "invalid-token",
            N_("This sign-in does not work"),
            N_("The access token is refused: %(why)s. Sign in again."),
            {"why": Phrase(refused.why)},
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        ) from None
    except NoRole:
        raise _out_of_role(
            N_("This account may not do this"),
            N_("The account is in none of the groups reader, ingest and admin."),
        ) from None
    except Unreachable as unreachable:
        raise Unavailable(str(unreachable)) from None
    return found


def principal() -> Principal:
    """Who the current marketer request speaks for (set by `requires`, which runs first)."""
    found = g.get("principal")
    if not isinstance(found, Principal):
        raise RuntimeError("principal() is for views behind @requires")
    return found
