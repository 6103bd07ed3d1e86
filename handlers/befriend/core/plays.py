"""Next steps: the plays that suit a person now, always inside the permission they gave.

A play is never offered through a channel × purpose the person has not granted, while they
have paused contact, within its cooldown after they said no (or after it was last sent),
or past their own weekly maximum or the playbook's cap for the channel. A step that is
allowed but falls in the person's quiet hours, in their own time zone, is scheduled for the
end of those hours; one that would pass a weekly cap waits for the week's window to free up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from befriend.core.freshness import due
from befriend.core.person import Person
from befriend.core.phones import reachable
from befriend.core.playbook import SITE, Play, Playbook, QuietHours
from befriend.core.stages import facts, placed

WEEK = timedelta(days=7)  # the window of the weekly caps: contacts are kept this long


@dataclass(frozen=True)
class Step:
    play: Play
    reason: str
    earliest: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "play": self.play.id,
            "kind": self.play.kind,
            "says": self.play.says,
            "channel": self.play.channel,
            "purpose": self.play.purpose,
            "asks": None
            if self.play.asks is None
            else {"channel": self.play.asks[0], "purpose": self.play.asks[1]},
            "reason": self.reason,
            "earliest": self.earliest.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def next_steps(person: Person, playbook: Playbook, now: datetime) -> list[Step]:
    """The eligible plays, best first (priority, then the earliest moment, then id)."""
    if person.status != "active":
        return []
    known = facts(person, playbook, now)
    stage, circle = placed(known, playbook)
    granted = known.granted
    rel = person.relationship
    prefs = person.preferences
    paused = prefs.paused_until is not None and prefs.paused_until > now
    stage_label = next(s.label for s in playbook.stages if s.id == stage)
    steps = []
    for play in playbook.plays.values():
        if stage not in play.stages or (play.circles and circle not in play.circles):
            continue
        if play.interests and not person.interests & set(play.interests):
            continue
        if not play.when.holds(known):
            continue
        if _cooling(rel.declined.get(play.id), play, now) or _cooling(
            rel.last_sent.get(play.id), play, now
        ):
            continue
        if play.asks is not None and play.asks in granted:
            continue  # nothing left to ask
        if play.kind == "ask" and _outstanding(rel.asked.get(play.id), play, now):
            continue  # asked already; waiting for an answer
        why = [f"you are at the “{stage_label}” stage"]
        if play.interests:
            shared = [playbook.topics[t] for t in play.interests if t in person.interests]
            why.append("you told us you like " + ", ".join(shared).lower())
        if play.channel == SITE:
            steps.append(Step(play, "; ".join(why) + "; shown on your page", now))
            continue
        pair = play.pair
        assert pair is not None
        if pair not in granted or paused:
            continue
        earliest = _after_cap(person, playbook, play.channel, now)
        if earliest is None:
            continue
        quiet = prefs.quiet_hours.get(play.channel) or playbook.channels[play.channel].quiet_hours
        earliest = outside_quiet_hours(earliest, quiet, prefs.time_zone)
        channel, purpose = playbook.channels[play.channel], playbook.purposes[pair[1]]
        why.append(f"you said yes to {purpose.label.lower()} by {channel.label.lower()}")
        if channel.kind == "postal":
            # A letter needs somewhere to go: only people with a postal address are listed.
            if person.contact_points.postal is None:
                continue
            why.append("we have your postal address")
        elif channel.kind == "phone":
            # A text or call goes only to a number its code verified (one from a country
            # the channel allows): consent given for a number does not pass to another.
            if not reachable(person, play.channel, playbook):
                continue
            why.append("we have your verified phone number")
        steps.append(Step(play, "; ".join(why), earliest))
    steps += _refresh_steps(person, playbook, now)
    steps.sort(key=lambda s: (-s.play.priority, s.earliest, s.play.id))
    return steps


def _refresh_steps(person: Person, playbook: Playbook, now: datetime) -> list[Step]:
    """Ask again about permissions gone quiet, on the person's own page, before they lapse."""
    out = []
    for pair, ends in due(person, playbook, now):
        if ends is not None and now >= ends:
            continue  # lapsed: nothing left to renew, it can only be granted anew
        channel, purpose = playbook.channels[pair[0]], playbook.purposes[pair[1]]
        says = f"Do you still want {purpose.label.lower()} by {channel.label.lower()}?"
        if ends is not None:
            says += f" Say yes to keep it; otherwise it ends on {ends.date().isoformat()}."
        play = Play(
            id=f"refresh-{pair[0]}-{pair[1]}",
            kind="ask",
            says=says,
            stages=(),
            circles=(),
            channel=SITE,
            purpose=None,
            interests=(),
            cooldown_days=0,
            priority=100,
            asks=pair,
        )
        why = "we have not used this permission, and not heard from you, for a long while"
        out.append(Step(play, why, now))
    return out


def outside_quiet_hours(moment: datetime, quiet: QuietHours | None, zone: str) -> datetime:
    """`moment`, or the end of the quiet hours it falls in, in the person's own time zone."""
    if quiet is None:
        return moment
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    start, end = quiet.start, quiet.end
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return moment
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    # When clocks go back, the end of quiet hours may occur twice (fold 0 and 1): take the
    # first one that is still ahead, so a step never lands in the repeated quiet hour.
    wakes = sorted(
        datetime.combine(day, end, tzinfo=tz).replace(fold=fold).astimezone(UTC) for fold in (0, 1)
    )
    return next((w for w in wakes if w > moment), wakes[-1])


def weekly_cap(person: Person, playbook: Playbook, channel: str) -> int:
    """The lowest of the person's own maximum, the channel's cap and the playbook limit."""
    caps = [playbook.max_per_week, playbook.channels[channel].max_per_week]
    caps.append(person.preferences.max_per_week.get(channel))
    return min(c for c in caps if c is not None)


def _after_cap(person: Person, playbook: Playbook, channel: str, now: datetime) -> datetime | None:
    """`now` if a contact fits this week's cap, else when the oldest one leaves the window;
    None when the person allows no contact at all on this channel."""
    cap = weekly_cap(person, playbook, channel)
    if cap == 0:
        return None
    recent = sorted(
        at for c, at in person.relationship.contacts if c == channel and at > now - WEEK
    )
    if len(recent) < cap:
        return now
    return recent[len(recent) - cap] + WEEK


def _cooling(since: datetime | None, play: Play, now: datetime) -> bool:
    return since is not None and now < since + timedelta(days=play.cooldown_days)


def _outstanding(asked: datetime | None, play: Play, now: datetime) -> bool:
    """An ask waits `ignored_after_days` for an answer; unanswered, it counts as ignored and
    rests for its cooldown like a no."""
    days = play.ignored_after_days + play.cooldown_days
    return asked is not None and now < asked + timedelta(days=days)
