"""Turn request bodies into checked commands, collecting every wrong field at once.

Bodies arrive as plain dicts (parsed JSON, or a form turned into a dict by the edge). Their
shape is the request type of `core.contract.requests`; each reader here holds the values to
the playbook (a known channel, an offered pair, a real time zone) and returns a frozen
command, or raises InvalidInput listing every bad field with the allowed values where
there is a fixed set, so a form can show all mistakes together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, TypeVar
from zoneinfo import available_timezones

from msgspec import Struct, to_builtins

from befriend.core.contract import requests as bodies
from befriend.core.contract.reading import Bad, Reading
from befriend.core.contract.requests import MAX_EMAIL as MAX_EMAIL
from befriend.core.contract.requests import MAX_NAME as MAX_NAME
from befriend.core.errors import FieldError, InvalidInput, PlaybookError
from befriend.core.megaphone import label, sanitise
from befriend.core.person import Pair
from befriend.core.playbook import HOW_OFTEN, Playbook, QuietHours, parse_quiet_hours
from befriend.core.words import N_

T = TypeVar("T")


class Signup(Struct, frozen=True):
    email: str
    name: str
    interests: tuple[str, ...]
    permissions: tuple[Pair, ...]
    time_zone: str
    policy_version: str
    phone: str | None = None  # E.164; texted a code once the address is confirmed
    # Its keyed hash and masked form, added by the mail worker (the core holds no key).
    phone_key: str = ""
    phone_shown: str = ""
    # The address's parameters, sanitised (`core/megaphone.py`): where the sign-up came
    # from; the worker resolves a tracked link and an invite code from them.
    origin: tuple[tuple[str, str], ...] = ()
    # The language of the page it came from: the confirmation mail is written in it, and
    # confirming makes it the person's (the request's evidence records it too).
    language: str = ""


class ConfirmChoice(Struct, frozen=True):
    """What the person agrees to on the confirmation page: the requested permissions they
    kept ticked (None: all of them, as the mail listed) and whether to keep the name that
    was typed at sign-up, which anyone who knew the address could have typed."""

    permissions: tuple[Pair, ...] | None = None
    keep_name: bool = True


class PermissionChange(Struct, frozen=True):
    pair: Pair
    granted: bool


class SurveyAnswers(Struct, frozen=True):
    """The engagement survey; every question may be skipped, but not all of them."""

    found_us: str | None = None
    how_often: str | None = None
    preferred_channel: str | None = None
    interests: tuple[str, ...] | None = None
    recommend: int | None = None


class SettingsPatch(Struct, frozen=True):
    """Only the keys present in the request; `None` as a value means "back to the default"."""

    time_zone: str | None = None
    language: str | None = None
    quiet_hours: Mapping[str, QuietHours | None] | None = None
    max_per_week: Mapping[str, int | None] | None = None
    paused_until: datetime | None = None
    clear_pause: bool = False
    handles: Mapping[str, str | None] | None = None
    name: str | None = None


def normalise_email(value: object, where: str = "email") -> str:
    """The address as befriend stores it; raise InvalidInput when it is not one."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput([FieldError(where, N_("an email address is required"))])
    if len(value) > MAX_EMAIL:
        raise InvalidInput([FieldError(where, N_("at most %(n)d characters"), {"n": MAX_EMAIL})])
    # Imported here: compiling its patterns costs ~15 ms of Lambda cold start, and most
    # requests never read an address.
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput([_address_error(where, str(exc))]) from exc
    return f"{checked.local_part}@{checked.domain.lower()}"


# The address library's reasons a person mistyping an address meets, for the catalogs; a
# reason holding what was typed is said through its template. Any other stays the
# library's English.
_ADDRESS_SAYS = (
    N_("An email address must have an @-sign."),
    N_("There must be something before the @-sign."),
    N_("There must be something after the @-sign."),
    N_("The part after the @-sign is not valid. It should have a period."),
    N_("An email address cannot have two periods in a row."),
    N_("An email address cannot start with a period."),
    N_("An email address cannot end with a period."),
    N_("An email address cannot have a period immediately before the @-sign."),
    N_("An email address cannot have a period immediately after the @-sign."),
    N_("An email address cannot have a hyphen immediately after the @-sign."),
)
_ADDRESS_VALUES = (
    (
        re.compile(r"The email address contains invalid characters before the @-sign: (.+)\.$"),
        N_("The email address contains invalid characters before the @-sign: %(chars)s."),
    ),
    (
        re.compile(r"The part after the @-sign contains invalid characters: (.+)\.$"),
        N_("The part after the @-sign contains invalid characters: %(chars)s."),
    ),
)


