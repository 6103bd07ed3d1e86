"""Marketer reports, built from the counters alone: never from people.

Each report is a few sections; a section is one table (a label column, then numbers) and
says which chart suits it. The API, the CSV and SVG answers, the dashboard and the
`befriend report` command all render these same tables, so every figure is the same
wherever it is read.

The words (titles, descriptions, headings, notes and the core's own row labels) are
marked `N_` and said through the catalog the caller hands over in `Inputs.words` (the
request's, for the API; English as written by default), and the playbook's labels are
those of the playbook handed over (`Playbook.in_language`). What a program reads stays the
same in every language: ids, row keys, and each column's `kind`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Literal

from msgspec import Struct

from befriend.core import counter_names as names
from befriend.core.counts import HONOURED, LATER
from befriend.core.delivery import OUTCOMES
from befriend.core.errors import FieldError, InvalidInput
from befriend.core.megaphone import COHORT_DAYS, INVITER_BUCKETS, NO_CAMPAIGN
from befriend.core.playbook import SITE, Playbook
from befriend.core.words import ENGLISH, N_, Words, say

Chart = Literal["bar", "stacked", "line", "hbar"]
Cell = str | int | float | None
# What a column holds, whatever its heading says: the row's name (`label`, the first), a
# `count`, a `percent`, a `total` of the counts beside it in its row, or `text`.
ColumnKind = Literal["label", "count", "percent", "total", "text"]
LABEL: ColumnKind = "label"
COUNT: ColumnKind = "count"
PERCENT: ColumnKind = "percent"
TOTAL: ColumnKind = "total"
TEXT: ColumnKind = "text"
MAX_DAYS = 366
EARLIEST = date(2000, 1, 1)


class Section(Struct, frozen=True):
    id: str
    title: str
    description: str
    chart: Chart
    columns: tuple[str, ...]  # headings: the label column first, then one per value
    rows: tuple[tuple[Cell, ...], ...]
    keys: tuple[str, ...] = ()  # a stable id per row (stage id, day, ...)
    kinds: tuple[ColumnKind, ...] = ()  # one per column; none given: a label, then counts

    @property
    def column_kinds(self) -> tuple[ColumnKind, ...]:
        if self.kinds:
            return self.kinds
        return (LABEL, *(COUNT for _ in self.columns[1:]))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "chart": self.chart,
            "columns": list(self.columns),
            "kinds": list(self.column_kinds),
            "rows": [
                {"key": k, "cells": list(r)} for k, r in zip(self.keys, self.rows, strict=True)
            ],
        }


class Report(Struct, frozen=True):
    id: str
    title: str
    description: str
    first: date
    last: date
    sections: tuple[Section, ...]
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "report": self.id,
            "title": self.title,
            "description": self.description,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "sections": [s.as_json() for s in self.sections],
            "notes": list(self.notes),
        }

    def section(self, section_id: str | None) -> Section | None:
        if section_id is None:
            return self.sections[0]
        return next((s for s in self.sections if s.id == section_id), None)


class Period(Struct, frozen=True):
    """The days a report covers, both included."""

    first: date
    last: date

    @classmethod
    def default(cls, today: date) -> Period:
        return cls(today - timedelta(days=27), today)

    @classmethod
    def parse(cls, first: str | None, last: str | None, today: date) -> Period:
        """The period a request asks for (ISO dates, both optional: the last four weeks up
        to today). At most a year, not before 2000, not after today."""
        errors: list[FieldError] = []

        def day(text: str | None, name: str) -> date | None:
            if text is None or text == "":
                return None
            try:
                return datetime.strptime(text, "%Y-%m-%d").date()
            except ValueError:
                errors.append(FieldError(name, N_("must be a date as YYYY-MM-DD")))
                return None

        end = day(last, "to") or today
        if end < EARLIEST:
            errors.append(FieldError("to", N_("must be 2000-01-01 or later")))
            end = today
        start = day(first, "from") or end - timedelta(days=27)
        if not errors:
            if end > today:
                errors.append(
                    FieldError(
                        "to",
                        N_("must not be after today (%(today)s)"),
                        {"today": today.isoformat()},
                    )
                )
            if start < EARLIEST:
                errors.append(FieldError("from", N_("must be 2000-01-01 or later")))
            if start > end:
                errors.append(FieldError("from", N_("must not be after `to`")))
            elif (end - start).days + 1 > MAX_DAYS:
                errors.append(
                    FieldError("from", N_("a period covers at most %(n)d days"), {"n": MAX_DAYS})
                )
        if errors:
            raise InvalidInput(errors)
        return cls(start, end)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


class Inputs(Struct, frozen=True):
    """What a report is built from: the gauges of now and the flows of each day from the
    period's first day up to today (the stage series walks back from now)."""

    playbook: Playbook
    gauges: Mapping[str, int]
    flows: Mapping[str, Mapping[str, int]]  # ISO day -> counters
    period: Period
    today: date
    words: Words = ENGLISH  # the catalog the reports' words are said in

    def say(self, template: str, **values: object) -> str:
        """`template` (marked `N_` where written) in the words' language."""
        return say(self.words, template, values)

    def total(self, within: Period | None = None) -> Counter[str]:
        """The flows summed over the period (or `within`)."""
        span = within or self.period
        out: Counter[str] = Counter()
        for day, flows in self.flows.items():
            if span.first.isoformat() <= day <= span.last.isoformat():
                out.update(flows)
        return out


