"""Where a person can be reached: the address each channel's permission is given for.

A permission means something only with the contact point it was given for: consent to text
a number does not pass to a new number. The email address is the person's own (their
identity and their sign-in); a phone number and a postal address are held beside it, each
with since when, and a number with whether (and when) it was verified by a code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Phone:
    number: str  # E.164
    since: datetime  # when it was given
    verified_at: datetime | None = None  # when its code was entered; None: not yet


@dataclass(frozen=True)
class PostalAddress:
    lines: tuple[str, ...]
    postcode: str
    city: str
    region: str
    country: str  # ISO 3166-1 alpha-2
    since: datetime


@dataclass(frozen=True)
class ContactPoints:
    email_since: datetime | None = None  # None: since the person signed up
    phone: Phone | None = None
    postal: PostalAddress | None = None


def mask_number(number: str) -> str:
    """A number as shown where it need not be read whole: `+44 •••• ••• 123`."""
    digits = number.removeprefix("+")
    if len(digits) <= 5:
        return "+" + "•" * len(digits)
    return f"+{digits[:2]} •••• ••• {digits[-3:]}"
