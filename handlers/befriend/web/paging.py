"""Pages of a list the marketer API walks (a play's audience, the open tasks): the `limit`
parameter, and the cursor of the next page, signed by this API, so a caller can only go on
where a page ended."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from befriend.core.words import N_
from befriend.web.problems import Problem, bad_parameter
from befriend.web.services import services

PAGE = 50
MAX_PAGE = 200


def page_limit(raw: str | None) -> int:
    """The `limit` asked for (PAGE when none); 400 for anything but 1 to MAX_PAGE."""
    if raw is None:
        return PAGE
    if not raw.isascii() or not raw.isdigit() or len(raw) > 3 or not 1 <= int(raw) <= MAX_PAGE:
        raise bad_parameter("limit", N_("must be a whole number from 1 to %(n)d"), n=MAX_PAGE)
    return int(raw)


def invalid_cursor() -> Problem:
    return Problem(
        400,
        "invalid-cursor",
        N_("This cursor is not valid"),
        N_("Use the `next` cursor of the previous page unchanged, or start again without one."),
    )


def write_cursor(salt: str, payload: dict[str, Any]) -> str:
    return str(_signer(salt).dumps(payload))


def read_cursor(salt: str, cursor: str, longest: int) -> dict[str, Any]:
    """The payload of a cursor this API signed with `salt`; 400 for anything else (what
    the payload must hold is the caller's to check)."""
    try:
        payload = _signer(salt).loads(cursor) if len(cursor) <= longest else None
    except (BadSignature, UnicodeError, ValueError) as exc:
        raise invalid_cursor() from exc
    if not isinstance(payload, dict):
        raise invalid_cursor()
    return payload


def _signer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(services().settings.secret, salt=salt)
