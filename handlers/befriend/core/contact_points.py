"""Where a person can be reached: the address each channel's permission is given for.

A permission means something only with the contact point it was given for: consent to text
a number does not pass to a new number. The email address is the person's own (their
identity and their sign-in); a phone number and a postal address are held beside it, each
with since when, and a number with whether (and when) it was verified by a code."""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct


class Undeliverable(Struct, frozen=True):
    """A contact point that mail or texts no longer reach, as what came back said: nothing
    more is sent to it until the person gives another (a new address or number is
    deliverable again)."""

    since: datetime
    why: str  # "bounce": a permanent bounce; "bounces": a run of transient ones; "failed"
    feedback: str  # the id of the notification that said so: the evidence


class Phone(Struct, frozen=True):
    number: str  # E.164
    since: datetime  # when it was given
    verified_at: datetime | None = None  # when its code was entered; None: not yet
    key: str = ""  # a keyed hash of the number: what ledger entries and receipts record
    shown: str = ""  # the number masked (`mask_number`), as receipts and the ledger show it
    undeliverable: Undeliverable | None = None


class PostalAddress(Struct, frozen=True):
    lines: tuple[str, ...]
    postcode: str
    city: str
    region: str
    country: str  # ISO 3166-1 alpha-2
    since: datetime
    key: str = ""  # a keyed hash of the address: what ledger entries and receipts record


class PreviousEmail(Struct, frozen=True):
    """The address a confirmed change left, held only while the change can be undone from
    it (core/email_change.py); the ledger keeps the change as keyed hashes for good."""

    address: str
    changed_at: datetime
    until: datetime


class ContactPoints(Struct, frozen=True):
    email_since: datetime | None = None  # None: since the person signed up
    phone: Phone | None = None
    postal: PostalAddress | None = None
    # Phone-channel permissions (channel, purpose) the person asked for, waiting for their
    # number to be verified: granted then, as email ones wait for the address's confirmation.
    phone_asked: tuple[tuple[str, str], ...] = ()
    email_previous: PreviousEmail | None = None
    # Postal-channel permissions asked for at sign-up without an address: granted when the
    # address is given (core/postal.py), as phone ones wait for the number's code.
    postal_asked: tuple[tuple[str, str], ...] = ()
    email_undeliverable: Undeliverable | None = None
    # Transient bounces of the address in a row (a delivery sets it back to 0): a run of
    # them marks the address undeliverable too.
    email_soft_bounces: int = 0


def deliverable(points: ContactPoints, kind: str) -> bool:
    """Whether a channel of this kind (`email`, `phone`, `postal`, ...) has somewhere to go
    that still reaches the person: the address not bounced, a verified number that has not
    failed, a postal address given. Kinds befriend keeps no contact point for (social,
    events) are reached through the organisation's own means."""
    if kind == "email":
        return points.email_undeliverable is None
    if kind == "phone":
        phone = points.phone
        return phone is not None and phone.verified_at is not None and phone.undeliverable is None
    if kind == "postal":
        return points.postal is not None
    return True


def mask_number(number: str) -> str:
    """A number as shown where it need not be read whole: its country code, then only its
    last three digits (`+44 •••• ••• 123`, `+1 •••• ••• 567`)."""
    # Imported here: phonenumbers costs ~40 ms at import, which only requests that show or
    # read a number should pay.
    import phonenumbers

    digits = number.removeprefix("+")
    try:
        code = str(phonenumbers.parse(number).country_code)
    except phonenumbers.NumberParseException:
        code = digits[:2]
    if len(digits) <= len(code) + 3:
        return "+" + "•" * len(digits)
    return f"+{code} •••• ••• {digits[-3:]}"


def mask_email(address: str) -> str:
    """An address as a receipt shows it: enough for its owner to tell which of theirs it is,
    too little to write to (`v•••@e•••.org`)."""
    local, _, domain = address.rpartition("@")
    name, _, top = domain.rpartition(".")
    return f"{local[:1]}•••@{name[:1]}•••.{top}" if name else f"{local[:1]}•••@{domain}"


def mask_postal(postal: PostalAddress) -> str:
    """An address as a receipt shows it: its city and country only (`Leeds, GB`)."""
    return ", ".join(p for p in (postal.city, postal.country) if p)
