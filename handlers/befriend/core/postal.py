"""A postal address: read for shape only, required before a permission on a `postal`-kind
channel is granted, and the address such a permission was given for.

befriend does not check that an address exists (no address lookup service): it refuses
what cannot be one (control characters, over-long or too many lines, a country that is
not an ISO 3166-1 alpha-2 code). A permission for post means something only with the
address it was given for, so a new address ends the postal permissions given for the old
one (source `contact-change`) unless the person ticks to carry them over, and removing the
address ends them too. Ledger entries and receipts name the address as a keyed hash
(`PostalAddress.key`, made at the edge), never the address."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime

from msgspec import Struct

from befriend.core.changes import Context, Outcome, record_entry, withdraw
from befriend.core.changes import change_permissions as _change_permissions
from befriend.core.commands import PermissionChange
from befriend.core.contact_points import PostalAddress, mask_postal
from befriend.core.contract import requests as bodies
from befriend.core.contract.reading import Bad, Reading
from befriend.core.errors import FieldError, InvalidInput
from befriend.core.frozen import replace
from befriend.core.ledger import Change
from befriend.core.person import Pair, Person
from befriend.core.playbook import Playbook
from befriend.core.words import N_

CONTACT_CHANGE = "contact-change"
MAX_LINES = 4
MAX_LINE = 100
MAX_FIELD = 40

# ISO 3166-1 alpha-2, the officially assigned codes (249), as the standard lists them.
COUNTRIES = frozenset(
    """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL
BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV
CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD
GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM
IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK
LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW
MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR
PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS
ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY
UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split()  # noqa: SIM905 (a list of 249 quoted codes reads worse)
)


class PostalInput(Struct, frozen=True):
    """A postal address as sent, checked for shape; `carry_over` keeps the postal
    permissions given for the old address, now for this one."""

    lines: tuple[str, ...]
    postcode: str
    city: str
    region: str
    country: str
    carry_over: bool = False

    def at(self, since: datetime, key: str) -> PostalAddress:
        return PostalAddress(
            self.lines, self.postcode, self.city, self.region, self.country, since, key=key
        )


def read_postal(body: object) -> PostalInput:
    r = Reading(body, bodies.PostalAddressIn)
    r.check("lines", _lines)
    for name in ("postcode", "city", "region"):
        r.check(name, _text)
    r.check("country", _country)
    r.done()
    return PostalInput(
        tuple(r.get("lines", ())),
        r.get("postcode", ""),
        r.get("city", ""),
        r.get("region", ""),
        r.get("country", ""),
        bool(r.get("carry_over", False)),
    )


def canonical(postal: PostalInput | PostalAddress) -> str:
    """The address as its keyed hash is made from: the same address, the same hash."""
    parts = [*postal.lines, postal.postcode, postal.city, postal.region, postal.country]
    return "\n".join(" ".join(p.casefold().split()) for p in parts)


def is_postal(pair: Pair, playbook: Playbook) -> bool:
    channel = playbook.channels.get(pair[0])
    return channel is not None and channel.kind == "postal"


def require_address(person: Person, wanted: Iterable[PermissionChange], playbook: Playbook) -> None:
    """A grant on a postal channel needs the person's postal address first (422)."""
    if person.contact_points.postal is not None:
        return
    missing = [
        FieldError(
            f"changes/{n}/channel",
            N_(
                "%(channel)s needs your postal address first: "
                "give it with PUT /api/me/contacts/postal"
            ),
            {"channel": playbook.channels[c.pair[0]].label},
        )
        for n, c in enumerate(wanted)
        if c.granted and is_postal(c.pair, playbook)
    ]
    if missing:
        raise InvalidInput(missing)


def change_permissions(
    person: Person, wanted: Iterable[PermissionChange], ctx: Context, playbook: Playbook
) -> Outcome:
    """`core.changes.change_permissions`, once a grant for post has an address to go to.
    Withdrawing post that waits for an address drops it from what waits."""
    wanted = tuple(wanted)
    require_address(person, wanted, playbook)
    points = person.contact_points
    dropped = {c.pair for c in wanted if not c.granted} & set(points.postal_asked)
    held = person
    if dropped:
        asked = tuple(p for p in points.postal_asked if p not in dropped)
        held = replace(person, contact_points=replace(points, postal_asked=asked))
    return replace(_change_permissions(held, wanted, ctx, playbook), before=person)


