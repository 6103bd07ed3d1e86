"""A person as befriend holds them, and the view of it they are shown."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

from msgspec import Struct, field

from befriend.core.contact_points import ContactPoints, Phone, PostalAddress
from befriend.core.playbook import Playbook, QuietHours

Status = Literal["pending", "active", "erasing"]
State = Literal["granted", "withdrawn", "never"]
Pair = tuple[str, str]  # (channel, purpose)


class Permission(Struct, frozen=True):
    """The current answer for one channel × purpose, and how it came to be."""

    state: State
    since: datetime
    source: str
    policy_version: str


class Preferences(Struct, frozen=True):
    """How and when a person lets us reach them, beyond the yes/no of permissions."""

    time_zone: str = "UTC"
    # The language the person reads (a code the playbook lists); "" until they or their
    # sign-up said, which means the playbook's default.
    language: str = ""
    quiet_hours: dict[str, QuietHours] = field(default_factory=dict)
    max_per_week: dict[str, int] = field(default_factory=dict)
    paused_until: datetime | None = None
    handles: dict[str, str] = field(default_factory=dict)


class Evidence(Struct, frozen=True):
    """Keyed hashes of the client address and user agent: proof without the raw values."""

    client: str
    agent: str
    # The language of the page the person decided on, as the request said it: consent is
    # informed only in a language the person reads. Left out of the JSON when unknown, so
    # entries written before it was recorded keep their hashes.
    language: str = ""

    def as_json(self) -> dict[str, str]:
        found = {"client": self.client, "agent": self.agent}
        return {**found, "language": self.language} if self.language else found


class Origin(Struct, frozen=True):
    """Where a relationship began: the sanitised parameters of the address the sign-up
    page was opened with (`core/megaphone.py`), what the sources report counts it under,
    and who invited the person, if anyone did (their id; it may name someone erased)."""

    params: tuple[tuple[str, str], ...] = ()
    source: str = "direct"
    campaign: str = ""
    invited_by: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "params": dict(self.params),
            "source": self.source,
            "campaign": self.campaign,
            "invited_by": self.invited_by,
        }


class Megaphone(Struct, frozen=True):
    """A person as a link in who brought whom (`core/megaphone.py`): their invite code,
    how many joined through them and through those (numbers, never who), and where their
    own relationship began."""

    origin: Origin = field(default_factory=Origin)
    invite: str | None = None  # the personal invite code; None: none yet, or turned off
    joined: int = 0  # people who confirmed through this person's invite
    joined_second: int = 0  # people who confirmed through those people's invites
    unscored: int = 0  # of `joined`, those over the playbook's daily limit (not scored)
    credit_day: str = ""  # the day of the latest join counted, and how many that day
    credit_day_count: int = 0
    show_inviter: bool = False  # the person chose to have their page say who invited them
    # The first moment the person reached each stage after confirming: the cohorts of the
    # sources report count who got where within 30 and 90 days.
    reached: dict[str, datetime] = field(default_factory=dict)


class SignupRequest(Struct, frozen=True):
    """What a person asked for at sign-up, kept until they confirm their address."""

    at: datetime
    permissions: tuple[Pair, ...]
    interests: tuple[str, ...]
    policy_version: str
    source: str
    evidence: Evidence
    gpc: bool
    phone: Phone | None = None  # the number given at sign-up, if any; gets a code on confirm
    origin: Origin = field(default_factory=Origin)  # where the sign-up came from

    def fingerprint(self) -> str:
        """Names this request; a confirm link is only good for the request it was sent for."""
        text = "|".join(
            [
                self.at.isoformat(),
                *map(":".join, self.permissions),
                *self.interests,
                self.policy_version,
                str(self.gpc),
                *([self.phone.key] if self.phone else []),
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class Tally(Struct, frozen=True):
    """Events of one type, each worth 1 at its moment and halving every half-life, summed
    and valued as of `as_of`. Adding an event is O(1) and the order of arrival does not
    matter; scores are tallies times the playbook's weights, so a weight change in the
    playbook applies to the past as well."""

    value: float
    as_of: datetime
    count: int  # lifetime number of events, never decayed
    last: datetime  # the latest event's moment


class Relationship(Struct, frozen=True):
    """What befriend has learned from what a person does (not what they allowed)."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    stage: str = ""
    circle: str = ""
    stage_since: datetime | None = None
    declined: dict[str, datetime] = field(default_factory=dict)  # play -> when
    last_sent: dict[str, datetime] = field(default_factory=dict)  # play -> when
    asked: dict[str, datetime] = field(default_factory=dict)  # ask play -> when sent/shown
    accepted: dict[str, datetime] = field(default_factory=dict)  # play -> when
    contacts: tuple[tuple[str, datetime], ...] = ()  # (channel, when), the last 7 days
    last_used: dict[Pair, datetime] = field(default_factory=dict)  # permission -> last send
    survey: dict[str, object] = field(default_factory=dict)
    survey_scored: datetime | None = None  # when a survey answer last counted toward scores
    last_seen: datetime | None = None  # the person's last own change on their page


