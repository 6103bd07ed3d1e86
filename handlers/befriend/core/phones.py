"""Phone numbers: read and normalised to E.164, held to the countries each phone channel
allows, verified by a code sent by text message, and what a number means for the
permissions on phone-kind channels.

A permission to text or call someone means something only with the number it was given
for: it takes effect once that number is verified, and it ends when the number changes.
Until then it is asked (`ContactPoints.phone_asked`), as an email permission waits for the
address to be confirmed.

`phonenumbers` is imported only where a number is read: its import and first parse cost
about 40 ms, which no other request should pay at a Lambda cold start."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from msgspec import Struct

from befriend.core.contact_points import Phone
from befriend.core.errors import FieldError, InvalidInput
from befriend.core.frozen import replace
from befriend.core.ledger import Change
from befriend.core.person import Pair, Person, State
from befriend.core.playbook import Playbook
from befriend.core.words import N_

# A code is good for CODE_LIFETIME and MAX_TRIES tries; at most CODES_PER_HOUR go to one
# number in an hour, whoever asks (texts cost money and reach whoever holds the number).
CODE_LIFETIME = timedelta(minutes=10)
MAX_TRIES = 5
CODES_PER_HOUR = 3
CODE_DIGITS = 6
MAX_NUMBER = 40  # characters a person may type for a number: spaces, dashes, brackets

# The regions phonenumbers knows (ISO 3166-1 alpha-2 codes that have numbers); a playbook's
# `countries` are held to them without importing the library at start. A test keeps this
# list equal to the library's.
_REGION_CODES = """
AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN
BO BQ BR BS BT BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE
DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM
GN GP GQ GR GT GU GW GY HK HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE
KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH
MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ
OM PA PE PF PG PH PK PL PM PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI
SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TG TH TJ TK TL TM TN TO TR TT TV TW
TZ UA UG US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
"""
REGIONS = frozenset(_REGION_CODES.split())

# Number types that cost the sender or are no person's line: never texted or called.
_REFUSED_TYPES = ("PREMIUM_RATE", "SHARED_COST", "UAN", "VOICEMAIL", "PAGER")


def allowed_countries(playbook: Playbook) -> tuple[str, ...]:
    """The countries any phone channel allows, in playbook order."""
    seen: dict[str, None] = {}
    for channel in playbook.channels.values():
        if channel.kind == "phone":
            seen.update(dict.fromkeys(channel.countries))
    return tuple(seen)


def read_number(value: object, playbook: Playbook, where: str = "number") -> str:
    """The number in E.164, or InvalidInput naming `where`: malformed, from a country no
    phone channel allows, or of a kind befriend never texts (premium rate and the like).
    A number starts with its country code: guessing it would send codes abroad."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput([FieldError(where, N_("a phone number is required"))])
    if len(value) > MAX_NUMBER:
        raise InvalidInput([FieldError(where, N_("at most %(n)d characters"), {"n": MAX_NUMBER})])
    countries = allowed_countries(playbook)
    if not countries:
        raise InvalidInput([FieldError(where, N_("this organisation does not take phone numbers"))])
    text = value.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        raise InvalidInput([FieldError(where, N_("start with the country code, like +44"))])
    import phonenumbers

    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(
            [FieldError(where, N_("not a phone number (%(reason)s)"), {"reason": exc._msg})]
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput([FieldError(where, N_("not a valid phone number"))])
    region = phonenumbers.region_code_for_number(parsed)
    if region not in countries:
        raise InvalidInput(
            [
                FieldError(
                    where,
                    N_("numbers from %(place)s are not accepted; countries: %(countries)s")
                    if region
                    else N_("numbers from this place are not accepted; countries: %(countries)s"),
                    {"place": region, "countries": ", ".join(countries)},
                )
            ]
        )
    kind = phonenumbers.number_type(parsed)
    refused = {getattr(phonenumbers.PhoneNumberType, name) for name in _REFUSED_TYPES}
    if kind in refused:
        raise InvalidInput(
            [FieldError(where, N_("premium-rate and shared-cost numbers are not accepted"))]
        )
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def country_of(number: str) -> str:
    """The country (ISO 3166-1 alpha-2) of an E.164 number; "" when it has none."""
    import phonenumbers

    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number)) or ""
    except phonenumbers.NumberParseException:
        return ""


def is_phone(pair: Pair, playbook: Playbook) -> bool:
    channel = playbook.channels.get(pair[0])
    return channel is not None and channel.kind == "phone"


def reachable(person: Person, channel: str, playbook: Playbook) -> bool:
    """Whether the person's number may be used on `channel`: it is verified, and from a
    country the channel allows. Any other channel needs no number."""
    found = playbook.channels.get(channel)
    if found is None or found.kind != "phone":
        return True
    phone = person.contact_points.phone
    if phone is None or phone.verified_at is None:
        return False
    return not found.countries or country_of(phone.number) in found.countries


