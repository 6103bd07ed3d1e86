"""What a sign-up does, decided from what is stored for its address: a new address gets a
pending person, a pending one a renewed request (or, for a request written before and not
yet mailed, only its mail again), a confirmed one a link to its page. The mail worker
carries the step out; nothing here reads or writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from befriend.core.changes import Context, renew_signup, start_signup
from befriend.core.commands import Signup
from befriend.core.person import Person

Kind = Literal["start", "renew", "resend", "remind", "nothing"]


@dataclass(frozen=True)
class SignupStep:
    """`start` writes `person` as a new pending sign-up and mails its confirmation;
    `renew` writes `person` over the pending one and mails; `resend` only mails the
    confirmation of `person` as stored; `remind` mails the confirmed `person` a link to
    their page; `nothing` does nothing (the person is being erased)."""

    kind: Kind
    person: Person | None = None


def signup_step(found: Person | None, new_id: str, form: Signup, ctx: Context) -> SignupStep:
    if found is None:
        return SignupStep("start", start_signup(new_id, form, ctx))
    if found.status == "pending":
        renewed = renew_signup(found, form, ctx)
        if (renewed.request, renewed.name) == (found.request, found.name):
            return SignupStep("resend", found)  # this very request, written before
        return SignupStep("renew", renewed)
    if found.status == "active":
        return SignupStep("remind", found)
    return SignupStep("nothing")
