"""Next steps: the plays that suit a person now, always inside the permission they gave.

A play is never offered through a channel × purpose the person has not granted, while they
have paused contact, within its cooldown after they said no (or after it was last sent),
or past their own weekly maximum or the playbook's cap for the channel. A step that is
allowed but falls in the person's quiet hours, in their own time zone, is scheduled for the
end of those hours; one that would pass a weekly cap waits for the week's window to free up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from msgspec import Struct

from befriend.core.freshness import due
from befriend.core.person import Person
from befriend.core.phones import reachable
from befriend.core.playbook import SITE, Play, Playbook, QuietHours
from befriend.core.rules import Facts
from befriend.core.stages import facts, placed
from befriend.core.words import ENGLISH, N_, Words, say

WEEK = timedelta(days=7)  # the window of the weekly caps: contacts are kept this long


class Step(Struct, frozen=True):
    play: Play
    reason: str
    earliest: datetime
    # What holds `earliest` past the moment asked about: "weekly-cap" (the week's window is
    # full) or "quiet-hours"; None when the step could be taken at once.
    waits: str | None = None
    # When the permission a refresh step asks about lapses unless renewed; None for others.
    # A moment, not words: the page writes it as the person's language writes a date.
    ends: datetime | None = None

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
            "earliest": _stamp(self.earliest),
            "ends": None if self.ends is None else _stamp(self.ends),
        }


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Held(Struct, frozen=True):
    """Why a play is not on offer to a person now (the first rule that holds it back), and
    when that rule alone lets go of it; None when no moment is known (no permission, a
    stage or interest the person is not at, nowhere to reach them, a cap of 0)."""

    reason: str  # not-allowed, not-offered, unreachable, cooldown, paused, weekly-cap
    until: datetime | None = None


class _Seen(Struct, frozen=True):
    """What every play is weighed against, worked out once per person and moment."""

    known: Facts
    stage: str
    circle: str
    stage_label: str


def _seen(person: Person, playbook: Playbook, now: datetime) -> _Seen:
    known = facts(person, playbook, now)
    stage, circle = placed(known, playbook)
    label = next(s.label for s in playbook.stages if s.id == stage)
    return _Seen(known, stage, circle, label)


def next_steps(
    person: Person, playbook: Playbook, now: datetime, words: Words = ENGLISH
) -> list[Step]:
    """The eligible plays, best first (priority, then the earliest moment, then id), their
    reasons in `words`' language (the playbook's texts in it too: `Playbook.in_language`)."""
    if person.status != "active":
        return []
    seen = _seen(person, playbook, now)
    steps = [
        step
        for play in playbook.plays.values()
        if isinstance(step := consider(person, play, playbook, now, seen, words), Step)
    ]
    steps += _refresh_steps(person, playbook, now, words)
    steps.sort(key=lambda s: (-s.play.priority, s.earliest, s.play.id))
    return steps


def consider(
    person: Person,
    play: Play,
    playbook: Playbook,
    now: datetime,
    seen: _Seen | None = None,
    words: Words = ENGLISH,
) -> Step | Held:
    """The play as a step for an active person now, or the first rule that holds it back.
    The rules that no moment lifts come first (permission, fit, a contact point), then
    those that time lifts (cooldown, pause, the weekly cap; quiet hours only move the
    step's `earliest`). `next_steps` keeps the steps; the send gate (`core/gate.py`) names
    the rule."""
    seen = seen or _seen(person, playbook, now)
    known, stage, circle = seen.known, seen.stage, seen.circle
    granted = known.granted
    rel = person.relationship
    prefs = person.preferences
    pair = play.pair
    if play.channel != SITE and pair not in granted:
        return Held("not-allowed")
    if stage not in play.stages or (play.circles and circle not in play.circles):
        return Held("not-offered")
    if play.interests and not person.interests & set(play.interests):
        return Held("not-offered")
    if not play.when.holds(known):
        return Held("not-offered")
    if play.asks is not None and play.asks in granted:
        return Held("not-offered")  # nothing left to ask
    kind = None if play.channel == SITE else playbook.channels[play.channel].kind
    # A letter needs somewhere to go: only people with a postal address are listed. A text
    # or call goes only to a number its code verified (one from a country the channel
    # allows): consent given for a number does not pass to another.
    if kind == "postal" and person.contact_points.postal is None:
        return Held("unreachable")
    if kind == "phone" and not reachable(person, play.channel, playbook):
        return Held("unreachable")
    rests = [
        since + timedelta(days=play.cooldown_days)
        for since in (rel.declined.get(play.id), rel.last_sent.get(play.id))
        if since is not None and _cooling(since, play, now)
    ]
    asked = rel.asked.get(play.id)
    if play.kind == "ask" and _outstanding(asked, play, now):
        assert asked is not None  # asked already; waiting for an answer
        rests.append(asked + timedelta(days=play.ignored_after_days + play.cooldown_days))
    if rests:
        return Held("cooldown", max(rests))
    low = _lowered(playbook)
    # Translators: a reason a next step is offered; the reasons are joined by "; ".
    why = [say(words, N_("you are at the “%(stage)s” stage"), {"stage": seen.stage_label})]
    if play.interests:
        shared = [playbook.topics[t] for t in play.interests if t in person.interests]
        liked = {"topics": low(", ".join(shared))}
        why.append(say(words, N_("you told us you like %(topics)s"), liked))
    if play.channel == SITE:
        why.append(words.gettext(N_("shown on your page")))
        return Step(play, _joined(why, words), now)
    assert pair is not None
    if prefs.paused_until is not None and prefs.paused_until > now:
        return Held("paused", prefs.paused_until)
    after_cap = _after_cap(person, playbook, play.channel, now)
    if after_cap is None:
        return Held("weekly-cap")
    quiet = prefs.quiet_hours.get(play.channel) or playbook.channels[play.channel].quiet_hours
    earliest = outside_quiet_hours(after_cap, quiet, prefs.time_zone)
    channel, purpose = playbook.channels[play.channel], playbook.purposes[pair[1]]
    pair_words = {"purpose": low(purpose.label), "channel": low(channel.label)}
    why.append(say(words, N_("you said yes to %(purpose)s by %(channel)s"), pair_words))
    if kind == "postal":
        why.append(words.gettext(N_("we have your postal address")))
    elif kind == "phone":
        why.append(words.gettext(N_("we have your verified phone number")))
    waits = "weekly-cap" if after_cap > now else "quiet-hours" if earliest > now else None
    return Step(play, _joined(why, words), earliest, waits)


def _joined(reasons: list[str], words: Words) -> str:
    # Translators: what comes between the reasons a next step is offered ("you are at the
    # “Friend” stage; you said yes to …"), with the spaces your language puts around it.
    between = N_("; ")
    return words.gettext(between).join(reasons)


def _refresh_steps(person: Person, playbook: Playbook, now: datetime, words: Words) -> list[Step]:
    """Ask again about permissions gone quiet, on the person's own page, before they lapse
    (when, the step's `ends` says: the page writes the date as its language does)."""
    out = []
    low = _lowered(playbook)
    for pair, ends in due(person, playbook, now):
        if ends is not None and now >= ends:
            continue  # lapsed: nothing left to renew, it can only be granted anew
        channel, purpose = playbook.channels[pair[0]], playbook.purposes[pair[1]]
        asked = {"purpose": low(purpose.label), "channel": low(channel.label)}
        says = say(words, N_("Do you still want %(purpose)s by %(channel)s?"), asked)
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
        why = words.gettext(
            N_("we have not used this permission, and not heard from you, for a long while")
        )
        out.append(Step(play, why, now, ends=ends))
    return out


# Languages whose common nouns are written in lower case inside a sentence, so a label
# ("Email", "Newsletter") is lowered where a reason names it; German nouns keep theirs, as
# does any language not listed here.
_LOWER_CASE_NOUNS = frozenset({"en", "fr", "es", "it", "pt", "nl"})


def _lowered(playbook: Playbook) -> Callable[[str], str]:
    if playbook.language.split("-", 1)[0].lower() in _LOWER_CASE_NOUNS:
        return str.lower
    return str


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
