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
from befriend.jobs.fanout import Step
from befriend.jobs.sweeps import sweep_person
from befriend.mailing.pieces import Run, begin_phase, new_run
from befriend.mailing.plays import PlayComposer
from befriend.mailing.queue import MailQueue
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
    settled: int = 0  # queue entries looked at (a fanned-out step's bound counts them)
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

    def tally(self) -> dict[str, int]:
        """The figures as a fanned-out piece adds them up (`throttled`: steps that were)."""
        return {**self.figures(), "throttled": int(self.throttled)}


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
                run.people(ids)
                if cursor is None:
                    open_shards.remove(shard)
                    break
    return run.report


STEP = 200  # people, or queue entries, one step of a fanned-out piece handles
QUEUE, DUE = "queue", "due"  # a piece's stages, as its cursor names them
STALE = timedelta(minutes=30)  # a run unfinished this long no longer holds the next back


def dispatch_step(
    services: Services,
    due_by: datetime,
    shard: int,
    cursor: str | None,
    *,
    limit: int = STEP,
    page: int = BATCH_GET,
) -> tuple[DispatchReport, str | None]:
    """One bounded step of a fanned-out run's piece for one shard: first the shard's
    delivery queue (what earlier runs claimed and did not deliver), then its people due by
    `due_by`, at most `limit` of either; what it did, and where the piece goes on (None:
    done). Throttled, the piece ends: what it claimed stays claimed, and whoever it did
    not reach stays due, for the next run."""
    run = _Run(services, services.clock())
    stage, _, at = (cursor or f"{QUEUE}|").partition("|")
    if stage == QUEUE:
        entries, after = services.store.queued_page(
            "deliver", shard, run.now, at or None, max(1, limit)
        )
        run.settle(entries)
        if run.report.throttled:
            return run.report, None
        return run.report, f"{QUEUE}|{after}" if after is not None else f"{DUE}|"
    after_due: str | None = at or None
    while run.report.people < limit and not run.report.throttled:
        wanted = max(1, min(page, BATCH_GET, limit - run.report.people))
        ids, after_due = services.store.due_page(shard, due_by, after_due, wanted)
        run.people(ids)
        if after_due is None:
            return run.report, None
    return run.report, None if run.report.throttled else f"{DUE}|{after_due}"


class DispatchJob:
    """The dispatcher as a fanned-out job (`jobs/fanout.py`) on a queue of its own: one
    phase, a part per shard of the `by-due` index (the delivery queue is sharded the same
    way), so the shards' people are claimed and delivered side by side."""

    def parts(self, run: Run, phase: int) -> int | None:
        return DUE_SHARDS if phase == 0 else None

    def step(self, services: Services, run: Run, phase: int, part: int, cursor: str | None) -> Step:
        report, after = dispatch_step(services, run.now, part, cursor, limit=STEP)
        for line in report.done:
            log.info(line)
        return Step(report.tally(), after)


DISPATCH = DispatchJob()


def start_dispatch(services: Services, queue: MailQueue, now: datetime) -> Run | None:
    """Start a fanned-out run, unless the one started last is still going (its pieces not
    all done, and younger than STALE): two runs would read the same people at once, each
    claiming in vain what the other claimed. None when no run was started."""
    latest = services.store.latest_run("dispatch")
    if latest is not None:
        run_id, started = latest
        pieces = services.store.run_pieces(run_id)
        going = sum(p.cursor is None for p in pieces) < DUE_SHARDS
        if going and now - started < STALE:
            return None
    run = new_run("dispatch", now)
    was = None if latest is None else latest[0]
    if not services.store.follow_run("dispatch", was, run.id, now):
        return None  # another schedule started one meanwhile
    begin_phase(queue, run, 0, DUE_SHARDS)
    return run


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
        self.settle(self.s.store.queued("deliver", self.now))

    def settle(self, entries: list[Queued]) -> None:
        for queued in entries:
            self.report.settled += 1
            if self.report.throttled:
                self.report.left += 1
                continue
            self.deliver(queued)

    def people(self, ids: list[str]) -> None:
        for found in self.s.store.profiles(ids, self.now):
            self.report.people += 1
            try:
                self.person(found.person)
            except (BotoCoreError, ClientError):
                raise
            except Exception:  # one bad record must not stop everyone's plays
                log.exception("dispatch skipped a person after an error")

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
