"""The playbook: channels, purposes, topics and the consent policy, loaded from TOML.

Every key is checked when the file is loaded (by `playbook_reader`); a mistake raises
`PlaybookError` naming the dotted key that is wrong, so a marketer can fix the file without
reading Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from msgspec import Struct

from befriend.core.errors import PlaybookError
from befriend.core.rules import ALWAYS, Rule
from befriend.core.words import N_

CHANNEL_KINDS = ("email", "phone", "postal", "social", "events")
SCORES = ("engagement", "loyalty", "influence")
SITE = "site"  # a play shown on the person's own page needs no permission
# Who delivers a play: the organisation, with its own tools, claiming each contact through
# the send gate (`POST /api/sends`), or befriend's dispatcher (`jobs/dispatch.py`).
DELIVERED_BY = ("organisation", "befriend")
# The survey's "how often would you like to hear from us?": answer -> (label, weekly cap on
# the preferred channel; None means no cap of the person's own).
# Labels in English, marked for the catalogs; pages show them in their language.
HOW_OFTEN: dict[str, tuple[str, int | None]] = {
    "weekly": (N_("At most once a week"), 1),
    "few": (N_("A few times a week"), 3),
    "any": (N_("Whenever you have news"), None),
}
_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class QuietHours(Struct, frozen=True):
    """No contact from `start` until `end`, in the person's own time zone."""

    start: time
    end: time

    def as_json(self) -> dict[str, str]:
        return {"from": self.start.strftime("%H:%M"), "until": self.end.strftime("%H:%M")}


class Channel(Struct, frozen=True):
    id: str
    label: str
    kind: str
    quiet_hours: QuietHours | None
    handle_pattern: str | None
    max_per_week: int | None = None  # the playbook's own cap on contacts per week
    # A phone-kind channel's: the countries (ISO 3166-1 alpha-2) its numbers may be from;
    # a number from elsewhere is refused (SMS pumping sends texts to costly far numbers).
    countries: tuple[str, ...] = ()
    # A phone-kind channel befriend sends text messages on (a call channel is not one): a
    # play on it that befriend delivers is texted; on any other phone channel it is a task.
    texts: bool = False


class Purpose(Struct, frozen=True):
    id: str
    label: str
    description: str
    channels: tuple[str, ...]
    gpc_opt_out: bool
    refresh_after_days: int | None = None  # unused and unengaged this long: ask again
    lapse_after_days: int | None = None  # ... and this much longer: the permission lapses


class Policy(Struct, frozen=True):
    version: str
    url: str
    text: str


class Organisation(Struct, frozen=True):
    name: str
    sender: str
    contact: str
    address: str
    jurisdiction: str
    language: str
    # Hosts a play mail's links may send people on to, besides the site's own
    # (`core/links.py`): the redirect refuses every other.
    link_hosts: tuple[str, ...] = ()
    # Every language the site is built in, `language` (the default, at the site's root)
    # first; the others under `/<code>/`.
    languages: tuple[str, ...] = ()

    @property
    def site_languages(self) -> tuple[str, ...]:
        return self.languages or (self.language,)

    def root(self, code: str) -> str:
        """Where the site's pages in `code` begin: `/` for the default language, `/<code>/`
        for each other one (the site is built so, and every link to it follows)."""
        return "/" if code == self.language else f"/{code}/"


class EventType(Struct, frozen=True):
    id: str
    label: str
    weights: Mapping[str, float]  # score name -> weight of one event
    half_life_days: float


class Stage(Struct, frozen=True):
    id: str
    label: str
    says: str  # how the person's own page explains it, without jargon
    rule: Rule


class Circle(Struct, frozen=True):
    id: str
    label: str
    says: str
    min_engagement: float


