"""The marketer's blueprint, and the API key check every one of its routes makes first."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, g, request

from befriend.core.words import N_
from befriend.credentials.keys import ApiKey, Keys
from befriend.credentials.principal import Principal
from befriend.web.problems import Problem
from befriend.web.services import services

bp = Blueprint("marketer", __name__, url_prefix="/api")
REALM = 'Bearer realm="befriend-marketer"'

V = TypeVar("V", bound=Callable[..., Response])


def requires(role: str) -> Callable[[V], V]:
    """The view answers only to a live API key whose role allows `role`; checked first.
    The view finds who asked in `principal()`."""

    def wrap(view: V) -> V:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Response:
            g.principal = Principal.of_key(api_key(role))
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return wrap


def api_key(role: str) -> ApiKey:
    """The request's API key: 401 when missing, unknown or revoked; 403 for another role."""
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
    key = Keys(services().store).find(secret)
    if key is None:
        raise Problem(
            401,
            "invalid-api-key",
            N_("This API key does not work"),
            N_("It is unknown or was revoked. A manage token from a mail is not an API key."),
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )
    if not key.allows(role):
        raise Problem(
            403,
            "insufficient-role",
            N_("This API key may not do this"),
            N_("This needs a key with the role %(role)s (or admin); this key is %(held)s."),
            {"role": role, "held": key.role},
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope"'},
        )
    return key


def principal() -> Principal:
    """Who the current marketer request speaks for (set by `requires`, which runs first)."""
    found = g.get("principal")
    if not isinstance(found, Principal):
        raise RuntimeError("principal() is for views behind @requires")
    return found
