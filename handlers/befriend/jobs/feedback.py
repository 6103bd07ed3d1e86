"""What comes back, carried out: each SNS record read (mailing/feedback.py), the person it
is about found, the change decided (core/feedback.py) and written by the one writer, once.

Once: every notice is marked by a keyed hash of its SNS message id (the same on every
redelivery), its place in the message and the person, in the same transaction as the
change (`event_ids`), or with its counter alone when it changed nobody
(`Contacts.notice_alone`). A replay finds the mark and is a duplicate: counted and applied
once.

Failures: a record from another topic is refused and one that is not as documented is
malformed; both are logged (ids and reasons only) and left, since trying them again would
fail again. What may pass (DynamoDB busy or unreachable, a person changed too often at
once) is raised, so Lambda tries the invocation again (SNS invokes Lambda asynchronously:
two more tries, then the function's dead-letter queue); a record done already is then a
duplicate.
"""

from __future__ import annotations

import json
import logging
from collections import Counter

from befriend.core.changes import Outcome
from befriend.core.feedback import Notice, decide, keyword, notice_counts
from befriend.core.frozen import replace
from befriend.core.person import Person
from befriend.credentials.pseudonyms import email_key
from befriend.mailing.feedback import Addressed, Came, Malformed, Refused, Topics
from befriend.mailing.feedback import message_id as id_of
from befriend.mailing.feedback import read as read_record
from befriend.mailing.feedback import records as records_of
from befriend.web.services import Services
from befriend.writer.apply import Writer

log = logging.getLogger("befriend.feedback")
log.setLevel(logging.INFO)


class _Replayed(Exception):
    """A copy of this notice was written first, while this one was being decided."""


def topics(services: Services) -> Topics:
    settings = services.settings
    return Topics(settings.ses_events_topic, settings.sms_inbound_topic)


def handle(services: Services, event: object) -> dict[str, int]:
    """Carry out every record of a Lambda SNS event; its figures, also logged as one JSON
    line: notices applied, duplicates, about nobody known, refused and malformed records.
    Raises only what trying again may cure."""
    figures: Counter[str] = Counter()
    try:
        found = records_of(event)
    except Malformed as exc:
        log.error(json.dumps({"feedback": "malformed", "reason": str(exc)}))
        return {"malformed": 1}
    for record in found:
        message = id_of(record)
        try:
            came = read_record(record, topics(services))
        except Refused as exc:
            # The topic is an ARN, not personal data: it says which wiring is wrong.
            log.warning(json.dumps({"feedback": "refused", "message": message, "topic": str(exc)}))
            figures["refused"] += 1
            continue
        except Malformed as exc:
            log.error(json.dumps({"feedback": "malformed", "message": message, "reason": str(exc)}))
            figures["malformed"] += 1
            continue
        figures.update(carry_out(services, came))
    result = {key: figures[key] for key in sorted(figures)}
    log.info(json.dumps({"feedback": "done", **result}))
    return result


def carry_out(services: Services, came: Came) -> Counter[str]:
    """Each notice of one message, written for each person it is about."""
    figures: Counter[str] = Counter()
    for place, item in enumerate(came.items):
        notice = item.notice
        if came.body is not None:
            notice = replace(notice, kind=keyword(came.body, services.playbook))
        if notice.play is not None and notice.play not in services.playbook.plays:
            # Tags are the sender's words: only a play of the playbook gets counters.
            notice = replace(notice, play=None)
        mark = f"{came.message_id}:{place}"
        people = _people(services, came.channel, item)
        if not people:
            known = item.to is None  # a reject is about no one, and known as such
            result = _alone(services, mark, notice, known)
            if result == "applied" and not known:
                log.info(json.dumps({"feedback": "unknown", "kind": notice.kind, "id": notice.id}))
            figures["unknown" if result == "applied" and not known else result] += 1
            continue
        for person in people:
            figures[_write(services, person, notice, f"{mark}:{person.id}")] += 1
    return figures


def _people(services: Services, channel: str, item: Addressed) -> list[Person]:
    """Whom the notice is about: the holder of the address, or of the verified number."""
    if item.to is None:
        return []
    store, now = services.store, services.clock()
    if channel == "email":
        person_id = store.person_id_for_email(email_key(item.to), now)
        person = None if person_id is None else store.person(person_id, now)
        return [] if person is None or person.status == "erasing" else [person]
    number = services.pseudonyms.number(item.to)
    held = (store.person(pid, now) for pid in store.holders_of(number))
    return [
        p
        for p in held
        if p is not None
        and p.status == "active"
        and p.contact_points.phone is not None
        and p.contact_points.phone.key == number
        and p.contact_points.phone.verified_at is not None
    ]


def _alone(services: Services, mark: str, notice: Notice, known: bool) -> str:
    """A notice that changes nobody: counted and marked, once."""
    now = services.clock()
    counts = notice_counts(notice, known, now)
    written = services.store.notice_alone(_mark(services, mark), counts, now)
    return "applied" if written else "duplicate"


def _write(services: Services, person: Person, notice: Notice, mark: str) -> str:
    store, playbook = services.store, services.playbook
    kept = _mark(services, mark)
    if not store.unseen_events([kept], services.clock()):
        return "duplicate"
    writer = Writer(store, playbook, services.notifier, services.clock)

    def reload() -> Person:
        if not store.unseen_events([kept], services.clock()):
            raise _Replayed()
        fresh = store.person(person.id, services.clock())
        if fresh is None:
            raise _Replayed()  # erased meanwhile: nothing left to change
        return fresh

    def decided(current: Person) -> Outcome:
        return decide(current, notice, playbook, services.clock())

    try:
        written = writer.apply(
            person,
            decided,
            reload,
            event_ids=[kept],
            counts=notice_counts(notice, True, services.clock()),
            cause="feedback",
        )
    except _Replayed:
        return "duplicate"
    if not written.changed:
        # Nothing about the person changed (a complaint with nothing left to withdraw, a
        # delivery with no bounces to forget): the notice is still counted, once.
        return _alone(services, mark, notice, True)
    return "applied"


def _mark(services: Services, mark: str) -> str:
    """What is kept of a notice's id: a keyed hash, as for ingested events (`EV#`)."""
    return services.pseudonyms.fingerprint(f"feedback:{mark}".encode())