# --- the reports ---


def stages(i: Inputs) -> Report:
    pb = i.playbook
    ids = [s.id for s in pb.stages]
    circles = [c.id for c in pb.circles]
    now_rows: list[tuple[Cell, ...]] = [
        (
            label,
            *[i.gauges.get(names.stage_circle(s, c), 0) for c in circles],
            _sum_sc(i.gauges, s, circles),
        )
        for s, label in _stage_labels(pb).items()
    ]
    totals = tuple(sum(_int(r[n]) for r in now_rows) for n in range(1, len(circles) + 2))
    series = _stage_series(i, ids)
    return Report(
        "stages",
        i.say(N_("People by stage")),
        i.say(N_("How many people are at each stage of the relationship, and in each circle.")),
        i.period.first,
        i.period.last,
        (
            Section(
                "now",
                i.say(N_("Now, by stage and circle")),
                i.say(
                    N_("Confirmed people at each stage, split by how close they are now (circle).")
                ),
                "stacked",
                (i.say(N_("Stage")), *[c.label for c in pb.circles], i.say(N_("All circles"))),
                (*now_rows, (i.say(N_("All stages")), *totals)),
                (*ids, "all"),
                (LABEL, *(COUNT for _ in circles), TOTAL),
            ),
            Section(
                "daily",
                i.say(N_("Day by day")),
                i.say(N_("People at each stage at the end of each day of the period.")),
                "line",
                (i.say(N_("Day")), *[s.label for s in pb.stages]),
                tuple((d.isoformat(), *series[d]) for d in i.period.days()),
                tuple(d.isoformat() for d in i.period.days()),
                (LABEL, *(COUNT for _ in ids)),
            ),
        ),
    )


def transitions(i: Inputs) -> Report:
    pb = i.playbook
    labels = {"none": i.say(N_("Newly confirmed")), **_stage_labels(pb)}
    order = {s: n for n, s in enumerate(["none", *(s.id for s in pb.stages)])}
    total = i.total()
    moves = []
    for key, count in total.items():
        if names.kind_of(key) == "move" and count:
            src, dst = names.parts_of(key)
            moves.append((src, dst, count))
    moves.sort(key=lambda m: (order.get(m[0], 99), order.get(m[1], 99)))

    def direction(src: str, dst: str) -> str:
        if src == "none":
            # Translators: the direction of a move between stages: a person newly confirmed.
            return i.say(N_("new"))
        if order.get(dst, 0) > order.get(src, 0):
            # Translators: the direction of a move to a closer stage (friend to customer).
            return i.say(N_("on"))
        # Translators: the direction of a move to an earlier stage (customer to friend).
        return i.say(N_("back"))

    churn_rows = [
        (
            label,
            total.get(names.churn("withdraw-all", s), 0),
            total.get(names.churn("erased", s), 0),
        )
        for s, label in _stage_labels(pb).items()
    ]
    return Report(
        "transitions",
        i.say(N_("Moves between stages")),
        i.say(
            N_(
                "How people moved between stages in the period: on (strangers becoming "
                "friends, friends customers, customers champions), back, and who left."
            )
        ),
        i.period.first,
        i.period.last,
        (
            Section(
                "moves",
                i.say(N_("Moves in the period")),
                i.say(N_("Each move from one stage to another, with its direction.")),
                "hbar",
                (i.say(N_("Move")), i.say(N_("Direction")), i.say(N_("People"))),
                tuple(
                    (f"{labels.get(a, a)} → {labels.get(b, b)}", direction(a, b), n)
                    for a, b, n in moves
                ),
                tuple(f"{a}>{b}" for a, b, _ in moves),
                (LABEL, TEXT, COUNT),
            ),
            Section(
                "churn",
                i.say(N_("Who left, by the stage they were at")),
                i.say(
                    N_(
                        "People who withdrew every permission, and people who asked to be "
                        "forgotten."
                    )
                ),
                "stacked",
                (i.say(N_("Stage")), i.say(N_("Withdrew everything")), i.say(N_("Erased"))),
                tuple(churn_rows),
                tuple(_stage_labels(pb)),
                (LABEL, COUNT, COUNT),
            ),
        ),
    )


