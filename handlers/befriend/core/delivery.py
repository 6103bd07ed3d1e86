"""What a play's contacts came to, counted for the delivery report: claims granted by the
gate (and at which hour of the person's own day), what SES said of each mail, and the
links followed.

All are flows, dated by the day the write happens (a claim by its own moment), and
written in the same transaction as the change they come with: the claim's, the notice's
mark, the click's mark. They are history, so `reports check` recounts none of them.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from befriend.core import counter_names as names
from befriend.core.counts import Counts
from befriend.core.person import Person

# What each kind of notice says about the mail it is about (core/feedback.py's kinds).
NOTICE_OUTCOMES = {
    "delivery": "delivered",
    "bounce": "bounced",
    "soft-bounce": "bounced",
    "complaint": "complained",
}
OUTCOMES = ("claimed", "delivered", "bounced", "complained", "clicked")


def local_hour(person: Person, at: datetime) -> int:
    """The hour of the person's own day at `at`, in the time zone they chose."""
    return at.astimezone(ZoneInfo(person.preferences.time_zone)).hour


def claim_counts(person: Person, play_id: str, at: datetime) -> Counts:
    """A granted claim: one more of the play's contacts, at this hour of the person's day."""
    flows = {
        names.delivery(play_id, "claimed"): 1,
        names.send_hour(play_id, local_hour(person, at)): 1,
    }
    return Counts(days={_day(at): flows})


def notice_counts(play_id: str, kind: str, now: datetime) -> Counts:
    """What SES said of one of the play's mails (a reject or a text answered says nothing
    about one)."""
    outcome = NOTICE_OUTCOMES.get(kind)
    if outcome is None:
        return Counts()
    return Counts(days={_day(now): {names.delivery(play_id, outcome): 1}})


def click_counts(play_id: str, now: datetime) -> Counts:
    """A link of one of the play's contacts followed (once per contact: `web/links.py`)."""
    return Counts(days={_day(now): {names.delivery(play_id, "clicked"): 1}})


def _day(moment: datetime) -> str:
    return moment.date().isoformat()
