"""Demo people with plausible histories, for `befriend serve` and `befriend seed-demo`.

Every step goes through the same core decisions and store writes as a real request
(sign-up, confirmation, permission changes, events, play outcomes), each at its own moment
over the past months, so stages, circles, transitions and the ledger are all real.
People are labelled as demo visitors, not given invented names, and use example.org
addresses that can never receive mail.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, time, timedelta

from befriend.core import changes, megaphone
from befriend.core.changes import Context, Outcome, settle
from befriend.core.commands import PermissionChange, SettingsPatch, Signup
from befriend.core.counts import Counts, change_counts, signup_counts
from befriend.core.delivery import claim_counts
from befriend.core.due import next_due
from befriend.core.engagement import Event, decline, record_events
from befriend.core.gate import claim
from befriend.core.ledger import Entry
from befriend.core.person import Evidence, Origin, Person
from befriend.core.playbook import Play, Playbook, QuietHours
from befriend.core.stages import Transition
from befriend.credentials.invites import new_code
from befriend.credentials.pseudonyms import Pseudonyms, email_key
from befriend.store import Store
from befriend.store.megaphone import TrackedLink

ZONES = (
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Africa/Lagos",
    "America/Sao_Paulo",
)
# (share of people, permissions asked at sign-up, events over the months)
ARCHETYPES: dict[str, tuple[float, int, dict[str, int]]] = {
    "stranger": (0.15, 0, {"visit": 2}),
    "friend": (0.35, 2, {"visit": 4, "open": 6, "click": 2}),
    "regular": (0.15, 2, {"visit": 10, "open": 12, "click": 6, "reply": 2, "attend": 2}),
    "customer": (0.2, 3, {"visit": 6, "open": 8, "click": 4, "purchase": 1}),
    "evangelist": (
        0.1,
        3,
        {
            "visit": 8,
            "open": 10,
            "purchase": 2,
            "referral": 2,
            "review": 1,
            "share": 3,
            "community-post": 2,
        },
    ),
    "gone-quiet": (0.05, 2, {"visit": 1}),
}


def seed(
    store: Store,
    playbook: Playbook,
    secret: str,
    now: datetime,
    people: int = 40,
    rnd: random.Random | None = None,
    progress: Callable[[int], None] = lambda _n: None,
    first: int = 1,
    invited: int | None = None,
) -> list[str]:
    """Create `people` demo people (numbered from `first`), and `invited` more who came
    through one another's invite links (a third as many by default); returns the ids of
    the first `people`."""
    rnd = rnd or random.Random(2026)
    pseudonyms = Pseudonyms(secret)
    evidence = pseudonyms.evidence("127.0.0.1", "befriend demo seed")
    store.add_tracked_link(DEMO_LINK)  # False when seeded before: the same link
    kinds = list(ARCHETYPES)
    weights = [ARCHETYPES[k][0] for k in kinds]
    ids = []
    for n in range(first, first + people):
        kind = (
            kinds[(n - first) % len(kinds)]
            if n - first < len(kinds)
            else rnd.choices(kinds, weights)[0]
        )
        person = _one(store, playbook, pseudonyms, evidence, now, n, kind, rnd)
        if person is not None:
            ids.append(person.id)
        progress(1)
    # About one sign-up in eight is never confirmed; they count in the sign-up report only.
    for n in range(first + people, first + people + people // 8):
        _unconfirmed(store, playbook, pseudonyms, evidence, now, n)
    # And some people came through one another's invite links (the megaphone report); a
    # random generator of their own leaves everyone above as they were.
    after = first + people + people // 8
    chained = people // 3 if invited is None else invited
    _chains(store, playbook, pseudonyms, evidence, now, after, chained, random.Random(after))
    return ids


# The demo's tracked sign-up link (`befriend links create`): a talk's QR code.
DEMO_LINK = TrackedLink("demospring", "qr", "spring-talk", datetime(2026, 1, 1))


def _origin(n: int) -> Origin:
    """Where a demo person's relationship began: one in four through the demo's tracked
    link, one in four from an address with campaign parameters no tracked link names."""
    if n % 4 == 0:
        params = (("utm_source", "qr"), ("utm_campaign", "spring-talk"), ("ref", DEMO_LINK.code))
        return megaphone.origin(params, (DEMO_LINK.source, DEMO_LINK.campaign), None)
    if n % 4 == 1:
        return megaphone.origin((("utm_source", "newsletter"),), None, None)
    return Origin()


def _chains(
    store: Store,
    pb: Playbook,
    pseudonyms: Pseudonyms,
    evidence: Evidence,
    now: datetime,
    first: int,
    count: int,
    rnd: random.Random,
) -> list[str]:
    """`count` people who joined through someone's invite link over the past twenty weeks,
    each invited by one before them (a few roots bring most, as people do), counted as
    `writer/megaphone.py` counts a join: for the inviter, and a second degree for theirs."""
    if count < 2:
        return []
    chain: list[_History] = []
    start = now - timedelta(weeks=20)
    step = (now - start) / (count + 1)
    marks: list[tuple[str, datetime]] = []
    for k in range(count):
        n = first + k
        at = start + step * k + timedelta(minutes=rnd.randint(0, 600))
        # Every other join through one of three roots, the rest through someone a root
        # brought or further down: joins of the second degree.
        pool = chain[:3] if k % 2 else (chain[3:] or chain[:3])
        inviter = None if k < 3 else rnd.choice(pool)
        if inviter is None or inviter.person.megaphone.invite is None:
            origin = Origin()
        else:
            code = inviter.person.megaphone.invite
            origin = megaphone.origin(((megaphone.INVITE, code),), None, inviter.person.id)
        email = f"demo{n}@example.org"
        form = Signup(
            email, f"Demo visitor {n}", (), (("email", "newsletter"),), "UTC", pb.policy.version
        )
        pending = changes.start_signup(f"demo{n:028d}", form, Context(at, "form", evidence), origin)
        joined = _History(pb, pending, email)
        confirmed = at + timedelta(minutes=rnd.randint(2, 120))
        outcome = changes.confirm(joined.person, Context(confirmed, "confirm", evidence), pb)
        joined.step(
            Outcome(
                outcome.before, megaphone.with_invite(outcome.person, new_code()), outcome.entries
            ),
            confirmed,
        )
        chain.append(joined)
        if inviter is not None:
            made = megaphone.credit(inviter.person, confirmed, pb)
            inviter.step(Outcome(inviter.person, made.person, ()), confirmed, "referral")
            inviter.counts += Counts(
                days={confirmed.date().isoformat(): megaphone.join_flows(made)}
            )
            marks.append((pseudonyms.joined(email), confirmed))
            above = next(
                (h for h in chain if h.person.id == inviter.person.megaphone.origin.invited_by),
                None,
            )
            if made.scored and above is not None:
                second = megaphone.credit_second(above.person, confirmed, pb)
                above.step(Outcome(above.person, second.person, ()), confirmed, "referral")
                above.counts += Counts(
                    days={confirmed.date().isoformat(): megaphone.second_flows(second)}
                )
    ids = []
    for history in chain:
        person = history.write(store, email_key(history.email), now)
        if person is not None:
            ids.append(person.id)
            if person.megaphone.invite is not None:
                store.claim_invite(person.id, person.megaphone.invite)
    for mark, at in marks:
        store.mark_join(mark, at)
    return ids


def _one(
    store: Store,
    pb: Playbook,
    pseudonyms: Pseudonyms,
    evidence: Evidence,
    now: datetime,
    n: int,
    kind: str,
    rnd: random.Random,
) -> Person | None:
    _, asked, history = ARCHETYPES[kind]
    email = f"demo{n}@example.org"
    start = now - timedelta(days=rnd.randint(5, 240), minutes=rnd.randint(0, 1440))
    grid = pb.grid()
    pairs: tuple[tuple[str, str], ...] = ()
    if asked:
        others = [
            p for p in grid if p != ("email", "newsletter") and not pb.purposes[p[1]].gpc_opt_out
        ]
        chosen = {("email", "newsletter"), *rnd.sample(others, asked - 1)}
        pairs = tuple(p for p in grid if p in chosen)
    topics = tuple(t for t in pb.topics if rnd.random() < 0.35)
    form = Signup(email, f"Demo visitor {n}", topics, pairs, rnd.choice(ZONES), pb.policy.version)
    pending = changes.start_signup(
        f"demo{n:028d}", form, Context(start, "form", evidence), _origin(n)
    )
    history_of = _History(pb, pending, email)
    at = start + timedelta(minutes=rnd.randint(2, 180))
    confirmed = changes.confirm(history_of.person, Context(at, "confirm", evidence), pb)
    # Every confirmed person has an invite code, as a confirmation gives one.
    invited = megaphone.with_invite(confirmed.person, new_code())
    history_of.step(Outcome(confirmed.before, invited, confirmed.entries), at)
    if rnd.random() < 0.5:
        # Half of them want no mail at night, their own night: the gate keeps to it.
        at += timedelta(minutes=rnd.randint(1, 30))
        night = SettingsPatch(quiet_hours={"email": QuietHours(time(21), time(8))})
        history_of.step(
            changes.update_settings(history_of.person, night, Context(at, "api", evidence), pb), at
        )
    moments = sorted(
        (start + (now - start) * rnd.random(), kind_id)
        for kind_id, count in history.items()
        if kind_id in pb.events
        for _ in range(count)
    )
    for i, (moment, event_type) in enumerate(moments):
        event = Event(f"demo{n}-{i}", event_type, moment)
        person = history_of.person
        history_of.step(
            Outcome(person, record_events(person, [event], pb), ()),
            moment,
            f"event:{event_type}",
            pseudonyms.fingerprint(f"event:{event.id}".encode()),
        )
        play = pb.plays.get("welcome-letter")
        if event_type == "open" and play is not None and rnd.random() < 0.3:
            # The letter went only if the send gate granted it at that moment, as a claim
            # now would be (permission, stage, cooldown, caps, quiet hours in the
            # person's zone), and it counts in the delivery report as a claim does.
            _sent(history_of, play, moment, now)
    if kind == "gone-quiet":
        at = now - timedelta(days=rnd.randint(1, 30))
        history_of.step(
            changes.withdraw_all(history_of.person, Context(at, "api", evidence), pb), at
        )
    elif kind == "friend" and rnd.random() < 0.2:
        # Unsubscribed from the newsletter with their mail client's one-click button.
        at = now - timedelta(days=rnd.randint(1, 40), minutes=rnd.randint(0, 1440))
        history_of.step(
            changes.unsubscribe(
                history_of.person, "email", "newsletter", Context(at, "one-click", None), pb
            ),
            at,
        )
    elif kind in ("customer", "evangelist", "regular"):
        _asked(history_of, pb, now, rnd, evidence)
    elif kind == "friend" and rnd.random() < 0.3:
        at = now - timedelta(days=rnd.randint(1, 45))
        extra = [PermissionChange(("sms", "offers"), True)]
        history_of.step(
            changes.change_permissions(history_of.person, extra, Context(at, "api", evidence), pb),
            at,
        )
    written = history_of.write(store, email_key(email), now)
    if written is not None and written.megaphone.invite is not None:
        store.claim_invite(written.id, written.megaphone.invite)
    return written


def _asked(
    history_of: _History, pb: Playbook, now: datetime, rnd: random.Random, evidence: Evidence
) -> None:
    """An ask was sent; some say yes (by granting on their page), some no, some nothing."""
    play = pb.plays.get("ask-sms") or next((p for p in pb.plays.values() if p.asks), None)
    if play is None or play.asks is None:
        return
    tried = now - timedelta(days=rnd.randint(3, 50), minutes=rnd.randint(0, 1440))
    at = _sent(history_of, play, tried, now)
    if at is None:
        return  # the gate did not let the ask go: nothing to answer
    answer, later = rnd.random(), at + timedelta(hours=rnd.randint(1, 48))
    if answer < 0.45:
        wanted = [PermissionChange(play.asks, True)]
        ctx = Context(later, "api", evidence)
        history_of.step(changes.change_permissions(history_of.person, wanted, ctx, pb), later)
    elif answer < 0.7:
        person = history_of.person
        history_of.step(Outcome(person, decline(person, play, later), ()), later, "play:declined")


def _sent(history_of: _History, play: Play, at: datetime, now: datetime) -> datetime | None:
    """The play sent to the person at `at` if the send gate grants it then, as a claim now
    would be (permission, stage, cooldown, caps, quiet hours in the person's zone), or when
    it next would, before `now`, as a sender trying again when the window opens; counted in
    the delivery report as a claim is. Returns when it went (None: it did not)."""
    for _ in range(2):
        person = history_of.person
        made = claim(person, play, history_of.pb, at)
        if made.verdict.granted:
            history_of.step(Outcome(person, made.person, ()), made.verdict.at, "play:sent")
            history_of.counts += claim_counts(made.person, play.id, made.verdict.at)
            return made.verdict.at
        later = made.verdict.not_before
        if later is None or later >= now:
            return None
        at = later
    return None


def _unconfirmed(
    store: Store, pb: Playbook, pseudonyms: Pseudonyms, evidence: Evidence, now: datetime, n: int
) -> None:
    """A sign-up nobody confirmed (it lapses after a week): the confirmation rate needs them."""
    email = f"demo{n}@example.org"
    at = now - timedelta(days=(n * 7) % 27, minutes=n * 37 % 1440)
    form = Signup(email, "", (), (("email", "newsletter"),), "UTC", pb.policy.version)
    source = "form" if n % 3 == 0 else "api"
    person = changes.start_signup(f"demo{n:028d}", form, Context(at, source, evidence))
    store.create_pending(person, email_key(email), at, counts=signup_counts(person))


class _History:
    """A person's whole history, decided step by step by the core at its own moment, then
    written at once: one transaction per person keeps seeding fast (moto copies a table for
    every transaction) while every decision is the one a real request would make."""

    def __init__(self, pb: Playbook, pending: Person, email: str = "") -> None:
        self.pb = pb
        self.email = email
        self.person = pending
        self.entries: list[Entry] = []
        self.moves: list[Transition] = []
        self.event_ids: list[str] = []
        self.counts = signup_counts(pending)

    def step(
        self, outcome: Outcome, at: datetime, cause: str | None = None, event_id: str | None = None
    ) -> None:
        why = cause or (outcome.entries[-1].action if outcome.entries else "activity")
        settled = settle(outcome, self.pb, at, why)
        self.counts += change_counts(settled, self.pb, at)
        self.person = settled.person
        self.entries += settled.entries
        self.moves += settled.transitions
        if event_id is not None:
            self.event_ids.append(event_id)

    def write(self, store: Store, key: str, now: datetime) -> Person | None:
        """Written at `now` with the moment something is next due for them, as the writer
        gives it, so the sweep finds them when a permission asks or lapses."""
        return store.create_with_history(
            self.person,
            key,
            self.entries,
            self.moves,
            self.event_ids,
            self.counts,
            due=next_due(self.person, self.pb, now),
        )