def number_change(key_new: str, phone: Phone | None) -> Change:
    """The ledger's record of a number: keyed hashes of the old and the new, never them."""
    return Change("contact:phone", phone.key if phone else None, key_new)


def given_for(phone: Phone) -> Change:
    """What a phone-channel permission's entry records it was given for."""
    return Change("contact:phone:given-for", None, {"key": phone.key, "shown": phone.shown})


# --- what a code can do ---

Verdict = Literal["right", "wrong", "expired", "used-up", "other-number", "none"]


class CodeState(Struct, frozen=True):
    """A code as stored: the keyed hash of the number it was sent to, when it was made,
    how often it was tried. The code itself is kept only as a keyed hash."""

    number_key: str
    made: datetime
    tries: int


def code_verdict(state: CodeState | None, phone: Phone | None, now: datetime) -> Verdict:
    """What a code may still do before it is compared: `right` means "compare it"."""
    if state is None or phone is None:
        return "none"
    if state.number_key != phone.key:
        return "other-number"
    if now - state.made > CODE_LIFETIME:
        return "expired"
    if state.tries >= MAX_TRIES:
        return "used-up"
    return "right"


# Templates said with `VERDICT_VALUES`.
VERDICT_SAYS: dict[Verdict, str] = {
    "wrong": N_("this is not the code we sent; check it and try again"),
    "expired": N_("this code has expired; ask for a new one"),
    "used-up": N_("this code was tried %(n)d times; ask for a new one"),
    "other-number": N_("this code was sent for another number; ask for a new one"),
    "none": N_("no code is waiting; ask for one first"),
    "right": "",
}
VERDICT_VALUES = {"n": MAX_TRIES}


def read_code(value: object) -> str:
    text = value.strip().replace(" ", "") if isinstance(value, str) else ""
    if len(text) != CODE_DIGITS or not text.isascii() or not text.isdigit():
        raise InvalidInput(
            [FieldError("code", N_("must be the %(n)d digits we sent"), {"n": CODE_DIGITS})]
        )
    return text


# --- what a number does to a person ---


class NumberChange(Struct, frozen=True):
    """A number as given on the page: read, with its keyed hash and masked form, and
    whether to ask again for the permissions given for the number before it."""

    number: str
    key: str
    shown: str
    carry_over: bool = False


def set_number(
    person: Person, change: NumberChange, now: datetime, ended: Iterable[Pair]
) -> Person:
    """The person with `change.number` as their unverified number. A first number keeps
    what was asked waiting for it; a new one asks again for what was given for the old
    (`ended`) and asked for it only when the person ticked to carry it over: nothing carries
    over silently."""
    points = person.contact_points
    if points.phone is None:
        asked = points.phone_asked
    elif change.carry_over:
        asked = tuple(dict.fromkeys([*points.phone_asked, *ended]))
    else:
        asked = ()
    phone = Phone(change.number, now, None, key=change.key, shown=change.shown)
    return replace(person, contact_points=replace(points, phone=phone, phone_asked=asked))


def ended_by_change(before: Person, playbook: Playbook) -> list[Pair]:
    """The granted phone-channel permissions a change of number ends."""
    return [
        p
        for p, perm in sorted(before.permissions.items())
        if perm.state == "granted" and is_phone(p, playbook)
    ]


def verified(person: Person, now: datetime, playbook: Playbook) -> tuple[Person, list[Pair]]:
    """The person with their number verified, and the asked permissions to grant now (on
    channels that allow the number's country; the rest are dropped: they could never be
    used)."""
    points = person.contact_points
    phone = points.phone
    assert phone is not None, "only a number that is held is verified"
    country = country_of(phone.number)
    grant = [
        p
        for p in points.phone_asked
        if playbook.offers(*p)
        and (not playbook.channels[p[0]].countries or country in playbook.channels[p[0]].countries)
    ]
    done = replace(points, phone=replace(phone, verified_at=now), phone_asked=())
    return replace(person, contact_points=done), grant


def hold_asks(
    person: Person, targets: dict[Pair, State], playbook: Playbook
) -> tuple[Person, dict[Pair, State]]:
    """Split a change of permissions: a grant on a phone channel without a verified number
    is held as asked (granted when the number is verified); a withdrawal drops such an ask.
    Returns the person with their asks, and the targets to carry out now."""
    asked = list(person.contact_points.phone_asked)
    now_targets: dict[Pair, State] = {}
    for pair, state in targets.items():
        if not is_phone(pair, playbook) or reachable(person, pair[0], playbook):
            now_targets[pair] = state
        elif state == "granted":
            if pair not in asked and person.state(pair) != "granted":
                asked.append(pair)
        else:
            if pair in asked:
                asked.remove(pair)
            now_targets[pair] = state  # withdrawing what is granted still withdraws it
    points = replace(person.contact_points, phone_asked=tuple(asked))
    if points == person.contact_points:
        return person, now_targets
    return replace(person, contact_points=points), now_targets