def permissions(i: Inputs) -> Report:
    pb = i.playbook
    people = i.gauges.get("people", 0)
    grid_rows = []
    for channel, purpose in pb.grid():
        granted = i.gauges.get(names.permission(channel, purpose, "granted"), 0)
        withdrawn = i.gauges.get(names.permission(channel, purpose, "withdrawn"), 0)
        label = f"{pb.channels[channel].label}: {pb.purposes[purpose].label}"
        grid_rows.append((label, granted, withdrawn, max(0, people - granted - withdrawn)))
    weeks = _weeks(i.period)
    weekly = []
    for start, end in weeks:
        span = i.total(Period(max(start, i.period.first), min(end, i.period.last)))
        weekly.append(
            (
                start.isoformat(),
                _of_kind(span, "grant"),
                _of_kind(span, "withdraw"),
                _of_kind(span, "renew"),
            )
        )
    total = i.total()
    sources = sorted(
        {names.parts_of(k)[0] for k in total if names.kind_of(k) in ("signup", "confirmed")}
    )
    signup_rows = []
    for source in sources:
        asked, confirmed = total.get(names.signup(source), 0), total.get(names.confirmed(source), 0)
        signup_rows.append(
            (_said(i, SOURCE_LABELS, source), asked, confirmed, _rate(confirmed, asked))
        )
    asked_all = sum(r[1] for r in signup_rows)
    confirmed_all = sum(r[2] for r in signup_rows)
    return Report(
        "permissions",
        i.say(N_("Permissions")),
        i.say(
            N_(
                "What people allow, per channel and purpose; how grants and withdrawals went "
                "week by week; and how many sign-ups were confirmed (double opt-in)."
            )
        ),
        i.period.first,
        i.period.last,
        (
            Section(
                "grid",
                i.say(N_("Now, per channel and purpose")),
                i.say(N_("Confirmed people who granted, withdrew, or never gave each permission.")),
                "stacked",
                (
                    i.say(N_("Permission")),
                    i.say(N_("Granted")),
                    i.say(N_("Withdrawn")),
                    i.say(N_("Never given")),
                ),
                tuple(grid_rows),
                tuple(f"{c}:{p}" for c, p in pb.grid()),
                (LABEL, COUNT, COUNT, COUNT),
            ),
            Section(
                "weekly",
                i.say(N_("Grants and withdrawals, week by week")),
                i.say(
                    N_(
                        "Permissions granted, withdrawn and renewed in each week (weeks start "
                        "on Monday)."
                    )
                ),
                "bar",
                (
                    i.say(N_("Week of")),
                    i.say(N_("Granted")),
                    i.say(N_("Withdrawn")),
                    i.say(N_("Renewed")),
                ),
                tuple(weekly),
                tuple(start.isoformat() for start, _ in weeks),
                (LABEL, COUNT, COUNT, COUNT),
            ),
            Section(
                "signups",
                i.say(N_("Sign-ups and confirmations, by source")),
                i.say(
                    N_(
                        "Sign-up requests in the period, how many of them were confirmed from "
                        "the mail, and the confirmation rate in percent (counted on the day of "
                        "sign-up)."
                    )
                ),
                "bar",
                (
                    i.say(N_("Source")),
                    i.say(N_("Sign-ups")),
                    i.say(N_("Confirmed")),
                    i.say(N_("Confirmed (%)")),
                ),
                (
                    *signup_rows,
                    (
                        i.say(N_("All sources")),
                        asked_all,
                        confirmed_all,
                        _rate(confirmed_all, asked_all),
                    ),
                ),
                (*sources, "all"),
                (LABEL, COUNT, COUNT, PERCENT),
            ),
        ),
    )


SOURCE_LABELS = {
    "form": N_("Sign-up form (no JavaScript)"),
    "api": N_("Sign-up form or API"),
    "import": N_("Import"),
}
ROUTE_LABELS = {
    "one-click": N_("One-click unsubscribe (mail client)"),
    "unsubscribe-page": N_("Unsubscribe link"),
    "preferences": N_("Preferences page"),
    "withdraw-all": N_("Withdraw everything"),
    "gpc": N_("Global Privacy Control"),
    "expiry": N_("Lapsed (not renewed)"),
    "complaint": N_("Spam complaint (mailbox provider)"),
    "sms-stop": N_("STOP texted back"),
    "tool-unsubscribe": N_("Unsubscribed in another sending tool"),
}
BUCKET_LABELS = {
    "1s": N_("Under a second"),
    "1m": N_("Under a minute"),
    "1h": N_("Under an hour"),
    "1d": N_("Under a day"),
    "2d": N_("Under two days"),
    LATER: N_("Two days or more"),
}


