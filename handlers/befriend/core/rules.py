"""Conditions written as data in the playbook, and their evaluation over a person's facts.

A rule is a TOML inline table. Every key in one table must hold (they are joined by "and");
`any` and `all` nest. The keys:

    granted_at_least = 1                   confirmed permissions still granted
    granted = { channel = "sms", purpose = "offers" }
    not_granted = { channel = "sms", purpose = "offers" }
    min_engagement = 5.0                   the decayed scores, as of now
    min_loyalty = 5.0
    min_influence = 8.0
    event = "purchase"                     at least one such event, ever
    recent = { event = "attend", days = 90 }
    interest = ["local-events", "cycling"] reported any of these
    any = [ {...}, {...} ]
    all = [ {...}, {...} ]

`{}` always holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from msgspec import Struct

from befriend.core.errors import PlaybookError


class Facts(Struct, frozen=True):
    """What rules may look at, computed once per evaluation."""

    now: datetime
    granted: frozenset[tuple[str, str]]
    scores: Mapping[str, float]
    event_counts: Mapping[str, int]
    last_event: Mapping[str, datetime]
    interests: frozenset[str]


Check = Callable[[Facts], bool]


class Rule(Struct, frozen=True):
    """A parsed condition: `text` is how the playbook check prints it."""

    check: Check
    text: str

    def holds(self, facts: Facts) -> bool:
        return self.check(facts)


ALWAYS = Rule(lambda _facts: True, "always")


def parse_rule(
    raw: object, where: str, *, events: set[str], pairs: set[tuple[str, str]], topics: set[str]
) -> Rule:
    """Read a rule table; PlaybookError names the key at `where` that is wrong."""
    if not isinstance(raw, dict):
        raise PlaybookError(f"{where}: a rule must be a table, e.g. {{ min_loyalty = 5 }}")
    parts = [
        _part(key, value, f"{where}.{key}", events=events, pairs=pairs, topics=topics)
        for key, value in raw.items()
    ]
    if not parts:
        return ALWAYS
    if len(parts) == 1:
        return parts[0]
    return Rule(lambda f: all(p.holds(f) for p in parts), " and ".join(p.text for p in parts))


def _part(
    key: str,
    value: Any,
    where: str,
    *,
    events: set[str],
    pairs: set[tuple[str, str]],
    topics: set[str],
) -> Rule:
    def sub(items: Any) -> list[Rule]:
        if not isinstance(items, list) or not items:
            raise PlaybookError(f"{where}: must be a non-empty list of rules")
        return [
            parse_rule(r, f"{where}[{i}]", events=events, pairs=pairs, topics=topics)
            for i, r in enumerate(items)
        ]

    if key == "any":
        rules = sub(value)
        return Rule(
            lambda f: any(r.holds(f) for r in rules), "(" + " or ".join(r.text for r in rules) + ")"
        )
    if key == "all":
        rules = sub(value)
        return Rule(lambda f: all(r.holds(f) for r in rules), " and ".join(r.text for r in rules))
    if key == "granted_at_least":
        n = _count(value, where)
        return Rule(lambda f: len(f.granted) >= n, f"at least {n} permission(s) granted")
    if key in ("granted", "not_granted"):
        pair = _pair(value, where, pairs)
        if key == "granted":
            return Rule(lambda f: pair in f.granted, f"{pair[0]} × {pair[1]} granted")
        return Rule(lambda f: pair not in f.granted, f"{pair[0]} × {pair[1]} not granted")
    if key in ("min_engagement", "min_loyalty", "min_influence"):
        score = key.removeprefix("min_")
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise PlaybookError(f"{where}: must be a number, 0 or more")
        limit = float(value)
        return Rule(lambda f: f.scores.get(score, 0.0) >= limit, f"{score} ≥ {limit:g}")
    if key == "event":
        if not isinstance(value, str) or value not in events:
            raise PlaybookError(f"{where}: unknown event type {value!r}")
        return Rule(lambda f: f.event_counts.get(value, 0) > 0, f"has had a {value}")
    if key == "recent":
        if not isinstance(value, dict) or set(value) != {"event", "days"}:
            raise PlaybookError(f'{where}: must be {{ event = "…", days = N }}')
        kind, days = value["event"], _count(value["days"], f"{where}.days")
        if not isinstance(kind, str) or kind not in events:
            raise PlaybookError(f"{where}.event: unknown event type {kind!r}")
        span = timedelta(days=days)
        return Rule(
            lambda f: kind in f.last_event and f.now - f.last_event[kind] <= span,
            f"a {kind} in the last {days} days",
        )
    if key == "interest":
        wanted = value if isinstance(value, list) else [value]
        unknown = [t for t in wanted if not isinstance(t, str) or t not in topics]
        if not wanted or unknown:
            raise PlaybookError(f"{where}: unknown topic {unknown[0] if unknown else ''!r}")
        chosen = frozenset(wanted)
        return Rule(
            lambda f: bool(f.interests & chosen), "interested in " + " or ".join(sorted(chosen))
        )
    raise PlaybookError(f"{where}: unknown rule key")


def _count(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise PlaybookError(f"{where}: must be a whole number, 0 or more")
    return value


def _pair(value: Any, where: str, pairs: set[tuple[str, str]]) -> tuple[str, str]:
    if not isinstance(value, dict) or set(value) != {"channel", "purpose"}:
        raise PlaybookError(f'{where}: must be {{ channel = "…", purpose = "…" }}')
    pair = (value["channel"], value["purpose"])
    if not all(isinstance(v, str) for v in pair) or pair not in pairs:
        raise PlaybookError(f"{where}: {pair[0]} × {pair[1]} is not offered by the playbook")
    return pair