def _address_error(where: str, reason: str) -> FieldError:
    for pattern, template in _ADDRESS_VALUES:
        found = pattern.match(reason)
        if found:
            return FieldError(where, template, {"chars": found[1]})
    return FieldError(where, reason)


def email_key_material(email: str) -> str:
    """What the unique email lookup hashes: case-folded, since mailboxes treat case alike."""
    return email.casefold()


# Providers that deliver several spellings to one mailbox, beyond "+tag": Gmail ignores
# dots in the local part and answers for googlemail.com too; Yahoo's disposable addresses
# are "base-keyword".
_SAME_MAILBOX = {"googlemail.com": "gmail.com"}
_DOTS_IGNORED = {"gmail.com"}
_HYPHEN_TAGS = {"yahoo.com", "ymail.com", "rocketmail.com"}


def mailbox_key_material(email: str) -> str:
    """The mailbox an address reaches, for limits: every spelling a provider delivers to
    the same inbox counts as one. Tags after "+" are folded for every domain (a domain
    that does not deliver them alike only makes the limit stricter, never looser)."""
    local, _, domain = email.casefold().rpartition("@")
    domain = _SAME_MAILBOX.get(domain, domain)
    local = local.split("+", 1)[0] or local
    if domain in _DOTS_IGNORED:
        local = local.replace(".", "") or local
    if domain in _HYPHEN_TAGS:
        local = local.split("-", 1)[0] or local
    return f"{local}@{domain}"


def same_mailbox(one: str, other: str) -> bool:
    """Whether two addresses reach one inbox: an invite sent to oneself is no invite."""
    return mailbox_key_material(one) == mailbox_key_material(other)


def read_signup(body: object, playbook: Playbook) -> Signup:
    r = Reading(body, bodies.Signup)
    r.check("email", normalise)
    r.check("name", _name)
    r.check("interests", lambda v: _topics(v, playbook))
    r.check("permissions", lambda v: _pairs(v, playbook))
    r.check("time_zone", _zone)
    r.check("policy_version", lambda v: _policy(v, playbook))
    r.check("phone", lambda v: _number(v, playbook))
    pairs = r.get("permissions", ())
    texted = [c for c, _ in pairs if playbook.channels[c].kind == "phone"]
    if texted and not r.sent("phone"):
        labels = sorted({playbook.channels[c].label for c in texted})
        r.fail("phone", N_("a phone number is needed for %(channels)s"), channels=", ".join(labels))
    r.done()
    return Signup(
        r.get("email", ""),
        r.get("name", ""),
        r.get("interests", ()),
        pairs,
        r.get("time_zone", "UTC"),
        r.get("policy_version", playbook.policy.version),
        r.get("phone", None),
        origin=sanitise(r.get("origin", {})),
    )


def _language(value: str, playbook: Playbook) -> str:
    if value not in playbook.organisation.site_languages:
        raise Bad(
            N_("must be one of %(allowed)s"),
            allowed=", ".join(playbook.organisation.site_languages),
        )
    return value


def _number(value: str, playbook: Playbook) -> str:
    # Imported here: the phone module's library loads only when a number is read.
    from befriend.core.phones import read_number

    try:
        return read_number(value, playbook)
    except InvalidInput as exc:
        raise Bad.of(exc.errors[0]) from exc


def read_inviter_shown(body: object) -> bool:
    r = Reading(body, bodies.InviterShown)
    r.done()
    return bool(r.get("show", False))


def read_tracked_link(body: object) -> tuple[str, str]:
    """A tracked link's (source, campaign), as counter names hold them (`label`); the
    source is `link` when none is given."""
    r = Reading(body, bodies.TrackedLinkIn)
    r.check("campaign", _label)
    r.check("source", _label)
    r.done()
    return r.get("source", "link"), r.get("campaign", "")


def _label(value: str) -> str:
    clean = label(value)
    if not clean:
        raise Bad(N_("must hold a letter or digit"))
    return clean


def read_email_only(body: object) -> str:
    r = Reading(body, bodies.EmailOnly)
    r.check("email", normalise)
    r.done()
    return str(r.get("email", ""))


def read_token(body: object) -> str:
    r = Reading(body, bodies.TokenOnly)
    r.done()
    return str(r.get("token", ""))