def unsubscribes(i: Inputs) -> Report:
    total = i.total()
    routes = [(r, total.get(names.unsubscribe(r), 0)) for r in ROUTE_LABELS]
    requested = sum(n for r, n in routes if r != "expiry")
    one_click = total.get(names.unsubscribe("one-click"), 0)
    buckets = [name for name, _ in HONOURED] + [LATER]
    timed = [(b, total.get(names.honoured(b), 0)) for b in buckets]
    slow = sum(n for b, n in timed if b in ("2d", LATER))
    return Report(
        "unsubscribes",
        i.say(N_("Unsubscribes and withdrawals")),
        i.say(
            N_(
                "How people withdrew permission, and how fast each withdrawal took effect: the "
                "evidence a regulator or mailbox provider asks for."
            )
        ),
        i.period.first,
        i.period.last,
        (
            Section(
                "routes",
                i.say(N_("How people withdrew")),
                i.say(
                    N_(
                        "Withdrawals in the period by the way they came (one write can withdraw "
                        "several permissions; it counts once here). The share is of the "
                        "requests people made; lapses are not requests."
                    )
                ),
                "hbar",
                (i.say(N_("Way")), i.say(N_("Withdrawals")), i.say(N_("Share of requests (%)"))),
                tuple(
                    (_said(i, ROUTE_LABELS, r), n, None if r == "expiry" else _rate(n, requested))
                    for r, n in routes
                ),
                tuple(r for r, _ in routes),
                (LABEL, COUNT, PERCENT),
            ),
            Section(
                "honoured",
                i.say(N_("Time from request to recorded effect")),
                i.say(
                    N_(
                        "How long after the request reached befriend its withdrawal was "
                        "written. Mail is sent only inside permission read at sending time, so "
                        "from that moment nothing more is sent."
                    )
                ),
                "bar",
                (i.say(N_("Within")), i.say(N_("Withdrawals"))),
                tuple((_said(i, BUCKET_LABELS, b), n) for b, n in timed),
                tuple(buckets),
                (LABEL, COUNT),
            ),
        ),
        (
            i.say(
                N_(
                    "One-click unsubscribes (RFC 8058): %(one_click)d of %(requested)d "
                    "requests (%(share)s %%)."
                ),
                one_click=one_click,
                requested=requested,
                share=str(_rate(one_click, requested) or 0),
            ),
            i.say(N_("Withdrawals that took two days or more: %(slow)d."), slow=slow),
        ),
    )


def interests(i: Inputs) -> Report:
    pb = i.playbook
    stage_ids = [s.id for s in pb.stages]
    rows: list[tuple[Cell, ...]] = []
    for topic, label in pb.topics.items():
        counts = [i.gauges.get(names.interest(topic, s), 0) for s in stage_ids]
        rows.append((label, *counts, sum(counts)))
    return Report(
        "interests",
        i.say(N_("Interests by stage")),
        i.say(
            N_(
                "The topics people told us they like, by the stage they are at. Self-reported, "
                "so it says what they want to hear about, not what we guessed."
            )
        ),
        i.period.first,
        i.period.last,
        (
            Section(
                "now",
                i.say(N_("Interests now, by stage")),
                i.say(N_("Confirmed people who chose each topic.")),
                "stacked",
                (i.say(N_("Topic")), *[s.label for s in pb.stages], i.say(N_("All stages"))),
                tuple(rows),
                tuple(pb.topics),
                (LABEL, *(COUNT for _ in stage_ids), TOTAL),
            ),
        ),
    )


QUADRANTS = {
    "high|high": N_("Loyal and influential"),
    "high|low": N_("Loyal, not (yet) influential"),
    "low|high": N_("Influential, not (yet) loyal"),
    "low|low": N_("Neither yet"),
}