class Play(Struct, frozen=True):
    id: str
    kind: str  # "message" or "ask"
    says: str  # the wording the person sees for this step
    stages: tuple[str, ...]
    circles: tuple[str, ...]  # empty: any circle
    channel: str  # a channel id, or "site"
    purpose: str | None  # None for site plays
    interests: tuple[str, ...]  # any of these; empty: everyone
    cooldown_days: int
    priority: int
    when: Rule = ALWAYS
    asks: tuple[str, str] | None = None  # the permission an ask requests
    ignored_after_days: int = 14
    delivery: str = "organisation"  # one of DELIVERED_BY

    @property
    def pair(self) -> tuple[str, str] | None:
        return None if self.purpose is None else (self.channel, self.purpose)


class Survey(Struct, frozen=True):
    event: str
    promoter_event: str
    promoter_from: int
    found_us: Mapping[str, str]
    score_every_days: int = 90  # an answer counts toward the scores at most this often


class Reports(Struct, frozen=True):
    """Where the influence report draws its lines: a score at or above the bar is high."""

    loyal_from: float = 5.0
    influential_from: float = 8.0


class MegaphoneRules(Struct, frozen=True):
    """[megaphone]: who brought whom (`core/megaphone.py`). A join through a person's
    invite records `event` for them; past `daily_limit` joins a day it is recorded and
    counted, not scored (invite farming); a join through someone they brought adds
    `second_degree` of such an event to their influence."""

    event: str = "referral"
    daily_limit: int = 5
    second_degree: float = 0.5


# The words a text back to us may be to stop texts, or to have them again: English first
# (the words carriers and AWS treat as opt-out and opt-in), then French, German, Spanish,
# Italian, Dutch and Portuguese. Compared case-folded, so kept case-folded.
SMS_OPT_OUT = (
    "stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "opt-out", "revoke",
    "remove", "arret", "arrêt", "halt", "stopp", "abmelden", "baja", "alto", "basta",
    "afmelden", "parar", "sair",
)  # fmt: skip
SMS_OPT_IN = ("start", "unstop", "yes", "subscribe")


class Feedback(Struct, frozen=True):
    """What befriend does with what comes back (core/feedback.py): transient bounces in a
    row that make an address undeliverable, and the keywords a text back may be."""

    soft_bounces: int = 3
    sms_opt_out: tuple[str, ...] = SMS_OPT_OUT
    sms_opt_in: tuple[str, ...] = SMS_OPT_IN


class AuditRules(Struct, frozen=True):
    """[audit]: how many days an entry of the audit trail is kept (`core/audit.py`; the
    table's TTL removes it after that)."""

    keep_days: int = 400


