"""Requests for mail, as queued by the API and carried out by the worker.

A job is plain JSON: what the visitor sent (already checked), the moment and evidence of
their request, and an id. The worker decides with what is stored at the time it runs:
whether the address is new, pending or confirmed, and whether its mailbox may have one
more mail this hour. Nothing of that reaches the visitor's answer.

A queue delivers at least once: a job whose mail failed comes back and is done again. The
mailbox budget counts a job once, a sign-up already written for this job is not written
again, and a finished job is remembered, so a redelivery after success sends nothing.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from msgspec import Struct

from befriend.clock import Clock
from befriend.core.changes import Context, Outcome
from befriend.core.commands import Signup, same_mailbox
from befriend.core.counts import signup_counts
from befriend.core.email_change import same_address
from befriend.core.megaphone import can_invite, invite_code, origin
from befriend.core.person import Evidence, Origin, iso, parse_iso
from befriend.core.signups import signup_step
from befriend.credentials.pseudonyms import Pseudonyms, email_key
from befriend.mailing.compose import Composer, Mail
from befriend.mailing.ses import Mailer
from befriend.mailing.sms import CodeSender, phone_code_job
from befriend.store import Store
from befriend.store.table import ConditionFailed

log = logging.getLogger("befriend.mail")

# A job is remembered as done for longer than any copy of it can live: SQS keeps a message
# at most 14 days, in the queue or parked in its dead-letter queue.
REMEMBER_DONE = timedelta(days=15)


class MailFailed(Exception):
    """SES did not take a mail; the job is tried again later."""


# --- what the API queues ---


def signup_job(form: Signup, ctx: Context) -> dict[str, Any]:
    return {
        **_head("signup", ctx),
        "signup": {
            "email": form.email,
            "name": form.name,
            "interests": list(form.interests),
            "permissions": [list(p) for p in form.permissions],
            "time_zone": form.time_zone,
            "policy_version": form.policy_version,
            **({"phone": form.phone} if form.phone else {}),
            **({"origin": dict(form.origin)} if form.origin else {}),
            **({"language": form.language} if form.language else {}),
        },
    }


def link_job(email: str, ctx: Context) -> dict[str, Any]:
    return {**_head("link", ctx), "email": email}


def fresh_link_job(person_id: str, ctx: Context) -> dict[str, Any]:
    """A new link for the person a genuine but spent confirmation link names."""
    return {**_head("fresh-link", ctx), "person": person_id}


def email_change_job(person_id: str, email: str, ctx: Context) -> dict[str, Any]:
    """A person asks to move to `email`: what that address means is the worker's to find."""
    return {**_head("email-change", ctx), "person": person_id, "email": email}


def email_changed_job(person_id: str, ctx: Context) -> dict[str, Any]:
    """The notice to the address a confirmed change left, with its undo link."""
    return {**_head("email-changed", ctx), "person": person_id}


def code_job(person_id: str, number: str, ctx: Context) -> dict[str, Any]:
    """A code texted to the person's number, by the worker (`mailing/sms.py`)."""
    return phone_code_job(person_id, number, _head("phone-code", ctx))


def _head(kind: str, ctx: Context) -> dict[str, Any]:
    evidence = ctx.evidence.as_json() if ctx.evidence else None
    return {
        "v": 1,
        "id": uuid.uuid4().hex,
        "kind": kind,
        "at": iso(ctx.now),
        "source": ctx.source,
        "evidence": evidence,
        "gpc": ctx.gpc,
    }


# --- what the worker does ---