def influence(i: Inputs) -> Report:
    bar = i.playbook.reports
    rows = [(i.say(label), i.gauges.get(names.quadrant(q), 0)) for q, label in QUADRANTS.items()]
    return Report(
        "influence",
        i.say(N_("Loyalty and influence")),
        i.say(
            N_(
                "People in four quadrants by loyalty (they come back and buy) and influence "
                "(they bring others). A loyalty score of %(loyal)s or more counts as loyal, an "
                "influence score of %(influential)s or more as influential."
            ),
            loyal=_num(bar.loyal_from),
            influential=_num(bar.influential_from),
        ),
        i.period.first,
        i.period.last,
        (
            Section(
                "quadrants",
                i.say(N_("Who holds the megaphone")),
                i.say(
                    N_(
                        "Confirmed people in each quadrant, with their scores as of their "
                        "latest activity."
                    )
                ),
                "bar",
                (i.say(N_("Quadrant")), i.say(N_("People"))),
                tuple(rows),
                tuple(QUADRANTS),
                (LABEL, COUNT),
            ),
        ),
    )


def plays(i: Inputs) -> Report:
    pb = i.playbook
    total = i.total()
    rows: list[tuple[Cell, ...]] = []
    for pid, play in pb.plays.items():
        asked = total.get(names.play(pid, "asked"), 0) if play.kind == "ask" else None
        accepted = total.get(names.play(pid, "accepted"), 0)
        declined = total.get(names.play(pid, "declined"), 0)
        unanswered = None if asked is None else max(0, asked - accepted - declined)
        rows.append(
            (
                pid,
                i.gauges.get(names.audience(pid), 0),
                total.get(names.play(pid, "sent"), 0),
                asked,
                accepted,
                declined,
                unanswered,
                None if asked is None else _rate(accepted, asked),
            )
        )
    return Report(
        "plays",
        i.say(N_("Plays")),
        i.say(
            N_(
                "For each play: the people in its audience now (stage, circle, interests and "
                "the permission it needs), and how its asks were answered in the period."
            )
        ),
        i.period.first,
        i.period.last,
        (
            Section(
                "plays",
                i.say(N_("Audience and answers")),
                i.say(
                    N_(
                        "Audience now, then in the period: people it was sent to (on the day of "
                        "their latest send), people asked, and their answers. Cooldowns, quiet "
                        "hours and weekly caps are applied when an audience is downloaded, so "
                        "it can be smaller than the audience shown here."
                    )
                ),
                "hbar",
                (
                    i.say(N_("Play")),
                    i.say(N_("Audience now")),
                    i.say(N_("Sent to")),
                    i.say(N_("Asked")),
                    i.say(N_("Accepted")),
                    i.say(N_("Declined")),
                    i.say(N_("No answer")),
                    i.say(N_("Accepted (%)")),
                ),
                tuple(rows),
                tuple(pb.plays),
                (LABEL, COUNT, COUNT, COUNT, COUNT, COUNT, COUNT, PERCENT),
            ),
        ),
    )


# Gmail's and Yahoo's bulk sender requirements: spam complaints below 0.3% of the mail
# delivered, and Gmail asks senders to keep them below 0.1%. A play above the latter is
# flagged before it reaches the former.
COMPLAINT_BAR = 0.3
COMPLAINT_WATCH = 0.1


