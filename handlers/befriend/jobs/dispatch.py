"""befriend's dispatcher: the plays the playbook says befriend delivers (`delivery =
"befriend"`), claimed through the send gate and delivered, every few minutes.

A run first settles what earlier runs claimed and did not deliver (throttled, or a run that
stopped between its claim and SES), then reads the people due by now from the `by-due`
index, shard by shard, their profiles a hundred at a time, and for each:

- claims every play befriend delivers that the gate grants them now, through the same code
  as `POST /api/sends` (`writer/sends.py`), with an idempotency key named by the person,
  the play and its last contact (`core/dispatch.claim_key`), so a rerun claims nothing
  twice; the claim's own write moves their due moment on;
- delivers each claim: a mail through SES from the play's templates (`PlayComposer`), with
  the message tags `play` and `send`; a text through SNS to the verified number; anything
  else (a call, a letter, a social message, an event) becomes a task: a `Play Due` event on
  the bus and an entry in `GET /api/tasks`, closed by `POST /api/tasks/<send id>/done`;
- when nothing was claimed (they were due for the sweep's sake), does what the sweep does
  (`jobs/sweeps.sweep_person`), so nobody due is read again and again for nothing.

**At most once.** Before SES or SNS is called the send is marked `delivering`, conditional
on its still being `claimed` and on the person being the revision just checked (a
withdrawal, pause or changed address written before that mark stops the send; one written
after it finds the send already going). After the call it is `delivered` with the message
id. A run that finds a send `delivering` never sends it again; after `UNKNOWN_AFTER` it is
recorded as `unknown`. Throttling (or SES unreachable) sets it back to `claimed` and ends
the run's deliveries: the next run goes on, and nothing claimed is lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError
from botocore.exceptions import EndpointConnectionError as NoConnection

from befriend.core.dispatch import (
    MAIL,
    PLAY_DUE,
    TASK,
    WAIT,
    claim_key,
    due_now,
    holds_back,
    how,
)
from befriend.core.person import Person, iso, parse_iso
from befriend.jobs.sweeps import sweep_person
from befriend.mailing.plays import PlayComposer
from befriend.store.deliveries import Queued, queued_send
from befriend.store.due import BATCH_GET
from befriend.store.table import DUE_SHARDS
from befriend.web.services import Services
from befriend.writer.apply import Writer
from befriend.writer.sends import SEPARATOR, PersonGone, claim_contact

log = logging.getLogger("befriend.dispatch")

EVERY = timedelta(minutes=5)  # how often the schedule runs it (infra/template.yaml)
PEOPLE = 2000  # people one run reads at most; the rest are still due for the next
UNKNOWN_AFTER = timedelta(minutes=15)  # delivering this long: SES may have it, or not
START_TRIES = 3  # the person changed between the check and the mark: check again
# What SES and SNS answer when sending faster than the account may: nothing was sent.
THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "MaxSendingRateExceeded",
        "TooManyRequestsException",
        "Throttled",
        "ThrottledException",
    }
)


@dataclass
class DispatchReport:
    people: int = 0  # people due, read
    claimed: int = 0
    refused: int = 0  # claims the gate refused (the person changed since they were read)
    delivered: int = 0
    tasks: int = 0
    failed: int = 0  # settled without sending: withdrawn, unreachable, refused by SES/SNS
    unknown: int = 0  # delivering too long: recorded as unknown, never sent again
    left: int = 0  # claimed, left for the next run (throttled, quiet hours come, paused)
    swept: int = 0  # people due for the sweep's sake, done as the sweep does
    throttled: bool = False
    done: list[str] = field(default_factory=list)  # one line per send, for the command

    def figures(self) -> dict[str, int]:
        return {
            "people": self.people,
            "claimed": self.claimed,
            "refused": self.refused,
            "delivered": self.delivered,
            "tasks": self.tasks,
            "failed": self.failed,
            "unknown": self.unknown,
            "left": self.left,
            "swept": self.swept,
        }


def tag_value(send_id: str) -> str:
    """The send id as an SES tag value holds it (letters, digits, `_` and `-` only): its
    separator written as `_`. A person's id and the random part are hex."""
    return send_id.replace(SEPARATOR, "_")


