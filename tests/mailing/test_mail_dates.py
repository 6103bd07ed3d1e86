"""Dates, times and numbers in mails and texts as the person's language writes them (CLDR,
through Babel), on the person's own calendar: the day a change can be undone until is the
day in their saved time zone, across a UTC date boundary. A language without locale data
(a pseudo-locale) is written in the default language's locale, never a failed mail."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.i18n.formats import locale_of, long_date, number, short_time, zone
from befriend.mailing.plays import PlayComposer
from befriend.mailing.sms import code_text
from befriend.web.services import Services
from tests.conftest import Mails, SignUp, token_in

# 20:00 UTC on 23 November: 09:00 on the 24th in Auckland (NZDT, UTC+13).
EVENING = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
NNBSP = "\u202f"  # CLDR's narrow no-break space between an English time and AM/PM


def services_of(client: Any) -> Services:
    found: Services = client.application.extensions["befriend"]
    return found


def flat(text: str) -> str:
    """Text with its wrapping undone: a date may fall across a line break. Only ASCII
    spaces are wrapped at, so CLDR's no-break spaces stay as they are."""
    return re.sub(r"[ \t]*\n[ \t]*", " ", text)


def undo_notice(
    client: Any, sign_up: SignUp, mails: Mails, clock: SettableClock, **settings: str
) -> str:
    """Sign up (with `settings`), change the address at EVENING, and return the plain text
    of the notice the old address gets: it names the last day the change can be undone."""
    zone_name = settings.pop("time_zone", "UTC")
    visitor = sign_up(time_zone=zone_name)
    if settings:
        saved = client.patch("/api/me/settings", json=settings, headers=visitor.auth)
        assert saved.status_code == 200, saved.get_data(as_text=True)
    clock.advance(seconds=(EVENING - clock()).total_seconds())
    new = f"moved-{visitor.id[:8]}@example.org"
    asked = client.post("/api/me/contacts/email", json={"email": new}, headers=visitor.auth)
    assert asked.status_code == 202, asked.get_data(as_text=True)
    [ask] = [m for m in mails() if new in m["to"]]
    done = client.post("/api/contacts/email/confirm", json={"token": token_in(ask, "email")})
    assert done.status_code == 200, done.get_data(as_text=True)
    [notice] = [m for m in mails() if visitor.email in m["to"] and "#undo=" in str(m["links"])]
    return flat(notice["text"])


def test_a_german_person_in_auckland_reads_the_last_day_on_their_own_calendar(
    client: Any, sign_up: SignUp, mails: Mails, clock: SettableClock
) -> None:
    text = undo_notice(client, sign_up, mails, clock, language="de", time_zone="Pacific/Auckland")
    # Seven days after 20:00 UTC on the 23rd is the 30th in UTC, 1 December in Auckland.
    assert "1. Dezember 2026" in text
    assert "30. November" not in text and "Dezember" in text


def test_the_same_change_in_utc_is_a_day_earlier(
    client: Any, sign_up: SignUp, mails: Mails, clock: SettableClock
) -> None:
    text = undo_notice(client, sign_up, mails, clock, language="de")
    assert "30. November 2026" in text


def test_french_and_english_write_the_date_their_own_way(
    client: Any, sign_up: SignUp, mails: Mails, clock: SettableClock
) -> None:
    french = undo_notice(client, sign_up, mails, clock, language="fr", time_zone="Pacific/Auckland")
    assert "1 décembre 2026" in french
    english = undo_notice(client, sign_up, mails, clock, time_zone="Pacific/Auckland")
    assert "December 1, 2026" in english


def test_cldr_long_dates_in_each_shipped_language() -> None:
    moment = datetime(2027, 3, 7, 12, 0, tzinfo=UTC)
    written = {
        code: long_date(moment, code, "en", "Europe/Berlin") for code in ["en", "de", "fr", "es"]
    }
    assert written == {
        "en": "March 7, 2027",
        "de": "7. März 2027",
        "fr": "7 mars 2027",
        "es": "7 de marzo de 2027",
    }


@pytest.mark.parametrize("pseudo", ["en-XA", "ar-XB"])
def test_a_pseudo_locale_is_written_in_the_default_languages_locale(pseudo: str) -> None:
    moment = datetime(2027, 3, 6, 20, 0, tzinfo=UTC)
    assert long_date(moment, pseudo, "de", "Pacific/Auckland") == "7. März 2027"
    assert long_date(moment, pseudo, "en", "UTC") == "March 6, 2027"
    assert short_time(time(21, 0), pseudo, "de") == "21:00"
    assert number(1234, pseudo, "de") == "1.234"


def test_with_no_locale_data_at_all_a_date_is_iso_and_a_number_plain_digits() -> None:
    moment = datetime(2027, 3, 6, 20, 0, tzinfo=UTC)
    assert locale_of("xx", "yy") is None
    assert long_date(moment, "xx", "yy", "Pacific/Auckland") == "2027-03-07"
    assert short_time(time(8, 5), "xx", "yy") == "08:05"
    assert number(1234, "xx", "yy") == "1234"


def test_an_unknown_or_empty_time_zone_is_utc() -> None:
    moment = datetime(2027, 3, 6, 23, 30, tzinfo=UTC)
    assert zone("Mars/Olympus_Mons") is UTC
    assert zone("") is UTC
    assert zone("../../etc/passwd") is UTC
    assert long_date(moment, "de", "en", "Mars/Olympus_Mons") == "6. März 2027"
    assert long_date(moment, "de", "en", "Europe/Berlin") == "7. März 2027"


def test_numbers_and_times_of_day_follow_the_language() -> None:
    assert [number(1234567.5, code, "en") for code in ("en", "de", "fr")] == [
        "1,234,567.5",
        "1.234.567,5",
        "1\u202f234\u202f567,5",
    ]
    assert short_time(time(21, 0), "en", "en") == f"9:00{NNBSP}PM"
    assert short_time(time(21, 0), "de", "en") == "21:00"
    assert code_text("Org", "123456", "de", "en").startswith("123456 ist Ihr Code von Org.")


def test_a_play_mail_names_the_quiet_hours_as_the_persons_language_writes_times(
    client: Any, sign_up: SignUp, playbook: Playbook
) -> None:
    services = services_of(client)
    composer = PlayComposer(services.playbook, services.tokens, services.settings.site_url)
    visitor = sign_up()
    texts = {}
    for language in ("en", "de"):
        saved = client.patch("/api/me/settings", json={"language": language}, headers=visitor.auth)
        assert saved.status_code == 200, saved.get_data(as_text=True)
        person = services.store.person(visitor.id, services.clock())
        assert person is not None
        mail = composer.mail(person, playbook.plays["ask-sms"])
        msg = services.mailer.render(mail.template, mail.to, mail.values, mail.unsubscribe_url)
        texts[language] = flat(msg.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert f"between 8:00{NNBSP}AM and 9:00{NNBSP}PM your time" in texts["en"]
    assert "zwischen 08:00 und 21:00 Uhr" in texts["de"]
