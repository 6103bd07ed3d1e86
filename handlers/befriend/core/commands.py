"""Turn request bodies into checked commands, collecting every wrong field at once.

Bodies arrive as plain dicts (parsed JSON, or a form turned into a dict by the edge); each
reader returns a frozen command or raises InvalidInput listing every bad field, with the
allowed values where there is a fixed set, so a form can show all mistakes together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, TypeVar
from zoneinfo import available_timezones

from befriend.core.errors import FieldError, InvalidInput, PlaybookError
from befriend.core.person import Pair
from befriend.core.playbook import HOW_OFTEN, Playbook, QuietHours, parse_quiet_hours

MAX_NAME = 200
MAX_EMAIL = 254
T = TypeVar("T")


@dataclass(frozen=True)
class Signup:
    email: str
    name: str
    interests: tuple[str, ...]
    permissions: tuple[Pair, ...]
    time_zone: str
    policy_version: str


@dataclass(frozen=True)
class ConfirmChoice:
    """What the person agrees to on the confirmation page: the requested permissions they
    kept ticked (None: all of them, as the mail listed) and whether to keep the name that
    was typed at sign-up, which anyone who knew the address could have typed."""

    permissions: tuple[Pair, ...] | None = None
    keep_name: bool = True


@dataclass(frozen=True)
class PermissionChange:
    pair: Pair
    granted: bool


@dataclass(frozen=True)
class SurveyAnswers:
    """The engagement survey; every question may be skipped, but not all of them."""

    found_us: str | None = None
    how_often: str | None = None
    preferred_channel: str | None = None
    interests: tuple[str, ...] | None = None
    recommend: int | None = None


@dataclass(frozen=True)
class SettingsPatch:
    """Only the keys present in the request; `None` as a value means "back to the default"."""

    time_zone: str | None = None
    quiet_hours: Mapping[str, QuietHours | None] | None = None
    max_per_week: Mapping[str, int | None] | None = None
    paused_until: datetime | None = None
    clear_pause: bool = False
    handles: Mapping[str, str | None] | None = None
    name: str | None = None


class _Fields:
    """Collects field errors while reading a body, then raises them together."""

    def __init__(self, body: object, allowed: set[str]) -> None:
        self.errors: list[FieldError] = []
        self.body: dict[str, Any] = body if isinstance(body, dict) else {}
        if not isinstance(body, dict):
            self.fail("", "the body must be a JSON object")
        for key in sorted(set(self.body) - allowed):
            self.fail(key, f"unknown field; allowed: {', '.join(sorted(allowed))}")

    def fail(self, where: str, message: str) -> None:
        self.errors.append(FieldError(where, message))

    def done(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)

    def read(self, key: str, check: Callable[[Any, str], T], default: T) -> T:
        if key not in self.body:
            return default
        try:
            return check(self.body[key], key)
        except _Bad as bad:
            self.fail(bad.where, bad.message)
            return default


class _Bad(Exception):
    def __init__(self, where: str, message: str) -> None:
        self.where, self.message = where, message


def normalise_email(value: object, where: str = "email") -> str:
    """The address as befriend stores it; raise InvalidInput when it is not one."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput([FieldError(where, "an email address is required")])
    if len(value) > MAX_EMAIL:
        raise InvalidInput([FieldError(where, f"at most {MAX_EMAIL} characters")])
    # Imported here: compiling its patterns costs ~15 ms of Lambda cold start, and most
    # requests never read an address.
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput([FieldError(where, str(exc))]) from exc
    return f"{checked.local_part}@{checked.domain.lower()}"


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


def read_signup(body: object, playbook: Playbook) -> Signup:
    f = _Fields(body, {"email", "name", "interests", "permissions", "time_zone", "policy_version"})
    email = ""
    try:
        email = normalise_email(f.body.get("email"))
    except InvalidInput as exc:
        f.errors.extend(exc.errors)
    name = f.read("name", _name, "")
    interests: tuple[str, ...] = f.read("interests", lambda v, w: _topics(v, w, playbook), ())
    permissions: tuple[Pair, ...] = f.read("permissions", lambda v, w: _pairs(v, w, playbook), ())
    time_zone = f.read("time_zone", _zone, "UTC")
    version = f.body.get("policy_version")
    if version != playbook.policy.version:
        f.fail(
            "policy_version",
            f"must be the current policy version {playbook.policy.version!r}"
            " (the person must see the policy they agree to)",
        )
    f.done()
    return Signup(email, name, interests, permissions, time_zone, playbook.policy.version)


def read_email_only(body: object) -> str:
    f = _Fields(body, {"email"})
    f.done()
    return normalise_email(f.body.get("email"))


def read_token(body: object) -> str:
    f = _Fields(body, {"token"})
    token = _token(f)
    f.done()
    return token


