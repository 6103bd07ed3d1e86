"""What each write adds to the report counters, decided as data.

Reports never look at people: they read counters that every write moves in the same
transaction as the change itself. Two kinds are kept:

- gauges (`census`): how many people are where right now (stage × circle, permissions,
  interests × stage, influence quadrant, play audiences). A write adds the difference
  between the person's census after and before, so the sum of the gauges always equals a
  recount of the people (`befriend reports check`).
- flows: what happened on a day (moves between stages, grants, withdrawals, sign-ups,
  confirmations, asks and their answers). They are dated by the moment of the entry or
  move that caused them, so a day's counts do not depend on when a write was retried.

`net|<stage>` is a flow too: the day's change in the people at a stage. The stage report
walks it back from the gauges of now to give one figure per day, exact by construction.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from msgspec import Struct, field

from befriend.core import counter_names as names
from befriend.core import megaphone
from befriend.core.changes import Outcome
from befriend.core.ledger import Entry
from befriend.core.person import Person
from befriend.core.playbook import SITE, MegaphoneRules, Playbook
from befriend.core.scoring import scores
from befriend.core.stages import Transition

# How long a withdrawal took to be recorded after its request arrived, in buckets.
HONOURED = (
    ("1s", timedelta(seconds=1)),
    ("1m", timedelta(minutes=1)),
    ("1h", timedelta(hours=1)),
    ("1d", timedelta(days=1)),
    ("2d", timedelta(days=2)),
)
LATER = "later"
# Which way a withdrawal came, from the entry that recorded it.
ROUTES = {
    ("unsubscribe", "one-click"): "one-click",
    ("unsubscribe", "api"): "unsubscribe-page",
    ("unsubscribe", "form"): "unsubscribe-page",
    ("withdraw-all", "api"): "withdraw-all",
    ("withdraw-all", "form"): "withdraw-all",
    ("permissions", "api"): "preferences",
    ("permissions", "form"): "preferences",
    ("gpc", "gpc"): "gpc",
    # What came back (core/feedback.py): a spam complaint, a STOP texted to us.
    ("complaint", "complaint"): "complaint",
    ("sms-stop", "sms-keyword"): "sms-stop",
    # What another sending tool told us (core/tool_feedback.py): an unsubscribe made
    # there, or a complaint it received.
    **{("unsubscribe", tool): "tool-unsubscribe" for tool in ("tool", "mailchimp", "brevo")},
    **{("complaint", tool): "complaint" for tool in ("tool", "mailchimp", "brevo")},
}
# Withdrawals nobody asked for at that moment: they are counted, but not timed.
UNREQUESTED = {"lapse": "expiry"}


# Counters are kept in families, one item each per shard (and day): a report reads the
# items of its family only, so what it reads does not grow with the other counters.
FAMILIES = {
    "stage": ("sc", "net", "move", "churn"),
    "perm": ("people", "perm", "grant", "withdraw", "renew", "signup", "confirmed"),
    "unsub": ("unsub", "honoured"),
    "interest": ("interest",),
    "quad": ("quad",),
    "play": ("audience", "play"),
    "feedback": ("feedback",),
    "delivery": ("dlv", "hour"),
    "sources": ("src", "cohort"),
    "megaphone": ("mega", "inviters"),
}
_FAMILY_OF = {kind: family for family, kinds in FAMILIES.items() for kind in kinds}


def family(counter: str) -> str:
    """The family a counter is kept in, by its first part (`sc|friend|core` → `stage`)."""
    return _FAMILY_OF[names.kind_of(counter)]


class Counts(Struct, frozen=True):
    """Counter deltas of one write: `now` moves the gauges, `days` the flows of each day
    (ISO date → counter → delta). Zero deltas are left out."""

    now: Mapping[str, int] = field(default_factory=dict)
    days: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def __add__(self, other: Counts) -> Counts:
        days: dict[str, Counter[str]] = {d: Counter(c) for d, c in self.days.items()}
        for day, flows in other.days.items():
            days.setdefault(day, Counter()).update(flows)
        return Counts(_nonzero(_sum(self.now, other.now)), _days(days))

    @property
    def empty(self) -> bool:
        return not self.now and not self.days


def census(person: Person, playbook: Playbook) -> Counter[str]:
    """Where this person counts right now. Only confirmed people count: a pending sign-up
    lapses without a write, so it must never have moved a gauge."""
    out: Counter[str] = Counter()
    if person.status != "active":
        return out
    rel = person.relationship
    stage, circle = rel.stage, rel.circle
    out[names.people()] += 1
    out[names.stage_circle(stage, circle)] += 1
    for (channel, purpose), perm in person.permissions.items():
        if perm.state != "never":
            out[names.permission(channel, purpose, perm.state)] += 1
    for topic in person.interests:
        out[names.interest(topic, stage)] += 1
    out[names.quadrant(quadrant(person, playbook))] += 1
    granted = {p for p, perm in person.permissions.items() if perm.state == "granted"}
    for play in playbook.plays.values():
        if stage not in play.stages or (play.circles and circle not in play.circles):
            continue
        if play.interests and not person.interests & set(play.interests):
            continue
        if play.channel != SITE and play.pair not in granted:
            continue
        if play.asks is not None and play.asks in granted:
            continue
        out[names.audience(play.id)] += 1
    out.update(megaphone.census(person))
    return out


def census_rules(playbook: Playbook) -> str:
    """A fingerprint of the playbook parts a census depends on beyond the person's own
    record: each play's audience, the event weights behind the quadrants, and the report
    bars. When it changes, gauges counted before no longer match a recount until
    `befriend reports rebuild` recounts them."""
    parts = [
        repr(
            sorted(
                (p.id, p.stages, p.circles, p.interests, p.channel, p.pair, p.asks)
                for p in playbook.plays.values()
            )
        ),
        repr(
            sorted(
                (e.id, sorted(e.weights.items()), e.half_life_days)
                for e in playbook.events.values()
            )
        ),
        repr((playbook.reports.loyal_from, playbook.reports.influential_from)),
        *_second_degree(playbook),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _second_degree(playbook: Playbook) -> list[str]:
    """The weight of a second-degree join moves the influence scores, so the quadrants.
    Left out at its default, so tables counted before the megaphone keep their fingerprint
    (and their reports no note to rebuild)."""
    weight = playbook.megaphone.second_degree
    return [] if weight == MegaphoneRules.second_degree else [repr(weight)]


def quadrant(person: Person, playbook: Playbook) -> str:
    """`<loyalty>|<influence>`, each `high` or `low`, with the scores as of the person's
    latest event: a stored fact, so the count never changes without a write."""
    tallies = person.relationship.tallies
    latest = max((t.as_of for t in tallies.values()), default=person.created_at)
    score = scores(tallies, playbook, latest)
    bar = playbook.reports
    loyal = "high" if score["loyalty"] >= bar.loyal_from else "low"
    influential = "high" if score["influence"] >= bar.influential_from else "low"
    return f"{loyal}|{influential}"


def change_counts(outcome: Outcome, playbook: Playbook, received: datetime | None) -> Counts:
    """The counters a decided change moves. `received` is when its request arrived (None
    for the sweep and other work nobody waits for): withdrawals are timed from it."""
    before, after = outcome.before, outcome.person
    gauges = _nonzero(_sum(census(after, playbook), census(before, playbook), -1))
    days: dict[str, Counter[str]] = {}
    for entry in outcome.entries:
        flows = _entry_flows(entry)
        if entry.action == "withdraw-all" and before.status == "active":
            flows[names.churn("withdraw-all", before.relationship.stage)] += 1
        if received is not None and _route(entry) is not None and _withdraws(entry):
            flows[names.honoured(_bucket(entry.at - received))] += 1
        _add(days, entry.at, flows)
    for move in outcome.transitions:
        _add(days, move.at, _move_flows(move))
    for at, flows in _answers(before, after):
        _add(days, at, flows)
    if before.status == "pending" and after.status == "active" and after.confirmed_at:
        _add(days, after.confirmed_at, megaphone.confirmed_flows(after))
    marked = after.contact_points.email_undeliverable
    if marked is not None and before.contact_points.email_undeliverable is None:
        _add(days, marked.since, {names.feedback("undeliverable"): 1})
    return Counts(gauges, _days(days))


def signup_counts(person: Person) -> Counts:
    """A new sign-up request (its confirmation is counted when it is confirmed)."""
    request = person.request
    if request is None:
        return Counts()
    flows = {names.signup(request.source): 1, **megaphone.requested_flows(request)}
    return Counts(days={_day(request.at): flows})


def erasure_counts(person: Person, playbook: Playbook, now: datetime) -> Counts:
    """Erasure takes the person out of every gauge; the flows of their past stay, as
    counts that no longer point to anyone."""
    gone = census(person, playbook)
    if not gone:
        return Counts()
    stage = person.relationship.stage
    flows = {names.net(stage): -1, names.churn("erased", stage): 1}
    return Counts(_nonzero(_sum({}, gone, -1)), {_day(now): flows})


def recount(people: Iterable[Person], playbook: Playbook) -> Counter[str]:
    """The gauges as they should be: the census of every stored person, summed."""
    total: Counter[str] = Counter()
    for person in people:
        total.update(census(person, playbook))
    return total


# --- flows ---


def _entry_flows(entry: Entry) -> Counter[str]:
    flows: Counter[str] = Counter()
    if entry.action == "signup":
        flows[names.confirmed(entry.source)] += 1
    for change in entry.changes:
        if not change.what.startswith("permission:"):
            continue
        _, channel, purpose = change.what.split(":", 2)
        if change.new == "granted":
            kind = "renew" if change.old == "granted" else "grant"
            flows[names.change(kind, channel, purpose)] += 1
        elif change.old == "granted":
            flows[names.change("withdraw", channel, purpose)] += 1
    if _withdraws(entry):
        route = _route(entry) or UNREQUESTED.get(entry.action)
        if route is not None:
            flows[names.unsubscribe(route)] += 1
    return flows


def _move_flows(move: Transition) -> Counter[str]:
    flows: Counter[str] = Counter({names.move(move.from_stage, move.to_stage): 1})
    flows[names.net(move.to_stage)] += 1
    if move.from_stage != "none":
        flows[names.net(move.from_stage)] -= 1
    return flows


def _answers(before: Person, after: Person) -> list[tuple[datetime, Counter[str]]]:
    """Plays sent and asks answered, read from what the relationship remembers, each dated
    by its own moment."""
    out = []
    old, new = before.relationship, after.relationship
    for name, was, now in (
        ("sent", old.last_sent, new.last_sent),
        ("asked", old.asked, new.asked),
        ("accepted", old.accepted, new.accepted),
        ("declined", old.declined, new.declined),
    ):
        for play_id, at in now.items():
            if was.get(play_id) != at:
                out.append((at, Counter({names.play(play_id, name): 1})))
    return out


def _withdraws(entry: Entry) -> bool:
    return any(
        c.what.startswith("permission:") and c.old == "granted" and c.new != "granted"
        for c in entry.changes
    )


def _route(entry: Entry) -> str | None:
    return ROUTES.get((entry.action, entry.source))


def _bucket(took: timedelta) -> str:
    return next((name for name, limit in HONOURED if took < limit), LATER)


# --- small helpers ---


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def _add(days: dict[str, Counter[str]], at: datetime, flows: Mapping[str, int]) -> None:
    if any(flows.values()):
        days.setdefault(_day(at), Counter()).update(flows)


def _sum(a: Mapping[str, int], b: Mapping[str, int], sign: int = 1) -> dict[str, int]:
    """a + sign × b, key by key, negatives kept (Counter arithmetic drops them)."""
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0) + sign * value
    return out


def _nonzero(values: Mapping[str, int]) -> dict[str, int]:
    return {k: v for k, v in sorted(values.items()) if v}


def _days(days: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    kept = {day: _nonzero(flows) for day, flows in sorted(days.items())}
    return {day: flows for day, flows in kept.items() if flows}