def given_for(postal: PostalAddress) -> Change:
    """What a postal-channel permission's entry records it was given for."""
    # Masked to its city and country, as a receipt names it; the address itself never.
    return Change(
        "contact:postal:given-for", None, {"key": postal.key, "shown": mask_postal(postal)}
    )


def set_address(
    person: Person, new: PostalInput, key: str, ctx: Context, playbook: Playbook
) -> Outcome:
    """Keep `new` (its keyed hash `key`). The same address again changes nothing; another
    one ends the postal permissions given for the old address, unless carried over. Post
    asked for while there was no address (at sign-up) is granted now, for this address."""
    old = person.contact_points.postal
    if old is not None and old.key == key:
        return Outcome(person, person, ())
    address = new.at(ctx.now, key)
    granted = _granted_postal(person, playbook)
    ended = withdraw(person, [] if new.carry_over else granted, _changed(ctx), playbook, "contact")
    asked = [p for p in ended.person.contact_points.postal_asked if playbook.offers(*p)]
    points = replace(ended.person.contact_points, postal=address, postal_asked=())
    moved = replace(ended.person, contact_points=points)
    changes = [Change("contact:postal", old.key if old else None, key)]
    if new.carry_over and granted:
        changes.append(Change("carried-over", [], [f"{c}:{p}" for c, p in granted]))
        changes.append(given_for(address))
    kept = _append(ended, moved, ctx, playbook, "postal", changes)
    if not asked:
        return kept
    # Through the one change path: its entry names the address, GPC still refuses sharing.
    given = _change_permissions(
        kept.person, [PermissionChange(p, True) for p in asked], ctx, playbook
    )
    return Outcome(
        person,
        given.person,
        (*kept.entries, *given.entries),
        (*kept.transitions, *given.transitions),
    )


def remove_address(person: Person, ctx: Context, playbook: Playbook) -> Outcome:
    """Forget the address; the postal permissions given for it end."""
    old = person.contact_points.postal
    if old is None:
        return Outcome(person, person, ())
    granted = _granted_postal(person, playbook)
    ended = withdraw(person, granted, _changed(ctx), playbook, "contact")
    gone = replace(ended.person, contact_points=replace(ended.person.contact_points, postal=None))
    return _append(ended, gone, ctx, playbook, "postal", [Change("contact:postal", old.key, None)])


def _granted_postal(person: Person, playbook: Playbook) -> list[Pair]:
    return [
        p
        for p, perm in sorted(person.permissions.items())
        if perm.state == "granted" and is_postal(p, playbook)
    ]


def _changed(ctx: Context) -> Context:
    return replace(ctx, source=CONTACT_CHANGE)


def _append(
    first: Outcome,
    person: Person,
    ctx: Context,
    playbook: Playbook,
    action: str,
    changes: list[Change],
) -> Outcome:
    """`first`'s entries, then one entry of `action` recording the address itself."""
    last = record_entry(person, first.person, ctx, playbook, action, changes)
    return Outcome(first.before, last.person, (*first.entries, *last.entries))


def _lines(value: list[str]) -> list[str]:
    lines = [_text(line, f"{n}", MAX_LINE) for n, line in enumerate(value)]
    if not lines or not any(lines):
        raise Bad(N_("at least one address line is required"))
    if len(lines) > MAX_LINES:
        raise Bad(N_("at most %(n)d lines"), n=MAX_LINES)
    return [line for line in lines if line]


def _text(value: str, where: str = "", most: int = MAX_FIELD) -> str:
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise Bad(N_("must not hold control characters or line breaks"), where)
    cleaned = " ".join(value.split())
    if len(cleaned) > most:
        raise Bad(N_("at most %(n)d characters"), where, n=most)
    return cleaned


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in COUNTRIES:
        raise Bad(N_("must be an ISO 3166-1 alpha-2 country code, such as GB or DE"))
    return code
