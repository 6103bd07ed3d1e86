"""Mails and texts in the person's language: a confirmation in the language of the page the
sign-up came from, every other mail and text in the language the person saved, else the
playbook's default; the words of the templates, the playbook's texts and the pages the
links open all in that one language. A language the playbook does not list gets the
default."""

from __future__ import annotations

import json
from typing import Any

from befriend.core.changes import Context
from befriend.core.commands import Signup
from befriend.core.frozen import replace
from befriend.core.person import Evidence, Person
from befriend.core.playbook import Playbook
from befriend.i18n.formats import long_date
from befriend.mailing.jobs import signup_job
from befriend.mailing.language import page_url, wrapped
from befriend.mailing.plays import PlayComposer
from befriend.mailing.sms import code_text
from befriend.mailing.worker import lambda_batch
from befriend.web.services import Services
from tests.conftest import Mails, SignUp, Texts, Visitor, sqs_event

SITE = "https://prefs.example"


def services_of(client: Any) -> Services:
    found: Services = client.application.extensions["befriend"]
    return found


def speaking(visitor: Visitor, language: str) -> Visitor:
    saved = visitor.client.patch(
        "/api/me/settings", json={"language": language}, headers=visitor.auth
    )
    assert saved.status_code == 200, saved.get_data(as_text=True)
    return visitor


def person_of(services: Services, visitor: Visitor) -> Person:
    found = services.store.person(visitor.id, services.clock())
    assert found is not None
    return found


def site_links(mail: dict[str, Any]) -> list[str]:
    return [link for link in mail["links"] if link.startswith(SITE) and "/api/" not in link]


def test_a_sign_up_from_a_german_page_is_confirmed_in_german(
    client: Any, mails: Mails, playbook: Playbook
) -> None:
    services = services_of(client)
    form = Signup(
        "neu@example.org", "", (), (("email", "newsletter"),), "UTC", playbook.policy.version
    )
    ctx = Context(services.clock(), "api", Evidence("c" * 32, "a" * 32))
    job = signup_job(replace(form, language="de"), ctx)
    assert lambda_batch(services.mail_work, sqs_event(json.dumps(job))) == {"batchItemFailures": []}
    [mail] = mails()
    assert mail["subject"] == f"Bitte bestätigen Sie Ihre Adresse für {playbook.organisation.name}"
    assert "Mit Ihrer Bestätigung willigen Sie ein" in mail["text"]
    assert "Meine Adresse bestätigen" in mail["html"] and '<html lang="de">' in mail["html"]
    assert any(link.startswith(f"{SITE}/de/confirm/#t=") for link in mail["links"])
    assert all(link.startswith(f"{SITE}/de/") for link in site_links(mail))
    # The unsubscribe page it links to speaks German too.
    assert mail["headers"]["List-Unsubscribe"].endswith("?lang=de>")


def test_a_german_person_gets_their_link_and_change_notices_in_german(
    client: Any, mails: Mails, sign_up: SignUp
) -> None:
    visitor = speaking(sign_up(), "de")
    seen = len(mails())
    assert client.post("/api/link", json={"email": visitor.email}).status_code == 202
    [link] = mails()[seen:]
    assert link["subject"].startswith("Ihre Einstellungen bei ")
    assert "hier ist ein neuer Link zu Ihrer Einstellungsseite" in link["text"]
    assert any(url.startswith(f"{SITE}/de/preferences/#t=") for url in link["links"])
    assert all(url.startswith(f"{SITE}/de/") for url in site_links(link))

    moved = client.post(
        "/api/me/contacts/email", json={"email": "umgezogen@example.org"}, headers=visitor.auth
    )
    assert moved.status_code == 202, moved.get_data(as_text=True)
    [change] = mails()[seen + 1 :]
    assert change["to"] == "umgezogen@example.org"
    assert change["subject"].startswith("Bitte bestätigen Sie Ihre neue Adresse für ")
    assert any(url.startswith(f"{SITE}/de/email/#t=") for url in change["links"])


