"""When something is next due for a person: the moment the daily sweep and befriend's
dispatcher must look at them again, so that each reads only the people due.

Three kinds of moment make a person due:

- what the sweep records, as decided by `decision`: a permission's lapse, and a move of
  stage or circle because scores decayed or a `recent` rule's window passed;
- what changes what may be sent to them, which the sweep leaves alone: a permission's
  refresh ask beginning, a play's cooldown (or an unanswered ask's wait) ending, a pause
  ending;
- a play befriend delivers becoming claimable (`core/dispatch.py`): the gate's own answer,
  so the end of quiet hours in the person's zone, of a full week or of a cooldown. While one
  is claimable the person stays due (the moment is now), so a sweep that moves their due
  moment on never hides them from the dispatcher; the claim's own write moves it.

The second and third kinds are known moments. The first is found from the person's own values: time
only ever takes things away between two writes (every score is a sum of non-negative
weights times decaying tallies, so it only falls; a `recent` window only closes; a lapse
only withdraws), so every rule that holds now stops holding at most once, a stage or
circle only falls, and the set of lapsed permissions only grows. The sweep's decision
therefore differs from today's from its first change on, for good, and that first change
is found by bisection to the microsecond. A score's crossing has no closed form once two
event types with different half-lives feed it, and stage rules nest `any`/`all` over any
score, so the rules are evaluated rather than taken apart: at most 58 evaluations, once
per write, never a daily poll.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from befriend.core.dispatch import claimable
from befriend.core.freshness import due as refresh_due
from befriend.core.freshness import idle_since, lapsed
from befriend.core.person import Pair, Person
from befriend.core.playbook import Playbook
from befriend.core.stages import place

# Past every moment a playbook can name (half-lives are at most ten years, so every score
# is zero long before): a decision that has not changed by then never will.
NEVER = datetime(9000, 1, 1, tzinfo=UTC)
TICK = timedelta(microseconds=1)

Decision = tuple[frozenset[Pair], tuple[str, str]]


def decision(person: Person, playbook: Playbook, now: datetime) -> Decision:
    """What the sweep would record for the person at `now` (`jobs.sweeps`, through
    `changes.lapse` and `changes.settle`): the permissions lapsed, and stage and circle."""
    return frozenset(lapsed(person, playbook, now)), place(person, playbook, now)


def next_due(person: Person, playbook: Playbook, now: datetime) -> datetime | None:
    """The first moment after `now` at which something is due for the person, or `now`
    itself when the sweep would record something already; None when nothing ever will be
    due (not active, or nothing left that time can change)."""
    if person.status != "active":
        return None
    rel = person.relationship
    if decision(person, playbook, now) != (frozenset(), (rel.stage, rel.circle)):
        return now
    deliveries = [at for _, at in claimable(person, playbook, now)]
    if any(at <= now for at in deliveries):
        return now  # a play befriend delivers is claimable: due until it is claimed
    ahead = [m for m in known_moments(person, playbook) if m > now]
    soonest = min([*ahead, *deliveries], default=None)
    changed = first_change(person, playbook, now, soonest or NEVER)
    return changed if changed is not None else soonest


def known_moments(person: Person, playbook: Playbook) -> Iterator[datetime]:
    """Moments named by the person's values: refresh asks and lapses, cooldowns and waits
    ending, a pause ending. Past ones are included; the caller picks those ahead."""
    for pair, ends in refresh_due(person, playbook, NEVER):
        purpose = playbook.purposes[pair[1]]
        assert purpose.refresh_after_days is not None  # `refresh_due` yields only those
        yield idle_since(person, pair) + timedelta(days=purpose.refresh_after_days)
        if ends is not None:
            yield ends
    rel = person.relationship
    for play_id, play in playbook.plays.items():
        cooldown = timedelta(days=play.cooldown_days)
        for since in (rel.declined.get(play_id), rel.last_sent.get(play_id)):
            if since is not None:
                yield since + cooldown
        asked = rel.asked.get(play_id)
        if asked is not None and play.kind == "ask":
            yield asked + timedelta(days=play.ignored_after_days) + cooldown
    if person.preferences.paused_until is not None:
        yield person.preferences.paused_until


def first_change(
    person: Person, playbook: Playbook, now: datetime, until: datetime
) -> datetime | None:
    """The first moment in (now, until] at which the sweep's decision differs from the one
    at `now`, to the microsecond; None when it holds all the way. Relies on a decision,
    once changed, never coming back (see the module's docstring)."""
    today = decision(person, playbook, now)
    if until <= now or decision(person, playbook, until) == today:
        return None
    same, differs = now, until
    while differs - same > TICK:
        middle = same + (differs - same) // 2
        if decision(person, playbook, middle) == today:
            same = middle
        else:
            differs = middle
    return differs
