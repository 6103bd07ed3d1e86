"""The megaphone's answers: a person's invite link and reach (`/api/me/invite`), and
marketers' tracked sign-up links (`/api/links`)."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

from befriend.core.contract.answer import Answer
from befriend.core.contract.fields import Count, Stamp

Code = Annotated[str, Meta(pattern="^[a-z2-9]{6,16}$")]


class Invite(Answer):
    """A person's invite link and what it did: how many joined through them and through
    those they brought, never who."""

    person: Annotated[str, Meta(description="The person's id (whose link this is)")]
    code: Code | None = None  # None: turned off (or none made yet)
    url: str | None = None
    joined: Count = 0
    joined_second: Count = 0
    unscored: Annotated[
        int,
        Meta(
            ge=0,
            description="Of `joined`, those past the playbook's daily limit: counted, not scored",
        ),
    ] = 0
    says: Annotated[str, Meta(description="The person's reach in plain words")] = ""
    invited: Annotated[bool, Meta(description="Whether someone's invite brought this person")] = (
        False
    )
    show_inviter: Annotated[
        bool, Meta(description="Whether the person chose to have their page say who invited them")
    ] = False
    inviter: Annotated[
        str | None,
        Meta(
            description="Who invited them, as that person's name (or that they are gone), only"
            " when `show_inviter`"
        ),
    ] = None


class TrackedLink(Answer):
    """A tracked sign-up link: the address that carries it, and what it counts under."""

    code: Code
    source: str
    campaign: str
    created_at: Stamp
    url: str


class TrackedLinks(Answer):
    links: list[TrackedLink]


TYPES_OF_CONTRACT: tuple[type[Struct], ...] = (Invite, TrackedLink, TrackedLinks)
