"""Who brought whom, and where each relationship began, decided as data.

Where it began: the sign-up page sends the parameters of the address it was opened with
(`utm_*`, `ref`, and `invite`, a person's invite code); `sanitise` keeps the known ones,
cut short. The mail worker resolves `ref` to a marketer's tracked link and `invite` to the
inviter, and `origin` decides what the sources report counts the sign-up under. Counter
names come only from tracked links (made by marketers, `label`led) or from a few fixed
words, never from the address itself: anyone can type an address, and every distinct
name would be one more counter in every report item, for good.

Who brought whom: a person who confirms through an invite is a join for the inviter
(`credit`), once per person ever (the store keeps a mark of the address), and for the
inviter's own inviter a join of the second degree (`credit_second`). The inviter learns
how many, never who. Nothing here reads or writes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlencode

from msgspec import Struct

from befriend.core import counter_names as names
from befriend.core.frozen import replace
from befriend.core.person import Origin, Person, SignupRequest
from befriend.core.playbook import Playbook
from befriend.core.scoring import SECOND, add_event
from befriend.core.words import ENGLISH, Words

ORIGIN_KEYS = ("utm_source", "utm_medium", "utm_campaign", "ref")
INVITE = "invite"  # the address's invite code: resolved to the inviter, never kept itself
MAX_VALUE = 100
MAX_LABEL = 40
# What the sources report counts a sign-up under when no tracked link names it.
DIRECT, INVITED, UNTRACKED, LINK = "direct", "invite", "untracked", "link"
NO_CAMPAIGN = "-"
# The cohorts: who reached a stage within so many days of confirming.
COHORT_DAYS = (30, 90)
# How many people an inviter brought, in the megaphone report's buckets.
INVITER_BUCKETS = (("1", 1, 1), ("2-4", 2, 4), ("5+", 5, None))

_LABEL = re.compile(r"[^a-z0-9._-]+")
_CODE = re.compile(r"[a-z2-9]{6,16}")


def sanitise(raw: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """The known parameters of a sign-up's address, as (key, value) in a fixed order:
    unknown keys and values that are not text dropped, control characters removed, each
    value cut at MAX_VALUE characters, empty ones left out."""
    kept = []
    for key in (*ORIGIN_KEYS, INVITE):
        value = raw.get(key)
        if not isinstance(value, str):
            continue
        clean = "".join(ch for ch in value if ch.isprintable()).strip()[:MAX_VALUE]
        if clean:
            kept.append((key, clean))
    return tuple(kept)


def label(text: str) -> str:
    """A marketer's source or campaign as a counter name may hold it: lower case letters,
    digits, `.`, `_` and `-`, at most MAX_LABEL characters ("" when nothing is left)."""
    return _LABEL.sub("-", text.casefold()).strip("-")[:MAX_LABEL]


def invite_code(params: tuple[tuple[str, str], ...]) -> str | None:
    """The invite code the address carried, if it has the shape of one."""
    code = dict(params).get(INVITE, "").casefold()
    return code if _CODE.fullmatch(code) else None


def origin(
    params: tuple[tuple[str, str], ...],
    tracked: tuple[str, str] | None,
    inviter: str | None,
) -> Origin:
    """Where a sign-up came from: its parameters (the invite code left out: it names a
    person's link, which they may replace), what the sources report counts it under (a
    tracked link's source and campaign, else `invite`, `untracked` or `direct`) and the
    inviter's id."""
    kept = tuple((k, v) for k, v in params if k != INVITE)
    if tracked is not None:
        source, campaign = tracked
    elif inviter is not None:
        source, campaign = INVITED, ""
    elif kept:
        source, campaign = UNTRACKED, ""
    else:
        source, campaign = DIRECT, ""
    return Origin(kept, source, campaign, inviter)


def signup_url(site: str, source: str, campaign: str, code: str) -> str:
    """The sign-up page's address for a tracked link: its `ref` names the link, and the
    `utm_*` say the same to any analytics the page has."""
    query = urlencode({"utm_source": source, "utm_campaign": campaign, "ref": code})
    return f"{site}/?{query}"


def invite_url(site: str, code: str) -> str:
    return f"{site}/?{urlencode({INVITE: code})}"


# --- counters ---


def requested_flows(request: SignupRequest) -> dict[str, int]:
    """A sign-up requested, by where it came from."""
    o = request.origin
    return {names.source(o.source, o.campaign or NO_CAMPAIGN, "requested"): 1}


def confirmed_flows(person: Person) -> dict[str, int]:
    """A confirmation: by where the relationship began, and whether someone brought them
    (the megaphone report's share of new people who came through someone)."""
    o = person.megaphone.origin
    flows = {
        names.source(o.source, o.campaign or NO_CAMPAIGN, "confirmed"): 1,
        names.megaphone("confirmed", "all"): 1,
    }
    if o.invited_by is not None:
        flows[names.megaphone("confirmed", "invited")] = 1
    return flows


def census(person: Person) -> Counter[str]:
    """The gauges of the sources and megaphone reports for a confirmed person: their
    cohort (where they came from), the stages they reached within 30 and 90 days of
    confirming, and the bucket of how many they brought. Stored facts only."""
    out: Counter[str] = Counter()
    if person.status != "active" or person.confirmed_at is None:
        return out
    m = person.megaphone
    source, campaign = m.origin.source, m.origin.campaign or NO_CAMPAIGN
    out[names.cohort(source, campaign, "people")] += 1
    for stage, at in m.reached.items():
        for days in COHORT_DAYS:
            if at - person.confirmed_at <= timedelta(days=days):
                out[names.cohort(source, campaign, stage, str(days))] += 1
    bucket = inviter_bucket(m.joined)
    if bucket is not None:
        out[names.inviters(bucket)] += 1
    return out


def inviter_bucket(joined: int) -> str | None:
    for name, low, high in INVITER_BUCKETS:
        if joined >= low and (high is None or joined <= high):
            return name
    return None


# --- invites ---


def with_invite(person: Person, code: str | None) -> Person:
    """The person with a new invite code (the old one stops) or none (turned off)."""
    return replace(person, megaphone=replace(person.megaphone, invite=code))


def show_inviter(person: Person, show: bool) -> Person:
    return replace(person, megaphone=replace(person.megaphone, show_inviter=show))


def withdrew_everything(person: Person) -> bool:
    """Nothing granted any more, and something withdrawn: whoever said "stop all" brings
    nobody along in befriend's name."""
    states = [p.state for p in person.permissions.values()]
    return "granted" not in states and "withdrawn" in states


def can_invite(person: Person) -> bool:
    return person.status == "active" and not withdrew_everything(person)


class Credit(Struct, frozen=True):
    """A join counted for an inviter: the inviter as changed, and whether it was scored
    (None: it counts nothing, and nothing changed)."""

    person: Person
    scored: bool | None


def join_flows(made: Credit) -> dict[str, int]:
    """What a join counted for an inviter adds to the megaphone report (nothing when it
    counted nothing)."""
    if made.scored is None:
        return {}
    flows = {names.megaphone("joined", "1"): 1}
    if not made.scored:
        flows[names.megaphone("unscored")] = 1
    return flows


def second_flows(made: Credit) -> dict[str, int]:
    return {} if made.scored is None else {names.megaphone("joined", "2"): 1}


def credit(inviter: Person, at: datetime, playbook: Playbook) -> Credit:
    """One more person joined through `inviter` at `at`. Past the playbook's daily limit it
    is counted but not scored; an inviter who is gone or withdrew everything gets nothing."""
    if not can_invite(inviter):
        return Credit(inviter, None)
    m = inviter.megaphone
    day = at.date().isoformat()
    today = m.credit_day_count if m.credit_day == day else 0
    rules = playbook.megaphone
    scored = today < rules.daily_limit and rules.event in playbook.events
    changed = replace(
        m,
        joined=m.joined + 1,
        unscored=m.unscored + (0 if scored else 1),
        credit_day=day,
        credit_day_count=today + 1,
    )
    person = replace(inviter, megaphone=changed)
    if scored:
        person = _tallied(person, rules.event, at, playbook)
    return Credit(person, scored)


def credit_second(person: Person, at: datetime, playbook: Playbook) -> Credit:
    """Someone joined through a person `person` brought: a join of the second degree,
    scored at the playbook's `second_degree` weight (`core/scoring.py`)."""
    if not can_invite(person):
        return Credit(person, None)
    m = replace(person.megaphone, joined_second=person.megaphone.joined_second + 1)
    changed = replace(person, megaphone=m)
    rules = playbook.megaphone
    if rules.event not in playbook.events:
        return Credit(changed, False)
    return Credit(_tallied(changed, rules.event + SECOND, at, playbook), True)


def _tallied(person: Person, key: str, at: datetime, playbook: Playbook) -> Person:
    """The person with one more event in the tally `key` (an event type, or its
    second-degree tally), as `core/engagement.py` records events."""
    kind = playbook.events[key.removesuffix(SECOND)]
    tallies = dict(person.relationship.tallies)
    tallies[key] = add_event(tallies.get(key), at, kind)
    return replace(person, relationship=replace(person.relationship, tallies=tallies))


def explain(person: Person, words: Words = ENGLISH) -> str:
    """The person's reach in plain words, for their own page, in `words`' language."""
    m = person.megaphone
    if m.joined == 0:
        return words.gettext("Nobody has joined through your invite link yet.")
    if m.joined_second == 0:
        said = words.ngettext(
            "%(n)d person joined through you.", "%(n)d people joined through you.", m.joined
        )
        return said % {"n": m.joined}
    said = words.ngettext(
        "%(n)d person joined through you, and %(second)d through them.",
        "%(n)d people joined through you, and %(second)d through them.",
        m.joined,
    )
    return said % {"n": m.joined, "second": m.joined_second}
