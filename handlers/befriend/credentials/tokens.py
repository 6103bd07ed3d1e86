"""Signed, scoped tokens: confirm an address, manage preferences, unsubscribe in one click.

One serializer and salt serve all scopes and the scope travels inside the signed payload,
so a genuine token used for the wrong thing is told apart (403) from a forged one (401).
Manage and confirm tokens carry the person's token generation: "sign out everywhere" moves
the generation on and every older token stops working. Unsubscribe tokens do not expire and
ignore the generation, because an unsubscribe link in a year-old mail must still work and
it can only ever withdraw. Click tokens (a play mail's content links, `web/links.py`)
name the person, the play, the send and the destination, and ignore the generation too:
they open no page of the person's and only say that a link was followed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from msgspec import Struct

from befriend.clock import Clock
from befriend.core.errors import InvalidToken, WrongScope
from befriend.core.words import N_

Scope = Literal["confirm", "manage", "unsubscribe", "email-change", "email-undo", "click"]
MAX_AGE: dict[str, timedelta | None] = {
    "confirm": timedelta(days=7),
    "manage": timedelta(days=90),
    "unsubscribe": None,
    # A new address is confirmed within the days a sign-up is; a change is undone from the
    # old address within as many (core/email_change.py).
    "email-change": timedelta(days=7),
    "email-undo": timedelta(days=7),
    # A play mail's links work for about as long as people go back to a mail; past that the
    # page says the link is old and points to the site.
    "click": timedelta(days=90),
}


class Claims(Struct, frozen=True):
    scope: Scope
    person_id: str
    generation: int
    channel: str | None = None
    purpose: str | None = None  # for unsubscribe: None means every purpose on the channel
    request: str | None = None  # for confirm: the fingerprint of the sign-up it confirms
    # For email-change: the new address, which the person holding this token proves they
    # read mail at (the token travels in a URL fragment and a POST body, never a URL sent).
    address: str | None = None
    # For click: the play whose mail held the link, the send it was (when one was claimed)
    # and where the link goes.
    play: str | None = None
    send: str | None = None
    url: str | None = None
    # When it was signed (to the second): every link of one mail is signed at one moment.
    issued: datetime | None = None


class Tokens:
    def __init__(self, secret: str, clock: Clock) -> None:
        if len(secret) < 32:
            raise ValueError("the token secret must be at least 32 characters")

        self._secret = secret
        self._serializer = _serializer(secret, clock)
        self.clock = clock  # what tokens are signed as of, unless given `at`

    def issue(
        self,
        scope: Scope,
        person_id: str,
        generation: int = 0,
        *,
        channel: str | None = None,
        purpose: str | None = None,
        request: str | None = None,
        address: str | None = None,
        play: str | None = None,
        send: str | None = None,
        url: str | None = None,
        at: datetime | None = None,
    ) -> str:
        """A signed token. Issued again with the same `at` (and claims) it is the same
        token, byte for byte: a retried confirmation gets the answer it lost, not a new
        credential."""
        payload: dict[str, Any] = {"s": scope, "p": person_id, "g": generation}
        if request is not None:
            payload["r"] = request
        if address is not None:
            payload["a"] = address
        if channel is not None:
            payload["c"] = channel
            payload["u"] = purpose
        for key, value in (("y", play), ("d", send), ("l", url)):
            if value is not None:
                payload[key] = value
        serializer = self._serializer if at is None else _serializer(self._secret, lambda: at)
        return str(serializer.dumps(payload))

    def read(self, token: str, scope: Scope) -> Claims:
        """The claims of a genuine, unexpired token of `scope`; raise otherwise."""
        max_age = MAX_AGE[scope]
        try:
            payload, issued = self._serializer.loads(
                token,
                max_age=int(max_age.total_seconds()) if max_age else None,
                return_timestamp=True,
            )
        except SignatureExpired as exc:
            raise InvalidToken(N_("this link has expired")) from exc
        except (BadSignature, UnicodeError, ValueError) as exc:
            raise InvalidToken(N_("this link is not valid")) from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("p"), str):
            raise InvalidToken(N_("this link is not valid"))
        if payload.get("s") != scope:
            raise WrongScope(f"this token is for {payload.get('s')!r}, not {scope!r}")
        return Claims(
            scope,
            payload["p"],
            int(payload.get("g", 0)),
            payload.get("c"),
            payload.get("u"),
            payload.get("r"),
            payload.get("a"),
            _text(payload.get("y")),
            _text(payload.get("d")),
            _text(payload.get("l")),
            issued if isinstance(issued, datetime) else None,
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _serializer(secret: str, clock: Clock) -> URLSafeTimedSerializer:
    class _Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock().timestamp())

    return URLSafeTimedSerializer(secret, salt="befriend.token.v1", signer=_Signer)
