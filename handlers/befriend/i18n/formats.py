"""Dates, times and numbers as a language writes them: CLDR's patterns and names, through
Babel, and a moment on the person's own calendar (their saved time zone).

Only mails, texts and what else the server writes to a person use this; Babel is imported
inside each function, never when this module is, so nothing on the API's import path pays
for it. The Lambda package carries Babel's locale data for the playbook's languages alone
(`build/packaging.py`), so a language without data here (a pseudo-locale such as `en-XA`,
or one a playbook named after the package was built) is written in the default language's
locale; with no data for that either, a date is written as ISO 8601 and a number as plain
digits. Nothing here raises for a language or a time zone.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, time, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from befriend.i18n.languages import PSEUDO

if TYPE_CHECKING:
    from babel import Locale


def zone(name: str) -> tzinfo:
    """The time zone `name` (an IANA name, as a person's preferences hold it); UTC for an
    empty or unknown one (a name tzdata has since dropped, or a record written by hand)."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


@functools.cache
def locale_of(language: str, default: str) -> Locale | None:
    """Babel's locale for `language` (a tag such as `de` or `pt-BR`), else its primary
    language's (`de-AT` is written as `de` where only `de` is shipped), else the default
    language's, else None when none has locale data here. A pseudo-locale is the default's:
    its accents are for words, not for dates. Kept for the container's life, as its data is."""
    from babel import Locale, UnknownLocaleError  # only where a mail is written: see above

    own = () if language in PSEUDO else (language, language.split("-")[0])
    for code in (*own, default):
        try:
            found = Locale.parse(code, sep="-")
            # Its data and its parents' are read on first use: read them now, so that a
            # missing file means the next candidate rather than a failed mail.
            found.date_formats  # noqa: B018
        except (UnknownLocaleError, ValueError, TypeError, OSError):
            continue
        return found
    return None


def long_date(moment: datetime, language: str, default: str, time_zone: str) -> str:
    """The day of `moment` in `time_zone`, written out as `language` writes a date in a
    sentence: `March 7, 2027`, `7. März 2027`, `7 mars 2027`."""
    day = moment.astimezone(zone(time_zone)).date()
    locale = locale_of(language, default)
    if locale is None:
        return day.isoformat()
    from babel.dates import format_date  # only where a mail is written: see above

    return format_date(day, format="long", locale=locale)


def short_time(clock: time, language: str, default: str) -> str:
    """A time of day on the person's own clock (quiet hours are kept so), as `language`
    writes it: `9:00 PM`, `21:00`."""
    locale = locale_of(language, default)
    if locale is None:
        return clock.strftime("%H:%M")
    from babel.dates import format_time  # only where a mail is written: see above

    return format_time(clock, format="short", locale=locale)


def number(value: int | float, language: str, default: str) -> str:
    """A number as `language` writes it in a sentence: `1,234`, `1.234`, `1 234`."""
    locale = locale_of(language, default)
    if locale is None:
        return str(value)
    from babel.numbers import format_decimal  # only where a mail is written: see above

    return format_decimal(value, locale=locale)