@dataclass(frozen=True)
class Playbook:
    organisation: Organisation
    policy: Policy
    channels: Mapping[str, Channel]
    purposes: Mapping[str, Purpose]
    topics: Mapping[str, str]
    max_per_week: int
    events: Mapping[str, EventType] = field(default_factory=dict)
    stages: tuple[Stage, ...] = ()
    circles: tuple[Circle, ...] = ()
    plays: Mapping[str, Play] = field(default_factory=dict)
    survey: Survey | None = None
    reports: Reports = field(default_factory=Reports)
    feedback: Feedback = field(default_factory=Feedback)
    megaphone: MegaphoneRules = field(default_factory=MegaphoneRules)
    audit: AuditRules = field(default_factory=AuditRules)
    # The language of this playbook's texts; "" is `organisation.language`, the texts as
    # written at the top of the file. A translation (`[translations.<code>]`) is the same
    # playbook with every text in its language and `texts_language` set to it.
    texts_language: str = ""
    # The playbook in each of `organisation.languages`, this one among them: one mapping
    # shared by all of them, so each finds the others (`in_language`). Empty for a playbook
    # made without the reader, which then speaks its own language only.
    translated: Mapping[str, Playbook] = field(default_factory=dict, compare=False, repr=False)

    @property
    def language(self) -> str:
        """The language this playbook's texts are in."""
        return self.texts_language or self.organisation.language

    def in_language(self, code: str) -> Playbook:
        """The same playbook with every text in `code` (`de`; `de-AT` reads as `de`): the
        rules, ids and numbers are one, only the words differ. A language the playbook does
        not list (a pseudo-locale, say) gets the default language's texts."""
        if code == self.language:
            return self
        for candidate in (code, code.split("-", 1)[0].lower(), self.organisation.language):
            if candidate == self.language:
                return self
            found = self.translated.get(candidate)
            if found is not None:
                return found
        return self

    @property
    def policy_versions(self) -> dict[str, str]:
        """Language -> the current version of the policy in that language, in the order of
        `organisation.languages`. A sign-up may carry any of them: the person saw one."""
        return {
            code: self.in_language(code).policy.version for code in self.organisation.site_languages
        }

    def policy_language(self, version: str) -> str | None:
        """The language whose current policy has `version` (each language's version is its
        own), or None when no current policy has it."""
        return next((c for c, v in self.policy_versions.items() if v == version), None)

    def offers(self, channel: str, purpose: str) -> bool:
        """True when the playbook lets a person give this channel × purpose permission."""
        found = self.purposes.get(purpose)
        return found is not None and channel in found.channels

    def grid(self) -> list[tuple[str, str]]:
        """Every channel × purpose pair on offer, channels first, in playbook order."""
        return [(c, p) for c in self.channels for p in self.purposes if self.offers(c, p)]

    def public(self) -> dict[str, Any]:
        """What any sign-up form needs: safe to publish."""
        return {
            "organisation": {"name": self.organisation.name, "contact": self.organisation.contact},
            "policy": {
                "version": self.policy.version,
                "url": self.policy.url,
                "text": self.policy.text,
            },
            "channels": [
                {
                    "id": c.id,
                    "label": c.label,
                    "kind": c.kind,
                    "quiet_hours": c.quiet_hours.as_json() if c.quiet_hours else None,
                    "countries": list(c.countries),
                }
                for c in self.channels.values()
            ],
            "purposes": [
                {
                    "id": p.id,
                    "label": p.label,
                    "description": p.description,
                    "channels": list(p.channels),
                    "gpc_opt_out": p.gpc_opt_out,
                }
                for p in self.purposes.values()
            ],
            "topics": [{"id": k, "label": v} for k, v in self.topics.items()],
            "max_per_week": self.max_per_week,
            "stages": [{"id": s.id, "label": s.label, "says": s.says} for s in self.stages],
            "circles": [{"id": c.id, "label": c.label, "says": c.says} for c in self.circles],
            "survey": None
            if self.survey is None
            else {
                "found_us": [{"id": k, "label": v} for k, v in self.survey.found_us.items()],
                "how_often": [{"id": k, "label": label} for k, (label, _) in HOW_OFTEN.items()],
            },
        }


def load_playbook(text: str) -> Playbook:
    """Parse and validate playbook TOML; raise PlaybookError naming the offending key."""
    # Imported here, not at the top: the reader builds the classes above, so a top-level
    # import would make the two modules import each other.
    from befriend.core.playbook_reader import parse_playbook

    return parse_playbook(text)


def parse_quiet_hours(value: object, where: str) -> QuietHours:
    """Read `{from = "HH:MM", until = "HH:MM"}`; PlaybookError names `where` when it is wrong."""
    if not isinstance(value, dict) or set(value) != {"from", "until"}:
        raise PlaybookError(f'{where}: must be {{ from = "HH:MM", until = "HH:MM" }}')
    times = []
    for key in ("from", "until"):
        text = value[key]
        if not isinstance(text, str) or not _CLOCK.fullmatch(text):
            raise PlaybookError(f"{where}.{key}: must be a 24-hour time like 21:00")
        times.append(time.fromisoformat(text))
    if times[0] == times[1]:
        raise PlaybookError(f"{where}: from and until must differ")
    return QuietHours(times[0], times[1])
