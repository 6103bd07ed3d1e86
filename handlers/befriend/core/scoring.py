"""Engagement, loyalty and influence: exponentially decayed sums kept incrementally."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from befriend.core.frozen import replace
from befriend.core.person import Tally
from befriend.core.playbook import SCORES, EventType, Playbook

DAY = 86_400.0
# A tally kept for joins of the second degree (`core/megaphone.py`): `referral@2` is
# weighed as `referral` times the playbook's `[megaphone] second_degree`, so changing that
# weight applies to the past as every weight does.
SECOND = "@2"


def _decay(seconds: float, half_life_days: float) -> float:
    return float(2.0 ** (-seconds / (half_life_days * DAY)))


def add_event(tally: Tally | None, at: datetime, kind: EventType) -> Tally:
    """The tally with one more event at `at`, in O(1), whatever order events arrive in."""
    if tally is None:
        return Tally(1.0, at, 1, at)
    last = max(tally.last, at)
    if at <= tally.as_of:
        value = tally.value + _decay((tally.as_of - at).total_seconds(), kind.half_life_days)
        return replace(tally, value=value, count=tally.count + 1, last=last)
    aged = tally.value * _decay((at - tally.as_of).total_seconds(), kind.half_life_days)
    return Tally(aged + 1.0, at, tally.count + 1, last)


def tally_now(tally: Tally, now: datetime, kind: EventType) -> float:
    """A tally's value at `now` (only ever decays forward; a tally from the future is
    counted at face value rather than inflated)."""
    seconds = max(0.0, (now - tally.as_of).total_seconds())
    return tally.value * _decay(seconds, kind.half_life_days)


def scores(tallies: Mapping[str, Tally], playbook: Playbook, now: datetime) -> dict[str, float]:
    """Each score at `now`: the sum over event types of weight × decayed tally."""
    out = dict.fromkeys(SCORES, 0.0)
    for kind_id, tally in tallies.items():
        kind = playbook.events.get(kind_id.removesuffix(SECOND))
        if kind is None:  # an event type the playbook no longer has counts for nothing
            continue
        value = tally_now(tally, now, kind)
        if kind_id.endswith(SECOND):
            value *= playbook.megaphone.second_degree
        for score, weight in kind.weights.items():
            out[score] += weight * value
    return out
