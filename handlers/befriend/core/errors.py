"""Domain errors. The web edge maps each to one HTTP problem type; nothing here knows HTTP."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from befriend.core.words import ENGLISH, Words, say


class BefriendError(Exception):
    """Base of every error befriend raises on purpose."""


class PlaybookError(BefriendError):
    """The playbook file is wrong; the message starts with the dotted key at fault."""


class FieldError(msgspec.Struct, frozen=True):
    """One invalid field of a request: a JSON-pointer-ish path and a reason for people,
    written as a template with its values beside it (`"at most %(n)d characters"`, n=80)
    and marked for the catalogs (`N_`), so the web edge says it in the request's language.
    A template without values is said as it is (a `%` in it needs no doubling)."""

    field: str
    template: str
    values: Mapping[str, object] = msgspec.field(default_factory=dict)

    @property
    def message(self) -> str:
        """The reason in English, as the sources write it."""
        return self.said(ENGLISH)

    def said(self, words: Words) -> str:
        """The reason in `words`' language."""
        return say(words, self.template, self.values)


class InvalidInput(BefriendError):
    """A request's content does not fit; carries every field that is wrong."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class InvalidToken(BefriendError):
    """A token is missing, tampered with, expired or revoked."""


class WrongScope(BefriendError):
    """A valid token used for something it was not issued for."""


class NotFound(BefriendError):
    """The person a valid token names no longer exists."""


class ConcurrentChange(BefriendError):
    """Someone else changed the same person first, more often than we retry."""


class Unavailable(BefriendError):
    """AWS is throttling or out of reach and a later try will help; nothing was written."""


class IdempotencyMismatch(BefriendError):
    """An Idempotency-Key was reused with a different request."""


class LedgerBroken(BefriendError):
    """A ledger chain does not verify; names the first bad entry."""

    def __init__(self, person_id: str, seq: int, reason: str) -> None:
        super().__init__(f"person {person_id}: entry {seq}: {reason}")
        self.person_id = person_id
        self.seq = seq
        self.reason = reason