class MailWork(Struct, frozen=True):
    """Everything a job needs, passed in: the same for the Lambda worker, `befriend serve`
    and the tests."""

    store: Store
    mailer: Mailer
    composer: Composer
    pseudonyms: Pseudonyms
    clock: Clock
    mails_per_hour: int
    codes: CodeSender | None = None  # None: this deployment texts no codes

    def run(self, job: dict[str, Any]) -> None:
        """Carry out one job; MailFailed when it should be tried again."""
        if job.get("v") != 1 or "id" not in job:
            log.error("a mail job of an unknown format was dropped")
            return
        if self.store.job_done(job["id"]):
            return
        kind = job.get("kind")
        if kind == "signup":
            self._signup(job)
        elif kind == "link":
            self._link(job)
        elif kind == "fresh-link":
            self._fresh_link(job)
        elif kind == "phone-code" and self.codes is not None:
            self._code(job)
        elif kind == "email-change":
            self._email_change(job)
        elif kind == "email-changed":
            self._email_changed(job)
        else:
            log.error("a mail job of an unknown kind was dropped")
            return
        self.store.mark_job_done(job["id"], self.clock() + REMEMBER_DONE)

    def _signup(self, job: dict[str, Any]) -> None:
        """Carry out what `core.signups` decides for the address. Past the mailbox's hourly
        limit nothing changes at all, so a flood of sign-ups for someone else's address can
        neither mail them nor quietly rewrite their request."""
        body = job["signup"]
        form = Signup(
            email=body["email"],
            name=body["name"],
            interests=tuple(body["interests"]),
            permissions=tuple((c, p) for c, p in body["permissions"]),
            time_zone=body["time_zone"],
            policy_version=body["policy_version"],
            **self._phone(body.get("phone")),
            origin=tuple((body.get("origin") or {}).items()),
            language=str(body.get("language", "")),
        )
        ctx = _context(job)
        if not self._slot(form.email, job):
            return
        origin = self._origin(form)
        key = email_key(form.email)
        now = self.clock()
        claim = self.store.email_claim(key, now)
        found = self.store.person(claim[0], now) if claim and not claim[1] else None
        step = signup_step(found, uuid.uuid4().hex, form, ctx, origin)
        if step.kind == "start" and step.person is not None:
            lapsed = claim[0] if claim else None
            counts = signup_counts(step.person)
            if self.store.create_pending(step.person, key, now, counts=counts, lapsed=lapsed):
                self._send(self.composer.confirm(step.person, form.language))
        elif step.kind == "renew" and found is not None and step.person is not None:
            try:
                saved = self.store.renew_pending(
                    Outcome(found, step.person, ()), key, counts=signup_counts(step.person)
                )
            except ConditionFailed:
                return  # a twin job renewed it a moment ago and mailed
            self._send(self.composer.confirm(saved, form.language))
        elif step.kind == "resend" and step.person is not None:
            self._send(self.composer.confirm(step.person, form.language))
        elif step.kind == "remind" and step.person is not None:
            self._send(self.composer.manage(step.person, reason="signup"))

    def _origin(self, form: Signup) -> Origin:
        """Where the sign-up came from: a tracked link its `ref` names, and the person whose
        invite code it carried, as the store knows them now. An invite from the address
        itself (or the same mailbox) is no invite."""
        ref = dict(form.origin).get("ref")
        tracked = self.store.tracked_link(ref) if ref else None
        code = invite_code(form.origin)
        inviter_id = self.store.inviter(code) if code else None
        inviter = self.store.person(inviter_id, self.clock()) if inviter_id else None
        if inviter is None or not can_invite(inviter) or same_mailbox(inviter.email, form.email):
            inviter = None
        return origin(form.origin, tracked, None if inviter is None else inviter.id)

    def _link(self, job: dict[str, Any]) -> None:
        email = job["email"]
        now = self.clock()
        pid = self.store.person_id_for_email(email_key(email), now)
        person = self.store.person(pid, now) if pid else None
        if person is not None and person.status == "active" and self._slot(email, job):
            self._send(self.composer.manage(person, reason="link"))

    def _fresh_link(self, job: dict[str, Any]) -> None:
        person = self.store.person(job["person"], self.clock())
        if person is None or not self._slot(person.email, job):
            return
        if person.status == "active":
            self._send(self.composer.manage(person, reason="link"))
        elif person.status == "pending" and person.request is not None:
            self._send(self.composer.confirm(person))

    def _email_change(self, job: dict[str, Any]) -> None:
        """Mail the new address its confirmation link, unless no change to it is possible:
        an erased address stays suppressed (nothing is sent), and an address in use gets,
        under its own limit, its owner's link to their page instead. The person asking was
        answered the same in every case."""
        new, now = job["email"], self.clock()
        person = self.store.person(job["person"], now)
        if person is None or person.status != "active" or same_address(person.email, new):
            return
        if self.store.suppressed(self.pseudonyms.suppression(new)):
            log.info("an address change to a suppressed address; nothing sent")
            return
        claim = self.store.email_claim(email_key(new), now)
        if claim is not None and not claim[1]:
            owner = self.store.person(claim[0], now)
            if owner is not None and owner.status == "active" and self._slot(new, job):
                self._send(self.composer.manage(owner, reason="email-change"))
            return
        if self._slot(new, job):
            self._send(self.composer.email_change(person, new))

    def _email_changed(self, job: dict[str, Any]) -> None:
        """The old address hears of the change, with the link that undoes it. Outside the
        mailbox's hourly limit: each notice follows a change confirmed from another
        mailbox, so nobody can flood an address with them, and a limit reached on purpose
        must not keep the owner from learning their address was moved."""
        person = self.store.person(job["person"], self.clock())
        if person is None or person.status != "active":
            return
        if person.contact_points.email_previous is not None:
            self._send(self.composer.email_changed(person))

    def _phone(self, number: str | None) -> dict[str, Any]:
        """A sign-up's number with its keyed hash and masked form (for the ledger)."""
        if not number:
            return {}
        from befriend.core.contact_points import mask_number

        shown = mask_number(number)
        return {"phone": number, "phone_key": self.pseudonyms.number(number), "phone_shown": shown}

    def _code(self, job: dict[str, Any]) -> None:
        assert self.codes is not None
        try:
            self.codes.run(job)
        except (BotoCoreError, ClientError) as exc:
            why = (
                exc.response["Error"]["Code"]
                if isinstance(exc, ClientError)
                else type(exc).__name__
            )
            log.warning("SNS did not take a code's text (%s); it is tried again", why)
            raise MailFailed(why) from exc

    def _slot(self, email: str, job: dict[str, Any]) -> bool:
        """One mail of the mailbox's hourly budget, counted at the moment of the request
        (a job done late, after an outage, counts when it was asked for)."""
        rate = self.pseudonyms.mail_rate(email)
        asked = parse_iso(job["at"])
        if self.store.take_mail_slot(rate, asked, self.mails_per_hour, job=job["id"]):
            return True
        log.info("mail limit reached for a mailbox; nothing sent")
        return False

    def _send(self, mail: Mail) -> None:
        try:
            self.mailer.send(mail.template, mail.to, mail.values, mail.unsubscribe_url)
        except (BotoCoreError, ClientError) as exc:
            why = (
                exc.response["Error"]["Code"]
                if isinstance(exc, ClientError)
                else type(exc).__name__
            )
            log.warning("SES did not take the %s mail (%s); it is tried again", mail.template, why)
            raise MailFailed(why) from exc


def _context(job: dict[str, Any]) -> Context:
    evidence = job.get("evidence")
    return Context(
        now=parse_iso(job["at"]),
        source=str(job["source"]),
        evidence=Evidence(**evidence) if evidence else None,
        gpc=bool(job.get("gpc")),
    )