class Person(Struct, frozen=True):
    id: str
    email: str
    name: str
    status: Status
    created_at: datetime
    confirmed_at: datetime | None = None
    permissions: dict[Pair, Permission] = field(default_factory=dict)
    interests: frozenset[str] = frozenset()
    preferences: Preferences = field(default_factory=Preferences)
    token_generation: int = 0
    seq: int = 0  # sequence number of the last ledger entry; 0 while pending
    head: str = ""  # hash of the last ledger entry
    request: SignupRequest | None = None
    expires_at: datetime | None = None  # set while pending: unconfirmed sign-ups lapse
    # The fingerprint of the sign-up request the person confirmed: its link works once.
    confirmed_request: str | None = None
    revision: int = 0  # bumped by the store on every write; its optimistic lock
    relationship: Relationship = field(default_factory=Relationship)
    contact_points: ContactPoints = field(default_factory=ContactPoints)
    megaphone: Megaphone = field(default_factory=Megaphone)

    def state(self, pair: Pair) -> State:
        found = self.permissions.get(pair)
        return found.state if found else "never"


def iso(moment: datetime | None) -> str | None:
    """UTC timestamps as ISO 8601 with a Z, the one format befriend shows and stores."""
    if moment is None:
        return None
    # isoformat pads the year to four digits; strftime's %Y does not on every platform.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def identity(person: Person) -> dict[str, Any]:
    """Who the person is and since when: how both their page and their stored record open."""
    return {
        "id": person.id,
        "email": person.email,
        "name": person.name,
        "status": person.status,
        "created_at": iso(person.created_at),
        "confirmed_at": iso(person.confirmed_at),
    }


def describe(person: Person, playbook: Playbook) -> dict[str, Any]:
    """The body of `GET /api/me`: everything a person may see and change about themselves."""
    prefs = person.preferences
    return {
        **identity(person),
        "permissions": [permission_cell(person, pair) for pair in playbook.grid()],
        "interests": [t for t in playbook.topics if t in person.interests],
        "contacts": contacts(person, playbook),
        "settings": {
            "time_zone": prefs.time_zone,
            "language": prefs.language or playbook.organisation.language,
            "quiet_hours": {
                cid: _quiet(prefs.quiet_hours.get(cid), channel.quiet_hours)
                for cid, channel in playbook.channels.items()
            },
            "max_per_week": {cid: prefs.max_per_week.get(cid) for cid in playbook.channels},
            "paused_until": iso(prefs.paused_until),
            "handles": {
                cid: prefs.handles.get(cid)
                for cid, channel in playbook.channels.items()
                if channel.kind == "social"
            },
        },
    }


def contacts(person: Person, playbook: Playbook) -> dict[str, Any]:
    """Where we reach the person ("Where we reach you"): the address their page is for,
    their number (verified or not) and postal address, and their social handles; each with
    since when."""
    points = person.contact_points
    phone = points.phone
    return {
        "email": {
            "address": person.email,
            "since": iso(points.email_since or person.confirmed_at or person.created_at),
            # Mail to it came back for good (core/feedback.py): nothing more is sent to it
            # until the person gives another address.
            "undeliverable": None
            if points.email_undeliverable is None
            else {
                "since": iso(points.email_undeliverable.since),
                "why": points.email_undeliverable.why,
            },
        },
        "phone": None
        if phone is None
        else {
            "number": phone.number,
            "since": iso(phone.since),
            "verified": phone.verified_at is not None,
            "verified_at": iso(phone.verified_at),
        },
        "postal": None if points.postal is None else postal_json(points.postal),
        "handles": {
            cid: person.preferences.handles.get(cid)
            for cid, channel in playbook.channels.items()
            if channel.kind == "social"
        },
        "phone_asked": [{"channel": c, "purpose": p} for c, p in points.phone_asked],
        "postal_asked": [{"channel": c, "purpose": p} for c, p in points.postal_asked],
    }


def postal_json(postal: PostalAddress) -> dict[str, Any]:
    return {
        "lines": list(postal.lines),
        "postcode": postal.postcode,
        "city": postal.city,
        "region": postal.region,
        "country": postal.country,
        "since": iso(postal.since),
    }


def permission_cell(person: Person, pair: Pair) -> dict[str, Any]:
    """One channel × purpose as a person's page and an export show it: its state, since
    when, how it was given and under which policy version."""
    found = person.permissions.get(pair)
    return {
        "channel": pair[0],
        "purpose": pair[1],
        "state": found.state if found else "never",
        "since": iso(found.since) if found else None,
        "source": found.source if found else None,
        "policy_version": found.policy_version if found else None,
    }


def _quiet(own: QuietHours | None, default: QuietHours | None) -> dict[str, Any] | None:
    chosen = own or default
    if chosen is None:
        return None
    return {**chosen.as_json(), "own": own is not None}
