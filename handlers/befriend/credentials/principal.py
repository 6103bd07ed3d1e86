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
    # The other roles it holds: an account in the groups reader and ingest is both. A key
    # has one role.
    also: tuple[str, ...] = ()

    @property
    def held(self) -> tuple[str, ...]:
        """Every role it holds."""
        return (self.role, *self.also)

    def allows(self, role: str) -> bool:
        """True when this principal may act in `role`: one it holds, or any as admin."""
        return role in self.held or "admin" in self.held

    def acting(self, role: str) -> Principal:
        """This principal as it acts in `role`, which it `allows`: with the role it holds
        for it (admin when only that allows it), so a request is recorded under the role
        it used."""
        used = role if role in self.held else "admin"
        return Principal(self.kind, self.name, used)

    @classmethod
    def of_key(cls, key: ApiKey) -> Principal:
        return cls("key", key.name, key.role)