def delivery(i: Inputs) -> Report:
    pb = i.playbook
    total = i.total()
    sent = [pid for pid, play in pb.plays.items() if play.channel != SITE]
    play_rows = [_delivery_row(pid, _figures(total, pid), i.words) for pid in sent]
    overall = [sum(_int(row[n + 1]) for row in play_rows) for n in range(len(OUTCOMES))]
    all_row = _delivery_row(i.say(N_("All plays")), overall, i.words)
    weekly_rows: list[tuple[Cell, ...]] = []
    weekly_keys: list[str] = []
    for start, end in _weeks(i.period):
        span = i.total(Period(max(start, i.period.first), min(end, i.period.last)))
        week = _iso_week(start)
        for pid in sent:
            figures = _figures(span, pid)
            if any(figures):
                weekly_rows.append(_delivery_row(f"{week} · {pid}", figures, i.words))
                weekly_keys.append(f"{week}|{pid}")
    hour_rows: list[tuple[Cell, ...]] = []
    for hour in range(24):
        counts = [total.get(names.send_hour(pid, hour), 0) for pid in sent]
        hour_rows.append((f"{hour:02d}:00", *counts, sum(counts)))
    rate = _complaint_rate(overall)
    flagged = [pid for pid, row in zip(sent, play_rows, strict=True) if _flagged(row)]
    columns = (
        i.say(N_("Claimed")),
        i.say(N_("Delivered")),
        i.say(N_("Bounced")),
        i.say(N_("Complained")),
        i.say(N_("Clicked")),
    )
    rated = (i.say(N_("Complaint rate (%)")), i.say(N_("Complaints")))
    kinds: tuple[ColumnKind, ...] = (LABEL, *(COUNT for _ in columns), PERCENT, TEXT)
    bars = {"bar": _num(COMPLAINT_BAR), "watch": _num(COMPLAINT_WATCH)}
    return Report(
        "delivery",
        i.say(N_("Delivery")),
        i.say(
            N_(
                "What became of each play's contacts: claimed through the send gate, "
                "delivered, bounced and complained about (as mailbox providers told SES), and "
                "links followed; the complaint rate against the mailbox providers' bar; and "
                "the hour of the person's own day each contact was claimed at."
            )
        ),
        i.period.first,
        i.period.last,
        (
            Section(
                "plays",
                i.say(N_("Each play in the period")),
                i.say(
                    N_(
                        "Contacts claimed (granted by the send gate), mails delivered, bounced "
                        "and complained about, and mails whose link was followed (once a mail, "
                        "perhaps by a mail scanner). The complaint rate is of the mails "
                        "delivered; Gmail and Yahoo ask bulk senders to stay below %(bar)s%%, "
                        "and a play above %(watch)s%% is flagged."
                    ),
                    **bars,
                ),
                "bar",
                (i.say(N_("Play")), *columns, *rated),
                (*play_rows, all_row),
                (*sent, "all"),
                kinds,
            ),
            Section(
                "weekly",
                i.say(N_("Each play, week by week")),
                i.say(
                    N_("The same figures for each ISO week (from Monday) and play that had any.")
                ),
                "hbar",
                (i.say(N_("Week · play")), *columns, *rated),
                tuple(weekly_rows),
                tuple(weekly_keys),
                kinds,
            ),
            Section(
                "hours",
                i.say(N_("Contacts by the hour of the person's own day")),
                i.say(
                    N_(
                        "Contacts claimed in each hour of the day in the person's own time "
                        "zone, at the moment of the claim. The gate grants none inside a "
                        "person's quiet hours, so a channel's quiet hours stay empty for its "
                        "plays."
                    )
                ),
                "stacked",
                (i.say(N_("Hour")), *sent, i.say(N_("All plays"))),
                tuple(hour_rows),
                tuple(f"{hour:02d}" for hour in range(24)),
                (LABEL, *(COUNT for _ in sent), TOTAL),
            ),
        ),
        (
            i.say(
                N_(
                    "Complaint rate of all plays: %(rate)s%% of the mails delivered (the bar "
                    "is %(bar)s%%; flagged above %(watch)s%%)."
                ),
                rate="–" if rate is None else _num(rate),
                **bars,
            ),
            i.say(N_("Plays above the flag: %(plays)s."), plays=", ".join(flagged))
            if flagged
            else i.say(N_("Plays above the flag: none.")),
        ),
    )


def _figures(flows: Mapping[str, int], play_id: str) -> list[int]:
    return [flows.get(names.delivery(play_id, what), 0) for what in OUTCOMES]


def _complaint_rate(figures: list[int]) -> float | None:
    """Complaints in percent of the mails delivered, to a hundredth (the bars are tenths)."""
    delivered, complained = figures[1], figures[3]
    return None if delivered == 0 else round(100 * complained / delivered, 2)


def _delivery_row(label: str, figures: list[int], words: Words) -> tuple[Cell, ...]:
    rate = _complaint_rate(figures)
    return (label, *figures, rate, _complaints(rate, words))


def _flagged(row: tuple[Cell, ...]) -> bool:
    rate = row[-2]
    return isinstance(rate, float) and rate > COMPLAINT_WATCH


def _complaints(rate: float | None, words: Words = ENGLISH) -> str | None:
    if rate is None:
        return None
    if rate >= COMPLAINT_BAR:
        return say(words, N_("at or above %(n)s%%"), {"n": _num(COMPLAINT_BAR)})
    if rate > COMPLAINT_WATCH:
        return say(words, N_("above %(n)s%%"), {"n": _num(COMPLAINT_WATCH)})
    return say(words, N_("at most %(n)s%%"), {"n": _num(COMPLAINT_WATCH)})