def _token(f: _Fields) -> str:
    token = f.body.get("token")
    if not isinstance(token, str) or not token or len(token) > 1000:
        f.fail("token", "the token from the confirmation link is required")
    return str(token)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _Bad(where, "must be true or false")
    return value


def read_confirm(body: object, playbook: Playbook) -> tuple[str, ConfirmChoice]:
    """The confirmation: the link's token and, optionally, what the person kept ticked."""
    f = _Fields(body, {"token", "permissions", "keep_name"})
    token = _token(f)
    permissions: tuple[Pair, ...] | None = f.read(
        "permissions", lambda v, w: _pairs(v, w, playbook), None
    )
    keep_name = f.read("keep_name", _flag, True)
    f.done()
    return token, ConfirmChoice(permissions, keep_name)


def read_permission_changes(body: object, playbook: Playbook) -> tuple[PermissionChange, ...]:
    f = _Fields(body, {"changes"})
    raw = f.body.get("changes")
    if not isinstance(raw, list) or not raw:
        f.fail("changes", "a non-empty list of {channel, purpose, granted} is required")
        f.done()
    assert isinstance(raw, list)
    if len(raw) > 200:
        f.fail("changes", "at most 200 changes at once")
    out: list[PermissionChange] = []
    for i, item in enumerate(raw[:200]):
        where = f"changes/{i}"
        if not isinstance(item, dict) or set(item) != {"channel", "purpose", "granted"}:
            f.fail(where, "must be an object with exactly channel, purpose and granted")
            continue
        if not isinstance(item["granted"], bool):
            f.fail(f"{where}/granted", "must be true or false")
            continue
        try:
            pair = _pair(item, where, playbook)
        except _Bad as bad:
            f.fail(bad.where, bad.message)
            continue
        out.append(PermissionChange(pair, item["granted"]))
    f.done()
    return tuple(out)


def read_interests(body: object, playbook: Playbook) -> tuple[str, ...]:
    f = _Fields(body, {"interests"})
    if "interests" not in f.body:
        f.fail("interests", "the full list of interests is required (it replaces the old one)")
    topics: tuple[str, ...] = f.read("interests", lambda v, w: _topics(v, w, playbook), ())
    f.done()
    return topics


def read_settings(body: object, playbook: Playbook, now: datetime) -> SettingsPatch:
    keys = {"time_zone", "quiet_hours", "max_per_week", "paused_until", "handles", "name"}
    f = _Fields(body, keys)
    if not f.body and not f.errors:
        f.fail("", f"nothing to change; send any of: {', '.join(sorted(keys))}")
    pause = f.read("paused_until", lambda v, w: _moment(v, w, now), None)
    patch = SettingsPatch(
        time_zone=f.read("time_zone", _zone, None),
        quiet_hours=f.read("quiet_hours", lambda v, w: _quiet_map(v, w, playbook), None),
        max_per_week=f.read("max_per_week", lambda v, w: _caps(v, w, playbook), None),
        paused_until=pause,
        clear_pause="paused_until" in f.body and f.body["paused_until"] is None,
        handles=f.read("handles", lambda v, w: _handles(v, w, playbook), None),
        name=f.read("name", _name, None),
    )
    f.done()
    return patch


def read_survey(body: object, playbook: Playbook) -> SurveyAnswers:
    keys = {"found_us", "how_often", "preferred_channel", "interests", "recommend"}
    f = _Fields(body, keys)
    if not f.body and not f.errors:
        f.fail("", f"answer at least one question: {', '.join(sorted(keys))}")
    found = playbook.survey.found_us if playbook.survey else {}
    answers = SurveyAnswers(
        found_us=f.read("found_us", lambda v, w: _choice(v, w, found), None),
        how_often=f.read("how_often", lambda v, w: _choice(v, w, HOW_OFTEN), None),
        preferred_channel=f.read(
            "preferred_channel", lambda v, w: _choice(v, w, playbook.channels), None
        ),
        interests=f.read("interests", lambda v, w: _topics(v, w, playbook), None),
        recommend=f.read("recommend", _zero_to_ten, None),
    )
    if answers.how_often is not None and answers.preferred_channel is None:
        f.fail("preferred_channel", "say which channel the answer to how_often is about")
    f.done()
    return answers


# --- field checks: each returns the clean value or raises _Bad naming the field ---