def dispatch(services: Services, *, limit: int = PEOPLE, page: int = BATCH_GET) -> DispatchReport:
    """One run: settle earlier claims, then claim and deliver for the people due by now."""
    run = _Run(services, services.clock())
    run.settle_queue()
    # The shards take turns, each its share of what the run may still read: a shard with
    # many people due never keeps another's waiting for a later run, and what a quiet
    # shard leaves goes to the busy ones in the next turn.
    cursors: dict[int, str | None] = {}
    open_shards = list(range(DUE_SHARDS))
    while open_shards and not run.report.throttled and run.report.people < limit:
        share = -(-(limit - run.report.people) // len(open_shards))
        for shard in list(open_shards):
            read = 0
            while not run.report.throttled and read < share and run.report.people < limit:
                wanted = max(1, min(page, BATCH_GET, share - read, limit - run.report.people))
                ids, cursor = services.store.due_page(shard, run.now, cursors.get(shard), wanted)
                cursors[shard] = cursor
                read += len(ids)
                for found in services.store.profiles(ids, run.now):
                    run.report.people += 1
                    try:
                        run.person(found.person)
                    except (BotoCoreError, ClientError):
                        raise
                    except Exception:  # one bad record must not stop everyone's plays
                        log.exception("dispatch skipped a person after an error")
                if cursor is None:
                    open_shards.remove(shard)
                    break
    return run.report


class _Run:
    def __init__(self, services: Services, now: datetime) -> None:
        self.s = services
        self.now = now
        self.report = DispatchReport()
        self.writer = Writer(services.store, services.playbook, services.notifier, services.clock)
        self.composer = PlayComposer(services.playbook, services.tokens, services.settings.site_url)

    def settle_queue(self) -> None:
        """Deliver what was claimed and not delivered; record as unknown what has been
        delivering too long."""
        for queued in self.s.store.queued("deliver", self.now):
            if self.report.throttled:
                self.report.left += 1
                continue
            self.deliver(queued)

    def person(self, person: Person) -> None:
        store, pb = self.s.store, self.s.playbook
        granted = 0
        current: Person | None = person
        for play in due_now(person, pb, self.now):
            if self.report.throttled or current is None:
                break
            delivery = how(play, pb)
            try:
                made = claim_contact(
                    self.writer, current, play, claim_key(current, play), delivery=delivery
                )
            except PersonGone:
                return
            if made.answer is None:
                self.report.refused += 1
                reason = made.decided.verdict.reason if made.decided else None
                self._line(f"refused {play.id} for {person.id}: {reason}")
                continue
            granted += 1
            body = made.answer["body"]
            queued = queued_send(
                person.id,
                body["send"],
                play.id,
                play.channel,
                delivery,
                parse_iso(body["claimed_at"]),
            )
            if not made.replayed:
                self.report.claimed += 1
                self._line(f"claimed {play.id} for {person.id} ({delivery}) as {queued.send_id}")
            if delivery == TASK:
                self.task(queued)
            else:
                self.deliver(queued)
            current = store.person(person.id, self.now)
        if not granted and not self.report.throttled:
            swept = sweep_person(store, pb, person, self.now, self.s.notifier)
            self.report.swept += 1 if swept.failed == 0 else 0

    def task(self, queued: Queued) -> None:
        """A contact befriend cannot make: listed for the organisation's people, and
        announced on the bus (ids only, never a contact point)."""
        self.report.tasks += 1
        self._line(f"task {queued.play} for {queued.person_id} by {queued.channel}")
        self.s.notifier.announce(
            PLAY_DUE,
            {
                "send": queued.send_id,
                "play": queued.play,
                "person": queued.person_id,
                "channel": queued.channel,
                "due_since": iso(queued.claimed_at),
            },
        )

    def deliver(self, queued: Queued) -> None:
        store, pb = self.s.store, self.s.playbook
        send = store.send(queued.person_id, queued.send_id, self.now)
        state = send.get("state")
        if state == "delivering":
            since = parse_iso(send["state_at"])
            if self.now - since >= UNKNOWN_AFTER and store.settle(queued, "unknown", self.now):
                self.report.unknown += 1
                self._line(f"unknown {queued.play} for {queued.person_id}: never sent again")
            return
        if state != "claimed":
            store.drop(queued)  # settled already, or gone with the person
            return
        play = pb.plays.get(queued.play)
        for _ in range(START_TRIES):
            person = store.person(queued.person_id, self.now)
            why = "gone" if play is None else holds_back(person, play, pb, self.now)
            if why == WAIT:
                self.report.left += 1
                return
            if why is not None or person is None or play is None:
                if store.settle(queued, "failed", self.now, was=("claimed",), why=why):
                    self.report.failed += 1
                    self._line(f"not sent {queued.play} to {queued.person_id}: {why}")
                return
            if store.start_delivery(queued, person.revision, person.seq, self.now):
                break
        else:
            self.report.left += 1
            return
        try:
            if queued.delivery == MAIL:
                # Its links name the send: the redirect counts one click for it.
                mail = self.composer.mail(person, play, send=queued.send_id)
                tags = {"play": play.id, "send": tag_value(queued.send_id)}
                message_id = self.s.mailer.one_try().send(
                    mail.template, mail.to, mail.values, mail.unsubscribe_url, tags=tags
                )
            else:
                phone = person.contact_points.phone
                assert phone is not None  # holds_back checked it is verified
                texter = self.s.texter
                if texter is None:
                    raise RuntimeError("this deployment sends no texts")
                message_id = texter.one_try().send(
                    phone.number, self.composer.text(person, play), promotional=True
                )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in THROTTLED:
                store.undo_start(queued, self.now)
                self._throttled(code)
                return
            store.settle(queued, "failed", self.now, why=code or "refused")
            self.report.failed += 1
            self._line(f"not sent {queued.play} to {queued.person_id}: {code}")
            return
        except (NoConnection, ConnectTimeoutError):
            # Nothing reached the service: nothing was sent.
            store.undo_start(queued, self.now)
            self._throttled("unreachable")
            return
        except BotoCoreError:
            # The answer was lost (a read timeout): SES may have it. Left `delivering`, so
            # it is never sent again, and recorded as unknown after a while.
            self._throttled("no answer")
            return
        store.settle(queued, "delivered", self.now, message_id=message_id)
        self.report.delivered += 1
        self._line(f"delivered {queued.play} to {queued.person_id} ({queued.delivery})")

    def _throttled(self, why: str) -> None:
        """Stop delivering for this run: what is claimed stays claimed for the next."""
        log.warning("dispatch stopped delivering for this run: %s", why)
        self.report.throttled = True
        self.report.left += 1

    def _line(self, text: str) -> None:
        self.report.done.append(text)
