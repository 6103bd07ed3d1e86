"""What a sign-up does, decided from what is stored for its address: a new address gets a
pending person, a pending one a renewed request (or, for a request written before and not
yet mailed, only its mail again), a confirmed one a link to its page. The mail worker
carries the step out; nothing here reads or writes.

And what its confirmation link can still do: confirm the pending sign-up it was mailed
for, answer a confirmation it made a moment ago once more, or nothing (and why not)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, Protocol

from msgspec import Struct

from befriend.core.changes import Context, renew_signup, start_signup
from befriend.core.commands import Signup
from befriend.core.person import Origin, Person

Kind = Literal["start", "renew", "resend", "remind", "nothing"]


class SignupStep(Struct, frozen=True):
    """`start` writes `person` as a new pending sign-up and mails its confirmation;
    `renew` writes `person` over the pending one and mails; `resend` only mails the
    confirmation of `person` as stored; `remind` mails the confirmed `person` a link to
    their page; `nothing` does nothing (the person is being erased)."""

    kind: Kind
    person: Person | None = None


def signup_step(
    found: Person | None, new_id: str, form: Signup, ctx: Context, origin: Origin | None = None
) -> SignupStep:
    """`origin`: where the sign-up came from, as the worker resolved it (a tracked link,
    an inviter); kept with the request."""
    origin = origin or Origin()
    if found is None:
        return SignupStep("start", start_signup(new_id, form, ctx, origin))
    if found.status == "pending":
        renewed = renew_signup(found, form, ctx, origin)
        if (renewed.request, renewed.name) == (found.request, found.name):
            return SignupStep("resend", found)  # this very request, written before
        return SignupStep("renew", renewed)
    if found.status == "active":
        return SignupStep("remind", found)
    return SignupStep("nothing")


# A confirmation answered a moment ago is answered the same way again (its answer may
# have been lost on the way); later, the link is spent.
CONFIRM_RETRY = timedelta(minutes=10)

# `pending`: the link confirms its person. `expired` (lapsed, erased or being erased) and
# `superseded` (signed out everywhere since) are not links any more; `used` and `replaced`
# (by a newer sign-up) are genuine but spent, so a fresh link may be mailed.
LinkState = Literal["pending", "expired", "superseded", "used", "replaced"]


class ConfirmLink(Protocol):
    """What a confirmation link says (the token's claims): the token generation it was
    issued in and the fingerprint of the sign-up request it was mailed for."""

    @property
    def generation(self) -> int: ...

    @property
    def request(self) -> str | None: ...


def link_state(person: Person | None, link: ConfirmLink) -> LinkState:
    """What `link` can do for the person it names, as stored now (None: nobody)."""
    if person is None or person.status == "erasing":
        return "expired"
    if link.generation != person.token_generation:
        return "superseded"
    if person.status == "active":
        return "used" if link.request == person.confirmed_request else "replaced"
    if person.request is None or link.request != person.request.fingerprint():
        return "replaced"
    return "pending"


def confirmed_just_now(person: Person | None, link: ConfirmLink, now: datetime) -> bool:
    """True when this very link confirmed the person within CONFIRM_RETRY: a retry, or
    the twin of a double click, gets that confirmation's answer again."""
    return (
        person is not None
        and person.status == "active"
        and person.confirmed_at is not None
        and link.request == person.confirmed_request
        and link.generation == person.token_generation
        and now - person.confirmed_at <= CONFIRM_RETRY
    )