def _choice(value: Any, where: str, allowed: Mapping[str, Any]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise _Bad(where, f"must be one of {', '.join(allowed)}")
    return value


def _zero_to_ten(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
        raise _Bad(where, "must be a whole number from 0 to 10")
    return value


# What a name never holds: a web address (a scheme, "www.", or a word.word domain such as
# evil.test/verify), an email address, or markup. A stranger may type someone else's name,
# and it is shown on pages and in mails beside the organisation's own words.
_NOT_A_NAME = re.compile(
    r"://|\bwww\.|@|[<>{}\[\]\\`|]|&[#\w]+;|\w[\w-]*\.[a-z][a-z0-9-]*(?:/|\b)", re.IGNORECASE
)


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _Bad(where, "must be a string")
    cleaned = " ".join(value.split())
    if len(cleaned) > MAX_NAME:
        raise _Bad(where, f"at most {MAX_NAME} characters")
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in cleaned):
        raise _Bad(where, "must not contain control characters")
    if _NOT_A_NAME.search(cleaned):
        raise _Bad(
            where,
            "must be a name, without web or email addresses or markup"
            " (write initials with a space after the dot: J. R. Smith)",
        )
    return cleaned


@cache
def _zones() -> frozenset[str]:
    # The IANA names tzdata ships; checking against the list (not opening files) also
    # refuses paths and folder names such as "America".
    return frozenset(available_timezones())


def _zone(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise _Bad(where, "must be an IANA time zone name such as Europe/Berlin")
    if value not in _zones():
        raise _Bad(where, f"unknown time zone {value!r}; use a name such as Europe/Berlin")
    return value


def _topics(value: Any, where: str, playbook: Playbook) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad(where, "must be a list of topic ids")
    unknown = [v for v in value if v not in playbook.topics]
    if unknown:
        raise _Bad(where, f"unknown topic {unknown[0]!r}; allowed: {', '.join(playbook.topics)}")
    return tuple(t for t in playbook.topics if t in value)


def _pairs(value: Any, where: str, playbook: Playbook) -> tuple[Pair, ...]:
    if not isinstance(value, list) or len(value) > 200:
        raise _Bad(where, "must be a list of {channel, purpose}")
    pairs = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"channel", "purpose"}:
            raise _Bad(f"{where}/{i}", "must be an object with exactly channel and purpose")
        pairs.append(_pair(item, f"{where}/{i}", playbook))
    return tuple(p for p in playbook.grid() if p in pairs)


def _pair(item: dict[str, Any], where: str, playbook: Playbook) -> Pair:
    channel, purpose = item["channel"], item["purpose"]
    if not isinstance(channel, str) or channel not in playbook.channels:
        raise _Bad(
            f"{where}/channel",
            f"unknown channel {channel!r}; allowed: {', '.join(playbook.channels)}",
        )
    if not isinstance(purpose, str) or purpose not in playbook.purposes:
        raise _Bad(
            f"{where}/purpose",
            f"unknown purpose {purpose!r}; allowed: {', '.join(playbook.purposes)}",
        )
    if not playbook.offers(channel, purpose):
        raise _Bad(
            where,
            f"{purpose!r} is not offered by {channel!r}; channels for it: "
            f"{', '.join(playbook.purposes[purpose].channels)}",
        )
    return (channel, purpose)


def _channel_map(value: Any, where: str, playbook: Playbook) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(where, "must be an object keyed by channel id")
    for key in value:
        if key not in playbook.channels:
            raise _Bad(
                f"{where}/{key}", f"unknown channel; allowed: {', '.join(playbook.channels)}"
            )
    return value


def _quiet_map(value: Any, where: str, playbook: Playbook) -> dict[str, QuietHours | None]:
    out: dict[str, QuietHours | None] = {}
    for key, hours in _channel_map(value, where, playbook).items():
        try:
            out[key] = None if hours is None else parse_quiet_hours(hours, f"{where}/{key}")
        except PlaybookError as exc:
            raise _Bad(f"{where}/{key}", str(exc).split(": ", 1)[-1]) from exc
    return out


def _caps(value: Any, where: str, playbook: Playbook) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for key, cap in _channel_map(value, where, playbook).items():
        ok = cap is None or (
            isinstance(cap, int) and not isinstance(cap, bool) and 0 <= cap <= playbook.max_per_week
        )
        if not ok:
            raise _Bad(
                f"{where}/{key}",
                f"a whole number from 0 to {playbook.max_per_week}, "
                "or null for no limit of your own",
            )
        out[key] = cap
    return out


def _handles(value: Any, where: str, playbook: Playbook) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for key, handle in _channel_map(value, where, playbook).items():
        pattern = playbook.channels[key].handle_pattern
        if playbook.channels[key].kind != "social" or pattern is None:
            raise _Bad(f"{where}/{key}", "this channel takes no handle")
        if handle is not None and (
            not isinstance(handle, str) or not re.fullmatch(pattern, handle)
        ):
            raise _Bad(f"{where}/{key}", f"not a valid {playbook.channels[key].label} handle")
        out[key] = handle
    return out


def _moment(value: Any, where: str, now: datetime) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise _Bad(where, "must be an ISO 8601 date or date-time, or null")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Bad(where, "must be an ISO 8601 date or date-time, or null") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError as exc:
        raise _Bad(where, "must be a real moment, within the next few years") from exc
    if moment <= now:
        raise _Bad(where, "must be in the future")
    if moment > now + timedelta(days=3660):
        raise _Bad(where, "pause for at most ten years; withdraw instead to stop for good")
    return moment