def test_the_notice_of_a_changed_address_is_in_the_persons_language(
    client: Any, sign_up: SignUp
) -> None:
    services = services_of(client)
    person = person_of(services, speaking(sign_up(), "fr"))
    from datetime import timedelta

    from befriend.core.contact_points import PreviousEmail

    moved = replace(
        person,
        contact_points=replace(
            person.contact_points,
            email_previous=PreviousEmail(
                person.email, services.clock(), services.clock() + timedelta(days=14)
            ),
        ),
    )
    mail = services.composer.email_changed(moved)
    msg = services.mailer.render(mail.template, mail.to, mail.values, mail.unsubscribe_url)
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert msg["Subject"].startswith("Votre adresse chez ")
    assert mail.values["undo_url"].startswith(f"{SITE}/fr/email/#undo=")
    until = long_date(
        services.clock() + timedelta(days=14), "fr", "en", moved.preferences.time_zone
    )
    assert until in " ".join(text.split())


def test_a_play_mail_and_text_speak_the_persons_language(
    client: Any, sign_up: SignUp, playbook: Playbook
) -> None:
    services = services_of(client)
    person = person_of(services, speaking(sign_up(name="Anna"), "de"))
    composer = PlayComposer(services.playbook, services.tokens, services.settings.site_url)
    mail = composer.mail(person, playbook.plays["welcome-letter"])
    msg = services.mailer.render(mail.template, mail.to, mail.values, mail.unsubscribe_url)
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert msg["Subject"] == "Willkommen – und drei Ratgeber für den Anfang"
    assert text.startswith("Guten Tag Anna,\n") and "Erste Schritte:" in text
    assert "Sie erhalten diese E-Mail, weil Sie per E-Mail Ja zu" in " ".join(text.split())
    assert '<html lang="de">' in html and "Wie wir mit Ihren Daten umgehen" in html
    assert mail.values["manage_url"].startswith(f"{SITE}/de/preferences/#t=")
    german = playbook.in_language("de")
    assert mail.values["policy_url"] == page_url(SITE, playbook, "de", german.policy.url)
    assert mail.values["stage_says"] in [s.says for s in german.stages]
    said = composer.text(person, playbook.plays["member-offer"])
    assert said.endswith("Antworten Sie STOP, um keine SMS mehr zu erhalten.")
    assert german.plays["member-offer"].says in said


def test_a_code_is_texted_in_the_persons_language(
    client: Any, sign_up: SignUp, texts: Texts
) -> None:
    visitor = speaking(sign_up(), "es")
    given = client.post(
        "/api/me/contacts/phone", json={"number": "+44 7400 900100"}, headers=visitor.auth
    )
    assert given.status_code == 202, given.get_data(as_text=True)
    [text] = texts()
    assert text["text"].startswith(f"{text['code']} es tu código de ")
    assert text["text"].endswith("Si no lo has pedido, ignora este SMS.")


def test_a_language_the_playbook_does_not_list_gets_the_default(
    client: Any, sign_up: SignUp, playbook: Playbook
) -> None:
    services = services_of(client)
    person = person_of(services, sign_up())
    unlisted = replace(person, preferences=replace(person.preferences, language="it"))
    for who in (person, unlisted):
        mail = services.composer.manage(who, reason="link")
        msg = services.mailer.render(mail.template, mail.to, mail.values, mail.unsubscribe_url)
        assert mail.values["language"] == playbook.organisation.language
        assert msg["Subject"] == f"Your preferences at {playbook.organisation.name}"
        assert mail.values["manage_url"].startswith(f"{SITE}/preferences/#t=")
        assert "?lang=" not in mail.unsubscribe_url
    assert code_text("Org", "123456", "it").startswith("123456 is your Org code.")


def test_plain_text_is_wrapped_without_breaking_a_link() -> None:
    url = "https://prefs.example/de/preferences/#t=" + "x" * 90
    text = wrapped(f"{'Wort ' * 30}{url}\n  - {'Punkt ' * 20}\nkurz")
    lines = text.split("\n")
    assert all(len(line) <= 76 for line in lines if url not in line)
    assert url in lines and lines[-1] == "kurz"
    assert [line[:4] for line in lines if "Punkt" in line][1:] == ["    "]  # hanging indent
