"""Every report counter's name, built here and nowhere else: `core.counts` moves the
counters, `core.reports` and the recount read them. A name is its kind, then its parts,
joined by "|" (`perm|email|newsletter|granted`); the kind says which family of items keeps
it (`core.counts.FAMILIES`)."""

from __future__ import annotations

SEP = "|"


def name(kind: str, *parts: str) -> str:
    return SEP.join((kind, *parts))


def kind_of(counter: str) -> str:
    return counter.split(SEP, 1)[0]


def parts_of(counter: str) -> list[str]:
    """The parts after the kind (`move|friend|customer` → `["friend", "customer"]`)."""
    return counter.split(SEP)[1:]


def of_kind(counter: str, kind: str, *parts: str) -> bool:
    """Whether `counter` is of `kind` (and starts with `parts`)."""
    return counter.startswith(name(kind, *parts) + SEP)


# --- gauges: where people are now ---


def people() -> str:
    return "people"


def stage_circle(stage: str, circle: str) -> str:
    return name("sc", stage, circle)


def permission(channel: str, purpose: str, state: str) -> str:
    return name("perm", channel, purpose, state)


def interest(topic: str, stage: str) -> str:
    return name("interest", topic, stage)


def quadrant(loyalty_influence: str) -> str:
    return name("quad", loyalty_influence)


def audience(play_id: str) -> str:
    return name("audience", play_id)


# --- flows: what happened on a day ---


def net(stage: str) -> str:
    return name("net", stage)


def move(from_stage: str, to_stage: str) -> str:
    return name("move", from_stage, to_stage)


def churn(how: str, stage: str) -> str:
    return name("churn", how, stage)


def change(kind: str, channel: str, purpose: str) -> str:
    """A permission `grant`, `renew` or `withdraw`."""
    return name(kind, channel, purpose)


def signup(source: str) -> str:
    return name("signup", source)


def confirmed(source: str) -> str:
    return name("confirmed", source)


def unsubscribe(route: str) -> str:
    return name("unsub", route)


def honoured(bucket: str) -> str:
    return name("honoured", bucket)


def play(play_id: str, outcome: str) -> str:
    return name("play", play_id, outcome)


def feedback(kind: str) -> str:
    """What came back from a mailbox or a phone (`core.feedback`): a complaint, a bounce,
    a delivery, STOP, ...; `undeliverable` when it marked an address so."""
    return name("feedback", kind)


def delivery(play_id: str, what: str) -> str:
    """A play's mail or text `claimed` through the gate, then `delivered`, `bounced` or
    `complained` about (SES, by the mail's `play` tag), or its link `clicked`."""
    return name("dlv", play_id, what)


def send_hour(play_id: str, hour: int) -> str:
    """A claim granted at `hour` (0 to 23) of the person's own day, in their time zone."""
    return name("hour", play_id, f"{hour:02d}")


# --- where relationships began, and who brought whom (`core.megaphone`) ---


def source(source_: str, campaign: str, what: str) -> str:
    """A sign-up `requested` or `confirmed`, by the source and campaign it came from."""
    return name("src", source_, campaign, what)


def cohort(source_: str, campaign: str, *what: str) -> str:
    """A gauge of the people confirmed from a source and campaign (`people`), and of
    those who reached a stage within so many days of confirming (`friend|30`)."""
    return name("cohort", source_, campaign, *what)


def megaphone(*what: str) -> str:
    """A flow of the megaphone report: `joined|1` and `joined|2` (joins through invites
    of the first and second degree), `unscored` (past the daily limit), `confirmed|all`
    and `confirmed|invited`."""
    return name("mega", *what)


def inviters(bucket: str) -> str:
    """A gauge: people who brought `1`, `2-4` or `5+` people along."""
    return name("inviters", bucket)