def _iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def sources(i: Inputs) -> Report:
    """Sign-ups by where they came from (`core/megaphone.py`), and each source's cohort."""
    pb = i.playbook
    total = i.total()
    asked: Counter[tuple[str, str]] = Counter()
    came: Counter[tuple[str, str]] = Counter()
    for counter, value in total.items():
        if names.kind_of(counter) == "src":
            source, campaign, what = names.parts_of(counter)
            (asked if what == "requested" else came)[(source, campaign)] += value
    pairs = sorted(set(asked) | set(came))
    signup_rows = [(_source_label(p), asked[p], came[p], _rate(came[p], asked[p])) for p in pairs]
    later = pb.stages[1:]
    cohorts: dict[tuple[str, str], dict[str, int]] = {}
    for counter, value in i.gauges.items():
        if names.kind_of(counter) == "cohort" and value:
            parts = names.parts_of(counter)
            cohorts.setdefault((parts[0], parts[1]), {})["|".join(parts[2:])] = value
    cohort_rows: list[tuple[Cell, ...]] = []
    for pair in sorted(cohorts):
        held = cohorts[pair]
        figures = [held.get(f"{s.id}|{days}", 0) for s in later for days in COHORT_DAYS]
        cohort_rows.append((_source_label(pair), held.get("people", 0), *figures))
    return Report(
        "sources",
        i.say(N_("Where relationships began")),
        i.say(
            N_(
                "Sign-ups by source and campaign: a tracked link's (befriend links create), "
                "`invite` for a person's invite link, `untracked` for an address with campaign "
                "parameters but no tracked link, `direct` for none."
            )
        ),
        i.period.first,
        i.period.last,
        (
            Section(
                "signups",
                i.say(N_("Sign-ups requested and confirmed")),
                i.say(
                    N_(
                        "Sign-ups requested in the period and confirmations, by where they came "
                        "from; a request sent again before confirming counts again."
                    )
                ),
                "bar",
                (
                    i.say(N_("Source · campaign")),
                    i.say(N_("Requested")),
                    i.say(N_("Confirmed")),
                    i.say(N_("Confirmed (%)")),
                ),
                tuple(signup_rows),
                tuple(f"{s}|{c}" for s, c in pairs),
                (LABEL, COUNT, COUNT, PERCENT),
            ),
            Section(
                "cohorts",
                i.say(N_("Each source's people, and who got where")),
                i.say(
                    N_(
                        "Confirmed people from each source now, and of them, how many reached "
                        "each stage within 30 and 90 days of confirming (a first arrival, "
                        "whatever came after). People confirmed less than 30 or 90 days ago "
                        "are still counting."
                    )
                ),
                "hbar",
                (
                    i.say(N_("Source · campaign")),
                    i.say(N_("People")),
                    *(
                        # Translators: a column of the cohorts: "Customer in 30 days".
                        i.say(N_("%(stage)s in %(days)d days"), stage=s.label, days=days)
                        for s in later
                        for days in COHORT_DAYS
                    ),
                ),
                tuple(cohort_rows),
                tuple(f"{s}|{c}" for s, c in sorted(cohorts)),
                (LABEL, COUNT, *(COUNT for _ in later for _ in COHORT_DAYS)),
            ),
        ),
    )


def _source_label(pair: tuple[str, str]) -> str:
    source, campaign = pair
    return source if campaign == NO_CAMPAIGN else f"{source} · {campaign}"


def megaphone(i: Inputs) -> Report:
    """Joins through invites, week by week, and how many people brought how many."""
    weekly_rows: list[tuple[Cell, ...]] = []
    weekly_keys: list[str] = []
    for start, end in _weeks(i.period):
        span = i.total(Period(max(start, i.period.first), min(end, i.period.last)))
        first, second = (span.get(names.megaphone("joined", d), 0) for d in ("1", "2"))
        everyone = span.get(names.megaphone("confirmed", "all"), 0)
        invited = span.get(names.megaphone("confirmed", "invited"), 0)
        unscored = span.get(names.megaphone("unscored"), 0)
        weekly_rows.append(
            (_iso_week(start), first, second, unscored, everyone, _rate(invited, everyone))
        )
        weekly_keys.append(_iso_week(start))
    total = i.total()
    everyone = total.get(names.megaphone("confirmed", "all"), 0)
    invited = total.get(names.megaphone("confirmed", "invited"), 0)
    share = _rate(invited, everyone)
    buckets = [
        # Translators: how many people an inviter brought: "Brought 2-4", "Brought 5+".
        (i.say(N_("Brought %(n)s"), n=b), i.gauges.get(names.inviters(b), 0))
        for b, _, _ in INVITER_BUCKETS
    ]
    return Report(
        "megaphone",
        i.say(N_("The megaphone")),
        i.say(
            N_(
                "Who brought whom, as counts only: people who confirmed through someone's "
                "invite link (the first degree) and through the people those brought (the "
                "second), and how many people brought how many. No one is named."
            )
        ),
        i.period.first,
        i.period.last,
        (
            Section(
                "weekly",
                i.say(N_("Joins through invites, week by week")),
                i.say(
                    N_(
                        "Joins counted for inviters in each ISO week (from Monday): first and "
                        "second degree, and those past the playbook's daily limit per inviter "
                        "(counted, not scored); confirmations of everyone, and the share who "
                        "came through someone."
                    )
                ),
                "bar",
                (
                    i.say(N_("Week")),
                    i.say(N_("Joined through someone")),
                    i.say(N_("Second degree")),
                    i.say(N_("Past the daily limit")),
                    i.say(N_("Confirmed (all)")),
                    i.say(N_("Through someone (%)")),
                ),
                tuple(weekly_rows),
                tuple(weekly_keys),
                (LABEL, COUNT, COUNT, COUNT, COUNT, PERCENT),
            ),
            Section(
                "inviters",
                i.say(N_("How many each inviter brought")),
                i.say(N_("Confirmed people by how many joined through their invite link, ever.")),
                "bar",
                (i.say(N_("Inviters")), i.say(N_("People"))),
                tuple(buckets),
                tuple(b for b, _, _ in INVITER_BUCKETS),
                (LABEL, COUNT),
            ),
        ),
        (
            i.say(
                N_(
                    "New people who came through someone: %(share)s%% (%(invited)d of "
                    "%(everyone)d confirmed in the period)."
                ),
                share="–" if share is None else _num(share),
                invited=invited,
                everyone=everyone,
            ),
        ),
    )


