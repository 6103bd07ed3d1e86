"""Who a marketer request speaks for: an API key (a machine, named when it was made) or a
person signed in with an account. Every marketer route is checked against it and every
read of personal data is recorded under it, whichever of the two it is."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from befriend.credentials.keys import ApiKey

Kind = Literal["key", "user"]


class Principal(Struct, frozen=True):
    kind: Kind
    name: str  # the key's name, or the account's user name
    role: str  # reader, ingest or admin (credentials.keys.ROLES)

    def allows(self, role: str) -> bool:
        """True when this principal may act in `role`: its own, or any as admin."""
        return self.role == role or self.role == "admin"

    @classmethod
    def of_key(cls, key: ApiKey) -> Principal:
        return cls("key", key.name, key.role)