def read_confirm(body: object, playbook: Playbook) -> tuple[str, ConfirmChoice]:
    """The confirmation: the link's token and, optionally, what the person kept ticked."""
    r = Reading(body, bodies.Confirm)
    r.check("permissions", lambda v: _pairs(v, playbook))
    r.done()
    return r.get("token", ""), ConfirmChoice(r.get("permissions", None), r.get("keep_name", True))


def read_permission_changes(body: object, playbook: Playbook) -> tuple[PermissionChange, ...]:
    r = Reading(body, bodies.PermissionChanges)
    r.check("changes", lambda v: _changes(v, playbook))
    r.done()
    return tuple(r.get("changes", ()))


def read_interests(body: object, playbook: Playbook) -> tuple[str, ...]:
    r = Reading(body, bodies.Interests)
    r.check("interests", lambda v: _topics(v, playbook))
    r.done()
    return tuple(r.get("interests", ()))


def read_settings(body: object, playbook: Playbook, now: datetime) -> SettingsPatch:
    r = Reading(body, bodies.SettingsPatch)
    r.needs_one(N_("nothing to change; send any of: %(fields)s"))
    r.check("time_zone", _zone)
    r.check("language", lambda v: _language(v, playbook))
    for name in ("quiet_hours", "max_per_week", "handles"):
        r.check(name, lambda v: _channels(v, playbook))
    r.check("quiet_hours", _quiet_map)
    r.check("max_per_week", lambda v: _caps(v, playbook))
    r.check("paused_until", lambda v: _moment(v, now))
    r.check("handles", lambda v: _handles(v, playbook))
    r.check("name", _name)
    r.done()
    # The fields sent, by the names SettingsPatch shares with the request type.
    clear = r.sent("paused_until") and r.get("paused_until", None) is None
    return SettingsPatch(**r.values, clear_pause=clear)


def read_survey(body: object, playbook: Playbook) -> SurveyAnswers:
    r = Reading(body, bodies.Survey)
    r.needs_one(N_("answer at least one question: %(fields)s"))
    found = playbook.survey.found_us if playbook.survey else {}
    r.check("found_us", lambda v: _choice(v, found))
    r.check("how_often", lambda v: _choice(v, HOW_OFTEN))
    r.check("preferred_channel", lambda v: _choice(v, playbook.channels))
    r.check("interests", lambda v: _topics(v, playbook))
    if r.sent("how_often") and not r.sent("preferred_channel"):
        r.fail("preferred_channel", N_("say which channel the answer to how_often is about"))
    r.done()
    return SurveyAnswers(**r.values)  # the answers given, by the request type's names


# --- playbook checks: each returns the clean value or raises Bad naming what is wrong ---


def normalise(value: str) -> str:
    try:
        return normalise_email(value)
    except InvalidInput as exc:
        raise Bad.of(exc.errors[0]) from exc


def _policy(value: str, playbook: Playbook) -> str:
    """The current version of the policy in one of the playbook's languages: the one the
    person read (each language's policy has a version of its own)."""
    versions = playbook.policy_versions
    if value not in versions.values():
        current = ", ".join(f"{v!r} in {code}" for code, v in versions.items())
        if len(versions) == 1:
            current = repr(playbook.policy.version)
        raise Bad(
            N_(
                "must be the current policy version %(current)s"
                " (the person must see the policy they agree to)"
            ),
            current=current,
        )
    return value


def _choice(value: str, allowed: Mapping[str, Any]) -> str:
    if value not in allowed:
        raise Bad(N_("must be one of %(allowed)s"), allowed=", ".join(allowed))
    return value


# What a name never holds: a web address (a scheme, "www.", or a word.word domain such as
# evil.test/verify), an email address, or markup. A stranger may type someone else's name,
# and it is shown on pages and in mails beside the organisation's own words.
_NOT_A_NAME = re.compile(
    r"://|\bwww\.|@|[<>{}\[\]\\`|]|&[#\w]+;|\w[\w-]*\.[a-z][a-z0-9-]*(?:/|\b)", re.IGNORECASE
)


def _name(value: str) -> str:
    cleaned = " ".join(value.split())
    if len(cleaned) > MAX_NAME:
        raise Bad(N_("at most %(n)d characters"), n=MAX_NAME)
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in cleaned):
        raise Bad(N_("must not contain control characters"))
    if _NOT_A_NAME.search(cleaned):
        raise Bad(
            N_(
                "must be a name, without web or email addresses or markup"
                " (write initials with a space after the dot: J. R. Smith)"
            )
        )
    return cleaned