REPORTS: dict[str, tuple[str, Callable[[Inputs], Report]]] = {
    "stages": (N_("People by stage and circle, now and day by day"), stages),
    "transitions": (N_("Moves between stages, on and back, and who left"), transitions),
    "permissions": (
        N_("Permissions per channel and purpose, weekly grants, confirmations"),
        permissions,
    ),
    "unsubscribes": (N_("How withdrawals came and how fast they took effect"), unsubscribes),
    "interests": (N_("Interests by stage"), interests),
    "influence": (N_("People by loyalty and influence"), influence),
    "plays": (N_("Each play's audience and how its asks were answered"), plays),
    "delivery": (
        N_("Each play's contacts: delivered, bounced, complaints, clicks, hours"),
        delivery,
    ),
    "sources": (N_("Sign-ups by source and campaign, and each source's cohort"), sources),
    "megaphone": (
        N_("Joins through invites, first and second degree, and inviters"),
        megaphone,
    ),
}


# The counter family each report reads (`core.counts.FAMILIES`): only its items are read.
READS = {
    "stages": "stage",
    "transitions": "stage",
    "permissions": "perm",
    "unsubscribes": "unsub",
    "interests": "interest",
    "influence": "quad",
    "plays": "play",
    "delivery": "delivery",
    "sources": "sources",
    "megaphone": "megaphone",
}


def build(name: str, inputs: Inputs) -> Report:
    return REPORTS[name][1](inputs)


def catalogue(words: Words = ENGLISH) -> list[dict[str, str]]:
    """The reports there are, each titled in `words`' language."""
    return [{"id": rid, "title": words.gettext(title)} for rid, (title, _) in REPORTS.items()]


# --- helpers ---


def _said(i: Inputs, labels: Mapping[str, str], key: str) -> str:
    """The core's own label for `key` (marked `N_`) in the words' language; an unknown key
    as it is."""
    found = labels.get(key)
    return key if found is None else i.say(found)


def _stage_labels(pb: Playbook) -> dict[str, str]:
    return {s.id: s.label for s in pb.stages}


def _sum_sc(gauges: Mapping[str, int], stage: str, circles: Iterable[str]) -> int:
    return sum(gauges.get(names.stage_circle(stage, c), 0) for c in circles)


def _stage_series(i: Inputs, stage_ids: list[str]) -> dict[date, tuple[int, ...]]:
    """People at each stage at the end of each day: now, less what each later day added."""
    current = {
        s: sum(v for k, v in i.gauges.items() if names.of_kind(k, "sc", s)) for s in stage_ids
    }
    out: dict[date, tuple[int, ...]] = {}
    day = i.today
    while day >= i.period.first:
        if day <= i.period.last:
            out[day] = tuple(current[s] for s in stage_ids)
        flows = i.flows.get(day.isoformat(), {})
        for s in stage_ids:
            current[s] -= flows.get(names.net(s), 0)
        day -= timedelta(days=1)
    return out


def _weeks(period: Period) -> list[tuple[date, date]]:
    start = period.first - timedelta(days=period.first.weekday())
    out = []
    while start <= period.last:
        out.append((start, start + timedelta(days=6)))
        start += timedelta(days=7)
    return out


def _of_kind(values: Mapping[str, int], kind: str) -> int:
    return sum(v for k, v in values.items() if names.kind_of(k) == kind)


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 1)


def _int(value: Cell) -> int:
    return value if isinstance(value, int) else 0


def _num(value: float) -> str:
    return f"{value:g}"