@cache
def _zones() -> frozenset[str]:
    # The IANA names tzdata ships; checking against the list (not opening files) also
    # refuses paths and folder names such as "America".
    return frozenset(available_timezones())


def _zone(value: str) -> str:
    if value not in _zones():
        raise Bad(N_("unknown time zone %(zone)r; use a name such as Europe/Berlin"), zone=value)
    return value


def _topics(value: list[str], playbook: Playbook) -> tuple[str, ...]:
    unknown = [v for v in value if v not in playbook.topics]
    if unknown:
        raise Bad(
            N_("unknown topic %(topic)r; allowed: %(allowed)s"),
            topic=unknown[0],
            allowed=", ".join(playbook.topics),
        )
    return tuple(t for t in playbook.topics if t in value)


def _pairs(value: list[bodies.Pair], playbook: Playbook) -> tuple[Pair, ...]:
    pairs = [_pair(item, str(i), playbook) for i, item in enumerate(value)]
    return tuple(p for p in playbook.grid() if p in pairs)


def _changes(value: list[bodies.PermissionChange], playbook: Playbook) -> list[PermissionChange]:
    out, wrong = [], []
    for i, item in enumerate(value):
        try:
            out.append(PermissionChange(_pair(item, str(i), playbook), item.granted))
        except Bad as bad:
            wrong.append(bad)
    if wrong:
        raise ExceptionGroup("changes the playbook does not allow", wrong)
    return out


def _pair(item: bodies.Pair | bodies.PermissionChange, where: str, playbook: Playbook) -> Pair:
    channel, purpose = item.channel, item.purpose
    if channel not in playbook.channels:
        raise Bad(
            N_("unknown channel %(channel)r; allowed: %(allowed)s"),
            f"{where}/channel",
            channel=channel,
            allowed=", ".join(playbook.channels),
        )
    if purpose not in playbook.purposes:
        raise Bad(
            N_("unknown purpose %(purpose)r; allowed: %(allowed)s"),
            f"{where}/purpose",
            purpose=purpose,
            allowed=", ".join(playbook.purposes),
        )
    if not playbook.offers(channel, purpose):
        raise Bad(
            N_("%(purpose)r is not offered by %(channel)r; channels for it: %(allowed)s"),
            where,
            purpose=purpose,
            channel=channel,
            allowed=", ".join(playbook.purposes[purpose].channels),
        )
    return (channel, purpose)


def _channels(value: dict[str, T], playbook: Playbook) -> dict[str, T]:
    for key in value:
        if key not in playbook.channels:
            raise Bad(
                N_("unknown channel; allowed: %(allowed)s"),
                key,
                allowed=", ".join(playbook.channels),
            )
    return value


def _quiet_map(value: dict[str, bodies.QuietHours | None]) -> dict[str, QuietHours | None]:
    out: dict[str, QuietHours | None] = {}
    for key, hours in value.items():
        try:
            out[key] = None if hours is None else parse_quiet_hours(to_builtins(hours), key)
        except PlaybookError as exc:
            raise Bad(str(exc).split(": ", 1)[-1], key) from exc
    return out


def _caps(value: dict[str, int | None], playbook: Playbook) -> dict[str, int | None]:
    for key, cap in value.items():
        if cap is not None and cap > playbook.max_per_week:
            raise Bad(
                N_("a whole number from 0 to %(max)d, or null for no limit of your own"),
                key,
                max=playbook.max_per_week,
            )
    return value


def _handles(value: dict[str, str | None], playbook: Playbook) -> dict[str, str | None]:
    for key, handle in value.items():
        channel = playbook.channels.get(key)
        pattern = channel.handle_pattern if channel else None
        if channel is None or channel.kind != "social" or pattern is None:
            raise Bad(N_("this channel takes no handle"), key)
        if handle is not None and not re.fullmatch(pattern, handle):
            raise Bad(N_("not a valid %(channel)s handle"), key, channel=channel.label)
    return value


def _moment(value: str | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Bad(N_("must be an ISO 8601 date or date-time, or null")) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError as exc:
        raise Bad(N_("must be a real moment, within the next few years")) from exc
    if moment <= now:
        raise Bad(N_("must be in the future"))
    if moment > now + timedelta(days=3660):
        raise Bad(N_("pause for at most ten years; withdraw instead to stop for good"))
    return moment
